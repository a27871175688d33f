// Organisation console ("/console"): sign in, post calls (console/form.js),
// follow calls live, see confirmations, cancel, export CSV; remove and block
// helpers (console/moderation.js, console/blocks.js).

import { t, skillLabel, applyTranslations, bindLangSwitch, onLangChange } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { connectionIndicator } from "./socket.js";
import { toCsv } from "./csv.js";
import { orgToken, setOrgToken, bindSignIn, liveCalls, signOut, restoreSignIn, focusSignIn } from "./org.js";
import { initCallForm, renderRadius, updateReach } from "./console/form.js";
import { planView } from "./console/deadline.js";
import { funnelView } from "./funnel.js";
import { messageComposer } from "./messages.js";
import { fetchHelpers, renderHelpers } from "./console/helpers.js";
import { initBlocks, refreshBlocks, clearBlocks, rerenderBlocks } from "./console/blocks.js";
import { moderation } from "./console/moderation.js";
import {
  el, append, $, clear, fmtKm, fmtAgo, fmtWindow, download,
} from "./util.js";

const state = {
  calls: new Map(), // id -> call, from GET /calls and /ws/dashboard
  cards: new Map(), // id -> {node, helpersOpen, helpers, loading}
  live: null,
};

const onConnState = connectionIndicator($("#conn"), $("#conn-retry"), t);
const moderate = moderation({ calls: state.calls, reloadHelpers: (id) => loadHelpers(id), renderCalls: () => renderCalls(), announce: (text) => announce(text) });

function announce(text) {
  const box = $("#announce");
  box.textContent = "";
  setTimeout(() => { box.textContent = text; }, 50);
}

// ---------------------------------------------------------------- session

function showSignIn(message) {
  if (state.live) state.live.socket.stop();
  $("#console").hidden = true;
  $("#signin").hidden = false;
  for (const n of document.querySelectorAll(".org-only")) n.hidden = true;
  const box = $("#signin-error");
  box.textContent = message || "";
  box.hidden = !message;
  focusSignIn();
}

function showConsole(calls) {
  $("#signin").hidden = true;
  $("#console").hidden = false;
  for (const n of document.querySelectorAll(".org-only")) n.hidden = false;
  for (const c of calls || []) state.calls.set(c.id, c);
  initCallForm({
    onCreated: (call) => {
      state.calls.set(call.id, { ...(state.calls.get(call.id) || {}), ...call });
      renderCalls();
    },
    onUnauthorized: () => {
      setOrgToken(null);
      showSignIn(t("o.signin.wrong"));
    },
    announce,
  });
  renderCalls();
  refreshBlocks();
  if (!state.live) {
    state.live = liveCalls({
      onState: onConnState,
      onUnauthorized: () => {
        setOrgToken(null);
        showSignIn(t("o.signin.wrong"));
      },
      onChange: (calls, ids) => {
        for (const id of ids) {
          const prev = state.calls.get(id);
          const next = calls.get(id);
          state.calls.set(id, { ...(prev || {}), ...next });
          const card = state.cards.get(id);
          if (card && card.helpersOpen && prev && (prev.confirmed !== next.confirmed || prev.checkedIn !== next.checkedIn)) loadHelpers(id);
        }
        renderCalls();
      },
    });
  }
  state.live.socket.start();
  if (!calls) refreshCalls();
  updateReach();
}

async function refreshCalls() {
  try {
    const res = await api("GET", "/calls", { token: orgToken() });
    for (const c of res.calls || []) state.calls.set(c.id, { ...(state.calls.get(c.id) || {}), ...c });
    renderCalls();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      setOrgToken(null);
      showSignIn(t("o.signin.wrong"));
    }
  }
}

// ---------------------------------------------------------------- call list

const ORDER = { open: 0, filled: 1, cancelled: 2, expired: 2 };

function sortedCalls() {
  const showEnded = $("#show-ended").checked;
  return [...state.calls.values()]
    .filter((c) => showEnded || c.status === "open" || c.status === "filled")
    .sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3) || String(b.createdAt).localeCompare(String(a.createdAt)));
}

function renderCalls() {
  const list = $("#calls");
  const calls = sortedCalls();
  $("#calls-empty").hidden = calls.length > 0;
  const keep = new Set(calls.map((c) => c.id));
  for (const [id, card] of state.cards) {
    if (!keep.has(id)) {
      card.node.remove();
      state.cards.delete(id);
    }
  }
  calls.forEach((c, i) => {
    const card = renderCall(c);
    if (list.children[i] !== card.node) list.insertBefore(card.node, list.children[i] || null);
  });
}

function renderCall(c) {
  let card = state.cards.get(c.id);
  if (!card) card = newCallCard(c.id);
  card.node.dataset.status = c.status;
  card.node.setAttribute("aria-labelledby", `call-h-${c.id}`);
  // Only the body is rebuilt; the message composer below it stays as typed.
  card.composer.node.hidden = !(c.status === "open" || c.status === "filled");
  const node = card.body;
  const hadFocus = node.contains(document.activeElement) ? document.activeElement.dataset.action : null;
  clear(node);
  const needed = Math.max(1, c.needed || 1);
  append(node,
    el("div", { class: "call-head" },
      el("h3", { id: `call-h-${c.id}` }, c.title || ""),
      el("span", { class: "badge", dataset: { status: c.status } }, t(`status.${c.status}`))),
    el("div", { class: "counter" },
      el("span", { class: "counter-text" }, t("c.call.counter", { confirmed: c.confirmed ?? 0, needed: c.needed ?? 0 })),
      el("progress", { class: "fill", max: needed, value: Math.min(c.confirmed || 0, needed), "aria-hidden": "true" })),
    funnelView(c),
    planView(c),
    el("p", { class: "call-meta" }, [
      t("c.call.stats", { declined: c.declined ?? 0 }),
      c.createdAt ? t("c.call.created", { ago: fmtAgo(c.createdAt) }) : "",
      c.radiusKm ? t("c.call.radius", { km: fmtKm(c.radiusKm) }) : "",
    ].filter(Boolean).join(" · ")),
    c.startsAt && c.endsAt ? el("p", { class: "call-meta" }, fmtWindow(c.startsAt, c.endsAt)) : null,
    c.address ? el("p", { class: "call-meta" }, c.address) : null,
    c.skills && c.skills.length ? el("p", { class: "call-meta" }, t("v.alert.skills", { skills: c.skills.map(skillLabel).join(", ") })) : null,
  );
  const actions = el("div", { class: "btn-row" },
    el("button", {
      type: "button", class: "btn btn-secondary btn-small", dataset: { action: "helpers" },
      "aria-expanded": String(card.helpersOpen), "aria-controls": `helpers-${c.id}`,
      onclick: () => toggleHelpers(c.id),
    }, card.helpersOpen ? t("c.call.hideHelpers") : t("c.call.helpers")),
    el("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { action: "csv" }, onclick: () => exportCsv(c.id) }, t("c.call.csv")),
    c.status === "open" || c.status === "filled"
      ? el("button", { type: "button", class: "btn btn-danger-outline btn-small", dataset: { action: "cancel" }, onclick: () => askCancel(c.id) }, t("c.call.cancel"))
      : null,
  );
  node.append(actions);
  if (card.helpersOpen) {
    node.append(renderHelpers(c.id, card, {
      active: c.status === "open" || c.status === "filled",
      onRemove: (h) => moderate.onRemove(c.id, h),
      onBlock: (h) => moderate.onBlock(c.id, h),
    }));
  }
  if (hadFocus) node.querySelector(`[data-action="${hadFocus}"]`)?.focus();
  return card;
}

function newCallCard(id) {
  const card = {
    node: el("article", { class: "call-card", dataset: { callId: id } }),
    body: el("div", { class: "call-body" }),
    composer: messageComposer(id, {
      token: orgToken,
      onUnauthorized: () => {
        setOrgToken(null);
        showSignIn(t("o.signin.wrong"));
      },
    }),
    helpersOpen: false,
    helpers: null,
  };
  card.node.append(card.body, card.composer.node);
  state.cards.set(id, card);
  return card;
}

async function loadHelpers(id) {
  const card = state.cards.get(id);
  if (!card) return;
  try {
    card.helpers = await fetchHelpers(id);
    card.error = null;
  } catch (e) {
    card.error = e instanceof ApiError ? e.userMessage() : String(e);
  }
  const c = state.calls.get(id);
  if (c) renderCall(c);
}

function toggleHelpers(id) {
  const card = state.cards.get(id);
  card.helpersOpen = !card.helpersOpen;
  renderCall(state.calls.get(id));
  if (card.helpersOpen) loadHelpers(id);
}

async function exportCsv(id) {
  const c = state.calls.get(id);
  try {
    const helpers = await fetchHelpers(id);
    const rows = [[t("c.csv.name"), t("c.csv.contact"), t("c.csv.confirmedAt")]];
    for (const h of helpers) rows.push([h.displayName ?? t("c.call.erased"), h.contact ?? "", h.confirmedAt ?? ""]);
    const slug = (c && c.title ? c.title : id).toLowerCase().replace(/[^a-z0-9äöüß]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "einsatz";
    download(`helferruf-${slug}.csv`, toCsv(rows), "text/csv;charset=utf-8");
  } catch (e) {
    announce(e instanceof ApiError ? e.userMessage() : String(e));
  }
}

let cancelId = null;
function askCancel(id) {
  cancelId = id;
  const c = state.calls.get(id);
  $("#cancel-text").textContent = t("c.call.cancelText", { title: c ? c.title : "" });
  const dlg = $("#cancel-dialog");
  dlg.returnValue = "";
  dlg.showModal();
}

async function onCancelClosed() {
  const id = cancelId;
  cancelId = null;
  if ($("#cancel-dialog").returnValue !== "confirm" || !id) return;
  try {
    const call = await api("POST", `/calls/${encodeURIComponent(id)}/cancel`, { token: orgToken() });
    state.calls.set(id, { ...(state.calls.get(id) || {}), ...call });
    renderCalls();
    announce(`${call.title}: ${t("status.cancelled")}`);
  } catch (e) {
    announce(e instanceof ApiError ? e.userMessage() : String(e));
  }
}

// ---------------------------------------------------------------- start

function init() {
  applyTranslations();
  bindLangSwitch($("#lang"));
  onLangChange(() => {
    for (const card of state.cards.values()) card.composer.render();
    renderCalls();
    rerenderBlocks();
    renderRadius();
    onConnState.rerender();
    updateReach();
  });
  initBlocks({ onChange: () => renderCalls(), announce });
  bindSignIn((calls) => showConsole(calls));
  $("#signout").addEventListener("click", () => {
    signOut();
    state.calls.clear();
    for (const card of state.cards.values()) card.node.remove();
    state.cards.clear();
    clearBlocks();
    showSignIn();
  });
  $("#show-ended").addEventListener("change", renderCalls);
  $("#cancel-dialog").addEventListener("close", onCancelClosed);
  $("#conn-retry").addEventListener("click", () => state.live && state.live.socket.connectNow());
  // Relative times ("5 min ago") move on.
  setInterval(() => { if (!$("#console").hidden) renderCalls(); }, 30000);
  restoreSignIn().then((ok) => (ok ? showConsole(null) : showSignIn()));
}

init();

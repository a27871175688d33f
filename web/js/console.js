// Organisation console ("/console"): sign in, post calls with a live reach
// preview, follow calls live, see confirmations, cancel, export CSV; remove
// and block helpers (console/moderation.js, console/blocks.js).

import { t, skillLabel, applyTranslations, bindLangSwitch, onLangChange } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { connectionIndicator } from "./socket.js";
import { TileMap } from "./map.js";
import { parsePlace, placeNames } from "./places.js";
import { SkillPicker } from "./skills.js";
import { toCsv } from "./csv.js";
import { orgToken, setOrgToken, bindSignIn, liveCalls, signOut, restoreSignIn, focusSignIn } from "./org.js";
import { bindDispatchInputs, readDispatch, rememberDispatch } from "./dispatch.js";
import { funnelView } from "./funnel.js";
import { messageComposer } from "./messages.js";
import { fetchHelpers, renderHelpers } from "./console/helpers.js";
import { initBlocks, refreshBlocks, clearBlocks, rerenderBlocks } from "./console/blocks.js";
import { moderation } from "./console/moderation.js";
import {
  el, append, $, clear, fmtKm, fmtAgo, fmtWindow, toRfc3339Local, toLocalInput, debounce, download,
} from "./util.js";

const state = {
  calls: new Map(), // id -> call, from GET /calls and /ws/dashboard
  cards: new Map(), // id -> {node, helpersOpen, helpers, loading}
  pin: null,
  map: null,
  skills: null,
  reachSeq: 0,
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
  if (!state.map) initForm();
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

// ---------------------------------------------------------------- form

const FIELD_INPUT = {
  title: "c-title", description: "c-description", address: "c-address",
  "location.lat": "c-lat", "location.lon": "c-lon", location: "c-lat",
  radiusKm: "c-radius", needed: "c-needed", skills: "c-custom",
  startsAt: "c-starts", endsAt: "c-ends",
  "dispatch.maxRadiusKm": "c-max-radius", "dispatch.waveSeconds": "c-wave-seconds", standby: "c-standby",
};

function clearErrors() {
  for (const n of document.querySelectorAll('#call-form .field-error')) {
    n.hidden = true;
    n.textContent = "";
  }
  for (const n of document.querySelectorAll('#call-form [aria-invalid]')) n.removeAttribute("aria-invalid");
  $("#call-form-error").hidden = true;
}

/** Show a message next to the field the server named; false when unknown. */
function fieldError(field, message) {
  if (!field) return false;
  let key = field;
  let box = document.getElementById(`cerr-${key.replace(/\./g, "-")}`);
  if (!box && key.startsWith("skills")) { key = "skills"; box = $("#cerr-skills"); }
  if (!box && key.startsWith("location")) { key = "location"; box = $("#cerr-location"); }
  if (!box && key.startsWith("dispatch")) { key = "dispatch"; box = $("#cerr-dispatch"); }
  if (!box) return false;
  box.textContent = message;
  box.hidden = false;
  const input = document.getElementById(FIELD_INPUT[key] || FIELD_INPUT[field] || "");
  if (input) input.setAttribute("aria-invalid", "true");
  return input || box;
}

function readPin() {
  const lat = Number($("#c-lat").value.trim().replace(",", "."));
  const lon = Number($("#c-lon").value.trim().replace(",", "."));
  if ($("#c-lat").value.trim() === "" || $("#c-lon").value.trim() === "") return null;
  if (!isFinite(lat) || !isFinite(lon)) return null;
  return { lat, lon };
}

function setPin(p, { fromMap = false } = {}) {
  state.pin = p;
  if (!fromMap || !p) {
    if (state.map && p) state.map.setCenter(p);
  }
  if (p) {
    $("#c-lat").value = String(Math.round(p.lat * 1e6) / 1e6);
    $("#c-lon").value = String(Math.round(p.lon * 1e6) / 1e6);
  }
  if (state.map) state.map.setPin(p);
  updateReach();
}

function radiusKm() {
  return Number($("#c-radius").value);
}

function renderRadius() {
  $("#c-radius-out").textContent = t("c.f.radiusValue", { km: fmtKm(radiusKm()) });
  if (state.map) state.map.setRadius(radiusKm());
}

const updateReach = debounce(async () => {
  const box = $("#reach");
  const p = state.pin;
  if (!p || $("#console").hidden) {
    box.dataset.state = "none";
    box.textContent = t("c.reach.none");
    return;
  }
  const seq = ++state.reachSeq;
  if (box.dataset.state === "none") {
    box.dataset.state = "loading";
    box.textContent = t("c.reach.loading");
  }
  const q = new URLSearchParams({ lat: String(p.lat), lon: String(p.lon), radiusKm: String(radiusKm()) });
  const skills = state.skills.value;
  if (skills.length) q.set("skills", skills.join(","));
  try {
    const res = await api("GET", `/reach?${q}`, { token: orgToken() });
    if (seq !== state.reachSeq) return; // a newer request is under way
    box.dataset.state = res.available > 0 ? "ok" : "zero";
    clear(box);
    box.append(
      t("c.reach.value", { available: res.available }),
      typeof res.connected === "number" ? el("span", { class: "reach-sub" }, " ", t("c.reach.connected", { connected: res.connected })) : "",
    );
  } catch (e) {
    if (seq !== state.reachSeq) return;
    box.dataset.state = "error";
    box.textContent = t("c.reach.error");
  }
}, 300);

function defaultTimes() {
  const now = new Date();
  now.setSeconds(0, 0);
  $("#c-starts").value = toLocalInput(now);
  $("#c-ends").value = toLocalInput(new Date(now.getTime() + 3 * 3600 * 1000));
}

function initForm() {
  state.skills = new SkillPicker($("#c-skills"), $("#c-custom"), $("#c-add"), $("#cerr-skills"), () => updateReach());
  state.map = new TileMap($("#c-map"), {
    zoom: 12,
    label: t("map.label"),
    onPick: (p) => setPin(p, { fromMap: true }),
  });
  renderRadius();
  defaultTimes();
  const dl = $("#places");
  for (const name of placeNames()) dl.append(el("option", { value: name }));

  $("#c-radius").addEventListener("input", () => { renderRadius(); updateReach(); });
  const fromInputs = () => {
    const p = readPin();
    if (p && Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180) {
      state.pin = p;
      state.map.setPin(p);
      state.map.setCenter(p);
      updateReach();
    }
  };
  $("#c-lat").addEventListener("change", fromInputs);
  $("#c-lon").addEventListener("change", fromInputs);
  const search = () => {
    const p = parsePlace($("#c-search").value);
    if (!p) {
      fieldError("location", t("v.loc.unknownPlace"));
      return;
    }
    $("#cerr-location").hidden = true;
    setPin(p);
    state.map.fit();
  };
  $("#c-search-go").addEventListener("click", search);
  $("#c-search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); search(); }
  });
  bindDispatchInputs();
  $("#call-form").addEventListener("submit", onSubmit);
  // Availability changes all the time: keep the preview fresh.
  setInterval(() => { if (state.pin && document.visibilityState === "visible") updateReach(); }, 15000);
}

async function onSubmit(ev) {
  ev.preventDefault();
  clearErrors();
  $("#call-form-ok").hidden = true;
  const title = $("#c-title").value.trim();
  const pin = readPin();
  let first = null;
  if (!title) first = first || fieldError("title", t("c.f.required"));
  if (!pin) first = first || fieldError("location", t("c.f.needPlace"));
  const dispatch = readDispatch();
  if (dispatch.error) first = first || fieldError(dispatch.error.field, dispatch.error.message);
  if (first) {
    (first instanceof HTMLElement ? first : $("#c-title")).focus();
    return;
  }
  const body = {
    title,
    description: $("#c-description").value,
    address: $("#c-address").value.trim(),
    location: pin,
    radiusKm: radiusKm(),
    needed: Number($("#c-needed").value),
    skills: state.skills.value,
    ...dispatch.fields,
  };
  const starts = $("#c-starts").value;
  const ends = $("#c-ends").value;
  if (starts) body.startsAt = toRfc3339Local(new Date(starts));
  if (ends) body.endsAt = toRfc3339Local(new Date(ends));
  const btn = $("#c-submit");
  btn.disabled = true;
  btn.textContent = t("c.f.submitting");
  try {
    const call = await api("POST", "/calls", { token: orgToken(), body });
    rememberDispatch(call, dispatch.fields);
    state.calls.set(call.id, { ...(state.calls.get(call.id) || {}), ...call });
    renderCalls();
    const ok = $("#call-form-ok");
    ok.textContent = t("c.f.created", { title: call.title });
    ok.hidden = false;
    announce(ok.textContent);
    $("#c-title").value = "";
    $("#c-description").value = "";
    $("#c-address").value = "";
    defaultTimes();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setOrgToken(null);
      showSignIn(t("o.signin.wrong"));
      return;
    }
    const target = e instanceof ApiError ? fieldError(e.field, e.message) : false;
    if (target) {
      const box = $("#call-form-error");
      box.textContent = t("c.f.fixErrors");
      box.hidden = false;
      if (target instanceof HTMLElement) target.focus();
    } else {
      const box = $("#call-form-error");
      box.textContent = e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
    }
  } finally {
    btn.disabled = false;
    btn.textContent = t("c.f.submit");
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

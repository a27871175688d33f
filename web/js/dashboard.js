// Live dashboard ("/dashboard"): every open and recently ended call of the
// organisation with its fill bar and funnel, updated from /ws/dashboard
// (snapshot, then call messages; no polling).

import { t, applyTranslations, bindLangSwitch, onLangChange } from "./i18n.js";
import { connectionIndicator } from "./socket.js";
import { setOrgToken, bindSignIn, liveCalls, signOut, restoreSignIn } from "./org.js";
import { el, append, $, clear, fmtNumber, fmtDuration, fmtAgo, fmtTime, storageGet, storageSet } from "./util.js";
import { funnelView } from "./funnel.js";
import { planView } from "./console/deadline.js";

const K_BIG = "helferruf.bigScreen";
const K_FILLED = "helferruf.filledAt";
const DAY_MS = 24 * 3600 * 1000;

const state = {
  live: null,
  lastUpdate: null,
  // Time each call was seen to become filled (the call object has no filledAt
  // in protocol v1; a server field `filledAt` is used when present).
  filledAt: storageGet(localStorage, K_FILLED) || {},
};

const onConnState = connectionIndicator($("#conn"), $("#conn-retry"), t);

function showSignIn(message) {
  if (state.live) state.live.socket.stop();
  $("#dashboard").hidden = true;
  $("#signin").hidden = false;
  for (const n of document.querySelectorAll(".org-only")) n.hidden = true;
  const box = $("#signin-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function showDashboard() {
  $("#signin").hidden = true;
  $("#dashboard").hidden = false;
  for (const n of document.querySelectorAll(".org-only")) n.hidden = false;
  if (!state.live) {
    state.live = liveCalls({
      onState: onConnState,
      onUnauthorized: () => {
        setOrgToken(null);
        showSignIn(t("o.signin.wrong"));
      },
      onChange: (calls, ids, isSnapshot) => {
        state.lastUpdate = new Date();
        for (const id of ids) {
          const c = calls.get(id);
          if (c.status === "filled" && !state.filledAt[id] && !isSnapshot) {
            state.filledAt[id] = new Date().toISOString();
          }
        }
        pruneFilled(calls);
        render();
      },
    });
  }
  state.live.socket.start();
  render();
}

function pruneFilled(calls) {
  for (const id of Object.keys(state.filledAt)) {
    if (!calls.has(id) && Date.now() - new Date(state.filledAt[id]).getTime() > 2 * DAY_MS) delete state.filledAt[id];
  }
  storageSet(localStorage, K_FILLED, state.filledAt);
}

const ORDER = { open: 0, filled: 1, cancelled: 2, expired: 2 };

function visibleCalls() {
  if (!state.live) return [];
  const now = Date.now();
  return [...state.live.calls.values()]
    .filter((c) => !c.endedAt || now - new Date(c.endedAt).getTime() < DAY_MS)
    .sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3) || String(b.createdAt).localeCompare(String(a.createdAt)));
}

function tile(c) {
  const needed = Math.max(1, c.needed || 1);
  const confirmed = c.confirmed || 0;
  const node = el("article", { class: "tile", dataset: { callId: c.id, status: c.status }, "aria-labelledby": `tile-h-${c.id}` });
  append(node,
    el("div", { class: "call-head" },
      el("h3", { id: `tile-h-${c.id}` }, c.title || ""),
      el("span", { class: "badge", dataset: { status: c.status } }, t(`status.${c.status}`))),
    el("div", { class: "tile-big" },
      el("strong", { class: "tile-count" }, `${fmtNumber(confirmed)} / ${fmtNumber(c.needed || 0)}`),
      el("span", null, t("d.call.confirmed"))),
    el("progress", { class: "fill", max: needed, value: Math.min(confirmed, needed), "aria-label": t("c.call.counter", { confirmed, needed: c.needed || 0 }) }),
  );
  node.append(funnelView(c));
  const plan = planView(c);
  if (plan) node.append(plan);

  const times = el("p", { class: "tile-times" });
  if (c.declined) times.append(el("span", null, t("c.call.stats", { declined: fmtNumber(c.declined) })));
  const created = c.createdAt ? new Date(c.createdAt).getTime() : null;
  if (created && c.status === "open") times.append(el("span", null, t("d.call.since", { dur: fmtDuration(Date.now() - created) })));
  const filledIso = c.filledAt || state.filledAt[c.id];
  if (created && c.status === "filled" && filledIso) {
    times.append(el("span", null, t("d.call.fillTime", { dur: fmtDuration(new Date(filledIso).getTime() - created) })));
  } else if (created && c.status === "filled") {
    times.append(el("span", null, t("c.call.created", { ago: fmtAgo(c.createdAt) })));
  }
  if (c.endedAt) times.append(el("span", null, t("d.call.endedAgo", { ago: fmtAgo(c.endedAt) })));
  node.append(times);
  return node;
}

function render() {
  if ($("#dashboard").hidden) return;
  const calls = visibleCalls();
  const board = $("#board");
  clear(board);
  for (const c of calls) board.append(tile(c));
  $("#board-empty").hidden = calls.length > 0;

  const active = calls.filter((c) => c.status === "open" || c.status === "filled");
  const needed = active.reduce((s, c) => s + (c.needed || 0), 0);
  const confirmed = active.reduce((s, c) => s + Math.min(c.confirmed || 0, c.needed || 0), 0);
  $("#o-fill").textContent = needed ? t("d.overall.fillValue", { pct: Math.round((100 * confirmed) / needed) }) : "–";
  $("#o-places").textContent = needed ? t("d.overall.places", { confirmed: fmtNumber(confirmed), needed: fmtNumber(needed) }) : "";
  $("#o-open").textContent = fmtNumber(active.filter((c) => c.status === "open").length);
  $("#o-filled").textContent = fmtNumber(active.filter((c) => c.status === "filled").length);
  $("#o-alerted").textContent = fmtNumber(active.reduce((s, c) => s + (c.alerted || 0), 0));
  $("#updated").textContent = state.lastUpdate ? t("d.updated", { time: fmtTime(state.lastUpdate) }) : "";
}

function setBig(on, { fullscreen = false } = {}) {
  document.body.classList.toggle("big-screen", on);
  const btn = $("#big");
  btn.setAttribute("aria-pressed", String(on));
  btn.textContent = on ? t("d.bigScreenOff") : t("d.bigScreen");
  storageSet(localStorage, K_BIG, on);
  if (fullscreen && on && document.documentElement.requestFullscreen && !document.fullscreenElement) {
    document.documentElement.requestFullscreen().catch(() => {});
  } else if (!on && document.fullscreenElement && document.exitFullscreen) {
    document.exitFullscreen().catch(() => {});
  }
}

function init() {
  applyTranslations();
  bindLangSwitch($("#lang"));
  onLangChange(() => {
    render();
    onConnState.rerender();
    setBig(document.body.classList.contains("big-screen"));
  });
  bindSignIn(() => showDashboard());
  $("#signout").addEventListener("click", () => {
    signOut();
    if (state.live) {
      state.live.socket.stop();
      state.live.calls.clear();
    }
    showSignIn();
  });
  $("#conn-retry").addEventListener("click", () => state.live && state.live.socket.connectNow());
  $("#big").addEventListener("click", () => setBig(!document.body.classList.contains("big-screen"), { fullscreen: true }));
  setBig(!!storageGet(localStorage, K_BIG));
  // "open for 12 min" moves on by itself.
  setInterval(render, 5000);
  restoreSignIn().then((ok) => (ok ? showDashboard() : showSignIn()));
}

init();

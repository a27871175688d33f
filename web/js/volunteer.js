// Volunteer page ("/"): sign-up, location, availability, alerts, confirmations.

import { t, skillLabel, applyTranslations, bindLangSwitch, onLangChange } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { LiveSocket, connectionIndicator } from "./socket.js";
import { TileMap } from "./map.js";
import { parsePlace, placeNames } from "./places.js";
import { SkillPicker } from "./skills.js";
import * as attn from "./attention.js";
import { Receipts } from "./receipts.js";
import { CheckIns } from "./checkin.js";
import { Inbox, messageList } from "./inbox.js";
import { FillCounter } from "./counter.js";
import { note, patchNote, rememberCall, forgetAllNotes } from "./mycalls.js";
import { bindFatigueInputs, fillFatigue, readFatigue, fatigueSummary } from "./fatigue.js";
import {
  el, append, $, clear, fmtKm, fmtCoord, fmtWindow, fmtTime, toRfc3339Local, download,
  storageGet, storageSet, haversineKm, requestId,
} from "./util.js";

const K_PROFILE = "helferruf.volunteer";
const K_LOCATION = "helferruf.location";
const K_GPS = "helferruf.gpsConsent";
const K_WAKE = "helferruf.wakeLock";
const K_UNTIL = "helferruf.untilTime";
const SK_AVAIL = "helferruf.availability";
const SK_KNOWN = "helferruf.knownCalls";
const SK_DECLINED = "helferruf.declined";

const state = {
  profile: storageGet(localStorage, K_PROFILE),
  location: null, // {lat, lon, source: "gps"|"manual", label?, accuracy?}
  gpsWatch: null,
  gpsWaiting: false,
  availability: storageGet(sessionStorage, SK_AVAIL), // {status, until?} or null when never set in this tab
  alerts: new Map(), // callId -> entry
  confirmed: new Map(), // callId -> entry
  known: new Set(storageGet(sessionStorage, SK_KNOWN) || []),
  declined: new Set(storageGet(sessionStorage, SK_DECLINED) || []),
  pending: new Map(), // requestId -> {callId, kind, timer}
  lastSentLocation: null,
  lastSentAt: 0,
  untilTimer: null,
  map: null,
};

// ---------------------------------------------------------------- helpers

function token() {
  return state.profile ? state.profile.token : null;
}

function announce(text) {
  const box = $("#announce");
  box.textContent = "";
  // A fresh text node after a tick makes screen readers speak it again.
  setTimeout(() => { box.textContent = text; }, 50);
}

function showNotice(text) {
  const n = $("#notice");
  n.textContent = text || "";
  n.hidden = !text;
}

function saveKnown() {
  storageSet(sessionStorage, SK_KNOWN, [...state.known].slice(-200));
}

function isAvailable() {
  const a = state.availability;
  if (!a || a.status !== "available") return false;
  if (a.until && new Date(a.until).getTime() <= Date.now()) return false;
  return true;
}

/**
 * Whether a filled call still takes accepts onto its waiting list. The call
 * object tells only how many are queued (`standby`), so a filled call offers
 * the waiting list when someone is queued already or the server says so.
 */
function offersStandby(call) {
  return call.standbyEnabled === true || (typeof call.standby === "number" && call.standby > 0);
}

/** Party size chosen for a call (1 when never chosen). */
function partyOf(callId) {
  return note(callId).party || 1;
}

function callEnded(status) {
  return status === "cancelled" || status === "expired";
}

// ---------------------------------------------------------------- socket

const onConnState = connectionIndicator($("#conn"), $("#conn-retry"), t);
const socket = new LiveSocket({
  path: "/ws/volunteer",
  token,
  readyTypes: ["welcome"],
  onMessage: handleMessage,
  onState: onConnState,
  onUnauthorized: () => {
    forgetLocally();
    showSignup(t("v.account.signedOut"));
  },
});
$("#conn-retry").addEventListener("click", () => socket.connectNow());

const receipts = new Receipts((msg) => socket.send(msg));
const inbox = new Inbox();
const checkIns = new CheckIns((msg) => socket.send(msg), (callId, failed) => {
  const c = state.confirmed.get(callId);
  if (!c) return;
  c.checkinError = failed;
  renderConfirmed(c);
  if (failed) announce(t("v.checkin.failed"));
});

function handleMessage(msg) {
  switch (msg.type) {
    case "welcome": onWelcome(msg); break;
    case "alert":
      if (msg.call && msg.call.id) {
        receipts.received(msg.call.id);
        upsertAlert(msg.call);
      }
      break;
    case "call_update": onCallUpdate(msg); break;
    case "accept_result": onAcceptResult(msg.callId, msg.result, msg.requestId, !!msg.promoted); break;
    case "message": onOrgMessage(msg); break;
    case "checkin_result": checkIns.onResult(msg); break;
    case "error": onServerError(msg); break;
    default: break; // unknown message types are ignored (forward compatibility)
  }
}

function onWelcome(msg) {
  const welcomeAt = Date.now();
  // State lives in the server's memory only: send it again after every (re)connect.
  state.lastSentLocation = null;
  sendLocation(true);
  if (state.availability) sendAvailability();

  const confirmedIds = new Set();
  for (const call of msg.confirmed || []) {
    confirmedIds.add(call.id);
    state.known.add(call.id);
    // Promoted from the waiting list while away: the call is simply confirmed now.
    if (note(call.id).standby) patchNote(call.id, { standby: null });
    // Our server adds the volunteer's own place: the party size and check-in
    // state then follow the volunteer to every device.
    if (call.mine) {
      const was = note(call.id).checkin;
      patchNote(call.id, { party: call.mine.party, checkin: call.mine.checkedIn ? "in" : (was ? "out" : null) });
    }
    upsertConfirmed(call);
  }
  for (const [id, entry] of state.confirmed) {
    if (!confirmedIds.has(id) && !entry.gone) {
      entry.gone = true;
      renderConfirmed(entry);
    }
  }
  for (const item of msg.alerts || []) {
    // Call objects with distanceKm; an {call: …} wrapper is accepted too.
    const call = item && item.call ? { distanceKm: item.distanceKm, ...item.call } : item;
    if (call && call.id) receipts.received(call.id);
    upsertAlert(call);
  }
  onWelcomeStandby(msg);
  saveKnown();
  receipts.flush();
  // Alerts shown before the reconnect that the server does not list again
  // within a few seconds (after it got our availability and location) are
  // closed or no longer meant for us.
  setTimeout(() => {
    if (!socket.isOnline() || !isAvailable() || !state.location) return;
    for (const [id, entry] of state.alerts) {
      if (entry.lastSeen < welcomeAt && !entry.busy && !entry.result) removeAlert(id);
    }
    renderLists();
  }, 5000);
  renderLists();
}

/** welcome.standby (our server's addition): the calls whose waiting list holds us. */
function onWelcomeStandby(msg) {
  if (!Array.isArray(msg.standby)) return;
  const queued = new Set();
  for (const call of msg.standby) {
    if (!call || !call.id) continue;
    queued.add(call.id);
    patchNote(call.id, { standby: true });
    state.known.add(call.id); // shown before: no new ring
    upsertAlert(call);
    const entry = state.alerts.get(call.id);
    if (entry && entry.result !== "standby") {
      entry.result = "standby";
      renderAlert(entry);
    }
  }
  for (const entry of state.alerts.values()) {
    if (entry.result === "standby" && !queued.has(entry.id)) {
      entry.result = null;
      patchNote(entry.id, { standby: null });
      renderAlert(entry);
    }
  }
}

function onServerError(msg) {
  // Funnel messages are unknown to a 1.0 server: ignore those answers.
  if (msg.code === "unknown_type" && !msg.requestId) return;
  if (checkIns.onError(msg)) return;
  if (msg.requestId && state.pending.has(msg.requestId)) {
    const p = state.pending.get(msg.requestId);
    clearTimeout(p.timer);
    state.pending.delete(msg.requestId);
    if (msg.code === "not_found") onAcceptResult(p.callId, "closed", msg.requestId);
    else failPending(p.callId, p.kind);
  }
}

// ---------------------------------------------------------------- alerts

function upsertAlert(call) {
  if (!call || !call.id) return;
  if (state.confirmed.has(call.id) && !state.confirmed.get(call.id).gone) {
    // Already confirmed: just refresh the figures.
    const c = state.confirmed.get(call.id);
    c.call = { ...c.call, ...call };
    renderConfirmed(c);
    return;
  }
  if (state.declined.has(call.id)) return;
  let entry = state.alerts.get(call.id);
  const isNew = !state.known.has(call.id);
  if (!entry) {
    entry = newAlertEntry(call);
    state.alerts.set(call.id, entry);
  } else {
    entry.call = { ...entry.call, ...call };
    entry.lastSeen = Date.now();
    if (call.status === "open" && (entry.result === "full" || entry.result === "closed")) entry.result = null;
  }
  renderAlert(entry);
  receipts.shown(call.id);
  renderLists();
  if (isNew) {
    state.known.add(call.id);
    saveKnown();
    const distance = distanceText(entry.call);
    announce(t("v.alert.new", { title: call.title, distance }));
    attn.attention(call.id, {
      title: t("v.notify.title"),
      body: t("v.notify.body", { title: call.title, distance }),
      flashText: t("v.titleFlash"),
      onClick: () => entry.node && entry.node.scrollIntoView({ block: "center" }),
    });
  }
}

function newAlertEntry(call) {
  return {
    id: call.id, call: { ...call }, busy: false, node: null, lastSeen: Date.now(),
    counter: new FillCounter(),
    // A waiting-list place survives a reload (the server keeps it too).
    result: note(call.id).standby ? "standby" : null,
  };
}

function distanceKm(call) {
  if (typeof call.distanceKm === "number") return call.distanceKm;
  if (state.location && call.location) return haversineKm(state.location, call.location);
  return null;
}

function distanceText(call) {
  const km = distanceKm(call);
  return km === null ? "" : t("v.alert.distance", { km: fmtKm(km) });
}

function removeAlert(id) {
  const entry = state.alerts.get(id);
  if (!entry) return;
  if (entry.node) entry.node.remove();
  state.alerts.delete(id);
  renderLists();
}

// Cards of alerts that arrive together (one welcome, or frames within a
// moment of each other) keep the server's order, most urgent first; a later
// batch goes on top.
const BATCH_MS = 300;
let batch = { at: 0, last: null };

function placeNewAlertCard(node) {
  const list = $("#alerts");
  const now = Date.now();
  if (batch.last && batch.last.parentNode === list && now - batch.at < BATCH_MS) batch.last.after(node);
  else list.prepend(node);
  batch = { at: now, last: node };
}

function statusText(entry) {
  const st = entry.call.status;
  if (entry.result === "full") return t("v.alert.full");
  if (entry.result === "closed") return t("v.alert.closed");
  if (entry.result === "not_eligible") return t("v.alert.notEligible");
  if (entry.result === "standby") return t("v.alert.standby");
  if (entry.result === "error") return t("v.alert.error");
  if (st === "filled") return t("v.alert.filled");
  if (st === "cancelled") return t("v.alert.cancelled");
  if (st === "expired") return t("v.alert.expired");
  return "";
}

function renderAlert(entry) {
  const c = entry.call;
  const st = c.status || "open";
  const closed = callEnded(st) || entry.result === "closed";
  const standby = entry.result === "standby";
  const canAccept = !closed && !entry.busy && !standby && (st === "open" || (st === "filled" && offersStandby(c)));

  const titleId = `alert-title-${c.id}`;
  const node = entry.node || el("article", { class: "alert-card", dataset: { callId: c.id } });
  node.setAttribute("aria-labelledby", titleId);
  node.dataset.status = st;
  node.classList.toggle("is-closed", closed || (st === "filled" && !standby));
  node.classList.toggle("is-standby", standby && !closed);
  clear(node);

  const meta = [distanceText(c), c.orgName ? t("v.alert.by", { org: c.orgName }) : ""].filter(Boolean).join(" · ");
  append(node,
    el("h3", { id: titleId, class: "card-title" }, c.title || ""),
    meta ? el("p", { class: "card-meta" }, meta) : null,
    c.startsAt && c.endsAt ? el("p", { class: "card-when" }, el("span", { class: "card-label" }, t("v.alert.when")), " ", fmtWindow(c.startsAt, c.endsAt)) : null,
    c.address ? el("p", { class: "card-address" }, el("span", { class: "card-label" }, t("v.alert.where")), " ", c.address) : null,
    entry.counter.update(c),
    c.description ? el("p", { class: "card-desc" }, c.description) : null,
    c.skills && c.skills.length ? el("p", { class: "card-skills" }, t("v.alert.skills", { skills: c.skills.map(skillLabel).join(", ") })) : null,
  );
  node.append(el("p", { class: "card-status", role: "status" }, statusText(entry)));

  const actions = el("div", { class: "btn-row card-actions" });
  if (canAccept) actions.append(partyPicker(entry));
  if (standby && !closed) {
    actions.append(el("button", {
      type: "button", class: "btn btn-danger-outline", dataset: { action: "leave-standby" },
      disabled: entry.busy, onclick: () => leaveStandby(entry.id),
    }, t("v.standby.leave")));
  } else if (!closed) {
    actions.append(el("button", {
      type: "button", class: "btn btn-accept btn-big", dataset: { action: "accept" },
      disabled: !canAccept,
      onclick: () => accept(entry.id),
    }, entry.busy ? t("v.alert.accepting") : st === "filled" && canAccept ? t("v.standby.join") : t("v.alert.accept")));
    actions.append(el("button", {
      type: "button", class: "btn btn-secondary btn-big", dataset: { action: "decline" },
      disabled: entry.busy, onclick: () => decline(entry.id),
    }, t("v.alert.decline")));
  } else {
    actions.append(el("button", {
      type: "button", class: "btn btn-secondary", dataset: { action: "dismiss" },
      onclick: () => removeAlert(entry.id),
    }, t("v.alert.dismiss")));
  }
  node.append(actions);
  if (!entry.node) {
    entry.node = node;
    placeNewAlertCard(node);
  }
}

/** "Wie viele kommt ihr insgesamt?" 1–10, sent as `party` with the accept. */
function partyPicker(entry) {
  const id = `party-${entry.id}`;
  const select = el("select", {
    id, class: "party", dataset: { role: "party" },
    onchange: () => patchNote(entry.id, { party: Number(select.value) }),
  }, ...Array.from({ length: 10 }, (_, i) => el("option", { value: i + 1 },
    i === 0 ? t("v.party.justMe") : t("v.party.people", { n: i + 1 }))));
  select.value = String(partyOf(entry.id));
  return el("div", { class: "party-row" }, el("label", { class: "party-label", for: id }, t("v.alert.party")), select);
}

function accept(id) {
  const entry = state.alerts.get(id);
  if (!entry || entry.busy) return;
  attn.stopTitleFlash();
  entry.busy = true;
  entry.result = null;
  renderAlert(entry);
  const party = partyOf(id);
  const msg = { type: "accept", callId: id, requestId: requestId() };
  if (party > 1) msg.party = party;
  sendOrPost(msg, "accept", `/calls/${encodeURIComponent(id)}/accept`);
}

/** Leave the waiting list: a withdraw (§7: withdrawing leaves the queue too). */
function leaveStandby(id) {
  const entry = state.alerts.get(id);
  if (!entry || entry.busy) return;
  entry.busy = true;
  renderAlert(entry);
  sendOrPost({ type: "withdraw", callId: id, requestId: requestId() }, "withdraw", `/calls/${encodeURIComponent(id)}/withdraw`);
}

function decline(id) {
  attn.stopTitleFlash();
  state.declined.add(id);
  storageSet(sessionStorage, SK_DECLINED, [...state.declined].slice(-200));
  if (!socket.send({ type: "decline", callId: id })) {
    // No HTTP decline exists; the server will not alert us again on this
    // connection anyway, and the card goes away locally.
  }
  removeAlert(id);
}

/**
 * Send an accept/withdraw over the socket (waiting for accept_result), or over
 * HTTP when the socket is down or does not answer in time.
 */
function sendOrPost(msg, kind, path) {
  const viaHttp = async () => {
    try {
      const body = kind === "accept" && msg.party ? { party: msg.party } : undefined;
      const res = await api("POST", path, { token: token(), body });
      onAcceptResult(msg.callId, res.result, null, false, kind);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) onAcceptResult(msg.callId, "closed", null, false, kind);
      else if (e instanceof ApiError && e.status === 401) socket.onUnauthorized();
      else failPending(msg.callId, kind);
    }
  };
  if (socket.send(msg)) {
    const timer = setTimeout(() => {
      if (state.pending.has(msg.requestId)) {
        state.pending.delete(msg.requestId);
        viaHttp();
      }
    }, 8000);
    state.pending.set(msg.requestId, { callId: msg.callId, kind, timer });
  } else {
    viaHttp();
  }
}

function failPending(callId, kind) {
  if (kind === "withdraw") {
    const c = state.confirmed.get(callId);
    if (c) { c.busy = false; c.error = true; renderConfirmed(c); }
    const waiting = state.alerts.get(callId); // leaving the waiting list failed: still on it
    if (waiting) { waiting.busy = false; renderAlert(waiting); announce(t("v.alert.error")); }
    return;
  }
  const entry = state.alerts.get(callId);
  if (entry) {
    entry.busy = false;
    entry.result = "error";
    renderAlert(entry);
  }
}

function onAcceptResult(callId, result, reqId, promoted = false, kindHint) {
  if (reqId && state.pending.has(reqId)) {
    const p = state.pending.get(reqId);
    clearTimeout(p.timer);
    state.pending.delete(reqId);
    kindHint = p.kind;
  }
  const entry = state.alerts.get(callId);
  const conf = state.confirmed.get(callId);
  switch (result) {
    case "confirmed": {
      patchNote(callId, { standby: null });
      let call = entry ? entry.call : conf ? conf.call : { id: callId, title: "", status: "open", ...note(callId).call };
      if (entry && !conf && !sendsLiveCounts(call) && typeof call.needed === "number") {
        // A 1.0 server sends call_update only on status changes: count ourselves in.
        const confirmed = Math.min(call.needed, (call.confirmed || 0) + partyOf(callId));
        call = { ...call, confirmed, status: confirmed >= call.needed ? "filled" : call.status };
      }
      if (entry) removeAlert(callId);
      const c = upsertConfirmed(call, { justConfirmed: true, promoted });
      announce(promoted ? t("v.confirmed.promoted") : t("v.confirmed.thanks"));
      if (promoted) {
        attn.attention(callId, {
          title: t("v.notify.title"), body: t("v.confirmed.promoted"), flashText: t("v.titleFlash"),
          onClick: () => c.node && c.node.scrollIntoView({ block: "center" }),
        });
      }
      break;
    }
    case "withdrawn": {
      patchNote(callId, { standby: null, checkin: null });
      if (conf) {
        if (conf.node) conf.node.remove();
        state.confirmed.delete(callId);
        if (!callEnded(conf.call.status)) {
          let call = conf.call;
          if (!sendsLiveCounts(call)) {
            call = {
              ...call,
              status: call.status === "filled" ? "open" : call.status,
              confirmed: Math.max(0, (call.confirmed || 0) - partyOf(callId)),
            };
          }
          const again = newAlertEntry(call);
          state.alerts.set(callId, again);
          renderAlert(again);
        }
        announce(t("v.confirmed.withdrawn"));
      } else if (entry) {
        const wasStandby = entry.result === "standby";
        entry.busy = false;
        entry.result = null;
        renderAlert(entry);
        if (wasStandby) announce(t("v.standby.left"));
      }
      break;
    }
    case "full":
    case "closed":
    case "not_eligible":
    case "standby": {
      if (kindHint === "withdraw" && conf) {
        conf.busy = false;
        conf.gone = result === "closed";
        renderConfirmed(conf);
        break;
      }
      patchNote(callId, { standby: result === "standby" ? true : null });
      if (entry) {
        entry.busy = false;
        entry.result = result;
        if (result === "closed" && entry.call.status === "open") entry.call.status = "cancelled";
        renderAlert(entry);
        announce(statusText(entry));
      }
      break;
    }
    default:
      if (entry) { entry.busy = false; renderAlert(entry); }
  }
  renderLists();
}

/** A 1.1 server (its call objects carry the funnel) sends call_update whenever the count changes. */
function sendsLiveCounts(call) {
  return typeof call.delivered === "number" || typeof call.checkedIn === "number";
}

function onCallUpdate(msg) {
  const patch = { status: msg.status, confirmed: msg.confirmed, needed: msg.needed };
  for (const k of Object.keys(patch)) if (patch[k] === undefined) delete patch[k];
  // Keep any further (1.1) fields the update carries.
  for (const [k, v] of Object.entries(msg)) if (!["type", "callId"].includes(k) && !(k in patch)) patch[k] = v;
  const entry = state.alerts.get(msg.callId);
  if (entry) {
    const was = entry.call.status;
    entry.call = { ...entry.call, ...patch };
    if (msg.status === "open" && (entry.result === "full")) entry.result = null;
    if (callEnded(msg.status)) patchNote(msg.callId, { standby: null });
    renderAlert(entry);
    if (was !== msg.status && msg.status && msg.status !== "open") announce(`${entry.call.title}: ${statusText(entry)}`);
  }
  const conf = state.confirmed.get(msg.callId);
  if (conf) {
    conf.call = { ...conf.call, ...patch };
    if (callEnded(msg.status)) conf.gone = true;
    renderConfirmed(conf);
  }
}

// ---------------------------------------------------------------- confirmations

function upsertConfirmed(call, opts = {}) {
  let entry = state.confirmed.get(call.id);
  if (!entry) {
    entry = {
      id: call.id, call: { ...call }, node: null, gone: callEnded(call.status), busy: false, confirmStep: false,
      counter: new FillCounter(),
    };
    state.confirmed.set(call.id, entry);
  } else {
    entry.call = { ...entry.call, ...call };
    entry.gone = callEnded(entry.call.status);
  }
  rememberCall(entry.call);
  if (opts.justConfirmed) entry.fresh = opts.promoted ? "promoted" : "thanks";
  if (state.alerts.has(call.id)) removeAlert(call.id);
  renderConfirmed(entry);
  renderLists();
  return entry;
}

function onOrgMessage(msg) {
  if (!msg.callId) return;
  // Every message comes again after each welcome: only a new one rings.
  const isNew = inbox.add(msg);
  let entry = state.confirmed.get(msg.callId);
  if (entry) renderConfirmed(entry);
  else {
    // A message about a call that is no longer in welcome.confirmed (e.g. the
    // summary after it expired): show it on a card of the ended call.
    const call = { id: msg.callId, title: t("v.messages.pastCall"), ...note(msg.callId).call, status: "expired" };
    entry = upsertConfirmed(call);
  }
  if (!isNew) return;
  const title = entry.call.title || t("v.notify.title");
  announce(t("v.messages.new", { title, text: String(msg.text) }));
  attn.attention(`message-${msg.callId}`, {
    title: t("v.messages.notifyTitle", { title }), body: String(msg.text), flashText: t("v.messages.flash"),
    onClick: () => entry.node && entry.node.scrollIntoView({ block: "center" }),
  });
}

function mapLink(loc) {
  const lat = loc.lat.toFixed(5);
  const lon = loc.lon.toFixed(5);
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`;
}

function renderConfirmed(entry) {
  const c = entry.call;
  const node = entry.node || el("article", { class: "confirmed-card", dataset: { callId: c.id } });
  const titleId = `conf-title-${c.id}`;
  const checkin = checkIns.state(c.id);
  node.setAttribute("aria-labelledby", titleId);
  node.classList.toggle("is-closed", entry.gone);
  node.dataset.status = c.status || "";
  node.dataset.checkin = checkin || "none";
  clear(node);
  const banner = entry.gone
    ? el("p", { class: "banner banner-warn", role: "status" }, t("v.confirmed.gone"))
    : el("p", { class: "banner banner-ok" }, entry.fresh === "promoted" ? t("v.confirmed.promoted") : t("v.confirmed.thanks"));
  node.append(banner, el("h3", { id: titleId, class: "card-title" }, c.title || ""));

  const where = el("dd", null, c.address || t("v.confirmed.noAddress"));
  if (c.location && typeof c.location.lat === "number") {
    where.append(" ", el("a", { href: mapLink(c.location), target: "_blank", rel: "noopener" }, t("v.confirmed.mapLink")));
  }
  const party = partyOf(c.id);
  // A card made for a message about an unknown ended call has no facts to show.
  if (c.startsAt || c.address || c.location) node.append(el("dl", { class: "facts" },
    el("dt", null, t("v.confirmed.where")), where,
    el("dt", null, t("v.confirmed.when")), el("dd", null, c.startsAt && c.endsAt ? fmtWindow(c.startsAt, c.endsAt) : ""),
    party > 1 ? el("dt", null, t("v.confirmed.party")) : null,
    party > 1 ? el("dd", { class: "party-size" }, t("v.party.people", { n: party })) : null,
  ));
  if (typeof c.needed === "number") node.append(entry.counter.update(c));
  if (c.description) node.append(el("p", { class: "card-desc" }, c.description));
  const messages = messageList(inbox.list(c.id));
  if (messages) node.append(messages);
  if (!entry.gone && checkin) {
    node.append(el("p", { class: checkin === "in" ? "checkin-state is-in" : "checkin-state" },
      checkin === "in" ? t("v.checkin.in") : t("v.checkin.out")));
  }
  if (entry.checkinError) node.append(el("p", { class: "card-status", role: "status" }, t("v.checkin.failed")));
  if (entry.error) node.append(el("p", { class: "card-status", role: "status" }, t("v.alert.error")));

  const actions = el("div", { class: "btn-row card-actions" });
  if (!entry.gone) {
    actions.append(checkinButton(entry, checkin));
    actions.append(el("button", {
      type: "button", class: entry.confirmStep ? "btn btn-danger" : "btn btn-danger-outline", dataset: { action: "withdraw" },
      disabled: entry.busy,
      onclick: () => withdraw(entry.id),
    }, entry.confirmStep ? t("v.confirmed.withdrawSure") : t("v.confirmed.withdraw")));
  } else {
    actions.append(el("button", {
      type: "button", class: "btn btn-secondary", dataset: { action: "dismiss" },
      onclick: () => { node.remove(); state.confirmed.delete(entry.id); renderLists(); },
    }, t("v.alert.dismiss")));
  }
  node.append(actions);
  if (!entry.node) {
    entry.node = node;
    $("#confirmed").prepend(node);
  }
}

/** "Ich bin angekommen" before and after a stay, "Ich gehe jetzt" while checked in. */
function checkinButton(entry, checkin) {
  const isIn = checkin === "in";
  return el("button", {
    type: "button", class: isIn ? "btn btn-secondary btn-big" : "btn btn-accept btn-big",
    dataset: { action: isIn ? "checkout" : "checkin" },
    onclick: () => {
      entry.checkinError = false;
      if (!checkIns.toggle(entry.id)) {
        entry.checkinError = true;
        renderConfirmed(entry);
        return;
      }
      announce(checkIns.state(entry.id) === "in" ? t("v.checkin.in") : t("v.checkin.out"));
    },
  }, isIn ? t("v.confirmed.checkout") : t("v.confirmed.checkin"));
}

function withdraw(id) {
  const entry = state.confirmed.get(id);
  if (!entry || entry.busy) return;
  if (!entry.confirmStep) {
    // Two steps, so that a stray tap does not give the place away.
    entry.confirmStep = true;
    renderConfirmed(entry);
    entry.node.querySelector('[data-action="withdraw"]')?.focus();
    setTimeout(() => {
      if (entry.confirmStep && !entry.busy) {
        entry.confirmStep = false;
        renderConfirmed(entry);
      }
    }, 6000);
    return;
  }
  entry.confirmStep = false;
  entry.busy = true;
  entry.error = false;
  renderConfirmed(entry);
  sendOrPost({ type: "withdraw", callId: id, requestId: requestId() }, "withdraw", `/calls/${encodeURIComponent(id)}/withdraw`);
}

function renderLists() {
  const nAlerts = state.alerts.size;
  const nConf = state.confirmed.size;
  $("#confirmed-section").hidden = nConf === 0;
  const empty = $("#alerts-empty");
  empty.hidden = nAlerts > 0;
  empty.textContent = isAvailable() ? t("v.alerts.none") : t("v.alerts.noneUnavailable");
  $("#alerts-section").classList.toggle("has-alerts", nAlerts > 0);
}

// Mark alerts whose time window has ended.
setInterval(() => {
  const now = Date.now();
  for (const entry of state.alerts.values()) {
    if (entry.call.endsAt && new Date(entry.call.endsAt).getTime() < now && entry.call.status === "open") {
      entry.call.status = "expired";
      renderAlert(entry);
    }
  }
}, 30000);

// ---------------------------------------------------------------- location

function setLocation(loc) {
  state.location = loc;
  if (loc.source === "manual") storageSet(localStorage, K_LOCATION, loc);
  renderLocation();
  sendLocation(loc.source === "manual");
  if (state.map) {
    state.map.setPin(loc);
  }
}

function sendLocation(force) {
  const loc = state.location;
  if (!loc) return;
  const last = state.lastSentLocation;
  // Throttle GPS updates: send when moved more than 25 m or after 60 s.
  if (!force && last && haversineKm(last, loc) < 0.025 && Date.now() - state.lastSentAt < 60000) return;
  if (socket.send({ type: "location", lat: loc.lat, lon: loc.lon })) {
    state.lastSentLocation = { lat: loc.lat, lon: loc.lon };
    state.lastSentAt = Date.now();
  }
}

function renderLocation() {
  const status = $("#loc-status");
  const loc = state.location;
  const gpsBtn = $("#loc-gps");
  gpsBtn.textContent = state.gpsWatch !== null ? t("v.loc.stopGps") : t("v.loc.useGps");
  if (!loc) {
    status.textContent = state.gpsWaiting ? t("v.loc.gpsWaiting") : t("v.loc.none");
    status.classList.remove("ok");
  } else {
    const coords = fmtCoord(loc.lat, loc.lon);
    const where = loc.source === "gps"
      ? t("v.loc.gps", { coords, acc: Math.round(loc.accuracy || 0) })
      : loc.label ? `${loc.label} (${coords})` : coords;
    status.textContent = t("v.loc.current", { where });
    status.classList.add("ok");
  }
  $("#loc-section").classList.toggle("done", !!loc);
  renderAvailability();
}

function startGps() {
  if (!("geolocation" in navigator)) {
    showLocError(t("v.loc.gpsUnavailable"));
    return;
  }
  storageSet(localStorage, K_GPS, true);
  state.gpsWaiting = true;
  renderLocation();
  state.gpsWatch = navigator.geolocation.watchPosition(
    (pos) => {
      state.gpsWaiting = false;
      hideLocError();
      setLocation({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy, source: "gps" });
    },
    (err) => {
      state.gpsWaiting = false;
      if (err.code === err.PERMISSION_DENIED) {
        stopGps();
        showLocError(t("v.loc.gpsDenied"));
      } else {
        showLocError(t("v.loc.gpsUnavailable"));
      }
      renderLocation();
    },
    { enableHighAccuracy: false, maximumAge: 30000, timeout: 30000 },
  );
  renderLocation();
}

function stopGps() {
  if (state.gpsWatch !== null) navigator.geolocation.clearWatch(state.gpsWatch);
  state.gpsWatch = null;
  state.gpsWaiting = false;
  storageSet(localStorage, K_GPS, null);
  if (state.location && state.location.source === "gps") {
    const manual = storageGet(localStorage, K_LOCATION);
    state.location = manual || null;
    if (manual) sendLocation(true);
  }
  renderLocation();
}

function showLocError(text) {
  const e = $("#loc-error");
  e.textContent = text;
  e.hidden = false;
}

function hideLocError() {
  $("#loc-error").hidden = true;
  $("#loc-input").removeAttribute("aria-invalid");
}

function toggleMap() {
  const wrap = $("#loc-map-wrap");
  const btn = $("#loc-map-toggle");
  const open = wrap.hidden;
  wrap.hidden = !open;
  btn.setAttribute("aria-expanded", String(open));
  btn.textContent = open ? t("v.loc.hideMap") : t("v.loc.pickMap");
  if (open) {
    if (!state.map) {
      state.map = new TileMap($("#loc-map"), {
        center: state.location || undefined,
        zoom: 13,
        label: t("map.label"),
        onPick: (p) => {
          if (state.gpsWatch !== null) stopGps();
          hideLocError();
          setLocation({ lat: p.lat, lon: p.lon, source: "manual" });
        },
      });
    }
    if (state.location) {
      state.map.setPin(state.location);
      state.map.setCenter(state.location);
    }
    state.map.render();
  }
}

// ---------------------------------------------------------------- availability

function nextUntil() {
  if (!$("#until-on").checked) return null;
  const [h, m] = ($("#until-time").value || "18:00").split(":").map(Number);
  const d = new Date();
  d.setHours(h, m, 0, 0);
  if (d.getTime() <= Date.now() + 60000) d.setDate(d.getDate() + 1);
  return d;
}

function sendAvailability() {
  const a = state.availability;
  if (!a) return;
  const msg = { type: "availability", status: isAvailable() ? "available" : "unavailable" };
  if (msg.status === "available" && a.until) msg.until = a.until;
  socket.send(msg);
}

function setAvailable(on) {
  const until = on ? nextUntil() : null;
  state.availability = { status: on ? "available" : "unavailable" };
  if (until) state.availability.until = toRfc3339Local(until);
  storageSet(sessionStorage, SK_AVAIL, state.availability);
  sendAvailability();
  scheduleUntil();
  attn.setWakeLock(on && $("#wake").checked);
  renderAvailability();
  renderLists();
}

function scheduleUntil() {
  clearTimeout(state.untilTimer);
  const a = state.availability;
  if (a && a.status === "available" && a.until) {
    const ms = new Date(a.until).getTime() - Date.now();
    state.untilTimer = setTimeout(() => {
      state.availability = { status: "unavailable" };
      storageSet(sessionStorage, SK_AVAIL, state.availability);
      attn.setWakeLock(false);
      renderAvailability();
      renderLists();
    }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }
}

function renderAvailability() {
  const on = isAvailable();
  const btn = $("#avail");
  btn.setAttribute("aria-checked", String(on));
  $("#avail-label").textContent = on ? t("v.avail.on") : t("v.avail.off");
  const a = state.availability;
  let hint = on ? t("v.avail.onHint") : t("v.avail.offHint");
  if (on && a.until) hint = `${t("v.avail.untilValue", { time: fmtTime(new Date(a.until)) })}. ${hint}`;
  if (!on && !state.location && state.gpsWatch === null) hint = t("v.avail.needLocation");
  $("#avail-hint").textContent = hint;
  $("#avail-section").classList.toggle("is-on", on);
  const perm = attn.notificationPermission();
  $("#notify-warning").hidden = !(on && perm === "denied");
}

async function onAvailClick() {
  attn.unlockAudio();
  const on = !isAvailable();
  if (on && !state.location && state.gpsWatch === null) {
    $("#avail-hint").textContent = t("v.avail.needLocation");
    $("#loc-section").scrollIntoView({ behavior: "smooth", block: "start" });
    $("#loc-gps").focus({ preventScroll: true });
    return;
  }
  setAvailable(on);
  // A sensible moment to ask: the volunteer just said "call me".
  if (on) {
    await attn.requestNotificationPermission();
    renderAvailability();
  }
}

// ---------------------------------------------------------------- sign-up / account

function distanceLabel(input, out) {
  out.textContent = t("v.signup.distanceValue", { km: input.value });
}

function clearFieldErrors(prefix) {
  for (const node of document.querySelectorAll(`[id^="${prefix}"]`)) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showFieldError(prefix, inputs, field, message) {
  const key = (field || "").split(".")[0];
  const box = document.getElementById(prefix + key);
  if (!box) return false;
  box.textContent = message;
  box.hidden = false;
  const input = inputs[key];
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  return true;
}

let signupSkills = null;
let profileSkills = null;

async function onSignup(ev) {
  ev.preventDefault();
  clearFieldErrors("err-");
  $("#signup-error").hidden = true;
  const inputs = { displayName: $("#su-name"), maxDistanceKm: $("#su-distance"), contact: $("#su-contact"), skills: $("#su-custom") };
  const name = inputs.displayName.value.trim();
  if (!name) {
    showFieldError("err-", inputs, "displayName", t("c.f.required"));
    return;
  }
  const body = { displayName: name, skills: signupSkills.value, maxDistanceKm: Number(inputs.maxDistanceKm.value) };
  const contact = inputs.contact.value.trim();
  if (contact) body.contact = contact;
  const btn = $("#su-submit");
  btn.disabled = true;
  btn.textContent = t("v.signup.busy");
  try {
    const res = await api("POST", "/volunteers", { body });
    state.profile = {
      id: res.id, token: res.token, displayName: res.displayName,
      skills: res.skills || [], maxDistanceKm: res.maxDistanceKm,
    };
    storageSet(localStorage, K_PROFILE, state.profile);
    showApp();
    showNotice("");
  } catch (e) {
    if (!(e instanceof ApiError) || !showFieldError("err-", inputs, e.field, e.message)) {
      const box = $("#signup-error");
      box.textContent = e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
    }
  } finally {
    btn.disabled = false;
    btn.textContent = t("v.signup.submit");
  }
}

function renderAccount() {
  const p = state.profile;
  if (!p) return;
  $("#hello").textContent = t("v.hello", { name: p.displayName });
  $("#account-summary").textContent = t("v.account.summary", {
    name: p.displayName,
    skills: p.skills && p.skills.length ? p.skills.map(skillLabel).join(", ") : t("v.account.noSkills"),
    km: fmtKm(p.maxDistanceKm ?? 10),
  });
  $("#account-limits").textContent = fatigueSummary(p);
}

async function toggleProfileForm() {
  const form = $("#profile-form");
  const btn = $("#edit-profile");
  const open = form.hidden;
  form.hidden = !open;
  btn.setAttribute("aria-expanded", String(open));
  if (!open) return;
  const p = state.profile;
  $("#pf-name").value = p.displayName || "";
  profileSkills.value = p.skills || [];
  $("#pf-distance").value = String(Math.round(p.maxDistanceKm ?? 10));
  distanceLabel($("#pf-distance"), $("#pf-distance-out"));
  fillFatigue(p);
  try {
    const me = await api("GET", "/volunteers/me", { token: token() });
    if (me) {
      $("#pf-contact").value = me.contact || "";
      Object.assign(state.profile, {
        displayName: me.displayName, skills: me.skills || [], maxDistanceKm: me.maxDistanceKm,
        maxAlertsPerDay: me.maxAlertsPerDay ?? null, quietHours: me.quietHours ?? null,
      });
      storageSet(localStorage, K_PROFILE, state.profile);
      fillFatigue(state.profile);
      renderAccount();
    }
  } catch { /* keep what we have */ }
  $("#pf-name").focus();
}

async function onProfileSave(ev) {
  ev.preventDefault();
  clearFieldErrors("perr-");
  $("#profile-error").hidden = true;
  const inputs = {
    displayName: $("#pf-name"), maxDistanceKm: $("#pf-distance"), contact: $("#pf-contact"), skills: $("#pf-custom"),
    maxAlertsPerDay: $("#pf-max-alerts"), quietHours: $("#pf-quiet-from"),
  };
  const body = {
    displayName: inputs.displayName.value.trim(),
    skills: profileSkills.value,
    maxDistanceKm: Number(inputs.maxDistanceKm.value),
    contact: inputs.contact.value.trim(),
  };
  if (!body.displayName) {
    showFieldError("perr-", inputs, "displayName", t("c.f.required"));
    return;
  }
  const limits = readFatigue();
  if (limits.error) {
    showFieldError("perr-", inputs, limits.error.field, limits.error.message);
    return;
  }
  Object.assign(body, limits.fields);
  try {
    const me = await api("PATCH", "/volunteers/me", { token: token(), body });
    Object.assign(state.profile, {
      displayName: me.displayName ?? body.displayName, skills: me.skills ?? body.skills, maxDistanceKm: me.maxDistanceKm ?? body.maxDistanceKm,
      // An older server ignores the limits and does not echo them.
      maxAlertsPerDay: "maxAlertsPerDay" in me ? me.maxAlertsPerDay : body.maxAlertsPerDay,
      quietHours: "quietHours" in me ? me.quietHours : body.quietHours,
    });
    storageSet(localStorage, K_PROFILE, state.profile);
    renderAccount();
    $("#profile-form").hidden = true;
    $("#edit-profile").setAttribute("aria-expanded", "false");
    showNotice(t("v.account.saved"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { socket.onUnauthorized(); return; }
    if (!(e instanceof ApiError) || !showFieldError("perr-", inputs, e.field, e.message)) {
      const box = $("#profile-error");
      box.textContent = e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
    }
  }
}

async function onExport() {
  try {
    const data = await api("GET", "/volunteers/me/export", { token: token() });
    const day = new Date().toISOString().slice(0, 10);
    download(`helferruf-meine-daten-${day}.json`, JSON.stringify(data, null, 2), "application/json");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) socket.onUnauthorized();
    else showNotice(e instanceof ApiError ? e.userMessage() : String(e));
  }
}

function onForget() {
  const dlg = $("#forget-dialog");
  dlg.returnValue = "";
  dlg.showModal();
}

async function onForgetClosed() {
  if ($("#forget-dialog").returnValue !== "confirm") return;
  const tok = token();
  socket.stop();
  try {
    await api("DELETE", "/volunteers/me", { token: tok });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) {
      showNotice(e instanceof ApiError ? e.userMessage() : String(e));
      socket.start();
      return;
    }
  }
  forgetLocally();
  showSignup(t("v.account.forgotten"));
}

/** Remove everything this page keeps about the volunteer. */
function forgetLocally() {
  socket.stop();
  stopGps();
  attn.setWakeLock(false);
  attn.stopTitleFlash();
  state.profile = null;
  state.location = null;
  state.availability = null;
  for (const k of [K_PROFILE, K_LOCATION, K_GPS]) storageSet(localStorage, k, null);
  for (const k of [SK_AVAIL, SK_KNOWN, SK_DECLINED]) storageSet(sessionStorage, k, null);
  receipts.forget();
  inbox.forget();
  forgetAllNotes();
  state.known.clear();
  state.declined.clear();
  state.alerts.clear();
  state.confirmed.clear();
  clear($("#alerts"));
  clear($("#confirmed"));
}

// ---------------------------------------------------------------- views

function showSignup(notice) {
  $("#app").hidden = true;
  $("#signup").hidden = false;
  showNotice(notice || "");
  distanceLabel($("#su-distance"), $("#su-distance-out"));
}

function showApp() {
  $("#signup").hidden = true;
  $("#app").hidden = false;
  renderAccount();
  const manual = storageGet(localStorage, K_LOCATION);
  if (manual && !state.location) state.location = manual;
  if (storageGet(localStorage, K_GPS) && state.gpsWatch === null) startGps();
  renderLocation();
  renderAvailability();
  renderLists();
  scheduleUntil();
  if (isAvailable() && $("#wake").checked) attn.setWakeLock(true);
  socket.start();
}

function rerenderAll() {
  attn.setBaseTitle(t("v.title"));
  for (const e of state.alerts.values()) renderAlert(e);
  for (const e of state.confirmed.values()) renderConfirmed(e);
  renderAccount();
  renderLocation();
  renderLists();
  onConnState.rerender();
  distanceLabel($("#su-distance"), $("#su-distance-out"));
  distanceLabel($("#pf-distance"), $("#pf-distance-out"));
  const mapOpen = !$("#loc-map-wrap").hidden;
  $("#loc-map-toggle").textContent = mapOpen ? t("v.loc.hideMap") : t("v.loc.pickMap");
}

function init() {
  applyTranslations();
  bindLangSwitch($("#lang"));
  onLangChange(rerenderAll);

  signupSkills = new SkillPicker($("#su-skills"), $("#su-custom"), $("#su-add"), $("#err-skills"));
  profileSkills = new SkillPicker($("#pf-skills"), $("#pf-custom"), $("#pf-add"), $("#perr-skills"));
  $("#signup-form").addEventListener("submit", onSignup);
  $("#su-distance").addEventListener("input", () => distanceLabel($("#su-distance"), $("#su-distance-out")));
  $("#pf-distance").addEventListener("input", () => distanceLabel($("#pf-distance"), $("#pf-distance-out")));

  const dl = $("#places");
  for (const name of placeNames()) dl.append(el("option", { value: name }));
  $("#loc-gps").addEventListener("click", () => {
    hideLocError();
    if (state.gpsWatch !== null) stopGps();
    else startGps();
  });
  $("#loc-map-toggle").addEventListener("click", toggleMap);
  $("#loc-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = parsePlace($("#loc-input").value);
    if (!p) {
      showLocError(t("v.loc.unknownPlace"));
      $("#loc-input").setAttribute("aria-invalid", "true");
      return;
    }
    hideLocError();
    if (state.gpsWatch !== null) stopGps();
    setLocation({ lat: p.lat, lon: p.lon, label: p.label || undefined, source: "manual" });
    if (state.map) state.map.setCenter(p);
    $("#loc-input").value = "";
  });

  $("#avail").addEventListener("click", onAvailClick);
  const untilTime = storageGet(localStorage, K_UNTIL);
  if (untilTime) $("#until-time").value = untilTime;
  if (state.availability && state.availability.until) $("#until-on").checked = true;
  const untilChanged = () => {
    storageSet(localStorage, K_UNTIL, $("#until-time").value);
    if (isAvailable()) setAvailable(true);
  };
  $("#until-on").addEventListener("change", untilChanged);
  $("#until-time").addEventListener("change", () => {
    $("#until-on").checked = true;
    untilChanged();
  });
  if (attn.wakeLockSupported()) {
    $("#wake-row").hidden = false;
    $("#wake").checked = !!storageGet(localStorage, K_WAKE);
    $("#wake").addEventListener("change", () => {
      storageSet(localStorage, K_WAKE, $("#wake").checked);
      attn.setWakeLock($("#wake").checked && isAvailable());
    });
  }

  bindFatigueInputs();
  $("#edit-profile").addEventListener("click", toggleProfileForm);
  $("#profile-form").addEventListener("submit", onProfileSave);
  $("#export").addEventListener("click", onExport);
  $("#forget").addEventListener("click", onForget);
  $("#forget-dialog").addEventListener("close", onForgetClosed);

  if (state.profile && state.profile.token) showApp();
  else showSignup();
}

init();

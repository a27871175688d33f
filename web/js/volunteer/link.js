// Volunteer page: the socket to /ws/volunteer and the messages it brings
// (welcome, alerts, updates, results, messages, errors).

import { t } from "../i18n.js";
import { LiveSocket, connectionIndicator } from "../socket.js";
import { Receipts } from "../receipts.js";
import { CheckIns } from "../checkin.js";
import { Inbox } from "../inbox.js";
import { note, patchNote } from "../mycalls.js";
import { $ } from "../util.js";
import { forgetLocally } from "./account.js";
import { upsertAlert, removeAlert, renderAlert, renderLists } from "./alerts.js";
import { failPending, onAcceptResult, onCallUpdate } from "./answers.js";
import { sendAvailability } from "./availability.js";
import { upsertConfirmed, onOrgMessage, renderConfirmed } from "./confirmed.js";
import { sendLocation } from "./location.js";
import { flushDeclined } from "./push.js";
import { state, token, announce, saveKnown, isAvailable } from "./state.js";
import { showSignup } from "./views.js";

// ---------------------------------------------------------------- socket

export const onConnState = connectionIndicator($("#conn"), $("#conn-retry"), t);
export const socket = new LiveSocket({
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

export const receipts = new Receipts((msg) => socket.send(msg));
export const inbox = new Inbox();
export const checkIns = new CheckIns((msg) => socket.send(msg), (callId, failed) => {
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
  flushDeclined();
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

export function onServerError(msg) {
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

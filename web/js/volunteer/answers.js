// Volunteer page: accept and withdraw over the socket or HTTP, their results, call updates.

import * as attn from "../attention.js";
import { t } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { note, patchNote } from "../mycalls.js";
import { newAlertEntry, removeAlert, statusText, renderAlert, renderLists } from "./alerts.js";
import { upsertConfirmed, renderConfirmed } from "./confirmed.js";
import { socket } from "./link.js";
import { state, token, announce, partyOf, callEnded } from "./state.js";

/**
 * Send an accept/withdraw over the socket (waiting for accept_result), or over
 * HTTP when the socket is down or does not answer in time.
 */
export function sendOrPost(msg, kind, path) {
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

export function failPending(callId, kind) {
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

export function onAcceptResult(callId, result, reqId, promoted = false, kindHint) {
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
    case "limit":
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
export function sendsLiveCounts(call) {
  return typeof call.delivered === "number" || typeof call.checkedIn === "number";
}

export function onCallUpdate(msg) {
  if (msg.removed) { onRemoved(msg); return; }
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

/**
 * The organisation removed our confirmation (§11): the confirmed card goes, and an
 * informing card (no accept: the server refuses this call to us now) says so plainly.
 */
function onRemoved(msg) {
  patchNote(msg.callId, { standby: null, checkin: null });
  const conf = state.confirmed.get(msg.callId);
  const old = state.alerts.get(msg.callId);
  const call = { ...(conf ? conf.call : old ? old.call : { id: msg.callId, title: "" }), status: msg.status, confirmed: msg.confirmed, needed: msg.needed };
  if (conf) {
    if (conf.node) conf.node.remove();
    state.confirmed.delete(msg.callId);
  }
  if (old) removeAlert(msg.callId);
  const entry = newAlertEntry(call);
  entry.result = "removed";
  state.alerts.set(msg.callId, entry);
  renderAlert(entry);
  announce(call.title ? `${call.title}: ${t("v.alert.removed")}` : t("v.alert.removed"));
  renderLists();
}

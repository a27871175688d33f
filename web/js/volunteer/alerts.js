// Volunteer page: alert cards (accept, party size, waiting list, decline) and the lists.

import * as attn from "../attention.js";
import { t, skillLabel } from "../i18n.js";
import { FillCounter } from "../counter.js";
import { note, patchNote } from "../mycalls.js";
import { el, append, $, clear, fmtKm, fmtWindow, storageSet, haversineKm, requestId } from "../util.js";
import { sendOrPost } from "./answers.js";
import { renderConfirmed } from "./confirmed.js";
import { socket, receipts } from "./link.js";
import { SK_DECLINED, state, announce, saveKnown, isAvailable, offersStandby, partyOf, callEnded } from "./state.js";

// ---------------------------------------------------------------- alerts

export function upsertAlert(call) {
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

export function newAlertEntry(call) {
  return {
    id: call.id, call: { ...call }, busy: false, node: null, lastSeen: Date.now(),
    counter: new FillCounter(),
    // A waiting-list place survives a reload (the server keeps it too).
    result: note(call.id).standby ? "standby" : null,
  };
}

export function distanceKm(call) {
  if (typeof call.distanceKm === "number") return call.distanceKm;
  if (state.location && call.location) return haversineKm(state.location, call.location);
  return null;
}

export function distanceText(call) {
  const km = distanceKm(call);
  return km === null ? "" : t("v.alert.distance", { km: fmtKm(km) });
}

export function removeAlert(id) {
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

export function statusText(entry) {
  const st = entry.call.status;
  if (entry.result === "full") return t("v.alert.full");
  if (entry.result === "closed") return t("v.alert.closed");
  if (entry.result === "not_eligible") return t("v.alert.notEligible");
  if (entry.result === "standby") return t("v.alert.standby");
  if (entry.result === "limit") return t("v.alert.limit");
  if (entry.result === "removed") return t("v.alert.removed");
  if (entry.result === "error") return t("v.alert.error");
  if (st === "filled") return t("v.alert.filled");
  if (st === "cancelled") return t("v.alert.cancelled");
  if (st === "expired") return t("v.alert.expired");
  return "";
}

export function renderAlert(entry) {
  const c = entry.call;
  const st = c.status || "open";
  // A removed helper cannot take the call again (§11): the card only informs.
  const closed = callEnded(st) || entry.result === "closed" || entry.result === "removed";
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

export function accept(id) {
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
export function leaveStandby(id) {
  const entry = state.alerts.get(id);
  if (!entry || entry.busy) return;
  entry.busy = true;
  renderAlert(entry);
  sendOrPost({ type: "withdraw", callId: id, requestId: requestId() }, "withdraw", `/calls/${encodeURIComponent(id)}/withdraw`);
}

export function decline(id) {
  attn.stopTitleFlash();
  state.declined.add(id);
  storageSet(sessionStorage, SK_DECLINED, [...state.declined].slice(-200));
  if (!socket.send({ type: "decline", callId: id })) {
    // No HTTP decline exists; the server will not alert us again on this
    // connection anyway, and the card goes away locally.
  }
  removeAlert(id);
}

export function renderLists() {
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

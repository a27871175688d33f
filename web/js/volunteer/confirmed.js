// Volunteer page: cards of confirmed calls (check-in, messages, withdrawal) and org messages.

import * as attn from "../attention.js";
import { t } from "../i18n.js";
import { messageList } from "../inbox.js";
import { FillCounter } from "../counter.js";
import { note, rememberCall } from "../mycalls.js";
import { el, $, clear, fmtWindow, requestId } from "../util.js";
import { removeAlert, renderLists } from "./alerts.js";
import { sendOrPost } from "./answers.js";
import { inbox, checkIns } from "./link.js";
import { state, announce, partyOf, callEnded } from "./state.js";

// ---------------------------------------------------------------- confirmations

export function upsertConfirmed(call, opts = {}) {
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

export function onOrgMessage(msg) {
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

export function renderConfirmed(entry) {
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

export function withdraw(id) {
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

// Messages from the organisation to its confirmed helpers (§7 "message"
// frames), per call. The server sends every message again after each welcome,
// so they are deduplicated (by their id where the server sends one, else by
// call, time and text), and kept in localStorage so that a reloaded page shows
// them at once and does not ring for old ones.

import { t } from "./i18n.js";
import { el, fmtDateTime, storageGet, storageSet } from "./util.js";

const K_INBOX = "helferruf.messages";
const KEEP_MS = 3 * 24 * 3600 * 1000;

export class Inbox {
  constructor() {
    this.byCall = storageGet(localStorage, K_INBOX) || {};
    this._prune();
  }

  /** Store a message frame; true when it was not known yet. */
  add(msg) {
    const callId = String(msg.callId || "");
    const text = String(msg.text ?? "");
    const at = String(msg.at || "");
    const id = msg.id ? String(msg.id) : undefined;
    const kind = msg.kind === "closeout" ? "closeout" : undefined; // the summary when a call ends
    if (!callId || !text) return false;
    const list = this.byCall[callId] || (this.byCall[callId] = []);
    if (list.some((m) => (id && m.id === id) || (m.at === at && m.text === text))) return false;
    list.push({ id, kind, at, text, received: Date.now() });
    this._save();
    return true;
  }

  /** Messages of a call, newest first. */
  list(callId) {
    return [...(this.byCall[callId] || [])].sort((a, b) => String(b.at).localeCompare(String(a.at)));
  }

  callIds() {
    return Object.keys(this.byCall);
  }

  forget() {
    this.byCall = {};
    storageSet(localStorage, K_INBOX, null);
  }

  _prune() {
    const now = Date.now();
    for (const [id, list] of Object.entries(this.byCall)) {
      const kept = list.filter((m) => now - (m.received || 0) < KEEP_MS);
      if (kept.length) this.byCall[id] = kept;
      else delete this.byCall[id];
    }
    this._save();
  }

  _save() {
    storageSet(localStorage, K_INBOX, this.byCall);
  }
}

/** The messages of one call as a list, newest first; null when there are none. */
export function messageList(messages) {
  if (!messages.length) return null;
  const list = el("ul", { class: "messages" });
  for (const m of messages) {
    const when = m.at ? new Date(m.at) : null;
    list.append(el("li", { class: "message", dataset: { kind: m.kind || "organisation" } },
      when && !isNaN(when) ? el("time", { datetime: m.at }, fmtDateTime(when)) : null,
      m.kind === "closeout" ? el("span", { class: "message-kind" }, t("v.messages.closeout")) : null,
      el("span", { class: "message-text" }, m.text)));
  }
  return el("section", { class: "messages-box", "aria-label": t("v.confirmed.messages") },
    el("h4", null, t("v.confirmed.messages")), list);
}

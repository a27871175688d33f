// Funnel receipts of protocol 1.1 (§7): "received" as soon as an alert frame
// arrives, "seen" once its card has been rendered in a visible page (or as
// soon as the page becomes visible). A 1.0 server answers both with an
// unknown_type error, which the page ignores.

import { sendFunnel } from "../config.js";
import { storageGet, storageSet } from "./util.js";

const SK_SEEN = "helferruf.seenSent";

export class Receipts {
  /** @param {(msg: object) => boolean} send sends on the socket; false when offline */
  constructor(send) {
    this.send = send;
    this.sent = new Set(storageGet(sessionStorage, SK_SEEN) || []); // "seen" already sent
    this.waiting = new Set(); // shown, "seen" not sent yet
    document.addEventListener("visibilitychange", () => this.flush());
  }

  received(callId) {
    if (sendFunnel) this.send({ type: "received", callId });
  }

  /** The alert card for callId is in the page. */
  shown(callId) {
    if (!this.sent.has(callId)) this.waiting.add(callId);
    this.flush();
  }

  /** Send "seen" for every shown card while the page is visible; call again after a reconnect. */
  flush() {
    if (!sendFunnel || document.visibilityState !== "visible" || this.waiting.size === 0) return;
    for (const id of [...this.waiting]) {
      if (!this.send({ type: "seen", callId: id })) return; // offline: try again after the next welcome
      this.waiting.delete(id);
      this.sent.add(id);
    }
    storageSet(sessionStorage, SK_SEEN, [...this.sent].slice(-200));
  }

  forget() {
    this.sent.clear();
    this.waiting.clear();
    storageSet(sessionStorage, SK_SEEN, null);
  }
}

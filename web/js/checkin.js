// Check-in and check-out on confirmed calls (§7). The contract names no
// acknowledgement, only an `error` frame when the server refuses one (e.g.
// validation_failed without a confirmation); our server also answers
// {"type":"checkin_result","callId","requestId","checkedIn"}. So the new state
// is shown at once, kept in localStorage, set from a checkin_result, and
// reverted when an error names the request or, for a validation_failed error
// without requestId, arrives while the request is still pending.

import { note, patchNote } from "./mycalls.js";
import { requestId } from "./util.js";

const PENDING_MS = 5000;

export class CheckIns {
  /**
   * @param {(msg: object) => boolean} send sends on the socket; false when offline
   * @param {(callId: string, failed: boolean) => void} onChange re-render the call
   */
  constructor(send, onChange) {
    this.send = send;
    this.onChange = onChange;
    this.pending = new Map(); // requestId -> {callId, prev, timer}
  }

  /** "in" while checked in, "out" after checking out, null before. */
  state(callId) {
    return note(callId).checkin || null;
  }

  /** Check in, or out when checked in; false when the socket is down. */
  toggle(callId) {
    const prev = this.state(callId);
    const next = prev === "in" ? "out" : "in";
    const rid = requestId();
    if (!this.send({ type: next === "in" ? "checkin" : "checkout", callId, requestId: rid })) return false;
    patchNote(callId, { checkin: next });
    const timer = setTimeout(() => {
      this.pending.delete(rid);
      this.onChange(callId, false);
    }, PENDING_MS);
    this.pending.set(rid, { callId, prev, timer });
    this.onChange(callId, false);
    return true;
  }

  /** A checkin_result: where the volunteer stands now (also after one sent from another device). */
  onResult(msg) {
    const p = msg.requestId ? this.pending.get(msg.requestId) : null;
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(msg.requestId);
    }
    if (typeof msg.checkedIn !== "boolean" || !msg.callId) return;
    patchNote(msg.callId, { checkin: msg.checkedIn ? "in" : "out" });
    this.onChange(msg.callId, false);
  }

  /** An error frame from the server; true when it answered a check-in or check-out. */
  onError(msg) {
    let rid = msg.requestId;
    if (!rid || !this.pending.has(rid)) {
      // Without a requestId only the refusal of a check-in fits.
      if (rid || msg.code !== "validation_failed" || this.pending.size === 0) return false;
      rid = [...this.pending.keys()].pop(); // the latest one still waiting
    }
    const p = this.pending.get(rid);
    clearTimeout(p.timer);
    this.pending.delete(rid);
    patchNote(p.callId, { checkin: p.prev });
    this.onChange(p.callId, true);
    return true;
  }
}

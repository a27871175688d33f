// What this browser remembers about the volunteer's own calls, per call id, in
// localStorage: the party size sent with the accept, a standby place, the
// check-in state and a short copy of the call (title, address, times) so that a
// message for a call that has ended can still be shown with its title. The
// server keeps the truth; these notes only let a reloaded page show the same.

import { storageGet, storageSet } from "./util.js";

const K_NOTES = "helferruf.myCalls";
const KEEP_MS = 3 * 24 * 3600 * 1000;

let notes = storageGet(localStorage, K_NOTES) || {};

function save() {
  const now = Date.now();
  for (const [id, n] of Object.entries(notes)) {
    if (!n.touched || now - n.touched > KEEP_MS) delete notes[id];
  }
  storageSet(localStorage, K_NOTES, notes);
}

/** The notes kept for a call ({} when none). */
export function note(callId) {
  return notes[callId] || {};
}

/** Merge fields into a call's notes; a field set to null is removed. */
export function patchNote(callId, fields) {
  const n = { ...(notes[callId] || {}) };
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined) delete n[k];
    else n[k] = v;
  }
  n.touched = Date.now();
  notes[callId] = n;
  save();
}

/** Keep the parts of a call object needed to show it again. */
export function rememberCall(call) {
  if (!call || !call.id || !call.title) return;
  const { id, title, address, startsAt, endsAt, location, needed } = call;
  patchNote(id, { call: { id, title, address, startsAt, endsAt, location, needed } });
}

export function forgetAllNotes() {
  notes = {};
  storageSet(localStorage, K_NOTES, null);
}

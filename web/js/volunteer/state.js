// Volunteer page: the state shared by its modules, storage keys and small helpers.

import { note } from "../mycalls.js";
import { $, storageGet, storageSet } from "../util.js";

export const K_PROFILE = "helferruf.volunteer";
export const K_LOCATION = "helferruf.location";
export const K_GPS = "helferruf.gpsConsent";
export const K_WAKE = "helferruf.wakeLock";
export const K_UNTIL = "helferruf.untilTime";
export const SK_AVAIL = "helferruf.availability";
export const SK_KNOWN = "helferruf.knownCalls";
export const SK_DECLINED = "helferruf.declined";
// Protocol 1.2: push on in this browser, the alert area's label, and the
// availability a push-reachable volunteer keeps after closing the tab.
export const K_PUSH = "helferruf.push";
export const K_AREA_LABEL = "helferruf.areaLabel";
export const K_STANDING = "helferruf.standingAvailability";

/**
 * Availability set in this tab, or else the standing availability kept in
 * localStorage while this browser gets push notifications (the server keeps
 * it too, §8), as long as it has not ended.
 */
function initialAvailability() {
  const tab = storageGet(sessionStorage, SK_AVAIL);
  if (tab) return tab;
  const standing = storageGet(localStorage, K_STANDING);
  if (!standing || !storageGet(localStorage, K_PUSH)) return null;
  if (standing.until && new Date(standing.until).getTime() <= Date.now()) return null;
  return standing;
}

export const state = {
  profile: storageGet(localStorage, K_PROFILE),
  location: null, // {lat, lon, source: "gps"|"manual", label?, accuracy?}
  gpsWatch: null,
  gpsWaiting: false,
  availability: initialAvailability(), // {status, until?} or null when never set
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

export function token() {
  return state.profile ? state.profile.token : null;
}

export function announce(text) {
  const box = $("#announce");
  box.textContent = "";
  // A fresh text node after a tick makes screen readers speak it again.
  setTimeout(() => { box.textContent = text; }, 50);
}

export function showNotice(text) {
  const n = $("#notice");
  n.textContent = text || "";
  n.hidden = !text;
}

export function saveKnown() {
  storageSet(sessionStorage, SK_KNOWN, [...state.known].slice(-200));
}

/**
 * Keep the availability for this tab and, while this browser is
 * push-reachable (push on and an alert area chosen), beyond it.
 */
export function saveAvailability() {
  storageSet(sessionStorage, SK_AVAIL, state.availability);
  const reachable = storageGet(localStorage, K_PUSH) && state.profile && state.profile.alertArea;
  const a = state.availability;
  storageSet(localStorage, K_STANDING, reachable && a && a.status === "available" ? a : null);
}

export function isAvailable() {
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
export function offersStandby(call) {
  return call.standbyEnabled === true || (typeof call.standby === "number" && call.standby > 0);
}

/** Party size chosen for a call (1 when never chosen). */
export function partyOf(callId) {
  return note(callId).party || 1;
}

export function callEnded(status) {
  return status === "cancelled" || status === "expired";
}

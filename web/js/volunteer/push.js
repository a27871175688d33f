// Volunteer page (protocol 1.2, §8): push notifications while the page is
// closed. Registers the service worker (/sw.js, root scope), and behind one
// switch asks for notification permission (only when pressed), subscribes with
// the server's VAPID key and stores the subscription on the server; off
// unsubscribes and deletes it. Also the standing availability ("available
// until", kept by the server for push-reachable volunteers) and the messages
// the service worker sends to an open page.

import { t, lang, onLangChange } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { $, fmtDateTime, storageGet, storageSet, toRfc3339Local } from "../util.js";
import { alertArea, bindArea, renderArea, takeArea } from "./area.js";
import { decline, renderLists } from "./alerts.js";
import { onAcceptResult } from "./answers.js";
import { renderAvailability, scheduleUntil } from "./availability.js";
import { socket } from "./link.js";
import { K_AREA_LABEL, K_PUSH, K_STANDING, state, token, announce, isAvailable, saveAvailability } from "./state.js";
import { clearWorkerData, peekDeclined, shareWithWorker, takeDeclined } from "./workerdata.js";

const push = {
  // "unsupported" | "ios" (needs the home screen first) | "denied" | "on" | "off"
  state: "off",
  busy: false,
  registration: null,
  bound: false,
};

// ---------------------------------------------------------------- what the browser can do

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window &&
    window.isSecureContext !== false;
}

function isIos() {
  const ua = navigator.userAgent || "";
  return /iPad|iPhone|iPod/.test(ua) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

function isStandalone() {
  return (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches) || navigator.standalone === true;
}

/** Register /sw.js (offline shell; push when switched on). Safe to call more than once. */
export function registerWorker() {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  if (!push.registering) {
    push.registering = navigator.serviceWorker.register("/sw.js", { scope: "/" })
      .then((reg) => { push.registration = reg; return reg; })
      .catch((e) => { console.warn("helferruf: service worker not registered", e); return null; });
    navigator.serviceWorker.addEventListener("message", onWorkerMessage);
  }
  return push.registering;
}

async function currentSubscription() {
  if (!pushSupported()) return null;
  const reg = await registerWorker();
  if (!reg) return null;
  try {
    return await reg.pushManager.getSubscription();
  } catch {
    return null;
  }
}

function base64UrlToBytes(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const own = subscription.options && subscription.options.applicationServerKey;
  if (!own) return true; // cannot tell: keep it
  const a = new Uint8Array(own);
  return a.length === key.length && a.every((v, i) => v === key[i]);
}

// ---------------------------------------------------------------- switching on and off

async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    push.state = permission === "denied" ? "denied" : "off";
    return;
  }
  const reg = await registerWorker();
  if (!reg) throw new Error("no service worker");
  await navigator.serviceWorker.ready;
  const { publicKey } = await api("GET", "/push/key");
  const key = base64UrlToBytes(publicKey);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await shareWithWorker({ token: token(), lang: lang() });
  await api("POST", "/volunteers/me/push", { token: token(), body: sub.toJSON() });
  storageSet(localStorage, K_PUSH, true);
  push.state = "on";
  try {
    takeArea(await api("GET", "/volunteers/me", { token: token() }));
  } catch { /* keep what we have */ }
  saveAvailability();
  announce(t("v.push.turnedOn"));
}

async function turnOff() {
  const sub = await currentSubscription();
  if (sub) {
    try {
      await api("DELETE", "/volunteers/me/push", { token: token(), body: { endpoint: sub.endpoint } });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
    }
    await sub.unsubscribe().catch(() => {});
  }
  storageSet(localStorage, K_PUSH, null);
  storageSet(localStorage, K_STANDING, null);
  push.state = "off";
  announce(t("v.push.turnedOff"));
}

async function onToggle() {
  if (push.busy || push.state === "unsupported" || push.state === "ios") return;
  const err = $("#push-error");
  err.hidden = true;
  push.busy = true;
  const wasOn = push.state === "on";
  renderPush();
  try {
    if (wasOn) await turnOff();
    else await turnOn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { socket.onUnauthorized(); return; }
    // A server without §8 answers 404 for /push/key.
    err.textContent = e instanceof ApiError && e.status === 404 ? t("v.push.serverMissing")
      : e instanceof ApiError && e.code === "network" ? t("err.network") : t("v.push.failed");
    err.hidden = false;
    if (!wasOn) {
      const sub = await currentSubscription();
      if (sub && !storageGet(localStorage, K_PUSH)) await sub.unsubscribe().catch(() => {});
    }
  } finally {
    push.busy = false;
    renderPush();
  }
}

// ---------------------------------------------------------------- standing availability

/** The end of a choice: "2h", "tonight" (22:00), "morning" (08:00 tomorrow) or "none". */
export function standingUntil(choice, now = new Date()) {
  if (choice === "none") return null;
  if (choice === "2h") return new Date(now.getTime() + 2 * 3600 * 1000);
  const d = new Date(now);
  if (choice === "tonight") {
    d.setHours(22, 0, 0, 0);
    // Already late: until midnight rather than tomorrow night.
    if (d.getTime() - now.getTime() < 30 * 60 * 1000) d.setHours(23, 59, 0, 0);
    if (d.getTime() <= now.getTime()) return new Date(now.getTime() + 2 * 3600 * 1000);
    return d;
  }
  // "morning": 08:00 tomorrow, or today when it is still night.
  d.setHours(8, 0, 0, 0);
  if (now.getHours() >= 4 || d.getTime() <= now.getTime()) d.setDate(d.getDate() + 1);
  return d;
}

async function setStanding(on) {
  const err = $("#standing-error");
  err.hidden = true;
  if (on && !alertArea()) {
    err.textContent = t("v.standing.needArea");
    err.hidden = false;
    $("#area-here").focus();
    return;
  }
  const choice = (document.querySelector('input[name="standing"]:checked') || {}).value || "2h";
  const until = on ? standingUntil(choice) : null;
  const body = { status: on ? "available" : "unavailable" };
  if (until) body.until = toRfc3339Local(until);
  try {
    await api("PUT", "/volunteers/me/availability", { token: token(), body });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { socket.onUnauthorized(); return; }
    err.textContent = e instanceof ApiError && e.code === "network" ? t("err.network") : t("v.push.failed");
    err.hidden = false;
    return;
  }
  // The page's own switch shows the same availability (it is one state on the server).
  state.availability = body;
  saveAvailability();
  scheduleUntil();
  renderAvailability();
  renderLists();
  renderPush();
  announce(standingText());
}

function standingText() {
  if (!isAvailable()) return t("v.standing.offStatus");
  const a = state.availability;
  return a.until ? t("v.standing.until", { time: fmtDateTime(new Date(a.until)) }) : t("v.standing.forever");
}

// ---------------------------------------------------------------- messages from the service worker

async function onWorkerMessage(ev) {
  const msg = ev.data;
  if (!msg || typeof msg !== "object" || !state.profile) return;
  if (msg.type === "helferruf-accept-result" && msg.callId && msg.result) {
    onAcceptResult(msg.callId, msg.result, null, false, "accept");
  } else if (msg.type === "helferruf-declined") {
    await flushDeclined();
  } else if (msg.type === "helferruf-show" && msg.callId) {
    const card = document.querySelector(`[data-call-id="${CSS.escape(msg.callId)}"]`);
    if (card) card.scrollIntoView({ block: "center" });
  }
}

/**
 * Calls declined from a notification: hide their cards and send the socket's
 * decline (the HTTP API has none). Called after every welcome and when the
 * service worker says so.
 */
export async function flushDeclined() {
  if (!socket.isOnline()) return;
  for (const id of await takeDeclined()) decline(id);
}

// ---------------------------------------------------------------- view

export function renderPush() {
  const section = $("#push-section");
  if (!section) return;
  const st = push.state;
  const on = st === "on";
  const toggle = $("#push-toggle");
  toggle.setAttribute("aria-checked", String(on));
  toggle.disabled = push.busy || st === "unsupported" || st === "ios";
  toggle.hidden = st === "unsupported" || st === "ios";
  $("#push-ios").hidden = st !== "ios";
  $("#push-unsupported").hidden = st !== "unsupported";
  $("#push-denied").hidden = st !== "denied";
  let status = "";
  if (push.busy) status = t("v.push.busy");
  else if (on) status = alertArea() ? t("v.push.on") : t("v.push.needArea");
  else if (st === "off") status = t("v.push.off");
  $("#push-status").textContent = status;
  $("#push-status").hidden = !status;
  section.classList.toggle("is-on", on);
  $("#push-settings").hidden = !on;
  const available = isAvailable();
  $("#standing-status").textContent = standingText();
  $("#standing-status").classList.toggle("ok", available);
  $("#standing-off").hidden = !available;
  $("#standing-on").textContent = available ? t("v.standing.change") : t("v.standing.on");
  renderArea();
}

/** Work out the switch's state from the browser (permission, subscription). */
async function detect() {
  // iOS and iPadOS offer Web Push only to a page added to the home screen.
  if (!pushSupported()) push.state = isIos() && !isStandalone() ? "ios" : "unsupported";
  else if (Notification.permission === "denied") push.state = "denied";
  else {
    const sub = Notification.permission === "granted" ? await currentSubscription() : null;
    push.state = sub && storageGet(localStorage, K_PUSH) ? "on" : "off";
    if (sub && push.state === "on") {
      // Keep the server's copy and the worker's token in step (the server
      // drops subscriptions its push service calls dead; 200 when known).
      shareWithWorker({ token: token(), lang: lang() });
      api("POST", "/volunteers/me/push", { token: token(), body: sub.toJSON() }).catch(() => {});
    }
  }
  renderPush();
}

/** Wire the section once; call when the volunteer's page is shown. */
export async function startPush() {
  if (!push.bound) {
    push.bound = true;
    $("#push-toggle").addEventListener("click", onToggle);
    $("#standing-on").addEventListener("click", () => setStanding(true));
    $("#standing-off").addEventListener("click", () => setStanding(false));
    bindArea(renderPush);
    onLangChange(() => {
      if (state.profile) shareWithWorker({ lang: lang() });
    });
  }
  renderPush();
  registerWorker();
  // Declined from a notification while no page was open: no card, no ring for
  // them when the welcome lists them again (the decline itself goes out then).
  for (const id of await peekDeclined()) state.declined.add(id);
  await detect();
  if (push.state !== "on") return;
  try {
    const me = await api("GET", "/volunteers/me", { token: token() });
    takeArea(me);
    saveAvailability();
    renderPush();
  } catch { /* offline: keep what we have */ }
}

/** Sign-out or erasure: unsubscribe here and forget what the worker was given. */
export async function forgetPush() {
  storageSet(localStorage, K_PUSH, null);
  storageSet(localStorage, K_STANDING, null);
  storageSet(localStorage, K_AREA_LABEL, null);
  push.state = pushSupported() ? "off" : push.state;
  await clearWorkerData();
  const sub = await currentSubscription();
  if (sub) await sub.unsubscribe().catch(() => {});
}

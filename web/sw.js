// Helferruf service worker (protocol 1.2, §8), served at /sw.js so that its
// scope is the whole site.
//
// - Offline shell: the volunteer page's own files are kept in a versioned
//   cache. Every request for them goes to the network first (a deploy never
//   leaves old modules behind); the cache answers only when the network fails.
//   /api/, the sockets and every other origin are never touched or cached.
// - Push: an "alert" shows a notification (title, organisation, place,
//   distance; tag = call id; actions "Ich komme" / "Kann nicht") and reports
//   the funnel stage "received"; a "call_update" whose status is no longer
//   "open" withdraws the notification with that tag.
// - Notification click: "accept" confirms over HTTP without opening a page;
//   "decline" (there is no HTTP decline in the API) reports "seen", closes the
//   notification and leaves the call id for the page, which sends the socket's
//   decline on its next connection; a plain tap reports "seen" and focuses the
//   volunteer tab or opens "/".
//
// The volunteer token and the language come from the page through IndexedDB
// (database "helferruf-worker", store "kv"); the page clears them on sign-out
// and erasure. This is a classic script (module service workers are not
// available in every browser that does Web Push).

"use strict";

const VERSION = "2026-12-07.1";
const CACHE = `helferruf-shell-${VERSION}`;
const SHELL = [
  "/", "/manifest.json", "/config.js", "/css/site.css",
  "/img/icon.svg", "/img/icon-192.png", "/img/icon-512.png", "/img/apple-touch-icon.png",
  "/js/volunteer.js", "/js/i18n.js", "/js/api.js", "/js/socket.js", "/js/map.js", "/js/places.js",
  "/js/skills.js", "/js/attention.js", "/js/receipts.js", "/js/checkin.js", "/js/inbox.js",
  "/js/counter.js", "/js/mycalls.js", "/js/fatigue.js", "/js/util.js",
  "/js/volunteer/state.js", "/js/volunteer/link.js", "/js/volunteer/alerts.js",
  "/js/volunteer/answers.js", "/js/volunteer/confirmed.js", "/js/volunteer/location.js",
  "/js/volunteer/availability.js", "/js/volunteer/account.js", "/js/volunteer/views.js",
  "/js/volunteer/push.js", "/js/volunteer/area.js", "/js/volunteer/workerdata.js",
];
const SHELL_SET = new Set(SHELL);

// ------------------------------------------------------------------ strings
// The notification's words, in the language the page last used (German by
// default). Kept here because a classic worker cannot import the page's i18n.js.

const WORDS = {
  de: {
    accept: "Ich komme",
    decline: "Kann nicht",
    distance: "{km} km entfernt",
    by: "von {org}",
    missing: "noch {n} gesucht",
    fallbackTitle: "Helferruf: Hilfe gesucht!",
    confirmed: "Danke! Du bist bestätigt.",
    standby: "Du bist auf der Warteliste. Wir melden uns, sobald ein Platz frei wird.",
    full: "Leider sind schon alle Plätze besetzt.",
    closed: "Dieser Einsatz ist beendet oder abgesagt.",
    notEligible: "Du kannst diesen Einsatz gerade nicht annehmen.",
    limit: "Du hast zu dieser Zeit schon genug Einsätze zugesagt.",
    failed: "Das hat nicht geklappt. Tippe hier, um die Seite zu öffnen.",
    signedOut: "Bitte öffne Helferruf und melde dich an.",
  },
  en: {
    accept: "I'm coming",
    decline: "Can't make it",
    distance: "{km} km away",
    by: "by {org}",
    missing: "{n} more needed",
    fallbackTitle: "Helferruf: help needed!",
    confirmed: "Thank you! You are confirmed.",
    standby: "You are on the waiting list. We will tell you as soon as a place frees up.",
    full: "Sorry, all places are taken already.",
    closed: "This call has ended or was cancelled.",
    notEligible: "You cannot accept this call right now.",
    limit: "You have already said yes to enough calls at that time.",
    failed: "That did not work. Tap here to open the page.",
    signedOut: "Please open Helferruf and sign in.",
  },
};

function words(lang) {
  return WORDS[lang] || WORDS.de;
}

function fill(s, params) {
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

function fmtKm(km, lang) {
  const n = Number(km);
  if (!isFinite(n)) return "";
  return new Intl.NumberFormat(lang === "en" ? "en-GB" : "de-DE", {
    minimumFractionDigits: n < 10 ? 1 : 0, maximumFractionDigits: n < 10 ? 1 : 0,
  }).format(n);
}

function fmtWhen(startsAt, endsAt, lang) {
  const s = new Date(startsAt);
  const e = new Date(endsAt);
  if (isNaN(s) || isNaN(e)) return "";
  const loc = lang === "en" ? "en-GB" : "de-DE";
  const opts = { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" };
  const day = new Intl.DateTimeFormat(loc, { timeZone: "Europe/Berlin", weekday: "short", day: "numeric", month: "numeric" });
  const time = new Intl.DateTimeFormat(loc, opts);
  const sameDay = day.format(s) === day.format(e) && day.format(s) === day.format(new Date());
  return sameDay ? `${time.format(s)} – ${time.format(e)}` : `${day.format(s)} ${time.format(s)} – ${day.format(e)} ${time.format(e)}`;
}

// ------------------------------------------------------------------ IndexedDB

const DB = "helferruf-worker";

function kv(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("kv", mode);
      const req = fn(tx.objectStore("kv"));
      tx.oncomplete = () => { db.close(); resolve(req ? req.result : undefined); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    };
  });
}

const kvGet = (key) => kv("readonly", (s) => s.get(key)).catch(() => undefined);
const kvSet = (key, value) => kv("readwrite", (s) => s.put(value, key));

// ------------------------------------------------------------------ install, activate, fetch

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One by one: a missing file must not keep the worker (and push) from installing.
    await Promise.all(SHELL.map(async (path) => {
      try {
        const res = await fetch(new Request(path, { cache: "no-cache" }));
        if (res.ok) await cache.put(path, res);
      } catch { /* offline while installing: filled in by later visits */ }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("helferruf-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  // Only the shell; never the API, sockets, metrics or anything else.
  if (!SHELL_SET.has(path) || url.search) return;
  event.respondWith(networkFirst(req, path));
});

async function networkFirst(req, path) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req);
    if (res.ok) cache.put(path, res.clone()).catch(() => {});
    return res;
  } catch (e) {
    const hit = await cache.match(path);
    if (hit) return hit;
    throw e;
  }
}

// ------------------------------------------------------------------ push

self.addEventListener("push", (event) => {
  let msg = null;
  try { msg = event.data ? event.data.json() : null; } catch { msg = null; }
  if (!msg || typeof msg !== "object" || typeof msg.callId !== "string" || !msg.callId) return;
  if (msg.type === "alert") event.waitUntil(showAlert(msg));
  else if (msg.type === "call_update") event.waitUntil(withdrawIfClosed(msg));
});

async function showAlert(msg) {
  const lang = (await kvGet("lang")) || "de";
  const w = words(lang);
  const line1 = [
    typeof msg.distanceKm === "number" ? fill(w.distance, { km: fmtKm(msg.distanceKm, lang) }) : "",
    msg.orgName ? fill(w.by, { org: msg.orgName }) : "",
  ].filter(Boolean).join(" · ");
  const missing = typeof msg.needed === "number" && typeof msg.confirmed === "number"
    ? Math.max(0, msg.needed - msg.confirmed) : null;
  const body = [
    line1,
    msg.address ? String(msg.address) : "",
    msg.startsAt && msg.endsAt ? fmtWhen(msg.startsAt, msg.endsAt, lang) : "",
    missing ? fill(w.missing, { n: missing }) : "",
  ].filter(Boolean).join("\n");
  await self.registration.showNotification(msg.title ? String(msg.title) : w.fallbackTitle, {
    body,
    tag: msg.callId,
    renotify: true,
    requireInteraction: true,
    icon: "/img/icon-192.png",
    lang,
    vibrate: [400, 150, 400, 150, 400],
    timestamp: Date.now(),
    data: { callId: msg.callId, kind: "alert", url: "/" },
    actions: [
      { action: "accept", title: w.accept },
      { action: "decline", title: w.decline },
    ],
  });
  await receipt(msg.callId, "received");
}

async function withdrawIfClosed(msg) {
  if (!msg.status || msg.status === "open") return;
  const shown = await self.registration.getNotifications({ tag: msg.callId });
  for (const n of shown) n.close();
}

// ------------------------------------------------------------------ HTTP with the volunteer's token

async function post(path, body) {
  const token = await kvGet("token");
  if (!token) return { status: 401, data: null };
  const res = await fetch(`/api/v1${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  let data = null;
  try { data = res.status === 204 ? null : await res.json(); } catch { data = null; }
  return { status: res.status, data };
}

async function receipt(callId, stage) {
  try {
    await post(`/calls/${encodeURIComponent(callId)}/receipts`, { stage });
  } catch { /* the funnel is best effort */ }
}

/** Accept over HTTP and say how it went in a quiet follow-up notification. */
async function acceptCall(callId, title) {
  const lang = (await kvGet("lang")) || "de";
  const w = words(lang);
  let text;
  let result = null;
  try {
    const res = await post(`/calls/${encodeURIComponent(callId)}/accept`);
    if (res.status === 200 && res.data && res.data.result) {
      result = res.data.result;
      text = { confirmed: w.confirmed, standby: w.standby, full: w.full, closed: w.closed,
        not_eligible: w.notEligible, limit: w.limit }[result] || w.failed;
    } else if (res.status === 404) {
      result = "closed";
      text = w.closed;
    } else if (res.status === 401 || res.status === 403) {
      text = w.signedOut;
    } else {
      text = w.failed;
    }
  } catch {
    text = w.failed;
  }
  await tellPages({ type: "helferruf-accept-result", callId, result });
  await self.registration.showNotification(title || w.fallbackTitle, {
    body: text, tag: callId, renotify: false, requireInteraction: false, silent: true,
    icon: "/img/icon-192.png", lang, data: { callId, kind: "result", result, url: "/" },
  });
  return result;
}

/**
 * "Kann nicht". The HTTP API has no decline (only the socket's decline
 * message records one), so the closest faithful reading here: report "seen",
 * close the notification, and leave the call id for the page, which sends
 * the socket's decline on its next connection and hides the card.
 */
async function declineCall(callId) {
  const declined = (await kvGet("declined")) || [];
  if (!declined.includes(callId)) declined.push(callId);
  await kvSet("declined", declined.slice(-50)).catch(() => {});
  await tellPages({ type: "helferruf-declined", callId });
  await receipt(callId, "seen");
  for (const n of await self.registration.getNotifications({ tag: callId })) n.close();
}

async function volunteerTabs() {
  const all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  return all.filter((c) => new URL(c.url).pathname === "/");
}

async function tellPages(msg) {
  for (const c of await volunteerTabs()) c.postMessage(msg);
}

async function openVolunteerTab(callId) {
  const tabs = await volunteerTabs();
  if (tabs.length) {
    const tab = tabs.find((c) => c.focused) || tabs[0];
    tab.postMessage({ type: "helferruf-show", callId });
    return tab.focus();
  }
  return self.clients.openWindow("/");
}

/** The one place both the notification click and the test hook below go through. */
async function runAction(action, callId, title) {
  if (!callId) return null;
  if (action === "accept") return acceptCall(callId, title);
  if (action === "decline") return declineCall(callId);
  await receipt(callId, "seen");
  return null;
}

self.addEventListener("notificationclick", (event) => {
  const n = event.notification;
  const data = n.data || {};
  n.close();
  if (event.action === "accept" || event.action === "decline") {
    event.waitUntil(runAction(event.action, data.callId, n.title));
    return;
  }
  // A plain tap: on an alert it counts as seen; then show the page.
  event.waitUntil(Promise.all([
    data.kind === "alert" ? runAction("open", data.callId) : Promise.resolve(),
    openVolunteerTab(data.callId),
  ]));
});

// A message from one of our own pages runs the same action a notification
// button would: {type: "helferruf-action", action: "accept"|"decline"|"seen",
// callId}. It exists so that the browser tests can exercise the click path
// (headless Chromium cannot click a system notification). It is safe to keep:
// it does nothing a page of this origin could not do itself with the token it
// already holds (accept over HTTP, report a receipt, close a notification), and
// it never opens a window.
self.addEventListener("message", (event) => {
  const msg = event.data;
  if (!msg || msg.type !== "helferruf-action" || typeof msg.callId !== "string") return;
  if (!["accept", "decline", "seen"].includes(msg.action)) return;
  const source = event.source;
  event.waitUntil((async () => {
    let title;
    for (const n of await self.registration.getNotifications({ tag: msg.callId })) {
      title = title || n.title;
      n.close();
    }
    const result = await runAction(msg.action, msg.callId, title);
    if (source) source.postMessage({ type: "helferruf-action-done", action: msg.action, callId: msg.callId, result });
  })());
});

// Getting a volunteer's attention for a new alert, even in a background tab:
// a tone (Web Audio oscillator), a system notification, a flashing document
// title and vibration. Also the Screen Wake Lock while available.
//
// Every attempt is recorded in window.helferrufAttentionLog (strings such as
// "sound:<callId>", "notification:denied:<callId>") so that tests can check
// that the hooks fired; the real APIs are still called where they exist.

const log = (window.helferrufAttentionLog = window.helferrufAttentionLog || []);

function record(entry) {
  log.push(entry);
  if (log.length > 200) log.splice(0, log.length - 200);
}

let audioCtx = null;

/**
 * Create or resume the AudioContext. Browsers only allow audio after a user
 * gesture, so call this from a click handler (the availability switch).
 */
export function unlockAudio() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!audioCtx) audioCtx = new Ctx();
    if (audioCtx.state === "suspended") audioCtx.resume().catch(() => {});
  } catch { /* no audio */ }
}

export function playTone(tag) {
  record(`sound:${tag}`);
  try {
    unlockAudio();
    if (!audioCtx) return;
    const now = audioCtx.currentTime;
    const gain = audioCtx.createGain();
    gain.connect(audioCtx.destination);
    gain.gain.setValueAtTime(0.0001, now);
    // Three rising beeps, about 1.2 s in all.
    [880, 1100, 1320].forEach((freq, i) => {
      const osc = audioCtx.createOscillator();
      osc.type = "square";
      osc.frequency.setValueAtTime(freq, now + i * 0.4);
      osc.connect(gain);
      osc.start(now + i * 0.4);
      osc.stop(now + i * 0.4 + 0.3);
    });
    for (let i = 0; i < 3; i++) {
      gain.gain.setValueAtTime(0.0001, now + i * 0.4);
      gain.gain.exponentialRampToValueAtTime(0.25, now + i * 0.4 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.4 + 0.3);
    }
  } catch { /* audio blocked */ }
}

export function notificationPermission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

/** Ask for notification permission; call from a user gesture. */
export async function requestNotificationPermission() {
  if (!("Notification" in window)) {
    record("notification-permission:unsupported");
    return "unsupported";
  }
  if (Notification.permission !== "default") {
    record(`notification-permission:${Notification.permission}`);
    return Notification.permission;
  }
  try {
    const result = await Notification.requestPermission();
    record(`notification-permission:${result}`);
    return result;
  } catch {
    record("notification-permission:error");
    return "denied";
  }
}

export function notify(tag, title, body, onClick) {
  const perm = notificationPermission();
  // A system notification is for a page in the background; a page the
  // volunteer is looking at shows the card, rings and vibrates.
  const looking = document.visibilityState === "visible" && document.hasFocus();
  record(`notification:${looking && perm === "granted" ? "skipped-visible" : perm}:${tag}`);
  if (perm !== "granted" || looking) return;
  try {
    const n = new Notification(title, { body, tag: `helferruf-${tag}`, requireInteraction: true, renotify: true });
    n.addEventListener("click", () => {
      window.focus();
      n.close();
      if (onClick) onClick();
    });
  } catch {
    // Some mobile browsers only allow notifications from a service worker.
  }
}

let flashTimer = null;
let savedTitle = null;

/** Alternate the document title until the page is visible and touched. */
export function flashTitle(tag, text) {
  record(`title:${tag}`);
  if (flashTimer) return;
  savedTitle = document.title;
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? text : savedTitle;
  }, 900);
  document.title = text;
  const stop = () => {
    if (document.visibilityState !== "visible") return;
    stopTitleFlash();
  };
  // Stop at the first interaction with a visible page.
  for (const type of ["pointerdown", "keydown", "focus"]) {
    window.addEventListener(type, stop, { once: true, capture: true });
  }
}

export function stopTitleFlash() {
  if (!flashTimer) return;
  clearInterval(flashTimer);
  flashTimer = null;
  if (savedTitle !== null) document.title = savedTitle;
}

/** Keep the restored title in sync when the language changes mid-flash. */
export function setBaseTitle(title) {
  if (flashTimer) savedTitle = title;
  else document.title = title;
}

export function vibrate(tag) {
  record(`vibrate:${tag}`);
  // Browsers refuse vibration before the first tap on the page (e.g. right
  // after a reload) and log an error for trying.
  if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return;
  try {
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  } catch { /* not allowed */ }
}

/** Everything at once, for a new alert. */
export function attention(tag, { title, body, flashText, onClick }) {
  playTone(tag);
  notify(tag, title, body, onClick);
  flashTitle(tag, flashText);
  vibrate(tag);
}

// Screen Wake Lock: held while wanted and the page is visible; the browser
// drops it when the page is hidden, so it is taken again on return.
let wakeWanted = false;
let wakeLock = null;

async function acquireWakeLock() {
  if (!wakeWanted || wakeLock || !("wakeLock" in navigator) || document.visibilityState !== "visible") return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    record("wakelock:on");
    wakeLock.addEventListener("release", () => { wakeLock = null; });
  } catch {
    record("wakelock:refused");
  }
}

export function wakeLockSupported() {
  return "wakeLock" in navigator;
}

export function setWakeLock(wanted) {
  wakeWanted = wanted;
  if (wanted) acquireWakeLock();
  else if (wakeLock) {
    wakeLock.release().catch(() => {});
    wakeLock = null;
    record("wakelock:off");
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") acquireWakeLock();
});

// Volunteer page: the "available" switch, "only until" and the screen wake lock.

import * as attn from "../attention.js";
import { t } from "../i18n.js";
import { $, fmtTime, toRfc3339Local, storageGet, storageSet } from "../util.js";
import { renderLists } from "./alerts.js";
import { socket } from "./link.js";
import { K_WAKE, K_UNTIL, state, isAvailable, saveAvailability } from "./state.js";

// ---------------------------------------------------------------- availability

export function nextUntil() {
  if (!$("#until-on").checked) return null;
  const [h, m] = ($("#until-time").value || "18:00").split(":").map(Number);
  const d = new Date();
  d.setHours(h, m, 0, 0);
  if (d.getTime() <= Date.now() + 60000) d.setDate(d.getDate() + 1);
  return d;
}

export function sendAvailability() {
  const a = state.availability;
  if (!a) return;
  const msg = { type: "availability", status: isAvailable() ? "available" : "unavailable" };
  if (msg.status === "available" && a.until) msg.until = a.until;
  socket.send(msg);
}

export function setAvailable(on) {
  const until = on ? nextUntil() : null;
  state.availability = { status: on ? "available" : "unavailable" };
  if (until) state.availability.until = toRfc3339Local(until);
  saveAvailability();
  sendAvailability();
  scheduleUntil();
  attn.setWakeLock(on && $("#wake").checked);
  renderAvailability();
  renderLists();
}

export function scheduleUntil() {
  clearTimeout(state.untilTimer);
  const a = state.availability;
  if (a && a.status === "available" && a.until) {
    const ms = new Date(a.until).getTime() - Date.now();
    state.untilTimer = setTimeout(() => {
      state.availability = { status: "unavailable" };
      saveAvailability();
      attn.setWakeLock(false);
      renderAvailability();
      renderLists();
    }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }
}

export function renderAvailability() {
  const on = isAvailable();
  const btn = $("#avail");
  btn.setAttribute("aria-checked", String(on));
  $("#avail-label").textContent = on ? t("v.avail.on") : t("v.avail.off");
  const a = state.availability;
  let hint = on ? t("v.avail.onHint") : t("v.avail.offHint");
  if (on && a.until) hint = `${t("v.avail.untilValue", { time: fmtTime(new Date(a.until)) })}. ${hint}`;
  if (!on && !state.location && state.gpsWatch === null) hint = t("v.avail.needLocation");
  $("#avail-hint").textContent = hint;
  $("#avail-section").classList.toggle("is-on", on);
  const perm = attn.notificationPermission();
  $("#notify-warning").hidden = !(on && perm === "denied");
}

export async function onAvailClick() {
  attn.unlockAudio();
  const on = !isAvailable();
  if (on && !state.location && state.gpsWatch === null) {
    $("#avail-hint").textContent = t("v.avail.needLocation");
    $("#loc-section").scrollIntoView({ behavior: "smooth", block: "start" });
    $("#loc-gps").focus({ preventScroll: true });
    return;
  }
  setAvailable(on);
  // A sensible moment to ask: the volunteer just said "call me".
  if (on) {
    await attn.requestNotificationPermission();
    renderAvailability();
  }
}

/** Wire the availability switch, "only until" and the wake lock. */
export function bindAvailability() {
  $("#avail").addEventListener("click", onAvailClick);
  const untilTime = storageGet(localStorage, K_UNTIL);
  if (untilTime) $("#until-time").value = untilTime;
  if (state.availability && state.availability.until) $("#until-on").checked = true;
  const untilChanged = () => {
    storageSet(localStorage, K_UNTIL, $("#until-time").value);
    if (isAvailable()) setAvailable(true);
  };
  $("#until-on").addEventListener("change", untilChanged);
  $("#until-time").addEventListener("change", () => {
    $("#until-on").checked = true;
    untilChanged();
  });
  if (attn.wakeLockSupported()) {
    $("#wake-row").hidden = false;
    $("#wake").checked = !!storageGet(localStorage, K_WAKE);
    $("#wake").addEventListener("change", () => {
      storageSet(localStorage, K_WAKE, $("#wake").checked);
      attn.setWakeLock($("#wake").checked && isAvailable());
    });
  }
}

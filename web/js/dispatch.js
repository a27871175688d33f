// The "Alarmierung" part of the console's new-call form (§7): broadcast (the
// v1 rule) or waves with an optional maximum radius and the seconds between
// waves, and the waiting list. Inputs live in console.html.

import { t } from "./i18n.js";
import { $, storageGet, storageSet } from "./util.js";

const K_WAVE_CALLS = "helferruf.waveCalls";

function wavesChosen() {
  return $("#c-mode-waves").checked;
}

function syncWaveInputs() {
  $("#c-waves").hidden = !wavesChosen();
}

export function bindDispatchInputs() {
  for (const id of ["#c-mode-broadcast", "#c-mode-waves"]) $(id).addEventListener("change", syncWaveInputs);
  syncWaveInputs();
}

/** An optional positive number input: undefined when empty, NaN when not a positive number. */
function positive(input) {
  const raw = input.value.trim().replace(",", ".");
  if (raw === "") return undefined;
  const n = Number(raw);
  return isFinite(n) && n > 0 ? n : NaN;
}

/**
 * The call-input fields for the chosen alerting: {fields} to merge into the
 * POST /calls body (nothing for broadcast without standby, so that a v1
 * server sees a v1 call), or {error: {field, message}}.
 */
export function readDispatch() {
  const fields = {};
  if (wavesChosen()) {
    const dispatch = { mode: "waves" };
    const maxRadiusKm = positive($("#c-max-radius"));
    const waveSeconds = positive($("#c-wave-seconds"));
    if (Number.isNaN(maxRadiusKm)) return { error: { field: "dispatch.maxRadiusKm", message: t("c.f.numberInvalid") } };
    if (Number.isNaN(waveSeconds)) return { error: { field: "dispatch.waveSeconds", message: t("c.f.numberInvalid") } };
    if (maxRadiusKm !== undefined) dispatch.maxRadiusKm = maxRadiusKm;
    if (waveSeconds !== undefined) dispatch.waveSeconds = Math.round(waveSeconds);
    fields.dispatch = dispatch;
  }
  if ($("#c-standby").checked) fields.standby = true;
  return { fields };
}

/**
 * Remember which calls this browser posted in waves: the call object tells the
 * waves so far but not the mode, and the dashboard (same origin) shows it too.
 */
export function rememberDispatch(call, fields) {
  if (!fields.dispatch || !call || !call.id) return;
  const ids = storageGet(localStorage, K_WAVE_CALLS) || [];
  ids.push(call.id);
  storageSet(localStorage, K_WAVE_CALLS, ids.slice(-200));
}

/** Whether a call goes out in waves, from its echoed dispatch or this browser's memory. */
export function isWavesCall(call) {
  if (call.dispatch && call.dispatch.mode) return call.dispatch.mode === "waves";
  return (storageGet(localStorage, K_WAVE_CALLS) || []).includes(call.id);
}

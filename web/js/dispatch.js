// The "Alarmierung" part of the console's new-call form: "needed by" (§10,
// the default, see console/deadline.js), everyone at once (broadcast, the v1
// rule, for emergencies) or waves (§7) with the seconds between waves; an
// optional maximum radius for waves and deadlines, and the waiting list.
// Inputs live in console.html.

import { t } from "./i18n.js";
import { $, storageGet, storageSet } from "./util.js";
import { readDeadline, resetFillBy } from "./console/deadline.js";

const K_WAVE_CALLS = "helferruf.waveCalls";
const MODES = ["#c-mode-deadline", "#c-mode-broadcast", "#c-mode-waves"];

function wavesChosen() {
  return $("#c-mode-waves").checked;
}

function deadlineChosen() {
  return $("#c-mode-deadline").checked;
}

function syncWaveInputs() {
  $("#c-deadline").hidden = !deadlineChosen();
  $("#c-waves").hidden = !(wavesChosen() || deadlineChosen());
  $("#c-wave-seconds-field").hidden = !wavesChosen();
  $("#c-deadline-hint").hidden = !deadlineChosen();
  $("#c-broadcast-hint").hidden = !$("#c-mode-broadcast").checked;
  $("#c-waves-hint").hidden = !wavesChosen();
}

export function bindDispatchInputs() {
  for (const id of MODES) $(id).addEventListener("change", syncWaveInputs);
  syncWaveInputs();
}

/** Default times of the alerting inputs when the form is (re)set. */
export function resetDispatchTimes(now) {
  resetFillBy(now);
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
  if (deadlineChosen()) {
    const deadline = readDeadline();
    if (deadline.error) return deadline;
    const maxRadiusKm = positive($("#c-max-radius"));
    if (Number.isNaN(maxRadiusKm)) return { error: { field: "dispatch.maxRadiusKm", message: t("c.f.numberInvalid") } };
    if (maxRadiusKm !== undefined) deadline.dispatch.maxRadiusKm = maxRadiusKm;
    fields.dispatch = deadline.dispatch;
  } else if (wavesChosen()) {
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
  if (!fields.dispatch || fields.dispatch.mode !== "waves" || !call || !call.id) return;
  const ids = storageGet(localStorage, K_WAVE_CALLS) || [];
  ids.push(call.id);
  storageSet(localStorage, K_WAVE_CALLS, ids.slice(-200));
}

/** Whether a call goes out in waves, from its echoed dispatch or this browser's memory. */
export function isWavesCall(call) {
  if (call.dispatch && call.dispatch.mode) return call.dispatch.mode === "waves";
  return (storageGet(localStorage, K_WAVE_CALLS) || []).includes(call.id);
}

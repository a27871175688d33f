// Fatigue limits in the volunteer's profile (§7): at most N alerts a day and
// quiet hours in Europe/Berlin wall time. The inputs live in volunteer.html
// (#pf-max-alerts, #pf-quiet-on, #pf-quiet-from, #pf-quiet-to).

import { t } from "./i18n.js";
import { $ } from "./util.js";

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

function syncQuietInputs() {
  const on = $("#pf-quiet-on").checked;
  $("#pf-quiet-times").hidden = !on;
  for (const id of ["#pf-quiet-from", "#pf-quiet-to"]) $(id).disabled = !on;
}

export function bindFatigueInputs() {
  $("#pf-quiet-on").addEventListener("change", syncQuietInputs);
  syncQuietInputs();
}

/** Put a profile's limits into the form; absent fields (an older server) mean "no limit". */
export function fillFatigue(profile) {
  const max = profile.maxAlertsPerDay;
  $("#pf-max-alerts").value = typeof max === "number" ? String(max) : "";
  const quiet = profile.quietHours;
  $("#pf-quiet-on").checked = !!quiet;
  if (quiet) {
    $("#pf-quiet-from").value = quiet.from || "22:00";
    $("#pf-quiet-to").value = quiet.to || "07:00";
  }
  syncQuietInputs();
}

/**
 * Read the limits for PATCH /volunteers/me. Returns {fields} or {error: {field,
 * message}}; "no limit" and "no quiet hours" are sent as null.
 */
export function readFatigue() {
  const raw = $("#pf-max-alerts").value.trim();
  let maxAlertsPerDay = null;
  if (raw !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 100) {
      return { error: { field: "maxAlertsPerDay", message: t("v.fatigue.maxInvalid") } };
    }
    maxAlertsPerDay = n;
  }
  let quietHours = null;
  if ($("#pf-quiet-on").checked) {
    const from = $("#pf-quiet-from").value;
    const to = $("#pf-quiet-to").value;
    if (!TIME.test(from) || !TIME.test(to) || from === to) {
      return { error: { field: "quietHours", message: t("v.fatigue.quietInvalid") } };
    }
    quietHours = { from, to };
  }
  return { fields: { maxAlertsPerDay, quietHours } };
}

/** "Ruhezeit 22:00–07:00 · höchstens 5 Rufe am Tag", or "" without limits. */
export function fatigueSummary(profile) {
  const parts = [];
  if (profile.quietHours && profile.quietHours.from) {
    parts.push(t("v.fatigue.quietSummary", { from: profile.quietHours.from, to: profile.quietHours.to }));
  }
  if (typeof profile.maxAlertsPerDay === "number") {
    parts.push(t("v.fatigue.maxSummary", { n: profile.maxAlertsPerDay }));
  }
  return parts.join(" · ");
}

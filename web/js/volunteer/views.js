// Volunteer page: switching between sign-up and the app, re-rendering on a language change.

import * as attn from "../attention.js";
import { t } from "../i18n.js";
import { $, storageGet } from "../util.js";
import { distanceLabel, renderAccount } from "./account.js";
import { renderAlert, renderLists } from "./alerts.js";
import { scheduleUntil, renderAvailability } from "./availability.js";
import { renderConfirmed } from "./confirmed.js";
import { onConnState, socket } from "./link.js";
import { renderLocation, startGps } from "./location.js";
import { renderPush, startPush } from "./push.js";
import { K_LOCATION, K_GPS, state, showNotice, isAvailable } from "./state.js";

// ---------------------------------------------------------------- views

export function showSignup(notice) {
  $("#app").hidden = true;
  $("#signup").hidden = false;
  showNotice(notice || "");
  distanceLabel($("#su-distance"), $("#su-distance-out"));
}

export function showApp() {
  $("#signup").hidden = true;
  $("#app").hidden = false;
  renderAccount();
  const manual = storageGet(localStorage, K_LOCATION);
  if (manual && !state.location) state.location = manual;
  if (storageGet(localStorage, K_GPS) && state.gpsWatch === null) startGps();
  renderLocation();
  renderAvailability();
  renderLists();
  scheduleUntil();
  if (isAvailable() && $("#wake").checked) attn.setWakeLock(true);
  socket.start();
  startPush();
}

export function rerenderAll() {
  attn.setBaseTitle(t("v.title"));
  for (const e of state.alerts.values()) renderAlert(e);
  for (const e of state.confirmed.values()) renderConfirmed(e);
  renderAccount();
  renderLocation();
  renderLists();
  renderPush();
  onConnState.rerender();
  distanceLabel($("#su-distance"), $("#su-distance-out"));
  distanceLabel($("#pf-distance"), $("#pf-distance-out"));
  const mapOpen = !$("#loc-map-wrap").hidden;
  $("#loc-map-toggle").textContent = mapOpen ? t("v.loc.hideMap") : t("v.loc.pickMap");
}

// Volunteer page: the volunteer's position from GPS, the map or a typed place.

import { t } from "../i18n.js";
import { TileMap } from "../map.js";
import { parsePlace, placeNames } from "../places.js";
import { el, $, fmtCoord, storageGet, storageSet, haversineKm } from "../util.js";
import { renderAvailability } from "./availability.js";
import { socket } from "./link.js";
import { K_LOCATION, K_GPS, state } from "./state.js";

// ---------------------------------------------------------------- location

export function setLocation(loc) {
  state.location = loc;
  if (loc.source === "manual") storageSet(localStorage, K_LOCATION, loc);
  renderLocation();
  sendLocation(loc.source === "manual");
  if (state.map) {
    state.map.setPin(loc);
  }
}

export function sendLocation(force) {
  const loc = state.location;
  if (!loc) return;
  const last = state.lastSentLocation;
  // Throttle GPS updates: send when moved more than 25 m or after 60 s.
  if (!force && last && haversineKm(last, loc) < 0.025 && Date.now() - state.lastSentAt < 60000) return;
  if (socket.send({ type: "location", lat: loc.lat, lon: loc.lon })) {
    state.lastSentLocation = { lat: loc.lat, lon: loc.lon };
    state.lastSentAt = Date.now();
  }
}

export function renderLocation() {
  const status = $("#loc-status");
  const loc = state.location;
  const gpsBtn = $("#loc-gps");
  gpsBtn.textContent = state.gpsWatch !== null ? t("v.loc.stopGps") : t("v.loc.useGps");
  if (!loc) {
    status.textContent = state.gpsWaiting ? t("v.loc.gpsWaiting") : t("v.loc.none");
    status.classList.remove("ok");
  } else {
    const coords = fmtCoord(loc.lat, loc.lon);
    const where = loc.source === "gps"
      ? t("v.loc.gps", { coords, acc: Math.round(loc.accuracy || 0) })
      : loc.label ? `${loc.label} (${coords})` : coords;
    status.textContent = t("v.loc.current", { where });
    status.classList.add("ok");
  }
  $("#loc-section").classList.toggle("done", !!loc);
  renderAvailability();
}

export function startGps() {
  if (!("geolocation" in navigator)) {
    showLocError(t("v.loc.gpsUnavailable"));
    return;
  }
  storageSet(localStorage, K_GPS, true);
  state.gpsWaiting = true;
  renderLocation();
  state.gpsWatch = navigator.geolocation.watchPosition(
    (pos) => {
      state.gpsWaiting = false;
      hideLocError();
      setLocation({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy, source: "gps" });
    },
    (err) => {
      state.gpsWaiting = false;
      if (err.code === err.PERMISSION_DENIED) {
        stopGps();
        showLocError(t("v.loc.gpsDenied"));
      } else {
        showLocError(t("v.loc.gpsUnavailable"));
      }
      renderLocation();
    },
    { enableHighAccuracy: false, maximumAge: 30000, timeout: 30000 },
  );
  renderLocation();
}

export function stopGps() {
  if (state.gpsWatch !== null) navigator.geolocation.clearWatch(state.gpsWatch);
  state.gpsWatch = null;
  state.gpsWaiting = false;
  storageSet(localStorage, K_GPS, null);
  if (state.location && state.location.source === "gps") {
    const manual = storageGet(localStorage, K_LOCATION);
    state.location = manual || null;
    if (manual) sendLocation(true);
  }
  renderLocation();
}

export function showLocError(text) {
  const e = $("#loc-error");
  e.textContent = text;
  e.hidden = false;
}

export function hideLocError() {
  $("#loc-error").hidden = true;
  $("#loc-input").removeAttribute("aria-invalid");
}

export function toggleMap() {
  const wrap = $("#loc-map-wrap");
  const btn = $("#loc-map-toggle");
  const open = wrap.hidden;
  wrap.hidden = !open;
  btn.setAttribute("aria-expanded", String(open));
  btn.textContent = open ? t("v.loc.hideMap") : t("v.loc.pickMap");
  if (open) {
    if (!state.map) {
      state.map = new TileMap($("#loc-map"), {
        center: state.location || undefined,
        zoom: 13,
        label: t("map.label"),
        onPick: (p) => {
          if (state.gpsWatch !== null) stopGps();
          hideLocError();
          setLocation({ lat: p.lat, lon: p.lon, source: "manual" });
        },
      });
    }
    if (state.location) {
      state.map.setPin(state.location);
      state.map.setCenter(state.location);
    }
    state.map.render();
  }
}

/** Wire the GPS button, the map and the place form. */
export function bindLocation() {
  const dl = $("#places");
  for (const name of placeNames()) dl.append(el("option", { value: name }));
  $("#loc-gps").addEventListener("click", () => {
    hideLocError();
    if (state.gpsWatch !== null) stopGps();
    else startGps();
  });
  $("#loc-map-toggle").addEventListener("click", toggleMap);
  $("#loc-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = parsePlace($("#loc-input").value);
    if (!p) {
      showLocError(t("v.loc.unknownPlace"));
      $("#loc-input").setAttribute("aria-invalid", "true");
      return;
    }
    hideLocError();
    if (state.gpsWatch !== null) stopGps();
    setLocation({ lat: p.lat, lon: p.lon, label: p.label || undefined, source: "manual" });
    if (state.map) state.map.setCenter(p);
    $("#loc-input").value = "";
  });
}

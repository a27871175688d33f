// Volunteer page (protocol 1.2): the alert area, the one place the server keeps
// for a volunteer who gets push notifications while no page is open. Chosen on
// the map, by a place name or from the current position; rounded to two
// decimals (about 1 km) here as the server does, and saved with
// PATCH /volunteers/me {"alertArea": {"lat", "lon"}} (null removes it).

import { t } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { TileMap } from "../map.js";
import { parsePlace } from "../places.js";
import { $, fmtNumber, storageGet, storageSet } from "../util.js";
import { socket } from "./link.js";
import { K_AREA_LABEL, K_PROFILE, state, token, announce, saveAvailability } from "./state.js";

let map = null;
let busy = false;

export function roundArea(p) {
  return { lat: Math.round(p.lat * 100) / 100, lon: Math.round(p.lon * 100) / 100 };
}

/** Told whenever the alert area changes (the push settings' status depends on it). */
let onChange = () => {};

export function alertArea() {
  const a = state.profile && state.profile.alertArea;
  return a && typeof a.lat === "number" && typeof a.lon === "number" ? a : null;
}

/** Take the alert area from a profile the server sent (GET or PATCH /volunteers/me). */
export function takeArea(me) {
  if (!state.profile || !me || !("alertArea" in me)) return;
  state.profile.alertArea = me.alertArea || null;
  storageSet(localStorage, K_PROFILE, state.profile);
  renderArea();
  onChange();
}

export function renderArea() {
  const a = alertArea();
  const status = $("#area-status");
  if (!status) return;
  if (a) {
    const coords = `${fmtNumber(a.lat, 2)}, ${fmtNumber(a.lon, 2)}`;
    const label = storageGet(localStorage, K_AREA_LABEL);
    status.textContent = t("v.area.current", { where: label ? `${label} (${coords})` : coords });
  } else {
    status.textContent = busy ? t("v.area.waiting") : t("v.area.none");
  }
  status.classList.toggle("ok", !!a);
  $("#area-clear").hidden = !a;
  const open = !$("#area-map-wrap").hidden;
  $("#area-map-toggle").textContent = open ? t("v.area.hideMap") : t("v.area.pickMap");
}

function showError(text) {
  const e = $("#area-error");
  e.textContent = text || "";
  e.hidden = !text;
  if (!text) $("#area-input").removeAttribute("aria-invalid");
}

/** Save (or, with null, remove) the alert area. */
export async function saveArea(p, label) {
  const body = { alertArea: p ? roundArea(p) : null };
  showError("");
  try {
    const me = await api("PATCH", "/volunteers/me", { token: token(), body });
    storageSet(localStorage, K_AREA_LABEL, p && label ? label : null);
    // An older server ignores the field: keep what was sent.
    takeArea(me && "alertArea" in me ? me : { alertArea: body.alertArea });
    if (map && p) map.setPin(body.alertArea);
    saveAvailability();
    announce(p ? t("v.area.saved") : t("v.area.cleared"));
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { socket.onUnauthorized(); return false; }
    showError(e instanceof ApiError && e.code !== "network" ? t("v.area.failed") : t("err.network"));
    return false;
  }
}

function here() {
  if (!("geolocation" in navigator)) {
    showError(t("v.loc.gpsUnavailable"));
    return;
  }
  busy = true;
  renderArea();
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      busy = false;
      saveArea({ lat: pos.coords.latitude, lon: pos.coords.longitude });
    },
    (err) => {
      busy = false;
      renderArea();
      showError(err.code === err.PERMISSION_DENIED ? t("v.loc.gpsDenied") : t("v.loc.gpsUnavailable"));
    },
    { enableHighAccuracy: false, maximumAge: 60000, timeout: 30000 },
  );
}

function toggleMap() {
  const wrap = $("#area-map-wrap");
  const btn = $("#area-map-toggle");
  const open = wrap.hidden;
  wrap.hidden = !open;
  btn.setAttribute("aria-expanded", String(open));
  renderArea();
  if (!open) return;
  const a = alertArea();
  if (!map) {
    map = new TileMap($("#area-map"), {
      center: a || state.location || undefined,
      zoom: 11,
      label: t("map.label"),
      onPick: (p) => saveArea(p),
    });
  }
  if (a) {
    map.setPin(a);
    map.setCenter(a);
  }
  map.render();
}

/** Wires the area controls; `changed` runs after every change of the area. */
export function bindArea(changed) {
  onChange = changed || (() => {});
  $("#area-here").addEventListener("click", here);
  $("#area-map-toggle").addEventListener("click", toggleMap);
  $("#area-clear").addEventListener("click", () => {
    if (map) map.setPin(null);
    saveArea(null);
  });
  $("#area-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = parsePlace($("#area-input").value);
    if (!p) {
      showError(t("v.loc.unknownPlace"));
      $("#area-input").setAttribute("aria-invalid", "true");
      return;
    }
    if (await saveArea(p, p.label)) {
      if (map) map.setCenter(p);
      $("#area-input").value = "";
    }
  });
}

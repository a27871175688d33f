// The console's new-call form: place by map, search or coordinates, a live
// reach preview, the alerting choice (dispatch.js) and the POST itself.

import { t } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { TileMap } from "../map.js";
import { parsePlace, placeNames } from "../places.js";
import { SkillPicker } from "../skills.js";
import { orgToken } from "../org.js";
import { bindDispatchInputs, readDispatch, rememberDispatch, resetDispatchTimes } from "../dispatch.js";
import { el, $, clear, fmtKm, toRfc3339Local, toLocalInput, debounce } from "../util.js";

const state = {
  pin: null,
  map: null,
  skills: null,
  reachSeq: 0,
  hooks: null,
};


const FIELD_INPUT = {
  title: "c-title", description: "c-description", address: "c-address",
  "location.lat": "c-lat", "location.lon": "c-lon", location: "c-lat",
  radiusKm: "c-radius", needed: "c-needed", skills: "c-custom",
  startsAt: "c-starts", endsAt: "c-ends",
  "dispatch.maxRadiusKm": "c-max-radius", "dispatch.waveSeconds": "c-wave-seconds", "dispatch.fillBy": "c-fill-by",
  standby: "c-standby",
};

function clearErrors() {
  for (const n of document.querySelectorAll('#call-form .field-error')) {
    n.hidden = true;
    n.textContent = "";
  }
  for (const n of document.querySelectorAll('#call-form [aria-invalid]')) n.removeAttribute("aria-invalid");
  $("#call-form-error").hidden = true;
}

/** Show a message next to the field the server named; false when unknown. */
function fieldError(field, message) {
  if (!field) return false;
  let key = field;
  let box = document.getElementById(`cerr-${key.replace(/\./g, "-")}`);
  if (!box && key.startsWith("skills")) { key = "skills"; box = $("#cerr-skills"); }
  if (!box && key.startsWith("location")) { key = "location"; box = $("#cerr-location"); }
  if (!box && key.startsWith("dispatch")) { key = "dispatch"; box = $("#cerr-dispatch"); }
  if (!box) return false;
  box.textContent = message;
  box.hidden = false;
  const input = document.getElementById(FIELD_INPUT[key] || FIELD_INPUT[field] || "");
  if (input) input.setAttribute("aria-invalid", "true");
  return input || box;
}

function readPin() {
  const lat = Number($("#c-lat").value.trim().replace(",", "."));
  const lon = Number($("#c-lon").value.trim().replace(",", "."));
  if ($("#c-lat").value.trim() === "" || $("#c-lon").value.trim() === "") return null;
  if (!isFinite(lat) || !isFinite(lon)) return null;
  return { lat, lon };
}

function setPin(p, { fromMap = false } = {}) {
  state.pin = p;
  if (!fromMap || !p) {
    if (state.map && p) state.map.setCenter(p);
  }
  if (p) {
    $("#c-lat").value = String(Math.round(p.lat * 1e6) / 1e6);
    $("#c-lon").value = String(Math.round(p.lon * 1e6) / 1e6);
  }
  if (state.map) state.map.setPin(p);
  updateReach();
}

function radiusKm() {
  return Number($("#c-radius").value);
}

export function renderRadius() {
  $("#c-radius-out").textContent = t("c.f.radiusValue", { km: fmtKm(radiusKm()) });
  if (state.map) state.map.setRadius(radiusKm());
}

export const updateReach = debounce(async () => {
  const box = $("#reach");
  const p = state.pin;
  if (!p || $("#console").hidden) {
    box.dataset.state = "none";
    box.textContent = t("c.reach.none");
    return;
  }
  const seq = ++state.reachSeq;
  if (box.dataset.state === "none") {
    box.dataset.state = "loading";
    box.textContent = t("c.reach.loading");
  }
  const q = new URLSearchParams({ lat: String(p.lat), lon: String(p.lon), radiusKm: String(radiusKm()) });
  const skills = state.skills.value;
  if (skills.length) q.set("skills", skills.join(","));
  try {
    const res = await api("GET", `/reach?${q}`, { token: orgToken() });
    if (seq !== state.reachSeq) return; // a newer request is under way
    box.dataset.state = res.available > 0 ? "ok" : "zero";
    clear(box);
    box.append(
      t("c.reach.value", { available: res.available }),
      typeof res.connected === "number" ? el("span", { class: "reach-sub" }, " ", t("c.reach.connected", { connected: res.connected })) : "",
    );
  } catch (e) {
    if (seq !== state.reachSeq) return;
    box.dataset.state = "error";
    box.textContent = t("c.reach.error");
  }
}, 300);

function defaultTimes() {
  const now = new Date();
  now.setSeconds(0, 0);
  $("#c-starts").value = toLocalInput(now);
  $("#c-ends").value = toLocalInput(new Date(now.getTime() + 3 * 3600 * 1000));
  resetDispatchTimes(now);
}

/**
 * Starts the form once. hooks: onCreated(call), onUnauthorized(), announce(text).
 */
export function initCallForm(hooks) {
  state.hooks = hooks;
  if (state.map) return;
  state.skills = new SkillPicker($("#c-skills"), $("#c-custom"), $("#c-add"), $("#cerr-skills"), () => updateReach());
  state.map = new TileMap($("#c-map"), {
    zoom: 12,
    label: t("map.label"),
    onPick: (p) => setPin(p, { fromMap: true }),
  });
  renderRadius();
  defaultTimes();
  const dl = $("#places");
  for (const name of placeNames()) dl.append(el("option", { value: name }));

  $("#c-radius").addEventListener("input", () => { renderRadius(); updateReach(); });
  const fromInputs = () => {
    const p = readPin();
    if (p && Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180) {
      state.pin = p;
      state.map.setPin(p);
      state.map.setCenter(p);
      updateReach();
    }
  };
  $("#c-lat").addEventListener("change", fromInputs);
  $("#c-lon").addEventListener("change", fromInputs);
  const search = () => {
    const p = parsePlace($("#c-search").value);
    if (!p) {
      fieldError("location", t("v.loc.unknownPlace"));
      return;
    }
    $("#cerr-location").hidden = true;
    setPin(p);
    state.map.fit();
  };
  $("#c-search-go").addEventListener("click", search);
  $("#c-search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); search(); }
  });
  bindDispatchInputs();
  $("#call-form").addEventListener("submit", onSubmit);
  // Availability changes all the time: keep the preview fresh.
  setInterval(() => { if (state.pin && document.visibilityState === "visible") updateReach(); }, 15000);
}

async function onSubmit(ev) {
  ev.preventDefault();
  clearErrors();
  $("#call-form-ok").hidden = true;
  const title = $("#c-title").value.trim();
  const pin = readPin();
  let first = null;
  if (!title) first = first || fieldError("title", t("c.f.required"));
  if (!pin) first = first || fieldError("location", t("c.f.needPlace"));
  const dispatch = readDispatch();
  if (dispatch.error) first = first || fieldError(dispatch.error.field, dispatch.error.message);
  if (first) {
    (first instanceof HTMLElement ? first : $("#c-title")).focus();
    return;
  }
  const body = {
    title,
    description: $("#c-description").value,
    address: $("#c-address").value.trim(),
    location: pin,
    radiusKm: radiusKm(),
    needed: Number($("#c-needed").value),
    skills: state.skills.value,
    ...dispatch.fields,
  };
  const starts = $("#c-starts").value;
  const ends = $("#c-ends").value;
  if (starts) body.startsAt = toRfc3339Local(new Date(starts));
  if (ends) body.endsAt = toRfc3339Local(new Date(ends));
  const btn = $("#c-submit");
  btn.disabled = true;
  btn.textContent = t("c.f.submitting");
  try {
    const call = await api("POST", "/calls", { token: orgToken(), body });
    rememberDispatch(call, dispatch.fields);
    state.hooks.onCreated(call);
    const ok = $("#call-form-ok");
    ok.textContent = t("c.f.created", { title: call.title });
    ok.hidden = false;
    state.hooks.announce(ok.textContent);
    $("#c-title").value = "";
    $("#c-description").value = "";
    $("#c-address").value = "";
    defaultTimes();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      state.hooks.onUnauthorized();
      return;
    }
    const target = e instanceof ApiError ? fieldError(e.field, e.message) : false;
    if (target) {
      const box = $("#call-form-error");
      box.textContent = t("c.f.fixErrors");
      box.hidden = false;
      if (target instanceof HTMLElement) target.focus();
    } else {
      const box = $("#call-form-error");
      box.textContent = e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
    }
  } finally {
    btn.disabled = false;
    btn.textContent = t("c.f.submit");
  }
}

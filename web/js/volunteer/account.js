// Volunteer page: sign-up, profile, data export and erasure.

import * as attn from "../attention.js";
import { t, skillLabel } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { SkillPicker } from "../skills.js";
import { forgetAllNotes } from "../mycalls.js";
import { bindFatigueInputs, fillFatigue, readFatigue, fatigueSummary } from "../fatigue.js";
import { $, clear, fmtKm, download, storageSet } from "../util.js";
import { socket, receipts, inbox } from "./link.js";
import { stopGps } from "./location.js";
import { forgetPush } from "./push.js";
import { K_PROFILE, K_LOCATION, K_GPS, SK_AVAIL, SK_KNOWN, SK_DECLINED, state, token, showNotice } from "./state.js";
import { showSignup, showApp } from "./views.js";

// ---------------------------------------------------------------- sign-up / account

export function distanceLabel(input, out) {
  out.textContent = t("v.signup.distanceValue", { km: input.value });
}

function clearFieldErrors(prefix) {
  for (const node of document.querySelectorAll(`[id^="${prefix}"]`)) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showFieldError(prefix, inputs, field, message) {
  const key = (field || "").split(".")[0];
  const box = document.getElementById(prefix + key);
  if (!box) return false;
  box.textContent = message;
  box.hidden = false;
  const input = inputs[key];
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  return true;
}

let signupSkills = null;
let profileSkills = null;

export async function onSignup(ev) {
  ev.preventDefault();
  clearFieldErrors("err-");
  $("#signup-error").hidden = true;
  const inputs = { displayName: $("#su-name"), maxDistanceKm: $("#su-distance"), contact: $("#su-contact"), skills: $("#su-custom") };
  const name = inputs.displayName.value.trim();
  if (!name) {
    showFieldError("err-", inputs, "displayName", t("c.f.required"));
    return;
  }
  const body = { displayName: name, skills: signupSkills.value, maxDistanceKm: Number(inputs.maxDistanceKm.value) };
  const contact = inputs.contact.value.trim();
  if (contact) body.contact = contact;
  const btn = $("#su-submit");
  btn.disabled = true;
  btn.textContent = t("v.signup.busy");
  try {
    const res = await api("POST", "/volunteers", { body });
    state.profile = {
      id: res.id, token: res.token, displayName: res.displayName,
      skills: res.skills || [], maxDistanceKm: res.maxDistanceKm,
    };
    storageSet(localStorage, K_PROFILE, state.profile);
    showApp();
    showNotice("");
  } catch (e) {
    if (!(e instanceof ApiError) || !showFieldError("err-", inputs, e.field, e.message)) {
      const box = $("#signup-error");
      box.textContent = e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
    }
  } finally {
    btn.disabled = false;
    btn.textContent = t("v.signup.submit");
  }
}

export function renderAccount() {
  const p = state.profile;
  if (!p) return;
  $("#hello").textContent = t("v.hello", { name: p.displayName });
  $("#account-summary").textContent = t("v.account.summary", {
    name: p.displayName,
    skills: p.skills && p.skills.length ? p.skills.map(skillLabel).join(", ") : t("v.account.noSkills"),
    km: fmtKm(p.maxDistanceKm ?? 10),
  });
  $("#account-limits").textContent = fatigueSummary(p);
}

export async function toggleProfileForm() {
  const form = $("#profile-form");
  const btn = $("#edit-profile");
  const open = form.hidden;
  form.hidden = !open;
  btn.setAttribute("aria-expanded", String(open));
  if (!open) return;
  const p = state.profile;
  $("#pf-name").value = p.displayName || "";
  profileSkills.value = p.skills || [];
  $("#pf-distance").value = String(Math.round(p.maxDistanceKm ?? 10));
  distanceLabel($("#pf-distance"), $("#pf-distance-out"));
  fillFatigue(p);
  try {
    const me = await api("GET", "/volunteers/me", { token: token() });
    if (me) {
      $("#pf-contact").value = me.contact || "";
      Object.assign(state.profile, {
        displayName: me.displayName, skills: me.skills || [], maxDistanceKm: me.maxDistanceKm,
        maxAlertsPerDay: me.maxAlertsPerDay ?? null, quietHours: me.quietHours ?? null,
      });
      storageSet(localStorage, K_PROFILE, state.profile);
      fillFatigue(state.profile);
      renderAccount();
    }
  } catch { /* keep what we have */ }
  $("#pf-name").focus();
}

export async function onProfileSave(ev) {
  ev.preventDefault();
  clearFieldErrors("perr-");
  $("#profile-error").hidden = true;
  const inputs = {
    displayName: $("#pf-name"), maxDistanceKm: $("#pf-distance"), contact: $("#pf-contact"), skills: $("#pf-custom"),
    maxAlertsPerDay: $("#pf-max-alerts"), quietHours: $("#pf-quiet-from"),
  };
  const body = {
    displayName: inputs.displayName.value.trim(),
    skills: profileSkills.value,
    maxDistanceKm: Number(inputs.maxDistanceKm.value),
    contact: inputs.contact.value.trim(),
  };
  if (!body.displayName) {
    showFieldError("perr-", inputs, "displayName", t("c.f.required"));
    return;
  }
  const limits = readFatigue();
  if (limits.error) {
    showFieldError("perr-", inputs, limits.error.field, limits.error.message);
    return;
  }
  Object.assign(body, limits.fields);
  try {
    const me = await api("PATCH", "/volunteers/me", { token: token(), body });
    Object.assign(state.profile, {
      displayName: me.displayName ?? body.displayName, skills: me.skills ?? body.skills, maxDistanceKm: me.maxDistanceKm ?? body.maxDistanceKm,
      // An older server ignores the limits and does not echo them.
      maxAlertsPerDay: "maxAlertsPerDay" in me ? me.maxAlertsPerDay : body.maxAlertsPerDay,
      quietHours: "quietHours" in me ? me.quietHours : body.quietHours,
    });
    storageSet(localStorage, K_PROFILE, state.profile);
    renderAccount();
    $("#profile-form").hidden = true;
    $("#edit-profile").setAttribute("aria-expanded", "false");
    showNotice(t("v.account.saved"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { socket.onUnauthorized(); return; }
    if (!(e instanceof ApiError) || !showFieldError("perr-", inputs, e.field, e.message)) {
      const box = $("#profile-error");
      box.textContent = e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
    }
  }
}

export async function onExport() {
  try {
    const data = await api("GET", "/volunteers/me/export", { token: token() });
    const day = new Date().toISOString().slice(0, 10);
    download(`helferruf-meine-daten-${day}.json`, JSON.stringify(data, null, 2), "application/json");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) socket.onUnauthorized();
    else showNotice(e instanceof ApiError ? e.userMessage() : String(e));
  }
}

export function onForget() {
  const dlg = $("#forget-dialog");
  dlg.returnValue = "";
  dlg.showModal();
}

export async function onForgetClosed() {
  if ($("#forget-dialog").returnValue !== "confirm") return;
  const tok = token();
  socket.stop();
  try {
    await api("DELETE", "/volunteers/me", { token: tok });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) {
      showNotice(e instanceof ApiError ? e.userMessage() : String(e));
      socket.start();
      return;
    }
  }
  forgetLocally();
  showSignup(t("v.account.forgotten"));
}

/** Remove everything this page keeps about the volunteer. */
export function forgetLocally() {
  socket.stop();
  stopGps();
  attn.setWakeLock(false);
  attn.stopTitleFlash();
  state.profile = null;
  state.location = null;
  state.availability = null;
  for (const k of [K_PROFILE, K_LOCATION, K_GPS]) storageSet(localStorage, k, null);
  for (const k of [SK_AVAIL, SK_KNOWN, SK_DECLINED]) storageSet(sessionStorage, k, null);
  receipts.forget();
  inbox.forget();
  forgetAllNotes();
  forgetPush();
  state.known.clear();
  state.declined.clear();
  state.alerts.clear();
  state.confirmed.clear();
  clear($("#alerts"));
  clear($("#confirmed"));
}

/** Wire the sign-up form, the profile form, export and erasure. */
export function bindAccount() {
  signupSkills = new SkillPicker($("#su-skills"), $("#su-custom"), $("#su-add"), $("#err-skills"));
  profileSkills = new SkillPicker($("#pf-skills"), $("#pf-custom"), $("#pf-add"), $("#perr-skills"));
  $("#signup-form").addEventListener("submit", onSignup);
  $("#su-distance").addEventListener("input", () => distanceLabel($("#su-distance"), $("#su-distance-out")));
  $("#pf-distance").addEventListener("input", () => distanceLabel($("#pf-distance"), $("#pf-distance-out")));
  bindFatigueInputs();
  $("#edit-profile").addEventListener("click", toggleProfileForm);
  $("#profile-form").addEventListener("submit", onProfileSave);
  $("#export").addEventListener("click", onExport);
  $("#forget").addEventListener("click", onForget);
  $("#forget-dialog").addEventListener("close", onForgetClosed);
}

// Organisation side shared by the console and the dashboard: sign-in with an
// account (login.js, the primary way) or with an API token kept in
// sessionStorage, and the live call list from /ws/dashboard.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { LiveSocket } from "./socket.js";
import { $ } from "./util.js";
import { bindLogin, endSession, forgetSession, hasSession, resumeSession, ticketHello } from "./login.js";

export { focusSignIn } from "./login.js";

const SK_TOKEN = "helferruf.orgToken";

export function orgToken() {
  try { return sessionStorage.getItem(SK_TOKEN); } catch { return null; }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(SK_TOKEN, token);
    else sessionStorage.removeItem(SK_TOKEN);
  } catch { /* storage blocked */ }
}

/** Set the API token; null signs this page out (token and session alike). */
export function setOrgToken(token) {
  storeToken(token);
  if (!token) forgetSession();
}

/** Sign out, ending the account's session on the server too. */
export function signOut() {
  storeToken(null);
  return endSession();
}

/** On page load: whether a token or a live session is at hand. */
export async function restoreSignIn() {
  return Boolean(orgToken()) || resumeSession();
}

/** The dashboard socket's hello: with the token, else with a session ticket. */
async function dashboardHello() {
  const token = orgToken();
  if (token) return { type: "hello", token };
  return hasSession() ? ticketHello() : null;
}

/**
 * Wire the sign-in forms: the login form (#login-form) where the page has one,
 * and the token form (#signin-form, #signin-token, #signin-error). Calls
 * onSignedIn(calls) once a token has been accepted by GET /calls, or
 * onSignedIn(null) once a login has started a session.
 */
export function bindSignIn(onSignedIn) {
  if ($("#login-form")) {
    bindLogin(() => {
      storeToken(null);
      onSignedIn(null);
    });
  }
  const form = $("#signin-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("#signin-token");
    const box = $("#signin-error");
    box.hidden = true;
    input.removeAttribute("aria-invalid");
    const token = input.value.trim();
    if (!token) {
      box.textContent = t("c.f.required");
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    const btn = form.querySelector('button[type="submit"]');
    btn.disabled = true;
    try {
      const res = await api("GET", "/calls", { token });
      setOrgToken(token);
      input.value = "";
      onSignedIn(res.calls || []);
    } catch (e) {
      box.textContent = e instanceof ApiError && (e.status === 401 || e.status === 403)
        ? t("o.signin.wrongKey") : e instanceof ApiError ? e.userMessage() : String(e);
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } finally {
      btn.disabled = false;
    }
  });
}

/**
 * Live calls of the organisation from /ws/dashboard: snapshot, then one
 * "call" message per change. onChange(callsById, changedIds) after each.
 */
export function liveCalls({ onChange, onState, onUnauthorized }) {
  const calls = new Map();
  const socket = new LiveSocket({
    path: "/ws/dashboard",
    hello: dashboardHello,
    readyTypes: ["snapshot"],
    onState,
    onUnauthorized,
    onMessage: (msg) => {
      if (msg.type === "snapshot" && Array.isArray(msg.calls)) {
        // The snapshot is authoritative for open, filled and recently ended calls.
        const ids = new Set();
        for (const c of msg.calls) {
          ids.add(c.id);
          calls.set(c.id, { ...(calls.get(c.id) || {}), ...c });
        }
        onChange(calls, ids, true);
      } else if (msg.type === "call" && msg.call && msg.call.id) {
        calls.set(msg.call.id, { ...(calls.get(msg.call.id) || {}), ...msg.call });
        onChange(calls, new Set([msg.call.id]), false);
      }
    },
  });
  return { calls, socket };
}

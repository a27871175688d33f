// Sign-in with an organisation account (e-mail and password). The session
// itself lives in an HttpOnly cookie that no script can read; the page keeps
// only the session's CSRF token, in memory, and api.js sends it with every
// state change. The dashboard socket is opened with a single-use ticket.

import { t } from "./i18n.js";
import { api, ApiError, setCsrfToken } from "./api.js";
import { $ } from "./util.js";

// Set while a session may exist, so that a page load without one does not ask
// the server (and log a 401). Holds no secret.
const LS_HINT = "helferruf.session";

let session = null; // {orgId, orgName, email, csrfToken} while signed in

function adopt(s) {
  session = s;
  setCsrfToken(s ? s.csrfToken : null);
  try {
    if (s) localStorage.setItem(LS_HINT, "1");
    else localStorage.removeItem(LS_HINT);
  } catch { /* storage blocked: the session lasts as long as the page */ }
}

export function hasSession() {
  return session !== null;
}

/** After a reload: whether the session cookie is still good (and its CSRF token). */
export async function resumeSession() {
  let hint = null;
  try { hint = localStorage.getItem(LS_HINT); } catch { /* blocked */ }
  if (!hint) return false;
  try {
    adopt(await api("GET", "/session"));
    return true;
  } catch {
    adopt(null);
    return false;
  }
}

/** Forget the session in this page only (the server already refused it). */
export function forgetSession() {
  adopt(null);
}

/** Log out: the server ends the session and clears the cookie. */
export async function endSession() {
  if (!session) return;
  try {
    await api("DELETE", "/session");
  } catch { /* already ended on the server */ }
  adopt(null);
}

/** The hello for /ws/dashboard; throws ApiError (401 once the session has ended). */
export async function ticketHello() {
  const res = await api("POST", "/session/dashboard-ticket");
  return { type: "hello", ticket: res.ticket };
}

/**
 * Wire the login form (#login-form, #login-email, #login-password; errors in
 * #signin-error). Calls onSignedIn() once the server has started a session.
 */
export function bindLogin(onSignedIn) {
  const form = $("#login-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const email = $("#login-email");
    const password = $("#login-password");
    const box = $("#signin-error");
    box.hidden = true;
    for (const input of [email, password]) input.removeAttribute("aria-invalid");
    const empty = [email, password].find((input) => !input.value.trim());
    if (empty) {
      box.textContent = t("c.f.required");
      box.hidden = false;
      empty.setAttribute("aria-invalid", "true");
      empty.focus();
      return;
    }
    const btn = form.querySelector('button[type="submit"]');
    btn.disabled = true;
    try {
      adopt(await api("POST", "/session", { body: { email: email.value.trim(), password: password.value } }));
      password.value = "";
      onSignedIn();
    } catch (e) {
      box.textContent = !(e instanceof ApiError) ? String(e)
        : e.status === 401 ? t("o.login.wrong")
          : e.status === 429 ? t("o.login.throttled") : e.userMessage();
      box.hidden = false;
      password.setAttribute("aria-invalid", "true");
      password.focus();
    } finally {
      btn.disabled = false;
    }
  });
}

/** Focus the first field of the sign-in: the e-mail, or the key when that form is open. */
export function focusSignIn() {
  const box = $("#signin-token-box");
  const target = box && box.open ? $("#signin-token") : $("#login-email") || $("#signin-token");
  if (target) target.focus();
}

// HTTP client for /api/v1 on the same origin.

import { t } from "./i18n.js";

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 for a network failure)
   * @param {string} code error code from the server ("network" for a network failure)
   * @param {string} message human-readable message
   * @param {string|undefined} field field at fault (dot path)
   */
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** A message fit for the user, in the current language. */
  userMessage() {
    if (this.code === "network") return t("err.network");
    if (this.code === "rate_limited") return t("err.rate_limited");
    if (this.code === "unauthorized") return t("err.unauthorized");
    return t("err.generic", { message: this.message || this.code });
  }
}

let csrfToken = null;

/**
 * The console session's CSRF token (null when signed out): sent as X-CSRF-Token
 * with every state change that rides on the session cookie rather than a token.
 */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/**
 * Call the API. Returns the parsed JSON body (or null for 204), throws ApiError.
 * @param {string} method
 * @param {string} path below /api/v1, e.g. "/calls"
 * @param {{token?: string, body?: any, raw?: boolean}} opts
 */
export async function api(method, path, opts = {}) {
  const headers = { Accept: "application/json" };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  else if (csrfToken && method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken;
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", String(e && e.message ? e.message : e));
  }
  if (res.status === 204) return null;
  if (opts.raw && res.ok) return res;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || res.statusText, err.field);
  }
  return data;
}

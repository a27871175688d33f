// Small DOM and formatting helpers shared by all pages. Text always goes in
// through textContent, never as HTML.

import { locale, t } from "./i18n.js";

/**
 * Create an element: el("button", {class: "btn", type: "button", onclick: fn}, "text", child…).
 * Attributes starting with "on" become event listeners; "dataset" sets data-*;
 * strings become text nodes.
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        node.addEventListener(k.slice(2), v);
      } else if (k === "class") {
        node.className = v;
      } else if (k === "dataset") {
        Object.assign(node.dataset, v);
      } else if (k === "text") {
        node.textContent = v;
      } else if (v === true) {
        node.setAttribute(k, "");
      } else {
        node.setAttribute(k, String(v));
      }
    }
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** node.append() without the "null" text nodes the DOM would make of null children. */
export function append(node, ...children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false || c === "") continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function show(node, visible = true) {
  if (node) node.hidden = !visible;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function fmtNumber(n, digits = 0) {
  return new Intl.NumberFormat(locale(), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(n);
}

export function fmtKm(km) {
  if (km === undefined || km === null || !isFinite(km)) return "";
  return fmtNumber(km, km < 10 ? 1 : 0);
}

export function fmtCoord(lat, lon) {
  return `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

export function fmtTime(d) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(d);
}

export function fmtDateTime(d, now = new Date()) {
  if (sameDay(d, now)) return fmtTime(d);
  return new Intl.DateTimeFormat(locale(), {
    weekday: "short", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(d);
}

/** "14:00 – 18:00" today, with dates when the window is not today. */
export function fmtWindow(startIso, endIso) {
  const s = new Date(startIso);
  const e = new Date(endIso);
  const now = new Date();
  const from = fmtDateTime(s, now);
  const to = sameDay(s, e) && sameDay(s, now) ? fmtTime(e) : fmtDateTime(e, now);
  return `${from} – ${to}`;
}

/** "vor 5 Minuten" / "5 minutes ago". */
export function fmtAgo(iso, now = Date.now()) {
  const secs = Math.round((new Date(iso).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto", style: "short" });
  const abs = Math.abs(secs);
  if (abs < 45) return t("time.now");
  if (abs < 3600) return rtf.format(Math.round(secs / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), "hour");
  return rtf.format(Math.round(secs / 86400), "day");
}

/** Duration in compact form: "4 min", "1 h 05 min", "45 s". */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** RFC 3339 with the local offset, e.g. 2026-11-29T18:00:00+01:00. */
export function toRfc3339Local(d) {
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

/** Value for <input type="datetime-local"> from a Date. */
export function toLocalInput(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Offer data as a file download. */
export function download(filename, content, type) {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename, class: "visually-hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function storageGet(store, key) {
  try {
    const v = store.getItem(key);
    return v === null ? null : JSON.parse(v);
  } catch {
    return null;
  }
}

export function storageSet(store, key, value) {
  try {
    if (value === null || value === undefined) store.removeItem(key);
    else store.setItem(key, JSON.stringify(value));
  } catch { /* storage full or blocked */ }
}

/** Great-circle distance in km (haversine, as the server computes it). */
export function haversineKm(a, b) {
  const R = 6371.0088;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

let requestCounter = 0;
export function requestId() {
  requestCounter += 1;
  return `r${Date.now().toString(36)}-${requestCounter}`;
}

// "Nachricht an bestätigte Helfende" on a console call card (§7): a textarea of
// 1–500 characters posted to POST /calls/{id}/messages, with a clear success or
// error line. The node is created once per card and kept across the card's
// re-renders, so typing is never interrupted by live updates.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { el, fmtTime } from "./util.js";

const MAX = 500;

/**
 * @param {string} callId
 * @param {{token: () => string|null, onUnauthorized: () => void}} o
 * @returns {{node: HTMLElement}}
 */
export function messageComposer(callId, { token, onUnauthorized }) {
  const formId = `msg-form-${callId}`;
  const textId = `msg-text-${callId}`;
  const countId = `msg-count-${callId}`;
  const statusId = `msg-status-${callId}`;

  const toggle = el("button", {
    type: "button", class: "btn btn-secondary btn-small", dataset: { action: "message" },
    "aria-expanded": "false", "aria-controls": formId,
  });
  const label = el("label", { for: textId });
  const text = el("textarea", { id: textId, maxlength: MAX, rows: 3, "aria-describedby": `${countId} ${statusId}` });
  const counter = el("p", { id: countId, class: "hint msg-count" });
  const status = el("p", { id: statusId, class: "msg-status", role: "status" });
  const send = el("button", { type: "submit", class: "btn btn-primary", dataset: { action: "send-message" } });
  const form = el("form", { id: formId, class: "msg-form", novalidate: true, hidden: true }, label, text, counter, send);
  const node = el("div", { class: "msg-composer" }, toggle, form, status);

  const showStatus = (message, ok) => {
    status.textContent = message;
    status.className = `msg-status ${ok ? "form-ok" : "form-error"}`;
  };
  const render = () => {
    toggle.textContent = t("c.msg.open");
    label.textContent = t("c.msg.label");
    text.placeholder = t("c.msg.placeholder");
    counter.textContent = t("c.msg.count", { n: text.value.length });
    if (!send.disabled) send.textContent = t("c.msg.send");
  };

  toggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) text.focus();
  });
  text.addEventListener("input", () => {
    counter.textContent = t("c.msg.count", { n: text.value.length });
    text.removeAttribute("aria-invalid");
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = text.value.trim();
    if (!value || value.length > MAX) {
      text.setAttribute("aria-invalid", "true");
      showStatus(value ? t("c.msg.tooLong") : t("c.msg.empty"), false);
      text.focus();
      return;
    }
    send.disabled = true;
    send.textContent = t("c.msg.sending");
    try {
      const res = await api("POST", `/calls/${encodeURIComponent(callId)}/messages`, { token: token(), body: { text: value } });
      text.value = "";
      const time = fmtTime(new Date());
      // Our server says how many helpers were connected; the contract does not promise it.
      showStatus(res && typeof res.recipients === "number"
        ? t("c.msg.sentTo", { time, n: res.recipients })
        : t("c.msg.sent", { time }), true);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        onUnauthorized();
        return;
      }
      showStatus(e instanceof ApiError ? e.userMessage() : String(e), false);
    } finally {
      send.disabled = false;
      render();
    }
  });
  render();
  return { node, render };
}

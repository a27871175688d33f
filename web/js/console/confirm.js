// Console: a modal confirmation step for actions that affect a person
// (remove a helper, block a volunteer), with an optional checkbox.

import { t } from "../i18n.js";
import { el, $ } from "../util.js";

let dialog = null;

function build() {
  const d = el("dialog", { id: "confirm-dialog", "aria-labelledby": "confirm-h" },
    el("form", { method: "dialog", class: "dialog-body" },
      el("h2", { id: "confirm-h" }),
      el("p", { id: "confirm-text" }),
      el("label", { class: "check", id: "confirm-option-row", hidden: true },
        el("input", { id: "confirm-option", type: "checkbox" }), " ", el("span", { id: "confirm-option-label" })),
      el("div", { class: "btn-row" },
        el("button", { value: "keep", class: "btn btn-secondary", id: "confirm-keep" }),
        el("button", { value: "confirm", class: "btn btn-danger", id: "confirm-ok" }))));
  document.body.append(d);
  return d;
}

/**
 * Ask before acting. Resolves to null when the user keeps things as they are, else to
 * `{ option }` (the checkbox's state, when one was offered).
 * @param {{title: string, text: string, confirmLabel: string, option?: {label: string, checked: boolean}}} what
 */
export function confirmAction(what) {
  if (!dialog) dialog = build();
  $("#confirm-h").textContent = what.title;
  $("#confirm-text").textContent = what.text;
  $("#confirm-keep").textContent = t("c.confirm.keep");
  $("#confirm-ok").textContent = what.confirmLabel;
  $("#confirm-option-row").hidden = !what.option;
  if (what.option) {
    $("#confirm-option-label").textContent = what.option.label;
    $("#confirm-option").checked = what.option.checked;
  }
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm" ? { option: !!what.option && $("#confirm-option").checked } : null);
    }, { once: true });
    dialog.showModal();
  });
}

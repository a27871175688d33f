// The live fill counter of a call on the volunteer page: "12 von 40 bestätigt
// · noch 28 gesucht" with a bar. One node per card, kept across re-renders and
// only its text changed, so that its aria-live region announces real changes
// and nothing else.

import { t } from "./i18n.js";
import { el } from "./util.js";

export class FillCounter {
  constructor() {
    this.text = el("span", { class: "counter-text", "aria-live": "polite", "aria-atomic": "true" });
    this.bar = el("progress", { class: "fill", max: 1, value: 0, "aria-hidden": "true" });
    this.node = el("div", { class: "counter" }, this.text, this.bar);
  }

  /** Show the figures of a call object (or a call_update); returns the node. */
  update(call) {
    const hasNeeded = typeof call.needed === "number" && call.needed > 0;
    this.node.hidden = !hasNeeded;
    if (!hasNeeded) return this.node;
    const confirmed = typeof call.confirmed === "number" ? call.confirmed : 0;
    const missing = Math.max(0, call.needed - confirmed);
    let text = t("v.alert.counter", { confirmed, needed: call.needed });
    if (missing > 0 && call.status !== "cancelled" && call.status !== "expired") {
      text += ` · ${t("v.alert.missing", { missing })}`;
    }
    if (this.text.textContent !== text) this.text.textContent = text;
    this.bar.max = call.needed;
    this.bar.value = Math.min(confirmed, call.needed);
    return this.node;
  }
}

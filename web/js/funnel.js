// The funnel of a call (§7) for the console and the dashboard: alerted →
// delivered → seen → confirmed → checked in, as a compact set of bars with
// numbers, plus waves, reached radius, waiting list and held-back alerts.
// Fields an older server does not send show as "–".

import { t } from "./i18n.js";
import { el, fmtKm, fmtNumber } from "./util.js";
import { isWavesCall } from "./dispatch.js";

const STEPS = ["alerted", "delivered", "seen", "confirmed", "checkedIn"];

function count(v) {
  return typeof v === "number" && isFinite(v) ? v : null;
}

export function funnelView(c) {
  const values = STEPS.map((k) => count(c[k]));
  // Bars are relative to the widest step; `confirmed` counts people, so it may
  // pass `seen` when parties come.
  const max = Math.max(1, ...values.filter((v) => v !== null));
  const list = el("ol", { class: "funnel-bars", "aria-label": t("c.funnel.label") });
  STEPS.forEach((key, i) => {
    const v = values[i];
    list.append(el("li", { dataset: { metric: key } },
      el("span", { class: "fb-label" }, t(`d.call.${key}`)),
      el("progress", { class: "fb-bar", max, value: v ?? 0, "aria-hidden": "true" }),
      el("b", { class: "fb-value" }, v === null ? "–" : fmtNumber(v))));
  });

  const extras = [];
  if (isWavesCall(c) && count(c.waves) !== null) {
    extras.push(el("span", { dataset: { metric: "waves" } },
      t("c.funnel.waves", { waves: fmtNumber(c.waves), km: fmtKm(count(c.reachedRadiusKm) ?? c.radiusKm) })));
  }
  if ((count(c.standby) ?? 0) > 0) {
    extras.push(el("span", { dataset: { metric: "standby" } }, t("c.funnel.standby", { n: fmtNumber(c.standby) })));
  }
  if ((count(c.suppressed) ?? 0) > 0) {
    extras.push(el("span", { dataset: { metric: "suppressed" } }, t("c.funnel.suppressed", { n: fmtNumber(c.suppressed) })));
  }
  return el("div", { class: "funnel-view" }, list, extras.length ? el("p", { class: "funnel-extra" }, extras) : null);
}

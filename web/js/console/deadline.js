// "Gebraucht bis" (needed by, PROTOCOL.md §10): the console's default way to
// post a call, and the plan a deadline call shows on its card ("im Plan" or
// "hinten", how many were alerted last and when).

import { t } from "../i18n.js";
import { el, $, fmtDateTime, fmtNumber, fmtTime, toLocalInput, toRfc3339Local } from "../util.js";

/** How far ahead "needed by" starts when the form is reset. */
const DEFAULT_LEAD_MS = 3600 * 1000;

/** Puts "needed by" an hour after `now` (never after the call's end). */
export function resetFillBy(now) {
  const ends = new Date($("#c-ends").value);
  let fillBy = new Date(now.getTime() + DEFAULT_LEAD_MS);
  if (!Number.isNaN(ends.getTime()) && ends < fillBy) fillBy = ends;
  $("#c-fill-by").value = toLocalInput(fillBy);
}

/** The `dispatch` object of a deadline call, or {error: {field, message}}. */
export function readDeadline() {
  const raw = $("#c-fill-by").value;
  const fillBy = raw ? new Date(raw) : null;
  if (!fillBy || Number.isNaN(fillBy.getTime())) return { error: { field: "dispatch.fillBy", message: t("c.f.fillByMissing") } };
  if (fillBy.getTime() <= Date.now()) return { error: { field: "dispatch.fillBy", message: t("c.f.fillByPast") } };
  const ends = new Date($("#c-ends").value);
  if (!Number.isNaN(ends.getTime()) && fillBy > ends) return { error: { field: "dispatch.fillBy", message: t("c.f.fillByAfterEnd") } };
  return { dispatch: { mode: "deadline", fillBy: toRfc3339Local(fillBy) } };
}

/**
 * The plan line of a deadline call's card, or null for other calls:
 * "Gebraucht bis 15:30 · im Plan: 11,4 von 10 erwartet · 12 weitere alarmiert um 14:42".
 */
export function planView(c) {
  if (!c.fillBy || !c.dispatch || c.dispatch.mode !== "deadline") return null;
  const parts = [t("c.plan.by", { time: fmtDateTime(new Date(c.fillBy)) })];
  const plan = c.plan;
  const live = plan && (c.status === "open" || c.status === "filled");
  if (live) {
    parts.push(t(plan.onTrack ? "c.plan.onTrack" : "c.plan.behind", {
      expected: fmtNumber(plan.expected, 1), needed: fmtNumber(c.needed || 0),
    }));
    if (plan.lastAlertAt && plan.lastAlerted > 0) {
      parts.push(t("c.plan.more", { n: fmtNumber(plan.lastAlerted), time: fmtTime(new Date(plan.lastAlertAt)) }));
    }
  }
  return el("p", {
    class: "call-plan",
    dataset: { metric: "plan", onTrack: live ? String(plan.onTrack) : "ended" },
  }, parts.join(" · "));
}

// Console: a call's confirmed helpers, with their no-shows and the organiser's
// tools against fake or careless accounts (§11): remove from the call, block.

import { t, locale } from "../i18n.js";
import { api } from "../api.js";
import { orgToken } from "../org.js";
import { el } from "../util.js";
import { isBlocked } from "./blocks.js";

export async function fetchHelpers(id) {
  const res = await api("GET", `/calls/${encodeURIComponent(id)}/confirmations`, { token: orgToken() });
  return res.confirmations || [];
}

/**
 * The helpers table of one call.
 * @param {{helpers: object[]|null, error: string|null}} card
 * @param {{active: boolean, onRemove: (h: object) => void, onBlock: (h: object) => void}} opts
 */
export function renderHelpers(id, card, opts) {
  const box = el("div", { class: "helpers", id: `helpers-${id}` });
  if (card.error) {
    box.append(el("p", { class: "field-error" }, card.error));
  } else if (!card.helpers) {
    box.append(el("p", { class: "hint" }, "…"));
  } else if (card.helpers.length === 0) {
    box.append(el("p", { class: "hint" }, t("c.call.noHelpers")));
  } else {
    // Party size and on-site state come from a 1.1 server (our addition to the list).
    const v11 = card.helpers.some((h) => typeof h.party === "number");
    const body = el("tbody");
    for (const h of card.helpers) body.append(helperRow(h, v11, opts));
    box.append(el("table", null,
      el("thead", null, el("tr", null,
        el("th", { scope: "col" }, t("c.call.helperName")),
        el("th", { scope: "col" }, t("c.call.helperContact")),
        v11 ? el("th", { scope: "col" }, t("c.call.helperParty")) : null,
        v11 ? el("th", { scope: "col" }, t("c.call.helperOnSite")) : null,
        el("th", { scope: "col" }, t("c.call.helperAt")),
        el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, t("c.helper.actions"))))),
      body));
  }
  return box;
}

function helperRow(h, v11, opts) {
  const erased = h.displayName === null || h.displayName === undefined;
  const name = erased ? t("c.call.erased") : h.displayName;
  const noShows = typeof h.noShows === "number" && h.noShows > 0
    ? el("span", { class: "badge badge-warn no-shows", title: t("c.helper.noShowsHint") }, t("c.helper.noShows", { n: h.noShows }))
    : null;
  const blocked = isBlocked(h.volunteerId);
  const actions = el("td", { class: "helper-actions" },
    opts.active ? el("button", {
      type: "button", class: "btn btn-danger-outline btn-small", dataset: { action: "remove-helper" },
      "aria-label": t("c.helper.removeLabel", { name }), onclick: () => opts.onRemove(h),
    }, t("c.helper.remove")) : null,
    blocked
      ? el("span", { class: "badge", dataset: { role: "blocked" } }, t("c.helper.blocked"))
      : el("button", {
        type: "button", class: "btn btn-danger-outline btn-small", dataset: { action: "block-helper" },
        "aria-label": t("c.helper.blockLabel", { name }), onclick: () => opts.onBlock(h),
      }, t("c.helper.block")));
  return el("tr", { dataset: { volunteerId: h.volunteerId } },
    el("td", { class: erased ? "erased" : "" }, name, noShows ? " " : null, noShows),
    el("td", null, h.contact || ""),
    v11 ? el("td", { class: "num" }, String(h.party ?? 1)) : null,
    v11 ? el("td", null, h.checkedIn ? t("c.call.onSite") : "") : null,
    el("td", null, h.confirmedAt ? new Date(h.confirmedAt).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" }) : ""),
    actions);
}

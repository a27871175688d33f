// Console: the volunteers this organisation blocked (§11), with "unblock".
// A blocked volunteer is never alerted for our calls and cannot accept them.

import { t, locale } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { orgToken } from "../org.js";
import { el, $, clear } from "../util.js";
import { confirmAction } from "./confirm.js";

const blocks = new Map(); // volunteerId -> {volunteerId, displayName, blockedAt}
let onChange = () => {};
let announce = () => {};

export function initBlocks(hooks) {
  onChange = hooks.onChange;
  announce = hooks.announce;
}

export function isBlocked(volunteerId) {
  return blocks.has(volunteerId);
}

export function clearBlocks() {
  blocks.clear();
  render();
}

export async function refreshBlocks() {
  try {
    const res = await api("GET", "/blocks", { token: orgToken() });
    blocks.clear();
    for (const b of res.blocks || []) blocks.set(b.volunteerId, b);
  } catch (e) {
    announce(e instanceof ApiError ? e.userMessage() : String(e));
  }
  render();
  onChange();
}

/** POST /blocks; resolves to true when the volunteer is blocked now. */
export async function block(volunteerId) {
  try {
    const b = await api("POST", "/blocks", { token: orgToken(), body: { volunteerId } });
    blocks.set(b.volunteerId, b);
    render();
    return true;
  } catch (e) {
    announce(e instanceof ApiError ? e.userMessage() : String(e));
    return false;
  }
}

async function unblock(b) {
  const name = b.displayName ?? t("c.call.erased");
  const ok = await confirmAction({
    title: t("c.blocks.unblockTitle"), text: t("c.blocks.unblockText", { name }), confirmLabel: t("c.blocks.unblockConfirm"),
  });
  if (!ok) return;
  try {
    await api("DELETE", `/blocks/${encodeURIComponent(b.volunteerId)}`, { token: orgToken() });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) {
      announce(e instanceof ApiError ? e.userMessage() : String(e));
      return;
    }
  }
  blocks.delete(b.volunteerId);
  render();
  onChange();
  announce(t("c.blocks.unblocked", { name }));
}

function render() {
  const list = $("#blocks");
  if (!list) return;
  clear(list);
  const sorted = [...blocks.values()].sort((a, b) => String(b.blockedAt).localeCompare(String(a.blockedAt)));
  $("#blocks-empty").hidden = sorted.length > 0;
  for (const b of sorted) {
    const when = b.blockedAt ? new Date(b.blockedAt).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" }) : "";
    list.append(el("li", { class: "block-row", dataset: { volunteerId: b.volunteerId } },
      el("span", { class: b.displayName == null ? "erased" : "" }, b.displayName ?? t("c.call.erased")),
      el("span", { class: "hint" }, t("c.blocks.since", { when })),
      el("button", {
        type: "button", class: "btn btn-secondary btn-small", dataset: { action: "unblock" },
        onclick: () => unblock(b),
      }, t("c.blocks.unblock"))));
  }
}

export function rerenderBlocks() {
  render();
}

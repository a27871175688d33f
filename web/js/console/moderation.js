// Console: remove a helper from a call and block a volunteer (§11), each
// after a confirmation step. Blocking offers to remove the volunteer from every
// running call of ours at once, so that a batch of fake accounts is cleared
// with two clicks each.

import { t } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { orgToken } from "../org.js";
import { confirmAction } from "./confirm.js";
import { block } from "./blocks.js";
import { fetchHelpers } from "./helpers.js";

const running = (c) => c.status === "open" || c.status === "filled";

/**
 * @param {{calls: Map<string, object>, reloadHelpers: (id: string) => void, renderCalls: () => void, announce: (text: string) => void}} ctx
 */
export function moderation(ctx) {
  const nameOf = (h) => h.displayName ?? t("c.call.erased");
  const fail = (e) => ctx.announce(e instanceof ApiError ? e.userMessage() : String(e));

  /** POST .../remove; true when removed (or already gone). */
  async function removeFrom(callId, volunteerId) {
    try {
      const call = await api("POST", `/calls/${encodeURIComponent(callId)}/confirmations/${encodeURIComponent(volunteerId)}/remove`, { token: orgToken() });
      ctx.calls.set(callId, { ...(ctx.calls.get(callId) || {}), ...call });
      return true;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 409)) return false;
      throw e;
    }
  }

  async function onRemove(callId, h) {
    const c = ctx.calls.get(callId);
    const answer = await confirmAction({
      title: t("c.helper.removeTitle"),
      text: t("c.helper.removeText", { name: nameOf(h), title: c ? c.title : "" }),
      confirmLabel: t("c.helper.removeConfirm"),
    });
    if (!answer) return;
    try {
      await removeFrom(callId, h.volunteerId);
      ctx.announce(t("c.helper.removed", { name: nameOf(h) }));
    } catch (e) {
      fail(e);
    }
    ctx.renderCalls();
    ctx.reloadHelpers(callId);
  }

  async function onBlock(callId, h) {
    const answer = await confirmAction({
      title: t("c.helper.blockTitle"),
      text: t("c.helper.blockText", { name: nameOf(h) }),
      confirmLabel: t("c.helper.blockConfirm"),
      option: { label: t("c.helper.blockAlsoRemove"), checked: true },
    });
    if (!answer) return;
    if (!(await block(h.volunteerId))) return;
    let removed = 0;
    if (answer.option) {
      for (const id of [callId, ...[...ctx.calls.values()].filter((c) => running(c) && c.id !== callId).map((c) => c.id)]) {
        try {
          // Ask first, so that calls the volunteer is not on cost no failed request.
          const on = id === callId || (await fetchHelpers(id)).some((x) => x.volunteerId === h.volunteerId);
          if (on && (await removeFrom(id, h.volunteerId))) removed += 1;
        } catch (e) {
          fail(e);
        }
      }
    }
    ctx.announce(removed > 0 ? t("c.helper.blockedRemoved", { name: nameOf(h), n: removed }) : t("c.helper.blockedOnly", { name: nameOf(h) }));
    ctx.renderCalls();
    ctx.reloadHelpers(callId);
  }

  return { onRemove, onBlock };
}

// The calls in progress of a phone system (GET calls/active, docs/api.md):
// who calls whom, since when, the codec, whether each phone's leg is
// encrypted (SRTP), and "hang up" (DELETE calls/active/<id>). The list
// refreshes itself every few seconds while the page is open.

import { h, replace, duration } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, badge, when } from "../common/shell.js";

const REFRESH_MS = 3000;

function party(p) {
  return h("span", h("strong", p.extension), p.name ? ` ${p.name}` : "");
}

// SRTP, RTP, or not known (yet): a ringing callee has no leg to speak of.
function media(p) {
  if (p.srtp === true) return h("span.badge.encrypted", { title: t("SRTP: the media is encrypted") }, "SRTP");
  if (p.srtp === false) return h("span.badge.plain", { title: t("RTP: the media is not encrypted") }, "RTP");
  return "–";
}

export async function activeCalls(view, ctx) {
  const list = h("div", { id: "active-list" });
  const updated = h("small.updated");
  replace(
    view,
    h("div.head", h("h1", t("Calls in progress")), updated),
    h("p", t("Calls ringing or talking now. Hanging up ends the call on both phones; the call history records it as ended by the administrator.")),
    list
  );
  async function hangUp(c) {
    const q = t("Hang up the call from {a} to {b}?", { a: c.caller.extension, b: c.callee.extension });
    if (!(await ctx.confirm(q, t("Hang up")))) return;
    try {
      await ctx.api.del(`calls/active/${c.id}`);
      ctx.notice(t("The call from {a} to {b} was hung up.", { a: c.caller.extension, b: c.callee.extension }));
    } catch (e) {
      ctx.notice(e.message, "error");
    }
    refresh();
  }
  async function refresh() {
    try {
      const data = await ctx.api.get("calls/active");
      replace(
        list,
        table(
          [t("From"), t("To"), t("State"), t("Since"), t("Codec"), t("Encryption"), t("Actions")],
          data.calls.map((c) => [
            party(c.caller),
            party(c.callee),
            badge(c.state),
            h(
              "span",
              { title: when(c.answer || c.start) },
              c.answer ? duration(data.now - c.answer) : t("ringing for {d}", { d: duration(data.now - c.start) })
            ),
            c.codec ? h("code", c.codec) : "–",
            h("span.media", media(c.caller), " / ", media(c.callee)),
            h("div.actions", h("button.danger", { type: "button", "data-hangup": String(c.id), onclick: () => hangUp(c) }, t("Hang up"))),
          ]),
          t("No call in progress.")
        )
      );
      updated.textContent = t("live · updated {t}", { t: new Date().toLocaleTimeString() });
    } catch (e) {
      updated.textContent = e.message;
    }
  }
  ctx.every(REFRESH_MS, refresh);
}

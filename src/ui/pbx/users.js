// The registration state on the users list: each user's devices online
// (User-Agent and address of each), the last registration and the last
// failed authentication with its reason, and the server's hint for a phone
// that never answers the SHA-256 challenge. From the user objects of
// GET /users ("registration", docs/api.md); kept in the phone system's
// memory, so a restart of it forgets the last registration and failure.

import { h } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { badge, when, field } from "../common/shell.js";

// The log's reasons (core_authlog), for people.
const REASONS = {
  "wrong-password": () => t("wrong password"),
  "unknown-user": () => t("unknown user"),
  "disabled-user": () => t("user disabled"),
  "wrong-identity": () => t("authenticated as another user"),
  "unsupported-algorithm": () => t("answered with a digest algorithm not offered"),
  "unanswered-challenge": () => t("never answered the challenge"),
};

export function reasonText(code) {
  return REASONS[code] ? REASONS[code]() : code;
}

// The cell of one user's row.
export function registrationCell(u) {
  const r = u.registration;
  if (!r) return "–";
  const parts = [];
  if (r.online) {
    parts.push(h("span", badge("online"), " ", r.online === 1 ? t("1 device") : t("{n} devices", { n: r.online })));
    for (const d of r.devices)
      parts.push(h("div.small.device", d.user_agent || t("unknown device"), " · ", h("code", d.source)));
  } else {
    parts.push(h("span", badge("offline")));
  }
  parts.push(h("div.small", r.last_registration ? t("last registered {w}", { w: when(r.last_registration) }) : t("not registered since the phone system started")));
  if (r.last_failure) {
    const f = r.last_failure;
    parts.push(
      h("div.small.failure", { "data-reason": f.reason },
        h("span.error-text", t("failed {w}: {r}", { w: when(f.at), r: reasonText(f.reason) })),
        " ", t("from {a}", { a: f.address }), f.user_agent ? ` (${f.user_agent})` : "")
    );
  }
  if (r.hint)
    parts.push(h("div.reg-hint", { role: "note" }, t("This phone never answers the SHA-256 challenge; its software may not support SHA-256 digest. Offer MD5 only on the Settings page."), " ", h("a", { href: "#settings" }, t("Settings"))));
  return h("div.registration", { "data-registration": u.extension }, parts);
}

// The user form's outbound keys (outbound_class, caller_id, clir): the
// fields, and the part of the body they give.
export function outboundFields(user) {
  const cls = h("select", { name: "outbound_class", id: "user-outbound-class" },
    ["internal", "national", "international", "premium"].map((c) =>
      h("option", { value: c, selected: (user ? user.outbound_class : "international") === c }, t(`class_${c}`))));
  const cid = h("input", { name: "caller_id", id: "user-caller-id", maxlength: 16, value: user ? user.caller_id || "" : "" });
  const clir = h("input", { type: "checkbox", name: "clir", id: "user-clir", checked: user ? !!user.clir : false });
  return {
    fields: h("div",
      field(t("Outbound calls"), cls, t("Emergency numbers are always allowed.")),
      field(t("Caller ID"), cid, t("The number sent on outbound calls; empty for the trunk's.")),
      h("label.check", clir, h("span", t("Withhold the caller ID (CLIR)")))),
    body: () => ({ outbound_class: cls.value, caller_id: cid.value.trim(), clir: clir.checked }),
  };
}

// A user's own view of their phone system (their own login, not the
// administrator's): their calls, forwarding, do-not-disturb and call
// waiting, voicemail (voicemail.js), devices, the settings to connect a
// softphone, and their login password. It talks only to /api/v1/me and
// /api/v1/password (docs/api.md); nothing of other users is reachable.
// forwardingCard is shared with the administrator's user editor
// (/users/<id>/forwarding).

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { span, callDuration } from "../common/format.js";
import { table, field, badge, when } from "../common/shell.js";

const KINDS = [
  ["always", "Always"],
  ["busy", "When busy"],
  ["noanswer", "When not answered"],
  ["unavailable", "When no device is registered"],
];
const TARGETS = [
  ["extension", "Extension"],
  ["group", "Ring group"],
  ["voicemail", "Voicemail"],
];

// The user's name in the top bar instead of their session's subject.
async function whoAmI(ctx) {
  const me = await ctx.api.get("me");
  ctx.api.displayName = `${me.extension} ${me.display_name}`;
  const who = document.getElementById("who");
  if (who) who.textContent = ctx.api.displayName;
  return me;
}

// Forwarding, DND and call waiting of one user, read from and saved to
// path ("me/forwarding" or "users/<id>/forwarding").
export function forwardingCard(ctx, path) {
  const { api } = ctx;
  const dnd = h("input", { type: "checkbox", id: "fwd-dnd" });
  const cw = h("input", { type: "checkbox", id: "fwd-call-waiting" });
  const ring = h("input", { type: "number", id: "fwd-ring-time", min: 5, max: 300 });
  const err = h("p.error", { role: "alert" });
  const rows = KINDS.map(([kind, label]) => {
    const on = h("input", { type: "checkbox", id: `fwd-${kind}-on`, "aria-label": t(label) });
    const type = h(
      "select",
      { id: `fwd-${kind}-type`, "aria-label": t("Forward to") },
      TARGETS.map(([v, l]) => h("option", { value: v }, t(l)))
    );
    const target = h("input", { id: `fwd-${kind}-target`, inputmode: "numeric", maxlength: 15, placeholder: t("number"), "aria-label": t("Target") });
    const sync = () => (target.disabled = type.value === "voicemail");
    type.addEventListener("change", sync);
    return { kind, label, on, type, target, sync };
  });
  function show(f) {
    dnd.checked = !!f.dnd;
    cw.checked = !!f.call_waiting;
    ring.value = f.ring_time ?? "";
    for (const r of rows) {
      const rule = f.forwards && f.forwards[r.kind];
      r.on.checked = !!(rule && rule.enabled);
      r.type.value = rule ? rule.target_type : "extension";
      r.target.value = rule ? rule.target : "";
      r.sync();
    }
  }
  const form = h(
    "form.card",
    {
      id: "forwarding",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const forwards = {};
        for (const r of rows) {
          const empty = !r.on.checked && !r.target.value && r.type.value !== "voicemail";
          forwards[r.kind] = empty
            ? null
            : { enabled: r.on.checked, target_type: r.type.value, target: r.type.value === "voicemail" ? "" : r.target.value.trim() };
        }
        try {
          const body = { dnd: dnd.checked, call_waiting: cw.checked, forwards };
          if (ring.value !== "") body.ring_time = Number(ring.value);
          show(await api.put(path, body));
          ctx.notice(t("Forwarding saved."));
        } catch (x) {
          err.textContent = x.message;
        }
      },
    },
    h("h2", t("Forwarding")),
    h("label.check", dnd, h("span", t("Do not disturb: calls go to voicemail or the busy forwarding"))),
    h("label.check", cw, h("span", t("Call waiting: a second call rings while I am on the phone"))),
    field(t("Ring time (s)"), ring, t("How long my phones ring before forwarding when not answered, or voicemail.")),
    table(
      [t("When"), t("On"), t("Forward to"), t("Target")],
      rows.map((r) => [t(r.label), r.on, r.type, r.target]),
      ""
    ),
    h("p.hint", t("Feature codes from the phone: *21*number# forwards always, #21# ends it; *67, *61, *62 likewise for busy, not answered and unavailable; *78 / *79 do-not-disturb on / off; *70 / *71 call waiting on / off.")),
    err,
    h("button", { type: "submit", id: "fwd-save" }, t("Save"))
  );
  return { node: form, load: async () => show(await api.get(path)) };
}

async function myCalls(view, ctx) {
  const me = await whoAmI(ctx);
  const c = (await ctx.api.get("me/calls?limit=100")).calls;
  replace(
    view,
    h("h1", t("My calls")),
    h(
      "div",
      { id: "my-call-list" },
      table(
        [t("Time"), t("Direction"), t("Other party"), t("Duration"), t("Result")],
        c.map((x) => {
          const out = x.caller === me.extension;
          return [
            when(x.start),
            t(out ? "outgoing" : "incoming"),
            out ? h("strong", x.callee) : h("span", h("strong", x.caller), x.caller_name ? ` ${x.caller_name}` : ""),
            x.answer ? callDuration(x.duration) : "–",
            h("span", badge(x.answer ? "answered" : "missed"), " ", t(x.cause || "failed")),
          ];
        }),
        t("No calls yet.")
      )
    )
  );
}

async function myForwarding(view, ctx) {
  await whoAmI(ctx);
  const card = forwardingCard(ctx, "me/forwarding");
  replace(view, h("h1", t("Forwarding and do not disturb")), card.node);
  await card.load();
}

async function myDevices(view, ctx) {
  await whoAmI(ctx);
  const list = h("div", { id: "my-devices" });
  replace(view, h("h1", t("My devices")), h("p", t("Your phones and softphones registered now.")), list);
  ctx.every(5000, async () => {
    try {
      const d = (await ctx.api.get("me/devices")).devices;
      replace(
        list,
        table(
          [t("Device"), t("Address"), t("Expires in")],
          d.map((r) => [r.user_agent || "–", h("code", r.source || r.contact), span(r.expires_in)]),
          t("No device is registered.")
        )
      );
    } catch (e) {
      /* the next round tries again */
    }
  });
}

async function mySoftphone(view, ctx) {
  await whoAmI(ctx);
  const s = await ctx.api.get("me/softphone");
  const host = location.hostname;
  const proxy = `${host.includes(":") ? `[${host}]` : host}:${s.tls_port}`;
  const row = (k, v) => [h("dt", k), h("dd", h("code", v))];
  replace(
    view,
    h("h1", t("Connect a softphone")),
    h("p", t("Enter these settings in your softphone or desk phone. The SIP password is the one your administrator gave you, not your login password.")),
    h(
      "dl.facts.card",
      { id: "softphone-facts" },
      row(t("SIP domain / registrar"), s.domain),
      row(t("Outbound proxy"), proxy),
      row(t("Transport"), "TLS"),
      row(t("Media encryption"), t("SRTP (SDES), mandatory")),
      row(t("SIP user name"), s.sip_username),
      row(t("Authentication user"), s.auth_username),
      row(t("Extension"), s.extension),
      row(t("Example SIP address"), `sip:${s.sip_username}@${s.domain}`)
    ),
    h("p.hint", t("Plain SIP on port {p} (UDP/TCP, unencrypted) works only if the server's administrator has switched it on.", { p: s.plain_port })),
    h("p", h("a.button.secondary", { href: "/certificate.pem", download: "certificate.pem" }, t("certificate.pem (PEM)")))
  );
}

async function myPassword(view, ctx) {
  await whoAmI(ctx);
  const cur = h("input", { type: "password", id: "pw-current", autocomplete: "current-password", required: true });
  const pw = h("input", { type: "password", id: "pw-new", autocomplete: "new-password", required: true, minlength: 8 });
  const err = h("p.error", { role: "alert" });
  replace(
    view,
    h("h1", t("My login password")),
    h(
      "form.card",
      {
        id: "password-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          try {
            await ctx.api.put("password", { current_password: cur.value, new_password: pw.value });
            cur.value = pw.value = "";
            ctx.notice(t("Password changed. Your other sessions have ended."));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Current password"), cur),
      field(t("New password"), pw, t("At least 8 characters.")),
      err,
      h("button", { type: "submit", id: "pw-save" }, t("Change password"))
    )
  );
}

export function userRoutes(myVoicemail) {
  return [
    { id: "my-calls", label: "My calls", render: myCalls },
    { id: "forwarding", label: "Forwarding", render: myForwarding },
    { id: "my-voicemail", label: "My voicemail", render: async (view, ctx) => { await whoAmI(ctx); return myVoicemail(view, ctx); } },
    { id: "devices", label: "My devices", render: myDevices },
    { id: "softphone", label: "Softphone", render: mySoftphone },
    { id: "password", label: "Password", render: myPassword },
  ];
}

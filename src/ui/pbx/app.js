// A phone system's UI at https://server/<name>/: users and extensions,
// registered devices, ring groups, trunks (with the inbound numbers and the
// phonebook), outbound routes, call history, voicemail, how to connect a phone,
// prompts and music, and settings. It talks
// only to this phone system's API (/<name>/api/v1, docs/api.md).

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { span, callDuration, clockTime } from "../common/format.js";
import { startApp, table, field, badge, when, strongPassword } from "../common/shell.js";
import { activeCalls } from "./calls.js";
import { registrationCell } from "./users.js";
import { settings } from "./settings.js";
import { voicemail, myVoicemail } from "./voicemail.js";
import { forwardingCard, userRoutes } from "./me.js";
import { prompts } from "./prompts.js";
import { groups } from "./groups.js";
import { trunks } from "./trunks.js";
import { outbound } from "./routes.js";
import { outboundFields } from "./users.js";

const NAME = location.pathname.split("/")[1];

// The password of a user, shown this once, with a copy button.
function showPassword(ctx, user, password) {
  const out = h("input.secret", { readonly: true, value: password, id: "sip-password", "aria-label": t("SIP password") });
  const copy = h("button.secondary", {
    type: "button",
    id: "copy-password",
    onclick: async () => {
      out.select();
      try {
        await navigator.clipboard.writeText(password);
      } catch (e) {
        document.execCommand("copy");
      }
      copy.textContent = t("Copied");
    },
  }, t("Copy"));
  ctx.dialog(
    t("SIP password of {u}", { u: user.display_name }),
    h("p", t("Write it down or copy it now: it is shown only this once. Zentrale keeps only a digest of it.")),
    h("div.with-button", out, copy),
    h(
      "dl.facts",
      h("dt", t("SIP user name")), h("dd", h("code", user.sip_username)),
      h("dt", t("SIP domain")), h("dd", h("code", NAME))
    )
  );
}

function userForm(ctx, user, done) {
  const editing = !!user;
  const name = h("input", { name: "display_name", required: true, maxlength: 100, value: user ? user.display_name : "" });
  const ext = h("input", { name: "extension", required: true, inputmode: "numeric", pattern: "[0-9]{1,15}", value: user ? user.extension : "" });
  const sipUser = h("input", { name: "sip_username", maxlength: 64, value: user ? user.sip_username : "", placeholder: t("the extension") });
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: user ? user.enabled : true });
  const pickup = h("input", { name: "pickup_group", maxlength: 32, value: user ? user.pickup_group || "" : "" });
  const out = outboundFields(user);
  const newPw = h("input", { type: "checkbox", name: "new_password", checked: false });
  // the user's own web login (never the SIP password): empty keeps it
  const loginPw = h("input", { type: "password", name: "login_password", id: "login-password", autocomplete: "new-password", minlength: 8 });
  const noLogin = h("input", { type: "checkbox", name: "no_login", id: "no-login", checked: false });
  const err = h("p.error", { role: "alert" });
  const dlg = ctx.dialog(
    editing ? t("Edit {u}", { u: user.display_name }) : t("New user"),
    h(
      "form.user-form",
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = { display_name: name.value, extension: ext.value, enabled: enabled.checked };
          if (sipUser.value) body.sip_username = sipUser.value;
          body.pickup_group = pickup.value.trim();
          Object.assign(body, out.body());
          if (noLogin.checked) body.login_password = "";
          else if (loginPw.value) body.login_password = loginPw.value;
          let pw = null;
          if (editing && (newPw.checked || (sipUser.value && sipUser.value !== user.sip_username))) {
            pw = strongPassword();
            body.sip_password = pw;
          }
          try {
            const res = editing
              ? await ctx.api.patch(`users/${user.id}`, body)
              : await ctx.api.post("users", body);
            dlg.close();
            done();
            if (!editing) showPassword(ctx, res, res.sip_password);
            else if (pw) showPassword(ctx, res, pw);
            else ctx.notice(t("{u} saved.", { u: res.display_name }));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Name"), name),
      field(t("Extension"), ext, t("1–15 digits, unique in this phone system.")),
      field(t("SIP user name"), sipUser, t("Letters, digits and . _ - +; the extension if left empty.")),
      field(t("Pickup group"), pickup, t("Users with the same pickup group answer each other's ringing calls with *8; empty for none.")),
      out.fields,
      h("label.check", enabled, h("span", t("Enabled: may register and call"))),
      editing ? h("label.check", newPw, h("span", t("Generate a new SIP password"))) : h("p.hint", t("A strong SIP password is generated and shown once.")),
      field(
        t("Login password"),
        loginPw,
        editing && user.login
          ? t("The user logs in at this page with their extension or SIP user name. Empty keeps the password.")
          : t("Lets the user log in at this page with their extension or SIP user name (at least 8 characters; not the SIP password).")
      ),
      editing && user.login ? h("label.check", noLogin, h("span", t("Remove the user's login"))) : null,
      err,
      h("button", { type: "submit", id: "user-save" }, editing ? t("Save") : t("Create user"))
    )
  );
  name.focus();
}

// The administrator edits a user's forwarding, DND and call waiting.
async function userForwarding(ctx, user) {
  const card = forwardingCard(ctx, `users/${user.id}/forwarding`);
  await card.load();
  ctx.dialog(t("Forwarding of {u}", { u: user.display_name }), card.node);
}

async function users(view, ctx) {
  const { api } = ctx;
  const list = h("div", { id: "user-list" });
  const search = h("input", { type: "search", id: "user-search", placeholder: t("Search name, extension, SIP user"), "aria-label": t("Search") });
  let timer = null;
  async function refresh() {
    const q = search.value.trim();
    const data = await api.get(q ? `users?search=${encodeURIComponent(q)}` : "users");
    replace(
      list,
      table(
        [t("Extension"), t("Name"), t("SIP user name"), t("Status"), t("Registration"), t("Actions")],
        data.users.map((u) => [
          h("strong", u.extension),
          u.display_name,
          h("code", u.sip_username),
          badge(u.enabled ? "enabled" : "disabled"),
          registrationCell(u),
          h(
            "div.actions",
            h("button.secondary", { type: "button", "data-edit": u.extension, onclick: () => userForm(ctx, u, refresh) }, t("Edit")),
            h("button.secondary", { type: "button", "data-forwarding": u.extension, onclick: () => userForwarding(ctx, u).catch((e) => ctx.notice(e.message, "error")) }, t("Forwarding")),
            h("a.button.secondary", { href: `#/voicemail/${u.id}`, "data-voicemail": u.extension }, t("Voicemail")),
            h("button.danger", {
              type: "button",
              "data-delete": u.extension,
              onclick: async () => {
                if (!(await ctx.confirm(t("Delete {u} ({e})? Its devices are logged off.", { u: u.display_name, e: u.extension }), t("Delete")))) return;
                try {
                  await api.del(`users/${u.id}`);
                  ctx.notice(t("{u} deleted.", { u: u.display_name }));
                } catch (e) {
                  ctx.notice(e.message, "error");
                }
                refresh();
              },
            }, t("Delete"))
          ),
        ]),
        q ? t("No user matches.") : t("No users yet. Create the first one.")
      )
    );
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch((e) => ctx.notice(e.message, "error")), 200);
  });
  replace(
    view,
    h("div.head", h("h1", t("Users and extensions")), h("button", { type: "button", id: "new-user", onclick: () => userForm(ctx, null, refresh) }, t("New user"))),
    search,
    list
  );
  await refresh();
  // the registration state changes as phones try: kept fresh while shown
  ctx.every(5000, () => { if (!document.querySelector("dialog[open]")) refresh().catch(() => {}); });
}

async function registrations(view, ctx) {
  const list = h("div", { id: "reg-list" });
  const updated = h("small.updated");
  replace(view, h("div.head", h("h1", t("Registrations")), updated), h("p", t("Devices registered now. A device shows up here once it has logged in through the SBC.")), list);
  ctx.every(4000, async () => {
    try {
      const regs = (await ctx.api.get("registrations")).registrations;
      replace(
        list,
        table(
          [t("Extension"), t("Name"), t("Device"), t("Address"), t("Expires in")],
          regs.map((r) => [h("strong", r.extension), r.display_name, r.user_agent || "–", h("code", r.source), span(r.expires_in)]),
          t("No device is registered.")
        )
      );
      updated.textContent = t("live · updated {t}", { t: clockTime() });
    } catch (e) {
      updated.textContent = e.message;
    }
  });
}

async function calls(view, ctx) {
  const PAGE = 50;
  let offset = 0;
  const list = h("div", { id: "call-list" });
  const prev = h("button.secondary", { type: "button", onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, t("Newer"));
  const next = h("button.secondary", { type: "button", onclick: () => { offset += PAGE; load(); } }, t("Older"));
  async function load() {
    const c = (await ctx.api.get(`calls?limit=${PAGE}&offset=${offset}`)).calls;
    replace(
      list,
      table(
        [t("Time"), t("From"), t("To"), t("Duration"), t("Result")],
        c.map((x) => [
          when(x.start),
          h("span", h("strong", x.caller), x.caller_name ? ` ${x.caller_name}` : ""),
          h("strong", x.callee),
          x.answer ? callDuration(x.duration) : "–",
          h("span", badge(x.answer ? "answered" : "missed"), " ", t(x.cause || "failed")),
        ]),
        offset ? t("No older calls.") : t("No calls yet.")
      )
    );
    prev.disabled = offset === 0;
    next.disabled = c.length < PAGE;
  }
  replace(view, h("h1", t("Call history")), list, h("div.pager", prev, next));
  await load();
}

// The SHA-256 fingerprint of the certificate the SBC presents (its public
// /certificate.crt, the DER form), as a softphone shows it: AB:CD:…
async function certFingerprint() {
  const res = await fetch("/certificate.crt", { cache: "no-store" });
  if (!res.ok) throw new Error(`${res.status}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await res.arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":");
}

// The certificate phones must trust (until trusted certificates come), with
// what to do with it.
function certCard() {
  const fp = h("code", { id: "cert-fingerprint" }, "…");
  certFingerprint().then(
    (f) => (fp.textContent = f),
    () => (fp.textContent = "–")
  );
  return h(
    "section.card",
    { id: "connect-cert" },
    h("h2", t("The server's certificate")),
    h("p", t("Phones and softphones check the server by its certificate. This server's is its own (self-signed), so a softphone refuses it or asks whether to trust it: download it and install it in the softphone or phone as a trusted certificate (some call it a CA certificate). Where a phone asks, compare the fingerprint it shows with this one.")),
    h(
      "dl.facts",
      h("dt", t("SHA-256 fingerprint")), h("dd", fp),
      h("dt", t("Download")),
      h(
        "dd.actions",
        h("a.button.secondary", { href: "/certificate.pem", download: "certificate.pem", id: "cert-pem" }, t("certificate.pem (PEM)")),
        h("a.button.secondary", { href: "/certificate.crt", download: "certificate.crt", id: "cert-crt" }, t("certificate.crt (DER)"))
      ),
      h("dt", t("For a phone that fetches it")), h("dd", h("code", `${location.origin}/certificate.pem`))
    )
  );
}

// Per user: a new SIP password, generated here and shown this once (the old
// one stops working at once).
async function sipPasswords(ctx) {
  const list = h("div", { id: "connect-users" });
  async function refresh() {
    const users = (await ctx.api.get("users")).users;
    replace(
      list,
      table(
        [t("Extension"), t("Name"), t("SIP user name"), ""],
        users.map((u) => [
          h("strong", u.extension),
          u.display_name,
          h("code", u.sip_username),
          h("button.secondary", {
            type: "button",
            "data-new-password": u.extension,
            onclick: async () => {
              if (!(await ctx.confirm(t("Give {u} a new SIP password? The old one stops working at once: every device of {u} needs the new one.", { u: u.display_name }), t("New SIP password"), false)))
                return;
              const pw = strongPassword();
              try {
                const res = await ctx.api.patch(`users/${u.id}`, { sip_password: pw });
                showPassword(ctx, res, pw);
              } catch (e) {
                ctx.notice(e.message, "error");
              }
            },
          }, t("New SIP password")),
        ]),
        t("No users yet. Create the first one.")
      )
    );
  }
  await refresh();
  return h(
    "section.card",
    { id: "connect-passwords" },
    h("h2", t("SIP passwords")),
    h("p", t("A user's SIP password is shown once, when the user is created: Zentrale keeps only a digest of it, so nobody can look it up later. If it is lost, give the user a new one here.")),
    list
  );
}

async function connect(view, ctx) {
  const st = await ctx.api.get("status");
  const host = location.hostname;
  const proxy = `${host.includes(":") ? `[${host}]` : host}:${st.sip.tls_port}`;
  const row = (k, v) => [h("dt", k), h("dd", h("code", v))];
  const passwords = await sipPasswords(ctx);
  replace(
    view,
    h("h1", t("Connect a phone")),
    h("p", t("Enter these settings in a desk phone or softphone (for example Linphone, baresip or a Yealink/Snom phone), with the user's SIP user name and SIP password.")),
    h(
      "dl.facts.card",
      { id: "connect-facts" },
      row(t("SIP domain / registrar"), st.sip.domain),
      row(t("Outbound proxy"), proxy),
      row(t("Transport"), "TLS"),
      row(t("Media encryption"), t("SRTP (SDES), mandatory")),
      row(t("SIP user name"), t("the user's SIP user name (normally the extension)")),
      row(t("Authentication user"), t("the same SIP user name")),
      row(t("Example SIP address"), `sip:100@${st.sip.domain}`),
      row(t("Example for baresip"), `<sip:100@${st.sip.domain};transport=tls>;outbound="sip:${proxy};transport=tls";mediaenc=srtp-mand`)
    ),
    h("p.hint", t("Plain SIP on port {p} (UDP/TCP, unencrypted) works only if the server's administrator has switched it on.", { p: st.sip.plain_port })),
    certCard(),
    passwords,
    h("p.small", { id: "connect-uptime" }, t("Zentrale {v}, phone system up {u}.", { v: st.version, u: span(st.uptime) }))
  );
}

startApp({
  product: "Zentrale",
  subtitle: () => t("Phone system {n}", { n: NAME }),
  loginHint: () => t("Administrator: admin, with the password set when the phone system was created. Users: your extension or SIP user name and your own login password."),
  // a user's own login sees only their own pages (me.js)
  routes: (api) => api.role === "user" ? userRoutes(myVoicemail) : [
    { id: "users", label: "Users", render: users },
    { id: "registrations", label: "Registrations", render: registrations },
    { id: "groups", label: "Ring groups", render: groups },
    { id: "trunks", label: "Trunks", render: trunks },
    { id: "outbound", label: "Outbound", render: outbound },
    { id: "active", label: "Live calls", render: activeCalls },
    { id: "calls", label: "Calls", render: calls },
    { id: "voicemail", label: "Voicemail", render: voicemail },
    { id: "connect", label: "Connect a phone", render: connect },
    { id: "prompts", label: "Prompts", render: prompts },
    { id: "settings", label: "Settings", render: settings },
  ],
});

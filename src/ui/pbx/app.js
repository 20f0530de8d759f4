// A phone system's UI at https://server/<name>/: users and extensions,
// registered devices, call history, how to connect a phone and settings. It talks
// only to this phone system's API (/<name>/api/v1, docs/api.md).

import { h, replace, duration } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { startApp, table, field, badge, when, strongPassword } from "../common/shell.js";
import { registrationCell } from "./users.js";
import { settings } from "./settings.js";

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
  const newPw = h("input", { type: "checkbox", name: "new_password", checked: false });
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
      h("label.check", enabled, h("span", t("Enabled: may register and call"))),
      editing ? h("label.check", newPw, h("span", t("Generate a new SIP password"))) : h("p.hint", t("A strong SIP password is generated and shown once.")),
      err,
      h("button", { type: "submit", id: "user-save" }, editing ? t("Save") : t("Create user"))
    )
  );
  name.focus();
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
          regs.map((r) => [h("strong", r.extension), r.display_name, r.user_agent || "–", h("code", r.source), duration(r.expires_in)]),
          t("No device is registered.")
        )
      );
      updated.textContent = t("live · updated {t}", { t: new Date().toLocaleTimeString() });
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
          x.answer ? duration(x.duration) : "–",
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

async function connect(view, ctx) {
  const st = await ctx.api.get("status");
  const host = location.hostname;
  const proxy = `${host.includes(":") ? `[${host}]` : host}:${st.sip.tls_port}`;
  const row = (k, v) => [h("dt", k), h("dd", h("code", v))];
  replace(
    view,
    h("h1", t("Connect a phone")),
    h("p", t("Enter these settings in a desk phone or softphone (for example Linphone, baresip or a Yealink/Snom phone). Each user's SIP user name and password are on the Users page.")),
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
    h("p.small", t("Zentrale {v}, phone system up {u}.", { v: st.version, u: duration(st.uptime) }))
  );
}

startApp({
  product: "Zentrale",
  subtitle: () => t("Phone system {n}", { n: NAME }),
  loginHint: () => t("The admin password was set when the phone system was created."),
  routes: [
    { id: "users", label: "Users", render: users },
    { id: "registrations", label: "Registrations", render: registrations },
    { id: "calls", label: "Calls", render: calls },
    { id: "connect", label: "Connect a phone", render: connect },
    { id: "settings", label: "Settings", render: settings },
  ],
});

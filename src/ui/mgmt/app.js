// The management UI: dashboard, phone systems, interfaces, SBC, account.
// Every figure and action goes through the management API (docs/api.md).

import { h, replace, bytes } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { span, clockTime } from "../common/format.js";
import { certificate } from "./cert.js";
import { startApp, table, field, badge, when } from "../common/shell.js";
import { backups, update, logs, traces } from "./ops.js";
import { vpnCard, vpnStatus } from "./vpn.js";
import { natCard } from "./nat.js";
import { adminsCard, resetAdminButton, created } from "./admins.js";

// Where the SBC serves phone systems' pages: its HTTPS port, on this host.
async function sbcBase(api) {
  let port = 443;
  try {
    const ifs = await api.get("interfaces");
    for (const i of ifs.interfaces)
      for (const s of i.services || []) if (s.service === "sbc-https") port = s.port;
  } catch (e) {
    /* fall back to 443 */
  }
  return `https://${location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname}${
    port === 443 ? "" : `:${port}`
  }`;
}

function meter(label, percent, detail) {
  const p = Math.max(0, Math.min(100, percent || 0));
  const bar = h("div.bar", h(`div.fill${p > 90 ? ".hot" : p > 75 ? ".warm" : ""}`));
  bar.firstChild.style.width = `${p}%`; // CSSOM, allowed by the CSP (no inline style)
  return h(
    "section.card.meter",
    h("h3", label),
    h("div.big", `${p.toFixed(1)} %`),
    bar,
    h("small", detail)
  );
}

async function dashboard(view, ctx) {
  const { api } = ctx;
  const cards = h("div.cards", { id: "dash-cards" });
  const list = h("div", { id: "dash-ps" });
  const updated = h("small.updated");
  replace(view, h("div.head", h("h1", t("Dashboard")), updated), cards, h("h2", t("Phone systems")), list);
  const base = await sbcBase(api);
  ctx.every(3000, async () => {
    try {
      const [sys, ps] = await Promise.all([api.get("system"), api.get("phone-systems")]);
      replace(
        cards,
        meter(t("CPU"), sys.cpu.used_percent, t("{n} cores, load {l}", { n: sys.cpu.cores, l: sys.cpu.load.map((x) => x.toFixed(2)).join(" ") })),
        meter(t("Memory"), sys.memory.used_percent, t("{a} available of {b}; Zentrale {c}", { a: bytes(sys.memory.available_bytes), b: bytes(sys.memory.total_bytes), c: bytes(sys.memory.zentrale_rss_bytes) })),
        meter(t("Disk"), sys.disk.used_percent, t("{a} free of {b}", { a: bytes(sys.disk.free_bytes), b: bytes(sys.disk.total_bytes) })),
        h(
          "section.card",
          h("h3", t("Server")),
          h("div.big", `Zentrale ${sys.version}`),
          h("small", t("up {d}", { d: span(sys.uptime_seconds) })),
          h(
            "p.counts",
            ["running", "starting", "stopped", "failed"].map((s) => [badge(s), " ", String(sys.phone_systems[s]), " "])
          )
        )
      );
      replace(
        list,
        table(
          [t("Name"), t("State"), t("Since"), t("Restarts"), ""],
          ps.phone_systems.map((p) => [
            p.name,
            badge(p.state),
            when(p.since),
            String(p.restarts),
            h("a", { href: `${base}${p.path}`, target: "_blank", rel: "noopener" }, t("Open")),
          ]),
          t("No phone systems yet.")
        )
      );
      updated.textContent = t("live · updated {t}", { t: clockTime() });
    } catch (e) {
      updated.textContent = e.message;
    }
  });
}

async function phoneSystems(view, ctx) {
  const { api } = ctx;
  const base = await sbcBase(api);
  const list = h("div", { id: "ps-list" });
  const err = h("p.error", { role: "alert", id: "ps-error" });
  const name = h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9-]*[a-z0-9]", minlength: 2, maxlength: 63, autocomplete: "off", placeholder: "my-company" });
  const pw = h("input", { name: "admin_password", type: "text", minlength: 8, autocomplete: "new-password" });
  const create = h("button", { type: "submit" }, t("Create"));

  async function refresh() {
    const ps = (await api.get("phone-systems")).phone_systems;
    replace(
      list,
      table(
        [t("Name"), t("State"), t("Aliases"), t("Created"), t("Actions")],
        ps.map((p) => [
          h("strong", p.name),
          badge(p.state),
          (p.aliases || []).join(", ") || "–",
          when(p.created),
          h(
            "div.actions",
            h("a.button.secondary", { href: `${base}${p.path}`, target: "_blank", rel: "noopener", "data-action": "open", "data-name": p.name }, t("Open")),
            p.state === "stopped" || p.state === "failed"
              ? h("button.secondary", { type: "button", "data-action": "start", "data-name": p.name, onclick: () => act(p.name, "start") }, t("Start"))
              : h("button.secondary", { type: "button", "data-action": "stop", "data-name": p.name, onclick: () => act(p.name, "stop") }, t("Stop")),
            h("button.secondary", { type: "button", "data-action": "aliases", "data-name": p.name, onclick: () => aliases(p) }, t("Aliases")),
            resetAdminButton(ctx, p.name),
            h("button.danger", { type: "button", "data-action": "delete", "data-name": p.name, onclick: () => remove(p.name) }, t("Delete"))
          ),
        ]),
        t("No phone systems yet. Create the first one above.")
      )
    );
  }

  async function act(n, what) {
    if (what === "stop" && !(await ctx.confirm(t("Stop {n}? Its phones lose service until it is started again.", { n }), t("Stop"))))
      return;
    try {
      await api.post(`phone-systems/${encodeURIComponent(n)}/${what}`);
      ctx.notice(what === "start" ? t("{n} started.", { n }) : t("{n} stopped.", { n }));
    } catch (e) {
      ctx.notice(e.message, "error");
    }
    refresh();
  }

  async function remove(n) {
    if (!(await ctx.confirm(t("Delete {n} and all its data (users, call history)? This cannot be undone.", { n }), t("Delete"))))
      return;
    try {
      await api.del(`phone-systems/${encodeURIComponent(n)}`);
      ctx.notice(t("{n} deleted.", { n }));
    } catch (e) {
      ctx.notice(e.message, "error");
    }
    refresh();
  }

  function aliases(p) {
    const area = h("textarea", { rows: 4, name: "aliases" }, (p.aliases || []).join("\n"));
    const e2 = h("p.error", { role: "alert" });
    const dlg = ctx.dialog(
      t("Aliases of {n}", { n: p.name }),
      h("p", t("Further SIP domains that reach this phone system, one per line.")),
      area,
      e2,
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            try {
              const list = area.value.split(/\s+/).filter(Boolean);
              await api.put(`phone-systems/${encodeURIComponent(p.name)}/aliases`, { aliases: list });
              dlg.close();
              ctx.notice(t("Aliases saved."));
              refresh();
            } catch (x) {
              e2.textContent = x.message;
            }
          },
        },
        t("Save")
      )
    );
  }

  const form = h(
    "form.card.inline",
    {
      id: "ps-create",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        create.disabled = true;
        create.textContent = t("Creating…");
        try {
          const r = await api.post("phone-systems", pw.value ? { name: name.value, admin_password: pw.value } : { name: name.value });
          created(ctx, name.value, r);
          name.value = pw.value = "";
          refresh();
        } catch (x) {
          err.textContent = x.message;
        } finally {
          create.disabled = false;
          create.textContent = t("Create");
        }
      },
      novalidate: true,
    },
    h("h2", t("New phone system")),
    h(
      "div.row",
      field(t("Name"), name, t("2–63 characters: a–z, 0–9 and -. Also its SIP domain and web address.")),
      field(t("Admin password"), pw, t("At least 8 characters; for the phone system's own admin. Leave it empty and the server generates one, shown once."))
    ),
    err,
    create
  );
  replace(view, h("h1", t("Phone systems")), form, list);
  ctx.every(5000, () => refresh().catch((e) => ctx.notice(e.message, "error")));
}

async function interfaces(view, ctx) {
  const { api } = ctx;
  const data = await api.get("interfaces");
  const err = h("p.error", { role: "alert" });
  const fixed = data.fixed_by_command_line;
  const pick = { management: new Set(data.listen.management), sbc: new Set(data.listen.sbc) };
  const boxes = { management: [], sbc: [] };
  const allBox = (what) => {
    const b = h("input", { type: "checkbox", checked: pick[what].size === 0, disabled: fixed, id: `all-${what}` });
    b.addEventListener("change", () => boxes[what].forEach((x) => (x.disabled = fixed || b.checked)));
    return b;
  };
  const all = { management: allBox("management"), sbc: allBox("sbc") };
  const box = (what, ifname, usable) => {
    const b = h("input", { type: "checkbox", checked: pick[what].has(ifname), disabled: fixed || !usable || pick[what].size === 0, "data-if": ifname, "data-what": what, "aria-label": `${what} ${ifname}` });
    if (usable) boxes[what].push(b);
    return b;
  };
  const rows = data.interfaces.map((i) => [
    h("strong", i.name),
    h("span", { class: i.up ? "badge running" : "badge stopped" }, i.up ? t("up") : t("down")),
    h("div.addrs", i.addresses.map((a) => h("div", a))),
    i.mac || "–",
    i.up
      ? (i.services || []).map((s) => h("div", `${s.service} ${s.port}`))
      : h("span.small", t("nothing: the link is down")),
    box("management", i.name, i.addresses.length > 0),
    box("sbc", i.name, i.addresses.length > 0),
  ]);
  const save = h("button", { type: "submit", disabled: fixed }, t("Save"));
  replace(
    view,
    h("h1", t("Interfaces")),
    fixed ? h("p.warn", t("The server was started with --listen; the interfaces cannot be changed here.")) : null,
    h(
      "form",
      {
        id: "if-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = {};
          for (const w of ["management", "sbc"])
            body[w] = all[w].checked ? [] : boxes[w].filter((b) => b.checked).map((b) => b.dataset.if);
          if (body.management.length && !(await ctx.confirm(t("Management will listen only on {l}. If you reach it by another interface, you lose this page. Go on?", { l: body.management.join(", ") }), t("Save"))))
            return;
          try {
            await api.put("interfaces", body);
            ctx.notice(t("Interfaces saved and applied."));
            ctx.rerender();
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      table([t("Interface"), t("Link"), t("Addresses"), "MAC", t("Serving"), t("Management"), t("SBC")], rows, t("No interfaces found.")),
      h("div.row", h("label.check", all.management, t("Management on every interface")), h("label.check", all.sbc, t("SBC on every interface"))),
      err,
      save
    )
  );
}

async function sbc(view, ctx) {
  const { api } = ctx;
  const [s, v, ifs] = await Promise.all([api.get("sbc"), api.get("vpn"), api.get("interfaces")]);
  const nat = natCard(ctx, s.nat, ifs.interfaces.map((i) => i.name).filter((n) => n !== "lo"));
  const err = h("p.error", { role: "alert" });
  const plain = h("input", { type: "checkbox", checked: s.plain_sip, id: "plain-sip", role: "switch" });
  const vpn = h("input", { type: "checkbox", checked: v.enabled, id: "vpn-enabled", role: "switch" });
  const vpnNote = h("small", { id: "vpn-note" }, vpnStatus(v, true));
  const vc = vpnCard(ctx);
  const num = (v, min, max, id) => h("input", { type: "number", value: v, min, max, id, required: true });
  const failures = num(s.block.failures, 1, 1000, "block-failures");
  const windowS = num(s.block.window, 1, 86400, "block-window");
  const seconds = num(s.block.seconds, 1, 604800, "block-seconds");
  const timeout = num(s.media.timeout, 5, 3600, "media-timeout");
  const srtp = h("input", { type: "checkbox", checked: s.media.srtp_required, id: "srtp-required", role: "switch" });
  // the relay's range, and how many calls it holds (a port pair per leg, two legs a call)
  const portMin = num(s.media.port_min, 1024, 65535, "media-port-min");
  const portMax = num(s.media.port_max, 1024, 65535, "media-port-max");
  const holds = h("small", { id: "media-calls" });
  const showHolds = () => {
    const lo = +portMin.value + (+portMin.value & 1), hi = +portMax.value;
    const calls = hi >= lo ? Math.floor(Math.floor((hi - lo + 1) / 2) / 2) : 0;
    holds.textContent = t("Holds {n} calls at once (4 ports a call), {m} where phones use rtcp-mux (2 ports a call).", { n: calls, m: 2 * calls });
  };
  portMin.addEventListener("input", showHolds);
  portMax.addEventListener("input", showHolds);
  showHolds();
  const blocked = h("div", { id: "blocked" });

  async function refreshBlocked() {
    const b = (await api.get("blocked")).blocked;
    replace(
      blocked,
      table(
        [t("Address"), t("Reason"), t("Blocked for"), ""],
        b.map((x) => [
          h("code", x.address),
          t(x.reason),
          span(x.seconds_left),
          h("button.secondary", {
            type: "button",
            "data-unblock": x.address,
            onclick: async () => {
              try {
                await api.del(`blocked/${encodeURIComponent(x.address)}`);
                ctx.notice(t("{a} unblocked.", { a: x.address }));
              } catch (e) {
                ctx.notice(e.message, "error");
              }
              refreshBlocked();
            },
          }, t("Unblock")),
        ]),
        t("No address is blocked.")
      )
    );
  }

  replace(
    view,
    h("h1", t("Session Border Controller")),
    h(
      "form.card",
      {
        id: "sbc-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          try {
            const media = { timeout: +timeout.value, srtp_required: srtp.checked };
            if (+portMin.value !== s.media.port_min || +portMax.value !== s.media.port_max) {
              media.port_min = +portMin.value; // calls in progress keep their ports
              media.port_max = +portMax.value;
            }
            await api.put("sbc", {
              plain_sip: plain.checked,
              block: { failures: +failures.value, window: +windowS.value, seconds: +seconds.value },
              media,
            });
            s.media.port_min = +portMin.value;
            s.media.port_max = +portMax.value;
            if (vpn.checked !== v.enabled) {
              const nv = await api.put("vpn", { enabled: vpn.checked });
              v.enabled = nv.enabled;
              vpnNote.textContent = vpnStatus(nv, true);
              vc.refresh();
            }
            ctx.notice(t("SBC settings saved and applied."));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      h("h2", t("Services")),
      h("p", t("SIP over TLS on 5061, the phone systems' web pages on 443 and the SRTP media relay are always on.")),
      h("label.check", plain, h("span", h("strong", t("Plain SIP on 5060 (UDP and TCP)")), h("small", t("Unencrypted; only for phones that cannot do TLS.")))),
      h("label.check", vpn, h("span", h("strong", t("VPN tunnel on 8885")), vpnNote)),
      h("h2", t("Blocking")),
      h("div.row", field(t("Failed authentications"), failures), field(t("within seconds"), windowS), field(t("block for seconds"), seconds)),
      h("h2", t("Media")),
      h("div.row", field(t("Relay ports from"), portMin), field(t("to"), portMax)),
      h("p", holds, " ", h("small", t("Calls in progress keep their ports when the range changes."))),
      h("div.row", field(t("End silent calls after seconds"), timeout)),
      h("label.check", srtp, h("span", h("strong", t("Require SRTP on 5061")), h("small", t("Phones on TLS must encrypt their media.")))),
      err,
      h("button", { type: "submit" }, t("Save"))
    ),
    vc.card,
    nat.card,
    h("h2", t("Blocked addresses")),
    blocked
  );
  ctx.every(10000, () =>
    Promise.all([refreshBlocked(), nat.refresh(), vc.refresh().then((nv) => (vpnNote.textContent = vpnStatus(nv, true)))]).catch((e) => ctx.notice(e.message, "error"))
  );
}

async function account(view, ctx) {
  const { api } = ctx;
  const cur = h("input", { type: "password", id: "pw-current", autocomplete: "current-password", required: true });
  const pw1 = h("input", { type: "password", id: "pw-new", autocomplete: "new-password", required: true, minlength: 8 });
  const pw2 = h("input", { type: "password", id: "pw-repeat", autocomplete: "new-password", required: true });
  const err = h("p.error", { role: "alert" });
  const settings = await api.get("settings");
  const ttl = h("input", { type: "number", id: "session-ttl", min: 5, max: 604800, value: settings.session_ttl });
  const disk = h("input", { type: "number", id: "health-disk", min: 0, max: 100, value: settings.health_min_disk_free });
  const err2 = h("p.error", { role: "alert" });
  const admins = adminsCard(ctx);
  await admins.refresh();
  replace(
    view,
    h("h1", t("Account and settings")),
    h(
      "form.card",
      {
        id: "pw-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          if (pw1.value !== pw2.value) {
            err.textContent = t("The new passwords differ.");
            return;
          }
          try {
            await api.put("password", { current_password: cur.value, new_password: pw1.value });
            cur.value = pw1.value = pw2.value = "";
            ctx.notice(t("Password changed. Other sessions have been logged out."));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      h("h2", t("Change your password")),
      field(t("Current password"), cur),
      field(t("New password"), pw1, t("At least 8 characters.")),
      field(t("Repeat the new password"), pw2),
      err,
      h("button", { type: "submit" }, t("Change password"))
    ),
    h(
      "form.card",
      {
        id: "settings-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err2.textContent = "";
          try {
            await api.put("settings", { session_ttl: +ttl.value, health_min_disk_free: +disk.value });
            ctx.notice(t("Settings saved."));
          } catch (x) {
            err2.textContent = x.message;
          }
        },
      },
      h("h2", t("Server settings")),
      h("div.row", field(t("Session lifetime in seconds"), ttl), field(t("Health fails below % free disk"), disk)),
      err2,
      h("button", { type: "submit" }, t("Save"))
    ),
    admins.card
  );
}

startApp({
  product: "Zentrale",
  subtitle: "Management",
  routes: [
    { id: "dashboard", label: "Dashboard", render: dashboard },
    { id: "phone-systems", label: "Phone systems", render: phoneSystems },
    { id: "interfaces", label: "Interfaces", render: interfaces },
    { id: "sbc", label: "SBC", render: sbc },
    { id: "certificate", label: "Certificate", render: (view, ctx) => certificate(view, ctx, sbcBase) },
    { id: "backups", label: "Backups", render: backups },
    { id: "update", label: "Update", render: update },
    { id: "logs", label: "Log", render: logs },
    { id: "traces", label: "SIP traces", render: traces },
    { id: "account", label: "Account", render: account },
  ],
});

// The phones' VPN on the SBC page: its state, subnet and the address phones
// reach the server at, and its clients (add, download the profile, revoke,
// who is connected). The on/off switch sits with the SBC's other services.
// Same API as docs/api.md ("VPN").

import { h, replace, bytes } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, badge, when } from "../common/shell.js";

// The VPN's state in a sentence; atSwitch: shown beside the switch itself
// (under Services), so it does not send the reader there.
export function vpnStatus(v, atSwitch = false) {
  if (v.running) return t("Running: tunnel {a}, TCP port {p}.", { a: `${v.address}/${v.subnet.split("/")[1]}`, p: v.port });
  if (v.enabled) return t("Switched on but not running: {e}", { e: v.error || "…" });
  return atSwitch ? t("Off.") : t("Off. Switch it on under Services above.");
}

// The VPN card; refresh() reloads it (also every 10 s while the page shows).
export function vpnCard(ctx) {
  const { api } = ctx;
  const status = h("p", { id: "vpn-status" });
  const subnet = h("input", { id: "vpn-subnet", required: true, pattern: "[0-9.]+/[0-9]+" });
  const host = h("input", { id: "vpn-host", placeholder: location.hostname });
  const name = h("input", { id: "vpn-client-name", required: true, maxlength: 64, pattern: "[A-Za-z0-9_][A-Za-z0-9._\\-]*", placeholder: "desk-phone-12" });
  const err = h("p.error", { role: "alert" });
  const err2 = h("p.error", { role: "alert" });
  const clients = h("div", { id: "vpn-clients" });
  let editing = false;
  let shown = null; // the clients as last drawn: the table is redrawn only when they change

  function connected(c) {
    if (!c.connected) return h("span.small", t("not connected"));
    const x = c.connected;
    return h("span", badge("connected"), " ", h("code", x.vpn_address), " ", t("from {a}", { a: x.address }), ", ", t("since {w}", { w: when(x.since) }), ` (${bytes(x.bytes_in + x.bytes_out)})`);
  }

  async function refresh() {
    const v = await api.get("vpn");
    status.textContent = vpnStatus(v);
    status.className = v.enabled && !v.running ? "error" : "";
    if (!editing) {
      subnet.value = v.subnet;
      host.value = v.host;
    }
    // redrawn only when a client changed, so a link being clicked (a
    // profile's download) is not swapped under the pointer every 5 s
    const now = JSON.stringify(v.clients);
    if (now === shown) return v;
    shown = now;
    replace(
      clients,
      table(
        [t("Client"), t("Created"), t("Connection"), t("Actions")],
        v.clients.map((c) => [
          h("strong", c.name),
          when(c.created),
          connected(c),
          h(
            "div.actions",
            h("a.button.secondary", { href: api.url(`vpn/clients/${encodeURIComponent(c.name)}/profile`), download: `${c.name}.ovpn`, "data-profile": c.name }, t("Download profile")),
            h("button.danger", {
              type: "button",
              "data-revoke": c.name,
              onclick: async () => {
                if (!(await ctx.confirm(t("Revoke {n}? Its tunnel is cut at once and its profile stops working.", { n: c.name }), t("Revoke")))) return;
                try {
                  await api.del(`vpn/clients/${encodeURIComponent(c.name)}`);
                  ctx.notice(t("{n} revoked.", { n: c.name }));
                } catch (e) {
                  ctx.notice(e.message, "error");
                }
                refresh();
              },
            }, t("Revoke"))
          ),
        ]),
        t("No VPN clients yet.")
      )
    );
    return v;
  }

  for (const i of [subnet, host]) i.addEventListener("input", () => (editing = true));

  const card = h(
    "section.card",
    { id: "vpn" },
    h("h2", t("VPN for phones")),
    h("p", t("Phones and softphones that speak OpenVPN connect on TCP 8885 and then reach every SBC service at the tunnel's first address. Each client gets a profile of its own.")),
    status,
    h(
      "form",
      {
        id: "vpn-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          try {
            await api.put("vpn", { subnet: subnet.value.trim(), host: host.value.trim() });
            editing = false;
            ctx.notice(t("VPN settings saved."));
            refresh();
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      h("div.row", field(t("Tunnel subnet"), subnet, t("Private, /16 to /29; the server takes its first address.")), field(t("Address phones reach this server at"), host, t("Written into profiles. Empty: the address you use now."))),
      err,
      h("button", { type: "submit" }, t("Save"))
    ),
    h("h3", t("Clients")),
    clients,
    h(
      "form.row",
      {
        id: "vpn-add",
        onsubmit: async (e) => {
          e.preventDefault();
          err2.textContent = "";
          try {
            await api.post("vpn/clients", { name: name.value.trim() });
            ctx.notice(t("{n} added. Download its profile and import it on the phone.", { n: name.value.trim() }));
            name.value = "";
            refresh();
          } catch (x) {
            err2.textContent = x.message;
          }
        },
      },
      field(t("New client"), name),
      h("button", { type: "submit" }, t("Add client"))
    ),
    err2
  );
  return { card, refresh };
}

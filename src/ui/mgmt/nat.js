// The SBC behind NAT: per interface the public address peers outside its
// networks are told (set by hand, or found by a STUN server), and which
// networks count as inside (PUT/DELETE /api/v1/sbc/nat/IFACE).
import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field } from "../common/shell.js";

export function natCard(ctx, nat, interfaces) {
  const { api } = ctx;
  const list = h("div", { id: "nat-list" });
  const err = h("p.error", { role: "alert" });
  const iface = h("select", { id: "nat-interface" }, interfaces.map((n) => h("option", { value: n }, n)));
  const mode = h(
    "select",
    { id: "nat-mode" },
    h("option", { value: "external" }, t("External address")),
    h("option", { value: "stun" }, t("STUN server"))
  );
  const value = h("input", { id: "nat-value", required: true, placeholder: "203.0.113.5" });
  const nets = h("input", { id: "nat-networks", placeholder: "10.0.0.0/8 192.168.0.0/16" });
  mode.addEventListener("change", () => (value.placeholder = mode.value === "stun" ? "stun.example.org:3478" : "203.0.113.5"));

  function show(rows) {
    replace(
      list,
      table(
        [t("Interface"), t("Public address"), t("In use"), t("Inside networks"), ""],
        rows.map((n) => [
          n.interface,
          n.external_address || t("from STUN server {s}", { s: n.stun_server }),
          n.in_use ? h("code", n.in_use) : h("span", n.stun_error || t("none yet")),
          n.inside.join(" "),
          h(
            "button.secondary",
            {
              type: "button",
              "data-nat-off": n.interface,
              onclick: async () => {
                try {
                  await api.del(`sbc/nat/${encodeURIComponent(n.interface)}`);
                  ctx.notice(t("NAT on {i} switched off.", { i: n.interface }));
                } catch (e) {
                  ctx.notice(e.message, "error");
                }
                refresh();
              },
            },
            t("Switch off")
          ),
        ]),
        t("No interface is behind NAT: peers are told the SBC's own addresses.")
      )
    );
  }

  async function refresh() {
    show((await api.get("sbc")).nat);
  }

  show(nat);
  const card = h(
    "form.card",
    {
      id: "nat-form",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const body = mode.value === "stun" ? { stun_server: value.value.trim() } : { external_address: value.value.trim() };
        const n = nets.value.split(/[\s,]+/).filter((x) => x);
        if (n.length) body.local_networks = n;
        try {
          await api.put(`sbc/nat/${encodeURIComponent(iface.value)}`, body);
          ctx.notice(t("NAT on {i} saved and applied.", { i: iface.value }));
          refresh();
        } catch (x) {
          err.textContent = x.message;
        }
      },
    },
    h("h2", t("Behind NAT")),
    h("p", t("Where the SBC sits behind a router, peers outside an interface's networks must be told the router's public address, in SIP and in the media descriptions. Forward SIP and the relay ports on the router to the SBC unchanged.")),
    list,
    h("div.row", field(t("Interface"), iface), field(t("Public address from"), mode), field(t("Address or STUN server"), value)),
    h("div.row", field(t("Inside networks (empty: the interface's own)"), nets)),
    err,
    h("button", { type: "submit" }, t("Save"))
  );
  return { card, refresh };
}

// The phone system's Trunks page: the accounts at carriers (registering)
// and the peers known by their addresses, with transport, numbers' format,
// caller ID, codecs and DTMF; creating, editing and deleting a trunk (GET/
// POST /trunks, PUT/DELETE /trunks/<id>, docs/api.md). The password is
// write-only: the form leaves it empty, and an empty field keeps it. The
// list shows each trunk's status (registration, the carrier's last answer,
// the OPTIONS keep-alive's round trip), as the API reports it. Below them
// the inbound numbers (inbound.js) and the phonebook (phonebook.js).

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, deleteButton } from "../common/shell.js";
import { inboundNumbers } from "./inbound.js";
import { phonebookSection } from "./phonebook.js";

const CODECS = ["PCMA", "PCMU", "G722", "opus"];

function select(name, values, current) {
  return h("select", { name, id: `trunk-${name}` },
    values.map(([v, label]) => h("option", { value: v, selected: current === v }, label)));
}

function trunkForm(ctx, trunk, done) {
  const editing = !!trunk;
  const v = (k, d) => (trunk ? trunk[k] : d);
  const name = h("input", { name: "name", required: true, maxlength: 100, value: v("name", "") });
  const kind = select("kind", [["register", t("Account that registers")], ["peer", t("Peer known by its addresses")]], v("kind", "register"));
  const domain = h("input", { name: "domain", value: v("domain", ""), placeholder: "sip.carrier.example" });
  const proxy = h("input", { name: "proxy", value: v("proxy", "") });
  const transport = select("transport", [["udp", "UDP"], ["tcp", "TCP"], ["tls", "TLS"]], v("transport", "udp"));
  const username = h("input", { name: "username", value: v("username", ""), autocomplete: "off" });
  const authUser = h("input", { name: "auth_username", value: v("auth_username", ""), autocomplete: "off" });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", value: "" });
  const interval = h("input", { type: "number", name: "register_interval", min: 60, max: 3600, value: v("register_interval", 600) });
  const peers = h("input", { name: "peers", value: v("peers", []).join(", ") });
  const codecs = CODECS.map((c) => h("label.check", h("input", { type: "checkbox", "data-codec": c, checked: v("codecs", []).includes(c) }), h("span", c)));
  const dtmf = select("dtmf", [["rfc4733", "RFC 4733"], ["info", "SIP INFO"]], v("dtmf", "rfc4733"));
  const format = select("number_format", [["e164", "+49301234567"], ["e164_plain", "49301234567"], ["national", "0301234567"]], v("number_format", "e164"));
  const callerId = h("input", { name: "caller_id", value: v("caller_id", ""), placeholder: "+49301234567" });
  const cidHeader = select("cid_header", [["pai", "P-Asserted-Identity"], ["ppi", "P-Preferred-Identity"], ["from", "From"]], v("cid_header", "pai"));
  const srtp = h("input", { type: "checkbox", name: "srtp", checked: v("srtp", false) });
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: v("enabled", true) });
  const err = h("p.error", { role: "alert" });
  const dlg = ctx.dialog(
    editing ? t("Edit {u}", { u: trunk.name }) : t("New trunk"),
    h(
      "form.trunk-form",
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = {
            name: name.value,
            kind: kind.value,
            domain: domain.value.trim(),
            proxy: proxy.value.trim(),
            transport: transport.value,
            username: username.value.trim(),
            auth_username: authUser.value.trim(),
            register_interval: Number(interval.value),
            peers: peers.value.split(",").map((x) => x.trim()).filter((x) => x),
            codecs: codecs.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.dataset.codec),
            dtmf: dtmf.value,
            number_format: format.value,
            caller_id: callerId.value.trim(),
            cid_header: cidHeader.value,
            srtp: srtp.checked,
            enabled: enabled.checked,
          };
          if (password.value) body.password = password.value;
          try {
            const res = editing ? await ctx.api.put(`trunks/${trunk.id}`, body) : await ctx.api.post("trunks", body);
            dlg.close();
            done();
            ctx.notice(t("{u} saved.", { u: res.name }));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Name"), name),
      field(t("Kind"), kind),
      field(t("Domain (registrar)"), domain, t("The carrier's SIP domain; a host name or address, with an optional :port.")),
      field(t("Outbound proxy"), proxy, t("Empty: the domain itself.")),
      field(t("Transport"), transport),
      field(t("User name"), username),
      field(t("Authentication user name"), authUser, t("Empty: the user name.")),
      field(t("Password"), password, editing && trunk.password_set ? t("Set. Leave empty to keep it.") : t("The carrier account's password.")),
      field(t("Registration interval (s)"), interval),
      field(t("Peer addresses"), peers, t("Host names or addresses the carrier sends from, separated by commas.")),
      h("div.field", h("span", t("Codecs")), h("div", codecs), h("small", t("None ticked: whatever the phones offer."))),
      field(t("DTMF"), dtmf),
      field(t("Number format"), format),
      field(t("Caller ID"), callerId, t("Sent when a user has none of their own.")),
      field(t("Caller ID header"), cidHeader),
      h("label.check", srtp, h("span", t("SRTP towards the carrier"))),
      h("label.check", enabled, h("span", t("Enabled"))),
      err,
      h("button", { type: "submit", id: "trunk-save" }, editing ? t("Save") : t("Create trunk"))
    )
  );
  name.focus();
}

// A trunk's "status" (docs/api.md): its state, the carrier's last answer
// and the keep-alive's round trip.
function trunkStatus(st) {
  if (!st) return "";
  const names = {
    registered: t("Registered"),
    registering: t("Registering"),
    failed: t("Registration failed"),
    unregistered: t("Not registered"),
    peer: t("Peer"),
  };
  const parts = [h("strong", { "data-state": st.state }, names[st.state] || st.state)];
  if (st.code && st.state !== "registered") parts.push(h("span", ` (${st.code} ${st.reason})`));
  if (st.options_rtt_ms !== null && st.options_rtt_ms !== undefined) {
    parts.push(h("small", " · " + t("OPTIONS {n} ms", { n: st.options_rtt_ms })));
  } else if (st.options_at) {
    parts.push(h("small", " · " + t("no answer to OPTIONS")));
  }
  return h("span.trunk-status", parts);
}

export async function trunks(view, ctx) {
  const { api } = ctx;
  const list = h("div", { id: "trunk-list" });
  const numbers = inboundNumbers(ctx), book = phonebookSection(ctx);
  async function refresh() {
    const data = await api.get("trunks");
    replace(
      list,
      table(
        [t("Name"), t("Kind"), t("Carrier"), t("Transport"), t("Enabled"), t("Status"), t("Actions")],
        data.trunks.map((x) => [
          h("strong", x.name),
          x.kind === "register" ? t("Account that registers") : t("Peer known by its addresses"),
          x.kind === "register" ? `${x.username}@${x.domain}` : x.peers.join(", "),
          x.transport.toUpperCase(),
          x.enabled ? t("yes") : t("no"),
          trunkStatus(x.status),
          h(
            "div.actions",
            h("button.secondary", { type: "button", "data-edit": x.name, onclick: () => trunkForm(ctx, x, refresh) }, t("Edit")),
            deleteButton(ctx, x.name, t("Delete the trunk {u}?", { u: x.name }), `trunks/${x.id}`, t("{u} deleted.", { u: x.name }), refresh)
          ),
        ]),
        t("No trunks yet.")
      )
    );
    await numbers.refresh();
  }
  replace(
    view,
    h("div.head", h("h1", t("Trunks")), h("button", { type: "button", id: "new-trunk", onclick: () => trunkForm(ctx, null, refresh) }, t("New trunk"))),
    h("p", t("A trunk connects this phone system to a carrier, through the SBC: an account that registers, or a peer that knows the SBC's address.")),
    list,
    numbers.el,
    book.el
  );
  await Promise.all([refresh(), book.refresh()]);
}

// The inbound numbers of the Trunks page (trunks.js): the numbers carriers send calls to (a
// DID or a block of DIDs, per trunk) and where each goes — a user's
// extension, a ring group or a mailbox; adding and deleting them (GET/POST
// /inbound-numbers, DELETE /inbound-numbers/<id>, docs/api.md). Numbers
// are typed as people write them; the server stores them in E.164.

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, deleteButton } from "../common/shell.js";

const TYPES = [
  ["extension", "Extension"],
  ["group", "Ring group"],
  ["voicemail", "Voicemail"],
];

function option(value, label, selected) {
  return h("option", { value, selected: !!selected }, label);
}

// The choices for a target type: users' extensions, or the groups'.
function targets(type, users, groups) {
  if (type === "group") return groups.map((g) => [g.extension, `${g.extension} ${g.name}`]);
  return users.map((u) => [u.extension, `${u.extension} ${u.display_name}`]);
}

function numberForm(ctx, trunks, users, groups, done) {
  const trunk = h("select", { name: "trunk_id", id: "inbound-trunk" }, trunks.map((x) => option(String(x.id), x.name)));
  const number = h("input", { name: "number", id: "inbound-number", required: true, maxlength: 64, placeholder: "+49 30 1234567" });
  const rangeEnd = h("input", { name: "range_end", id: "inbound-range-end", maxlength: 64 });
  const type = h("select", { name: "target_type", id: "inbound-type" }, TYPES.map(([v, l]) => option(v, t(l))));
  const target = h("select", { name: "target", id: "inbound-target" });
  const fill = () => replace(target, ...targets(type.value, users, groups).map(([v, l]) => option(v, l)));
  type.addEventListener("change", fill);
  fill();
  const err = h("p.error", { role: "alert" });
  const dlg = ctx.dialog(
    t("New inbound number"),
    h(
      "form.inbound-form",
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = {
            trunk_id: Number(trunk.value),
            number: number.value.trim(),
            range_end: rangeEnd.value.trim(),
            target_type: type.value,
            target: target.value || "",
          };
          try {
            const res = await ctx.api.post("inbound-numbers", body);
            dlg.close();
            done();
            ctx.notice(t("{u} saved.", { u: res.number }));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Trunk"), trunk),
      field(t("Number"), number, t("As you write it: +49 30 1234567, 030 1234567 or 1234567 (with the area code of the numbering).")),
      field(t("Last number of a block"), rangeEnd, t("Empty for one number; else the block's last number, with as many digits.")),
      field(t("Destination"), type),
      field(t("Target"), target),
      err,
      h("button", { type: "submit", id: "inbound-save" }, t("Add number"))
    )
  );
  number.focus();
}

// The Trunks page's section of inbound numbers: {el, refresh}; refresh
// also follows changes of the trunks (names, a deleted trunk's numbers).
export function inboundNumbers(ctx) {
  const { api } = ctx;
  const list = h("div", { id: "inbound-list" });
  let trunks = [], users = [], groups = [];
  async function refresh() {
    [trunks, users, groups] = await Promise.all([
      api.get("trunks").then((d) => d.trunks),
      api.get("users").then((d) => d.users),
      api.get("groups").then((d) => d.groups),
    ]);
    const trunkName = (id) => (trunks.find((x) => x.id === id) || { name: String(id) }).name;
    const typeName = (ty) => t((TYPES.find(([v]) => v === ty) || [ty, ty])[1]);
    const nums = (await api.get("inbound-numbers")).numbers;
    replace(
      list,
      table(
        [t("Number"), t("Trunk"), t("Destination"), t("Actions")],
        nums.map((n) => [
          h("strong", n.range_end ? `${n.number} – ${n.range_end}` : n.number),
          trunkName(n.trunk_id),
          `${typeName(n.target_type)} ${n.target}`,
          h("div.actions", deleteButton(ctx, n.number, t("Delete the inbound number {u}?", { u: n.number }), `inbound-numbers/${n.id}`, t("{u} deleted.", { u: n.number }), refresh)),
        ]),
        t("No inbound numbers yet.")
      )
    );
  }
  const add = h("button", {
    type: "button",
    id: "new-inbound",
    onclick: () => {
      if (!trunks.length) ctx.notice(t("Create a trunk first."), "error");
      else numberForm(ctx, trunks, users, groups, refresh);
    },
  }, t("New inbound number"));
  const el = h(
    "section.card",
    { id: "inbound" },
    h("div.head", h("h2", t("Inbound numbers")), add),
    h("p", t("Calls to a number of a trunk go to its destination; numbers that none names go to the trunk's default destination.")),
    list
  );
  return { el, refresh };
}

// The phone system's Outbound page: the outbound routes in order (which
// dialled numbers leave over which trunks: dial patterns, strip, prepend;
// GET/POST /outbound-routes, PUT/DELETE /outbound-routes/<id>, PUT
// /outbound-routes/order) and the numbering (country and area code, the
// prefixes, emergency and premium numbers; GET/PUT /numbering), docs/api.md.

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, deleteButton } from "../common/shell.js";

const list = (s) => s.split(/[\s,]+/).filter((x) => x);

function routeForm(ctx, route, done) {
  const editing = !!route;
  const name = h("input", { name: "name", required: true, maxlength: 100, value: route ? route.name : "" });
  const patterns = h("input", { name: "patterns", id: "route-patterns", required: true, value: route ? route.patterns.join(" ") : "0." });
  const strip = h("input", { type: "number", name: "strip", min: 0, max: 20, value: route ? route.strip : 0 });
  const prepend = h("input", { name: "prepend", maxlength: 16, value: route ? route.prepend : "" });
  const trunks = h("input", { name: "trunks", id: "route-trunks", value: route ? route.trunks.join(" ") : "" });
  const err = h("p.error", { role: "alert" });
  const dlg = ctx.dialog(
    editing ? t("Edit {u}", { u: route.name }) : t("New outbound route"),
    h(
      "form.route-form",
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = {
            name: name.value,
            patterns: list(patterns.value),
            strip: Number(strip.value),
            prepend: prepend.value.trim(),
            trunks: list(trunks.value).map(Number),
          };
          try {
            const res = editing ? await ctx.api.put(`outbound-routes/${route.id}`, body) : await ctx.api.post("outbound-routes", body);
            dlg.close();
            done();
            ctx.notice(t("{u} saved.", { u: res.name }));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Name"), name),
      field(t("Dial patterns"), patterns, t("Separated by spaces: digits * # + themselves, X any digit, Z 1–9, N 2–9, [1-5] a set, a final . one or more characters (e.g. 0. or +.).")),
      field(t("Strip"), strip, t("How many leading characters are removed (e.g. the exit prefix 0).")),
      field(t("Prepend"), prepend, t("Put in front after stripping.")),
      field(t("Trunks"), trunks, t("Trunk ids separated by spaces, tried in this order.")),
      err,
      h("button", { type: "submit", id: "route-save" }, editing ? t("Save") : t("Create route"))
    )
  );
  name.focus();
}

async function numberingCard(ctx) {
  const n = await ctx.api.get("numbering");
  const inp = (k, max) => h("input", { name: k, id: `num-${k}`, inputmode: "numeric", maxlength: max, value: n[k] });
  const cc = inp("country_code", 3), area = inp("area_code", 6);
  const intl = inp("international_prefix", 4), natl = inp("national_prefix", 4);
  const emerg = h("input", { name: "emergency", id: "num-emergency", value: n.emergency.join(" ") });
  const prem = h("input", { name: "premium", id: "num-premium", value: n.premium.join(" ") });
  const err = h("p.error", { role: "alert" });
  return h(
    "form.card",
    {
      id: "numbering-form",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        try {
          await ctx.api.put("numbering", {
            country_code: cc.value.trim(), area_code: area.value.trim(),
            international_prefix: intl.value.trim(), national_prefix: natl.value.trim(),
            emergency: list(emerg.value), premium: list(prem.value),
          });
          ctx.notice(t("Settings saved."));
        } catch (x) {
          err.textContent = x.message;
        }
      },
    },
    h("h2", t("Numbering")),
    field(t("Country code"), cc, t("Without +, e.g. 49.")),
    field(t("Area code"), area, t("Without the national prefix, e.g. 30.")),
    field(t("International prefix"), intl),
    field(t("National prefix"), natl),
    field(t("Emergency numbers"), emerg, t("110 and 112 are always emergency numbers; they are allowed to everyone.")),
    field(t("Premium prefixes"), prem, t("Numbers starting with these need the class premium.")),
    err,
    h("button", { type: "submit", id: "numbering-save" }, t("Save"))
  );
}

export async function outbound(view, ctx) {
  const { api } = ctx;
  const box = h("div", { id: "route-list" });
  async function refresh() {
    const rs = (await api.get("outbound-routes")).routes;
    const move = async (i, d) => {
      const ids = rs.map((r) => r.id);
      [ids[i], ids[i + d]] = [ids[i + d], ids[i]];
      try {
        await api.put("outbound-routes/order", { order: ids });
      } catch (e) {
        ctx.notice(e.message, "error");
      }
      refresh();
    };
    replace(
      box,
      table(
        [t("Order"), t("Name"), t("Dial patterns"), t("Strip"), t("Prepend"), t("Trunks"), t("Actions")],
        rs.map((r, i) => [
          String(i + 1),
          h("strong", r.name),
          h("code", r.patterns.join(" ")),
          String(r.strip),
          r.prepend || "–",
          r.trunks.join(", ") || "–",
          h(
            "div.actions",
            h("button.secondary", { type: "button", disabled: i === 0, onclick: () => move(i, -1) }, "↑"),
            h("button.secondary", { type: "button", disabled: i === rs.length - 1, onclick: () => move(i, 1) }, "↓"),
            h("button.secondary", { type: "button", "data-edit": r.id, onclick: () => routeForm(ctx, r, refresh) }, t("Edit")),
            deleteButton(ctx, r.id, t("Delete the outbound route {u}?", { u: r.name }), `outbound-routes/${r.id}`, "", refresh)
          ),
        ]),
        t("No outbound routes yet.")
      )
    );
  }
  replace(
    view,
    h("div.head", h("h1", t("Outbound")), h("button", { type: "button", id: "new-route", onclick: () => routeForm(ctx, null, refresh) }, t("New outbound route"))),
    h("p", t("A dialled number leaves over the trunks of the first route with a matching pattern.")),
    box,
    await numberingCard(ctx)
  );
  await refresh();
}

// The phonebook, a section of the Trunks page (trunks.js; the
// navigation has no room for one more page at 1280 px in German): names for numbers (shown for
// inbound callers), searched by name or number; adding and deleting
// entries (GET /phonebook?q=, POST /phonebook, DELETE /phonebook/<id>,
// docs/api.md). The number is kept as typed; the E.164 form the server
// derives is what callers are matched by.

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, deleteButton } from "../common/shell.js";

function entryForm(ctx, done) {
  const name = h("input", { name: "name", id: "pb-name", required: true, maxlength: 128 });
  const number = h("input", { name: "number", id: "pb-number", required: true, maxlength: 32, placeholder: "030 1234567" });
  const err = h("p.error", { role: "alert" });
  const dlg = ctx.dialog(
    t("New phonebook entry"),
    h(
      "form.pb-form",
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          try {
            const res = await ctx.api.post("phonebook", { name: name.value.trim(), number: number.value.trim() });
            dlg.close();
            done();
            ctx.notice(t("{u} saved.", { u: res.name }));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Name"), name),
      field(t("Number"), number, t("As you write it; callers are matched by its international form.")),
      err,
      h("button", { type: "submit", id: "pb-save" }, t("Add entry"))
    )
  );
  name.focus();
}

// {el, refresh}
export function phonebookSection(ctx) {
  const { api } = ctx;
  const list = h("div", { id: "pb-list" });
  const q = h("input", { type: "search", id: "pb-search", maxlength: 64, "aria-label": t("Search"), placeholder: t("Search by name or number") });
  let shown = 0; // answers of older searches are dropped
  async function refresh() {
    const mine = ++shown;
    const query = q.value.trim();
    const data = await api.get(query ? `phonebook?q=${encodeURIComponent(query)}` : "phonebook");
    if (mine !== shown) return;
    replace(
      list,
      table(
        [t("Name"), t("Number"), t("International form"), t("Actions")],
        data.entries.map((x) => [
          h("strong", x.name),
          x.number,
          x.e164 || "–",
          h("div.actions", deleteButton(ctx, x.name, t("Delete {u} from the phonebook?", { u: x.name }), `phonebook/${x.id}`, t("{u} deleted.", { u: x.name }), refresh)),
        ]),
        query ? t("Nothing found.") : t("The phonebook is empty.")
      )
    );
  }
  q.addEventListener("input", () => refresh().catch((e) => ctx.notice(e.message, "error")));
  const el = h(
    "section.card",
    { id: "phonebook" },
    h("div.head", h("h2", t("Phonebook")), h("button", { type: "button", id: "new-pb", onclick: () => entryForm(ctx, refresh) }, t("New phonebook entry"))),
    h("p", t("Inbound callers whose number is here are shown with its name. At most 200 entries are listed: search to find the others.")),
    q,
    list
  );
  return { el, refresh };
}

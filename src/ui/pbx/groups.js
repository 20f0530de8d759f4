// The phone system's Ring groups page: the list of groups (teams) with
// their extension, strategy and members; creating and editing a group —
// its strategy, timeout, fallback, and its members in order with their
// ring time and whether they are logged in (GET/POST /groups, PUT/DELETE
// /groups/<id>, docs/api.md). Members log in and out from their phones
// with *45<group> and *46<group>.

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, deleteButton } from "../common/shell.js";

const STRATEGIES = ["ringall", "order", "roundrobin", "longest_idle"];
const FALLBACKS = ["none", "extension", "group", "voicemail"];

function strategyName(s) {
  return t(`strategy_${s}`);
}

function groupForm(ctx, group, users, done) {
  const editing = !!group;
  const name = h("input", { name: "name", required: true, maxlength: 100, value: group ? group.name : "" });
  const ext = h("input", { name: "extension", required: true, inputmode: "numeric", pattern: "[0-9]{1,15}", value: group ? group.extension : "" });
  const strategy = h("select", { name: "strategy", id: "group-strategy" },
    STRATEGIES.map((s) => h("option", { value: s, selected: group ? group.strategy === s : s === "ringall" }, strategyName(s))));
  const timeout = h("input", { type: "number", name: "timeout", min: 5, max: 600, value: group ? group.timeout : 60 });
  const fbType = h("select", { name: "fallback_type", id: "group-fallback-type" },
    FALLBACKS.map((f) => h("option", { value: f, selected: (group ? group.fallback_type : "none") === f }, t(`fallback_${f}`))));
  const fbTarget = h("input", { name: "fallback_target", inputmode: "numeric", value: group ? group.fallback_target : "" });
  // the members in order: one row each, with ring time and login
  const rows = h("div.members", { id: "group-members" });
  let members = group ? group.members.map((m) => ({ ...m })) : [];
  const userName = (id) => {
    const u = users.find((x) => x.id === id);
    return u ? `${u.extension} ${u.display_name}` : String(id);
  };
  const add = h("select", { id: "group-add-member", "aria-label": t("Add a member") },
    h("option", { value: "" }, t("Add a member…")),
    users.map((u) => h("option", { value: u.id }, `${u.extension} ${u.display_name}`)));
  add.addEventListener("change", () => {
    const id = Number(add.value);
    add.value = "";
    if (!id || members.some((m) => m.user_id === id)) return;
    members.push({ user_id: id, ring_time: 20, logged_in: true });
    draw();
  });
  function draw() {
    replace(
      rows,
      members.length
        ? members.map((m, i) =>
            h(
              "div.member-row",
              { "data-member": m.user_id },
              h("span", `${i + 1}. ${userName(m.user_id)}`),
              h("label", t("Ring time (s)"), h("input", {
                type: "number", min: 5, max: 300, value: m.ring_time, "data-ring-time": m.user_id,
                oninput: (e) => (m.ring_time = Number(e.target.value)),
              })),
              h("label.check", h("input", {
                type: "checkbox", checked: m.logged_in, "data-logged-in": m.user_id,
                onchange: (e) => (m.logged_in = e.target.checked),
              }), h("span", t("Logged in"))),
              h("button.secondary", { type: "button", disabled: i === 0, onclick: () => { [members[i - 1], members[i]] = [members[i], members[i - 1]]; draw(); } }, "↑"),
              h("button.danger", { type: "button", "data-remove": m.user_id, onclick: () => { members.splice(i, 1); draw(); } }, t("Remove"))
            ))
        : h("p.hint", t("No members yet."))
    );
  }
  draw();
  const err = h("p.error", { role: "alert" });
  const dlg = ctx.dialog(
    editing ? t("Edit {u}", { u: group.name }) : t("New ring group"),
    h(
      "form.group-form",
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = {
            name: name.value,
            extension: ext.value,
            strategy: strategy.value,
            timeout: Number(timeout.value),
            fallback_type: fbType.value,
            fallback_target: fbType.value === "none" ? "" : fbTarget.value,
            members: members.map((m) => ({ user_id: m.user_id, ring_time: m.ring_time, logged_in: m.logged_in })),
          };
          try {
            const res = editing ? await ctx.api.put(`groups/${group.id}`, body) : await ctx.api.post("groups", body);
            dlg.close();
            done();
            ctx.notice(t("{u} saved.", { u: res.name }));
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      field(t("Name"), name),
      field(t("Extension"), ext, t("1–15 digits; not a user's extension.")),
      field(t("Strategy"), strategy, t("All at once, in order, round robin (starting after the member tried last) or the member idle longest first.")),
      field(t("Timeout (s)"), timeout, t("How long the group rings in all before the fallback.")),
      field(t("When nobody answers"), fbType),
      field(t("Fallback number"), fbTarget, t("An extension, a group's extension, or the user whose voicemail takes the call.")),
      h("h3", t("Members")),
      rows,
      add,
      err,
      h("button", { type: "submit", id: "group-save" }, editing ? t("Save") : t("Create group"))
    )
  );
  name.focus();
}

export async function groups(view, ctx) {
  const { api } = ctx;
  const list = h("div", { id: "group-list" });
  let users = [];
  async function refresh() {
    users = (await api.get("users")).users;
    const data = await api.get("groups");
    replace(
      list,
      table(
        [t("Extension"), t("Name"), t("Strategy"), t("Members"), t("Actions")],
        data.groups.map((g) => [
          h("strong", g.extension),
          g.name,
          strategyName(g.strategy),
          g.members.map((m) => `${m.extension}${m.logged_in ? "" : ` (${t("logged out")})`}`).join(", ") || "–",
          h(
            "div.actions",
            h("button.secondary", { type: "button", "data-edit": g.extension, onclick: () => groupForm(ctx, g, users, refresh) }, t("Edit")),
            deleteButton(ctx, g.extension, t("Delete the ring group {u} ({e})?", { u: g.name, e: g.extension }), `groups/${g.id}`, t("{u} deleted.", { u: g.name }), refresh)
          ),
        ]),
        t("No ring groups yet.")
      )
    );
  }
  replace(
    view,
    h("div.head", h("h1", t("Ring groups")), h("button", { type: "button", id: "new-group", onclick: () => groupForm(ctx, null, users, refresh) }, t("New ring group"))),
    h("p", t("A ring group rings its members by its strategy. Members log in with *45 and out with *46 followed by the group's extension.")),
    list
  );
  await refresh();
}

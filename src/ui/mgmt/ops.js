// Management's operations pages: backups (make, download, upload, restore,
// delete, daily schedule), system update (upload or check, trusted keys,
// source), the server log followed live, and SIP traces. Same API as
// docs/api.md.

import { h, replace, bytes } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, field, badge, when } from "../common/shell.js";
import { dateTime } from "../common/format.js";

// A log line's time (ISO 8601 from the server) as every date is shown.
function logTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime(d);
}

async function phoneSystemNames(api) {
  return (await api.get("phone-systems")).phone_systems.map((p) => p.name);
}

export async function backups(view, ctx) {
  const { api } = ctx;
  const names = await phoneSystemNames(api);
  const scope = h("select", { id: "backup-scope" }, h("option", { value: "" }, t("Whole server")), names.map((n) => h("option", { value: n }, n)));
  const pass = h("input", { type: "password", id: "backup-pass", autocomplete: "new-password", placeholder: t("optional") });
  const err = h("p.error", { role: "alert" });
  const list = h("div", { id: "backup-list" });
  const file = h("input", { type: "file", id: "backup-file", accept: ".gz,.enc" });

  async function refresh() {
    const b = (await api.get("backups")).backups;
    replace(
      list,
      table(
        [t("Created"), t("Contents"), t("Size"), "", t("Actions")],
        b.map((x) => [
          when(x.created),
          x.kind === "server" ? t("Whole server") : x.phone_system || t(x.kind || "invalid"),
          bytes(x.size),
          h("span", x.encrypted ? badge("encrypted") : null, " ", x.scheduled ? badge("scheduled") : null),
          h(
            "div.actions",
            h("a.button.secondary", { href: api.url(`backups/${x.id}/archive`), download: "", "data-download": x.id }, t("Download")),
            h("button.secondary", { type: "button", "data-restore": x.id, onclick: () => restoreDialog(x) }, t("Restore")),
            h("button.danger", {
              type: "button",
              "data-delete": x.id,
              onclick: async () => {
                if (!(await ctx.confirm(t("Delete this backup?"), t("Delete")))) return;
                await api.del(`backups/${x.id}`).catch((e) => ctx.notice(e.message, "error"));
                refresh();
              },
            }, t("Delete"))
          ),
        ]),
        t("No backups yet.")
      )
    );
  }

  function restoreDialog(x) {
    const target = h("input", { id: "restore-target", value: x.phone_system || "", required: true });
    const pw = h("input", { type: "password", id: "restore-pass", autocomplete: "off" });
    const e2 = h("p.error", { role: "alert" });
    const go = h("button", { type: "button", id: "restore-go" }, t("Restore"));
    const dlg = ctx.dialog(
      t("Restore a backup"),
      h("p", t("The phone system is stopped, its data replaced by the backup's, and started. Another name makes a copy.")),
      field(t("Phone system"), target),
      x.encrypted ? field(t("Passphrase"), pw) : null,
      e2,
      go
    );
    go.addEventListener("click", async () => {
      e2.textContent = "";
      go.disabled = true;
      go.textContent = t("Restoring…");
      try {
        const body = { phone_system: target.value };
        if (x.encrypted) body.passphrase = pw.value;
        await api.post(`backups/${x.id}/restore`, body);
        dlg.close();
        ctx.notice(t("{n} restored.", { n: target.value }));
      } catch (e) {
        e2.textContent = e.message;
      } finally {
        go.disabled = false;
        go.textContent = t("Restore");
      }
    });
  }

  const sched = await api.get("backups/schedule");
  const sEnabled = h("input", { type: "checkbox", id: "sched-enabled", checked: sched.enabled });
  const sTime = h("input", { type: "time", id: "sched-time", value: sched.time });
  const sKeep = h("input", { type: "number", id: "sched-keep", min: 1, max: 365, value: sched.keep });
  const sScope = h("select", { id: "sched-scope" }, h("option", { value: "" }, t("Whole server")), names.map((n) => h("option", { value: n, selected: n === sched.phone_system }, n)));
  const sErr = h("p.error", { role: "alert" });

  replace(
    view,
    h("h1", t("Backups")),
    h(
      "form.card",
      {
        id: "backup-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          // voicemail and recordings go in whenever there are any
          const body = { media: true };
          if (scope.value) body.phone_system = scope.value;
          if (pass.value) body.passphrase = pass.value;
          try {
            await api.post("backups", body);
            pass.value = "";
            ctx.notice(t("Backup made."));
            refresh();
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      h("h2", t("Make a backup")),
      h("div.row", field(t("Of"), scope), field(t("Passphrase"), pass, t("With a passphrase the backup is encrypted; it cannot be restored without it."))),
      h("p.hint", { id: "backup-media-note" }, t("A backup holds the phone systems' users, devices, call history and settings. Zentrale records no voicemail or calls yet; once it does, they are included.")),
      err,
      h("button", { type: "submit" }, t("Back up now"))
    ),
    h("div.head", h("h2", t("Backups on this server")), h("label.button.secondary.upload", t("Upload a backup"), file)),
    list,
    h(
      "form.card",
      {
        id: "schedule-form",
        onsubmit: async (e) => {
          e.preventDefault();
          sErr.textContent = "";
          try {
            await api.put("backups/schedule", { enabled: sEnabled.checked, time: sTime.value, keep: +sKeep.value, phone_system: sScope.value || null, media: true });
            ctx.notice(t("Schedule saved."));
          } catch (x) {
            sErr.textContent = x.message;
          }
        },
      },
      h("h2", t("Daily backup")),
      h("label.check", sEnabled, h("span", t("Make a backup every day"))),
      h("div.row", field(t("At (server time)"), sTime), field(t("Of"), sScope), field(t("Keep the newest"), sKeep)),
      sErr,
      h("button", { type: "submit" }, t("Save"))
    )
  );
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    try {
      await api.upload("backups/upload", file.files[0]);
      ctx.notice(t("Backup uploaded."));
    } catch (e) {
      ctx.notice(e.message, "error");
    }
    file.value = "";
    refresh();
  });
  await refresh();
}

export async function update(view, ctx) {
  const { api } = ctx;
  const u = await api.get("update");
  const s = await api.get("update/settings");
  const keys = h("textarea", { id: "update-keys", rows: 3 }, s.trusted_keys.join("\n"));
  const source = h("input", { id: "update-source", value: s.source, placeholder: "https://… or /directory" });
  const timeout = h("input", { type: "number", id: "update-timeout", min: 5, max: 600, value: s.health_timeout });
  const file = h("input", { type: "file", id: "update-file", accept: ".bundle" });
  const force = h("input", { type: "checkbox", id: "update-force" });
  const err = h("p.error", { role: "alert", id: "update-error" });
  const err2 = h("p.error", { role: "alert" });

  async function afterStart(res) {
    ctx.notice(t("Updating from {a} to {b}: the server restarts.", { a: res.from, b: res.to }));
    // the server restarts: wait for it, then show the result
    for (let i = 0; i < 120; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        const now = await api.get("update");
        if (!now.pending && now.last && now.last.to === res.to) {
          ctx.notice(now.last.result === "updated" ? t("Now running {v}.", { v: now.version }) : t("The update was rolled back; {v} runs.", { v: now.version }), now.last.result === "updated" ? "ok" : "error");
          ctx.rerender();
          return;
        }
      } catch (e) {
        /* restarting */
      }
    }
  }

  replace(
    view,
    h("h1", t("System update")),
    h(
      "section.card",
      { id: "update-status" },
      h("dl.facts", [
        [h("dt", t("Running version")), h("dd", h("strong", u.version))],
        [h("dt", t("Releases on this server")), h("dd", u.releases.join(", ") || "–")],
        [h("dt", t("Last update")), h("dd", u.last ? `${u.last.from} → ${u.last.to}: ${t(u.last.result)} (${when(u.last.time)})` : "–")],
      ]),
      h("label.button", t("Install a bundle…"), file),
      h("label.check", force, h("span", t("Also when it is not newer"))),
      h("button.secondary", {
        type: "button",
        id: "update-check",
        onclick: async () => {
          err.textContent = "";
          try {
            const r = await api.post("update/check", {});
            if (r.up_to_date) ctx.notice(t("{v} is up to date.", { v: r.version }));
            else afterStart(r);
          } catch (e) {
            err.textContent = e.message;
          }
        },
      }, t("Check the update source")),
      err
    ),
    h(
      "form.card",
      {
        id: "update-settings",
        onsubmit: async (e) => {
          e.preventDefault();
          err2.textContent = "";
          try {
            await api.put("update/settings", { trusted_keys: keys.value.split(/\s+/).filter(Boolean), source: source.value.trim(), health_timeout: +timeout.value });
            ctx.notice(t("Settings saved."));
          } catch (x) {
            err2.textContent = x.message;
          }
        },
      },
      h("h2", t("Update settings")),
      field(t("Trusted keys"), keys, t("Public keys (zentrale bundle-key), one per line: only bundles they signed are installed.")),
      field(t("Update source"), source, t("A directory on this server, or an https:// URL of a bundle.")),
      field(t("Seconds a new version has to become healthy"), timeout),
      err2,
      h("button", { type: "submit" }, t("Save"))
    )
  );
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    err.textContent = "";
    try {
      afterStart(await api.upload(force.checked ? "update?force=1" : "update", file.files[0]));
    } catch (e) {
      err.textContent = e.message;
    }
    file.value = "";
  });
}

export async function logs(view, ctx) {
  const { api } = ctx;
  const proc = h("select", { id: "log-process" }, h("option", { value: "" }, t("every process")), ["supervisor", "mgmt", "sbc", "ssh", "pbx"].map((p) => h("option", { value: p }, p)));
  const ps = h("input", { id: "log-ps", placeholder: t("phone system") });
  const level = h("select", { id: "log-level" }, ["debug", "info", "warn", "error"].map((l) => h("option", { value: l, selected: l === "info" }, l)));
  const out = h("div.log", { id: "log-lines", role: "log" });
  let gen = 0;

  function row(l) {
    return h(`div.line.${l.level}`, h("span.time", logTime(l.time)), " ", h("span.who", `${l.process}${l.phone_system ? ` ${l.phone_system}` : ""}`), " ", h("span.msg", l.message));
  }

  async function follow() {
    const mine = ++gen;
    const q = () => `process=${encodeURIComponent(proc.value)}&phone_system=${encodeURIComponent(ps.value.trim())}&level=${level.value}`;
    replace(out);
    let r = await api.get(`logs?lines=200&${q()}`);
    r.lines.forEach((l) => out.append(row(l)));
    out.scrollTop = out.scrollHeight;
    while (mine === gen && document.body.contains(out)) {
      try {
        r = await api.get(`logs?after=${r.offset}&wait=25&${q()}`);
      } catch (e) {
        await new Promise((res) => setTimeout(res, 2000));
        continue;
      }
      if (mine !== gen) return;
      const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 20;
      r.lines.forEach((l) => out.append(row(l)));
      while (out.childNodes.length > 2000) out.firstChild.remove();
      if (atEnd) out.scrollTop = out.scrollHeight;
    }
  }
  for (const el of [proc, level]) el.addEventListener("change", follow);
  ps.addEventListener("change", follow);
  replace(view, h("div.head", h("h1", t("Server log")), h("small.updated", t("live"))), h("div.row.filters", field(t("Process"), proc), field(t("Phone system"), ps), field(t("At least"), level)), out);
  follow();
}

export async function traces(view, ctx) {
  const { api } = ctx;
  const names = await phoneSystemNames(api);
  const ps = h("select", { id: "trace-ps" }, names.map((n) => h("option", { value: n }, n)));
  const user = h("input", { id: "trace-user", placeholder: t("optional") });
  const secs = h("input", { type: "number", id: "trace-seconds", min: 1, max: 3600, value: 300 });
  const err = h("p.error", { role: "alert" });
  const list = h("div", { id: "trace-list" });

  async function refresh() {
    const tr = (await api.get("traces")).traces;
    replace(
      list,
      table(
        [t("Started"), t("Phone system"), t("User"), t("Size"), t("State"), t("Actions")],
        tr.map((x) => [
          when(x.started),
          x.phone_system,
          x.user || t("everyone"),
          bytes(x.bytes),
          badge(x.capturing ? "capturing" : "done"),
          h(
            "div.actions",
            h("a.button.secondary", { href: api.url(`traces/${x.id}/pcap`), download: "", "data-pcap": x.id }, t("Download")),
            x.capturing ? h("button.secondary", { type: "button", "data-stop": x.id, onclick: () => api.post(`traces/${x.id}/stop`).then(refresh, (e) => ctx.notice(e.message, "error")) }, t("Stop")) : null,
            h("button.danger", { type: "button", "data-delete": x.id, onclick: () => api.del(`traces/${x.id}`).then(refresh, (e) => ctx.notice(e.message, "error")) }, t("Delete"))
          ),
        ]),
        t("No SIP traces.")
      )
    );
  }

  replace(
    view,
    h("h1", t("SIP traces")),
    h(
      "form.card",
      {
        id: "trace-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          const body = { phone_system: ps.value, seconds: +secs.value };
          if (user.value.trim()) body.user = user.value.trim();
          try {
            await api.post("traces", body);
            refresh();
          } catch (x) {
            err.textContent = x.message;
          }
        },
      },
      h("p", t("The SBC writes the SIP it exchanges with the phones of a phone system, decrypted, and the headers of their RTP into a pcap file for Wireshark.")),
      h("div.row", field(t("Phone system"), ps), field(t("User"), user, t("Only what names this SIP user, and its calls.")), field(t("For seconds"), secs)),
      err,
      h("button", { type: "submit", disabled: !names.length }, t("Start a trace"))
    ),
    list
  );
  ctx.every(3000, () => refresh().catch(() => {}));
}

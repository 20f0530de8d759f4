// Voicemail in a phone system's UI: per user the messages (played in the
// browser, downloaded, marked heard, deleted), the mailbox's settings (on
// or off, PIN, limits, email, ring time, do not disturb) and the greeting;
// and, for the Settings page, the SMTP relay new messages are mailed
// through. API: /voicemail/<user-id>/... (a user's own: /me/voicemail) and
// /smtp (docs/api.md).

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { callDuration } from "../common/format.js";
import { table, field, badge, when } from "../common/shell.js";

// A file as the body of a PUT (the greeting), answered as JSON.
async function putFile(api, path, file) {
  const headers = { Accept: "application/json", "Content-Type": "application/octet-stream" };
  if (api.csrf) headers["X-CSRF-Token"] = api.csrf;
  const res = await fetch(api.url(path), { method: "PUT", headers, body: file, credentials: "same-origin" });
  return api.answer(res, path);
}

// Where a mailbox's API is: the administrator's /voicemail/<id>, or a
// user's own /me/voicemail (user.vmPath).
function vmPath(user) {
  return user.vmPath || `voicemail/${user.id}`;
}

function num(input) {
  return input.value === "" ? undefined : Number(input.value);
}

function messagesCard(ctx, user) {
  const { api } = ctx;
  const list = h("div", { id: "vm-messages" });
  const counts = h("p", { id: "vm-counts" });
  const player = h("audio", { controls: true, preload: "none", id: "vm-player", hidden: true });
  async function refresh() {
    const data = await api.get(`${vmPath(user)}`);
    counts.textContent = t("{n} new, {o} old", { n: data.new, o: data.old });
    replace(
      list,
      table(
        [t("Received"), t("From"), t("Length"), t("State"), t("Actions")],
        data.messages.map((m) => {
          const wav = api.url(`${vmPath(user)}/${m.id}.wav`);
          return [
            when(m.received),
            h("span", h("strong", m.caller || "–"), m.caller_name ? ` ${m.caller_name}` : ""),
            callDuration(Math.round(m.duration_ms / 1000)),
            badge(m.heard ? "heard" : "new"),
            h(
              "div.actions",
              h("button.secondary", {
                type: "button",
                "data-play": m.id,
                onclick: () => {
                  player.hidden = false;
                  player.src = wav;
                  player.play().catch(() => {});
                  if (!m.heard) api.patch(`${vmPath(user)}/${m.id}`, { heard: true }).then(refresh, () => {});
                },
              }, t("Play")),
              h("a.button.secondary", { href: wav, download: `voicemail-${user.extension}-${m.id}.wav`, "data-download": m.id }, t("Download")),
              h("button.secondary", {
                type: "button",
                "data-heard": m.id,
                onclick: async () => {
                  try {
                    await api.patch(`${vmPath(user)}/${m.id}`, { heard: !m.heard });
                  } catch (e) {
                    ctx.notice(e.message, "error");
                  }
                  refresh();
                },
              }, m.heard ? t("Mark as new") : t("Mark as heard")),
              h("button.danger", {
                type: "button",
                "data-delete-message": m.id,
                onclick: async () => {
                  if (!(await ctx.confirm(t("Delete this message from {c}?", { c: m.caller || "–" }), t("Delete")))) return;
                  try {
                    await api.del(`${vmPath(user)}/${m.id}`);
                  } catch (e) {
                    ctx.notice(e.message, "error");
                  }
                  refresh();
                },
              }, t("Delete"))
            ),
          ];
        }),
        t("No messages.")
      )
    );
  }
  return { node: h("section.card", { id: "vm-messages-card" }, h("h2", t("Messages")), counts, player, list), refresh };
}

function settingsCard(ctx, user) {
  const { api } = ctx;
  const enabled = h("input", { type: "checkbox", id: "vm-enabled" });
  const pin = h("input", { type: "password", id: "vm-pin", inputmode: "numeric", pattern: "[0-9]{4,10}", maxlength: 10, autocomplete: "new-password" });
  const clearPin = h("input", { type: "checkbox", id: "vm-clear-pin" });
  const maxSec = h("input", { type: "number", id: "vm-max-seconds", min: 10, max: 600 });
  const maxMsg = h("input", { type: "number", id: "vm-max-messages", min: 1, max: 1000 });
  const email = h("input", { type: "email", id: "vm-email", maxlength: 254 });
  const attach = h("input", { type: "checkbox", id: "vm-attach" });
  const ring = h("input", { type: "number", id: "vm-ring-time", min: 5, max: 300 });
  const dnd = h("input", { type: "checkbox", id: "vm-dnd" });
  const pinState = h("small", { id: "vm-pin-state" });
  const err = h("p.error", { role: "alert" });
  function show(s) {
    enabled.checked = s.enabled;
    maxSec.value = s.max_seconds;
    maxMsg.value = s.max_messages;
    email.value = s.email;
    attach.checked = s.email_attach;
    ring.value = s.ring_time;
    dnd.checked = s.dnd;
    pin.value = "";
    clearPin.checked = false;
    pin.placeholder = s.has_pin ? t("set — leave empty to keep it") : t("none");
    pinState.textContent = s.has_pin ? t("A PIN is set.") : t("No PIN: the mailbox is reached from the user's own phones only (*97).");
  }
  const form = h(
    "form.card",
    {
      id: "vm-settings",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const body = {
          enabled: enabled.checked,
          max_seconds: num(maxSec),
          max_messages: num(maxMsg),
          email: email.value.trim(),
          email_attach: attach.checked,
          ring_time: num(ring),
          dnd: dnd.checked,
        };
        if (clearPin.checked) body.pin = "";
        else if (pin.value) body.pin = pin.value;
        try {
          show(await api.put(`${vmPath(user)}/settings`, body));
          ctx.notice(t("Mailbox of {u} saved.", { u: user.display_name }));
        } catch (x) {
          err.textContent = x.message;
        }
      },
    },
    h("h2", t("Mailbox and call handling")),
    h("label.check", enabled, h("span", t("Voicemail on: unanswered calls go to the mailbox"))),
    field(t("Ring time (s)"), ring, t("5–300 s before an unanswered call goes to voicemail.")),
    h("label.check", dnd, h("span", t("Do not disturb: the user's phones do not ring (calls go to voicemail if it is on)"))),
    field(t("PIN"), pin, pinState),
    h("label.check", clearPin, h("span", t("Remove the PIN"))),
    field(t("Longest message (s)"), maxSec, t("10–600 s.")),
    field(t("Most messages"), maxMsg, t("1–1000; a full mailbox takes no more.")),
    field(t("Email new messages to"), email, t("Empty: no email. Needs the SMTP relay on the Settings page.")),
    h("label.check", attach, h("span", t("Attach the recording (WAV) to the email"))),
    err,
    h("button", { type: "submit", id: "vm-save" }, t("Save"))
  );
  return { node: form, load: async () => show(await api.get(`${vmPath(user)}/settings`)) };
}

function greetingCard(ctx, user) {
  const { api } = ctx;
  const state = h("p", { id: "vm-greeting-state" });
  const audio = h("audio", { controls: true, preload: "none", id: "vm-greeting-player", hidden: true });
  const file = h("input", { type: "file", id: "vm-greeting-file", accept: "audio/*,.wav,.mp3,.ogg" });
  const err = h("p.error", { role: "alert" });
  const remove = h("button.danger", {
    type: "button",
    id: "vm-greeting-delete",
    hidden: true,
    onclick: async () => {
      try {
        await api.del(`${vmPath(user)}/greeting`);
      } catch (e) {
        ctx.notice(e.message, "error");
      }
      load();
    },
  }, t("Remove the greeting"));
  async function load() {
    const url = api.url(`${vmPath(user)}/greeting`);
    const has = (await api.get(`${vmPath(user)}/settings`)).has_greeting;
    state.textContent = has ? t("The user's own greeting is played.") : t("No greeting of their own: callers hear the standard announcement with the extension.");
    audio.hidden = !has;
    remove.hidden = !has;
    if (has) audio.src = `${url}?v=${Date.now()}`;
  }
  const form = h(
    "form.card",
    {
      id: "vm-greeting",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        if (!file.files.length) {
          err.textContent = t("Choose a sound file first.");
          return;
        }
        try {
          const r = await putFile(api, `${vmPath(user)}/greeting`, file.files[0]);
          ctx.notice(t("Greeting saved ({s} s).", { s: (r.duration_ms / 1000).toFixed(1) }));
          file.value = "";
        } catch (x) {
          err.textContent = x.message;
        }
        load();
      },
    },
    h("h2", t("Greeting")),
    state,
    audio,
    field(t("Sound file"), file, t("WAV, MP3 or OGG, up to 120 s and 24 MB; converted for the phone system.")),
    err,
    h("div.actions", h("button", { type: "submit", id: "vm-greeting-save" }, t("Upload")), remove)
  );
  return { node: form, load };
}

export async function voicemail(view, ctx) {
  const { api } = ctx;
  const users = (await api.get("users")).users;
  const pick = h("select", { id: "vm-user", "aria-label": t("User") }, users.map((u) => h("option", { value: u.id }, `${u.extension} ${u.display_name}`)));
  const body = h("div", { id: "vm-user-view" });
  async function open() {
    const user = users.find((u) => String(u.id) === pick.value);
    if (!user) return;
    location.hash = `#/voicemail/${user.id}`;
    const msgs = messagesCard(ctx, user);
    const settings = settingsCard(ctx, user);
    const greeting = greetingCard(ctx, user);
    replace(body, msgs.node, settings.node, greeting.node);
    await Promise.all([msgs.refresh(), settings.load(), greeting.load()]);
  }
  pick.addEventListener("change", () => open().catch((e) => ctx.notice(e.message, "error")));
  if (!users.length) {
    replace(view, h("h1", t("Voicemail")), h("p.empty", t("No users yet. Create the first one.")));
    return;
  }
  const want = location.hash.replace(/^#\/?/, "").split("/")[1];
  if (want && users.some((u) => String(u.id) === want)) pick.value = want;
  replace(view, h("div.head", h("h1", t("Voicemail")), pick), body);
  await open();
}

// A user's own mailbox, in the user's view (their login).
export async function myVoicemail(view, ctx) {
  const me = await ctx.api.get("me");
  const user = { ...me, vmPath: "me/voicemail" };
  const msgs = messagesCard(ctx, user);
  const settings = settingsCard(ctx, user);
  const greeting = greetingCard(ctx, user);
  replace(view, h("h1", t("My voicemail")), msgs.node, settings.node, greeting.node);
  await Promise.all([msgs.refresh(), settings.load(), greeting.load()]);
}

// The SMTP relay (for the Settings page): the password is never shown,
// only whether one is set.
export async function smtpCard(ctx) {
  const { api } = ctx;
  const host = h("input", { id: "smtp-host", maxlength: 253, placeholder: "mail.example.com" });
  const port = h("input", { type: "number", id: "smtp-port", min: 1, max: 65535 });
  const security = h(
    "select",
    { id: "smtp-security" },
    h("option", { value: "starttls" }, t("STARTTLS (port 587)")),
    h("option", { value: "tls" }, t("TLS from the start (port 465)")),
    h("option", { value: "none" }, t("none (unencrypted)"))
  );
  const user = h("input", { id: "smtp-username", maxlength: 255, autocomplete: "off" });
  const pw = h("input", { type: "password", id: "smtp-password", maxlength: 255, autocomplete: "new-password" });
  const clearPw = h("input", { type: "checkbox", id: "smtp-clear-password" });
  const from = h("input", { type: "email", id: "smtp-from", maxlength: 254 });
  const verify = h("input", { type: "checkbox", id: "smtp-verify" });
  const pwState = h("small", { id: "smtp-password-state" });
  const err = h("p.error", { role: "alert" });
  function show(s) {
    host.value = s.host;
    port.value = s.port;
    security.value = s.security;
    user.value = s.username;
    pw.value = "";
    clearPw.checked = false;
    pw.placeholder = s.password_set ? t("set — leave empty to keep it") : t("none");
    pwState.textContent = s.password_set ? t("A password is set.") : t("No password set.");
    from.value = s.from;
    verify.checked = s.verify;
  }
  const form = h(
    "form.card",
    {
      id: "smtp-form",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const body = {
          host: host.value.trim(),
          port: num(port),
          security: security.value,
          username: user.value,
          from: from.value.trim(),
          verify: verify.checked,
        };
        if (clearPw.checked) body.password = "";
        else if (pw.value) body.password = pw.value;
        try {
          show(await api.put("smtp", body));
          ctx.notice(t("Settings saved."));
        } catch (x) {
          err.textContent = x.message;
        }
      },
    },
    h("h2", t("Email of voicemail (SMTP relay)")),
    h("p", t("New voicemail is mailed to a user's address through this relay. Leave the host empty to send no email.")),
    field(t("Host"), host),
    field(t("Port"), port),
    field(t("Encryption"), security),
    field(t("User name"), user, t("Empty if the relay needs no login.")),
    field(t("Password"), pw, pwState),
    h("label.check", clearPw, h("span", t("Remove the password"))),
    field(t("Sender address"), from, t("Empty: zentrale@ and the phone system's name.")),
    h("label.check", verify, h("span", t("Verify the relay's certificate (switch off only for a relay with a self-signed certificate)"))),
    err,
    h("button", { type: "submit", id: "smtp-save" }, t("Save"))
  );
  show(await api.get("smtp"));
  return form;
}

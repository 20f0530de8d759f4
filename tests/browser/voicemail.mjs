// Voicemail in a phone system's UI, in a real browser: a user's message
// (written into pbx.db by test_ui.py) is listed, played by the <audio>
// element from its .wav, marked heard and deleted; the mailbox settings
// are saved (PIN shown only as "set"), a wrong ring time is refused with
// the server's reason; on the Settings page the SMTP relay is saved with a
// password that never comes back into the page; and in German.
import { run, newPage, shot, env, noProblems, step, saved, assert } from "./lib.mjs";

const PS = env.ps;
env.userId = process.env.ZT_USER_ID;
env.msgId = process.env.ZT_MSG_ID;

await run(async (b) => {
  const ui = await newPage(b);

  await step("log in; the Voicemail page lists the user's message", async () => {
    await ui.goto(`${env.sbc}/${PS}/`);
    await ui.fill('input[name="password"]', env.psPassword);
    await ui.click('form.login button[type="submit"]');
    await ui.waitForSelector("header.top");
    // from the user's row on the users list
    await ui.click('[data-voicemail="301"]');
    await ui.waitForSelector("[data-play]");
    assert.equal(await ui.evaluate(() => location.hash), `#/voicemail/${env.userId}`);
    const text = await ui.textContent("#vm-messages-card");
    assert.ok(text.includes("1 new, 0 old") && text.includes("Desk 301") && text.includes("new"), text);
  });

  await step("played in the browser from its .wav; playing marks it heard", async () => {
    await saved(ui, "[data-play]", { method: "PATCH", path: `voicemail/${env.userId}/${env.msgId}` });
    await ui.waitForFunction(() => {
      const a = document.querySelector("#vm-player");
      return a && !a.hidden && a.readyState >= 1 && a.duration > 0.4 && a.duration < 0.6;
    });
    await ui.waitForSelector("#vm-counts:has-text('0 new, 1 old')");
    const href = await ui.getAttribute("[data-download]", "href");
    assert.ok(href.endsWith(`/voicemail/${env.userId}/${env.msgId}.wav`), href);
    await shot(ui, "voicemail");
  });

  await step("marked new again, then deleted", async () => {
    await saved(ui, "[data-heard]", { method: "PATCH", path: `voicemail/${env.userId}/${env.msgId}` });
    await ui.waitForSelector("#vm-counts:has-text('1 new, 0 old')");
    await ui.click("[data-delete-message]");
    await saved(ui, "dialog[open] button.danger", { method: "DELETE", path: `voicemail/${env.userId}/${env.msgId}` });
    await ui.waitForSelector("#vm-messages-card :text('No messages.')");
  });

  await step("mailbox settings: saved, the PIN only as set; a wrong ring time refused", async () => {
    await ui.fill("#vm-ring-time", "40");
    await ui.fill("#vm-pin", "4711");
    await ui.fill("#vm-email", "desk301@example.com");
    await ui.check("#vm-dnd");
    await saved(ui, "#vm-save", { path: `voicemail/${env.userId}/settings`, notice: "saved" });
    await ui.reload();
    await ui.waitForSelector("#vm-pin-state:has-text('A PIN is set.')");
    assert.equal(await ui.inputValue("#vm-pin"), "");
    assert.equal(await ui.inputValue("#vm-ring-time"), "40");
    assert.equal(await ui.inputValue("#vm-email"), "desk301@example.com");
    assert.ok(await ui.isChecked("#vm-dnd"));
    await ui.fill("#vm-ring-time", "3");
    ui.expectErrors = true; // the 400 shows in the console
    await ui.click("#vm-save");
    await ui.waitForSelector("#vm-settings .error:has-text('ring_time')");
    ui.expectErrors = false;
  });

  await step("Settings: the SMTP relay, its password never shown", async () => {
    await ui.goto(`${env.sbc}/${PS}/#/settings`);
    await ui.waitForSelector("#smtp-form");
    await ui.fill("#smtp-host", "mail.example.com");
    await ui.fill("#smtp-password", "relay-secret-pw");
    await ui.selectOption("#smtp-security", "tls");
    await ui.uncheck("#smtp-verify");
    await saved(ui, "#smtp-save", { path: "smtp", notice: "Settings saved." });
    await ui.reload();
    await ui.waitForSelector("#smtp-password-state:has-text('A password is set.')");
    assert.equal(await ui.inputValue("#smtp-password"), "");
    assert.equal(await ui.inputValue("#smtp-host"), "mail.example.com");
    assert.equal(await ui.inputValue("#smtp-security"), "tls");
    assert.equal(await ui.isChecked("#smtp-verify"), false);
    assert.ok(!(await ui.content()).includes("relay-secret-pw"));
  });

  await step("in German", async () => {
    await ui.evaluate(() => localStorage.setItem("zentrale-lang", "de"));
    await ui.goto(`${env.sbc}/${PS}/#/voicemail`);
    await ui.waitForSelector("#vm-settings");
    const text = await ui.textContent("main");
    assert.ok(text.includes("Nachrichten") && text.includes("Klingeldauer") && text.includes("Ansage"), text);
    await ui.evaluate(() => localStorage.setItem("zentrale-lang", "en"));
  });
  noProblems(ui);
});

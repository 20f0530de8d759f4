// A user's own login in a real browser (issue 17): the user logs in at
// https://server/<name>/ with their extension and own password, sees only
// their own pages (no Users, Registrations, Calls of everybody, Settings),
// changes their forwarding and do-not-disturb with the mouse (the API then
// shows it: test_user_login.py checks it as the administrator), and the
// administrator's API answers the page 403 whatever it asks, also for the
// other user's data; an admin page's address shows the user's own view.
// Then the administrator gives a user a login password in the user editor
// and sets another user's do-not-disturb in the Forwarding dialog.
import { run, newPage, shot, env, noProblems, step, saved, assert } from "./lib.mjs";

const PS = env.ps;
const EXT = process.env.ZT_USER_EXT;
const PW = process.env.ZT_USER_PW;
const OTHER = process.env.ZT_OTHER_ID;
const TARGET = process.env.ZT_TARGET;
const CAROL = process.env.ZT_NOLOGIN_ID; // ext 203, no login yet

await run(async (b) => {
  const ui = await newPage(b);

  await step("a user logs in with their extension and own password", async () => {
    await ui.goto(`${env.sbc}/${PS}/`);
    await ui.fill('input[name="username"]', EXT);
    await ui.fill('input[name="password"]', PW);
    await ui.click('form.login button[type="submit"]');
    await ui.waitForSelector("header.top");
    await ui.waitForSelector(`#who:has-text("${EXT}")`);
    const nav = await ui.$$eval("header nav a", (as) => as.map((a) => a.id));
    assert.deepEqual(nav, ["nav-my-calls", "nav-forwarding", "nav-my-voicemail", "nav-devices", "nav-softphone", "nav-password"]);
    for (const admin of ["users", "registrations", "active", "calls", "voicemail", "connect", "prompts", "settings"])
      assert.equal(await ui.$(`#nav-${admin}`), null, admin);
  });

  await step("changes forwarding and do-not-disturb with the mouse", async () => {
    await ui.click("#nav-forwarding");
    await ui.waitForSelector("#fwd-save");
    // what the API said is shown (do-not-disturb was switched on by the API test)
    await ui.waitForFunction(() => document.querySelector("#fwd-dnd").checked);
    await ui.click("#fwd-dnd"); // off
    await ui.click("#fwd-always-on");
    await ui.selectOption("#fwd-always-type", "extension");
    await ui.click("#fwd-always-target");
    await ui.keyboard.type(TARGET);
    await saved(ui, "#fwd-save", { path: "me/forwarding", notice: "Forwarding saved." });
    await shot(ui, "user-forwarding");
    const f = await ui.evaluate(async () => (await fetch("api/v1/me/forwarding")).json());
    assert.equal(f.dnd, false);
    assert.deepEqual(f.forwards.always, { enabled: true, target_type: "extension", target: TARGET });
    // after a reload the page shows the saved state
    await ui.reload();
    await ui.waitForSelector("#fwd-save");
    await ui.waitForFunction((t) => document.querySelector("#fwd-always-target").value === t, TARGET);
    assert.ok(await ui.isChecked("#fwd-always-on"));
    assert.ok(!(await ui.isChecked("#fwd-dnd")));
  });

  await step("the user's other pages: calls, voicemail, devices, softphone", async () => {
    await ui.click("#nav-my-calls");
    await ui.waitForSelector("h1:has-text('My calls')");
    await ui.click("#nav-my-voicemail");
    await ui.waitForSelector("#vm-messages-card");
    await ui.click("#nav-devices");
    await ui.waitForSelector("#my-devices");
    await ui.click("#nav-softphone");
    await ui.waitForSelector("#softphone-facts");
    const facts = await ui.textContent("#softphone-facts");
    assert.ok(facts.includes(PS) && facts.includes(EXT), facts);
  });

  await step("an admin page's address shows the user's own view", async () => {
    await ui.goto(`${env.sbc}/${PS}/#/users`);
    await ui.waitForSelector("header.top");
    await ui.waitForSelector("h1:has-text('My calls')");
    assert.equal(await ui.$("#user-list"), null);
    assert.equal(await ui.$("#new-user"), null);
  });

  await step("the administrator's API answers the page 403, the other user's data too", async () => {
    ui.expectErrors = true; // the browser logs each refused request
    const got = await ui.evaluate(async (other) => {
      const out = {};
      for (const p of ["users", `users/${other}`, `users/${other}/forwarding`, `voicemail/${other}`, "calls", "calls/active", "registrations", "settings", "smtp", "status", "prompts"])
        out[p] = (await fetch(`api/v1/${p}`)).status;
      // a change without the page's CSRF token, and the other user's forwarding
      out["PUT forwarding"] = (await fetch(`api/v1/users/${other}/forwarding`, { method: "PUT", body: "{}" })).status;
      return out;
    }, OTHER);
    for (const [p, status] of Object.entries(got)) assert.equal(status, 403, `${p}: ${status}`);
  });

  const admin = await newPage(b);
  await step("the administrator sets a login password and a user's forwarding", async () => {
    await admin.goto(`${env.sbc}/${PS}/`);
    await admin.fill('input[name="password"]', env.psPassword);
    await admin.click('form.login button[type="submit"]');
    await admin.waitForSelector('[data-edit="203"]');
    assert.ok(await admin.$("#nav-users"));
    await admin.click('[data-edit="203"]');
    await admin.fill("#login-password", "carol-login-pw-1");
    await saved(admin, "#user-save", { method: "PATCH", path: `users/${CAROL}`, notice: "saved" });
    await admin.click('[data-forwarding="202"]');
    await admin.waitForSelector("dialog[open] #fwd-save");
    await admin.click("dialog[open] #fwd-dnd");
    await saved(admin, "dialog[open] #fwd-save", { path: `users/${OTHER}/forwarding`, notice: "Forwarding saved." });
    await shot(admin, "admin-user-forwarding");
  });
  noProblems(admin);
  noProblems(ui);
});

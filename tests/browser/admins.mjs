// Recovering access in the management UI: a phone system created without a
// password shows the generated one once, with copy; "reset admin password"
// gives a new one that logs in while the old one does not; the Account
// page's administrators: add (password generated, shown once), a new
// password, remove (not the last one).
import { run, newPage, loginMgmt, shot, env, noProblems, step, assert } from "./lib.mjs";

const PS = "adm-web-co";

async function pbxLogin(page, password) {
  const r = await page.request.post(`${env.sbc}/${PS}/api/v1/login`, { data: { username: "admin", password } });
  return r.status();
}

async function mgmtLogin(page, username, password) {
  const r = await page.request.post(`${env.mgmt}/api/v1/login`, { data: { username, password } });
  return r.status();
}

// The secret of the open dialog; closes it.
async function secret(page) {
  await page.waitForSelector("dialog.panel #secret-value");
  const s = (await page.textContent("#secret-value")).trim();
  await page.click("#secret-copy");
  await page.waitForSelector(".notice");
  return s;
}

async function closeDialog(page) {
  await page.click('dialog.panel button[value="close"]');
  await page.waitForSelector("dialog.panel", { state: "detached" });
}

await run(async (b) => {
  const page = await newPage(b);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.mgmt });
  await loginMgmt(page);
  let first;

  await step("a phone system created without a password shows the generated one once, with copy", async () => {
    await page.click("#nav-phone-systems");
    await page.fill('input[name="name"]', PS);
    await page.click('#ps-create button[type="submit"]');
    first = await secret(page);
    assert.match(first, /^[A-Za-z0-9]{20}$/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), first);
    assert.doesNotMatch(await page.textContent(".notices"), /the one you entered/);
    await shot(page, "mgmt-ps-created-password");
    await closeDialog(page);
    await page.waitForSelector(`#ps-list [data-action="stop"][data-name="${PS}"]`);
    assert.equal(await pbxLogin(page, first), 200);
  });

  await step("reset admin password: the new one logs in, the old one does not", async () => {
    await page.click(`[data-action="reset-admin"][data-name="${PS}"]`);
    assert.match(await page.textContent("dialog.confirm"), new RegExp(PS));
    await page.click("dialog.confirm button[value=ok]");
    const pw = await secret(page);
    await shot(page, "mgmt-ps-reset-admin");
    await closeDialog(page);
    assert.notEqual(pw, first);
    assert.equal(await pbxLogin(page, pw), 200);
    assert.equal(await pbxLogin(page, first), 401);
  });

  await step("administrators: add one with a generated password, who logs in", async () => {
    await page.click("#nav-account");
    await page.waitForSelector("#admins-list table");
    assert.ok(await page.isDisabled('[data-admin-remove="admin"]'), "the last one can be removed");
    await page.fill("#admin-name", "web-bob");
    await page.click('#admin-add button[type="submit"]');
    const pw = await secret(page);
    await closeDialog(page);
    await page.waitForSelector('[data-admin-remove="web-bob"]');
    assert.equal(await mgmtLogin(page, "web-bob", pw), 200);
    await shot(page, "mgmt-admins");
    // a new password for web-bob: the old one stops working
    await page.click('[data-admin-passwd="web-bob"]');
    await page.click("dialog.confirm button[value=ok]");
    const pw2 = await secret(page);
    await closeDialog(page);
    assert.equal(await mgmtLogin(page, "web-bob", pw), 401);
    assert.equal(await mgmtLogin(page, "web-bob", pw2), 200);
    // a bad name gets the API's message
    await page.fill("#admin-name", "Bad Name");
    page.expectErrors = true;
    await page.click('#admin-add button[type="submit"]');
    await page.waitForFunction(() => /username/.test(document.querySelector("#admins-error")?.textContent ?? ""));
    page.expectErrors = false;
    // web-bob logs in to the UI with his own name
    const bob = await newPage(b);
    await bob.goto(`${env.mgmt}/`);
    await bob.fill('input[name="username"]', "web-bob");
    await bob.fill('input[name="password"]', pw2);
    await bob.click('form.login button[type="submit"]');
    await bob.waitForSelector("header.top");
    assert.equal((await bob.textContent(".who")).trim(), "web-bob");
    await bob.click("#nav-account");
    await bob.waitForSelector("#admins-list table");
    assert.match(await bob.textContent("#admins-list"), /web-bob\s*\(you\)/);
    // removed: cannot log in, and his open page loses its session
    await page.click('[data-admin-remove="web-bob"]');
    await page.click("dialog.confirm button[value=ok]");
    await page.waitForSelector('[data-admin-remove="web-bob"]', { state: "detached" });
    assert.equal(await mgmtLogin(page, "web-bob", pw2), 401);
    bob.expectErrors = true; // the 401s of the ended session
    await bob.click("#nav-dashboard");
    await bob.waitForSelector("form.login");
    await bob.context().close();
    assert.ok(await page.isDisabled('[data-admin-remove="admin"]'));
  });

  noProblems(page);
});

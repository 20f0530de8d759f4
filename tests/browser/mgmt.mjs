// The management UI, driven with the mouse and keyboard only: login,
// the live dashboard, phone systems, interfaces, SBC settings with the
// blocked list, the admin's password, logout; and the session's security.
import { run, newPage, loginMgmt, saved, shot, env, noProblems, step, assert } from "./lib.mjs";

const NEW_PW = "admin-secret-2";

await run(async (b) => {
  const page = await newPage(b);

  await step("a wrong password is refused on the login page", async () => {
    await page.goto(`${env.mgmt}/`);
    await page.waitForSelector("form.login");
    await shot(page, "mgmt-login");
    page.expectErrors = true; // the 401 of the wrong password is logged by the browser
    await page.fill('input[name="password"]', "wrong-password");
    await page.click('form.login button[type="submit"]');
    await page.waitForFunction(() => (document.querySelector("form.login .error")?.textContent ?? "").includes("wrong"));
    page.expectErrors = false;
  });

  await step("login sets a HttpOnly, Secure, SameSite=Strict cookie for /api/ only", async () => {
    await loginMgmt(page);
    const cookies = await page.context().cookies();
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    const c = cookies[0];
    assert.equal(c.name, "zentrale_session");
    assert.equal(c.path, "/api/");
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie), "", "the page's script can read the cookie");
  });

  await step("a state-changing request without the CSRF token is refused", async () => {
    page.expectErrors = true;
    const r = await page.evaluate(async () => {
      const res = await fetch("/api/v1/phone-systems", { method: "POST", body: JSON.stringify({ name: "csrf-co", admin_password: "pbx-secret-1" }) });
      return [res.status, (await res.json()).error];
    });
    page.expectErrors = false;
    assert.equal(r[0], 403, String(r));
    assert.match(r[1], /X-CSRF-Token/);
  });

  await step("the page is served with a Content-Security-Policy without inline scripts", async () => {
    const res = await page.request.get(`${env.mgmt}/`);
    const csp = res.headers()["content-security-policy"];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(await res.text(), /<script(?![^>]*\bsrc=)[^>]*>/, "inline script in the page");
  });

  await step("the dashboard shows CPU, memory, disk and phone systems, live", async () => {
    await page.click("#nav-dashboard");
    await page.waitForSelector("#dash-cards .meter");
    const text = await page.textContent("#dash-cards");
    for (const w of ["CPU", "Memory", "Disk", "Zentrale"]) assert.ok(text.includes(w), `${w} missing: ${text}`);
    const first = await page.textContent(".updated");
    // refreshed every 3 s; a loaded machine may take longer than a few of those
    await page.waitForFunction((f) => (document.querySelector(".updated")?.textContent ?? "") !== f, first);
    await shot(page, "mgmt-dashboard");
  });

  await step("creating a phone system with a bad name shows the API's message", async () => {
    await page.click("#nav-phone-systems");
    await page.fill('input[name="name"]', "Bad_Name");
    await page.fill('input[name="admin_password"]', "pbx-secret-1");
    page.expectErrors = true;
    await page.click('#ps-create button[type="submit"]');
    await page.waitForFunction(() => (document.querySelector("#ps-error")?.textContent ?? "").length > 0);
    page.expectErrors = false;
    assert.match(await page.textContent("#ps-error"), /name/);
  });

  await step("a short admin password is refused with the API's message", async () => {
    await page.fill('input[name="name"]', "web-co");
    await page.fill('input[name="admin_password"]', "short");
    page.expectErrors = true;
    await page.click('#ps-create button[type="submit"]');
    await page.waitForFunction(() => /8 characters/.test((document.querySelector("#ps-error")?.textContent ?? "")));
    page.expectErrors = false;
  });

  await step("a phone system is created and runs", async () => {
    await page.fill('input[name="admin_password"]', "pbx-secret-1");
    await page.click('#ps-create button[type="submit"]');
    await page.waitForSelector('#ps-list [data-action="stop"][data-name="web-co"]');
    // "starting" first (Stop is offered then too); running once its pbx is
    // up, as the list's refresh (every 5 s) shows
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#ps-list tr")].some((tr) => tr.querySelector('[data-name="web-co"]') && /running/.test(tr.textContent)));
    const href = await page.getAttribute('[data-action="open"][data-name="web-co"]', "href");
    assert.equal(href, `${env.sbc}/web-co/`);
    await shot(page, "mgmt-phone-systems");
  });

  await step("stop asks first; cancelling keeps it running", async () => {
    const sent = [];
    const onRequest = (r) => r.method() !== "GET" && sent.push(`${r.method()} ${r.url()}`);
    page.on("request", onRequest);
    await page.click('[data-action="stop"][data-name="web-co"]');
    await page.click("dialog.confirm button[value=cancel]");
    await page.waitForSelector("dialog.confirm", { state: "detached" });
    // the list's next refresh (every 5 s) still has it running, and nothing was asked
    await page.waitForResponse((r) => r.request().method() === "GET" && new URL(r.url()).pathname === "/api/v1/phone-systems");
    page.off("request", onRequest);
    assert.deepEqual(sent, []);
    assert.ok(await page.isVisible('[data-action="stop"][data-name="web-co"]'));
  });

  await step("stop, then start again", async () => {
    await page.click('[data-action="stop"][data-name="web-co"]');
    await page.click("dialog.confirm button[value=ok]");
    await page.waitForSelector('[data-action="start"][data-name="web-co"]');
    assert.match(await page.textContent("#ps-list"), /stopped/);
    await page.click('[data-action="start"][data-name="web-co"]');
    await page.waitForSelector('[data-action="stop"][data-name="web-co"]');
  });

  await step("delete with confirmation", async () => {
    await page.fill('input[name="name"]', "tmp-co");
    await page.fill('input[name="admin_password"]', "pbx-secret-1");
    await page.click('#ps-create button[type="submit"]');
    await page.waitForSelector('[data-action="delete"][data-name="tmp-co"]');
    await page.click('[data-action="delete"][data-name="tmp-co"]');
    assert.match(await page.textContent("dialog.confirm"), /tmp-co/);
    await page.click("dialog.confirm button[value=ok]");
    await page.waitForSelector('[data-name="tmp-co"]', { state: "detached" });
  });

  await step("interfaces: lo is listed with its address and can be chosen", async () => {
    await page.click("#nav-interfaces");
    await page.waitForSelector("#if-form table");
    const text = await page.textContent("#if-form");
    assert.ok(text.includes("lo") && text.includes("127.0.0.1"), text);
    await shot(page, "mgmt-interfaces");
  });

  await step("SBC: plain SIP switched on and saved", async () => {
    await page.click("#nav-sbc");
    await page.waitForSelector("#sbc-form");
    assert.equal(await page.isChecked("#plain-sip"), false);
    assert.equal(await page.isChecked("#vpn-enabled"), false); // off by default (vpn.mjs switches it)
    await page.check("#plain-sip");
    await page.fill("#media-timeout", "90");
    // saved on the server before the reload: the notice of the phone system
    // deleted a step ago may still be on the page
    await saved(page, '#sbc-form button[type="submit"]', { path: "sbc", notice: "SBC settings saved and applied." });
    await page.reload();
    await page.waitForSelector("#sbc-form");
    assert.equal(await page.isChecked("#plain-sip"), true);
    assert.equal(await page.inputValue("#media-timeout"), "90");
  });

  await step("SBC: the media range shows the calls it holds and is saved", async () => {
    const lo = +(await page.inputValue("#media-port-min"));
    assert.equal(+(await page.inputValue("#media-port-max")), lo + 5000);
    assert.ok((await page.textContent("#media-calls")).includes("1250"), await page.textContent("#media-calls"));
    await page.fill("#media-port-max", String(lo + 3999)); // 4,000 ports: 1,000 calls
    assert.ok((await page.textContent("#media-calls")).includes("1000"), await page.textContent("#media-calls"));
    await page.click('#sbc-form button[type="submit"]');
    await page.waitForSelector(".notice");
    await page.reload();
    await page.waitForSelector("#sbc-form");
    assert.equal(+(await page.inputValue("#media-port-max")), lo + 3999);
    assert.ok((await page.textContent("#media-calls")).includes("1000"));
  });

  await step("SBC: behind NAT, a wrong address is refused, a right one listed and switched off", async () => {
    const iface = await page.inputValue("#nat-interface");
    assert.ok(iface, "no interface to choose");
    await page.fill("#nat-value", "203.0.113");
    page.expectErrors = true; // the 400 is logged by the browser
    await page.click('#nat-form button[type="submit"]');
    await page.waitForFunction(() => (document.querySelector("#nat-form .error")?.textContent ?? "").includes("not an IPv4"));
    page.expectErrors = false;
    await page.fill("#nat-value", "203.0.113.5");
    await page.fill("#nat-networks", "10.0.0.0/8, 192.168.0.0/16");
    await saved(page, '#nat-form button[type="submit"]', { path: `sbc/nat/${iface}`, notice: `NAT on ${iface} saved and applied.` });
    await page.waitForSelector(`[data-nat-off="${iface}"]`);
    const row = await page.textContent("#nat-list");
    assert.ok(row.includes("203.0.113.5") && row.includes("10.0.0.0/8 192.168.0.0/16"), row);
    await page.click(`[data-nat-off="${iface}"]`);
    await page.waitForSelector(`[data-nat-off="${iface}"]`, { state: "detached" });
  });

  await step("SBC: a blocked address is listed and unblocked", async () => {
    // Ten failed logins from this machine (another browser context) block
    // 127.0.0.1 for logins; a session that exists goes on working.
    const ctx2 = await b.newContext({ ignoreHTTPSErrors: true });
    for (let i = 0; i < 10; i++)
      await ctx2.request.post(`${env.mgmt}/api/v1/login`, { data: { username: "admin", password: "wrong" } });
    await ctx2.close();
    await page.click("#nav-account");
    await page.click("#nav-sbc");
    await page.waitForSelector('[data-unblock="127.0.0.1"]');
    await shot(page, "mgmt-sbc");
    await page.click('[data-unblock="127.0.0.1"]');
    await page.waitForSelector('[data-unblock="127.0.0.1"]', { state: "detached" });
  });

  await step("account: a wrong current password is refused, then the password is changed", async () => {
    await page.click("#nav-account");
    await page.fill("#pw-current", "not-it-at-all");
    await page.fill("#pw-new", NEW_PW);
    await page.fill("#pw-repeat", NEW_PW);
    page.expectErrors = true;
    await page.click('#pw-form button[type="submit"]');
    await page.waitForFunction(() => /wrong/.test((document.querySelector("#pw-form .error")?.textContent ?? "")));
    page.expectErrors = false;
    await page.fill("#pw-current", env.adminPassword);
    // changed before the logout of the next step (the unblock's notice may still show)
    await saved(page, '#pw-form button[type="submit"]', { path: "password", notice: "Password changed." });
    await shot(page, "mgmt-account");
  });

  await step("logout ends the session; the new password logs in", async () => {
    await page.click("#logout");
    await page.waitForSelector("form.login");
    assert.deepEqual(await page.context().cookies(), []);
    await loginMgmt(page, NEW_PW);
    // back to the old one, for the other tests of this server
    await page.click("#nav-account");
    await page.fill("#pw-current", NEW_PW);
    await page.fill("#pw-new", env.adminPassword);
    await page.fill("#pw-repeat", env.adminPassword);
    // changed back before the browser closes: the other tests log in with it
    await saved(page, '#pw-form button[type="submit"]', { path: "password", notice: "Password changed." });
  });

  noProblems(page);
});

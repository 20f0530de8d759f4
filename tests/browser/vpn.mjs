// The phones' VPN on the SBC page with the mouse: switched on (the server
// runs in a network namespace of the test's, so its tun device stays
// there), a client added, its profile downloaded, revoked, switched off.
import { readFile } from "node:fs/promises";
import { run, newPage, loginMgmt, shot, noProblems, step, assert, env } from "./lib.mjs";

await run(async (b) => {
  const page = await newPage(b, { acceptDownloads: true });
  await loginMgmt(page);

  await step("the VPN is off, and switched on with the other SBC services", async () => {
    await page.click("#nav-sbc");
    await page.waitForSelector("#vpn-status");
    assert.equal(await page.isChecked("#vpn-enabled"), false);
    assert.match(await page.textContent("#vpn-status"), /Off/);
    await page.check("#vpn-enabled");
    await page.click('#sbc-form button[type="submit"]');
    await page.waitForSelector("#vpn-status:has-text('Running: tunnel 10.88.0.1/24')");
  });

  await step("a wrong subnet is refused with the API's message", async () => {
    page.expectErrors = true; // the browser logs the 400
    await page.fill("#vpn-subnet", "8.8.8.0/24");
    await page.click('#vpn-form button[type="submit"]');
    await page.waitForSelector("#vpn-form .error:has-text('private')");
    page.expectErrors = false;
    await page.fill("#vpn-subnet", "10.88.0.0/24");
  });

  await step("a client is added and its profile downloads", async () => {
    await page.fill("#vpn-client-name", "desk-7");
    await page.click('#vpn-add button[type="submit"]');
    await page.waitForSelector('[data-profile="desk-7"]');
    assert.match(await page.textContent("#vpn-clients"), /not connected/);
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-profile="desk-7"]')]);
    assert.equal(dl.suggestedFilename(), "desk-7.ovpn");
    const text = await readFile(await dl.path(), "utf8");
    // the address this browser used, as no other is set
    assert.match(text, new RegExp(`^remote ${new URL(env.mgmt).hostname.replaceAll(".", "\\.")} \\d+$`, "m"));
    assert.match(text, /<key>\n-----BEGIN PRIVATE KEY-----/);
    await shot(page, "mgmt-sbc-vpn");
  });

  await step("on a phone-sized screen, in German, the VPN card fits", async () => {
    const phone = await newPage(b, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await loginMgmt(phone);
    await phone.selectOption("select.lang", "de");
    await phone.click("button.menu");
    await phone.click("#nav-sbc");
    await phone.waitForSelector("#vpn-status:has-text('Läuft: Tunnel')");
    await phone.waitForSelector('[data-profile="desk-7"]');
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen`);
    await phone.locator("#vpn").screenshot({ path: `${env.shots}/mobile-mgmt-sbc-vpn-de.png` });
    console.log(`screenshot ${env.shots}/mobile-mgmt-sbc-vpn-de.png`);
    noProblems(phone);
    await phone.context().close();
  });

  await step("the client is revoked after confirming", async () => {
    await page.click('[data-revoke="desk-7"]');
    await page.click("dialog.confirm button[value=ok]");
    await page.waitForSelector('[data-profile="desk-7"]', { state: "detached" });
    await page.waitForSelector("#vpn-clients p.empty");
  });

  await step("switched off again", async () => {
    await page.uncheck("#vpn-enabled");
    await page.click('#sbc-form button[type="submit"]');
    await page.waitForSelector("#vpn-status:has-text('Off')");
    await page.reload();
    await page.waitForSelector("#vpn-status");
    assert.equal(await page.isChecked("#vpn-enabled"), false);
  });

  noProblems(page);
});

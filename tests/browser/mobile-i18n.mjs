// Both UIs on a phone-sized screen and in German: the navigation folds
// into a menu, tables stack, and every label follows the language switch.
import { run, newPage, loginMgmt, shot, env, noProblems, step, assert } from "./lib.mjs";

await run(async (b) => {
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
  const page = await newPage(b, phone);

  await step("management on a phone: the menu button opens the navigation", async () => {
    await loginMgmt(page);
    assert.equal(await page.isVisible("#nav-sbc"), false);
    await page.click("button.menu");
    assert.equal(await page.isVisible("#nav-sbc"), true);
    await page.click("#nav-phone-systems");
    await page.waitForSelector("#ps-create");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen`);
    await shot(page, "mobile-mgmt-phone-systems");
  });

  await step("the language switch turns management into German, and it is remembered", async () => {
    await page.selectOption("select.lang", "de");
    await page.waitForSelector("h1:has-text('Telefonanlagen')");
    assert.equal(await page.getAttribute("html", "lang"), "de");
    await page.reload();
    await page.waitForSelector("h1:has-text('Telefonanlagen')");
    await page.click("button.menu");
    await page.click("#nav-dashboard");
    await page.waitForSelector("#dash-cards .meter");
    const text = await page.textContent("#view");
    assert.ok(text.includes("Übersicht") && text.includes("Arbeitsspeicher"), text);
    await shot(page, "mobile-mgmt-dashboard-de");
  });

  await step("German on a laptop screen too", async () => {
    const wide = await newPage(b);
    await wide.goto(`${env.mgmt}/`);
    await wide.selectOption("select.lang", "de");
    await wide.waitForSelector("form.login button:has-text('Anmelden')");
    await wide.fill('input[name="password"]', env.adminPassword);
    await wide.click('form.login button[type="submit"]');
    await wide.click("#nav-sbc");
    await wide.waitForSelector("#sbc-form");
    const text = await wide.textContent("#view");
    assert.ok(text.includes("Gesperrte Adressen") && text.includes("Unverschlüsseltes SIP"), text);
    await shot(wide, "mgmt-sbc-de");
    noProblems(wide);
  });

  await step("a phone system's UI on a phone, in German", async () => {
    const p = await newPage(b, phone);
    await p.goto(`${env.sbc}/${env.ps}/`);
    await p.selectOption("select.lang", "de");
    await p.fill('input[name="password"]', env.psPassword);
    await p.click('form.login button[type="submit"]');
    await p.waitForSelector("#user-list");
    await p.click("#new-user");
    await p.fill('dialog input[name="display_name"]', "Dora Mobil");
    await p.fill('dialog input[name="extension"]', "301");
    await p.click("#user-save");
    await p.waitForSelector("#sip-password");
    await p.click('dialog.panel button[value="close"]');
    await p.waitForSelector('[data-edit="301"]');
    const text = await p.textContent("#view");
    assert.ok(text.includes("Benutzer und Nebenstellen") && text.includes("Dora Mobil"), text);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen`);
    await shot(p, "mobile-pbx-users-de");
    await p.click("button.menu");
    await p.click("#nav-connect");
    await p.waitForSelector("#connect-facts");
    assert.ok((await p.textContent("#connect-facts")).includes("Medienverschlüsselung"));
    await shot(p, "mobile-pbx-connect-de");
    noProblems(p);
  });

  noProblems(page);
});

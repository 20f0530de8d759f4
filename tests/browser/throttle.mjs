// Login throttling as in the API: after 10 failed logins from one address
// within 60 s, the login page says how long to wait, even with the right
// password. Run on a server of its own: it blocks 127.0.0.1 for 5 minutes.
import { run, newPage, env, noProblems, step, assert } from "./lib.mjs";

await run(async (b) => {
  const page = await newPage(b);
  page.expectErrors = true; // every refused login is a 401/429 in the console
  await step("ten wrong passwords, then even the right one waits", async () => {
    await page.goto(`${env.mgmt}/`);
    for (let i = 0; i < 10; i++) {
      await page.fill('input[name="password"]', `wrong-${i}`);
      await page.click('form.login button[type="submit"]');
      await page.waitForFunction(() => /wrong/.test(document.querySelector("form.login .error")?.textContent ?? ""));
      await page.evaluate(() => (document.querySelector("form.login .error").textContent = ""));
    }
    await page.fill('input[name="password"]', env.adminPassword);
    await page.click('form.login button[type="submit"]');
    await page.waitForFunction(() => /too many failed logins/.test(document.querySelector("form.login .error")?.textContent ?? ""));
    assert.equal(await page.isVisible("header.top"), false);
  });
  page.problems = page.problems.filter((p) => !/status of (401|429)/.test(p));
  noProblems(page);
});

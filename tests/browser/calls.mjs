// The calls-in-progress page of a phone system: a live sipp call (started
// by tests/e2e/test_ui.py, which checks afterwards that both sipp phones
// got their BYE) is listed with caller, callee, codec and media, and the
// "hang up" button, confirmed, ends it; the list then says there is none.
import { run, newPage, shot, env, noProblems, step, assert } from "./lib.mjs";

run(async (b) => {
  const page = await newPage(b, { viewport: { width: 1280, height: 800 } });

  await step("the live call is listed", async () => {
    await page.goto(`${env.sbc}/${env.ps}/`);
    await page.fill('input[name="password"]', env.psPassword);
    await page.click('form.login button[type="submit"]');
    await page.waitForSelector("#user-list");
    await page.click("#nav-active");
    await page.waitForSelector("#active-list [data-hangup]");
    const row = await page.textContent("#active-list tbody tr");
    for (const want of ["100", "acme 100", "101", "acme 101", "answered", "PCMA/8000", "RTP"])
      assert.ok(row.includes(want), `"${want}" not in the row: ${row}`);
    assert.ok(!row.includes("SRTP"), row); // sipp speaks plain RTP on both legs
    await shot(page, "pbx-calls-active");
  });

  await step("hang up, confirmed, ends it", async () => {
    await page.click("#active-list [data-hangup]");
    await page.waitForSelector("dialog.confirm");
    assert.ok((await page.textContent("dialog.confirm")).includes("Hang up the call from 100 to 101?"));
    await page.click('dialog.confirm button[value="ok"]');
    await page.waitForSelector("#active-list p.empty");
    assert.equal((await page.textContent("#active-list")).trim(), "No call in progress.");
    await shot(page, "pbx-calls-active-none");
  });

  await step("the page in German", async () => {
    await page.selectOption("select.lang", "de");
    await page.waitForSelector("#active-list p.empty");
    const text = await page.textContent("#view");
    assert.ok(text.includes("Laufende Anrufe") && text.includes("Gerade kein Anruf."), text);
    await shot(page, "pbx-calls-active-de");
    noProblems(page);
  });
});

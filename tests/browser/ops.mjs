// Management's operations pages with the mouse: a backup made, restored as
// a copy, scheduled and deleted; an update bundle refused for its version,
// the trusted keys saved; the server log followed live; a SIP trace.
import { run, newPage, loginMgmt, saved, shot, env, noProblems, step, assert } from "./lib.mjs";

await run(async (b) => {
  const page = await newPage(b, { acceptDownloads: true });
  await loginMgmt(page);
  let made; // the id of the backup made by hand

  await step("a backup of a phone system is made and listed", async () => {
    await page.click("#nav-backups");
    await page.waitForSelector("#backup-form");
    await page.selectOption("#backup-scope", env.ps);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/api/v1/backups"),
      page.click('#backup-form button[type="submit"]'),
    ]);
    assert.equal(res.status(), 201);
    made = (await res.json()).id;
    await page.waitForSelector(`#backup-list [data-restore="${made}"]`);
    assert.match(await page.textContent("#backup-list"), new RegExp(env.ps));
  });

  await step("its archive downloads", async () => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#backup-list [data-download]")]);
    assert.ok((await dl.suggestedFilename()).endsWith(".tar.gz"));
  });

  await step("restored under another name: a copy", async () => {
    const id = await page.getAttribute("#backup-list [data-restore]", "data-restore");
    await page.click("#backup-list [data-restore]");
    await page.fill("#restore-target", `${env.ps}-copy`);
    await saved(page, "#restore-go", { method: "POST", path: `backups/${id}/restore`, notice: `${env.ps}-copy restored.` });
    // the dialog closes itself once restored
    await page.waitForSelector("dialog.panel", { state: "detached" });
    await page.click("#nav-phone-systems");
    await page.waitForSelector(`[data-name="${env.ps}-copy"][data-action="stop"]`);
  });

  await step("a daily backup is scheduled", async () => {
    await page.click("#nav-backups");
    await page.waitForSelector("#schedule-form");
    await page.check("#sched-enabled");
    // Twelve hours from now (browser and server share the machine's clock and
    // zone): a time saved in its own minute is due at once (test_backup.py
    // relies on that), so a fixed 03:30 makes a backup when run at 03:30.
    const at = await page.evaluate(() => {
      const d = new Date(Date.now() + 12 * 3600 * 1000);
      return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    });
    await page.fill("#sched-time", at);
    await page.fill("#sched-keep", "5");
    await saved(page, '#schedule-form button[type="submit"]', { path: "backups/schedule", notice: "Schedule saved." });
    await page.reload();
    await page.waitForSelector("#schedule-form");
    assert.equal(await page.isChecked("#sched-enabled"), true);
    assert.equal(await page.inputValue("#sched-time"), at);
    await shot(page, "mgmt-backups");
  });

  await step("a backup is deleted after confirmation", async () => {
    // the one made by hand above, and no other (a restore makes none, nor
    // does saving the schedule)
    await page.waitForSelector("#backup-list [data-delete]");
    const ids = await page.$$eval("#backup-list [data-delete]", (ns) => ns.map((n) => n.dataset.delete));
    assert.deepEqual(ids, [made], `the list holds ${ids.join(", ")}`);
    await page.click("#backup-list [data-delete]");
    await saved(page, "dialog.confirm button[value=ok]", { method: "DELETE", path: `backups/${made}` });
    await page.waitForSelector("#backup-list p.empty");
  });

  await step("update: keys saved, a bundle of the running version refused", async () => {
    await page.click("#nav-update");
    await page.waitForSelector("#update-status");
    assert.match(await page.textContent("#update-status"), /0\.1\.0/);
    await page.fill("#update-keys", env.updatePub);
    await saved(page, '#update-settings button[type="submit"]', { path: "update/settings", notice: "Settings saved." });
    page.expectErrors = true;
    await page.setInputFiles("#update-file", env.updateBundle);
    await page.waitForFunction(() => /same as/.test(document.querySelector("#update-error")?.textContent ?? ""));
    page.expectErrors = false;
    await shot(page, "mgmt-update");
  });

  await step("the server log follows live", async () => {
    await page.click("#nav-logs");
    await page.waitForSelector("#log-lines .line");
    await page.selectOption("#log-process", "supervisor");
    await page.waitForFunction(() => document.querySelectorAll("#log-lines .line").length > 0);
    const r = await page.evaluate(async (csrf) => {
      const res = await fetch("/api/v1/phone-systems", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ name: "logged-live", admin_password: "pbx-secret-1" }),
      });
      return res.status;
    }, await page.evaluate(async () => (await (await fetch("/api/v1/session")).json()).csrf_token));
    assert.equal(r, 201);
    // followed by a long poll; no shorter bound than the default on a loaded machine
    await page.waitForSelector("#log-lines .line:has-text('created phone system logged-live')");
    await shot(page, "mgmt-logs");
  });

  await step("a SIP trace is started, listed, stopped and its pcap downloads", async () => {
    await page.click("#nav-traces");
    await page.waitForSelector("#trace-form");
    await page.selectOption("#trace-ps", env.ps);
    await page.fill("#trace-user", "100");
    await page.click('#trace-form button[type="submit"]');
    await page.waitForSelector("#trace-list [data-stop]");
    await shot(page, "mgmt-traces");
    await page.click("#trace-list [data-stop]");
    await page.waitForSelector("#trace-list [data-stop]", { state: "detached" });
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#trace-list [data-pcap]")]);
    assert.ok((await dl.suggestedFilename()).endsWith(".pcap"));
    await page.click("#trace-list [data-delete]");
    await page.waitForSelector("#trace-list p.empty");
  });

  noProblems(page);
});

// The Trunks page of a phone system: an administrator creates a carrier
// account with the mouse (domain, user name, password, codecs), sees it
// listed, checks that the API stored it and never shows the password,
// edits it without touching the password (which stays set), sees its
// status (the name cannot be reached: registering or failed), sees the page
// in German, and deletes the trunk.
import { run, newPage, saved, shot, noProblems, step, assert, pbxGet, openPbxPage } from "./lib.mjs";

await run(async (b) => {
  const page = await newPage(b);
  const api = (path) => pbxGet(page, path);

  await step("log in and open Trunks", async () => {
    await openPbxPage(page, "trunks", "#trunk-list");
    assert.ok((await page.textContent("#trunk-list")).includes("No trunks yet."));
  });

  await step("create a carrier account", async () => {
    await page.click("#new-trunk");
    await page.fill('.trunk-form input[name="name"]', "Carrier");
    await page.fill('.trunk-form input[name="domain"]', "sip.carrier.example");
    await page.fill('.trunk-form input[name="username"]', "4930123");
    await page.fill('.trunk-form input[name="password"]', "ui-trunk-secret");
    await page.check('[data-codec="PCMA"]');
    await page.selectOption("#trunk-number_format", "national");
    await saved(page, "#trunk-save", { method: "POST", path: "trunks", notice: "Carrier saved." });
    await page.waitForSelector('#trunk-list [data-edit="Carrier"]');
    const row = await page.textContent("#trunk-list tbody");
    assert.ok(row.includes("4930123@sip.carrier.example") && row.includes("UDP"), row);
    await shot(page, "pbx-trunks");
    const t = (await api("trunks")).body.trunks[0];
    assert.deepEqual([t.domain, t.username, t.codecs, t.number_format, t.password_set], ["sip.carrier.example", "4930123", ["PCMA"], "national", true]);
    assert.ok(!JSON.stringify(t).includes("ui-trunk-secret"));
    // the status column: a name the SBC cannot resolve never registers
    const shown = await page.getAttribute("#trunk-list .trunk-status strong", "data-state");
    assert.ok(["registering", "failed"].includes(shown), shown);
    assert.ok(["registering", "failed"].includes(t.status.state), JSON.stringify(t.status));
  });

  await step("edit it; the password stays", async () => {
    await page.click('[data-edit="Carrier"]');
    await page.waitForSelector(".trunk-form");
    assert.equal(await page.inputValue('.trunk-form input[name="password"]'), "");
    await page.selectOption("#trunk-transport", "tls");
    const id = (await api("trunks")).body.trunks[0].id;
    await saved(page, "#trunk-save", { method: "PUT", path: `trunks/${id}`, notice: "Carrier saved." });
    await page.waitForSelector('#trunk-list :text("TLS")');
    const t = (await api("trunks")).body.trunks[0];
    assert.equal(t.transport, "tls");
    assert.equal(t.password_set, true);
  });

  await step("in German", async () => {
    await page.selectOption("select.lang", "de");
    await page.waitForSelector('#trunk-list :text("Konto mit Registrierung")');
    const de = await page.textContent("#trunk-list .trunk-status");
    assert.ok(de.includes("Registriert sich") || de.includes("Registrierung fehlgeschlagen"), de);
    await page.selectOption("select.lang", "en");
    await page.waitForSelector('#trunk-list :text("Account that registers")');
  });

  await step("delete it", async () => {
    await page.click('[data-delete="Carrier"]');
    await saved(page, "dialog.confirm button.danger", { method: "DELETE", path: `trunks/${(await api("trunks")).body.trunks[0].id}` });
    await page.waitForSelector('#trunk-list :text("No trunks yet.")');
  });
  noProblems(page);
});

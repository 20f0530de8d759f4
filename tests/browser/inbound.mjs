// The inbound numbers and the phonebook (sections of the Trunks page) of
// a phone system (made for the test with a trunk "carrier", user 100, group
// 600 and the numbering 49/30): an
// administrator adds an inbound number as people write it and sees it in
// E.164, checks the API stored it so, sees the page in German and deletes
// it; then adds phonebook entries, searches them by name and by number,
// and deletes one.
import { run, newPage, saved, shot, noProblems, step, assert, pbxGet, openPbxPage } from "./lib.mjs";

await run(async (b) => {
  const page = await newPage(b);
  const api = (path) => pbxGet(page, path);

  await step("log in and open Trunks: its inbound numbers", async () => {
    await openPbxPage(page, "trunks", "#inbound-list .empty");
    assert.ok((await page.textContent("#inbound-list")).includes("No inbound numbers yet."));
  });

  await step("add a number as people write it", async () => {
    await page.click("#new-inbound");
    await page.fill("#inbound-number", "030 1234-5");
    await page.selectOption("#inbound-type", "extension");
    await page.selectOption("#inbound-target", "100");
    await saved(page, "#inbound-save", { method: "POST", path: "inbound-numbers", notice: "+493012345 saved." });
    await page.waitForSelector('#inbound-list [data-delete="+493012345"]');
    const row = await page.textContent("#inbound-list tbody");
    assert.ok(row.includes("carrier") && row.includes("Extension 100"), row);
    const n = (await api("inbound-numbers")).body.numbers;
    assert.deepEqual(n.map((x) => [x.number, x.range_end, x.target_type, x.target]), [["+493012345", "", "extension", "100"]]);
  });

  await step("a block to a ring group; a refused one says why", async () => {
    await page.click("#new-inbound");
    await page.fill("#inbound-number", "+49 30 5550");
    await page.fill("#inbound-range-end", "+49 30 5559");
    await page.selectOption("#inbound-type", "group");
    await page.selectOption("#inbound-target", "600");
    await saved(page, "#inbound-save", { method: "POST", path: "inbound-numbers", notice: "+49305550 saved." });
    await page.waitForSelector('#inbound-list :text("+49305550 – +49305559")');
    await page.click("#new-inbound");
    await page.fill("#inbound-number", "030 5555");
    page.expectErrors = true; // the browser logs the 409
    await page.click("#inbound-save");
    await page.waitForSelector('.inbound-form .error:has-text("already has +49305550")');
    page.expectErrors = false;
    await page.keyboard.press("Escape");
    await shot(page, "pbx-inbound");
  });

  await step("in German", async () => {
    await page.selectOption("select.lang", "de");
    await page.waitForSelector('#inbound-list :text("Nebenstelle 100")');
    await page.selectOption("select.lang", "en");
    await page.waitForSelector('#inbound-list :text("Extension 100")');
  });

  await step("delete the numbers", async () => {
    for (const num of ["+493012345", "+49305550"]) {
      const id = (await api("inbound-numbers")).body.numbers.find((x) => x.number === num).id;
      await page.click(`[data-delete="${num}"]`);
      await saved(page, "dialog.confirm button.danger", { method: "DELETE", path: `inbound-numbers/${id}` });
    }
    await page.waitForSelector('#inbound-list :text("No inbound numbers yet.")');
  });

  await step("phonebook: add entries", async () => {
    await page.waitForSelector('#pb-list :text("The phonebook is empty.")');
    for (const [name, number] of [["Müller GmbH", "030 98765-0"], ["Ahmed", "+44 20 7946 0958"]]) {
      await page.click("#new-pb");
      await page.fill("#pb-name", name);
      await page.fill("#pb-number", number);
      await saved(page, "#pb-save", { method: "POST", path: "phonebook", notice: `${name} saved.` });
    }
    await page.waitForSelector('#pb-list :text("+4930987650")');
    const e = (await api("phonebook")).body.entries;
    assert.deepEqual(e.map((x) => [x.name, x.number, x.e164]), [["Ahmed", "+44 20 7946 0958", "+442079460958"], ["Müller GmbH", "030 98765-0", "+4930987650"]]);
    await shot(page, "pbx-phonebook");
  });

  await step("phonebook: search by name and number", async () => {
    await page.fill("#pb-search", "müller");
    await page.waitForFunction(() => document.querySelectorAll("#pb-list tbody tr").length === 1);
    assert.ok((await page.textContent("#pb-list tbody")).includes("Müller GmbH"));
    await page.fill("#pb-search", "7946");
    await page.waitForSelector('#pb-list tbody :text("Ahmed")');
    assert.ok(!(await page.textContent("#pb-list tbody")).includes("Müller"));
    await page.fill("#pb-search", "nobody");
    await page.waitForSelector('#pb-list :text("Nothing found.")');
    await page.fill("#pb-search", "");
    await page.waitForFunction(() => document.querySelectorAll("#pb-list tbody tr").length === 2);
  });

  await step("phonebook: in German, delete an entry", async () => {
    await page.selectOption("select.lang", "de");
    await page.waitForSelector('#phonebook h2:text("Telefonbuch")');
    await page.selectOption("select.lang", "en");
    await page.waitForSelector('#phonebook h2:text("Phonebook")');
    const id = (await api("phonebook")).body.entries.find((x) => x.name === "Ahmed").id;
    await page.click('[data-delete="Ahmed"]');
    await saved(page, "dialog.confirm button.danger", { method: "DELETE", path: `phonebook/${id}` });
    await page.waitForFunction(() => document.querySelectorAll("#pb-list tbody tr").length === 1);
    assert.deepEqual((await api("phonebook")).body.entries.map((x) => x.name), ["Müller GmbH"]);
  });
  noProblems(page);
});

// The Ring groups page of a phone system: an administrator creates a
// group with the mouse (strategy, timeout, two members in order with a
// ring time), sees it listed, logs a member out in the editor and sees it
// so, checks what the API stored, and deletes the group; the page in
// German. The users 301 and 302 exist (made by the test through the API).
import { run, newPage, saved, shot, noProblems, step, assert, pbxGet, openPbxPage } from "./lib.mjs";

await run(async (b) => {
  const page = await newPage(b);
  const api = (path) => pbxGet(page, path);

  await step("log in and open Ring groups", async () => {
    await openPbxPage(page, "groups", "#group-list");
    assert.ok((await page.textContent("#group-list")).includes("No ring groups yet."));
  });

  await step("create a round-robin group of 302 and 301", async () => {
    await page.click("#new-group");
    await page.fill('.group-form input[name="name"]', "Sales");
    await page.fill('.group-form input[name="extension"]', "610");
    await page.selectOption("#group-strategy", "roundrobin");
    await page.fill('.group-form input[name="timeout"]', "40");
    const options = await page.$$eval("#group-add-member option", (os) => os.map((o) => [o.value, o.textContent]));
    const id = (ext) => options.find(([, text]) => text.startsWith(`${ext} `))[0];
    await page.selectOption("#group-add-member", id("302"));
    await page.selectOption("#group-add-member", id("301"));
    await page.fill(`[data-ring-time="${id("301")}"]`, "15");
    await saved(page, "#group-save", { method: "POST", path: "groups", notice: "Sales saved." });
    await page.waitForSelector('#group-list [data-edit="610"]');
    const row = await page.textContent("#group-list tbody");
    assert.ok(row.includes("610") && row.includes("Sales") && row.includes("round robin"), row);
    assert.ok(row.includes("302, 301"), row);
    await shot(page, "pbx-groups");
  });

  await step("log 302 out in the editor", async () => {
    await page.click('[data-edit="610"]');
    await page.waitForSelector("#group-members .member-row");
    await page.uncheck(".member-row:first-child [data-logged-in]");
    const gid = (await api("groups")).body.groups[0].id;
    await saved(page, "#group-save", { method: "PUT", path: `groups/${gid}`, notice: "Sales saved." });
    await page.waitForSelector('#group-list :text("302 (logged out), 301")');
    const g = (await api("groups")).body.groups[0];
    assert.equal(g.strategy, "roundrobin");
    assert.equal(g.timeout, 40);
    assert.deepEqual(g.members.map((m) => [m.extension, m.position, m.ring_time, m.logged_in]), [
      ["302", 0, 20, false],
      ["301", 1, 15, true],
    ]);
  });

  await step("in German", async () => {
    await page.selectOption("select.lang", "de");
    await page.waitForSelector('#group-list :text("reihum")');
    assert.ok((await page.textContent("h1")).includes("Rufgruppen"));
    await page.selectOption("select.lang", "en");
    await page.waitForSelector('#group-list :text("round robin")');
  });

  await step("delete it", async () => {
    await page.click('[data-delete="610"]');
    await saved(page, "dialog.confirm button.danger", { method: "DELETE", path: `groups/${(await api("groups")).body.groups[0].id}` });
    await page.waitForSelector('#group-list :text("No ring groups yet.")');
  });
  noProblems(page);
});

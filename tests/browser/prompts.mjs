// The Prompts page of a phone system: an administrator uploads a company
// greeting (a WAV file made with sox), sees it listed as uploaded with a
// player that fetches it, reverts it; a file that is no audio is refused
// with the reason; the Settings page switches the prompts' language, and
// the page works in German too.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, newPage, saved, shot, env, noProblems, step, assert } from "./lib.mjs";

await run(async (b) => {
  const dir = mkdtempSync(join(tmpdir(), "zt-prompts-"));
  const wav = join(dir, "greeting.wav");
  const r = spawnSync("sox", ["-n", "-r", "22050", "-c", "1", wav, "synth", "1.5", "sine", "440"]);
  assert.equal(r.status, 0, String(r.stderr));
  const junk = join(dir, "notes.mp3");
  writeFileSync(junk, "certainly not an mp3 file ".repeat(40));

  const page = await newPage(b);
  await step("log in to the phone system and open Prompts", async () => {
    await page.goto(`${env.sbc}/${env.ps}/`);
    await page.fill('input[name="password"]', env.psPassword);
    await page.click('form.login button[type="submit"]');
    await page.waitForSelector("#user-list");
    await page.click("#nav-prompts");
    await page.waitForSelector('[data-source="company-greeting"]');
    assert.equal((await page.textContent('[data-source="company-greeting"]')).trim(), "built-in");
    assert.ok((await page.textContent("#prompts-language")).includes("English"));
    assert.ok(await page.$('[data-source="vm-leave-message"]'));
    assert.ok(await page.$('[data-source="number-21"]'));
  });

  await step("upload a WAV as the company greeting: listed as uploaded, playable", async () => {
    const [res] = await Promise.all([
      page.waitForResponse((x) => x.request().method() === "PUT" && new URL(x.url()).pathname.endsWith("/api/v1/prompts/company-greeting")),
      page.setInputFiles('input[data-upload="company-greeting"]', wav),
    ]);
    assert.equal(res.status(), 200);
    await page.waitForSelector('[data-source="company-greeting"] .badge.uploaded');
    const text = await page.textContent('[data-source="company-greeting"]');
    assert.ok(text.includes("greeting.wav"), text);
    assert.ok(await page.$('[data-revert="company-greeting"]'));
    // the player's source is the uploaded clip: a 16 kHz WAV of 1.5 s
    const src = await page.getAttribute('audio[data-play="company-greeting"]', "src");
    const info = await page.evaluate(async (u) => {
      const res = await fetch(u, { credentials: "same-origin" });
      const buf = new DataView(await res.arrayBuffer());
      return { status: res.status, type: res.headers.get("content-type"), rate: buf.getUint32(24, true), bytes: buf.byteLength };
    }, src);
    assert.equal(info.status, 200);
    assert.equal(info.type, "audio/wav");
    assert.equal(info.rate, 16000);
    assert.ok(Math.abs(info.bytes - 44 - 1.5 * 32000) < 2000, JSON.stringify(info));
    await shot(page, "pbx-prompts");
  });

  await step("a file that is no audio is refused with the reason", async () => {
    page.expectErrors = true; // the browser logs the 400 on the console
    await page.setInputFiles('input[data-upload="moh"]', junk);
    await page.waitForSelector('.notice.error:has-text("not usable as audio")');
    page.expectErrors = false;
    assert.equal((await page.textContent('[data-source="moh"]')).trim(), "built-in");
  });

  await step("revert the company greeting to the built-in one", async () => {
    await page.click('[data-revert="company-greeting"]');
    await saved(page, "dialog.confirm button[value=ok]", { method: "DELETE", path: "prompts/company-greeting" });
    await page.waitForSelector('[data-source="company-greeting"]:not(:has(.badge))');
    assert.equal(await page.$('[data-revert="company-greeting"]'), null);
  });

  await step("Settings: the prompts speak German; the Prompts page says so, in German", async () => {
    await page.click("#nav-settings");
    await page.waitForSelector("#language-form");
    assert.equal(await page.inputValue("#prompt-language"), "en");
    await page.selectOption("#prompt-language", "de");
    await saved(page, "#language-save", { path: "settings" });
    await page.reload();
    await page.waitForSelector("#language-form");
    assert.equal(await page.inputValue("#prompt-language"), "de");
    await page.selectOption("select.lang", "de");
    await page.click("#nav-prompts");
    await page.waitForSelector("h1:has-text('Ansagen und Musik')");
    assert.ok((await page.textContent("#prompts-language")).includes("Deutsch"));
    assert.equal((await page.textContent('[data-source="company-greeting"]')).trim(), "eingebaut");
    await shot(page, "pbx-prompts-de");
  });
  noProblems(page);
});

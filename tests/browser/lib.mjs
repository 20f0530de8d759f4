// Shared by the browser tests: Debian's Chromium through playwright-core,
// screenshots under build/screenshots, and a failure for anything the page
// complains about (a script error, a CSP violation, a failed request).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

export { assert };

export const env = {
  mgmt: process.env.ZT_MGMT_URL, // https://127.0.0.1:PORT
  sbc: process.env.ZT_SBC_URL,
  adminPassword: process.env.ZT_ADMIN_PW,
  ps: process.env.ZT_PS, // a phone system made for the test, and its admin password
  psPassword: process.env.ZT_PS_PW,
  updatePub: process.env.ZT_UPDATE_PUB,
  updateBundle: process.env.ZT_UPDATE_BUNDLE,
  shots: process.env.ZT_SCREENSHOTS || "build/screenshots",
};

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export async function browser() {
  return chromium.launch({
    executablePath: process.env.ZT_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
  });
}

// A page whose console errors and uncaught exceptions are collected; `problems`
// must be empty at the end of a test. Dialogs (alert) count as problems: the
// UI never uses them, so one can only come from injected script.
export async function newPage(b, opts = {}) {
  const context = await b.newContext({ ignoreHTTPSErrors: true, ...opts });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !page.expectErrors) page.problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("dialog", async (d) => {
    page.problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
    await d.dismiss();
  });
  return page;
}

export function noProblems(page) {
  assert.deepEqual(page.problems, [], "the page reported problems");
}

export async function shot(page, name) {
  mkdirSync(env.shots, { recursive: true });
  const path = `${env.shots}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

export async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

// Clicks `selector` (a form's Save, a confirmation) and waits until what it
// asked of the server is done: the answer to its `method` request for `path`
// (under api/v1/, the page's own API) has come and is a success. With
// `notice`, also a notice with that text that was not on the page before
// the click: notices stay for seconds, so an older one must not count.
// Anything that reloads the page or checks the server afterwards needs this,
// not a bare `.notice`.
export async function saved(page, selector, { method = "PUT", path, notice } = {}) {
  await page.$$eval(".notice", (ns) => ns.forEach((n) => n.setAttribute("data-before-click", "")));
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname.endsWith(`/api/v1/${path}`)),
    page.click(selector),
  ]);
  assert.ok(res.ok(), `${method} ${path} was answered ${res.status()}: ${await res.text()}`);
  if (notice) await page.waitForSelector(`.notice:not([data-before-click]):has-text(${JSON.stringify(notice)})`);
  return res;
}

export async function loginMgmt(page, password = env.adminPassword) {
  // Under a full run's load a fresh context's first load has once shown no
  // login form in 30 s (test_vpn_on_the_sbc_page): what the page showed is
  // printed, and it is loaded once more; a second miss fails with both.
  const seen = [];
  for (let i = 0; i < 2; i++) {
    const res = await page.goto(`${env.mgmt}/`);
    try {
      await page.waitForSelector('input[name="password"]', { timeout: 15000 });
      break;
    } catch {
      const body = (await page.textContent("body").catch(() => "")) || "";
      seen.push(`${page.url()} (HTTP ${res ? res.status() : "none"}): ${JSON.stringify(body.trim().slice(0, 300))}`);
      console.log(`login form missing, load ${i + 1}: ${seen.at(-1)}`);
      if (i === 1) throw new Error(`no login form: ${seen.join("; ")}`);
    }
  }
  await page.fill('input[name="password"]', password);
  await page.click('form.login button[type="submit"]');
  await page.waitForSelector("header.top");
}

// Runs a test body with a browser, closing it whatever happens.
// GET path of the phone system's API (env.ps) with the page's session:
// {status, body}.
export function pbxGet(page, path) {
  return page.evaluate(async (p) => {
    const res = await fetch(p, { credentials: "same-origin" });
    return { status: res.status, body: await res.json() };
  }, `${env.sbc}/${env.ps}/api/v1/${path}`);
}

// Logs in to the phone system's UI as its administrator and opens the page
// nav (its #nav-<id>), waiting for ready (a selector of that page).
export async function openPbxPage(page, nav, ready) {
  await page.goto(`${env.sbc}/${env.ps}/`);
  await page.fill('input[name="password"]', env.psPassword);
  await page.click('form.login button[type="submit"]');
  await page.waitForSelector("#user-list");
  await page.click(`#nav-${nav}`);
  await page.waitForSelector(ready);
}

export async function run(body) {
  const b = await browser();
  try {
    await body(b);
    console.log("PASS");
  } catch (e) {
    console.log(`FAILED: ${e.message}`);
    process.exitCode = 1;
  } finally {
    await b.close();
  }
}

// A phone system's UI, reached the way an administrator does: log in to
// management, create a phone system, open it through the SBC, log in
// there, create users (one with a name that is an XSS attempt), search,
// edit, delete; then a sipp phone registers with the password the UI
// showed, appears under registrations, and its call under calls.
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, newPage, loginMgmt, saved, shot, env, noProblems, step, assert } from "./lib.mjs";

const PS = "shop-co";
const PS_PW = "shop-admin-pw-1";
const XSS = `<script>alert(1)</script><img src=x onerror="alert(2)">`;
const SIP_PORT = Number(new URL(env.sbc).port) - 443 + 5060;

// A UDP port of 127.0.0.1 free now, as the kernel picks it.
async function freeUdpPort() {
  const s = createSocket("udp4");
  await new Promise((res, rej) => {
    s.once("error", rej);
    s.bind(0, "127.0.0.1", res);
  });
  const { port } = s.address();
  await new Promise((res) => s.close(res));
  return port;
}

// One sipp run (Debian's sip-tester) from the registration scenario of the
// e2e tests; returns sipp's exit code and output. Its local port is one the
// kernel found free (a random one collides, now and then, with another
// program's on a shared machine); taken meanwhile by another, a new one.
async function sipp(name, xml, user, password) {
  const dir = mkdtempSync(join(tmpdir(), "zt-sipp-"));
  writeFileSync(join(dir, `${name}.xml`), xml);
  writeFileSync(join(dir, "users.csv"), `SEQUENTIAL\n${user};unused;${PS}\n`);
  for (let attempt = 1; ; attempt++) {
    const port = await freeUdpPort();
    const r = spawnSync("sipp", [`127.0.0.1:${SIP_PORT}`, "-t", "u1", "-sf", `${name}.xml`, "-m", "1", "-l", "1",
      "-nostdin", "-timeout", "20", "-p", String(port), "-au", user, "-ap", password, "-inf", "users.csv"],
      { cwd: dir, encoding: "utf8", timeout: 40000 });
    const out = `${r.stdout}${r.stderr}`;
    if (attempt < 3 && /Unable to bind main socket, errno = 98/.test(out)) continue;
    return [r.status, out];
  }
}

const REGISTER = readFileSync(new URL("../e2e/sipp/register.xml", import.meta.url), "utf8").replace(
  "Expires: 600",
  "Expires: 3600"
);

// A call to an extension nobody has registered: 401, again with
// credentials, then 480 (its mailbox switched off) — one record in the call
// history.
const CALL = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="call">
<send retrans="500"><![CDATA[
INVITE sip:202@[field2] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@[field2]>;tag=[pid]SIPpTag00[call_number]
To: <sip:202@[field2]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="401" auth="true"/>
<send><![CDATA[
ACK sip:202@[field2] SIP/2.0
[last_Via:]
From: <sip:[field0]@[field2]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<send retrans="500"><![CDATA[
INVITE sip:202@[field2] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@[field2]>;tag=[pid]SIPpTag00[call_number]
To: <sip:202@[field2]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
[authentication]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="480"/>
<send><![CDATA[
ACK sip:202@[field2] SIP/2.0
[last_Via:]
From: <sip:[field0]@[field2]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
</scenario>
`;

async function createUser(p, name, ext) {
  await p.click("#new-user");
  await p.fill('dialog input[name="display_name"]', name);
  await p.fill('dialog input[name="extension"]', ext);
  await p.click("#user-save");
  await p.waitForSelector("#sip-password");
  const pw = await p.inputValue("#sip-password");
  assert.ok(pw.length >= 20, `a strong password, got ${pw}`);
  await p.click("#copy-password");
  await p.waitForFunction(() => (document.querySelector("#copy-password")?.textContent ?? "") !== "Copy");
  await shot(p, `pbx-password-${ext}`);
  await p.click('dialog.panel button[value="close"]');
  await p.waitForSelector(`[data-edit="${ext}"]`);
  return pw;
}

await run(async (b) => {
  const mgmt = await newPage(b, { permissions: ["clipboard-read", "clipboard-write"] });
  let ui, alicePw;

  await step("management: create two phone systems, switch plain SIP on", async () => {
    await loginMgmt(mgmt);
    await mgmt.click("#nav-phone-systems");
    await mgmt.fill('input[name="name"]', PS);
    await mgmt.fill('input[name="admin_password"]', PS_PW);
    await mgmt.click('#ps-create button[type="submit"]');
    await mgmt.waitForSelector(`[data-action="open"][data-name="${PS}"]`);
    await mgmt.fill('input[name="name"]', "other-co");
    await mgmt.fill('input[name="admin_password"]', PS_PW);
    await mgmt.click('#ps-create button[type="submit"]');
    await mgmt.waitForSelector(`[data-action="open"][data-name="other-co"]`);
    await mgmt.click("#nav-sbc");
    await mgmt.waitForSelector("#sbc-form");
    if (!(await mgmt.isChecked("#plain-sip"))) {
      await mgmt.check("#plain-sip");
      // applied before the sipp phone registers over UDP (the notices of the
      // phone systems created just now may still show)
      await saved(mgmt, '#sbc-form button[type="submit"]', { path: "sbc", notice: "SBC settings saved and applied." });
    }
  });

  await step("'Open' leads to the phone system's own login through the SBC", async () => {
    await mgmt.click("#nav-phone-systems");
    const [p] = await Promise.all([
      mgmt.context().waitForEvent("page"),
      mgmt.click(`[data-action="open"][data-name="${PS}"]`),
    ]);
    ui = p;
    ui.problems = [];
    ui.on("console", (m) => m.type() === "error" && !ui.expectErrors && ui.problems.push(m.text()));
    ui.on("pageerror", (e) => ui.problems.push(e.message));
    ui.on("dialog", async (d) => {
      ui.problems.push(`unexpected dialog: ${d.message()}`);
      await d.dismiss();
    });
    await ui.waitForSelector("form.login");
    assert.equal(ui.url(), `${env.sbc}/${PS}/`);
    assert.match(await ui.textContent("form.login"), new RegExp(PS));
    await shot(ui, "pbx-login");
  });

  await step("the management password does not open the phone system", async () => {
    ui.expectErrors = true;
    await ui.fill('input[name="password"]', env.adminPassword);
    await ui.click('form.login button[type="submit"]');
    await ui.waitForFunction(() => (document.querySelector("form.login .error")?.textContent ?? "").length > 0);
    ui.expectErrors = false;
  });

  await step("log in as the phone system's admin; the cookie is scoped to its path", async () => {
    await ui.fill('input[name="password"]', PS_PW);
    await ui.click('form.login button[type="submit"]');
    await ui.waitForSelector("#user-list");
    const cookies = (await ui.context().cookies()).filter((c) => c.path === `/${PS}/`);
    assert.equal(cookies.length, 1);
    assert.ok(cookies[0].httpOnly && cookies[0].secure && cookies[0].sameSite === "Strict");
  });

  await step("users: create one; its SIP password is shown once and copied", async () => {
    alicePw = await createUser(ui, "Alice Example", "201");
    const clip = await ui.evaluate(() => navigator.clipboard.readText().catch(() => null));
    if (clip !== null) assert.equal(clip, alicePw);
  });

  await step("a stored XSS attempt stays text", async () => {
    await createUser(ui, XSS, "202");
    const cell = await ui.textContent('#user-list tr:has([data-edit="202"]) td:nth-child(2)');
    assert.equal(cell, XSS);
    assert.equal(await ui.$$eval("#user-list img, #user-list script", (n) => n.length), 0);
    await ui.reload();
    await ui.waitForSelector('[data-edit="202"]');
    assert.equal(await ui.textContent('#user-list tr:has([data-edit="202"]) td:nth-child(2)'), XSS);
    await shot(ui, "pbx-users");
  });

  await step("search filters the list", async () => {
    await ui.fill("#user-search", "Alice");
    await ui.waitForSelector('[data-edit="202"]', { state: "detached" });
    assert.ok(await ui.isVisible('[data-edit="201"]'));
    await ui.fill("#user-search", "");
    await ui.waitForSelector('[data-edit="202"]');
  });

  await step("edit a user's name", async () => {
    await ui.click('[data-edit="202"]');
    await ui.fill('dialog input[name="display_name"]', "Bob Builder");
    await ui.click("#user-save");
    await ui.waitForFunction(() => (document.querySelector("#user-list")?.textContent ?? "").includes("Bob Builder"));
  });

  await step("delete a user after confirmation", async () => {
    await createUser(ui, "Carol Temp", "203");
    await ui.click('[data-delete="203"]');
    await ui.click("dialog.confirm button[value=ok]");
    await ui.waitForSelector('[data-edit="203"]', { state: "detached" });
  });

  await step("a sipp phone registered with the shown password appears under registrations", async () => {
    await ui.click("#nav-registrations");
    await ui.waitForFunction(() => /No device/.test((document.querySelector("#reg-list")?.textContent ?? "")));
    const [rc, out] = await sipp("register", REGISTER, "201", alicePw);
    assert.equal(rc, 0, out);
    // the page refreshes every 4 s; no shorter bound than the default on a loaded machine
    await ui.waitForSelector('#reg-list td:has-text("sipp-test")');
    const row = await ui.textContent("#reg-list tbody tr");
    assert.ok(row.includes("201") && row.includes("Alice Example") && row.includes("udp 127.0.0.1"), row);
    await shot(ui, "pbx-registrations");
  });

  await step("a call shows in the call history", async () => {
    // 202's mailbox switched off on the Voicemail page: the call fails with 480
    await ui.click("#nav-voicemail");
    await ui.waitForSelector("#vm-settings");
    const id = await ui.$eval("#vm-user", (sel) => [...sel.options].find((o) => o.text.startsWith("202 ")).value);
    await ui.selectOption("#vm-user", id);
    await ui.waitForFunction((v) => location.hash === `#/voicemail/${v}`, id);
    await ui.waitForSelector("#vm-enabled:checked");
    await ui.uncheck("#vm-enabled");
    await saved(ui, "#vm-save", { path: `voicemail/${id}/settings`, notice: "saved" });
    const [rc, out] = await sipp("call", CALL, "201", alicePw);
    assert.equal(rc, 0, out);
    await ui.click("#nav-calls");
    await ui.waitForSelector("#call-list tbody tr");
    const row = await ui.textContent("#call-list tbody tr");
    assert.ok(row.includes("201") && row.includes("202") && row.includes("unavailable"), row);
    await shot(ui, "pbx-calls");
  });

  await step("the connection page names the domain, the outbound proxy and SRTP", async () => {
    await ui.click("#nav-connect");
    await ui.waitForSelector("#connect-facts");
    const text = await ui.textContent("#connect-facts");
    const tls = SIP_PORT + 1;
    assert.ok(text.includes(PS) && text.includes(`127.0.0.1:${tls}`) && text.includes("TLS") && text.includes("SRTP"), text);
    await shot(ui, "pbx-connect");
  });

  await step("the phone system's cookie does not reach another phone system", async () => {
    // A second phone system on the same host, same password: no session there.
    const r = await ui.evaluate(async () => (await (await fetch("/other-co/api/v1/session")).json()).logged_in);
    assert.equal(r, false);
    const s = await ui.evaluate(async (ps) => (await (await fetch(`/${ps}/api/v1/session`)).json()).logged_in, PS);
    assert.equal(s, true);
    const cookies = await ui.context().cookies(`${env.sbc}/other-co/`);
    assert.deepEqual(cookies.filter((c) => c.name === "zentrale_session"), []);
    const mgmtCookies = await ui.context().cookies(`${env.sbc}/${PS}/`);
    assert.ok(mgmtCookies.every((c) => c.path !== "/api/"), "the management cookie is sent to a phone system");
  });

  await step("logout", async () => {
    await ui.click("#logout");
    await ui.waitForSelector("form.login");
  });

  assert.deepEqual(ui.problems, []);
  noProblems(mgmt);
});

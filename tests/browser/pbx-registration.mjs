// The phone system's users list with each user's registration state and
// its Settings page, in a real browser: a sipp phone with a wrong password
// shows "wrong password" on its user's row, then registers and shows as
// online with its User-Agent and address; a client that never answers the
// SHA-256 challenge brings the hint; on the Settings page the digest
// algorithms are changed and the phone system's next challenge offers
// exactly them (a raw REGISTER over UDP from node). The server (test_ui.py)
// has ZT_PS with user 300 and plain SIP on.
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, newPage, shot, env, noProblems, step, assert } from "./lib.mjs";

const PS = env.ps;
const SIP_PORT = Number(new URL(env.sbc).port) - 443 + 5060;
const REGISTER = readFileSync(new URL("../e2e/sipp/register.xml", import.meta.url), "utf8");

function sipp(user, password) {
  const dir = mkdtempSync(join(tmpdir(), "zt-sipp-"));
  writeFileSync(join(dir, "register.xml"), REGISTER);
  writeFileSync(join(dir, "users.csv"), `SEQUENTIAL\n${user};unused;${PS}\n`);
  const port = 40000 + Math.floor(Math.random() * 20000);
  const r = spawnSync("sipp", [`127.0.0.1:${SIP_PORT}`, "-t", "u1", "-sf", "register.xml", "-m", "1", "-l", "1",
    "-nostdin", "-timeout", "10", "-p", String(port), "-au", user, "-ap", password, "-inf", "users.csv"],
    { cwd: dir, encoding: "utf8", timeout: 30000 });
  return [r.status, `${r.stdout}${r.stderr}`];
}

// A REGISTER without credentials; resolves to the challenge's WWW-Authenticate
// headers. Nothing answers it.
function challenge(user) {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => { s.close(); reject(new Error("no answer to REGISTER")); }, 5000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      const text = m.toString();
      assert.match(text, /^SIP\/2\.0 401 /);
      resolve(text.split("\r\n").filter((l) => /^www-authenticate:/i.test(l)));
    });
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      const msg = [`REGISTER sip:${PS} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${Math.random().toString(16).slice(2)};rport`,
        `From: <sip:${user}@${PS}>;tag=${port}`, `To: <sip:${user}@${PS}>`,
        `Call-ID: ui-${port}@127.0.0.1`, "CSeq: 1 REGISTER", `Contact: <sip:${user}@127.0.0.1:${port}>`,
        "Max-Forwards: 70", "User-Agent: sha-shy-phone/0.1", "Content-Length: 0", "", ""].join("\r\n");
      s.send(msg, SIP_PORT, "127.0.0.1");
    });
  });
}

const row = (ext) => `[data-registration="${ext}"]`;

await run(async (b) => {
  const ui = await newPage(b);

  await step("log in to the phone system; its user is offline, never registered", async () => {
    await ui.goto(`${env.sbc}/${PS}/`);
    await ui.fill('input[name="password"]', env.psPassword);
    await ui.click('form.login button[type="submit"]');
    await ui.waitForSelector(row("300"));
    const text = await ui.textContent(row("300"));
    assert.ok(text.includes("offline") && text.includes("not registered"), text);
  });

  await step("a wrong SIP password shows on the user's row, with its reason", async () => {
    const [rc, out] = sipp("300", "not-the-right-password");
    assert.notEqual(rc, 0, out);
    await ui.waitForSelector(`${row("300")} [data-reason="wrong-password"]`, { timeout: 15000 });
    const text = await ui.textContent(`${row("300")} [data-reason]`);
    assert.ok(text.includes("wrong password") && text.includes("127.0.0.1") && text.includes("sipp-test"), text);
  });

  await step("registered: online, with the device's User-Agent and address", async () => {
    const [rc, out] = sipp("300", "ui-300-sip-secret");
    assert.equal(rc, 0, out);
    await ui.waitForFunction((sel) => /1 device/.test(document.querySelector(sel)?.textContent ?? ""), row("300"), { timeout: 15000 });
    const text = await ui.textContent(row("300"));
    assert.ok(text.includes("online") && text.includes("sipp-test") && text.includes("udp 127.0.0.1") && text.includes("last registered"), text);
  });

  await step("a phone that never answers the SHA-256 challenge gets the hint", async () => {
    const h = await challenge("301");
    assert.ok(h.some((l) => l.includes("SHA-256")) && h.some((l) => l.includes("MD5")), h.join("\n"));
    await ui.waitForSelector(`${row("301")} .reg-hint`, { timeout: 20000 });
    const text = await ui.textContent(`${row("301")} .reg-hint`);
    assert.ok(text.includes("SHA-256") && text.includes("MD5 only"), text);
    await shot(ui, "pbx-users-registration");
  });

  await step("the hint links to Settings; MD5 only there is what the next challenge offers", async () => {
    await ui.click(`${row("301")} .reg-hint a`);
    await ui.waitForSelector("#digest-form");
    assert.ok(await ui.isChecked("#alg-md5"));
    assert.ok(await ui.isChecked("#alg-sha256"));
    assert.match(await ui.textContent("#coming"), /call forwarding/);
    await shot(ui, "pbx-settings");
    await ui.uncheck("#alg-sha256");
    await ui.click("#digest-save");
    await ui.waitForFunction(() => (document.querySelector("#alg-state")?.textContent ?? "") === "Offered now: MD5");
    const h = await challenge("300");
    assert.equal(h.length, 1, h.join("\n"));
    assert.ok(h[0].includes("algorithm=MD5"), h[0]);
  });

  await step("none chosen is refused in the page; both again", async () => {
    await ui.uncheck("#alg-md5");
    await ui.click("#digest-save");
    await ui.waitForFunction(() => /at least one/.test(document.querySelector("#digest-form .error")?.textContent ?? ""));
    await ui.check("#alg-md5");
    await ui.check("#alg-sha256");
    await ui.click("#digest-save");
    await ui.waitForFunction(() => (document.querySelector("#alg-state")?.textContent ?? "") === "Offered now: MD5, SHA-256");
    const h = await challenge("300");
    assert.equal(h.length, 2, h.join("\n"));
    await ui.reload();
    await ui.waitForSelector("#digest-form");
    assert.ok((await ui.isChecked("#alg-md5")) && (await ui.isChecked("#alg-sha256")));
  });

  noProblems(ui);
});

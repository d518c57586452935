// End-to-end test of the built desktop app in a real WebView (WebKitWebDriver through
// tauri-driver, under Xvfb), against an arx-node started here, with headless `arx` clients as
// the other people. Screenshots of every step go to $ARX_E2E_ARTIFACTS.
//
// Needs: ARX_APP_BIN (the app built with `npx tauri build --debug --no-bundle`), ARX_BIN (the
// `arx` CLI), ARX_NODE_BIN (`arx-node`), `tauri-driver` on PATH, and a display (DISPLAY, or Xvfb
// to start one). scripts/test-app.sh sets these up.

import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { remote } from "webdriverio";
import { freePort, need, waitForPort } from "./lib.mjs";

const run = promisify(execFile);
const appBin = need("ARX_APP_BIN");
const arxBin = need("ARX_BIN");
const nodeBin = need("ARX_NODE_BIN");
const artifacts = process.env.ARX_E2E_ARTIFACTS ?? join(process.cwd(), "target", "app-e2e");
mkdirSync(artifacts, { recursive: true });

const work = mkdtempSync(join(tmpdir(), "arx-app-e2e-"));
const children = [];
let failed = false;

function step(text) {
  console.log(`== ${text}`);
}



function start(command, args, env = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
  return child;
}

/** A headless person: the `arx` CLI with its own data dir. */
function cli(name, url) {
  const dir = join(work, name);
  const arx = async (...args) => {
    const { stdout } = await run(arxBin, ["--data-dir", dir, "--node", url, "--json", ...args]);
    return JSON.parse(stdout.trim());
  };
  return { name, arx };
}

async function until(what, check, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** Whether a process of the app binary is still running. */
async function appRunning() {
  try {
    await run("pgrep", ["-f", appBin]);
    return true;
  } catch {
    return false;
  }
}

async function main() {
  let display = process.env.DISPLAY;
  if (!display) {
    display = ":99";
    start("Xvfb", [display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"]);
    await new Promise((r) => setTimeout(r, 1000));
  }

  step("starting arx-node on loopback");
  const nodePort = await freePort();
  start(nodeBin, ["--listen", `127.0.0.1:${nodePort}`, "--data-dir", join(work, "node")]);
  await waitForPort(nodePort, "arx-node");
  const url = `http://127.0.0.1:${nodePort}`;

  step("two headless people register with the CLI");
  const bob = cli("bob", url);
  const carol = cli("carol", url);
  const bobId = await bob.arx("init");
  const carolId = await carol.arx("init");

  step("starting tauri-driver");
  const driverPort = await freePort();
  const appData = join(work, "app");
  start("tauri-driver", ["--port", String(driverPort)], {
    DISPLAY: display,
    ARX_NODE_URL: url,
    ARX_DATA_DIR: appData,
  });
  await waitForPort(driverPort, "tauri-driver");

  const session = async () =>
    await remote({
      hostname: "127.0.0.1",
      port: driverPort,
      logLevel: "warn",
      capabilities: { "tauri:options": { application: appBin } },
    });
  let browser = await session();
  const shot = async (name) => {
    await browser.saveScreenshot(join(artifacts, `${name}.png`));
  };
  const byTest = (id) => browser.$(`[data-testid="${id}"]`);
  const messageTexts = async () => {
    const items = await browser.$$('[data-testid="message"]');
    const texts = [];
    for (const item of items) texts.push(await item.getText());
    return texts;
  };

  try {
    step("onboard with a built-in key");
    await (await byTest("onboard-create-key")).waitForClickable({ timeout: 60_000 });
    await (await byTest("onboard-create-key")).click();
    const address = await until("the account address", async () => {
      const text = await (await byTest("account-address")).getAttribute("title");
      return /^0x[0-9a-fA-F]{40}$/.test(text ?? "") ? text : null;
    });
    await shot("01-onboarded");

    step("open a DM with the CLI's address and say hello");
    await (await byTest("new-conversation")).click();
    await (await byTest("new-dm-input")).setValue(bobId.wallet);
    await (await byTest("new-dm-submit")).click();
    await (await byTest("composer-input")).waitForDisplayed({ timeout: 30_000 });
    await (await byTest("composer-input")).setValue("hello");
    await browser.keys("Enter");
    await until("hello to be sent", async () => {
      const sent = await browser.$('[data-testid="message"][data-mine="true"][data-status="sent"]');
      return await sent.isExisting();
    });
    await shot("02-dm-hello-sent");

    step("the CLI receives it and replies; the reply appears without a reload");
    const bobDm = await until("bob to see the DM", async () => {
      await bob.arx("sync");
      const { conversations } = await bob.arx("conversations");
      return conversations.find((c) => c.includes("DM with")) ?? null;
    });
    const dmId = bobDm.split(" ")[0];
    const bobSees = await bob.arx("messages", dmId);
    if (!bobSees.messages.some((m) => m.text === "hello")) {
      throw new Error(`the CLI did not receive hello: ${JSON.stringify(bobSees)}`);
    }
    await bob.arx("send", dmId, "hi from the CLI");
    await until("the reply in the app", async () =>
      (await messageTexts()).some((t) => t.includes("hi from the CLI")),
    );
    await shot("03-dm-reply-received");

    step("create a group with two CLI members and exchange messages");
    await (await byTest("new-conversation")).click();
    await (await browser.$("#tab-group")).click();
    await (await byTest("new-group-name")).setValue("CLI friends");
    const members = await byTest("new-group-members");
    await members.setValue(bobId.wallet);
    await browser.keys("Enter");
    await members.addValue(carolId.wallet);
    await (await byTest("new-group-submit")).click();
    await until("the new group dialog to close", async () => {
      const submit = await byTest("new-group-submit");
      return !(await submit.isExisting());
    });
    await until("the group to open", async () => {
      const items = await browser.$$('[data-testid="conversation-item"]');
      return items.length === 2;
    });
    await (await byTest("composer-input")).setValue("hello group");
    await browser.keys("Enter");
    await until("hello group to be sent", async () => {
      const items = await browser.$$('[data-testid="message"][data-mine="true"][data-status="sent"]');
      for (const item of items) if ((await item.getText()).includes("hello group")) return true;
      return false;
    });
    let groupId = null;
    for (const person of [bob, carol]) {
      groupId = await until(`${person.name} to join the group`, async () => {
        await person.arx("sync");
        const { conversations } = await person.arx("conversations");
        const line = conversations.find((c) => c.includes("CLI friends"));
        return line ? line.split(" ")[0] : null;
      });
      const seen = await person.arx("messages", groupId);
      if (!seen.messages.some((m) => m.text === "hello group")) {
        throw new Error(`${person.name} did not receive hello group: ${JSON.stringify(seen)}`);
      }
    }
    await carol.arx("send", groupId, "carol is here");
    await bob.arx("send", groupId, "bob too");
    await until("the group replies in the app", async () => {
      const texts = await messageTexts();
      return texts.some((t) => t.includes("carol is here")) && texts.some((t) => t.includes("bob too"));
    });
    await shot("04-group-exchange");

    step("restart the app: the history is all there, in a window of the same size");
    await browser.setWindowSize(940, 660);
    const sizeBefore = await browser.getWindowSize();
    // The app writes the window's state once it has settled (WebDriver ends the app without a
    // normal close, which would save it too).
    await new Promise((r) => setTimeout(r, 1500));
    await browser.deleteSession();
    // The app holds its profile's lock until its process has exited (closing the engine and
    // saving the window takes a moment, longer on a loaded machine): start the next one after.
    await until("the first app process to exit", async () => !(await appRunning()), 60_000);
    browser = await session();
    await until("two conversations after restart", async () => {
      const items = await browser.$$('[data-testid="conversation-item"]');
      return items.length === 2;
    }, 60_000);
    const sizeAfter = await browser.getWindowSize();
    if (sizeAfter.width !== sizeBefore.width || sizeAfter.height !== sizeBefore.height) {
      throw new Error(
        `window size not remembered: ${JSON.stringify(sizeBefore)} became ${JSON.stringify(sizeAfter)}`,
      );
    }
    const restartedAddress = await (await byTest("account-address")).getAttribute("title");
    if (restartedAddress !== address) throw new Error("a different account after restart");
    for (const item of await browser.$$('[data-testid="conversation-item"]')) {
      await item.click();
      await until("messages after restart", async () => (await messageTexts()).length >= 2);
    }
    const all = [];
    for (const item of await browser.$$('[data-testid="conversation-item"]')) {
      await item.click();
      await until("a conversation to show", async () => (await messageTexts()).length >= 2);
      all.push(...(await messageTexts()));
    }
    for (const expected of ["hello", "hi from the CLI", "hello group", "carol is here", "bob too"]) {
      if (!all.some((t) => t.includes(expected))) {
        throw new Error(`"${expected}" is missing after restart: ${JSON.stringify(all)}`);
      }
    }
    await shot("05-after-restart");

    step("a stranger's DM waits in Requests, out of the list, until the app accepts it");
    // bob and carol are allowed (the app started conversations with them); dave is not.
    const dave = cli("dave", url);
    await dave.arx("init");
    const { conversation: daveDm } = await dave.arx("dm", address);
    await dave.arx("send", daveDm, "hello from a stranger");
    const requestsTab = await browser.$("aria/Requests");
    await requestsTab.waitForClickable({ timeout: 30_000 });
    await until("the request to arrive", async () => {
      const count = await byTest("requests-count");
      return (await count.isExisting()) && (await count.getText()) === "1";
    }, 60_000);
    if ((await browser.$$('[data-testid="conversation-item"]')).length !== 2) {
      throw new Error("the stranger's DM reached the conversation list before it was accepted");
    }
    await requestsTab.click();
    const request = await byTest("request-item");
    await request.waitForClickable({ timeout: 30_000 });
    await request.click();
    await until("the request's message", async () =>
      (await messageTexts()).some((t) => t.includes("hello from a stranger")),
    );
    await shot("06-request");
    await (await browser.$("button=Accept")).click();
    await (await byTest("composer-input")).waitForDisplayed({ timeout: 30_000 });
    await until("the accepted DM in the list", async () => {
      const items = await browser.$$('[data-testid="conversation-item"]');
      return items.length === 3;
    });
    if (await (await byTest("requests-count")).isExisting()) {
      throw new Error("the accepted DM is still counted in Requests");
    }
    await shot("07-request-accepted");
    console.log("app end-to-end: all steps passed");
  } catch (err) {
    failed = true;
    await shot("failure").catch(() => undefined);
    throw err;
  } finally {
    await browser.deleteSession().catch(() => undefined);
  }
}

try {
  await main();
} catch (err) {
  failed = true;
  console.error(`app end-to-end FAILED: ${err.stack ?? err}`);
} finally {
  for (const child of children.reverse()) child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  if (failed) {
    console.log(`kept for inspection: ${work} (app log in app/logs/)`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`screenshots: ${artifacts}`);
  process.exit(failed ? 1 : 0);
}

// End-to-end test of the built desktop app in a real WebView (WebKitWebDriver through
// tauri-driver, under Xvfb), against an arx-node started here, with headless `arx` clients as
// the other people. Files go through two Kubo (IPFS) daemons started here and joined only to
// each other: the app uses the first, the CLI people the second. Screenshots of every step go
// to $ARX_E2E_ARTIFACTS.
//
// Needs: ARX_APP_BIN (the app built with `npx tauri build --debug --no-bundle`), ARX_BIN (the
// `arx` CLI), ARX_NODE_BIN (`arx-node`), ARX_KUBO_BIN (Kubo's `ipfs`, from
// scripts/build-kubo.sh), `tauri-driver` on PATH, and a display (DISPLAY, or Xvfb to start one).
// scripts/test-app.sh sets these up.

import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { remote } from "webdriverio";
import { decodeImage, freePort, need, pngImage, portOpen, waitForPort } from "./lib.mjs";

const run = promisify(execFile);
const appBin = need("ARX_APP_BIN");
const arxBin = need("ARX_BIN");
const nodeBin = need("ARX_NODE_BIN");
const kuboBin = need("ARX_KUBO_BIN");
const artifacts = process.env.ARX_E2E_ARTIFACTS ?? join(process.cwd(), "target", "app-e2e");
mkdirSync(artifacts, { recursive: true });

const work = mkdtempSync(join(tmpdir(), "arx-app-e2e-"));
const children = [];
let failed = false;

function step(text) {
  console.log(`== ${text}`);
}



function start(command, args, env = {}, stdout = "inherit") {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
  children.push(child);
  return child;
}

/** A headless person: the `arx` CLI with its own data dir, its files through Kubo at `ipfsUrl`. */
function cli(name, url, ipfsUrl) {
  const dir = join(work, name);
  const arx = async (...args) => {
    const argv = ["--data-dir", dir, "--node", url, "--ipfs", ipfsUrl, "--json", ...args];
    try {
      const { stdout } = await run(arxBin, argv);
      return JSON.parse(stdout.trim());
    } catch (err) {
      const said = `${err.stdout ?? ""}${err.stderr ?? ""}`.trim();
      throw new Error(`${name}: arx ${args.join(" ")} failed: ${said || err.message}`);
    }
  };
  return { name, arx };
}

/**
 * A Kubo (IPFS) daemon with its own repository, on loopback only (the `test` profile: random
 * ports, no bootstrap peers, no discovery). Stopped at the end with the other processes.
 */
async function kubo(name) {
  const repo = join(work, name);
  mkdirSync(repo, { recursive: true });
  const ipfs = async (...args) => {
    try {
      const { stdout } = await run(kuboBin, args, { env: { ...process.env, IPFS_PATH: repo } });
      return stdout;
    } catch (err) {
      throw new Error(`${name}: ipfs ${args.join(" ")} failed: ${err.stderr || err.message}`);
    }
  };
  await ipfs("init", "--profile=test");
  const daemon = start(kuboBin, ["daemon", "--enable-gc=false"], { IPFS_PATH: repo }, "ignore");
  // The daemon writes its API address once it listens (a loaded machine takes a while).
  const apiFile = join(repo, "api");
  const apiUrl = await until(
    `${name}'s API (${apiFile}) to answer`,
    async () => {
      if (daemon.exitCode !== null) throw new Error(`ipfs daemon exited with ${daemon.exitCode}`);
      if (!existsSync(apiFile)) return null;
      const match = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)/.exec(readFileSync(apiFile, "utf8").trim());
      if (match === null) return null;
      return (await portOpen(Number(match[1]))) ? `http://127.0.0.1:${match[1]}` : null;
    },
    60_000,
  );
  const addresses = await ipfs("id", "-f", "<addrs>");
  let swarm = addresses
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line.startsWith("/ip4/127.0.0.1/tcp/"));
  if (!swarm) {
    throw new Error(`${name} has no loopback swarm address; ipfs id said: ${JSON.stringify(addresses)}`);
  }
  if (!swarm.includes("/p2p/")) swarm = `${swarm}/p2p/${(await ipfs("id", "-f", "<id>")).trim()}`;
  return { name, apiUrl, swarm, ipfs };
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

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * Files, reactions and replies in the app's open DM with `bob` (the CLI): the app sends a
 * picture and another file through its Kubo daemon, bob fetches them through his; bob sends a
 * photo the app shows; the app reacts to it and answers it.
 */
async function mediaSteps({ browser, bob, dmId, byTest, shot }) {
  const media = join(work, "media");
  mkdirSync(media, { recursive: true });
  const bobMessages = async () => {
    await bob.arx("sync");
    return (await bob.arx("messages", dmId)).messages;
  };
  const summary = (messages) =>
    JSON.stringify(
      messages.map(({ id, text, attachments, reply_to, reactions }) => ({
        id,
        text,
        files: attachments.map((a) => `${a.name} ${a.mime_type} ${a.width}x${a.height}`),
        reply_to,
        reactions,
      })),
    );
  // The composer's file input is hidden (the attach button opens it), and WebDriver only sends
  // a path to an input it can interact with: show it first.
  const attach = async (path) => {
    const input = await byTest("attach-input");
    await browser.execute((element) => {
      element.hidden = false;
      element.style.display = "block";
    }, input);
    await input.addValue(path);
  };
  /** An element's text as the DOM holds it (WebDriver's visible text can leave parts out). */
  const textOf = (element) => browser.execute((e) => e.textContent ?? "", element);
  /** The app's own sent message holding `selector` and passing `check`, if there is one. */
  const sentWith = async (selector, check = async () => true) => {
    const items = await browser.$$('[data-testid="message"][data-mine="true"][data-status="sent"]');
    for (const item of items) {
      if ((await (await item.$(selector)).isExisting()) && (await check(item))) return item;
    }
    return null;
  };

  step("the app sends a picture; the CLI downloads it, re-encoded at the same size");
  const picture = { name: "app-picture.png", width: 48, height: 32 };
  const picturePath = join(media, picture.name);
  writeFileSync(picturePath, pngImage(picture.width, picture.height));
  await attach(picturePath);
  await until(
    "the picture to be sent by the app",
    () => sentWith('[data-testid="image-preview"]'),
    60_000,
  );
  await shot("03a-app-sent-picture");
  const bobPicture = await until(
    "bob to receive the picture",
    async () =>
      (await bobMessages()).find(
        (m) => !m.mine && m.attachments.some((a) => a.mime_type.startsWith("image/")),
      ) ?? null,
    60_000,
  );
  const [described] = bobPicture.attachments;
  if (described.width !== picture.width || described.height !== picture.height) {
    throw new Error(
      `bob's message describes the picture as ${described.width}x${described.height}, expected ${picture.width}x${picture.height}: ${JSON.stringify(described)}`,
    );
  }
  const pictureOut = join(media, "bob-downloaded-picture");
  await bob.arx("download", String(bobPicture.id), "--out", pictureOut);
  let decoded;
  try {
    decoded = decodeImage(readFileSync(pictureOut));
  } catch (err) {
    throw new Error(`bob's download of the picture is not a readable image: ${err.message}`);
  }
  if (decoded.width !== picture.width || decoded.height !== picture.height) {
    throw new Error(
      `bob downloaded a ${decoded.format} of ${decoded.width}x${decoded.height}, expected ${picture.width}x${picture.height}`,
    );
  }

  step("the app sends a file that is not an image; the CLI downloads the same bytes");
  const dataName = "app-data.bin";
  const dataPath = join(media, dataName);
  const data = randomBytes(200 * 1024);
  writeFileSync(dataPath, data);
  await attach(dataPath);
  await until(
    "the file to be sent by the app",
    () =>
      sentWith('[data-testid="file-card"]', async (item) =>
        browser.execute((element, name) => element.textContent.includes(name), item, dataName),
      ),
    60_000,
  );
  await shot("03b-app-sent-file");
  const bobFile = await until(
    "bob to receive the file",
    async () =>
      (await bobMessages()).find((m) => m.attachments.some((a) => a.name === dataName)) ?? null,
    60_000,
  );
  const fileOut = join(media, "bob-downloaded-file");
  await bob.arx("download", String(bobFile.id), "--out", fileOut);
  const downloaded = readFileSync(fileOut);
  if (!downloaded.equals(data)) {
    throw new Error(
      `bob's download of ${dataName} differs from what the app sent: ${downloaded.length} bytes, sha256 ${sha256(downloaded)}; expected ${data.length} bytes, sha256 ${sha256(data)}`,
    );
  }

  step("the CLI sends a photo; the app shows its thumbnail");
  const photoName = "bob-photo.png";
  const photoPath = join(media, photoName);
  writeFileSync(photoPath, pngImage(40, 56));
  const sentPhoto = await bob.arx("send", dmId, "a photo", "--file", photoPath);
  const photoSelector = await until(
    "the photo's thumbnail in the app",
    async () => {
      for (const item of await browser.$$('[data-testid="message"][data-mine="false"]')) {
        const preview = await item.$('[data-testid="image-preview"]');
        if (!(await preview.isExisting()) || !(await textOf(item)).includes("a photo")) continue;
        // Re-encoded for sending: a PNG without transparency goes as bob-photo.jpg.
        const label = await preview.getAttribute("aria-label");
        if (!/^Open image bob-photo\.(png|jpg)$/.test(label ?? "")) {
          throw new Error(
            `the photo's preview is labelled "${label}", expected "Open image bob-photo.jpg" (or .png)`,
          );
        }
        // The thumbnail itself, not the placeholder shown without one.
        if (!(await (await preview.$("img")).isExisting())) {
          throw new Error("the photo shows a placeholder, not its thumbnail");
        }
        return `[data-testid="message"][data-message-id="${await item.getAttribute("data-message-id")}"]`;
      }
      return null;
    },
    60_000,
  );
  await shot("03c-cli-photo-shown");

  step("the app reacts to the photo and answers it; the CLI sees both");
  // A message's actions show while it is hovered or focused.
  const act = async (label) => {
    const message = await browser.$(photoSelector);
    await message.scrollIntoView({ block: "center" });
    await browser.execute((element) => element.focus(), message);
    await message.moveTo();
    const button = await message.$(`button[aria-label="${label}"]`);
    await button.waitForClickable({
      timeout: 10_000,
      timeoutMsg: `the photo's "${label}" action did not become clickable`,
    });
    await button.click();
  };
  await act("React");
  const thumbsUp = await browser.$('[aria-label="React with thumbs up"]');
  await thumbsUp.waitForClickable({
    timeout: 10_000,
    timeoutMsg: 'the reaction picker did not offer "React with thumbs up"',
  });
  await thumbsUp.click();
  await until("the reaction under the photo in the app", async () => {
    const message = await browser.$(photoSelector);
    for (const chip of await message.$$(".reaction-chip")) {
      if ((await textOf(chip)).includes("👍")) return true;
    }
    return false;
  });
  await act("Reply");
  await (await byTest("composer-mode")).waitForDisplayed({
    timeout: 10_000,
    timeoutMsg: "the composer did not switch to replying",
  });
  await (await byTest("composer-input")).setValue("nice photo");
  await browser.keys("Enter");
  await until("the reply to be sent by the app", () =>
    sentWith('[data-testid="reply-quote"]', async (item) =>
      (await textOf(item)).includes("nice photo"),
    ),
  );
  await shot("03d-reaction-and-reply");
  await until(
    "bob to see the reaction and the reply",
    async () => {
      const messages = await bobMessages();
      const photo = messages.find((m) => m.id === sentPhoto.message_id);
      if (!photo) {
        throw new Error(`bob's photo message ${sentPhoto.message_id} is missing: ${summary(messages)}`);
      }
      const thumbs = photo.reactions.find((r) => r.emoji === "👍");
      if (!thumbs || thumbs.count !== 1) {
        throw new Error(`expected 👍 x1 on the photo, saw ${JSON.stringify(photo.reactions)}`);
      }
      const reply = messages.find((m) => m.text === "nice photo");
      if (!reply) throw new Error(`no message "nice photo" yet: ${summary(messages)}`);
      if (reply.reply_to !== photo.id) {
        throw new Error(`"nice photo" answers message ${reply.reply_to}, expected the photo ${photo.id}`);
      }
      return true;
    },
    60_000,
  );
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

  step("starting two Kubo daemons joined only to each other (the app's and the CLI's)");
  const appKubo = await kubo("kubo-app");
  const cliKubo = await kubo("kubo-cli");
  await cliKubo.ipfs("swarm", "connect", appKubo.swarm);

  step("two headless people register with the CLI");
  const bob = cli("bob", url, cliKubo.apiUrl);
  const carol = cli("carol", url, cliKubo.apiUrl);
  const bobId = await bob.arx("init");
  const carolId = await carol.arx("init");

  step("starting tauri-driver");
  const driverPort = await freePort();
  const appData = join(work, "app");
  start("tauri-driver", ["--port", String(driverPort)], {
    DISPLAY: display,
    ARX_NODE_URL: url,
    ARX_DATA_DIR: appData,
    ARX_IPFS_API: appKubo.apiUrl,
    // GL compositing on, whatever the machine: without it (ARX's choice where there is no GPU,
    // as under Xvfb here) WebKitWebDriver's screenshot command never answers (WebKitGTK 2.50).
    // The app benchmark drives the app without GL compositing through WebDriver.
    WEBKIT_DISABLE_COMPOSITING_MODE: "0",
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

    await mediaSteps({ browser, bob, dmId, byTest, shot });

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
    const dave = cli("dave", url, cliKubo.apiUrl);
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

    step("a second start with an arx:// link hands it to the running app, which opens that DM");
    const second = await run(appBin, [`arx://dm/${carolId.wallet}`], {
      env: { ...process.env, DISPLAY: display, ARX_NODE_URL: url, ARX_DATA_DIR: appData },
      timeout: 30_000,
    }).catch((err) => {
      throw new Error(`the second start did not hand over and exit: ${err.stderr || err.message}`);
    });
    if (!/already open/.test(second.stderr)) {
      throw new Error(`the second start said: ${second.stderr}`);
    }
    await until("the DM with carol to open", async () => {
      const title = await (await browser.$("main h1")).getAttribute("title");
      return title?.toLowerCase() === carolId.wallet.toLowerCase();
    });
    await shot("08-link-opened-dm");
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
  // Give them a moment to exit (the Kubo daemons write to their repositories until they do).
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((resolve) => {
            child.once("exit", resolve);
            setTimeout(resolve, 5000);
          }),
    ),
  );
  if (failed) {
    console.log(`kept for inspection: ${work} (app log in app/logs/)`);
  } else {
    try {
      rmSync(work, { recursive: true, force: true });
    } catch (err) {
      console.log(`could not remove ${work}: ${err.message}`);
    }
  }
  console.log(`screenshots: ${artifacts}`);
  process.exit(failed ? 1 : 0);
}

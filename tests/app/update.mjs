// The auto-update, end to end, as a person meets it: version A is installed from its .deb and
// runs (driven through WebDriver, on a fresh profile with an account); a local HTTP server
// plays the release server (a manifest per channel, the packages, their .sig files). A refuses
// what it must refuse, with a clear message and A still installed and running:
//   an unreachable server, a manifest offering an older version, a tampered package (one byte
//   flipped, the genuine signature), and a package signed with another key.
// Then the beta channel offers B: A finds it, downloads it with a progress bar, verifies it,
// installs it, and on "Restart to update" comes back as B, with the same account.
// Needs root (dpkg). Called by scripts/test-app.sh:
//
//   node tests/app/update.mjs <dir> <arx-node binary> <artifacts dir>
//
// where <dir> holds a.deb (version A), b.deb and b.deb.sig (B, signed with the key A trusts),
// b-wrong-key.deb.sig (B signed with another key) and versions.json ({"a": "...", "b": "..."}).

import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { remote } from "webdriverio";
import { freePort, waitForPort } from "./lib.mjs";

const [dirArg, nodeBin, artifacts] = process.argv.slice(2);
if (!dirArg || !nodeBin || !artifacts) {
  console.error("usage: update.mjs <dir> <arx-node binary> <artifacts dir>");
  process.exit(2);
}
const dir = resolve(dirArg);
const versions = JSON.parse(readFileSync(join(dir, "versions.json"), "utf8"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
const work = mkdtempSync(join(tmpdir(), "arx-update-"));
const appBin = "/usr/bin/arx-messenger";
mkdirSync(artifacts, { recursive: true });

function step(text) {
  console.log(`== update: ${text}`);
}

function run(command, args) {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function start(command, args, env = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

const packageName = run("dpkg-deb", ["--field", join(dir, "a.deb"), "Package"]).trim();

function installedVersion() {
  try {
    return run("dpkg-query", ["--show", "--showformat=${Version}", packageName]).trim();
  } catch {
    return null;
  }
}

function remove() {
  if (installedVersion() !== null) run("apt-get", ["remove", "-y", "-qq", packageName]);
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
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** Process ids of the installed app, however it was started. */
function appPids() {
  try {
    return run("pgrep", ["-x", "arx-messenger"]).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The release server. `channels` maps a channel to its manifest (or "unreachable": the
 * connection is dropped); packages are streamed slowly enough for the progress bar to show.
 */
function releaseServer() {
  const channels = new Map();
  const files = new Map();
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, "http://x").pathname.slice(1));
    const channel = name.endsWith(".json") ? channels.get(name.slice(0, -5)) : undefined;
    if (channel === "unreachable") {
      req.socket.destroy();
      return;
    }
    if (channel !== undefined) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(channel));
      return;
    }
    const bytes = files.get(name);
    if (bytes === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.length),
    });
    // About three seconds whatever the size, in 40 pieces.
    const piece = Math.ceil(bytes.length / 40);
    let offset = 0;
    const next = () => {
      if (offset >= bytes.length) {
        res.end();
        return;
      }
      res.write(bytes.subarray(offset, offset + piece));
      offset += piece;
      setTimeout(next, 75);
    };
    next();
  });
  return { server, channels, files };
}

function manifest(version, url, signature) {
  const platform = { url, signature };
  return {
    version,
    notes: `ARX ${version} (update test)`,
    pub_date: new Date().toISOString(),
    platforms: { "linux-x86_64-deb": platform, "linux-x86_64": platform },
  };
}

async function main() {
  if (installedVersion() !== null) throw new Error(`${packageName} is installed already: remove it first`);
  let display = process.env.DISPLAY;
  if (!display) {
    display = ":95";
    start("Xvfb", [display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"]);
    await sleep(1000);
  }
  const nodePort = await freePort();
  start(nodeBin, ["--listen", `127.0.0.1:${nodePort}`, "--data-dir", join(work, "node")]);
  await waitForPort(nodePort, "arx-node");

  const { server, channels, files } = releaseServer();
  const serverPort = await freePort();
  await new Promise((ok) => server.listen(serverPort, "127.0.0.1", ok));
  const base = `http://127.0.0.1:${serverPort}`;
  const bDeb = readFileSync(join(dir, "b.deb"));
  const tampered = Buffer.from(bDeb);
  // One byte in the middle of the package's data archive.
  tampered[Math.floor(tampered.length / 2)] ^= 0x01;
  files.set("b.deb", bDeb);
  files.set("b-tampered.deb", tampered);
  const goodSignature = readFileSync(join(dir, "b.deb.sig"), "utf8").trim();
  const wrongSignature = readFileSync(join(dir, "b-wrong-key.deb.sig"), "utf8").trim();

  step(`install version ${versions.a} from its .deb`);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", join(dir, "a.deb")]);
  if (installedVersion() !== versions.a) throw new Error(`dpkg has ${installedVersion()}, not ${versions.a}`);

  const profile = join(work, "profile");
  const ready = join(work, "ready");
  const driverPort = await freePort();
  start("tauri-driver", ["--port", String(driverPort)], {
    DISPLAY: display,
    ARX_NODE_URL: `http://127.0.0.1:${nodePort}`,
    ARX_DATA_DIR: profile,
    ARX_UPDATE_URL: base,
    ARX_READY_FILE: ready,
    // See e2e.mjs: WebKitWebDriver's screenshots need GL compositing.
    WEBKIT_DISABLE_COMPOSITING_MODE: "0",
  });
  await waitForPort(driverPort, "tauri-driver");
  const session = () =>
    remote({
      hostname: "127.0.0.1",
      port: driverPort,
      logLevel: "warn",
      capabilities: { "tauri:options": { application: appBin } },
    });

  let browser = await session();
  const byTest = (id) => browser.$(`[data-testid="${id}"]`);
  const shot = (name) => browser.saveScreenshot(join(artifacts, `update-${name}.png`));
  const statusText = async () => (await byTest("update-status")).getText();
  const openUpdates = async () => {
    await (await browser.$('button[aria-label="Settings"]')).click();
    await (await byTest("update-check")).waitForDisplayed({ timeout: 30_000 });
  };
  const checkNow = async () => {
    await (await byTest("update-check")).waitForClickable({ timeout: 30_000 });
    await (await byTest("update-check")).click();
    // "Checking…" then a result.
    await until("the check to finish", async () => !(await statusText()).includes("Checking"), 90_000);
    return statusText();
  };
  const refused = async (what, pattern) => {
    await (await byTest("update-install")).waitForClickable({ timeout: 30_000 });
    await (await byTest("update-install")).click();
    const said = await until(`${what} to be refused`, async () => {
      const text = await statusText();
      return pattern.test(text) ? text : null;
    }, 90_000);
    console.log(`   refused (${what}): ${said}`);
    if (installedVersion() !== versions.a) throw new Error(`after ${what}, dpkg has ${installedVersion()}`);
    if (appPids().length === 0) throw new Error(`after ${what}, the app is not running`);
    if (await (await byTest("update-restart")).isExisting()) throw new Error(`after ${what}, it offers a restart`);
  };

  try {
    step("onboard version A with a built-in key");
    await (await byTest("onboard-create-key")).waitForClickable({ timeout: 60_000 });
    await (await byTest("onboard-create-key")).click();
    const address = await until("the account address", async () => {
      const text = await (await byTest("account-address")).getAttribute("title");
      return /^0x[0-9a-fA-F]{40}$/.test(text ?? "") ? text : null;
    });
    await openUpdates();
    const shown = await (await byTest("update-version")).getText();
    if (!shown.includes(versions.a)) throw new Error(`Settings shows "${shown}", not ${versions.a}`);

    step("an unreachable server: a clear message");
    channels.set("stable", "unreachable");
    let said = await checkNow();
    if (!/could not be reached/.test(said)) throw new Error(`unreachable server: "${said}"`);
    console.log(`   ${said}`);

    step("a manifest offering an older version: refused");
    channels.set("stable", manifest("0.0.1", `${base}/b.deb`, goodSignature));
    said = await checkNow();
    if (!/older than this/.test(said)) throw new Error(`downgrade: "${said}"`);
    console.log(`   ${said}`);

    step("nothing newer on stable; the beta channel has B");
    channels.set("stable", manifest(versions.a, `${base}/b.deb`, goodSignature));
    said = await checkNow();
    if (!/up to date/.test(said)) throw new Error(`stable: "${said}"`);
    await (await browser.$('input[name="update-channel"][value="beta"]')).click();
    await shot("01-channel-beta");

    step("a tampered package (one byte flipped, genuine signature): refused, A untouched");
    channels.set("beta", manifest(versions.b, `${base}/b-tampered.deb`, goodSignature));
    said = await checkNow();
    if (!said.includes(`${versions.b} is available`)) throw new Error(`beta: "${said}"`);
    await refused("the tampered package", /does not match its signature/);
    await shot("02-tampered-refused");

    step("a package signed with another key: refused, A untouched");
    channels.set("beta", manifest(versions.b, `${base}/b.deb`, wrongSignature));
    await checkNow();
    await refused("the wrong-key signature", /does not match its signature/);

    step("the genuine B: downloaded with progress, verified, installed");
    channels.set("beta", manifest(versions.b, `${base}/b.deb`, goodSignature));
    await checkNow();
    await (await byTest("update-install")).click();
    const bar = await browser.$('progress[aria-label^="Downloading"]');
    await bar.waitForExist({ timeout: 30_000 });
    await shot("03-downloading");
    const restart = await byTest("update-restart");
    await restart.waitForClickable({ timeout: 180_000 });
    await shot("04-ready");
    if (installedVersion() !== versions.b) throw new Error(`after the install, dpkg has ${installedVersion()}`);

    step("restart to update: B comes back with the same profile");
    const before = appPids();
    rmSync(ready, { force: true });
    try {
      await restart.click();
    } catch {
      // The app restarts at once, so the click's own answer may never come: the session is gone.
    }
    await until("version A to exit", () => before.every((pid) => !appPids().includes(pid)), 60_000);
    await until("B's first screen", () => existsSync(ready) && readFileSync(ready, "utf8").endsWith("\n"), 120_000);
    const log = readFileSync(join(profile, "logs", "arx-default.log"), "utf8");
    const starts = log.split("\n").filter((l) => l.includes("ARX Messenger starting"));
    if (!starts.at(-1)?.includes(`version=${versions.b}`)) {
      throw new Error(`the restarted app is not ${versions.b}: ${starts.at(-1)}`);
    }
    // The restarted app is not under WebDriver: stop it and open B in a new session.
    try {
      await browser.deleteSession();
    } catch {
      // The session's app is gone already.
    }
    for (const pid of appPids()) run("kill", [pid]);
    await until("B to stop", () => appPids().length === 0, 30_000);
    browser = await session();
    await until("the same account in B", async () => {
      const text = await (await byTest("account-address")).getAttribute("title");
      return text === address;
    }, 60_000);
    await openUpdates();
    const nowShown = await (await byTest("update-version")).getText();
    if (!nowShown.includes(versions.b)) throw new Error(`B's Settings shows "${nowShown}"`);
    await shot("05-updated");
    console.log(`updated ${versions.a} → ${versions.b} in place; the account ${address} is intact`);
  } finally {
    try {
      await browser.deleteSession();
    } catch {
      // Already closed.
    }
    server.close();
  }
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`update test FAILED: ${err.stack ?? err}`);
} finally {
  for (const pid of appPids()) {
    try {
      run("kill", [pid]);
    } catch {
      // Gone.
    }
  }
  try {
    remove();
  } catch (err) {
    console.error(`could not remove ${packageName}: ${err}`);
  }
  for (const child of children.reverse()) child.kill("SIGTERM");
  await sleep(300);
  rmSync(work, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

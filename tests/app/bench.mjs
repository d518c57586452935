// Desktop app benchmarks, each beside a bare Tauri window measured in the same run:
// - start-up: process start to the first interactive screen (the page's first script for the
//   bare window; the UI's `ui_ready` for ARX), median of several launches, plus one launch after
//   dropping the OS page cache when this user may (root);
// - memory: PSS summed over the app's processes (the app, WebKitWebProcess,
//   WebKitNetworkProcess, …), idle, and for ARX also with a 10,000-message conversation open.
//
// Needs: ARX_APP_BIN and ARX_BARE_BIN (release builds), ARX_BIN, ARX_NODE_BIN, `tauri-driver`
// on PATH, and a display (DISPLAY, or Xvfb). scripts/bench-app.sh sets these up. Prints a
// Markdown table for docs/BENCHMARKS.md.

import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { remote } from "webdriverio";
import { freePort, need, waitForPort } from "./lib.mjs";

const appBin = need("ARX_APP_BIN");
const bareBin = need("ARX_BARE_BIN");
const arxBin = need("ARX_BIN");
const nodeBin = need("ARX_NODE_BIN");
const launches = Number(process.env.ARX_BENCH_LAUNCHES ?? 5);
const bigConversation = Number(process.env.ARX_BENCH_MESSAGES ?? 10_000);

const work = mkdtempSync(join(tmpdir(), "arx-app-bench-"));
const children = [];

function start(command, args, env = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));



/** Every process below `root` (WebKit's helpers are children of the app, or of its children). */
function processTree(root) {
  const parents = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may contain spaces; the parent pid follows the closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/** PSS summed over the process tree of `root`, in MiB, with the processes counted. */
function pssMiB(root) {
  let kib = 0;
  const names = [];
  for (const pid of processTree(root)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const match = /^Pss:\s+(\d+) kB/m.exec(rollup);
      const own = match ? Number(match[1]) : 0;
      kib += own;
      names.push(`${readFileSync(`/proc/${pid}/comm`, "utf8").trim()} ${(own / 1024).toFixed(0)} MiB`);
    } catch {
      // Gone, or not ours.
    }
  }
  return { mib: kib / 1024, processes: names };
}

function dropCaches() {
  try {
    execFileSync("sync");
    writeFileSync("/proc/sys/vm/drop_caches", "3\n");
    return true;
  } catch {
    return false;
  }
}

/** Launches `bin`, waits for its ready file; returns the wall time from spawn, and the child. */
async function launch(bin, args, env) {
  const readyFile = join(work, `ready-${Date.now()}-${Math.random()}`);
  const started = process.hrtime.bigint();
  const child = start(bin, args, { ...env, ARX_READY_FILE: readyFile });
  for (;;) {
    if (existsSync(readyFile) && readFileSync(readyFile, "utf8").endsWith("\n")) break;
    if (child.exitCode !== null) throw new Error(`${bin} exited with ${child.exitCode}`);
    if (Number(process.hrtime.bigint() - started) > 120e9) throw new Error(`${bin} never got ready`);
    await sleep(5);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, child };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(50);
  if (child.exitCode === null) child.kill("SIGKILL");
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Start-up times (median and the first launch after dropping caches) and idle memory. */
async function measure(label, bin, args, env) {
  const times = [];
  let idle = null;
  let cold = null;
  if (dropCaches()) {
    const first = await launch(bin, args, env);
    cold = first.ms;
    await stop(first.child);
  }
  for (let i = 0; i < launches; i++) {
    const { ms, child } = await launch(bin, args, env);
    times.push(ms);
    if (i === launches - 1) {
      await sleep(5_000);
      idle = pssMiB(child.pid);
    }
    await stop(child);
  }
  console.error(`${label}: start ${times.map((t) => t.toFixed(0)).join(", ")} ms; idle ${idle.mib.toFixed(0)} MiB over ${idle.processes.join(", ")}`);
  // Where ARX's start went (its log: the engine's open, and the page's marks with ui_ready).
  if (env.ARX_DATA_DIR !== undefined) {
    const log = join(env.ARX_DATA_DIR, "logs", "arx-default.log");
    if (existsSync(log)) {
      const lines = readFileSync(log, "utf8").split("\n");
      const last = (text) => lines.filter((l) => l.includes(text)).at(-1)?.replace(/^.*?INFO /, "");
      console.error(`${label}, last launch: ${last("engine open")} | ${last("first screen ready")}`);
    }
  }
  return { start: median(times), cold, idle };
}

function cli(name, url, dir = join(work, name)) {
  return async (args, input) => {
    const child = spawn(arxBin, ["--data-dir", dir, "--node", url, "--json", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end(input ?? "");
    const out = await new Promise((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("close", (code) =>
        code === 0
          ? resolve(stdout)
          : reject(new Error(`arx ${args.join(" ")} exited ${code}: ${stdout}${stderr}`)),
      );
    });
    return JSON.parse(out.trim().split("\n").pop());
  };
}

/**
 * Launches ARX through WebDriver with `env`, opens the 10,000-message DM (accepting its request
 * the first time), scrolls up through five pages of older messages, and returns the memory of
 * the app's processes.
 */
async function openBigConversation(env, fromRequests) {
  const driverPort = await freePort();
  const driver = start("tauri-driver", ["--port", String(driverPort)], env);
  await waitForPort(driverPort, "tauri-driver");
  const browser = await remote({
    hostname: "127.0.0.1",
    port: driverPort,
    logLevel: "warn",
    capabilities: { "tauri:options": { application: appBin } },
  });
  try {
    if (fromRequests) {
      // bob started the DM, so it waits in Requests: open it there and accept it.
      const requests = await browser.$("aria/Requests");
      await requests.waitForClickable({ timeout: 60_000 });
      await requests.click();
      const item = await browser.$('[data-testid="request-item"]');
      await item.waitForClickable({ timeout: 60_000 });
      await item.click();
      const accept = await browser.$("button=Accept");
      await accept.waitForClickable({ timeout: 60_000 });
      await accept.click();
    } else {
      const item = await browser.$('[data-testid="conversation-item"]');
      await item.waitForClickable({ timeout: 60_000 });
      await item.click();
    }
    await browser.$('[data-testid="message"]').waitForDisplayed({ timeout: 60_000 });
    // Scroll up through a few pages, so older messages load as a reader would.
    for (let i = 0; i < 5; i++) {
      await browser.execute(() => {
        const list = document.querySelector('[data-testid="message-list"]');
        if (list) list.scrollTop = 0;
      });
      await sleep(1_000);
    }
    await sleep(5_000);
    const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
    const app = pids
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === appBin;
        } catch {
          return false;
        }
      })
      .sort((a, b) => b - a)[0];
    const memory = pssMiB(app);
    console.error(`ARX with the big conversation open (${JSON.stringify(env.WEBKIT_DISABLE_COMPOSITING_MODE ?? "ARX's choice")}): ${memory.mib.toFixed(0)} MiB over ${memory.processes.join(", ")}`);
    return memory;
  } finally {
    await browser.deleteSession().catch(() => undefined);
    driver.kill("SIGTERM");
  }
}

async function main() {
  let display = process.env.DISPLAY;
  if (!display) {
    display = ":98";
    start("Xvfb", [display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"]);
    await sleep(1000);
  }
  const env = { DISPLAY: display };

  const nodePort = await freePort();
  start(nodeBin, ["--listen", `127.0.0.1:${nodePort}`, "--data-dir", join(work, "node")]);
  await waitForPort(nodePort, "arx-node");
  const url = `http://127.0.0.1:${nodePort}`;

  // A bare Tauri window, and ARX on first run (the onboarding screen).
  const bare = await measure("bare window", bareBin, [], env);
  const firstRunDir = join(work, "first-run");
  const firstRun = await measure("ARX, first run", appBin, [], {
    ...env,
    ARX_DATA_DIR: firstRunDir,
    ARX_NODE_URL: url,
  });

  // ARX signed in, with a 10,000-message DM from bob (made with the CLI, then synced).
  const appData = join(work, "app");
  const engineDir = join(appData, "profiles", "default", "engine");
  mkdirSync(engineDir, { recursive: true });
  const me = cli("me", url, engineDir);
  const bob = cli("bob", url);
  const meId = await me(["init"]);
  await bob(["init"]);
  const { conversation } = await bob(["dm", meId.wallet]);
  const lines = Array.from({ length: bigConversation }, (_, i) => `message ${i + 1} of ${bigConversation}: the quick brown fox jumps over the lazy dog`).join("\n");
  const filled = Date.now();
  await bob(["send", conversation, "-"], lines);
  const synced = await me(["sync"]);
  console.error(`filled ${bigConversation} messages in ${((Date.now() - filled) / 1000).toFixed(1)} s (sync: ${JSON.stringify(synced)})`);
  const signedIn = await measure("ARX, signed in", appBin, [], {
    ...env,
    ARX_DATA_DIR: appData,
    ARX_NODE_URL: url,
  });

  // The same, with the big conversation open: as ARX chooses its rendering, then with WebKit's
  // GL compositing forced on (WEBKIT_DISABLE_COMPOSITING_MODE=0) for comparison.
  const open = await openBigConversation({ ...env, ARX_DATA_DIR: appData, ARX_NODE_URL: url }, true);
  const openGl = await openBigConversation(
    { ...env, ARX_DATA_DIR: appData, ARX_NODE_URL: url, WEBKIT_DISABLE_COMPOSITING_MODE: "0" },
    false,
  );
  // The bare window without GL compositing: the like-for-like reference where ARX turns it off.
  const bareNoGl = await measure("bare window, no GL compositing", bareBin, [], {
    ...env,
    WEBKIT_DISABLE_COMPOSITING_MODE: "1",
  });

  const f = (v) => (v === null ? "n/a" : v.toFixed(0));
  console.log("| measure | ARX | bare Tauri window | ratio |");
  console.log("|---|---:|---:|---:|");
  console.log(`| start-up to first screen, first run (median of ${launches}), ms | ${f(firstRun.start)} | ${f(bare.start)} | ${(firstRun.start / bare.start).toFixed(2)} |`);
  console.log(`| start-up to first screen, signed in with a ${bigConversation}-message DM (median of ${launches}), ms | ${f(signedIn.start)} | ${f(bare.start)} | ${(signedIn.start / bare.start).toFixed(2)} |`);
  if (bare.cold !== null) {
    console.log(`| start-up after dropping the page cache, signed in, ms | ${f(signedIn.cold)} | ${f(bare.cold)} | ${(signedIn.cold / bare.cold).toFixed(2)} |`);
  }
  console.log(`| — like for like: first run, both without GL compositing, ms | ${f(firstRun.start)} | ${f(bareNoGl.start)} | ${(firstRun.start / bareNoGl.start).toFixed(2)} |`);
  console.log(`| — like for like: signed in, both without GL compositing, ms | ${f(signedIn.start)} | ${f(bareNoGl.start)} | ${(signedIn.start / bareNoGl.start).toFixed(2)} |`);
  console.log(`| memory idle (PSS, all processes), signed in, MiB | ${f(signedIn.idle.mib)} | ${f(bare.idle.mib)} | ${(signedIn.idle.mib / bare.idle.mib).toFixed(2)} |`);
  console.log(`| memory with the ${bigConversation}-message DM open, MiB | ${f(open.mib)} | ${f(bare.idle.mib)} | ${(open.mib / bare.idle.mib).toFixed(2)} |`);
  console.log(`| memory with the DM open, both with GL compositing on, MiB | ${f(openGl.mib)} | ${f(bare.idle.mib)} | ${(openGl.mib / bare.idle.mib).toFixed(2)} |`);
  console.log(`| memory with the DM open, both without GL compositing, MiB | ${f(open.mib)} | ${f(bareNoGl.idle.mib)} | ${(open.mib / bareNoGl.idle.mib).toFixed(2)} |`);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`app benchmark FAILED: ${err.stack ?? err}`);
} finally {
  for (const child of children.reverse()) child.kill("SIGTERM");
  await sleep(500);
  if (failed) console.error(`kept for inspection: ${work}`);
  else rmSync(work, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

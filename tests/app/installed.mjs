// The .deb as a person installs it: apt installs it (with its dependencies), the installed
// /usr/bin/arx-messenger starts under Xvfb on a fresh profile and reaches its first screen
// (the UI's `ui_ready`, written to ARX_READY_FILE), then the package is removed and nothing of
// it is left in /usr. Needs root. Called by scripts/test-app.sh:
//
//   node tests/app/installed.mjs <package.deb> <arx-node binary> <artifacts dir>

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, waitForPort } from "./lib.mjs";

const [debArg, nodeBin, artifacts] = process.argv.slice(2);
if (!debArg || !nodeBin || !artifacts) {
  console.error("usage: installed.mjs <package.deb> <arx-node binary> <artifacts dir>");
  process.exit(2);
}
const deb = resolve(debArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
const work = mkdtempSync(join(tmpdir(), "arx-installed-"));

function run(command, args) {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const packageName = run("dpkg-deb", ["--field", deb, "Package"]).trim();
const installedFiles = ["/usr/bin/arx-messenger", "/usr/lib/arx-messenger/ipfs"];

function installed() {
  try {
    return run("dpkg-query", ["--show", "--showformat=${Status}", packageName]).includes("installed");
  } catch {
    return false;
  }
}

function remove() {
  if (installed()) run("apt-get", ["remove", "-y", "-qq", packageName]);
}

async function main() {
  if (installed()) throw new Error(`${packageName} is installed already: remove it first`);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", deb]);
  if (!installed()) throw new Error(`apt did not install ${packageName}`);
  for (const file of installedFiles) {
    if (!existsSync(file)) throw new Error(`the package did not install ${file}`);
  }
  const desktop = run("dpkg", ["-L", packageName])
    .split("\n")
    .find((f) => f.startsWith("/usr/share/applications/") && f.endsWith(".desktop"));
  if (!desktop || !readFileSync(desktop, "utf8").includes("Exec=arx-messenger")) {
    throw new Error("the package has no desktop entry that starts arx-messenger");
  }

  let display = process.env.DISPLAY;
  if (!display) {
    display = ":94";
    children.push(spawn("Xvfb", [display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"], { stdio: "ignore" }));
    await sleep(1000);
  }
  const nodePort = await freePort();
  children.push(
    spawn(nodeBin, ["--listen", `127.0.0.1:${nodePort}`, "--data-dir", join(work, "node")], { stdio: "ignore" }),
  );
  await waitForPort(nodePort, "arx-node");

  const ready = join(work, "ready");
  const app = spawn("/usr/bin/arx-messenger", [], {
    env: {
      ...process.env,
      DISPLAY: display,
      ARX_DATA_DIR: join(work, "profile"),
      ARX_NODE_URL: `http://127.0.0.1:${nodePort}`,
      ARX_READY_FILE: ready,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(app);
  const started = Date.now();
  while (!(existsSync(ready) && readFileSync(ready, "utf8").endsWith("\n"))) {
    if (app.exitCode !== null) throw new Error(`the installed app exited with ${app.exitCode}`);
    if (Date.now() - started > 120_000) throw new Error("the installed app never showed its first screen");
    await sleep(50);
  }
  console.log(`installed app: first screen after ${Date.now() - started} ms`);
  mkdirSync(artifacts, { recursive: true });
  try {
    run("import", ["-display", display, "-window", "root", join(artifacts, "installed-first-screen.png")]);
  } catch {
    // ImageMagick is optional: the screenshot is for people, the ready file is the check.
  }
  app.kill("SIGTERM");
  for (let i = 0; i < 100 && app.exitCode === null; i++) await sleep(50);

  remove();
  if (installed()) throw new Error(`${packageName} is still installed after removal`);
  for (const file of [...installedFiles, desktop]) {
    if (existsSync(file)) throw new Error(`${file} is left after removal`);
  }
  if (existsSync("/usr/lib/arx-messenger")) throw new Error("/usr/lib/arx-messenger is left after removal");
  console.log(`installed, started and removed ${packageName} cleanly`);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`installed-package check FAILED: ${err.stack ?? err}`);
} finally {
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

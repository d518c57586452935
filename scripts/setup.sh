#!/usr/bin/env bash
# Installs what building and testing ARX needs on a fresh Debian/Ubuntu machine: a C toolchain
# (bundled SQLite), the WebKitGTK/Xvfb/WebDriver packages of the desktop app, the rpm tool and
# the script linter, Node.js 20 with the UI's npm packages, Rust (stable, via rustup when cargo is missing) and tauri-driver.
# Sourced by the run and test scripts; every step is skipped when already done.
set -euo pipefail

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
command -v file >/dev/null 2>&1 || need_apt+=(file)
command -v pgrep >/dev/null 2>&1 || need_apt+=(procps)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
pkg-config --exists webkit2gtk-4.1 2>/dev/null || need_apt+=(libwebkit2gtk-4.1-dev)
pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || need_apt+=(libayatana-appindicator3-dev)
pkg-config --exists librsvg-2.0 2>/dev/null || need_apt+=(librsvg2-dev)
pkg-config --exists openssl 2>/dev/null || need_apt+=(libssl-dev)
pkg-config --exists dbus-1 2>/dev/null || need_apt+=(libdbus-1-dev)
[ -e /usr/include/xdo.h ] || need_apt+=(libxdo-dev)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb xauth)
command -v WebKitWebDriver >/dev/null 2>&1 || need_apt+=(webkit2gtk-driver)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# The release packages: rpm builds and inspects the .rpm; shellcheck checks the workflows' shell.
command -v rpm >/dev/null 2>&1 || need_apt+=(rpm)
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
# The updater installs a new .deb/.rpm through pkexec or sudo; the update test runs as root.
command -v sudo >/dev/null 2>&1 || need_apt+=(sudo)
if ((${#need_apt[@]})); then
  echo "installing system packages: ${need_apt[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20.19 or newer is needed for the UI (found $(node --version))." >&2
  echo "On Debian 12 install it from https://nodejs.org or NodeSource, then run this again." >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is missing: installing the stable toolchain with rustup" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
    --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rustc_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "$rustc_minor" -lt 91 ]; then
  echo "Rust 1.91 or newer is needed (found $(rustc --version)); run: rustup update stable" >&2
  exit 1
fi

# The UI's packages, exactly as locked.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "$repo_root/node_modules" ] \
   || [ "$repo_root/package-lock.json" -nt "$repo_root/node_modules/.package-lock.json" ]; then
  (cd "$repo_root" && npm ci --no-audit --no-fund --loglevel=error)
fi

#!/usr/bin/env bash
# Builds the desktop app (debug, UI embedded) and drives it through WebDriver in a real WebView
# under Xvfb, against an arx-node and headless arx clients (tests/app/e2e.mjs). Screenshots of
# each step land in target/app-e2e/. Skips, saying why, when no display server can be started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if [ -z "${DISPLAY:-}" ] && ! command -v Xvfb >/dev/null 2>&1; then
  echo "skipped: no DISPLAY and no Xvfb to start one (install xvfb, see README)"
  exit 0
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.1.0
fi
cargo build --locked -p arx-cli -p arx-node --bins
npx tauri build --debug --no-bundle
ARX_APP_BIN="$target_dir/debug/arx-messenger" \
ARX_BIN="$target_dir/debug/arx" \
ARX_NODE_BIN="$target_dir/debug/arx-node" \
ARX_E2E_ARTIFACTS="$PWD/target/app-e2e" \
  node tests/app/e2e.mjs

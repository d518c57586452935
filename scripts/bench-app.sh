#!/usr/bin/env bash
# Desktop app benchmarks (tests/app/bench.mjs): start-up to the first screen and memory (PSS
# over all the app's processes), idle and with a 10,000-message conversation open, each beside
# a bare Tauri window (tests/bare-window) measured in the same run. Release builds; prints a
# Markdown table for docs/BENCHMARKS.md. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.1.0
fi
cargo build --locked --release -p arx-cli -p arx-node --bins
npx tauri build --no-bundle
(cd tests/bare-window && npx tauri build --no-bundle)
ARX_APP_BIN="$target_dir/release/arx-messenger" \
ARX_BARE_BIN="$target_dir/release/arx-bare-window" \
ARX_BIN="$target_dir/release/arx" \
ARX_NODE_BIN="$target_dir/release/arx-node" \
  node tests/app/bench.mjs

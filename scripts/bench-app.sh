#!/usr/bin/env bash
# Desktop app benchmarks (tests/app/bench.mjs): start-up to the first screen and memory (PSS
# over all the app's processes), idle and with a 10,000-message conversation open, each beside
# a bare Tauri window (tests/bare-window) measured in the same run, and the sizes of the
# executable and the packages beside the bare window's. Release builds; prints Markdown tables
# for docs/BENCHMARKS.md. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.1.0
fi
cargo build --locked --release -p arx-cli -p arx-node --bins
# The packages as the installers ship them (the app's IPFS daemon inside), and the bare
# window's packages for reference.
kubo=$(scripts/build-kubo.sh)
mkdir -p src-tauri/sidecar
cp "$kubo" src-tauri/sidecar/ipfs
rm -rf "$target_dir/release/bundle/deb" "$target_dir/release/bundle/rpm"
npx tauri build --bundles deb,rpm
(cd tests/bare-window && npx tauri build --bundles deb,rpm)
ARX_APP_BIN="$target_dir/release/arx-messenger" \
ARX_BARE_BIN="$target_dir/release/arx-bare-window" \
ARX_BIN="$target_dir/release/arx" \
ARX_NODE_BIN="$target_dir/release/arx-node" \
  node tests/app/bench.mjs

# Sizes, in MiB, beside the bare window's.
mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$(stat -c %s "$1")" -v b="$(stat -c %s "$2")" 'BEGIN { printf "%.2f", a / b }'; }
bundle="$target_dir/release/bundle"
row() { # label, ARX file, bare file
  echo "| $1 | $(mib "$2") | $(mib "$3") | $(ratio "$2" "$3") |"
}
echo
echo "| size, MiB | ARX | bare Tauri window | ratio |"
echo "|---|---:|---:|---:|"
row "executable (release profile, stripped)" "$target_dir/release/arx-messenger" "$target_dir/release/arx-bare-window"
row ".deb" "$(ls "$bundle"/deb/ARX*.deb)" "$(ls "$bundle"/deb/bare-window*.deb)"
row ".rpm" "$(ls "$bundle"/rpm/ARX*.rpm)" "$(ls "$bundle"/rpm/bare-window*.rpm)"
echo "| of which the IPFS daemon (Kubo, uncompressed) | $(mib "$kubo") | | |"

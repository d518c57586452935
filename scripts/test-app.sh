#!/usr/bin/env bash
# Builds the desktop app (debug, UI embedded) and drives it through WebDriver in a real WebView
# under Xvfb, against an arx-node and headless arx clients (tests/app/e2e.mjs). Screenshots of
# each step land in target/app-e2e/. Skips, saying why, when no display server can be started.
# Then builds the Debian package (`npx tauri build --bundles deb`, debug profile) and checks it.
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
# Two Kubo daemons carry the files of the media steps (built once, cached).
ARX_KUBO_BIN="${ARX_KUBO_BIN:-$(scripts/build-kubo.sh)}"
export ARX_KUBO_BIN
npx tauri build --debug --no-bundle
ARX_APP_BIN="$target_dir/debug/arx-messenger" \
ARX_BIN="$target_dir/debug/arx" \
ARX_NODE_BIN="$target_dir/debug/arx-node" \
ARX_E2E_ARTIFACTS="$PWD/target/app-e2e" \
  node tests/app/e2e.mjs

# The Debian package: built from the same (debug) binary, then checked like an installer would
# (its metadata, that apt can satisfy its dependencies here, and its files).
rm -rf "$target_dir/debug/bundle/deb"
# The app's IPFS daemon goes into the package (/usr/lib/arx-messenger/ipfs).
mkdir -p src-tauri/sidecar
cp "$ARX_KUBO_BIN" src-tauri/sidecar/ipfs
npx tauri build --debug --bundles deb
deb=$(ls "$target_dir"/debug/bundle/deb/*.deb)
dpkg-deb --info "$deb" | grep -E "Package|Version|Depends"
contents=$(dpkg-deb --contents "$deb")
grep -q "usr/bin/arx-messenger$" <<<"$contents"
grep -q "usr/share/applications/.*\.desktop$" <<<"$contents"
grep -q "usr/lib/arx-messenger/ipfs$" <<<"$contents"
if [ "$(id -u)" -eq 0 ]; then
  apt-get install --simulate -qq "$deb" >/dev/null
fi
echo "deb package: $deb"

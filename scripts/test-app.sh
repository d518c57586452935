#!/usr/bin/env bash
# The desktop app as people install it: builds the .deb and .rpm from the release profile (the
# app's IPFS daemon inside), drives that same binary through WebDriver in a real WebView under
# Xvfb against an arx-node and headless arx clients (tests/app/e2e.mjs; screenshots of each
# step in target/app-e2e/), checks both packages' contents, then (as root) installs the .deb,
# starts the installed app on a fresh profile until its first screen shows, and removes it
# again. Skips, saying why, when no display server can be started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
artifacts="$PWD/target/app-e2e"

if [ -z "${DISPLAY:-}" ] && ! command -v Xvfb >/dev/null 2>&1; then
  echo "skipped: no DISPLAY and no Xvfb to start one (install xvfb, see README)"
  exit 0
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.1.0
fi
cargo build --locked -p arx-cli -p arx-node --bins
# Two Kubo daemons carry the files of the media steps (built once, cached); the packages
# carry it as /usr/lib/arx-messenger/ipfs.
ARX_KUBO_BIN="${ARX_KUBO_BIN:-$(scripts/build-kubo.sh)}"
export ARX_KUBO_BIN
mkdir -p src-tauri/sidecar
cp "$ARX_KUBO_BIN" src-tauri/sidecar/ipfs

echo "-- release build and packages (.deb, .rpm)"
rm -rf "$target_dir/release/bundle/deb" "$target_dir/release/bundle/rpm"
npx tauri build --bundles deb,rpm
app_bin="$target_dir/release/arx-messenger"

echo "-- end to end, through WebDriver"
ARX_APP_BIN="$app_bin" \
ARX_BIN="$target_dir/debug/arx" \
ARX_NODE_BIN="$target_dir/debug/arx-node" \
ARX_E2E_ARTIFACTS="$artifacts" \
  node tests/app/e2e.mjs

echo "-- package contents"
deb=$(ls "$target_dir"/release/bundle/deb/*.deb)
rpm_file=$(ls "$target_dir"/release/bundle/rpm/*.rpm)
dpkg-deb --info "$deb" | grep -E "Package|Version|Depends"
contents=$(dpkg-deb --contents "$deb")
grep -q "usr/bin/arx-messenger$" <<<"$contents"
grep -q "usr/share/applications/.*\.desktop$" <<<"$contents"
grep -q "usr/lib/arx-messenger/ipfs$" <<<"$contents"
rpm_contents=$(rpm -qlp "$rpm_file" 2>/dev/null)
grep -q "^/usr/bin/arx-messenger$" <<<"$rpm_contents"
grep -q "^/usr/share/applications/.*\.desktop$" <<<"$rpm_contents"
grep -q "^/usr/lib/arx-messenger/ipfs$" <<<"$rpm_contents"
rpm -qp --requires "$rpm_file" 2>/dev/null | tr '\n' ' ' | sed 's/^/rpm requires: /'
echo
ls -l "$app_bin" "$deb" "$rpm_file" | awk '{print $5, $9}'

if [ "$(id -u)" -ne 0 ]; then
  echo "not root: the installed-package check is skipped (run as root, as CI does)"
  exit 0
fi
echo "-- install the .deb, start it on a fresh profile, remove it"
node tests/app/installed.mjs "$deb" "$target_dir/debug/arx-node" "$artifacts"
echo "deb package: $deb"
echo "rpm package: $rpm_file"

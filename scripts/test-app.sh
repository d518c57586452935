#!/usr/bin/env bash
# The desktop app as people install it: builds the .deb and .rpm from the release profile (the
# app's IPFS daemon inside, update files signed), drives that same binary through WebDriver in
# a real WebView under Xvfb against an arx-node and headless arx clients (tests/app/e2e.mjs;
# screenshots of each step in target/app-e2e/), checks both packages' contents, then (as root)
# installs the .deb, starts the installed app on a fresh profile until its first screen shows,
# removes it, and runs the update test (tests/app/update.mjs): version A installed, version B
# served by a local server, tampered and wrong-key packages refused, B installed in place.
#
# These packages trust a throwaway update key made here (and accept the local server over
# http) instead of the release key; otherwise they are what the release workflow builds.
# Skips, saying why, when no display server can be started.
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

# A throwaway update key pair (and a second key, whose signatures A must refuse).
update_dir="$target_dir/update-e2e"
rm -rf "$update_dir" && mkdir -p "$update_dir"
npx tauri signer generate --ci -p "" -w "$update_dir/test.key" >/dev/null
npx tauri signer generate --ci -p "" -w "$update_dir/wrong.key" >/dev/null
printf '{"plugins":{"updater":{"pubkey":"%s","dangerousInsecureTransportProtocol":true}}}' \
  "$(cat "$update_dir/test.key.pub")" >"$update_dir/test.conf.json"
version_a=$(node -p 'require("./tauri.conf.json").version')
# B: the next patch version.
version_b=$(node -p 'const [a, b, c] = require("./tauri.conf.json").version.split("-")[0].split(".").map(Number); [a, b, c + 1].join(".")')
build_packages() { # bundles, extra --config
  rm -rf "$target_dir/release/bundle/deb" "$target_dir/release/bundle/rpm"
  TAURI_SIGNING_PRIVATE_KEY="$(cat "$update_dir/test.key")" TAURI_SIGNING_PRIVATE_KEY_PASSWORD="" \
    npx tauri build --bundles "$1" --config src-tauri/release.conf.json \
    --config "$update_dir/test.conf.json" ${2:+--config "$2"}
}

echo "-- release build and packages (.deb, .rpm), version $version_a"
build_packages deb,rpm
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
# Each package has its update signature, bound to its version.
for package in "$deb" "$rpm_file"; do
  base64 -d "$package.sig" | grep -q "version:$version_a" || {
    echo "no update signature for version $version_a beside $package" >&2
    exit 1
  }
done
cp "$deb" "$update_dir/a.deb"
dpkg-deb --info "$deb" | grep -E "Package|Version|Depends"
contents=$(dpkg-deb --contents "$deb")
grep -q "usr/bin/arx-messenger$" <<<"$contents"
grep -q "usr/share/applications/.*\.desktop$" <<<"$contents"
grep -q "usr/lib/arx-messenger/ipfs$" <<<"$contents"
# The desktop entry registers arx:// links and passes the link to the app.
desktop_entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -x --wildcards -O '*.desktop')
if ! grep -q "^MimeType=.*x-scheme-handler/arx" <<<"$desktop_entry" ||
  ! grep -q "^Exec=arx-messenger %u$" <<<"$desktop_entry"; then
  echo "the .deb's desktop entry does not register arx:// links:" >&2
  echo "$desktop_entry" >&2
  exit 1
fi
rpm_contents=$(rpm -qlp "$rpm_file" 2>/dev/null)
grep -q "^/usr/bin/arx-messenger$" <<<"$rpm_contents"
grep -q "^/usr/share/applications/.*\.desktop$" <<<"$rpm_contents"
grep -q "^/usr/lib/arx-messenger/ipfs$" <<<"$rpm_contents"
rpm -qp --requires "$rpm_file" 2>/dev/null | tr '\n' ' ' | sed 's/^/rpm requires: /'
echo
stat -c '%s bytes  %n' "$app_bin" "$deb" "$rpm_file"

if [ "$(id -u)" -ne 0 ]; then
  echo "not root: the installed-package check is skipped (run as root, as CI does)"
  exit 0
fi
echo "-- install the .deb, start it on a fresh profile, remove it"
node tests/app/installed.mjs "$deb" "$target_dir/debug/arx-node" "$artifacts"

echo "-- update: version $version_b, signed with the test key and with another"
build_packages deb "{\"version\":\"$version_b\"}"
deb_b=$(ls "$target_dir"/release/bundle/deb/*.deb)
cp "$deb_b" "$update_dir/b.deb"
cp "$deb_b.sig" "$update_dir/b.deb.sig"
mkdir -p "$update_dir/wrong" && cp "$deb_b" "$update_dir/wrong/b.deb"
npx tauri signer sign -k "$(cat "$update_dir/wrong.key")" -p "" --app-version "$version_b" \
  "$update_dir/wrong/b.deb" >/dev/null
cp "$update_dir/wrong/b.deb.sig" "$update_dir/b-wrong-key.deb.sig"
printf '{"a":"%s","b":"%s"}' "$version_a" "$version_b" >"$update_dir/versions.json"
node tests/app/update.mjs "$update_dir" "$target_dir/debug/arx-node" "$artifacts"
echo "deb package: $deb"
echo "rpm package: $rpm_file"

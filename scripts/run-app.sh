#!/usr/bin/env bash
# Sets up what is missing on a fresh Debian/Ubuntu machine, builds ARX Messenger (release, UI
# embedded) and starts it. Arguments are passed on, e.g. `--profile bob` for a second person on
# this computer or `--node http://host:5050` for another node. With no node configured the app
# runs one on this computer (loopback), so it works with nothing else installed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
npx tauri build --no-bundle
# The app's IPFS daemon (Kubo), beside the executable where the app looks for it.
cp "$(scripts/build-kubo.sh)" "$target_dir/release/ipfs"
exec "$target_dir/release/arx-messenger" "$@"

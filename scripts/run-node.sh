#!/usr/bin/env bash
# Sets up, builds and runs an ARX node on 127.0.0.1:5050 with SQLite in ./data.
# Extra arguments go to arx-node (see `arx-node --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -p arx-node
exec ./target/release/arx-node "$@"

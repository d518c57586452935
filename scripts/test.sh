#!/usr/bin/env bash
# The test command: sets up what is missing, then runs formatting, lints and every test tier:
# Rust unit, engine and node tests (media ones with two Kubo daemons built by
# scripts/build-kubo.sh; PostgreSQL ones when ARX_TEST_POSTGRES_URL is set; .ci/run
# sets up a local server), the UI's tests, the release workflow's lint, and the desktop app as
# installed: release .deb and .rpm, end to end in a real WebView, the .deb installed and run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if [ -z "${ARX_TEST_POSTGRES_URL:-}" ]; then
  echo "note: ARX_TEST_POSTGRES_URL is not set: PostgreSQL storage tests will be skipped" \
       "(run .ci/run, or see README 'PostgreSQL')"
fi

echo "== Kubo (IPFS daemon) for the media tests: built from source once, then cached"
ARX_KUBO_BIN="$(scripts/build-kubo.sh)"
export ARX_KUBO_BIN
echo "== release workflow: actionlint (and shellcheck on its steps)"
scripts/lint-workflows.sh
echo "== UI: lint, types, build"
npm run --silent lint
npm run --silent build
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --all-targets --locked
echo "== UI tests (vitest; the wallet test checks signatures with the engine's arx)"
ARX_BIN="$target_dir/debug/arx" npm test --silent
echo "== desktop app end to end (WebDriver)"
scripts/test-app.sh

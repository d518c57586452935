#!/usr/bin/env bash
# The test command: sets up what is missing, then runs formatting, lints and every test tier.
# PostgreSQL tests run when ARX_TEST_POSTGRES_URL is set (.ci/run sets up a local server);
# otherwise they skip and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${ARX_TEST_POSTGRES_URL:-}" ]; then
  echo "note: ARX_TEST_POSTGRES_URL is not set: PostgreSQL storage tests will be skipped" \
       "(run .ci/run, or see README 'PostgreSQL')"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --all-targets --locked

#!/usr/bin/env bash
# Lints the GitHub Actions workflows in .github/workflows with actionlint (built once from the
# Go module proxy into ~/.cache/arx-actionlint; shell steps are checked by shellcheck when it
# is installed, as scripts/setup.sh does), and the scripts in scripts/ with shellcheck. The
# release workflow cannot run here: this is what checks it before a tag does.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v1.7.12
bin_dir="${ARX_ACTIONLINT_CACHE:-$HOME/.cache/arx-actionlint}/$version"
if [ ! -x "$bin_dir/actionlint" ]; then
  go_bin=$(scripts/go.sh)
  echo "building actionlint $version (once)" >&2
  GOBIN="$bin_dir" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
    "$go_bin" install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
workflows=(.github/workflows/*.yml)
"$bin_dir/actionlint" -no-color "${workflows[@]}"
echo "workflows: ${workflows[*]} ok"
if command -v shellcheck >/dev/null 2>&1; then
  # -x follows `source scripts/setup.sh` (paths are relative to the repository root).
  shellcheck -x scripts/*.sh .ci/run
  echo "scripts: ok"
fi

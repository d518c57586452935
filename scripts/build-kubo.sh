#!/usr/bin/env bash
# Builds Kubo (the reference IPFS daemon) from source through the Go module proxy and prints
# the binary's path. The app runs it as its media sidecar and the tests start two of them on
# loopback. Kubo is not in Debian and its npm packages download binaries at install time, so
# the project builds it: v0.42.0 inside its own module source (`go install` is refused because
# of kubo's replace directives). About 3 minutes of CPU on 2 cores; cached by version (and by
# platform when GOOS/GOARCH ask for another one, as the release workflow does).
#
#   scripts/build-kubo.sh            # prints the path, building once
#   GOOS=windows GOARCH=amd64 scripts/build-kubo.sh
#   ARX_KUBO_CACHE=dir scripts/build-kubo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

version=v0.42.0
cache="${ARX_KUBO_CACHE:-$HOME/.cache/arx-kubo}"
out="$cache/$version"
name=ipfs
if [ -n "${GOOS:-}${GOARCH:-}" ]; then
  out="$cache/$version-${GOOS:-host}-${GOARCH:-host}"
fi
[ "${GOOS:-}" = windows ] && name=ipfs.exe
if [ -x "$out/$name" ]; then
  echo "$out/$name"
  exit 0
fi
mkdir -p "$out"
go_bin=$(scripts/go.sh)

echo "building Kubo $version from source (a few minutes, once)" >&2
export GOFLAGS=-modcacherw GOTOOLCHAIN=local
"$go_bin" mod download "github.com/ipfs/kubo@$version"
src="$("$go_bin" env GOMODCACHE)/github.com/ipfs/kubo@$version"
(cd "$src" && "$go_bin" build -trimpath -ldflags "-s -w" -o "$out/$name.part" ./cmd/ipfs)
mv "$out/$name.part" "$out/$name"
echo "$out/$name"

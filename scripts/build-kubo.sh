#!/usr/bin/env bash
# Builds Kubo (the reference IPFS daemon) from source through the Go module proxy and prints
# the binary's path. The app runs it as its media sidecar and the tests start two of them on
# loopback. Kubo is not in Debian and its npm packages download binaries at install time, so
# the project builds it: v0.42.0 inside its own module source (`go install` is refused because
# of kubo's replace directives). About 3 minutes of CPU on 2 cores; cached by version.
#
#   scripts/build-kubo.sh            # prints the path, building once
#   ARX_KUBO_CACHE=dir scripts/build-kubo.sh
set -euo pipefail

version=v0.42.0
go_version=1.26.8
cache="${ARX_KUBO_CACHE:-$HOME/.cache/arx-kubo}"
out="$cache/$version"
if [ -x "$out/ipfs" ]; then
  echo "$out/ipfs"
  exit 0
fi
mkdir -p "$out"

go_bin=$(command -v go || true)
if [ -n "$go_bin" ]; then
  go_minor=$("$go_bin" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  [ "$go_minor" -ge 25 ] || go_bin=""
fi
if [ -z "$go_bin" ]; then
  # No Go 1.25+: take the toolchain itself from the Go module proxy (a plain zip of GOROOT).
  arch=$(uname -m)
  case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  toolchain="$cache/go$go_version"
  if [ ! -x "$toolchain/bin/go" ]; then
    echo "fetching the Go $go_version toolchain from the module proxy" >&2
    zip="$cache/go.zip"
    curl -fsSL -o "$zip" \
      "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$go_version.linux-$arch.zip"
    rm -rf "$cache/unpack" && mkdir -p "$cache/unpack"
    python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$zip" "$cache/unpack"
    mv "$cache/unpack/golang.org/toolchain@v0.0.1-go$go_version.linux-$arch" "$toolchain"
    chmod +x "$toolchain"/bin/* "$toolchain"/pkg/tool/*/*
    rm -rf "$cache/unpack" "$zip"
  fi
  go_bin="$toolchain/bin/go"
fi

echo "building Kubo $version from source (a few minutes, once)" >&2
export GOFLAGS=-modcacherw GOTOOLCHAIN=local
src=$("$go_bin" mod download -json "github.com/ipfs/kubo@$version" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
(cd "$src" && "$go_bin" build -trimpath -ldflags "-s -w" -o "$out/ipfs.part" ./cmd/ipfs)
mv "$out/ipfs.part" "$out/ipfs"
echo "$out/ipfs"

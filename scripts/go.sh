#!/usr/bin/env bash
# Prints the path of a Go toolchain of at least 1.25: the one on PATH, or Go 1.26.8 fetched
# once from the Go module proxy (a plain zip of GOROOT; Debian 12's Go is too old) into
# ~/.cache/arx-kubo. Used to build Kubo (scripts/build-kubo.sh) and actionlint
# (scripts/lint-workflows.sh).
set -euo pipefail

go_version=1.26.8
cache="${ARX_KUBO_CACHE:-$HOME/.cache/arx-kubo}"

go_bin=$(command -v go || true)
if [ -n "$go_bin" ]; then
  go_minor=$("$go_bin" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  [ "$go_minor" -ge 25 ] || go_bin=""
fi
if [ -z "$go_bin" ]; then
  arch=$(uname -m)
  case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  toolchain="$cache/go$go_version"
  if [ ! -x "$toolchain/bin/go" ]; then
    echo "fetching the Go $go_version toolchain from the module proxy" >&2
    mkdir -p "$cache"
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
echo "$go_bin"

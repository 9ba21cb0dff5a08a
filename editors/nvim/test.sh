#!/usr/bin/env bash
# Tests the Neovim plugin in a real Neovim (0.10 or later, installed by
# install-nvim.sh), headless, against the real sandbar binary and real
# bubblewrap. Each scenario of test/lua/sandbar_test/scenarios.lua runs in
# a Neovim of its own, with a home, a workspace (a git repository) and a
# folder outside it of its own, under /var/tmp (not /tmp: every sandbox
# has a private /tmp).
#
#   editors/nvim/test.sh [SCENARIO...]
#
# Environment:
#   SANDBAR_BIN    the sandbar binary to test (default: built from this tree)
#   SANDBAR_NVIM   a Neovim 0.10 or later to use (default: install-nvim.sh's;
#                  SANDBAR_NVIM_SUITE=sid tests with Debian's newest)
#   SANDBAR_NVIM_USER
#                  when run as root, the ordinary user to run the tests as
#                  too (default sandbar-test, made if missing); "none" to
#                  run them as root only
#   SANDBAR_NVIM_KEEP  keep the scenarios' folders and logs
#   SANDBAR_NVIM_COUNTS
#                  (for the run as the ordinary user) write "PASSED FAILED"
#                  to this file instead of the summary line
#
# The last line is "nvim: N passed, M failed"; the status is non-zero if
# any scenario failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v git >/dev/null || need+=(git)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test.sh: the tests need ${need[*]}: install them (apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

nvim=${SANDBAR_NVIM:-}
if [ -z "$nvim" ]; then
  echo "== Neovim (install-nvim.sh)"
  nvim=$("$here/install-nvim.sh")
fi
"$nvim" --headless --clean -c 'if !has("nvim-0.10") | cquit 1 | endif' -c 'qall!' ||
  { echo "test.sh: $nvim is not Neovim 0.10 or later" >&2; exit 1; }

base=${SANDBAR_NVIM_TMP:-/var/tmp}
tmp=$(mktemp -d "$base/sandbar-nvim.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${SANDBAR_NVIM_KEEP:-}" ]; then echo "test.sh: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

mkdir "$tmp/bin"
if [ -n "${SANDBAR_BIN:-}" ]; then
  cp "$SANDBAR_BIN" "$tmp/bin/sandbar"
else
  echo "== building sandbar"
  (cd "$repo" && go build -o "$tmp/bin/sandbar" ./cmd/sandbar)
fi
chmod -R a+rX "$tmp"

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  mapfile -t scenarios < <(sed -n 's/^S\.\([a-z_0-9]*\) = {$/\1/p' "$here/test/lua/sandbar_test/scenarios.lua")
fi

# run_one runs scenario $1 in its own Neovim; its log is $tmp/$1/log.
run_one() {
  local name=$1 d=$tmp/$1
  local home=$d/home
  local ws=$home/proj outside=$d/outside
  mkdir -p "$ws" "$outside" "$home/.ssh" "$d/run"
  chmod 700 "$d/run"
  echo canary >"$outside/canary"
  echo 'PRIVATE KEY' >"$home/.ssh/id_ed25519"
  git -C "$ws" init -q
  local env=(
    -u SANDBAR_HOST -u NVIM -u NVIM_LISTEN_ADDRESS -u VIMINIT -u MYVIMRC
    HOME="$home"
    XDG_CONFIG_HOME="$home/.config"
    XDG_STATE_HOME="$home/.local/state"
    XDG_DATA_HOME="$home/.local/share"
    XDG_CACHE_HOME="$home/.cache"
    XDG_RUNTIME_DIR="$d/run"
    PATH="$tmp/bin:$PATH"
    SHELL=/bin/sh
    SANDBAR_TEST_SCENARIO="$name"
    SANDBAR_TEST_ROOT="$d"
    SANDBAR_TEST_WS="$ws"
    SANDBAR_TEST_OUTSIDE="$outside"
    SANDBAR_TEST_NVIM="$nvim"
    SANDBAR_TEST_RESULT="$d/result"
  )
  local args=(--headless -u "$here/test/init.lua" -i NONE -n)
  if grep -q "^S\.$name = {" "$here/test/lua/sandbar_test/scenarios.lua" &&
    sed -n "/^S\.$name = {/,/^}/p" "$here/test/lua/sandbar_test/scenarios.lua" | grep -q 'remote = true'; then
    # The real prompt: this Neovim listens, and the driver types the
    # answer ("2": Allow for workspace) into it once it waits for one.
    local sock=$d/run/nvim.sock
    (cd "$ws" && exec env "${env[@]}" timeout 180 "$nvim" --listen "$sock" "${args[@]}") >"$d/log" 2>&1 &
    local editor=$!
    pids+=("$editor")
    local status=0
    (cd "$ws" && exec env "${env[@]}" timeout 150 "$nvim" -l "$here/test/driver.lua" "$sock" "$d/prompt-shown" '2<CR>') >>"$d/log" 2>&1 || status=$?
    wait "$editor" || status=$?
    return $status
  fi
  (cd "$ws" && exec env "${env[@]}" timeout 180 "$nvim" "${args[@]}") >"$d/log" 2>&1
}

# leftovers prints the processes still running in scenario $1's folders:
# the host, or anything it or the terminal started.
leftovers() {
  local d=$tmp/$1
  find /proc -mindepth 2 -maxdepth 2 -name cwd \( -lname "$d" -o -lname "$d/*" \) 2>/dev/null |
    cut -d/ -f3
}

# no_leftovers waits until nothing of scenario $1 runs any more: when
# Neovim quits, the host must go too. What is still there after 10 s is
# reported, and killed.
no_leftovers() {
  local i left
  for i in $(seq 100); do
    left=$(leftovers "$1")
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  for p in $left; do
    echo "    left running: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    kill -KILL "$p" 2>/dev/null || true
  done
  return 1
}

passed=0
failed=0
echo "== the plugin's scenarios, as $(id -un), in $("$nvim" --version | head -n 1)"
for name in "${scenarios[@]}"; do
  start=$(date +%s.%N)
  status=0
  run_one "$name" || status=$?
  no_leftovers "$name" >"$tmp/$name/leftovers" || status=leftovers
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$status" = 0 ] && grep -qx "ok $name" "$tmp/$name/result" 2>/dev/null; then
    passed=$((passed + 1))
    echo "ok   $name (${took}s)"
  else
    failed=$((failed + 1))
    echo "FAIL $name (${took}s, status $status)"
    sed 's/^/    /' "$tmp/$name/log"
    cat "$tmp/$name/leftovers"
  fi
done

# As root, the same again as an ordinary user: bubblewrap behaves
# differently without privileges. The user gets a copy of the plugin and
# of the binary, and a Neovim installed in their own cache.
user=${SANDBAR_NVIM_USER:-sandbar-test}
if [ "$(id -u)" = 0 ] && [ "$user" != none ] && [ -z "${SANDBAR_NVIM_COUNTS:-}" ]; then
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  mkdir "$tmp/plugin"
  cp -r "$here/." "$tmp/plugin/"
  : >"$tmp/counts"
  chmod -R a+rX "$tmp"
  chmod a+w "$tmp/counts"
  echo "== the same as the ordinary user $user"
  # su keeps root's environment but for HOME: the user's own XDG
  # directories, cache included, come from their HOME.
  su "$user" -s /bin/bash -c "cd /tmp && exec env -u XDG_CACHE_HOME -u XDG_CONFIG_HOME -u XDG_DATA_HOME \
    -u XDG_STATE_HOME -u XDG_RUNTIME_DIR -u SANDBAR_NVIM -u SANDBAR_NVIM_KEEP \
    SANDBAR_BIN='$tmp/bin/sandbar' SANDBAR_NVIM_COUNTS='$tmp/counts' \
    SANDBAR_NVIM_SUITE='${SANDBAR_NVIM_SUITE:-}' SANDBAR_NVIM_VERSION='${SANDBAR_NVIM_VERSION:-}' \
    '$tmp/plugin/test.sh' ${scenarios[*]}" || true
  read -r p f <"$tmp/counts" || { p=0; f=1; echo "FAIL the run as $user ended early"; }
  passed=$((passed + p))
  failed=$((failed + f))
fi

if [ -n "${SANDBAR_NVIM_COUNTS:-}" ]; then
  # A run inside another: that one says the total.
  echo "$passed $failed" >"$SANDBAR_NVIM_COUNTS"
else
  echo "nvim: $passed passed, $failed failed"
fi
[ "$failed" = 0 ]

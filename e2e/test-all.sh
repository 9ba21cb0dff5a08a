#!/usr/bin/env bash
# Runs every test of sandbar, the way CI does: installs what the tests
# need, checks formatting and vet, runs all Go tests, and (when run as
# root) runs the confinement tests again as an ordinary user, since
# bubblewrap behaves differently with and without privileges; then the
# editors' plugins in a real Neovim and a real VS Code (code-server).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v git >/dev/null || need+=(git)
# The network tests (e2e/network_linux_test.go) run these in the sandbox
# or as the host's servers; sshd is not on an ordinary user's PATH.
command -v curl >/dev/null || need+=(curl)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ping >/dev/null || need+=(iputils-ping)
# The clients' tests (e2e/clients_linux_test.go) run real package
# managers in the sandbox against fake registries.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
command -v pip3 >/dev/null || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go is not installed: see https://go.dev/doc/install" >&2; exit 1; }

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
# The macOS backend is still to come, but the code must keep building
# there.
GOOS=darwin go vet ./...

echo "== bin/sandbar doctor"
mkdir -p bin
go build -o bin/sandbar ./cmd/sandbar
./bin/sandbar doctor

echo "== go test ./... as $(id -un)"
log=$(mktemp)
all=$(mktemp)
if ! go test -count=1 -v ./... >"$log" 2>&1; then
  cat "$log"
  echo "go test failed" >&2
  exit 1
fi
# Confinement tests must never skip in CI: a skipped sandbox test proves
# nothing.
if [ -n "${CI:-}" ] && grep -q -- '--- SKIP' "$log"; then
  grep -B2 -- '--- SKIP' "$log"
  echo "tests were skipped in CI" >&2
  exit 1
fi
grep -E '^(ok|FAIL|---|\?)' "$log" | grep -v -- '--- PASS' || true
cat "$log" >>"$all"

if [ "$(id -u)" = 0 ]; then
  user=sandbar-test
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  dir=$(mktemp -d /var/tmp/sandbar-tests.XXXXXX)
  chmod 755 "$dir"
  trap 'rm -rf "$dir"' EXIT
  cp bin/sandbar "$dir/sandbar"
  pkgs=(./confine ./confine/seccomp ./confine/notify ./confine/doctor ./workspace ./e2e)
  for p in "${pkgs[@]}"; do
    go test -c -o "$dir/$(echo "$p" | tr -c 'a-z0-9\n' '_').test" "$p"
  done
  # Each test binary runs from its package directory (for testdata and
  # docs), in a copy of the tree the user can read.
  # (without the editors' node_modules, which the tests do not need and
  # which can be large on a developer's machine).
  mkdir "$dir/src"
  tar --exclude=./editors/vscode/node_modules -cf - . | tar -xf - -C "$dir/src"
  chmod -R a+rX "$dir"
  echo "== confinement tests as the ordinary user $user"
  for p in "${pkgs[@]}"; do
    bin="$dir/$(echo "$p" | tr -c 'a-z0-9\n' '_').test"
    src="$dir/src/$p"
    if ! su "$user" -s /bin/bash -c "cd '$src' && HOME=/home/$user SANDBAR_BIN='$dir/sandbar' '$bin' -test.count=1 -test.timeout=10m -test.v" >"$log" 2>&1; then
      cat "$log"
      echo "FAIL $p (as $user)" >&2
      exit 1
    fi
    if grep -q -- '--- SKIP' "$log" && [ -n "${CI:-}" ]; then
      grep -B2 -- '--- SKIP' "$log"; echo "tests were skipped in CI" >&2; exit 1
    fi
    cat "$log" >>"$all"
    echo "ok   $p (as $user)"
  done
fi
# The editors' plugins, each in a real editor (they install it, cached
# outside the repository, and run as root and as the ordinary user).
echo "== editors/nvim"
SANDBAR_BIN="$PWD/bin/sandbar" bash editors/nvim/test.sh
echo "== editors/vscode"
SANDBAR_BIN="$PWD/bin/sandbar" bash editors/vscode/test.sh

passed=$(grep -c -- '^--- PASS' "$all" || true)
failed=$(grep -c -- '^--- FAIL' "$all" || true)
rm -f "$log" "$all"
echo "$passed passed, $failed failed"

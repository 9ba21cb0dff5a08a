#!/usr/bin/env bash
# Installs a Neovim recent enough for the plugin's tests (0.10 or later)
# into a cache folder, and prints the path of its `nvim`.
#
# Debian bookworm has only Neovim 0.7.2. Debian trixie has 0.10, built
# against trixie's C library, so it is run with that library privately:
# the trixie packages are downloaded with an apt configuration of their
# own (its sources, lists and archives live in the cache folder, never in
# /etc/apt or /var/lib/apt), unpacked with dpkg-deb, and the binary is
# pointed at the unpacked loader and libraries with patchelf (trixie's
# own, run through the unpacked loader). Nothing of the system is
# installed, replaced or configured; no root is needed.
#
# Idempotent: a second run finds the cache and prints the path at once,
# without the network.
#
#   editors/nvim/install-nvim.sh          # prints .../nvim-0.10.4/bin/nvim
#   SANDBAR_NVIM_SUITE=sid editors/nvim/install-nvim.sh   # the newest
#
# Environment:
#   SANDBAR_NVIM_SUITE     Debian suite to take it from (default trixie)
#   SANDBAR_NVIM_VERSION   upstream version wanted (default 0.10.4 from
#                          trixie; from another suite, the one it has:
#                          its package lists are then read each time)
#   SANDBAR_DEBIAN_MIRROR  Debian mirror URI (default: the one this
#                          machine's apt sources use for Debian)
#   XDG_CACHE_HOME         the cache is $XDG_CACHE_HOME/sandbar-ci
#                          (default ~/.cache/sandbar-ci)
set -euo pipefail

suite=${SANDBAR_NVIM_SUITE:-trixie}
version=${SANDBAR_NVIM_VERSION:-}
if [ -z "$version" ] && [ "$suite" = trixie ]; then version=0.10.4; fi
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sandbar-ci

say() { echo "install-nvim: $*" >&2; }
die() { say "$*"; exit 1; }

# ready says whether nvim-$1 in the cache is complete and from $suite.
ready() {
  local dir=$cache/nvim-$1
  [ -x "$dir/bin/nvim" ] && [ -e "$dir/.ready" ] && [ "$(cut -d' ' -f1 "$dir/.ready")" = "$suite" ]
}

if [ -n "$version" ] && ready "$version"; then
  echo "$cache/nvim-$version/bin/nvim"
  exit 0
fi

for tool in apt-get dpkg-deb dpkg flock; do
  command -v "$tool" >/dev/null || die "$tool is needed (this script works on Debian and its derivatives)"
done
mkdir -p "$cache"
exec 9>"$cache/.nvim-install.lock"
flock 9
# Another run may have installed it while this one waited.
if [ -n "$version" ] && ready "$version"; then
  echo "$cache/nvim-$version/bin/nvim"
  exit 0
fi

# The mirror this machine already uses for Debian, so that nothing here
# names a host of its own.
mirror=${SANDBAR_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(
    {
      cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
    } | grep -E '^(https?|file)://.*/debian/?$' | head -n 1
  ) || true
fi
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt; set SANDBAR_DEBIAN_MIRROR to one"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"

arch=$(dpkg --print-architecture)
apt=$cache/apt-$suite-$arch
mkdir -p "$apt/etc/apt.conf.d" "$apt/etc/preferences.d" "$apt/etc/sources.list.d" \
  "$apt/lists/partial" "$apt/archives/partial" "$apt/log"
: >"$apt/status"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt/etc/sources.list"
opts=(
  -o "Dir::Etc=$apt/etc"
  -o "Dir::Etc::SourceList=$apt/etc/sources.list"
  -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
  -o "Dir::Etc::Parts=$apt/etc/apt.conf.d"
  -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
  -o "Dir::State=$apt"
  -o "Dir::State::Lists=$apt/lists"
  -o "Dir::State::status=$apt/status"
  -o "Dir::Cache=$apt"
  -o "Dir::Cache::Archives=$apt/archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "Dir::Log=$apt/log"
  -o "APT::Architecture=$arch"
  -o "APT::Architectures=$arch"
  -o "APT::Install-Recommends=false"
  -o "APT::Sandbox::User=$(id -un)"
  -o "Acquire::Languages=none"
  -o "Debug::NoLocking=true"
)
say "reading Debian $suite's package lists from $mirror"
apt-get "${opts[@]}" -q -q update >&2
candidate=$(apt-cache "${opts[@]}" policy neovim | sed -n 's/^[[:space:]]*Candidate:[[:space:]]*//p')
case $candidate in "" | "(none)") die "Debian $suite has no neovim package" ;; esac
got=${candidate#*:}
got=${got%-*}
if [ -n "$version" ] && [ "$got" != "$version" ]; then
  say "Debian $suite has Neovim $got, not $version; installing $got (set SANDBAR_NVIM_VERSION=$got to use its cache)"
fi
version=$got
dest=$cache/nvim-$version
if ready "$version" && [ "$(cut -d' ' -f2 "$dest/.ready")" = "$candidate" ]; then
  echo "$dest/bin/nvim"
  exit 0
fi
say "downloading neovim $candidate and what it needs from $suite"
# The status file is empty: apt downloads the whole closure, C library
# included, and installs nothing.
rm -f "$apt"/archives/*.deb
apt-get "${opts[@]}" -q -q -y install --download-only "neovim=$candidate" patchelf >&2

work=$(mktemp -d "$cache/.nvim-$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root" "$work/bin"
for deb in "$apt"/archives/*.deb; do
  dpkg-deb -x "$deb" "$root"
done

# Where the unpacked packages put the loader and the libraries.
libc=$(find "$root/usr/lib" -name libc.so.6 | head -n 1)
[ -n "$libc" ] || die "the unpacked libc6 has no libc.so.6"
libdir=$(dirname "$libc")
loader=$(find "$root/usr/lib" "$root/usr/lib64" -maxdepth 2 -name 'ld-linux*.so.*' 2>/dev/null | head -n 1)
[ -n "$loader" ] || die "the unpacked libc6 has no loader"
patchelf() { "$loader" --library-path "$libdir" "$root/usr/bin/patchelf" "$@"; }

# Paths are those of the final place: the work folder is renamed to it.
final_root=$dest/root
final_libdir=$final_root${libdir#"$root"}
final_loader=$final_root${loader#"$root"}
# DT_RPATH, not RUNPATH: it also applies to the libraries' own needs, so
# that no library of the system's C library is mixed in.
patchelf --set-interpreter "$final_loader" --force-rpath --set-rpath "$final_libdir" "$root/usr/bin/nvim"

cat >"$work/bin/nvim" <<EOF
#!/bin/sh
# Neovim $version from Debian $suite, with its own C library (install-nvim.sh).
VIMRUNTIME='$final_root/usr/share/nvim/runtime'
export VIMRUNTIME
exec '$final_root/usr/bin/nvim' "\$@"
EOF
chmod 755 "$work/bin/nvim"

rm -rf "$dest"
mv "$work" "$dest"
trap 'rm -rf "$dest"' EXIT
chmod 755 "$dest"
"$dest/bin/nvim" --version | head -n 1 >&2 || die "the installed nvim does not run"
echo "$suite $candidate" >"$dest/.ready"
trap - EXIT
echo "$dest/bin/nvim"

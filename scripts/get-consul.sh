#!/usr/bin/env bash
# Obtains real Consul for the lab and the tests: Debian bullseye's `consul` package (1.8.7, the
# build a Debian 11 / Raspberry Pi OS user gets from `apt install consul`), fetched with a private
# apt configuration in a temp dir — the machine's own apt sources and state stay untouched — and
# extracted into a cache shared by every clone (/var/cache/cluster-lab/consul/<version>/consul).
# The repo's .tools/bin/consul links to it; scripts/env.sh puts .tools/bin on PATH.
# Quick and silent when cached. The same method is `installDebianConsul` in @cluster-lab/consul.
#
# Environment: CONSUL_CACHE_DIR (default /var/cache/cluster-lab/consul),
#              CONSUL_DEBIAN_MIRROR (default: the machine's own Debian mirror, else deb.debian.org).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

VERSION=1.8.7
SUITE=bullseye
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE="${CONSUL_CACHE_DIR:-/var/cache/cluster-lab/consul}"
BIN="$CACHE/$VERSION/consul"
LINK="$ROOT/.tools/bin/consul"

say() { echo "get-consul: $*" >&2; }
fail() { say "$1"; [ -n "${2:-}" ] && say "fix: $2"; exit 3; }

# First line of `consul version` (sed reads to the end: no SIGPIPE under pipefail).
version_line() { "$1" version 2>&1 | sed -n 1p; }

link_tool() {
  mkdir -p "$(dirname "$LINK")"
  [ "$(readlink "$LINK" 2>/dev/null)" = "$BIN" ] || ln -sfn "$BIN" "$LINK"
}

# Cached and runnable: nothing to fetch.
if [ -x "$BIN" ] && [ "$(version_line "$BIN")" = "Consul v$VERSION" ]; then
  link_tool
  exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "Consul $VERSION is not in $CACHE yet and fetching it needs root" "run: sudo bash scripts/setup.sh"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
  fail "apt-get/dpkg-deb not found: this method needs a Debian-based system" \
    "install Consul >= 1.8 yourself (distro package, HashiCorp's packages, or the hashicorp/consul image) and put it on PATH"
[ -r "$KEYRING" ] || fail "Debian's archive keyring $KEYRING is missing" "apt-get install debian-archive-keyring"

arch=$(dpkg --print-architecture)
case "$arch" in amd64 | arm64 | armhf) ;; *) fail "Debian's $SUITE suite has no consul for architecture $arch (amd64, arm64, armhf only)" \
  "install Consul >= 1.8 for $arch from HashiCorp and put it on PATH" ;; esac

# The mirror this machine already uses (deb822 URIs: line or a one-line `deb` entry), else Debian's CDN.
mirror="${CONSUL_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } } }' /etc/apt/sources.list)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/sources.list.d"
echo "deb [arch=$arch signed-by=$KEYRING] $mirror $SUITE main" >"$tmp/sources.list"
apt_opts=(
  -o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=$tmp/sources.list.d"
  -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
  -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1"
  -o "Acquire::Retries=1" -o "Acquire::http::Timeout=20" -o "Acquire::https::Timeout=20"
)
say "fetching Debian $SUITE's consul ($VERSION, $arch) from $mirror (private apt config; /etc/apt is not changed)"
if ! apt-get "${apt_opts[@]}" -qq --error-on=any update >"$tmp/update.log" 2>&1; then
  sed 's/^/  /' "$tmp/update.log" >&2
  fail "cannot read the $SUITE suite from $mirror" \
    "check the network, or set CONSUL_DEBIAN_MIRROR to a reachable Debian mirror, or install Consul >= 1.8 yourself and put it on PATH"
fi
if ! (cd "$tmp" && apt-get "${apt_opts[@]}" -qq download "consul:$arch") >"$tmp/download.log" 2>&1; then
  sed 's/^/  /' "$tmp/download.log" >&2
  fail "downloading consul from $mirror ($SUITE) failed" "retry later, or set CONSUL_DEBIAN_MIRROR"
fi
deb=$(ls "$tmp"/consul_*.deb)
got=$(dpkg-deb -f "$deb" Version)
case "$got" in "$VERSION"+* | "$VERSION"-*) ;; *) fail "the $SUITE suite now carries consul $got, not $VERSION" "update VERSION in scripts/get-consul.sh (and CONSUL_DEBIAN_VERSION in packages/consul)" ;; esac
dpkg-deb -x "$deb" "$tmp/x"
mkdir -p "$CACHE/$VERSION"
install -m 0755 "$tmp/x/usr/bin/consul" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
got=$(version_line "$BIN")
[ "$got" = "Consul v$VERSION" ] || fail "the extracted $BIN does not run here ($got)"
link_tool
say "Consul $VERSION ready: $BIN (linked from .tools/bin/consul)"

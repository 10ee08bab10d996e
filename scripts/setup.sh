#!/usr/bin/env bash
# Installs everything Cluster Lab needs on a Debian machine (as root) and builds it.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(docker.io dnsmasq-base udhcpc isc-dhcp-client dhcpcd-base busybox-static iproute2 arping iptables iputils-ping util-linux procps time)
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

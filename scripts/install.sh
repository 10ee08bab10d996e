#!/usr/bin/env bash
# Installs Cluster Lab on this machine for real use (root): everything setup.sh does, then the
# `cluster-lab` command in /usr/local/bin, /etc/cluster-lab/config.yaml (only if absent) and the
# systemd unit (enabled, not started: it runs at the next boot, or `systemctl start cluster-lab`).
# Safe to run again (e.g. after `git pull`); it never overwrites an existing config.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then echo "install: run as root (sudo bash scripts/install.sh)" >&2; exit 2; fi
bash "$ROOT/scripts/setup.sh"

launcher=/usr/local/bin/cluster-lab
cat > "$launcher.tmp" <<SH
#!/usr/bin/env bash
# Installed by $ROOT/scripts/install.sh
source "$ROOT/scripts/env.sh"
exec node --max-semi-space-size=1 "$ROOT/packages/cli/dist/bin.js" "\$@"
SH
chmod 755 "$launcher.tmp" && mv "$launcher.tmp" "$launcher"
echo "install: $launcher"

mkdir -p /etc/cluster-lab
if [ ! -e /etc/cluster-lab/config.yaml ]; then
  install -m 0644 "$ROOT/examples/config/config.yaml" /etc/cluster-lab/config.yaml
  echo "install: /etc/cluster-lab/config.yaml (the defaults; edit it, then: cluster-lab config check)"
else
  echo "install: keeping the existing /etc/cluster-lab/config.yaml"
fi

if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  install -m 0644 "$ROOT/packages/cli/systemd/cluster-lab.service" /etc/systemd/system/cluster-lab.service
  systemctl daemon-reload
  systemctl enable cluster-lab >/dev/null
  echo "install: cluster-lab.service enabled (starts at boot; now: systemctl start cluster-lab)"
else
  echo "install: no systemd here; run \`cluster-lab start\` yourself (unit file: packages/cli/systemd/cluster-lab.service)"
fi
"$launcher" --version >/dev/null && echo "install: done — try: cluster-lab dependencies"

#!/usr/bin/env bash
# Installs Cluster Lab on this machine for real use (root): everything setup.sh does, then the
# `cluster-lab` command in /usr/local/bin, /etc/cluster-lab/config.yaml (only if absent, mode 0600),
# the cluster secret /etc/cluster-lab/secret (only if absent) and the
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
# Root-only: the config may hold consul.encrypt and consul.aclToken.
if [ ! -e /etc/cluster-lab/config.yaml ]; then
  install -m 0600 "$ROOT/examples/config/config.yaml" /etc/cluster-lab/config.yaml
  echo "install: /etc/cluster-lab/config.yaml (mode 0600, the defaults; edit it, then: cluster-lab config check)"
else
  echo "install: keeping the existing /etc/cluster-lab/config.yaml"
  if [ -n "$(find /etc/cluster-lab/config.yaml -perm /077)" ]; then
    chmod go-rwx /etc/cluster-lab/config.yaml
    echo "install: /etc/cluster-lab/config.yaml was readable by other users; now mode $(stat -c %a /etc/cluster-lab/config.yaml)"
  fi
fi

# The cluster secret (docs/security.md): every node of one cluster needs the same file. A node
# without one gets a new secret here; on every node but the first, replace it with the first
# node's copy (the command printed below overwrites it).
secret=/etc/cluster-lab/secret
if [ -e "$secret" ]; then
  echo "install: keeping the existing cluster secret $secret"
else
  "$launcher" secret generate --output "$secret" >/dev/null
  echo "install: generated a NEW cluster secret in $secret (mode 0600)"
  echo "  on the first node: copy it to every other node before starting them:"
  echo "    sudo cat $secret | ssh <user>@<node> 'sudo install -D -m 600 /dev/stdin $secret'"
  echo "  on any other node: run that command on the first node instead, so this node gets the cluster's secret"
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

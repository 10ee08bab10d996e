#!/bin/sh
# Runs INSIDE the test VM (Debian's kernel, with 802.1Q), started by
# scripts/capture-vlan-fixtures.mjs: makes VLAN 200 on eth0 with the same `ip` commands the vlan
# backend runs and writes iproute2's answers into the folder $1, one file per fixture.
set -eu
out=$1

# `<command> 2>file` plus an "exit N" line: the format of the *-stderr.txt fixtures.
stderr_of() {
  file=$1
  shift
  code=0
  "$@" 2>"$out/$file" >/dev/null || code=$?
  echo "exit $code" >>"$out/$file"
}

uname -r >"$out/kernel-release"
ip -V >"$out/iproute2-version"
ip link set dev eth0 up
ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200
ip -j -d link show dev eth0.200 >"$out/vlan-eth0.200-down.json"
ip link set dev eth0.200 up
# The operational state follows the admin state a moment later.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  ip -j link show dev eth0.200 | grep -q '"operstate":"UP"' && break
  sleep 0.2
done
ip -j -d link show dev eth0.200 >"$out/vlan-eth0.200-up.json"
stderr_of vlan-add-exists-stderr.txt ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200
stderr_of vlan-add-missing-parent-stderr.txt ip link add link eth9 name eth9.200 type vlan protocol 802.1Q id 200
ip link del dev eth0.200

#!/bin/sh
# Runs INSIDE one of two test VMs whose eth0 share a cable (probe-vlan.vm.test.ts): the built
# CLI's `probe` over the default vlan backend, as two machines on a switch would run it.
#   probe-vm-guest.sh listen|probe <node> <cli> <folder shared by both VMs>
# The VMs meet through files in the shared folder: `listening` (A waits for B), `done` (B is
# through). Results go to that folder; the test reads them.
set -u
role=$1 node=$2 cli=$3 shared=$4

# Waits up to 150 s for a file another VM writes.
await() {
  i=0
  while [ ! -e "$1" ]; do
    i=$((i + 1))
    [ "$i" -le 750 ] || { echo "gave up waiting for $1" >&2; return 1; }
    sleep 0.2
  done
}

ip link set dev eth0 up
if [ "$role" = listen ]; then
  "$node" "$cli" probe --listen --json --config "$shared/listen.yaml" >"$shared/listen.out" 2>"$shared/listen.err" &
  listener=$!
  until grep -q probe-listening "$shared/listen.out" 2>/dev/null; do
    kill -0 "$listener" 2>/dev/null || { echo 'the listener exited early' >&2; exit 1; }
    sleep 0.2
  done
  touch "$shared/listening"
  await "$shared/done"
  kill -INT "$listener"
  wait "$listener"
  echo "$?" >"$shared/listen.code"
else
  # While A boots, load the CLI once (it stops at the missing config): Node's compile cache
  # (NODE_COMPILE_CACHE, on this VM's tmpfs) then shortens the start-up of the real runs.
  "$node" "$cli" probe --config /nonexistent >/dev/null 2>&1
  await "$shared/listening" || exit 1
  for config in probe-200 probe-300; do
    "$node" "$cli" probe --json --config "$shared/$config.yaml" >"$shared/$config.out" 2>"$shared/$config.err"
    echo "$?" >"$shared/$config.code"
  done
  touch "$shared/done"
fi
# What the probes left behind on this machine: addresses and links.
ip -j address show >"$shared/$role.addresses.json"
ip -j link show >"$shared/$role.links.json"

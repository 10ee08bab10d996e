#!/bin/busybox sh
# PID 1 of the test VM (packed into the initramfs by scripts/setup-vm.sh). Loads the virtio, 9p
# and 802.1Q modules, mounts the host's root read-only and the host's job folder writable (both
# over 9p), runs the job the host wrote there inside the host's root (scratch on tmpfs), leaves
# its output and exit status in the job folder and powers off. QEMU exits 0 whatever happens in
# here, so a job folder without a `status` file is the host's sign that the VM failed.
/bin/busybox --install -s /bin
export PATH=/bin

die() {
  echo "vm-init: $*" >&2
  poweroff_now
}

poweroff_now() {
  sync
  echo o >/proc/sysrq-trigger
  # sysrq returns before the power is gone; do not fall off the end (PID 1 exiting panics).
  sleep 60
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r module; do
  insmod "/modules/$module.ko" || die "cannot load module $module"
done </modules/load-order

# cache=loose: the host root does not change while the VM runs, and without it Node starts ~10× slower.
p9='trans=virtio,version=9p2000.L,msize=262144'
mkdir -p /host
mount -t 9p -o "$p9,cache=loose,ro" root /host || die 'cannot mount the host root (9p tag "root")'
for dir in proc sys dev tmp run; do [ -d "/host/$dir" ] || die "the host root has no /$dir to mount on"; done
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount --move /dev /host/dev
# The shell itself still needs a /dev/null (it gives one to every background job).
mknod -m 666 /dev/null c 1 3
for dir in tmp run; do mount -t tmpfs -o mode=1777 tmpfs "/host/$dir"; done
[ -d /host/var/tmp ] && mount -t tmpfs -o mode=1777 tmpfs /host/var/tmp
[ -d /host/dev/shm ] || mkdir -p /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mkdir -p /host/run/job
mount -t 9p -o "$p9" job /host/run/job || die 'cannot mount the job folder (9p tag "job")'
if [ -f /host/run/job/shares ]; then
  # Extra writable folders the host shared (9p tags share0, share1, …), e.g. a rendezvous
  # folder two VMs both see.
  for tag in $(cat /host/run/job/shares); do
    mkdir -p "/host/run/$tag"
    mount -t 9p -o "$p9" "$tag" "/host/run/$tag" || die "cannot mount the shared folder (9p tag \"$tag\")"
  done
fi

job=/host/run/job
# The host kills QEMU when the job overruns; should the host process itself be gone, the VM
# powers itself off a little later rather than run on unattended.
if [ -f "$job/timeout" ]; then
  limit=$(cat "$job/timeout")
  (
    sleep "$limit"
    echo "vm-init: the job ran past ${limit} s; powering off" >&2
    poweroff_now
  ) &
fi
# The command as argument lines, never as a shell string: env(1) sets the environment, then a
# fixed `sh -c` changes to the working directory and execs the arguments unchanged.
set -- /usr/bin/env -i
while IFS= read -r line; do set -- "$@" "$line"; done <"$job/env"
set -- "$@" /bin/sh -c 'cd "$1" && shift && exec "$@"' vm-job "$(cat "$job/cwd")"
while IFS= read -r line; do set -- "$@" "$line"; done <"$job/argv"
chroot /host "$@" >"$job/stdout" 2>"$job/stderr" </dev/null
echo "$?" >"$job/status.tmp"
mv "$job/status.tmp" "$job/status"
poweroff_now

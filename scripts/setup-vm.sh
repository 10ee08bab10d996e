#!/usr/bin/env bash
# Test-only: provides what the VM tests (`*.vm.test.ts`) boot — QEMU, Debian's generic kernel
# (it has the 802.1Q module this machine type's kernel lacks) and a busybox initramfs — and
# records them in $VM_CACHE_DIR/vm.json (default /var/cache/cluster-lab/vm). Not part of
# scripts/setup.sh, which also runs on production nodes. Safe to run again: a cached kernel and
# initramfs are reused; the initramfs is rebuilt when busybox, the kernel or scripts/vm-init.sh
# change. Needs root for apt-get.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${VM_CACHE_DIR:-/var/cache/cluster-lab/vm}"
# What the initramfs loads: virtio PCI + NIC, the 9p root, 802.1Q. Their dependencies are added.
MODULES=(virtio_pci virtio_net 9pnet_virtio 9p 8021q)
BUSYBOX=/bin/busybox

say() { echo "setup-vm: $*" >&2; }
need_root() { [ "$(id -u)" -eq 0 ] || { say "$1 needs root"; exit 3; }; }
apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { apt-get update -qq >&2; apt_updated=1; }; }
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -x "$BUSYBOX" ] && "$BUSYBOX" --list | grep -x insmod >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "installing ${missing[*]}"
  say "installing ${missing[*]}"
  apt_update
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Debian pins the kernel package name to its ABI (linux-image-6.1.0-57-amd64); the metapackage
# linux-image-amd64 depends on the current one with its exact version: "Depends: <pkg> (= <version>)".
resolve_kernel() {
  read -r pkg version < <(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
    awk '/^Depends:/ { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/) { v = $(i + 2); gsub(/[()=,]/, "", v); print $i, v; exit } }') || true
  release=${pkg#linux-image-}
}
pkg='' version=''
resolve_kernel
if [ -z "$pkg" ]; then
  apt_update
  resolve_kernel
fi
[ -n "$pkg" ] && [ -n "$version" ] || { say "cannot resolve the kernel package: linux-image-amd64 depends on no linux-image-<abi>-amd64"; exit 3; }
kdir="$CACHE/$pkg"_"$version"

if [ ! -f "$kdir/kernel-file" ]; then
  need_root "downloading $pkg"
  mkdir -p "$CACHE"
  work=$(mktemp -d "$CACHE/.kernel-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  say "downloading $pkg $version"
  # A stale package list names a file the mirror no longer has: update once and retry.
  (cd "$work" && apt-get download -qq "$pkg=$version" 2>/dev/null) || {
    apt_update
    resolve_kernel
    kdir="$CACHE/$pkg"_"$version"
    (cd "$work" && apt-get download -qq "$pkg=$version")
  }
  dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x"
  tree="$work/x/lib/modules/$release/kernel"
  staged="$work/staged"
  mkdir -p "$staged/modules"
  # QEMU boots the uncompressed ELF kernel straight through its PVH entry, skipping the BIOS and
  # the kernel's own decompression, which under TCG take ~5 s of every boot. The compressed
  # payload's place is in the bzImage header (boot protocol: setup_sects, payload_offset/length).
  bz="$work/x/boot/vmlinuz-$release"
  u() { od -An -tu"$2" -j "$1" -N"$2" "$bz" | tr -d ' '; }
  start=$(( ($(u $((0x1f1)) 1) + 1) * 512 + $(u $((0x248)) 4) ))
  length=$(u $((0x24c)) 4)
  # `tail` may die of SIGPIPE once `head` has its bytes; that is not a failure.
  payload() { { tail -c +$((start + 1)) "$bz" || true; } | head -c "$length"; }
  case $(payload | head -c 4 | od -An -tx1 | tr -d ' \n') in
    fd377a58) unpack=(xz -dc --single-stream) ;;
    28b52ffd) unpack=(zstd -dcq) ;;
    1f8b*) unpack=(gzip -dc) ;;
    *) unpack=() ;;
  esac
  if [ ${#unpack[@]} -gt 0 ] && payload | "${unpack[@]}" >"$staged/vmlinux" 2>/dev/null &&
    [ "$(head -c 4 "$staged/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
    kernel_file=vmlinux
  else
    say "cannot unpack $bz; booting it compressed (slower)"
    rm -f "$staged/vmlinux"
    cp "$bz" "$staged/vmlinuz"
    kernel_file=vmlinuz
  fi
  echo "$kernel_file" >"$staged/kernel-file"
  # No modules.dep in the package and no kmod here: read each module's `depends=` and order the
  # modules so every one comes after what it needs.
  declare -A path_of=() loaded=()
  while IFS= read -r ko; do
    name=${ko##*/}
    name=${name%.ko}
    path_of[${name//-/_}]=$ko
  done < <(find "$tree" -name '*.ko')
  order=()
  add_module() {
    local name=${1//-/_} dep
    [ -z "${loaded[$name]:-}" ] || return 0
    [ -n "${path_of[$name]:-}" ] || { say "module $name is not in $pkg"; exit 3; }
    loaded[$name]=1
    for dep in $(grep -a -o -m1 'depends=[A-Za-z0-9_,-]*' "${path_of[$name]}" | head -n1 | cut -d= -f2 | tr ',' ' '); do
      add_module "$dep"
    done
    cp "${path_of[$name]}" "$staged/modules/$name.ko"
    order+=("$name")
  }
  for m in "${MODULES[@]}"; do add_module "$m"; done
  printf '%s\n' "${order[@]}" >"$staged/modules/load-order"
  printf '%s\n' "$pkg $version" >"$staged/package"
  rm -rf "$kdir"
  mv "$staged" "$kdir"
  rm -rf "$work"
  trap - EXIT
  say "kernel $release cached in $kdir (modules: ${order[*]})"
fi

# The initramfs: static busybox, the modules, vm-init.sh as /init. Named by the hash of its inputs.
hash=$( (sha256sum "$BUSYBOX" "$ROOT/scripts/vm-init.sh" "$kdir"/modules/* | cut -d' ' -f1) | sha256sum | cut -c1-12)
initrd="$CACHE/initrd-$hash.cpio.gz"
if [ ! -f "$initrd" ]; then
  need_root "building the initramfs"
  work=$(mktemp -d "$CACHE/.initrd-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev"
  cp "$BUSYBOX" "$work/root/bin/busybox"
  cp -r "$kdir/modules" "$work/root/modules"
  install -m 0755 "$ROOT/scripts/vm-init.sh" "$work/root/init"
  (cd "$work/root" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -9 >"$work/initrd.cpio.gz"
  mv "$work/initrd.cpio.gz" "$initrd"
  rm -rf "$work"
  trap - EXIT
  say "initramfs built: $initrd"
fi

qemu=$(command -v qemu-system-x86_64)
qemu_version=$("$qemu" --version | awk 'NR==1 { sub(/^QEMU emulator version /, ""); print }')
manifest=$(printf '{"kernel":"%s","initrd":"%s","kernelPackage":"%s","kernelVersion":"%s","kernelRelease":"%s","qemu":"%s","qemuVersion":"%s"}\n' \
  "$kdir/$(cat "$kdir/kernel-file")" "$initrd" "$pkg" "$version" "$release" "$qemu" "$qemu_version")
if [ "$(cat "$CACHE/vm.json" 2>/dev/null)" != "$manifest" ]; then
  echo "$manifest" >"$CACHE/vm.json.tmp"
  mv "$CACHE/vm.json.tmp" "$CACHE/vm.json"
fi
# Older kernels and initramfs images are no longer named by the manifest.
for old in "$CACHE"/linux-image-* "$CACHE"/initrd-*.cpio.gz; do
  [ -e "$old" ] && [ "$old" != "$kdir" ] && [ "$old" != "$initrd" ] && rm -rf "$old"
done
say "VM ready: $pkg $version, QEMU $qemu_version"

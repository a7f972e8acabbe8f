#!/usr/bin/env bash
# Build, or reuse from the cache, the VM image the cloud-init boot test
# runs under qemu: Debian bookworm with its kernel, systemd, udev,
# cloud-init (NoCloud), etcd, docker, xfsprogs and LVM with thin
# provisioning. It carries no heatstrap: the test copies the image and puts
# the freshly built binary in, so a code change does not rebuild it.
#
# Cached by test/fixture.sh: editing the recipe rebuilds it. Prints the
# directory holding disk.img (raw ext4), vmlinuz and initrd.img.
# Recipe and pitfalls: ../shared/notes/testbed.md §D and §G.
set -euo pipefail

source "$(dirname "$0")/../fixture.sh"
BASE=systemd,systemd-sysv,dbus,udev,iproute2,ca-certificates
# Installed with apt inside the tree: debootstrap's own resolver does not
# follow virtual packages (cloud-init's python3-cryptography needs one).
PACKAGES="linux-image-amd64 initramfs-tools cloud-init ifupdown isc-dhcp-client e2fsprogs xfsprogs lvm2 thin-provisioning-tools etcd-server etcd-client docker.io"

fixture_begin vm
root="$tmp/root"
debootstrap --variant=minbase --include="$BASE" bookworm "$root" "$mirror" >"$log" 2>&1 ||
  { tail -30 "$log" >&2; exit 1; }
cleanup() { for m in dev sys proc; do umount "$root/$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No daemon may start inside the build.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
{
  chroot "$root" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends $PACKAGES
} >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
cleanup
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"

# A fresh cloud node: the daemons heatstrap turns on are off.
systemctl --root="$root" disable etcd.service docker.service docker.socket containerd.service >/dev/null 2>&1 || true
# NoCloud only (no metadata service to wait for); no locales package, so
# cloud-init's locale module would fail cloud-config.service (testbed §G).
cat >"$root/etc/cloud/cloud.cfg.d/99-heatstrap-test.cfg" <<'CFG'
datasource_list: [ NoCloud, None ]
locale: false
CFG
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$root/etc/fstab"
: >"$root/etc/machine-id"
echo heatstrap-vm >"$root/etc/hostname"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*

cp "$root"/boot/vmlinuz-* "$tmp/vmlinuz"
cp "$root"/boot/initrd.img-* "$tmp/initrd.img"
chmod 0644 "$tmp/vmlinuz" "$tmp/initrd.img"
mkfs.ext4 -q -F -L root -d "$root" "$tmp/disk.img" 3G >&2
rm -rf --one-file-system "$root"

fixture_commit

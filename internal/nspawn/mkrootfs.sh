#!/usr/bin/env bash
# Build, or reuse from the cache, the Debian bookworm tree the end-to-end
# tests boot with systemd-nspawn: real systemd, D-Bus, etcd and docker, and
# nothing enabled that a fresh cloud node would not have enabled.
#
# The cache key is a hash of this file, so editing the recipe rebuilds it.
# Prints the path of the finished tree.
set -euo pipefail

CACHE=${HEATSTRAP_TEST_CACHE:-/var/cache/heatstrap-test}
PACKAGES=systemd,systemd-sysv,dbus,iproute2,ca-certificates,etcd-server,etcd-client,docker.io,xfsprogs,util-linux
key=$(sha256sum "$0" | cut -c1-16)
out="$CACHE/rootfs-$key"

mkdir -p "$CACHE"
exec 9>"$CACHE/rootfs.lock"
flock 9
if [ -f "$out/.heatstrap-rootfs" ]; then
  echo "$out"
  exit 0
fi

mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
tmp="$out.tmp"
rm -rf "$tmp"
echo "building $out from $mirror (one-off, about a minute)" >&2
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
  { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }

# Package scripts enable their services; a fresh node has them off and
# heatstrap turns them on.
systemctl --root="$tmp" disable etcd.service docker.service docker.socket containerd.service >/dev/null 2>&1 || true
# No console login and no network config to wait for in a test container.
systemctl --root="$tmp" mask console-getty.service getty@tty1.service systemd-networkd-wait-online.service >/dev/null 2>&1 || true
echo heatstrap-e2e >"$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*

touch "$tmp/.heatstrap-rootfs"
mv "$tmp" "$out"
# Older recipes' trees are garbage now.
find "$CACHE" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$key" -exec rm -rf {} + 2>/dev/null || true
echo "$out"

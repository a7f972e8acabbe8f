#!/usr/bin/env bash
# Build, or reuse from the cache, the Debian bookworm tree the end-to-end
# tests boot with systemd-nspawn: real systemd, D-Bus, etcd and docker, and
# nothing enabled that a fresh cloud node would not have enabled.
#
# Cached by test/fixture.sh: editing the recipe rebuilds it. Prints the
# path of the finished tree.
set -euo pipefail

source "$(dirname "$0")/../../test/fixture.sh"
PACKAGES=systemd,systemd-sysv,dbus,iproute2,ca-certificates,etcd-server,etcd-client,docker.io,xfsprogs,util-linux

fixture_begin rootfs
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$tmp" "$mirror" >"$log" 2>&1 ||
  { tail -20 "$log" >&2; exit 1; }

# Package scripts enable their services; a fresh node has them off and
# heatstrap turns them on.
systemctl --root="$tmp" disable etcd.service docker.service docker.socket containerd.service >/dev/null 2>&1 || true
# No console login and no network config to wait for in a test container.
systemctl --root="$tmp" mask console-getty.service getty@tty1.service systemd-networkd-wait-online.service >/dev/null 2>&1 || true
echo heatstrap-e2e >"$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*

fixture_commit

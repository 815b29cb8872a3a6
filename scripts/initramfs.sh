#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest's base initramfs (busybox and the real tools the tests
# drive, with their shared libraries), cached in ~/.cache/dmp/initramfs/.
# Prints the path of the (uncompressed) cpio archive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Real tools, called by absolute path in the guest (busybox's shell prefers
# its own applets otherwise).
TOOLS=(
	/usr/sbin/dmsetup /usr/bin/fio /usr/bin/dd /usr/bin/md5sum /usr/bin/cmp
	/usr/sbin/losetup /usr/sbin/blockdev /usr/sbin/blkdiscard /usr/bin/fallocate
	/usr/bin/setpriv /usr/sbin/mkfs.ext4 /usr/sbin/mke2fs /usr/sbin/e2fsck
	/usr/sbin/modinfo /usr/sbin/insmod /usr/sbin/modprobe /usr/sbin/depmod /usr/sbin/blkzone /usr/bin/stat /usr/bin/od /usr/bin/timeout /usr/bin/nproc /usr/bin/flock
	/usr/bin/prometheus /usr/bin/prometheus-node-exporter
	/usr/sbin/lvm /usr/sbin/resize2fs
	/usr/sbin/cryptsetup /usr/sbin/veritysetup /usr/sbin/thin_check /usr/sbin/cache_check
	# dmeventd and its RAID and mirror plugins (dlopen()ed by their names,
	# as ld.so.cache finds them on the host)
	/sbin/dmeventd /lib/x86_64-linux-gnu/libdevmapper-event-lvm2raid.so
	/lib/x86_64-linux-gnu/libdevmapper-event-lvm2mirror.so
)
PKGS=(busybox-static dmsetup fio coreutils diffutils util-linux e2fsprogs kmod prometheus prometheus-node-exporter lvm2
	cryptsetup-bin thin-provisioning-tools dmeventd)

key=$( { dpkg-query -W "${PKGS[@]}"; printf '%s\n' "${TOOLS[@]}"; cat "$0"; } | sha256sum | cut -c1-12)
out="$DMP_CACHE/initramfs/base-$key.cpio"
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

log "building the guest initramfs"
root=$(mktemp -d)
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,mnt,var/tmp}
cp /bin/busybox "$root/bin/busybox"
# The kernel loads modules on demand (device-mapper's request_module("dm-%s"))
# by running /sbin/modprobe (CONFIG_MODPROBE_PATH): kmod's, which reads
# modules.alias.
ln -s /usr/sbin/modprobe "$root/sbin/modprobe"
# Shared objects of the tools, and the dynamic loader, at their own paths.
copy_with_libs "$root" "${TOOLS[@]}"
# e2fsprogs and dmsetup look for these.
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
: >"$root/etc/mtab"

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/mounts /etc/mtab
# Loopback networking: the exporter, node_exporter and Prometheus cases.
ip link set lo up 2>/dev/null
# What the tests use and a distribution kernel builds as modules (built in,
# modprobe does nothing).
for m in dm-mod dm-zero dm-flakey dm-delay loop ext4; do
	/usr/sbin/modprobe -q $m
done
# The tests' output goes to the second serial port, the kernel's to the first.
exec </dev/null >/dev/ttyS1 2>&1
echo "DMP-BOOTED $(nproc) cpus"
# scripts/vm.sh boots once with `dmp.probe` to learn whether KVM works.
grep -qw dmp.probe /proc/cmdline && reboot -f
cd /dmp && sh /dmp/cmd
echo "DMP-EXIT $?"
sync
reboot -f
INIT
chmod +x "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
log "initramfs ready: $out ($(du -h "$out" | cut -f1))"
echo "$out"

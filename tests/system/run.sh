#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The real-system leg: dmp installed from its Debian packages on a Debian 13
# system, booted in QEMU from its own disk, rebooted, and purged.
#
#   tests/system/run.sh [--debs DIR] [-o OUTDIR] [--image-only]
#
#   --debs DIR     take the packages from DIR (dmp-dkms, dmp-tools and the
#                  dmp-linux-librust-* of both kernels below); default: build
#                  them (scripts/deb.sh, into OUTDIR/debs)
#   -o OUTDIR      logs, and the run's disks when it fails (default: out/system)
#   --image-only   only make the cached image and volume group disk
#
# 1. image (cached in $DMP_CACHE/system/KEY/, keyed by what it holds): a
#    Debian 13 root file system made by mmdebstrap from this machine's mirror
#    (trixie, trixie-updates, trixie-backports) with systemd, udev, lvm2,
#    Debian's prometheus and prometheus-node-exporter, dkms, the stock Rust
#    kernel of trixie-backports (-amd64) and its headers, trixie's own 6.12
#    kernel (no Rust) and its headers, the Rust kernels' toolchain (trixie's
#    rustc 1.85.1, bindgen, gcc-14), and the -rt-amd64 kernel's packages
#    downloaded but not installed; as an ext4 image. A second disk with an
#    LVM volume group (made with this machine's lvm2 on a loop device:
#    metadata only, the host has no device-mapper) and ext4 on one volume.
# 2. install, in a chroot of a copy of the image on this machine (native
#    speed: DKMS builds a Rust module, which under TCG would take many
#    minutes): what a user does, `apt install ./dmp-*.deb`, checked: dmp.ko
#    built and signed for the Rust kernel, the 6.12 kernel skipped, nothing
#    enabled; then the -rt-amd64 kernel installed (skipped: no metadata) and
#    its dmp-linux-librust package (dmp.ko built by its postinst), then that
#    kernel purged (its dmp.ko goes with it: the kernel's prerm runs dkms;
#    here, not in the VM, where each depmod of a kernel takes a minute).
#    Then the
#    test's own configuration: the volumes in /etc/dmp/attach.conf, the
#    units enabled, Prometheus scraping both, the test units.
# 3. boot: QEMU (TCG) boots the disk with Debian's own kernel and initramfs
#    (root on virtio, systemd as PID 1); a test unit (tests/system/guest.sh)
#    checks the booted system and reboots it for real (QEMU restarts the
#    machine, same disks); after the second boot it checks everything again
#    and the data written before the reboot, purges the packages, checks that
#    nothing is left, and powers off. Its lines come on the second serial port.
#
# Prints "ok - NAME" / "not ok - NAME" lines and "# time: PHASE N s" lines;
# exits non-zero on a failure. Needs root (chroot, loop devices, mounts).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

DEBS=
OUTDIR=$DMP_ROOT/out/system
IMAGE_ONLY=
while [ $# -gt 0 ]; do
	case $1 in
	--debs) DEBS=${2:?--debs needs a directory} && shift 2 ;;
	--image-only) IMAGE_ONLY=1 && shift ;;
	-o) OUTDIR=${2:?-o needs a directory} && shift 2 ;;
	*) die "usage: tests/system/run.sh [--debs DIR] [-o OUTDIR] [--image-only]" ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "tests/system/run.sh needs root (chroot, loop devices, mounts)"
for t in mmdebstrap mkfs.ext4 losetup lvm qemu-system-x86_64 unshare; do
	command -v $t >/dev/null || die "$t is missing (scripts/setup.sh installs it)"
done
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
RUN=$OUTDIR/run
rm -rf "$RUN"
mkdir -p "$RUN"

fails=0
ok() { # STATUS NAME
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fails=$((fails + 1)); fi
}
phase_t0=$SECONDS
phase() { # NAME: the wall time since the previous phase ended
	echo "# time: $1 $((SECONDS - phase_t0)) s"
	phase_t0=$SECONDS
}

# The kernels: the newest -amd64 and -rt-amd64 of trixie-backports (Rust),
# and trixie's default kernel (6.12, no Rust).
STOCK=$DMP_ROOT/scripts/debian-stock.sh
REL=$("$STOCK" --suite trixie-backports --flavour amd64 release) || die "no -amd64 kernel in trixie-backports"
RT=$("$STOCK" --suite trixie-backports --flavour rt-amd64 release) || die "no -rt-amd64 kernel in trixie-backports"
mirror=$({ sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | head -1)
[ -n "$mirror" ] || mirror=$({ sed -n 's/^deb \(http[^ ]*\) .*/\1/p' /etc/apt/sources.list 2>/dev/null || true; } | grep -v security | head -1)
[ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources"

# --- 0. the packages ---------------------------------------------------------
if [ -n "$IMAGE_ONLY" ]; then
	:
elif [ -z "$DEBS" ]; then
	DEBS=$OUTDIR/debs
	# (The tools' unit tests run elsewhere in the test command: nocheck.)
	DEB_BUILD_OPTIONS=nocheck "$DMP_ROOT/scripts/deb.sh" --out "$DEBS" --kernel debian:trixie-backports:amd64 \
		--kernel debian:trixie-backports:rt-amd64 >"$RUN/deb.log" 2>&1 ||
		{ tail -20 "$RUN/deb.log"; die "building the packages failed (log: $RUN/deb.log)"; }
	phase "packages (scripts/deb.sh)"
fi
deb_of() { # PACKAGE: its .deb in $DEBS
	local f
	f=$(ls "$DEBS/$1"_*.deb 2>/dev/null | tail -1)
	[ -n "$f" ] || die "no $1_*.deb in $DEBS"
	echo "$f"
}
if [ -z "$IMAGE_ONLY" ]; then
	DEBS=$(cd "$DEBS" && pwd)
	DKMS_DEB=$(deb_of dmp-dkms)
	TOOLS_DEB=$(deb_of dmp-tools)
	LIBRUST_DEB=$(deb_of "dmp-linux-librust-$REL")
	LIBRUST_RT_DEB=$(deb_of "dmp-linux-librust-$RT")
fi

# --- 1. the image (cached) ---------------------------------------------------
PKGS=(
	systemd-sysv udev dbus kmod dmsetup lvm2 e2fsprogs fio curl jq procps zstd
	prometheus prometheus-node-exporter
	dkms openssl initramfs-tools rustc bindgen make
	linux-image-amd64 linux-headers-amd64
	linux-base/trixie-backports "linux-image-$REL" "linux-headers-$REL"
)
RT_PKGS=("linux-image-$RT" "linux-headers-$RT")
SUITES="trixie trixie-updates trixie-backports"
image_key=$( {
	echo "${PKGS[*]} | ${RT_PKGS[*]} | $SUITES | $mirror"
	sed -n '/^# @image-begin/,/^# @image-end/p' "$0"
} | sha256sum | cut -c1-12)
IMG_DIR=$DMP_CACHE/system/$image_key
BASE=$IMG_DIR/base.img

# @image-begin (what changes the image: part of its cache key)
build_image() {
	local root=$IMG_DIR/rootfs t0=$SECONDS
	rm -rf "$IMG_DIR"
	mkdir -p "$IMG_DIR"
	log "building the Debian 13 image (mmdebstrap from $mirror; log: $IMG_DIR/build.log)"
	# shellcheck disable=SC2016 # the hooks' $1 is mmdebstrap's
	nice -n 10 mmdebstrap --variant=minbase --mode=root --format=directory \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--include="$(IFS=,; echo "${PKGS[*]}")" \
		--customize-hook='echo dmp-system >"$1/etc/hostname"' \
		--customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
		--customize-hook='chroot "$1" apt-get clean' \
		--customize-hook="chroot \"\$1\" apt-get install --download-only -y -q ${RT_PKGS[*]}" \
		--skip=cleanup/apt \
		trixie "$root" \
		"deb $mirror trixie main" "deb $mirror trixie-updates main" "deb $mirror trixie-backports main" \
		>"$IMG_DIR/build.log" 2>&1 || { tail -20 "$IMG_DIR/build.log"; die "mmdebstrap failed (log: $IMG_DIR/build.log)"; }
	[ -e "$root/boot/vmlinuz-$REL" ] && [ -e "$root/boot/initrd.img-$REL" ] || die "the image has no /boot/vmlinuz-$REL or its initrd"
	chroot "$root" dpkg-query -W >"$IMG_DIR/manifest"
	du -sm "$root" | cut -f1 >"$IMG_DIR/size-mb"
	log "image root file system: $(cat "$IMG_DIR/size-mb") MB; making the ext4 image"
	mkfs.ext4 -q -F -L root -d "$root" "$BASE.tmp" 8G >>"$IMG_DIR/build.log" 2>&1 || die "mkfs.ext4 -d failed"
	mv "$BASE.tmp" "$BASE"
	rm -rf "$root"
	echo "$((SECONDS - t0))" >"$IMG_DIR/build-seconds"
}
# @image-end

mkdir -p "$DMP_CACHE/system"
exec 7>"$DMP_CACHE/system/.lock"
flock 7
if [ -f "$BASE" ]; then
	echo "# image: cached ($IMG_DIR, built in $(cat "$IMG_DIR/build-seconds") s)"
else
	build_image
	echo "# image: built in $(cat "$IMG_DIR/build-seconds") s ($IMG_DIR, root file system $(cat "$IMG_DIR/size-mb") MB)"
fi
flock -u 7
phase "image"

# --- 1b. the volume group disk (cached) ---------------------------------------
# dmptest/data (48 MiB, ext4 "dmpdata", mounted at /mnt/data by fstab) and
# dmptest/raw (16 MiB, no file system: known I/O with exact figures).
VG=dmptest
VG_DISK=$DMP_CACHE/system/vg-$(sed -n '/^# @vg-begin/,/^# @vg-end/p' "$0" | sha256sum | cut -c1-12).img
# @vg-begin
build_vg_disk() {
	local f=$VG_DISK.tmp loop c pe_start extent first
	rm -f "$f"
	truncate -s 96M "$f"
	loop=$(losetup -f --show "$f")
	c='devices{obtain_device_list_from_udev=0} activation{udev_sync=0 udev_rules=0}'
	lvmq() { # lvm without device-mapper, on that loop device only
		local out rc
		out=$(LVM_SUPPRESS_FD_WARNINGS=1 lvm "$1" --devices "$loop" --config "$c" --driverloaded n "${@:2}" 2>&1) && rc=0 || rc=$?
		printf '%s\n' "$out" | grep -v 'Activation disabled\|not zeroed' || true
		return $rc
	}
	{
		lvmq pvcreate "$loop" &&
			lvmq vgcreate "$VG" "$loop" &&
			lvmq lvcreate -an -Zn -y -n data -L 48M "$VG" &&
			lvmq lvcreate -an -Zn -y -n raw -L 16M "$VG"
	} >/dev/null
	pe_start=$(lvmq pvs --noheadings --units b --nosuffix -o pe_start "$loop" | tr -d ' ')
	extent=$(lvmq vgs --noheadings --units b --nosuffix -o vg_extent_size "$VG" | tr -d ' ')
	first=$(lvmq lvs --noheadings -o seg_pe_ranges "$VG/data" | sed 's/.*:\([0-9]*\)-.*/\1/' | tr -d ' ')
	losetup -d "$loop"
	[ -n "$pe_start" ] && [ -n "$extent" ] && [ -n "$first" ] || die "cannot read the volume group's layout"
	# The host has no device-mapper: the file system is written at the
	# volume's place in the disk.
	mkfs.ext4 -q -F -L dmpdata -E offset=$((pe_start + first * extent)) "$f" 48M || die "mkfs.ext4 of $VG/data failed"
	# The dm UUID of $VG/raw (LVM-<VG uuid><LV uuid>, without dashes).
	loop=$(losetup -f --show -r "$f")
	lvmq lvs --noheadings -o vg_uuid,lv_uuid "$VG/raw" | tr -d ' -' | sed 's/^/LVM-/' >"$VG_DISK.uuid"
	losetup -d "$loop"
	grep -qE '^LVM-[A-Za-z0-9]{64}$' "$VG_DISK.uuid" || die "cannot read the uuids of $VG/raw"
	mv "$f" "$VG_DISK"
}
# @vg-end
[ -f "$VG_DISK" ] || build_vg_disk
[ -z "$IMAGE_ONLY" ] || exit 0

# --- 2. install (chroot of a copy of the image) --------------------------------
ROOT_IMG=$RUN/root.img
MNT=$RUN/mnt
cp --sparse=always "$BASE" "$ROOT_IMG"
cp --sparse=always "$VG_DISK" "$RUN/vg.img"
mkdir -p "$MNT"
LOOP=$(losetup -f --show "$ROOT_IMG")
cleanup() {
	mountpoint -q "$MNT" && umount "$MNT"
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null
	LOOP=
	[ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null
	true
}
trap cleanup EXIT
mount "$LOOP" "$MNT"

# chroot into the image with /proc, /sys, /dev and the packages mounted, in
# a private mount namespace (nothing stays mounted). No service starts
# (policy-rc.d; no /run/systemd/system in a chroot).
in_image() {
	unshare -m --propagation private -- /bin/sh -ec '
		root=$1 debs=$2; shift 2
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mkdir -p "$root/tmp/debs"
		mount --bind "$debs" "$root/tmp/debs"
		cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' sh "$MNT" "$DEBS" "$@"
}
printf '#!/bin/sh\nexit 101\n' >"$MNT/usr/sbin/policy-rc.d"
chmod 755 "$MNT/usr/sbin/policy-rc.d"
: >"$RUN/install.log"
run_logged() { # NAME CMD...: CMD in the image; its output in install.log and NAME.log
	local name=$1 rc
	shift
	echo "### $name: $*" >>"$RUN/install.log"
	in_image "$@" >"$RUN/$name.log" 2>&1 && rc=0 || rc=$?
	cat "$RUN/$name.log" >>"$RUN/install.log"
	return $rc
}
k=/tmp/debs
ko_of() { ls "$MNT/lib/modules/$1/updates/dkms/dmp.ko"* 2>/dev/null | head -1; }
norust=$(cd "$MNT/boot" && ls config-* | sed 's/^config-//' | while read -r r; do
	grep -qx 'CONFIG_RUST=y' "$MNT/boot/config-$r" || echo "$r"; done | head -1)
[ -n "$norust" ] || die "the image has no kernel without Rust"

# From here on, a failed check is reported and the run goes on (steps that
# must work stop it with die).
set +e

# The user's command.
run_logged apt-install apt-get install -y "$k/$(basename "$DKMS_DEB")" "$k/$(basename "$TOOLS_DEB")" \
	"$k/$(basename "$LIBRUST_DEB")" && rc=0 || rc=$?
ok $rc "apt install ./dmp-dkms ./dmp-tools ./dmp-linux-librust-$REL: exit 0"
ko=$(ko_of "$REL")
[ -n "$ko" ] && [[ $(modinfo -F vermagic "$ko") == "$REL "* ]]
ok $? "dkms built dmp.ko for $REL (${ko#"$MNT"}), with its vermagic"
modinfo "$ko" >"$RUN/modinfo-$REL.txt" 2>&1 || true
[ "$(modinfo -F alias "$ko")" = dm-dmp ]
ok $? "the installed dmp.ko carries the alias dm-dmp"
[ "$(modinfo -F signer "$ko")" = "DKMS module signing key" ] && [ -n "$(modinfo -F sig_key "$ko")" ] &&
	[ -s "$MNT/var/lib/dkms/mok.pub" ]
ok $? "dkms signed it (signer '$(modinfo -F signer "$ko")', hash $(modinfo -F sig_hashalgo "$ko"), key /var/lib/dkms/mok.pub)"
# The module DKMS built has the bio path of the test legs' builds: no lock,
# no locked instruction, and dm_per_bio_data() computed inline (the metadata
# package's drivers/md/ headers), not called.
xz -dc "$ko" >"$RUN/dmp-dkms.ko" && "$DMP_ROOT/scripts/check-hot-path.sh" "$RUN/dmp-dkms.ko" >"$RUN/hot-path.log" 2>&1 &&
	! nm -u "$RUN/dmp-dkms.ko" | grep -qw dm_per_bio_data
ok $? "the bio path of the dmp.ko dkms built: no locked instruction (scripts/check-hot-path.sh), dm_per_bio_data() inline"
[ -z "$(ko_of "$norust")" ] && grep -q "BUILD_EXCLUSIVE" "$RUN/apt-install.log"
ok $? "dkms skipped $norust (no Rust): no dmp.ko, the install did not fail"
in_image dkms status >"$RUN/dkms-status-1.txt" 2>&1 || true
grep -qx "dmp/1.1.0, $REL, x86_64: installed" "$RUN/dkms-status-1.txt"
ok $? "dkms status: dmp/1.1.0, $REL, x86_64: installed"
enabled=$(find "$MNT/etc/systemd/system" -name 'dmp*' 2>/dev/null)
[ -z "$enabled" ] && [ -f "$MNT/lib/systemd/system/dmp-attach.service" ]
ok $? "the units are installed, none enabled ${enabled:+($enabled)}"
for f in /usr/sbin/dmpstat /usr/sbin/dmpctl /usr/share/man/man8/dmpstat.8.gz /usr/share/man/man8/dmpctl.8.gz \
	/usr/share/bash-completion/completions/dmpstat /usr/share/zsh/vendor-completions/_dmpctl \
	/usr/share/fish/vendor_completions.d/dmpstat.fish /usr/share/dmp/prometheus/dmp-rules.yml; do
	[ -e "$MNT$f" ] || { ok 1 "dmp-tools installs $f"; }
done
grep -qx /etc/dmp/attach.conf "$MNT/var/lib/dpkg/info/dmp-tools.conffiles"
ok $? "/etc/dmp/attach.conf is a conffile"

# A second Rust kernel: installed without its metadata, dmp is skipped and
# the kernel's installation does not fail; its metadata package builds dmp.
# (Without Recommends, as the image was made: the kernel's is apparmor,
# whose profiles take 20 s of each boot under TCG.)
run_logged apt-install-rt apt-get install -y --no-install-recommends "${RT_PKGS[@]}" && rc=0 || rc=$?
ok $rc "apt install --no-install-recommends linux-image-$RT linux-headers-$RT (dmp-dkms installed, no metadata for it): exit 0"
[ -z "$(ko_of "$RT")" ] && grep -q "BUILD_EXCLUSIVE" "$RUN/apt-install-rt.log"
ok $? "dkms skipped dmp for $RT (no Rust metadata)"
run_logged apt-install-librust-rt apt-get install -y "$k/$(basename "$LIBRUST_RT_DEB")" && rc=0 || rc=$?
ok $rc "apt install ./dmp-linux-librust-$RT: exit 0"
ko=$(ko_of "$RT")
[ -n "$ko" ] && [[ $(modinfo -F vermagic "$ko") == "$RT "* ]] && [ "$(modinfo -F signer "$ko")" = "DKMS module signing key" ]
ok $? "its postinst built dmp.ko for $RT (${ko#"$MNT"}), signed, with its vermagic"
in_image dkms status >"$RUN/dkms-status-2.txt" 2>&1 || true
grep -qx "dmp/1.1.0, $RT, x86_64: installed" "$RUN/dkms-status-2.txt"
ok $? "dkms status: dmp/1.1.0, $RT, x86_64: installed"
# Removing a kernel removes its dmp.ko (the kernel's prerm runs dkms), and
# its metadata package goes with it. (Here, not in the booted system: each
# depmod of a kernel's 4000 compressed modules takes over a minute under
# TCG, and the purge below does one per kernel.)
run_logged apt-purge-rt apt-get purge -y "linux-image-$RT" "linux-headers-$RT" \
	"dmp-linux-librust-$RT" && rc=0 || rc=$?
ok $rc "apt purge linux-image-$RT linux-headers-$RT dmp-linux-librust-$RT: exit 0"
in_image dkms status >"$RUN/dkms-status-3.txt" 2>&1 || true
[ -z "$(ko_of "$RT")" ] && ! grep -q "$RT" "$RUN/dkms-status-3.txt" &&
	grep -qx "dmp/1.1.0, $REL, x86_64: installed" "$RUN/dkms-status-3.txt"
ok $? "dkms removed dmp for $RT with the kernel, kept it for $REL"
phase "install (chroot)"


# The test's own configuration, as an administrator would write it: the
# volumes in attach.conf (one by VG/LV, one by dm UUID), the units enabled,
# the data volume in fstab, Prometheus scraping the exporter and
# node_exporter (loopback, every 2 s; node_exporter, whose every collector
# takes seconds under TCG, every 10 s with a 10 s timeout: at 5 s, on a
# machine running three other VMs, every scrape of boot 2 timed out for 94 s
# (up 0); with dmp's rules).
{
	echo "# The system test's volumes."
	echo "$VG/data"
	echo "uuid:$(cat "$VG_DISK.uuid")   # $VG/raw"
} >"$MNT/etc/dmp/attach.conf"
echo "/dev/$VG/data /mnt/data ext4 defaults 0 2" >>"$MNT/etc/fstab"
mkdir -p "$MNT/mnt/data"
printf '%s\n' \
	'global:' \
	'  scrape_interval: 2s' \
	'  evaluation_interval: 2s' \
	'rule_files: [/usr/share/dmp/prometheus/dmp-rules.yml]' \
	'scrape_configs:' \
	'  - job_name: node' \
	'    scrape_interval: 10s' \
	'    scrape_timeout: 10s' \
	"    static_configs: [{targets: ['127.0.0.1:9100']}]" \
	'  - job_name: dmp' \
	"    static_configs: [{targets: ['127.0.0.1:9947']}]" >"$MNT/etc/prometheus/prometheus.yml"
sed -i 's|^ARGS=.*|ARGS="--web.listen-address=127.0.0.1:9090"|' "$MNT/etc/default/prometheus"
grep -qx 'ARGS="--web.listen-address=127.0.0.1:9090"' "$MNT/etc/default/prometheus" ||
	die "unexpected $MNT/etc/default/prometheus"
# The raw volume's exact figures: udev must not read it again after a write
# (its "watch" of block devices closed after writing).
echo 'SUBSYSTEM=="block", ENV{DM_NAME}=="'"$VG"'-raw", OPTIONS+="nowatch"' \
	>"$MNT/etc/udev/rules.d/99-system-test-nowatch.rules"
printf 'REL=%s\nRT=%s\nVG=%s\n' "$REL" "$RT" "$VG" >"$MNT/etc/system-test.conf"
install -D -m755 "$DMP_ROOT/tests/system/guest.sh" "$MNT/usr/local/lib/system-test/guest.sh"
# Boot 1 reboots the machine when done (a clean reboot: QEMU restarts it with
# the same disks); boot 2 powers it off.
for b in 1 2; do
	{
		echo '[Unit]'
		echo "Description=dmp real-system test, boot $b (tests/system/guest.sh)"
		echo 'After=multi-user.target'
		if [ $b = 1 ]; then
			echo 'ConditionPathExists=!/var/lib/system-test/boot1-done'
			echo 'SuccessAction=reboot'
			echo 'FailureAction=reboot'
		else
			echo 'ConditionPathExists=/var/lib/system-test/boot1-done'
			echo 'SuccessAction=poweroff-force'
			echo 'FailureAction=poweroff-force'
		fi
		echo
		echo '[Service]'
		echo 'Type=oneshot'
		echo "ExecStart=/usr/local/lib/system-test/guest.sh $b"
		echo 'StandardInput=null'
		echo 'StandardOutput=tty'
		echo 'StandardError=inherit'
		echo 'TTYPath=/dev/ttyS1'
		echo 'TimeoutStartSec=900'
		echo
		echo '[Install]'
		echo 'WantedBy=default.target'
	} >"$MNT/etc/systemd/system/system-test-boot$b.service"
done
run_logged enable systemctl enable dmp-attach.service dmpstat-exporter.service dmpstat-textfile.service \
	system-test-boot1.service system-test-boot2.service || die "systemctl enable failed: $(cat "$RUN/enable.log")"
rm -f "$MNT/usr/sbin/policy-rc.d"
cp "$MNT/boot/vmlinuz-$REL" "$MNT/boot/initrd.img-$REL" "$RUN/" || die "the image has no kernel $REL"
umount "$MNT" || die "cannot unmount $MNT"
losetup -d "$LOOP"
LOOP=
phase "test configuration"

# --- 3. boot, reboot, purge (QEMU) ---------------------------------------------
log "booting the image ($REL, TCG; serial console: $RUN/console.log, test lines: $RUN/guest.log)"
: >"$RUN/guest.log"
# QEMU's default CPU model (TCG emulates its SSE code faster than -cpu max's
# AVX), no mitigations (page table isolation costs TCG much at each system
# call): settings of the test's VM, not of the system in it.
# Stopped after DMP_SYSTEM_TIMEOUT seconds (exit 124) by timeout(1), which
# ends with QEMU: a sleeping watchdog would hold this job's output open.
timeout --foreground "${DMP_SYSTEM_TIMEOUT:-1200}" qemu-system-x86_64 -accel tcg,thread=multi -m 2048 -smp 2 -nodefaults -display none \
	-kernel "$RUN/vmlinuz-$REL" -initrd "$RUN/initrd.img-$REL" \
	-append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.firstboot=off mitigations=off" \
	-drive "file=$ROOT_IMG,if=virtio,format=raw" -drive "file=$RUN/vg.img,if=virtio,format=raw" \
	-serial "file:$RUN/console.log" -serial "file:$RUN/guest.log" -nic none \
	>"$RUN/qemu.log" 2>&1 &
QPID=$!
boot_t0=$SECONDS
while IFS= read -r line; do
	echo "$((SECONDS - boot_t0)) $line" >>"$RUN/guest-times.log"
	case $line in
	"SYSTEM-TEST-BOOT "*)
		b=${line#SYSTEM-TEST-BOOT }
		echo "# time: boot ${b%% *} (QEMU start or reboot to the test unit) $((SECONDS - boot_t0)) s; guest uptime ${line##* uptime }"
		boot_t0=$SECONDS
		;;
	SYSTEM-TEST-REBOOT*)
		echo "# time: boot 1 checks $((SECONDS - boot_t0)) s"
		boot_t0=$SECONDS
		;;
	SYSTEM-TEST-END*)
		echo "# time: boot 2 checks and purge $((SECONDS - boot_t0)) s"
		boot_t0=$SECONDS
		;;
	*) echo "$line" ;;
	esac
done < <(tail -n +1 -f --pid=$QPID "$RUN/guest.log")
wait "$QPID" && qrc=0 || qrc=$?
QPID=
if ! grep -q '^SYSTEM-TEST-END ' "$RUN/guest.log"; then
	echo "not ok - the guest ran both boots to the end (qemu exit $qrc; last console lines below)"
	tail -25 "$RUN/console.log" | sed 's/^/#   /'
	fails=$((fails + 1))
fi
n=$(grep -c '^not ok - ' "$RUN/guest.log" || true)
fails=$((fails + n))
phase "boot, reboot and purge (QEMU)"
rmdir "$MNT" 2>/dev/null
# The disks (2.5 GB) are kept only when something failed.
[ "$fails" -ne 0 ] || rm -f "$ROOT_IMG" "$RUN/vg.img"
echo "# system leg: $fails failure(s); logs in $RUN"
[ "$fails" -eq 0 ]

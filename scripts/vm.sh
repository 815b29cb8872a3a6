#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the cached test kernel in QEMU with dmp.ko and the guest tests, run a
# command in the guest, stream its output, and fail on a bad kernel log.
#
#   vm.sh [-k normal|debug|newest|debian[:SUITE:FLAVOUR]] [-K dmp.ko] [-t timeout_s] [-o outdir] [-m mem] [-c cmdline] [-x cpio] -- CMD...
#
# -K: the dmp.ko to put into the guest (default: the repository's dmp.ko), so
# that VMs of several kernels can run at once, each with its own build.
# CMD runs under the guest's /bin/sh in /dmp, which holds dmp.ko, tests/ and
# scripts/guest/. The exit status is CMD's; it is 1 when the kernel log shows
# a BUG, WARNING, Oops, panic, Rust panic, KASAN, lockdep or kmemleak report.
# KVM is used where it works (probed once, cached), else TCG with 2 vCPUs;
# DMP_ACCEL=kvm|tcg forces one. DMP_ICOUNT=N runs TCG with `-icount shift=N`
# (guest time follows the instructions executed: see scripts/bench.sh);
# DMP_SMP=N sets the number of vCPUs (default 2). -x appends a cpio archive
# to the guest's initramfs (more tools for one run, e.g. scripts/bench.sh's
# eBPF tools).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=normal timeout=900 outdir= mem=2048 extra_cmdline= extra_cpio= ko=$DMP_ROOT/dmp.ko
while getopts k:K:t:o:m:c:x: opt; do
	case $opt in
	k) variant=$OPTARG ;;
	K) ko=$OPTARG ;;
	t) timeout=$OPTARG ;;
	o) outdir=$OPTARG ;;
	m) mem=$OPTARG ;;
	c) extra_cmdline=$OPTARG ;;
	x) extra_cpio=$OPTARG ;;
	*) die "usage: vm.sh [-k variant] [-K dmp.ko] [-t timeout] [-o outdir] [-m mem] [-c cmdline] [-x cpio] -- CMD" ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || die "no guest command"

# The kernel image and its modules tree (lib/modules/<release>, with
# modules.dep, so that `modprobe` works in the guest).
if is_stock "$variant"; then
	# shellcheck disable=SC2046 # the options are words
	gdir=$("$DMP_ROOT/scripts/debian-stock.sh" $(stock_args "$variant") guest) || die "Debian's stock kernel ($variant) is not ready"
	image=$gdir/vmlinuz
	moddir=$gdir
else
	kdir=$(kernel_dir "$variant")
	[ -f "$kdir/.dmp-built" ] || die "no $variant kernel: run scripts/build-kernel.sh $variant"
	image=$kdir/arch/x86/boot/bzImage
	moddir=$kdir/.dmp-modules
	exec 9>"$kdir/.dmp-modules.lock"
	flock 9
	if [ ! -f "$moddir/.done" ]; then
		rm -rf "$moddir"
		make -s -C "$kdir" LLVM="$LLVM_SUFFIX" INSTALL_MOD_PATH="$moddir" INSTALL_MOD_STRIP=1 \
			modules_install >/dev/null || die "installing the modules of the $variant kernel"
		rm -f "$moddir"/lib/modules/*/build "$moddir"/lib/modules/*/source
		touch "$moddir/.done"
	fi
	exec 9>&-
fi
[ -f "$ko" ] || die "no $ko: build dmp.ko first"
base=$("$DMP_ROOT/scripts/initramfs.sh")
outdir=${outdir:-$DMP_ROOT/out/vm-$(variant_slug "$variant")}
mkdir -p "$outdir"
rm -f "$outdir"/{console,guest}.log

# The per-run part of the initramfs, appended to the cached base: the kernel
# unpacks concatenated cpio archives in order.
stage=$(mktemp -d)
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dmp/scripts" "$stage/lib/modules"
cp "$ko" "$stage/dmp/dmp.ko"
cp -r "$DMP_ROOT/tests" "$stage/dmp/tests"
rm -rf "$stage/dmp/tests/host" "$stage/dmp/tests/tools" "$stage/dmp/tests/logreplay"
cp -r "$DMP_ROOT/scripts/guest" "$stage/dmp/scripts/guest"
# Test helpers in Rust, built for the host (the guest has its libc).
mkdir -p "$stage/dmp/bin"
# (Built once per source and compiler, in the cache.)
for t in "$DMP_ROOT"/tests/tools/*.rs; do
	b="$DMP_CACHE/guest-tools/$(basename "$t" .rs)-$( { cat "$t"; rustc --version; } | sha256sum | cut -c1-12)"
	if [ ! -x "$b" ]; then
		mkdir -p "$DMP_CACHE/guest-tools/tmp.$$"
		rustc --edition 2021 -O --out-dir "$DMP_CACHE/guest-tools/tmp.$$" "$t" || die "building $t"
		mv "$DMP_CACHE/guest-tools/tmp.$$/$(basename "$t" .rs)" "$b"
		rm -rf "$DMP_CACHE/guest-tools/tmp.$$"
	fi
	cp "$b" "$stage/dmp/bin/$(basename "$t" .rs)"
done
cp -a "$moddir"/lib/modules/. "$stage/lib/modules/"
# The user tools (dmpstat, dmpctl) and the crash-replay test's log replayer.
for crate in tools/dmpstat tools/dmpctl tests/logreplay; do
	tool=$(basename "$crate")
	if [ -f "$DMP_ROOT/$crate/Cargo.toml" ]; then
		cargo build -q --release --manifest-path "$DMP_ROOT/$crate/Cargo.toml" || die "building $tool"
		cp "$CARGO_TARGET_DIR/release/$tool" "$stage/dmp/bin/"
	fi
done
# The boot-path files (systemd unit, example configuration).
[ -d "$DMP_ROOT/deploy" ] && cp -r "$DMP_ROOT/deploy" "$stage/dmp/deploy"
printf '%q ' "$@" >"$stage/dmp/cmd"
echo >>"$stage/dmp/cmd"
echo "$variant" >"$stage/dmp/kernel-variant"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$outdir/run.cpio"
cat "$base" "$outdir/run.cpio" ${extra_cpio:+"$extra_cpio"} >"$outdir/initramfs.cpio"

cmdline="console=ttyS0 acpi=ht panic=-1 mitigations=off $extra_cmdline"
[ "$variant" = debug ] || cmdline+=" kmemleak=off"
qemu_args=(
	-kernel "$image" -initrd "$outdir/initramfs.cpio"
	-append "$cmdline" -m "$mem" -smp "${DMP_SMP:-2}" -nodefaults -display none -no-reboot
	-serial "file:$outdir/console.log" -serial "file:$outdir/guest.log"
)

# Does KVM run this kernel? Boot it once with an init that only reports.
accel=${DMP_ACCEL:-}
if [ -z "$accel" ]; then
	# A KVM that fails one kernel is taken as failing all (a failed probe
	# waits out its 30 s: once per host, not once per kernel); one that
	# works is probed again for each kernel image.
	host_key=$( { uname -r; qemu-system-x86_64 --version | head -1; } | sha256sum | cut -c1-12)
	probe_key=$( { uname -r; qemu-system-x86_64 --version | head -1; echo "$image"; } | sha256sum | cut -c1-12)
	probe="$DMP_CACHE/accel-$probe_key"
	[ -f "$DMP_CACHE/accel-host-$host_key" ] && probe="$DMP_CACHE/accel-host-$host_key"
	if [ ! -f "$probe" ]; then
		if [ -w /dev/kvm ]; then
			log "probing KVM"
			rm -f "$outdir/guest.log"
			(timeout 30 qemu-system-x86_64 "${qemu_args[@]}" -accel kvm -cpu host \
				-append "$cmdline dmp.probe" >/dev/null 2>&1 || true) 2>/dev/null
			if grep -q DMP-BOOTED "$outdir/guest.log" 2>/dev/null; then
				echo kvm >"$probe"
			else
				echo tcg >"$probe"
				echo tcg >"$DMP_CACHE/accel-host-$host_key"
			fi
		else
			echo tcg >"$probe"
		fi
	fi
	accel=$(cat "$probe")
fi
[ -n "${DMP_ICOUNT:-}" ] && accel=icount
case $accel in
kvm) qemu_args+=(-accel kvm -cpu host) ;;
tcg) qemu_args+=(-accel tcg,thread=multi) ;;
icount) qemu_args+=(-accel tcg,thread=single -icount "shift=$DMP_ICOUNT,sleep=off") ;;
*) die "unknown accelerator '$accel'" ;;
esac

echo "$accel" >"$outdir/accel"
log "booting the $variant kernel ($accel, timeout ${timeout}s); logs in $outdir"
: >"$outdir/guest.log"
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 "${qemu_args[@]}" >"$outdir/qemu.log" 2>&1 &
qpid=$!
tail -n +1 -f --pid=$qpid "$outdir/guest.log" 2>/dev/null | grep --line-buffered -v '^DMP-' || true
wait $qpid && qrc=0 || qrc=$?

rc=$(sed -n 's/^DMP-EXIT \([0-9]*\).*/\1/p' "$outdir/guest.log" | tail -1)
if [ -z "$rc" ]; then
	[ $qrc -eq 124 ] && log "the VM timed out after ${timeout}s" || log "the VM stopped early (qemu exit $qrc)"
	tail -30 "$outdir/console.log" >&2
	rc=1
fi
# The kernel log must be clean. Stack traces are allowed only with the
# allocator's reports of failures the fault-injection tests cause.
. "$DMP_ROOT/tests/klog.sh"
bad=$(klog_problems "$outdir/console.log" 1 || true)
if [ -n "$bad" ]; then
	log "the kernel log shows problems ($outdir/console.log):"
	echo "$bad" | head -20 >&2
	echo "DMP-KERNEL-LOG-BAD"
	rc=1
fi
exit "$rc"

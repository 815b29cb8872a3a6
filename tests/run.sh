#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest test runner: runs every case (functions named t_* in tests/cases/*.sh,
# in order) in a fresh state, prints one line per case and ends with
# "N passed, N failed, N skipped". A case fails when it fails an assertion or
# when the kernel logs a warning while it runs; it is skipped when it exits 77
# (what it checks does not exist on this kernel).
#   run.sh [REGEX [SKIP]]   only cases whose name matches REGEX (grep -E), and
#                           not SKIP
cd "$(dirname "$0")" || exit 1
. ./lib.sh
for f in cases/*.sh; do . "./$f"; done

. ./klog.sh

cleanup() {
	cd /
	grep -q " $T/mnt " /proc/mounts && umount "$T/mnt"
	$DMSETUP remove_all >/dev/null 2>&1
	$LOSETUP -D >/dev/null 2>&1
	for d in /sys/kernel/config/nullb/*/; do
		[ -d "$d" ] || continue
		echo 0 >"$d/power"
		rmdir "$d"
	done
	grep -q '^dmp ' /proc/modules && rmmod dmp
	# dmp.ko installed where modprobe finds it (the autoload case): gone.
	if [ -e "/lib/modules/$(uname -r)/updates/dmp.ko" ]; then
		rm -f "/lib/modules/$(uname -r)/updates/dmp.ko"
		$DEPMOD -a
	fi
	grep -q '^null_blk ' /proc/modules && rmmod null_blk
	rm -rf "$T"
}

# Leaks found by kmemleak before the suite (boot) are not the suite's.
[ -w /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak

passed=0 failed=0 skipped=0 n=0
cases=$(sed -n 's/^\(t_[a-z0-9_]*\) *() *{.*/\1/p' cases/*.sh)
for c in $cases; do
	echo "$c" | grep -qE "${1:-.}" || continue
	[ -n "${2:-}" ] && echo "$c" | grep -qE "$2" && continue
	n=$((n + 1))
	cleanup
	mkdir -p "$T"
	rm -f /tmp/case.allow-alloc-warnings
	before=$(klog_lines)
	start=$(date +%s)
	( set -u; $c ) >"/tmp/case.log" 2>&1
	rc=$?
	cleanup >>/tmp/case.log 2>&1
	if [ $rc -eq 0 ] && grep -q '^dmp ' /proc/modules; then
		echo "  FAIL: dmp still loaded after cleanup" >>/tmp/case.log
		rc=1
	fi
	dmesg | tail -n +$((before + 1)) >/tmp/case.klog
	allow=0
	[ -f /tmp/case.allow-alloc-warnings ] && allow=1
	if [ -n "$(klog_problems /tmp/case.klog $allow)" ]; then
		{ echo "  FAIL: kernel log:"; dmesg | tail -n +$((before + 1)) | head -40; } >>/tmp/case.log
		rc=1
	fi
	secs=$(($(date +%s) - start))
	if [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "ok $n - ${c#t_} # SKIP $(tail -1 /tmp/case.log)"
	elif [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - ${c#t_} (${secs}s)"
		grep '^  # ' /tmp/case.log
	else
		failed=$((failed + 1))
		echo "not ok $n - ${c#t_} (${secs}s)"
		sed 's/^/    /' /tmp/case.log
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]

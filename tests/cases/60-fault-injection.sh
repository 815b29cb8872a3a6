# SPDX-License-Identifier: GPL-2.0
# Allocation failures, injected with /proc/<pid>/fail-nth (debug kernel only).
#
# tests/tools/fail_nth runs a command with its N-th fault-injectable call
# failing and says whether that call happened. Only slab allocations made with
# module code on the stack count (failslab's stack filter set to the module
# area), so the calls are those of dmp's own code and what it calls. A binary
# search finds how many there are; the cases then fail each in turn.

FN=/dmp/bin/fail_nth
# kmod's insmod: busybox's retries with init_module(2) when finit_module(2)
# fails, which would load the module on the second try.
INSMOD=/usr/sbin/insmod

# failslab_on: fail slab allocations on request, quietly (a verbose report
# carries a stack trace), only under module code: x86-64 puts modules between
# the end of the kernel's text and MODULES_END. The allocator's own reports of
# the failures it sees are expected.
failslab_on() {
	FS=/sys/kernel/debug/failslab
	if [ ! -e $FS/require-start ] || [ ! -e /proc/self/fail-nth ]; then
		echo "no failslab with a stack filter in this kernel"
		exit 77
	fi
	etext=$(sed -n 's/^\([0-9a-f]*\) . _etext$/\1/p' /proc/kallsyms)
	[ -n "$etext" ] || fail "no _etext in /proc/kallsyms"
	echo 0 >$FS/ignore-gfp-wait
	echo 0 >$FS/verbose
	echo 32 >$FS/stacktrace-depth
	echo "0x$etext" >$FS/require-start
	echo 0xffffffffff000000 >$FS/require-end
	expect_alloc_warnings
}

# injected N CMD...: run CMD failing its N-th call; true if that call happened.
# CMD's status is left in $rc.
injected() {
	n=$1
	shift
	out=$($FN "$n" "$@" 2>&1 >/dev/null)
	rc=$?
	case $out in *"not injected"*) return 1 ;; *injected*) return 0 ;; esac
	fail "fail_nth: $out"
}

# calls_of UNDO CMD...: how many fault-injectable calls CMD makes; UNDO (a
# shell command) is run after each try.
calls_of() {
	undo=$1
	shift
	hi=64
	while injected $hi "$@"; do
		eval "$undo"
		hi=$((hi * 2))
		[ $hi -le 65536 ] || fail "no end to the calls of $*"
	done
	eval "$undo"
	lo=$((hi / 2))
	# Invariant: call lo happens (or lo is 0), call hi does not.
	[ $hi -eq 64 ] && lo=0
	while [ $((hi - lo)) -gt 1 ]; do
		mid=$(((lo + hi) / 2))
		if injected $mid "$@"; then lo=$mid; else hi=$mid; fi
		eval "$undo"
	done
	echo $lo
}

unload_if_loaded() { grep -q '^dmp ' /proc/modules && rmmod dmp; }

# Module init fails at each of its allocations in turn: every failure leaves
# no target, no sysfs file and no module; both failure paths of init run (the
# sysfs set-up, and target registration, which must remove the sysfs files).
t_module_init_unwinds_on_allocation_failures() {
	failslab_on
	total=$(calls_of unload_if_loaded $INSMOD $KO)
	[ "$total" -gt 0 ] || fail "dmp's init allocates nothing?"
	before=$(klog_lines)
	n=1
	failures=0 missed=0
	while [ $n -le $total ]; do
		# The per-CPU allocator sometimes makes one call fewer (a chunk
		# it already has): the load then succeeds untouched.
		injected $n $INSMOD $KO || {
			[ $rc -eq 0 ] || fail "call $n of $total did not happen, and the load failed"
			missed=$((missed + 1))
		}
		if [ $rc -eq 0 ]; then
			$DMSETUP targets | grep -q '^dmp ' || fail "n=$n: loaded without the target"
			[ -f $VOLUMES ] || fail "n=$n: loaded without $VOLUMES"
			must rmmod dmp
		else
			failures=$((failures + 1))
			[ ! -e /sys/module/dmp ] || fail "n=$n: insmod failed but /sys/module/dmp is there"
			$DMSETUP targets | grep -q '^dmp ' && fail "n=$n: insmod failed but the target is registered"
		fi
		n=$((n + 1))
	done
	log=$(dmesg | tail -n +$((before + 1)))
	reg=$(echo "$log" | grep -c 'dmp: registering the target failed')
	sysfs=$(echo "$log" | grep -c 'dmp: creating /sys/module/dmp/stat failed')
	# Some failures are absorbed on the way (the load then succeeds, and
	# works): each is either a clean failure or a working module.
	note "dmp's init makes $total allocations; failing each in turn: $failures failed loads," \
		"$reg in target registration, $sysfs in the sysfs set-up, $missed not reached"
	[ "$reg" -ge 1 ] || fail "no allocation failure hit target registration"
	[ "$sysfs" -ge 1 ] || fail "no allocation failure hit the sysfs set-up"
	# It still loads and works.
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dread /dev/mapper/dmp1 4096 1
	volumes_is 1 4096 0 0 1 4096
}

# `dmsetup create` fails at each allocation made under dmp's code (its
# constructor, and callbacks of the new table): a failed create leaves no
# device, no reference leaked (the loop device has no holder, the
# module unloads), and the constructor's own allocation was among them.
t_create_fails_cleanly_on_allocation_failures() {
	failslab_on
	load
	loop=$(loopdev 8)
	table="0 8192 dmp $loop 8"
	total=$(calls_of "$DMSETUP remove f1 >/dev/null 2>&1" $DMSETUP create f1 --table "$table")
	[ "$total" -gt 0 ] || fail "dmp's constructor allocates nothing?"
	before=$(klog_lines)
	n=1
	failures=0 missed=0
	while [ $n -le $total ]; do
		injected $n $DMSETUP create f1 --table "$table" || {
			[ $rc -eq 0 ] || fail "call $n of $total did not happen, and the create failed"
			missed=$((missed + 1))
		}
		if [ $rc -eq 0 ]; then
			assert_eq "$($DMSETUP table f1 | cut -d' ' -f5)" 8 "n=$n: offset of f1"
			must $DMSETUP remove f1
		else
			failures=$((failures + 1))
			# dmsetup removes what it created when a later step fails.
			$DMSETUP info f1 >/dev/null 2>&1 && fail "n=$n: f1 left behind"
		fi
		n=$((n + 1))
	done
	ctx=$(dmesg | tail -n +$((before + 1)) | grep -c 'dmp: Cannot allocate target context')
	note "dmp's constructor makes $total allocations; failing each in turn: $failures failed creates," \
		"$ctx at the constructor's own allocation, $missed not reached"
	[ "$ctx" -ge 1 ] || fail "no allocation failure hit the constructor"
	assert_eq "$(ls /sys/block/${loop#/dev/}/holders | wc -l)" 0 "holders of $loop"
	must rmmod dmp
}

# SPDX-License-Identifier: GPL-2.0
# Allocation failures, injected with /proc/<pid>/fail-nth (debug kernel only).

# failslab_on: make slab allocations of tasks with fail-nth set fail, quietly
# (a verbose report carries a stack trace the runner would take for a splat).
failslab_on() {
	FS=/sys/kernel/debug/failslab
	if [ ! -e $FS ] || [ ! -e /proc/self/fail-nth ]; then
		echo "no failslab in this kernel"
		exit 77
	fi
	echo 0 >$FS/ignore-gfp-wait
	echo 0 >$FS/verbose
}

# fail_nth N CMD...: run CMD with the N-th fault-injectable call of its task
# failing (the count survives exec).
fail_nth() {
	n=$1
	shift
	sh -c 'echo "$0" >/proc/self/fail-nth && exec "$@"' "$n" "$@"
}

# Module init fails at each allocation in turn: every failure leaves no
# target, no sysfs file, no loaded module; both unwind paths of init run
# (target registered but sysfs failed; target not registered).
t_module_init_unwinds_on_allocation_failures() {
	failslab_on
	before=$(klog_lines)
	n=1 ok_streak=0 failures=0
	while [ $ok_streak -lt 30 ] && [ $n -lt 5000 ]; do
		if fail_nth $n insmod $KO 2>/dev/null; then
			ok_streak=$((ok_streak + 1))
			$DMSETUP targets | grep -q '^dmp ' || fail "n=$n: loaded without the target"
			[ -f $VOLUMES ] || fail "n=$n: loaded without $VOLUMES"
			must rmmod dmp
		else
			ok_streak=0
			failures=$((failures + 1))
			[ ! -e /sys/module/dmp ] || fail "n=$n: insmod failed but /sys/module/dmp is there"
			$DMSETUP targets | grep -q '^dmp ' && fail "n=$n: insmod failed but the target is registered"
		fi
		n=$((n + 1))
	done
	log=$(dmesg | tail -n +$((before + 1)))
	reg=$(echo "$log" | grep -c 'dmp: registering the target failed')
	sysfs=$(echo "$log" | grep -c 'dmp: creating /sys/module/dmp/stat failed')
	note "$failures failed loads in $((n - 1)) tries; init failed $reg times before and $sysfs times after registering the target"
	[ "$reg" -ge 1 ] || fail "no allocation failure hit target registration"
	[ "$sysfs" -ge 1 ] || fail "no allocation failure hit the sysfs set-up"
	# Still loads and works.
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dread /dev/mapper/dmp1 4096 1
	volumes_is 1 4096 0 0 1 4096
}

# The constructor fails at each allocation in turn: no device is left, the
# module still unloads (no reference leaked).
t_create_fails_cleanly_on_allocation_failures() {
	failslab_on
	load
	loop=$(loopdev 4)
	before=$(klog_lines)
	n=1 ok_streak=0 failures=0
	while [ $ok_streak -lt 10 ] && [ $n -lt 2000 ]; do
		if fail_nth $n $DMSETUP create f1 --table "0 8192 dmp $loop 8" >/dev/null 2>&1; then
			ok_streak=$((ok_streak + 1))
			assert_eq "$($DMSETUP table f1 2>/dev/null | cut -d' ' -f5)" 8 "n=$n: offset of f1"
			must $DMSETUP remove f1
		else
			ok_streak=0
			failures=$((failures + 1))
			# dmsetup removes what it created when a later step fails.
			$DMSETUP info f1 >/dev/null 2>&1 && fail "n=$n: f1 left behind"
		fi
		n=$((n + 1))
	done
	ctx=$(dmesg | tail -n +$((before + 1)) | grep -c 'dmp: Cannot allocate target context')
	note "$failures failed creates in $((n - 1)) tries, $ctx at the target's own allocation"
	[ "$ctx" -ge 1 ] || fail "no allocation failure hit the constructor"
	assert_eq "$(ls /sys/block/${loop#/dev/}/holders | wc -l)" 0 "holders of $loop"
	must rmmod dmp
}

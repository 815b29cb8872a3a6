# SPDX-License-Identifier: GPL-2.0
# Concurrency, load with verification, lifecycle churn.

# fio_issued LOG: "READS WRITES" that fio says it issued.
fio_issued() {
	sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/\1 \2/p' "$1" |
		awk '{r += $1; w += $2} END {print r, w}'
}

# Two readers and two writers on all CPUs at once, a known number of I/Os
# each: the counters must be exact.
t_concurrent_fio_counts_exactly() {
	load
	nullb nr_devices=1 queue_mode=2 irqmode=0 gb=1 submit_queues="$(nproc)"
	dm dmp1 "0 2097152 dmp /dev/nullb0"
	must $FIO --output=$T/fio.log --filename=/dev/mapper/dmp1 --direct=1 --ioengine=io_uring \
		--iodepth=16 --size=64M --group_reporting=0 \
		--name=r --rw=randread --bs=4k --io_size=8M --numjobs=2 \
		--name=w --rw=randwrite --bs=16k --io_size=8M --numjobs=2
	assert_eq "$(fio_issued $T/fio.log)" "4096 1024" "fio issued"
	status_is dmp1 "read_reqs=4096 read_bytes=16777216 write_reqs=1024 write_bytes=16777216 other_reqs=0 errors=0"
	volumes_is 4096 4096 1024 16384 5120 6553
}

# fio writes and verifies (crc32c) with mixed block sizes, two jobs, while
# counters are read and reset as fast as possible and the device is
# suspended and resumed: no verify error, no hang, no splat.
t_verify_under_resets_and_suspends() {
	load
	loop=$(loopdev 64)
	dm dmp1 "0 131072 dmp $loop"
	(
		n=0
		while [ ! -e $T/stop ]; do
			cat $VOLUMES >/dev/null
			echo >$VOLUMES
			$DMSETUP status dmp1 >/dev/null
			$DMSETUP message dmp1 0 reset
			n=$((n + 1))
		done
		echo $n >$T/resets
	) &
	chaos=$!
	(
		n=0
		while [ ! -e $T/stop ]; do
			$DMSETUP suspend dmp1 && $DMSETUP resume dmp1 || exit 1
			n=$((n + 1))
			sleep 0.2
		done
		echo $n >$T/cycles
	) &
	cycler=$!
	size=24M loops=2
	debug_kernel && size=8M loops=1
	$FIO --output=$T/fio.log --filename=/dev/mapper/dmp1 --direct=1 --ioengine=io_uring \
		--iodepth=8 --name=v --rw=randwrite --bsrange=4k-64k --size=$size --offset_increment=24M \
		--numjobs=2 --verify=crc32c --verify_backlog=64 --verify_fatal=1 --loops=$loops
	rc=$?
	touch $T/stop
	wait $chaos
	wait $cycler || fail "suspend/resume failed"
	[ $rc -eq 0 ] || { cat $T/fio.log; fail "fio failed ($rc)"; }
	grep -q 'verify: bad' $T/fio.log && fail "verify errors"
	assert_eq "$(grep -c 'err= 0' $T/fio.log)" 2 "jobs without error"
	assert_eq "$(stat_field dmp1 errors)" 0 "errors"
	[ "$(cat $T/resets)" -gt 0 ] && [ "$(cat $T/cycles)" -gt 0 ] || fail "no concurrent resets or suspends"
	note "verified: $(fio_issued $T/fio.log) reads/writes; $(cat $T/resets) reset rounds, $(cat $T/cycles) suspend/resume cycles"
}

# The same load without concurrent resets: counters equal what fio issued.
t_fio_mixed_load_matches_counters() {
	load
	loop=$(loopdev 64)
	dm dmp1 "0 131072 dmp $loop"
	must $FIO --output=$T/fio.log --filename=/dev/mapper/dmp1 --direct=1 --ioengine=libaio \
		--iodepth=8 --name=m --rw=randrw --bs=4k --size=16M --offset_increment=16M \
		--numjobs=2 --io_size=8M --verify=crc32c --verify_fatal=1
	set -- $(fio_issued $T/fio.log)
	status_is dmp1 "read_reqs=$1 read_bytes=$(($1 * 4096)) write_reqs=$2 write_bytes=$(($2 * 4096)) other_reqs=0 errors=0"
	[ "$1" -gt 0 ] && [ "$2" -gt 0 ] || fail "fio issued '$1' reads, '$2' writes"
}

# Rounds of the churn cases: 100, or 10 on the debug kernel, where each round
# is slow and kmemleak (last case) checks for leaks exactly (a leak per round
# shows after one).
churn_rounds() { if debug_kernel; then echo 10; else echo 100; fi; }

t_churn_module_load_unload() {
	loop=$(loopdev 4)
	n=$(churn_rounds)
	i=0
	while [ $i -lt $n ]; do
		insmod $KO || fail "insmod round $i"
		echo "0 8192 dmp $loop" | $DMSETUP create churn || fail "create round $i"
		$DD if=/dev/mapper/churn of=/dev/null bs=4096 count=2 iflag=direct 2>/dev/null ||
			fail "read round $i"
		[ "$(sed -n 2p $VOLUMES)" = "  reqs: 2" ] || fail "round $i: $(cat $VOLUMES)"
		$DMSETUP remove churn || fail "remove round $i"
		rmmod dmp || fail "rmmod round $i"
		i=$((i + 1))
	done
}

t_churn_devices() {
	load
	l1=$(loopdev 4)
	l2=$(loopdev 4)
	n=$(churn_rounds)
	i=0
	while [ $i -lt $n ]; do
		# Slab caches settle during the first rounds; measure the last 80%.
		[ $i -eq $((n / 5)) ] && slab_before=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
		echo "0 8192 dmp $l1" | $DMSETUP create c1 || fail "create c1 round $i"
		echo "0 8192 dmp $l2 0" | $DMSETUP create c2 || fail "create c2 round $i"
		echo "0 4096 dmp /dev/mapper/c1 4096" | $DMSETUP create c3 || fail "create c3 round $i"
		$DD if=/dev/mapper/c3 of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null || fail "read round $i"
		$DMSETUP remove c3 && $DMSETUP remove c2 && $DMSETUP remove c1 || fail "remove round $i"
		i=$((i + 1))
	done
	volumes_is $((2 * n)) 4096 0 0 $((2 * n)) 4096
	slab_after=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
	note "slab: $slab_before kB after round $((n / 5)), $slab_after kB after round $n"
	# 240 leaked targets (1088 bytes each, in kmalloc-2k) would add 480 kB. On the
	# debug kernel KASAN's quarantine holds freed objects back, and kmemleak
	# (last case) is the exact check instead.
	if [ ! -e /sys/kernel/debug/kmemleak ]; then
		[ $((slab_after - slab_before)) -lt 240 ] || fail "slab grew by $((slab_after - slab_before)) kB"
	fi
}

# io_uring submits with REQ_NOWAIT. A 128 KiB read on a null_blk whose
# requests hold 124 KiB must be split below dmp, which REQ_NOWAIT forbids: it
# ends with BLK_STS_AGAIN and io_uring sends it again, blocking. Each read
# must count once, and not as an error.
t_nowait_retries_count_once() {
	load
	nullb nr_devices=1 queue_mode=2 irqmode=0 gb=1 bs=4096 submit_queues="$(nproc)"
	[ "$(cat /sys/block/nullb0/queue/max_sectors_kb)" -lt 128 ] || fail "null_blk takes 128 KiB requests"
	dm dmp1 "0 2097152 dmp /dev/nullb0"
	must $FIO --output=$T/fio.log --filename=/dev/mapper/dmp1 --direct=1 --ioengine=io_uring \
		--iodepth=32 --name=r --rw=read --bs=128k --io_size=64M --numjobs=2
	assert_eq "$(fio_issued $T/fio.log)" "1024 0" "fio issued"
	status_is dmp1 "read_reqs=1024 read_bytes=134217728 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	volumes_is 1024 131072 0 0 1024 131072
}

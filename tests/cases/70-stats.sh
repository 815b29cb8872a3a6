# SPDX-License-Identifier: GPL-2.0
# Per-target distributions (`dmsetup message NAME 0 stats [clear]`) and
# figures that survive a reload.

# stats NAME [clear]: the stats text of NAME's first target.
stats() { $DMSETUP message "$1" 0 stats ${2:+"$2"}; }

# stats_line TEXT KIND FIELD: the numbers of line "KIND FIELD ..." of TEXT.
stats_line() { echo "$1" | sed -n "s/^$2 $3 //p"; }

# stats_key TEXT KIND KEY: KEY=value of line "KIND reqs=..." of TEXT.
stats_key() { echo "$1" | sed -n "s/^$2 reqs=.*/&/p" | tr ' ' '\n' | sed -n "s/^$3=//p"; }

# sum WORDS...: their sum.
sum() { echo "$*" | tr ' ' '\n' | awk '{s += $1} END {print s + 0}'; }

# nth N WORDS...: the N-th word (0-based).
nth() { n=$1; shift; echo "$*" | cut -d' ' -f$((n + 1)); }

t_stats_text_format() {
	load
	dm zero1 "0 20480 zero"
	dm dmp1 "0 20480 dmp /dev/mapper/zero1"
	s=$(stats dmp1)
	assert_eq "$(echo "$s" | wc -l)" 12 "lines"
	assert_eq "$(echo "$s" | sed -n 1p)" "dmp-stats v1" "header"
	assert_eq "$(echo "$s" | sed -n 2p)" "lat_ns_lower 0 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576 2097152 4194304 8388608 16777216 33554432 67108864 134217728 268435456 536870912 1073741824 2147483648 4294967296 8589934592 17179869184" "latency bounds"
	assert_eq "$(echo "$s" | sed -n 3p)" "size_b_lower 0 512 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576" "size bounds"
	for k in read write other; do
		assert_eq "$(echo "$s" | grep "^$k reqs=")" "$k reqs=0 bytes=0 errors=0 in_flight=0 lat_sum_ns=0 max_lat_ns=0" "$k figures"
		assert_eq "$(stats_line "$s" $k lat_ns)" "$(echo 0 | awk '{for (i = 0; i < 26; i++) printf "%s0", i ? " " : ""}')" "$k latency"
		assert_eq "$(stats_line "$s" $k size_b)" "0 0 0 0 0 0 0 0 0 0 0 0 0" "$k sizes"
	done
}

# Known O_DIRECT I/O of known sizes lands in known size buckets, per kind;
# every completed request is in a latency bucket.
t_size_histogram_is_exact() {
	load
	nullb nr_devices=1 queue_mode=2 gb=1 memory_backed=1 discard=1
	dm dmp1 "0 2097152 dmp /dev/nullb0"
	dread /dev/mapper/dmp1 4096 8
	dread /dev/mapper/dmp1 512 2
	dwrite /dev/mapper/dmp1 65536 3
	dwrite /dev/mapper/dmp1 1048576 1
	must $BLKDISCARD -f -o 0 -l 1048576 /dev/mapper/dmp1
	s=$(stats dmp1)
	assert_eq "$(stats_line "$s" read size_b)" "0 2 0 0 8 0 0 0 0 0 0 0 0" "read sizes"
	assert_eq "$(stats_line "$s" write size_b)" "0 0 0 0 0 0 0 0 3 0 0 0 1" "write sizes"
	assert_eq "$(stats_line "$s" other size_b)" "0 0 0 0 0 0 0 0 0 0 0 0 1" "discard size"
	assert_eq "$(stats_key "$s" read reqs) $(stats_key "$s" read bytes)" "10 33792" "reads"
	assert_eq "$(stats_key "$s" write reqs) $(stats_key "$s" write bytes)" "4 1245184" "writes"
	assert_eq "$(stats_key "$s" other reqs) $(stats_key "$s" other bytes)" "1 1048576" "other"
	for k in read write other; do
		assert_eq "$(sum $(stats_line "$s" $k lat_ns))" "$(stats_key "$s" $k reqs)" "$k latency buckets"
		assert_eq "$(stats_key "$s" $k in_flight)" 0 "$k in flight"
		[ "$(stats_key "$s" $k max_lat_ns)" -gt 0 ] || fail "$k max latency is 0"
	done
	status_is dmp1 "read_reqs=10 read_bytes=33792 write_reqs=4 write_bytes=1245184 other_reqs=1 errors=0"
}

# A read delayed 80 ms below dmp (dm-delay) is in the [2^26, 2^27) ns bucket
# (67-134 ms), and so is the largest latency.
t_delayed_request_lands_in_its_latency_bucket() {
	load
	dm zero1 "0 20480 zero"
	dm slow "0 20480 delay /dev/mapper/zero1 0 80"
	dm dmp1 "0 20480 dmp /dev/mapper/slow"
	dread /dev/mapper/dmp1 4096 3
	s=$(stats dmp1)
	lat=$(stats_line "$s" read lat_ns)
	assert_eq "$(nth 17 $lat)" 3 "reads in [2^26, 2^27) ns: $lat"
	assert_eq "$(sum $lat)" 3 "reads in all buckets"
	max=$(stats_key "$s" read max_lat_ns)
	[ "$max" -ge 80000000 ] && [ "$max" -lt 134217728 ] || fail "max latency $max ns"
	sum_ns=$(stats_key "$s" read lat_sum_ns)
	[ "$sum_ns" -ge 240000000 ] && [ "$sum_ns" -le $((3 * max)) ] || fail "latency sum $sum_ns ns"
	note "3 reads delayed 80 ms: max $max ns, sum $sum_ns ns"
}

# dmp measures latency with the raw TSC where the kernel keeps time with a
# TSC it trusts, with ktime_get() elsewhere, and says which when it loads.
# make test runs the latency cases a second time on a kernel booted with
# tsc=unstable: there the clock is ktime_get() and they must hold all the same.
t_latency_clock_follows_the_kernel() {
	load
	want=tsc
	grep -qw 'tsc=unstable' /proc/cmdline && want=ktime_get
	got=$(dmesg | sed -n 's/.*dmp: latency clock: \([a-z_]*\)$/\1/p' | tail -1)
	assert_eq "$got" "$want" "latency clock ($(cat /proc/cmdline))"
	note "latency clock: $got; kernel clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
}

# `stats clear` prints and starts a new interval; `dmsetup status` goes on,
# `reset` zeroes both.
t_stats_clear_and_reset() {
	load
	dm zero1 "0 20480 zero"
	dm dmp1 "0 20480 dmp /dev/mapper/zero1"
	dread /dev/mapper/dmp1 4096 5
	s=$(stats dmp1 clear)
	assert_eq "$(stats_key "$s" read reqs)" 5 "cleared interval"
	s=$(stats dmp1)
	assert_eq "$(echo "$s" | grep '^read reqs=')" "read reqs=0 bytes=0 errors=0 in_flight=0 lat_sum_ns=0 max_lat_ns=0" "after clear"
	status_is dmp1 "read_reqs=5 read_bytes=20480 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	dwrite /dev/mapper/dmp1 4096 2
	assert_eq "$(stats_key "$(stats dmp1)" write reqs)" 2 "next interval"
	must $DMSETUP message dmp1 0 reset
	assert_eq "$(stats_key "$(stats dmp1)" write reqs)" 0 "after reset"
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	for bad in "stats x" "stats clear now" "stats  clear x" "Stats" "clear"; do
		refuse $DMSETUP message dmp1 0 $bad
	done
}

# fio on every CPU while two readers `stats clear` in a loop: the intervals
# they print, plus the last one, add up to exactly what fio issued.
t_stats_clear_intervals_add_up_under_fio() {
	load
	nullb nr_devices=1 queue_mode=2 irqmode=0 gb=1 submit_queues="$(nproc)"
	dm dmp1 "0 2097152 dmp /dev/nullb0"
	for r in 1 2; do
		(
			: >$T/reads.$r
			while [ ! -e $T/stop ]; do
				s=$(stats dmp1 clear) || exit 1
				echo "$(stats_key "$s" read reqs) $(stats_key "$s" write reqs)" >>$T/reads.$r
			done
		) &
		eval "reader$r=\$!"
	done
	io=8M
	debug_kernel && io=2M
	must $FIO --output=$T/fio.log --filename=/dev/mapper/dmp1 --direct=1 --ioengine=io_uring \
		--iodepth=16 --size=64M --group_reporting=0 \
		--name=r --rw=randread --bs=4k --io_size=$io --numjobs="$(nproc)" \
		--name=w --rw=randwrite --bs=8k --io_size=$io --numjobs="$(nproc)"
	touch $T/stop
	wait $reader1 || fail "reader 1 failed"
	wait $reader2 || fail "reader 2 failed"
	s=$(stats dmp1 clear)
	echo "$(stats_key "$s" read reqs) $(stats_key "$s" write reqs)" >>$T/reads.1
	got=$(cat $T/reads.1 $T/reads.2 | awk '{r += $1; w += $2} END {print r, w}')
	assert_eq "$got" "$(sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/\1 \2/p' $T/fio.log |
		awk '{r += $1; w += $2} END {print r, w}')" "sum of the intervals vs fio"
	note "intervals read: $(cat $T/reads.1 $T/reads.2 | wc -l), total $got"
}

# A reload that replaces the dmp target at the same start keeps its figures,
# exactly, with a writer running across it (new device size and offset);
# one at another start, or a new device, starts from zero.
t_reload_keeps_figures_under_a_writer() {
	load
	l1=$(loopdev 8)
	dm dmp1 "0 8192 dmp $l1"
	(
		n=0
		while [ ! -e $T/stop ]; do
			$DD if=/dev/zero of=/dev/mapper/dmp1 bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null || exit 1
			n=$((n + 1))
		done
		echo $n >$T/writes
	) &
	writer=$!
	sleep 1
	echo "0 12288 dmp $l1 2048" | must $DMSETUP reload dmp1
	sleep 0.5
	must $DMSETUP resume dmp1
	sleep 1
	touch $T/stop
	wait $writer || fail "writer failed across the reload"
	n=$(cat $T/writes)
	[ "$n" -gt 0 ] || fail "no writes"
	assert_eq "$(stat_field dmp1 write_reqs)" "$n" "writes across the reload"
	assert_eq "$(stats_key "$(stats dmp1)" write reqs)" "$n" "stats across the reload"
	assert_eq "$(stats_key "$(stats dmp1)" write in_flight)" 0 "in flight"
	assert_eq "$(sed -n '/^write:/,/reqs/s/  reqs: //p' $VOLUMES)" "$n" "volumes"
	note "$n writes across reload + resume"
	# Another start sector: a new target, from zero.
	printf '0 4096 zero\n4096 8192 dmp %s 0\n' "$l1" | must $DMSETUP reload dmp1
	must $DMSETUP resume dmp1
	assert_eq "$(stat_field dmp1 write_reqs 2)" 0 "target at another start"
	# Removed and created again: from zero.
	must $DMSETUP remove dmp1
	dm dmp1 "0 8192 dmp $l1"
	assert_eq "$(stat_field dmp1 write_reqs)" 0 "new device"
}

# An aborted reload (the inactive table cleared) leaves the live target's
# figures alone, and a second reload still finds them.
t_reload_cleared_keeps_figures() {
	load
	dm zero1 "0 20480 zero"
	dm dmp1 "0 20480 dmp /dev/mapper/zero1"
	dread /dev/mapper/dmp1 4096 4
	echo "0 20480 dmp /dev/mapper/zero1 0" | must $DMSETUP reload dmp1
	must $DMSETUP clear dmp1
	dread /dev/mapper/dmp1 4096 1
	echo "0 10240 dmp /dev/mapper/zero1 10240" | must $DMSETUP reload dmp1
	must $DMSETUP resume dmp1
	dread /dev/mapper/dmp1 4096 2
	assert_eq "$(stat_field dmp1 read_reqs)" 7 "reads"
}

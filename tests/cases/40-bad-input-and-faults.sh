# SPDX-License-Identifier: GPL-2.0
# Wrong table lines, faults below dmp.

# bad_table REASON TABLE: create fails, the log says REASON, nothing is left.
bad_table() {
	before=$(klog_lines)
	echo "$2" | refuse $DMSETUP create bad
	dmesg | tail -n +$((before + 1)) | grep -q "dmp: $1" ||
		fail "table '$2': no '$1' in the log: $(dmesg | tail -n +$((before + 1)))"
	[ ! -e /dev/mapper/bad ] || fail "table '$2' left /dev/mapper/bad"
	$DMSETUP info bad >/dev/null 2>&1 && fail "table '$2' left a device"
	return 0
}

t_bad_table_lines_refused() {
	load
	loop=$(loopdev 8)   # 16384 sectors
	n=0
	while IFS='|' read -r reason args; do
		bad_table "$reason" "0 8192 dmp $args"
		n=$((n + 1))
	done <<EOF2
Invalid argument count|
Invalid argument count|$loop 0 extra
Invalid argument count|$loop 0 1 2
Device lookup failed|/dev/does-not-exist
Device lookup failed|250:250
Device lookup failed|/tmp
Invalid offset|$loop abc
Invalid offset|$loop -1
Invalid offset|$loop +1
Invalid offset|$loop 12x
Invalid offset|$loop 0x10
Invalid offset|$loop 1e3
Invalid offset|$loop 18446744073709551616
Invalid offset|$loop 99999999999999999999999999
Device too small|$loop 8193
Device too small|$loop 16384
Device too small|$loop 18446744073709551615
EOF2
	assert_eq $n 17 "cases run"
	bad_table "Device too small" "0 16385 dmp $loop"
	# A refused line in a table of several refuses the whole table.
	before=$(klog_lines)
	printf '0 8192 dmp %s 0\n8192 8192 dmp %s x\n' $loop $loop | refuse $DMSETUP create bad
	$DMSETUP info bad >/dev/null 2>&1 && fail "half a table was created"
	# Nothing leaked: the loop device is free again, the module unloads.
	assert_eq "$(ls /sys/block/${loop#/dev/}/holders | wc -l)" 0 "holders of $loop"
	volumes_is 0 0 0 0 0 0
	must rmmod dmp
}

t_error_target_below_dmp_counts_errors() {
	load
	echo "0 8192 error" | must $DMSETUP create err0
	dm dmp1 "0 8192 dmp /dev/mapper/err0"
	for i in 1 2 3; do
		err=$($DD if=/dev/mapper/dmp1 of=/dev/null bs=4096 count=1 iflag=direct 2>&1) && fail "read succeeded"
		case $err in *"Input/output error"*) ;; *) fail "read: '$err', not EIO" ;; esac
	done
	for i in 1 2; do
		refuse $DD if=/dev/zero of=/dev/mapper/dmp1 bs=8192 count=1 oflag=direct
	done
	status_is dmp1 "read_reqs=3 read_bytes=12288 write_reqs=2 write_bytes=16384 other_reqs=0 errors=5"
	volumes_is 3 4096 2 8192 5 5734
}

# dm-flakey with error_writes: writes fail, reads pass; then the device
# recovers (reload with a healthy table) and all I/O works again.
t_faults_below_dmp_and_recovery() {
	load
	loop=$(loopdev 4)
	must $DD if=/dev/urandom of=$T/a bs=4096 count=1 status=none
	must $DD if=$T/a of=$loop bs=4096 count=1 oflag=direct conv=notrunc
	echo "0 8192 flakey $loop 0 0 1 1 error_writes" | must $DMSETUP create flaky
	dm dmp1 "0 8192 dmp /dev/mapper/flaky"
	for i in 1 2 3 4; do
		err=$($DD if=/dev/zero of=/dev/mapper/dmp1 bs=4096 count=1 seek=$i oflag=direct conv=notrunc 2>&1) &&
			fail "write succeeded on a failing device"
		case $err in *"Input/output error"*) ;; *) fail "write: '$err', not EIO" ;; esac
	done
	must $DD if=/dev/mapper/dmp1 of=$T/got bs=4096 count=1 iflag=direct
	must $CMP $T/a $T/got
	status_is dmp1 "read_reqs=1 read_bytes=4096 write_reqs=4 write_bytes=16384 other_reqs=0 errors=4"
	# Recovery.
	echo "0 8192 linear $loop 0" | must $DMSETUP reload flaky
	must $DMSETUP resume flaky
	dwrite /dev/mapper/dmp1 4096 4 1
	dread /dev/mapper/dmp1 4096 5
	status_is dmp1 "read_reqs=6 read_bytes=24576 write_reqs=8 write_bytes=32768 other_reqs=0 errors=4"
}

# dmp over a dm device loaded but not resumed (0 sectors, as dmpctl's lower
# device is when the device above gets its dmp table): the constructor
# accepts it, and device-mapper checks the area when the table goes live, so
# a table larger than the device below is still refused, at resume, and
# leaves nothing behind.
t_zero_sector_device_checked_at_resume() {
	load
	loop=$(loopdev 4)
	must $DMSETUP create low --notable
	echo "0 8192 linear $loop 0" | must $DMSETUP load low
	must $DMSETUP create up --notable
	echo "0 16384 dmp $($DMSETUP info -c --noheadings -o major,minor low | tr -d " ") 0" | must $DMSETUP load up
	must $DMSETUP resume low
	refuse $DMSETUP resume up
	dmesg | tail -5 | grep -q "too small for target: start=0, len=16384, dev_size=8192" ||
		fail "no 'too small' from device-mapper at resume: $(dmesg | tail -3)"
	assert_eq "$($DMSETUP info up | sed -n 's/^Tables present: *//p')" None "up after the refused resume"
	must $DMSETUP remove up
	# The same with a table that fits: it goes live and maps.
	must $DMSETUP create up --notable
	echo "0 8192 dmp $($DMSETUP info -c --noheadings -o major,minor low | tr -d " ") 0" | must $DMSETUP load up
	must $DMSETUP resume up
	[ -b /dev/mapper/up ] || must $DMSETUP mknodes up
	dread /dev/mapper/up 4096 2
	status_is up "read_reqs=2 read_bytes=8192 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	must $DMSETUP remove up
	must $DMSETUP remove low
	must rmmod dmp
}

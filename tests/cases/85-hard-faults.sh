# SPDX-License-Identifier: GPL-2.0
# Hard faults below dmp: failing media, a disk that vanishes under load.

CFS=/sys/kernel/config/nullb

# cfs_nullb NAME SIZE_MB [ATTR=VALUE...]: a null_blk device made through
# configfs (so it can fail and vanish), powered on; /dev/NAME.
cfs_nullb() {
	name=$1 size=$2
	shift 2
	grep -q '^null_blk ' /proc/modules || nullb nr_devices=0
	grep -q ' /sys/kernel/config ' /proc/mounts || must mount -t configfs none /sys/kernel/config
	must mkdir $CFS/$name
	echo "$size" >$CFS/$name/size || fail "size"
	for a in "$@"; do
		echo "${a#*=}" >"$CFS/$name/${a%%=*}" || fail "$a"
	done
	echo 1 >$CFS/$name/power || fail "power on $name"
	[ -b /dev/$name ] || fail "no /dev/$name"
}

# fio_errors LOG: the errors fio counted (continue_on_error).
fio_errors() { sed -n 's/.*errors *: total=\([0-9]*\),.*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'; }

# Bad sectors: reads that touch them fail, the others return the data
# written. dmp counts every read, and exactly the failed ones as errors.
t_failing_media_errors_counted_exactly() {
	load
	cfs_nullb fm 16 memory_backed=1 blocksize=4096 queue_mode=2
	dm dmp1 "0 32768 dmp /dev/fm"
	must $DD if=/dev/urandom of=$T/pat bs=1M count=16 status=none
	must $DD if=$T/pat of=/dev/mapper/dmp1 bs=1M oflag=direct status=none
	# 64 bad sectors (8 blocks of 4 KiB) in the middle, 8 more at the end.
	echo "+8192-8255" >$CFS/fm/badblocks || fail "badblocks"
	echo "+32760-32767" >$CFS/fm/badblocks || fail "badblocks"
	must $DMSETUP message dmp1 0 reset
	$FIO --name=r --filename=/dev/mapper/dmp1 --direct=1 --ioengine=psync --rw=read \
		--bs=4k --size=16M --continue_on_error=all --output=$T/r.log
	assert_eq "$(fio_errors $T/r.log)" 9 "errors fio saw"
	assert_eq "$(sed -n 's/.*issued rwts: total=\([0-9]*\),.*/\1/p' $T/r.log)" 4096 "reads fio issued"
	assert_eq "$(stat_field dmp1 errors)" 9 "errors dmp counted"
	assert_eq "$(stat_field dmp1 read_reqs)" 4096 "reads dmp counted"
	s=$($DMSETUP message dmp1 0 stats)
	echo "$s" | grep -q '^read reqs=4096 bytes=16777216 errors=9 in_flight=0 ' ||
		fail "stats: $(echo "$s" | grep '^read reqs')"
	# What could be read is what was written.
	must $DD if=/dev/mapper/dmp1 of=$T/a bs=4k count=1024 iflag=direct status=none
	must $DD if=$T/pat of=$T/b bs=4k count=1024 status=none
	must $CMP $T/a $T/b
	must $DD if=/dev/mapper/dmp1 of=$T/a bs=4k skip=1032 count=3063 iflag=direct status=none
	must $DD if=$T/pat of=$T/b bs=4k skip=1032 count=3063 status=none
	must $CMP $T/a $T/b
	note "4096 reads of 4 KiB, 9 on bad sectors: fio and dmp count 9 errors; the 4087 good blocks verified"
	must $DMSETUP remove dmp1
}

# vanish DEV_NAME: power the configfs null_blk off and remove it.
vanish() {
	echo 0 >$CFS/$1/power || fail "power off $1"
	rmdir $CFS/$1 || fail "rmdir $1"
}

# The disk goes away while fio runs through dmp and through dmp on dmp:
# fio sees errors and ends (no hang), dmp counts errors, status still
# answers, and everything can be removed and unloaded.
vanish_under_load() { # SUSPEND: 1 to suspend --noflush across the removal
	load
	cfs_nullb vd 512 memory_backed=0 queue_mode=2 irqmode=0
	dm dmp1 "0 1048576 dmp /dev/vd"
	dm dmp2 "0 1048576 dmp /dev/mapper/dmp1"
	for d in dmp1 dmp2; do
		$TIMEOUT 60 $FIO --name=$d --filename=/dev/mapper/$d --direct=1 --ioengine=libaio \
			--iodepth=8 --rw=randrw --bs=4k --time_based --runtime=20 --continue_on_error=all \
			--output=$T/$d.log &
		eval "fio_$d=\$!"
	done
	sleep 2
	[ "$1" = 1 ] && must $DMSETUP suspend --noflush dmp2
	vanish vd
	[ "$1" = 1 ] && must $DMSETUP resume dmp2
	for d in dmp1 dmp2; do
		eval "wait \$fio_$d"
		rc=$?
		[ $rc -ne 124 ] || fail "fio on $d hung after the disk vanished"
	done
	e1=$(stat_field dmp1 errors) e2=$(stat_field dmp2 errors)
	[ "$e1" -gt 0 ] && [ "$e2" -gt 0 ] || fail "errors counted: dmp1 $e1, dmp2 $e2"
	f1=$(fio_errors $T/dmp1.log) f2=$(fio_errors $T/dmp2.log)
	[ "$f1" -gt 0 ] && [ "$f2" -gt 0 ] || fail "fio saw no errors: $f1 $f2"
	# Every I/O completed: none in flight.
	for d in dmp1 dmp2; do
		s=$($DMSETUP message $d 0 stats) || fail "stats of $d"
		for k in read write other; do
			echo "$s" | grep -q "^$k reqs=.* in_flight=0 " || fail "$d $k in flight: $(echo "$s" | grep "^$k reqs")"
		done
	done
	note "errors: fio on dmp1 $f1, fio on dmp2 $f2; dmp1 counted $e1, dmp2 $e2"
	assert_eq "$e2" "$f2" "dmp2's errors vs fio's"
	assert_eq "$e1" "$((f1 + f2))" "dmp1's errors vs both fio's"
	must $DMSETUP remove dmp2
	must $DMSETUP remove dmp1
	must rmmod dmp
}

t_disk_vanishes_under_load() { vanish_under_load 0; }
t_disk_vanishes_during_noflush_suspend() { vanish_under_load 1; }

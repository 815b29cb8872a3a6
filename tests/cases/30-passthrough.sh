# SPDX-License-Identifier: GPL-2.0
# Everything reaches the device; dmp behaves as the device does.

# An fsync of the block device sends exactly one empty flush.
t_flush_passes_and_counts_as_other() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	must $DD if=/dev/null of=/dev/mapper/dmp1 conv=fsync,notrunc
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=1 errors=0"
	volumes_is 0 0 0 0 0 0
	# The write cache of the device is inherited, so flushes are not dropped.
	assert_eq "$(cat /sys/block/dm-0/queue/write_cache)" "$(cat /sys/block/${loop#/dev/}/queue/write_cache)" \
		"write_cache"
}

t_discard_passes_at_offset_and_counts_as_other() {
	load
	loop=$(loopdev 8)
	must $DD if=/dev/urandom of=$loop bs=1M count=8 oflag=direct
	dm dmp1 "0 8192 dmp $loop 2048"
	[ "$(cat /sys/block/dm-0/queue/discard_max_bytes)" -gt 0 ] || fail "discard not inherited"
	# dmp bytes [1 MiB, 2 MiB) are loop bytes [2 MiB, 3 MiB).
	must $BLKDISCARD -f -o 1048576 -l 1048576 /dev/mapper/dmp1
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=1 errors=0"
	must $DD if=/dev/zero of=$T/zero bs=1M count=1 status=none
	must $DD if=$loop of=$T/got bs=1M skip=2 count=1 iflag=direct
	must $CMP $T/zero $T/got
	# Its neighbours keep their data.
	must $DD if=$loop of=$T/before bs=1M skip=1 count=1 iflag=direct
	must $DD if=$loop of=$T/after bs=1M skip=3 count=1 iflag=direct
	refuse $CMP $T/zero $T/before
	refuse $CMP $T/zero $T/after
}

t_write_zeroes_passes_and_counts_as_other() {
	load
	loop=$(loopdev 8)
	must $DD if=/dev/urandom of=$loop bs=1M count=8 oflag=direct
	dm dmp1 "0 8192 dmp $loop 2048"
	[ "$(cat /sys/block/dm-0/queue/write_zeroes_max_bytes)" -gt 0 ] || fail "write-zeroes not inherited"
	# fallocate --punch-hole on a block device issues one REQ_OP_WRITE_ZEROES;
	# fallocate(1) then fsyncs, which sends one empty flush.
	must $FALLOCATE -p -o 1048576 -l 1048576 /dev/mapper/dmp1
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=2 errors=0"
	must $DD if=/dev/zero of=$T/zero bs=1M count=1 status=none
	must $DD if=$loop of=$T/got bs=1M skip=2 count=1 iflag=direct
	must $CMP $T/zero $T/got
	volumes_is 0 0 0 0 0 0
}

t_secure_erase_follows_the_device() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	# Loop devices have no secure erase: dmp must not claim one either.
	refuse $BLKDISCARD -f -s $loop
	refuse $BLKDISCARD -f -s /dev/mapper/dmp1
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
}

t_queue_limits_inherited() {
	load
	f=$T/img4k
	must $DD if=/dev/zero of=$f bs=1M count=8 status=none
	loop=$($LOSETUP -f --show -b 4096 $f) || fail "losetup -b 4096"
	dm dmp1 "0 16384 dmp $loop"
	assert_eq "$($BLOCKDEV --getss /dev/mapper/dmp1)" 4096 "logical block size"
	assert_eq "$($BLOCKDEV --getpbsz /dev/mapper/dmp1)" "$($BLOCKDEV --getpbsz $loop)" "physical block size"
	for q in discard_max_bytes discard_granularity write_zeroes_max_bytes; do
		assert_eq "$(cat /sys/block/dm-0/queue/$q)" "$(cat /sys/block/${loop#/dev/}/queue/$q)" "$q"
	done
	# A 512-byte direct write is refused as on the device itself.
	refuse $DD if=/dev/zero of=/dev/mapper/dmp1 bs=512 count=1 oflag=direct
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
}

# On a memory-backed null_blk: a loop device over tmpfs fails mkfs's
# write-zeroes with REQ_NOUNMAP (tmpfs has no FALLOC_FL_ZERO_RANGE), which
# dmp would rightly count as errors.
# Ioctls reach the device when dmp maps all of it; for a part of it, only
# with CAP_SYS_RAWIO (device-mapper's rule for a target's prepare_ioctl).
t_ioctls_pass_through_whole_device_only() {
	load
	loop=$(loopdev 4)
	n=${loop#/dev/loop}
	dm whole "0 8192 dmp $loop"
	dm part "0 4096 dmp $loop 2048"
	norawio="$SETPRIV --inh-caps=-sys_rawio --bounding-set=-sys_rawio"
	assert_eq "$(/dmp/bin/loop_status /dev/mapper/whole)" "loop $n" "ioctl on whole"
	assert_eq "$($norawio /dmp/bin/loop_status /dev/mapper/whole)" "loop $n" "ioctl on whole, no CAP_SYS_RAWIO"
	assert_eq "$(/dmp/bin/loop_status /dev/mapper/part)" "loop $n" "ioctl on part, CAP_SYS_RAWIO"
	err=$($norawio /dmp/bin/loop_status /dev/mapper/part 2>&1) && fail "ioctl on part passed: $err"
	case $err in *"Inappropriate ioctl"*) ;; *) fail "ioctl on part: '$err', not ENOTTY" ;; esac
	status_is whole "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
}

t_ext4_on_dmp_is_clean() {
	load
	# A write-back cache, so that journal commits send flushes.
	nullb nr_devices=1 gb=1 memory_backed=1 cache_size=16 queue_mode=2 irqmode=0
	loop=/dev/nullb0
	dm dmp1 "0 120000 dmp $loop 2048"
	must $MKFS -q -F /dev/mapper/dmp1
	mkdir -p $T/mnt
	must mount -t ext4 /dev/mapper/dmp1 $T/mnt
	for i in 1 2 3 4 5; do
		must $DD if=/dev/urandom of=$T/mnt/f$i bs=64k count=$((i * 4)) status=none
	done
	(cd $T/mnt && $MD5SUM f1 f2 f3 f4 f5) >$T/sums || fail "md5sum"
	must sync
	must umount $T/mnt
	must $FSCK -f -n /dev/mapper/dmp1
	must mount -t ext4 -o ro /dev/mapper/dmp1 $T/mnt
	(cd $T/mnt && $MD5SUM -c $T/sums) >/dev/null || fail "files changed"
	must umount $T/mnt
	# The filesystem sits at sector 2048 of the loop device.
	must $DD if=$loop of=$T/sb bs=1024 skip=1025 count=1 iflag=direct
	assert_eq "$(od -An -tx1 -j56 -N2 $T/sb | tr -d ' ')" 53ef "ext4 magic at offset"
	[ "$(stat_field dmp1 write_reqs)" -gt 0 ] || fail "no writes counted"
	[ "$(stat_field dmp1 other_reqs)" -gt 0 ] || fail "no flush counted (journal commits flush)"
	assert_eq "$(stat_field dmp1 errors)" 0 "errors"
	# With one device, the module-wide figures are its figures.
	assert_eq "$(sed -n 2p $VOLUMES)" "  reqs: $(stat_field dmp1 read_reqs)" "volumes read reqs"
	assert_eq "$(sed -n 5p $VOLUMES)" "  reqs: $(stat_field dmp1 write_reqs)" "volumes write reqs"
}

t_reload_and_resume_live_device() {
	load
	l1=$(loopdev 4)
	l2=$(loopdev 8)
	must $DD if=/dev/urandom of=$T/a bs=4096 count=1 status=none
	must $DD if=/dev/urandom of=$T/b bs=4096 count=1 status=none
	must $DD if=$T/a of=$l1 bs=4096 count=1 oflag=direct conv=notrunc
	must $DD if=$T/b of=$l2 bs=4096 seek=1 count=1 oflag=direct conv=notrunc
	dm dmp1 "0 8192 dmp $l1"
	dread /dev/mapper/dmp1 4096 3
	# Keep I/O going while the table changes under it.
	( while :; do $DD if=/dev/mapper/dmp1 of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null || exit 1; done ) &
	reader=$!
	echo "0 8192 dmp $l2 8" | must $DMSETUP reload dmp1
	must $DMSETUP resume dmp1
	sleep 1
	kill -0 $reader 2>/dev/null || fail "I/O failed across reload"
	kill $reader
	wait $reader 2>/dev/null
	must $DD if=/dev/mapper/dmp1 of=$T/got bs=4096 count=1 iflag=direct
	must $CMP $T/b $T/got
	mm=$(($(stat -c 0x%t $l2))):$(($(stat -c 0x%T $l2)))
	assert_eq "$($DMSETUP table dmp1)" "0 8192 dmp $mm 8" "table after reload"
	# The new target counts from zero; the module-wide figures go on.
	must $DMSETUP message dmp1 0 reset
	dread /dev/mapper/dmp1 4096 2
	status_is dmp1 "read_reqs=2 read_bytes=8192 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	[ "$(sed -n 2p $VOLUMES | tr -dc 0-9)" -ge 6 ] || fail "volumes lost reads across reload"
}

t_stacked_dmp_counts_on_both_layers() {
	load
	loop=$(loopdev 8)
	dm lower "0 16384 dmp $loop"
	dm upper "0 8192 dmp /dev/mapper/lower 4096"
	dread /dev/mapper/upper 4096 5
	must $DD if=/dev/urandom of=$T/a bs=4096 count=1 status=none
	must $DD if=$T/a of=/dev/mapper/upper bs=4096 seek=1 oflag=direct conv=notrunc
	status_is upper "read_reqs=5 read_bytes=20480 write_reqs=1 write_bytes=4096 other_reqs=0 errors=0"
	status_is lower "read_reqs=5 read_bytes=20480 write_reqs=1 write_bytes=4096 other_reqs=0 errors=0"
	volumes_is 10 4096 2 4096 12 4096
	# upper sector 8 = lower sector 4104 = loop sector 4104 (block 513).
	must $DD if=$loop of=$T/got bs=4096 skip=513 count=1 iflag=direct
	must $CMP $T/a $T/got
	refuse rmmod dmp
}

t_several_dmp_targets_in_one_table() {
	load
	l1=$(loopdev 4)
	l2=$(loopdev 4)
	printf '0 2048 dmp %s 0\n2048 4096 dmp %s 100\n' $l1 $l2 | must $DMSETUP create multi
	[ -b /dev/mapper/multi ] || must $DMSETUP mknodes multi
	assert_eq "$(sectors /dev/mapper/multi)" 6144 "size"
	dread /dev/mapper/multi 4096 2
	must $DD if=/dev/urandom of=$T/a bs=4096 count=1 status=none
	# Sector 2048 is the first of the second target: loop2 sector 100.
	must $DD if=$T/a of=/dev/mapper/multi bs=4096 seek=256 oflag=direct conv=notrunc
	status_is multi "read_reqs=2 read_bytes=8192 write_reqs=0 write_bytes=0 other_reqs=0 errors=0" 1
	status_is multi "read_reqs=0 read_bytes=0 write_reqs=1 write_bytes=4096 other_reqs=0 errors=0" 2
	must $DD if=$l2 of=$T/got bs=512 skip=100 count=8 iflag=direct
	must $CMP $T/a $T/got
	assert_eq "$($DMSETUP table multi | wc -l)" 2 "table lines"
	volumes_is 2 4096 1 4096 3 4096
}

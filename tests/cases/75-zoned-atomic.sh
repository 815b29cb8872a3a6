# SPDX-License-Identifier: GPL-2.0
# Parity with dm-linear: zoned devices and atomic writes pass through.

# dmname NAME: the kernel's name of a dm device (dm-N).
dmname() { $DMSETUP info -c --noheadings -o blkdevname "$1"; }

ZONE_MB=4
ZONE=$((ZONE_MB * 2048)) # sectors

# A zoned null_blk of 1 GiB: 4 MiB zones, the first 4 conventional.
zoned_nullb() {
	nullb nr_devices=1 queue_mode=2 gb=1 memory_backed=1 zoned=1 zone_size=$ZONE_MB zone_nr_conv=4 "$@"
	[ "$(cat /sys/block/nullb0/queue/zoned 2>/dev/null)" = host-managed ] ||
		{ echo "no zoned null_blk on this kernel (CONFIG_BLK_DEV_ZONED)"; exit 77; }
}

# zones DEV [OFFSET]: `blkzone report` of DEV with every start moved back by
# OFFSET sectors (blkzone prints the write pointer relative to the start).
zones() {
	$BLKZONE report "$1" | while read -r _ s rest; do
		s=${s%,}
		printf 'start: 0x%09x, %s\n' $((s - ${2:-0})) "$rest"
	done
}

t_zoned_report_equals_device_and_linear() {
	load
	zoned_nullb
	# Start at the 3rd zone (conventional), 40 zones.
	off=$((2 * ZONE)) len=$((40 * ZONE))
	dm dmp1 "0 $len dmp /dev/nullb0 $off"
	dm lin1 "0 $len linear /dev/nullb0 $off"
	assert_eq "$(cat /sys/block/$(dmname dmp1)/queue/zoned)" host-managed "dmp zoned model"
	# Give some zones a write pointer.
	must $DD if=/dev/urandom of=/dev/mapper/dmp1 bs=64k count=3 seek=$((3 * ZONE / 128)) oflag=direct
	zones /dev/mapper/dmp1 >$T/dmp
	zones /dev/mapper/lin1 >$T/lin
	zones /dev/nullb0 $off | sed -n '3,42p' >$T/dev
	assert_eq "$(wc -l <$T/dmp)" 40 "zones through dmp"
	must $CMP $T/dmp $T/lin
	must $CMP $T/dmp $T/dev
	grep -q 'wptr 0x000180' $T/dmp || fail "write pointer not seen: $(sed -n 4p $T/dmp)"
	note "40 zones equal through dmp, dm-linear and the device at offset $off"
}

# fio's zoned mode: sequential writes with verify and zone resets, through
# dmp; zone management counts as other, exactly.
t_zoned_fio_and_zone_management() {
	load
	zoned_nullb
	len=$((16 * ZONE))
	dm dmp1 "0 $len dmp /dev/nullb0 $((4 * ZONE))"
	must $FIO --name=zbd --filename=/dev/mapper/dmp1 --direct=1 --ioengine=psync --zonemode=zbd \
		--rw=write --bs=64k --size=$((8 * ZONE_MB))M --verify=crc32c --do_verify=1 \
		--output=$T/fio.log
	grep -q 'err= 0' $T/fio.log || fail "fio: $(cat $T/fio.log)"
	must $DMSETUP message dmp1 0 reset
	# 3 resets, 2 opens, 1 close, 2 finishes: one request per zone.
	must $BLKZONE reset -o 0 -c 3 /dev/mapper/dmp1
	must $BLKZONE open -o $((8 * ZONE)) -c 2 /dev/mapper/dmp1
	must $BLKZONE close -o $((8 * ZONE)) -c 1 /dev/mapper/dmp1
	must $BLKZONE finish -o $((10 * ZONE)) -c 2 /dev/mapper/dmp1
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=8 errors=0"
	assert_eq "$($BLKZONE report -o 0 -c 1 /dev/mapper/dmp1 | sed 's/.*wptr \(0x[0-9a-f]*\).*/\1/')" 0x000000 "write pointer after reset"
	note "fio zbd: $(sed -n 's/.*WRITE: bw=[^(]*(\([^)]*\)).*io=\([^ ]*\) .*/\2 written/p' $T/fio.log) with verify"
}

# dm core refuses zoned tables that are not zone-aligned, for dmp as for
# dm-linear, and nothing is left behind.
t_zoned_unaligned_tables_refused() {
	load
	zoned_nullb
	for tgt in linear dmp; do
		refuse $DMSETUP create bad --table "0 $ZONE $tgt /dev/nullb0 $((ZONE / 2))"
		refuse $DMSETUP create bad --table "0 $((ZONE + 8)) $tgt /dev/nullb0 $ZONE"
	done
	assert_eq "$($DMSETUP ls)" "No devices found" "devices left"
	dmesg | tail -20 | grep -q 'not aligned' || fail "no reason in dmesg: $(dmesg | tail -5)"
}

# Atomic writes (RWF_ATOMIC) pass through dmp where they pass through
# dm-linear: same queue limits, a write that succeeds on both.
t_atomic_writes_like_linear() {
	load
	# Without udev, nothing loads the disk driver when the disk appears.
	$MODPROBE sd_mod || fail "no sd_mod"
	$MODPROBE scsi_debug dev_size_mb=64 sector_size=4096 atomic_wr=1 ||
		{ echo "no scsi_debug with atomic writes on this kernel"; exit 77; }
	sd=
	for i in 1 2 3 4 5 6 7 8 9 10; do
		sd=$(ls /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block 2>/dev/null | head -1)
		[ -n "$sd" ] && [ -b /dev/$sd ] && break
		sleep 0.5
	done
	[ -b "/dev/$sd" ] || fail "no scsi_debug disk"
	max=$(cat /sys/block/$sd/queue/atomic_write_unit_max_bytes 2>/dev/null || echo 0)
	if [ "$max" = 0 ]; then
		rmmod scsi_debug
		echo "no atomic writes on this kernel's scsi_debug"
		exit 77
	fi
	n=$(sectors /dev/$sd)
	dm dmp1 "0 $n dmp /dev/$sd"
	dm lin1 "0 $n linear /dev/$sd 0"
	d=$(dmname dmp1)
	l=$(dmname lin1)
	lmax=$(cat /sys/block/$l/queue/atomic_write_unit_max_bytes)
	for f in atomic_write_max_bytes atomic_write_unit_min_bytes atomic_write_unit_max_bytes atomic_write_boundary_bytes; do
		assert_eq "$(cat /sys/block/$d/queue/$f)" "$(cat /sys/block/$l/queue/$f)" "$f of dmp vs dm-linear"
	done
	if [ "$lmax" = 0 ]; then
		note "device-mapper of this kernel passes no atomic writes (dm-linear neither)"
		must $DMSETUP remove dmp1
		must $DMSETUP remove lin1
		rmmod scsi_debug
		return 0
	fi
	must /dmp/bin/atomic_write /dev/mapper/lin1 "$lmax" 0
	must /dmp/bin/atomic_write /dev/mapper/dmp1 "$lmax" "$lmax"
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=1 write_bytes=$lmax other_reqs=0 errors=0"
	note "atomic write of $lmax bytes through dmp and dm-linear (device max $max)"
	must $DMSETUP remove dmp1
	must $DMSETUP remove lin1
	rmmod scsi_debug
}

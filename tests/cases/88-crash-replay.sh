# SPDX-License-Identifier: GPL-2.0
# No acknowledged write lost: crash replay through dmp, the way fstests'
# generic/455 checks filesystems. dm-log-writes below dmp logs every write
# in the order it became durable; replaying the log to every flush, FUA and
# mark entry gives every state a crash could leave, and each must be a clean
# ext4 with every file fsynced before a mark intact at that mark.

LOGREPLAY=/dmp/bin/logreplay
FSW=/dmp/bin/fsworkload
SEED=20261201
OPS=50

need_log_writes() {
	# Every test kernel has dm-log-writes (built in, or the stock module the
	# guest is given): missing is a failure, never a skip.
	[ -x $LOGREPLAY ] || { echo "  FAIL: no $LOGREPLAY in the guest (scripts/vm.sh)"; exit 1; }
	$MODPROBE -q dm-log-writes 2>/dev/null
	$DMSETUP targets | grep -q '^log-writes ' || { echo "  FAIL: no dm-log-writes in this kernel"; exit 1; }
}

# backed NAME SIZE_MIB: a loop device over the zeroed file $T/NAME.
backed() {
	must $DD if=/dev/zero of="$T/$1" bs=1M count="$2" status=none
	$LOSETUP -f --show "$T/$1" || fail "losetup $T/$1"
}

# logged_run N KIND: ext4 made on a fresh 16 MiB device (image kept as
# $T/base-N.img, not logged), then log-writes (log: $T/log-N) below a KIND
# target (dmp or linear) with ext4 on it, the seeded workload, umount.
logged_run() {
	local n=$1 kind=$2 data log sz
	data=$(backed data-$n 16)
	log=$(backed log-$n 64)
	must $MKFS -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 $data
	must cp $T/data-$n $T/base-$n.img
	sz=$(sectors $data)
	dm lw$n "0 $sz log-writes $data $log"
	if [ $kind = dmp ]; then dm top$n "0 $sz dmp /dev/mapper/lw$n"; else dm top$n "0 $sz linear /dev/mapper/lw$n 0"; fi
	mkdir -p $T/mnt $T/state-$n
	# No timer commits, no periodic writeback: the log depends on the
	# workload only.
	must mount -o commit=600 /dev/mapper/top$n $T/mnt
	$FSW run $T/mnt $SEED $OPS $T/state-$n lw$n >$T/wl-$n.out 2>&1 || { cat $T/wl-$n.out; fail "workload over $kind"; }
	must umount $T/mnt
	must $DMSETUP remove top$n
	must $DMSETUP remove lw$n
	must $LOSETUP -d $data
	must $LOSETUP -d $log
	note "workload over $kind: $(cat $T/wl-$n.out); log: $($LOGREPLAY info $T/log-$n)"
}

# info_field N KEY: a figure of `logreplay info` of log N.
info_field() {
	$LOGREPLAY info $T/log-$1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

t_crash_replay_through_dmp_loses_no_fsynced_write() {
	need_log_writes
	load
	expire=$(cat /proc/sys/vm/dirty_expire_centisecs)
	wb=$(cat /proc/sys/vm/dirty_writeback_centisecs)
	echo 360000 >/proc/sys/vm/dirty_expire_centisecs
	echo 0 >/proc/sys/vm/dirty_writeback_centisecs
	logged_run 1 dmp
	echo $expire >/proc/sys/vm/dirty_expire_centisecs
	echo $wb >/proc/sys/vm/dirty_writeback_centisecs
	marks=$(sed -n 's/.*marks=\([0-9]*\).*/\1/p' $T/wl-1.out)
	[ "$marks" -gt 15 ] || fail "only '$marks' marks"
	# The workload's marks and the one log-writes adds when removed.
	assert_eq "$(info_field 1 marks)" "$((marks + 1))" "marks in the log"
	[ "$(info_field 1 flush)" -gt "$marks" ] || fail "fewer flushes than fsync'ed operations"

	# Replay the dmp run's log to every point and check each image.
	must cp $T/base-1.img $T/replay.img
	$LOGREPLAY points $T/log-1 >$T/points || fail "logreplay points"
	prev=0 checked=0 verified=0
	while read -r idx kind name <&3; do
		must $LOGREPLAY replay $T/log-1 $T/replay.img $prev $((idx + 1))
		prev=$((idx + 1))
		# What a reboot after a crash here sees: mount (journal recovery,
		# orphans), then a full read-only check.
		must cp $T/replay.img $T/check.img
		dev=$($LOSETUP -f --show $T/check.img) || fail "losetup"
		mount $dev $T/mnt >$T/.out 2>&1 || { cat $T/.out; fail "mount at entry $idx ($kind $name)"; }
		if [ "$kind" = mark ] && [ -f "$T/state-1/$name" ]; then
			$FSW verify $T/state-1/$name $T/mnt >$T/.out 2>&1 ||
				{ cat $T/.out; fail "at mark $name (entry $idx)"; }
			verified=$((verified + 1))
		fi
		must umount $T/mnt
		$FSCK -fn $dev >$T/fsck.out 2>&1 || { cat $T/fsck.out; fail "e2fsck -fn at entry $idx ($kind $name)"; }
		must $LOSETUP -d $dev
		checked=$((checked + 1))
	done 3<$T/points
	# Every point of the log was checked, every mark's files verified.
	assert_eq "$checked" "$(info_field 1 points)" "replay points checked"
	assert_eq "$checked" "$(wc -l <$T/points)" "replay points listed"
	assert_eq "$verified" "$marks" "marks verified"
	# The last image is the unmounted filesystem: it holds the final list.
	note "replay: $checked points checked (entries $(info_field 1 entries), flush $(info_field 1 flush), FUA $(info_field 1 fua), marks $(info_field 1 marks)), e2fsck -fn clean at each, $verified marks verified; $(tail -1 $T/fsck.out)"
}

# dmp passes flush and FUA through unchanged: the same I/O over dmp and over
# dm-linear, both on log-writes, logs the same entries, and exactly those
# issued: 8 O_DSYNC direct writes (each a FUA write, then the fsync that
# O_DSYNC implies: an empty flush), 3 plain direct writes, one fsync of the
# device (one empty flush), and the mark log-writes adds when removed.
# (ext4's own count of flushes for the workload above varies by one or two
# from run to run over the same target, with jbd2's timing, so it cannot
# be compared exactly.)
t_crash_replay_flush_fua_entries_over_dmp_equal_linear() {
	need_log_writes
	load
	for kind in dmp linear; do
		data=$(backed data-$kind 8)
		log=$(backed log-$kind 16)
		dm lw "0 16384 log-writes $data $log"
		if [ $kind = dmp ]; then dm top "0 16384 dmp /dev/mapper/lw"; else dm top "0 16384 linear /dev/mapper/lw 0"; fi
		must $DD if=/dev/urandom of=/dev/mapper/top bs=4k count=8 oflag=direct,dsync conv=notrunc
		must $DD if=/dev/urandom of=/dev/mapper/top bs=4k count=3 seek=100 oflag=direct conv=notrunc
		must $DD if=/dev/null of=/dev/mapper/top conv=fsync,notrunc
		[ $kind = dmp ] && status_is top "read_reqs=0 read_bytes=0 write_reqs=11 write_bytes=45056 other_reqs=9 errors=0"
		must $DMSETUP remove top
		must $DMSETUP remove lw
		must $LOSETUP -d $data
		must $LOSETUP -d $log
		got=$($LOGREPLAY info $T/log-$kind)
		note "over $kind: $got"
		assert_eq "$got" "entries=21 writes=11 flush=9 fua=8 discard=0 marks=1 points=18 data_bytes=45056 sectorsize=512" \
			"log of the I/O over $kind"
		$LOGREPLAY points $T/log-$kind | cut -d' ' -f2- >$T/points-$kind
	done
	must $CMP $T/points-dmp $T/points-linear
}

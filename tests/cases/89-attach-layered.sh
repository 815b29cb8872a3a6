# SPDX-License-Identifier: GPL-2.0
# dmpctl on every bio-based device a real system has: dmp inserted as a
# layer (the device's table moved to a hidden lower device, the device
# mapping dmp over it) on LUKS2 and LVM striped volumes, in place on the
# linear sub-volumes of LVM RAID1, mirror and lvmcache volumes (whose tables
# LVM runs itself), refused on LVM thin volumes with where to go instead;
# with their filesystems mounted and fio verifying across attach and
# detach; refusals; every step of attach and detach cut short, dmpctl
# killed at random moments; what LVM commands (lvextend, --refresh,
# snapshots, lvconvert --repair of a failed RAID leg, vgchange -an) do to
# an attached volume, with lvs' figures as without dmp. Helpers of
# 87-attach.sh (ctl, fio_*, lvm_setup, table_of, state) are used here.

CRYPTSETUP=/usr/sbin/cryptsetup
VERITYSETUP=/usr/sbin/veritysetup

# targets NAME...: load the modules of these targets (no /sbin/modprobe for
# the kernel's own request_module in the guest).
targets() {
	for m in "$@"; do
		$MODPROBE "$m" || fail "no module $m on this kernel"
	done
}

# No lower device left anywhere (dm UUID DMP-LOWER-..., or LVM-...-dmp).
no_lower() {
	local l
	l=$($DMSETUP info -c --noheadings -o name,uuid | grep -E ' (DMP-LOWER-|LVM-.*-dmp$)')
	assert_eq "$l" "" "lower devices left"
}

# The dm number of NAME.
devno() { $DMSETUP info -c --noheadings -o major,minor "$1" | tr -d ' '; }

# lvm_vg1 MIB: VG vg1 on two loop PVs of MIB MiB ($pv1, $pv2).
lvm_vg1() {
	lvm_setup
	rm -rf /dev/vg1
	pv1=$(loopdev "$1")
	pv2=$(loopdev "$1")
	must $LVM pvcreate -q $pv1 $pv2
	must $LVM vgcreate -q -s 4M vg1 $pv1 $pv2
}

# layered_in_use NAME KIND: the whole check on dm device NAME (not
# attached, its table of type KIND): ext4 mounted, fio writing and
# verifying, attach and detach while it runs; then exact figures from an
# attach on, the device's own table back byte for byte, no lower device
# left, dmpstat naming the device and not its lower one, e2fsck clean.
layered_in_use() {
	local name=$1 kind=$2 own sz fs lower w line
	own=$(table_of "$name")
	assert_eq "$(echo "$own" | cut -d' ' -f3 | sort -u | tr '\n' ' ')" "$kind " "$name's own table"
	sz=$(sectors /dev/mapper/$name)
	# The filesystem leaves the last 1 MiB for raw writes.
	fs=$((sz / 2048 - 1))
	must $MKFS -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/$name ${fs}M
	mkdir -p $T/mnt
	must mount -o noatime /dev/mapper/$name $T/mnt
	$FIO --output=$T/fio.log --name=v --filename=$T/mnt/fio.dat --size=6M \
		--rw=randwrite --bs=4k --direct=1 --ioengine=psync --verify=crc32c \
		--verify_backlog=32 --verify_fatal=1 --time_based --runtime=4 &
	fio_pid=$!
	sleep 0.5
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the attach"
	ctl 0 attach "$name"
	lower=$name.dmp-lower
	line="$name: attached (layered: its $kind table moved to $lower $(devno $lower), dmp over it)"
	assert_eq "$out" "$line" "attach under fio"
	assert_eq "$(table_of "$name")" "0 $sz dmp $(devno $lower) 0" "$name's table while attached"
	assert_eq "$(table_of $lower)" "$own" "the lower device's table"
	u=DMP-LOWER-$(devno "$name")-$($DMSETUP info -c --noheadings -o uuid "$name")
	assert_eq "$($DMSETUP info -c --noheadings -o uuid $lower)" "${u:0:128}" "lower UUID"
	assert_eq "$($DMPCTL status)" "$name: layered over $lower ($(devno $lower), its $kind table)" "dmpctl status"
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the detach"
	w=$(stat_field "$name" write_reqs)
	[ "$w" -gt 0 ] || fail "nothing counted under fio"
	note "$kind: counted while attached under fio: $w writes"
	ctl 0 detach "$name"
	assert_eq "$out" "$name: detached (its $kind table is back, $lower removed)" "detach under fio"
	assert_eq "$(table_of "$name")" "$own" "$name's own table after detach"
	no_lower
	fio_check

	# Exact figures from an attach on, the filesystem idle.
	sync
	ctl 0 attach "$name"
	status_is "$name" "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	ctl 0 attach "/dev/mapper/$name"
	assert_eq "$out" "$name: already attached (layered over $lower, its $kind table there), nothing to do" "attach again"
	dread /dev/mapper/$name 4096 5 100
	dread /dev/mapper/$name 8192 3 1000
	dwrite /dev/mapper/$name 4096 2 $((sz / 8 - 200))
	status_is "$name" "read_reqs=8 read_bytes=45056 write_reqs=2 write_bytes=8192 other_reqs=0 errors=0"
	assert_eq "$($DMPSTAT --list)" "$name" "dmpstat --list (the device, never its lower one)"
	$DMPSTAT --json "$name" | grep -q "\"name\":\"$name\",\"targets\":1,\"read\":{\"reqs\":8,\"bytes\":45056," ||
		fail "dmpstat --json $name: $($DMPSTAT --json "$name")"
	ctl 0 detach "$name"
	assert_eq "$(table_of "$name")" "$own" "$name's own table after the second detach"
	no_lower
	ctl 0 detach "$name"
	assert_eq "$out" "$name: not attached (its $kind table has no dmp), nothing to do" "detach again"
	must umount $T/mnt
	must $FSCK -fn /dev/mapper/$name
}

t_attach_layered_lvm_thin() {
	need_dmpctl
	load
	targets dm-thin-pool
	lvm_vg1 48
	must $LVM lvcreate -q -y --type thin-pool -L 24M -n pool vg1 $pv1
	must $LVM lvcreate -q -y -V 24M -T vg1/pool -n thin1
	dwrite /dev/mapper/vg1-thin1 65536 8
	lvs_before=$(lvs_of vg1/thin1 vg1/pool)
	own=$(table_of vg1-thin1)
	# A thin volume: LVM reloads it and reads its Data% itself; dmp goes
	# neither above nor into it, and says where it can count instead.
	ctl 1 attach vg1/thin1
	assert_eq "$out" "dmpctl: vg1-thin1: not attached: it is an LVM thin volume: LVM reloads its thin table itself (lvextend, snapshots, lvchange --refresh) and reads lvs' Data% from it, so dmp can go neither above it (the next reload would leave a second live copy of the volume) nor into it; dmp can count the pool's data sub-volume instead (all the pool's volumes together): dmpctl attach vg1-pool_tdata; nothing changed" "thin volume"
	assert_eq "$(table_of vg1-thin1)" "$own" "thin1's table after the refusal"
	ctl 0 attach vg1-pool_tdata
	assert_eq "$out" "vg1-pool_tdata: attached (1 linear targets now dmp)" "the pool's data"
	assert_eq "$(lvs_of vg1/thin1 vg1/pool)" "$lvs_before" "lvs with dmp under the pool"
	dread /dev/mapper/vg1-thin1 65536 8
	# (The pool commits its metadata by itself, with a flush: other_reqs
	# is the pool's, not compared.)
	assert_eq "$(stat_field vg1-pool_tdata read_reqs):$(stat_field vg1-pool_tdata read_bytes):$(stat_field vg1-pool_tdata write_reqs)" \
		8:524288:0 "the pool's data sub-volume: reads through the thin volume"
	# LVM's own changes of the pool's volumes, with no dmpctl run in
	# between: LVM reloads the pool's data sub-volume with its own linear
	# table (dmp is off it, one copy, nothing left); the volume grew and
	# went as without dmp.
	must $LVM lvextend -q -L +16M vg1/thin1
	must $LVM lvremove -q -y vg1/thin1
	assert_eq "$(table_of vg1-pool_tdata | cut -d' ' -f3 | sort -u)" linear "pool_tdata after LVM reloaded it"
	assert_eq "$($LVM lvs --noheadings -o lv_name vg1 | tr -d ' ')" pool "LVs after lvremove"
	no_lower
	# The boot path (deploy/systemd/dmp-attach.service's command).
	printf '# at boot\nvg1/pool_tdata\n' >$T/attach.conf
	ctl 0 attach --wait 5 --config $T/attach.conf
	assert_eq "$out" "vg1-pool_tdata: attached (1 linear targets now dmp)" "boot attach"
	ctl 0 attach --wait 5 --config $T/attach.conf
	assert_eq "$out" "vg1-pool_tdata: already attached (1 dmp targets), nothing to do" "boot attach again"
	ctl 0 detach --config $T/attach.conf
	must $LVM vgchange -q -an vg1
	assert_eq "$($DMSETUP info -c --noheadings -o name | grep -c vg1)" 0 "vg1's devices after vgchange -an"
}

# LUKS2 by cryptsetup. Where the kernel has a keyring (CONFIG_KEYS) and
# cryptsetup used it, the table names the key only (:64:logon:cryptsetup:...)
# and the key is gone once cryptsetup exited: attach is refused with one
# line, nothing changed, until the mapping gets its key in the table
# (`cryptsetup refresh --disable-keyring`).
t_attach_layered_luks2() {
	need_dmpctl
	load
	targets dm-crypt
	$MODPROBE xts 2>/dev/null
	$MODPROBE algif_skcipher 2>/dev/null
	dev=$(loopdev 40)
	echo -n "passphrase of the test" >$T/key
	must $CRYPTSETUP luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file $T/key $dev
	must $CRYPTSETUP open --key-file $T/key $dev luks1
	[ -b /dev/mapper/luks1 ] || fail "no /dev/mapper/luks1"
	key=$($DMSETUP table --showkeys luks1 | cut -d' ' -f5)
	case $key in
	:*)
		note "the table names its key in the kernel keyring: $key"
		own=$(table_of luks1)
		ctl 1 attach luks1
		assert_eq "$out" "dmpctl: luks1: not attached: its dm-crypt table names its key in the kernel keyring ($key) and the key is no longer there (cryptsetup drops it once the mapping is open), so no new table can be made of it; open the mapping with \`cryptsetup open --disable-keyring\`, or switch it with \`cryptsetup refresh --disable-keyring NAME\`, then attach; nothing changed" "keyring key"
		assert_eq "$(table_of luks1)" "$own" "table after the refusal"
		assert_eq "$(state luks1)" "ACTIVE LIVE" "luks1 live, no inactive table"
		no_lower
		must $CRYPTSETUP refresh --disable-keyring --key-file $T/key luks1
		;;
	*) note "no kernel keyring: the table holds the key (${#key} hex digits)" ;;
	esac
	key=$($DMSETUP table --showkeys luks1 | cut -d' ' -f5)
	case $key in :*) fail "the key is still in the keyring after refresh --disable-keyring" ;; esac
	layered_in_use luks1 crypt
	# cryptsetup knows a crypt table only: close refuses an attached
	# mapping and changes nothing; removed by device-mapper (as
	# `cryptsetup close` does it), the kernel removes the lower device with
	# it (deferred removal): nothing is left holding the key.
	ctl 0 attach luks1
	$CRYPTSETUP close luks1 >$T/e 2>&1 && fail "cryptsetup close of an attached mapping succeeded"
	note "cryptsetup close, attached: $(tr '\n' ' ' <$T/e)"
	assert_eq "$(table_of luks1 | cut -d' ' -f3)" dmp "luks1 after the refused close"
	must $DMSETUP remove luks1
	no_lower
	assert_eq "$($DMSETUP info -c --noheadings -o name | grep -c luks1)" 0 "luks1's devices after remove"
}

# lvs_of LV...: what lvs reports of these volumes' state (LVM reads it
# from their top devices' status).
# (stderr too: a warning of LVM's about the table it found shows.) A
# cache's Cpy%Sync (its clean blocks) and dirty blocks move as its policy
# writes back in the background: lvs_of_stable leaves them out and checks
# that LVM gives a figure for each.
lvs_of() {
	$LVM lvs --noheadings --separator : \
		-o lv_name,data_percent,copy_percent,cache_dirty_blocks,lv_health_status "$@" 2>&1 | tr -d ' '
}
lvs_of_stable() {
	local l
	l=$(lvs_of "$@")
	case $(echo "$l" | cut -d: -f4) in
	'') echo "$l" | cut -d: -f1-3,5 ;;
	*)
		echo "$l" | cut -d: -f3,4 | grep -qxE '[0-9]+\.[0-9]{2}:[0-9]+' || echo "no cache figures: $l"
		echo "$l" | cut -d: -f1,2,5
		;;
	esac
}

# wait_synced LV: its RAID or mirror copy is complete (lvs Cpy%Sync 100.00).
wait_synced() {
	local i=0
	while [ "$($LVM lvs --noheadings -o copy_percent "$1" | tr -d ' ')" != 100.00 ]; do
		i=$((i + 1))
		[ $i -gt 600 ] && fail "$1 not in sync after 60 s: $(lvs_of "$1")"
		sleep 0.1
	done
}

# sub_in_use LV NAME KIND LEGS: ext4 on NAME, fio writing and verifying;
# attach and detach while it runs (dmp in place on the dm devices LEGS,
# the volume's own KIND table untouched); lvs' figures the same as without
# dmp; exact figures on the legs from an attach on.
sub_in_use() {
	local lv=$1 name=$2 kind=$3 legs=$4 own sz fs l
	own=$(table_of "$name")
	sz=$(sectors /dev/mapper/$name)
	fs=$((sz / 2048 - 1))
	must $MKFS -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/$name ${fs}M
	mkdir -p $T/mnt
	must mount -o noatime /dev/mapper/$name $T/mnt
	$FIO --output=$T/fio.log --name=v --filename=$T/mnt/fio.dat --size=6M \
		--rw=randwrite --bs=4k --direct=1 --ioengine=psync --verify=crc32c \
		--verify_backlog=32 --verify_fatal=1 --time_based --runtime=4 --fsync=8 &
	fio_pid=$!
	sleep 0.5
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the attach"
	ctl 0 attach "$lv"
	assert_eq "$out" "$name: attached (in place on the $(echo $legs | wc -w) linear sub-volumes under its $kind table, which stays LVM's: $(echo $legs | sed 's/ /, /g'))" "attach $lv under fio"
	assert_eq "$(table_of "$name")" "$own" "$name's own table while attached"
	for l in $legs; do
		assert_eq "$(table_of $l | cut -d' ' -f3 | sort -u)" dmp "$l while attached"
	done
	no_lower
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the detach"
	ctl 0 detach "$lv"
	assert_eq "$out" "$name: detached (the $(echo $legs | wc -w) sub-volumes under its $kind table linear again: $(echo $legs | sed 's/ /, /g'))" "detach $lv under fio"
	fio_check
	must umount $T/mnt
	must $FSCK -fn /dev/mapper/$name
	sync
	before=$(lvs_of_stable "$lv")
	ctl 0 attach "$lv"
	assert_eq "$(lvs_of_stable "$lv")" "$before" "lvs of $lv with dmp on its legs"
	ctl 0 attach "$lv"
	assert_eq "$out" "$name: already attached (in place on the $(echo $legs | wc -w) linear sub-volumes under its $kind table: $(echo $legs | sed 's/ /, /g')), nothing to do" "attach $lv again"
}

# LVM RAID1 (resyncing for real), a legacy mirror where the kernel has
# dm-mirror, lvmcache in writeback with dirty blocks, and a striped LV, in
# one VG.
t_attach_layered_lvm_raid1_cache_striped() {
	need_dmpctl
	load
	targets dm-raid raid1 dm-cache dm-cache-smq
	lvm_vg1 64
	# RAID1 made without --nosync (its first resync starts), attached at once.
	must $LVM lvcreate -q -y --type raid1 -m 1 -L 16M -n r1 vg1
	sub_in_use vg1/r1 vg1-r1 raid "vg1-r1_rimage_0 vg1-r1_rimage_1"
	wait_synced vg1/r1
	assert_eq "$(lvs_of vg1/r1)" "r1::100.00::" "lvs of the synced RAID1 with dmp on its legs"
	# Each write reaches both legs once; the reads are shared between them.
	dwrite /dev/mapper/vg1-r1 4096 2 100
	dread /dev/mapper/vg1-r1 4096 6 200
	for l in vg1-r1_rimage_0 vg1-r1_rimage_1; do
		assert_eq "$(stat_field $l write_reqs):$(stat_field $l write_bytes)" 2:8192 "$l writes"
	done
	assert_eq "$(($(stat_field vg1-r1_rimage_0 read_reqs) + $(stat_field vg1-r1_rimage_1 read_reqs)))" 6 "reads of both legs"
	ctl 0 detach vg1/r1
	if $MODPROBE dm-mirror 2>/dev/null; then
		must $LVM lvcreate -q -y --type mirror -m 1 --mirrorlog core -L 16M -n m1 vg1
		wait_synced vg1/m1
		sub_in_use vg1/m1 vg1-m1 mirror "vg1-m1_mimage_0 vg1-m1_mimage_1"
		assert_eq "$(lvs_of vg1/m1)" "m1::100.00::" "lvs of the mirror with dmp on its legs"
		ctl 0 detach vg1/m1
		must $LVM lvremove -q -y vg1/m1
	else
		note "no dm-mirror on this kernel: the legacy mirror not run"
	fi
	# lvmcache, writeback: dmp on its origin; the dirty blocks LVM reports
	# are the same; uncaching writes them back through dmp.
	must $LVM lvcreate -q -y -L 16M -n c1 vg1 $pv1
	must $LVM lvcreate -q -y -L 8M -n cvol vg1 $pv2
	must $LVM lvconvert -q -y --type cache --cachevol cvol --cachemode writeback vg1/c1
	sub_in_use vg1/c1 vg1-c1 cache "vg1-c1_corig"
	dwrite /dev/mapper/vg1-c1 4096 64 1000
	must $DD if=/dev/mapper/vg1-c1 of=$T/c1 bs=1M iflag=direct
	sync
	dirty=$(lvs_of vg1/c1)
	note "lvs of the cached volume, writeback, with dmp on its origin: $dirty"
	case $(echo "$dirty" | cut -d: -f4) in
	'' | *[!0-9]*) fail "lvs gives no dirty blocks for vg1/c1: $dirty" ;;
	esac
	w=$(stat_field vg1-c1_corig write_reqs)
	must $LVM lvconvert -q -y --uncache vg1/c1
	assert_eq "$(table_of vg1-c1 | cut -d' ' -f3 | sort -u)" linear "vg1/c1 after uncache (LVM's own table)"
	must $DD if=/dev/mapper/vg1-c1 of=$T/c1b bs=1M iflag=direct
	must $CMP $T/c1 $T/c1b
	note "writes to the origin counted before uncache: $w"
	# Striped: no state of its own, a layer.
	must $LVM lvcreate -q -y -i 2 -I 64k -L 16M -n st vg1
	layered_in_use vg1-st striped
	must $LVM vgchange -q -an vg1
	assert_eq "$($DMSETUP info -c --noheadings -o name | grep -c vg1)" 0 "vg1's devices after vgchange -an"
}

# What device-mapper cannot do, refused with one line before anything
# changes; and dmp's table check against a lower device not yet resumed.
t_attach_layered_refusals() {
	need_dmpctl
	load
	targets dm-multipath dm-round-robin dm-thin-pool dm-verity
	loop=$(loopdev 16)
	sz=$(sectors $loop)
	# dm-multipath, request-based by default (a blk-mq queue)...
	dm mp "0 $sz multipath 0 0 1 1 round-robin 0 1 1 $loop 1000"
	[ -d /sys/dev/block/$(devno mp)/mq ] || fail "mp has no blk-mq queue"
	mp=$(table_of mp)
	ctl 1 attach mp
	assert_eq "$out" "dmpctl: mp: not attached: it is request-based (blk-mq, as dm-multipath makes it) and device-mapper never changes a device between request-based and bio-based; nothing changed" "request-based"
	assert_eq "$(table_of mp)" "$mp" "mp's table"
	assert_eq "$(state mp)" "ACTIVE LIVE" "mp live, no inactive table"
	must $DMSETUP remove mp
	# ... and bio-based (queue_mode bio): still immutable.
	dm mpb "0 $sz multipath 2 queue_mode bio 0 1 1 round-robin 0 1 1 $loop 1000"
	[ -d /sys/dev/block/$(devno mpb)/mq ] && fail "mpb has a blk-mq queue"
	ctl 1 attach mpb
	assert_eq "$out" "dmpctl: mpb: not attached: target 1 of 1 (sectors 0+$sz) is multipath, a type device-mapper never lets another replace (DM_TARGET_IMMUTABLE); nothing changed" "bio-based multipath"
	must $DMSETUP remove mpb
	# thin-pool (made by hand: metadata on zeroes is formatted).
	meta=$(loopdev 4)
	data=$(loopdev 16)
	dm pool "0 $sz thin-pool $meta $data 128 0"
	pool=$(table_of pool)
	ctl 1 attach pool
	assert_eq "$out" "dmpctl: pool: not attached: target 1 of 1 (sectors 0+$sz) is thin-pool, a type device-mapper never lets another replace (DM_TARGET_IMMUTABLE); nothing changed" "thin-pool"
	assert_eq "$(table_of pool)" "$pool" "pool's table"
	must $DMSETUP remove pool
	# verity, by veritysetup.
	vdata=$(loopdev 4)
	vhash=$(loopdev 1)
	dwrite $vdata 4096 1024
	root=$($VERITYSETUP format $vdata $vhash | sed -n 's/^Root hash:[[:space:]]*//p')
	[ -n "$root" ] || fail "veritysetup format gave no root hash"
	must $VERITYSETUP open $vdata ver $vhash $root
	ver=$(table_of ver)
	ctl 1 attach ver
	assert_eq "$out" "dmpctl: ver: not attached: target 1 of 1 (sectors 0+8192) is verity, a type device-mapper never lets another replace (DM_TARGET_IMMUTABLE); nothing changed" "verity"
	assert_eq "$(table_of ver)" "$ver" "ver's table"
	must $VERITYSETUP close ver
	# A suspended device, a device without a table.
	dm st "0 $((sz / 2)) striped 2 64 $meta 0 $data 0"
	st=$(table_of st)
	must $DMSETUP suspend st
	ctl 1 attach st
	assert_eq "$out" "dmpctl: st: not attached: the device is suspended (someone else is changing it); nothing changed" "suspended"
	assert_eq "$(table_of st)" "$st" "st's table"
	assert_eq "$($DMSETUP info st | sed -n 's/^State: *//p')" SUSPENDED "st still suspended"
	must $DMSETUP resume st
	must $DMSETUP create empty --notable
	ctl 1 attach empty
	assert_eq "$out" "dmpctl: empty: not attached: it has no live table; nothing changed" "no table"
	ctl 1 attach nosuch
	assert_eq "$out" "dmpctl: no such device: nosuch" "missing device"
	ctl 2 attach --bogus st
	assert_eq "$out" "dmpctl: unexpected argument '--bogus' found (see dmpctl --help)" "--bogus"
	no_lower
	# No module: one line, nothing changed.
	must rmmod dmp
	ctl 1 attach st
	assert_eq "$out" "dmpctl: the dmp module is not loaded (no /sys/module/dmp): nothing changed" "no module"
	assert_eq "$(table_of st)" "$st" "st's table without the module"
}

# pattern_ok DEV: the first MiB of DEV is the pattern written at the start.
pattern_ok() {
	must $DD if="$1" of=$T/back bs=64k count=16 iflag=direct
	must $CMP $T/pattern $T/back
}

# Every step of attach and detach cut short (DMPCTL_STOP_AFTER: dmpctl
# exits right after the step, as if killed): the device keeps its table and
# data; dmpctl run again completes or undoes the step; no device is left.
t_attach_layered_cut_steps() {
	need_dmpctl
	load
	a=$(loopdev 8)
	b=$(loopdev 8)
	dm st "0 32768 striped 2 64 $a 0 $b 0"
	st=$(table_of st)
	must $DD if=/dev/urandom of=$T/pattern bs=64k count=16
	must $DD if=$T/pattern of=/dev/mapper/st bs=64k oflag=direct conv=notrunc
	n=0
	for step in create-lower load-lower load-top suspend-top resume-lower; do
		n=$((n + 1))
		out=$(DMPCTL_STOP_AFTER=$step $DMPCTL attach st 2>&1)
		assert_eq "$?:$out" "3:st: stopped after $step (DMPCTL_STOP_AFTER)" "attach cut after $step"
		assert_eq "$(table_of st)" "$st" "st's live table after $step"
		case $step in
		suspend-top | resume-lower)
			# Suspended: I/O waits (and is served once dmpctl runs again).
			$DD if=/dev/mapper/st of=$T/back bs=64k count=16 iflag=direct status=none &
			dd_pid=$!
			sleep 0.3
			kill -0 $dd_pid 2>/dev/null || fail "I/O to st went on while it was suspended ($step)"
			;;
		*) pattern_ok /dev/mapper/st ;;
		esac
		[ $step = create-lower ] && assert_eq "$($DMPCTL status)" \
			"st.dmp-lower: orphan lower device (of st), nothing uses it: dmpctl attach or detach removes it" "status of an orphan"
		if [ $((n % 2)) = 1 ]; then
			# attach again: completes.
			out=$($DMPCTL attach st 2>&1) || fail "attach after $step: $out"
			case $step in
			create-lower | load-lower) want="st.dmp-lower: removed (a lower device nothing used)
st: attached (layered: its striped table moved to st.dmp-lower $(devno st.dmp-lower 2>/dev/null), dmp over it)" ;;
			load-top) want="st: attached (layered: its striped table moved to st.dmp-lower $(devno st.dmp-lower 2>/dev/null), dmp over it)" ;;
			*) want="st: attached (layered over st.dmp-lower; an interrupted attach completed)" ;;
			esac
			assert_eq "$out" "$want" "attach after a cut $step"
			assert_eq "$(table_of st)" "0 32768 dmp $(devno st.dmp-lower) 0" "attached after $step"
			[ -n "${dd_pid:-}" ] && { wait $dd_pid || fail "I/O waiting across $step failed"; must $CMP $T/pattern $T/back; }
			pattern_ok /dev/mapper/st
			ctl 0 detach st
		else
			# detach: undoes.
			out=$($DMPCTL detach st 2>&1) || fail "detach after $step: $out"
			case $step in
			load-lower) want="st.dmp-lower: removed (a lower device nothing used)
st: not attached (its striped table has no dmp), nothing to do" ;;
			*) want="st: not attached (an interrupted attach undone, st.dmp-lower removed)" ;;
			esac
			assert_eq "$out" "$want" "detach after a cut $step"
			[ -n "${dd_pid:-}" ] && { wait $dd_pid || fail "I/O waiting across $step failed"; must $CMP $T/pattern $T/back; }
		fi
		dd_pid=
		assert_eq "$(table_of st)" "$st" "st's own table after the cut $step"
		assert_eq "$(state st)" "ACTIVE LIVE" "st live after the cut $step"
		pattern_ok /dev/mapper/st
		no_lower
	done
	for step in load-top suspend-top suspend-lower; do
		n=$((n + 1))
		ctl 0 attach st
		out=$(DMPCTL_STOP_AFTER=$step $DMPCTL detach st 2>&1)
		assert_eq "$?:$out" "3:st: stopped after $step (DMPCTL_STOP_AFTER)" "detach cut after $step"
		assert_eq "$(table_of st)" "0 32768 dmp $(devno st.dmp-lower) 0" "st's live table after a detach cut at $step"
		[ $step = load-top ] && pattern_ok /dev/mapper/st
		if [ $((n % 2)) = 1 ]; then
			ctl 0 detach st
			assert_eq "$out" "st: detached (its striped table is back, st.dmp-lower removed)" "detach after a cut $step"
			assert_eq "$(table_of st)" "$st" "st's own table after a detach cut at $step"
		else
			ctl 0 attach st
			assert_eq "$out" "st: attached (layered over st.dmp-lower; an interrupted detach undone)" "attach after a detach cut $step"
			assert_eq "$(state st)" "ACTIVE LIVE" "st live after the undone detach"
			pattern_ok /dev/mapper/st
			ctl 0 detach st
		fi
		pattern_ok /dev/mapper/st
		no_lower
	done
}

# After the lower device went live, the device's old copy of its targets
# is never resumed again: a detach then hands back a new copy made from the
# lower device's table. A cut attach whose device someone else resumed
# (dmp live over a lower device that never went live: its I/O fails until
# then) is completed by attach and by detach. dmpctl killed (SIGKILL) at random
# moments, inside its ioctls, and interrupted (SIGTERM, SIGINT): the device
# is never left suspended by a signal it could hold back, the next run
# completes or undoes, and no device is left.
t_attach_layered_cut_handback_and_kills() {
	need_dmpctl
	load
	a=$(loopdev 8)
	b=$(loopdev 8)
	dm st "0 32768 striped 2 64 $a 0 $b 0"
	st=$(table_of st)
	must $DD if=/dev/urandom of=$T/pattern bs=64k count=16
	must $DD if=$T/pattern of=/dev/mapper/st bs=64k oflag=direct conv=notrunc
	out=$(DMPCTL_STOP_AFTER=resume-lower $DMPCTL attach st 2>&1)
	assert_eq "$?:$out" "3:st: stopped after resume-lower (DMPCTL_STOP_AFTER)" "attach cut after resume-lower"
	ldev=$(devno st.dmp-lower)
	ctl 0 detach st
	assert_eq "$out" "st: detached (its striped table is back, st.dmp-lower removed)" "detach after resume-lower: a new copy"
	assert_eq "$(table_of st)" "$st" "st's table"
	assert_eq "$(state st)" "ACTIVE LIVE" "st live"
	pattern_ok /dev/mapper/st
	no_lower
	for verb in attach detach; do
		out=$(DMPCTL_STOP_AFTER=suspend-top $DMPCTL attach st 2>&1)
		assert_eq "$?:$out" "3:st: stopped after suspend-top (DMPCTL_STOP_AFTER)" "attach cut after suspend-top"
		must $DMSETUP resume st
		assert_eq "$(table_of st)" "0 32768 dmp $(devno st.dmp-lower) 0" "st resumed by someone else"
		# Its lower device has no live table yet: device-mapper fails the
		# I/O ("mapping table unavailable") until dmpctl completes.
		$DD if=/dev/mapper/st of=/dev/null bs=64k count=1 iflag=direct status=none 2>/dev/null &&
			fail "a read of st succeeded while its lower device had no table"
		ctl 0 $verb st
		case $verb in
		attach) want="st: attached (layered over st.dmp-lower; an interrupted attach completed)" ;;
		detach) want="st: detached (its striped table is back, st.dmp-lower removed)" ;;
		esac
		assert_eq "$out" "$want" "$verb after a resume by someone else"
		pattern_ok /dev/mapper/st
		[ $verb = attach ] && ctl 0 detach st
		assert_eq "$(table_of st)" "$st" "st's table after $verb"
		no_lower
	done
	# SIGKILL at random moments: the next run completes or undoes.
	kills=0
	for i in $(seq 1 16); do
		verb=attach
		[ $((i % 2)) = 0 ] && verb=detach
		$DMPCTL $verb st >/dev/null 2>&1 &
		p=$!
		sleep "$(printf '0.%03d' $((RANDOM % 400)))"
		kill -9 $p 2>/dev/null && kills=$((kills + 1))
		wait $p 2>/dev/null
		out=$($DMPCTL $verb st 2>&1) || fail "$verb after SIGKILL $i: $out"
		echo "$out" | sed 's/ [0-9]*:[0-9]*,/,/' >>$T/after-kill
		case $verb in
		attach) assert_eq "$(table_of st)" "0 32768 dmp $(devno st.dmp-lower) 0" "attached after SIGKILL $i ($out)" ;;
		detach) assert_eq "$(table_of st)" "$st" "detached after SIGKILL $i ($out)" ;;
		esac
		assert_eq "$(state st)" "ACTIVE LIVE" "st live after SIGKILL $i"
		pattern_ok /dev/mapper/st
	done
	note "$kills of 16 runs killed before they ended; what the next runs said:"
	sort $T/after-kill | uniq -c | sed 's/^/  # /'

	no_lower
	# SIGTERM and SIGINT during a switch: held back until the device is
	# switched, so the device is never left suspended or half-loaded.
	for sig in TERM INT TERM INT TERM INT; do
		$DMPCTL attach st >/dev/null 2>&1 &
		p=$!
		sleep "$(printf '0.%03d' $((RANDOM % 400)))"
		kill -$sig $p 2>/dev/null
		wait $p 2>/dev/null
		assert_eq "$(state st)" "ACTIVE LIVE" "st after SIG$sig"
		ctl 0 detach st
		assert_eq "$(table_of st)" "$st" "st's table after SIG$sig and detach"
		no_lower
	done
}

# one_copy NAME KIND: after an LVM command, one live table of type KIND
# for NAME and no lower device: LVM's reload left no second copy.
one_copy() {
	assert_eq "$(table_of $1 | cut -d' ' -f3 | sort -u)" "$2" "$1's table after LVM's command"
	no_lower
}

# fail_pv_under_fio PV: fio writes and verifies vg1/r1 while the dm
# device under PV gets an `error` table (a disk failing); the writer sees
# no error (RAID1 goes on with the other leg).
fail_pv_under_fio() {
	$FIO --output=$T/fio.log --name=v --filename=/dev/mapper/vg1-r1 --offset=4M --size=4M \
		--rw=randwrite --bs=4k --direct=1 --ioengine=psync --verify=crc32c \
		--verify_backlog=32 --verify_fatal=1 --time_based --runtime=5 &
	fio_pid=$!
	sleep 1
	must $DMSETUP load $1 --table "0 $(sectors /dev/mapper/$1) error"
	must $DMSETUP suspend $1
	must $DMSETUP resume $1
	fio_check
}

# LVM commands on attached volumes, with no dmpctl run in between: LVM's
# own reload (lvextend, lvchange --refresh, a snapshot) puts LVM's table
# back and the kernel removes the lower device at once (one live copy);
# vgchange -an and lvremove remove an attached volume. A snapshot of an
# attached origin; dmp on the origin's -real; lvconvert --repair of a RAID
# leg failed under a writer, with dmp on the legs. LVM's lock of the VG
# keeps dmpctl out while LVM holds it. No data lost, nothing blocks LVM.
t_attach_layered_lvm_commands() {
	need_dmpctl
	load
	targets dm-raid raid1
	lvm_setup
	rm -rf /dev/vg1
	# PVs on dm devices, so that one can fail.
	for p in a b c d; do
		l=$(loopdev 40)
		dm pv$p "0 $(sectors $l) linear $l 0"
	done
	sed -i 's#"a|^/dev/loop|"#"a|^/dev/mapper/pv[abcd]$|"#' $T/lvm/lvm.conf
	must $LVM pvcreate -q /dev/mapper/pva /dev/mapper/pvb /dev/mapper/pvc /dev/mapper/pvd
	must $LVM vgcreate -q -s 4M vg1 /dev/mapper/pva /dev/mapper/pvb /dev/mapper/pvc
	# A striped volume, layered: lvextend, --refresh, vgchange -an.
	must $LVM lvcreate -q -y -i 2 -I 64k -L 8M -n st vg1 /dev/mapper/pva /dev/mapper/pvb
	dwrite /dev/mapper/vg1-st 65536 16
	must $DD if=/dev/mapper/vg1-st of=$T/st bs=64k count=16 iflag=direct
	ctl 0 attach vg1/st
	must $LVM lvextend -q -L +8M vg1/st
	one_copy vg1-st striped
	assert_eq "$(sectors /dev/mapper/vg1-st)" 32768 "size after lvextend"
	ctl 0 attach vg1/st
	must $LVM lvchange -q --refresh vg1/st
	one_copy vg1-st striped
	ctl 0 attach vg1/st
	must $LVM vgchange -q -an vg1
	assert_eq "$($DMSETUP info -c --noheadings -o name | grep -c vg1)" 0 "vg1's devices after vgchange -an"
	no_lower
	must $LVM vgchange -q -ay vg1
	must $DD if=/dev/mapper/vg1-st of=$T/st2 bs=64k count=16 iflag=direct
	must $CMP $T/st $T/st2
	ctl 0 attach vg1/st
	must $LVM lvremove -q -y vg1/st
	no_lower
	# LVM's lock of the VG held (as an LVM command holds it): dmpctl waits
	# for it, then gives up with one line, nothing changed.
	must $LVM lvcreate -q -y -L 8M -n lv0 vg1 /dev/mapper/pva
	dwrite /dev/mapper/vg1-lv0 65536 16
	must $DD if=/dev/mapper/vg1-lv0 of=$T/lv0 bs=64k count=16 iflag=direct
	/usr/bin/flock /run/lock/lvm/V_vg1 sleep 3 &
	lock_pid=$!
	sleep 0.5
	ctl 1 attach --timeout 1 vg1/lv0
	assert_eq "$out" "dmpctl: vg1-lv0: not attached: LVM holds the lock of VG vg1 (/run/lock/lvm/V_vg1) for more than 1 s (an LVM command is changing it); nothing changed" "VG locked"
	assert_eq "$(table_of vg1-lv0 | cut -d' ' -f3)" linear "lv0 after the refusal"
	wait $lock_pid
	# A snapshot of an attached origin: LVM's table back (one copy); then
	# dmp on the origin's -real, under LVM's snapshot-origin.
	ctl 0 attach vg1/lv0
	if $MODPROBE dm-snapshot 2>/dev/null; then
		must $LVM lvcreate -q -y -s -c 4k -L 8M -n snap1 vg1/lv0
		one_copy vg1-lv0 snapshot-origin
		ctl 0 attach vg1/lv0
		assert_eq "$out" "vg1-lv0: attached (in place on the 1 linear sub-volumes under its snapshot-origin table, which stays LVM's: vg1-lv0-real)" "attach a snapshot origin"
		dwrite /dev/mapper/vg1-lv0 65536 4
		# dm-snapshot splits an origin's writes at its chunk size (4 KiB).
		assert_eq "$(stat_field vg1-lv0-real write_reqs):$(stat_field vg1-lv0-real write_bytes)" 64:262144 "origin writes on -real"
		must $DD if=/dev/mapper/vg1-snap1 of=$T/snap bs=64k count=16 iflag=direct
		must $CMP $T/lv0 $T/snap
		must $LVM lvremove -q -y vg1/snap1
		one_copy vg1-lv0 linear
	else
		note "no dm-snapshot on this kernel: lvcreate -s not run"
	fi
	must $LVM lvremove -q -y vg1/lv0
	# RAID1 on pva and pvb, dmp on its legs; pvb fails under a writer (an
	# error table below it); LVM reports it; lvconvert --repair replaces
	# the leg on pvc; the data is intact.
	must $LVM lvcreate -q -y --type raid1 -m 1 -L 8M -n r1 vg1 /dev/mapper/pva /dev/mapper/pvb
	wait_synced vg1/r1
	dwrite /dev/mapper/vg1-r1 65536 32
	must $DD if=/dev/mapper/vg1-r1 of=$T/r1 bs=64k count=32 iflag=direct
	ctl 0 attach vg1/r1
	fail_pv_under_fio pvb
	i=0
	until lvs_of vg1/r1 | grep -q 'refresh\|partial'; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "LVM does not see the failed leg: $(lvs_of vg1/r1)"
		sleep 0.1
	done
	note "lvs with a failed leg, dmp on the legs: $(lvs_of vg1/r1 | tr '\n' ' ')"
	e=$(stat_field vg1-r1_rimage_1 errors)
	[ "$e" -gt 0 ] || fail "no error counted on the failed leg"
	note "errors counted on the failed leg: $e"
	must $LVM lvconvert -q -y --repair vg1/r1 /dev/mapper/pvc
	must $LVM vgreduce -q --removemissing vg1
	wait_synced vg1/r1
	assert_eq "$(lvs_of vg1/r1)" "r1::100.00::" "lvs after the repair"
	must $DD if=/dev/mapper/vg1-r1 of=$T/r1b bs=64k count=32 iflag=direct
	must $CMP $T/r1 $T/r1b
	legs() { $LVM lvs -a --noheadings -o lv_name,devices vg1 2>/dev/null | tr -s ' ' | sed 's/^ //;s/ $//' | grep '^\[r1_rimage' | tr '\n' ';'; }
	assert_eq "$(legs)" "[r1_rimage_0] /dev/mapper/pva(1);[r1_rimage_1] /dev/mapper/pvc(1);" "legs after lvconvert --repair"
	# dmeventd monitoring the volume (raid_fault_policy "allocate"): the
	# leg on pvc fails under a writer, with dmp on both legs; dmeventd
	# repairs it by itself onto pvd.
	[ -x /sbin/dmeventd ] || fail "no /sbin/dmeventd in the guest (scripts/initramfs.sh)"
	must $LVM vgextend -q vg1 /dev/mapper/pvd
	sed -i 's/monitoring = 0/monitoring = 1 raid_fault_policy = "allocate"/' $T/lvm/lvm.conf
	echo 'dmeventd { executable = "/sbin/dmeventd" }' >>$T/lvm/lvm.conf
	/sbin/dmeventd -f -d >$T/dmeventd.log 2>&1 &
	dmeventd_pid=$!
	sleep 1
	$LVM lvchange --monitor y vg1/r1 -vvv >$T/mon.log 2>&1 || {
		grep -i 'event\|fifo\|dlopen\|monitor' $T/mon.log | tail -20
		cat $T/dmeventd.log
		ls -la /run /run/dmeventd* 2>&1
		fail "lvchange --monitor y"
	}
	ctl 0 attach vg1/r1
	fail_pv_under_fio pvc
	i=0
	until [ "$(legs)" = "[r1_rimage_0] /dev/mapper/pva(1);[r1_rimage_1] /dev/mapper/pvd(1);" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail "dmeventd did not repair vg1/r1 in 30 s: $(legs) $(lvs_of vg1/r1 | tr '\n' ' ')"
		sleep 0.1
	done
	must $LVM vgreduce -q --removemissing vg1
	wait_synced vg1/r1
	assert_eq "$(lvs_of vg1/r1)" "r1::100.00::" "lvs after dmeventd's repair"
	must $DD if=/dev/mapper/vg1-r1 of=$T/r1b bs=64k count=32 iflag=direct
	must $CMP $T/r1 $T/r1b
	must $LVM lvchange -q --monitor n vg1/r1
	kill $dmeventd_pid
	wait $dmeventd_pid
	must $LVM lvremove -q -y vg1/r1
	must $LVM vgchange -q -an vg1
	no_lower
}

# A layered attach whose suspend cannot finish (a write stuck in a
# suspended device below): cancelled after --timeout, the device runs on
# its own table, the lower device is gone; the write completes once the
# device below resumes.
t_attach_layered_suspend_stuck_below() {
	need_dmpctl
	load
	loop=$(loopdev 8)
	dm low "0 16384 linear $loop 0"
	dm up "$(printf '0 8192 linear /dev/mapper/low 0\n8192 8192 zero')"
	up=$(table_of up)
	must $DMSETUP suspend low
	stuck_write up
	ctl 1 attach --timeout 2 up
	assert_eq "$out" "dmpctl: up: not attached: the suspend did not finish within 2 s (I/O stuck below?); cancelled; the device runs on its own table, nothing changed" "stuck suspend"
	assert_eq "$(table_of up)" "$up" "table after the cancelled attach"
	assert_eq "$(state up)" "ACTIVE LIVE" "up live, not suspended, no inactive table"
	no_lower
	stuck_write_ends low
	ctl 0 attach up
	must $DD if=/dev/mapper/up of=$T/a bs=4k skip=7 count=1 iflag=direct
	must $DD if=$loop of=$T/b bs=4k skip=7 count=1 iflag=direct
	must $CMP $T/a $T/b
	status_is up "read_reqs=1 read_bytes=4096 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	ctl 0 detach up
	assert_eq "$(table_of up)" "$up" "up's own table after detach"
	no_lower
}

# A zoned device gets dmp as a layer too: dmp passes report_zones and zone
# management through (DM_TARGET_ZONED_HM), so the device above reports the
# same zones, write pointers and all, before, while and after.
t_attach_layered_zoned() {
	need_dmpctl
	load
	zoned_nullb
	off=$((2 * ZONE)) len=$((40 * ZONE))
	# dm-flakey, never down: a zoned bio-based target that is not linear.
	dm fz "0 $len flakey /dev/nullb0 $off 3600 0"
	own=$(table_of fz)
	must $DD if=/dev/urandom of=/dev/mapper/fz bs=64k count=3 seek=$((3 * ZONE / 128)) oflag=direct
	zones /dev/mapper/fz >$T/before
	ctl 0 attach fz
	assert_eq "$(cat /sys/block/$(dmname fz)/queue/zoned)" host-managed "fz zoned while attached"
	zones /dev/mapper/fz >$T/during
	must $CMP $T/before $T/during
	grep -q 'wptr 0x000180' $T/during || fail "write pointer not seen through the layer: $(sed -n 4p $T/during)"
	must $DD if=/dev/urandom of=/dev/mapper/fz bs=64k count=1 seek=$((3 * ZONE / 128 + 3)) oflag=direct
	status_is fz "read_reqs=0 read_bytes=0 write_reqs=1 write_bytes=65536 other_reqs=0 errors=0"
	must $BLKZONE reset -o $((5 * ZONE)) -c 1 /dev/mapper/fz
	assert_eq "$(stat_field fz other_reqs)" 1 "a zone reset counted as other"
	ctl 0 detach fz
	assert_eq "$(table_of fz)" "$own" "fz's own table after detach"
	zones /dev/mapper/fz >$T/after
	grep -q 'wptr 0x000200' $T/after || fail "write pointer after the write: $(sed -n 4p $T/after)"
	no_lower
	note "40 zones the same through the layer"
}

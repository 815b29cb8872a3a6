# SPDX-License-Identifier: GPL-2.0
# dmpctl on every bio-based device a real system has: dmp inserted as a
# layer (the device's table moved to a hidden lower device, the device
# mapping dmp over it) on LVM-thin, LUKS2, LVM RAID1, lvmcache and striped
# volumes, with their filesystems mounted and fio verifying across attach
# and detach; refusals; every step of attach and detach cut short; what LVM
# commands do to a layered volume. Helpers of 87-attach.sh (ctl, fio_*,
# lvm_setup, table_of, state) are used here.

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
	u=$($DMSETUP info -c --noheadings -o uuid "$name")
	case $u in
	LVM-*) u=$u-dmp ;; # a layer of the LV, as LVM names its own
	*) u=DMP-LOWER-$(devno "$name")-$u ;;
	esac
	assert_eq "$($DMSETUP info -c --noheadings -o uuid $lower)" "$u" "lower UUID"
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
	layered_in_use vg1-thin1 thin
	# The boot path (deploy/systemd/dmp-attach.service's command): a
	# layered volume named in the configuration file as today.
	printf '# at boot\nvg1/thin1\n' >$T/attach.conf
	ctl 0 attach --wait 5 --config $T/attach.conf
	assert_eq "$out" "vg1-thin1: attached (layered: its thin table moved to vg1-thin1.dmp-lower $(devno vg1-thin1.dmp-lower), dmp over it)" "boot attach"
	ctl 0 attach --wait 5 --config $T/attach.conf
	assert_eq "$out" "vg1-thin1: already attached (layered over vg1-thin1.dmp-lower, its thin table there), nothing to do" "boot attach again"
	ctl 0 detach --config $T/attach.conf
	no_lower
	must $LVM vgchange -q -an vg1
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
	must $CRYPTSETUP close luks1
}

# LVM RAID1, lvmcache (dm-cache on a cache volume) and a striped LV, in one
# VG.
t_attach_layered_lvm_raid1_cache_striped() {
	need_dmpctl
	load
	targets dm-raid raid1 dm-cache dm-cache-smq
	lvm_vg1 64
	must $LVM lvcreate -q -y --type raid1 -m 1 --nosync -L 16M -n r1 vg1
	layered_in_use vg1-r1 raid
	must $LVM lvcreate -q -y -L 16M -n c1 vg1 $pv1
	must $LVM lvcreate -q -y -L 8M -n cvol vg1 $pv2
	must $LVM lvconvert -q -y --type cache --cachevol cvol vg1/c1
	layered_in_use vg1-c1 cache
	must $LVM lvcreate -q -y -i 2 -I 64k -L 16M -n st vg1
	layered_in_use vg1-st striped
	must $LVM vgchange -q -an vg1
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

# reattach NAME WHAT: after an LVM reload of an attached LV, which put
# LVM's table back, dmpctl lists the lower device left unused, and attach
# removes it and attaches again.
reattach() {
	assert_eq "$(table_of $1 | cut -d' ' -f3)" thin "after $2: LVM's table"
	assert_eq "$($DMPCTL status)" "$1.dmp-lower: orphan lower device (of $1), nothing uses it: dmpctl attach or detach removes it" "status after $2"
	out=$($DMPCTL attach $1 2>&1) || fail "attach after $2: $out"
	assert_eq "$out" "$1.dmp-lower: removed (a lower device nothing used)
$1: attached (layered: its thin table moved to $1.dmp-lower $(devno $1.dmp-lower), dmp over it)" "attach after $2"
	note "after $2: $(echo "$out" | tr '\n' ';')"
}

# LVM commands on a layered thin volume. LVM's own reload (lvextend,
# lvchange --refresh, a thin snapshot) loads LVM's table: dmp is off the
# volume and its lower device is left unused, for dmpctl to remove;
# vgchange -an and lvremove remove the volume with its lower device (a
# layer of the LV to LVM). No data lost, nothing blocks LVM.
t_attach_layered_lvm_commands() {
	need_dmpctl
	load
	targets dm-thin-pool
	lvm_vg1 48
	must $LVM lvcreate -q -y --type thin-pool -L 32M -n pool vg1 $pv1
	must $LVM lvcreate -q -y -V 16M -T vg1/pool -n thin1
	must $MKFS -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/vg1-thin1
	mkdir -p $T/mnt
	must mount -o noatime /dev/mapper/vg1-thin1 $T/mnt
	must $DD if=/dev/urandom of=$T/mnt/data bs=64k count=16
	sum=$($MD5SUM <$T/mnt/data)
	sync
	ctl 0 attach vg1/thin1
	must $LVM lvextend -q -L +8M vg1/thin1
	assert_eq "$(table_of vg1-thin1 | cut -d' ' -f1-2)" "0 49152" "size after lvextend"
	reattach vg1-thin1 lvextend
	must $RESIZE2FS /dev/mapper/vg1-thin1
	must $LVM lvchange -q --refresh vg1/thin1
	reattach vg1-thin1 "lvchange --refresh"
	# A thin snapshot: lvcreate -s wants the snapshot target even for a
	# thin one (lvm2 tools/lvcreate.c checks the segment type's target
	# before it sees a thin origin).
	snaps=
	if $MODPROBE dm-snapshot 2>/dev/null; then
		must $LVM lvcreate -q -y -s -n snap1 vg1/thin1
		reattach vg1-thin1 "lvcreate -s"
		must $LVM lvchange -q -ay -K vg1/snap1
		mkdir -p $T/snap
		must mount -o ro,noload /dev/mapper/vg1-snap1 $T/snap
		assert_eq "$($MD5SUM <$T/snap/data)" "$sum" "the snapshot's data"
		must umount $T/snap
		must $LVM lvchange -q -an vg1/snap1
		snaps="snap1 "
	else
		note "no dm-snapshot on this kernel: lvcreate -s not run"
	fi
	assert_eq "$($MD5SUM <$T/mnt/data)" "$sum" "data through the layer"
	must umount $T/mnt
	# vgchange -an, attached: LVM removes the volume, its lower device,
	# then the pool.
	must $LVM vgchange -q -an vg1
	assert_eq "$($DMSETUP info -c --noheadings -o name | grep -c vg1)" 0 "vg1's devices after vgchange -an"
	must $LVM vgchange -q -ay vg1
	ctl 0 attach vg1/thin1
	must $LVM lvremove -q -y vg1/thin1
	no_lower
	assert_eq "$($LVM lvs --noheadings -o lv_name vg1 | tr -d ' ' | sort | tr '\n' ' ')" "pool $snaps" "LVs after lvremove"
	must $LVM vgchange -q -an vg1
	assert_eq "$($DMPCTL status)" "no device has dmp attached" "status at the end"
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

# SPDX-License-Identifier: GPL-2.0
# dmpctl: attaching dmp in place to live LVM and dm-linear volumes, and
# detaching it; refusals; a suspend stuck below; the boot path.

DMPCTL=/dmp/bin/dmpctl
LVM=/usr/sbin/lvm
RESIZE2FS=/usr/sbin/resize2fs

need_dmpctl() {
	[ -x $DMPCTL ] || { echo "  FAIL: no $DMPCTL in the guest (scripts/vm.sh)"; exit 1; }
}

# lvm_setup: Debian's lvm2 without udev, configured in $T/lvm (LVM makes
# the /dev/VG/LV links and the device nodes itself).
lvm_setup() {
	[ -x $LVM ] || { echo "  FAIL: no $LVM in the guest (scripts/initramfs.sh)"; exit 1; }
	mkdir -p $T/lvm /run/lock/lvm /run/lvm
	# What LVM made in /dev for an earlier case (no udev to remove it).
	rm -rf /dev/vg0
	cat >$T/lvm/lvm.conf <<-EOF
		global { locking_dir = "/run/lock/lvm" use_lvmlockd = 0 event_activation = 0 }
		activation { udev_sync = 0 udev_rules = 0 verify_udev_operations = 0 monitoring = 0 }
		devices { obtain_device_list_from_udev = 0 external_device_info_source = "none" use_devicesfile = 0 filter = [ "a|^/dev/loop|", "r|.*|" ] }
		backup { backup = 0 archive = 0 }
	EOF
	export LVM_SYSTEM_DIR=$T/lvm
}

# lvm_vg: VG vg0 on two 64 MiB loop devices ($pv1, $pv2) and LV vg0/lv0 of
# two segments, 40 MiB on the first PV then 24 MiB on the second.
lvm_vg() {
	lvm_setup
	pv1=$(loopdev 64)
	pv2=$(loopdev 64)
	must $LVM pvcreate -q $pv1 $pv2
	must $LVM vgcreate -q -s 4M vg0 $pv1 $pv2
	must $LVM lvcreate -q -y -n lv0 -L 40M vg0 $pv1
	must $LVM lvextend -q -L +24M vg0/lv0 $pv2
	[ -b /dev/mapper/vg0-lv0 ] || fail "no /dev/mapper/vg0-lv0"
	[ -L /dev/vg0/lv0 ] || fail "no /dev/vg0/lv0 link"
	assert_eq "$($DMSETUP table vg0-lv0 | cut -d' ' -f1-3 | tr '\n' ';')" \
		"0 81920 linear;81920 49152 linear;" "LVM's table of vg0/lv0"
}

# ctl WANT_RC CMD...: dmpctl's exit status and its one line (stdout and
# stderr together) in $out.
ctl() {
	local want=$1 rc
	shift
	out=$($DMPCTL "$@" 2>&1)
	rc=$?
	assert_eq "$rc" "$want" "exit status of 'dmpctl $*' ($out)"
	assert_eq "$(echo "$out" | wc -l)" 1 "lines of 'dmpctl $*' ($out)"
	note "dmpctl $*: $out"
}

table_of() { $DMSETUP table "$1"; }

# stuck_write DEV: a 4 KiB direct write to /dev/mapper/DEV at block 7 that
# waits in a suspended device below it (pid in $dd_pid).
stuck_write() {
	$DD if=/dev/urandom of=/dev/mapper/$1 bs=4k count=1 seek=7 oflag=direct conv=notrunc status=none &
	dd_pid=$!
	sleep 1
	kill -0 $dd_pid 2>/dev/null || fail "the write did not wait for the suspended device"
}

# stuck_write_ends BELOW: the write still waits; BELOW resumes and it completes.
stuck_write_ends() {
	kill -0 $dd_pid 2>/dev/null || fail "the write ended while the device below was suspended"
	must $DMSETUP resume $1
	wait $dd_pid || fail "the write failed"
}

# state NAME: "ACTIVE LIVE" when running on its live table only.
state() {
	$DMSETUP info "$1" | grep -E '^(State|Tables present):' | sed 's/.*: *//' | tr '\n' ' ' | sed 's/ $//'
}

# Two dmp targets' figures: "read_reqs=.. ...;read_reqs=.. ...;"
both_status() {
	$DMSETUP status "$1" | cut -d' ' -f4- | tr '\n' ';'
}

# fio writing and verifying (crc32c, verified as it goes and at the end) a
# file of the filesystem on vg0/lv0, in the background: $fio_pid.
fio_start() {
	$FIO --output=$T/fio.log --name=v --filename=$T/mnt/fio.dat --size=12M \
		--rw=randwrite --bs=4k --direct=1 --ioengine=psync --verify=crc32c \
		--verify_backlog=32 --verify_fatal=1 --time_based --runtime=${1:-8} &
	fio_pid=$!
}

fio_check() {
	wait $fio_pid
	rc=$?
	[ $rc -eq 0 ] || { cat $T/fio.log; fail "fio exit status $rc"; }
	grep -q 'err= 0' $T/fio.log || { cat $T/fio.log; fail "fio reports an error"; }
	grep -qi 'verify.*fail\|bad magic\|crc32c.*mismatch' $T/fio.log && { cat $T/fio.log; fail "fio verify"; }
	note "fio: $(sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/reads=\1 writes=\2/p' $T/fio.log)"
}

# The LV in use: ext4 mounted, fio writing and verifying; attach during it,
# detach during it, then exact figures from attach on, LVM's own table back
# byte for byte after detach, nothing counted after it, and LVM still
# managing the volume (lvs, lvextend + resize2fs, lvchange --refresh).
t_attach_lvm_volume_in_use_under_fio_verify() {
	need_dmpctl
	load
	lvm_vg
	lvm_table=$(table_of vg0-lv0)
	# The filesystem ends at 56 MiB of the 64 MiB LV, so the last 8 MiB
	# (on the second PV) take raw writes; no lazy init writes behind it.
	must $MKFS -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/vg0/lv0 56M
	mkdir -p $T/mnt
	must mount -o noatime /dev/vg0/lv0 $T/mnt

	fio_start 8
	sleep 2
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the attach"
	ctl 0 attach /dev/vg0/lv0
	assert_eq "$out" "vg0-lv0: attached (2 linear targets now dmp)" "attach"
	assert_eq "$(table_of vg0-lv0)" "$(echo "$lvm_table" | sed 's/ linear / dmp /')" "attached table"
	note "LVM's table: $(echo "$lvm_table" | tr '\n' ';') attached: $(table_of vg0-lv0 | tr '\n' ';')"
	sleep 2
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the detach"
	# I/O went through both dmp targets while fio ran.
	w1=$(stat_field vg0-lv0 write_reqs 1)
	w2=$(stat_field vg0-lv0 write_reqs 2)
	note "counted while attached under fio: writes $w1 + $w2"
	[ $((w1 + w2)) -gt 0 ] || fail "nothing counted under fio"
	ctl 0 detach vg0-lv0
	assert_eq "$out" "vg0-lv0: detached (2 dmp targets now linear)" "detach"
	assert_eq "$(table_of vg0-lv0)" "$lvm_table" "LVM's table after detach"
	fio_check

	# Exact figures from attach on, with the filesystem idle (noatime, synced).
	sync
	ctl 0 attach vg0/lv0
	assert_eq "$(both_status vg0-lv0)" \
		"read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0;read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0;" \
		"figures right after attach"
	ctl 0 attach /dev/mapper/vg0-lv0
	assert_eq "$out" "vg0-lv0: already attached (2 dmp targets), nothing to do" "attach again"
	assert_eq "$($DMPCTL status)" "vg0-lv0: in place (2 dmp targets of 2)" "dmpctl status"
	# 5 reads of 4 KiB in the first segment, 3 of 8 KiB in the second,
	# 2 writes of 4 KiB past the filesystem's end (second segment).
	dread /dev/vg0/lv0 4096 5 100
	dread /dev/vg0/lv0 8192 3 5200
	dwrite /dev/vg0/lv0 4096 2 15000
	assert_eq "$(both_status vg0-lv0)" \
		"read_reqs=5 read_bytes=20480 write_reqs=0 write_bytes=0 other_reqs=0 errors=0;read_reqs=3 read_bytes=24576 write_reqs=2 write_bytes=8192 other_reqs=0 errors=0;" \
		"figures of the two targets"
	json=$(/dmp/bin/dmpstat --json vg0-lv0) || fail "dmpstat --json vg0-lv0"
	echo "$json" | grep -q '"name":"vg0-lv0","targets":2,"read":{"reqs":8,"bytes":45056,' ||
		fail "dmpstat does not sum the two targets: $json"
	echo "$json" | grep -q '"write":{"reqs":2,"bytes":8192,' || fail "dmpstat writes: $json"
	note "dmpstat: $(/dmp/bin/dmpstat vg0-lv0 | tail -1)"
	note "status: $(both_status vg0-lv0)"
	for d in /sys/block/dm-*; do [ "$(cat $d/dm/name)" = vg0-lv0 ] && dm=${d##*/}; done
	[ -b /dev/$dm ] || fail "no /dev/dm-N node of vg0-lv0"
	ctl 0 detach /dev/$dm
	assert_eq "$out" "vg0-lv0: detached (2 dmp targets now linear)" "detach by /dev/$dm"
	assert_eq "$(table_of vg0-lv0)" "$lvm_table" "LVM's table after the second detach"
	ctl 0 detach vg0-lv0
	assert_eq "$out" "vg0-lv0: not attached (2 linear targets), nothing to do" "detach again"
	v=$(cat $VOLUMES)
	dread /dev/vg0/lv0 4096 4
	dwrite /dev/vg0/lv0 4096 1 15000
	assert_eq "$(cat $VOLUMES)" "$v" "dmp's figures after detach"

	# LVM still manages it. lvextend, like any LVM change of the volume,
	# loads LVM's own (linear) table: attached again afterwards.
	ctl 0 attach vg0/lv0
	must $LVM lvs vg0/lv0
	assert_eq "$($LVM lvs --noheadings -o lv_size --units m --nosuffix vg0/lv0 | tr -d ' ')" "64.00" "lvs size"
	must $LVM lvextend -q -L +8M vg0/lv0
	assert_eq "$(table_of vg0-lv0 | cut -d' ' -f1-3 | tr '\n' ';')" "0 81920 linear;81920 65536 linear;" \
		"table after lvextend (LVM's, linear)"
	lvm_table=$(table_of vg0-lv0)
	must $RESIZE2FS /dev/vg0/lv0
	ctl 0 attach vg0/lv0
	assert_eq "$out" "vg0-lv0: attached (2 linear targets now dmp)" "attach after lvextend"
	must $LVM lvchange -q --refresh vg0/lv0
	assert_eq "$(table_of vg0-lv0)" "$lvm_table" "table after lvchange --refresh (LVM's again)"
	ctl 0 attach vg0/lv0
	assert_eq "$out" "vg0-lv0: attached (2 linear targets now dmp)" "attach after refresh"
	must umount $T/mnt
	must $FSCK -fn /dev/vg0/lv0
	note "e2fsck -fn: $(tail -1 $T/.out)"
	ctl 0 detach vg0/lv0
	assert_eq "$(table_of vg0-lv0)" "$lvm_table" "LVM's table at the end"
	must $LVM vgchange -q -an vg0
}

# What is not a linear-only (or dmp) table gets dmp as a layer
# (89-attach-layered.sh); here, a striped LV, a zero device and a table of
# linear and zero get it and lose it again, their tables back byte for
# byte; then what is refused with one line, nothing changed.
t_attach_refusals() {
	need_dmpctl
	load
	lvm_vg
	must $LVM lvcreate -q -y -i 2 -I 64k -n st -L 16M vg0
	dm z "0 8192 zero"
	dm mix "$(printf '0 8192 linear %s 0\n8192 8192 zero' $pv1)"
	for d in vg0-st z mix; do
		own=$(table_of $d)
		ctl 0 attach $d
		assert_eq "$(table_of $d)" "0 $(sectors /dev/mapper/$d) dmp $($DMSETUP info -c --noheadings -o major,minor $d.dmp-lower | tr -d ' ') 0" "$d attached"
		ctl 0 detach $d
		assert_eq "$(table_of $d)" "$own" "$d's table back"
	done
	ctl 1 attach nosuch
	assert_eq "$out" "dmpctl: no such device: nosuch" "missing device"
	ctl 1 attach /dev/mapper/nosuch
	assert_eq "$out" "dmpctl: no such device: /dev/mapper/nosuch" "missing path"
	ctl 1 attach vg0/nosuch
	assert_eq "$out" "dmpctl: no such device: vg0/nosuch" "missing LV"
	ctl 1 attach $pv1
	assert_eq "$out" "dmpctl: $pv1 ($(cat /sys/class/block/${pv1#/dev/}/dev)) is not a device-mapper device" "not a dm device"
	ctl 1 attach /dev/null
	assert_eq "$out" "dmpctl: /dev/null is not a block device" "not a block device"
	ctl 2 attach
	assert_eq "$out" "dmpctl: no DEVICE given (and no --config) (see dmpctl --help)" "no device"
	ctl 2 attach --timeout 0 vg0/lv0
	# One good and one bad device: the good one is done, the status says 1.
	$DMPCTL attach vg0/lv0 nosuch >$T/o 2>$T/e
	assert_eq "$?" 1 "exit status of a good and a bad device"
	assert_eq "$(cat $T/o)" "vg0-lv0: attached (2 linear targets now dmp)" "the good one"
	assert_eq "$(cat $T/e)" "dmpctl: no such device: nosuch" "the bad one"
	ctl 0 detach vg0/lv0
	lv=$(table_of vg0-lv0)
	# No dmp module: one line, nothing changed.
	must rmmod dmp
	ctl 1 attach vg0/lv0
	assert_eq "$out" "dmpctl: the dmp module is not loaded (no /sys/module/dmp): nothing changed" "no module"
	assert_eq "$(table_of vg0-lv0)" "$lv" "table without the module"
	assert_eq "$(state vg0-lv0)" "ACTIVE LIVE" "vg0-lv0 live, no inactive table"
	must $LVM vgchange -q -an vg0
}

# The upper device's suspend waits for a write stuck in a suspended lower
# device: dmpctl gives up after its timeout, the kernel cancels the
# suspend, the device goes on with its old table and no inactive one; the
# write completes once the lower device resumes.
t_attach_suspend_stuck_below_times_out() {
	need_dmpctl
	load
	loop=$(loopdev 8)
	dm low "0 16384 linear $loop 0"
	dm up "0 16384 linear /dev/mapper/low 0"
	up=$(table_of up)
	must $DMSETUP suspend low
	stuck_write up
	t0=$(date +%s)
	ctl 1 attach --timeout 2 up
	t1=$(date +%s)
	assert_eq "$out" "dmpctl: up: not attached: the suspend did not finish within 2 s (I/O stuck below?); cancelled, the device runs on its old table" "stuck suspend"
	[ $((t1 - t0)) -le 10 ] || fail "dmpctl took $((t1 - t0)) s (its timeout: 2 s)"
	assert_eq "$(table_of up)" "$up" "table after the cancelled attach"
	assert_eq "$(state up)" "ACTIVE LIVE" "up live, not suspended, no inactive table"
	stuck_write_ends low
	# Nothing stuck any more: attach works and the data is there.
	ctl 0 attach up
	assert_eq "$out" "up: attached (1 linear targets now dmp)" "attach once unstuck"
	must $DD if=/dev/mapper/up of=$T/a bs=4k skip=7 count=1 iflag=direct
	must $DD if=$loop of=$T/b bs=4k skip=7 count=1 iflag=direct
	must $CMP $T/a $T/b
	status_is up "read_reqs=1 read_bytes=4096 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
}

# The boot path: what deploy/systemd/dmp-attach.service runs, on a freshly
# activated VG, with the volumes named in the configuration file by VG/LV
# and by dm UUID.
t_attach_boot_path_config() {
	need_dmpctl
	load
	lvm_vg
	must $LVM lvcreate -q -y -n lv1 -L 8M vg0 $pv2
	uuid=$($DMSETUP info -c --noheadings -o uuid vg0-lv1)
	lv0=$(table_of vg0-lv0)
	lv1=$(table_of vg0-lv1)
	must $LVM vgchange -q -an vg0
	[ -e /dev/mapper/vg0-lv0 ] && fail "vg0-lv0 still active"
	unit=/dmp/deploy/systemd/dmp-attach.service
	[ -f $unit ] || fail "no $unit"
	cmd=$(sed -n 's/^ExecStart=//p' $unit)
	assert_eq "$cmd" "/usr/sbin/dmpctl attach --wait 30 --config /etc/dmp/attach.conf" "the unit's command"
	{
		echo "# volumes dmp is attached to at boot"
		echo "vg0/lv0"
		echo "uuid:$uuid   # vg0/lv1"
	} >$T/attach.conf
	# The unit's command starts before LVM activates the VG (event
	# activation may come late) and waits for the volumes.
	$(echo "$cmd" | sed "s|/usr/sbin/dmpctl|$DMPCTL|; s|/etc/dmp/attach.conf|$T/attach.conf|") >$T/o 2>&1 &
	pid=$!
	sleep 1
	kill -0 $pid 2>/dev/null || { cat $T/o; fail "dmpctl did not wait for the volumes"; }
	must $LVM vgchange -q -ay vg0
	wait $pid || { cat $T/o; fail "the unit's command failed"; }
	assert_eq "$(cat $T/o)" "$(printf 'vg0-lv0: attached (2 linear targets now dmp)\nvg0-lv1: attached (1 linear targets now dmp)')" "boot attach"
	assert_eq "$(table_of vg0-lv0)" "$(echo "$lv0" | sed 's/ linear / dmp /')" "vg0-lv0 attached"
	assert_eq "$(table_of vg0-lv1)" "$(echo "$lv1" | sed 's/ linear / dmp /')" "vg0-lv1 attached"
	# Run again (a restart of the unit): nothing to do, success.
	must $DMPCTL attach --config $T/attach.conf
	assert_eq "$(cat $T/.out)" "$(printf 'vg0-lv0: already attached (2 dmp targets), nothing to do\nvg0-lv1: already attached (1 dmp targets), nothing to do')" "boot attach again"
	# Stopping the unit (package removal) detaches them.
	stop=$(sed -n 's/^ExecStop=//p' $unit)
	assert_eq "$stop" "/usr/sbin/dmpctl detach --config /etc/dmp/attach.conf" "the unit's stop command"
	must $(echo "$stop" | sed "s|/usr/sbin/dmpctl|$DMPCTL|; s|/etc/dmp/attach.conf|$T/attach.conf|")
	assert_eq "$(table_of vg0-lv0)" "$lv0" "vg0-lv0 detached"
	assert_eq "$(table_of vg0-lv1)" "$lv1" "vg0-lv1 detached"
	# A bad configuration: one line naming the line, nothing changed.
	printf 'vg0/lv0 vg0/lv1\n' >$T/bad.conf
	ctl 1 attach --config $T/bad.conf
	assert_eq "$out" "dmpctl: $T/bad.conf: line 1: 'vg0/lv0 vg0/lv1': one volume per line (VG/LV, /dev/..., a dm name or uuid:...)" "bad config"
	assert_eq "$(table_of vg0-lv0)" "$lv0" "vg0-lv0 after a bad config"
	ctl 1 attach --config $T/none.conf
	must $LVM vgchange -q -an vg0
}

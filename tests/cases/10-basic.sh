# SPDX-License-Identifier: GPL-2.0
# Loading, unloading, remapping.

t_module_registers_target_and_sysfs() {
	load
	$DMSETUP targets | grep -qE '^dmp +v1\.1\.0$' || fail "dmp not listed: $($DMSETUP targets)"
	[ -f $VOLUMES ] || fail "no $VOLUMES"
	assert_eq "$(stat -c %a $VOLUMES)" 644 "mode of volumes"
	volumes_is 0 0 0 0 0 0
}

t_modinfo_fields() {
	assert_eq "$($MODINFO -F name $KO)" dmp "name"
	assert_eq "$($MODINFO -F license $KO)" GPL "license"
	assert_eq "$($MODINFO -F version $KO)" 1.1.0 "version"
	assert_eq "$($MODINFO -F description $KO)" \
		"device-mapper proxy: remaps to one device and counts its I/O" "description"
}

# device-mapper loads a target's module on demand: the first table that names
# `dmp` makes the kernel run /sbin/modprobe dm-dmp, which finds dmp.ko by its
# alias once it is installed under /lib/modules (as a package installs it).
t_autoload_by_alias() {
	local rel loop
	rel=$(uname -r)
	grep -q '^dmp ' /proc/modules && fail "dmp is loaded before the case"
	assert_eq "$($MODINFO -F alias $KO)" dm-dmp "alias"
	loop=$(loopdev 4)
	# Not installed: the table is refused (unknown target type).
	echo "0 8192 dmp $loop 0" | refuse $DMSETUP create dmp1
	grep -q '^dmp ' /proc/modules && fail "dmp loaded without being installed"
	mkdir -p "/lib/modules/$rel/updates"
	must cp $KO "/lib/modules/$rel/updates/dmp.ko"
	must $DEPMOD -a
	grep -qx 'alias dm-dmp dmp' "/lib/modules/$rel/modules.alias" ||
		fail "depmod wrote no 'alias dm-dmp dmp' to modules.alias"
	dm dmp1 "0 8192 dmp $loop 0"
	grep -q '^dmp ' /proc/modules || fail "dmsetup create of a dmp table did not load dmp"
	assert_eq "$($DMSETUP table dmp1)" "0 8192 dmp $(($(stat -c 0x%t $loop))):$(($(stat -c 0x%T $loop))) 0" "table of dmp1"
	dwrite /dev/mapper/dmp1 4096 2
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=2 write_bytes=8192 other_reqs=0 errors=0"
	must $DMSETUP remove dmp1
	must rmmod dmp
}

t_rmmod_refused_while_in_use() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	refuse rmmod dmp
	grep -q '^dmp ' /proc/modules || fail "dmp unloaded while in use"
	must $DMSETUP remove dmp1
	must rmmod dmp
	[ ! -e /sys/module/dmp ] || fail "/sys/module/dmp still there"
}

# Sector s of dmp is sector offset + s of the device, both ways.
t_data_lands_at_offset() {
	load
	loop=$(loopdev 8)
	dm dmp1 "0 8192 dmp $loop 2048"
	assert_eq "$(sectors /dev/mapper/dmp1)" 8192 "size of dmp1"
	must $DD if=/dev/urandom of=$T/a bs=4096 count=4 status=none
	must $DD if=/dev/urandom of=$T/b bs=4096 count=4 status=none
	# dmp sector 96 is loop sector 2144 (4 KiB blocks 12 and 268).
	must $DD if=$T/a of=/dev/mapper/dmp1 bs=4096 seek=12 oflag=direct conv=notrunc
	must $DD if=$loop of=$T/a.back bs=4096 skip=268 count=4 iflag=direct
	must $CMP $T/a $T/a.back
	# Nothing landed at loop sector 96.
	must $DD if=$loop of=$T/z bs=4096 skip=12 count=4 iflag=direct
	must $DD if=/dev/zero of=$T/zero bs=4096 count=4 status=none
	must $CMP $T/z $T/zero
	# And the reverse: loop sector 2448 is dmp sector 400 (blocks 306, 50).
	must $DD if=$T/b of=$loop bs=4096 seek=306 oflag=direct conv=notrunc
	must $DD if=/dev/mapper/dmp1 of=$T/b.back bs=4096 skip=50 count=4 iflag=direct
	must $CMP $T/b $T/b.back
	# The last sector of dmp is the last sector of the loop device.
	must $DD if=$T/a of=/dev/mapper/dmp1 bs=512 seek=8191 count=1 oflag=direct conv=notrunc
	must $DD if=$loop of=$T/last bs=512 skip=10239 count=1 iflag=direct
	must $CMP -n 512 $T/a $T/last
}

t_device_by_major_minor_and_canonical_table() {
	load
	loop=$(loopdev 8)
	mm=$(($(stat -c 0x%t $loop))):$(($(stat -c 0x%T $loop)))
	dm dmp1 "0 4096 dmp $mm 100"
	dm dmp2 "0 4096 dmp $loop"
	assert_eq "$($DMSETUP table dmp1)" "0 4096 dmp $mm 100" "table of dmp1"
	assert_eq "$($DMSETUP table dmp2)" "0 4096 dmp $mm 0" "table of dmp2"
	# The canonical line creates the same mapping.
	$DMSETUP table dmp1 | must $DMSETUP create dmp3
	assert_eq "$($DMSETUP table dmp3)" "0 4096 dmp $mm 100" "table of dmp3"
}

t_no_io_at_create() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	volumes_is 0 0 0 0 0 0
}

# SPDX-License-Identifier: GPL-2.0
# What is counted, and how it is shown and reset.

t_reads_and_writes_counted_exactly() {
	load
	loop=$(loopdev 16)
	dm dmp1 "0 32768 dmp $loop"
	dread /dev/mapper/dmp1 4096 12
	dwrite /dev/mapper/dmp1 8192 3
	volumes_is 12 4096 3 8192 15 4915
	status_is dmp1 "read_reqs=12 read_bytes=49152 write_reqs=3 write_bytes=24576 other_reqs=0 errors=0"
}

t_mixed_sizes_average_rounds_down() {
	load
	loop=$(loopdev 16)
	dm dmp1 "0 32768 dmp $loop"
	dread /dev/mapper/dmp1 512 3
	dread /dev/mapper/dmp1 65536 1 4
	dwrite /dev/mapper/dmp1 4096 2
	dwrite /dev/mapper/dmp1 1024 1 100
	# reads 1536 + 65536 = 67072 / 4; writes 9216 / 3; total 76288 / 7.
	volumes_is 4 16768 3 3072 7 10898
	status_is dmp1 "read_reqs=4 read_bytes=67072 write_reqs=3 write_bytes=9216 other_reqs=0 errors=0"
}

t_volumes_reset_forms() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	for form in newline 0 0nl reset resetnl; do
		dread /dev/mapper/dmp1 4096 2
		dwrite /dev/mapper/dmp1 4096 1
		volumes_is 2 4096 1 4096 3 4096
		case $form in
		newline) echo >$VOLUMES ;;
		0) printf 0 >$VOLUMES ;;
		0nl) printf '0\n' >$VOLUMES ;;
		reset) printf reset >$VOLUMES ;;
		resetnl) printf 'reset\n' >$VOLUMES ;;
		esac || fail "reset with '$form' refused"
		volumes_is 0 0 0 0 0 0
	done
	# The per-device figures are not touched by a module-wide reset.
	status_is dmp1 "read_reqs=10 read_bytes=40960 write_reqs=5 write_bytes=20480 other_reqs=0 errors=0"
}

t_volumes_bad_writes_refused() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dread /dev/mapper/dmp1 4096 2
	# GNU dd writes its input in one write(2) and reports its errno.
	for bad in garbage 1 00 RESET ' reset' 'reset ' 'reset  ' 'reset now' 'reset\n\n' '\n\n' '\001\377' '\0'; do
		err=$(printf "$bad" | $DD of=$VOLUMES bs=8192 status=none 2>&1) && fail "write of '$bad' accepted"
		case $err in *"Invalid argument"*) ;; *) fail "write of '$bad': '$err', not EINVAL" ;; esac
	done
	err=$(head -c 4096 /dev/zero | tr '\0' x | $DD of=$VOLUMES bs=8192 status=none 2>&1) &&
		fail "4096 bytes accepted"
	case $err in *"Invalid argument"*) ;; *) fail "4096 bytes: '$err', not EINVAL" ;; esac
	volumes_is 2 4096 0 0 2 4096
}

t_volumes_reset_needs_root() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dread /dev/mapper/dmp1 4096 3
	err=$($SETPRIV --reuid=65534 --regid=65534 --clear-groups sh -c "echo >$VOLUMES" 2>&1) &&
		fail "unprivileged reset accepted"
	case $err in *"Permission denied"*) ;; *) fail "unprivileged write: '$err', not EACCES" ;; esac
	# But anyone may read.
	out=$($SETPRIV --reuid=65534 --regid=65534 --clear-groups cat $VOLUMES) || fail "unprivileged read"
	assert_eq "$(echo "$out" | sed -n 2p)" "  reqs: 3" "read by nobody"
	volumes_is 3 4096 0 0 3 4096
}

t_volumes_survive_device_removal() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dread /dev/mapper/dmp1 4096 5
	dwrite /dev/mapper/dmp1 4096 2
	must $DMSETUP remove dmp1
	volumes_is 5 4096 2 4096 7 4096
	dm dmp2 "0 8192 dmp $loop"
	status_is dmp2 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	dread /dev/mapper/dmp2 8192 1
	volumes_is 6 4778 2 4096 8 4608
}

t_devices_counted_independently() {
	load
	l1=$(loopdev 4)
	l2=$(loopdev 4)
	dm dmp1 "0 8192 dmp $l1"
	dm dmp2 "0 8192 dmp $l2"
	dread /dev/mapper/dmp1 4096 4
	dwrite /dev/mapper/dmp2 2048 3
	status_is dmp1 "read_reqs=4 read_bytes=16384 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	status_is dmp2 "read_reqs=0 read_bytes=0 write_reqs=3 write_bytes=6144 other_reqs=0 errors=0"
	volumes_is 4 4096 3 2048 7 3218
}

t_message_reset_only_its_target() {
	load
	l1=$(loopdev 4)
	l2=$(loopdev 4)
	dm dmp1 "0 8192 dmp $l1"
	dm dmp2 "0 8192 dmp $l2"
	dread /dev/mapper/dmp1 4096 2
	dread /dev/mapper/dmp2 4096 3
	must $DMSETUP message dmp1 0 reset
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	status_is dmp2 "read_reqs=3 read_bytes=12288 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	volumes_is 5 4096 0 0 5 4096
	dwrite /dev/mapper/dmp1 4096 1
	status_is dmp1 "read_reqs=0 read_bytes=0 write_reqs=1 write_bytes=4096 other_reqs=0 errors=0"
}

t_bad_messages_refused() {
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dread /dev/mapper/dmp1 4096 2
	for msg in foo RESET reset\ now 'reset 0' '0'; do
		before=$(klog_lines)
		# shellcheck disable=SC2086
		refuse $DMSETUP message dmp1 0 $msg
		dmesg | tail -n +$((before + 1)) | grep -q 'dmp: message refused' ||
			fail "no reason logged for message '$msg'"
	done
	refuse $DMSETUP message dmp1 0 ''
	status_is dmp1 "read_reqs=2 read_bytes=8192 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	volumes_is 2 4096 0 0 2 4096
}

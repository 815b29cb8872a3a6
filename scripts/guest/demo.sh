#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo, run in the guest by ./run.sh.
set -e
export DM_DISABLE_UDEV=1
run() {
	echo "\$ $*"
	"$@"
}
sh_run() {
	echo "\$ $1"
	sh -c "$1"
}
run insmod /dmp/dmp.ko
run /usr/sbin/dmsetup create zero1 --table "0 20480 zero"
run /usr/sbin/dmsetup create dmp1 --table "0 20480 dmp /dev/mapper/zero1 0"
run ls -l /dev/mapper/
run /usr/bin/dd if=/dev/urandom of=/dev/mapper/dmp1 bs=4k count=1 oflag=direct
run /usr/bin/dd if=/dev/urandom of=/dev/mapper/dmp1 bs=8k count=2 oflag=direct
run /usr/bin/dd if=/dev/mapper/dmp1 of=/dev/null bs=4k count=5 iflag=direct
run cat /sys/module/dmp/stat/volumes
run /usr/sbin/dmsetup status dmp1
run /usr/sbin/dmsetup table dmp1
run /usr/sbin/dmsetup message dmp1 0 stats
run /dmp/bin/dmpstat
run /dmp/bin/dmpstat --histogram dmp1
run /dmp/bin/dmpstat --json dmp1
run /dmp/bin/dmpstat --prometheus dmp1
run /usr/sbin/dmsetup message dmp1 0 reset
run /usr/sbin/dmsetup status dmp1
sh_run "echo > /sys/module/dmp/stat/volumes"
run cat /sys/module/dmp/stat/volumes
run /usr/sbin/dmsetup remove dmp1
run /usr/sbin/dmsetup remove zero1
run rmmod dmp
echo "demo: OK"

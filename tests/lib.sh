# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest tests. Sourced by tests/run.sh inside the VM.

# Real tools: busybox's shell would run its own applets for these names.
DD=/usr/bin/dd
DMSETUP=/usr/sbin/dmsetup
LOSETUP=/usr/sbin/losetup
BLOCKDEV=/usr/sbin/blockdev
BLKDISCARD=/usr/sbin/blkdiscard
FALLOCATE=/usr/bin/fallocate
FIO=/usr/bin/fio
MKFS=/usr/sbin/mkfs.ext4
FSCK=/usr/sbin/e2fsck
MODINFO=/usr/sbin/modinfo
SETPRIV=/usr/bin/setpriv
CMP=/usr/bin/cmp
MD5SUM=/usr/bin/md5sum
MODPROBE=/usr/sbin/modprobe
DEPMOD=/usr/sbin/depmod
TIMEOUT=/usr/bin/timeout
BLKZONE=/usr/sbin/blkzone
DMPSTAT=/dmp/bin/dmpstat
# No udev in the guest: libdevmapper makes the /dev/mapper nodes itself.
export DM_DISABLE_UDEV=1

VOLUMES=/sys/module/dmp/stat/volumes
KO=/dmp/dmp.ko
T=/tmp/t   # scratch space of the running case, emptied after it

# The debug kernel (KASAN, lockdep, kmemleak): every I/O costs several times
# more there, so the cases that move a volume of I/O only to load dmp's paths
# move less of it (the same paths, the same assertions).
debug_kernel() { [ -e /sys/kernel/debug/kmemleak ]; }

# note TEXT: a figure worth seeing in the runner's output even on success.
note() { echo "  # $*"; }

fail() {
	echo "  FAIL: $*"
	exit 1
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# must CMD...: CMD succeeds.
must() {
	"$@" >"$T/.out" 2>&1 || { cat "$T/.out"; fail "'$*' failed"; }
}

# refuse CMD...: CMD fails.
refuse() {
	if "$@" >"$T/.out" 2>&1; then fail "'$*' succeeded but must fail"; fi
}

load() { must insmod "$KO"; }

# loopdev SIZE_MIB: a loop device over a new zeroed file in tmpfs.
loopdev() {
	local f
	f=$(mktemp "$T/img.XXXXXX")
	must $DD if=/dev/zero of="$f" bs=1M count="$1" status=none
	$LOSETUP -f --show "$f" || fail "losetup $f"
}

# dm NAME TABLE: create a device and check its node is a real block device.
dm() {
	echo "$2" | must $DMSETUP create "$1"
	[ -b "/dev/mapper/$1" ] || must $DMSETUP mknodes "$1"
	[ -b "/dev/mapper/$1" ] || fail "/dev/mapper/$1 is not a block device"
}

sectors() { $BLOCKDEV --getsz "$1"; }

# stat_field NAME KEY [TARGET_INDEX]: a counter from `dmsetup status` of the
# TARGET_INDEX-th target (1-based) of NAME.
stat_field() {
	$DMSETUP status "$1" | sed -n "${3:-1}p" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# status_is NAME "read_reqs=.. ... errors=.." [TARGET_INDEX]
status_is() {
	local got
	got=$($DMSETUP status "$1" | sed -n "${3:-1}p" | cut -d' ' -f4-)
	assert_eq "$got" "$2" "dmsetup status $1"
}

# volumes_is R_REQS R_AVG W_REQS W_AVG T_REQS T_AVG
volumes_is() {
	local want
	want=$(printf 'read:\n  reqs: %s\n  avg size: %s\nwrite:\n  reqs: %s\n  avg size: %s\ntotal:\n  reqs: %s\n  avg size: %s' "$@")
	assert_eq "$(cat $VOLUMES)" "$want" "volumes"
}

# Direct I/O of COUNT blocks of BS bytes: dread DEV BS COUNT [SKIP_BLOCKS]
dread() { must $DD if="$1" of=/dev/null bs="$2" count="$3" skip="${4:-0}" iflag=direct; }
dwrite() { must $DD if=/dev/urandom of="$1" bs="$2" count="$3" seek="${4:-0}" oflag=direct conv=notrunc; }

# nullb PARAM=VALUE...: load null_blk (and configfs, which it needs).
nullb() { must $MODPROBE null_blk "$@"; }

# expect_alloc_warnings: the running case injects allocation failures, so the
# allocator's reports of them ("vmalloc error: ...", with a stack trace) are
# expected; any other warning still fails the case.
expect_alloc_warnings() { : >/tmp/case.allow-alloc-warnings; }

# Number of lines in the kernel log now.
klog_lines() { dmesg | wc -l; }

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/bench.sh: fio on a null_blk device, raw, through
# dm-linear and through dmp, measured two ways:
#
#  interleaved  rounds of raw, linear, dmp one after the other; a ratio per
#               round. Honest, but host speed swings between the runs.
#               Each round also measures what a user would pick instead of
#               dmp, on the same null_blk:
#                 dmstats     dm-linear with a dm-stats region over the whole
#                             device (`@stats_create - /1`)
#                 dmstats-ph  the same with `precise_timestamps` and a latency
#                             histogram of dmp's 25 bounds (ns)
#                 ebpf        dm-linear (the `linear` device) with bpftrace
#                             running a latency histogram of its bios, where
#                             the kernel has BPF and the guest bpftrace
#                             (scripts/bench.sh appends it: scripts/bpf-tools.sh)
#  paired       per vCPU, one linear job and one dmp job at the same time,
#               pinned to that vCPU, so both see the same host speed; and the
#               control pair linear vs linear, whose ratio should be 1.00.
#               Which job fio starts first alternates from round to round.
#
#   bench.sh ROUNDS SECONDS [MODES] [WORKLOADS] [PEERS]
# PEERS=no leaves the peers out (no dm-stats region: dm's static key stays off).
ROUNDS=${1:-5}
SECS=${2:-3}
MODES=${3:-interleaved paired}
WORKLOADS=${4:-randread:4k randwrite:4k read:128k}
PEERS=${5:-yes}
FIO=/usr/bin/fio
DMSETUP=/usr/sbin/dmsetup
export DM_DISABLE_UDEV=1
NCPU=$(nproc)
set -e

/usr/sbin/modprobe null_blk nr_devices=1 queue_mode=2 irqmode=0 completion_nsec=0 \
	gb=16 bs=4096 submit_queues="$NCPU" memory_backed=0
insmod /dmp/dmp.ko
SZ=$(/usr/sbin/blockdev --getsz /dev/nullb0)
echo "0 $SZ linear /dev/nullb0 0" | $DMSETUP create lin
echo "0 $SZ linear /dev/nullb0 0" | $DMSETUP create lin2
echo "0 $SZ dmp /dev/nullb0 0" | $DMSETUP create dmp
echo "0 $SZ linear /dev/nullb0 0" | $DMSETUP create dmstats
echo "0 $SZ linear /dev/nullb0 0" | $DMSETUP create dmstats-ph
$DMSETUP mknodes
# dm-stats regions, as `dmstats create` makes them (lvm2): the whole device,
# one area. Made before anything is measured: dm's `stats_enabled` static key,
# once on, stays on for every dm device, so dm-linear and dmp are measured
# with it on too (a test of an empty list per I/O).
BOUNDS=$(i=10; b=""; while [ $i -le 34 ]; do b="$b,$((1 << i))"; i=$((i + 1)); done; echo "${b#,}")
if [ "$PEERS" = yes ]; then
	$DMSETUP message dmstats 0 @stats_create - /1 >/dev/null
	$DMSETUP message dmstats-ph 0 @stats_create - /1 2 precise_timestamps "histogram:$BOUNDS" >/dev/null
fi
# eBPF: bpftrace, a latency histogram of the bios of the `lin` device.
BPFTRACE=/usr/bin/bpftrace
EBPF=no
if [ "$PEERS" = yes ] && [ -x $BPFTRACE ] && [ -e /sys/kernel/btf/vmlinux ]; then
	EBPF=yes
	MM=$($DMSETUP info -c --noheadings -o major,minor lin)
	LINDEV=$(((${MM%:*} << 20) | ${MM#*:}))
fi
# The probes: the block layer's bio tracepoints. A bio-based dm device's bio
# is seen twice, when it is submitted (`submit_bio_noacct()`, before dm maps
# it: block_bio_queue) and when dm ends it (`bio_endio()`, after its clones
# completed: block_bio_complete), with the dm device as `dev`; so the
# latency is the whole dm device's, as dm-stats' and dmp's are. dm's clones
# fire both too, with the underlying device as `dev`: filtered out, but the
# programs run for them as for any bio. The key is the sector (dm does not
# advance the original bio).
BT_PROG="tracepoint:block:block_bio_queue /args->dev == LINDEV/ { @start[args->sector] = nsecs; }
tracepoint:block:block_bio_complete /args->dev == LINDEV && @start[args->sector]/ {
	@ns = hist(nsecs - @start[args->sector]); delete(@start[args->sector]); }"
ENGINE=io_uring
$FIO --name=probe --filename=/dev/nullb0 --ioengine=io_uring --direct=1 --rw=read --bs=4k \
	--size=4k --output=/dev/null 2>/dev/null || ENGINE=libaio

# iops RW BS DEV: IOPS of NCPU jobs at queue depth 32 for SECS seconds.
iops() {
	$FIO --output-format=terse --terse-version=3 --group_reporting --name=b \
		--filename="$3" --ioengine=$ENGINE --direct=1 --rw="$1" --bs="$2" --iodepth=32 \
		--numjobs="$NCPU" --time_based --runtime="$SECS" --ramp_time=1 --norandommap \
		--randrepeat=0 |
		awk -F';' -v rw="$1" '{print (rw ~ /write/) ? $49 : $8}'
}

# pair RW BS DEV_A DEV_B: "IOPS_A IOPS_B" of one job on each, per vCPU, at once.
pair() {
	args=""
	cpu=0
	while [ $cpu -lt "$NCPU" ]; do
		args="$args --name=a$cpu --filename=$3 --cpus_allowed=$cpu"
		args="$args --name=b$cpu --filename=$4 --cpus_allowed=$cpu"
		cpu=$((cpu + 1))
	done
	# shellcheck disable=SC2086
	$FIO --output-format=terse --terse-version=3 --ioengine=$ENGINE --direct=1 --rw="$1" \
		--bs="$2" --iodepth=32 --time_based --runtime="$SECS" --ramp_time=1 --norandommap \
		--randrepeat=0 $args |
		awk -F';' -v rw="$1" '{v = (rw ~ /write/) ? $49 : $8; if ($3 ~ /^a/) a += v; else b += v}
			END {print a, b}'
}

# ebpf RW BS: IOPS on `lin` with the bpftrace histogram attached; prints the
# number of bios the histogram holds to stderr.
ebpf() {
	echo "$BT_PROG" | sed "s/LINDEV/$LINDEV/g" >/tmp/bt.prog
	: >/tmp/bt.out
	$BPFTRACE /tmp/bt.prog >/tmp/bt.out 2>&1 &
	bt=$!
	i=0
	while ! grep -q '^Attaching' /tmp/bt.out; do
		i=$((i + 1))
		[ $i -le 600 ] && kill -0 $bt 2>/dev/null || { cat /tmp/bt.out >&2; return 1; }
		sleep 1
	done
	iops "$1" "$2" /dev/mapper/lin
	kill -INT $bt
	wait $bt
	awk '/^\[/ {sub(/^[^)]*\)[ \t]*/, ""); n += $1} END {print "# ebpf histogram: " n + 0 " bios"}' \
		/tmp/bt.out >&2
}

echo "BENCH engine=$ENGINE cpus=$NCPU rounds=$ROUNDS seconds=$SECS ebpf=$EBPF"
for mode in $MODES; do
	for w in $WORKLOADS; do
		rw=${w%:*} bs=${w#*:}
		r=1
		while [ $r -le "$ROUNDS" ]; do
			case $mode in
			interleaved)
				echo "ROW interleaved $rw $bs $r raw $(iops $rw $bs /dev/nullb0)"
				echo "ROW interleaved $rw $bs $r linear $(iops $rw $bs /dev/mapper/lin)"
				echo "ROW interleaved $rw $bs $r dmp $(iops $rw $bs /dev/mapper/dmp)"
				if [ "$PEERS" = yes ]; then
					echo "ROW interleaved $rw $bs $r dmstats $(iops $rw $bs /dev/mapper/dmstats)"
					echo "ROW interleaved $rw $bs $r dmstats-ph $(iops $rw $bs /dev/mapper/dmstats-ph)"
				fi
				[ $EBPF = yes ] && echo "ROW interleaved $rw $bs $r ebpf $(ebpf $rw $bs)"
				;;
			paired)
				if [ $((r % 2)) -eq 1 ]; then
					set -- $(pair $rw $bs /dev/mapper/lin /dev/mapper/dmp)
					lin=$1 dmp=$2
					set -- $(pair $rw $bs /dev/mapper/lin /dev/mapper/lin2)
					l1=$1 l2=$2
				else
					set -- $(pair $rw $bs /dev/mapper/dmp /dev/mapper/lin)
					lin=$2 dmp=$1
					set -- $(pair $rw $bs /dev/mapper/lin2 /dev/mapper/lin)
					l1=$2 l2=$1
				fi
				echo "ROW paired $rw $bs $r linear $lin"
				echo "ROW paired $rw $bs $r dmp $dmp"
				echo "ROW control $rw $bs $r linear $l1"
				echo "ROW control $rw $bs $r linear2 $l2"
				;;
			esac
			r=$((r + 1))
		done
	done
done
$DMSETUP status dmp
if [ "$PEERS" = yes ]; then
	# What the dm-stats regions counted (the histogram one's, all I/Os).
	echo "dm-stats dmstats-ph: $($DMSETUP message dmstats-ph 0 @stats_print 0)"
	$DMSETUP message dmstats 0 @stats_delete 0
	$DMSETUP message dmstats-ph 0 @stats_delete 0
fi
$DMSETUP remove_all
rmmod dmp

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/bench.sh: fio on a null_blk device, raw, through
# dm-linear and through dmp, measured two ways:
#
#  interleaved  rounds of raw, linear, dmp one after the other; a ratio per
#               round. Honest, but host speed swings between the runs.
#  paired       per vCPU, one linear job and one dmp job at the same time,
#               pinned to that vCPU, so both see the same host speed; and the
#               control pair linear vs linear, whose ratio should be 1.00.
#               Which job fio starts first alternates from round to round.
#
#   bench.sh ROUNDS SECONDS [MODES] [WORKLOADS]
ROUNDS=${1:-5}
SECS=${2:-3}
MODES=${3:-interleaved paired}
WORKLOADS=${4:-randread:4k randwrite:4k read:128k}
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
$DMSETUP mknodes
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

echo "BENCH engine=$ENGINE cpus=$NCPU rounds=$ROUNDS seconds=$SECS"
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
$DMSETUP remove_all
rmmod dmp

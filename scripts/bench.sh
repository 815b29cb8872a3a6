#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark: dmp vs dm-linear vs the raw null_blk device, side by side in one
# VM run, with what a user would pick instead of dmp (dm-stats, and an eBPF
# histogram where the kernel has BPF) in the interleaved rounds (see
# scripts/guest/bench.sh for what is measured). Prints the median IOPS of
# each, the ratios and their spread over the rounds. A benchmark, not a test:
# it asserts nothing.
#
#   scripts/bench.sh [ROUNDS] [SECONDS] [MODES] [WORKLOADS]
#   defaults: 5 3 "interleaved paired" "randread:4k randwrite:4k read:128k"
#
# BENCH_KERNEL chooses the kernel: normal (6.12, default), newest, or a
# Debian stock kernel: debian (Debian 13's), debian:SUITE:FLAVOUR (e.g.
# debian:sid:amd64, debian:trixie-backports:rt-amd64).
#
# BENCH_PEERS=no leaves the peers out (dm-stats, eBPF): only raw, dm-linear
# and dmp, with dm's dm-stats static key off, as before the peers were added.
#
# BENCH_VM chooses the VM:
#   icount (default)  TCG with `-icount shift=3,sleep=off` and one vCPU: guest
#                     time advances with the instructions the guest executes,
#                     so IOPS measure instructions per I/O and repeat within
#                     0.1-0.2% whatever the host is doing. The repeatable mode.
#   smp               two vCPUs, KVM where it works, else multi-threaded TCG:
#                     real parallelism, but under TCG host speed swings by
#                     +-15-30% from run to run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

rounds=${1:-5} secs=${2:-3} modes=${3:-interleaved paired}
workloads=${4:-randread:4k randwrite:4k read:128k}
case ${BENCH_VM:-icount} in
icount) export DMP_SMP=1 DMP_ICOUNT=3 ;;
smp) export DMP_SMP=2 ;;
*) die "BENCH_VM is icount or smp" ;;
esac
kernel=${BENCH_KERNEL:-normal}
scripts/setup.sh
extra=()
if is_stock "$kernel"; then
	# shellcheck disable=SC2046 # the options are words
	scripts/debian-stock.sh $(stock_args "$kernel") build >/dev/null
	# Debian's kernels have BPF (and BTF): the eBPF peer runs there.
	[ "${BENCH_PEERS:-yes}" = no ] || extra=(-x "$(scripts/bpf-tools.sh)")
else
	kdir=$(scripts/build-kernel.sh "$kernel")
	# A dmp.ko built for another kernel (debian-stock.sh copies its own
	# here) is not rebuilt by make: clean first, as scripts/test.sh does.
	make -s clean KDIR="$kdir" LLVM="$LLVM_SUFFIX" >/dev/null 2>&1
	make -s KDIR="$kdir" LLVM="$LLVM_SUFFIX"
fi
mkdir -p out/bench
scripts/vm.sh -k "$kernel" -t 3600 -o out/bench "${extra[@]}" -- sh scripts/guest/bench.sh "$rounds" "$secs" "$modes" "$workloads" "${BENCH_PEERS:-yes}" |
	tee out/bench/raw.log | grep -v '^ROW '

echo
echo "kernel: $kernel; host: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); VM: $(cat out/bench/accel), ${DMP_SMP} vCPU(s)"
python3 - out/bench/raw.log <<'PY'
import statistics as st, sys, collections
rows = collections.defaultdict(lambda: collections.defaultdict(dict))
for line in open(sys.argv[1]):
    if not line.startswith("ROW "):
        continue
    _, mode, rw, bs, rnd, dev, iops = line.split()
    rows[(mode, rw, bs)][int(rnd)][dev] = float(iops)

def ratio_line(name, ratios):
    return f"{name} {st.median(ratios):.3f} (spread {min(ratios):.3f}-{max(ratios):.3f})"

print(f"{'mode':12} {'workload':15} {'median IOPS':40} ratios per round: median (min-max)")
for (mode, rw, bs), rounds in rows.items():
    devs = list(next(iter(rounds.values())).keys())
    med = {d: st.median(r[d] for r in rounds.values()) for d in devs}
    meds = "  ".join(f"{d} {med[d]:.0f}" for d in devs)
    out = []
    if mode == "interleaved":
        out.append(ratio_line("dmp/linear", [r["dmp"] / r["linear"] for r in rounds.values()]))
        out.append(ratio_line("linear/raw", [r["linear"] / r["raw"] for r in rounds.values()]))
        for peer in ("dmstats", "dmstats-ph", "ebpf"):
            if peer in devs:
                out.append(ratio_line(f"{peer}/linear", [r[peer] / r["linear"] for r in rounds.values()]))
    elif mode == "paired":
        out.append(ratio_line("dmp/linear", [r["dmp"] / r["linear"] for r in rounds.values()]))
    else:
        out.append(ratio_line("linear2/linear", [r["linear2"] / r["linear"] for r in rounds.values()]))
    print(f"{mode:12} {rw + ' ' + bs:15} {meds:40} {'; '.join(out)}")
print("peers: dmstats = dm-linear + dm-stats region '- /1'; dmstats-ph = the same with precise_timestamps"
      " and dmp's 25 latency bounds; ebpf = dm-linear with bpftrace's histogram of its bios")
PY

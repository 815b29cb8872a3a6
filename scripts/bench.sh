#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark: dmp vs dm-linear vs the raw null_blk device, side by side in one
# VM run (see scripts/guest/bench.sh for the two measuring modes). Prints the
# median IOPS of each, the ratios and their spread over the rounds. A
# benchmark, not a test: it asserts nothing.
#
#   scripts/bench.sh [ROUNDS] [SECONDS] [MODES]     (default 5 3 "interleaved paired")
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

rounds=${1:-5} secs=${2:-3} modes=${3:-interleaved paired}
scripts/setup.sh
kdir=$(scripts/build-kernel.sh normal)
make -s KDIR="$kdir" LLVM="$LLVM_SUFFIX"
mkdir -p out
scripts/vm.sh -k normal -t 3600 -o out/bench -- sh scripts/guest/bench.sh "$rounds" "$secs" "$modes" |
	tee out/bench/raw.log | grep -v '^ROW '

echo
echo "host: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); VM: $(cat out/bench/accel)"
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
    elif mode == "paired":
        out.append(ratio_line("dmp/linear", [r["dmp"] / r["linear"] for r in rounds.values()]))
    else:
        out.append(ratio_line("linear2/linear", [r["linear2"] / r["linear"] for r in rounds.values()]))
    print(f"{mode:12} {rw + ' ' + bs:15} {meds:40} {'; '.join(out)}")
PY

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The dmp demo: installs what is missing, builds the test kernel (cached) and
# dmp.ko, boots a VM, creates zero1 and dmp1 on it, writes and reads with dd,
# and prints the statistics.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/lib.sh

scripts/setup.sh
kdir=$(scripts/build-kernel.sh normal)
log "building dmp.ko"
make -s KDIR="$kdir" LLVM="$LLVM_SUFFIX"
scripts/vm.sh -k normal -t 600 -o out/demo -- sh scripts/guest/demo.sh

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A cpio archive with Debian's bpftrace and its shared libraries, to append to
# the guest's initramfs (scripts/vm.sh -x) where the eBPF benchmark runs
# (scripts/bench.sh on a kernel with BPF). Kept out of the base initramfs: its
# libraries (LLVM, clang) are about 200 MB. Cached in ~/.cache/dmp/initramfs/;
# prints its path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TOOLS=(/usr/bin/bpftrace)
PKGS=(bpftrace)
key=$( { dpkg-query -W "${PKGS[@]}"; cat "$0"; } | sha256sum | cut -c1-12)
out="$DMP_CACHE/initramfs/bpftrace-$key.cpio"
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi
log "building the guest's bpftrace archive"
root=$(mktemp -d)
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
copy_with_libs "$root" "${TOOLS[@]}"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
log "bpftrace archive ready: $out ($(du -h "$out" | cut -f1))"
echo "$out"

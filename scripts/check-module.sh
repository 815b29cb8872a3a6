#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that a built dmp.ko can load into the kernel it was built for, before
# anything uses it (`make` runs this after every build, so the test legs,
# scripts/debian-stock.sh and DKMS all do):
#   - exactly one .modinfo section (the kernel refuses a module with two:
#     "Only one .modinfo section must exist");
#   - it holds name=dmp, license=GPL, a version=, the alias dm-dmp (what
#     device-mapper asks modprobe for when a table names `dmp`) and a
#     vermagic= that starts with the tree's kernel release.
#
#   check-module.sh KO KDIR     one line on stderr and exit 1 on a problem
set -euo pipefail

ko=${1:?usage: check-module.sh KO KDIR}
kdir=${2:?usage: check-module.sh KO KDIR}
bad() { echo "dmp: $ko cannot load: $*" >&2; exit 1; }

[ -f "$ko" ] || bad "no such file"
n=$(readelf -SW "$ko" | grep -c ' \.modinfo ') || true
[ "$n" -eq 1 ] || bad "$n .modinfo sections (the kernel takes only one): $(readelf -SW "$ko" | grep ' \.modinfo ' | tr -s ' ' | tr '\n' ';')"
# The strings of that one section, as the kernel reads them.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
objcopy -O binary --only-section=.modinfo "$ko" "$tmp" || bad "objcopy cannot read its .modinfo"
info=$(tr '\0' '\n' <"$tmp")
field() { printf '%s\n' "$info" | sed -n "s/^$1=//p" | head -1; }
[ "$(field name)" = dmp ] || bad "no name=dmp in .modinfo"
[ "$(field license)" = GPL ] || bad "no license=GPL in .modinfo"
[ -n "$(field version)" ] || bad "no version= in .modinfo"
printf '%s\n' "$info" | grep -qx 'alias=dm-dmp' ||
	bad "no alias=dm-dmp in .modinfo (device-mapper could not load it on demand)"
rel=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) || rel=$(make -s -C "$kdir" kernelrelease 2>/dev/null) || true
[ -n "$rel" ] || bad "cannot read the kernel release of $kdir"
vm=$(field vermagic)
[[ $vm == "$rel "* ]] || bad "vermagic '$vm' is not the kernel's ($rel)"

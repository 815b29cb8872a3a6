#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kdir-overlay.sh KDIR LIBRUST OUT
#
# Assemble in OUT a kernel build tree made of KDIR (a distribution's headers
# tree: Debian's /usr/src/linux-headers-RELEASE, which lacks the kernel's Rust
# metadata) and LIBRUST (that metadata for the same kernel: rust/*.rmeta,
# rust/*.so, rust/bindgen_parameters, scripts/target.json, and optionally
# device-mapper's private drivers/md/ headers; what the dmp-linux-librust-RELEASE
# package installs under /usr/lib/dmp/linux-librust/RELEASE/).
#
# OUT holds only symbolic links to both (and a two-line Makefile): nothing is
# written into KDIR or LIBRUST, which belong to other packages. `make -C OUT
# M=...` then builds as against a tree that has everything: objtree is OUT,
# srctree stays the headers' (the stub Makefile of KDIR names it).
#
# One line on stderr and exit 1 when KDIR or LIBRUST is not what it must be.
set -eu

kdir=${1:?usage: kdir-overlay.sh KDIR LIBRUST OUT}
librust=${2:?usage: kdir-overlay.sh KDIR LIBRUST OUT}
out=${3:?usage: kdir-overlay.sh KDIR LIBRUST OUT}
no() { echo "dmp: cannot assemble a build tree from $kdir and $librust: $*" >&2; exit 1; }

[ -d "$kdir" ] || no "no such directory $kdir"
[ -f "$librust/rust/libkernel.rmeta" ] || no "$librust has no rust/libkernel.rmeta"
kdir=$(cd "$kdir" && pwd -P)
librust=$(cd "$librust" && pwd -P)
rel=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) || no "no include/config/kernel.release in $kdir"
# The metadata must be the same kernel's (its release file, when it has one).
if [ -f "$librust/kernel.release" ] && [ "$(cat "$librust/kernel.release")" != "$rel" ]; then
	no "the Rust metadata is of $(cat "$librust/kernel.release"), the tree of $rel"
fi
# A headers tree's Makefile is a stub naming its output directory and the
# common headers' Makefile; a full kernel tree carries its Rust metadata itself.
[ "$(wc -l <"$kdir/Makefile")" -le 10 ] ||
	no "$kdir/Makefile is a kernel's own Makefile, not a headers tree's stub: build the Rust metadata in that tree (make rust/)"

# link_merge DST SRC...: DST gets a symbolic link for each entry of the SRCs
# (a later SRC wins); an entry that is a directory in two SRCs becomes a
# directory of DST, merged the same way.
link_merge() {
	dst=$1
	shift
	mkdir -p "$dst"
	for src; do
		for e in "$src"/* "$src"/.[!.]*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			name=${e##*/}
			if [ -d "$dst/$name" ] && [ ! -L "$dst/$name" ] && [ -d "$e" ]; then
				link_merge "$dst/$name" "$e"
			elif [ -L "$dst/$name" ] && [ -d "$dst/$name" ] && [ -d "$e" ]; then
				prev=$(readlink -f "$dst/$name")
				rm "$dst/$name"
				link_merge "$dst/$name" "$prev" "$e"
			else
				rm -f "$dst/$name"
				ln -s "$e" "$dst/$name"
			fi
		done
	done
}

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
link_merge "$out" "$kdir" "$librust"
# The stub Makefile, naming OUT as the output directory (kbuild's objtree).
rm -f "$out/Makefile"
sed "s|$kdir|$out|g" "$kdir/Makefile" >"$out/Makefile"
# Files of LIBRUST that are not part of a kernel tree.
rm -f "$out/kernel.release" "$out/tree-info"
[ -f "$out/rust/bindgen_parameters" ] || no "$librust has no rust/bindgen_parameters"
# x86's Rust target is described by a file (scripts/target.json) up to 7.x.
if grep -q '^CONFIG_X86_64=y' "$out/.config" 2>/dev/null && [ ! -e "$out/scripts/target.json" ]; then
	no "$librust has no scripts/target.json"
fi
echo "$out"

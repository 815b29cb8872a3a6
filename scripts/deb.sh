#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build dmp's Debian packages (`make deb`) with Debian's own tooling
# (dpkg-buildpackage, debhelper, dh-dkms):
#
#   dmp-dkms_VERSION_all.deb        the module's source and dkms.conf
#   dmp-tools_VERSION_ARCH.deb      dmpstat, dmpctl, man pages, completions,
#                                   systemd units, /etc/dmp/attach.conf,
#                                   Prometheus rules
#   dmp-linux-librust-RELEASE_KVERSION+dmpN_ARCH.deb
#                                   the Rust metadata Debian's headers of the
#                                   kernel RELEASE lack, one package per kernel
#
#   deb.sh [--out DIR] [--kernel VARIANT]... [--no-librust] [--lintian]
#
#   --out DIR         where the .debs go (default: out/deb)
#   --kernel VARIANT  a Debian kernel to package the Rust metadata of, as the
#                     test legs name them: debian:SUITE:FLAVOUR (e.g.
#                     debian:trixie-backports:rt-amd64); repeatable, or
#                     $DMP_DEB_KERNELS (blank-separated). Default: the kernel
#                     scripts/debian-stock.sh picks (the running one on a
#                     Debian system running a Rust-enabled Debian kernel, else
#                     the newest -amd64 of trixie-backports)
#   --no-librust      only dmp-dkms and dmp-tools
#   --lintian         run lintian on every .deb built: its output, then one
#                     line; exit 1 if it reports an error
#
# The Rust metadata comes from the kernel's tree that scripts/debian-stock.sh
# regenerates and caches (its modules_prepare is not run again): as root, the
# first time for a kernel takes minutes. A metadata package is built once per
# tree and packaging and kept in $DMP_CACHE/deb/librust/ (xz of 180 MB takes
# minutes). Prints the paths of the .debs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUT=$DMP_ROOT/out/deb
KERNELS=()
LIBRUST=1
LINTIAN=
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=${2:?--out needs a directory} && shift 2 ;;
	--kernel) KERNELS+=("${2:?--kernel needs debian:SUITE:FLAVOUR}") && shift 2 ;;
	--no-librust) LIBRUST= && shift ;;
	--lintian) LINTIAN=1 && shift ;;
	*) die "usage: deb.sh [--out DIR] [--kernel debian:SUITE:FLAVOUR]... [--no-librust] [--lintian]" ;;
	esac
done
[ ${#KERNELS[@]} -gt 0 ] || read -ra KERNELS <<<"${DMP_DEB_KERNELS:-}"
for t in dpkg-buildpackage dh dh_dkms; do
	command -v $t >/dev/null || die "$t is missing (scripts/setup.sh installs dpkg-dev, debhelper, dh-dkms)"
done
[ -z "$LINTIAN" ] || command -v lintian >/dev/null || die "lintian is missing (scripts/setup.sh installs it)"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=$OUT/build
mkdir -p "$BUILD"
debs=()

# dmp-dkms and dmp-tools: dpkg-buildpackage in a copy of the working tree's
# files (what git knows or would add), so that its outputs stay out of it.
build_dmp() {
	local src=$BUILD/dmp t0=$SECONDS v arch
	rm -rf "$src" "$BUILD"/dmp_* "$BUILD"/dmp-dkms_* "$BUILD"/dmp-tools_*
	mkdir -p "$src"
	git -C "$DMP_ROOT" ls-files -z --cached --others --exclude-standard |
		(cd "$DMP_ROOT" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$DMP_ROOT" --null -T - -cf - | tar -C "$src" -xf -
	log "building dmp-dkms and dmp-tools (dpkg-buildpackage; log: $BUILD/dmp.log)"
	(cd "$src" && nice -n 10 dpkg-buildpackage -b -us -uc) >"$BUILD/dmp.log" 2>&1 ||
		{ tail -30 "$BUILD/dmp.log" >&2; die "dpkg-buildpackage of dmp failed (log: $BUILD/dmp.log)"; }
	v=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
	arch=$(dpkg-architecture -qDEB_HOST_ARCH)
	rm -f "$OUT"/dmp-dkms_*.deb "$OUT"/dmp-tools_*.deb
	mv "$BUILD/dmp-dkms_${v}_all.deb" "$BUILD/dmp-tools_${v}_$arch.deb" "$OUT/"
	debs+=("$OUT/dmp-dkms_${v}_all.deb" "$OUT/dmp-tools_${v}_$arch.deb")
	rm -rf "$src"
	log "dmp-dkms, dmp-tools: $((SECONDS - t0)) s"
}

# A field of the tree's record (scripts/debian-stock.sh writes tree-info).
info() { sed -n "s/^$1: //p" "$2"; }

# dmp-linux-librust-RELEASE, from the tree scripts/debian-stock.sh prepared.
build_librust() { # scripts/debian-stock.sh's OPTIONS...
	local tree w rel kver rtext rustc next arch srctree key src pkg v t0=$SECONDS f cached
	tree=$("$DMP_ROOT/scripts/debian-stock.sh" "$@" prepare) ||
		die "the stock tree of the kernel (scripts/debian-stock.sh $* prepare) is not ready"
	w=${tree%/root/usr/src/*}
	[ -f "$w/tree-info" ] && [ -f "$w/.tree-done" ] || die "$w: not a tree scripts/debian-stock.sh finished"
	rel=$(info release "$w/tree-info")
	kver=$(info 'package version' "$w/tree-info")
	rtext=$(info rustc "$w/tree-info")
	[ -n "$rel" ] && [ -n "$kver" ] && [ -n "$rtext" ] || die "$w/tree-info lacks the release, version or rustc"
	# "rustc 1.85.1 (4eb161250 2025-03-15) ...": 1.85.1, and the next patch
	# release, which the metadata does not fit.
	rustc=$(echo "$rtext" | awk '{print $2}')
	next=$(echo "$rustc" | awk -F. '{printf "%d.%d.%d", $1, $2, $3 + 1}')
	case $(grep -E '^CONFIG_(X86_64|ARM64)=y' "$tree/.config") in
	CONFIG_X86_64=y) arch=amd64 ;;
	CONFIG_ARM64=y) arch=arm64 ;;
	*) die "$rel: neither x86_64 nor arm64" ;;
	esac
	srctree=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$tree/Makefile")
	[ -f "$srctree/Makefile" ] || die "cannot find the common headers of $tree"
	pkg=dmp-linux-librust-$rel
	v=$kver+dmp1
	key=$( { cat "$w/tree-info"; find "$DMP_ROOT/packaging/librust" -type f | LC_ALL=C sort | xargs cat; sed -n '/^build_librust()/,/^}/p' "$0"; } | sha256sum | cut -c1-16)
	f=$OUT/${pkg}_${v#*:}_$arch.deb
	# Built once per tree and packaging: kept in the cache, for any clone.
	cached=$DMP_CACHE/deb/librust/$key/$(basename "$f")
	if [ -f "$cached" ]; then
		log "$pkg: cached ($cached)"
		rm -f "$OUT/${pkg}"_*.deb
		cp "$cached" "$f"
		debs+=("$f")
		return
	fi
	src=$BUILD/$pkg
	rm -rf "$src" "$BUILD/${pkg}"_*
	mkdir -p "$src/debian" "$src/payload/rust" "$src/payload/scripts" "$src/payload/drivers/md"
	cp -a "$DMP_ROOT"/packaging/librust/{rules,copyright,source} "$src/debian/"
	for t in control changelog postinst; do
		sed -e "s|@RELEASE@|$rel|g; s|@KVERSION@|$kver|g; s|@VERSION@|$v|g; s|@ARCH@|$arch|g" \
			-e "s|@RUSTC@|$rustc|g; s|@RUSTC_NEXT@|$next|g" \
			-e "s|@DATE@|$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$w/.tree-done")}")|g" \
			"$DMP_ROOT/packaging/librust/$t.in" >"$src/debian/$t"
	done
	# The payload, hard-linked from the cache (the build copies it once).
	cp -al "$tree"/rust/*.rmeta "$tree"/rust/*.so "$src/payload/rust/"
	cp -a "$tree/rust/bindgen_parameters" "$src/payload/rust/"
	cp -a "$tree/scripts/target.json" "$src/payload/scripts/"
	cp -a "$srctree"/drivers/md/{dm-core.h,dm.h,dm-ima.h,dm-stats.h,dm.c} "$src/payload/drivers/md/"
	echo "$rel" >"$src/payload/kernel.release"
	cp "$w/tree-info" "$src/payload/tree-info"
	log "building $pkg $v (dpkg-buildpackage; log: $BUILD/$pkg.log)"
	(cd "$src" && nice -n 10 dpkg-buildpackage -b -us -uc) >"$BUILD/$pkg.log" 2>&1 ||
		{ tail -30 "$BUILD/$pkg.log" >&2; die "dpkg-buildpackage of $pkg failed (log: $BUILD/$pkg.log)"; }
	rm -f "$OUT/${pkg}"_*.deb
	mkdir -p "$(dirname "$cached")"
	mv "$BUILD/$(basename "$f")" "$cached"
	cp "$cached" "$f"
	rm -rf "$src" "$BUILD/${pkg}"_*
	debs+=("$f")
	log "$pkg: $((SECONDS - t0)) s"
}

build_dmp
if [ -n "$LIBRUST" ]; then
	# Without --kernel: debian-stock.sh's own default kernel.
	[ ${#KERNELS[@]} -gt 0 ] || build_librust
	for k in "${KERNELS[@]}"; do
		is_stock "$k" || die "--kernel $k: a Debian kernel is debian:SUITE:FLAVOUR"
		# shellcheck disable=SC2046 # the options are words
		build_librust $(stock_args "$k")
	done
fi

for f in "${debs[@]}"; do
	printf '%s %s\n' "$(du -k "$f" | cut -f1)" "$f" >&2
done
if [ -n "$LINTIAN" ]; then
	log "lintian ${debs[*]##*/}"
	out=$(lintian --tag-display-limit 0 "${debs[@]}" 2>&1 | grep -v '^running with root privileges') || true
	[ -z "$out" ] || echo "$out" >&2
	e=$(printf '%s\n' "$out" | grep -c '^E: ' || true)
	w=$(printf '%s\n' "$out" | grep -c '^W: ' || true)
	log "lintian: $e error(s), $w warning(s)"
	[ "$e" -eq 0 ] || exit 1
fi
printf '%s\n' "${debs[@]}"

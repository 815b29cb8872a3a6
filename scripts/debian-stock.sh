#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build dmp for a Debian kernel as shipped (any release and flavour whose
# kernel has CONFIG_RUST=y: Debian 13's backports, Debian 14, sid,
# experimental), and prepare that kernel, as shipped, for a VM.
#
#   debian-stock.sh [OPTIONS] [prepare]    make the build tree (cached); print its path
#   debian-stock.sh [OPTIONS] build [OUT]  build dmp.ko from the working tree against
#                                          it; copy it to OUT (default: <repo>/dmp.ko)
#   debian-stock.sh [OPTIONS] guest        print a directory with Debian's vmlinuz and
#                                          lib/modules/RELEASE/ (the modules the tests
#                                          use, with their dependencies, modules.dep)
#   debian-stock.sh [OPTIONS] release      print the kernel release (e.g. 7.3.4+deb13-amd64)
#   debian-stock.sh [OPTIONS] env CMD...   run CMD in the kernel's build environment
#
#   --suite SUITE      the suite to take the kernel from (trixie-backports, forky,
#                      sid, experimental, ...; or $DMP_DEBIAN_SUITE)
#   --flavour FLAVOUR  amd64, cloud-amd64, rt-amd64, ... ($DMP_DEBIAN_FLAVOUR;
#                      default amd64): the newest such kernel of the suite
#   --release RELEASE  that kernel exactly, e.g. 7.2.13+deb14-amd64 ($DMP_DEBIAN_RELEASE)
#
# Without options, on a Debian system running a Rust-enabled Debian kernel:
# that kernel, from the suite apt installed it from. Otherwise the newest
# amd64 kernel of trixie-backports.
#
# Debian's linux-headers lack the kernel's Rust metadata (rust/*.rmeta, the
# proc-macro crates, bindgen_parameters, scripts/target.json). This script
# regenerates it from the same kernel's linux-source with the headers' .config
# and Module.symvers and the kernel's own toolchain: the rustc, bindgen and gcc
# its config names (CONFIG_RUSTC_VERSION_TEXT, CONFIG_BINDGEN_VERSION_TEXT,
# CONFIG_CC_VERSION_TEXT), at those versions, from the suites of the kernel's
# release; and adds it to a copy of the headers in the cache. Modules built
# against that copy carry the stock vermagic and import the stock kernel's
# Rust symbols.
#
# The build environment is the kernel's own release (scripts/debian-chroot.sh):
# the host when it is a system of that release, else a cached chroot of it.
# Nothing is written outside $DMP_CACHE (and OUT): never to /usr/src or
# /lib/modules.
#
# Cache (keyed by kernel release and package version, so a new upload redoes it):
#   $DMP_CACHE/debian/BASE-chroot/            the build environment of a release
#   $DMP_CACHE/debian/stock/KEY/root/          Debian's headers + kbuild, unpacked;
#       usr/src/linux-headers-RELEASE/         the build tree (KDIR), with rust/
#   $DMP_CACHE/debian/stock/KEY/src/linux-source-X.Y/   source after modules_prepare
#   $DMP_CACHE/debian/stock/KEY/guest-HASH/    vmlinuz, lib/modules/RELEASE/ (HASH: of the module list)
#   $DMP_CACHE/debian/stock/KEY/build/         the last dmp build
#   $DMP_CACHE/debian/stock/KEY/canary/        the tree's self-test module
#   $DMP_CACHE/debian/times.log                wall times of the slow steps
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=${DMP_DEBIAN_SUITE:-}
FLAVOUR=${DMP_DEBIAN_FLAVOUR:-}
RELEASE=${DMP_DEBIAN_RELEASE:-}
while [ $# -gt 0 ]; do
	case $1 in
	--suite) SUITE=${2:?--suite needs a suite} && shift 2 ;;
	--flavour) FLAVOUR=${2:?--flavour needs a flavour} && shift 2 ;;
	--release) RELEASE=${2:?--release needs a kernel release} && shift 2 ;;
	*) break ;;
	esac
done

# Modules the guest tests load; their dependencies are added by modprobe.
# The dm targets of a real system that dmpctl attaches to (thin, cache, RAID1,
# LUKS, a legacy LVM mirror) or refuses (verity, multipath), dm-snapshot for LVM's `lvcreate -s`
# (it checks for that target even for a thin snapshot); xts and algif_skcipher for LUKS2's
# aes-xts-plain64 (the AES cipher itself is built in) and cryptsetup's
# keyslots through the kernel's crypto API.
GUEST_MODULES=(dm-mod dm-zero dm-flakey dm-delay dm-log-writes loop null_blk configfs ext4
	scsi_debug sd_mod dm-thin-pool dm-cache dm-cache-smq dm-raid raid1 dm-crypt dm-verity
	dm-multipath dm-round-robin dm-snapshot dm-mirror xts algif_skcipher ${DMP_GUEST_MODULES:-})

STOCK=$DMP_CACHE/debian/stock
CHROOT_SH=$DMP_ROOT/scripts/debian-chroot.sh
PKG_SH=$DMP_ROOT/scripts/debian-pkg.sh

# Run a command in the kernel's build environment (chroot or host).
in_env() { "$CHROOT_SH" --suite "$SUITE" run "$@"; }
timed() { # NAME SECONDS
	log "$1: $2 s"
	echo "$(date -u +%FT%TZ) $1 $2 s" >>"$DMP_CACHE/debian/times.log"
}
rust_kernel() { grep -qx 'CONFIG_RUST=y' "/boot/config-$1" 2>/dev/null ||
	grep -qx 'CONFIG_RUST=y' "/lib/modules/$1/config" 2>/dev/null; }

# The suite apt installed an installed package from (its "***" version's
# first archive line).
installed_suite() {
	apt-cache policy "$1" 2>/dev/null | awk '
		/^ \*\*\* / { mine = 1; next }
		/^ [^ ]/ { mine = 0 }
		mine && $2 ~ /^(https?|file|ftp):/ { sub(/\/.*/, "", $3); print $3; exit }'
}

# The kernel to build for, and the suite it comes from: --release / --flavour
# / --suite; else the running kernel on a Debian system that runs a
# Rust-enabled Debian kernel; else the newest amd64 kernel of trixie-backports.
pick_release() {
	local pkg re r
	if [ -z "$RELEASE$FLAVOUR$SUITE" ] && [ -f /etc/debian_version ] && rust_kernel "$(uname -r)" &&
		dpkg-query -W "linux-image-$(uname -r)" >/dev/null 2>&1; then
		RELEASE=$(uname -r)
		SUITE=$(installed_suite "linux-image-$RELEASE")
		[ -n "$SUITE" ] || die "linux-image-$RELEASE: apt knows no suite it came from (give --suite)"
		return
	fi
	SUITE=${SUITE:-trixie-backports}
	if [ -n "$RELEASE" ]; then
		rust_kernel "$RELEASE" || [ ! -e "/boot/config-$RELEASE" ] ||
			die "$RELEASE is not built with CONFIG_RUST=y (/boot/config-$RELEASE): nothing to build dmp against"
		return
	fi
	FLAVOUR=${FLAVOUR:-amd64}
	pkg=$("$PKG_SH" "$SUITE" --latest "$(image_re "$FLAVOUR")") || die "cannot read the package index of $SUITE"
	[ -n "$pkg" ] || die "no package linux-image-*-$FLAVOUR in $SUITE (gone or renamed?)"
	RELEASE=${pkg#linux-image-}
}

# Download (cached) PKG of $SUITE; print the .deb's path.
deb() { "$PKG_SH" "$SUITE" "$1" | tail -1; }
deb_field() { dpkg-deb -f "$1" "$2"; }

setup_vars() {
	mkdir -p "$STOCK"
	pick_release
	IMAGE_DEB=$(deb "linux-image-$RELEASE") || die "linux-image-$RELEASE is not in $SUITE"
	VERSION=$(deb_field "$IMAGE_DEB" Version)
	KEY=$RELEASE-$(echo "$VERSION" | tr '~:' '__')
	W=$STOCK/$KEY
	ROOT=$W/root
	TREE=$ROOT/usr/src/linux-headers-$RELEASE
	mkdir -p "$W"
}

# The Debian packages, as downloaded .debs, all at the image's version.
fetch_tree_debs() {
	local hdr dep common kbuild src_pkg conf p
	HDR_DEB=$(deb "linux-headers-$RELEASE") || die "linux-headers-$RELEASE is not in $SUITE"
	# (The whole config is read first: `grep -q` ending the pipe early would
	# fail it under pipefail.)
	conf=$(dpkg-deb --fsys-tarfile "$HDR_DEB" | tar -xO --wildcards '*/.config' 2>/dev/null) || true
	grep -qx 'CONFIG_RUST=y' <<<"$conf" ||
		die "$RELEASE is not built with CONFIG_RUST=y: nothing to build dmp against"
	dep=$(deb_field "$HDR_DEB" Depends)
	common=$(echo "$dep" | grep -o 'linux-headers-[^ ,]*-common' | head -1)
	kbuild=$(echo "$dep" | grep -o 'linux-kbuild-[^ ,]*' | head -1)
	[ -n "$common" ] && [ -n "$kbuild" ] || die "linux-headers-$RELEASE: unexpected Depends: $dep"
	COMMON_DEB=$(deb "$common")
	KBUILD_DEB=$(deb "$kbuild")
	# The source the kernel was built from: the linux-source-* package of the
	# suite at the image's version (the same upload of the same source).
	src_pkg=
	for p in $("$PKG_SH" "$SUITE" --all 'linux-source-[0-9.]+'); do
		[ "$("$PKG_SH" "$SUITE" --version "$p")" = "$VERSION" ] && src_pkg=$p
	done
	[ -n "$src_pkg" ] || die "no linux-source-* package at $VERSION in $SUITE (the source of $RELEASE: gone or renamed?)"
	SRC_DEB=$(deb "$src_pkg")
	for hdr in "$HDR_DEB" "$COMMON_DEB" "$KBUILD_DEB" "$SRC_DEB"; do
		[ "$(deb_field "$hdr" Version)" = "$VERSION" ] ||
			die "$(deb_field "$hdr" Package) is at $(deb_field "$hdr" Version), the kernel at $VERSION: the suite is mid-update, try later"
	done
}

# 1. Debian's headers, common headers and kbuild, unpacked side by side (their
# relative symlinks stay valid), the Makefile pointed at this copy.
unpack_headers() {
	local f
	[ -f "$W/.headers-done" ] && return 0
	log "unpacking Debian's headers of $RELEASE"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	for f in "$HDR_DEB" "$COMMON_DEB" "$KBUILD_DEB"; do dpkg-deb -x "$f" "$ROOT"; done
	[ -f "$TREE/.config" ] && [ -f "$TREE/Module.symvers" ] || die "linux-headers-$RELEASE has no .config or Module.symvers"
	grep -qx 'CONFIG_RUST=y' "$TREE/.config" || die "$RELEASE is not built with CONFIG_RUST=y: nothing to build dmp against"
	# The Makefile names /usr/src/...: name the cache's copy instead.
	sed -i "s|/usr/src/|$ROOT/usr/src/|g" "$TREE/Makefile"
	grep -q "$ROOT/usr/src/" "$TREE/Makefile" || die "unexpected $TREE/Makefile: $(tr '\n' ' ' <"$TREE/Makefile")"
	touch "$W/.headers-done"
}

cfg() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$2"; }

# The upstream part of a Debian version: 1:1.85.1+dfsg1-1~bpo13+1 -> 1.85.1.
upstream() { sed -E 's/^[0-9]+://; s/[-+~].*//'; }
# The newest version of PKG in the environment's suites whose upstream
# version is WANT (or, for a Debian revision like 16.2.0-4, that one if it is
# there, else the newest of its upstream version).
pick_version() { # PKG WANT
	local all v
	all=$("$CHROOT_SH" --suite "$SUITE" versions "$1") || die "cannot read the versions of $1 in the $SUITE environment"
	if [[ $2 == *-* ]] && printf '%s\n' "$all" | grep -qxF "$2"; then
		echo "$2"
		return
	fi
	for v in $all; do
		[ "$(echo "$v" | upstream)" = "$(echo "$2" | upstream)" ] && { echo "$v"; return; }
	done
	return 1
}

# The kernel's own toolchain, read from its config, installed at those
# versions in the build environment: refused with one line if a suite of the
# kernel's release does not have it.
ensure_toolchain() {
	local conf=$TREE/.config rtext btext ctext rv bv cc cpkg cdeb cv pkgs have v
	rtext=$(cfg CONFIG_RUSTC_VERSION_TEXT "$conf")
	btext=$(cfg CONFIG_BINDGEN_VERSION_TEXT "$conf")
	ctext=$(cfg CONFIG_CC_VERSION_TEXT "$conf")
	[ -n "$rtext" ] && [ -n "$btext" ] && [ -n "$ctext" ] ||
		die "$RELEASE: its config names no rustc, bindgen or C compiler (CONFIG_*_VERSION_TEXT)"
	grep -qx 'CONFIG_CC_IS_GCC=y' "$conf" || die "$RELEASE was not built with GCC ('$ctext'): only GCC-built Debian kernels are handled here"
	# "rustc 1.85.1 (4eb161250 2025-03-15) ...", "bindgen 0.71.1",
	# "x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0".
	rv=$(echo "$rtext" | awk '{print $2}')
	bv=$(echo "$btext" | awk '{print $2}')
	cc=$(echo "$ctext" | awk '{print $1}')
	cpkg=gcc-${cc##*-gcc-}
	[[ $cc == *-gcc-* ]] || cpkg=gcc
	cdeb=$(echo "$ctext" | sed -n 's/.*(Debian \([^)]*\)).*/\1/p')
	cv=$(echo "$ctext" | awk '{print $NF}')
	v=$(pick_version rustc "$rv") ||
		die "$RELEASE was built with rustc $rv; the suites of its release ($SUITE) have no rustc $rv"
	pkgs=("rustc=$v" "rust-src=$v")
	# bindgen formats its output with rustfmt when there is one.
	"$CHROOT_SH" --suite "$SUITE" versions rustfmt | grep -qxF "$v" && pkgs+=("rustfmt=$v")
	v=$(pick_version bindgen "$bv") ||
		die "$RELEASE was built with bindgen $bv; the suites of its release ($SUITE) have no bindgen $bv"
	pkgs+=("bindgen=$v")
	v=$(pick_version "$cpkg" "${cdeb:-$cv}") ||
		die "$RELEASE was built with $cc $cv; the suites of its release ($SUITE) have no $cpkg $cv"
	pkgs+=("$cpkg=$v")
	log "the kernel's toolchain: ${pkgs[*]}"
	"$CHROOT_SH" --suite "$SUITE" ensure "${pkgs[@]}"
	have=$(in_env rustc --version)
	[ "$have" = "$rtext" ] || die "the kernel was built with '$rtext', the environment's rustc is '$have': the Rust metadata would not match"
	have=$(in_env bindgen --version 2>/dev/null | head -1)
	[ "$have" = "$btext" ] || die "the kernel was built with '$btext', the environment's is '$have'"
	have=$(in_env "$cc" --version | head -1)
	[ "$have" = "$ctext" ] || log "note: the kernel was built with '$ctext', using '$have'"
}

# 2. The Rust metadata, regenerated from the kernel's source with its config.
regenerate_rust() {
	local src srcdir want have cc t0
	srcdir=$W/src
	[ -f "$W/.modules-prepare-done" ] && return 0
	# The kernel's own toolchain (ensure_toolchain, run by prepare).
	cc=$(cfg CONFIG_CC_VERSION_TEXT "$TREE/.config" | cut -d' ' -f1)

	log "unpacking $(deb_field "$SRC_DEB" Package) $VERSION"
	t0=$SECONDS
	rm -rf "$srcdir"
	mkdir -p "$srcdir/deb"
	dpkg-deb -x "$SRC_DEB" "$srcdir/deb"
	src=$(ls "$srcdir"/deb/usr/src/linux-source-*.tar.* 2>/dev/null | head -1)
	[ -n "$src" ] || die "no source tarball in $(basename "$SRC_DEB")"
	tar -xf "$src" -C "$srcdir"
	rm -rf "$srcdir/deb"
	src=$(ls -d "$srcdir"/linux-source-* | head -1)
	cp "$TREE/.config" "$TREE/Module.symvers" "$src/"
	timed "unpack linux-source" $((SECONDS - t0))

	log "regenerating the Rust metadata: make olddefconfig modules_prepare (about 5 min on 2 cores; log: $W/modules_prepare.log)"
	t0=$SECONDS
	in_env nice -n 10 make -C "$src" -j"$JOBS" ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- CC="$cc" \
		olddefconfig modules_prepare >"$W/modules_prepare.log" 2>&1 ||
		{ tail -20 "$W/modules_prepare.log" >&2; die "modules_prepare failed: see $W/modules_prepare.log"; }
	timed "modules_prepare" $((SECONDS - t0))
	# olddefconfig re-evaluates the toolchain; the Rust part must be unchanged.
	diff <(grep -E '^CONFIG_(RUST|RUSTC|BINDGEN)' "$TREE/.config") <(grep -E '^CONFIG_(RUST|RUSTC|BINDGEN)' "$src/.config") >&2 ||
		die "olddefconfig changed the kernel's Rust configuration (see above)"
	diff -q "$TREE/include/generated/rustc_cfg" "$src/include/generated/rustc_cfg" >/dev/null ||
		log "note: include/generated/rustc_cfg differs from the headers' one (kept Debian's)"
	ls "$src"/rust/libkernel.rmeta "$src"/rust/libmacros.so "$src"/scripts/target.json >/dev/null ||
		die "modules_prepare left no Rust metadata"
	touch "$W/.modules-prepare-done"
}

# 3. The build tree: the headers + the regenerated Rust metadata.
assemble_tree() {
	local src srctree
	src=$(ls -d "$W"/src/linux-source-* | head -1)
	# objtree: the headers dir; srctree: the common headers its Makefile includes.
	srctree=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$TREE/Makefile")
	[ -d "$srctree" ] || die "cannot find the srctree of $TREE"
	# Device-mapper's private header (and dm.c, which Kbuild checks it
	# against) from the same source: with them, dm.rs computes
	# dm_per_bio_data() inline instead of calling it (scripts/probe-dm-core.sh).
	if [ ! -f "$srctree/drivers/md/dm-core.h" ]; then
		mkdir -p "$srctree/drivers/md"
		cp -a "$src"/drivers/md/{dm-core.h,dm.h,dm-ima.h,dm-stats.h,dm.c} "$srctree/drivers/md/"
	fi
	[ -f "$W/.tree-done" ] && return 0
	rm -rf "$TREE/rust"
	mkdir -p "$TREE/rust" "$srctree/rust"
	cp -a "$src"/rust/*.rmeta "$src"/rust/*.so "$TREE/rust/"
	cp -a "$src/rust/bindgen_parameters" "$TREE/rust/"
	cp -a "$src/rust/bindgen_parameters" "$srctree/rust/"
	# $TREE/scripts is a symlink into the kbuild package's copy.
	cp -a "$src/scripts/target.json" "$TREE/scripts/target.json"
	{
		echo "release: $RELEASE"
		echo "package version: $VERSION"
		echo "rustc: $(in_env rustc --version)"
		echo "bindgen: $(in_env bindgen --version 2>/dev/null | head -1)"
		echo "rust metadata: $(cd "$TREE/rust" && ls | tr '\n' ' ')"
	} >"$W/tree-info"
	canary
	touch "$W/.tree-done"
}

# A tiny Rust module built against the tree: modpost fails if any Rust symbol
# it imports is missing from the stock Module.symvers (crate hash mismatch),
# and its vermagic must be the stock kernel's.
canary() {
	local c=$W/canary vm
	rm -rf "$c"
	mkdir -p "$c"
	echo 'obj-m := dmp_canary.o' >"$c/Kbuild"
	cat >"$c/dmp_canary.rs" <<-'EOF'
		// SPDX-License-Identifier: GPL-2.0
		//! Self-test of a Debian stock build tree (scripts/debian-stock.sh).
		use kernel::prelude::*;

		module! {
		    type: DmpCanary,
		    name: "dmp_canary",
		    authors: ["dmp"],
		    description: "dmp: self-test of the Debian stock build tree",
		    license: "GPL",
		}

		struct DmpCanary(KVec<u32>);

		impl kernel::Module for DmpCanary {
		    fn init(_module: &'static ThisModule) -> Result<Self> {
		        let mut v = KVec::new();
		        v.push(42, GFP_KERNEL)?;
		        pr_info!("loaded ({} element)\n", v.len());
		        Ok(DmpCanary(v))
		    }
		}

		impl Drop for DmpCanary {
		    fn drop(&mut self) {
		        pr_info!("unloaded ({} element)\n", self.0.len());
		    }
		}
	EOF
	in_env nice -n 10 make -C "$TREE" M="$c" -j"$JOBS" modules >"$c/build.log" 2>&1 ||
		{ tail -20 "$c/build.log" >&2; die "the self-test module does not build against $TREE (log: $c/build.log)"; }
	vm=$(modinfo -F vermagic "$c/dmp_canary.ko")
	case $vm in
	"$RELEASE "*) ;;
	*) die "the self-test module has vermagic '$vm', not the stock kernel's $RELEASE" ;;
	esac
	log "build tree ok: vermagic '$vm'"
}

prepare() {
	setup_vars
	exec 9>"$W/.lock"
	flock 9
	if [ ! -f "$W/.tree-done" ]; then
		fetch_tree_debs
		unpack_headers
	fi
	# Also on a cached tree: the environment may be shared with a kernel that
	# wanted other versions.
	ensure_toolchain
	[ -f "$W/.tree-done" ] || regenerate_rust
	assemble_tree
}

build() {
	local out=${1:-$DMP_ROOT/dmp.ko} b t0 vm
	prepare
	b=$W/build
	log "building dmp.ko against $TREE"
	t0=$SECONDS
	rm -rf "$b"
	mkdir -p "$b"
	# The working tree's files that git knows or would add (not build outputs).
	git -C "$DMP_ROOT" ls-files -z --cached --others --exclude-standard |
		(cd "$DMP_ROOT" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$DMP_ROOT" --null -T - -cf - | tar -C "$b" -xf -
	# kbuild's output goes to stderr (stdout is only the module's path), so
	# that a caller sees the compiler's warnings.
	in_env nice -n 10 make -C "$b" KDIR="$TREE" -j"$JOBS" 2>&1 | tee "$b/build.log" >&2 ||
		die "building dmp.ko for $RELEASE failed (log: $b/build.log)"
	vm=$(modinfo -F vermagic "$b/dmp.ko")
	[[ $vm == "$RELEASE "* ]] || die "dmp.ko has vermagic '$vm', not $RELEASE"
	timed "dmp build" $((SECONDS - t0))
	cp "$b/dmp.ko" "$out"
	echo "$out"
}

# 4. Debian's kernel as shipped, for a VM: vmlinuz and the modules the tests
# use with their dependencies (resolved by modprobe), decompressed.
guest() {
	local g full f m rel line n=0
	setup_vars
	# One directory per list of modules: trees (branches) with different
	# lists sharing the cache never rebuild each other's under a VM.
	g=$W/guest-$(echo "${GUEST_MODULES[*]}" | sha256sum | cut -c1-8)
	if [ ! -f "$g/.done" ] || [ "$(cat "$g/.done")" != "${GUEST_MODULES[*]}" ]; then
		exec 9>"$W/.lock"
		flock 9
		log "preparing Debian's $RELEASE for a VM"
		full=$g-full
		rm -rf "$g" "$full"
		mkdir -p "$full" "$g/lib/modules/$RELEASE"
		for f in "linux-binary-$RELEASE" "linux-modules-$RELEASE" "linux-base-$RELEASE"; do
			dpkg-deb -x "$(deb "$f")" "$full" || die "cannot unpack $f"
		done
		[ -d "$full/lib" ] || ln -s usr/lib "$full/lib"
		cp "$full/lib/modules/$RELEASE/vmlinuz" "$g/vmlinuz"
		depmod -b "$full" "$RELEASE" || die "depmod failed on Debian's $RELEASE modules"
		for m in "${GUEST_MODULES[@]}"; do
			modprobe -d "$full" -S "$RELEASE" --show-depends "$m" >"$W/deps.tmp" 2>&1 ||
				die "no module $m in Debian's $RELEASE: $(head -1 "$W/deps.tmp")"
			while read -r line; do
				case $line in
				insmod\ *)
					f=${line#insmod }
					f=${f%% *}
					rel=${f#"$full"/lib/modules/"$RELEASE"/}
					[ -f "$g/lib/modules/$RELEASE/${rel%.xz}" ] && continue
					mkdir -p "$(dirname "$g/lib/modules/$RELEASE/$rel")"
					case $f in
					*.xz) xz -dc "$f" >"$g/lib/modules/$RELEASE/${rel%.xz}" ;;
					*.zst) zstd -qdc "$f" >"$g/lib/modules/$RELEASE/${rel%.zst}" ;;
					*) cp "$f" "$g/lib/modules/$RELEASE/$rel" ;;
					esac
					n=$((n + 1))
					;;
				esac
			done <"$W/deps.tmp"
		done
		rm -f "$W/deps.tmp"
		for f in modules.builtin modules.builtin.modinfo modules.order config; do
			[ -f "$full/lib/modules/$RELEASE/$f" ] && cp "$full/lib/modules/$RELEASE/$f" "$g/lib/modules/$RELEASE/"
		done
		depmod -b "$g" "$RELEASE" || die "depmod failed on the guest's modules"
		rm -rf "$full"
		echo "$RELEASE" >"$g/release"
		log "guest: vmlinuz and $n modules in $g"
		echo "${GUEST_MODULES[*]}" >"$g/.done"
	fi
	echo "$g"
}

cmd=${1:-prepare}
shift || true
case $cmd in
prepare | tree)
	prepare
	echo "$TREE"
	;;
build) build "$@" ;;
guest) guest ;;
release)
	setup_vars
	echo "$RELEASE"
	;;
env)
	[ $# -gt 0 ] || die "usage: debian-stock.sh env CMD..."
	prepare >/dev/null
	in_env "$@"
	;;
*) die "usage: debian-stock.sh [--suite S] [--flavour F] [--release R] [prepare|build [OUT]|guest|release|env CMD...]" ;;
esac

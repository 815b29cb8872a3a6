# SPDX-License-Identifier: GPL-2.0
# Shared settings for dmp's scripts. Source it; do not run it.

DMP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DMP_CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmp}
LLVM_SUFFIX=${LLVM_SUFFIX:--19}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
JOBS=${JOBS:-$(nproc)}
# The Rust crates' build outputs (dmpstat, dmpctl, the host tests) in the
# cache, shared by every checkout: a fresh clone does not rebuild their
# dependencies.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$DMP_CACHE/cargo-target}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# The test kernels (DMP_TEST_KERNELS, vm.sh -k):
#   normal, debug         built with clang from Debian 12's linux-source-6.12
#   newest                built with clang from the newest linux-source-X.Y the
#                         suites in $DMP_SOURCE_SUITES offer (today 7.3.4, from
#                         trixie-backports), downloaded through this machine's
#                         mirror by scripts/debian-pkg.sh
#   debian:SUITE:FLAVOUR  the newest Debian kernel of that flavour in SUITE, as
#                         shipped (GCC-built; scripts/debian-stock.sh), e.g.
#                         debian:sid:amd64, debian:trixie-backports:rt-amd64;
#                         `debian` is debian:trixie-backports:amd64
DMP_SOURCE_SUITES=${DMP_SOURCE_SUITES:-trixie-backports sid experimental}

is_stock() { [[ $1 == debian || $1 == debian:* ]]; }
# The options of scripts/debian-stock.sh for a stock variant.
stock_args() {
	local v=$1 s f
	[ "$v" = debian ] && v=debian:trixie-backports:amd64
	IFS=: read -r _ s f <<<"$v"
	[ -n "$s" ] || die "'$1': a stock kernel is debian:SUITE[:FLAVOUR]"
	echo "--suite $s --flavour ${f:-amd64}"
}
# The image packages of a flavour: linux-image-<version>[+debNN[.M]]-<flavour>
# (7.3.4+deb13-amd64, 6.12.115+deb13.1-amd64, experimental's 7.3-amd64), not
# their -dbg and -unsigned companions.
image_re() { echo "linux-image-[0-9]+(\.[0-9]+)+(\+deb[0-9]+(\.[0-9]+)*)?-$1"; }
# A variant's name as a file name.
variant_slug() { echo "${1//:/-}"; }

# The newest linux-source-X.Y of $DMP_SOURCE_SUITES: prints "SUITE PACKAGE
# VERSION". Looked up once per run of a script (the indexes refresh daily).
newest_source() {
	if [ -z "${DMP_NEWEST_SOURCE:-}" ]; then
		local suite p v best=
		for suite in $DMP_SOURCE_SUITES; do
			p=$("$DMP_ROOT/scripts/debian-pkg.sh" "$suite" --latest 'linux-source-[0-9]+\.[0-9]+') || exit 1
			[ -n "$p" ] || continue
			v=$("$DMP_ROOT/scripts/debian-pkg.sh" "$suite" --version "$p")
			if [ -z "$best" ] || dpkg --compare-versions "$v" gt "${best##* }"; then best="$suite $p $v"; fi
		done
		[ -n "$best" ] || die "no linux-source-* package in $DMP_SOURCE_SUITES (gone or renamed?)"
		export DMP_NEWEST_SOURCE=$best
	fi
	echo "$DMP_NEWEST_SOURCE"
}

kernel_source() { # VARIANT -> source package name
	case $1 in
	normal | debug) echo linux-source-6.12 ;;
	newest) newest_source | cut -d' ' -f2 ;;
	*) die "no source package for kernel '$1' (normal, debug, newest or debian:SUITE:FLAVOUR)" ;;
	esac
}

# The .deb of the newest linux-source (downloaded once, cached).
source_deb() {
	local suite pkg
	read -r suite pkg _ < <(newest_source)
	"$DMP_ROOT/scripts/debian-pkg.sh" "$suite" "$pkg" | tail -1
}

# The cache key of a kernel variant: everything that changes what gets built
# or what a module built against it must match.
kernel_key() {
	local variant=$1 src ver frag_hash tools
	src=$(kernel_source "$variant")
	if [ "$src" = linux-source-6.12 ]; then
		ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || die "linux-source-6.12 not installed"
	else
		ver=$(newest_source | cut -d' ' -f3)
	fi
	frag_hash=$(cat "$DMP_ROOT/scripts/kconfig/base.config" \
		$([ "$variant" = debug ] && echo "$DMP_ROOT/scripts/kconfig/debug.config") |
		sha256sum | cut -c1-12)
	tools=$( { rustc --version; "clang$LLVM_SUFFIX" --version | head -1; bindgen --version; } |
		sha256sum | cut -c1-8)
	case $variant in
	normal | debug) echo "$variant-${ver//[~+:]/_}-$frag_hash-$tools" ;;
	*) echo "linux-${src#linux-source-}-${ver//[~+:]/_}-$frag_hash-$tools" ;;
	esac
}

kernel_dir() { echo "$DMP_CACHE/kernel/$(kernel_key "$1")"; }

# copy_with_libs ROOT PROGRAM...: each program and the shared objects ldd
# lists for it (the dynamic loader too), at their own paths under ROOT.
copy_with_libs() {
	local root=$1 t lib
	shift
	for t in "$@"; do
		mkdir -p "$root$(dirname "$t")"
		cp -L "$t" "$root$t"
		ldd "$t" | grep -oE '/[^ ]+' | while read -r lib; do
			mkdir -p "$root$(dirname "$lib")"
			[ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
		done
	done
}

# SPDX-License-Identifier: GPL-2.0
# Shared settings for dmp's scripts. Source it; do not run it.

DMP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DMP_CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmp}
LLVM_SUFFIX=${LLVM_SUFFIX:--19}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
JOBS=${JOBS:-$(nproc)}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# The test kernels: `normal` and `debug` are built from Debian 12's
# linux-source-6.12, `7.3` from Debian 13's linux-source-7.3 (trixie-backports,
# downloaded through this machine's mirror by scripts/debian-pkg.sh), all with
# clang; `debian` is Debian 13's stock backports kernel as shipped (GCC-built,
# scripts/debian-stock.sh).
kernel_source() { # VARIANT -> source package name
	case $1 in
	normal | debug) echo linux-source-6.12 ;;
	7.3) echo linux-source-7.3 ;;
	*) die "no source package for kernel '$1'" ;;
	esac
}

# The .deb of linux-source-7.3 (downloaded once, cached).
source_deb() { "$DMP_ROOT/scripts/debian-pkg.sh" trixie-backports "$1" | tail -1; }

# The cache key of a kernel variant: everything that changes what gets built
# or what a module built against it must match.
kernel_key() {
	local variant=$1 src ver frag_hash tools
	src=$(kernel_source "$variant")
	if [ "$src" = linux-source-6.12 ]; then
		ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || die "linux-source-6.12 not installed"
	else
		ver=$(basename "$(source_deb "$src")" | cut -d_ -f2) || die "no $src"
	fi
	frag_hash=$(cat "$DMP_ROOT/scripts/kconfig/base.config" \
		$([ "$variant" = debug ] && echo "$DMP_ROOT/scripts/kconfig/debug.config") |
		sha256sum | cut -c1-12)
	tools=$( { rustc --version; "clang$LLVM_SUFFIX" --version | head -1; bindgen --version; } |
		sha256sum | cut -c1-8)
	case $variant in
	normal | debug) echo "$variant-${ver//[~+:]/_}-$frag_hash-$tools" ;;
	*) echo "linux-$variant-${ver//[~+:]/_}-$frag_hash-$tools" ;;
	esac
}

kernel_dir() { echo "$DMP_CACHE/kernel/$(kernel_key "$1")"; }

# SPDX-License-Identifier: GPL-2.0
# Shared settings for dmp's scripts. Source it; do not run it.

DMP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DMP_CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmp}
LLVM_SUFFIX=${LLVM_SUFFIX:--19}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
JOBS=${JOBS:-$(nproc)}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# The cache key of a kernel variant: everything that changes what gets built
# or what a module built against it must match.
kernel_key() {
	local variant=$1 ver frag_hash tools
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || die "linux-source-6.12 not installed"
	frag_hash=$(cat "$DMP_ROOT/scripts/kconfig/base.config" \
		$([ "$variant" = debug ] && echo "$DMP_ROOT/scripts/kconfig/debug.config") |
		sha256sum | cut -c1-12)
	tools=$( { rustc --version; "clang$LLVM_SUFFIX" --version | head -1; bindgen --version; } |
		sha256sum | cut -c1-8)
	echo "$variant-${ver//[~+:]/_}-$frag_hash-$tools"
}

kernel_dir() { echo "$DMP_CACHE/kernel/$(kernel_key "$1")"; }

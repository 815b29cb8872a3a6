#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a Rust-enabled test kernel with clang from Debian's kernel source
# (see kernel_source in lib.sh) and the config fragments in scripts/kconfig/,
# cached in ~/.cache/dmp/kernel/<key>.
# Usage: build-kernel.sh [normal|debug|newest]   Prints the build tree's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:-normal}
case $variant in normal|debug|newest) ;; *) die "unknown variant '$variant' (normal, debug or newest)";; esac
dir=$(kernel_dir "$variant")
make_k() { make -C "$dir" LLVM="$LLVM_SUFFIX" "$@"; }

if [ -f "$dir/.dmp-built" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$DMP_CACHE/kernel"
if [ ! -f "$dir/Makefile" ]; then
	src=$(kernel_source "$variant")
	log "unpacking $src into $dir"
	tmp=$(mktemp -d "$DMP_CACHE/kernel/unpack.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	if [ "$src" = linux-source-6.12 ]; then
		tar -xf /usr/src/linux-source-6.12.tar.xz -C "$tmp"
	else
		dpkg-deb --fsys-tarfile "$(source_deb "$src")" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
			tar -xJ -C "$tmp"
	fi
	rm -rf "$dir"
	mv "$tmp"/"$src" "$dir"
	rm -rf "$tmp"
fi

if [ ! -f "$dir/.dmp-configured" ]; then
	log "configuring the $variant kernel"
	frags=("$DMP_ROOT/scripts/kconfig/base.config")
	[ "$variant" = debug ] && frags+=("$DMP_ROOT/scripts/kconfig/debug.config")
	make_k -s tinyconfig >/dev/null
	(cd "$dir" && scripts/kconfig/merge_config.sh -m .config "${frags[@]}" >/dev/null)
	make_k -s olddefconfig >/dev/null
	# Every line of the fragments must have taken: a silently dropped
	# CONFIG_RUST (toolchain not found) would otherwise surface much later.
	# Options this tree does not know (renamed or folded into others between
	# kernels, e.g. PROC_SYSCTL in 7.x) are skipped.
	find "$dir" -name 'Kconfig*' -exec sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/CONFIG_\2/p' {} + |
		sort -u >"$dir/.dmp-symbols"
	bad=0
	for f in "${frags[@]}"; do
		while read -r line; do
			sym=$(echo "$line" | sed -n 's/^\(# \)\{0,1\}\(CONFIG_[A-Za-z0-9_]*\).*/\2/p')
			[ -n "$sym" ] || continue
			if ! grep -qx "$sym" "$dir/.dmp-symbols"; then
				log "this kernel has no $sym: skipped"
				continue
			fi
			case $line in
			CONFIG_*=*) grep -qx "$line" "$dir/.config" || { log "not set: $line"; bad=1; } ;;
			"# CONFIG_"*" is not set") grep -qx "$line" "$dir/.config" || { log "not unset: $line"; bad=1; } ;;
			esac
		done <"$f"
	done
	[ $bad -eq 0 ] || { make_k LLVM="$LLVM_SUFFIX" rustavailable || true; die "kernel config incomplete"; }
	touch "$dir/.dmp-configured"
fi

log "building the $variant kernel (log: $dir/build.log)"
if ! make_k -j"$JOBS" bzImage modules >"$dir/build.log" 2>&1; then
	tail -40 "$dir/build.log" >&2
	die "kernel build failed"
fi
touch "$dir/.dmp-built"
log "kernel ready: $dir"
echo "$dir"

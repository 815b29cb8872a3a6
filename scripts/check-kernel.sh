#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Before building dmp.ko against KDIR: is it a kernel dmp can be built for,
# with this toolchain? One line saying what is wrong and what to do, exit 1.
#   check-kernel.sh KDIR
KDIR=$1
RUSTC=${RUSTC:-rustc}
BINDGEN=${BINDGEN:-bindgen}
no() { echo "dmp: cannot build for $KDIR: $*" >&2; exit 1; }

[ -d "$KDIR" ] || no "no such directory (install the kernel's headers, or set KDIR=)"
config=$KDIR/.config
[ -f "$config" ] || config=$KDIR/include/config/auto.conf
[ -f "$config" ] || no "not a configured kernel tree (no .config)"
grep -q '^CONFIG_RUST=y' "$config" ||
	no "this kernel was built without Rust support (CONFIG_RUST is not set); dmp needs a Rust-enabled kernel"
[ -f "$KDIR/rust/libkernel.rmeta" ] ||
	no "no Rust metadata (rust/libkernel.rmeta): on Ubuntu install linux-lib-rust-<release>; on Debian install dmp-linux-librust-<release> (make deb builds it) or give LIBRUST="

want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
have=$($RUSTC --version 2>/dev/null) || no "no '$RUSTC' (install the Rust compiler the kernel was built with: $want)"
[ -z "$want" ] || [ "$have" = "$want" ] ||
	no "'$have' is not the compiler the kernel was built with ('$want'): install that one, or point RUSTC= at it"

bver=$($BINDGEN --version 2>/dev/null | sed -n 's/^bindgen \([0-9.]*\).*/\1/p')
[ -n "$bver" ] || no "no '$BINDGEN' (install bindgen-cli: cargo install --locked bindgen-cli)"
min=
[ -x "$KDIR/scripts/min-tool-version.sh" ] && min=$("$KDIR/scripts/min-tool-version.sh" bindgen 2>/dev/null)
if [ -n "$min" ] && [ "$(printf '%s\n%s\n' "$min" "$bver" | sort -V | head -1)" != "$min" ]; then
	no "bindgen $bver is older than this kernel needs ($min): cargo install --locked bindgen-cli --version $min"
fi
exit 0

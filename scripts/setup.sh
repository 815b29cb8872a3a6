#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything dmp's build, VM and tests need on a Debian 12 machine.
# Idempotent and quiet when everything is already there.
set -euo pipefail

BINDGEN_VERSION=0.71.1

# Debian packages: kernel source and build deps, LLVM 19, QEMU and the tools
# that end up in the guest initramfs (bpftrace: only in scripts/bench.sh's
# eBPF runs, see scripts/bpf-tools.sh).
PKGS=(
	linux-source-6.12
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio xz-utils make
	qemu-system-x86 busybox-static
	dmsetup fio e2fsprogs util-linux kmod coreutils diffutils
	debootstrap sg3-utils binutils python3-prometheus-client libdevmapper-dev pkg-config
	prometheus prometheus-node-exporter systemd chromium python3-pil fonts-dejavu-core lvm2
	cryptsetup-bin thin-provisioning-tools
	# bpftrace: make bench's eBPF peer.
	bpftrace
	# The Debian packages (make deb) and the real-system leg's image.
	dpkg-dev debhelper dh-dkms fakeroot lintian mmdebstrap
)

log() { echo "setup: $*" >&2; }

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	log "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -q >/dev/null
	# A second try mends an interrupted download or unpack.
	for try in 1 2; do
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null && break
		[ $try -eq 2 ] && { log "apt-get install failed"; exit 1; }
		log "apt-get install failed; trying again"
	done
fi

# Rust: the kernel needs the standard library's source to build `core`.
if ! command -v rustup >/dev/null; then
	log "rustup not found: install the Rust toolchain with rustup first"
	exit 1
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "adding rust-src"
	rustup component add rust-src >/dev/null
fi

# bindgen: Debian's is too old for 6.12; pin the one the tree was tested with.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
if ! "$CARGO_BIN/bindgen" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	log "installing bindgen-cli $BINDGEN_VERSION from crates.io"
	cargo install --quiet --locked bindgen-cli --version "$BINDGEN_VERSION"
fi

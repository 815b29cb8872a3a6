#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian 13 (trixie) environment for building against Debian's stock
# kernels: on a Debian 12 machine a minbase chroot, created once and cached
# under $DMP_CACHE/debian/trixie-chroot; on a Debian 13 machine the host itself.
#
#   debian-chroot.sh ensure              create / complete it (idempotent)
#   debian-chroot.sh run CMD...          run CMD in it
#   debian-chroot.sh run --throwaway CMD...
#                                        run CMD in a throwaway overlay of the
#                                        chroot (for tests that install things)
#   debian-chroot.sh upgrade             apt-get upgrade the chroot
#   debian-chroot.sh path                print the chroot's directory ("/" on trixie)
#
# Commands run with the chroot's /proc, /dev and /sys mounted and with
# $DMP_CACHE/debian/stock bind-mounted at the same path, so that paths under it
# are the same inside and outside. All mounts live in a private mount namespace
# (unshare -m): nothing is left mounted when the command ends.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# What building a Rust module against a Debian kernel needs (TOOLCHAIN.md):
# the kernel's own rustc (CONFIG_RUSTC_VERSION_TEXT), bindgen and libclang,
# gcc-14 (CONFIG_CC_VERSION_TEXT), modules_prepare's tools, kmod, dkms.
TRIXIE_PKGS=(
	rustc rust-src bindgen gcc gcc-14 binutils clang-19 libclang-19-dev
	make flex bison bc libelf-dev libssl-dev dwarves kmod dkms
	rustfmt xz-utils cpio rsync perl python3 ca-certificates
)

CHROOT=$DMP_CACHE/debian/trixie-chroot
STOCK=$DMP_CACHE/debian/stock

is_trixie_host() { grep -qx 'VERSION_CODENAME=trixie' /etc/os-release 2>/dev/null; }

mirror_url() {
	local m
	m=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	[ -n "$m" ] || m=$(sed -n 's/^deb \(http[^ ]*\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
	[ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
	echo "$m"
}

# Packages of TRIXIE_PKGS not installed in the environment (root dir $1).
missing_pkgs() {
	local root=$1 p
	for p in "${TRIXIE_PKGS[@]}"; do
		dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "ok installed" || echo "$p"
	done
}

apt_install() { # ROOT-RUNNER... -- PKG...
	local i
	for i in 1 2; do # a second try mends an interrupted download
		"$@" && return 0
		log "apt-get install failed; trying again"
	done
	return 1
}

ensure_host() {
	local missing
	mapfile -t missing < <(missing_pkgs /)
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}): install them or run as root"
	log "installing on the host: ${missing[*]}"
	apt-get update -q >/dev/null
	apt_install env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

ensure_chroot() {
	local mirror missing t0
	[ "$(id -u)" -eq 0 ] || die "creating and entering the Debian 13 chroot needs root"
	command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
	command -v unshare >/dev/null || die "unshare (util-linux) is missing"
	mirror=$(mirror_url)
	if [ ! -f "$CHROOT/.dmp-debootstrap-done" ]; then
		log "creating a Debian 13 chroot in $CHROOT (debootstrap, about 2 min)"
		rm -rf "$CHROOT"
		mkdir -p "$CHROOT"
		t0=$SECONDS
		debootstrap --variant=minbase trixie "$CHROOT" "$mirror" >"$CHROOT.debootstrap.log" 2>&1 ||
			die "debootstrap failed: see $CHROOT.debootstrap.log"
		# No daemons may start in the chroot (dkms, ...).
		printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
		chmod 755 "$CHROOT/usr/sbin/policy-rc.d"
		touch "$CHROOT/.dmp-debootstrap-done"
		log "debootstrap: $((SECONDS - t0)) s"
		echo "$(date -u +%FT%TZ) debootstrap $((SECONDS - t0)) s" >>"$DMP_CACHE/debian/times.log"
	fi
	# Sources as on an installed Debian 13 (deb822), with backports for the
	# kernel packages.
	local sources
	sources="Types: deb
URIs: $mirror
Suites: trixie trixie-updates trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	if [ "$(cat "$CHROOT/etc/apt/sources.list.d/debian.sources" 2>/dev/null)" != "$sources" ]; then
		rm -f "$CHROOT/etc/apt/sources.list"
		echo "$sources" >"$CHROOT/etc/apt/sources.list.d/debian.sources"
	fi
	mapfile -t missing < <(missing_pkgs "$CHROOT")
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing in the chroot: ${missing[*]}"
	t0=$SECONDS
	in_env "$CHROOT" apt-get update -q >"$CHROOT.apt.log" 2>&1 || die "apt-get update in the chroot failed: see $CHROOT.apt.log"
	apt_install in_env "$CHROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >>"$CHROOT.apt.log" 2>&1 ||
		die "apt-get install in the chroot failed: see $CHROOT.apt.log"
	in_env "$CHROOT" apt-get clean
	log "chroot packages: $((SECONDS - t0)) s"
	echo "$(date -u +%FT%TZ) chroot packages $((SECONDS - t0)) s" >>"$DMP_CACHE/debian/times.log"
}

# in_env ROOT CMD...: run CMD chrooted into ROOT with /proc, /sys, /dev and
# $STOCK mounted, in a private mount namespace.
in_env() {
	local root=$1
	shift
	mkdir -p "$STOCK" "$root$STOCK"
	unshare -m --propagation private -- /bin/sh -ec '
		root=$1 stock=$2; shift 2
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mount --bind "$stock" "$root$stock"
		cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' sh "$root" "$STOCK" "$@"
}

# Like in_env, on an overlay of ROOT whose changes vanish afterwards.
in_throwaway_env() {
	local root=$1 tmp
	shift
	tmp=$(mktemp -d "$DMP_CACHE/debian/overlay.XXXXXX")
	mkdir -p "$tmp"/{upper,work,merged} "$STOCK"
	set +e
	unshare -m --propagation private -- /bin/sh -ec '
		root=$1 tmp=$2 stock=$3; shift 3
		mount -t overlay overlay -o "lowerdir=$root,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/merged"
		r=$tmp/merged
		mkdir -p "$r$stock"
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount --bind "$stock" "$r$stock"
		exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' sh "$root" "$tmp" "$STOCK" "$@"
	local rc=$?
	set -e
	rm -rf "$tmp"
	return $rc
}

cmd=${1:-ensure}
shift || true
case $cmd in
ensure)
	mkdir -p "$DMP_CACHE/debian"
	exec 8>"$DMP_CACHE/debian/.chroot.lock"
	flock 8
	if is_trixie_host; then ensure_host; else ensure_chroot; fi
	;;
upgrade)
	# Bring the chroot's packages up to date (a kernel built by a newer rustc
	# of the suite wants that rustc).
	is_trixie_host && die "upgrade: not on a Debian 13 host (use apt there)"
	mkdir -p "$DMP_CACHE/debian"
	exec 8>"$DMP_CACHE/debian/.chroot.lock"
	flock 8
	ensure_chroot
	log "upgrading the chroot's packages"
	in_env "$CHROOT" apt-get update -q >>"$CHROOT.apt.log" 2>&1 &&
		in_env "$CHROOT" env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q >>"$CHROOT.apt.log" 2>&1 ||
		die "upgrading the chroot failed: see $CHROOT.apt.log"
	in_env "$CHROOT" apt-get clean
	;;
path)
	if is_trixie_host; then echo /; else echo "$CHROOT"; fi
	;;
run)
	throwaway=
	[ "${1:-}" = --throwaway ] && { throwaway=1; shift; }
	[ $# -gt 0 ] || die "usage: debian-chroot.sh run [--throwaway] CMD..."
	if is_trixie_host; then
		[ -z "$throwaway" ] || die "--throwaway needs the chroot (not available on a Debian 13 host)"
		exec "$@"
	fi
	[ -f "$CHROOT/.dmp-debootstrap-done" ] || die "no Debian 13 chroot yet: run scripts/debian-chroot.sh ensure"
	if [ -n "$throwaway" ]; then in_throwaway_env "$CHROOT" "$@"; else in_env "$CHROOT" "$@"; fi
	;;
*)
	die "usage: debian-chroot.sh ensure|upgrade|path|run [--throwaway] CMD..."
	;;
esac

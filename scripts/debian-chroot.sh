#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian environment a Debian kernel was built in, for building against
# it: the release its suite belongs to (trixie for trixie-backports, sid for
# sid and experimental, ...). On a machine of another release, a minbase
# chroot of it, created once and cached under $DMP_CACHE/debian/BASE-chroot;
# on a machine of that release, the host itself.
#
#   debian-chroot.sh [--suite SUITE] ensure [PKG[=VERSION]...]
#                                        create / complete it (idempotent), with
#                                        the build tools and the packages named
#   debian-chroot.sh [--suite SUITE] run CMD...      run CMD in it
#   debian-chroot.sh [--suite SUITE] run --throwaway CMD...
#                                        run CMD in a throwaway overlay of the
#                                        chroot (for tests that install things)
#   debian-chroot.sh [--suite SUITE] versions PKG    the versions of PKG its
#                                        sources offer, one a line, newest first
#   debian-chroot.sh [--suite SUITE] upgrade         apt-get upgrade the chroot
#   debian-chroot.sh [--suite SUITE] path            the chroot's directory ("/" on the host)
#
# SUITE is the suite the kernel comes from (default trixie-backports, or
# $DMP_DEBIAN_SUITE). The environment's apt sources are those a system of
# that release uses to get it: BASE (+ BASE-updates) + BASE-backports for a
# backports kernel, sid + experimental for an experimental one.
#
# Commands run with the chroot's /proc, /dev and /sys mounted and with
# $DMP_CACHE/debian/stock bind-mounted at the same path, so that paths under it
# are the same inside and outside. All mounts live in a private mount namespace
# (unshare -m): nothing is left mounted when the command ends.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=${DMP_DEBIAN_SUITE:-trixie-backports}
if [ "${1:-}" = --suite ]; then
	SUITE=${2:?--suite needs a suite}
	shift 2
fi

# What building a Rust module against a Debian kernel needs besides the
# kernel's own rustc, bindgen and gcc (which the caller names, at the
# versions the kernel's config asks for): modules_prepare's tools, kmod, dkms.
BASE_PKGS=(
	make flex bison bc libelf-dev libssl-dev dwarves kmod dkms binutils
	xz-utils cpio rsync perl python3 ca-certificates
)

# The release a suite belongs to, and the suites its systems take packages
# from (Debian's archive layout: X-backports is built on X; experimental on
# unstable).
case $SUITE in
*-backports) BASE=${SUITE%-backports} SOURCES="$BASE $BASE-updates $SUITE" ;;
experimental) BASE=sid SOURCES="sid experimental" ;;
unstable | sid) BASE=sid SOURCES=sid ;;
*) BASE=$SUITE SOURCES=$SUITE ;;
esac

CHROOT=$DMP_CACHE/debian/$BASE-chroot
STOCK=$DMP_CACHE/debian/stock

# Is this machine itself a system of that release?
is_host_release() {
	local c
	c=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null)
	[ "$c" = "$BASE" ] && return 0
	[ "$BASE" = sid ] && grep -q '/sid$' /etc/debian_version 2>/dev/null
}

mirror_url() {
	local m
	m=$({ sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | head -1)
	[ -n "$m" ] || m=$({ sed -n 's/^deb \(http[^ ]*\) .*/\1/p' /etc/apt/sources.list 2>/dev/null || true; } | grep -v security | head -1)
	[ -n "$m" ] || die "no Debian mirror found in the apt sources"
	echo "$m"
}

# The packages named ($@: NAME or NAME=VERSION) not installed, as named, in
# the environment whose root is $ROOT.
missing_pkgs() {
	local p name want have
	for p in "$@"; do
		name=${p%%=*}
		want=${p#"$name"}
		want=${want#=}
		have=$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status} ${Version}' "$name" 2>/dev/null) || true
		case $have in
		"install ok installed "*) [ -z "$want" ] || [ "${have##* }" = "$want" ] || echo "$p" ;;
		*) echo "$p" ;;
		esac
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
	ROOT=/
	mapfile -t missing < <(missing_pkgs "${BASE_PKGS[@]}" "$@")
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}): install them or run as root"
	log "installing on the host: ${missing[*]}"
	apt-get update -q >/dev/null
	apt_install env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

ensure_chroot() {
	local mirror missing t0 script
	ROOT=$CHROOT
	[ "$(id -u)" -eq 0 ] || die "creating and entering the $BASE chroot needs root"
	command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
	command -v unshare >/dev/null || die "unshare (util-linux) is missing"
	mirror=$(mirror_url)
	if [ ! -f "$CHROOT/.dmp-debootstrap-done" ]; then
		log "creating a Debian $BASE chroot in $CHROOT (debootstrap, about 2 min)"
		rm -rf "$CHROOT"
		mkdir -p "$CHROOT"
		t0=$SECONDS
		# This machine's debootstrap may predate the release: every suite
		# since buster is bootstrapped as sid is.
		script=/usr/share/debootstrap/scripts/$BASE
		[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
		debootstrap --variant=minbase "$BASE" "$CHROOT" "$mirror" "$script" >"$CHROOT.debootstrap.log" 2>&1 ||
			die "debootstrap of $BASE failed: see $CHROOT.debootstrap.log"
		# No daemons may start in the chroot (dkms, ...).
		printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
		chmod 755 "$CHROOT/usr/sbin/policy-rc.d"
		touch "$CHROOT/.dmp-debootstrap-done"
		log "debootstrap: $((SECONDS - t0)) s"
		echo "$(date -u +%FT%TZ) debootstrap $BASE $((SECONDS - t0)) s" >>"$DMP_CACHE/debian/times.log"
	fi
	# Sources as on an installed system of that release (deb822). A mirror's
	# snapshot of a moving suite may be past its Valid-Until: take it as the
	# machine's own apt does.
	local sources
	sources="Types: deb
URIs: $mirror
Suites: $SOURCES
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	if [ "$(cat "$CHROOT/etc/apt/sources.list.d/debian.sources" 2>/dev/null)" != "$sources" ]; then
		rm -f "$CHROOT/etc/apt/sources.list" "$CHROOT/.dmp-apt-updated"
		echo "$sources" >"$CHROOT/etc/apt/sources.list.d/debian.sources"
	fi
	[ -f "$CHROOT/etc/apt/apt.conf.d/99dmp-valid-until" ] ||
		echo 'Acquire::Check-Valid-Until "false";' >"$CHROOT/etc/apt/apt.conf.d/99dmp-valid-until"
	mapfile -t missing < <(missing_pkgs "${BASE_PKGS[@]}" "$@")
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing in the $BASE chroot: ${missing[*]}"
	t0=$SECONDS
	apt_update
	apt_install in_env "$CHROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends --allow-downgrades "${missing[@]}" >>"$CHROOT.apt.log" 2>&1 ||
		die "apt-get install ${missing[*]} in the $BASE chroot failed: see $CHROOT.apt.log"
	in_env "$CHROOT" apt-get clean
	log "chroot packages: $((SECONDS - t0)) s"
	echo "$(date -u +%FT%TZ) chroot packages $BASE $((SECONDS - t0)) s" >>"$DMP_CACHE/debian/times.log"
}

# apt-get update in the chroot, once a day at most.
apt_update() {
	local stamp=$CHROOT/.dmp-apt-updated
	[ -f "$stamp" ] && [ -z "$(find "$stamp" -mmin +1440)" ] && return 0
	in_env "$CHROOT" apt-get update -q >>"$CHROOT.apt.log" 2>&1 ||
		die "apt-get update in the $BASE chroot failed: see $CHROOT.apt.log"
	touch "$stamp"
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
mkdir -p "$DMP_CACHE/debian"
case $cmd in
ensure)
	exec 8>"$DMP_CACHE/debian/.chroot.lock"
	flock 8
	if is_host_release; then ensure_host "$@"; else ensure_chroot "$@"; fi
	;;
versions)
	[ $# -eq 1 ] || die "usage: debian-chroot.sh versions PKG"
	if is_host_release; then
		apt-cache madison "$1" | awk -F' *[|] *' '{print $2}' | sort -urV
	else
		exec 8>"$DMP_CACHE/debian/.chroot.lock"
		flock 8
		ensure_chroot
		apt_update
		in_env "$CHROOT" apt-cache madison "$1" | awk -F' *[|] *' '{print $2}' | sort -urV
	fi
	;;
upgrade)
	# Bring the chroot's packages up to date.
	is_host_release && die "upgrade: this machine is a $BASE system itself (use apt there)"
	exec 8>"$DMP_CACHE/debian/.chroot.lock"
	flock 8
	ensure_chroot
	log "upgrading the $BASE chroot's packages"
	rm -f "$CHROOT/.dmp-apt-updated"
	apt_update
	in_env "$CHROOT" env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q >>"$CHROOT.apt.log" 2>&1 ||
		die "upgrading the $BASE chroot failed: see $CHROOT.apt.log"
	in_env "$CHROOT" apt-get clean
	;;
path)
	if is_host_release; then echo /; else echo "$CHROOT"; fi
	;;
run)
	throwaway=
	[ "${1:-}" = --throwaway ] && { throwaway=1; shift; }
	[ $# -gt 0 ] || die "usage: debian-chroot.sh run [--throwaway] CMD..."
	if is_host_release; then
		[ -z "$throwaway" ] || die "--throwaway needs a chroot (this machine is a $BASE system)"
		exec "$@"
	fi
	[ -f "$CHROOT/.dmp-debootstrap-done" ] || die "no $BASE chroot yet: run scripts/debian-chroot.sh --suite $SUITE ensure"
	if [ -n "$throwaway" ]; then in_throwaway_env "$CHROOT" "$@"; else in_env "$CHROOT" "$@"; fi
	;;
*)
	die "usage: debian-chroot.sh [--suite SUITE] ensure [PKG...]|versions PKG|upgrade|path|run [--throwaway] CMD..."
	;;
esac

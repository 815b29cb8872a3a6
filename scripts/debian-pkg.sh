#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Download Debian packages of another suite (trixie, trixie-backports, sid)
# through this machine's own mirror, without touching its package sources:
# apt runs with a private source list, lists and cache under ~/.cache/dmp/apt.
#
#   debian-pkg.sh SUITE PKG...        download PKG's .deb, print its path
#   debian-pkg.sh SUITE --latest RE   print the newest package name matching RE
#   debian-pkg.sh SUITE --all RE      print every package name matching RE
#   debian-pkg.sh SUITE --version PKG print PKG's newest version (nothing if none)
#
# A package the suite does not have stops it with one line naming both.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

suite=${1:?usage: debian-pkg.sh SUITE PKG...}
shift
root="$DMP_CACHE/apt/$suite"
mkdir -p "$root"/{lists/partial,cache/archives/partial,debs}
# The machine's own mirror: deb822 sources first, then a one-line list.
mirror=$({ sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | head -1)
[ -n "$mirror" ] || mirror=$({ sed -n 's/^deb \(http[^ ]*\) .*/\1/p' /etc/apt/sources.list 2>/dev/null || true; } |
	grep -v security | head -1)
[ -n "$mirror" ] || die "no Debian mirror found in the apt sources"
# One run at a time per suite (the test command's jobs run side by side):
# another run's `apt-get update`, or its rewrite of the list, would show this
# one an empty index.
exec 7>"$root/.lock"
flock 7
[ "$(cat "$root/sources.list" 2>/dev/null)" = "deb $mirror $suite main" ] ||
	echo "deb $mirror $suite main" >"$root/sources.list"
apt_opts=(
	-o Dir::Etc::sourcelist="$root/sources.list" -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists="$root/lists" -o Dir::Cache="$root/cache"
	-o Dir::State::status=/dev/null -o APT::Sandbox::User=root
	-o Debug::NoLocking=1
)
# Refresh the index once a day at most.
stamp="$root/lists/.updated"
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	log "updating the package index of $suite"
	apt-get "${apt_opts[@]}" update -q >"$root/update.log" 2>&1 || { cat "$root/update.log" >&2; die "apt-get update ($suite) failed"; }
	touch "$stamp"
fi

if [ "${1:-}" = --all ]; then
	# Every package name matching RE.
	{ apt-cache "${apt_opts[@]}" pkgnames 2>/dev/null || true; } | { grep -E "^$2\$" || true; } | sort -V
	exit 0
fi
if [ "${1:-}" = --latest ]; then
	# Newest version first: the package names embed the kernel version.
	{ apt-cache "${apt_opts[@]}" pkgnames 2>/dev/null || true; } | { grep -E "^$2\$" || true; } | sort -V | tail -1
	exit 0
fi

# The newest version of a package ("" if the suite has none).
version() { { apt-cache "${apt_opts[@]}" show "$1" 2>/dev/null || true; } | sed -n 's/^Version: //p' | sort -V | tail -1; }

if [ "${1:-}" = --version ]; then
	version "$2"
	exit 0
fi

cd "$root/debs"
for p in "$@"; do
	ver=$(version "$p")
	[ -n "$ver" ] || die "no package $p in $suite (gone or renamed?)"
	arch=$({ apt-cache "${apt_opts[@]}" show "$p=$ver" || true; } | sed -n 's/^Architecture: //p' | head -1)
	f="${p}_${ver//:/%3a}_$arch.deb"
	if [ ! -f "$f" ]; then
		log "downloading $p $ver ($suite)"
		apt-get "${apt_opts[@]}" download -q "$p=$ver" >/dev/null 2>&1 || die "downloading $p ($suite) failed"
	fi
	echo "$root/debs/$f"
done

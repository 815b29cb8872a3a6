#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS check with Debian 13's own dkms, in a throwaway overlay of the Debian 13
# chroot (scripts/debian-chroot.sh): nothing it installs stays.
#
#   tests/dkms-check.sh [SRC]     SRC: the module's source (default: this repo)
#
# 1. Debian's stock Rust kernel (trixie-backports): `dkms add`, then
#    `dkms build/install -k RELEASE --kernelsourcedir TREE` with the tree
#    scripts/debian-stock.sh regenerates; the installed module must carry the
#    stock vermagic.
# 2. The same kernel with Debian's plain headers in /usr/src (as installed by
#    linux-headers-RELEASE): `dkms autoinstall -k RELEASE` must find the
#    regenerated tree by itself (dkms.conf looks in dmp's cache).
# 3. Debian 13's own 6.12 kernel, built without CONFIG_RUST: `dkms install`
#    must skip it (BUILD_EXCLUSIVE_CONFIG, exit status 77) and install nothing.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

src=$(cd "${1:-$DMP_ROOT}" && pwd)
[ -f "$src/dkms.conf" ] || die "no dkms.conf in $src"
grep -qx 'VERSION_CODENAME=trixie' /etc/os-release 2>/dev/null &&
	die "tests/dkms-check.sh needs the Debian 13 chroot (it runs on Debian 12); on Debian 13 use dkms directly"

STOCK=$DMP_CACHE/debian/stock
tree=$("$DMP_ROOT/scripts/debian-stock.sh" prepare)
rel=$("$DMP_ROOT/scripts/debian-stock.sh" release)

# Debian's plain headers of the Rust kernel, and of a kernel without Rust.
pkgs() { # SUITE HEADERS-PACKAGE: the headers, common headers and kbuild .debs
	local h dep
	h=$("$DMP_ROOT/scripts/debian-pkg.sh" "$1" "$2" | tail -1)
	dep=$(dpkg-deb -f "$h" Depends)
	echo "$h"
	"$DMP_ROOT/scripts/debian-pkg.sh" "$1" "$(echo "$dep" | grep -o 'linux-headers-[^ ,]*-common' | head -1)" | tail -1
	"$DMP_ROOT/scripts/debian-pkg.sh" "$1" "$(echo "$dep" | grep -o 'linux-kbuild-[^ ,]*' | head -1)" | tail -1
}
norust_pkg=$("$DMP_ROOT/scripts/debian-pkg.sh" trixie --latest 'linux-headers-[0-9.]+\+deb13-amd64')
[ -n "$norust_pkg" ] || die "no linux-headers-*+deb13-amd64 in trixie"
norust=${norust_pkg#linux-headers-}

stage=$(mktemp -d "$STOCK/dkms-check.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/debs" "$stage/base" "$stage/src"
cp $(pkgs trixie-backports "linux-headers-$rel") $(pkgs trixie "$norust_pkg") "$stage/debs/"
# The kernel "installed" (its /lib/modules/RELEASE: config, modules.builtin, ...).
cp "$("$DMP_ROOT/scripts/debian-pkg.sh" trixie-backports "linux-base-$rel" | tail -1)" "$stage/base/"
if dpkg-deb --fsys-tarfile "$stage/debs/${norust_pkg}_"*.deb | tar -xO --wildcards '*/.config' | grep -qx 'CONFIG_RUST=y'; then
	die "$norust has CONFIG_RUST=y: no kernel without Rust to check the skip with"
fi
# The module's files that git knows or would add (not build outputs).
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$src" --null -T - -cf - | tar -C "$stage/src" -xf -
else
	cp -a "$src/." "$stage/src/"
fi
ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$src/dkms.conf")
name=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$src/dkms.conf")
mod=$(sed -n 's/^BUILT_MODULE_NAME\[0\]="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$src/dkms.conf")

cat >"$stage/inner.sh" <<'EOF'
set -u
stage=$1 tree=$2 rel=$3 norust=$4 name=$5 ver=$6 mod=$7
fails=0
ok() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { echo "\$ $*"; "$@"; }
vermagic() { modinfo -F vermagic "$1" 2>/dev/null; }
echo "dkms: $(dkms --version)"
cp -a "$stage/src" "/usr/src/$name-$ver"
for d in "$stage"/base/*.deb; do dpkg-deb -x "$d" /; done
run dkms add "$name/$ver" || bad "dkms add"

echo "--- 1. $rel with --kernelsourcedir $tree"
run dkms build "$name/$ver" -k "$rel" --kernelsourcedir "$tree" && ok "dkms build -k $rel" ||
	{ bad "dkms build -k $rel"; tail -30 "/var/lib/dkms/$name/$ver/build/make.log"; }
run dkms install "$name/$ver" -k "$rel" --kernelsourcedir "$tree" && ok "dkms install -k $rel" || bad "dkms install -k $rel"
ko=$(ls /lib/modules/"$rel"/updates/dkms/"$mod".ko* 2>/dev/null | head -1)
echo "installed: ${ko:-none}; vermagic: $(vermagic "$ko")"
case $(vermagic "$ko") in "$rel "*) ok "installed module has the stock vermagic" ;; *) bad "installed module's vermagic" ;; esac
run dkms status
# Removing the last kernel's build removes the module: add it again.
run dkms remove "$name/$ver" -k "$rel" >/dev/null || bad "dkms remove -k $rel"
[ -n "$(dkms status "$name/$ver")" ] || run dkms add "$name/$ver" >/dev/null || bad "dkms add (again)"

echo "--- 2. $rel with Debian's plain headers in /usr/src (autoinstall)"
for d in "$stage"/debs/*.deb; do dpkg-deb -x "$d" /; done
[ -e "/lib/modules/$rel/build/rust/libkernel.rmeta" ] && bad "Debian's headers unexpectedly have Rust metadata"
run dkms autoinstall --verbose -k "$rel" 2>&1 | tee /tmp/autoinstall.log
[ "${PIPESTATUS[0]}" -eq 0 ] && ok "dkms autoinstall -k $rel" ||
	{ bad "dkms autoinstall -k $rel"; tail -30 "/var/lib/dkms/$name/$ver/build/make.log"; }
ko=$(ls /lib/modules/"$rel"/updates/dkms/"$mod".ko* 2>/dev/null | head -1)
echo "installed: ${ko:-none}; vermagic: $(vermagic "$ko")"
case $(vermagic "$ko") in "$rel "*) ok "autoinstalled module has the stock vermagic" ;; *) bad "autoinstalled module's vermagic" ;; esac
kdir=$(grep -m1 -o "KDIR='[^']*'" /tmp/autoinstall.log)
echo "autoinstall built with $kdir"
case $kdir in "KDIR='$tree'") ok "dkms.conf found the regenerated tree" ;; *) bad "dkms.conf did not use $tree" ;; esac

echo "--- 3. $norust (CONFIG_RUST off)"
grep -q '^CONFIG_RUST=y' "/lib/modules/$norust/build/.config" && bad "$norust has CONFIG_RUST=y"
run dkms install "$name/$ver" -k "$norust"
rc=$?
echo "exit status: $rc"
[ $rc -eq 77 ] && ok "dkms skips $norust (BUILD_EXCLUSIVE_CONFIG, status 77)" || bad "dkms install -k $norust: status $rc, expected 77"
ls /lib/modules/"$norust"/updates/dkms/"$mod".ko* >/dev/null 2>&1 && bad "a module was installed for $norust" || ok "nothing installed for $norust"
run dkms status
echo "--- $fails failure(s)"
exit $((fails > 0))
EOF

log "DKMS check of $src: $rel (Rust) and $norust (no Rust), in a throwaway chroot overlay"
"$DMP_ROOT/scripts/debian-chroot.sh" run --throwaway /bin/bash "$stage/inner.sh" \
	"$stage" "$tree" "$rel" "$norust" "$name" "$ver" "$mod"

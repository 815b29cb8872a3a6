#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The boot path's systemd unit (deploy/systemd/dmp-attach.service) passes
# `systemd-analyze verify`, with the commands it runs present (in a root
# tree holding this machine's systemd units, dmpctl and modprobe), and a
# broken copy of it does not (the check can fail). Prints ok/not ok lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
unit=deploy/systemd/dmp-attach.service

ok() { if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi; }

cargo build -q --release --manifest-path tools/dmpctl/Cargo.toml || { echo "not ok - dmpctl builds"; exit 1; }
r=$(mktemp -d)
trap 'rm -rf "$r"' EXIT
mkdir -p "$r/usr/sbin" "$r/sbin" "$r/etc/systemd/system" "$r/usr/lib/systemd"
ln -s usr/lib "$r/lib"
cp -r /usr/lib/systemd/system "$r/usr/lib/systemd/"
cp "${CARGO_TARGET_DIR:-tools/target}/release/dmpctl" "$r/usr/sbin/"
cp /sbin/modprobe "$r/sbin/"
cp "$unit" "$r/etc/systemd/system/"
out=$(systemd-analyze verify --root="$r" dmp-attach.service 2>&1)
rc=$?
[ -z "$out" ] || { echo "$out"; rc=1; }
ok $rc "systemd-analyze verify dmp-attach.service: no error, no warning"

# Its command exists and takes the options the unit gives it.
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$cmd" = "/usr/sbin/dmpctl attach --wait 30 --config /etc/dmp/attach.conf" ]
ok $? "the unit runs dmpctl attach --wait 30 --config /etc/dmp/attach.conf"
grep -q '^After=.*local-fs.target' "$unit"
ok $? "the unit is ordered after local-fs.target"

sed 's/^Type=oneshot/Type=oneshotx/' "$unit" >"$r/etc/systemd/system/dmp-broken.service"
out=$(systemd-analyze verify --root="$r" dmp-broken.service 2>&1)
[[ $out == *"Failed to parse service type"* ]]
ok $? "systemd-analyze verify reports a broken copy of the unit"
rm "$r/usr/sbin/dmpctl"
out=$(systemd-analyze verify --root="$r" dmp-attach.service 2>&1)
[[ $out == *"/usr/sbin/dmpctl is not executable"* ]]
ok $? "systemd-analyze verify reports the unit's command missing"

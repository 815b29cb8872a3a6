#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host checks of the monitoring pieces, each by the tool that reads it:
# dmpstat's Prometheus text by `promtool check metrics`, the rules in
# deploy/prometheus/ by `promtool check rules` and `promtool test rules`, the
# systemd units in deploy/systemd/ by `systemd-analyze verify`.
# Prints one "ok - NAME" / "not ok - NAME" line per check.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # NAME CMD...: ok when CMD succeeds
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		sed 's/^/#   /' "$tmp/out" | head -40
	fi
}

# silent CMD...: CMD succeeds and prints nothing at all.
silent() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] && [ $rc -eq 0 ] && return 0
	echo "exit $rc: $out"
	return 1
}

need() {
	command -v "$1" >/dev/null || { echo "not ok - $1 is installed (scripts/setup.sh)"; exit 1; }
}
need promtool
need systemd-analyze

dm=$root/tools/dmpstat
cargo build -q --release --manifest-path "$dm/Cargo.toml" || { echo "not ok - dmpstat builds"; exit 1; }
# The texts of the unit tests' sample report (two devices, one with two
# targets and a name to escape), written by dmpstat's own encoders.
mkdir -p "$tmp/dump"
DMPSTAT_DUMP=$tmp/dump cargo test -q --release --manifest-path "$dm/Cargo.toml" dump_samples >/dev/null 2>&1 ||
	{ echo "not ok - dmpstat writes its sample texts"; exit 1; }

check "promtool check metrics: dmpstat --prometheus text (first report), nothing to say" \
	silent sh -c "promtool check metrics <'$tmp/dump/first.prom'"
check "promtool check metrics: dmpstat --prometheus text (interval report), nothing to say" \
	silent sh -c "promtool check metrics <'$tmp/dump/later.prom'"
# The checker can fail: the OpenMetrics text, fed where the classic format
# is expected, is what issue 15 found ("no help text", exit 3).
check "promtool check metrics refuses the OpenMetrics text (no help text: exit 3)" \
	bash -c "out=\$(promtool check metrics <'$tmp/dump/first.om' 2>&1); rc=\$?; echo \"\$out\"; [ \$rc -eq 3 ] && echo \"\$out\" | grep -qx 'dmp_requests_total no help text'"

check "promtool check rules deploy/prometheus/dmp-rules.yml" \
	promtool check rules deploy/prometheus/dmp-rules.yml
check "promtool test rules deploy/prometheus/dmp-rules.test.yml" \
	promtool test rules deploy/prometheus/dmp-rules.test.yml

# systemd-analyze verify wants the ExecStart binary: dmpstat's units with the
# freshly built dmpstat in place of /usr/sbin/dmpstat (dmpctl's unit is
# checked by attach.sh).
mkdir -p "$tmp/units"
for u in deploy/systemd/dmpstat-*.service; do
	sed "s|/usr/sbin/dmpstat|${CARGO_TARGET_DIR:-$root/tools/target}/release/dmpstat|g" "$u" >"$tmp/units/$(basename "$u")"
done
for u in "$tmp"/units/*.service; do
	check "systemd-analyze verify deploy/systemd/$(basename "$u"), nothing to say" silent systemd-analyze verify "$u"
	check "systemd-analyze security: deploy/systemd/$(basename "$u") exposure at most 2.5" \
		sh -c "systemd-analyze security --offline=yes --threshold=25 '$u' >/dev/null"
done
# The checker can fail: a unit with an unknown key is reported.
printf '[Service]\nExecStart=/bin/true\nNoSuchKey=1\n' >"$tmp/units/bad.service"
check "systemd-analyze verify reports a bad unit" \
	sh -c "systemd-analyze verify '$tmp/units/bad.service' 2>&1 | grep -q \"Unknown key 'NoSuchKey'\""

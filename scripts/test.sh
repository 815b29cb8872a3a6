#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The test command (`make test`, called by .ci/run): installs what is missing,
# builds the test kernels (cached) and dmp.ko for each, runs the host checks
# (unit tests of the kernel-free code and of dmpstat, rustfmt, clippy, no
# locked instruction on the bio path, DKMS) and the guest suite in a VM on
# each kernel, and ends with "N passed, N failed".
#
#   DMP_TEST_KERNELS="..."   kernels to run the suite on (default: all below):
#       normal, debug  6.12 LTS (Debian 12's linux-source-6.12), clang, without
#                      and with KASAN, lockdep, kmemleak, fault injection
#       newest         the newest linux-source-X.Y of the Debian suites (today
#                      7.3.4 from trixie-backports), clang
#       debian:trixie-backports:amd64     Debian 13's stock backports kernel (GCC 14)
#       debian:sid:amd64                  Debian sid's stock kernel (GCC 16)
#       debian:trixie-backports:rt-amd64  Debian 13's PREEMPT_RT kernel
#   DMP_TEST_BUILD_ONLY="debian:trixie-backports:cloud-amd64"  kernels dmp.ko
#                      is built and checked for, but not booted
#   DMP_TEST_SUBSET_LEGS="newest debian:trixie-backports:amd64"  kernels that
#                      run the suite without the cases in $SUBSET_SKIP (the
#                      others run every case; see README, "What runs where")
#   DMP_TEST_FILTER=regex          only guest cases whose name matches it
#   DMP_TEST_DKMS=0                skip the DKMS check
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DMP_ROOT"

variants=${DMP_TEST_KERNELS:-normal debug newest debian:trixie-backports:amd64 debian:sid:amd64 debian:trixie-backports:rt-amd64}
build_only=${DMP_TEST_BUILD_ONLY-debian:trixie-backports:cloud-amd64}
# Two legs share their kernel source with another leg (7.3.4: the clang-built
# `newest`, Debian's amd64 and Debian's rt-amd64, which runs everything): they
# leave out the cases that test no kernel difference and take the longest
# (100-round churn, 1000 random inputs of each kind, the Prometheus and
# heatmap cases, which test userspace).
subset_legs=${DMP_TEST_SUBSET_LEGS-newest debian:trixie-backports:amd64}
SUBSET_SKIP='^t_(churn_|random_|monitoring_|dmpstat_heatmap)' 
# The archive is read once: every script of this run sees the same kernels.
if [[ " $variants " == *" newest "* ]]; then
	DMP_NEWEST_SOURCE=$(newest_source) || die "cannot find the newest kernel source"
	export DMP_NEWEST_SOURCE
	log "newest kernel source: $DMP_NEWEST_SOURCE"
fi
passed=0 failed=0
t0=$(date +%s)

result() { # NAME RC
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $1"
	else
		failed=$((failed + 1))
		echo "not ok - $1"
	fi
}

# cargo_tests DIR NAME: run a crate's unit tests, add its counts.
cargo_tests() {
	local log=out/host-$2.log hp hf
	(cd "$1" && cargo test --quiet --workspace 2>&1) >"$log"
	local rc=$?
	cat "$log"
	read -r hp hf < <(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log" |
		awk '{p += $1; f += $2} END {print p + 0, f + 0}')
	[ $rc -eq 0 ] || [ "$hf" -gt 0 ] || hf=1
	passed=$((passed + hp)) failed=$((failed + hf))
}

# guest_run NAME VARIANT TIMEOUT CMDLINE FILTER WHAT: boot the VARIANT kernel
# (with CMDLINE added), run the guest cases matching FILTER, add their counts;
# a bad kernel log of the whole run counts as a failure (vm.sh fails on it).
guest_run() {
	local name=$1 v=$2 timeout=$3 cmdline=$4 filter=$5 what=$6 skip=${7:-} start vmrc gp gf rc
	start=$(date +%s)
	scripts/vm.sh -k "$v" -t "$timeout" -o "out/vm-$name" ${cmdline:+-c "$cmdline"} -- \
		sh tests/run.sh "$filter" "$skip" | tee "out/guest-$name.log"
	vmrc=${PIPESTATUS[0]}
	log "guest suite on $what: $(($(date +%s) - start)) s"
	read -r gp gf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "out/guest-$name.log" | tail -1)
	if [ -z "${gp:-}" ]; then
		result "guest suite on $what ran to its end" 1
		return
	fi
	passed=$((passed + gp)) failed=$((failed + gf))
	if [ "$vmrc" -ne 0 ] && [ "$gf" -eq 0 ]; then rc=1; else rc=0; fi
	result "kernel log of the run on $what is clean" $rc
}

# build_ko VARIANT [MAKE-ARGS]: dmp.ko for that kernel, in the repository root.
build_ko() {
	make -s clean KDIR="$(kernel_dir normal)" LLVM="$LLVM_SUFFIX" >/dev/null 2>&1
	if is_stock "$1"; then
		# shellcheck disable=SC2046 # the options are words
		scripts/debian-stock.sh $(stock_args "$1") build >/dev/null
	else
		make KDIR="$(kernel_dir "$1")" LLVM="$LLVM_SUFFIX" ${2:-}
	fi
}

# The build tree of a kernel.
tree_of() {
	# shellcheck disable=SC2046 # the options are words
	if is_stock "$1"; then scripts/debian-stock.sh $(stock_args "$1") prepare 2>/dev/null; else kernel_dir "$1"; fi
}

"$DMP_ROOT/scripts/setup.sh" || die "set-up failed"
for v in $variants $build_only; do
	k0=$(date +%s)
	if is_stock "$v"; then
		# shellcheck disable=SC2046 # the options are words
		"$DMP_ROOT/scripts/debian-stock.sh" $(stock_args "$v") prepare >/dev/null || die "preparing Debian's stock kernel $v failed"
	else
		"$DMP_ROOT/scripts/build-kernel.sh" "$v" >/dev/null || die "building the $v kernel failed"
	fi
	log "kernel $v ready: $(($(date +%s) - k0)) s"
done
log "kernels ready after $(($(date +%s) - t0)) s"

mkdir -p out
# Host unit tests of the kernel-free code, and of dmpstat.
cargo_tests tests/host dmp
cargo_tests tools tools
cargo_tests tests/logreplay logreplay

make -s rustfmt-check >out/rustfmt.log 2>&1 &&
	(cd tools && cargo fmt --all --check) >>out/rustfmt.log 2>&1 &&
	(cd tests/logreplay && cargo fmt --check) >>out/rustfmt.log 2>&1
rc=$?
[ $rc -eq 0 ] || cat out/rustfmt.log
result "rustfmt --check" $rc

# `make` against a kernel dmp cannot be built for: one clear line, no build.
refusal() { # NAME EXPECTED_TEXT MAKE_ARGS...
	local name=$1 want=$2 out
	shift 2
	out=$(make -s "$@" 2>&1 >/dev/null | head -1)
	[[ $out == "dmp: cannot build for "*"$want"* ]] && [ ! -e dmp.ko ]
	local rc=$?
	[ $rc -eq 0 ] || echo "got: $out"
	result "make refuses $name with one line" $rc
}
rm -f dmp.ko
fake=$(mktemp -d)
grep -v '^CONFIG_RUST' "$(kernel_dir normal)/.config" >"$fake/.config"
refusal "a kernel without CONFIG_RUST" "built without Rust support" KDIR="$fake"
printf '#!/bin/sh\necho "bindgen 0.60.1"\n' >"$fake/bindgen" && chmod +x "$fake/bindgen"
refusal "too old a bindgen" "bindgen 0.60.1 is older than this kernel needs" \
	KDIR="$(kernel_dir normal)" BINDGEN="$fake/bindgen"
printf '#!/bin/sh\necho "rustc 1.78.0 (9b00956e5 2024-04-29)"\n' >"$fake/rustc" && chmod +x "$fake/rustc"
refusal "another rustc than the kernel's" "is not the compiler the kernel was built with" \
	KDIR="$(kernel_dir normal)" RUSTC="$fake/rustc"
rm -rf "$fake"

# Following the archive: the image names of every release and update
# (+debNN.M), a package that has gone, a kernel without Rust: one line each.
re=$(image_re amd64)
names="linux-image-6.12.115+deb13.1-amd64 linux-image-7.3-amd64 linux-image-7.3.4+deb13-amd64 linux-image-7.2.13+deb14-rt-amd64 linux-image-7.3.4+deb13-amd64-dbg linux-image-7.3.4+deb13-amd64-unsigned linux-image-amd64"
got=$(for n in $names; do echo "$n" | grep -cxE "$re"; done | tr -d '\n')
[ "$got" = 1110000 ]
result "amd64 image names matched: +debNN, +debNN.M, experimental's; not rt, -dbg, -unsigned, the meta package ($got)" $?
out=$(scripts/debian-pkg.sh trixie-backports linux-source-0.1 2>&1 >/dev/null)
rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | grep -c .)" -eq 1 ] &&
	[[ $out == *"no package linux-source-0.1 in trixie-backports (gone or renamed?)" ]]
rc=$?
[ $rc -eq 0 ] || echo "got: $out"
result "a package gone from the archive stops with one line naming it and the suite" $rc
out=$(scripts/debian-stock.sh --suite trixie --flavour amd64 prepare 2>&1 >/dev/null | grep -vE '\] (downloading|updating) ')
[[ $(echo "$out" | grep -c .) -eq 1 && $out == *"error: "*"+deb13"*"-amd64 is not built with CONFIG_RUST=y: nothing to build dmp against" ]]
rc=$?
[ $rc -eq 0 ] || echo "got: $out"
result "Debian 13's own kernel (no Rust) is refused with one line" $rc

(cd tools && cargo clippy --quiet --release --workspace --all-targets -- -D warnings) >out/clippy-tools.log 2>&1
rc=$?
[ $rc -eq 0 ] || cat out/clippy-tools.log
result "dmpdev, dmpstat, dmpctl: clippy without warnings" $rc
(cd tests/logreplay && cargo clippy --quiet --release -- -D warnings) >out/clippy-logreplay.log 2>&1
rc=$?
[ $rc -eq 0 ] || cat out/clippy-logreplay.log
result "logreplay: clippy without warnings" $rc

for v in $variants $build_only; do
	log "building dmp.ko against the $v kernel"
	if [ "$v" = normal ] || [ "$v" = newest ]; then
		# clippy and rustc warnings are errors here. (The stock kernels'
		# builds run Debian's own rustc, without clippy: their warnings are
		# errors below.)
		build_ko "$v" CLIPPY=1 >"out/build-clippy-$(variant_slug "$v").log" 2>&1
		rc=$?
		grep -qE '^(warning|error)' "out/build-clippy-$(variant_slug "$v").log" && rc=1
		[ $rc -eq 0 ] || cat "out/build-clippy-$(variant_slug "$v").log"
		result "dmp.ko builds without warnings (clippy, $v kernel)" $rc
	fi
	blog=out/build-$(variant_slug "$v").log
	if ! build_ko "$v" >"$blog" 2>&1; then
		cat "$blog"
		result "dmp.ko builds ($v kernel)" 1
		continue
	fi
	if is_stock "$v"; then
		! grep -qE '^(warning|error)' "$blog"
		rc=$?
		[ $rc -eq 0 ] || cat "$blog"
		result "dmp.ko builds without warnings (Debian's rustc, $v kernel)" $rc
	fi
	# What the kernel checks when it loads a module (make runs this too: a
	# failure here would be a build that lied).
	scripts/check-module.sh dmp.ko "$(tree_of "$v")"
	result "dmp.ko has one .modinfo with name, license, version and the vermagic of the $v kernel" $?
	log "dmp.ko for $v: vermagic '$(modinfo -F vermagic dmp.ko)'"
	scripts/check-hot-path.sh dmp.ko >"out/hot-path-$(variant_slug "$v").log" 2>&1
	rc=$?
	cat "out/hot-path-$(variant_slug "$v").log"
	result "no locked instruction on the bio path ($v kernel)" $rc
	# The tree's dm_per_bio_data() passed scripts/probe-dm-core.sh, so the
	# module finds per-bio data inline and never calls it (a debug build
	# calls it, to check every inline result against it).
	if [ "$v" != debug ]; then
		! objdump -dr dmp.ko | grep -qE 'R_X86_64_(PLT|PC)32\s+dm_per_bio_data'
		result "per-bio data found inline, no call to dm_per_bio_data ($v kernel)" $?
	fi
	[[ " $build_only " == *" $v "* ]] && continue
	timeout=1200
	[ "$v" = debug ] && timeout=2400
	skip=
	[[ " $subset_legs " == *" $v "* ]] && skip=$SUBSET_SKIP
	# Under KASAN and lockdep the userspace-only cases (Prometheus,
	# node_exporter, heatmap) only take time.
	[ "$v" = debug ] && skip='^t_(monitoring_|dmpstat_heatmap)'

	guest_run "$(variant_slug "$v")" "$v" $timeout "" "${DMP_TEST_FILTER:-}" "the $v kernel${skip:+ (subset)}" "$skip"
done

# The generic latency clock: the 6.12 kernel booted with tsc=unstable does
# not trust its TSC, so dmp measures with ktime_get(); the cases that check
# latencies run again there.
if [[ " $variants " == *" normal "* ]]; then
	if build_ko normal >out/build-ktime.log 2>&1; then
		guest_run ktime normal 1200 tsc=unstable \
			"${DMP_TEST_FILTER:-latency|histogram|stats_clear|reload_keeps|json_equals}" \
			"the normal kernel with tsc=unstable"
	else
		cat out/build-ktime.log
		result "dmp.ko builds (normal kernel, tsc=unstable run)" 1
	fi
fi

if [ "${DMP_TEST_DKMS:-1}" != 0 ] && [[ " $variants " == *" debian:trixie-backports:amd64 "* ]]; then
	tests/dkms-check.sh >out/dkms.log 2>&1
	rc=$?
	cat out/dkms.log
	result "dkms builds for Debian's stock Rust kernel and skips a kernel without Rust" $rc
fi
# Checks that run on the host (and may boot a VM of their own):
# tests/host-checks/*.sh, each printing "ok - NAME" / "not ok - NAME" lines.
# One that exits non-zero without a "not ok" line counts as one failure.
for s in tests/host-checks/*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	log "host checks: $name"
	DMP_TEST_KERNELS="$variants" bash "$s" 2>&1 | tee "out/host-check-$name.log"
	rc=${PIPESTATUS[0]}
	hp=$(grep -c '^ok - ' "out/host-check-$name.log")
	hf=$(grep -c '^not ok - ' "out/host-check-$name.log")
	[ "$rc" -eq 0 ] || [ "$hf" -gt 0 ] || hf=1
	passed=$((passed + hp)) failed=$((failed + hf))
done
make -s clean KDIR="$(kernel_dir normal)" LLVM="$LLVM_SUFFIX" >/dev/null 2>&1

log "test command: $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

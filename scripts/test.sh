#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The test command (`make test`, called by .ci/run): installs what is missing,
# builds the test kernels and Debian trees (cached), dmp.ko for each, runs the
# host checks (unit tests of the kernel-free code and of the tools, rustfmt,
# clippy, no locked instruction on the bio path, ...) and the guest suite in a
# VM on each kernel, prints the wall time of each phase and ends with
# "N passed, N failed".
#
# The work is a graph of jobs run two cores' worth at a time
# (scripts/sched.sh): while one kernel builds, a Debian tree is prepared or a
# suite runs. Logs: out/jobs/*.log (one per phase), out/times.txt (the
# phases' wall times), out/vm-*/console.log (the guests' kernel logs).
#
#   DMP_TEST_KERNELS="..."   the legs (default: all below):
#       normal, debug  6.12 LTS (Debian 12's linux-source-6.12), clang, without
#                      and with KASAN, lockdep, kmemleak, fault injection
#       newest         the newest linux-source-X.Y of the Debian suites (today
#                      7.3.4 from trixie-backports), clang
#       debian:trixie-backports:amd64     Debian 13's stock backports kernel (GCC 14)
#       debian:sid:amd64                  Debian sid's stock kernel (GCC 16)
#       debian:trixie-backports:rt-amd64  Debian 13's PREEMPT_RT kernel
#   DMP_TEST_BUILD_ONLY="debian:..."  kernels dmp.ko is built and checked
#                      for, not booted (default: none)
#   DMP_TEST_FILTER=regex          only guest cases whose name matches it
#   DMP_TEST_SLOTS=N               room for jobs at once, in quarter-cores (12)
#   DMP_TEST_SYSTEM=0              skip the real-system leg (and the packages)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sched.sh"
cd "$DMP_ROOT"

legs=${DMP_TEST_KERNELS:-normal debug newest debian:trixie-backports:amd64 debian:trixie-backports:rt-amd64 debian:sid:amd64}
build_only=${DMP_TEST_BUILD_ONLY-}

# Which guest cases run on which leg (README, "What runs where"). Every case
# runs in full on one leg of each kernel series: 6.12 (normal), 7.2 (sid) and
# 7.3 (rt-amd64). The two other 7.3.4 legs (the clang-built `newest` and
# Debian's amd64, the same source) leave out what tests no kernel
# difference: the 100-round churn, the thousand random inputs, dmpstat's
# output formats, the Prometheus/node_exporter/heatmap cases and the ext4
# crash-replay workload (its flush/FUA pass-through is checked there by the
# short over-dmp-equals-over-linear case).
SUBSET_SKIP='^t_(churn_|random_|monitoring_|dmpstat_(lists|plain|sums|interval|interrupt|prometheus|bad|without|heatmap)|crash_replay_through_)'
# The debug leg (KASAN, lockdep, kmemleak, fault injection; every I/O costs
# several times more) runs what exercises dmp's kernel memory and locking
# paths: loading, tables good and bad, every kind of bio, messages, resets
# and reloads under I/O, errors below, devices vanishing, zones, fault
# injection, random input. It leaves out the cases that test userspace
# (dmpstat's formats, Prometheus, node_exporter, the heatmap) and those whose
# paths through dmp the cases it runs already take with less I/O: ext4 and
# its crash-replay workload, the mixed fio load, zoned fio, and the attach
# cases (LVM and dmpctl drive the same reloads as the reload cases).
DEBUG_SKIP='^t_(ext4_on_dmp|fio_mixed_load|zoned_fio|attach_|layered_|monitoring_|dmpstat_(lists|plain|sums|interval|interrupt|prometheus|bad|without|heatmap)|crash_replay_through_)'

t0=$(date +%s)
mkdir -p out
rm -rf out/jobs out/ko
mkdir -p out/jobs

# --- set-up: before anything else (packages, rust-src, bindgen) -------------
log "set-up"
"$DMP_ROOT/scripts/setup.sh" || die "set-up failed"
setup_s=$(($(date +%s) - t0))
log "set-up: $setup_s s"
# The archive is read once: every job of this run sees the same kernels.
if [[ " $legs $build_only " == *" newest "* ]]; then
	DMP_NEWEST_SOURCE=$(newest_source) || die "cannot find the newest kernel source"
	export DMP_NEWEST_SOURCE
	log "newest kernel source: $DMP_NEWEST_SOURCE"
fi

# --- the jobs ----------------------------------------------------------------

j_kernel() { "$DMP_ROOT/scripts/build-kernel.sh" "$1"; }

j_chroot() { "$DMP_ROOT/scripts/debian-chroot.sh" --suite "$1" ensure; }

# A Debian stock kernel: its build tree (Rust metadata regenerated) and the
# kernel as shipped, for the VM.
j_tree() {
	# shellcheck disable=SC2046 # the options are words
	"$DMP_ROOT/scripts/debian-stock.sh" $(stock_args "$1") prepare &&
		"$DMP_ROOT/scripts/debian-stock.sh" $(stock_args "$1") guest
}

# The host side: unit tests, formatting, clippy, the test helpers of the
# guest and its base image.
cargo_tests() { # DIR NAME
	local log=out/host-$2.log hp hf rc
	(cd "$1" && cargo test --quiet --workspace 2>&1) >"$log"
	rc=$?
	cat "$log"
	read -r hp hf < <(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log" |
		awk '{p += $1; f += $2} END {print p + 0, f + 0}')
	[ $rc -eq 0 ] || [ "$hf" -gt 0 ] || hf=1
	add_counts "$hp" "$hf"
	echo "host tests of $1: $hp passed, $hf failed"
}
j_host() {
	local rc
	cargo_tests tests/host dmp
	cargo_tests tools tools
	cargo_tests tests/logreplay logreplay
	make -s rustfmt-check >out/rustfmt.log 2>&1 &&
		(cd tools && cargo fmt --all --check) >>out/rustfmt.log 2>&1 &&
		(cd tests/logreplay && cargo fmt --check) >>out/rustfmt.log 2>&1
	rc=$?
	[ $rc -eq 0 ] || cat out/rustfmt.log
	result "rustfmt --check" $rc
	(cd tools && cargo clippy --quiet --release --workspace --all-targets -- -D warnings) >out/clippy-tools.log 2>&1
	rc=$?
	[ $rc -eq 0 ] || cat out/clippy-tools.log
	result "dmpdev, dmpstat, dmpctl: clippy without warnings" $rc
	(cd tests/logreplay && cargo clippy --quiet --release -- -D warnings) >out/clippy-logreplay.log 2>&1
	rc=$?
	[ $rc -eq 0 ] || cat out/clippy-logreplay.log
	result "logreplay: clippy without warnings" $rc
	# What every VM run uses: the tools, the guest's base image.
	cargo build -q --release --manifest-path tools/Cargo.toml && cargo build -q --release --manifest-path tests/logreplay/Cargo.toml &&
		"$DMP_ROOT/scripts/initramfs.sh" >/dev/null
}

# `make` against a kernel dmp cannot be built for: one clear line, no build;
# the archive's names followed.
refusal() { # NAME EXPECTED_TEXT MAKE_ARGS...
	local name=$1 want=$2 out rc
	shift 2
	out=$(make -s -C "$src" "$@" 2>&1 >/dev/null | head -1)
	[[ $out == "dmp: cannot build for "*"$want"* ]] && [ ! -e "$src/dmp.ko" ]
	rc=$?
	[ $rc -eq 0 ] || echo "got: $out"
	result "make refuses $name with one line" $rc
}
j_refusals() {
	local fake re names got out rc src
	src=$(copy_source out/ko/refusals)
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
	return 0
}

# A copy of the module's source (what git knows or would add) in DIR/src, so
# that several legs build at once, each in its own directory.
copy_source() { # DIR -> prints DIR/src
	local d=$1/src
	rm -rf "$d"
	mkdir -p "$d"
	git ls-files -z --cached --others --exclude-standard -- Kbuild Makefile '*.rs' '*.h' dm scripts |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -C "$d" -xf -
	echo "$d"
}

# dmp.ko for a leg, in out/ko/SLUG/dmp.ko, and what is checked of it.
j_ko() {
	local v=$1 slug dir src blog tree rc
	slug=$(variant_slug "$v")
	dir=out/ko/$slug
	mkdir -p "$dir"
	blog=$dir/build.log
	if is_stock "$v"; then
		# shellcheck disable=SC2046 # the options are words
		if ! scripts/debian-stock.sh $(stock_args "$v") build "$DMP_ROOT/$dir/dmp.ko" >"$blog" 2>&1; then
			cat "$blog"
			result "dmp.ko builds ($v kernel)" 1
			return 1
		fi
		# Debian's own rustc, without clippy: its warnings are errors here.
		! grep -qE '^(warning|error)' "$blog"
		rc=$?
		[ $rc -eq 0 ] || cat "$blog"
		result "dmp.ko builds without warnings (Debian's rustc, $v kernel)" $rc
		# shellcheck disable=SC2046 # the options are words
		tree=$(scripts/debian-stock.sh $(stock_args "$v") prepare 2>/dev/null)
	else
		tree=$(kernel_dir "$v")
		if [ "$v" = normal ] || [ "$v" = newest ]; then
			# clippy and rustc warnings are errors here.
			src=$(copy_source "$dir/clippy")
			make -C "$src" KDIR="$tree" LLVM="$LLVM_SUFFIX" CLIPPY=1 >"$dir/build-clippy.log" 2>&1
			rc=$?
			grep -qE '^(warning|error)' "$dir/build-clippy.log" && rc=1
			[ $rc -eq 0 ] || cat "$dir/build-clippy.log"
			result "dmp.ko builds without warnings (clippy, $v kernel)" $rc
		fi
		src=$(copy_source "$dir")
		if ! make -C "$src" KDIR="$tree" LLVM="$LLVM_SUFFIX" >"$blog" 2>&1; then
			cat "$blog"
			result "dmp.ko builds ($v kernel)" 1
			return 1
		fi
		cp "$src/dmp.ko" "$dir/dmp.ko"
		if [ "$v" = normal ]; then
			# The bio path a rustc older than 1.82 (no `asm!` const
			# operands) builds: the tsc=unstable run boots it.
			src=$(copy_source "$dir/noconst")
			make -C "$src" KDIR="$tree" LLVM="$LLVM_SUFFIX" CLIPPY=1 DMP_ASM_CONST=n >"$dir/build-noconst.log" 2>&1
			rc=$?
			grep -qE '^(warning|error)' "$dir/build-noconst.log" && rc=1
			[ $rc -eq 0 ] || cat "$dir/build-noconst.log"
			result "dmp.ko builds without asm const operands, as with rustc < 1.82 (clippy, $v kernel)" $rc
			mkdir -p "out/ko/normal-noconst"
			cp "$src/dmp.ko" out/ko/normal-noconst/dmp.ko
			scripts/check-hot-path.sh out/ko/normal-noconst/dmp.ko
			result "no locked instruction on the bio path (without asm const operands, $v kernel)" $?
		fi
	fi
	# What the kernel checks when it loads a module (make runs this too: a
	# failure here would be a build that lied).
	scripts/check-module.sh "$dir/dmp.ko" "$tree"
	result "dmp.ko has one .modinfo with name, license, version and the vermagic of the $v kernel" $?
	log "dmp.ko for $v: vermagic '$(modinfo -F vermagic "$dir/dmp.ko")'"
	scripts/check-hot-path.sh "$dir/dmp.ko"
	result "no locked instruction on the bio path ($v kernel)" $?
	# The tree's dm_per_bio_data() passed scripts/probe-dm-core.sh, so the
	# module finds per-bio data inline and never calls it (a debug build
	# calls it, to check every inline result against it).
	if [ "$v" != debug ]; then
		! objdump -dr "$dir/dmp.ko" | grep -qE 'R_X86_64_(PLT|PC)32\s+dm_per_bio_data'
		result "per-bio data found inline, no call to dm_per_bio_data ($v kernel)" $?
	fi
	return 0
}

# The guest suite on a leg: CASES (regex), SKIP (regex), extra kernel
# command line. A bad kernel log of the whole run counts as one failure.
j_suite() { # VARIANT NAME TIMEOUT CMDLINE CASES SKIP [KO]
	local v=$1 name=$2 timeout=$3 cmdline=$4 cases=$5 skip=$6 ko=${7:-out/ko/$(variant_slug "$1")/dmp.ko} gp gf vmrc gcmd
	gcmd='sh tests/run.sh "$1" "$2"'
	# The normal leg's run also brings the heatmap its bimodal case drew to
	# the host (base64), for tests/host-checks/heatmap.sh.
	[ "$name" = normal ] && gcmd='sh tests/run.sh "$1" "$2"; rc=$?; if [ -f /tmp/dmp-heatmap.svg ]; then echo ==SVG==; base64 /tmp/dmp-heatmap.svg; echo ==STATS==; cat /tmp/dmp-heatmap.stats; echo ==END==; fi; exit $rc'
	scripts/vm.sh -k "$v" -K "$ko" -t "$timeout" -o "out/vm-$name" \
		${cmdline:+-c "$cmdline"} -- sh -c "$gcmd" sh "$cases" "$skip" >"out/guest-$name.log"
	vmrc=$?
	sed -n '/^==SVG==$/,$!p' "out/guest-$name.log"
	read -r gp gf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "out/guest-$name.log" | tail -1)
	if [ -z "${gp:-}" ]; then
		result "guest suite on the $name leg ran to its end" 1
		return 0
	fi
	add_counts "$gp" "$gf"
	if [ "$vmrc" -ne 0 ] && [ "$gf" -eq 0 ]; then
		result "kernel log of the run on the $name leg is clean" 1
	else
		result "kernel log of the run on the $name leg is clean" 0
	fi
	return 0
}

# A host check: tests/host-checks/NAME.sh prints "ok - ..." lines.
j_check() {
	local s=tests/host-checks/$1.sh rc hp hf
	DMP_TEST_KERNELS="$legs" DMP_HEATMAP_FROM=$DMP_ROOT/out/guest-normal.log bash "$s" 2>&1 | tee "out/host-check-$1.log"
	rc=${PIPESTATUS[0]}
	hp=$(grep -c '^ok - ' "out/host-check-$1.log")
	hf=$(grep -c '^not ok - ' "out/host-check-$1.log")
	[ "$rc" -eq 0 ] || [ "$hf" -gt 0 ] || hf=1
	add_counts "$hp" "$hf"
	return 0
}

# The Debian packages (make deb) with the Rust metadata of the two stock
# kernels the real-system leg installs, checked by lintian.
SYSTEM_KERNELS="debian:trixie-backports:amd64 debian:trixie-backports:rt-amd64"
j_debs() {
	local k args=()
	for k in $SYSTEM_KERNELS; do args+=(--kernel "$k"); done
	scripts/deb.sh --lintian --out out/deb "${args[@]}"
	result "the Debian packages build, and lintian finds no error in them" $?
}
# The real-system leg's image (cached) and the leg itself.
j_image() { bash tests/system/run.sh --image-only -o out/system; }
j_system() {
	local rc hp hf
	bash tests/system/run.sh --debs out/deb -o out/system 2>&1 | tee out/system.log
	rc=${PIPESTATUS[0]}
	hp=$(grep -c '^ok - ' out/system.log)
	hf=$(grep -c '^not ok - ' out/system.log)
	[ "$rc" -eq 0 ] || [ "$hf" -gt 0 ] || hf=1
	add_counts "$hp" "$hf"
	return 0
}

# --- the graph ---------------------------------------------------------------
# Declared in the order they should start when there is room: the critical
# path (the kernels) first, the Debian trees beside them, each suite as soon
# as its kernel is there.
has() { [[ " $legs $build_only " == *" $1 "* ]]; }
stock_legs=() self_legs=()
for v in $legs $build_only; do
	if is_stock "$v"; then stock_legs+=("$v"); else self_legs+=("$v"); fi
done
needs_of() { if is_stock "$1"; then echo "tree:$1"; else echo "kernel:$1"; fi; }
chroots=()
for v in "${stock_legs[@]}"; do
	# shellcheck disable=SC2046 # the options are words
	s=$(set -- $(stock_args "$v"); echo "$2")
	case $s in *-backports) b=${s%-backports} ;; experimental | unstable) b=sid ;; *) b=$s ;; esac
	[[ " ${chroots[*]} " == *" $b:"* ]] || chroots+=("$b:$s")
done

for c in "${chroots[@]}"; do job "chroot:${c%%:*}" 1 "" j_chroot "${c#*:}"; done
chroot_of() { # stock variant -> its chroot job
	local s b
	# shellcheck disable=SC2046 # the options are words
	s=$(set -- $(stock_args "$1"); echo "$2")
	case $s in *-backports) b=${s%-backports} ;; experimental | unstable) b=sid ;; *) b=$s ;; esac
	echo "chroot:$b"
}
# The kernel builds are the long path: each starts as soon as the previous one
# ends. Beside each runs one job of a core or less: the Debian trees (their
# Rust crates build one after the other), the host tests, then the suites of
# the kernels that are ready (a TCG guest keeps about one core busy).
for v in "${self_legs[@]}"; do job "kernel:$v" 8 "" j_kernel "$v"; done
for s in "${stock_legs[@]}"; do job "tree:$s" 4 "$(chroot_of "$s")" j_tree "$s"; done
# The real-system leg: the packages installed into a Debian 13 image booted
# with systemd, rebooted and purged (tests/system/run.sh). It installs the
# two stock trixie-backports kernels whose trees the legs prepare. Its image
# (debootstrap, mkfs) is made beside the first kernel build.
system=
if [ "${DMP_TEST_SYSTEM:-1}" != 0 ] && has debian:trixie-backports:amd64 && has debian:trixie-backports:rt-amd64; then
	system=1
	job image 2 "" j_image
fi
job host 4 "" j_host
has normal && job refusals 2 "kernel:normal" j_refusals
for v in $legs $build_only; do
	job "ko:$v" 2 "$(needs_of "$v")" j_ko "$v"
done
if [ -n "$system" ]; then
	job debs 4 "tree:debian:trixie-backports:amd64 tree:debian:trixie-backports:rt-amd64 host" j_debs
	job system 4 "image debs" j_system
fi
for v in $legs; do
	case $v in
	normal | debian:sid:amd64 | debian:trixie-backports:rt-amd64) skip= ;;
	debug) skip=$DEBUG_SKIP ;;
	*) skip=$SUBSET_SKIP ;;
	esac
	timeout=1200
	[ "$v" = debug ] && timeout=2400
	job "suite:$v" 4 "ko:$v host" j_suite "$v" "$(variant_slug "$v")" $timeout "" "${DMP_TEST_FILTER:-}" "$skip"
done
# The generic latency clock: the 6.12 kernel booted with tsc=unstable does
# not trust its TSC, so dmp measures with ktime_get(); the cases that check
# latencies, histograms and counts run again there, with the dmp.ko a rustc
# without `asm!` const operands builds (the other form of the bio path's
# per-CPU adds).
has normal && job "suite:normal tsc=unstable" 4 "ko:normal host" j_suite normal ktime 1200 tsc=unstable \
	"${DMP_TEST_FILTER:-latency|histogram|stats_clear|reload_keeps|json_equals|counted_exactly|concurrent_fio}" "" \
	out/ko/normal-noconst/dmp.ko
for s in tests/host-checks/*.sh; do
	n=$(basename "$s" .sh)
	needs=host
	if [ "$n" = heatmap ]; then
		# It draws from the normal leg's run of the bimodal case.
		has normal && echo "t_dmpstat_heatmap_bimodal" | grep -qE "${DMP_TEST_FILTER:-.}" || continue
		needs="suite:normal"
	fi
	job "check:$n" 2 "$needs" j_check "$n"
done

run_jobs
total=$(($(date +%s) - t0))
{
	sched_times | sed -n 1p
	printf '%-46s %7d %7d\n' "set-up (packages, rust-src, bindgen)" 0 "$setup_s"
	sched_times | sed 1d
	printf '%-46s %7s %7d\n' "test command" "" "$total"
} | tee out/times.txt
log "test command: $total s"
read -r passed failed < <(sched_counts)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The test command (`make test`, called by .ci/run): installs what is missing,
# builds the test kernels (cached) and dmp.ko, runs the host checks (unit
# tests, rustfmt, clippy) and the guest suite in a VM on each kernel, and
# ends with "N passed, N failed".
#
#   DMP_TEST_KERNELS="normal debug"  kernels to run the guest suite on
#   DMP_TEST_FILTER=pattern          only guest cases whose name contains it
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$DMP_ROOT"

variants=${DMP_TEST_KERNELS:-normal debug}
passed=0 failed=0

result() { # NAME RC
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $1"
	else
		failed=$((failed + 1))
		echo "not ok - $1"
	fi
}

"$DMP_ROOT/scripts/setup.sh" || die "set-up failed"
for v in $variants; do
	"$DMP_ROOT/scripts/build-kernel.sh" "$v" >/dev/null || die "building the $v kernel failed"
done

mkdir -p out
# Host unit tests of the kernel-free code.
(cd tests/host && cargo test --quiet 2>&1) | tee out/host-tests.log
read -r hp hf < <(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' out/host-tests.log |
	awk '{p += $1; f += $2} END {print p + 0, f + 0}')
[ "${PIPESTATUS[0]}" -eq 0 ] || [ "$hf" -gt 0 ] || hf=1
passed=$((passed + hp)) failed=$((failed + hf))

make -s rustfmt-check >out/rustfmt.log 2>&1
rc=$?
[ $rc -eq 0 ] || cat out/rustfmt.log
result "rustfmt --check" $rc

for v in $variants; do
	kdir=$(kernel_dir "$v")
	log "building dmp.ko against the $v kernel"
	make -s clean KDIR="$kdir" LLVM="$LLVM_SUFFIX" >/dev/null 2>&1
	if [ "$v" = normal ]; then
		# clippy and rustc warnings are errors here.
		make KDIR="$kdir" LLVM="$LLVM_SUFFIX" CLIPPY=1 >out/build-clippy.log 2>&1
		rc=$?
		grep -qE '^(warning|error)' out/build-clippy.log && rc=1
		[ $rc -eq 0 ] || cat out/build-clippy.log
		result "dmp.ko builds without warnings (clippy, $v kernel)" $rc
		make -s clean KDIR="$kdir" LLVM="$LLVM_SUFFIX" >/dev/null 2>&1
	fi
	if ! make KDIR="$kdir" LLVM="$LLVM_SUFFIX" >out/build-$v.log 2>&1; then
		cat out/build-$v.log
		result "dmp.ko builds ($v kernel)" 1
		continue
	fi
	timeout=900
	[ "$v" = debug ] && timeout=2400
	scripts/vm.sh -k "$v" -t $timeout -o "out/vm-$v" -- \
		sh tests/run.sh "${DMP_TEST_FILTER:-}" | tee "out/guest-$v.log"
	vmrc=${PIPESTATUS[0]}
	read -r gp gf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "out/guest-$v.log" | tail -1)
	if [ -z "${gp:-}" ]; then
		result "guest suite on the $v kernel ran to its end" 1
	else
		passed=$((passed + gp)) failed=$((failed + gf))
		# Kernel log checks of the whole run (vm.sh fails on a bad log).
		if [ "$vmrc" -ne 0 ] && [ "$gf" -eq 0 ]; then rc=1; else rc=0; fi
		result "kernel log of the $v run is clean" $rc
	fi
	gp= gf=
done
make -s clean KDIR="$(kernel_dir normal)" LLVM="$LLVM_SUFFIX" >/dev/null 2>&1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

# SPDX-License-Identifier: GPL-2.0
# Seeded random input: thousands of mutated table lines, messages and
# `volumes` writes (tests/tools/fuzz_input.rs), each checked against the
# SPEC; then nothing may be left behind and the module must unload.

t_random_table_lines_messages_and_volumes_writes() {
	load
	l=$(loopdev 16)
	# 1000 of each (a new seed every run: replay with DMP_FUZZ_SEED).
	n=1000
	/dmp/bin/fuzz_input $l 32768 $n ${DMP_FUZZ_SEED:-} >$T/fuzz.log 2>&1
	rc=$?
	cat $T/fuzz.log
	[ $rc -eq 0 ] || fail "random input (replay with DMP_FUZZ_SEED=$(sed -n 's/^seed //p' $T/fuzz.log))"
	sed 's/^/  # /' $T/fuzz.log
	assert_eq "$($DMSETUP ls)" "No devices found" "devices left"
	must rmmod dmp
}

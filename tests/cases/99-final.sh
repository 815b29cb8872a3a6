# SPDX-License-Identifier: GPL-2.0
# Checks of the whole run; they come last.

# On the debug kernel: after everything above, a forced kmemleak scan finds
# nothing (the runner cleared boot-time reports before the first case).
t_kmemleak_finds_no_leak() {
	KML=/sys/kernel/debug/kmemleak
	if [ ! -e $KML ]; then
		echo "no kmemleak in this kernel"
		exit 77
	fi
	# Objects younger than a few seconds are not reported yet: scan twice.
	echo scan >$KML
	sleep 6
	echo scan >$KML
	leaks=$(cat $KML)
	[ -z "$leaks" ] || { echo "$leaks" | head -60; fail "kmemleak reports leaks"; }
}

# SPDX-License-Identifier: GPL-2.0
# What in a kernel log is a problem. Sourced by tests/run.sh (in the guest,
# per case) and scripts/vm.sh (on the host, for the whole run).

KLOG_BAD='BUG:|WARNING:|Oops|Kernel panic|panicked at|KASAN|UBSAN|circular locking|recursive locking|lock held when returning|unreferenced object|general protection|INFO: task .* blocked|rcu: INFO|stack-protector'
KLOG_ALLOC='vmalloc error:|page allocation failure:'

# klog_problems FILE ALLOW_ALLOC: prints the problems in the kernel log FILE.
# A stack trace is one, unless ALLOW_ALLOC is 1 and it comes with a report of
# an allocation failure (which the fault-injection cases cause on purpose).
klog_problems() {
	grep -E "$KLOG_BAD" "$1"
	traces=$(grep -c 'Call Trace:' "$1")
	allowed=0
	[ "$2" = 1 ] && allowed=$(grep -cE "$KLOG_ALLOC" "$1")
	[ "$traces" -le "$allowed" ] || echo "$((traces - allowed)) stack trace(s) besides allocation failure reports"
}

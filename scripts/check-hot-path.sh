#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The bio path of dmp.ko takes no lock and uses no locked instruction: the
# compiled `map` and `end_io` callbacks, and every function of the module they
# call (followed through the call relocations), hold no `lock` prefix and no
# `xchg` with memory (locked implicitly) and call no lock function.
#   check-hot-path.sh [dmp.ko]     prints what it checked; exit 1 on a find
set -euo pipefail
ko=${1:-dmp.ko}
dis=$(mktemp)
trap 'rm -f "$dis"' EXIT
objdump -dr --no-show-raw-insn "$ko" >"$dis"

# Function bodies by name: "NAME" lines followed by their instructions.
body() { awk -v f="<$1>:" '$2 == f {on = 1; next} on && /^$/ {exit} on' "$dis"; }
defined() { grep -q "^[0-9a-f]* <$1>:$" "$dis"; }

todo=$(sed -n 's/^[0-9a-f]* <\(_R[A-Za-z0-9_]*2dm\(3map\|6end_io\)[A-Za-z0-9_]*\)>:$/\1/p' "$dis")
[ -n "$todo" ] || { echo "no map/end_io callbacks found in $ko" >&2; exit 1; }
seen=" "
bad=0
while [ -n "$todo" ]; do
	f=${todo%%$'\n'*}
	[ "$f" = "$todo" ] && todo= || todo=${todo#*$'\n'}
	case $seen in *" $f "*) continue ;; esac
	seen+="$f "
	b=$(body "$f")
	n=$(echo "$b" | grep -cE '^\s+[0-9a-f]+:' || true)
	if echo "$b" | grep -qE '\slock\s|\sxchg\s.*\('; then
		echo "LOCKED INSTRUCTION in $f:" >&2
		echo "$b" | grep -E '\slock\s|\sxchg\s.*\(' >&2
		bad=1
	fi
	for callee in $(echo "$b" | sed -n 's/.*R_X86_64_\(PLT32\|PC32\)\s*\([A-Za-z0-9_.$]*\)-0x4$/\2/p' | sort -u); do
		case $callee in
		*spin_lock* | *mutex_lock* | *_raw_* | *rwlock* | *down_read* | *down_write*)
			echo "LOCK CALL in $f: $callee" >&2
			bad=1
			;;
		esac
		defined "$callee" && todo+=$'\n'"$callee"
		todo=${todo#$'\n'}
	done
	echo "checked $f: $n instructions"
done
[ $bad -eq 0 ] && echo "no locked instruction on the bio path of $ko"
exit $bad

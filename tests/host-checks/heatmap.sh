#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dmpstat --heatmap in a real browser: from the normal leg's run of the
# guest case t_dmpstat_heatmap_bimodal (DMP_HEATMAP_FROM: that run's output),
# or booting the normal test kernel for it (bimodal reads through dmp, two
# idle intervals), brings the SVG dmpstat drew over the kernel's figures to
# the host (base64 on the guest's output), renders it with headless
# Chromium and checks the PNG by pixel sampling (heatmap_pixels.py).
# Runs when DMP_TEST_KERNELS has "normal". Prints "ok - ..." lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
case " ${DMP_TEST_KERNELS:-normal} " in
*" normal "*) ;;
*) exit 0 ;;
esac
out=out/heatmap
mkdir -p "$out"
for t in chromium /usr/bin/python3; do
	command -v $t >/dev/null || { echo "not ok - $t is installed (scripts/setup.sh)"; exit 1; }
done
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "not ok - python3-pil is installed (scripts/setup.sh)"; exit 1; }

# The normal leg's suite (scripts/test.sh) ran the bimodal case and brought
# its SVG to the host; run alone, this check boots the normal kernel for it.
if [ -n "${DMP_HEATMAP_FROM:-}" ]; then
	tr -d '\r' <"$DMP_HEATMAP_FROM" >"$out/guest.txt"
	rc=0
else
	. scripts/lib.sh
	make -s KDIR="$(kernel_dir normal)" LLVM="$LLVM_SUFFIX" >"$out/build.log" 2>&1 ||
		{ echo "not ok - dmp.ko builds for the normal kernel ($out/build.log)"; exit 1; }
	scripts/vm.sh -k normal -t 400 -o "$out/vm" -- sh -c 'sh tests/run.sh "^t_dmpstat_heatmap_bimodal$" &&
		{ echo ==SVG==; base64 /tmp/dmp-heatmap.svg; echo ==STATS==; cat /tmp/dmp-heatmap.stats; echo ==END==; }' 2>&1 |
		tr -d '\r' >"$out/guest.txt"
	rc=${PIPESTATUS[0]}
	sed -n 's/^\(ok\|not ok\) [0-9]* - \(.*\)/\1 - guest: \2/p' "$out/guest.txt"
	grep '^  # ' "$out/guest.txt"
fi
if [ $rc -ne 0 ] || ! grep -q '^==END==' "$out/guest.txt"; then
	echo "not ok - the guest drew the heatmap (vm.sh exit $rc, $out/guest.txt)"
	tail -20 "$out/guest.txt" | sed 's/^/#   /'
	exit 1
fi
sed -n '/^==SVG==$/,/^==STATS==$/p' "$out/guest.txt" | sed '1d;$d' | base64 -d >"$out/heatmap.svg"
sed -n '/^==STATS==$/,/^==END==$/p' "$out/guest.txt" | sed '1d;$d' >"$out/stats"
busy=$(sed -n 's/^HEATMAP_BUSY="\(.*\)"$/\1/p' tests/cases/82-monitoring.sh)
w=$(sed -n '1s/.* width="\([0-9]*\)" height="\([0-9]*\)".*/\1/p' "$out/heatmap.svg")
h=$(sed -n '1s/.* width="\([0-9]*\)" height="\([0-9]*\)".*/\2/p' "$out/heatmap.svg")
rm -f "$out/heatmap.png"
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
	--user-data-dir="$out/chromium-profile" --screenshot="$out/heatmap.png" --window-size="$w,$h" \
	"file://$PWD/$out/heatmap.svg" >"$out/chromium.log" 2>&1
rm -rf "$out/chromium-profile"
if [ ! -s "$out/heatmap.png" ]; then
	echo "not ok - Chromium renders the heatmap ($out/chromium.log)"
	exit 1
fi
echo "ok - Chromium renders the heatmap (${w}x${h})"
/usr/bin/python3 tests/host-checks/heatmap_pixels.py "$out/heatmap.svg" "$out/heatmap.png" "$out/stats" "$busy"

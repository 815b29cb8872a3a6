#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""heatmap_pixels.py SVG PNG STATS BUSY: checks Chromium's rendering (PNG)
of dmpstat's heatmap (SVG) by pixel sampling: in the read latency panel of
device dmpmix, the cell centres that are coloured are exactly those of the
busy columns (BUSY: "0 1 3 5") and of the rows of the kernel's non-empty
read latency buckets (STATS: `dmsetup message dmpmix 0 stats`), in two bands.
The geometry of the panel is read from the SVG's data attributes; what is
coloured is read from the PNG only. Prints "ok - ..." / "not ok - ..."."""
import sys
import xml.etree.ElementTree as ET
from PIL import Image

svg, png, stats, busy = sys.argv[1:5]
busy = [int(c) for c in busy.split()]
ns = {"s": "http://www.w3.org/2000/svg"}
panel = None
for g in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}g"):
    if (g.get("data-kind"), g.get("data-device"), g.get("data-op")) == ("latency", "dmpmix", "read"):
        panel = g
if panel is None:
    print("not ok - the SVG has a read latency panel of dmpmix")
    sys.exit(1)
x0, y0, cw, ch, cols, b0, b1 = (int(panel.get("data-" + k)) for k in ("x0", "y0", "cw", "ch", "cols", "b0", "b1"))
lat = None
for line in open(stats):
    if line.startswith("read lat_ns "):
        lat = [int(v) for v in line.split()[2:]]
kernel_rows = [b for b, c in enumerate(lat) if c > 0]

img = Image.open(png).convert("RGB")
fails = 0


def check(ok, what):
    global fails
    print(("ok - " if ok else "not ok - ") + what)
    fails += 0 if ok else 1


def coloured(col, b):
    x = x0 + col * cw + cw // 2
    y = y0 + (b1 - b) * ch + ch // 2
    r, g, bl = img.getpixel((x, y))
    return min(r, g, bl) < 200  # white background and grey axes are lighter


grid = {(c, b): coloured(c, b) for c in range(cols) for b in range(b0, b1 + 1)}
got_cols = sorted({c for (c, b), v in grid.items() if v})
got_rows = sorted({b for (c, b), v in grid.items() if v})
check(img.size[0] >= x0 + cols * cw, f"the PNG ({img.size[0]}x{img.size[1]}) holds the {cols} columns")
check(cols == 6, f"6 columns in the panel (got {cols})")
check(got_cols == busy, f"coloured columns {got_cols} are the busy intervals {busy}")
check(got_rows == kernel_rows, f"coloured rows {got_rows} are the kernel's non-empty read latency buckets {kernel_rows}")
# Two bands: the 24 delayed reads from row 17 up ([2^26, 2^27) ns holds
# 80 ms; above it if the host stalled the VM), the 24 others below row 16,
# and row 16 ([2^25, 2^26) ns) empty between them.
fast, slow = sum(lat[:16]), sum(lat[17:])
check(slow == 24 and fast == 24 and lat[16] == 0,
      f"the kernel: 24 reads at 2^26 ns or more, 24 below 2^25 ns (got {slow}, {fast}; {lat[17]} in [2^26, 2^27))")
check(17 in got_rows and 16 not in got_rows and min(got_rows) < 16,
      f"two bands: rows {[b for b in got_rows if b >= 17]} (80 ms) and rows {[b for b in got_rows if b < 16]}, row 16 empty between")
# Background where there is no data: outside the panel's cells, e.g. the
# idle columns in every row.
idle = [c for c in range(cols) if c not in busy]
check(all(not grid[(c, b)] for c in idle for b in range(b0, b1 + 1)), f"idle columns {idle} are empty in every row")
sys.exit(1 if fails else 0)

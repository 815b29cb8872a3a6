// SPDX-License-Identifier: GPL-2.0
//! `--heatmap FILE.svg`: latency and size heatmaps over a run, in the manner
//! of Brendan Gregg's latency heatmaps. x = time, one column per interval;
//! y = the kernel's power-of-two buckets (latency: ns; size: bytes), the
//! larger values on top; colour = requests in that interval and bucket
//! (logarithmic scale, light to dark); an empty cell is not drawn, so an
//! interval without requests shows as background.
//!
//! One latency panel and one size panel per device and op that had
//! requests during the run (a device without any gets one empty read
//! panel). Each panel's `<g>` carries its geometry as data attributes
//! (`data-x0`, `data-y0`, `data-cw`, `data-ch`, `data-cols`, `data-b0`,
//! `data-b1`) so that a test can find its cells in a rendering.

use std::fmt::Write;

use crate::report::Report;
use crate::stats::Op;

pub const LEFT: u32 = 110;
pub const RIGHT: u32 = 30;
pub const TITLE: u32 = 30;
pub const BOTTOM: u32 = 44;
pub const ROW_H: u32 = 16;
pub const PLOT_W: u32 = 720;
pub const WIDTH: u32 = LEFT + PLOT_W + RIGHT;

/// Where a panel's cells are.
#[derive(Debug, PartialEq, Clone, Copy)]
pub struct Layout {
    /// Top-left corner of the plot area.
    pub x0: u32,
    pub y0: u32,
    /// Cell width and height in pixels.
    pub cw: u32,
    pub ch: u32,
    pub cols: usize,
    /// The lowest and highest bucket shown (rows).
    pub b0: usize,
    pub b1: usize,
}

impl Layout {
    /// A panel whose top edge is at `top`: cells as wide as PLOT_W allows
    /// (4 to 80 px), rows from bucket b0 (bottom) to b1 (top).
    pub fn new(top: u32, cols: usize, b0: usize, b1: usize) -> Layout {
        let cw = (PLOT_W / cols.max(1) as u32).clamp(4, 80);
        Layout {
            x0: LEFT,
            y0: top + TITLE,
            cw,
            ch: ROW_H,
            cols,
            b0,
            b1,
        }
    }

    pub fn rows(&self) -> u32 {
        (self.b1 - self.b0 + 1) as u32
    }

    /// The cell of interval `col` and bucket `b`: (x, y, w, h).
    pub fn cell(&self, col: usize, b: usize) -> (u32, u32, u32, u32) {
        (
            self.x0 + col as u32 * self.cw,
            self.y0 + (self.b1 - b) as u32 * self.ch,
            self.cw,
            self.ch,
        )
    }

    /// The panel's full height, title and axis included.
    pub fn height(&self) -> u32 {
        TITLE + self.rows() * self.ch + BOTTOM
    }
}

/// Rows to show: one bucket of margin around the non-empty ones (all of
/// them empty: the first four).
pub fn bucket_range(any: &[bool]) -> (usize, usize) {
    let n = any.len();
    match (any.iter().position(|&a| a), any.iter().rposition(|&a| a)) {
        (Some(lo), Some(hi)) => (lo.saturating_sub(1), (hi + 1).min(n - 1)),
        _ => (0, 3.min(n.saturating_sub(1))),
    }
}

/// Colour of a count: from light (1 request) to dark (the panel's
/// largest), on a log scale.
pub fn colour(count: u64, max: u64) -> String {
    let t = if max <= 1 {
        1.0
    } else {
        (count as f64).ln() / (max as f64).ln()
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    // #fdd49e (light orange) to #7f0000 (dark red).
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(253.0, 127.0),
        lerp(212.0, 0.0),
        lerp(158.0, 0.0)
    )
}

fn human_ns(ns: u64) -> String {
    match ns {
        0 => "0".into(),
        1..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{}µs", trim(ns as f64 / 1e3)),
        1_000_000..1_000_000_000 => format!("{}ms", trim(ns as f64 / 1e6)),
        _ => format!("{}s", trim(ns as f64 / 1e9)),
    }
}

fn human_bytes(b: u64) -> String {
    match b {
        0 => "0".into(),
        b if b >= 1 << 20 => format!("{}MiB", trim(b as f64 / (1u64 << 20) as f64)),
        b if b >= 1 << 10 => format!("{}KiB", trim(b as f64 / 1024.0)),
        b => format!("{b}B"),
    }
}

/// Three significant figures at most, no trailing zeros.
fn trim(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Every how many columns an x tick goes, so that labels are 60 px apart
/// at least: 1, 2, 5, 10, 20, 50...
pub fn tick_every(cw: u32) -> usize {
    let need = 60u32.div_ceil(cw.max(1)) as usize;
    let mut step = 1usize;
    loop {
        for m in [1, 2, 5] {
            if step * m >= need {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Panel<'a> {
    title: String,
    kind: &'static str,
    device: &'a str,
    op: Op,
    /// Per column, the histogram of the interval (None: device absent).
    cols: Vec<Option<Vec<u64>>>,
    lower: &'a [u64],
    human: fn(u64) -> String,
}

fn draw(out: &mut String, p: &Panel, top: u32, interval_s: f64) -> u32 {
    let nb = p.lower.len();
    let mut any = vec![false; nb];
    let mut max = 0u64;
    for h in p.cols.iter().flatten() {
        for (i, &c) in h.iter().enumerate().take(nb) {
            if c > 0 {
                any[i] = true;
                max = max.max(c);
            }
        }
    }
    let (b0, b1) = bucket_range(&any);
    let l = Layout::new(top, p.cols.len(), b0, b1);
    let plot_w = l.cw * l.cols as u32;
    let plot_h = l.rows() * l.ch;
    let _ = writeln!(
        out,
        "<g class=\"panel\" data-kind=\"{}\" data-device=\"{}\" data-op=\"{}\" data-x0=\"{}\" data-y0=\"{}\" data-cw=\"{}\" data-ch=\"{}\" data-cols=\"{}\" data-b0=\"{}\" data-b1=\"{}\">",
        p.kind, esc(p.device), p.op.name(), l.x0, l.y0, l.cw, l.ch, l.cols, l.b0, l.b1
    );
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        l.x0,
        top + 18,
        esc(&p.title)
    );
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#888\" stroke-width=\"1\"/>",
        l.x0, l.y0
    );
    // The cells: requests of each interval and bucket.
    for (col, h) in p.cols.iter().enumerate() {
        let Some(h) = h else { continue };
        for b in b0..=b1 {
            let c = h.get(b).copied().unwrap_or(0);
            if c == 0 {
                continue;
            }
            let (x, y, w, hh) = l.cell(col, b);
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{hh}\" fill=\"{}\"><title>{}s: {} requests in [{}, {})</title></rect>",
                colour(c, max),
                trim((col + 1) as f64 * interval_s),
                c,
                (p.human)(p.lower[b]),
                p.lower.get(b + 1).map_or("∞".to_string(), |&v| (p.human)(v))
            );
        }
    }
    // y axis: each row's lower edge, and the top's upper edge.
    for b in b0..=b1 + 1 {
        let y = l.y0 + (b1 + 1 - b) as u32 * l.ch;
        let label = match p.lower.get(b) {
            Some(&v) if b <= b1 || b < nb => (p.human)(v),
            _ => "∞".into(),
        };
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#888\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            l.x0 - 5,
            l.x0,
            l.x0 - 8,
            y + 4,
            esc(&label)
        );
    }
    let unit = if p.kind == "latency" {
        "latency"
    } else {
        "size"
    };
    let _ = writeln!(
        out,
        "<text x=\"14\" y=\"{}\" font-size=\"12\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">{unit}</text>",
        l.y0 + plot_h / 2,
        l.y0 + plot_h / 2
    );
    // x axis: time at the end of each interval, seconds since the start.
    let every = tick_every(l.cw);
    let yb = l.y0 + plot_h;
    let mut col = 0;
    while col <= l.cols {
        let x = l.x0 + col as u32 * l.cw;
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{yb}\" x2=\"{x}\" y2=\"{}\" stroke=\"#888\"/><text x=\"{x}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            yb + 5,
            yb + 17,
            trim(col as f64 * interval_s)
        );
        col += every;
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\">time (s), one column per {} s interval; darkest: {max} requests</text>",
        l.x0,
        yb + 34,
        trim(interval_s)
    );
    out.push_str("</g>\n");
    l.height()
}

/// The SVG of a run's interval reports (first reports are left out), taken
/// every `interval_s` seconds (the time axis is labelled with it).
pub fn svg(reports: &[Report], interval_s: f64) -> String {
    let reports: Vec<&Report> = reports.iter().filter(|r| r.interval_s.is_some()).collect();
    let interval_s = interval_s.max(1e-3);
    // Devices in order of first appearance.
    let mut names: Vec<&str> = Vec::new();
    for r in &reports {
        for d in &r.devices {
            if !names.contains(&d.name.as_str()) {
                names.push(&d.name);
            }
        }
    }
    let lat_lower: &[u64] = reports.first().map_or(&[], |r| &r.lat_lower);
    let size_lower: &[u64] = reports.first().map_or(&[], |r| &r.size_lower);
    let mut panels = Vec::new();
    for name in &names {
        let per_op = |op: Op, lat: bool| -> Vec<Option<Vec<u64>>> {
            reports
                .iter()
                .map(|r| {
                    r.devices.iter().find(|d| d.name == *name).map(|d| {
                        let o = d.op(op);
                        if lat {
                            o.lat_hist.clone()
                        } else {
                            o.size_hist.clone()
                        }
                    })
                })
                .collect()
        };
        let has = |op: Op| {
            reports.iter().any(|r| {
                r.devices
                    .iter()
                    .any(|d| d.name == *name && (d.op(op).reqs > 0 || d.op(op).completed() > 0))
            })
        };
        let mut ops: Vec<Op> = Op::ALL.into_iter().filter(|&op| has(op)).collect();
        if ops.is_empty() {
            ops.push(Op::Read);
        }
        for op in ops {
            panels.push(Panel {
                title: format!("{name} {} latency", op.name()),
                kind: "latency",
                device: name,
                op,
                cols: per_op(op, true),
                lower: lat_lower,
                human: human_ns,
            });
            panels.push(Panel {
                title: format!("{name} {} size", op.name()),
                kind: "size",
                device: name,
                op,
                cols: per_op(op, false),
                lower: size_lower,
                human: human_bytes,
            });
        }
    }
    let mut body = String::new();
    let mut top = 0u32;
    if panels.is_empty() || lat_lower.is_empty() {
        let _ = writeln!(
            body,
            "<text x=\"{LEFT}\" y=\"30\" font-size=\"14\">no dmp device, or no interval</text>"
        );
        top = 50;
    }
    if !lat_lower.is_empty() {
        for p in &panels {
            top += draw(&mut body, p, top, interval_s);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{top}\" viewBox=\"0 0 {WIDTH} {top}\" font-family=\"DejaVu Sans, sans-serif\">"
    );
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{top}\" fill=\"#ffffff\"/>"
    );
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{make_report, Sample};
    use crate::stats::{parse_target_stats, tests::example};

    #[test]
    fn layout_maths() {
        // 6 intervals: 80 px cells (720/6 = 120, clamped); 300: 4 px.
        let l = Layout::new(0, 6, 2, 17);
        assert_eq!((l.x0, l.y0, l.cw, l.ch, l.rows()), (110, 30, 80, 16, 16));
        // Bucket 17 (the top row) is the first row; bucket 2 the last.
        assert_eq!(l.cell(0, 17), (110, 30, 80, 16));
        assert_eq!(l.cell(5, 2), (510, 30 + 15 * 16, 80, 16));
        assert_eq!(l.height(), 30 + 16 * 16 + 44);
        assert_eq!(Layout::new(100, 300, 0, 0).cw, 4);
        assert_eq!(Layout::new(100, 36, 0, 0).cw, 20);
        assert_eq!(Layout::new(100, 36, 0, 0).y0, 130);
        assert_eq!(
            bucket_range(&[false, false, true, false, true, false]),
            (1, 5)
        );
        assert_eq!(bucket_range(&[true, false, false]), (0, 1));
        assert_eq!(bucket_range(&[false, false, true]), (1, 2));
        assert_eq!(bucket_range(&[false; 26]), (0, 3));
        assert_eq!(tick_every(40), 2);
        assert_eq!(tick_every(80), 1);
        assert_eq!(tick_every(60), 1);
        assert_eq!(tick_every(4), 20);
        assert_eq!(tick_every(20), 5);
        assert_eq!(colour(1, 1), "#7f0000");
        assert_eq!(colour(1, 100), "#fdd49e");
        assert_eq!(colour(100, 100), "#7f0000");
        assert_eq!(human_ns(1024), "1.02µs");
        assert_eq!(human_ns(67108864), "67.1ms");
        assert_eq!(human_ns(17179869184), "17.2s");
        assert_eq!(human_bytes(4096), "4KiB");
        assert_eq!(human_bytes(1048576), "1MiB");
        assert_eq!(human_bytes(512), "512B");
    }

    /// Three intervals: reads in the first and third, none in the second.
    #[test]
    fn svg_cells_where_the_data_is() {
        let t = parse_target_stats(&example()).unwrap();
        let mut s0 = Sample {
            mono_s: 0.0,
            ..Default::default()
        };
        let mut zero = t.clone();
        for o in zero.ops.iter_mut() {
            o.reqs = 0;
            o.bytes = 0;
            o.lat_sum_ns = 0;
            o.lat_hist.iter_mut().for_each(|c| *c = 0);
            o.size_hist.iter_mut().for_each(|c| *c = 0);
        }
        s0.devices.insert("d".into(), vec![(0, zero.clone())]);
        let mut s1 = s0.clone();
        s1.mono_s = 2.0;
        s1.devices.insert("d".into(), vec![(0, t.clone())]);
        let mut s2 = s1.clone();
        s2.mono_s = 4.0;
        let mut s3 = s2.clone();
        s3.mono_s = 6.0;
        let mut t3 = t.clone();
        t3.ops[0].reqs += 2;
        t3.ops[0].lat_hist[17] += 2;
        t3.ops[0].size_hist[4] += 2;
        s3.devices.insert("d".into(), vec![(0, t3)]);
        let reports = vec![
            make_report(None, &s0).unwrap(),
            make_report(Some(&s0), &s1).unwrap(),
            make_report(Some(&s1), &s2).unwrap(),
            make_report(Some(&s2), &s3).unwrap(),
        ];
        let svg = svg(&reports, 2.0);
        if let Ok(dir) = std::env::var("DMPSTAT_DUMP") {
            std::fs::write(format!("{dir}/heatmap.svg"), &svg).unwrap();
        }
        // Read, write, other: a latency and a size panel each.
        assert_eq!(svg.matches("<g class=\"panel\"").count(), 6);
        // Read latency: buckets 2, 3 (first interval), 17 (third): rows 1..18.
        let l = Layout::new(0, 3, 1, 18);
        assert!(svg.contains("data-kind=\"latency\" data-device=\"d\" data-op=\"read\" data-x0=\"110\" data-y0=\"30\" data-cw=\"80\" data-ch=\"16\" data-cols=\"3\" data-b0=\"1\" data-b1=\"18\""), "{svg}");
        let cell = |col, b| {
            let (x, y, w, h) = l.cell(col, b);
            format!("<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=")
        };
        let read_lat = svg.split("data-kind=\"size\"").next().unwrap();
        assert!(read_lat.contains(&cell(0, 2)));
        assert!(read_lat.contains(&cell(0, 3)));
        assert!(read_lat.contains(&cell(2, 17)));
        assert!(
            !read_lat.contains(&cell(1, 3)),
            "the empty interval is empty"
        );
        assert!(!read_lat.contains(&cell(0, 17)));
        assert_eq!(read_lat.matches("requests in [").count(), 3);
        assert!(
            read_lat.contains("<title>2s: 9 requests in [4.1µs, 8.19µs)</title>"),
            "{read_lat}"
        );
        assert!(read_lat.contains(">134ms</text>"));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\""));
        assert!(svg.ends_with("</svg>\n"));
    }

    #[test]
    fn svg_without_devices() {
        let svg = svg(&[Report::default()], 1.0);
        assert!(svg.contains("no dmp device, or no interval"));
    }
}

// SPDX-License-Identifier: GPL-2.0
//! The three outputs of a report: the plain table (with optional
//! histograms), one JSON document, the OpenMetrics text.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::report::{percentile, DeviceReport, OpDelta, Report};
use crate::stats::{Op, OpStats, Volume};

fn lat_p(r: &Report, d: &OpDelta, p: f64) -> Option<u64> {
    percentile(&d.lat_hist, &r.lat_lower, d.lat_max_ns, p)
}

/// Nanoseconds as microseconds with one decimal, "-" for none.
fn us(ns: Option<u64>) -> String {
    match ns {
        Some(ns) => format!("{:.1}", ns as f64 / 1000.0),
        None => "-".into(),
    }
}

/// A figure of the table: per second in an interval report, the count
/// itself in a first report.
fn per_s(r: &Report, count: u64, scale: f64) -> String {
    match r.rate(count) {
        Some(v) => format!("{:.2}", v / scale),
        None => format!("{:.2}", count as f64 / scale),
    }
}

pub fn volumes_line(v: &crate::stats::Volumes) -> String {
    let one = |name: &str, x: &Volume| format!("{name} {} reqs avg {} B", x.reqs, x.avg_size);
    format!(
        "dmp module (since load or reset): {}, {}, {}",
        one("read", &v.read),
        one("write", &v.write),
        one("total", &v.total)
    )
}

/// The plain table; `histograms` adds each device's distributions.
pub fn plain(r: &Report, histograms: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", volumes_line(&r.volumes));
    let w = r
        .devices
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let heads: [&str; 12] = if r.interval_s.is_some() {
        [
            "r/s", "w/s", "rkB/s", "wkB/s", "rareq-sz", "wareq-sz", "o/s", "errors", "inflight",
            "p50_us", "p99_us", "max_us",
        ]
    } else {
        // First report: counts since each target's creation or reset.
        [
            "reads", "writes", "rkB", "wkB", "rareq-sz", "wareq-sz", "others", "errors",
            "inflight", "p50_us", "p99_us", "max_us",
        ]
    };
    let _ = write!(out, "{:<w$}", "Device");
    for h in heads {
        let _ = write!(out, " {h:>10}");
    }
    out.push('\n');
    for d in &r.devices {
        let (rd, wr, ot, all) = (d.op(Op::Read), d.op(Op::Write), d.op(Op::Other), &d.all);
        let cells = [
            per_s(r, rd.reqs, 1.0),
            per_s(r, wr.reqs, 1.0),
            per_s(r, rd.bytes, 1024.0),
            per_s(r, wr.bytes, 1024.0),
            format!("{:.2}", rd.avg_size() as f64 / 1024.0),
            format!("{:.2}", wr.avg_size() as f64 / 1024.0),
            per_s(r, ot.reqs, 1.0),
            all.errors.to_string(),
            all.in_flight.to_string(),
            us(lat_p(r, all, 50.0)),
            us(lat_p(r, all, 99.0)),
            us((all.completed() > 0).then_some(all.lat_max_ns)),
        ];
        let _ = write!(out, "{:<w$}", d.name);
        for c in cells {
            let _ = write!(out, " {c:>10}");
        }
        out.push('\n');
    }
    if histograms {
        for d in &r.devices {
            out.push_str(&histogram_text(r, d));
        }
    }
    out
}

fn human_ns(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{:.1}us", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}ms", ns as f64 / 1e6),
        _ => format!("{:.1}s", ns as f64 / 1e9),
    }
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}KiB", b >> 10),
        b => format!("{b}B"),
    }
}

/// One distribution: the rows from the first to the last non-empty bucket.
fn histogram_rows(out: &mut String, hist: &[u64], lower: &[u64], human: fn(u64) -> String) {
    let (Some(first), Some(last)) = (
        hist.iter().position(|&c| c > 0),
        hist.iter().rposition(|&c| c > 0),
    ) else {
        return;
    };
    let n: u64 = hist.iter().sum();
    let top = hist.iter().copied().max().unwrap_or(1).max(1);
    for i in first..=last {
        let hi = lower.get(i + 1).map_or("inf".to_string(), |&h| human(h));
        let bar = "#".repeat(((hist[i] * 40).div_ceil(top)) as usize);
        let _ = writeln!(
            out,
            "  [{:>8}, {:>8}) {:>10} {:>5.1}% {bar}",
            human(lower[i]),
            hi,
            hist[i],
            hist[i] as f64 * 100.0 / n as f64
        );
    }
}

/// The latency and size distributions of a device's ops in the interval.
pub fn histogram_text(r: &Report, d: &DeviceReport) -> String {
    let mut out = String::new();
    for op in Op::ALL {
        let o = d.op(op);
        let name = op.name();
        if o.completed() > 0 {
            let _ = writeln!(
                out,
                "{} {name} latency: {} completed, p50 {} us, p99 {} us, max {} us{}",
                d.name,
                o.completed(),
                us(lat_p(r, o, 50.0)),
                us(lat_p(r, o, 99.0)),
                us(Some(o.lat_max_ns)),
                if o.lat_max_exact { "" } else { " (at most)" }
            );
            histogram_rows(&mut out, &o.lat_hist, &r.lat_lower, human_ns);
        }
        if o.size_hist.iter().any(|&c| c > 0) {
            let _ = writeln!(
                out,
                "{} {name} size: {} requests, avg {} B",
                d.name,
                o.reqs,
                o.avg_size()
            );
            histogram_rows(&mut out, &o.size_hist, &r.size_lower, human_bytes);
        }
    }
    out
}

fn json_op(r: &Report, o: &OpDelta) -> Value {
    json!({
        "reqs": o.reqs,
        "bytes": o.bytes,
        "errors": o.errors,
        "in_flight": o.in_flight,
        "reqs_per_s": r.rate(o.reqs),
        "kb_per_s": r.rate(o.bytes).map(|v| v / 1024.0),
        "avg_size": o.avg_size(),
        "completed": o.completed(),
        "lat_sum_ns": o.lat_sum_ns,
        "lat_p50_ns": lat_p(r, o, 50.0),
        "lat_p99_ns": lat_p(r, o, 99.0),
        "lat_max_ns": (o.completed() > 0).then_some(o.lat_max_ns),
        "lat_max_exact": o.lat_max_exact,
        "lat_ns": o.lat_hist,
        "size_b": o.size_hist,
    })
}

fn json_volume(v: &Volume) -> Value {
    json!({"reqs": v.reqs, "avg_size": v.avg_size})
}

/// One JSON document on one line (with its newline).
pub fn json(r: &Report) -> String {
    let devices: Vec<Value> = r
        .devices
        .iter()
        .map(|d| {
            let a = &d.all;
            json!({
                "name": d.name,
                "targets": d.targets,
                "read": json_op(r, d.op(Op::Read)),
                "write": json_op(r, d.op(Op::Write)),
                "other": json_op(r, d.op(Op::Other)),
                "all": {
                    "reqs": a.reqs,
                    "errors": a.errors,
                    "in_flight": a.in_flight,
                    "completed": a.completed(),
                    "lat_p50_ns": lat_p(r, a, 50.0),
                    "lat_p99_ns": lat_p(r, a, 99.0),
                    "lat_max_ns": (a.completed() > 0).then_some(a.lat_max_ns),
                    "lat_max_exact": a.lat_max_exact,
                },
            })
        })
        .collect();
    let doc = json!({
        "time": (r.unix_s * 1000.0).round() / 1000.0,
        "interval_s": r.interval_s.map(|s| (s * 1e6).round() / 1e6),
        "module": {
            "read": json_volume(&r.volumes.read),
            "write": json_volume(&r.volumes.write),
            "total": json_volume(&r.volumes.total),
        },
        "lat_ns_lower": r.lat_lower,
        "size_b_lower": r.size_lower,
        "devices": devices,
    });
    let mut s = doc.to_string();
    s.push('\n');
    s
}

/// A label value, escaped for the exposition format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A float as the exposition format writes it.
fn num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The kind of a metric family (only the three both formats share).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One sample: its full name, labels, value.
pub type SampleLine = (String, Vec<(&'static str, String)>, String);

/// One metric family: its name without `_total` (OpenMetrics' family name),
/// and its samples (full sample name, labels, value).
pub struct Fam {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<&'static str>,
    pub help: &'static str,
    pub samples: Vec<SampleLine>,
}

impl Fam {
    fn new(name: &'static str, kind: Kind, unit: Option<&'static str>, help: &'static str) -> Fam {
        Fam {
            name,
            kind,
            unit,
            help,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, name: &str, labels: Vec<(&'static str, String)>, value: String) {
        self.samples.push((name.to_string(), labels, value));
    }

    /// The name `# TYPE` and `# HELP` carry in the classic format: the
    /// sample's name (`x_total` for a counter), the base name for a histogram.
    fn classic_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            _ => self.name.to_string(),
        }
    }
}

fn sample_line(out: &mut String, name: &str, labels: &[(&'static str, String)], value: &str) {
    let l: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
        .collect();
    if l.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{}}} {value}", l.join(","));
    }
}

/// The classic Prometheus text format 0.0.4 (what node_exporter's textfile
/// collector and `promtool check metrics` read): `# HELP` and `# TYPE` on
/// the sample name, no `# UNIT`, no timestamps, no `# EOF`.
pub fn classic(fams: &[Fam]) -> String {
    let mut out = String::new();
    for f in fams {
        let n = f.classic_name();
        // HELP escapes only backslash and newline in this format.
        let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {n} {help}");
        let _ = writeln!(out, "# TYPE {n} {}", f.kind.name());
        for (name, labels, value) in &f.samples {
            sample_line(&mut out, name, labels, value);
        }
    }
    out
}

/// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`),
/// ending with `# EOF`.
pub fn openmetrics(fams: &[Fam]) -> String {
    let mut out = String::new();
    for f in fams {
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
        if let Some(u) = f.unit {
            let _ = writeln!(out, "# UNIT {} {u}", f.name);
        }
        let help = f
            .help
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {} {help}", f.name);
        for (name, labels, value) in &f.samples {
            sample_line(&mut out, name, labels, value);
        }
    }
    out.push_str("# EOF\n");
    out
}

/// `--prometheus`: the classic text of the cumulative figures.
pub fn prometheus(r: &Report) -> String {
    classic(&families(r))
}

/// The metric families of a report's cumulative figures.
///
/// Histogram buckets: the kernel's bucket `[lo, hi)` holds integers up to
/// `hi - 1`, so its cumulative `le` is `hi - 1` (ns in seconds, or bytes).
pub fn families(r: &Report) -> Vec<Fam> {
    let v = &r.volumes;
    let mut out = Vec::new();
    let mut f = Fam::new(
        "dmp_module_requests",
        Kind::Counter,
        None,
        "Reads and writes of every dmp target since the module was loaded or reset (volumes).",
    );
    for (op, x) in [("read", &v.read), ("write", &v.write)] {
        f.push(
            "dmp_module_requests_total",
            vec![("op", op.to_string())],
            x.reqs.to_string(),
        );
    }
    out.push(f);
    let mut f = Fam::new(
        "dmp_module_request_size_average_bytes",
        Kind::Gauge,
        Some("bytes"),
        "Average size of the reads and writes counted in dmp_module_requests_total, rounded down.",
    );
    for (op, x) in [("read", &v.read), ("write", &v.write)] {
        f.push(
            "dmp_module_request_size_average_bytes",
            vec![("op", op.to_string())],
            x.avg_size.to_string(),
        );
    }
    out.push(f);
    if !r.devices.is_empty() {
        device_families(&mut out, r);
    }
    out
}

fn device_families(out: &mut Vec<Fam>, r: &Report) {
    let each = |mut f: Fam, get: &dyn Fn(&OpStats) -> String| -> Fam {
        let sample = match f.kind {
            Kind::Counter => format!("{}_total", f.name),
            _ => f.name.to_string(),
        };
        for d in &r.devices {
            for op in Op::ALL {
                f.push(
                    &sample,
                    vec![("device", d.name.clone()), ("op", op.name().to_string())],
                    get(&d.cumulative[op as usize]),
                );
            }
        }
        f
    };
    let mut f = Fam::new(
        "dmp_device_targets",
        Kind::Gauge,
        None,
        "Number of dmp targets in the device's table (their figures are summed).",
    );
    for d in &r.devices {
        f.push(
            "dmp_device_targets",
            vec![("device", d.name.clone())],
            d.targets.to_string(),
        );
    }
    out.push(f);
    out.push(each(
        Fam::new(
            "dmp_requests",
            Kind::Counter,
            None,
            "Requests mapped by the device's dmp targets (op: read, write, other = flush, discard, write-zeroes, secure erase, zone management).",
        ),
        &|o| o.reqs.to_string(),
    ));
    out.push(each(
        Fam::new(
            "dmp_io_bytes",
            Kind::Counter,
            Some("bytes"),
            "Bytes of the mapped requests.",
        ),
        &|o| o.bytes.to_string(),
    ));
    out.push(each(
        Fam::new(
            "dmp_errors",
            Kind::Counter,
            None,
            "Requests that completed with an error.",
        ),
        &|o| o.errors.to_string(),
    ));
    out.push(each(
        Fam::new(
            "dmp_in_flight_requests",
            Kind::Gauge,
            None,
            "Requests mapped and not yet completed.",
        ),
        &|o| o.in_flight.to_string(),
    ));
    out.push(each(
        Fam::new(
            "dmp_request_latency_max_seconds",
            Kind::Gauge,
            Some("seconds"),
            "Largest latency (map to completion) since the target was created or reset.",
        ),
        &|o| num(o.max_lat_ns as f64 / 1e9),
    ));

    let hist =
        |mut f: Fam, lower: &[u64], scale: f64, get: &dyn Fn(&OpStats) -> (&[u64], u64)| -> Fam {
            let name = f.name;
            for d in &r.devices {
                for op in Op::ALL {
                    let (h, sum) = get(&d.cumulative[op as usize]);
                    let labels = |le: Option<String>| {
                        let mut l = vec![("device", d.name.clone()), ("op", op.name().to_string())];
                        if let Some(le) = le {
                            l.push(("le", le));
                        }
                        l
                    };
                    let mut cum = 0u64;
                    for (i, c) in h.iter().enumerate() {
                        cum += c;
                        let le = match lower.get(i + 1) {
                            Some(&hi) => num((hi - 1) as f64 / scale),
                            None => "+Inf".to_string(),
                        };
                        f.push(&format!("{name}_bucket"), labels(Some(le)), cum.to_string());
                    }
                    f.push(&format!("{name}_count"), labels(None), cum.to_string());
                    f.push(
                        &format!("{name}_sum"),
                        labels(None),
                        num(sum as f64 / scale),
                    );
                }
            }
            f
        };
    out.push(hist(
        Fam::new(
            "dmp_request_latency_seconds",
            Kind::Histogram,
            Some("seconds"),
            "Latency of the completed requests, from map to completion (power-of-two buckets).",
        ),
        &r.lat_lower,
        1e9,
        &|o| (&o.lat_hist, o.lat_sum_ns),
    ));
    out.push(hist(
        Fam::new(
            "dmp_request_size_bytes",
            Kind::Histogram,
            Some("bytes"),
            "Size of the mapped requests (power-of-two buckets).",
        ),
        &r.size_lower,
        1.0,
        &|o| (&o.size_hist, o.bytes),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{make_report, Sample};
    use crate::stats::{
        parse_target_stats, parse_volumes,
        tests::{example, VOLUMES},
    };

    pub fn report(first: bool) -> Report {
        let t = parse_target_stats(&example()).unwrap();
        let mut s = Sample {
            mono_s: 100.0,
            unix_s: 1_700_000_000.5,
            volumes: parse_volumes(VOLUMES).unwrap(),
            devices: Default::default(),
        };
        s.devices.insert("dmp1".into(), vec![(0, t.clone())]);
        s.devices
            .insert("we\"ird\\name".into(), vec![(0, t.clone()), (2048, t)]);
        if first {
            return make_report(None, &s).unwrap();
        }
        let mut p = s.clone();
        p.mono_s = 98.0;
        for ts in p.devices.values_mut() {
            for (_, t) in ts.iter_mut() {
                let r = &mut t.ops[0];
                r.reqs -= 4;
                r.bytes -= 4 * 4096;
                r.lat_hist[3] -= 4;
                r.size_hist[4] -= 4;
                r.lat_sum_ns -= 40000;
            }
        }
        make_report(Some(&p), &s).unwrap()
    }

    #[test]
    fn plain_first_report_shows_counts() {
        let out = plain(&report(true), false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "dmp module (since load or reset): read 12 reqs avg 4096 B, write 3 reqs avg 8192 B, total 15 reqs avg 4915 B"
        );
        let head: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(head[..4], ["Device", "reads", "writes", "rkB"]);
        let row: Vec<&str> = lines[2].split_whitespace().collect();
        // Completed, all ops: 3 reads in [2048, 4096), 9 reads and 1 other
        // in [4096, 8192), 1 write in [131072, 262144): 14.
        // p50: rank 7, 3 below, 4/10 into [4096, 8192): 5734.4.
        // p99: rank 13.86, 13 below, 0.86 into [131072, 262144): 243793.9.
        // max: the largest exact max, 456789.
        assert_eq!(
            row,
            [
                "dmp1", "12.00", "3.00", "48.00", "192.00", "4.00", "64.00", "1.00", "1", "2",
                "5.7", "243.8", "456.8"
            ]
        );
        assert!(lines[3].starts_with("we\"ird\\name      24.00"));
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn plain_interval_report_shows_rates_and_histograms() {
        let r = report(false);
        let out = plain(&r, true);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1].split_whitespace().nth(1), Some("r/s"));
        let row: Vec<&str> = lines[2].split_whitespace().collect();
        // 4 reads of 4096 B in 2 s; no write nor other in the interval.
        assert_eq!(
            row[..9],
            ["dmp1", "2.00", "0.00", "8.00", "0.00", "4.00", "0.00", "0.00", "0"]
        );
        // In flight: the gauge. 4 reads in [4096, 8192): p50 6144, p99
        // 8151; max unchanged: at most 8191.
        assert_eq!(row[9..], ["2", "6.1", "8.2", "8.2"]);
        let h = out.split_once("dmp1 read latency").unwrap().1;
        assert!(
            h.starts_with(": 4 completed, p50 6.1 us, p99 8.2 us, max 8.2 us (at most)\n"),
            "{h}"
        );
        assert!(h.contains("\n  [   4.1us,    8.2us)          4 100.0% ########################################\n"), "{h}");
        assert!(h.contains("dmp1 read size: 4 requests, avg 4096 B\n  [    4KiB,     8KiB)          4 100.0% #"), "{h}");
        assert!(!h.contains("dmp1 write"), "{h}");
    }

    #[test]
    fn json_is_one_valid_document_per_line() {
        for first in [true, false] {
            let r = report(first);
            let text = json(&r);
            assert!(text.ends_with('\n'));
            assert_eq!(text.lines().count(), 1);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["module"]["total"]["avg_size"], 4915);
            assert_eq!(v["lat_ns_lower"].as_array().unwrap().len(), 26);
            let d = &v["devices"][0];
            assert_eq!(d["name"], "dmp1");
            assert_eq!(d["targets"], 1);
            let rd = &d["read"];
            if first {
                assert_eq!(v["interval_s"], Value::Null);
                assert_eq!(rd["reqs_per_s"], Value::Null);
                assert_eq!(rd["reqs"], 12);
                assert_eq!(rd["bytes"], 49152);
                assert_eq!(rd["lat_sum_ns"], 1234567);
                assert_eq!(rd["lat_p50_ns"], 5461);
                assert_eq!(rd["lat_p99_ns"], 8137);
                assert_eq!(rd["lat_max_ns"], 456789);
                assert_eq!(rd["lat_ns"][3], 9);
                assert_eq!(d["write"]["errors"], 1);
                assert_eq!(d["write"]["in_flight"], 2);
                assert_eq!(d["write"]["avg_size"], 65536);
                assert_eq!(d["all"]["reqs"], 16);
                assert_eq!(d["all"]["in_flight"], 2);
                assert_eq!(v["devices"][1]["name"], "we\"ird\\name");
                assert_eq!(v["devices"][1]["read"]["reqs"], 24);
            } else {
                assert_eq!(v["interval_s"], 2.0);
                assert_eq!(rd["reqs"], 4);
                assert_eq!(rd["reqs_per_s"], 2.0);
                assert_eq!(rd["kb_per_s"], 8.0);
                assert_eq!(rd["lat_max_ns"], 8191);
                assert_eq!(rd["lat_max_exact"], false);
                assert_eq!(d["write"]["lat_p50_ns"], Value::Null);
                assert_eq!(d["write"]["lat_max_ns"], Value::Null);
            }
        }
    }

    /// One device, first report: the classic text's head, exactly.
    fn one_device() -> Report {
        let mut r = report(true);
        r.devices.truncate(1);
        r
    }

    #[test]
    fn classic_text_exact_head() {
        let text = prometheus(&one_device());
        let want = "\
# HELP dmp_module_requests_total Reads and writes of every dmp target since the module was loaded or reset (volumes).
# TYPE dmp_module_requests_total counter
dmp_module_requests_total{op=\"read\"} 12
dmp_module_requests_total{op=\"write\"} 3
# HELP dmp_module_request_size_average_bytes Average size of the reads and writes counted in dmp_module_requests_total, rounded down.
# TYPE dmp_module_request_size_average_bytes gauge
dmp_module_request_size_average_bytes{op=\"read\"} 4096
dmp_module_request_size_average_bytes{op=\"write\"} 8192
# HELP dmp_device_targets Number of dmp targets in the device's table (their figures are summed).
# TYPE dmp_device_targets gauge
dmp_device_targets{device=\"dmp1\"} 1
# HELP dmp_requests_total Requests mapped by the device's dmp targets (op: read, write, other = flush, discard, write-zeroes, secure erase, zone management).
# TYPE dmp_requests_total counter
dmp_requests_total{device=\"dmp1\",op=\"read\"} 12
dmp_requests_total{device=\"dmp1\",op=\"write\"} 3
dmp_requests_total{device=\"dmp1\",op=\"other\"} 1
# HELP dmp_io_bytes_total Bytes of the mapped requests.
# TYPE dmp_io_bytes_total counter
dmp_io_bytes_total{device=\"dmp1\",op=\"read\"} 49152
dmp_io_bytes_total{device=\"dmp1\",op=\"write\"} 196608
dmp_io_bytes_total{device=\"dmp1\",op=\"other\"} 0
# HELP dmp_errors_total Requests that completed with an error.
# TYPE dmp_errors_total counter
dmp_errors_total{device=\"dmp1\",op=\"read\"} 0
dmp_errors_total{device=\"dmp1\",op=\"write\"} 1
dmp_errors_total{device=\"dmp1\",op=\"other\"} 0
# HELP dmp_in_flight_requests Requests mapped and not yet completed.
# TYPE dmp_in_flight_requests gauge
dmp_in_flight_requests{device=\"dmp1\",op=\"read\"} 0
dmp_in_flight_requests{device=\"dmp1\",op=\"write\"} 2
dmp_in_flight_requests{device=\"dmp1\",op=\"other\"} 0
# HELP dmp_request_latency_max_seconds Largest latency (map to completion) since the target was created or reset.
# TYPE dmp_request_latency_max_seconds gauge
dmp_request_latency_max_seconds{device=\"dmp1\",op=\"read\"} 0.000456789
";
        assert!(text.starts_with(want), "got:\n{text}");
        // The read latency histogram, exactly: 3 in [2048, 4096), 9 in
        // [4096, 8192); le is the bucket's top (hi - 1 ns) in seconds.
        let mut lat = String::from(
            "# HELP dmp_request_latency_seconds Latency of the completed requests, from map to completion (power-of-two buckets).\n\
             # TYPE dmp_request_latency_seconds histogram\n",
        );
        let les = [
            "0.000001023",
            "0.000002047",
            "0.000004095",
            "0.000008191",
            "0.000016383",
            "0.000032767",
            "0.000065535",
            "0.000131071",
            "0.000262143",
            "0.000524287",
            "0.001048575",
            "0.002097151",
            "0.004194303",
            "0.008388607",
            "0.016777215",
            "0.033554431",
            "0.067108863",
            "0.134217727",
            "0.268435455",
            "0.536870911",
            "1.073741823",
            "2.147483647",
            "4.294967295",
            "8.589934591",
            "17.179869183",
            "+Inf",
        ];
        for (i, le) in les.iter().enumerate() {
            let cum = match i {
                0 | 1 => 0,
                2 => 3,
                _ => 12,
            };
            lat.push_str(&format!(
                "dmp_request_latency_seconds_bucket{{device=\"dmp1\",op=\"read\",le=\"{le}\"}} {cum}\n"
            ));
        }
        lat.push_str("dmp_request_latency_seconds_count{device=\"dmp1\",op=\"read\"} 12\n");
        lat.push_str("dmp_request_latency_seconds_sum{device=\"dmp1\",op=\"read\"} 0.001234567\n");
        assert!(text.contains(&lat), "no\n{lat}\nin\n{text}");
        // Size buckets in bytes: 12 reads of 4 KiB, in [4096, 8192).
        assert!(text.contains(
            "# HELP dmp_request_size_bytes Size of the mapped requests (power-of-two buckets).\n\
             # TYPE dmp_request_size_bytes histogram\n\
             dmp_request_size_bytes_bucket{device=\"dmp1\",op=\"read\",le=\"511.0\"} 0\n"
        ));
        for want in [
            "dmp_request_size_bytes_bucket{device=\"dmp1\",op=\"read\",le=\"4095.0\"} 0\n",
            "dmp_request_size_bytes_bucket{device=\"dmp1\",op=\"read\",le=\"8191.0\"} 12\n",
            "dmp_request_size_bytes_bucket{device=\"dmp1\",op=\"read\",le=\"1048575.0\"} 12\n",
            "dmp_request_size_bytes_bucket{device=\"dmp1\",op=\"read\",le=\"+Inf\"} 12\n",
            "dmp_request_size_bytes_sum{device=\"dmp1\",op=\"read\"} 49152.0\n",
        ] {
            assert!(text.contains(want), "no {want:?} in\n{text}");
        }
        // The classic format has no UNIT, no EOF, no timestamps, and only
        // the types node_exporter keeps.
        assert!(!text.contains("# UNIT") && !text.contains("# EOF"));
        assert!(text.ends_with("dmp_request_size_bytes_sum{device=\"dmp1\",op=\"other\"} 0.0\n"));
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(
                l.rsplit_once("} ").map(|(_, v)| v.contains(' ')),
                Some(false),
                "{l}"
            );
        }
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        assert_eq!(types.len(), 10);
        for t in &types {
            let (name, kind) = t.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{t}");
            assert_eq!(name.ends_with("_total"), kind == "counter", "{t}");
            // HELP right before TYPE, on the same name.
            assert!(text.contains(&format!("# HELP {name} ")), "{t}");
        }
    }

    #[test]
    fn classic_text_escapes_labels_and_sums_targets() {
        let text = prometheus(&report(false));
        for want in [
            "dmp_requests_total{device=\"we\\\"ird\\\\name\",op=\"read\"} 24\n",
            "dmp_device_targets{device=\"we\\\"ird\\\\name\"} 2\n",
            "dmp_requests_total{device=\"dmp1\",op=\"read\"} 12\n",
        ] {
            assert!(text.contains(want), "no {want:?} in\n{text}");
        }
    }

    #[test]
    fn openmetrics_text_exact_head() {
        let text = openmetrics(&families(&one_device()));
        assert!(text.starts_with(
            "# TYPE dmp_module_requests counter\n\
             # HELP dmp_module_requests Reads and writes of every dmp target since the module was loaded or reset (volumes).\n\
             dmp_module_requests_total{op=\"read\"} 12\n\
             dmp_module_requests_total{op=\"write\"} 3\n\
             # TYPE dmp_module_request_size_average_bytes gauge\n\
             # UNIT dmp_module_request_size_average_bytes bytes\n"
        ), "{text}");
        assert!(text.contains("# TYPE dmp_request_latency_seconds histogram\n# UNIT dmp_request_latency_seconds seconds\n"));
        assert!(
            text.ends_with("dmp_request_size_bytes_sum{device=\"dmp1\",op=\"other\"} 0.0\n# EOF\n")
        );
    }

    /// The real `promtool check metrics` (Debian's prometheus) finds nothing
    /// to say about the classic text. Skipped without promtool; the host
    /// check tests/host-checks/monitoring.sh requires it.
    #[test]
    fn classic_text_passes_promtool() {
        let tool = "/usr/bin/promtool";
        if !std::path::Path::new(tool).exists() {
            eprintln!("SKIP: no {tool} (apt-get install prometheus)");
            return;
        }
        for r in [report(false), report(true)] {
            let text = prometheus(&r);
            let o = run_with_stdin(tool, &["check", "metrics"], &text);
            assert!(o.status.success(), "promtool: {o:?}");
            assert_eq!(o.stdout.len() + o.stderr.len(), 0, "promtool said {o:?}");
        }
    }

    /// Runs `prog args` with `input` on its standard input; its output.
    fn run_with_stdin(prog: &str, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write as _;
        let mut child = std::process::Command::new(prog)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The real parser of the Python client (Debian's
    /// python3-prometheus-client) reads the text back.
    #[test]
    fn prometheus_text_accepted_by_the_reference_parser() {
        let py = "/usr/bin/python3";
        let probe = std::process::Command::new(py)
            .args(["-c", "import prometheus_client.openmetrics.parser"])
            .output();
        if !matches!(probe, Ok(ref o) if o.status.success()) {
            eprintln!("SKIP: {py} with prometheus_client not found (apt-get install python3-prometheus-client)");
            return;
        }
        let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(sys.stdin.read()))
for f in fams:
    print("F", f.name, f.type, f.unit)
    for s in f.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("S", s.name, labels, repr(float(s.value)))
"#;
        for r in [
            report(false),
            report(true),
            Report {
                devices: vec![],
                ..report(true)
            },
        ] {
            let text = openmetrics(&families(&r));
            let o = run_with_stdin(py, &["-c", script], &text);
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "parser refused:\n{}\n{text}",
                String::from_utf8_lossy(&o.stderr)
            );
            let has = |line: &str| {
                assert!(
                    stdout.lines().any(|l| l == line),
                    "no {line:?} in\n{stdout}"
                )
            };
            has("F dmp_module_requests counter ");
            has("S dmp_module_requests_total op=read 12.0");
            has("F dmp_module_request_size_average_bytes gauge bytes");
            if r.devices.is_empty() {
                assert_eq!(stdout.lines().filter(|l| l.starts_with('F')).count(), 2);
                continue;
            }
            has("F dmp_requests counter ");
            has("S dmp_requests_total device=dmp1,op=read 12.0");
            has("S dmp_requests_total device=we\"ird\\name,op=read 24.0");
            has("F dmp_io_bytes counter bytes");
            has("S dmp_io_bytes_total device=dmp1,op=read 49152.0");
            has("F dmp_errors counter ");
            has("F dmp_in_flight_requests gauge ");
            has("S dmp_in_flight_requests device=dmp1,op=write 2.0");
            has("F dmp_request_latency_seconds histogram seconds");
            has("S dmp_request_latency_seconds_bucket device=dmp1,le=0.000008191,op=read 12.0");
            has("S dmp_request_latency_seconds_bucket device=dmp1,le=+Inf,op=read 12.0");
            has("S dmp_request_latency_seconds_count device=dmp1,op=read 12.0");
            has("S dmp_request_latency_seconds_sum device=dmp1,op=read 0.001234567");
            has("F dmp_request_size_bytes histogram bytes");
            has("S dmp_request_size_bytes_bucket device=dmp1,le=131071.0,op=write 3.0");
            has("S dmp_request_size_bytes_sum device=dmp1,op=write 196608.0");
            has("F dmp_request_latency_max_seconds gauge seconds");
            has("F dmp_device_targets gauge ");
            assert_eq!(stdout.lines().filter(|l| l.starts_with('F')).count(), 10);
        }
    }
}
#[cfg(test)]
mod dump {
    #[test]
    fn dump_samples() {
        if let Ok(dir) = std::env::var("DMPSTAT_DUMP") {
            let first = super::tests_report(true);
            let later = super::tests_report(false);
            std::fs::write(format!("{dir}/first.json"), super::json(&first)).unwrap();
            std::fs::write(format!("{dir}/first.txt"), super::plain(&first, false)).unwrap();
            std::fs::write(format!("{dir}/later.txt"), super::plain(&later, true)).unwrap();
            std::fs::write(format!("{dir}/first.prom"), super::prometheus(&first)).unwrap();
            std::fs::write(format!("{dir}/later.prom"), super::prometheus(&later)).unwrap();
            std::fs::write(
                format!("{dir}/first.om"),
                super::openmetrics(&super::families(&first)),
            )
            .unwrap();
        }
    }
}
#[cfg(test)]
pub(crate) fn tests_report(first: bool) -> Report {
    tests::report(first)
}

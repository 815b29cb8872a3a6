// SPDX-License-Identifier: GPL-2.0
//! From two samples of the kernel's figures to one report: deltas of the
//! cumulative counters, sums over a device's targets, percentiles.
//!
//! # Deltas
//! Every cumulative counter (requests, bytes, errors, latency sum, each
//! histogram bucket) is diffed on its own, per target: a value lower than the
//! previous one means the target was reset (`reset` message, or someone's
//! `stats clear`) during the interval, and the new value is the interval's
//! delta. A target that was not there at the previous sample (new device, or a
//! reload that added a target) counts from its creation. `in_flight` is a
//! gauge: its current value is shown.
//!
//! # Largest latency of an interval
//! The kernel keeps the largest latency since the last reset. When it changed
//! during the interval, the new value was seen in that interval and is the
//! interval's exact maximum. When it did not, the interval's maximum is only
//! known to lie in the highest non-empty bucket of the interval's histogram:
//! it is estimated as the smaller of that bucket's upper edge (minus 1 ns) and
//! the kernel's maximum, and flagged as an estimate.
//!
//! # Percentiles
//! Estimated from the interval's power-of-two histogram: the rank
//! `p/100 * N` (N = completed requests in the interval) falls in one bucket
//! `[lo, hi)`; the value is interpolated linearly inside it
//! (`lo + (rank - below) / count * (hi - lo)`, i.e. assuming the requests of
//! a bucket are spread evenly over it), rounded to the nanosecond, then
//! clamped to the interval's maximum latency. The open-ended last bucket uses
//! that maximum as its upper edge. The error is thus at most the width of one
//! bucket (a factor of two), and p100 is the maximum.

use std::collections::BTreeMap;

use crate::stats::{Op, OpStats, TargetStats, Volumes};

/// What the kernel said at one moment.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Seconds on a monotonic clock.
    pub mono_s: f64,
    /// Seconds since the Unix epoch.
    pub unix_s: f64,
    pub volumes: Volumes,
    /// dm name -> (start sector, stats) of each of its dmp targets.
    pub devices: BTreeMap<String, Vec<(u64, TargetStats)>>,
}

/// The figures of one kind of request over one interval (or, in the first
/// report, since the target was created or reset).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpDelta {
    pub reqs: u64,
    pub bytes: u64,
    pub errors: u64,
    /// Gauge: at the end of the interval.
    pub in_flight: u64,
    pub lat_sum_ns: u64,
    /// Largest latency of the interval (see the module's doc).
    pub lat_max_ns: u64,
    /// Whether `lat_max_ns` is exact or an upper-bound estimate.
    pub lat_max_exact: bool,
    pub lat_hist: Vec<u64>,
    pub size_hist: Vec<u64>,
}

impl OpDelta {
    /// Completed requests (those in the latency histogram).
    pub fn completed(&self) -> u64 {
        self.lat_hist.iter().sum()
    }

    /// Average request size in bytes, rounded down, 0 without requests.
    pub fn avg_size(&self) -> u64 {
        self.bytes.checked_div(self.reqs).unwrap_or(0)
    }

    /// Adds another target's (or op's) delta.
    fn add(&mut self, o: &OpDelta) {
        self.reqs += o.reqs;
        self.bytes += o.bytes;
        self.errors += o.errors;
        self.in_flight += o.in_flight;
        self.lat_sum_ns += o.lat_sum_ns;
        self.lat_hist = add_vec(&self.lat_hist, &o.lat_hist);
        self.size_hist = add_vec(&self.size_hist, &o.size_hist);
        // The largest of exact values and upper bounds: exact when an exact
        // value is at least every bound.
        let better =
            o.lat_max_ns > self.lat_max_ns || (o.lat_max_ns == self.lat_max_ns && o.lat_max_exact);
        if better {
            self.lat_max_ns = o.lat_max_ns;
            self.lat_max_exact = o.lat_max_exact;
        }
    }
}

fn add_vec(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut v = long.to_vec();
    for (x, y) in v.iter_mut().zip(short) {
        *x += y;
    }
    v
}

fn delta(cur: u64, prev: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else {
        cur // reset during the interval
    }
}

fn delta_vec(cur: &[u64], prev: &[u64]) -> Vec<u64> {
    cur.iter()
        .enumerate()
        .map(|(i, &c)| delta(c, prev.get(i).copied().unwrap_or(0)))
        .collect()
}

/// One op of one target over the interval; `prev` None: since creation.
pub fn op_delta(cur: &OpStats, prev: Option<&OpStats>, lat_lower: &[u64]) -> OpDelta {
    let zero = OpStats::default();
    let p = prev.unwrap_or(&zero);
    let lat_hist = delta_vec(&cur.lat_hist, &p.lat_hist);
    let (lat_max_ns, lat_max_exact) = if prev.is_none() || cur.max_lat_ns != p.max_lat_ns {
        (cur.max_lat_ns, true)
    } else {
        match lat_hist.iter().rposition(|&c| c > 0) {
            None => (0, true),
            Some(i) => match lat_lower.get(i + 1) {
                Some(&hi) if hi - 1 < cur.max_lat_ns => (hi - 1, false),
                _ => (cur.max_lat_ns, false),
            },
        }
    };
    OpDelta {
        reqs: delta(cur.reqs, p.reqs),
        bytes: delta(cur.bytes, p.bytes),
        errors: delta(cur.errors, p.errors),
        in_flight: cur.in_flight,
        lat_sum_ns: delta(cur.lat_sum_ns, p.lat_sum_ns),
        lat_max_ns,
        lat_max_exact,
        lat_hist,
        size_hist: delta_vec(&cur.size_hist, &p.size_hist),
    }
}

/// Estimates the `p`th percentile (0 < p <= 100) of a latency histogram
/// (see the module's doc); None when the histogram is empty.
pub fn percentile(hist: &[u64], lower: &[u64], max: u64, p: f64) -> Option<u64> {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return None;
    }
    let rank = p / 100.0 * n as f64;
    let mut below = 0u64;
    for (i, &c) in hist.iter().enumerate() {
        if c == 0 {
            continue;
        }
        if (below + c) as f64 >= rank || below + c == n {
            let lo = lower[i];
            let hi = lower.get(i + 1).copied().unwrap_or(max.max(lo));
            let f = ((rank - below as f64) / c as f64).clamp(0.0, 1.0);
            let v = (lo as f64 + f * (hi - lo) as f64).round() as u64;
            return Some(v.min(max));
        }
        below += c;
    }
    None
}

/// One device over the interval: its dmp targets summed.
#[derive(Clone, Debug, Default)]
pub struct DeviceReport {
    pub name: String,
    /// Number of dmp targets summed.
    pub targets: usize,
    /// Interval figures, indexed by `Op as usize`.
    pub ops: [OpDelta; 3],
    /// The three ops together (for the latency of all requests).
    pub all: OpDelta,
    /// Cumulative figures (since creation or reset), summed over the
    /// targets; `max_lat_ns` is the largest of the targets'.
    pub cumulative: [OpStats; 3],
}

impl DeviceReport {
    pub fn op(&self, op: Op) -> &OpDelta {
        &self.ops[op as usize]
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub unix_s: f64,
    /// Seconds since the previous sample; None for a first report
    /// (figures since each target's creation or reset).
    pub interval_s: Option<f64>,
    pub volumes: Volumes,
    pub lat_lower: Vec<u64>,
    pub size_lower: Vec<u64>,
    pub devices: Vec<DeviceReport>,
}

impl Report {
    /// Per second over the interval; None in a first report.
    pub fn rate(&self, count: u64) -> Option<f64> {
        self.interval_s.map(|s| count as f64 / s)
    }
}

fn add_cumulative(sum: &mut OpStats, o: &OpStats) {
    sum.reqs += o.reqs;
    sum.bytes += o.bytes;
    sum.errors += o.errors;
    sum.in_flight += o.in_flight;
    sum.lat_sum_ns += o.lat_sum_ns;
    sum.max_lat_ns = sum.max_lat_ns.max(o.max_lat_ns);
    sum.lat_hist = add_vec(&sum.lat_hist, &o.lat_hist);
    sum.size_hist = add_vec(&sum.size_hist, &o.size_hist);
}

/// The report of `cur` against `prev` (None: the first report).
pub fn make_report(prev: Option<&Sample>, cur: &Sample) -> Result<Report, String> {
    let mut r = Report {
        unix_s: cur.unix_s,
        interval_s: prev.map(|p| (cur.mono_s - p.mono_s).max(1e-9)),
        volumes: cur.volumes,
        ..Default::default()
    };
    for (name, targets) in &cur.devices {
        let mut d = DeviceReport {
            name: name.clone(),
            targets: targets.len(),
            ..Default::default()
        };
        for (start, t) in targets {
            if r.lat_lower.is_empty() {
                r.lat_lower = t.lat_lower.clone();
                r.size_lower = t.size_lower.clone();
            } else if r.lat_lower != t.lat_lower || r.size_lower != t.size_lower {
                return Err(format!(
                    "{name}: the target at sector {start} has other histogram buckets than the rest"
                ));
            }
            let pt = prev
                .and_then(|p| p.devices.get(name))
                .and_then(|ts| ts.iter().find(|(s, _)| s == start))
                .map(|(_, t)| t)
                .filter(|p| p.lat_lower == t.lat_lower && p.size_lower == t.size_lower);
            for op in Op::ALL {
                let i = op as usize;
                let od = op_delta(&t.ops[i], pt.map(|p| &p.ops[i]), &t.lat_lower);
                d.ops[i].add(&od);
                add_cumulative(&mut d.cumulative[i], &t.ops[i]);
            }
        }
        let mut all = OpDelta::default();
        for op in &d.ops {
            all.add(op);
        }
        d.all = all;
        r.devices.push(d);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{parse_target_stats, tests::example};

    fn lower() -> Vec<u64> {
        parse_target_stats(&example()).unwrap().lat_lower
    }

    fn hist(pairs: &[(usize, u64)]) -> Vec<u64> {
        let mut h = vec![0; 26];
        for &(i, c) in pairs {
            h[i] = c;
        }
        h
    }

    #[test]
    fn percentiles_interpolate_inside_the_bucket() {
        let l = lower();
        // The example's reads: 3 in [2048, 4096), 9 in [4096, 8192).
        let h = hist(&[(2, 3), (3, 9)]);
        // p50: rank 6, 3 below, 3/9 into [4096, 8192): 4096 + 4096/3.
        assert_eq!(percentile(&h, &l, 456789, 50.0), Some(5461));
        // p99: rank 11.88: 4096 + 8.88/9 * 4096 = 8137.4.
        assert_eq!(percentile(&h, &l, 456789, 99.0), Some(8137));
        // p25: rank 3: the top of the first bucket.
        assert_eq!(percentile(&h, &l, 456789, 25.0), Some(4096));
        // p10: rank 1.2: 2048 + 1.2/3 * 2048.
        assert_eq!(percentile(&h, &l, 456789, 10.0), Some(2867));
        // Clamped to the maximum seen.
        assert_eq!(percentile(&h, &l, 6000, 99.0), Some(6000));
        assert_eq!(percentile(&h, &l, 6000, 100.0), Some(6000));
        assert_eq!(percentile(&hist(&[]), &l, 0, 50.0), None);
        // One request: every percentile is within its bucket, at most max.
        let one = hist(&[(0, 1)]);
        assert_eq!(percentile(&one, &l, 700, 50.0), Some(512));
        assert_eq!(percentile(&one, &l, 700, 99.0), Some(700));
        // The open-ended last bucket reaches to the maximum.
        let slow = hist(&[(25, 2)]);
        let top = 17179869184u64;
        assert_eq!(percentile(&slow, &l, top + 1000, 50.0), Some(top + 500));
        assert_eq!(percentile(&slow, &l, top + 1000, 99.0), Some(top + 990));
        // A million requests in [1024, 2048): p99 = 1024 + 0.99 * 1024.
        let many = hist(&[(1, 1_000_000)]);
        assert_eq!(percentile(&many, &l, 2047, 99.0), Some(2038));
    }

    fn stats(reqs: u64, max: u64, lat: &[(usize, u64)]) -> OpStats {
        OpStats {
            reqs,
            bytes: reqs * 4096,
            errors: 0,
            in_flight: 1,
            lat_sum_ns: reqs * 3000,
            max_lat_ns: max,
            lat_hist: hist(lat),
            size_hist: vec![0, 0, 0, 0, reqs, 0, 0, 0, 0, 0, 0, 0, 0],
        }
    }

    #[test]
    fn deltas_resets_and_interval_max() {
        let l = lower();
        let prev = stats(10, 5000, &[(2, 10)]);
        // 5 more, max unchanged: the interval's max is bounded by the bucket.
        let cur = stats(15, 5000, &[(1, 5), (2, 10)]);
        let d = op_delta(&cur, Some(&prev), &l);
        assert_eq!(
            (d.reqs, d.bytes, d.lat_sum_ns, d.in_flight),
            (5, 20480, 15000, 1)
        );
        assert_eq!(d.lat_hist, hist(&[(1, 5)]));
        assert_eq!(d.size_hist[4], 5);
        assert_eq!((d.lat_max_ns, d.lat_max_exact), (2047, false));
        // Max unchanged, interval in its bucket: the kernel's max bounds it.
        let cur = stats(12, 5000, &[(2, 10), (3, 2)]);
        let d = op_delta(&cur, Some(&prev), &l);
        assert_eq!((d.lat_max_ns, d.lat_max_exact), (5000, false));
        // A new max was seen in the interval: exact.
        let cur = stats(12, 9000, &[(2, 10), (4, 2)]);
        let d = op_delta(&cur, Some(&prev), &l);
        assert_eq!((d.lat_max_ns, d.lat_max_exact), (9000, true));
        // Nothing completed: no max.
        let d = op_delta(&prev, Some(&prev), &l);
        assert_eq!((d.reqs, d.lat_max_ns, d.completed()), (0, 0, 0));
        // Reset during the interval: the new values are the delta.
        let cur = stats(4, 3000, &[(2, 4)]);
        let d = op_delta(&cur, Some(&prev), &l);
        assert_eq!((d.reqs, d.bytes, d.completed()), (4, 16384, 4));
        assert_eq!((d.lat_max_ns, d.lat_max_exact), (3000, true));
        // First report: since creation.
        let d = op_delta(&prev, None, &l);
        assert_eq!((d.reqs, d.lat_max_ns, d.lat_max_exact), (10, 5000, true));
    }

    fn sample(t: f64, devs: &[(&str, &[(u64, TargetStats)])]) -> Sample {
        Sample {
            mono_s: t,
            unix_s: 1e9 + t,
            volumes: Default::default(),
            devices: devs
                .iter()
                .map(|(n, ts)| (n.to_string(), ts.to_vec()))
                .collect(),
        }
    }

    #[test]
    fn devices_sum_their_targets() {
        let base = parse_target_stats(&example()).unwrap();
        let mut later = base.clone();
        later.ops[0] = stats(20, 456789, &[(2, 3), (3, 17)]);
        let s1 = sample(10.0, &[("a", &[(0, base.clone()), (100, base.clone())])]);
        // Target 100 reset and then did 2 reads; a new target at 200.
        let mut reset = base.clone();
        reset.ops[0] = stats(2, 100, &[(0, 2)]);
        let s2 = sample(
            12.0,
            &[
                (
                    "a",
                    &[(0, later.clone()), (100, reset), (200, base.clone())],
                ),
                ("b", &[(0, base.clone())]),
            ],
        );
        let first = make_report(None, &s1).unwrap();
        assert_eq!(first.interval_s, None);
        assert_eq!(first.rate(5), None);
        let a = &first.devices[0];
        assert_eq!(
            (a.targets, a.op(Op::Read).reqs, a.op(Op::Read).bytes),
            (2, 24, 98304)
        );
        assert_eq!(a.op(Op::Write).avg_size(), 65536);
        assert_eq!(a.all.reqs, 24 + 6 + 2);
        assert_eq!(a.cumulative[0].reqs, 24);
        let r = make_report(Some(&s1), &s2).unwrap();
        assert_eq!(r.interval_s, Some(2.0));
        assert_eq!(r.rate(5), Some(2.5));
        let names: Vec<&str> = r.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let rd = r.devices[0].op(Op::Read);
        // 8 more on target 0, 2 after the reset on 100, 12 on the new 200.
        assert_eq!(rd.reqs, 8 + 2 + 12);
        assert_eq!(rd.lat_hist[0], 2);
        assert_eq!(rd.lat_hist[3], 8 + 9);
        // Target 0's max did not change and its interval's requests are in
        // [4096, 8192): bound 8191; the new target's exact 456789 wins.
        assert_eq!((rd.lat_max_ns, rd.lat_max_exact), (456789, true));
        assert_eq!(r.devices[0].cumulative[0].reqs, 20 + 2 + 12);
        assert_eq!(r.devices[0].cumulative[0].in_flight, 2); // 1 + 1 + 0
                                                             // Unchanged writes on targets 0 and 100; the new target's 3.
        assert_eq!(r.devices[0].op(Op::Write).reqs, 3);
        // "b" is new: since creation.
        assert_eq!(r.devices[1].op(Op::Read).reqs, 12);
    }

    #[test]
    fn exact_max_beats_equal_or_lower_estimates() {
        let mut a = OpDelta {
            lat_max_ns: 100,
            lat_max_exact: false,
            ..Default::default()
        };
        a.add(&OpDelta {
            lat_max_ns: 100,
            lat_max_exact: true,
            ..Default::default()
        });
        assert_eq!((a.lat_max_ns, a.lat_max_exact), (100, true));
        a.add(&OpDelta {
            lat_max_ns: 90,
            lat_max_exact: false,
            ..Default::default()
        });
        assert_eq!((a.lat_max_ns, a.lat_max_exact), (100, true));
        a.add(&OpDelta {
            lat_max_ns: 200,
            lat_max_exact: false,
            ..Default::default()
        });
        assert_eq!((a.lat_max_ns, a.lat_max_exact), (200, false));
    }

    #[test]
    fn mismatched_buckets_are_an_error() {
        let base = parse_target_stats(&example()).unwrap();
        let mut other = base.clone();
        other.size_lower.pop();
        let s = sample(1.0, &[("a", &[(0, base), (8, other)])]);
        assert!(make_report(None, &s).unwrap_err().contains("sector 8"));
    }
}

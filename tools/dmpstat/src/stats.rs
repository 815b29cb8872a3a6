// SPDX-License-Identifier: GPL-2.0
//! Parsers of the kernel's two texts: a dmp target's `stats` message output
//! (`dmp-stats v1`) and the module-wide `/sys/module/dmp/stat/volumes`.
//!
//! Both are parsed by keys, not by position: unknown keys and unknown lines
//! are skipped (a newer module may add them), missing figures and malformed
//! numbers are errors.

use std::fmt;

/// The three kinds of request a dmp target tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read = 0,
    Write = 1,
    Other = 2,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::Read, Op::Write, Op::Other];

    pub fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Other => "other",
        }
    }

    fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == s)
    }
}

/// The figures of one kind of request of one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpStats {
    /// Mapped requests (cumulative).
    pub reqs: u64,
    /// Bytes of the mapped requests (cumulative).
    pub bytes: u64,
    /// Requests completed with an error (cumulative).
    pub errors: u64,
    /// Requests mapped and not yet completed (a gauge).
    pub in_flight: u64,
    /// Sum of the latencies of the completed requests (cumulative).
    pub lat_sum_ns: u64,
    /// Largest latency since the target was created, reset or cleared.
    pub max_lat_ns: u64,
    /// Completed requests per latency bucket (cumulative).
    pub lat_hist: Vec<u64>,
    /// Mapped requests per size bucket (cumulative).
    pub size_hist: Vec<u64>,
}

/// One target's `stats` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetStats {
    /// Lower bounds of the latency buckets, in ns: bucket i is
    /// `[lat_lower[i], lat_lower[i+1])`, the last one is open-ended.
    pub lat_lower: Vec<u64>,
    /// Lower bounds of the size buckets, in bytes, likewise.
    pub size_lower: Vec<u64>,
    /// Indexed by `Op as usize`.
    pub ops: [OpStats; 3],
}

impl TargetStats {
    #[cfg(test)]
    pub fn op(&self, op: Op) -> &OpStats {
        &self.ops[op as usize]
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: String) -> Result<T, ParseError> {
    Err(ParseError(msg))
}

fn number(s: &str, what: &str, line: usize) -> Result<u64, ParseError> {
    // Plain decimal only: u64::from_str would also take a leading '+'.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("line {line}: {what}: '{s}' is not a number"));
    }
    s.parse().or_else(|_| {
        err(format!(
            "line {line}: {what}: '{s}' does not fit in 64 bits"
        ))
    })
}

fn numbers<'a>(
    words: impl Iterator<Item = &'a str>,
    what: &str,
    line: usize,
) -> Result<Vec<u64>, ParseError> {
    words.map(|w| number(w, what, line)).collect()
}

pub const STATS_HEADER: &str = "dmp-stats v1";

const KEYS: [&str; 6] = [
    "reqs",
    "bytes",
    "errors",
    "in_flight",
    "lat_sum_ns",
    "max_lat_ns",
];

/// Parses the output of the `stats` target message.
pub fn parse_target_stats(text: &str) -> Result<TargetStats, ParseError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    match lines.next() {
        Some((_, STATS_HEADER)) => {}
        Some((_, l)) if l.starts_with("dmp-stats ") => {
            return err(format!(
                "unsupported stats format '{l}' (this dmpstat reads '{STATS_HEADER}')"
            ))
        }
        _ => return err(format!("no '{STATS_HEADER}' header")),
    }
    let mut lat_lower = None;
    let mut size_lower = None;
    // Per op: the six keys (None while unseen), the two histograms.
    let mut keys = [[None::<u64>; 6]; 3];
    let mut lat: [Option<Vec<u64>>; 3] = Default::default();
    let mut size: [Option<Vec<u64>>; 3] = Default::default();
    for (n, line) in lines {
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else { continue };
        match first {
            "lat_ns_lower" => lat_lower = Some(numbers(words, first, n)?),
            "size_b_lower" => size_lower = Some(numbers(words, first, n)?),
            _ => {
                let Some(op) = Op::from_name(first) else {
                    continue; // a line of a newer format
                };
                let i = op as usize;
                let rest: Vec<&str> = words.collect();
                match rest.first().copied() {
                    Some("lat_ns") => {
                        lat[i] = Some(numbers(rest[1..].iter().copied(), "lat_ns", n)?)
                    }
                    Some("size_b") => {
                        size[i] = Some(numbers(rest[1..].iter().copied(), "size_b", n)?)
                    }
                    Some(w) if w.contains('=') => {
                        for kv in rest {
                            let Some((k, v)) = kv.split_once('=') else {
                                return err(format!("line {n}: '{kv}' is not key=value"));
                            };
                            if let Some(j) = KEYS.iter().position(|&key| key == k) {
                                keys[i][j] = Some(number(v, k, n)?);
                            }
                        }
                    }
                    _ => {} // a line of a newer format
                }
            }
        }
    }
    let bounds = |b: Option<Vec<u64>>, what: &str| -> Result<Vec<u64>, ParseError> {
        let b = b.ok_or_else(|| ParseError(format!("no '{what}' line")))?;
        if b.is_empty() || b[0] != 0 || b.windows(2).any(|w| w[0] >= w[1]) {
            return err(format!("'{what}' is not an increasing list starting at 0"));
        }
        Ok(b)
    };
    let lat_lower = bounds(lat_lower, "lat_ns_lower")?;
    let size_lower = bounds(size_lower, "size_b_lower")?;
    let mut ops: [OpStats; 3] = Default::default();
    for op in Op::ALL {
        let i = op as usize;
        let name = op.name();
        let mut v = [0u64; 6];
        for (j, key) in KEYS.iter().enumerate() {
            v[j] = keys[i][j].ok_or_else(|| ParseError(format!("no '{name} {key}=' figure")))?;
        }
        let hist = |h: Option<Vec<u64>>, what: &str, len: usize| -> Result<Vec<u64>, ParseError> {
            let h = h.ok_or_else(|| ParseError(format!("no '{name} {what}' line")))?;
            if h.len() != len {
                return err(format!(
                    "'{name} {what}' has {} buckets, the bounds {len}",
                    h.len()
                ));
            }
            Ok(h)
        };
        ops[i] = OpStats {
            reqs: v[0],
            bytes: v[1],
            errors: v[2],
            in_flight: v[3],
            lat_sum_ns: v[4],
            max_lat_ns: v[5],
            lat_hist: hist(lat[i].take(), "lat_ns", lat_lower.len())?,
            size_hist: hist(size[i].take(), "size_b", size_lower.len())?,
        };
    }
    Ok(TargetStats {
        lat_lower,
        size_lower,
        ops,
    })
}

/// Requests and average size of one section of `volumes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Volume {
    pub reqs: u64,
    pub avg_size: u64,
}

/// The module-wide figures, since the module was loaded or last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Volumes {
    pub read: Volume,
    pub write: Volume,
    pub total: Volume,
}

/// Parses `/sys/module/dmp/stat/volumes`.
pub fn parse_volumes(text: &str) -> Result<Volumes, ParseError> {
    // [section][key], section read/write/total, key reqs/avg size.
    let mut got = [[None::<u64>; 2]; 3];
    let mut section = None;
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = match line.trim_end() {
                "read:" => Some(0),
                "write:" => Some(1),
                "total:" => Some(2),
                _ => None, // a section of a newer format
            };
            continue;
        }
        let Some(s) = section else { continue };
        let Some((k, v)) = line.trim().split_once(':') else {
            continue;
        };
        let key = match k {
            "reqs" => 0,
            "avg size" => 1,
            _ => continue,
        };
        got[s][key] = Some(number(v.trim(), k, n)?);
    }
    let mut vols = [Volume::default(); 3];
    for (s, name) in ["read", "write", "total"].iter().enumerate() {
        let get = |key: usize, what: &str| {
            got[s][key].ok_or_else(|| ParseError(format!("no '{what}' under '{name}:'")))
        };
        vols[s] = Volume {
            reqs: get(0, "reqs")?,
            avg_size: get(1, "avg size")?,
        };
    }
    Ok(Volumes {
        read: vols[0],
        write: vols[1],
        total: vols[2],
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub const LAT_LOWER: &str = "lat_ns_lower 0 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576 2097152 4194304 8388608 16777216 33554432 67108864 134217728 268435456 536870912 1073741824 2147483648 4294967296 8589934592 17179869184";
    pub const SIZE_LOWER: &str =
        "size_b_lower 0 512 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576";

    /// The example of the contract, with writes and others filled in.
    pub fn example() -> String {
        format!(
            "dmp-stats v1\n{LAT_LOWER}\n{SIZE_LOWER}\n\
read reqs=12 bytes=49152 errors=0 in_flight=0 lat_sum_ns=1234567 max_lat_ns=456789\n\
read lat_ns 0 0 3 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
read size_b 0 0 0 0 12 0 0 0 0 0 0 0 0\n\
write reqs=3 bytes=196608 errors=1 in_flight=2 lat_sum_ns=300000 max_lat_ns=200000\n\
write lat_ns 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
write size_b 0 0 0 0 0 0 0 0 3 0 0 0 0\n\
other reqs=1 bytes=0 errors=0 in_flight=0 lat_sum_ns=5000 max_lat_ns=5000\n\
other lat_ns 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
other size_b 1 0 0 0 0 0 0 0 0 0 0 0 0\n"
        )
    }

    #[test]
    fn parses_the_contract_example() {
        let s = parse_target_stats(&example()).unwrap();
        assert_eq!(s.lat_lower.len(), 26);
        assert_eq!(s.lat_lower[1], 1024);
        assert_eq!(s.lat_lower[25], 17179869184);
        assert_eq!(s.size_lower.len(), 13);
        assert_eq!(s.size_lower[12], 1048576);
        let r = s.op(Op::Read);
        assert_eq!(
            (
                r.reqs,
                r.bytes,
                r.errors,
                r.in_flight,
                r.lat_sum_ns,
                r.max_lat_ns
            ),
            (12, 49152, 0, 0, 1234567, 456789)
        );
        assert_eq!(&r.lat_hist[..5], &[0, 0, 3, 9, 0]);
        assert_eq!(r.lat_hist.iter().sum::<u64>(), 12);
        assert_eq!(r.size_hist[4], 12);
        let w = s.op(Op::Write);
        assert_eq!((w.reqs, w.bytes, w.errors, w.in_flight), (3, 196608, 1, 2));
        assert_eq!(w.size_hist[8], 3);
        assert_eq!(s.op(Op::Other).size_hist[0], 1);
    }

    #[test]
    fn keys_in_any_order_and_unknown_keys_and_lines_ignored() {
        let text = example()
            .replace(
                "read reqs=12 bytes=49152 errors=0 in_flight=0 lat_sum_ns=1234567 max_lat_ns=456789",
                "read max_lat_ns=456789 future=7 lat_sum_ns=1234567 in_flight=0 errors=0 bytes=49152 reqs=12",
            )
            .replace("write lat_ns", "zone reqs=5\nread p999 12\nwrite lat_ns")
            + "flush reqs=3\n\nsomething new entirely\n";
        assert_eq!(
            parse_target_stats(&text).unwrap(),
            parse_target_stats(&example()).unwrap()
        );
    }

    #[test]
    fn refuses_bad_text() {
        let bad = |text: String, want: &str| {
            let e = parse_target_stats(&text).unwrap_err().0;
            assert!(e.contains(want), "error '{e}' lacks '{want}'");
        };
        bad(String::new(), "no 'dmp-stats v1' header");
        bad(example().replace("dmp-stats v1\n", ""), "header");
        bad(
            example().replace("v1", "v2"),
            "unsupported stats format 'dmp-stats v2'",
        );
        bad(
            example().replace("reqs=12", "reqs=1x2"),
            "line 4: reqs: '1x2' is not a number",
        );
        bad(example().replace("reqs=12", "reqs=-12"), "not a number");
        bad(example().replace("reqs=12", "reqs=+12"), "not a number");
        bad(example().replace("reqs=12", "reqs="), "not a number");
        bad(
            example().replace("reqs=12", "reqs=18446744073709551616"),
            "does not fit in 64 bits",
        );
        bad(
            example().replace(
                "errors=0 in_flight=0 lat_sum_ns=1234567",
                "errors=0 lat_sum_ns=1234567",
            ),
            "no 'read in_flight=' figure",
        );
        bad(
            example().replace("read lat_ns 0 0 3", "read lat_ns 0 x 3"),
            "line 5: lat_ns",
        );
        bad(
            example().replace("read size_b 0 0 0 0 12 0", "read size_b 0 0 0 12 0"),
            "'read size_b' has 12 buckets, the bounds 13",
        );
        bad(
            example().replace("write size_b", "write sizes"),
            "no 'write size_b' line",
        );
        bad(example().replace(SIZE_LOWER, ""), "no 'size_b_lower' line");
        bad(
            example().replace("0 512 1024", "0 1024 512"),
            "not an increasing list",
        );
        bad(
            example().replace("read reqs=12", "read reqs=12 oops"),
            "'oops' is not key=value",
        );
    }

    pub const VOLUMES: &str =
        "read:\n  reqs: 12\n  avg size: 4096\nwrite:\n  reqs: 3\n  avg size: 8192\ntotal:\n  reqs: 15\n  avg size: 4915\n";

    #[test]
    fn parses_volumes() {
        let v = parse_volumes(VOLUMES).unwrap();
        assert_eq!(
            v.read,
            Volume {
                reqs: 12,
                avg_size: 4096
            }
        );
        assert_eq!(
            v.write,
            Volume {
                reqs: 3,
                avg_size: 8192
            }
        );
        assert_eq!(
            v.total,
            Volume {
                reqs: 15,
                avg_size: 4915
            }
        );
        // Newer sections and keys are skipped.
        let more = VOLUMES.replace("total:", "other:\n  reqs: 9\ntotal:\n  max size: 5")
            + "discard:\n  reqs: 1\n";
        assert_eq!(parse_volumes(&more).unwrap(), v);
        assert!(parse_volumes(&VOLUMES.replace("reqs: 3", "reqs: three"))
            .unwrap_err()
            .0
            .contains("line 5: reqs: 'three' is not a number"));
        assert!(parse_volumes(&VOLUMES.replace("  avg size: 4915\n", ""))
            .unwrap_err()
            .0
            .contains("no 'avg size' under 'total:'"));
        assert!(parse_volumes("").is_err());
    }
}

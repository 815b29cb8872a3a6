// SPDX-License-Identifier: GPL-2.0
//! Command line: options (clap) and iostat's positional convention
//! `[DEVICE...] [INTERVAL [COUNT]]`.

use std::path::PathBuf;

use clap::Parser;

const AFTER_HELP: &str = "\
Columns (plain output; the first report shows counts since each target was
created or reset, later ones per second over the interval):
  r/s w/s o/s       reads, writes, others (flush, discard, write-zeroes,
                    secure erase, zone management) per second
  rkB/s wkB/s       kibibytes read, written per second
  rareq-sz wareq-sz average read, write size in KiB
  errors            requests that completed with an error in the interval
  inflight          requests mapped and not yet completed, now
  p50_us p99_us     latency percentiles of all requests completed in the
                    interval, in microseconds (map to completion)
  max_us            largest latency of the interval

Percentiles are estimated from the kernel's power-of-two latency buckets:
the rank p% * N falls in one bucket [lo, hi), and the value is interpolated
linearly inside it (requests assumed evenly spread over the bucket), then
clamped to the interval's largest latency; the open-ended last bucket ends at
that largest latency. The error is at most one bucket's width (a factor of 2).
The largest latency is exact when the kernel's maximum grew in the interval,
otherwise an upper bound: the top of the highest non-empty bucket, or the
kernel's maximum since reset if lower (JSON: lat_max_exact).

A device with several dmp targets shows their sum. A device whose name is a
number can be named /dev/mapper/NAME. Needs root (/dev/mapper/control) and
the dmp module. Exit status: 0 ok (also after SIGINT/SIGTERM, which end the
run after the current report), 1 runtime error, 2 usage error.";

#[derive(Parser, Debug)]
#[command(
    name = "dmpstat",
    version,
    override_usage = "dmpstat [OPTIONS] [DEVICE...] [INTERVAL [COUNT]]",
    about = "Report I/O statistics of dmp device-mapper devices (like iostat -x)",
    after_help = AFTER_HELP
)]
pub struct Args {
    /// List the dmp devices (dm names of devices with a dmp target) and exit
    #[arg(short = 'l', long)]
    pub list: bool,

    /// Also show each device's latency and size distributions per op
    #[arg(long)]
    pub histogram: bool,

    /// One JSON document per report, on one line
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,

    /// Prometheus text (classic format 0.0.4, what node_exporter's textfile
    /// collector reads) of the cumulative figures
    #[arg(long)]
    pub prometheus: bool,

    /// With --prometheus: write each report to FILE (atomically, through
    /// FILE.tmp and a rename) instead of standard output
    #[arg(short = 'o', long, value_name = "FILE", requires = "prometheus")]
    pub output: Option<PathBuf>,

    /// Serve the figures to Prometheus on HTTP at ADDR (HOST:PORT, or :PORT
    /// for every address; default 127.0.0.1:9947): GET /metrics reads the
    /// kernel at each scrape and answers in OpenMetrics 1.0 when the Accept
    /// header asks for it, in the classic text format otherwise
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = crate::exporter::DEFAULT_ADDR,
        conflicts_with_all = ["json", "prometheus", "list", "histogram", "omit_first"]
    )]
    pub listen: Option<String>,

    /// Record the run and write latency and size heatmaps of its intervals
    /// to FILE (SVG; written at the end of the run: after COUNT intervals or
    /// at SIGINT/SIGTERM); needs INTERVAL
    #[arg(
        long,
        value_name = "FILE.svg",
        conflicts_with_all = ["json", "prometheus", "list", "histogram", "listen", "output"]
    )]
    pub heatmap: Option<PathBuf>,

    /// Omit the first report (figures since creation or reset); needs INTERVAL
    #[arg(short = 'y', long)]
    pub omit_first: bool,

    /// Devices (dm names, or /dev/mapper/NAME; default: every dmp device),
    /// then the INTERVAL in seconds between reports (decimals allowed) and
    /// the COUNT of reports (default: until interrupted). Without INTERVAL,
    /// one report.
    #[arg(value_name = "ARGS")]
    pub rest: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub struct Plan {
    pub devices: Vec<String>,
    pub interval_s: Option<f64>,
    pub count: Option<u64>,
}

fn is_number(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
}

/// Splits the positional arguments as iostat does: trailing numbers are
/// INTERVAL [COUNT], the rest device names.
pub fn plan(args: &Args) -> Result<Plan, String> {
    let mut rest: Vec<&str> = args.rest.iter().map(String::as_str).collect();
    let mut nums = Vec::new();
    while nums.len() < 2 && rest.last().is_some_and(|s| is_number(s)) {
        nums.insert(0, rest.pop().unwrap_or_default());
    }
    let interval_s = match nums.first() {
        None => None,
        Some(s) => {
            let v: f64 = s.parse().map_err(|_| format!("bad INTERVAL '{s}'"))?;
            if !(0.01..=1e7).contains(&v) {
                return Err(format!(
                    "INTERVAL '{s}' must be between 0.01 and 10000000 seconds"
                ));
            }
            Some(v)
        }
    };
    let count = match nums.get(1) {
        None => None,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("COUNT '{s}' must be a whole number above 0")),
        },
    };
    if args.listen.is_some() && interval_s.is_some() {
        return Err("--listen takes no INTERVAL or COUNT (each scrape reads the kernel)".into());
    }
    if let Some(addr) = &args.listen {
        crate::exporter::parse_addr(addr)?;
    }
    if args.heatmap.is_some() && interval_s.is_none() {
        return Err("--heatmap needs an INTERVAL (one column per interval)".into());
    }
    if args.omit_first && interval_s.is_none() {
        return Err("-y/--omit-first needs an INTERVAL".into());
    }
    let mut devices: Vec<String> = Vec::new();
    for d in rest {
        let name = d.strip_prefix("/dev/mapper/").unwrap_or(d);
        if name.is_empty() {
            return Err(format!("bad device name '{d}'"));
        }
        if !devices.iter().any(|x| x == name) {
            devices.push(name.to_string());
        }
    }
    Ok(Plan {
        devices,
        interval_s,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(argv: &[&str]) -> Result<Plan, String> {
        let args = Args::try_parse_from(std::iter::once("dmpstat").chain(argv.iter().copied()))
            .map_err(|e| e.kind().to_string())?;
        plan(&args)
    }

    fn plan_of(devices: &[&str], interval_s: Option<f64>, count: Option<u64>) -> Plan {
        Plan {
            devices: devices.iter().map(|s| s.to_string()).collect(),
            interval_s,
            count,
        }
    }

    #[test]
    fn positionals_like_iostat() {
        assert_eq!(p(&[]).unwrap(), plan_of(&[], None, None));
        assert_eq!(p(&["dmp1"]).unwrap(), plan_of(&["dmp1"], None, None));
        assert_eq!(p(&["2"]).unwrap(), plan_of(&[], Some(2.0), None));
        assert_eq!(p(&["0.5", "3"]).unwrap(), plan_of(&[], Some(0.5), Some(3)));
        assert_eq!(
            p(&["dmp1", "/dev/mapper/7", "dmp1", "1", "5"]).unwrap(),
            plan_of(&["dmp1", "7"], Some(1.0), Some(5))
        );
        // Three trailing numbers: the first is a device.
        assert_eq!(
            p(&["9", "1", "2"]).unwrap(),
            plan_of(&["9"], Some(1.0), Some(2))
        );
        assert_eq!(p(&["1.2.3"]).unwrap(), plan_of(&["1.2.3"], None, None));
        assert_eq!(p(&["-y", "1"]).unwrap().interval_s, Some(1.0));
    }

    #[test]
    fn bad_arguments() {
        let bad = |argv: &[&str], want: &str| {
            let e = p(argv).unwrap_err();
            assert!(e.contains(want), "{argv:?}: '{e}' lacks '{want}'");
        };
        bad(&["0"], "INTERVAL '0' must be");
        bad(&["0.001"], "INTERVAL");
        bad(&["1", "0"], "COUNT '0'");
        bad(&["1", "2.5"], "COUNT '2.5'");
        bad(&["1", "99999999999999999999999"], "COUNT");
        bad(&["-y"], "needs an INTERVAL");
        bad(&["/dev/mapper/"], "bad device name");
        bad(&["--bogus"], "unexpected argument");
        bad(&["1", "-5"], "unexpected argument");
        bad(&["--json", "--prometheus"], "cannot be used with");
        bad(&["-o", "x.prom"], "required arguments were not provided");
        bad(&["--listen", "--json"], "cannot be used with");
        bad(&["--heatmap", "x.svg"], "--heatmap needs an INTERVAL");
        bad(
            &["--heatmap", "x.svg", "--json", "1"],
            "cannot be used with",
        );
        assert_eq!(
            p(&["--heatmap", "x.svg", "dmp1", "2", "6"]).unwrap(),
            plan_of(&["dmp1"], Some(2.0), Some(6))
        );
        bad(&["--listen=:9947", "--prometheus"], "cannot be used with");
        bad(
            &["--listen", "127.0.0.1:1", "dmp1", "5"],
            "takes no INTERVAL",
        );
        assert_eq!(
            Args::try_parse_from(["dmpstat", "--listen"])
                .unwrap()
                .listen
                .as_deref(),
            Some("127.0.0.1:9947")
        );
        let a = Args::try_parse_from(["dmpstat", "--listen=[::1]:9", "dmp1"]).unwrap();
        assert_eq!(a.listen.as_deref(), Some("[::1]:9"));
        assert_eq!(plan(&a).unwrap(), plan_of(&["dmp1"], None, None));
    }
}

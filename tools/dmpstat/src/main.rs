// SPDX-License-Identifier: GPL-2.0
//! dmpstat: iostat-like statistics of dmp device-mapper devices.
//!
//! Layout: `stats` parses the kernel's texts, `report` turns samples into
//! interval figures (deltas, sums, percentiles), `format` writes them (plain,
//! JSON, Prometheus text 0.0.4 and OpenMetrics), `cli` reads the command line; only `kernel` talks to
//! the kernel (device-mapper ioctls, sysfs), and this file runs the loop.

mod cli;
mod exporter;
mod format;
mod heatmap;
mod kernel;
mod report;
mod stats;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;

use cli::{Args, Plan};
use kernel::Kernel;

enum Fail {
    Usage(String),
    Runtime(String),
}

fn main() -> ExitCode {
    // `dmpstat --generate man|bash|zsh|fish DIR` (hidden): the man page and
    // completions, from the same clap definition (package build).
    if let Some(code) = dmpdev::generate::handle(<Args as clap::CommandFactory>::command) {
        return code;
    }
    // Block SIGINT and SIGTERM: they are taken only between reports (by
    // sigtimedwait), so a report is always written whole.
    let signals = block_signals();
    match run(&signals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            eprintln!("dmpstat: {m} (see dmpstat --help)");
            ExitCode::from(2)
        }
        Err(Fail::Runtime(m)) => {
            eprintln!("dmpstat: {m}");
            ExitCode::from(1)
        }
    }
}

fn parse_args() -> Result<(Args, Plan), Fail> {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            // clap's first line, without its "error: " prefix.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            return Err(Fail::Usage(first.trim_start_matches("error: ").to_string()));
        }
    };
    let plan = cli::plan(&args).map_err(Fail::Usage)?;
    Ok((args, plan))
}

fn run(signals: &libc::sigset_t) -> Result<(), Fail> {
    let (args, plan) = parse_args()?;
    let k = Kernel::open().map_err(Fail::Runtime)?;
    if args.list {
        let devs = k.dmp_devices().map_err(Fail::Runtime)?;
        let names: Vec<&str> = devs.iter().map(|(n, _)| n.as_str()).collect();
        let text = if args.json {
            format!("{}\n", serde_json::json!({ "devices": names }))
        } else {
            names.iter().map(|n| format!("{n}\n")).collect()
        };
        return emit(&args, &text);
    }
    k.check_named(&plan.devices).map_err(Fail::Runtime)?;
    if let Some(addr) = &args.listen {
        return listen(k, plan, addr, signals);
    }

    let start = Instant::now();
    let mut recorded: Vec<report::Report> = Vec::new();
    let heatmap_done = |recorded: &[report::Report]| -> Result<(), Fail> {
        match &args.heatmap {
            Some(path) => write_file(
                path,
                &heatmap::svg(recorded, plan.interval_s.unwrap_or(1.0)),
            ),
            None => Ok(()),
        }
    };
    let mut prev = None;
    let mut shown = 0u64;
    let mut n = 0u64;
    loop {
        let unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let sample = k
            .sample(&plan.devices, start.elapsed().as_secs_f64(), unix_s)
            .map_err(Fail::Runtime)?;
        let first = prev.is_none();
        if args.heatmap.is_some() {
            // Only intervals make columns; COUNT counts them.
            if !first {
                recorded.push(report::make_report(prev.as_ref(), &sample).map_err(Fail::Runtime)?);
                shown += 1;
            }
        } else if !(first && args.omit_first) {
            let r = report::make_report(prev.as_ref(), &sample).map_err(Fail::Runtime)?;
            let text = if args.json {
                format::json(&r)
            } else if args.prometheus {
                format::prometheus(&r)
            } else {
                let mut t = format::plain(&r, args.histogram);
                if plan.interval_s.is_some() {
                    t.push('\n');
                }
                t
            };
            emit(&args, &text)?;
            shown += 1;
        }
        prev = Some(sample);
        let Some(interval) = plan.interval_s else {
            return Ok(());
        };
        if plan.count.is_some_and(|c| shown >= c) {
            return heatmap_done(&recorded);
        }
        n += 1;
        // Reports on a fixed schedule (no drift).
        let deadline = start + Duration::from_secs_f64(interval * n as f64);
        if wait_for_signal(signals, deadline) {
            return heatmap_done(&recorded);
        }
    }
}

/// Replaces `path` atomically (through PATH.tmp and a rename).
fn write_file(path: &std::path::Path, text: &str) -> Result<(), Fail> {
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map_or(String::new(), |e| format!("{}.", e.to_string_lossy()))
    ));
    let res = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Fail::Runtime(format!(
            "cannot write {}: {}",
            path.display(),
            kernel::os_text(&e)
        ))
    })
}

/// The exporter: serves until SIGINT or SIGTERM.
fn listen(k: Kernel, plan: Plan, addr: &str, signals: &libc::sigset_t) -> Result<(), Fail> {
    let addr = exporter::parse_addr(addr).map_err(Fail::Usage)?;
    let k = std::sync::Arc::new(k);
    let start = Instant::now();
    let scrape = move || {
        let unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let s = k.sample(&plan.devices, start.elapsed().as_secs_f64(), unix_s)?;
        Ok(format::families(&report::make_report(None, &s)?))
    };
    exporter::start(addr, std::sync::Arc::new(scrape)).map_err(Fail::Runtime)?;
    eprintln!("dmpstat: serving /metrics on http://{addr}/metrics");
    loop {
        if wait_for_signal(signals, Instant::now() + Duration::from_secs(3600)) {
            return Ok(());
        }
    }
}

/// Writes one report with as few write(2) calls as the kernel allows (one,
/// for what fits in the pipe), or atomically replaces --output's file.
fn emit(args: &Args, text: &str) -> Result<(), Fail> {
    if let Some(path) = &args.output {
        return write_file(path, text);
    }
    let mut buf = text.as_bytes();
    while !buf.is_empty() {
        // SAFETY: writes from a live buffer of the given length to fd 1.
        let r = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                // The reader went away (`dmpstat 1 | head`): done.
                Some(libc::EPIPE) => std::process::exit(0),
                _ => {
                    return Err(Fail::Runtime(format!(
                        "cannot write the report: {}",
                        kernel::os_text(&e)
                    )))
                }
            }
        }
        buf = &buf[r as usize..];
    }
    Ok(())
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: plain libc signal-set calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Sleeps until `deadline`; true if SIGINT or SIGTERM came first.
fn wait_for_signal(set: &libc::sigset_t, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ts = libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: left.subsec_nanos() as libc::c_long,
        };
        // SAFETY: waits for the blocked signals of `set`, with a timeout.
        let r = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) };
        if r > 0 {
            return true;
        }
        // EAGAIN: timed out (loop sees the deadline); EINTR: try again.
    }
}

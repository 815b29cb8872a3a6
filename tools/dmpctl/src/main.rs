// SPDX-License-Identifier: GPL-2.0
//! dmpctl: attach dmp to live dm-linear and LVM volumes in place, and detach
//! it, through device-mapper's own reload and suspend/resume.
//!
//! `table` decides what a table becomes (no kernel), `kernel` does the
//! ioctls; this file runs one device after the other.

mod kernel;
mod table;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use table::Plan;

const AFTER_HELP: &str = "\
DEVICE is a dm name (vg0-data), /dev/mapper/NAME, /dev/dm-N, an LVM path
/dev/VG/LV (symlinks are followed, the device found by its major:minor),
VG/LV, or uuid:DM_UUID.

attach: a device whose live table has only linear targets gets the same
table with each `linear DEV OFFSET` as `dmp DEV OFFSET` (loaded, suspended,
resumed; the filesystem stays mounted). A table with dmp and linear targets
gets its linear ones switched. A device already attached is left alone.
Any other target type is refused and nothing changes. If the suspend does
not finish within --timeout (I/O stuck below the device), it is cancelled:
the device goes on with its old table, and the new one is dropped.

detach: each dmp target becomes linear again, with the same parameters: the
table is the one the device had before attach, byte for byte.

Exit status: 0 when every device ends as asked (already so included),
1 when one could not (a line on stderr says why), 2 usage error.";

#[derive(Parser, Debug)]
#[command(
    name = "dmpctl",
    version,
    about = "Attach dmp to live dm-linear / LVM volumes in place, or detach it",
    after_help = AFTER_HELP
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Switch the linear targets of each DEVICE to dmp
    Attach {
        /// Also attach the volumes listed in FILE (one per line: VG/LV,
        /// /dev/..., a dm name or uuid:...; `#` comments)
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
        /// Seconds the suspend may wait for in-flight I/O
        #[arg(long, default_value = "10", value_parser = table::parse_timeout)]
        timeout: f64,
        /// Wait up to SECONDS for each device to appear (volumes that LVM
        /// activates from udev events at boot)
        #[arg(long, value_name = "SECONDS", value_parser = table::parse_timeout)]
        wait: Option<f64>,
        #[arg(value_name = "DEVICE")]
        devices: Vec<String>,
    },
    /// Switch the dmp targets of each DEVICE back to linear
    Detach {
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
        /// Seconds the suspend may wait for in-flight I/O
        #[arg(long, default_value = "10", value_parser = table::parse_timeout)]
        timeout: f64,
        #[arg(value_name = "DEVICE")]
        devices: Vec<String>,
    },
}

fn usage(m: &str) -> ExitCode {
    eprintln!("dmpctl: {m} (see dmpctl --help)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // `dmpctl --generate man|bash|zsh|fish DIR` (hidden): the man pages and
    // completions, from the same clap definition (package build).
    if let Some(code) = dmpdev::generate::handle(<Args as clap::CommandFactory>::command) {
        return code;
    }
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            return usage(first.trim_start_matches("error: "));
        }
    };
    let (attach, config, timeout, wait, mut devices) = match args.cmd {
        Cmd::Attach {
            config,
            timeout,
            wait,
            devices,
        } => (true, config, timeout, wait, devices),
        Cmd::Detach {
            config,
            timeout,
            devices,
        } => (false, config, timeout, None, devices),
    };
    if let Some(path) = &config {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("dmpctl: cannot read {}: {e}", path.display());
                return ExitCode::from(1);
            }
        };
        match table::parse_config(&text) {
            Ok(v) => devices.extend(v),
            Err(e) => {
                eprintln!("dmpctl: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    } else if devices.is_empty() {
        return usage("no DEVICE given (and no --config)");
    }
    let mut specs = Vec::new();
    for d in &devices {
        match table::parse_spec(d) {
            Ok(s) => specs.push((d.clone(), s)),
            Err(e) => return usage(&e),
        }
    }
    if attach && !kernel::dmp_loaded() {
        eprintln!(
            "dmpctl: the dmp module is not loaded (no {}): nothing changed",
            kernel::MODULE_DIR
        );
        return ExitCode::from(1);
    }
    let dm = match kernel::open() {
        Ok(dm) => dm,
        Err(e) => {
            eprintln!("dmpctl: {e}");
            return ExitCode::from(1);
        }
    };
    kernel::install_cancel_handler();
    let limit = Duration::from_secs_f64(timeout);
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(wait.unwrap_or(0.0));
    let mut ok = true;
    for (arg, spec) in &specs {
        // A device that is not there yet may appear before the deadline;
        // one being activated has no live table, or is suspended, until
        // its activation ends.
        while std::time::Instant::now() < deadline && !ready(&dm, arg, spec) {
            std::thread::sleep(Duration::from_millis(100));
        }
        match switch(&dm, arg, spec, attach, limit) {
            Ok(line) => println!("{line}"),
            Err(line) => {
                eprintln!("dmpctl: {line}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The device exists, with a live table, and is not suspended.
fn ready(dm: &devicemapper::DM, arg: &str, spec: &table::DevSpec) -> bool {
    kernel::resolve(dm, arg, spec)
        .and_then(|name| kernel::live(dm, &name))
        .is_ok_and(|l| !l.table.is_empty() && !l.suspended)
}

/// Attaches (or detaches) one device; the line to print either way.
fn switch(
    dm: &devicemapper::DM,
    arg: &str,
    spec: &table::DevSpec,
    attach: bool,
    limit: Duration,
) -> Result<String, String> {
    let name = kernel::resolve(dm, arg, spec)?;
    let live = kernel::live(dm, &name)?;
    let verb = if attach { "attach" } else { "detach" };
    if live.suspended {
        return Err(format!(
            "{name}: not {verb}ed: the device is suspended (someone else is changing it); nothing changed"
        ));
    }
    let plan = if attach {
        table::attach_plan(&live.table)
    } else {
        table::detach_plan(&live.table)
    };
    let (new, changed, kept) = match plan {
        Plan::Refuse(why) => return Err(format!("{name}: not {verb}ed: {why}; nothing changed")),
        Plan::Nothing { targets } => {
            return Ok(if attach {
                format!("{name}: already attached ({targets} dmp targets), nothing to do")
            } else {
                format!("{name}: not attached ({targets} linear targets), nothing to do")
            })
        }
        Plan::Load {
            table,
            changed,
            kept,
        } => (table, changed, kept),
    };
    kernel::load(dm, &name, &new, live.read_only).map_err(|e| {
        format!("{name}: not {verb}ed: loading the new table failed: {e}; nothing changed")
    })?;
    match kernel::suspend(&name, limit) {
        kernel::Suspend::Done => {}
        kernel::Suspend::TimedOut => {
            let cleared = kernel::clear_inactive(dm, &name);
            let still = kernel::live(dm, &name).map(|l| l.suspended).unwrap_or(true);
            if still {
                // Not expected (an interrupted suspend resumes itself), but
                // never leave the device suspended.
                let _ = kernel::resume(dm, &name);
            }
            return Err(match cleared {
                Ok(()) => format!(
                    "{name}: not {verb}ed: the suspend did not finish within {} s (I/O stuck below?); \
                     cancelled, the device runs on its old table",
                    limit.as_secs_f64()
                ),
                Err(e) => format!(
                    "{name}: not {verb}ed: the suspend did not finish within {} s and was cancelled; \
                     the device runs on its old table but clearing the new one failed: {e}",
                    limit.as_secs_f64()
                ),
            });
        }
        kernel::Suspend::Failed(e) => {
            let _ = kernel::clear_inactive(dm, &name);
            return Err(format!(
                "{name}: not {verb}ed: suspend failed: {e}; nothing changed"
            ));
        }
    }
    if let Err(e) = kernel::resume(dm, &name) {
        // The swap failed: drop the new table and resume the old one.
        let _ = kernel::clear_inactive(dm, &name);
        let again = kernel::resume(dm, &name);
        return Err(match again {
            Ok(()) => format!("{name}: not {verb}ed: resuming with the new table failed: {e}; resumed with the old one"),
            Err(e2) => format!("{name}: not {verb}ed: resuming with the new table failed: {e}, and with the old one: {e2}; the device is SUSPENDED"),
        });
    }
    let total = changed + kept;
    Ok(if attach {
        if kept == 0 {
            format!("{name}: attached ({changed} linear targets now dmp)")
        } else {
            format!("{name}: attached ({changed} linear targets now dmp, {kept} already dmp; {total} in all)")
        }
    } else if kept == 0 {
        format!("{name}: detached ({changed} dmp targets now linear)")
    } else {
        format!("{name}: detached ({changed} dmp targets now linear, {kept} already linear; {total} in all)")
    })
}

// SPDX-License-Identifier: GPL-2.0
//! dmpctl: attach dmp to live dm devices and detach it, through
//! device-mapper's own reload and suspend/resume: linear tables in place,
//! every other bio-based device as a layer (`layered`).
//!
//! `table` decides what a linear table becomes (no kernel), `dmpdev`
//! knows dmp's lower devices (`layer`, no kernel) and does the ioctls
//! (`dm`); this file runs one device after the other.

mod layered;
mod table;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use dmpdev::dm;
use dmpdev::layer::{self, Method};
use dmpdev::spec::{parse_spec, DevSpec};

use table::Plan;

const AFTER_HELP: &str = "\
DEVICE is a dm name (vg0-data), /dev/mapper/NAME, /dev/dm-N, an LVM path
/dev/VG/LV (symlinks are followed, the device found by its major:minor),
VG/LV, or uuid:DM_UUID.

attach: a device whose live table has only linear targets gets the same
table with each `linear DEV OFFSET` as `dmp DEV OFFSET` (loaded, suspended,
resumed; the filesystem stays mounted). An LVM volume whose table LVM runs
itself (raid, mirror, cache, writecache, a snapshot origin) keeps it: dmp
goes in place on the linear sub-volumes that carry its data (RAID and
mirror legs, the cache's origin, the origin's -real), so that lvs, dmeventd
and LVM's own reloads see the volume as LVM made it. An LVM thin volume is
refused (the reason says what to attach instead: the pool's data). Any
other bio-based device (crypt, striped, zero, a dmsetup device, ...) gets
dmp as a layer: its table moves to a hidden lower device NAME.dmp-lower
and the device (same name, number and holders) maps dmp over it; the
kernel removes the lower device as soon as the device stops using it
(deferred removal), whoever made it stop. A device already attached is
left alone. An LVM volume is switched under LVM's lock of its VG.
Refused, nothing changed: request-based devices (multipath), immutable
targets (thin-pool, multipath, verity), a suspended device, a device
without a table, a device someone else is changing. If the suspend does
not finish within --timeout (I/O stuck below the device), it is cancelled:
the device goes on with its old table, and the new one is dropped.
Between a suspend and its resume dmpctl's memory is locked and SIGTERM,
SIGINT, SIGHUP, SIGQUIT and SIGTSTP wait until the device is switched. Run
again after an interruption (even SIGKILL), attach completes what was cut
short.

detach: each dmp target becomes linear again, with the same parameters, or
the layered device gets its own table back and the lower device goes: the
table is the one the device had before attach, byte for byte. Run after an
interruption, detach completes a cut detach and undoes a cut attach.

status: the devices dmp is attached to (in place or layered) and lower
devices nothing uses (which attach and detach remove).

Exit status: 0 when every device ends as asked (already so included),
1 when one could not (a line on stderr says why), 2 usage error.";

/// Serialises dmpctl runs (one changes tables at a time).
const LOCK: &str = "/run/dmpctl.lock";
/// How long a run waits for another one to finish.
const LOCK_WAIT_S: u64 = 120;

#[derive(Parser, Debug)]
#[command(
    name = "dmpctl",
    version,
    about = "Attach dmp to live dm devices (LVM, LUKS, thin, RAID, ...) or detach it",
    after_help = AFTER_HELP
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Attach dmp to each DEVICE (linear targets in place, others as a layer)
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
    /// Give each DEVICE its own table back
    Detach {
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
        /// Seconds the suspend may wait for in-flight I/O
        #[arg(long, default_value = "10", value_parser = table::parse_timeout)]
        timeout: f64,
        #[arg(value_name = "DEVICE")]
        devices: Vec<String>,
    },
    /// List the devices dmp is attached to, and unused lower devices
    Status,
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
        Cmd::Status => return status(),
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
        match parse_spec(d) {
            Ok(s) => specs.push((d.clone(), s)),
            Err(e) => return usage(&e),
        }
    }
    if attach && !dmpdev::dmp_loaded() {
        eprintln!(
            "dmpctl: the dmp module is not loaded (no {}): nothing changed",
            dmpdev::MODULE_DIR
        );
        return ExitCode::from(1);
    }
    let dm = match dmpdev::open("dmpctl") {
        Ok(dm) => dm,
        Err(e) => {
            eprintln!("dmpctl: {e}");
            return ExitCode::from(1);
        }
    };
    let _lock = match dm::flock_wait(LOCK, Duration::from_secs(LOCK_WAIT_S)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("dmpctl: {e}; nothing changed");
            return ExitCode::from(1);
        }
    };
    // Between a suspend and its resume, a page fault on dmpctl's own
    // memory must never wait for I/O (its binary may sit on the device it
    // suspends): everything locked in memory, now and later.
    // SAFETY: mlockall has no memory-safety preconditions.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
        let e = std::io::Error::last_os_error();
        eprintln!(
            "dmpctl: cannot lock its memory (mlockall): {}; nothing changed",
            dmpdev::os_text(&e)
        );
        return ExitCode::from(1);
    }
    dm::install_cancel_handler();
    let limit = Duration::from_secs_f64(timeout);
    let ctx = layered::Ctx {
        dm: &dm,
        limit,
        stop_after: std::env::var("DMPCTL_STOP_AFTER").ok(),
    };
    // Lower devices nothing uses (a cut attach, a change that put a
    // device's own table back where deferred removal did not apply).
    match dm::lowers(&dm).and_then(|l| layered::remove_unused(&dm, &l)) {
        Ok(gone) => {
            for g in gone {
                println!("{g}: removed (a lower device nothing used)");
            }
        }
        Err(e) => eprintln!("dmpctl: {e}"),
    }
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(wait.unwrap_or(0.0));
    let mut ok = true;
    for (arg, spec) in &specs {
        // A device that is not there yet may appear before the deadline;
        // one being activated has no live table, or is suspended, until
        // its activation ends.
        while std::time::Instant::now() < deadline && !ready(&dm, arg, spec) {
            std::thread::sleep(Duration::from_millis(100));
        }
        match switch(&ctx, arg, spec, attach) {
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
fn ready(dm: &devicemapper::DM, arg: &str, spec: &DevSpec) -> bool {
    dm::resolve(dm, arg, spec)
        .and_then(|name| dm::live(dm, &name))
        .is_ok_and(|l| !l.table.is_empty() && !l.suspended)
}

/// `dmpctl status`: one line per device dmp is attached to, and per lower
/// device nothing uses.
fn status() -> ExitCode {
    let dm = match dmpdev::open("dmpctl") {
        Ok(dm) => dm,
        Err(e) => {
            eprintln!("dmpctl: {e}");
            return ExitCode::from(1);
        }
    };
    let run = || -> Result<Vec<String>, String> {
        let entries = dm::entries(&dm)?;
        let lowers = dm::lowers(&dm)?;
        let mut out = Vec::new();
        for e in entries.iter().filter(|e| !e.is_lower()) {
            let Ok(live) = dm::live(&dm, &e.name) else {
                continue;
            };
            let under = layer::dmp_over(&live.table).and_then(|d| {
                lowers
                    .iter()
                    .find(|l| l.dev == d && l.of.is_of(e.dev, e.uuid.as_deref()))
            });
            if let Some(l) = under {
                let own = dm::live(&dm, &l.name)
                    .map(|x| layered::types(&x.table))
                    .unwrap_or_default();
                out.push(format!(
                    "{}: layered over {} ({}:{}, its {own} table)",
                    e.name, l.name, l.dev.0, l.dev.1
                ));
            } else {
                let n = live.table.iter().filter(|t| t.2 == layer::DMP).count();
                if n > 0 {
                    out.push(format!(
                        "{}: in place ({n} dmp targets of {})",
                        e.name,
                        live.table.len()
                    ));
                }
            }
        }
        for l in &lowers {
            let top = entries
                .iter()
                .find(|e| !e.is_lower() && l.of.is_of(e.dev, e.uuid.as_deref()));
            let of = top.map_or(
                match l.of.top {
                    Some(t) => format!("{}:{}, gone", t.0, t.1),
                    None => format!("{}, gone", l.of.top_uuid),
                },
                |t| t.name.clone(),
            );
            if layer::is_orphan(l) {
                out.push(format!(
                    "{}: orphan lower device (of {of}), nothing uses it: dmpctl attach or detach removes it",
                    l.name
                ));
            } else if top.is_none() {
                out.push(format!(
                    "{}: lower device of {of}, in use by another device",
                    l.name
                ));
            }
        }
        Ok(out)
    };
    match run() {
        Ok(lines) if lines.is_empty() => {
            println!("no device has dmp attached");
            ExitCode::SUCCESS
        }
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dmpctl: {e}");
            ExitCode::from(1)
        }
    }
}

/// The termination signals held back while a device is being switched: a
/// SIGTERM of systemd's stop timeout or a ^C between a suspend and its
/// resume would leave the device suspended. Delivered once it is switched.
const HELD: [libc::c_int; 5] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGTSTP,
];

/// Blocks (or unblocks) the HELD signals in this thread (and the threads
/// it starts: the suspend's).
fn hold_signals(hold: bool) {
    // SAFETY: a signal set built on the stack and passed to
    // pthread_sigmask, which only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in HELD {
            libc::sigaddset(&mut set, s);
        }
        let how = if hold {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Attaches (or detaches) one device, its termination signals held and
/// under LVM's lock of its VG if it is LVM's; the line to print either way.
fn switch(ctx: &layered::Ctx, arg: &str, spec: &DevSpec, attach: bool) -> Result<String, String> {
    hold_signals(true);
    let r = switch_held(ctx, arg, spec, attach);
    hold_signals(false);
    r
}

fn switch_held(
    ctx: &layered::Ctx,
    arg: &str,
    spec: &DevSpec,
    attach: bool,
) -> Result<String, String> {
    let dm = ctx.dm;
    let verb = if attach { "attach" } else { "detach" };
    let name = dm::resolve(dm, arg, spec)?;
    let live = dm::live(dm, &name)?;
    let _vg = match live
        .uuid
        .as_deref()
        .filter(|u| layer::is_lvm_uuid(u))
        .and_then(|_| layer::lvm_vg_name(&name))
    {
        Some(vg) => Some(
            dm::lock_vg(dm::LVM_LOCK_DIR, &vg, ctx.limit)
                .map_err(|e| format!("{name}: not {verb}ed: {e}; nothing changed"))?,
        ),
        None => None,
    };
    // Read again under the lock: LVM may have changed it meanwhile.
    let live = dm::live(dm, &name)?;
    if dm::entries(dm)?
        .iter()
        .any(|e| e.name == name && e.is_lower())
    {
        return Err(format!(
            "{name}: a lower device of dmpctl's; name the device above it; nothing changed"
        ));
    }
    let (top, mine) = layered::read(dm, &name, &live)?;
    let sit = layer::situation(&top, &mine);
    let ours = !matches!(
        sit,
        layer::Situation::Plain | layer::Situation::Leftovers(_)
    );
    if attach && ours {
        return layered::attach(ctx, &name, &live, &top, &mine);
    }
    if !attach {
        if let Some(r) = layered::detach(ctx, &name, &live, &top, &mine) {
            return r;
        }
    }
    if live.suspended {
        return Err(format!(
            "{name}: not {verb}ed: the device is suspended (someone else is changing it); nothing changed"
        ));
    }
    if let layer::Situation::Leftovers(ls) = &sit {
        // In use but not by this device's tables: not ours to remove.
        if let Some(l) = ls.iter().find(|l| !layer::is_orphan(l)) {
            return Err(format!(
                "{name}: not {verb}ed: its lower device {} is held by something else; nothing changed",
                l.name
            ));
        }
    }
    let how = layer::method(
        &live.table,
        dm::request_based(live.dev),
        live.uuid.as_deref(),
    );
    if attach {
        match how {
            Err(why) => {
                let hint = thin_hint(dm, &live.table, live.uuid.as_deref());
                return Err(format!(
                    "{name}: not attached: {why}{hint}; nothing changed"
                ));
            }
            Ok(Method::Layered) => return layered::attach(ctx, &name, &live, &top, &mine),
            Ok(Method::SubVolumes { kind, legs }) => {
                return sub_volumes(ctx, &name, &live, &kind, &legs, true)
            }
            Ok(Method::InPlace) => {}
        }
    } else if !live.table.iter().any(|t| t.2 == layer::DMP) {
        match how {
            Ok(Method::SubVolumes { kind, legs }) => {
                return sub_volumes(ctx, &name, &live, &kind, &legs, false)
            }
            Ok(Method::InPlace) => {}
            _ => {
                return Ok(format!(
                    "{name}: not attached (its {} table has no dmp), nothing to do",
                    layered::types(&live.table)
                ))
            }
        }
    }
    in_place(ctx, &name, &live, attach).map(|(line, _)| line)
}

/// For an LVM thin volume: where dmp can go instead (the pool's data
/// sub-volume, all the pool's volumes together), found from the pool's
/// table (`thin <pool> <id>`, `thin-pool <metadata> <data> ...`).
fn thin_hint(dm: &devicemapper::DM, table: &[layer::Target], uuid: Option<&str>) -> String {
    let Some(t) = table.iter().find(|t| t.2 == "thin") else {
        return String::new();
    };
    if !uuid.is_some_and(layer::is_lvm_uuid) {
        return String::new();
    }
    let name_of = |d: &str| -> Option<String> {
        let entries = dm::entries(dm).ok()?;
        entries
            .into_iter()
            .find(|e| format!("{}:{}", e.dev.0, e.dev.1) == d)
            .map(|e| e.name)
    };
    let data =
        t.3.split_whitespace()
            .next()
            .and_then(name_of)
            .and_then(|pool| dm::live(dm, &pool).ok())
            .and_then(|p| {
                p.table
                    .iter()
                    .find(|t| t.2 == "thin-pool")
                    .and_then(|t| t.3.split_whitespace().nth(1).map(str::to_string))
            })
            .and_then(|d| name_of(&d));
    match data {
        Some(d) => format!(
            "; dmp can count the pool's data sub-volume instead (all the pool's volumes together): \
             dmpctl attach {d}"
        ),
        None => String::new(),
    }
}

/// An LVM volume whose table LVM runs itself: dmp in place on the linear
/// sub-volumes that carry its data (`legs`), the volume's own table left
/// as LVM made it, so that its status (lvs, dmeventd) and LVM's reloads are
/// untouched. Every leg is checked before any is changed.
fn sub_volumes(
    ctx: &layered::Ctx,
    name: &str,
    live: &dm::Live,
    kind: &str,
    legs: &[layer::DevNo],
    attach: bool,
) -> Result<String, String> {
    let dm = ctx.dm;
    let verb = if attach { "attach" } else { "detach" };
    let vg = live.uuid.as_deref().and_then(layer::lvm_vg_id);
    let entries = dm::entries(dm)?;
    let mut found = Vec::new();
    for &leg in legs {
        let e = entries.iter().find(|e| e.dev == leg).ok_or_else(|| {
            format!(
                "{name}: not {verb}ed: its {kind} table's device {}:{} is not a dm device, so not a \
                 sub-volume dmp could go into; nothing changed",
                leg.0, leg.1
            )
        })?;
        let l = dm::live(dm, &e.name)?;
        let same_vg = vg.is_some() && e.uuid.as_deref().and_then(layer::lvm_vg_id) == vg;
        let linear = l
            .table
            .iter()
            .all(|t| t.2 == layer::LINEAR || t.2 == layer::DMP);
        if !same_vg || !linear || l.table.is_empty() {
            return Err(format!(
                "{name}: not {verb}ed: its {kind} table's sub-volume {} is not a linear volume of its \
                 VG (its table: {}); nothing changed",
                e.name,
                layered::types(&l.table)
            ));
        }
        if l.suspended {
            return Err(format!(
                "{name}: not {verb}ed: its sub-volume {} is suspended (someone else is changing it); \
                 nothing changed",
                e.name
            ));
        }
        found.push((e.name.clone(), l));
    }
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    let list = names.join(", ");
    let n = found.len();
    let mut changed = 0;
    for (i, (leg, l)) in found.iter().enumerate() {
        match in_place(ctx, leg, l, attach) {
            Ok((_, c)) => changed += usize::from(c),
            Err(e) => {
                return Err(format!(
                    "{name}: {verb}ed on {i} of its {n} sub-volumes ({}), then: {e}",
                    names[..i].join(", ")
                ))
            }
        }
    }
    Ok(match (attach, changed) {
        (true, 0) => format!(
            "{name}: already attached (in place on the {n} linear sub-volumes under its {kind} table: \
             {list}), nothing to do"
        ),
        (true, _) => format!(
            "{name}: attached (in place on the {n} linear sub-volumes under its {kind} table, which \
             stays LVM's: {list})"
        ),
        (false, 0) => format!(
            "{name}: not attached (the {n} sub-volumes under its {kind} table are linear), nothing to do"
        ),
        (false, _) => format!(
            "{name}: detached (the {n} sub-volumes under its {kind} table linear again: {list})"
        ),
    })
}

/// Switches one device's linear targets to dmp (or back) in place: the
/// line to print, and whether anything changed.
fn in_place(
    ctx: &layered::Ctx,
    name: &str,
    live: &dm::Live,
    attach: bool,
) -> Result<(String, bool), String> {
    let dm = ctx.dm;
    let limit = ctx.limit;
    let name = name.to_string();
    let verb = if attach { "attach" } else { "detach" };
    if live.suspended || live.inactive_present {
        return Err(format!(
            "{name}: not {verb}ed: the device is {} (someone else is changing it); nothing changed",
            if live.suspended {
                "suspended"
            } else {
                "holding an inactive table"
            }
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
            return Ok((
                if attach {
                    format!("{name}: already attached ({targets} dmp targets), nothing to do")
                } else {
                    format!("{name}: not attached ({targets} linear targets), nothing to do")
                },
                false,
            ))
        }
        Plan::Load {
            table,
            changed,
            kept,
        } => (table, changed, kept),
    };
    dm::load(dm, &name, &new, live.read_only).map_err(|(_, e)| {
        format!("{name}: not {verb}ed: loading the new table failed: {e}; nothing changed")
    })?;
    match dm::suspend(&name, limit, false) {
        dm::Suspend::Done => {}
        dm::Suspend::TimedOut => {
            let cleared = dm::clear_inactive(dm, &name);
            let still = dm::live(dm, &name).map(|l| l.suspended).unwrap_or(true);
            if still {
                // Not expected (an interrupted suspend resumes itself), but
                // never leave the device suspended.
                let _ = dm::resume(dm, &name);
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
        dm::Suspend::Failed(e) => {
            let _ = dm::clear_inactive(dm, &name);
            return Err(format!(
                "{name}: not {verb}ed: suspend failed: {e}; nothing changed"
            ));
        }
    }
    // Nobody changed the device between the copy of its table and the
    // suspend (LVM's lock keeps LVM out; other tools have none).
    if let Some(why) = layered::changed(dm, &name, &live.table, &new) {
        let _ = dm::clear_inactive(dm, &name);
        let resumed = dm::resume(dm, &name);
        return Err(match resumed {
            Ok(()) => {
                format!("{name}: not {verb}ed: {why}; resumed as it was, dmp's table dropped")
            }
            Err(e) => format!(
                "{name}: not {verb}ed: {why}; and resuming it failed: {e}; the device is SUSPENDED"
            ),
        });
    }
    if let Err(e) = dm::resume(dm, &name) {
        // The swap failed: drop the new table and resume the old one.
        let _ = dm::clear_inactive(dm, &name);
        let again = dm::resume(dm, &name);
        return Err(match again {
            Ok(()) => format!("{name}: not {verb}ed: resuming with the new table failed: {e}; resumed with the old one"),
            Err(e2) => format!("{name}: not {verb}ed: resuming with the new table failed: {e}, and with the old one: {e2}; the device is SUSPENDED"),
        });
    }
    let total = changed + kept;
    Ok((
        if attach {
            if kept == 0 {
                format!("{name}: attached ({changed} linear targets now dmp)")
            } else {
                format!("{name}: attached ({changed} linear targets now dmp, {kept} already dmp; {total} in all)")
            }
        } else if kept == 0 {
            format!("{name}: detached ({changed} dmp targets now linear)")
        } else {
            format!("{name}: detached ({changed} dmp targets now linear, {kept} already linear; {total} in all)")
        },
        true,
    ))
}

// SPDX-License-Identifier: GPL-2.0
//! dmp as a layer under a live device, in LVM's order (lvm2
//! libdm/libdm-deptree.c, `delay_resume_if_new`):
//!
//! attach: create the lower device (private to udev) · load the device's
//! table into it, not resumed · load the device's inactive slot with
//! `0 <size> dmp <lower> 0` (and mark the lower device for deferred removal,
//! not under an LVM volume) · suspend the device · resume the lower device · resume the device.
//!
//! detach: load the lower device's table into the device's inactive slot ·
//! suspend the device · suspend the lower device · resume the device (its
//! own table again) · remove the lower device.
//!
//! The lower device serves I/O only while the device above is suspended or
//! after it switched, never as a second live instance of the same target.
//! It is marked for deferred removal (DM_DEFERRED_REMOVE) once the device's
//! inactive table holds it open: the kernel removes it as soon as nothing
//! holds it (a failed step drops that table, detach, the device's owner
//! loads its own table back, the device is removed), so that a reload of
//! LVM's or cryptsetup's leaves one live copy of the targets, theirs.
//!
//! Once the lower device has gone live, its copy of the targets is the
//! newest (a snapshot has handed its exceptions over, a RAID set has read
//! its superblocks): the copy the device held before is superseded and is
//! never resumed again. Going back then means a new copy made from the lower
//! device's table, loaded into the device, as detach does (`handback`).
//! Every step can be cut short (DMPCTL_STOP_AFTER, a crash): the device
//! runs on as it was, and dmpctl run again reads the state the kernel
//! shows and completes or undoes the step.

use std::time::Duration;

use devicemapper::DM;
use dmpdev::dm::{self, Live, Suspend};
use dmpdev::layer::{
    self, crypt_key_refs, lower_name, lower_uuid, situation, table_size, top_table, LowerState,
    Situation, TopState,
};

pub struct Ctx<'a> {
    pub dm: &'a DM,
    pub limit: Duration,
    /// DMPCTL_STOP_AFTER: exit right after this step (tests of a cut).
    pub stop_after: Option<String>,
}

impl Ctx<'_> {
    fn step(&self, name: &str, step: &str) {
        if self.stop_after.as_deref() == Some(step) {
            println!("{name}: stopped after {step} (DMPCTL_STOP_AFTER)");
            std::process::exit(3);
        }
    }
}

/// The types of a table's targets, as a short text (`thin`, `linear+zero`).
pub fn types(table: &[layer::Target]) -> String {
    let mut v: Vec<&str> = Vec::new();
    for t in table {
        if !v.contains(&t.2.as_str()) {
            v.push(&t.2);
        }
    }
    v.join("+")
}

/// A device's state and the lower devices made for it.
pub fn read(dm: &DM, name: &str, live: &Live) -> Result<(TopState, Vec<LowerState>), String> {
    let inactive = if live.inactive_present {
        dm::inactive(dm, name)?
    } else {
        None
    };
    let top = TopState {
        dev: live.dev,
        uuid: live.uuid.clone(),
        live: live.table.clone(),
        inactive,
        suspended: live.suspended,
    };
    let mine = dm::lowers(dm)?
        .into_iter()
        .filter(|l| l.of.is_of(live.dev, live.uuid.as_deref()))
        .collect();
    Ok((top, mine))
}

fn key_hint(errno: i32, table: &[layer::Target]) -> Option<String> {
    let refs = crypt_key_refs(table);
    let key_errs = [
        libc::ENOKEY,
        libc::EKEYEXPIRED,
        libc::EKEYREVOKED,
        libc::EKEYREJECTED,
    ];
    if refs.is_empty() || !key_errs.contains(&errno) {
        return None;
    }
    Some(format!(
        "its dm-crypt table names its key in the kernel keyring ({}) and the key is no longer there \
         (cryptsetup drops it once the mapping is open), so no new table can be made of it; open the \
         mapping with `cryptsetup open --disable-keyring`, or switch it with `cryptsetup refresh \
         --disable-keyring NAME`, then attach",
        refs[0]
    ))
}

/// Removes the lower devices nothing uses; their names.
pub fn remove_unused(dm: &DM, lowers: &[LowerState]) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for l in lowers.iter().filter(|l| layer::is_orphan(l)) {
        dm::remove(dm, &l.name, false)
            .map_err(|e| format!("cannot remove {}, a lower device nothing uses: {e}", l.name))?;
        done.push(l.name.clone());
    }
    Ok(done)
}

/// Attach, for a device whose state is not Plain/Leftovers, or a fresh
/// layered attach. `top` and `mine` as read() gives them.
pub fn attach(
    ctx: &Ctx,
    name: &str,
    live: &Live,
    top: &TopState,
    mine: &[LowerState],
) -> Result<String, String> {
    let dm = ctx.dm;
    match situation(top, mine) {
        Situation::Layered { lower } => Ok(format!(
            "{name}: already attached (layered over {}, its {} table there), nothing to do",
            lower.name,
            types(&dm::live(dm, &lower.name)?.table)
        )),
        Situation::Busy { .. } => Err(busy(name)),
        Situation::LowerNotLive { lower } => {
            dm::resume_private(dm, &lower.name).map_err(|e| {
                format!("{name}: cannot resume its lower device {}: {e}", lower.name)
            })?;
            Ok(format!(
                "{name}: attached (layered over {}; an interrupted attach completed)",
                lower.name
            ))
        }
        Situation::DetachCut { lower } => {
            // Undo the detach: drop the table it loaded, resume what it
            // suspended, lower device first.
            if top.inactive.is_some() {
                dm::clear_inactive(dm, name)
                    .map_err(|e| format!("{name}: cannot clear its inactive table: {e}"))?;
            }
            if lower.suspended {
                dm::resume_private(dm, &lower.name)
                    .map_err(|e| format!("{name}: cannot resume {}: {e}", lower.name))?;
            }
            if top.suspended {
                dm::resume(dm, name).map_err(|e| format!("{name}: cannot resume it: {e}"))?;
            }
            Ok(format!(
                "{name}: attached (layered over {}; an interrupted detach undone)",
                lower.name
            ))
        }
        Situation::AttachCut { lower } if top.suspended => {
            // Cut after the suspend: complete it.
            if !lower.live || lower.suspended {
                if let Err(e) = dm::resume_private(dm, &lower.name) {
                    let why = format!("resuming {} failed: {e}", lower.name);
                    return Err(failed(ctx, name, true, &lower, &why));
                }
            }
            if let Err(e) = dm::resume(dm, name) {
                return Err(handback(ctx, name, &lower, &e));
            }
            Ok(format!(
                "{name}: attached (layered over {}; an interrupted attach completed)",
                lower.name
            ))
        }
        Situation::AttachCut { lower } => {
            // Cut before the suspend: drop it, then attach afresh.
            dm::clear_inactive(dm, name)
                .map_err(|e| format!("{name}: cannot clear its inactive table: {e}"))?;
            dm::remove(dm, &lower.name, false)
                .map_err(|e| format!("{name}: cannot remove {}: {e}", lower.name))?;
            let mut live = dm::live(dm, name)?;
            live.inactive_present = false;
            fresh(ctx, name, &live)
        }
        Situation::Leftovers(_) | Situation::Plain => fresh(ctx, name, live),
    }
}

/// Undoes an attach cut after the device's inactive table was loaded: the
/// lower device goes first, while the device is still suspended (if it is),
/// then the device resumes on its own table. Err: what could not be undone.
fn undo_cut_attach(
    ctx: &Ctx,
    name: &str,
    top_suspended: bool,
    lower: &LowerState,
) -> Result<(), String> {
    let dm = ctx.dm;
    let cleared = dm::clear_inactive(dm, name);
    let removed = dm::remove(dm, &lower.name, false);
    let resumed = if top_suspended {
        dm::resume(dm, name)
    } else {
        Ok(())
    };
    match (cleared, removed, resumed) {
        (Ok(()), Ok(()), Ok(())) => Ok(()),
        (c, r, s) => Err(format!(
            "undoing it: clearing the inactive table: {}, removing {}: {}, resuming: {}",
            c.err().unwrap_or("ok".into()),
            lower.name,
            r.err().unwrap_or("ok".into()),
            s.err().unwrap_or("ok".into())
        )),
    }
}

/// The line of an attach that failed at `why` and was undone (or not).
fn failed(ctx: &Ctx, name: &str, top_suspended: bool, lower: &LowerState, why: &str) -> String {
    match undo_cut_attach(ctx, name, top_suspended, lower) {
        Ok(()) => format!(
            "{name}: not attached: {why}; the device runs on its own table, nothing changed"
        ),
        Err(e) => format!("{name}: not attached: {why}; {e}"),
    }
}

/// The line for a layered device someone else is changing.
fn busy(name: &str) -> String {
    format!(
        "{name}: left alone: someone else is changing it (a table of theirs loaded, or the device \
         suspended without a step of dmpctl's to explain it); run again once they are done"
    )
}

/// The device's resume with dmp failed after its lower device went live
/// (device-mapper refused the table at resume): the device is suspended on
/// its old copy of the targets, which the lower device's has superseded.
/// That old copy is never resumed: a new one made from the lower device's
/// table goes into the device, as detach does.
fn handback(ctx: &Ctx, name: &str, lower: &LowerState, e: &str) -> String {
    let dm = ctx.dm;
    let why = format!("resuming with the dmp table failed: {e}");
    let state = dm::live(dm, name).and_then(|live| {
        let (top, _) = read(dm, name, &live)?;
        Ok((live, top))
    });
    match state.and_then(|(live, top)| complete_detach(ctx, name, &live, &top, lower)) {
        Ok(_) => format!(
            "{name}: not attached: {why}; its own table is back as a new copy made from {}'s (the \
             superseded one never resumed), {} removed",
            lower.name, lower.name
        ),
        Err(e2) => format!("{name}: not attached: {why}; handing its table back: {e2}"),
    }
}

/// After dmpctl's suspend: why the device is not as dmpctl left it before
/// the suspend (its live table no longer `was`, its inactive one no longer
/// `ours`), if it is not. Another tool reloaded or switched it in between.
pub fn changed(
    dm: &DM,
    name: &str,
    was: &[layer::Target],
    ours: &[layer::Target],
) -> Option<String> {
    let now = match dm::live(dm, name) {
        Ok(l) => l.table,
        Err(e) => return Some(e),
    };
    let inactive = match dm::inactive(dm, name) {
        Ok(t) => t,
        Err(e) => return Some(e),
    };
    if now != was {
        return Some(
            "its table changed while dmpctl was switching it (another tool reloaded it)".into(),
        );
    }
    if inactive.as_deref() != Some(ours) {
        return Some(
            "the table dmpctl loaded was replaced while it was switching the device (another tool \
             loaded one)"
                .into(),
        );
    }
    None
}

/// A layered attach of a device that has nothing of ours.
fn fresh(ctx: &Ctx, name: &str, live: &Live) -> Result<String, String> {
    let dm = ctx.dm;
    if live.suspended {
        return Err(format!(
            "{name}: not attached: the device is suspended (someone else is changing it); nothing changed"
        ));
    }
    if live.inactive_present {
        return Err(format!(
            "{name}: not attached: it has an inactive table loaded (someone else is changing it); nothing changed"
        ));
    }
    let size = table_size(&live.table);
    let lname = lower_name(name, live.dev);
    let uuid = lower_uuid(live.dev, live.uuid.as_deref());
    let kinds = types(&live.table);
    // 1. The lower device, empty, private to udev.
    let ldev = dm::create_private(dm, &lname, &uuid).map_err(|e| {
        format!(
            "{name}: not attached: creating the lower device {lname} failed: {e}; nothing changed"
        )
    })?;
    ctx.step(name, "create-lower");
    let lower = LowerState {
        name: lname.clone(),
        dev: ldev,
        of: layer::parse_lower_uuid(&uuid).expect("a lower UUID"),
        live: false,
        suspended: false,
        open_count: 0,
        table: Vec::new(),
    };
    let gone = |why: String| -> String {
        match dm::remove(dm, &lname, false) {
            Ok(()) => format!("{name}: not attached: {why}; nothing changed"),
            Err(e) => format!("{name}: not attached: {why}; and removing {lname} failed: {e}"),
        }
    };
    // 2. The device's table in it, not resumed: its targets are built (a
    // crypt key must be at hand), but serve nothing.
    if let Err((errno, e)) = dm::load(dm, &lname, &live.table, live.read_only) {
        let why = key_hint(errno, &live.table)
            .unwrap_or_else(|| format!("loading its {kinds} table into {lname} failed: {e}"));
        return Err(gone(why));
    }
    ctx.step(name, "load-lower");
    // 3. dmp over the lower device in the device's inactive slot (dmp
    // accepts the lower device's 0 sectors: device-mapper checks the area
    // when the device resumes, after the lower device did).
    if let Err((_, e)) = dm::load(dm, name, &top_table(size, ldev), live.read_only) {
        return Err(gone(format!("loading the dmp table failed: {e}")));
    }
    if let Err(e) = dm::remove(dm, &lname, true) {
        let _ = dm::clear_inactive(dm, name);
        return Err(gone(format!(
            "marking {lname} for deferred removal failed: {e}"
        )));
    }
    ctx.step(name, "load-top");
    // 4. Suspend the device (in-flight I/O completes through its table, or
    // is requeued for the next one where the target queues: noflush).
    match dm::suspend(name, ctx.limit, layer::wants_noflush(&live.table)) {
        Suspend::Done => {}
        Suspend::TimedOut => {
            let susp = dm::live(dm, name).map(|l| l.suspended).unwrap_or(true);
            let why = format!(
                "the suspend did not finish within {} s (I/O stuck below?); cancelled",
                ctx.limit.as_secs_f64()
            );
            return Err(failed(ctx, name, susp, &lower, &why));
        }
        Suspend::Failed(e) => {
            let susp = dm::live(dm, name).map(|l| l.suspended).unwrap_or(true);
            return Err(failed(
                ctx,
                name,
                susp,
                &lower,
                &format!("suspend failed: {e}"),
            ));
        }
    }
    // The table copied before the suspend is still the device's, and the
    // inactive one still dmpctl's: nobody changed the device in between.
    if let Some(why) = changed(dm, name, &live.table, &top_table(size, ldev)) {
        return Err(failed(ctx, name, true, &lower, &why));
    }
    ctx.step(name, "suspend-top");
    // 5. The lower device goes live while the device is suspended.
    if let Err(e) = dm::resume_private(dm, &lname) {
        return Err(failed(
            ctx,
            name,
            true,
            &lower,
            &format!("resuming {lname} failed: {e}"),
        ));
    }
    ctx.step(name, "resume-lower");
    // 6. The device switches to dmp. From here on only forward, or back
    // through a new copy (handback).
    if let Err(e) = dm::resume(dm, name) {
        let lower = LowerState {
            live: true,
            table: live.table.clone(),
            ..lower
        };
        return Err(handback(ctx, name, &lower, &e));
    }
    Ok(format!(
        "{name}: attached (layered: its {kinds} table moved to {lname} {}:{}, dmp over it)",
        ldev.0, ldev.1
    ))
}

/// Detach, for a device that is layered (or has a cut attach or detach).
/// None when there is no layer: the caller goes on in place.
pub fn detach(
    ctx: &Ctx,
    name: &str,
    live: &Live,
    top: &TopState,
    mine: &[LowerState],
) -> Option<Result<String, String>> {
    match situation(top, mine) {
        Situation::Layered { lower } | Situation::DetachCut { lower } => {
            Some(complete_detach(ctx, name, live, top, &lower))
        }
        Situation::Busy { .. } => Some(Err(busy(name))),
        Situation::LowerNotLive { lower } => Some(
            dm::resume_private(ctx.dm, &lower.name)
                .map_err(|e| format!("{name}: cannot resume its lower device {}: {e}", lower.name))
                .and_then(|()| {
                    let lower = LowerState {
                        live: true,
                        ..lower
                    };
                    complete_detach(ctx, name, live, top, &lower)
                }),
        ),
        // The lower device went live: its copy is the newest; back only
        // through a new copy of its table.
        Situation::AttachCut { lower } if lower.live => {
            Some(complete_detach(ctx, name, live, top, &lower))
        }
        Situation::AttachCut { lower } => Some(
            undo_cut_attach(ctx, name, top.suspended, &lower)
                .map(|()| {
                    format!(
                        "{name}: not attached (an interrupted attach undone, {} removed)",
                        lower.name
                    )
                })
                .map_err(|e| format!("{name}: an interrupted attach: {e}")),
        ),
        Situation::Leftovers(_) | Situation::Plain => None,
    }
}

fn complete_detach(
    ctx: &Ctx,
    name: &str,
    live: &Live,
    top: &TopState,
    lower: &LowerState,
) -> Result<String, String> {
    let dm = ctx.dm;
    // The lower device's table as read before (the kernel may remove the
    // lower device during the detach: deferred removal), else now.
    let own = if lower.table.is_empty() {
        dm::live(dm, &lower.name)?.table
    } else {
        lower.table.clone()
    };
    if own.is_empty() {
        return Err(format!(
            "{name}: not detached: its lower device {} has no live table; nothing changed",
            lower.name
        ));
    }
    let kinds = types(&own);
    // 1. The device's own table, back in its inactive slot.
    if top.inactive.as_ref() != Some(&own) {
        if let Err((errno, e)) = dm::load(dm, name, &own, live.read_only) {
            let why = key_hint(errno, &own)
                .unwrap_or_else(|| format!("loading its {kinds} table back failed: {e}"));
            // A cut detach may have left the devices suspended.
            if lower.suspended {
                let _ = dm::resume_private(dm, &lower.name);
            }
            if top.suspended && layer::dmp_over(&top.live) == Some(lower.dev) {
                let _ = dm::clear_inactive(dm, name);
                let _ = dm::resume(dm, name);
            }
            return Err(format!("{name}: not detached: {why}; still attached"));
        }
    }
    ctx.step(name, "load-top");
    let undo = |why: String| -> String {
        let _ = dm::clear_inactive(dm, name);
        let l = dm::live(dm, &lower.name)
            .map(|l| l.suspended)
            .unwrap_or(false);
        if l {
            let _ = dm::resume_private(dm, &lower.name);
        }
        // Resumed only on dmp: a copy of the targets the lower device's has
        // superseded (a cut attach handed back) is never resumed.
        if dm::live(dm, name)
            .is_ok_and(|l| l.suspended && layer::dmp_over(&l.table) == Some(lower.dev))
        {
            let _ = dm::resume(dm, name);
        }
        format!("{name}: not detached: {why}; still attached, nothing changed")
    };
    // 2. Suspend the device.
    if !top.suspended {
        match dm::suspend(name, ctx.limit, false) {
            Suspend::Done => {}
            Suspend::TimedOut => {
                return Err(undo(format!(
                    "the suspend did not finish within {} s (I/O stuck below?); cancelled",
                    ctx.limit.as_secs_f64()
                )))
            }
            Suspend::Failed(e) => return Err(undo(format!("suspend failed: {e}"))),
        }
    }
    ctx.step(name, "suspend-top");
    // 3. Suspend the lower device: its targets stop before the same
    // targets start again in the device above. (After an attach cut once
    // the lower device went live, only the device's inactive dmp table
    // held it: the load of step 1 dropped that table and the kernel
    // removed the lower device, its targets stopped: nothing to suspend.)
    let gone = || matches!(dm::live(dm, &lower.name), Err(e) if e.starts_with("no such device"));
    if !lower.suspended && !gone() {
        match dm::suspend(&lower.name, ctx.limit, layer::wants_noflush(&own)) {
            Suspend::Done => {}
            Suspend::Failed(_) if gone() => {}
            Suspend::TimedOut => {
                return Err(undo(format!(
                    "suspending {} did not finish within {} s; cancelled",
                    lower.name,
                    ctx.limit.as_secs_f64()
                )))
            }
            Suspend::Failed(e) => {
                return Err(undo(format!("suspending {} failed: {e}", lower.name)))
            }
        }
    }
    ctx.step(name, "suspend-lower");
    // 4. The device resumes on its own table.
    if let Err(e) = dm::resume(dm, name) {
        return Err(undo(format!("resuming with its own table failed: {e}")));
    }
    // 5. The lower device: removed by the kernel when the dmp table let it
    // go (deferred removal); removed here if it is still there.
    dm::remove(dm, &lower.name, false).map_err(|e| {
        format!(
            "{name}: detached (its {kinds} table is back), but removing {} failed: {e}",
            lower.name
        )
    })?;
    Ok(format!(
        "{name}: detached (its {kinds} table is back, {} removed)",
        lower.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, p: &str) -> layer::Target {
        (0, 8, k.to_string(), p.to_string())
    }

    #[test]
    fn table_types_in_order_once() {
        assert_eq!(types(&[t("thin", "253:2 1")]), "thin");
        assert_eq!(
            types(&[t("linear", "7:0 0"), t("zero", ""), t("linear", "7:1 0")]),
            "linear+zero"
        );
        assert_eq!(types(&[]), "");
    }

    #[test]
    fn a_missing_keyring_key_is_explained() {
        let kr = [t(
            "crypt",
            "aes-xts-plain64 :64:logon:cryptsetup:0e63-d0 0 7:0 32768",
        )];
        let hex = [t("crypt", "aes-xts-plain64 0011 0 7:0 32768")];
        let m = key_hint(libc::ENOKEY, &kr).unwrap();
        assert!(m.starts_with(
            "its dm-crypt table names its key in the kernel keyring (:64:logon:cryptsetup:0e63-d0)"
        ));
        assert!(m.contains("cryptsetup refresh --disable-keyring NAME"));
        assert!(key_hint(libc::EKEYREVOKED, &kr).is_some());
        // Another error, or a key in the table: the plain error is shown.
        assert_eq!(key_hint(libc::EINVAL, &kr), None);
        assert_eq!(key_hint(libc::ENOKEY, &hex), None);
    }
}

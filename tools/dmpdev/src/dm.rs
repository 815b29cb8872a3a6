// SPDX-License-Identifier: GPL-2.0
//! Device-mapper access shared by both tools, through the `devicemapper`
//! crate's ioctls (DM_LIST_DEVICES, DM_DEV_STATUS, DM_TABLE_STATUS,
//! DM_TABLE_LOAD, DM_TABLE_CLEAR, DM_DEV_CREATE, DM_DEV_REMOVE,
//! DM_DEV_SUSPEND), never by running `dmsetup`.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use devicemapper::{DevId, DmFlags, DmName, DmOptions, DmUuid, DM};

use crate::layer::{parse_lower_uuid, DevNo, LowerState, Target};
use crate::spec::DevSpec;
use crate::{describe, errno, os_text};

/// The signal that interrupts a suspend that takes too long.
const CANCEL_SIGNAL: libc::c_int = libc::SIGUSR1;

pub fn id(name: &str) -> Result<DevId<'_>, String> {
    DmName::new(name)
        .map(DevId::Name)
        .map_err(|_| format!("'{name}' is not a valid dm name"))
}

/// One dm device as DM_LIST_DEVICES and DM_DEV_STATUS show it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub dev: DevNo,
    pub uuid: Option<String>,
}

impl Entry {
    /// A lower device made by `dmpctl attach` (hidden by the tools).
    pub fn is_lower(&self) -> bool {
        self.uuid.as_deref().and_then(parse_lower_uuid).is_some()
    }
}

/// Every dm device with its number and UUID, sorted by name. A device
/// removed between the two ioctls is left out.
pub fn entries(dm: &DM) -> Result<Vec<Entry>, String> {
    let devs = dm
        .list_devices()
        .map_err(|e| format!("cannot list dm devices: {}", describe(&e)))?;
    let mut out = Vec::new();
    for (name, dev, _) in devs {
        let Ok(info) = dm.device_info(&DevId::Name(&name)) else {
            continue;
        };
        out.push(Entry {
            name: name.to_string(),
            dev: (dev.major, dev.minor),
            uuid: info.uuid().map(|u| u.to_string()).filter(|u| !u.is_empty()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The dm name of the device `arg` names.
pub fn resolve(dm: &DM, arg: &str, spec: &DevSpec) -> Result<String, String> {
    let missing = || format!("no such device: {arg}");
    match spec {
        DevSpec::Name(n) => {
            let i = id(n)?;
            match dm.device_info(&i) {
                Ok(_) => Ok(n.clone()),
                Err(e) if errno(&e) == Some(libc::ENXIO) => Err(missing()),
                Err(e) => Err(format!("{arg}: {}", describe(&e))),
            }
        }
        DevSpec::Uuid(u) => {
            let uuid = DmUuid::new(u).map_err(|_| format!("'{u}' is not a valid dm UUID"))?;
            match dm.device_info(&DevId::Uuid(uuid)) {
                Ok(info) => info
                    .name()
                    .map(|n| n.to_string())
                    .ok_or_else(|| format!("{arg}: the device has no name")),
                Err(e) if errno(&e) == Some(libc::ENXIO) => Err(missing()),
                Err(e) => Err(format!("{arg}: {}", describe(&e))),
            }
        }
        DevSpec::Path(p) => {
            // metadata() follows symlinks (/dev/VG/LV, /dev/disk/by-id/...).
            let md = match std::fs::metadata(p) {
                Ok(md) => md,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
                Err(e) => return Err(format!("{arg}: {}", os_text(&e))),
            };
            if !md.file_type().is_block_device() {
                return Err(format!("{arg} is not a block device"));
            }
            let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
            let devs = dm
                .list_devices()
                .map_err(|e| format!("cannot list dm devices: {}", describe(&e)))?;
            devs.into_iter()
                .find(|(_, d, _)| d.major == major && d.minor == minor)
                .map(|(n, _, _)| n.to_string())
                .ok_or_else(|| format!("{arg} ({major}:{minor}) is not a device-mapper device"))
        }
    }
}

/// A device's state: its live table and what DM_TABLE_STATUS says of it.
#[derive(Debug, Clone)]
pub struct Live {
    pub table: Vec<Target>,
    pub dev: DevNo,
    pub uuid: Option<String>,
    pub read_only: bool,
    pub suspended: bool,
    pub inactive_present: bool,
    pub open_count: i32,
}

fn status_err(name: &str, e: &devicemapper::DmError) -> String {
    match errno(e) {
        Some(libc::ENXIO) => format!("no such device: {name}"),
        _ => format!("{name}: cannot read its table: {}", describe(e)),
    }
}

/// The live table and state. (A crypt table holds its key: the
/// `devicemapper` crate passes no DM_SECURE_DATA to DM_TABLE_STATUS, so the
/// kernel does not wipe that ioctl's buffer.)
pub fn live(dm: &DM, name: &str) -> Result<Live, String> {
    let opts = DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE);
    let (info, table) = dm
        .table_status(&id(name)?, opts)
        .map_err(|e| status_err(name, &e))?;
    let flags = info.flags();
    let d = info.device();
    Ok(Live {
        table,
        dev: (d.major, d.minor),
        uuid: info.uuid().map(|u| u.to_string()).filter(|u| !u.is_empty()),
        read_only: flags.contains(DmFlags::DM_READONLY),
        suspended: flags.contains(DmFlags::DM_SUSPEND),
        inactive_present: flags.contains(DmFlags::DM_INACTIVE_PRESENT),
        open_count: info.open_count(),
    })
}

/// The inactive table, if one is loaded.
pub fn inactive(dm: &DM, name: &str) -> Result<Option<Vec<Target>>, String> {
    let opts =
        DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE | DmFlags::DM_QUERY_INACTIVE_TABLE);
    let (info, table) = dm
        .table_status(&id(name)?, opts)
        .map_err(|e| status_err(name, &e))?;
    Ok(info
        .flags()
        .contains(DmFlags::DM_INACTIVE_PRESENT)
        .then_some(table))
}

/// Loads `table` into the inactive slot (read-only if asked). The ioctl
/// buffers are wiped by the kernel (DM_SECURE_DATA: a crypt table holds a
/// key). The error is the errno's text and number.
pub fn load(dm: &DM, name: &str, table: &[Target], read_only: bool) -> Result<(), (i32, String)> {
    let mut flags = DmFlags::DM_SECURE_DATA;
    if read_only {
        flags |= DmFlags::DM_READONLY;
    }
    dm.table_load(
        &id(name).map_err(|e| (0, e))?,
        table,
        DmOptions::default().set_flags(flags),
    )
    .map(|_| ())
    .map_err(|e| (errno(&e).unwrap_or(0), describe(&e)))
}

pub fn clear_inactive(dm: &DM, name: &str) -> Result<(), String> {
    dm.table_clear(&id(name)?)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Resumes the device: swaps in the inactive table if there is one.
pub fn resume(dm: &DM, name: &str) -> Result<(), String> {
    dm.device_suspend(&id(name)?, DmOptions::default())
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Resumes a private device: its uevent tells udev to leave it alone (no
/// blkid, no /dev/disk links, no LVM scan), as LVM does for its layers.
pub fn resume_private(dm: &DM, name: &str) -> Result<(), String> {
    dm.device_suspend(&id(name)?, DmOptions::private())
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Creates an empty private device; its number.
pub fn create_private(dm: &DM, name: &str, uuid: &str) -> Result<DevNo, String> {
    let n = DmName::new(name).map_err(|_| format!("'{name}' is not a valid dm name"))?;
    let u = DmUuid::new(uuid).map_err(|_| format!("'{uuid}' is not a valid dm UUID"))?;
    dm.device_create(n, Some(u), DmOptions::private())
        .map(|i| (i.device().major, i.device().minor))
        .map_err(|e| describe(&e))
}

/// Removes a device; with `deferred`, a device in use is removed by the
/// kernel when its last user closes it (DM_DEFERRED_REMOVE).
pub fn remove(dm: &DM, name: &str, deferred: bool) -> Result<(), String> {
    let flags = if deferred {
        DmFlags::DM_DEFERRED_REMOVE
    } else {
        DmFlags::empty()
    };
    match dm.device_remove(&id(name)?, DmOptions::private().set_flags(flags)) {
        Ok(_) => Ok(()),
        Err(e) if errno(&e) == Some(libc::ENXIO) => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}

/// Whether the device is request-based: it then has a blk-mq queue, and
/// sysfs a `mq` directory (a bio-based dm device has none).
pub fn request_based(dev: DevNo) -> bool {
    Path::new(&format!("/sys/dev/block/{}:{}/mq", dev.0, dev.1)).exists()
}

/// Every lower device made by `dmpctl attach`, with its state.
pub fn lowers(dm: &DM) -> Result<Vec<LowerState>, String> {
    let mut out = Vec::new();
    for e in entries(dm)? {
        let Some(of) = e.uuid.as_deref().and_then(parse_lower_uuid) else {
            continue;
        };
        let Ok(l) = live(dm, &e.name) else {
            continue;
        };
        let dev_info = dm.device_info(&DevId::Name(
            DmName::new(&e.name).map_err(|x| x.to_string())?,
        ));
        let live_present = dev_info
            .as_ref()
            .is_ok_and(|i| i.flags().contains(DmFlags::DM_ACTIVE_PRESENT));
        out.push(LowerState {
            name: e.name,
            dev: e.dev,
            of,
            live: live_present,
            suspended: l.suspended,
            open_count: l.open_count,
            table: l.table,
        });
    }
    Ok(out)
}

pub enum Suspend {
    Done,
    /// Not done within the limit: interrupted, the device is live as before.
    TimedOut,
    Failed(String),
}

extern "C" fn on_cancel(_: libc::c_int) {}

/// Installs the handler of CANCEL_SIGNAL (without SA_RESTART, so that it
/// interrupts the suspend ioctl: dm_suspend() waits for in-flight I/O in
/// TASK_INTERRUPTIBLE and undoes the suspend when a signal arrives).
pub fn install_cancel_handler() {
    // SAFETY: a handler that does nothing, installed before any thread.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_cancel as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        libc::sigaction(CANCEL_SIGNAL, &sa, std::ptr::null_mut());
    }
}

/// Suspends the device, waiting at most `limit` for its in-flight I/O.
///
/// The suspend skips freezing the filesystem (DM_SKIP_LOCKFS: the table
/// switch changes no data, so there is nothing to make consistent, and a
/// freeze over a stuck device would wait uninterruptibly). With `noflush`
/// (DM_NOFLUSH_FLAG, as lvm2 suspends targets that queue I/O: see
/// layer::QUEUEING) what the target holds is requeued to the next table
/// instead of being waited for or failed; without it in-flight bios
/// complete through the old table. The ioctl runs in a thread; when
/// the limit passes, that thread is sent CANCEL_SIGNAL until the ioctl
/// returns: interrupted, the kernel resumes I/O on the old table itself.
pub fn suspend(name: &str, limit: Duration, noflush: bool) -> Suspend {
    let mut flags = DmFlags::DM_SUSPEND | DmFlags::DM_SKIP_LOCKFS;
    if noflush {
        flags |= DmFlags::DM_NOFLUSH;
    }
    let (tx, rx) = mpsc::channel::<Result<(), (Option<i32>, String)>>();
    let (tid_tx, tid_rx) = mpsc::channel::<libc::pthread_t>();
    let owned = name.to_string();
    let worker = std::thread::spawn(move || {
        // SAFETY: pthread_self() has no preconditions.
        let _ = tid_tx.send(unsafe { libc::pthread_self() });
        let res = DM::new().map_err(|e| (None, e.to_string())).and_then(|dm| {
            let i = DevId::Name(DmName::new(&owned).map_err(|e| (None, e.to_string()))?);
            dm.device_suspend(&i, DmOptions::default().set_flags(flags))
                .map(|_| ())
                .map_err(|e| (errno(&e), describe(&e)))
        });
        let _ = tx.send(res);
    });
    let Ok(tid) = tid_rx.recv() else {
        return Suspend::Failed("the suspend thread did not start".to_string());
    };
    let res = match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => loop {
            // SAFETY: the thread is alive until it has sent its result
            // (joined below), so tid names it.
            unsafe { libc::pthread_kill(tid, CANCEL_SIGNAL) };
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Ok(())) => break Ok(()), // finished just in time
                Ok(Err((Some(libc::EINTR), _))) => {
                    let _ = worker.join();
                    return Suspend::TimedOut;
                }
                Ok(Err(e)) => break Err(e),
                Err(_) => continue,
            }
        },
    };
    let _ = worker.join();
    match res {
        Ok(()) => Suspend::Done,
        Err((_, m)) => Suspend::Failed(m),
    }
}

/// LVM's lock directory (lvm.conf `global/locking_dir`, Debian's default).
pub const LVM_LOCK_DIR: &str = "/run/lock/lvm";

/// LVM's lock of a VG, held: the same flock(2) on `<locking_dir>/V_<VG>`
/// that lvm2's file locking takes around every change of the VG's devices
/// (lvm2 lib/locking/file_locking.c), so that a switch of dmpctl's and a
/// change of LVM's (lvextend, lvconvert --repair from dmeventd, ...) never
/// interleave. Released when dropped.
pub struct VgLock(#[allow(dead_code)] std::fs::File);

/// Takes LVM's write lock of VG `vg`, waiting at most `limit` for LVM to
/// release it. `dir`: LVM's lock directory.
pub fn lock_vg(dir: &str, vg: &str, limit: Duration) -> Result<VgLock, String> {
    let _ = std::fs::create_dir_all(dir);
    flock_wait(&format!("{dir}/V_{vg}"), limit)
        .map(VgLock)
        .map_err(|e| match e {
            Locked::Busy(p) => format!(
                "LVM holds the lock of VG {vg} ({p}) for more than {} s (an LVM command is changing it)",
                limit.as_secs_f64()
            ),
            Locked::Failed(m) => m,
        })
}

/// Why a lock was not taken.
pub enum Locked {
    /// Held by someone else for the whole wait (the file's path).
    Busy(String),
    Failed(String),
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locked::Busy(p) => write!(f, "another run holds {p} (waited for it)"),
            Locked::Failed(m) => f.write_str(m),
        }
    }
}

/// An exclusive flock(2) on `path` (created 0600 if missing), waiting at
/// most `limit` for whoever holds it.
pub fn flock_wait(path: &str, limit: Duration) -> Result<std::fs::File, Locked> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Locked::Failed(format!("cannot open the lock {path}: {}", os_text(&e))))?;
    let end = std::time::Instant::now() + limit;
    loop {
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(f);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(Locked::Failed(format!(
                "cannot take the lock {path}: {}",
                os_text(&e)
            )));
        }
        if std::time::Instant::now() >= end {
            return Err(Locked::Busy(path.to_string()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

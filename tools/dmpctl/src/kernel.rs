// SPDX-License-Identifier: GPL-2.0
//! The kernel side: device-mapper ioctls through the `devicemapper` crate
//! (DM_LIST_DEVICES, DM_DEV_STATUS, DM_TABLE_STATUS, DM_TABLE_LOAD,
//! DM_TABLE_CLEAR, DM_DEV_SUSPEND), and the suspend with a time limit.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::sync::mpsc;
use std::time::Duration;

use devicemapper::{DevId, DmFlags, DmName, DmOptions, DmUuid, DM};
use dmpdev::{describe, errno, os_text};
pub use dmpdev::{dmp_loaded, MODULE_DIR};

use crate::table::{DevSpec, Target};

/// The signal that interrupts a suspend that takes too long.
const CANCEL_SIGNAL: libc::c_int = libc::SIGUSR1;

pub fn open() -> Result<DM, String> {
    dmpdev::open("dmpctl")
}

fn id(name: &str) -> Result<DevId<'_>, String> {
    DmName::new(name)
        .map(DevId::Name)
        .map_err(|_| format!("'{name}' is not a valid dm name"))
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

/// The live table and whether the device is read-only and suspended.
pub struct Live {
    pub table: Vec<Target>,
    pub read_only: bool,
    pub suspended: bool,
}

pub fn live(dm: &DM, name: &str) -> Result<Live, String> {
    let opts = DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE);
    let (info, table) = dm
        .table_status(&id(name)?, opts)
        .map_err(|e| match errno(&e) {
            Some(libc::ENXIO) => format!("no such device: {name}"),
            _ => format!("{name}: cannot read its table: {}", describe(&e)),
        })?;
    Ok(Live {
        table,
        read_only: info.flags().contains(DmFlags::DM_READONLY),
        suspended: info.flags().contains(DmFlags::DM_SUSPEND),
    })
}

/// Loads `table` into the inactive slot (read-only if the device is).
pub fn load(dm: &DM, name: &str, table: &[Target], read_only: bool) -> Result<(), String> {
    let flags = if read_only {
        DmFlags::DM_READONLY
    } else {
        DmFlags::empty()
    };
    dm.table_load(&id(name)?, table, DmOptions::default().set_flags(flags))
        .map(|_| ())
        .map_err(|e| describe(&e))
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
/// freeze over a stuck device would wait uninterruptibly) and is not a
/// noflush suspend (in-flight bios complete through the old table; noflush
/// only matters to targets that requeue). The ioctl runs in a thread; when
/// the limit passes, that thread is sent CANCEL_SIGNAL until the ioctl
/// returns: interrupted, the kernel resumes I/O on the old table itself.
pub fn suspend(name: &str, limit: Duration) -> Suspend {
    let (tx, rx) = mpsc::channel::<Result<(), (Option<i32>, String)>>();
    let (tid_tx, tid_rx) = mpsc::channel::<libc::pthread_t>();
    let owned = name.to_string();
    let worker = std::thread::spawn(move || {
        // SAFETY: pthread_self() has no preconditions.
        let _ = tid_tx.send(unsafe { libc::pthread_self() });
        let res = DM::new().map_err(|e| (None, e.to_string())).and_then(|dm| {
            let i = DevId::Name(DmName::new(&owned).map_err(|e| (None, e.to_string()))?);
            dm.device_suspend(
                &i,
                DmOptions::default().set_flags(DmFlags::DM_SUSPEND | DmFlags::DM_SKIP_LOCKFS),
            )
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

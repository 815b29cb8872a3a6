// SPDX-License-Identifier: GPL-2.0

//! dmp, the device mapper proxy: a device-mapper target that passes every bio
//! to one underlying device, like `dm-linear`, and counts what went through.
//!
//! Table line: `<start> <length> dmp <device> [<offset>]`.
//!
//! - Per target: `dmsetup status` shows read, write and other requests,
//!   bytes and errors; `dmsetup message NAME 0 reset` zeroes them.
//! - Module-wide: `/sys/module/dmp/stat/volumes` shows reads and writes of
//!   every dmp target since load or the last reset (`echo > volumes`).

use core::fmt::Write;
use kernel::{c_str, ffi::c_int, prelude::*};

mod dm;
mod dmp_args;
mod dmp_stats;
mod dmp_sysfs;

use dm::{
    Args, Bio, BlkStatus, CtrError, DeviceVisitor, DmDev, DmTarget, MapResult, ReqOp, StatusType,
};
use dmp_args::Message;
use dmp_stats::{DeviceStatus, IoKind, IoStats, SliceWriter, Volumes};

module! {
    type: DmpModule,
    name: "dmp",
    author: "dmp developers",
    description: "device-mapper proxy: remaps to one device and counts its I/O",
    license: "GPL",
}

/// The module version. The 6.12 `module!` macro has no `version` key, so the
/// `.modinfo` entry is written here, as `MODULE_VERSION()` does in C.
#[cfg(MODULE)]
#[link_section = ".modinfo"]
#[used]
static MODINFO_VERSION: [u8; 14] = *b"version=1.0.0\0";

/// Reads and writes of all dmp targets since load or the last reset.
static VOLUMES: IoStats = IoStats::new();

struct DmpModule {
    // Dropped in this order: no new target, then no `volumes` file.
    _target: dm::Registration<Dmp>,
    _stat: dmp_sysfs::StatDir,
}

impl kernel::Module for DmpModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let stat = dmp_sysfs::StatDir::new(module).inspect_err(|e| {
            pr_err!("creating /sys/module/dmp/stat failed: {}\n", e.to_errno());
        })?;
        // The target goes last: once registered, devices can use it (and hold
        // the module), so nothing may fail after it. If it fails, `stat` is
        // dropped and so removed.
        let target = dm::Registration::new(module).inspect_err(|e| {
            pr_err!("registering the target failed: {}\n", e.to_errno());
        })?;
        Ok(Self {
            _target: target,
            _stat: stat,
        })
    }
}

/// Writes the text of `volumes`.
pub(crate) fn volumes_show(out: &mut SliceWriter<'_>) {
    // A page always holds the text; a cut one would still be safe.
    let _ = write!(out, "{}", Volumes(&VOLUMES.snapshot()));
}

/// Handles a write to `volumes`: a reset, or `EINVAL`.
pub(crate) fn volumes_store(input: &[u8]) -> Result {
    if dmp_args::is_volumes_reset(input) {
        VOLUMES.reset();
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// One dmp target: its device, where on it the target starts, its counters.
struct Dmp {
    stats: IoStats,
    dev: DmDev,
    offset: u64,
}

impl Dmp {
    /// How a bio counts, and its size in bytes.
    #[inline]
    fn kind_of(bio: &Bio) -> (IoKind, u32) {
        let size = bio.size();
        let kind = match bio.op() {
            ReqOp::Read => IoKind::Read,
            ReqOp::Write if size != 0 => IoKind::Write,
            _ => IoKind::Other,
        };
        (kind, size)
    }
}

impl dm::Target for Dmp {
    const NAME: &'static CStr = c_str!("dmp");
    const VERSION: [u32; 3] = [1, 0, 0];
    // As dm-linear, but for zoned devices (dmp has no `report_zones`).
    const FEATURES: u64 = (dm::bindings::DM_TARGET_PASSES_INTEGRITY
        | dm::bindings::DM_TARGET_NOWAIT
        | dm::bindings::DM_TARGET_PASSES_CRYPTO) as u64;

    fn new(ti: &mut DmTarget, args: &Args<'_>) -> core::result::Result<Self, CtrError> {
        let (Some(path), 1..=2) = (args.get(0), args.len()) else {
            return Err(CtrError::new(
                EINVAL,
                c_str!("Invalid argument count: expected <device> [<offset>]"),
            ));
        };
        let offset = match args.get(1) {
            None => 0,
            Some(s) => dmp_args::parse_sector(s.as_bytes()).ok_or_else(|| {
                CtrError::new(
                    EINVAL,
                    c_str!("Invalid offset: expected a decimal sector number below 2^64"),
                )
            })?,
        };
        let dev = ti
            .get_device(path)
            .map_err(|e| CtrError::new(e, c_str!("Device lookup failed")))?;
        match offset.checked_add(ti.len()) {
            Some(end) if end <= dev.nr_sectors() => {}
            _ => {
                return Err(CtrError::new(
                    EINVAL,
                    c_str!("Device too small for offset + length"),
                ))
            }
        }
        // Pass flushes, discards, secure erases and write-zeroes through.
        // Unlike dm-linear, `flush_bypasses_map` stays off: empty flushes
        // must reach `map` to be counted.
        ti.set_dataless_bios(1, 1, 1, 1);
        Ok(Self {
            stats: IoStats::new(),
            dev,
            offset,
        })
    }

    #[inline]
    fn map(&self, ti: &DmTarget, bio: &mut Bio) -> MapResult {
        let (kind, size) = Self::kind_of(bio);
        let cpu = dm::cpu_hint();
        self.stats.account(cpu, kind, size);
        if kind != IoKind::Other {
            VOLUMES.account(cpu, kind, size);
        }
        let sector = self.offset.wrapping_add(ti.offset_of(bio.sector()));
        bio.remap(&self.dev, sector);
        MapResult::Remapped
    }

    #[inline]
    fn end_io(&self, bio: &Bio, status: BlkStatus) {
        if !status.is_err() {
            return;
        }
        let cpu = dm::cpu_hint();
        if status.is_wouldblock() && bio.is_nowait() {
            // A REQ_NOWAIT bio that would have had to wait (no tag, or a
            // split needed below) never reached the device: its submitter
            // (io_uring, aio) sends it again without REQ_NOWAIT, and that is
            // the request that counts. Such a bio ends untouched, so its op
            // and size are those `map` counted.
            let (kind, size) = Self::kind_of(bio);
            self.stats.unaccount(cpu, kind, size);
            if kind != IoKind::Other {
                VOLUMES.unaccount(cpu, kind, size);
            }
            return;
        }
        self.stats.account_error(cpu);
    }

    fn status(
        &self,
        _ti: &DmTarget,
        kind: StatusType,
        out: &mut SliceWriter<'_>,
    ) -> core::fmt::Result {
        match kind {
            StatusType::Info => write!(out, "{}", DeviceStatus(&self.stats.snapshot())),
            StatusType::Table => write!(out, "{} {}", self.dev.name(), self.offset),
            StatusType::Ima => {
                let [a, b, c] = Self::VERSION;
                write!(
                    out,
                    "target_name=dmp,target_version={a}.{b}.{c},device_name={},start={};",
                    self.dev.name(),
                    self.offset
                )
            }
        }
    }

    fn message(&self, args: &Args<'_>) -> Result {
        match dmp_args::parse_message(args.iter()) {
            Ok(Message::Reset) => {
                self.stats.reset();
                Ok(())
            }
            Err(why) => {
                pr_err!("message refused: {}\n", why);
                Err(EINVAL)
            }
        }
    }

    fn iterate_devices(&self, ti: &DmTarget, visitor: &mut DeviceVisitor) -> c_int {
        visitor.visit(&self.dev, self.offset, ti.len())
    }

    fn ioctl_device(&self, ti: &DmTarget) -> (&DmDev, bool) {
        (
            &self.dev,
            self.offset == 0 && ti.len() == self.dev.nr_sectors(),
        )
    }
}

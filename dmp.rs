// SPDX-License-Identifier: GPL-2.0

//! dmp, the device mapper proxy: a device-mapper target that passes every bio
//! to one underlying device, like `dm-linear`, and counts what went through.
//!
//! Table line: `<start> <length> dmp <device> [<offset>]`.
//!
//! - Per target: `dmsetup status` shows read, write and other requests,
//!   bytes and errors; `dmsetup message NAME 0 reset` zeroes them;
//!   `dmsetup message NAME 0 stats [clear]` prints per-kind latency and size
//!   distributions (and starts a new interval).
//! - Module-wide: `/sys/module/dmp/stat/volumes` shows reads and writes of
//!   every dmp target since load or the last reset (`echo > volumes`).
//! - A target that replaces a dmp target at the same start sector of the same
//!   mapped device (`dmsetup reload` + `resume`) continues its counters.

use core::fmt::Write;
use kernel::{
    c_str,
    ffi::c_int,
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

mod dm;
mod dmp_args;
mod dmp_stats;
mod dmp_sysfs;

use dm::{
    clock::Clock, Args, Bio, BlkStatus, CtrError, DeviceVisitor, DmDev, DmTarget, EndIo, MapResult,
    ReqOp, SliceWriter, StatusType,
};
use dmp_args::Message;
use dmp_stats::{
    Counters, DeviceStatus, IoKind, StatsText, TargetStats, Totals, VolumeBook, Volumes,
    TARGET_COUNTERS,
};

module! {
    type: DmpModule,
    name: "dmp",
    description: "device-mapper proxy: remaps to one device and counts its I/O",
    license: "GPL",
}

// The module version and author, as `MODULE_VERSION()` and `MODULE_AUTHOR()`
// write them in C: `module!` has no `version` key on 6.12, and its `author`
// key became `authors` in 6.14.
dm::modinfo::modinfo!("version", "1.1.0");
dm::modinfo::modinfo!("author", "dmp developers");
// `MODULE_ALIAS("dm-dmp")`: device-mapper asks for the module `dm-<target>`
// (`request_module("dm-%s")` in `dm_get_target_type()`) when a table names a
// target that is not registered. In-tree targets are mostly modules named
// `dm-<target>` already (dm-delay); those that are not carry the alias
// (`MODULE_ALIAS("dm-snapshot-origin")` in dm-snap.c). With it, the first
// `dmsetup create` of a `dmp` table loads dmp.
dm::modinfo::modinfo!("alias", "dm-dmp");

/// dmp's counters on per-CPU memory.
struct Cpu<const N: usize>(dm::PerCpu<N>);

impl<const N: usize> Counters for Cpu<N> {
    #[inline(always)]
    fn add(&self, i: usize, v: u64) {
        self.0.add(i, v)
    }
    #[inline(always)]
    fn add_n<const M: usize>(&self, adds: [(usize, u64); M]) {
        self.0.add_n(adds)
    }
    #[inline(always)]
    fn inc_add<const I: isize, const J: isize>(&self, k: usize, b: usize, v: u64) {
        self.0.inc_add::<I, J>(k, b, v)
    }
    #[inline(always)]
    fn inc_add_max<const I: isize, const J: isize, const M: isize>(
        &self,
        k: usize,
        b: usize,
        v: u64,
    ) {
        self.0.inc_add_max::<I, J, M>(k, b, v)
    }
    #[inline(always)]
    fn max(&self, i: usize, v: u64) {
        self.0.max(i, v)
    }
    fn sum(&self, i: usize) -> u64 {
        self.0.sum(i)
    }
    fn maxima<const M: usize>(&self, idx: [usize; M], clear: bool) -> [u64; M] {
        self.0.maxima(idx, clear)
    }
}

type Stats = TargetStats<Cpu<TARGET_COUNTERS>>;

/// A live target's counters, found by the target that replaces it.
struct Live {
    /// `DmTarget::device_id()` of the target.
    device: usize,
    /// The target's start sector in the mapped device.
    begin: u64,
    /// The target that holds this entry.
    owner: usize,
    stats: Arc<Stats>,
}

/// The live targets and the module-wide figures, kept together so that a
/// target going moves its figures from one to the other in one step.
struct Registry {
    /// The counters of every live target (free slots are `None`).
    live: KVec<Option<Live>>,
    /// What `volumes` adds to the live targets' figures.
    volumes: VolumeBook,
}

impl Registry {
    /// The [`Totals`] of the live targets, each set of counters once (a
    /// target and the one replacing it share theirs).
    fn live_totals(&self) -> Totals {
        let mut sum = Totals::default();
        for (i, l) in self.live.iter().enumerate() {
            let Some(l) = l else { continue };
            let seen = self.live[..i]
                .iter()
                .flatten()
                .any(|e| Arc::ptr_eq(&e.stats, &l.stats));
            if !seen {
                sum = sum.plus(l.stats.totals());
            }
        }
        sum
    }
}

/// What the module shares between its targets and its sysfs file.
#[pin_data]
struct Shared {
    #[pin]
    registry: Mutex<Registry>,
}

static SHARED: dm::Global<Shared> = dm::Global::new();

struct DmpModule {
    // Dropped in this order: no new target, no `volumes` file, then the
    // shared state they use.
    _target: dm::Registration<Dmp>,
    _stat: dm::KobjDir,
    _shared: dm::GlobalGuard<Shared>,
}

impl kernel::Module for DmpModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let shared = KBox::pin_init(
            pin_init!(Shared {
                registry <- new_mutex!(Registry {
                    live: KVec::new(),
                    volumes: VolumeBook::default(),
                }),
            }),
            GFP_KERNEL,
        )?;
        let shared = SHARED.set(shared)?;
        let stat = dmp_sysfs::create(module).inspect_err(|e| {
            pr_err!("creating /sys/module/dmp/stat failed: {}\n", e.to_errno());
        })?;
        // The target goes last: once registered, devices can use it (and hold
        // the module), so nothing may fail after it.
        let target = dm::Registration::new(module).inspect_err(|e| {
            pr_err!("registering the target failed: {}\n", e.to_errno());
        })?;
        Ok(Self {
            _target: target,
            _stat: stat,
            _shared: shared,
        })
    }
}

fn shared() -> &'static Shared {
    // Set before anything that calls this can run (see `DmpModule::init`).
    SHARED.get().expect("dmp: module state used before init")
}

/// Writes the text of `volumes`.
pub(crate) fn volumes_show(out: &mut SliceWriter<'_>) {
    // A page always holds the text; a cut one would still be safe.
    let figures = {
        let r = shared().registry.lock();
        r.volumes.snapshot(r.live_totals())
    };
    let _ = write!(out, "{}", Volumes(&figures));
}

/// Handles a write to `volumes`: a reset, or `EINVAL`.
pub(crate) fn volumes_store(input: &[u8]) -> Result {
    if dmp_args::is_volumes_reset(input) {
        let mut r = shared().registry.lock();
        let live = r.live_totals();
        r.volumes.reset(live);
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// One dmp target: its device, where on it the target starts, its counters.
struct Dmp {
    stats: Arc<Stats>,
    dev: DmDev,
    offset: u64,
    /// Identity of this target in the `live` list.
    id: usize,
}

impl Dmp {
    /// How a bio counts, and its size in bytes.
    #[inline]
    fn kind_of(bio: &Bio) -> (IoKind, u32) {
        let size = bio.size();
        let kind = match bio.op() {
            ReqOp::Read => IoKind::Read,
            ReqOp::Write if size != 0 => IoKind::Write,
            ReqOp::ZoneAppend => IoKind::Write,
            _ => IoKind::Other,
        };
        (kind, size)
    }

    /// [`end_io`](dm::Target::end_io) of a bio that failed, out of the way
    /// of the bios that do not.
    #[cold]
    #[inline(never)]
    fn end_io_failed(&self, bio: &Bio, start: &IoStart, status: BlkStatus, lat: u64) -> EndIo {
        let kind = start.kind;
        if status.is_wouldblock() && bio.is_nowait() {
            // A REQ_NOWAIT bio that would have had to wait (no tag, or a
            // split needed below) never reached the device: its submitter
            // (io_uring, aio) sends it again without REQ_NOWAIT, and that is
            // the request that counts.
            self.stats.take_back(kind, start.bytes);
        } else {
            self.stats.fail(kind);
            self.stats.complete(kind, lat);
        }
        // Opaque to the optimizer, so that `end_io` returns what this returns
        // (a tail call) instead of knowing it and calling.
        core::hint::black_box(EndIo::DONE)
    }

    /// The counters for a new target at `begin` of mapped device `device`:
    /// those of the live dmp target it replaces there, if any, else new ones.
    /// Either way the new target is listed as live under `id`.
    fn stats_for(device: usize, begin: u64, id: usize) -> Result<Arc<Stats>> {
        let mut registry = shared().registry.lock();
        let live = &mut registry.live;
        let found = live
            .iter()
            .flatten()
            .find(|l| l.device == device && l.begin == begin)
            .map(|l| l.stats.clone());
        let stats = match found {
            Some(s) => s,
            None => Arc::new(TargetStats::new(Cpu(dm::PerCpu::new()?)), GFP_KERNEL)?,
        };
        let entry = Live {
            device,
            begin,
            owner: id,
            stats: stats.clone(),
        };
        match live.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(entry),
            None => live.push(Some(entry), GFP_KERNEL)?,
        }
        Ok(stats)
    }
}

impl Drop for Dmp {
    fn drop(&mut self) {
        let mut registry = shared().registry.lock();
        let r = &mut *registry;
        if let Some(slot) = r
            .live
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|l| l.owner == self.id))
        {
            *slot = None;
        }
        // No bio reaches a target being dropped, so its figures are final.
        // Unless the target that replaces it shares them, they now count as
        // those of a target gone.
        let shared_on = r
            .live
            .iter()
            .flatten()
            .any(|l| Arc::ptr_eq(&l.stats, &self.stats));
        if !shared_on {
            r.volumes.retire(self.stats.totals());
        }
    }
}

/// What `map` notes for `end_io` about each bio: by then the bio's size is
/// spent (blk-mq advances it as the request completes).
#[derive(Clone, Copy)]
struct IoStart {
    /// When it was mapped.
    at: dm::clock::Stamp,
    /// Its size when mapped.
    bytes: u32,
    /// How it counts.
    kind: IoKind,
}

impl dm::Target for Dmp {
    type BioData = IoStart;
    const NAME: &'static CStr = c_str!("dmp");
    const VERSION: [u32; 3] = [1, 1, 0];
    // As dm-linear.
    const FEATURES: u64 = dm::features::PASSES_INTEGRITY
        | dm::features::NOWAIT
        | dm::features::ZONED_HM
        | dm::features::PASSES_CRYPTO
        | dm::features::ATOMIC_WRITES;

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
        // A device of 0 sectors is a dm device whose table is loaded but not
        // yet resumed (the lower device `dmpctl attach` inserts below a live
        // device, as LVM does with its `-real` devices): its size is known
        // only once it is resumed, and device-mapper checks the area then,
        // when this table is resumed (dm_swap_table() ->
        // dm_calculate_queue_limits() -> iterate_devices with
        // device_area_is_invalid(), which refuses an area past the device's
        // end). A device with sectors is checked here, with a clear reason.
        let size = dev.nr_sectors();
        match offset.checked_add(ti.len()) {
            Some(end) if size == 0 || end <= size => {}
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
        // The target's address identifies it in the `live` list until it is
        // dropped.
        let id = core::ptr::from_ref(ti) as usize;
        let stats = Self::stats_for(ti.device_id(), ti.begin(), id)
            .map_err(|e| CtrError::new(e, c_str!("Cannot allocate counters")))?;
        Ok(Self {
            stats,
            dev,
            offset,
            id,
        })
    }

    #[inline]
    fn map<C: Clock>(&self, ti: &DmTarget, bio: &mut Bio) -> (MapResult, IoStart) {
        let (kind, bytes) = Self::kind_of(bio);
        self.stats.map(kind, bytes);
        let sector = self.offset.wrapping_add(ti.offset_of(bio.sector()));
        bio.remap(&self.dev, sector);
        let start = IoStart {
            at: C::now(),
            bytes,
            kind,
        };
        (MapResult::Remapped, start)
    }

    #[inline]
    fn end_io<C: Clock>(&self, bio: &Bio, start: &IoStart, status: BlkStatus) -> EndIo {
        let lat = C::since(start.at);
        if status.is_err() {
            // A tail call: no frame on the path of the bios that succeed.
            return self.end_io_failed(bio, start, status, lat);
        }
        self.stats.complete(start.kind, lat);
        EndIo::DONE
    }

    fn status(
        &self,
        _ti: &DmTarget,
        kind: StatusType,
        out: &mut SliceWriter<'_>,
    ) -> core::fmt::Result {
        match kind {
            StatusType::Info => write!(out, "{}", DeviceStatus(&self.stats.status())),
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

    fn message(&self, args: &Args<'_>, out: &mut SliceWriter<'_>) -> Result<bool> {
        match dmp_args::parse_message(args.iter()) {
            Ok(Message::Reset) => {
                self.stats.reset();
                Ok(false)
            }
            Ok(Message::Stats { clear }) => {
                let detail = self.stats.detail(clear);
                // A text cut short is never shown: device-mapper asks again
                // with a larger buffer. What a cut `clear` took is given back
                // to the next interval, so nothing is lost.
                let _ = write!(out, "{}", StatsText(&detail));
                if clear && out.is_cut() {
                    self.stats.give_back(&detail);
                }
                Ok(true)
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

    fn device(&self) -> (&DmDev, u64) {
        (&self.dev, self.offset)
    }
}

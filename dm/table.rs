// SPDX-License-Identifier: GPL-2.0

//! A table's targets and the devices they open, and the words of table lines
//! and messages.

use core::ptr::{self, addr_of};
use kernel::{
    error::to_result,
    ffi::{c_char, c_int, c_uint, c_void},
    prelude::*,
    types::Opaque,
};

use super::bindings::{self, block_device, dm_dev, dm_target};

/// A device a target opened with `dm_get_device()`; put back when dropped.
pub(crate) struct DmDev {
    ti: *mut dm_target,
    pub(super) dev: *mut dm_dev,
}

// SAFETY: A `dm_dev` is immutable while it is held, and `dm_put_device()` may
// be called from any thread.
unsafe impl Send for DmDev {}
// SAFETY: `&DmDev` only reads fields that do not change while it is held.
unsafe impl Sync for DmDev {}

impl DmDev {
    pub(super) fn bdev(&self) -> *mut block_device {
        // SAFETY: `self.dev` is valid until `drop`.
        unsafe { (*self.dev).bdev }
    }

    /// The device's size in 512-byte sectors. Mirrors `bdev_nr_sectors()`
    /// (include/linux/blkdev.h).
    pub(crate) fn nr_sectors(&self) -> u64 {
        // SAFETY: the block device is open while `self` exists.
        unsafe { ptr::read_volatile(addr_of!((*self.bdev()).bd_nr_sectors)) }
    }

    /// The device's `major:minor`, as device-mapper names it.
    pub(crate) fn name(&self) -> &str {
        // SAFETY: `dm_dev.name` is a NUL-terminated string set when the device
        // was opened and unchanged while it is held.
        let name = unsafe { c_bytes(addr_of!((*self.dev).name).cast()) };
        core::str::from_utf8(name).unwrap_or("?")
    }
}

impl Drop for DmDev {
    fn drop(&mut self) {
        // SAFETY: `dev` came from `dm_get_device(ti, ..)`, is put once, here,
        // and `ti` outlives it (it is dropped in the target's `ctr` or `dtr`).
        unsafe { bindings::dm_put_device(self.ti, self.dev) };
    }
}

/// A target instance (`struct dm_target`): one line of a table.
#[repr(transparent)]
pub(crate) struct DmTarget(Opaque<dm_target>);

impl DmTarget {
    /// A shared view, for the callbacks of a live target (they run on many
    /// CPUs at once).
    ///
    /// # Safety
    ///
    /// `ptr` is valid for `'a`, and only device-mapper core writes to it
    /// meanwhile (its fields read here do not change while the target lives).
    pub(super) unsafe fn from_raw<'a>(ptr: *mut dm_target) -> &'a Self {
        // SAFETY: transparent wrapper; the rest is the caller's promise.
        unsafe { &*ptr.cast() }
    }

    /// An exclusive view, for the constructor.
    ///
    /// # Safety
    ///
    /// `ptr` is a target being constructed: valid, and used by nobody else
    /// for `'a`.
    pub(super) unsafe fn from_raw_mut<'a>(ptr: *mut dm_target) -> &'a mut Self {
        // SAFETY: transparent wrapper; the rest is the caller's promise.
        unsafe { &mut *ptr.cast() }
    }

    /// First sector of the target in the mapped device.
    pub(crate) fn begin(&self) -> u64 {
        // SAFETY: `self` wraps a valid `dm_target`.
        unsafe { (*self.0.get()).begin }
    }

    /// Length of the target in sectors.
    pub(crate) fn len(&self) -> u64 {
        // SAFETY: `self` wraps a valid `dm_target`.
        unsafe { (*self.0.get()).len }
    }

    /// An identity of the mapped device whose table holds the target (its
    /// `struct mapped_device`, which outlives all its tables): the same for
    /// the targets of a table and of the table that replaces it.
    pub(crate) fn device_id(&self) -> usize {
        // SAFETY: a target's table is valid while the target lives.
        unsafe { bindings::dm_table_get_md((*self.0.get()).table) as usize }
    }

    /// Offset of `sector` (of the mapped device) within this target.
    /// Mirrors `dm_target_offset()` (include/linux/device-mapper.h).
    #[inline]
    pub(crate) fn offset_of(&self, sector: u64) -> u64 {
        sector.wrapping_sub(self.begin())
    }

    /// Opens `path` (a path or `major:minor`) with the table's mode.
    pub(crate) fn get_device(&mut self, path: Arg<'_>) -> Result<DmDev> {
        let ti = self.0.get();
        let mut dev = ptr::null_mut();
        // SAFETY: `ti` is valid and being constructed, `path` is a C string,
        // `dev` is a valid out-pointer.
        to_result(unsafe {
            bindings::dm_get_device(
                ti,
                path.0,
                bindings::dm_table_get_mode((*ti).table),
                &mut dev,
            )
        })?;
        Ok(DmDev { ti, dev })
    }

    /// How many copies of each kind of bio without data the target receives
    /// (`num_flush_bios`, `num_discard_bios`, `num_secure_erase_bios`,
    /// `num_write_zeroes_bios`): 0 refuses that kind, 1 passes it through.
    pub(crate) fn set_dataless_bios(
        &mut self,
        flush: u32,
        discard: u32,
        secure_erase: u32,
        zeroes: u32,
    ) {
        let ti = self.0.get();
        // SAFETY: `ti` is valid and owned by the constructor that calls this.
        unsafe {
            (*ti).num_flush_bios = flush;
            (*ti).num_discard_bios = discard;
            (*ti).num_secure_erase_bios = secure_erase;
            (*ti).num_write_zeroes_bios = zeroes;
        }
    }

    /// Reserves `size` bytes of per-bio data (`per_io_data_size`).
    pub(super) fn reserve_per_bio_data(&mut self, size: usize) {
        // SAFETY: `ti` is valid and owned by the constructor.
        unsafe { (*self.0.get()).per_io_data_size = size as c_uint };
    }
}

/// The bytes of the C string at `p`, without its NUL. (The kernels' `CStr`
/// types differ, 6.12's own and 7.x's `core::ffi::CStr`; this works on both.)
///
/// # Safety
///
/// `p` is a NUL-terminated string that lives, unchanged, for `'a`.
unsafe fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: the caller's promise; `strlen()` stops at the NUL.
    unsafe { core::slice::from_raw_parts(p.cast::<u8>(), bindings::strlen(p)) }
}

/// One word of a table line or a message: a C string.
#[derive(Clone, Copy)]
pub(crate) struct Arg<'a>(*const c_char, core::marker::PhantomData<&'a u8>);

impl<'a> Arg<'a> {
    /// The word's bytes, without the NUL.
    pub(crate) fn as_bytes(self) -> &'a [u8] {
        // SAFETY: a valid C string for `'a` (see `Args::from_raw`).
        unsafe { c_bytes(self.0) }
    }
}

/// The words of a table line or a message (`argc`, `argv`).
pub(crate) struct Args<'a> {
    argv: &'a [*mut c_char],
}

impl<'a> Args<'a> {
    /// # Safety
    ///
    /// `argv` holds `argc` valid C strings that live for `'a`.
    pub(super) unsafe fn from_raw(argc: c_uint, argv: *mut *mut c_char) -> Self {
        let argv = if argc == 0 {
            &[][..]
        } else {
            // SAFETY: the caller promises `argc` valid entries.
            unsafe { core::slice::from_raw_parts(argv, argc as usize) }
        };
        Self { argv }
    }

    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.argv.len()
    }

    /// Word `i`, if there is one.
    pub(crate) fn get(&self, i: usize) -> Option<Arg<'a>> {
        self.argv.get(i).map(|&p| Arg(p, core::marker::PhantomData))
    }

    /// All words, as bytes.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        self.argv
            .iter()
            .map(|&p| Arg(p, core::marker::PhantomData).as_bytes())
    }
}

/// Why a constructor failed: the error code and the reason device-mapper
/// reports (`ti->error`).
pub(crate) struct CtrError {
    /// The error returned to device-mapper.
    pub(crate) err: Error,
    /// The reason, shown in the kernel log by device-mapper.
    pub(crate) reason: &'static CStr,
}

impl CtrError {
    /// An error with its reason.
    pub(crate) fn new(err: Error, reason: &'static CStr) -> Self {
        Self { err, reason }
    }
}

/// Hands a target's devices to device-mapper (`iterate_devices`).
pub(crate) struct DeviceVisitor {
    pub(super) ti: *mut dm_target,
    pub(super) f: bindings::iterate_devices_callout_fn,
    pub(super) data: *mut c_void,
}

impl DeviceVisitor {
    /// Reports that the target uses `len` sectors of `dev` from `start`.
    /// A non-zero result stops the iteration and must be returned.
    pub(crate) fn visit(&mut self, dev: &DmDev, start: u64, len: u64) -> c_int {
        match self.f {
            // SAFETY: device-mapper gave us `f`, `data` and `ti` for this call;
            // `dev.dev` is a device of this target.
            Some(f) => unsafe { f(self.ti, dev.dev, start, len, self.data) },
            None => 0,
        }
    }
}

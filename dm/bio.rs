// SPDX-License-Identifier: GPL-2.0

//! Bios as a target sees them, and the clock their latency is measured with.

use core::ptr::{addr_of, addr_of_mut};
use kernel::types::Opaque;

use super::{bindings, DmDev};
use bindings::bio;

/// The operation of a bio (`enum req_op`), as far as targets tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReqOp {
    /// `REQ_OP_READ`.
    Read,
    /// `REQ_OP_WRITE`; with no data, an empty flush (`REQ_PREFLUSH`).
    Write,
    /// `REQ_OP_ZONE_APPEND`: a write whose device picks the sector.
    ZoneAppend,
    /// `REQ_OP_DISCARD`.
    Discard,
    /// `REQ_OP_SECURE_ERASE`.
    SecureErase,
    /// `REQ_OP_WRITE_ZEROES`.
    WriteZeroes,
    /// `REQ_OP_ZONE_*` management: reset, reset all, open, close, finish.
    ZoneMgmt,
    /// Any other operation (driver private, ...).
    Other,
}

/// A bio handed to a target by device-mapper.
#[repr(transparent)]
pub(crate) struct Bio(Opaque<bio>);

impl Bio {
    /// # Safety
    ///
    /// `ptr` points to a valid bio that nobody else accesses for `'a`, as is
    /// the case for the bio device-mapper passes to `map` and `end_io`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bio) -> &'a mut Self {
        // SAFETY: `Bio` is a transparent wrapper of `bio`; validity and
        // exclusivity are the caller's promise.
        unsafe { &mut *ptr.cast() }
    }

    fn opf(&self) -> u32 {
        // SAFETY: `self` wraps a valid bio (type invariant of `from_raw`).
        unsafe { (*self.0.get()).bi_opf }
    }

    /// The operation. Mirrors `bio_op()` (include/linux/blk_types.h) and
    /// `op_is_zone_mgmt()`.
    #[inline]
    pub(crate) fn op(&self) -> ReqOp {
        match self.opf() & ((1 << bindings::REQ_OP_BITS) - 1) {
            bindings::req_op_REQ_OP_READ => ReqOp::Read,
            bindings::req_op_REQ_OP_WRITE => ReqOp::Write,
            bindings::req_op_REQ_OP_ZONE_APPEND => ReqOp::ZoneAppend,
            bindings::req_op_REQ_OP_DISCARD => ReqOp::Discard,
            bindings::req_op_REQ_OP_SECURE_ERASE => ReqOp::SecureErase,
            bindings::req_op_REQ_OP_WRITE_ZEROES => ReqOp::WriteZeroes,
            bindings::req_op_REQ_OP_ZONE_RESET
            | bindings::req_op_REQ_OP_ZONE_RESET_ALL
            | bindings::req_op_REQ_OP_ZONE_OPEN
            | bindings::req_op_REQ_OP_ZONE_CLOSE
            | bindings::req_op_REQ_OP_ZONE_FINISH => ReqOp::ZoneMgmt,
            _ => ReqOp::Other,
        }
    }

    /// Whether the submitter asked not to wait (`REQ_NOWAIT`).
    #[inline]
    pub(crate) fn is_nowait(&self) -> bool {
        self.opf() & (1 << bindings::req_flag_bits___REQ_NOWAIT) != 0
    }

    /// Bytes left to transfer (`bio->bi_iter.bi_size`).
    #[inline]
    pub(crate) fn size(&self) -> u32 {
        // SAFETY: `self` wraps a valid bio.
        unsafe { (*self.0.get()).bi_iter.bi_size }
    }

    /// First sector (`bio->bi_iter.bi_sector`).
    #[inline]
    pub(crate) fn sector(&self) -> u64 {
        // SAFETY: `self` wraps a valid bio.
        unsafe { (*self.0.get()).bi_iter.bi_sector }
    }

    pub(super) fn as_ptr(&mut self) -> *mut bio {
        self.0.get()
    }

    /// Sends the bio to `sector` of `dev`.
    ///
    /// Mirrors `bio_set_dev()` (include/linux/bio.h) followed by setting
    /// `bi_iter.bi_sector`, as `linear_map()` does.
    #[inline]
    pub(crate) fn remap(&mut self, dev: &DmDev, sector: u64) {
        let bio = self.0.get();
        let bdev = dev.bdev();
        // SAFETY: `self` wraps a valid bio that the target owns while it maps
        // it (`&mut self`); `bdev` stays open while the target exists.
        unsafe {
            // Both flags in one store.
            let mut clear = 1 << bindings::BIO_REMAPPED;
            if (*addr_of!((*bio).bi_bdev)) != bdev {
                clear |= 1 << bindings::BIO_BPS_THROTTLED;
            }
            (*bio).bi_flags &= !clear;
            *addr_of_mut!((*bio).bi_bdev) = bdev;
            #[cfg(CONFIG_BLK_CGROUP)]
            bindings::bio_associate_blkg(bio);
            (*bio).bi_iter.bi_sector = sector;
        }
    }
}

/// The status a bio completed with (`blk_status_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlkStatus(pub(super) u8);

impl BlkStatus {
    /// Whether the bio failed.
    pub(crate) fn is_err(self) -> bool {
        u32::from(self.0) != bindings::BLK_STS_OK
    }

    /// Whether the bio failed only because it would have had to wait
    /// (`BLK_STS_AGAIN`, as `bio_wouldblock_error()` sets).
    pub(crate) fn is_wouldblock(self) -> bool {
        self.0 == bindings::DMP_BLK_STS_AGAIN
    }
}

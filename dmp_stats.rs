// SPDX-License-Identifier: GPL-2.0

//! I/O counters of dmp and the text they are shown as.
//!
//! Free of kernel types: the module uses it, and `tests/host` unit-tests it
//! with `cargo test` on the build machine.
//!
//! # Design
//!
//! Every bio bumps a few counters, on every CPU at once, so the counters must
//! be exact without a lock and cheap on the hot path. One set of shared atomics
//! would be exact but would bounce one cache line between all CPUs at every
//! bio. [`IoStats`] therefore keeps [`SHARDS`] copies of the counters, each in
//! its own cache line, and a bio updates the copy of the CPU it is mapped on
//! (any copy would do for exactness: the CPU only picks an uncontended one).
//! Readers add the copies up; they are rare (`cat`, `dmsetup status`).

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Number of counter copies of one [`IoStats`]; a power of two. CPUs beyond
/// it share copies (CPU `n` uses copy `n % SHARDS`), which stays exact.
pub(crate) const SHARDS: usize = 16;

/// What a bio counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoKind {
    /// A `REQ_OP_READ` bio.
    Read,
    /// A `REQ_OP_WRITE` bio carrying data.
    Write,
    /// Anything else: empty flush, discard, write-zeroes, secure erase.
    Other,
}

/// One cache line of counters.
#[repr(C, align(64))]
struct Shard {
    read_reqs: AtomicU64,
    read_bytes: AtomicU64,
    write_reqs: AtomicU64,
    write_bytes: AtomicU64,
    other_reqs: AtomicU64,
    errors: AtomicU64,
}

impl Shard {
    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: Shard = Shard {
        read_reqs: AtomicU64::new(0),
        read_bytes: AtomicU64::new(0),
        write_reqs: AtomicU64::new(0),
        write_bytes: AtomicU64::new(0),
        other_reqs: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    };

    fn counters(&self) -> [&AtomicU64; 6] {
        [
            &self.read_reqs,
            &self.read_bytes,
            &self.write_reqs,
            &self.write_bytes,
            &self.other_reqs,
            &self.errors,
        ]
    }
}

/// The counters of one target, or of the whole module.
pub(crate) struct IoStats {
    shards: [Shard; SHARDS],
}

impl Default for IoStats {
    fn default() -> Self {
        Self::new()
    }
}

impl IoStats {
    /// All counters at zero.
    pub(crate) const fn new() -> Self {
        Self {
            shards: [Shard::ZERO; SHARDS],
        }
    }

    #[inline(always)]
    fn shard(&self, cpu: usize) -> &Shard {
        &self.shards[cpu % SHARDS]
    }

    /// The request counter of `kind` in the copy of CPU `cpu`, and its byte
    /// counter (`Other` has none).
    #[inline(always)]
    fn counters_of(&self, cpu: usize, kind: IoKind) -> (&AtomicU64, Option<&AtomicU64>) {
        let s = self.shard(cpu);
        match kind {
            IoKind::Read => (&s.read_reqs, Some(&s.read_bytes)),
            IoKind::Write => (&s.write_reqs, Some(&s.write_bytes)),
            IoKind::Other => (&s.other_reqs, None),
        }
    }

    /// Adds `reqs` and `bytes` (wrapping: a negative amount is its two's
    /// complement) to the counters of `kind` in the copy of CPU `cpu`.
    #[inline(always)]
    fn add(&self, cpu: usize, kind: IoKind, reqs: u64, bytes: u64) {
        let (r, b) = self.counters_of(cpu, kind);
        r.fetch_add(reqs, Relaxed);
        if let Some(b) = b {
            b.fetch_add(bytes, Relaxed);
        }
    }

    /// Counts one request of `kind` and `bytes` bytes, made on CPU `cpu`.
    #[inline]
    pub(crate) fn account(&self, cpu: usize, kind: IoKind, bytes: u32) {
        self.add(cpu, kind, 1, u64::from(bytes));
    }

    /// Takes back a request [`account`](Self::account) counted, made on any
    /// CPU. Until a concurrent reset and this meet, a sum may be below zero:
    /// [`snapshot`](Self::snapshot) shows 0 then.
    #[inline]
    pub(crate) fn unaccount(&self, cpu: usize, kind: IoKind, bytes: u32) {
        self.add(
            cpu,
            kind,
            1u64.wrapping_neg(),
            u64::from(bytes).wrapping_neg(),
        );
    }

    /// Counts one request that completed with an error.
    #[inline]
    pub(crate) fn account_error(&self, cpu: usize) {
        self.shard(cpu).errors.fetch_add(1, Relaxed);
    }

    /// The sums of all copies. Concurrent updates land either in this
    /// snapshot or in the next one: none is lost.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut sum = [0u64; 6];
        for shard in &self.shards {
            for (acc, c) in sum.iter_mut().zip(shard.counters()) {
                // Copies may wrap below zero one by one (`unaccount` on
                // another CPU than `account`); their sum is right.
                *acc = acc.wrapping_add(c.load(Relaxed));
            }
        }
        // A sum below zero is a take-back that met a reset: show 0. Real
        // counts never reach 2^63.
        for acc in &mut sum {
            if (*acc as i64) < 0 {
                *acc = 0;
            }
        }
        let [read_reqs, read_bytes, write_reqs, write_bytes, other_reqs, errors] = sum;
        Snapshot {
            read_reqs,
            read_bytes,
            write_reqs,
            write_bytes,
            other_reqs,
            errors,
        }
    }

    /// Sets every counter to zero. Each counter is zeroed atomically, so an
    /// update racing with the reset is either wiped or kept whole.
    pub(crate) fn reset(&self) {
        for shard in &self.shards {
            for c in shard.counters() {
                c.store(0, Relaxed);
            }
        }
    }
}

/// Counter values at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// Read requests.
    pub(crate) read_reqs: u64,
    /// Bytes read.
    pub(crate) read_bytes: u64,
    /// Write requests carrying data.
    pub(crate) write_reqs: u64,
    /// Bytes written.
    pub(crate) write_bytes: u64,
    /// Flushes, discards, write-zeroes and secure erases.
    pub(crate) other_reqs: u64,
    /// Requests that completed with an error.
    pub(crate) errors: u64,
}

/// `bytes / reqs` rounded down, 0 when there are no requests.
pub(crate) fn avg(bytes: u64, reqs: u64) -> u64 {
    bytes.checked_div(reqs).unwrap_or(0)
}

/// The text of `/sys/module/dmp/stat/volumes`.
pub(crate) struct Volumes<'a>(pub &'a Snapshot);

impl fmt::Display for Volumes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let total_reqs = s.read_reqs.wrapping_add(s.write_reqs);
        let total_bytes = s.read_bytes.wrapping_add(s.write_bytes);
        for (name, reqs, bytes) in [
            ("read", s.read_reqs, s.read_bytes),
            ("write", s.write_reqs, s.write_bytes),
            ("total", total_reqs, total_bytes),
        ] {
            writeln!(
                f,
                "{name}:\n  reqs: {reqs}\n  avg size: {}",
                avg(bytes, reqs)
            )?;
        }
        Ok(())
    }
}

/// The text of `dmsetup status` for one target.
pub(crate) struct DeviceStatus<'a>(pub &'a Snapshot);

impl fmt::Display for DeviceStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(
            f,
            "read_reqs={} read_bytes={} write_reqs={} write_bytes={} other_reqs={} errors={}",
            s.read_reqs, s.read_bytes, s.write_reqs, s.write_bytes, s.other_reqs, s.errors
        )
    }
}

/// A [`fmt::Write`] into a fixed buffer that cuts what does not fit, as the
/// kernel's `scnprintf()` does.
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    /// Writes into `buf` from its start.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Ends the text with a NUL, cutting its last byte if the buffer is full.
    /// Returns the length without the NUL.
    pub(crate) fn terminate(&mut self) -> usize {
        if self.buf.is_empty() {
            return 0;
        }
        if self.len == self.buf.len() {
            self.len -= 1;
        }
        self.buf[self.len] = 0;
        self.len
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

// SPDX-License-Identifier: GPL-2.0

//! I/O counters of dmp and the texts they are shown as.
//!
//! Free of kernel types: the module uses it, and `tests/host` unit-tests and
//! benchmarks it with `cargo test` on the build machine.
//!
//! # Design
//!
//! Every bio bumps a few counters, on every CPU at once. The bio path takes no
//! lock, uses no locked (atomic read-modify-write) instruction and writes no
//! cache line another CPU writes: each CPU has its own copy of every counter
//! ([`Counters`], per-CPU memory in the kernel) and adds to it the way the
//! block layer's disk statistics do (`this_cpu_add()`: one unlocked `add`,
//! safe against preemption and interrupts). Readers, which are rare (`cat`,
//! `dmsetup status`, `dmsetup message`), add the copies up.
//!
//! Nobody ever writes another CPU's counter, so a reset cannot zero them.
//! Instead each view keeps a *baseline*: the sums it last reset at. A view's
//! figure is the sum now minus its baseline, and resetting a view moves its
//! baseline to the sums it read, with a compare-and-swap per counter, so two
//! readers that reset at once never both (or neither) count a request: the
//! intervals a reader prints add up exactly to the total.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What a bio counts as. The value of each kind is where its counters start
/// (see [`at`]), so that the bio path finds them with no multiplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum IoKind {
    /// A `REQ_OP_READ` bio.
    Read = 0,
    /// A `REQ_OP_WRITE` bio carrying data, or a zone append.
    Write = PER_KIND as u8,
    /// Anything else: empty flush, discard, write-zeroes, secure erase, zone
    /// management.
    Other = 2 * PER_KIND as u8,
}

impl IoKind {
    /// All kinds, in the order they are shown.
    pub(crate) const ALL: [IoKind; 3] = [IoKind::Read, IoKind::Write, IoKind::Other];

    fn index(self) -> usize {
        match self {
            IoKind::Read => 0,
            IoKind::Write => 1,
            IoKind::Other => 2,
        }
    }

    /// Where the counters of this kind start.
    #[inline(always)]
    const fn base(self) -> usize {
        self as usize
    }

    /// The name used in the texts.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IoKind::Read => "read",
            IoKind::Write => "write",
            IoKind::Other => "other",
        }
    }
}

/// Latency histogram buckets: `[0, 2^10)` ns (below 1 µs), then
/// `[2^k, 2^(k+1))` for k = 10..=33, then `[2^34, ∞)` ns (above 17 s).
pub(crate) const LAT_BUCKETS: usize = 26;
/// log2 of the upper bound of the first latency bucket.
const LAT_FIRST_SHIFT: u32 = 10;
/// Size histogram buckets: `[0, 512)` bytes, then `[2^k, 2^(k+1))` for
/// k = 9..=19, then `[1 MiB, ∞)`.
pub(crate) const SIZE_BUCKETS: usize = 13;
/// log2 of the upper bound of the first size bucket.
const SIZE_FIRST_SHIFT: u32 = 9;

/// Lower bound of latency bucket `i`, in ns.
pub(crate) fn lat_lower(i: usize) -> u64 {
    if i == 0 {
        0
    } else {
        1 << (LAT_FIRST_SHIFT as usize + i - 1)
    }
}

/// Lower bound of size bucket `i`, in bytes.
pub(crate) fn size_lower(i: usize) -> u64 {
    if i == 0 {
        0
    } else {
        1 << (SIZE_FIRST_SHIFT as usize + i - 1)
    }
}

/// The top of the power-of-two bucket of `v`, of `n` buckets whose first
/// ends at `2^first_shift`: the position of its highest set bit, clamped to
/// `first_shift - 1 .. first_shift + n - 2`; its bucket is that less
/// `first_shift - 1` (which callers fold into their addressing). The low bits
/// set first make every value below `2^first_shift` (zero included) land in
/// bucket 0 with no test: one `or`, one `bsr`, one clamp.
#[inline(always)]
fn top(v: u64, first_shift: u32, n: usize) -> usize {
    ((v | ((1 << first_shift) - 1)).ilog2() as usize).min(first_shift as usize + n - 2)
}

/// The top of the latency bucket of `ns` (see [`top`]).
#[inline(always)]
fn lat_top(ns: u64) -> usize {
    top(ns, LAT_FIRST_SHIFT, LAT_BUCKETS)
}

/// The top of the size bucket of `bytes` (see [`top`]), with a 32-bit `bsr`.
#[inline(always)]
fn size_top(bytes: u32) -> usize {
    ((bytes | ((1 << SIZE_FIRST_SHIFT) - 1)).ilog2() as usize)
        .min(SIZE_FIRST_SHIFT as usize + SIZE_BUCKETS - 2)
}

/// The latency bucket of `ns` (the bio path adds [`lat_top`] to a constant
/// instead; the host tests check both).
#[allow(dead_code)]
#[inline(always)]
pub(crate) fn lat_bucket(ns: u64) -> usize {
    lat_top(ns) - (LAT_FIRST_SHIFT as usize - 1)
}

/// The size bucket of `bytes`.
#[inline(always)]
pub(crate) fn size_bucket(bytes: u32) -> usize {
    size_top(bytes) - (SIZE_FIRST_SHIFT as usize - 1)
}

// Where each counter of a target lives: per kind, bytes, errors, the sum of
// latencies, the largest latency (a maximum, not a sum) and the two
// histograms. Requests are the sum of the size histogram, and completions the
// sum of the latency histogram: no counter of their own.
const BYTES: usize = 0;
const ERRORS: usize = 1;
const LAT_SUM: usize = 2;
const MAX_LAT: usize = 3;
const LAT: usize = 4;
const SIZE: usize = LAT + LAT_BUCKETS;
const PER_KIND: usize = SIZE + SIZE_BUCKETS;
/// Number of counters of a target.
pub(crate) const TARGET_COUNTERS: usize = 3 * PER_KIND;

/// Whether counter `i` is a sum (all but the maxima).
const fn is_sum(i: usize) -> bool {
    i % PER_KIND != MAX_LAT
}

/// Counter `field` of the kind whose counters start at `base`.
#[inline(always)]
const fn at(base: usize, field: usize) -> usize {
    base + field
}

/// Where a kind's latency bucket is, from its counters' start plus the top
/// of the bucket ([`lat_top`]): a constant, which may be below zero.
const LAT_AT_TOP: isize = LAT as isize - (LAT_FIRST_SHIFT as isize - 1);
/// Where a kind's size bucket is, from its counters' start plus the top of
/// the bucket ([`size_top`]).
const SIZE_AT_TOP: isize = SIZE as isize - (SIZE_FIRST_SHIFT as isize - 1);

/// Per-CPU counters: the storage under [`TargetStats`].
///
/// The kernel implements it on per-CPU memory; the host tests on arrays.
pub(crate) trait Counters {
    /// Adds `v` (wrapping) to counter `i` of the running CPU.
    fn add(&self, i: usize, v: u64);
    /// Adds each `(i, v)` of `adds`, as [`add`](Self::add) does: one call
    /// lets the storage look up its memory once.
    #[inline(always)]
    fn add_n<const M: usize>(&self, adds: [(usize, u64); M]) {
        for (i, v) in adds {
            self.add(i, v);
        }
    }
    /// Adds 1 to counter `k + b + I` and `v` to counter `k + J` (a
    /// histogram bucket and a sum: what the bio path does twice per bio).
    /// `I` and `J` are constants, which the storage may fold into its
    /// addressing.
    #[inline(always)]
    fn inc_add<const I: isize, const J: isize>(&self, k: usize, b: usize, v: u64) {
        self.add_n([
            (k.wrapping_add(b).wrapping_add_signed(I), 1),
            (k.wrapping_add_signed(J), v),
        ]);
    }
    /// [`inc_add`](Self::inc_add), then raises counter `k + M` to `v` if it
    /// is below (the completion of a bio: bucket, sum, maximum).
    #[inline(always)]
    fn inc_add_max<const I: isize, const J: isize, const M: isize>(
        &self,
        k: usize,
        b: usize,
        v: u64,
    ) {
        self.inc_add::<I, J>(k, b, v);
        self.max(k.wrapping_add_signed(M), v);
    }
    /// Raises counter `i` of the running CPU to `v` if it is below.
    fn max(&self, i: usize, v: u64);
    /// The wrapping sum of counter `i` over all CPUs.
    fn sum(&self, i: usize) -> u64;
    /// The largest value of each counter of `idx` (maxima) over all CPUs.
    ///
    /// With `clear`, each CPU's values are also restarted at 0 *by that CPU
    /// itself*, between two of its instructions: no CPU ever writes another
    /// CPU's maximum, so [`max`](Self::max) may stay an unlocked
    /// read-compare-exchange on the running CPU's copy. An update is then
    /// wholly before the restart (its latency is in what this call returns)
    /// or wholly after it (in the next interval), never both or neither, and
    /// a maximum of the interval before never comes back.
    fn maxima<const M: usize>(&self, idx: [usize; M], clear: bool) -> [u64; M];
}

/// The figures of one kind of I/O at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KindStats {
    /// Requests mapped.
    pub(crate) reqs: u64,
    /// Bytes of those requests.
    pub(crate) bytes: u64,
    /// Requests that completed with an error.
    pub(crate) errors: u64,
    /// Requests mapped and not yet completed (not an interval figure).
    pub(crate) in_flight: u64,
    /// Sum of the latencies of the completed requests, ns.
    pub(crate) lat_sum_ns: u64,
    /// Largest latency, ns.
    pub(crate) max_lat_ns: u64,
    /// Completed requests by latency bucket.
    pub(crate) lat: [u64; LAT_BUCKETS],
    /// Mapped requests by size bucket.
    pub(crate) size: [u64; SIZE_BUCKETS],
}

/// All figures of a target at one moment, by kind (see [`IoKind::ALL`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Detail(pub(crate) [KindStats; 3]);

impl Detail {
    /// The figures of `kind`.
    pub(crate) fn kind(&self, kind: IoKind) -> &KindStats {
        &self.0[kind.index()]
    }

    /// The `dmsetup status` figures.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let [r, w, o] = &self.0;
        Snapshot {
            read_reqs: r.reqs,
            read_bytes: r.bytes,
            write_reqs: w.reqs,
            write_bytes: w.bytes,
            other_reqs: o.reqs,
            errors: r.errors.wrapping_add(w.errors).wrapping_add(o.errors),
        }
    }
}

/// The baselines of one view of `N` counters.
struct Baseline<const N: usize>([AtomicU64; N]);

impl<const N: usize> Baseline<N> {
    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: AtomicU64 = AtomicU64::new(0);

    const fn new() -> Self {
        Self([Self::ZERO; N])
    }

    /// The figure of counter `i` of `c` in this view; with `clear`, starts a
    /// new interval there. Each counter is taken atomically: a concurrent
    /// update is in this interval or in the next, never both or neither.
    fn take<C: Counters>(&self, c: &C, i: usize, clear: bool) -> u64 {
        let base = &self.0[i];
        loop {
            let b = base.load(Relaxed);
            let now = c.sum(i);
            let delta = now.wrapping_sub(b);
            // Below zero only while a request taken back (see
            // `TargetStats::take_back`) is still counted in the baseline:
            // show 0 and leave the baseline, later requests pay it back.
            if (delta as i64) < 0 {
                return 0;
            }
            if !clear || base.compare_exchange(b, now, Relaxed, Relaxed).is_ok() {
                return delta;
            }
        }
    }

    /// Gives `delta` back to the view: it is counted again in the next
    /// interval (used when a cleared interval could not be shown).
    fn give_back(&self, i: usize, delta: u64) {
        self.0[i].fetch_sub(delta, Relaxed);
    }
}

/// The counters of one target: bio-path updates and the two views users
/// read, `dmsetup status` (zeroed by `reset`) and `dmsetup message ... stats`
/// (zeroed by `reset` and by `stats clear`).
///
/// The largest latency of each kind is a maximum, not a sum, so it has no
/// baseline: `stats clear` restarts it on every CPU (see
/// [`Counters::maxima`]), and the maximum of an interval is exactly the
/// largest latency of the completions counted in it.
pub(crate) struct TargetStats<C> {
    counters: C,
    status: Baseline<TARGET_COUNTERS>,
    detail: Baseline<TARGET_COUNTERS>,
    /// Per kind, the largest latency of an interval that was cleared but
    /// could not be shown ([`give_back`](Self::give_back)): part of the next.
    carried_max: [AtomicU64; 3],
}

impl<C: Counters> TargetStats<C> {
    /// Counts from zero in `counters` (all zero).
    pub(crate) const fn new(counters: C) -> Self {
        Self {
            counters,
            status: Baseline::new(),
            detail: Baseline::new(),
            carried_max: [
                Baseline::<1>::ZERO,
                Baseline::<1>::ZERO,
                Baseline::<1>::ZERO,
            ],
        }
    }

    /// Where the largest latency of each kind is, in [`IoKind::ALL`] order.
    const MAX_LAT_OF: [usize; 3] = [
        at(IoKind::Read.base(), MAX_LAT),
        at(IoKind::Write.base(), MAX_LAT),
        at(IoKind::Other.base(), MAX_LAT),
    ];

    /// Counts a request of `kind` and `bytes` bytes being mapped.
    #[inline(always)]
    pub(crate) fn map(&self, kind: IoKind, bytes: u32) {
        self.counters.inc_add::<SIZE_AT_TOP, { BYTES as isize }>(
            kind.base(),
            size_top(bytes),
            u64::from(bytes),
        );
    }

    /// Counts the completion of a request [`map`](Self::map) counted, after
    /// `lat_ns` (and [`fail`](Self::fail) first if it failed).
    #[inline(always)]
    pub(crate) fn complete(&self, kind: IoKind, lat_ns: u64) {
        self.counters
            .inc_add_max::<LAT_AT_TOP, { LAT_SUM as isize }, { MAX_LAT as isize }>(
                kind.base(),
                lat_top(lat_ns),
                lat_ns,
            );
    }

    /// Counts a request of `kind` that failed.
    #[inline(always)]
    pub(crate) fn fail(&self, kind: IoKind) {
        self.counters.add(at(kind.base(), ERRORS), 1);
    }

    /// Takes back a request [`map`](Self::map) counted that never reached the
    /// device (it is sent again and counted then), instead of completing it.
    #[inline(always)]
    pub(crate) fn take_back(&self, kind: IoKind, bytes: u32) {
        let k = kind.base();
        self.counters.add_n([
            (at(k, BYTES), u64::from(bytes).wrapping_neg()),
            (at(k, SIZE + size_bucket(bytes)), 1u64.wrapping_neg()),
        ]);
    }

    /// The figures of `view` (with `clear`, a new interval starts there),
    /// with `maxima` as the largest latencies.
    fn read(&self, view: &Baseline<TARGET_COUNTERS>, clear: bool, maxima: [u64; 3]) -> Detail {
        let mut d = Detail::default();
        for ((kind, s), max) in IoKind::ALL.into_iter().zip(d.0.iter_mut()).zip(maxima) {
            let k = kind.base();
            s.bytes = view.take(&self.counters, at(k, BYTES), clear);
            s.errors = view.take(&self.counters, at(k, ERRORS), clear);
            s.lat_sum_ns = view.take(&self.counters, at(k, LAT_SUM), clear);
            for (b, v) in s.lat.iter_mut().enumerate() {
                *v = view.take(&self.counters, at(k, LAT + b), clear);
            }
            for (b, v) in s.size.iter_mut().enumerate() {
                *v = view.take(&self.counters, at(k, SIZE + b), clear);
            }
            s.reqs = s.size.iter().fold(0u64, |acc, &v| acc.wrapping_add(v));
            s.max_lat_ns = max;
            // In flight: mapped and not completed, whatever the views.
            let completed = (0..LAT_BUCKETS).fold(0u64, |acc, b| {
                acc.wrapping_add(self.counters.sum(at(k, LAT + b)))
            });
            let mapped = (0..SIZE_BUCKETS).fold(0u64, |acc, b| {
                acc.wrapping_add(self.counters.sum(at(k, SIZE + b)))
            });
            s.in_flight = mapped.wrapping_sub(completed);
            if (s.in_flight as i64) < 0 {
                s.in_flight = 0;
            }
        }
        d
    }

    /// The `dmsetup status` figures.
    pub(crate) fn status(&self) -> Snapshot {
        self.read(&self.status, false, [0; 3]).snapshot()
    }

    /// The `stats` figures; with `clear`, a new interval starts.
    pub(crate) fn detail(&self, clear: bool) -> Detail {
        // The maxima of all kinds in one round of the CPUs.
        let mut maxima = self.counters.maxima(Self::MAX_LAT_OF, clear);
        for (m, carried) in maxima.iter_mut().zip(&self.carried_max) {
            let c = if clear {
                carried.swap(0, Relaxed)
            } else {
                carried.load(Relaxed)
            };
            *m = (*m).max(c);
        }
        self.read(&self.detail, clear, maxima)
    }

    /// Undoes the `clear` of a [`detail`](Self::detail) whose figures could
    /// not be shown: they are counted in the next interval, the largest
    /// latency included.
    pub(crate) fn give_back(&self, d: &Detail) {
        for ((kind, s), carried) in IoKind::ALL
            .into_iter()
            .zip(d.0.iter())
            .zip(&self.carried_max)
        {
            let k = kind.base();
            carried.fetch_max(s.max_lat_ns, Relaxed);
            self.detail.give_back(at(k, BYTES), s.bytes);
            self.detail.give_back(at(k, ERRORS), s.errors);
            self.detail.give_back(at(k, LAT_SUM), s.lat_sum_ns);
            for (b, &v) in s.lat.iter().enumerate() {
                self.detail.give_back(at(k, LAT + b), v);
            }
            for (b, &v) in s.size.iter().enumerate() {
                self.detail.give_back(at(k, SIZE + b), v);
            }
        }
    }

    /// Zeroes both views (`dmsetup message ... reset`).
    pub(crate) fn reset(&self) {
        for i in (0..TARGET_COUNTERS).filter(|&i| is_sum(i)) {
            self.status.take(&self.counters, i, true);
            self.detail.take(&self.counters, i, true);
        }
        self.counters.maxima(Self::MAX_LAT_OF, true);
        for carried in &self.carried_max {
            carried.store(0, Relaxed);
        }
    }
}

/// What a target adds to the module-wide figures: its reads and writes
/// since its counters were made, whatever its views were reset to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Read requests.
    pub(crate) read_reqs: u64,
    /// Bytes read.
    pub(crate) read_bytes: u64,
    /// Write requests carrying data.
    pub(crate) write_reqs: u64,
    /// Bytes written.
    pub(crate) write_bytes: u64,
}

impl Totals {
    fn fields(&mut self) -> [&mut u64; 4] {
        [
            &mut self.read_reqs,
            &mut self.read_bytes,
            &mut self.write_reqs,
            &mut self.write_bytes,
        ]
    }

    /// `self + other`, each figure wrapping.
    #[must_use]
    pub(crate) fn plus(mut self, mut other: Totals) -> Totals {
        for (a, b) in self.fields().into_iter().zip(other.fields()) {
            *a = a.wrapping_add(*b);
        }
        self
    }
}

impl<C: Counters> TargetStats<C> {
    /// The target's reads and writes since its counters were made.
    pub(crate) fn totals(&self) -> Totals {
        let c = &self.counters;
        let reqs =
            |k: usize| (0..SIZE_BUCKETS).fold(0u64, |a, b| a.wrapping_add(c.sum(at(k, SIZE + b))));
        Totals {
            read_reqs: reqs(IoKind::Read.base()),
            read_bytes: c.sum(at(IoKind::Read.base(), BYTES)),
            write_reqs: reqs(IoKind::Write.base()),
            write_bytes: c.sum(at(IoKind::Write.base(), BYTES)),
        }
    }
}

/// The module-wide figures (`volumes`): reads and writes of every dmp target
/// since load or the last reset.
///
/// The bio path counts nothing for them: they are the [`Totals`] of the live
/// targets, plus those of the targets gone (added as each goes), minus those
/// at the last reset. The owner keeps this and the list of live targets
/// under one lock, so a target going moves its figures in one step.
#[derive(Debug, Default)]
pub(crate) struct VolumeBook {
    gone: Totals,
    base: Totals,
}

impl VolumeBook {
    /// Adds the figures of a target that goes away.
    pub(crate) fn retire(&mut self, t: Totals) {
        self.gone = self.gone.plus(t);
    }

    /// The figures, given the [`Totals`] of the live targets (each set of
    /// counters once).
    pub(crate) fn snapshot(&self, live: Totals) -> Snapshot {
        let mut now = self.gone.plus(live);
        let mut base = self.base;
        // Below the base only while a request taken back (see
        // `TargetStats::take_back`) is still counted in it: show 0.
        for (n, b) in now.fields().into_iter().zip(base.fields()) {
            *n = match n.wrapping_sub(*b) {
                d if (d as i64) < 0 => 0,
                d => d,
            };
        }
        Snapshot {
            read_reqs: now.read_reqs,
            read_bytes: now.read_bytes,
            write_reqs: now.write_reqs,
            write_bytes: now.write_bytes,
            ..Default::default()
        }
    }

    /// Zeroes the figures, given the [`Totals`] of the live targets.
    pub(crate) fn reset(&mut self, live: Totals) {
        self.base = self.gone.plus(live);
    }
}

/// Counter values at one moment: what `volumes` and `dmsetup status` show.
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
    /// Flushes, discards, write-zeroes, secure erases, zone management.
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

/// The text of `dmsetup message NAME 0 stats`, version 1:
///
/// ```text
/// dmp-stats v1
/// lat_ns_lower 0 1024 2048 ... 17179869184
/// size_b_lower 0 512 1024 ... 1048576
/// read reqs=R bytes=B errors=E in_flight=I lat_sum_ns=S max_lat_ns=M
/// read lat_ns C0 C1 ... C25
/// read size_b C0 C1 ... C12
/// write ...   (the same three lines)
/// other ...   (the same three lines)
/// ```
///
/// Bucket `i` counts values in `[lower[i], lower[i+1])`, the last one
/// `[lower[last], ∞)`. Every line ends with a newline.
pub(crate) struct StatsText<'a>(pub &'a Detail);

impl fmt::Display for StatsText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dmp-stats v1\nlat_ns_lower")?;
        for i in 0..LAT_BUCKETS {
            write!(f, " {}", lat_lower(i))?;
        }
        f.write_str("\nsize_b_lower")?;
        for i in 0..SIZE_BUCKETS {
            write!(f, " {}", size_lower(i))?;
        }
        f.write_str("\n")?;
        for kind in IoKind::ALL {
            let s = self.0.kind(kind);
            let n = kind.name();
            writeln!(
                f,
                "{n} reqs={} bytes={} errors={} in_flight={} lat_sum_ns={} max_lat_ns={}",
                s.reqs, s.bytes, s.errors, s.in_flight, s.lat_sum_ns, s.max_lat_ns
            )?;
            write!(f, "{n} lat_ns")?;
            for v in s.lat {
                write!(f, " {v}")?;
            }
            write!(f, "\n{n} size_b")?;
            for v in s.size {
                write!(f, " {v}")?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

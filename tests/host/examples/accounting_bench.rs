// SPDX-License-Identifier: GPL-2.0

//! Microbenchmark of dmp's bio-path accounting on real silicon (the host CPU),
//! which the instruction-counting VM benchmark cannot see: what locked
//! instructions, shared cache lines and the clock cost, in ns per bio, piece
//! by piece.
//!
//! Run: `make microbench` (or `cargo run --release --example accounting_bench
//! [NAME...]` in tests/host, NAME keeping the variants whose name holds it). Each figure is the fastest (and the median) of several
//! runs of `ITERS` bios on one thread, then on every CPU at once, the
//! variants taking turns.
//!
//! The kernel updates per-CPU memory with `add %gs:...`; the host stand-in is
//! thread-local memory, reached the same way through `%fs`. The kernel's
//! clock is `ktime_get()`; the stand-in is `clock_gettime(CLOCK_MONOTONIC)`
//! through the vDSO: both read the TSC and a sequence count.

#[path = "../../../dmp_stats.rs"]
#[allow(dead_code)]
mod dmp_stats;

use dmp_stats::{Counters, IoKind, TargetStats, TARGET_COUNTERS};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

const ITERS: u64 = 20_000_000;
const RUNS: usize = 7;

thread_local! {
    static TARGET: [Cell<u64>; TARGET_COUNTERS] = const { [const { Cell::new(0) }; TARGET_COUNTERS] };
}

/// Thread-local counters: each thread is a CPU updating its own copy with
/// plain instructions, as `this_cpu_add()`.
struct Tls;

impl Tls {
    #[inline(always)]
    fn with<R>(f: impl FnOnce(&[Cell<u64>]) -> R) -> R {
        TARGET.with(|c| f(c))
    }
}

impl Counters for Tls {
    #[inline(always)]
    fn add(&self, i: usize, v: u64) {
        Self::with(|c| c[i].set(c[i].get().wrapping_add(v)));
    }
    #[inline(always)]
    fn max(&self, i: usize, v: u64) {
        Self::with(|c| {
            if v > c[i].get() {
                c[i].set(v)
            }
        });
    }
    fn sum(&self, i: usize) -> u64 {
        Self::with(|c| c[i].get())
    }
    fn maxima<const M: usize>(&self, idx: [usize; M], _clear: bool) -> [u64; M] {
        Self::with(|c| idx.map(|i| c[i].get()))
    }
}

/// The counters of dmp 1.0 (before per-CPU memory): 16 cache-line shards of
/// atomics, picked by CPU, updated with locked adds.
#[repr(C, align(64))]
struct Shard([AtomicU64; 6]);
static OLD_TARGET: [Shard; 16] = [const { Shard([const { AtomicU64::new(0) }; 6]) }; 16];
static OLD_VOLUMES: [Shard; 16] = [const { Shard([const { AtomicU64::new(0) }; 6]) }; 16];

fn now_ns() -> u64 {
    let mut ts = libc_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC is 1 on Linux.
    unsafe { clock_gettime(1, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[repr(C)]
struct libc_timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clk: i32, ts: *mut libc_timespec) -> i32;
}

/// A model of dm-stats' per-bio work (drivers/md/dm-stats.c, 6.12 to 7.3),
/// for one whole-device region (`@stats_create - /1`: one entry, so one
/// `struct dm_stat_shared` every CPU uses): what dm.c's `dm_io_acct()` does
/// through `dm_stats_account_io()` when a region exists, at the start and at
/// the end of each bio.
mod dm_stats {
    use super::now_ns;
    use std::cell::Cell;
    use std::hint::black_box;
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};

    /// `STAT_PRECISE_TIMESTAMPS` and a histogram (`histogram:` bounds).
    #[derive(Clone, Copy)]
    pub struct Region {
        pub precise: bool,
        pub histogram: bool,
        /// Each thread its own `dm_stat_shared` (no line shared between
        /// CPUs: what the same work costs without the bouncing).
        pub unshared: bool,
    }

    /// `struct dm_stat_shared` (less `tmp`, which only readers use): the
    /// in-flight counts every CPU increments and decrements with locked
    /// instructions, and the stamp every CPU writes.
    #[repr(C, align(64))]
    pub struct Shared {
        in_flight: [AtomicI32; 2],
        stamp: AtomicU64,
    }

    impl Shared {
        pub const fn new() -> Self {
            Self {
                in_flight: [AtomicI32::new(0), AtomicI32::new(0)],
                stamp: AtomicU64::new(0),
            }
        }
    }

    pub static SHARED: Shared = Shared::new();

    /// `jiffies`: changes every 4 ms at HZ=250, so within a bio it is one
    /// load of a line nobody writes.
    static JIFFIES: AtomicU64 = AtomicU64::new(1000);

    /// dmp's 25 latency bounds in ns (`histogram:1024,2048,...,17179869184`).
    const BOUNDS: [u64; 25] = {
        let mut b = [0u64; 25];
        let mut i = 0;
        while i < 25 {
            b[i] = 1 << (10 + i);
            i += 1;
        }
        b
    };

    /// `struct dm_stat_percpu` of the running CPU, with its histogram, and
    /// `struct dm_stats_last_position`.
    #[derive(Default)]
    struct PerCpu {
        sectors: [Cell<u64>; 2],
        ios: [Cell<u64>; 2],
        merges: [Cell<u64>; 2],
        ticks: [Cell<u64>; 2],
        io_ticks: [Cell<u64>; 2],
        io_ticks_total: Cell<u64>,
        time_in_queue: Cell<u64>,
        histogram: [Cell<u64>; 26],
        last_sector: Cell<u64>,
        last_rw: Cell<u32>,
        /// `preempt_count`, which `preempt_disable()` raises.
        preempt: Cell<u32>,
    }

    thread_local! {
        static CPU: PerCpu = PerCpu::default();
        static OWN: Shared = const { Shared::new() };
    }

    fn add(c: &Cell<u64>, v: u64) {
        c.set(c.get().wrapping_add(v));
    }

    /// `dm_stat_round()`: time in flight, from the stamp every CPU writes.
    #[inline(always)]
    fn round(r: Region, sh: &Shared, p: &PerCpu) {
        let now = if r.precise {
            now_ns()
        } else {
            JIFFIES.load(Relaxed)
        };
        let difference = now.wrapping_sub(sh.stamp.load(Relaxed));
        if difference == 0 {
            return;
        }
        let rd = sh.in_flight[0].load(Relaxed) as u32;
        let wr = sh.in_flight[1].load(Relaxed) as u32;
        if rd != 0 {
            add(&p.io_ticks[0], difference);
        }
        if wr != 0 {
            add(&p.io_ticks[1], difference);
        }
        if rd + wr != 0 {
            add(&p.io_ticks_total, difference);
            add(&p.time_in_queue, u64::from(rd + wr) * difference);
        }
        sh.stamp.store(now, Relaxed);
    }

    /// What `__dm_stat_bio()` computes before `dm_stat_for_entry()`: the
    /// entry and the offset in it (`dm_sector_div64()`, a 64-bit division).
    #[inline(always)]
    fn entry(sector: u64, len: u64) -> u64 {
        const START: u64 = 0;
        const STEP: u64 = 1 << 25; // the whole 16 GiB device: one entry
        let rel = black_box(sector) - START;
        let offset = rel % black_box(STEP);
        black_box(len.min(STEP - offset))
    }

    /// One bio of `len` sectors at `sector` (`idx` 0 read, 1 write), taking
    /// `lat_ns` from start to end.
    #[inline(always)]
    pub fn bio(r: Region, idx: usize, sector: u64, len: u64, lat_ns: u64) {
        let with_shared = |f: &dyn Fn(&Shared)| {
            if r.unshared {
                OWN.with(|s| f(s))
            } else {
                f(&SHARED)
            }
        };
        CPU.with(|p| {
            with_shared(&|sh| {
                // dm.c `alloc_io()`: `dm_stats_record_start()`.
                let start_ns = if r.precise { now_ns() } else { 0 };
                let start_jiffies = JIFFIES.load(Relaxed);
                // `dm_stats_account_io(!end)`: the merge guess, per CPU.
                let merged = sector == p.last_sector.get() && (idx == 1) == (p.last_rw.get() == 1);
                p.last_sector.set(sector + len);
                p.last_rw.set(idx as u32);
                // `dm_stat_for_entry(!end)`, under `preempt_disable()`.
                let fragment = entry(sector, len);
                p.preempt.set(p.preempt.get() + 1);
                round(r, sh, p);
                sh.in_flight[idx].fetch_add(1, Relaxed);
                p.preempt.set(p.preempt.get() - 1);

                // The device completes it, `lat_ns` later.

                // `dm_stats_account_io(end)`.
                let duration_jiffies = JIFFIES.load(Relaxed) - start_jiffies;
                let duration_ns = if r.precise {
                    now_ns().wrapping_sub(start_ns).wrapping_add(lat_ns)
                } else {
                    0
                };
                let fragment = fragment.min(entry(sector, len));
                p.preempt.set(p.preempt.get() + 1);
                round(r, sh, p);
                sh.in_flight[idx].fetch_sub(1, Relaxed);
                add(&p.sectors[idx], fragment);
                add(&p.ios[idx], 1);
                add(&p.merges[idx], u64::from(merged));
                let duration = if r.precise {
                    add(&p.ticks[idx], duration_ns);
                    duration_ns
                } else {
                    add(&p.ticks[idx], duration_jiffies);
                    duration_jiffies * 4 // jiffies_to_msecs() at HZ=250
                };
                if r.histogram {
                    let (mut lo, mut hi) = (0usize, BOUNDS.len() + 1);
                    while lo + 1 < hi {
                        let mid = (lo + hi) / 2;
                        if BOUNDS[mid - 1] > duration {
                            hi = mid;
                        } else {
                            lo = mid;
                        }
                    }
                    add(&p.histogram[lo], 1);
                }
                p.preempt.set(p.preempt.get() - 1);
            })
        });
    }
}

/// One bio's accounting, as a variant of the bio path.
#[derive(Clone, Copy)]
enum Variant {
    /// Nothing: the loop itself.
    Empty,
    /// dmp 1.0: 4 locked adds on a shard (target reqs/bytes, module reqs/bytes).
    OldLocked,
    /// What `map` counts: the size histogram (whose sum is the request
    /// count) and the bytes, per CPU, unlocked (`TargetStats::map`).
    Map,
    /// With what `end_io` counts: the latency histogram, its sum and the
    /// maximum (`TargetStats::complete`), latency given.
    Full,
    /// With the clock of x86-64 kernels: two `rdtsc`, the difference turned
    /// into ns with a 32.32 factor (`dm::clock::Tsc`).
    FullTsc,
    /// With the generic clock instead: two `clock_gettime()` (as
    /// `ktime_get()`).
    FullClock,
    /// Two clock reads alone.
    Clock,
    /// Two `rdtsc` alone.
    Rdtsc,
    /// dm-stats (the model above) instead of dmp.
    DmStats(dm_stats::Region),
}

/// ns per TSC cycle, 32.32 fixed point, for a 2.5 GHz TSC.
const TSC_NS_MULT: u64 = (1_000_000u64 << 32) / 2_500_000;

#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[inline(always)]
fn one(v: Variant, t: &TargetStats<Tls>, i: u64, cpu: usize) {
    let size = black_box(4096u32);
    let lat = black_box(i & 0xffff);
    match v {
        Variant::Empty => {
            black_box(size);
        }
        Variant::OldLocked => {
            let s = &OLD_TARGET[cpu % 16].0;
            s[0].fetch_add(1, Relaxed);
            s[1].fetch_add(u64::from(size), Relaxed);
            let g = &OLD_VOLUMES[cpu % 16].0;
            g[0].fetch_add(1, Relaxed);
            g[1].fetch_add(u64::from(size), Relaxed);
        }
        Variant::Map => t.map(IoKind::Write, size),
        Variant::Full => {
            t.map(IoKind::Write, size);
            t.complete(IoKind::Write, lat);
        }
        Variant::FullTsc => {
            let start = rdtsc();
            t.map(IoKind::Write, size);
            let cycles = rdtsc().saturating_sub(start);
            let ns = ((u128::from(cycles) * u128::from(TSC_NS_MULT)) >> 32) as u64;
            t.complete(IoKind::Write, ns);
        }
        Variant::FullClock => {
            let start = now_ns();
            t.map(IoKind::Write, size);
            t.complete(IoKind::Write, now_ns().saturating_sub(start));
        }
        Variant::Clock => {
            black_box(now_ns());
            black_box(now_ns());
        }
        Variant::Rdtsc => {
            black_box(rdtsc());
            black_box(rdtsc());
        }
        Variant::DmStats(r) => {
            // 4 KiB writes at random-looking sectors, as the VM benchmark.
            let sector = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) << 3;
            dm_stats::bio(r, 1, sector, u64::from(size) >> 9, lat);
        }
    }
}

/// ns per bio of one run of `ITERS` bios on `threads` threads at once (each
/// its own "CPU").
fn run_once(v: Variant, threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for cpu in 0..threads {
            s.spawn(move || {
                let t = TargetStats::new(Tls);
                for i in 0..ITERS {
                    one(v, &t, i, cpu);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / ITERS as f64
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let variants = [
        ("loop alone", Variant::Empty),
        ("dmp 1.0: 4 locked adds, sharded", Variant::OldLocked),
        ("map: size histogram + bytes", Variant::Map),
        ("+ end_io: latency hist, sum, max", Variant::Full),
        ("+ TSC clock (x86-64 kernels)", Variant::FullTsc),
        ("+ clock_gettime clock instead", Variant::FullClock),
        ("2 clock_gettime alone", Variant::Clock),
        ("2 rdtsc alone", Variant::Rdtsc),
        (
            "dm-stats model: plain (jiffies)",
            Variant::DmStats(dm_stats::Region {
                precise: false,
                histogram: false,
                unshared: false,
            }),
        ),
        (
            "  same, line per thread (no sharing)",
            Variant::DmStats(dm_stats::Region {
                precise: false,
                histogram: false,
                unshared: true,
            }),
        ),
        (
            "dm-stats: precise + 25-bound hist",
            Variant::DmStats(dm_stats::Region {
                precise: true,
                histogram: true,
                unshared: false,
            }),
        ),
        (
            "  same, line per thread (no sharing)",
            Variant::DmStats(dm_stats::Region {
                precise: true,
                histogram: true,
                unshared: true,
            }),
        ),
    ];
    // Arguments, if any, keep the variants whose name holds one of them.
    let only: Vec<String> = std::env::args().skip(1).collect();
    let variants: Vec<_> = variants
        .into_iter()
        .filter(|(name, _)| only.is_empty() || only.iter().any(|o| name.contains(o.as_str())))
        .collect();
    // Rounds of every variant in turn, so that a burst of load on a shared
    // host falls on all of them alike; each figure is the fastest of its
    // runs (the least disturbed), and the median is shown beside it.
    let mut runs = vec![[Vec::new(), Vec::new()]; variants.len()];
    for _ in 0..RUNS {
        for ((_, v), r) in variants.iter().zip(runs.iter_mut()) {
            r[0].push(run_once(*v, 1));
            r[1].push(run_once(*v, cpus));
        }
    }
    println!("ns per bio, fastest (median) of {RUNS} runs of {ITERS} bios per thread");
    println!(
        "{:<36} {:>16} {:>16}",
        "variant",
        "1 thread",
        format!("{cpus} threads")
    );
    for ((name, _), r) in variants.iter().zip(runs.iter_mut()) {
        let fig = |x: &mut Vec<f64>| {
            x.sort_by(|a, b| a.partial_cmp(b).unwrap());
            format!("{:.2} ({:.2})", x[0], x[RUNS / 2])
        };
        let (one, all) = (fig(&mut r[0]), fig(&mut r[1]));
        println!("{name:<36} {one:>16} {all:>16}");
    }
}

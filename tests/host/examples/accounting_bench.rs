// SPDX-License-Identifier: GPL-2.0

//! Microbenchmark of dmp's bio-path accounting on real silicon (the host CPU),
//! which the instruction-counting VM benchmark cannot see: what locked
//! instructions, shared cache lines and the clock cost, in ns per bio, piece
//! by piece.
//!
//! Run: `make microbench` (or `cargo run --release --example accounting_bench`
//! in tests/host). Each figure is the median of several runs of `ITERS` bios
//! on one thread, then on every CPU at once.
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
    }
}

/// ns per bio on `threads` threads at once (each its own "CPU").
fn measure(v: Variant, threads: usize) -> f64 {
    let mut runs: Vec<f64> = (0..RUNS)
        .map(|_| {
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
        })
        .collect();
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    runs[RUNS / 2]
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
    ];
    println!("ns per bio (median of {RUNS} runs of {ITERS} bios per thread)");
    println!(
        "{:<34} {:>9} {:>14}",
        "variant",
        "1 thread",
        format!("{cpus} threads")
    );
    for (name, v) in variants {
        println!(
            "{name:<34} {:>9.2} {:>14.2}",
            measure(v, 1),
            measure(v, cpus)
        );
    }
}

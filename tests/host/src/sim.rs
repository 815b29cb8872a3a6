// SPDX-License-Identifier: GPL-2.0

//! Per-CPU counters simulated on the host, as the x86-64 kernel runs them
//! (`dm/percpu.rs`).
//!
//! Each thread plays a task or an interrupt on one CPU (set with
//! [`on_cpu`]); several threads may share a CPU. A simulated CPU executes one
//! instruction at a time, and whatever else runs on it (an interrupt, a task
//! preempting this one, an IPI handler) runs between two of its
//! instructions: each simulated instruction holds its CPU for its duration.
//! The instructions are those of the kernel's bio path, none locked:
//!
//! - `add %gs:...`: one read-modify-write, atomic against the same CPU only;
//! - the maximum: a load, then an unlocked `cmpxchg`, which reads, compares,
//!   and writes back either the new value or, when the comparison fails, the
//!   value it read (x86 always writes the destination). Another CPU's write
//!   between its read and its write is lost.
//!
//! Readers sum the copies with plain loads, as the kernel's readers do. A
//! clear restarts each CPU's maxima on that CPU (the kernel's IPI), between
//! two of its instructions; [`SimCpus::remote_clear`] instead swaps them from
//! the reading thread, as dmp did before (an `xchg` from the reading CPU).

use crate::dmp_stats::Counters;
use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

static SEEDS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CPU: Cell<usize> = const { Cell::new(0) };
    /// The thread's random state (see `now_and_then`), a different seed
    /// per thread.
    static RNG: Cell<u64> = Cell::new(
        SEEDS.fetch_add(1, Relaxed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
    );
}

/// Makes the calling thread run on CPU `cpu` for [`SimCpus`].
pub fn on_cpu(cpu: usize) {
    CPU.with(|c| c.set(cpu));
}

/// One simulated CPU: its counters, and whether an instruction (or a
/// handler) is running on it.
struct Cpu {
    busy: AtomicBool,
    cells: Vec<AtomicU64>,
}

impl Cpu {
    /// Runs `f` as one instruction (or one interrupt handler) of this CPU:
    /// nothing else runs on the CPU meanwhile.
    fn exec<R>(&self, f: impl FnOnce(&[AtomicU64]) -> R) -> R {
        let mut spins = 0u32;
        while self
            .busy
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            spins += 1;
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let r = f(&self.cells);
        self.busy.store(false, Release);
        r
    }
}

/// `n` counters on each of `cpus` simulated CPUs.
pub struct SimCpus {
    n: usize,
    cpus: Vec<Cpu>,
    remote_clear: bool,
    stretch: bool,
}

impl SimCpus {
    /// All counters zero.
    pub fn new(cpus: usize, n: usize) -> Self {
        Self {
            n,
            cpus: (0..cpus)
                .map(|_| Cpu {
                    busy: AtomicBool::new(false),
                    cells: (0..n).map(|_| AtomicU64::new(0)).collect(),
                })
                .collect(),
            remote_clear: false,
            stretch: false,
        }
    }

    /// Clears maxima as dmp did before: an atomic swap from the reading
    /// thread, racing the owner's unlocked `cmpxchg` (to show what the tests
    /// catch).
    pub fn remote_clear(mut self) -> Self {
        self.remote_clear = true;
        self
    }

    /// Stretches the windows of the maximum where, on real hardware, an
    /// interrupt or another CPU's access may come (see `now_and_then`), so
    /// that a short test run meets them.
    pub fn stretch(mut self) -> Self {
        self.stretch = true;
        self
    }

    /// With [`stretch`](Self::stretch), gives the host CPU away at random,
    /// once in 4 calls on average.
    fn now_and_then(&self) {
        if !self.stretch {
            return;
        }
        let r = RNG.with(|r| {
            // xorshift64, seeded per thread.
            let mut x = r.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r.set(x);
            x
        });
        if r.is_multiple_of(4) {
            std::thread::yield_now();
        }
    }

    fn mine(&self) -> &Cpu {
        &self.cpus[CPU.with(Cell::get)]
    }

    /// The unlocked `cmpxchg` of counter `i` of the running CPU: `expected`
    /// is `rax`. Returns the value read.
    fn cmpxchg(&self, i: usize, expected: u64, new: u64) -> u64 {
        self.mine().exec(|c| {
            let seen = c[i].load(Relaxed);
            // Between the read and the write, another CPU's write lands
            // unseen: a window of a few cycles (see `stretch`).
            self.now_and_then();
            c[i].store(if seen == expected { new } else { seen }, Relaxed);
            seen
        })
    }
}

impl Counters for SimCpus {
    #[inline(always)]
    fn add(&self, i: usize, v: u64) {
        assert!(i < self.n);
        // `add %gs:...`: only this CPU writes its copy.
        self.mine()
            .exec(|c| c[i].store(c[i].load(Relaxed).wrapping_add(v), Relaxed));
    }

    #[inline(always)]
    fn max(&self, i: usize, v: u64) {
        assert!(i < self.n);
        // As `dm/percpu.rs`: load; if below, `cmpxchg`; again if it failed.
        loop {
            let old = self.mine().exec(|c| c[i].load(Relaxed));
            if v <= old {
                return;
            }
            // Something else may run on this CPU here (an interrupt, or a
            // task after this one is preempted): let it, now and then.
            self.now_and_then();
            if self.cmpxchg(i, old, v) == old {
                return;
            }
        }
    }

    fn sum(&self, i: usize) -> u64 {
        self.cpus.iter().fold(0u64, |acc, cpu| {
            acc.wrapping_add(cpu.cells[i].load(Relaxed))
        })
    }

    fn maxima<const M: usize>(&self, idx: [usize; M], clear: bool) -> [u64; M] {
        let mut m = [0u64; M];
        for cpu in &self.cpus {
            let take = |c: &[AtomicU64]| {
                idx.map(|i| {
                    if !clear {
                        c[i].load(Relaxed)
                    } else if self.remote_clear {
                        c[i].swap(0, Relaxed)
                    } else {
                        // On that CPU: a load and a store.
                        let v = c[i].load(Relaxed);
                        c[i].store(0, Relaxed);
                        v
                    }
                })
            };
            // A clear runs on the CPU (the kernel's IPI handler), between two
            // of its instructions; the old remote clear and reads do not.
            let v = if clear && !self.remote_clear {
                cpu.exec(take)
            } else {
                take(&cpu.cells)
            };
            for (m, v) in m.iter_mut().zip(v) {
                *m = (*m).max(v);
            }
        }
        m
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Per-CPU counters simulated on the host: each thread plays one CPU (set with
//! [`on_cpu`]) and, like `this_cpu_add()` in the kernel, updates only its own
//! copy with a plain load and store, no locked instruction. Readers sum the
//! copies with atomic loads, as the kernel's readers do.

use crate::dmp_stats::Counters;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

thread_local! {
    static CPU: Cell<usize> = const { Cell::new(0) };
}

/// Makes the calling thread CPU `cpu` for [`SimCpus`].
pub fn on_cpu(cpu: usize) {
    CPU.with(|c| c.set(cpu));
}

/// `n` counters on each of `cpus` simulated CPUs.
pub struct SimCpus {
    n: usize,
    cells: Vec<AtomicU64>,
}

impl SimCpus {
    /// All counters zero.
    pub fn new(cpus: usize, n: usize) -> Self {
        Self {
            n,
            cells: (0..cpus * n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn cpus(&self) -> usize {
        self.cells.len() / self.n
    }

    fn mine(&self, i: usize) -> &AtomicU64 {
        assert!(i < self.n);
        &self.cells[CPU.with(Cell::get) * self.n + i]
    }
}

impl Counters for SimCpus {
    #[inline(always)]
    fn add(&self, i: usize, v: u64) {
        // Only this thread writes its copy: a plain read-modify-write, as the
        // kernel's unlocked `add %gs:...`.
        let c = self.mine(i);
        c.store(c.load(Relaxed).wrapping_add(v), Relaxed);
    }

    #[inline(always)]
    fn max(&self, i: usize, v: u64) {
        let c = self.mine(i);
        // Readers may swap it to 0 meanwhile (a clear): compare-and-swap, as
        // the kernel's unlocked `cmpxchg` is atomic against them.
        let mut old = c.load(Relaxed);
        while v > old {
            match c.compare_exchange(old, v, Relaxed, Relaxed) {
                Ok(_) => break,
                Err(seen) => old = seen,
            }
        }
    }

    fn sum(&self, i: usize) -> u64 {
        (0..self.cpus()).fold(0u64, |acc, cpu| {
            acc.wrapping_add(self.cells[cpu * self.n + i].load(Relaxed))
        })
    }

    fn max_of(&self, i: usize, clear: bool) -> u64 {
        (0..self.cpus()).fold(0u64, |acc, cpu| {
            let c = &self.cells[cpu * self.n + i];
            acc.max(if clear {
                c.swap(0, Relaxed)
            } else {
                c.load(Relaxed)
            })
        })
    }
}

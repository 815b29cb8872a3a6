// SPDX-License-Identifier: GPL-2.0

//! Per-CPU counters: an array of `u64` in per-CPU memory (`alloc_percpu()`),
//! updated on the running CPU the way `this_cpu_add()` does, and summed over
//! the possible CPUs by readers.
//!
//! The 6.12 and 7.3 `kernel` crates have no per-CPU type, so this mirrors the
//! C macros it needs, each named where it is used.

use core::{
    ptr::{self, addr_of},
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};
use kernel::{bindings, prelude::*};

use super::bindings as b;

/// `N` counters per CPU, all zero at first; freed when dropped.
pub(crate) struct PerCpu<const N: usize> {
    /// A per-CPU address (`void __percpu *`): not a pointer into memory, but
    /// what `per_cpu_ptr()` and `this_cpu_*()` add a CPU's offset to.
    base: *mut u64,
}

// SAFETY: The memory is per-CPU and updated only through `this_cpu` accesses
// or atomics; any thread may use it.
unsafe impl<const N: usize> Send for PerCpu<N> {}
// SAFETY: See `Send`: shared use goes through `this_cpu` accesses and atomics.
unsafe impl<const N: usize> Sync for PerCpu<N> {}

impl<const N: usize> PerCpu<N> {
    /// Allocates the counters. Mirrors `alloc_percpu()` / `__alloc_percpu()`
    /// (include/linux/percpu.h), which call `pcpu_alloc_noprof()`; the memory
    /// is zeroed.
    pub(crate) fn new() -> Result<Self> {
        let size = N * core::mem::size_of::<u64>();
        // SAFETY: plain allocation call with a non-zero size and a valid
        // alignment; `GFP_KERNEL` as `__alloc_percpu()` passes.
        let base = unsafe {
            bindings::pcpu_alloc_noprof(
                size,
                core::mem::align_of::<u64>(),
                false,
                bindings::GFP_KERNEL,
            )
        };
        if base.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self { base: base.cast() })
    }

    /// Adds `v` (wrapping) to counter `i` of the running CPU.
    ///
    /// Mirrors `this_cpu_add()` (x86: `percpu_add_op()` in
    /// arch/x86/include/asm/percpu.h): one `add` relative to `%gs`, which
    /// holds the running CPU's per-CPU offset. Being one instruction, it is
    /// safe against preemption and interrupts, and it needs no `lock`: no
    /// other CPU writes this CPU's counter.
    #[inline(always)]
    pub(crate) fn add(&self, i: usize, v: u64) {
        self.add_n([(i, v)]);
    }

    /// Adds each `(i, v)` of `adds`, as [`add`](Self::add) does, reading the
    /// per-CPU address once.
    #[inline(always)]
    pub(crate) fn add_n<const M: usize>(&self, adds: [(usize, u64); M]) {
        let base = self.base;
        for (i, v) in adds {
            Self::add_at(base, i, v);
        }
    }

    /// Adds 1 to counter `k + b + I` and `v` to counter `k + J`: a histogram
    /// bucket and a sum, the bio path's pattern. Two instructions on x86-64,
    /// the constants folded into their addresses.
    #[inline(always)]
    pub(crate) fn inc_add<const I: isize, const J: isize>(&self, k: usize, b: usize, v: u64) {
        Self::inc_add_at::<I, J>(self.base, k, b, v);
    }

    #[inline(always)]
    fn inc_add_at<const I: isize, const J: isize>(base: *mut u64, k: usize, b: usize, v: u64) {
        let kb = k.wrapping_add(b);
        assert!(kb.wrapping_add_signed(I) < N && k.wrapping_add_signed(J) < N);
        #[cfg(all(CONFIG_X86_64, CONFIG_SMP, dmp_asm_const))]
        // SAFETY: as in `add_at`, for both counters (checked above).
        unsafe {
            core::arch::asm!(
                "add qword ptr gs:[{b} + {kb} * 8 + {i}], 1",
                "add qword ptr gs:[{b} + {k} * 8 + {j}], {v}",
                b = in(reg) base, kb = in(reg) kb, k = in(reg) k, v = in(reg) v,
                i = const I * 8, j = const J * 8,
                options(nostack),
            );
        }
        // Without `const` operands (rustc < 1.82): the constants added to
        // the base first.
        #[cfg(all(CONFIG_X86_64, CONFIG_SMP, not(dmp_asm_const)))]
        // SAFETY: as in `add_at`, for both counters (checked above).
        unsafe {
            core::arch::asm!(
                "add qword ptr gs:[{bi} + {kb} * 8], 1",
                "add qword ptr gs:[{bj} + {k} * 8], {v}",
                bi = in(reg) base.wrapping_offset(I), bj = in(reg) base.wrapping_offset(J),
                kb = in(reg) kb, k = in(reg) k, v = in(reg) v,
                options(nostack),
            );
        }
        #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP)))]
        {
            Self::add_at(base, kb.wrapping_add_signed(I), 1);
            Self::add_at(base, k.wrapping_add_signed(J), v);
        }
    }

    /// [`inc_add`](Self::inc_add), then [`max`](Self::max) of counter
    /// `k + M` and `v`, reading the per-CPU address once.
    #[inline(always)]
    pub(crate) fn inc_add_max<const I: isize, const J: isize, const M: isize>(
        &self,
        k: usize,
        b: usize,
        v: u64,
    ) {
        let base = self.base;
        Self::inc_add_at::<I, J>(base, k, b, v);
        Self::max_at::<M>(base, k, v);
    }

    #[inline(always)]
    fn add_at(base: *mut u64, i: usize, v: u64) {
        assert!(i < N);
        #[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
        // SAFETY: `base + i` is a per-CPU address inside the allocation
        // (checked above); `%gs`-relative, it is the running CPU's copy.
        unsafe {
            core::arch::asm!("add qword ptr gs:[{b} + {i} * 8], {v}",
                b = in(reg) base, i = in(reg) i, v = in(reg) v, options(nostack));
        }
        #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP)))]
        // Generic `this_cpu_add()` disables interrupts around a plain add;
        // an atomic add on the copy of the CPU this runs on (or ran on a
        // moment ago) is exact too.
        // SAFETY: that CPU's copy of counter `i` (see `atomic`).
        unsafe {
            AtomicU64::from_ptr(
                base.wrapping_add(i)
                    .wrapping_byte_add(cpu_offset(raw_smp_processor_id())),
            )
        }
        .fetch_add(v, Relaxed);
    }

    /// Raises counter `i` of the running CPU to `v` if it is below.
    ///
    /// x86: the loop of `this_cpu_cmpxchg()` (`percpu_cmpxchg_op()`): an
    /// unlocked `cmpxchg` relative to `%gs`, atomic against interrupts on this
    /// CPU. If the task moves between the load and the `cmpxchg`, the
    /// `cmpxchg` compares with the new CPU's value and the loop reads again.
    #[inline(always)]
    pub(crate) fn max(&self, i: usize, v: u64) {
        Self::max_at::<0>(self.base, i, v);
    }

    /// [`max`](Self::max) of counter `i + M`.
    #[inline(always)]
    fn max_at<const M: isize>(base: *mut u64, i: usize, v: u64) {
        assert!(i.wrapping_add_signed(M) < N);
        #[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
        {
            let load = || {
                let old: u64;
                #[cfg(dmp_asm_const)]
                // SAFETY: as in `add_at`; a plain `%gs`-relative load.
                unsafe {
                    core::arch::asm!("mov {old}, qword ptr gs:[{b} + {i} * 8 + {m}]",
                        b = in(reg) base, i = in(reg) i, m = const M * 8, old = out(reg) old,
                        options(nostack, readonly, preserves_flags));
                }
                #[cfg(not(dmp_asm_const))]
                // SAFETY: as in `add_at`; a plain `%gs`-relative load.
                unsafe {
                    core::arch::asm!("mov {old}, qword ptr gs:[{b} + {i} * 8]",
                        b = in(reg) base.wrapping_offset(M), i = in(reg) i, old = out(reg) old,
                        options(nostack, readonly, preserves_flags));
                }
                old
            };
            // Most completions are below the maximum: that case is a load
            // and a compare, not the head of a loop (which the compiler pads).
            let mut old = load();
            while v > old {
                let seen: u64;
                // SAFETY: as in `add_at`; `cmpxchg` compares `rax` with the
                // counter and stores `v` if they are equal, leaving the
                // counter in `rax`.
                #[cfg(dmp_asm_const)]
                unsafe {
                    core::arch::asm!("cmpxchg qword ptr gs:[{b} + {i} * 8 + {m}], {v}",
                        b = in(reg) base, i = in(reg) i, m = const M * 8, v = in(reg) v,
                        inout("rax") old => seen, options(nostack));
                }
                #[cfg(not(dmp_asm_const))]
                // SAFETY: as above, the constant added to the base first.
                unsafe {
                    core::arch::asm!("cmpxchg qword ptr gs:[{b} + {i} * 8], {v}",
                        b = in(reg) base.wrapping_offset(M), i = in(reg) i, v = in(reg) v,
                        inout("rax") old => seen, options(nostack));
                }
                if seen == old {
                    return;
                }
                old = load();
            }
        }
        #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP)))]
        // SAFETY: as in `add_at`: the copy of the CPU this runs on (or ran on
        // a moment ago), only ever accessed atomically by other CPUs.
        unsafe {
            AtomicU64::from_ptr(
                base.wrapping_add(i.wrapping_add_signed(M))
                    .wrapping_byte_add(cpu_offset(raw_smp_processor_id())),
            )
        }
        .fetch_max(v, Relaxed);
    }

    /// Counter `i` of `cpu`, as an atomic. Mirrors `per_cpu_ptr()`
    /// (include/linux/percpu-defs.h): the per-CPU address plus the CPU's
    /// offset, `__per_cpu_offset[cpu]` (`per_cpu_offset()`).
    fn atomic(&self, cpu: usize, i: usize) -> &AtomicU64 {
        let p = self.base.wrapping_add(i).wrapping_byte_add(cpu_offset(cpu));
        // SAFETY: `p` is CPU `cpu`'s copy of counter `i`, valid and aligned
        // while `self` lives; other CPUs only access it atomically (an
        // aligned 64-bit access is atomic), this one with single instructions.
        unsafe { AtomicU64::from_ptr(p) }
    }

    /// The wrapping sum of counter `i` over the possible CPUs.
    pub(crate) fn sum(&self, i: usize) -> u64 {
        possible_cpus().fold(0u64, |acc, cpu| {
            acc.wrapping_add(self.atomic(cpu, i).load(Relaxed))
        })
    }

    /// The largest value of each counter of `idx` over the possible CPUs.
    ///
    /// With `clear`, each CPU also restarts its own counters at 0. On x86-64
    /// SMP, where [`max`](Self::max) is an unlocked `cmpxchg` that another
    /// CPU's write would race (its read and its write-back are not atomic
    /// against other CPUs, so an `xchg` from here between them would be
    /// undone by the write-back), every online CPU does it itself, in an IPI
    /// (`on_each_cpu()`), between two of its instructions: an update is
    /// wholly before it or wholly after it. CPUs that are offline run no
    /// bio, and stay offline meanwhile (`cpus_read_lock()`): their copies
    /// are taken from here. Elsewhere `max` is atomic and a swap from here
    /// is exact. Sleeps: process context only.
    pub(crate) fn maxima<const M: usize>(&self, idx: [usize; M], clear: bool) -> [u64; M] {
        assert!(idx.iter().all(|&i| i < N));
        let mut max = idx.map(|_| 0u64);
        #[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
        if clear {
            return self.restart_on_each_cpu(idx);
        }
        for cpu in possible_cpus() {
            for (m, &i) in max.iter_mut().zip(&idx) {
                let c = self.atomic(cpu, i);
                *m = (*m).max(if clear {
                    c.swap(0, Relaxed)
                } else {
                    c.load(Relaxed)
                });
            }
        }
        max
    }

    /// `maxima(idx, true)` on x86-64 SMP: see there.
    #[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
    fn restart_on_each_cpu<const M: usize>(&self, idx: [usize; M]) -> [u64; M] {
        let r = Restart {
            base: self.base,
            idx,
            max: idx.map(|_| AtomicU64::new(0)),
        };
        // SAFETY: process context (callers); paired with the unlock below.
        unsafe { bindings::cpus_read_lock() };
        // SAFETY: `restart_here::<M>` takes `info` as a `Restart<M>`, which
        // `r` is; `wait` is true, so `r` outlives every call; the mask is the
        // kernel's `cpu_online_mask` (`&__cpu_online_mask`), stable while
        // hotplug is held off.
        unsafe {
            bindings::on_each_cpu_cond_mask(
                None,
                Some(restart_here::<M>),
                ptr::from_ref(&r).cast_mut().cast(),
                true,
                addr_of!(b::__cpu_online_mask),
            )
        };
        for cpu in possible_cpus().filter(|&cpu| !cpu_online(cpu)) {
            for (m, &i) in r.max.iter().zip(&idx) {
                m.fetch_max(self.atomic(cpu, i).swap(0, Relaxed), Relaxed);
            }
        }
        // SAFETY: locked above.
        unsafe { bindings::cpus_read_unlock() };
        r.max.map(AtomicU64::into_inner)
    }
}

/// What each CPU is asked to restart (see [`PerCpu::maxima`]), and the
/// largest value each found.
#[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
struct Restart<const M: usize> {
    base: *mut u64,
    idx: [usize; M],
    max: [AtomicU64; M],
}

/// The IPI handler of [`PerCpu::maxima`]: runs on each online CPU with
/// interrupts off, so nothing else runs there between its read and its
/// write of a counter. Mirrors `this_cpu_read()` and `this_cpu_write()`
/// (x86: `percpu_from_op()`, `percpu_to_op()`): a `mov` from and a `mov` to
/// the `%gs`-relative address.
///
/// # Safety
///
/// `info` points to a live `Restart<M>`, whose indices are below the `N` of
/// the `PerCpu<N>` its `base` comes from; called by `on_each_cpu()` only.
#[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
unsafe extern "C" fn restart_here<const M: usize>(info: *mut core::ffi::c_void) {
    // SAFETY: `info` is the `Restart<M>` `restart_on_each_cpu` passed, alive
    // until every CPU has returned from this handler.
    let r = unsafe { &*info.cast::<Restart<M>>() };
    for (m, &i) in r.max.iter().zip(&r.idx) {
        let v: u64;
        // SAFETY: `base + i` is a per-CPU address inside the allocation
        // (`maxima` checked `i`); `%gs`-relative, this CPU's copy, which
        // only this CPU writes.
        unsafe {
            core::arch::asm!(
                "mov {v}, qword ptr gs:[{b} + {i} * 8]",
                "mov qword ptr gs:[{b} + {i} * 8], 0",
                b = in(reg) r.base, i = in(reg) i, v = out(reg) v,
                options(nostack, preserves_flags),
            );
        }
        m.fetch_max(v, Relaxed);
    }
}

impl<const N: usize> Drop for PerCpu<N> {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`, freed once, here.
        unsafe { bindings::free_percpu(self.base.cast()) };
    }
}

/// The per-CPU offset of `cpu` (`per_cpu_offset()`, `__per_cpu_offset[cpu]`).
fn cpu_offset(cpu: usize) -> usize {
    #[cfg(CONFIG_SMP)]
    // SAFETY: `cpu` is below `nr_cpu_ids` (callers), so within the array,
    // which does not change after boot.
    let off = unsafe { ptr::read(addr_of!(b::__per_cpu_offset).cast::<usize>().add(cpu)) };
    #[cfg(not(CONFIG_SMP))]
    let off = {
        let _ = cpu;
        0usize
    };
    off
}

/// Whether `cpu` is online. Mirrors `cpu_online()` (include/linux/cpumask.h):
/// its bit in `cpu_online_mask`.
#[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
fn cpu_online(cpu: usize) -> bool {
    let w = usize::BITS as usize;
    // SAFETY: the mask has at least `nr_cpu_ids` bits (`cpu` is below);
    // read as one word, as `test_bit()` does.
    let word =
        unsafe { ptr::read_volatile(addr_of!(b::__cpu_online_mask).cast::<usize>().add(cpu / w)) };
    word & (1 << (cpu % w)) != 0
}

/// The possible CPUs. Mirrors `for_each_possible_cpu()`
/// (include/linux/cpumask.h): the set bits of `cpu_possible_mask` below
/// `nr_cpu_ids`.
fn possible_cpus() -> impl Iterator<Item = usize> {
    #[cfg(CONFIG_SMP)]
    // SAFETY: `nr_cpu_ids` is set at boot and not changed after.
    let n = unsafe { ptr::read_volatile(addr_of!(b::nr_cpu_ids)) } as usize;
    #[cfg(not(CONFIG_SMP))]
    let n = 1usize;
    (0..n).filter(move |&cpu| {
        let w = usize::BITS as usize;
        // SAFETY: the mask has at least `nr_cpu_ids` bits; it does not change
        // after boot.
        let word = unsafe {
            ptr::read_volatile(
                addr_of!(b::__cpu_possible_mask)
                    .cast::<usize>()
                    .add(cpu / w),
            )
        };
        word & (1 << (cpu % w)) != 0
    })
}

/// The CPU the caller runs on, or ran on a moment ago. Mirrors the generic
/// `raw_smp_processor_id()`, `current_thread_info()->cpu` (include/linux/smp.h).
#[cfg(not(all(CONFIG_X86_64, CONFIG_SMP)))]
#[inline]
fn raw_smp_processor_id() -> usize {
    #[cfg(all(CONFIG_SMP, CONFIG_THREAD_INFO_IN_TASK))]
    {
        // SAFETY: `get_current()` returns the running task, which lives at
        // least as long as this call; `thread_info.cpu` is a plain integer.
        unsafe {
            let task = bindings::get_current();
            ptr::read_volatile(ptr::addr_of_mut!((*task).thread_info.cpu)) as usize
        }
    }
    #[cfg(not(all(CONFIG_SMP, CONFIG_THREAD_INFO_IN_TASK)))]
    {
        0
    }
}

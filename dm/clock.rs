// SPDX-License-Identifier: GPL-2.0

//! The clock request latencies are measured with.
//!
//! Two reads per bio (at `map` and at completion) make it the costliest part
//! of dmp's accounting, so on x86-64, where the kernel keeps time with the
//! TSC and trusts it (`tsc_khz` set, `check_tsc_unstable()` false when the
//! module loads), a [`Stamp`] is the raw TSC (`rdtsc`, one instruction) and
//! only a difference is turned into ns, with the kernel's TSC frequency.
//! Elsewhere it is `ktime_get()` in ns. Both are monotonic and agree across
//! CPUs (a bio may complete on another CPU than it was mapped on).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::bindings;

/// ns per TSC cycle as a 32.32 fixed-point factor; 0 while `ktime_get()` is
/// the clock.
static TSC_NS_MULT: AtomicU64 = AtomicU64::new(0);

/// A moment, to measure the time elapsed since.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp(u64);

/// Chooses the clock; call once, before the first [`now`].
pub(crate) fn init() {
    #[cfg(CONFIG_X86_64)]
    {
        // SAFETY: plain reads of values the kernel set at boot
        // (`tsc_khz` is refined once, early, before modules load).
        let (khz, unstable) = unsafe {
            (
                core::ptr::read_volatile(core::ptr::addr_of!(bindings::tsc_khz)),
                bindings::check_tsc_unstable(),
            )
        };
        if khz != 0 && unstable == 0 {
            TSC_NS_MULT.store(((1_000_000u128 << 32) / u128::from(khz)) as u64, Relaxed);
        }
    }
}

#[inline(always)]
fn read(tsc: bool) -> u64 {
    #[cfg(CONFIG_X86_64)]
    if tsc {
        // Mirrors `rdtsc()` (arch/x86/include/asm/msr.h); unordered, as
        // a few cycles of reordering do not matter at this scale.
        // SAFETY: `rdtsc` has no preconditions in the kernel.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    let _ = tsc;
    // Mirrors `ktime_get_ns()` (include/linux/timekeeping.h).
    // SAFETY: `ktime_get()` may be called from any context.
    unsafe { bindings::ktime_get() as u64 }
}

/// Now.
#[inline(always)]
pub(crate) fn now() -> Stamp {
    Stamp(read(TSC_NS_MULT.load(Relaxed) != 0))
}

impl Stamp {
    /// ns elapsed since `self` (0 if the clock seems to have gone back).
    #[inline(always)]
    pub(crate) fn elapsed_ns(self) -> u64 {
        let mult = TSC_NS_MULT.load(Relaxed);
        let delta = read(mult != 0).saturating_sub(self.0);
        if mult == 0 {
            delta
        } else {
            ((u128::from(delta) * u128::from(mult)) >> 32) as u64
        }
    }
}

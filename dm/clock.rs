// SPDX-License-Identifier: GPL-2.0

//! The clocks request latencies are measured with.
//!
//! Two reads per bio (at `map` and at completion) make the clock the costliest
//! part of dmp's accounting, so on x86-64, where the kernel keeps time with
//! the TSC and trusts it (`tsc_khz` set, `check_tsc_unstable()` false when the
//! module loads), the clock is [`Tsc`]: a [`Stamp`] is the raw TSC (`rdtsc`,
//! one instruction) and only a difference is turned into ns, with the
//! kernel's TSC frequency. Elsewhere it is [`Ktime`], `ktime_get()` in ns.
//! Both are monotonic and agree across CPUs (a bio may complete on another
//! CPU than it was mapped on).
//!
//! The choice is made once, when the module loads ([`tsc_usable`]), and the
//! target type registers the callbacks compiled for that clock (see
//! [`super::Registration`]), so the bio path never tests which clock it uses.

#[cfg(CONFIG_X86_64)]
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::bindings;

/// A moment, to measure the time elapsed since.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp(u64);

/// A clock for request latencies.
pub(crate) trait Clock {
    /// Now.
    fn now() -> Stamp;
    /// ns elapsed since `start` (0 if the clock seems to have gone back).
    fn since(start: Stamp) -> u64;
}

/// `ktime_get()`: any kernel, any architecture.
pub(crate) struct Ktime;

impl Clock for Ktime {
    #[inline(always)]
    fn now() -> Stamp {
        // Mirrors `ktime_get_ns()` (include/linux/timekeeping.h).
        // SAFETY: `ktime_get()` may be called from any context.
        Stamp(unsafe { bindings::ktime_get() } as u64)
    }

    #[inline(always)]
    fn since(start: Stamp) -> u64 {
        Self::now().0.saturating_sub(start.0)
    }
}

/// ns per TSC cycle as a 32.32 fixed-point factor, set by [`tsc_usable`].
#[cfg(CONFIG_X86_64)]
static TSC_NS_MULT: AtomicU64 = AtomicU64::new(0);

/// The raw TSC, when [`tsc_usable`] says so.
#[cfg(CONFIG_X86_64)]
pub(crate) struct Tsc;

#[cfg(CONFIG_X86_64)]
impl Clock for Tsc {
    #[inline(always)]
    fn now() -> Stamp {
        // Mirrors `rdtsc()` (arch/x86/include/asm/msr.h); unordered, as a few
        // cycles of reordering do not matter at this scale.
        // SAFETY: `rdtsc` has no preconditions in the kernel.
        Stamp(unsafe { core::arch::x86_64::_rdtsc() })
    }

    #[inline(always)]
    fn since(start: Stamp) -> u64 {
        let cycles = Self::now().0.saturating_sub(start.0);
        ((u128::from(cycles) * u128::from(TSC_NS_MULT.load(Relaxed))) >> 32) as u64
    }
}

/// Whether [`Tsc`] can be used; call once, when the module loads, before
/// any bio is mapped.
pub(crate) fn tsc_usable() -> bool {
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
            return true;
        }
    }
    false
}

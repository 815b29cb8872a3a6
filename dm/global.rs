// SPDX-License-Identifier: GPL-2.0

//! Module-wide state that callbacks without a context (sysfs attributes, a
//! target's constructor) reach: set once by the module's `init`, freed when
//! the module drops the guard.

use core::{
    pin::Pin,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::prelude::*;

/// A slot for a value the module owns while it is loaded.
pub(crate) struct Global<T>(AtomicPtr<T>);

impl<T: Sync> Global<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self(AtomicPtr::new(ptr::null_mut()))
    }

    /// Puts `v` in the slot (which must be empty) until the returned guard is
    /// dropped.
    ///
    /// The module keeps the guard in its own state and drops it last, after
    /// whatever calls [`get`](Self::get) is gone: the sysfs files removed
    /// (which waits for running callbacks) and the target type unregistered
    /// (which needs every target destroyed).
    pub(crate) fn set(&'static self, v: Pin<KBox<T>>) -> Result<GlobalGuard<T>> {
        // SAFETY: the value is never moved out of its allocation: it is freed
        // in place by the guard, through `Pin`.
        let p = KBox::into_raw(unsafe { Pin::into_inner_unchecked(v) });
        if self
            .0
            .compare_exchange(ptr::null_mut(), p, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: `p` came from `into_raw` above and was not published.
            drop(unsafe { KBox::from_raw(p) });
            return Err(EBUSY);
        }
        Ok(GlobalGuard { slot: self })
    }

    /// The value, while the module is loaded.
    pub(crate) fn get(&self) -> Option<&T> {
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a live value put there by `set`, which
        // stays until the guard is dropped, after the last `get` (see `set`).
        unsafe { p.as_ref() }
    }
}

/// Owns the value of a [`Global`]; frees it when dropped.
pub(crate) struct GlobalGuard<T: Sync + 'static> {
    slot: &'static Global<T>,
}

impl<T: Sync + 'static> Drop for GlobalGuard<T> {
    fn drop(&mut self) {
        let p = self.slot.0.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `p` came from `KBox::into_raw` in `set`; nobody uses it any
        // more (see `set`), and the swap makes this the only free.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(p)) });
    }
}

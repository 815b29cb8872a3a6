// SPDX-License-Identifier: GPL-2.0

//! `/sys/module/dmp/stat/volumes`: the `stat` kobject under the module's own
//! kobject, and its one attribute.
//!
//! The plumbing (kobject, attribute, C callbacks) is here; what the file
//! shows and what a write does are [`crate::volumes_show`] and
//! [`crate::volumes_store`], in safe Rust.

use core::ptr::{self, addr_of_mut};
use kernel::{bindings, c_str, ffi::c_char, prelude::*, types::Opaque};

use crate::dmp_stats::SliceWriter;

/// The `volumes` attribute. Static, as sysfs attributes are in C: lockdep
/// wants the key inside it to be static data.
struct VolumesAttr(Opaque<bindings::kobj_attribute>);

// SAFETY: sysfs only reads the attribute, and nothing here writes it after
// its constant initialisation.
unsafe impl Sync for VolumesAttr {}

static VOLUMES: VolumesAttr = VolumesAttr(Opaque::new(volumes_attr()));

const fn volumes_attr() -> bindings::kobj_attribute {
    // SAFETY: `kobj_attribute` is plain C data for which all zeroes is valid
    // (null name and callbacks, no lockdep key override).
    let mut a: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
    a.attr.name = c_str!("volumes").as_char_ptr();
    a.attr.mode = 0o644;
    a.show = Some(volumes_show_c);
    a.store = Some(volumes_store_c);
    a
}

fn volumes_attr_ptr() -> *mut bindings::attribute {
    // SAFETY: `VOLUMES` is static; this only computes a field address.
    unsafe { addr_of_mut!((*VOLUMES.0.get()).attr) }
}

/// `/sys/module/<module>/stat/`, holding `volumes`; removed when dropped.
pub(crate) struct StatDir {
    kobj: *mut bindings::kobject,
}

// SAFETY: The kobject is only created and released; sysfs serialises access.
unsafe impl Send for StatDir {}
// SAFETY: `&StatDir` gives no access to anything.
unsafe impl Sync for StatDir {}

impl StatDir {
    /// Creates `stat/volumes` under `module`'s kobject.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        // SAFETY: a loaded module's kobject is valid while the module lives,
        // which is longer than `self`.
        let parent = unsafe { addr_of_mut!((*module.as_ptr()).mkobj.kobj) };
        // SAFETY: `parent` is valid, the name is a static C string.
        let kobj =
            unsafe { bindings::kobject_create_and_add(c_str!("stat").as_char_ptr(), parent) };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        // Mirrors `sysfs_create_file()` (include/linux/sysfs.h).
        // SAFETY: `kobj` is valid and the attribute is static.
        let ret = unsafe { bindings::sysfs_create_file_ns(kobj, volumes_attr_ptr(), ptr::null()) };
        if ret != 0 {
            // SAFETY: drops the only reference, taken above.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        Ok(Self { kobj })
    }
}

impl Drop for StatDir {
    fn drop(&mut self) {
        // Mirrors `sysfs_remove_file()`. Waits for running show/store calls.
        // SAFETY: the file was created on `self.kobj` in `new`.
        unsafe { bindings::sysfs_remove_file_ns(self.kobj, volumes_attr_ptr(), ptr::null()) };
        // SAFETY: drops the reference taken in `new`.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}

/// The `show` callback of the `volumes` attribute.
///
/// # Safety
///
/// Only sysfs calls it, with the arguments of a `kobj_attribute` callback.
unsafe extern "C" fn volumes_show_c(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes a buffer of `PAGE_SIZE` bytes, ours for the call.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE) };
    let mut out = SliceWriter::new(buf);
    crate::volumes_show(&mut out);
    out.len() as isize
}

/// The `store` callback of the `volumes` attribute.
///
/// # Safety
///
/// Only sysfs calls it, with the arguments of a `kobj_attribute` callback.
unsafe extern "C" fn volumes_store_c(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes the `count` bytes written, valid for the call.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match crate::volumes_store(input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

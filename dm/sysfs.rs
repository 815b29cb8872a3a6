// SPDX-License-Identifier: GPL-2.0

//! A kobject under a module's own (`/sys/module/<name>/<dir>/`) holding one
//! static attribute file whose contents a safe [`AttrOps`] gives.

use core::{
    marker::PhantomData,
    ptr::{self, addr_of_mut},
};
use kernel::{bindings, ffi::c_char, prelude::*, types::Opaque};

use super::SliceWriter;

/// What an attribute file shows and what a write to it does.
pub(crate) trait AttrOps: 'static {
    /// The file's name, NUL-terminated (a byte string, so that a constant
    /// can point at it on every kernel).
    const NAME: &'static [u8];
    /// The file's mode.
    const MODE: u16;
    /// Writes the file's text (at most a page).
    fn show(out: &mut SliceWriter<'_>);
    /// Handles a write of `input`.
    fn store(input: &[u8]) -> Result;
}

/// A sysfs attribute (`struct kobj_attribute`). Static, as sysfs attributes
/// are in C: lockdep wants the key inside it to be static data.
pub(crate) struct Attribute<T: AttrOps>(Opaque<bindings::kobj_attribute>, PhantomData<T>);

// SAFETY: sysfs only reads the attribute, and nothing writes it after its
// constant initialisation.
unsafe impl<T: AttrOps> Sync for Attribute<T> {}

impl<T: AttrOps> Attribute<T> {
    /// The attribute of `T`. Mirrors `__ATTR(name, mode, show, store)`
    /// (include/linux/sysfs.h); where `kobj_attribute` has the `show_const`
    /// alternatives (probed, `dmp_sysfs_const_callbacks`), `show` and `store`
    /// sit in anonymous unions or structs beside them.
    pub(crate) const fn new() -> Self {
        // SAFETY: `kobj_attribute` is plain C data for which all zeroes is
        // valid (null name and callbacks, no lockdep key override).
        let mut a: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
        assert!(!T::NAME.is_empty() && T::NAME[T::NAME.len() - 1] == 0);
        a.attr.name = T::NAME.as_ptr().cast();
        a.attr.mode = T::MODE;
        #[cfg(not(dmp_sysfs_const_callbacks))]
        {
            a.show = Some(show_c::<T>);
            a.store = Some(store_c::<T>);
        }
        #[cfg(dmp_sysfs_const_callbacks)]
        {
            a.__bindgen_anon_1.show = Some(show_c::<T>);
            a.__bindgen_anon_2.store = Some(store_c::<T>);
        }
        Self(Opaque::new(a), PhantomData)
    }

    fn attr_ptr(&'static self) -> *mut bindings::attribute {
        // SAFETY: `self` is static; this only computes a field address.
        unsafe { addr_of_mut!((*self.0.get()).attr) }
    }
}

/// `/sys/module/<module>/<name>/`, holding one attribute; removed when
/// dropped.
pub(crate) struct KobjDir {
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
}

// SAFETY: The kobject is only created and released; sysfs serialises access.
unsafe impl Send for KobjDir {}
// SAFETY: `&KobjDir` gives no access to anything.
unsafe impl Sync for KobjDir {}

impl KobjDir {
    /// Creates `name/` under `module`'s kobject, with `attr` in it.
    pub(crate) fn new<T: AttrOps>(
        module: &'static ThisModule,
        name: &'static CStr,
        attr: &'static Attribute<T>,
    ) -> Result<Self> {
        // SAFETY: a loaded module's kobject is valid while the module lives,
        // which is longer than `self`.
        let parent = unsafe { addr_of_mut!((*module.as_ptr()).mkobj.kobj) };
        // SAFETY: `parent` is valid, the name is a static C string.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        let attr = attr.attr_ptr();
        // Mirrors `sysfs_create_file()` (include/linux/sysfs.h).
        // SAFETY: `kobj` is valid and the attribute is static.
        let ret = unsafe { bindings::sysfs_create_file_ns(kobj, attr, ptr::null()) };
        if ret != 0 {
            // SAFETY: drops the only reference, taken above.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        Ok(Self { kobj, attr })
    }
}

impl Drop for KobjDir {
    fn drop(&mut self) {
        // Mirrors `sysfs_remove_file()`. Waits for running show/store calls.
        // SAFETY: the file was created on `self.kobj` in `new`.
        unsafe { bindings::sysfs_remove_file_ns(self.kobj, self.attr, ptr::null()) };
        // SAFETY: drops the reference taken in `new`.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}

/// The `show` callback of an [`Attribute`].
///
/// # Safety
///
/// Only sysfs calls it, with the arguments of a `kobj_attribute` callback.
unsafe extern "C" fn show_c<T: AttrOps>(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes a buffer of `PAGE_SIZE` bytes, ours for the call.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE) };
    let mut out = SliceWriter::new(buf);
    T::show(&mut out);
    out.len() as isize
}

/// The `store` callback of an [`Attribute`].
///
/// # Safety
///
/// Only sysfs calls it, with the arguments of a `kobj_attribute` callback.
unsafe extern "C" fn store_c<T: AttrOps>(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes the `count` bytes written, valid for the call.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match T::store(input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

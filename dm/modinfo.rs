// SPDX-License-Identifier: GPL-2.0

//! `.modinfo` entries that `module!` does not write on every kernel (6.12's
//! has no `version` key; `author` became `authors` in 6.14).
//!
//! Mirrors C's `MODULE_INFO(tag, info)` (`__MODULE_INFO` in
//! `include/linux/moduleparam.h`): a NUL-terminated `tag=info` string in an
//! allocatable `.modinfo` section, flags `"a"`. It is written in assembly, not
//! as a `#[used]` static: from rustc 1.89 on `#[used]` means `used(linker)`,
//! which marks the section `SHF_GNU_RETAIN` ("AR"); GNU ld then keeps it apart
//! from the `.modinfo` that `module!` writes ("A"), and the kernel refuses a
//! module with two (`Only one .modinfo section must exist`). Assembly gives
//! the section the same flags as C's and `module!`'s on every rustc and
//! linker, so they always merge into one.

/// `modinfo!("tag", "value")`: adds `tag=value` to the module's `.modinfo`
/// (only when built as a module, as `MODULE_INFO` does for `MODULE`).
macro_rules! modinfo {
    ($tag:literal, $value:literal) => {
        #[cfg(MODULE)]
        core::arch::global_asm!(concat!(
            ".pushsection .modinfo,\"a\"\n",
            ".ascii \"",
            $tag,
            "=",
            $value,
            "\\0\"\n",
            ".popsection\n"
        ));
    };
}
pub(crate) use modinfo;

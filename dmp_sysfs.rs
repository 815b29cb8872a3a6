// SPDX-License-Identifier: GPL-2.0

//! `/sys/module/dmp/stat/volumes`: the `stat` kobject under the module's own
//! kobject, and its one attribute.
//!
//! The plumbing (kobject, attribute, C callbacks) is `dm::sysfs`; what the
//! file shows and what a write does are [`crate::volumes_show`] and
//! [`crate::volumes_store`].

use kernel::{c_str, prelude::*};

use crate::dm::{AttrOps, Attribute, KobjDir, SliceWriter};

/// The `volumes` file: module-wide counters; root may reset them.
struct VolumesFile;

impl AttrOps for VolumesFile {
    const NAME: &'static [u8] = b"volumes\0";
    const MODE: u16 = 0o644;

    fn show(out: &mut SliceWriter<'_>) {
        crate::volumes_show(out);
    }

    fn store(input: &[u8]) -> Result {
        crate::volumes_store(input)
    }
}

static VOLUMES: Attribute<VolumesFile> = Attribute::new();

/// Creates `/sys/module/dmp/stat/volumes`; removed when the result is dropped.
pub(crate) fn create(module: &'static ThisModule) -> Result<KobjDir> {
    KobjDir::new(module, c_str!("stat"), &VOLUMES)
}

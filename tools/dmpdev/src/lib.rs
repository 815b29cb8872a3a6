// SPDX-License-Identifier: GPL-2.0
//! What `dmpstat` and `dmpctl` both know: where the dmp module shows itself,
//! how to open device-mapper's control node and word its errors
//! (this file), device-mapper access (`dm`), how devices are named (`spec`)
//! and dmp's lower devices (`layer`, no kernel).

pub mod dm;
pub mod layer;
pub mod spec;

use std::path::Path;

use devicemapper::{errors, DmError, DM};

/// The module's sysfs directory: present while dmp is loaded.
pub const MODULE_DIR: &str = "/sys/module/dmp";
/// The module-wide counters.
pub const VOLUMES: &str = "/sys/module/dmp/stat/volumes";
/// Device-mapper's control node.
pub const CONTROL: &str = "/dev/mapper/control";

/// An OS error's text without Rust's " (os error N)".
pub fn os_text(e: &std::io::Error) -> String {
    let t = e.to_string();
    match t.rsplit_once(" (os error ") {
        Some((msg, _)) => msg.to_string(),
        None => t,
    }
}

/// The errno of a failed ioctl, if that is what failed.
pub fn errno(e: &DmError) -> Option<i32> {
    match e {
        DmError::Core(errors::Error::Ioctl(_, _, _, err)) => Some(**err as i32),
        _ => None,
    }
}

/// A device-mapper error as one short text (the errno's, for ioctls).
pub fn describe(e: &DmError) -> String {
    match errno(e) {
        Some(n) => os_text(&std::io::Error::from_raw_os_error(n)),
        None => e.to_string(),
    }
}

/// Whether the dmp module is loaded.
pub fn dmp_loaded() -> bool {
    Path::new(MODULE_DIR).exists()
}

/// Opens device-mapper's control node; the error names the node, why, and
/// what to do (`tool` must run as root).
pub fn open(tool: &str) -> Result<DM, String> {
    DM::new().map_err(|_| {
        let e = std::fs::File::open(CONTROL).err();
        let why = e.as_ref().map_or("cannot open".to_string(), os_text);
        let hint = match e.map(|e| e.kind()) {
            Some(std::io::ErrorKind::PermissionDenied) => format!(" ({tool} must run as root)"),
            Some(std::io::ErrorKind::NotFound) => " (no device-mapper?)".to_string(),
            _ => String::new(),
        };
        format!("cannot open {CONTROL}: {why}{hint}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_text_drops_the_errno_suffix() {
        let e = std::io::Error::from_raw_os_error(libc::ENXIO);
        assert_eq!(os_text(&e), "No such device or address");
    }
}

pub mod generate;

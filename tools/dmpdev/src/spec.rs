// SPDX-License-Identifier: GPL-2.0
//! How a device is named on a command line or in a configuration file, and
//! LVM's device-mapper names (no kernel).

/// How a device is named on the command line or in the configuration file.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum DevSpec {
    /// A dm name (`vg0-lv0`).
    Name(String),
    /// A path to a block device node or a symlink to one (`/dev/mapper/X`,
    /// `/dev/dm-3`, `/dev/VG/LV`): found by its major:minor.
    Path(String),
    /// A dm UUID (`uuid:LVM-...` or `UUID=LVM-...`).
    Uuid(String),
}

/// Reads a DEVICE argument. `VG/LV` (no leading slash) is an LVM volume,
/// named in device-mapper by LVM's rule: each `-` of the VG and LV names
/// doubled, joined by one `-`.
pub fn parse_spec(arg: &str) -> Result<DevSpec, String> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err("an empty device name".to_string());
    }
    for prefix in ["uuid:", "UUID="] {
        if let Some(u) = arg.strip_prefix(prefix) {
            if u.is_empty() || u.len() > 128 || u.contains(char::is_whitespace) {
                return Err(format!("'{arg}' is not a valid dm UUID"));
            }
            return Ok(DevSpec::Uuid(u.to_string()));
        }
    }
    if arg.starts_with('/') {
        return Ok(DevSpec::Path(arg.to_string()));
    }
    if let Some((vg, lv)) = arg.split_once('/') {
        if vg.is_empty() || lv.is_empty() || lv.contains('/') {
            return Err(format!("'{arg}' is neither VG/LV, a path nor a dm name"));
        }
        return Ok(DevSpec::Name(lvm_dm_name(vg, lv)));
    }
    if arg.len() > 127 || arg.contains(char::is_whitespace) {
        return Err(format!("'{arg}' is not a valid dm name"));
    }
    Ok(DevSpec::Name(arg.to_string()))
}

/// LVM's device-mapper name of VG/LV.
pub fn lvm_dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_arguments() {
        assert_eq!(parse_spec("vg0-lv0"), Ok(DevSpec::Name("vg0-lv0".into())));
        assert_eq!(
            parse_spec("/dev/mapper/vg0-lv0"),
            Ok(DevSpec::Path("/dev/mapper/vg0-lv0".into()))
        );
        assert_eq!(
            parse_spec("/dev/dm-3"),
            Ok(DevSpec::Path("/dev/dm-3".into()))
        );
        assert_eq!(parse_spec("vg0/lv0"), Ok(DevSpec::Name("vg0-lv0".into())));
        // LVM doubles the dashes inside VG and LV names.
        assert_eq!(
            parse_spec("my-vg/data-1"),
            Ok(DevSpec::Name("my--vg-data--1".into()))
        );
        assert_eq!(
            parse_spec("uuid:LVM-abc"),
            Ok(DevSpec::Uuid("LVM-abc".into()))
        );
        assert_eq!(
            parse_spec("UUID=LVM-abc"),
            Ok(DevSpec::Uuid("LVM-abc".into()))
        );
        assert!(parse_spec("").is_err());
        assert!(parse_spec("uuid:").is_err());
        assert!(parse_spec("a/b/c").is_err());
        assert!(parse_spec("/lv").is_ok());
        assert!(parse_spec("vg/").is_err());
        assert!(parse_spec(&"x".repeat(128)).is_err());
    }
}

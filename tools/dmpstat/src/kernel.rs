// SPDX-License-Identifier: GPL-2.0
//! The kernel side: device-mapper ioctls (through Stratis' `devicemapper`
//! crate: DM_LIST_DEVICES, DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG for the
//! table, DM_TARGET_MSG for `stats`) and the module's sysfs file.

use std::path::Path;

use devicemapper::{DevId, DmFlags, DmName, DmOptions, DM};
pub use dmpdev::os_text;
use dmpdev::{describe, errno, MODULE_DIR, VOLUMES};

use crate::report::Sample;
use crate::stats::{parse_target_stats, parse_volumes};

pub struct Kernel {
    dm: DM,
}

/// A device's dmp targets, or why there are none.
pub enum Lookup {
    /// Start sectors of its dmp targets (none: not a dmp device).
    Targets(Vec<u64>),
    NoSuchDevice,
}

impl Kernel {
    /// Checks the module is there and opens the control node.
    pub fn open() -> Result<Kernel, String> {
        if !Path::new(MODULE_DIR).exists() {
            return Err(format!("dmp is not loaded (no {MODULE_DIR})"));
        }
        let dm = dmpdev::open("dmpstat")?;
        Ok(Kernel { dm })
    }

    pub fn volumes(&self) -> Result<crate::stats::Volumes, String> {
        let text = std::fs::read_to_string(VOLUMES).map_err(|e| {
            if !Path::new(MODULE_DIR).exists() {
                format!("dmp is not loaded (no {MODULE_DIR})")
            } else {
                format!("cannot read {VOLUMES}: {}", os_text(&e))
            }
        })?;
        parse_volumes(&text).map_err(|e| format!("{VOLUMES}: {e}"))
    }

    /// Every dm device, by name, less the lower devices `dmpctl attach`
    /// puts under a layered device: the device above is the one a user
    /// knows (the LV, the LUKS mapping), and its dmp target counts the I/O.
    pub fn device_names(&self) -> Result<Vec<String>, String> {
        Ok(dmpdev::dm::entries(&self.dm)?
            .into_iter()
            .filter(|e| !e.is_lower())
            .map(|e| e.name)
            .collect())
    }

    /// The start sectors of a device's dmp targets (live table).
    pub fn lookup(&self, name: &str) -> Result<Lookup, String> {
        let Ok(dm_name) = DmName::new(name) else {
            return Ok(Lookup::NoSuchDevice);
        };
        let opts = DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE);
        match self.dm.table_status(&DevId::Name(dm_name), opts) {
            Ok((_, table)) => Ok(Lookup::Targets(
                table
                    .into_iter()
                    .filter(|(_, _, kind, _)| kind == "dmp")
                    .map(|(start, _, _, _)| start)
                    .collect(),
            )),
            Err(e) if errno(&e) == Some(libc::ENXIO) => Ok(Lookup::NoSuchDevice),
            Err(e) => Err(format!("{name}: cannot read its table: {}", describe(&e))),
        }
    }

    /// The `stats` text of the target at `start`; None if the device is gone.
    pub fn target_stats(&self, name: &str, start: u64) -> Result<Option<String>, String> {
        let dm_name = DmName::new(name).map_err(|e| format!("{name}: {e}"))?;
        match self.dm.target_msg(&DevId::Name(dm_name), Some(start), "stats") {
            Ok((_, Some(text))) => Ok(Some(text)),
            Ok((_, None)) => Err(format!(
                "{name}: the dmp target at sector {start} answered 'stats' with no text (dmp.ko older than dmpstat?)"
            )),
            Err(e) if errno(&e) == Some(libc::ENXIO) => Ok(None),
            Err(e) if errno(&e) == Some(libc::EINVAL) => Err(format!(
                "{name}: the dmp target at sector {start} refused the 'stats' message (dmp.ko older than dmpstat?)"
            )),
            Err(e) => Err(format!("{name}: 'stats' message: {}", describe(&e))),
        }
    }

    /// The dmp devices (names with at least one dmp target), sorted.
    pub fn dmp_devices(&self) -> Result<Vec<(String, Vec<u64>)>, String> {
        let mut out = Vec::new();
        for name in self.device_names()? {
            if let Lookup::Targets(t) = self.lookup(&name)? {
                if !t.is_empty() {
                    out.push((name, t));
                }
            }
        }
        Ok(out)
    }

    /// Checks that each named device exists and is a dmp device.
    pub fn check_named(&self, names: &[String]) -> Result<(), String> {
        for name in names {
            match self.lookup(name)? {
                Lookup::NoSuchDevice => return Err(format!("no such device: {name}")),
                Lookup::Targets(t) if t.is_empty() => {
                    return Err(format!(
                        "{name} is not a dmp device (no dmp target in its table)"
                    ))
                }
                Lookup::Targets(_) => {}
            }
        }
        Ok(())
    }

    /// One sample of the named devices (all dmp devices if none named).
    /// A named device that disappeared or lost its dmp targets is an error;
    /// unnamed ones that disappear are left out.
    pub fn sample(&self, named: &[String], mono_s: f64, unix_s: f64) -> Result<Sample, String> {
        let volumes = self.volumes()?;
        let devices: Vec<(String, Vec<u64>)> = if named.is_empty() {
            self.dmp_devices()?
        } else {
            self.check_named(named)?;
            let mut v = Vec::new();
            for name in named {
                if let Lookup::Targets(t) = self.lookup(name)? {
                    v.push((name.clone(), t));
                }
            }
            v
        };
        let mut s = Sample {
            mono_s,
            unix_s,
            volumes,
            devices: Default::default(),
        };
        'dev: for (name, starts) in devices {
            let mut targets = Vec::new();
            for start in starts {
                match self.target_stats(&name, start)? {
                    Some(text) => targets.push((
                        start,
                        parse_target_stats(&text).map_err(|e| {
                            format!("{name}: 'stats' of the target at sector {start}: {e}")
                        })?,
                    )),
                    None if named.is_empty() => continue 'dev,
                    None => return Err(format!("no such device: {name} (removed)")),
                }
            }
            if !targets.is_empty() {
                s.devices.insert(name, targets);
            }
        }
        Ok(s)
    }
}

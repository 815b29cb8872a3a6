// SPDX-License-Identifier: GPL-2.0
//! The kernel-free part of dmpctl's in-place switch: deciding what a linear
//! table becomes on attach and detach, and reading the configuration file.
//!
//! A `linear` target's parameters are `<major:minor> <offset>` in the table
//! the kernel prints, and a `dmp` target takes and prints the same two, so a
//! target is switched by changing its type only: the parameter text is
//! carried byte for byte, which is what makes detach give back exactly the
//! table LVM (or whoever) loaded.

/// One target of a table: (start sector, length, type, parameters), as the
/// `devicemapper` crate reads and loads them.
pub use dmpdev::layer::{Target, DMP, LINEAR};
use dmpdev::spec::parse_spec;

/// What to do to a device's live table.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Load this table (the same targets with their type switched); `changed`
    /// targets were switched, `kept` were already of the wanted type.
    Load {
        table: Vec<Target>,
        changed: usize,
        kept: usize,
    },
    /// Every target is already of the wanted type: nothing to do.
    Nothing { targets: usize },
    /// A target of another type (or an empty table): nothing may change.
    Refuse(String),
}

/// The table that attaching dmp gives: every `linear` becomes `dmp`.
///
/// A mixed table (some targets already `dmp`, the rest `linear`) is
/// completed: its `linear` targets are switched and its `dmp` targets kept
/// as they are (their counters survive the reload). Any other target type
/// refuses the whole device.
pub fn attach_plan(live: &[Target]) -> Plan {
    switch(live, LINEAR, DMP)
}

/// The table that detaching dmp gives: every `dmp` becomes `linear`. A
/// `linear` target of a mixed table stays as it is.
pub fn detach_plan(live: &[Target]) -> Plan {
    switch(live, DMP, LINEAR)
}

fn switch(live: &[Target], from: &str, to: &str) -> Plan {
    if live.is_empty() {
        return Plan::Refuse("it has no live table".to_string());
    }
    for (i, (start, len, kind, _)) in live.iter().enumerate() {
        if kind != from && kind != to {
            return Plan::Refuse(format!(
                "target {} of {} (sectors {}+{}) is {}; only linear and dmp targets can be switched",
                i + 1,
                live.len(),
                start,
                len,
                kind
            ));
        }
    }
    let changed = live.iter().filter(|t| t.2 == from).count();
    if changed == 0 {
        return Plan::Nothing {
            targets: live.len(),
        };
    }
    let table = live
        .iter()
        .map(|(s, l, kind, params)| {
            let kind = if kind == from { to } else { kind.as_str() };
            (*s, *l, kind.to_string(), params.clone())
        })
        .collect();
    Plan::Load {
        table,
        changed,
        kept: live.len() - changed,
    }
}

/// A table as `dmsetup table` prints it (one line per target).
#[cfg(test)]
pub fn table_text(table: &[Target]) -> String {
    table
        .iter()
        .map(|(s, l, k, p)| format!("{s} {l} {k} {p}\n"))
        .collect()
}

/// The configuration file: one volume per line (VG/LV, a path, a dm name or
/// `uuid:...`), `#` starts a comment, blank lines ignored.
pub fn parse_config(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.split_whitespace().count() != 1 {
            return Err(format!(
                "line {}: '{line}': one volume per line (VG/LV, /dev/..., a dm name or uuid:...)",
                n + 1
            ));
        }
        parse_spec(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        out.push(line.to_string());
    }
    Ok(out)
}

/// Parses a timeout in seconds (`5`, `0.5`): positive and at most an hour.
pub fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t > 0.0 && t <= 3600.0 => Ok(t),
        _ => Err(format!(
            "invalid timeout '{s}': seconds, more than 0 and at most 3600"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64, l: u64, k: &str, p: &str) -> Target {
        (s, l, k.to_string(), p.to_string())
    }

    /// An LV of two segments on two PVs, as LVM loads it.
    fn lv() -> Vec<Target> {
        vec![
            t(0, 8192, "linear", "7:0 2048"),
            t(8192, 4096, "linear", "7:1 2048"),
        ]
    }

    #[test]
    fn attach_switches_every_linear_and_keeps_the_parameters() {
        let Plan::Load {
            table,
            changed,
            kept,
        } = attach_plan(&lv())
        else {
            panic!("not a load")
        };
        assert_eq!((changed, kept), (2, 0));
        assert_eq!(
            table_text(&table),
            "0 8192 dmp 7:0 2048\n8192 4096 dmp 7:1 2048\n"
        );
    }

    #[test]
    fn detach_gives_back_the_linear_table_byte_for_byte() {
        let Plan::Load { table, .. } = attach_plan(&lv()) else {
            panic!()
        };
        let Plan::Load { table: back, .. } = detach_plan(&table) else {
            panic!()
        };
        assert_eq!(back, lv());
        assert_eq!(table_text(&back), table_text(&lv()));
    }

    #[test]
    fn attached_is_nothing_to_do_and_so_is_detached() {
        let Plan::Load { table, .. } = attach_plan(&lv()) else {
            panic!()
        };
        assert_eq!(attach_plan(&table), Plan::Nothing { targets: 2 });
        assert_eq!(detach_plan(&lv()), Plan::Nothing { targets: 2 });
    }

    #[test]
    fn a_mixed_table_is_completed() {
        let mixed = vec![t(0, 8, "dmp", "7:0 0"), t(8, 8, "linear", "7:1 0")];
        assert_eq!(
            attach_plan(&mixed),
            Plan::Load {
                table: vec![t(0, 8, "dmp", "7:0 0"), t(8, 8, "dmp", "7:1 0")],
                changed: 1,
                kept: 1
            }
        );
        assert_eq!(
            detach_plan(&mixed),
            Plan::Load {
                table: vec![t(0, 8, "linear", "7:0 0"), t(8, 8, "linear", "7:1 0")],
                changed: 1,
                kept: 1
            }
        );
    }

    #[test]
    fn other_targets_are_refused_by_name() {
        let striped = vec![t(0, 16, "striped", "2 8 7:0 0 7:1 0")];
        assert_eq!(
            attach_plan(&striped),
            Plan::Refuse(
                "target 1 of 1 (sectors 0+16) is striped; only linear and dmp targets can be switched"
                    .into()
            )
        );
        let with_zero = vec![t(0, 8, "linear", "7:0 0"), t(8, 8, "zero", "")];
        match attach_plan(&with_zero) {
            Plan::Refuse(m) => {
                assert!(m.starts_with("target 2 of 2 (sectors 8+8) is zero;"), "{m}")
            }
            p => panic!("{p:?}"),
        }
        match detach_plan(&[t(0, 8, "thin-pool", "x")]) {
            Plan::Refuse(m) => assert!(m.contains("is thin-pool;"), "{m}"),
            p => panic!("{p:?}"),
        }
        assert_eq!(
            attach_plan(&[]),
            Plan::Refuse("it has no live table".into())
        );
    }

    #[test]
    fn config_file() {
        let text = "# volumes attached at boot\n\nvg0/lv0\n  /dev/mapper/data   # a comment\nuuid:LVM-xyz\n";
        assert_eq!(
            parse_config(text),
            Ok(vec![
                "vg0/lv0".to_string(),
                "/dev/mapper/data".to_string(),
                "uuid:LVM-xyz".to_string()
            ])
        );
        assert_eq!(parse_config("# nothing\n"), Ok(vec![]));
        assert_eq!(
            parse_config("vg0/lv0 vg0/lv1\n"),
            Err("line 1: 'vg0/lv0 vg0/lv1': one volume per line (VG/LV, /dev/..., a dm name or uuid:...)".into())
        );
        assert!(parse_config("ok\na/b/c\n")
            .unwrap_err()
            .starts_with("line 2: "));
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("5"), Ok(5.0));
        assert_eq!(parse_timeout("0.5"), Ok(0.5));
        for bad in ["0", "-1", "x", "inf", "NaN", "3601", ""] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}

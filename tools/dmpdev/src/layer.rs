// SPDX-License-Identifier: GPL-2.0
//! dmp as a layer (no kernel): which devices get dmp in place, which as a
//! layer, which on their linear sub-volumes and which not at all; how a
//! lower device is named and recognised; what a device's state says about
//! an attach or detach that was cut short.
//!
//! A layered device keeps its name, major:minor and holders; its table
//! moves to a hidden *lower* device and the device itself maps
//! `0 <size> dmp <lower> 0`, the way LVM inserts its `-real` devices
//! (lvm2 libdm/libdm-deptree.c). The lower device's dm UUID,
//! `DMP-LOWER-<major>:<minor>-<UUID of the top device>` (cut at dm's 128
//! bytes, a prefix no other tool uses), names the top device, so that
//! dmpctl finds it from the top (whose table names its major:minor) and the
//! top from it. It is marked for deferred removal (DM_DEFERRED_REMOVE): the
//! kernel removes it the moment the top device stops using it, whoever
//! made the top stop (dmpctl's detach, LVM's or cryptsetup's own reload,
//! a removal of the top), so that a reload of the device's owner never
//! leaves a second live copy of its targets behind.
//!
//! An LVM volume whose targets hold state of their own (raid, mirror,
//! cache, thin, snapshots) never gets a layer: LVM reloads those tables
//! itself and reads `lvs`' figures and dmeventd's events from them, so dmp
//! goes in place on the linear sub-volumes that carry the volume's data
//! (RAID and mirror legs, a cache's origin, a snapshot origin's `-real`),
//! or the attach is refused with the reason (`lvm_way`).
//!
//! The lower device's name is the top's with `.dmp-lower` appended.

/// One target of a table: (start sector, length, type, parameters), as the
/// `devicemapper` crate reads and loads them.
pub type Target = (u64, u64, String, String);

/// A block device number.
pub type DevNo = (u32, u32);

pub const LINEAR: &str = "linear";
pub const DMP: &str = "dmp";

/// Targets that set DM_TARGET_IMMUTABLE (drivers/md: dm-thin.c `pool_target`,
/// dm-mpath.c `multipath_target`, dm-verity-target.c `verity_target`, 6.12 to
/// 7.3): table_load() refuses to replace them by another type ("can't
/// replace immutable target type"), in place or by a layer.
pub const IMMUTABLE: [&str; 3] = ["thin-pool", "multipath", "verity"];

/// The UUID prefix of every lower device dmpctl makes.
/// (under an LVM volume: see lower_uuid()).
pub const LOWER_UUID_PREFIX: &str = "DMP-LOWER-";
/// What dm allows: DM_UUID_LEN and DM_NAME_LEN, less the NUL.
pub const DM_UUID_MAX: usize = 128;
pub const DM_NAME_MAX: usize = 127;
/// The suffix of a lower device's name.
pub const LOWER_NAME_SUFFIX: &str = ".dmp-lower";

/// The name of the lower device of `top` (`vg0-thin1.dmp-lower`), or, when
/// that would be too long, one made of the top's number.
pub fn lower_name(top_name: &str, top: DevNo) -> String {
    let n = format!("{top_name}{LOWER_NAME_SUFFIX}");
    if n.len() <= DM_NAME_MAX {
        n
    } else {
        format!("dmp-lower-{}-{}", top.0, top.1)
    }
}

/// The suffix of the lower device of an LVM volume as dmpctl 1.1.0 named
/// it (a layer of the LV, `LVM-<VG id><LV id>-dmp`): recognised, so that
/// one left by that version is found and removed, never made any more.
pub const LVM_LAYER_SUFFIX: &str = "-dmp";

/// Whether `uuid` is the UUID of an LVM LV's top device: `LVM-` and the VG
/// and LV ids, 32 characters each, no layer suffix.
pub fn is_lvm_lv_uuid(uuid: &str) -> bool {
    uuid.len() == 68
        && uuid.starts_with("LVM-")
        && uuid[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `uuid` is that of a device LVM made (an LV, a sub-volume or one
/// of LVM's layers: `-real`, `-tpool`, `-cow`, ...).
pub fn is_lvm_uuid(uuid: &str) -> bool {
    uuid.len() >= 68 && uuid.starts_with("LVM-")
}

/// The VG id part of an LVM UUID (`LVM-` and 32 characters): the devices of
/// one VG share it.
pub fn lvm_vg_id(uuid: &str) -> Option<&str> {
    is_lvm_uuid(uuid).then(|| &uuid[..36])
}

/// The VG name in an LVM device's dm name (`vg--a-lv_rimage_0` is VG
/// `vg-a`): LVM doubles each `-` of the VG and LV names and joins them
/// with a single one (lvm2 libdm `dm_build_dm_name`).
pub fn lvm_vg_name(dm_name: &str) -> Option<String> {
    let b = dm_name.as_bytes();
    let mut vg = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            if b.get(i + 1) == Some(&b'-') {
                vg.push('-');
                i += 2;
                continue;
            }
            return (!vg.is_empty()).then_some(vg);
        }
        vg.push(b[i] as char);
        i += 1;
    }
    None
}

/// The dm UUID of the lower device of the top device `top` (UUID
/// `top_uuid`, if it has one).
pub fn lower_uuid(top: DevNo, top_uuid: Option<&str>) -> String {
    let mut u = format!(
        "{LOWER_UUID_PREFIX}{}:{}-{}",
        top.0,
        top.1,
        top_uuid.unwrap_or("")
    );
    while u.len() > DM_UUID_MAX {
        u.pop();
    }
    u
}

/// What a lower device's UUID says about its top device.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct LowerOf {
    /// The top's number (not recorded by dmpctl 1.1.0 under an LVM volume:
    /// its UUID is unique).
    pub top: Option<DevNo>,
    /// The top's UUID, possibly cut short.
    pub top_uuid: String,
}

impl LowerOf {
    /// Whether `top` (with UUID `uuid`) is the device this lower device was
    /// made for: the same UUID (as far as it was kept) and number.
    pub fn is_of(&self, top: DevNo, uuid: Option<&str>) -> bool {
        match self.top {
            None => uuid == Some(self.top_uuid.as_str()),
            Some(t) => t == top && lower_uuid(top, uuid) == lower_uuid(t, Some(&self.top_uuid)),
        }
    }
}

/// Reads a lower device's UUID; None for any other device.
pub fn parse_lower_uuid(uuid: &str) -> Option<LowerOf> {
    if let Some(top) = uuid.strip_suffix(LVM_LAYER_SUFFIX) {
        return is_lvm_lv_uuid(top).then(|| LowerOf {
            top: None,
            top_uuid: top.to_string(),
        });
    }
    let rest = uuid.strip_prefix(LOWER_UUID_PREFIX)?;
    let (num, top_uuid) = rest.split_once('-')?;
    let (ma, mi) = num.split_once(':')?;
    Some(LowerOf {
        top: Some((ma.parse().ok()?, mi.parse().ok()?)),
        top_uuid: top_uuid.to_string(),
    })
}

/// How dmp goes onto a device.
#[derive(Debug, PartialEq, Eq)]
pub enum Method {
    /// Only linear (and dmp) targets: each linear becomes dmp in place.
    InPlace,
    /// Anything else bio-based that keeps no state of its own in an LVM
    /// volume, and any bio-based device that is not LVM's: the table moves
    /// to a lower device.
    Layered,
    /// An LVM volume whose targets LVM runs itself (`kind`: raid, mirror,
    /// cache, writecache, snapshot-origin): dmp in place on the dm devices
    /// that carry its data (`legs`, in table order), each of which must be
    /// a linear sub-volume of the same VG.
    SubVolumes { kind: String, legs: Vec<DevNo> },
}

/// Types whose tables hold no state of their own: two instances over the
/// same devices for a moment (an owner's reload of a layered device, until
/// the kernel removes the lower one) map the same sectors the same way.
pub const STATELESS: [&str; 5] = [LINEAR, DMP, "striped", "zero", "error"];

/// Types that queue I/O inside the target (while a leg is missing, a pool
/// is out of space, a path is down, an exception is being made): lvm2
/// suspends them with DM_NOFLUSH_FLAG, so that what they hold is requeued
/// to the next table instead of failed or waited for (lvm2
/// lib/activate/activate.c, `_lv_suspend`: mirrors, raid, thin, snapshots;
/// dm-mpath for multipath).
pub const QUEUEING: [&str; 8] = [
    "mirror",
    "raid",
    "thin",
    "thin-pool",
    "snapshot",
    "snapshot-origin",
    "snapshot-merge",
    "multipath",
];

/// Whether a device with this table is to be suspended with noflush.
pub fn wants_noflush(table: &[Target]) -> bool {
    table.iter().any(|t| QUEUEING.contains(&t.2.as_str()))
}

fn devno(s: &str) -> Option<DevNo> {
    let (ma, mi) = s.split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// The devices that carry the data of one target of a type LVM runs itself,
/// read from its parameters as the kernel prints them (drivers/md:
/// dm-raid.c `raid_status`, dm-raid1.c `mirror_status`, dm-cache-target.c
/// `cache_status`, dm-writecache.c, dm-snap.c `origin_status`). None for
/// any other type or a line that does not parse.
pub fn data_legs(kind: &str, params: &str) -> Option<Vec<DevNo>> {
    let w: Vec<&str> = params.split_whitespace().collect();
    let num = |i: usize| -> Option<usize> { w.get(i)?.parse().ok() };
    match kind {
        // raid <type> <#params> <params>... <#devs> (<meta> <data>)...
        "raid" => {
            let np = num(1)?;
            let nd = num(2 + np)?;
            let first = 3 + np;
            (0..nd)
                .map(|i| devno(w.get(first + 2 * i + 1)?))
                .collect::<Option<Vec<_>>>()
        }
        // mirror <log type> <#log args> <log args>... <#mirrors> (<dev> <offset>)...
        "mirror" => {
            let nl = num(1)?;
            let nm = num(2 + nl)?;
            let first = 3 + nl;
            (0..nm)
                .map(|i| devno(w.get(first + 2 * i)?))
                .collect::<Option<Vec<_>>>()
        }
        // cache <metadata> <cache> <origin> ...
        "cache" => Some(vec![devno(w.get(2)?)?]),
        // writecache <p|s> <origin> <cache> ...
        "writecache" => Some(vec![devno(w.get(1)?)?]),
        // snapshot-origin <origin>
        "snapshot-origin" => Some(vec![devno(w.first()?)?]),
        _ => None,
    }
}

/// What a device's live table allows, or why nothing can be done (the
/// kernel's reason, or LVM's). `request_based`: the device is request-based
/// (it has a blk-mq queue, `/sys/block/dm-N/mq`); `uuid`: its dm UUID.
pub fn method(table: &[Target], request_based: bool, uuid: Option<&str>) -> Result<Method, String> {
    if table.is_empty() {
        return Err("it has no live table".to_string());
    }
    if request_based {
        return Err(
            "it is request-based (blk-mq, as dm-multipath makes it) and device-mapper never changes a \
             device between request-based and bio-based"
                .to_string(),
        );
    }
    for (i, (start, len, kind, _)) in table.iter().enumerate() {
        if IMMUTABLE.contains(&kind.as_str()) {
            return Err(format!(
                "target {} of {} (sectors {start}+{len}) is {kind}, a type device-mapper never lets another \
                 replace (DM_TARGET_IMMUTABLE)",
                i + 1,
                table.len()
            ));
        }
    }
    if table.iter().all(|t| t.2 == LINEAR || t.2 == DMP) {
        return Ok(Method::InPlace);
    }
    let Some(uuid) = uuid.filter(|u| is_lvm_uuid(u)) else {
        return Ok(Method::Layered);
    };
    let kinds = {
        let mut v: Vec<&str> = Vec::new();
        for t in table {
            if !v.contains(&t.2.as_str()) {
                v.push(&t.2);
            }
        }
        v.join("+")
    };
    if !is_lvm_lv_uuid(uuid) {
        return Err(format!(
            "it is one of LVM's internal layers (dm UUID {uuid}), whose {kinds} table LVM alone \
             changes; name the volume"
        ));
    }
    if table.iter().all(|t| STATELESS.contains(&t.2.as_str())) {
        return Ok(Method::Layered);
    }
    if table.iter().any(|t| t.2 == "thin") {
        return Err(
            "it is an LVM thin volume: LVM reloads its thin table itself (lvextend, snapshots, \
             lvchange --refresh) and reads lvs' Data% from it, so dmp can go neither above it (the \
             next reload would leave a second live copy of the volume) nor into it"
                .to_string(),
        );
    }
    let mut legs = Vec::new();
    for t in table {
        match data_legs(&t.2, &t.3) {
            Some(l) => legs.extend(l),
            None => {
                return Err(format!(
                    "it is an LVM volume whose {kinds} table LVM runs itself (its status feeds lvs and \
                     dmeventd, LVM reloads it), and none of its data is on linear sub-volumes dmp could \
                     go into"
                ))
            }
        }
    }
    let kind = table[0].2.clone();
    if table.iter().any(|t| t.2 != kind) {
        return Err(format!("it is an LVM volume of mixed types ({kinds})"));
    }
    Ok(Method::SubVolumes { kind, legs })
}

/// The size of a table in sectors (the end of its last target).
pub fn table_size(table: &[Target]) -> u64 {
    table.iter().map(|t| t.0 + t.1).max().unwrap_or(0)
}

/// The table of a layered device: one dmp target over all of the lower one.
pub fn top_table(size: u64, lower: DevNo) -> Vec<Target> {
    vec![(
        0,
        size,
        DMP.to_string(),
        format!("{}:{} 0", lower.0, lower.1),
    )]
}

/// The device a table maps whole through one dmp target at offset 0 (the
/// shape of a layered device), if it has that shape.
pub fn dmp_over(table: &[Target]) -> Option<DevNo> {
    let [(0, _, kind, params)] = table else {
        return None;
    };
    if kind != DMP {
        return None;
    }
    let (dev, off) = params.split_once(' ')?;
    if off != "0" {
        return None;
    }
    let (ma, mi) = dev.split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// The key references of a table's crypt targets: dm-crypt prints the key
/// itself in hex, or, when cryptsetup passed it through the kernel keyring,
/// only `:<size>:<type>:<description>`, whose key must still be in a keyring
/// when the table is loaded again.
pub fn crypt_key_refs(table: &[Target]) -> Vec<String> {
    table
        .iter()
        .filter(|t| t.2 == "crypt")
        .filter_map(|t| t.3.split_whitespace().nth(1))
        .filter(|k| k.starts_with(':'))
        .map(str::to_string)
        .collect()
}

/// The steps of a layered attach, in order (DMPCTL_STOP_AFTER names them).
pub const ATTACH_STEPS: [&str; 5] = [
    "create-lower",
    "load-lower",
    "load-top",
    "suspend-top",
    "resume-lower",
];
/// The steps of a layered detach, in order.
pub const DETACH_STEPS: [&str; 3] = ["load-top", "suspend-top", "suspend-lower"];

/// What the kernel says of a top device.
#[derive(Debug, Clone, Default)]
pub struct TopState {
    pub dev: DevNo,
    pub uuid: Option<String>,
    pub live: Vec<Target>,
    /// The inactive table, if one is loaded.
    pub inactive: Option<Vec<Target>>,
    pub suspended: bool,
}

/// What the kernel says of a lower device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerState {
    pub name: String,
    pub dev: DevNo,
    pub of: LowerOf,
    /// It has a live table (it was resumed once).
    pub live: bool,
    pub suspended: bool,
    pub open_count: i32,
    /// Its live table (empty before its first resume).
    pub table: Vec<Target>,
}

/// Where a device stands with respect to a dmp layer.
#[derive(Debug, PartialEq, Eq)]
pub enum Situation {
    /// Not layered, nothing of dmpctl's around it.
    Plain,
    /// Layered and settled (live table dmp over `lower`, resumed, no
    /// inactive table).
    Layered { lower: LowerState },
    /// Layered, with a detach cut short: an inactive table loaded, or the
    /// device (and maybe its lower one) suspended.
    DetachCut { lower: LowerState },
    /// Its own table still live, an attach cut short after the device's
    /// inactive table was loaded with dmp over `lower` (suspended or not).
    AttachCut { lower: LowerState },
    /// dmp live over `lower`, which never went live: an attach cut after
    /// the device's suspend, then the device resumed by someone else.
    /// device-mapper fails its I/O (no table below) until the lower device
    /// is resumed; the copy of the targets the device held is superseded.
    LowerNotLive { lower: LowerState },
    /// Layered, and someone else is changing the device: a table of theirs
    /// loaded in its inactive slot, or it is suspended without one of
    /// dmpctl's steps to explain it. Never dmpctl's to undo.
    Busy { lower: LowerState },
    /// Its own table live, lower devices made for it that nothing uses (an
    /// attach cut short before the device's table was loaded, or left by
    /// a change that put the device's own table back).
    Leftovers(Vec<LowerState>),
}

/// Reads a top device's state and the lower devices made for it.
pub fn situation(top: &TopState, lowers: &[LowerState]) -> Situation {
    let mine = |dev: Option<DevNo>| dev.and_then(|d| lowers.iter().find(|l| l.dev == d));
    if let Some(l) = mine(dmp_over(&top.live)) {
        let lower = l.clone();
        if !l.live {
            return Situation::LowerNotLive { lower };
        }
        // What dmpctl's detach loads: the lower device's own table.
        match &top.inactive {
            Some(t) if *t != l.table => return Situation::Busy { lower },
            Some(_) => return Situation::DetachCut { lower },
            None if l.suspended => return Situation::DetachCut { lower },
            None if top.suspended => return Situation::Busy { lower },
            None => return Situation::Layered { lower },
        }
    }
    if let Some(l) = mine(top.inactive.as_deref().and_then(dmp_over)) {
        return Situation::AttachCut { lower: l.clone() };
    }
    if lowers.is_empty() {
        Situation::Plain
    } else {
        Situation::Leftovers(lowers.to_vec())
    }
}

/// A lower device nothing uses (not even a top device's inactive table):
/// left by a cut attach or by a change that put the top's own table back.
pub fn is_orphan(l: &LowerState) -> bool {
    l.open_count == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64, l: u64, k: &str, p: &str) -> Target {
        (s, l, k.to_string(), p.to_string())
    }

    const LV: &str = "LVM-6J8mRuZ0dHXnUN3kBdM8qOVEuuzw1IVcVkP8TC5C1ZtFl1J3OZ3kRCHr8g3e1d1Y";

    #[test]
    fn lower_names_and_uuids_find_each_other() {
        assert_eq!(lower_name("vg0-thin1", (253, 4)), "vg0-thin1.dmp-lower");
        assert_eq!(lower_name(&"x".repeat(120), (253, 4)), "dmp-lower-253-4");
        // Under an LVM volume as under any other: DMP-LOWER-, the number
        // and the UUID (never an LVM layer UUID, which LVM would walk).
        let u = lower_uuid((253, 4), Some(LV));
        assert_eq!(u, format!("DMP-LOWER-253:4-{LV}"));
        let of = parse_lower_uuid(&u).unwrap();
        assert_eq!(of.top, Some((253, 4)));
        assert!(of.is_of((253, 4), Some(LV)));
        assert!(!of.is_of((253, 9), Some(LV)));
        // dmpctl 1.1.0's layer of an LV is still recognised (and removed).
        let old = parse_lower_uuid(&format!("{LV}-dmp")).unwrap();
        assert_eq!(old.top, None);
        assert!(old.is_of((253, 9), Some(LV)), "the LV's UUID is unique");
        assert!(
            !old.is_of((253, 4), Some(&LV.replace('Y', "Z"))),
            "another LV"
        );
        assert!(!old.is_of((253, 4), None));
        // LVM's own layers are not ours.
        for l in ["-real", "-cow", "-tpool", "-pool", "-cvol", "-dmp-x"] {
            assert_eq!(parse_lower_uuid(&format!("{LV}{l}")), None, "{l}");
        }
        let crypt = "CRYPT-LUKS2-db9638911d844d4188f17505d7b25514-cr1";
        let u = lower_uuid((253, 4), Some(crypt));
        assert_eq!(u, format!("DMP-LOWER-253:4-{crypt}"));
        let of = parse_lower_uuid(&u).unwrap();
        assert!(of.is_of((253, 4), Some(crypt)));
        assert!(!of.is_of((253, 5), Some(crypt)), "another number");
        assert!(
            !of.is_of((253, 4), Some("CRYPT-other")),
            "another device on that number"
        );
        assert!(!of.is_of((253, 4), None));
        // A top without a UUID (a dmsetup device).
        let u = lower_uuid((253, 9), None);
        assert_eq!(u, "DMP-LOWER-253:9-");
        assert!(parse_lower_uuid(&u).unwrap().is_of((253, 9), None));
        // A long UUID (cryptsetup's CRYPT-LUKS2-<uuid>-<name>) is cut at 128
        // bytes, and still recognised.
        let long = format!("CRYPT-LUKS2-{}-{}", "a".repeat(32), "n".repeat(90));
        let u = lower_uuid((254, 12), Some(&long));
        assert_eq!(u.len(), 128);
        assert!(parse_lower_uuid(&u).unwrap().is_of((254, 12), Some(&long)));
        for other in [
            LV,
            "CRYPT-LUKS2-abc-x",
            "",
            "DMP-LOWER-",
            "DMP-LOWER-x:1-",
            "DMP-LOWER-1:2",
            "LVM-abc-dmp",
        ] {
            assert_eq!(parse_lower_uuid(other), None, "{other}");
        }
    }

    #[test]
    fn lvm_names_and_ids() {
        assert_eq!(lvm_vg_name("vg1-r1_rimage_0").as_deref(), Some("vg1"));
        assert_eq!(lvm_vg_name("vg--a-lv--b").as_deref(), Some("vg-a"));
        assert_eq!(lvm_vg_name("vg1-pool-tpool").as_deref(), Some("vg1"));
        assert_eq!(lvm_vg_name("novg"), None);
        assert_eq!(lvm_vg_name("-x"), None);
        assert_eq!(lvm_vg_id(LV), Some(&LV[..36]));
        assert_eq!(lvm_vg_id(&format!("{LV}-real")), Some(&LV[..36]));
        assert_eq!(lvm_vg_id("CRYPT-LUKS2-x"), None);
        assert!(is_lvm_uuid(&format!("{LV}-tpool")));
        assert!(!is_lvm_lv_uuid(&format!("{LV}-tpool")));
    }

    #[test]
    fn which_devices_get_dmp_how() {
        let lin = [t(0, 8, "linear", "7:0 0"), t(8, 8, "dmp", "7:1 0")];
        assert_eq!(method(&lin, false, None), Ok(Method::InPlace));
        assert_eq!(method(&lin, false, Some(LV)), Ok(Method::InPlace));
        // Not LVM's: every bio-based type as a layer.
        for kind in [
            "thin",
            "crypt",
            "raid",
            "cache",
            "striped",
            "zero",
            "error",
            "snapshot-origin",
        ] {
            assert_eq!(
                method(&[t(0, 8, kind, "x")], false, Some("CRYPT-LUKS2-x")),
                Ok(Method::Layered),
                "{kind}"
            );
        }
        assert_eq!(
            method(
                &[t(0, 8, "linear", "7:0 0"), t(8, 8, "zero", "")],
                false,
                None
            ),
            Ok(Method::Layered)
        );
        // LVM's, stateless: a layer.
        assert_eq!(
            method(
                &[t(0, 8, "striped", "2 128 7:0 2048 7:1 2048")],
                false,
                Some(LV)
            ),
            Ok(Method::Layered)
        );
        // LVM's RAID1 as lvm2 loads it (dm-raid's status line): the data
        // legs, in place.
        let raid = t(
            0,
            32768,
            "raid",
            "raid1 3 0 region_size 1024 2 254:1 254:2 254:3 254:4",
        );
        assert_eq!(
            method(std::slice::from_ref(&raid), false, Some(LV)),
            Ok(Method::SubVolumes {
                kind: "raid".into(),
                legs: vec![(254, 2), (254, 4)]
            })
        );
        // A legacy mirror with a disk log, a cache, a writecache, an origin.
        let mirror = t(
            0,
            8,
            "mirror",
            "disk 2 254:5 1024 2 254:6 0 254:7 0 1 handle_errors",
        );
        assert_eq!(
            data_legs(&mirror.2, &mirror.3),
            Some(vec![(254, 6), (254, 7)])
        );
        assert_eq!(
            data_legs("mirror", "core 1 1024 2 254:6 0 254:7 0"),
            Some(vec![(254, 6), (254, 7)])
        );
        assert_eq!(
            data_legs(
                "cache",
                "254:8 254:9 254:10 128 2 metadata2 writeback smq 0"
            ),
            Some(vec![(254, 10)])
        );
        assert_eq!(
            data_legs("writecache", "s 254:11 254:12 4096 0"),
            Some(vec![(254, 11)])
        );
        assert_eq!(
            data_legs("snapshot-origin", "254:13"),
            Some(vec![(254, 13)])
        );
        assert_eq!(data_legs("raid", "raid1 3 0"), None, "cut short");
        assert_eq!(data_legs("thin", "254:3 1"), None);
        // LVM's thin volume, a snapshot, a VDO: refused with LVM's reason.
        let e = method(&[t(0, 8, "thin", "254:3 1")], false, Some(LV)).unwrap_err();
        assert!(
            e.starts_with("it is an LVM thin volume: LVM reloads its thin table itself"),
            "{e}"
        );
        let e = method(&[t(0, 8, "snapshot", "254:1 254:2 P 8")], false, Some(LV)).unwrap_err();
        assert!(
            e.starts_with("it is an LVM volume whose snapshot table LVM runs itself"),
            "{e}"
        );
        // LVM's internal layers: in place if linear, never a layer.
        let real = format!("{LV}-real");
        assert_eq!(method(&lin, false, Some(&real)), Ok(Method::InPlace));
        let e = method(&[t(0, 8, "striped", "2 8 7:0 0 7:1 0")], false, Some(&real)).unwrap_err();
        assert!(e.starts_with("it is one of LVM's internal layers"), "{e}");
        for kind in IMMUTABLE {
            let e = method(&[t(0, 16, kind, "x")], false, None).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "target 1 of 1 (sectors 0+16) is {kind}, a type device-mapper never lets another replace \
                     (DM_TARGET_IMMUTABLE)"
                )
            );
        }
        // dm-multipath's default queue mode is request-based; said first.
        assert!(method(
            &[t(0, 8, "multipath", "0 0 1 1 round-robin 0 1 1 7:0 1000")],
            true,
            None
        )
        .unwrap_err()
        .starts_with("it is request-based"));
        assert_eq!(
            method(&[], false, None),
            Err("it has no live table".to_string())
        );
        assert!(wants_noflush(&[raid]));
        assert!(wants_noflush(&[t(0, 8, "thin", "254:3 1")]));
        assert!(!wants_noflush(&lin));
        assert!(!wants_noflush(&[t(0, 8, "crypt", "x")]));
    }

    #[test]
    fn the_layered_table() {
        let top = top_table(65536, (253, 7));
        assert_eq!(top, vec![t(0, 65536, "dmp", "253:7 0")]);
        assert_eq!(dmp_over(&top), Some((253, 7)));
        assert_eq!(dmp_over(&[t(0, 8, "dmp", "253:7 8")]), None, "an offset");
        assert_eq!(dmp_over(&[t(8, 8, "dmp", "253:7 0")]), None, "not from 0");
        assert_eq!(
            dmp_over(&[t(0, 8, "dmp", "7:0 0"), t(8, 8, "dmp", "7:1 0")]),
            None
        );
        assert_eq!(dmp_over(&[t(0, 8, "linear", "253:7 0")]), None);
        assert_eq!(table_size(&[t(0, 8, "a", ""), t(8, 24, "b", "")]), 32);
        assert_eq!(table_size(&[]), 0);
    }

    #[test]
    fn crypt_keys_in_the_keyring() {
        let hex = t(0, 8, "crypt", "aes-xts-plain64 00112233 0 7:0 32768");
        let kr = t(
            0,
            8,
            "crypt",
            "aes-xts-plain64 :64:logon:cryptsetup:4c5d-d0 0 7:0 32768 1 allow_discards",
        );
        assert!(crypt_key_refs(&[hex]).is_empty());
        assert_eq!(
            crypt_key_refs(&[kr]),
            vec![":64:logon:cryptsetup:4c5d-d0".to_string()]
        );
        assert!(crypt_key_refs(&[t(0, 8, "linear", ":x 0")]).is_empty());
    }

    fn lower(live: bool, suspended: bool, open: i32) -> LowerState {
        LowerState {
            name: "vg0-t.dmp-lower".into(),
            dev: (253, 7),
            of: parse_lower_uuid(&lower_uuid((253, 4), Some(LV))).unwrap(),
            live,
            suspended,
            open_count: open,
            table: if live { thin() } else { vec![] },
        }
    }

    fn thin() -> Vec<Target> {
        vec![t(0, 65536, "thin", "253:3 1")]
    }

    fn top(live: Vec<Target>, inactive: Option<Vec<Target>>, suspended: bool) -> TopState {
        TopState {
            dev: (253, 4),
            uuid: Some(LV.into()),
            live,
            inactive,
            suspended,
        }
    }

    /// Each step of an attach and a detach, as the kernel shows it after
    /// the step: what a new dmpctl run reads from it.
    #[test]
    fn every_cut_step_is_recognised() {
        let thin = vec![t(0, 65536, "thin", "253:3 1")];
        let dmp = top_table(65536, (253, 7));
        // attach: create-lower, load-lower (not open: leftovers)
        let l = lower(false, false, 0);
        assert_eq!(
            situation(&top(thin.clone(), None, false), std::slice::from_ref(&l)),
            Situation::Leftovers(vec![l.clone()])
        );
        assert!(is_orphan(&l));
        // load-top, suspend-top: the top's inactive table holds the lower
        let l = lower(false, false, 1);
        for susp in [false, true] {
            assert_eq!(
                situation(
                    &top(thin.clone(), Some(dmp.clone()), susp),
                    std::slice::from_ref(&l)
                ),
                Situation::AttachCut { lower: l.clone() }
            );
        }
        // resume-lower
        let l = lower(true, false, 1);
        assert_eq!(
            situation(
                &top(thin.clone(), Some(dmp.clone()), true),
                std::slice::from_ref(&l)
            ),
            Situation::AttachCut { lower: l.clone() }
        );
        // done
        assert_eq!(
            situation(&top(dmp.clone(), None, false), std::slice::from_ref(&l)),
            Situation::Layered { lower: l.clone() }
        );
        // detach: load-top, suspend-top, suspend-lower
        assert_eq!(
            situation(
                &top(dmp.clone(), Some(thin.clone()), false),
                std::slice::from_ref(&l)
            ),
            Situation::DetachCut { lower: l.clone() }
        );
        assert_eq!(
            situation(
                &top(dmp.clone(), Some(thin.clone()), true),
                std::slice::from_ref(&l)
            ),
            Situation::DetachCut { lower: l.clone() }
        );
        let ls = lower(true, true, 1);
        assert_eq!(
            situation(
                &top(dmp.clone(), Some(thin.clone()), true),
                std::slice::from_ref(&ls)
            ),
            Situation::DetachCut { lower: ls }
        );
        // Someone else's: a table of theirs in the inactive slot, or the
        // device suspended with no step of dmpctl's to explain it.
        let theirs = vec![t(0, 98304, "thin", "253:3 1")];
        for susp in [false, true] {
            assert_eq!(
                situation(
                    &top(dmp.clone(), Some(theirs.clone()), susp),
                    std::slice::from_ref(&l)
                ),
                Situation::Busy { lower: l.clone() }
            );
        }
        assert_eq!(
            situation(&top(dmp.clone(), None, true), std::slice::from_ref(&l)),
            Situation::Busy { lower: l.clone() }
        );
        // Cut after suspend-top, then `dmsetup resume` of the device: dmp
        // live over a lower device that never went live.
        let nl = lower(false, false, 1);
        assert_eq!(
            situation(&top(dmp.clone(), None, false), std::slice::from_ref(&nl)),
            Situation::LowerNotLive { lower: nl }
        );
        // nothing of ours
        assert_eq!(
            situation(&top(thin.clone(), None, false), &[]),
            Situation::Plain
        );
        // a dmp table over a device that is not a lower device of this top
        // is not layered (an in-place dmp device, or made by hand)
        assert_eq!(situation(&top(dmp, None, false), &[]), Situation::Plain);
    }
}

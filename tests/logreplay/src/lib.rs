// SPDX-License-Identifier: GPL-2.0
//! The dm-log-writes log format (Documentation/admin-guide/device-mapper/
//! log-writes.rst, drivers/md/dm-log-writes.c), read back.
//!
//! The log device holds, at byte 0, a super block (`magic`, `version`,
//! `nr_entries` as little-endian u64, `sectorsize` as u32). Entries follow
//! from the log's second block on, each a header block of `sectorsize` bytes
//! (`sector`, `nr_sectors`, `flags`, `data_len`, little-endian u64; a mark's
//! name is stored in the same block, right after those 32 bytes) followed by
//! `nr_sectors` blocks of the data written (none for a discard). `sector` and
//! `nr_sectors` count blocks of `sectorsize` bytes of the logged device.
//! Writes are logged in completion order once a flush made them durable;
//! a flush entry follows the writes it made durable.

pub const MAGIC: u64 = 0x006a_7366_7773_6872;
pub const VERSION: u64 = 1;
pub const FLUSH: u64 = 1 << 0;
pub const FUA: u64 = 1 << 1;
pub const DISCARD: u64 = 1 << 2;
pub const MARK: u64 = 1 << 3;
pub const METADATA: u64 = 1 << 4;

const SUPER_LEN: usize = 28;
const ENTRY_LEN: usize = 32;

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Super {
    pub nr_entries: u64,
    pub sectorsize: u32,
}

#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Entry {
    /// First block written (in sectorsize units of the logged device).
    pub sector: u64,
    pub nr_sectors: u64,
    pub flags: u64,
    /// The mark's name, for a mark.
    pub mark: Option<String>,
    /// Byte offset of the entry's data in the log (nr_sectors blocks).
    pub data_offset: u64,
}

impl Entry {
    pub fn is_replay_point(&self) -> bool {
        self.flags & (FLUSH | FUA | MARK) != 0
    }

    /// "flush", "fua", "flush+fua", "mark", "discard" or "write".
    pub fn kind(&self) -> &'static str {
        let f = self.flags;
        if f & MARK != 0 {
            "mark"
        } else if f & FLUSH != 0 && f & FUA != 0 {
            "flush+fua"
        } else if f & FLUSH != 0 {
            "flush"
        } else if f & FUA != 0 {
            "fua"
        } else if f & DISCARD != 0 {
            "discard"
        } else {
            "write"
        }
    }
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn parse_super(b: &[u8]) -> Result<Super, String> {
    if b.len() < SUPER_LEN {
        return Err(format!("short super block ({} bytes)", b.len()));
    }
    let magic = le64(b, 0);
    if magic != MAGIC {
        return Err(format!("bad magic {magic:#x} (not a dm-log-writes log)"));
    }
    let version = le64(b, 8);
    if version != VERSION {
        return Err(format!("log version {version}, only {VERSION} is known"));
    }
    let sectorsize = u32::from_le_bytes(b[24..28].try_into().unwrap());
    if !(512..=65536).contains(&sectorsize) || !sectorsize.is_power_of_two() {
        return Err(format!("bad sector size {sectorsize}"));
    }
    Ok(Super {
        nr_entries: le64(b, 16),
        sectorsize,
    })
}

/// Parses the header block of the entry that starts at byte `at`.
pub fn parse_entry(block: &[u8], at: u64) -> Result<Entry, String> {
    if block.len() < ENTRY_LEN {
        return Err(format!("short entry at byte {at}"));
    }
    let (sector, nr_sectors, flags, data_len) = (
        le64(block, 0),
        le64(block, 8),
        le64(block, 16),
        le64(block, 24),
    );
    let known = FLUSH | FUA | DISCARD | MARK | METADATA;
    if flags & !known != 0 {
        return Err(format!("entry at byte {at}: unknown flags {flags:#x}"));
    }
    let mark = if flags & MARK != 0 {
        let end = ENTRY_LEN
            .checked_add(data_len as usize)
            .filter(|&e| e <= block.len())
            .ok_or_else(|| format!("entry at byte {at}: mark of {data_len} bytes"))?;
        Some(String::from_utf8_lossy(&block[ENTRY_LEN..end]).into_owned())
    } else {
        None
    };
    Ok(Entry {
        sector,
        nr_sectors,
        flags,
        mark,
        data_offset: at + block.len() as u64,
    })
}

/// Bytes of log an entry takes: its header block, and its data unless it
/// is a discard.
pub fn entry_span(e: &Entry, sectorsize: u32) -> u64 {
    let data = if e.flags & DISCARD != 0 {
        0
    } else {
        e.nr_sectors
    };
    (1 + data) * sectorsize as u64
}

/// Every entry of a log, read through `read_at(offset, buf)`.
pub fn entries<F>(mut read_at: F) -> Result<(Super, Vec<Entry>), String>
where
    F: FnMut(u64, &mut [u8]) -> Result<(), String>,
{
    let mut b = vec![0u8; 512];
    read_at(0, &mut b)?;
    let sup = parse_super(&b)?;
    let ss = sup.sectorsize as u64;
    let mut block = vec![0u8; sup.sectorsize as usize];
    let mut at = ss;
    let mut out = Vec::with_capacity(sup.nr_entries as usize);
    for i in 0..sup.nr_entries {
        read_at(at, &mut block).map_err(|e| format!("entry {i} at byte {at}: {e}"))?;
        let e = parse_entry(&block, at).map_err(|m| format!("entry {i}: {m}"))?;
        at += entry_span(&e, sup.sectorsize);
        out.push(e);
    }
    Ok((sup, out))
}

/// Counts of a log's entries by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub entries: u64,
    pub writes: u64,
    pub flush: u64,
    pub fua: u64,
    pub discard: u64,
    pub marks: u64,
    pub points: u64,
    pub data_bytes: u64,
}

pub fn counts(sup: &Super, es: &[Entry]) -> Counts {
    let mut c = Counts {
        entries: es.len() as u64,
        ..Default::default()
    };
    for e in es {
        if e.flags & MARK != 0 {
            c.marks += 1;
        } else if e.flags & DISCARD != 0 {
            c.discard += 1;
        } else if e.nr_sectors > 0 {
            c.writes += 1;
            c.data_bytes += e.nr_sectors * sup.sectorsize as u64;
        }
        if e.flags & FLUSH != 0 {
            c.flush += 1;
        }
        if e.flags & FUA != 0 {
            c.fua += 1;
        }
        if e.is_replay_point() {
            c.points += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log as dm-log-writes writes it, built from (sector, flags, data or
    /// mark name) entries.
    fn build(ss: usize, es: &[(u64, u64, Vec<u8>)]) -> Vec<u8> {
        let mut log = vec![0u8; ss];
        log[0..8].copy_from_slice(&MAGIC.to_le_bytes());
        log[8..16].copy_from_slice(&VERSION.to_le_bytes());
        log[16..24].copy_from_slice(&(es.len() as u64).to_le_bytes());
        log[24..28].copy_from_slice(&(ss as u32).to_le_bytes());
        for (sector, flags, data) in es {
            let mut h = vec![0u8; ss];
            let mark = flags & MARK != 0;
            let nr = if mark || flags & DISCARD != 0 {
                if flags & DISCARD != 0 {
                    data.len() as u64
                } else {
                    0
                }
            } else {
                (data.len() / ss) as u64
            };
            h[0..8].copy_from_slice(&sector.to_le_bytes());
            h[8..16].copy_from_slice(&nr.to_le_bytes());
            h[16..24].copy_from_slice(&flags.to_le_bytes());
            if mark {
                h[24..32].copy_from_slice(&(data.len() as u64).to_le_bytes());
                h[32..32 + data.len()].copy_from_slice(data);
            }
            log.extend_from_slice(&h);
            if !mark && flags & DISCARD == 0 {
                log.extend_from_slice(data);
            }
        }
        log
    }

    fn read(log: &[u8]) -> Result<(Super, Vec<Entry>), String> {
        entries(|at, buf| {
            let at = at as usize;
            if at + buf.len() > log.len() {
                return Err("past the end".into());
            }
            buf.copy_from_slice(&log[at..at + buf.len()]);
            Ok(())
        })
    }

    #[test]
    fn reads_writes_flushes_discards_and_marks() {
        let log = build(
            512,
            &[
                (8, 0, vec![0xaa; 1024]),
                (0, FLUSH, vec![]),
                (100, DISCARD, vec![0; 4]), // 4 sectors discarded
                (16, FUA | METADATA, vec![0xbb; 512]),
                (0, MARK, b"m1".to_vec()),
                (0, FLUSH | FUA, vec![0xcc; 512]),
            ],
        );
        let (sup, es) = read(&log).unwrap();
        assert_eq!(
            sup,
            Super {
                nr_entries: 6,
                sectorsize: 512
            }
        );
        let kinds: Vec<&str> = es.iter().map(|e| e.kind()).collect();
        assert_eq!(
            kinds,
            ["write", "flush", "discard", "fua", "mark", "flush+fua"]
        );
        assert_eq!(
            (es[0].sector, es[0].nr_sectors, es[0].data_offset),
            (8, 2, 1024)
        );
        assert_eq!(es[2].nr_sectors, 4);
        // A discard has no data in the log: the next entry follows its header.
        assert_eq!(es[3].data_offset, es[2].data_offset + 512);
        assert_eq!(es[4].mark.as_deref(), Some("m1"));
        assert_eq!(&log[es[3].data_offset as usize..][..512], &[0xbb; 512][..]);
        assert_eq!(&log[es[5].data_offset as usize..][..512], &[0xcc; 512][..]);
        assert_eq!(
            counts(&sup, &es),
            Counts {
                entries: 6,
                writes: 3,
                flush: 2,
                fua: 2,
                discard: 1,
                marks: 1,
                points: 4,
                data_bytes: 2048
            }
        );
    }

    #[test]
    fn larger_sectors() {
        let log = build(4096, &[(3, FUA, vec![7; 8192]), (0, MARK, b"end".to_vec())]);
        let (sup, es) = read(&log).unwrap();
        assert_eq!(sup.sectorsize, 4096);
        assert_eq!(
            (es[0].sector, es[0].nr_sectors, es[0].data_offset),
            (3, 2, 8192)
        );
        assert_eq!(es[1].data_offset, 4096 * 5);
        assert_eq!(es[1].mark.as_deref(), Some("end"));
    }

    #[test]
    fn bad_logs_are_refused() {
        let good = build(512, &[(0, FLUSH, vec![])]);
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(read(&bad).unwrap_err().starts_with("bad magic"));
        let mut bad = good.clone();
        bad[8] = 2;
        assert_eq!(read(&bad).unwrap_err(), "log version 2, only 1 is known");
        let mut bad = good.clone();
        bad[24..28].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(read(&bad).unwrap_err(), "bad sector size 1000");
        let mut bad = good.clone();
        bad[512 + 16] = 0x40;
        assert_eq!(
            read(&bad).unwrap_err(),
            "entry 0: entry at byte 512: unknown flags 0x40"
        );
        // More entries announced than the log holds.
        let mut bad = good.clone();
        bad[16] = 2;
        assert!(read(&bad).unwrap_err().starts_with("entry 1 at byte 1024"));
        // A mark longer than its block.
        let mut bad = build(512, &[(0, MARK, b"x".to_vec())]);
        bad[512 + 24..512 + 32].copy_from_slice(&600u64.to_le_bytes());
        assert_eq!(
            read(&bad).unwrap_err(),
            "entry 0: entry at byte 512: mark of 600 bytes"
        );
        assert!(parse_super(&[0u8; 10]).is_err());
    }
}

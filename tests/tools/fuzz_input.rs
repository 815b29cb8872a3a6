// SPDX-License-Identifier: GPL-2.0

//! `fuzz_input DEV SECTORS COUNT [SEED]`: throws COUNT seeded random
//! mutations of valid table lines, target messages and `volumes` writes at a
//! loaded dmp, through the device-mapper ioctls (no `dmsetup` per try, so
//! thousands run in seconds), and checks each against what the SPEC says:
//!
//! - a table line is accepted exactly when it is valid (1 or 2 words, the
//!   offset a decimal below 2^64, offset + length within the device); an
//!   accepted one reads back as `<major:minor> <offset>`; each is loaded as
//!   the inactive table of one device, then cleared, and no try leaves a
//!   reference (the device's holders, dmp's use count);
//! - a message is accepted exactly when it is `reset`, `stats` or
//!   `stats clear`;
//! - a `volumes` write resets exactly when it is empty, `0` or `reset` (with
//!   or without one newline), and is refused with EINVAL otherwise, leaving
//!   the figures as they were.
//!
//! DEV is a block device of SECTORS sectors that dmp may map. The seed is
//! printed first, so a failure can be replayed. Prints one summary line per
//! kind; exits 1 at the first disagreement, with the input that caused it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::raw::{c_int, c_ulong};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;

extern "C" {
    fn ioctl(fd: c_int, req: c_ulong, ...) -> c_int;
    fn __errno_location() -> *mut c_int;
}

const DM_NAME: &str = "fuzz";
const HDR: usize = 312; // sizeof(struct dm_ioctl)
const SPEC: usize = 40; // sizeof(struct dm_target_spec)
const BUF: usize = 16384;
const DM_DEV_CREATE: u64 = 3;
const DM_DEV_REMOVE: u64 = 4;
const DM_DEV_SUSPEND: u64 = 6;
const DM_TABLE_LOAD: u64 = 9;
const DM_TABLE_CLEAR: u64 = 10;
const DM_TABLE_STATUS: u64 = 12;
const DM_TARGET_MSG: u64 = 14;
const DM_STATUS_TABLE_FLAG: u32 = 1 << 4;
const DM_QUERY_INACTIVE_TABLE_FLAG: u32 = 1 << 12;
const EINVAL: i32 = 22;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// A device-mapper ioctl with a 16 KiB buffer.
struct Dm {
    ctl: File,
}

impl Dm {
    fn call(&self, cmd: u64, flags: u32, data: &[u8], out: &mut Vec<u8>) -> Result<u32, i32> {
        let mut buf = vec![0u8; BUF];
        buf[0..4].copy_from_slice(&4u32.to_ne_bytes());
        buf[12..16].copy_from_slice(&(BUF as u32).to_ne_bytes());
        buf[16..20].copy_from_slice(&(HDR as u32).to_ne_bytes());
        let nspec = u32::from(cmd == DM_TABLE_LOAD);
        buf[20..24].copy_from_slice(&nspec.to_ne_bytes());
        buf[28..32].copy_from_slice(&flags.to_ne_bytes());
        buf[48..48 + DM_NAME.len()].copy_from_slice(DM_NAME.as_bytes());
        buf[HDR..HDR + data.len()].copy_from_slice(data);
        // _IOWR(0xfd, cmd, struct dm_ioctl)
        let req = (3u64 << 30) | ((HDR as u64) << 16) | (0xfd << 8) | cmd;
        // SAFETY: `buf` is a dm_ioctl buffer of the size it says.
        let r = unsafe { ioctl(self.ctl.as_raw_fd(), req as c_ulong, buf.as_mut_ptr()) };
        if r != 0 {
            // SAFETY: errno of this thread.
            return Err(unsafe { *__errno_location() });
        }
        let flags = u32::from_ne_bytes(buf[28..32].try_into().unwrap());
        out.clear();
        out.extend_from_slice(&buf[HDR..]);
        Ok(flags)
    }

    fn create(&self) {
        self.call(DM_DEV_CREATE, 0, &[], &mut Vec::new())
            .expect("DM_DEV_CREATE");
    }

    fn remove(&self) {
        self.call(DM_DEV_REMOVE, 0, &[], &mut Vec::new())
            .expect("DM_DEV_REMOVE");
    }

    /// Drops the inactive table (a loaded, not yet resumed one).
    fn clear(&self) {
        self.call(DM_TABLE_CLEAR, 0, &[], &mut Vec::new())
            .expect("DM_TABLE_CLEAR");
    }

    fn load(&self, len: u64, params: &[u8]) -> Result<(), i32> {
        let mut d = vec![0u8; SPEC];
        d[8..16].copy_from_slice(&len.to_ne_bytes());
        d[24..27].copy_from_slice(b"dmp");
        d.extend_from_slice(params);
        d.push(0);
        self.call(DM_TABLE_LOAD, 0, &d, &mut Vec::new()).map(|_| ())
    }

    /// The parameters of the inactive table's first target.
    fn inactive_params(&self) -> String {
        let mut out = Vec::new();
        self.call(
            DM_TABLE_STATUS,
            DM_STATUS_TABLE_FLAG | DM_QUERY_INACTIVE_TABLE_FLAG,
            &[],
            &mut out,
        )
        .expect("DM_TABLE_STATUS");
        let p = &out[SPEC..];
        String::from_utf8_lossy(&p[..p.iter().position(|&b| b == 0).unwrap_or(0)]).into_owned()
    }

    fn resume(&self) {
        self.call(DM_DEV_SUSPEND, 0, &[], &mut Vec::new())
            .expect("resume");
    }

    fn message(&self, msg: &[u8]) -> Result<(), i32> {
        let mut d = vec![0u8; 8];
        d.extend_from_slice(msg);
        d.push(0);
        self.call(DM_TARGET_MSG, 0, &d, &mut Vec::new()).map(|_| ())
    }
}

/// Device-mapper's word splitting (`dm_split_args()`): white space
/// separates, a backslash takes the next byte as it is (a final one stays).
fn split(s: &[u8]) -> Vec<Vec<u8>> {
    // The kernel's `isspace()` (lib/ctype.c): also \v and Latin-1 NBSP.
    let space = |c: u8| c.is_ascii_whitespace() || c == 0x0b || c == 0xa0;
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < s.len() && space(s[i]) {
            i += 1;
        }
        if i == s.len() {
            return words;
        }
        let mut w = Vec::new();
        while i < s.len() {
            if s[i] == b'\\' && i + 1 < s.len() {
                w.push(s[i + 1]);
                i += 2;
                continue;
            }
            if space(s[i]) {
                break;
            }
            w.push(s[i]);
            i += 1;
        }
        words.push(w);
    }
}

/// Mutates `s`: truncation, huge and negative numbers, odd bytes, extra
/// words, long strings, swapped pieces.
fn mutate(r: &mut Rng, s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    // A quarter stays as it is (valid input must be tried too).
    let n = r.below(4);
    for _ in 0..n {
        let at = if v.is_empty() {
            0
        } else {
            r.below(v.len() + 1)
        };
        match r.below(11) {
            0 => v.truncate(at),
            1 => {
                let n: &[u8] = *r.pick::<&[u8]>(&[
                    b"18446744073709551615",
                    b"18446744073709551616",
                    b"99999999999999999999999",
                    b"-1",
                    b"+5",
                    b"0x10",
                    b"1e3",
                    b"0",
                    b"00000000000000000000008",
                ]);
                v.splice(at..at, n.iter().copied());
            }
            2 => v.insert(at, (r.next() & 0xff) as u8),
            3 => v.insert(at, *r.pick(b" \t\n\\\"'%:")),
            4 => {
                v.extend_from_slice(r.pick::<&[u8]>(&[b" x", b" 0", b" clear", b" reset", b" 1 2"]))
            }
            5 => v.extend(std::iter::repeat(b'7').take(r.below(300))),
            6 if !v.is_empty() => {
                let i = r.below(v.len());
                v.remove(i);
            }
            7 if !v.is_empty() => {
                let i = r.below(v.len());
                v[i] = v[i].to_ascii_uppercase();
            }
            8 => {
                let n = r.next().to_string();
                v.splice(at..at, n.bytes());
            }
            9 => v.clear(),
            _ => {
                let dup = v.clone();
                v.extend_from_slice(b" ");
                v.extend_from_slice(&dup);
            }
        }
    }
    v.retain(|&b| b != 0);
    v
}

fn parse_sector(w: &[u8]) -> Option<u64> {
    if w.is_empty() || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    w.iter().try_fold(0u64, |a, &c| {
        a.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

fn dmp_use_count() -> String {
    let mut s = String::new();
    File::open("/proc/modules")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s.lines()
        .find(|l| l.starts_with("dmp "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("?")
        .to_string()
}

fn holders(dev: &str) -> usize {
    let name = std::fs::canonicalize(dev).unwrap();
    let name = name.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(format!("/sys/class/block/{name}/holders")).map_or(0, |d| d.count())
}

/// Fails unless nothing holds `dev` and nothing uses dmp (no table of it).
fn no_references_left(kind: &str, input: &[u8], dev: &str) {
    let (h, u) = (holders(dev), dmp_use_count());
    if h != 0 || u != "0" {
        die(
            kind,
            input,
            format!("references left: {dev} has {h} holders, dmp use count {u}"),
        );
    }
}

fn die(kind: &str, input: &[u8], why: String) -> ! {
    println!(
        "FAIL {kind}: input {:?}: {why}",
        String::from_utf8_lossy(input)
    );
    std::process::exit(1);
}

fn volumes() -> String {
    std::fs::read_to_string("/sys/module/dmp/stat/volumes").unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: fuzz_input DEV SECTORS COUNT [SEED]");
        std::process::exit(2);
    }
    let dev = &args[1];
    let size: u64 = args[2].parse().expect("SECTORS");
    let count: usize = args[3].parse().expect("COUNT");
    let seed: u64 = args.get(4).map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        },
        |s| s.parse().expect("SEED"),
    );
    println!("seed {seed}");
    let mut r = Rng(seed);
    let md = std::fs::metadata(dev).expect("DEV");
    assert!(
        md.file_type().is_block_device(),
        "{dev} is not a block device"
    );
    let (maj, min) = (
        (md.rdev() >> 8) & 0xfff,
        (md.rdev() & 0xff) | ((md.rdev() >> 12) & 0xfff00),
    );
    let mm = format!("{maj}:{min}");
    let dm = Dm {
        ctl: OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/mapper/control")
            .expect("control"),
    };

    // Table lines.
    let base: Vec<Vec<u8>> = vec![
        dev.as_bytes().to_vec(),
        format!("{dev} 0").into_bytes(),
        format!("{mm} 8").into_bytes(),
        format!("{mm} {}", size / 2).into_bytes(),
    ];
    let (mut valid, mut refused) = (0, 0);
    // One device; each line is loaded as its inactive table, then cleared.
    dm.create();
    for i in 0..count {
        let b = r.pick(&base).clone();
        let p = mutate(&mut r, &b);
        let len = *r.pick(&[1, 8, size / 2, size, size + 1, u64::MAX]);
        let words = split(&p);
        let dev_ok = words
            .first()
            .is_some_and(|w| w == dev.as_bytes() || *w == mm.as_bytes());
        let off = match words.len() {
            1 => Some(0),
            2 => parse_sector(&words[1]),
            _ => None,
        };
        // `None`: the device word was mutated into something else (another
        // path to it, or nothing): no exact prediction, only the checks.
        let expect = if !dev_ok {
            None
        } else {
            Some(
                off.is_some_and(|o| o.checked_add(len).is_some_and(|e| e <= size))
                    && words.len() <= 2,
            )
        };
        let got = dm.load(len, &p);
        match (&got, expect) {
            (Ok(()), Some(false)) => die(
                "table",
                &p,
                format!("length {len}: accepted, but it is invalid"),
            ),
            (Err(e), Some(true)) => die(
                "table",
                &p,
                format!("length {len}: refused ({e}), but it is valid"),
            ),
            _ => {}
        }
        if got.is_ok() {
            let want = format!("{mm} {}", off.unwrap_or(0));
            let back = dm.inactive_params();
            if expect.is_some() && back != want {
                die("table", &p, format!("reads back as {back:?}, not {want:?}"));
            }
            valid += 1;
            dm.clear();
        } else {
            refused += 1;
        }
        if i % 200 == 0 {
            no_references_left("table", &p, dev);
        }
    }
    dm.remove();
    no_references_left("table", b"(after the last)", dev);
    println!("table lines: {count} tried, {valid} valid, {refused} refused");

    // Messages, to a live device.
    dm.create();
    dm.load(size, dev.as_bytes()).expect("valid table");
    dm.resume();
    let base: [&[u8]; 3] = [b"reset", b"stats", b"stats clear"];
    let (mut valid, mut refused) = (0, 0);
    for _ in 0..count {
        let b = *r.pick::<&[u8]>(&base);
        let m = mutate(&mut r, b);
        let words = split(&m);
        if words.first().is_some_and(|w| w.first() == Some(&b'@')) {
            // Device-mapper's own messages (`@stats_list`, ...): not dmp's.
            continue;
        }
        let expect = matches!(
            words
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>()
                .as_slice(),
            [b"reset"] | [b"stats"] | [b"stats", b"clear"]
        );
        match (dm.message(&m), expect) {
            (Ok(()), true) => valid += 1,
            (Err(EINVAL), false) => refused += 1,
            (got, _) => die(
                "message",
                &m,
                format!("got {got:?}, expected valid={expect}"),
            ),
        }
    }
    println!("messages: {count} tried, {valid} valid, {refused} refused");

    // Writes to `volumes`: one read through the device makes the figures
    // non-zero, so that a reset shows.
    // No udev: the kernel's own node, /dev/dm-N, found by its name.
    let node = std::fs::read_dir("/sys/block")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| {
            std::fs::read_to_string(format!("/sys/block/{n}/dm/name"))
                .is_ok_and(|s| s.trim() == DM_NAME)
        })
        .expect("the fuzz device in /sys/block");
    let mut direct = OpenOptions::new()
        .read(true)
        .custom_flags(0o40000)
        .open(format!("/dev/{node}"))
        .expect("dm device");
    let layout = std::alloc::Layout::from_size_align(4096, 4096).unwrap();
    let one_read = |f: &mut File| {
        // SAFETY: an aligned buffer for one O_DIRECT read, freed below.
        let p = unsafe { std::alloc::alloc(layout) };
        // SAFETY: `p` holds 4096 bytes.
        let buf = unsafe { std::slice::from_raw_parts_mut(p, 4096) };
        use std::os::unix::fs::FileExt;
        f.read_exact_at(buf, 0).expect("read through dmp");
        // SAFETY: allocated above with `layout`.
        unsafe { std::alloc::dealloc(p, layout) };
    };
    let zero = "read:\n  reqs: 0\n  avg size: 0\nwrite:\n  reqs: 0\n  avg size: 0\ntotal:\n  reqs: 0\n  avg size: 0\n";
    std::fs::write("/sys/module/dmp/stat/volumes", "reset").unwrap();
    one_read(&mut direct);
    let (mut valid, mut refused) = (0, 0);
    let base: [&[u8]; 4] = [b"reset", b"0", b"\n", b"reset\n"];
    for _ in 0..count {
        let b = *r.pick::<&[u8]>(&base);
        let w = mutate(&mut r, b);
        let before = volumes();
        let mut f = OpenOptions::new()
            .write(true)
            .open("/sys/module/dmp/stat/volumes")
            .unwrap();
        let got = f.write(&w).map_err(|e| e.raw_os_error().unwrap_or(0));
        drop(f);
        let line = w.strip_suffix(b"\n").unwrap_or(&w);
        let reset = matches!(line, b"" | b"0" | b"reset") && !w.is_empty();
        match got {
            Ok(n) if reset && n == w.len() => {
                if volumes() != zero {
                    die(
                        "volumes",
                        &w,
                        format!("accepted but not reset: {:?}", volumes()),
                    );
                }
                valid += 1;
                one_read(&mut direct);
            }
            Ok(0) if w.is_empty() => {
                // An empty write never reaches the file: nothing changes.
                if volumes() != before {
                    die("volumes", &w, "an empty write changed the figures".into());
                }
                valid += 1;
            }
            Err(EINVAL) if !reset => {
                if volumes() != before {
                    die("volumes", &w, "refused but the figures changed".into());
                }
                refused += 1;
            }
            got => die(
                "volumes",
                &w,
                format!("got {got:?}, expected reset={reset}"),
            ),
        }
    }
    drop(direct);
    dm.remove();
    println!("volumes writes: {count} tried, {valid} valid, {refused} refused");
    no_references_left("end", b"(all of them)", dev);
}

// SPDX-License-Identifier: GPL-2.0
//! A seeded filesystem workload for the crash-replay test (what fsstress
//! does for fstests' generic/455, reduced to what the test checks).
//!
//!   fsworkload run DIR SEED OPS STATE LOGDEV
//!       OPS random operations in DIR: create, overwrite, append, rename and
//!       unlink files of DIR/d, each made durable at once (fsync of the
//!       file and of the directory), and writes to new files of DIR/s
//!       that are never fsynced. After each durable operation N it writes STATE/mN, the
//!       list of DIR/d's files with their length and FNV-1a hash, and sends
//!       the mark "mN" to the dm-log-writes device LOGDEV
//!       (`dmsetup message LOGDEV 0 mark mN`). Prints "ops=.. marks=.. files=..".
//!   fsworkload verify STATE/mN DIR
//!       DIR/d holds exactly the files of the list, with their contents.
//!
//! Exit status: 0 ok, 1 a check failed or an error, 2 usage.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, ExitCode};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn fsync_dir(d: &Path) -> Result<(), String> {
    File::open(d)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync {}: {e}", d.display()))
}

fn run(dir: &Path, seed: u64, ops: u64, state: &Path, logdev: &str) -> Result<(), String> {
    let d = dir.join("d");
    let s = dir.join("s");
    for p in [&d, &s] {
        fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    fsync_dir(dir)?;
    let mut rng = Rng(seed.max(1));
    let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut marks = 0u64;
    let io = |e: std::io::Error, what: &str| format!("{what}: {e}");
    for _ in 0..ops {
        let names: Vec<String> = model.keys().cloned().collect();
        let pick = |rng: &mut Rng| names[rng.below(names.len() as u64) as usize].clone();
        let r = rng.below(100);
        let durable = if r < 20 || names.is_empty() {
            // create
            let name = format!("f{next_id}");
            next_id += 1;
            let data = {
                let n = 1 + rng.below(48 * 1024) as usize;
                rng.bytes(n)
            };
            let p = d.join(&name);
            let mut f = File::create(&p).map_err(|e| io(e, &name))?;
            f.write_all(&data).map_err(|e| io(e, &name))?;
            f.sync_all().map_err(|e| io(e, &name))?;
            fsync_dir(&d)?;
            model.insert(name, data);
            true
        } else if r < 40 {
            // overwrite a range inside the file
            let name = pick(&mut rng);
            let cur = model.get_mut(&name).unwrap();
            let off = rng.below(cur.len() as u64) as usize;
            let len = 1 + rng.below((cur.len() - off) as u64) as usize;
            let data = rng.bytes(len);
            let f = OpenOptions::new()
                .write(true)
                .open(d.join(&name))
                .map_err(|e| io(e, &name))?;
            f.write_all_at(&data, off as u64)
                .map_err(|e| io(e, &name))?;
            f.sync_all().map_err(|e| io(e, &name))?;
            cur[off..off + len].copy_from_slice(&data);
            true
        } else if r < 50 {
            // append
            let name = pick(&mut rng);
            let data = {
                let n = 1 + rng.below(16 * 1024) as usize;
                rng.bytes(n)
            };
            let mut f = OpenOptions::new()
                .append(true)
                .open(d.join(&name))
                .map_err(|e| io(e, &name))?;
            f.write_all(&data).map_err(|e| io(e, &name))?;
            f.sync_all().map_err(|e| io(e, &name))?;
            model.get_mut(&name).unwrap().extend_from_slice(&data);
            true
        } else if r < 60 {
            // rename to a new name
            let name = pick(&mut rng);
            let new = format!("f{next_id}");
            next_id += 1;
            fs::rename(d.join(&name), d.join(&new)).map_err(|e| io(e, &name))?;
            fsync_dir(&d)?;
            let data = model.remove(&name).unwrap();
            model.insert(new, data);
            true
        } else if r < 65 {
            // unlink
            let name = pick(&mut rng);
            fs::remove_file(d.join(&name)).map_err(|e| io(e, &name))?;
            fsync_dir(&d)?;
            model.remove(&name);
            true
        } else {
            // A write nobody waits for, to a new file: replacing a file by
            // truncation would start its writeback at close (ext4's
            // auto_da_alloc) at a time that varies from run to run.
            let p = s.join(format!("x{next_id}"));
            next_id += 1;
            let data = {
                let n = 1 + rng.below(32 * 1024) as usize;
                rng.bytes(n)
            };
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
                .and_then(|mut f| f.write_all(&data))
                .map_err(|e| io(e, "scratch"))?;
            false
        };
        if !durable {
            continue;
        }
        marks += 1;
        let mark = format!("m{marks}");
        let mut list = String::new();
        for (n, data) in &model {
            list.push_str(&format!("{n} {} {:016x}\n", data.len(), fnv(data)));
        }
        fs::write(state.join(&mark), list).map_err(|e| io(e, "state"))?;
        let st = Command::new("/usr/sbin/dmsetup")
            .args(["message", logdev, "0", "mark", &mark])
            .status()
            .map_err(|e| io(e, "dmsetup"))?;
        if !st.success() {
            return Err(format!("dmsetup message {logdev} 0 mark {mark}: {st}"));
        }
    }
    println!("ops={ops} marks={marks} files={}", model.len());
    Ok(())
}

fn verify(list: &Path, dir: &Path) -> Result<(), String> {
    let text = fs::read_to_string(list).map_err(|e| format!("{}: {e}", list.display()))?;
    let d = dir.join("d");
    let mut want = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() != 3 {
            return Err(format!("{}: bad line '{line}'", list.display()));
        }
        want.insert(f[0].to_string(), (f[1].to_string(), f[2].to_string()));
    }
    let mut have = Vec::new();
    for e in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
        let e = e.map_err(|e| format!("{}: {e}", d.display()))?;
        have.push(e.file_name().to_string_lossy().into_owned());
    }
    for n in &have {
        if !want.contains_key(n) {
            return Err(format!("d/{n} exists but is not in {}", list.display()));
        }
    }
    for (n, (len, hash)) in &want {
        let data = fs::read(d.join(n)).map_err(|e| format!("d/{n}: {e}"))?;
        let got = (data.len().to_string(), format!("{:016x}", fnv(&data)));
        if got != (len.clone(), hash.clone()) {
            return Err(format!(
                "d/{n}: length {} hash {}, expected length {len} hash {hash}",
                got.0, got.1
            ));
        }
    }
    println!("{} files verified", want.len());
    Ok(())
}

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let res = match a.as_slice() {
        ["run", dir, seed, ops, state, logdev] => match (seed.parse(), ops.parse()) {
            (Ok(seed), Ok(ops)) => run(Path::new(dir), seed, ops, Path::new(state), logdev),
            _ => Err("SEED and OPS are numbers".to_string()),
        },
        ["verify", list, dir] => verify(Path::new(list), Path::new(dir)),
        _ => {
            eprintln!("usage: fsworkload run DIR SEED OPS STATE LOGDEV | verify LIST DIR");
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(m) => {
            eprintln!("fsworkload: {m}");
            ExitCode::from(1)
        }
    }
}

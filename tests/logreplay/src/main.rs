// SPDX-License-Identifier: GPL-2.0
//! logreplay: lists and replays a dm-log-writes log (what fstests'
//! replay-log does, for the crash-replay test).
//!
//!   logreplay info LOG                 counts of the entries by kind
//!   logreplay points LOG               the replay points: "INDEX KIND [MARK]",
//!                                      one per flush, FUA and mark entry
//!   logreplay replay LOG IMAGE FROM TO applies entries FROM..TO (0-based,
//!                                      TO excluded) to IMAGE: writes their
//!                                      data, zeroes discarded blocks
//!
//! Exit status: 0 ok, 1 a bad log or an I/O error, 2 usage.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::process::ExitCode;

use logreplay::{counts, entries, Entry, Super, DISCARD, MARK};

fn load(path: &str) -> Result<(File, Super, Vec<Entry>), String> {
    let f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let (sup, es) = entries(|at, buf| {
        f.read_exact_at(buf, at)
            .map_err(|e| format!("reading byte {at}: {e}"))
    })
    .map_err(|e| format!("{path}: {e}"))?;
    Ok((f, sup, es))
}

fn replay(log: &str, image: &str, from: usize, to: usize) -> Result<(), String> {
    let (f, sup, es) = load(log)?;
    if from > to || to > es.len() {
        return Err(format!("entries {from}..{to}: the log has {}", es.len()));
    }
    let out = OpenOptions::new()
        .write(true)
        .open(image)
        .map_err(|e| format!("{image}: {e}"))?;
    let ss = sup.sectorsize as u64;
    let mut buf = Vec::new();
    for (i, e) in es.iter().enumerate().take(to).skip(from) {
        if e.flags & MARK != 0 || e.nr_sectors == 0 {
            continue;
        }
        buf.resize((e.nr_sectors * ss) as usize, 0);
        if e.flags & DISCARD != 0 {
            buf.fill(0);
        } else {
            f.read_exact_at(&mut buf, e.data_offset)
                .map_err(|err| format!("{log}: data of entry {i}: {err}"))?;
        }
        out.write_all_at(&buf, e.sector * ss)
            .map_err(|err| format!("{image}: entry {i}: {err}"))?;
    }
    out.sync_all().map_err(|e| format!("{image}: {e}"))
}

fn run(args: &[String]) -> Result<(), (u8, String)> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| (2, format!("'{s}' is not an entry index")))
    };
    match a.as_slice() {
        ["info", log] => {
            let (_, sup, es) = load(log).map_err(|e| (1, e))?;
            let c = counts(&sup, &es);
            println!(
                "entries={} writes={} flush={} fua={} discard={} marks={} points={} data_bytes={} sectorsize={}",
                c.entries, c.writes, c.flush, c.fua, c.discard, c.marks, c.points, c.data_bytes, sup.sectorsize
            );
            Ok(())
        }
        ["points", log] => {
            let (_, _, es) = load(log).map_err(|e| (1, e))?;
            for (i, e) in es.iter().enumerate().filter(|(_, e)| e.is_replay_point()) {
                match &e.mark {
                    Some(m) => println!("{i} mark {m}"),
                    None => println!("{i} {}", e.kind()),
                }
            }
            Ok(())
        }
        ["replay", log, image, from, to] => {
            replay(log, image, num(from)?, num(to)?).map_err(|e| (1, e))
        }
        _ => Err((
            2,
            "usage: logreplay info LOG | points LOG | replay LOG IMAGE FROM TO".to_string(),
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((rc, m)) => {
            eprintln!("logreplay: {m}");
            ExitCode::from(rc)
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the kernel-free parts of dmp, built for the host.

#[path = "../../../dmp_stats.rs"]
#[allow(dead_code)]
mod dmp_stats;

#[path = "../../../dmp_args.rs"]
#[allow(dead_code)]
mod dmp_args;

#[cfg(test)]
mod tests {
    use super::dmp_args::*;
    use super::dmp_stats::*;
    use std::fmt::Write;

    #[test]
    fn volumes_text_is_exact() {
        let s = Snapshot {
            read_reqs: 12,
            read_bytes: 12 * 4096,
            write_reqs: 3,
            write_bytes: 3 * 8192,
            ..Default::default()
        };
        assert_eq!(
            Volumes(&s).to_string(),
            "read:\n  reqs: 12\n  avg size: 4096\nwrite:\n  reqs: 3\n  avg size: 8192\n\
             total:\n  reqs: 15\n  avg size: 4915\n"
        );
    }

    #[test]
    fn volumes_text_with_no_requests_shows_zero_averages() {
        assert_eq!(
            Volumes(&Snapshot::default()).to_string(),
            "read:\n  reqs: 0\n  avg size: 0\nwrite:\n  reqs: 0\n  avg size: 0\n\
             total:\n  reqs: 0\n  avg size: 0\n"
        );
    }

    #[test]
    fn avg_rounds_down() {
        assert_eq!(avg(0, 0), 0);
        assert_eq!(avg(10, 0), 0);
        assert_eq!(avg(512 + 4096, 2), 2304);
        assert_eq!(avg(1023, 2), 511);
        assert_eq!(avg(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn device_status_text_is_exact() {
        let s = Snapshot {
            read_reqs: 1,
            read_bytes: 2,
            write_reqs: 3,
            write_bytes: 4,
            other_reqs: 5,
            errors: 6,
        };
        assert_eq!(
            DeviceStatus(&s).to_string(),
            "read_reqs=1 read_bytes=2 write_reqs=3 write_bytes=4 other_reqs=5 errors=6"
        );
    }

    #[test]
    fn counters_add_up_across_cpus_and_reset() {
        let st = IoStats::new();
        for cpu in 0..3 * SHARDS {
            st.account(cpu, IoKind::Read, 4096);
            st.account(cpu, IoKind::Write, 512);
            st.account(cpu, IoKind::Other, 0);
            st.account_error(cpu);
        }
        let n = 3 * SHARDS as u64;
        assert_eq!(
            st.snapshot(),
            Snapshot {
                read_reqs: n,
                read_bytes: n * 4096,
                write_reqs: n,
                write_bytes: n * 512,
                other_reqs: n,
                errors: n,
            }
        );
        st.reset();
        assert_eq!(st.snapshot(), Snapshot::default());
    }

    #[test]
    fn unaccount_takes_back_across_cpus_and_clamps_after_reset() {
        let st = IoStats::new();
        st.account(0, IoKind::Read, 4096);
        st.account(1, IoKind::Read, 4096);
        st.account(2, IoKind::Other, 0);
        // Taken back on other CPUs than it was counted on.
        st.unaccount(5, IoKind::Read, 4096);
        st.unaccount(7, IoKind::Other, 0);
        let s = st.snapshot();
        assert_eq!((s.read_reqs, s.read_bytes, s.other_reqs), (1, 4096, 0));
        // A reset between account and unaccount: 0, not 2^64 - 1.
        st.reset();
        st.unaccount(3, IoKind::Write, 512);
        assert_eq!(st.snapshot(), Snapshot::default());
        st.account(3, IoKind::Write, 512);
        st.account(4, IoKind::Write, 512);
        assert_eq!(
            (st.snapshot().write_reqs, st.snapshot().write_bytes),
            (1, 512)
        );
    }

    #[test]
    fn counters_are_exact_under_concurrency() {
        let st = IoStats::new();
        std::thread::scope(|s| {
            for t in 0..8 {
                let st = &st;
                s.spawn(move || {
                    for i in 0..100_000 {
                        // Threads share shards on purpose: exactness must not
                        // depend on the CPU hint.
                        st.account(i % 3 + t, IoKind::Write, 4096);
                    }
                });
            }
        });
        let snap = st.snapshot();
        assert_eq!(snap.write_reqs, 800_000);
        assert_eq!(snap.write_bytes, 800_000 * 4096);
    }

    #[test]
    fn counter_shards_have_their_own_cache_line() {
        assert_eq!(std::mem::size_of::<IoStats>(), SHARDS * 64);
        assert_eq!(std::mem::align_of::<IoStats>(), 64);
    }

    #[test]
    fn slice_writer_cuts_and_terminates() {
        let mut buf = [0xffu8; 8];
        let mut w = SliceWriter::new(&mut buf);
        write!(w, "0123456789").unwrap();
        assert_eq!(w.len(), 8);
        assert_eq!(w.terminate(), 7);
        assert_eq!(&buf, b"0123456\0");

        let mut buf = [0xffu8; 8];
        let mut w = SliceWriter::new(&mut buf);
        write!(w, "ab").unwrap();
        assert_eq!(w.terminate(), 2);
        assert_eq!(&buf[..3], b"ab\0");

        let mut w = SliceWriter::new(&mut []);
        write!(w, "x").unwrap();
        assert_eq!(w.terminate(), 0);
    }

    #[test]
    fn sector_numbers() {
        assert_eq!(parse_sector(b"0"), Some(0));
        assert_eq!(parse_sector(b"2048"), Some(2048));
        assert_eq!(parse_sector(b"007"), Some(7));
        assert_eq!(parse_sector(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"99999999999999999999999",
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1x",
            b"0x10",
            b"1e3",
            b"\xff",
        ] {
            assert_eq!(
                parse_sector(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn volumes_writes() {
        for ok in [&b"\n"[..], b"", b"0", b"0\n", b"reset", b"reset\n"] {
            assert!(is_volumes_reset(ok), "{ok:?}");
        }
        for bad in [
            &b"1"[..],
            b"00",
            b"\n\n",
            b"reset ",
            b" reset",
            b"reset\n\n",
            b"RESET",
            b"garbage",
            b"\0",
            &[b'x'; 4096],
        ] {
            assert!(!is_volumes_reset(bad), "{bad:?}");
        }
    }

    #[test]
    fn messages() {
        let m = |w: &[&'static [u8]]| parse_message(w.to_vec().into_iter());
        assert_eq!(m(&[b"reset"]), Ok(Message::Reset));
        assert!(m(&[]).is_err());
        assert!(m(&[b"reset", b"now"]).is_err());
        assert!(m(&[b"Reset"]).is_err());
        assert!(m(&[b"stats"]).is_err());
    }
}

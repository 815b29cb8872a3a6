// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the kernel-free parts of dmp, built for the host, and the
//! simulated per-CPU counters they (and the microbenchmark) run on.

#[path = "../../../dmp_stats.rs"]
#[allow(dead_code)]
mod dmp_stats;

#[path = "../../../dmp_args.rs"]
#[allow(dead_code)]
mod dmp_args;

#[path = "../../../dm/fmt.rs"]
#[allow(dead_code)]
mod fmt;

pub mod sim;

#[cfg(test)]
mod stats_tests;

#[cfg(test)]
mod tests {
    use super::dmp_args::*;
    use super::dmp_stats::*;
    use super::fmt::SliceWriter;
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

        // As dm_message_test_buffer_overflow(): a text that leaves no byte
        // besides its NUL may have been cut.
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        write!(w, "ab").unwrap();
        assert!(!w.is_cut());
        write!(w, "c").unwrap();
        assert!(w.is_cut());
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
        let m = |w: &[&'static [u8]]| parse_message(w.iter().copied());
        assert_eq!(m(&[b"reset"]), Ok(Message::Reset));
        assert!(m(&[]).is_err());
        assert!(m(&[b"reset", b"now"]).is_err());
        assert!(m(&[b"Reset"]).is_err());
        assert_eq!(m(&[b"stats"]), Ok(Message::Stats { clear: false }));
        assert_eq!(m(&[b"stats", b"clear"]), Ok(Message::Stats { clear: true }));
        assert!(m(&[b"stats", b"clear", b"now"]).is_err());
        assert!(m(&[b"stats", b"reset"]).is_err());
        assert!(m(&[b"stats", b""]).is_err());
        assert!(m(&[b"Stats"]).is_err());
        assert!(m(&[b"clear"]).is_err());
    }
}

// SPDX-License-Identifier: GPL-2.0

//! What users write to dmp: table line arguments, target messages and writes
//! to `volumes`. Free of kernel types, unit-tested on the host (`tests/host`).

/// Parses a sector number: plain decimal digits only (no sign, no space, no
/// `0x`), that fits in 64 bits. A value that would wrap is refused.
pub(crate) fn parse_sector(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// Whether a write to `volumes` asks for a reset: an empty line, `0` or
/// `reset`, each with or without one trailing newline.
pub(crate) fn is_volumes_reset(buf: &[u8]) -> bool {
    let line = buf.strip_suffix(b"\n").unwrap_or(buf);
    matches!(line, b"" | b"0" | b"reset")
}

/// A message a dmp target understands (`dmsetup message NAME 0 ...`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// `reset`: zero this target's counters.
    Reset,
    /// `stats`: print the distributions; `stats clear`: print them and start
    /// a new interval.
    Stats {
        /// Whether to start a new interval.
        clear: bool,
    },
}

/// Parses a target message from its words; the error says why it is refused.
pub(crate) fn parse_message<'a>(
    mut words: impl ExactSizeIterator<Item = &'a [u8]>,
) -> Result<Message, &'static str> {
    match (words.len(), words.next()) {
        (0, _) => Err("empty message"),
        (1, Some(b"reset")) => Ok(Message::Reset),
        (_, Some(b"reset")) => Err("'reset' takes no arguments"),
        (1, Some(b"stats")) => Ok(Message::Stats { clear: false }),
        (2, Some(b"stats")) => match words.next() {
            Some(b"clear") => Ok(Message::Stats { clear: true }),
            _ => Err("'stats' takes only 'clear'"),
        },
        (_, Some(b"stats")) => Err("'stats' takes only 'clear'"),
        _ => Err("unknown message (messages: 'reset', 'stats', 'stats clear')"),
    }
}

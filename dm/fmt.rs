// SPDX-License-Identifier: GPL-2.0

//! Text into the fixed buffers C hands out (status, message, sysfs).

use core::fmt;

/// A [`fmt::Write`] into a fixed buffer that cuts what does not fit, as the
/// kernel's `scnprintf()` and device-mapper's `DMEMIT()` do, and remembers
/// that it did.
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
    cut: bool,
}

impl<'a> SliceWriter<'a> {
    /// Writes into `buf` from its start.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            cut: false,
        }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the text may not have fit: as device-mapper's
    /// `dm_message_test_buffer_overflow()`, a text that leaves no byte free
    /// besides its NUL counts as cut.
    pub(crate) fn is_cut(&self) -> bool {
        self.cut || self.len + 1 >= self.buf.len()
    }

    /// Ends the text with a NUL, cutting its last byte if the buffer is full.
    /// Returns the length without the NUL.
    pub(crate) fn terminate(&mut self) -> usize {
        if self.buf.is_empty() {
            return 0;
        }
        if self.len == self.buf.len() {
            self.len -= 1;
            self.cut = true;
        }
        self.buf[self.len] = 0;
        self.len
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.cut = true;
        }
        Ok(())
    }
}

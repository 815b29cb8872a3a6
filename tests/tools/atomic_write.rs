// SPDX-License-Identifier: GPL-2.0

//! `atomic_write DEV BYTES OFFSET`: one O_DIRECT write of BYTES at OFFSET
//! with `RWF_ATOMIC` (pwritev2), as a database would issue a torn-write-free
//! page write. Exit 0 if the kernel accepted and completed it whole.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_long, c_void};

const O_WRONLY: c_int = 0o1;
const O_DIRECT: c_int = 0o40000;
const RWF_ATOMIC: c_int = 0x40;

#[repr(C)]
struct IoVec {
    base: *const c_void,
    len: usize,
}

extern "C" {
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn pwritev2(fd: c_int, iov: *const IoVec, n: c_int, off: c_long, flags: c_int) -> isize;
    fn __errno_location() -> *mut c_int;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: atomic_write DEV BYTES OFFSET");
        std::process::exit(2);
    }
    let bytes: usize = args[2].parse().expect("BYTES");
    let off: c_long = args[3].parse().expect("OFFSET");
    let layout = std::alloc::Layout::from_size_align(bytes, 4096).expect("layout");
    // SAFETY: a non-zero size layout.
    let buf = unsafe { std::alloc::alloc(layout) };
    assert!(!buf.is_null());
    // SAFETY: `buf` holds `bytes` bytes.
    unsafe { std::ptr::write_bytes(buf, 0xa5, bytes) };
    let path = CString::new(args[1].as_str()).unwrap();
    // SAFETY: a valid C string.
    let fd = unsafe { open(path.as_ptr(), O_WRONLY | O_DIRECT) };
    if fd < 0 {
        eprintln!("open {}: errno {}", args[1], unsafe { *__errno_location() });
        std::process::exit(1);
    }
    let iov = IoVec {
        base: buf.cast(),
        len: bytes,
    };
    // SAFETY: one valid iovec over `buf`.
    let n = unsafe { pwritev2(fd, &iov, 1, off, RWF_ATOMIC) };
    if n != bytes as isize {
        // SAFETY: errno of this thread.
        let e = unsafe { *__errno_location() };
        eprintln!("pwritev2(RWF_ATOMIC, {bytes} bytes at {off}): {n}, errno {e}");
        std::process::exit(1);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! `loop_status DEVICE`: issues the loop driver's `LOOP_GET_STATUS64` ioctl on
//! DEVICE and prints the loop device number it answers with, or the error.
//! The guest tests use it to see whether dmp passes ioctls to its device
//! (`prepare_ioctl`). Built for the host by scripts/vm.sh.

use std::{fs::File, io::Error, os::fd::AsRawFd, process::exit};

const LOOP_GET_STATUS64: u64 = 0x4C05;

extern "C" {
    fn ioctl(fd: i32, request: u64, ...) -> i32;
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: loop_status DEVICE");
        exit(2);
    };
    let file = File::open(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        exit(1);
    });
    // struct loop_info64 is 232 bytes; lo_number is the u32 at offset 40.
    let mut info = [0u8; 232];
    // SAFETY: `info` is as large as the struct the ioctl writes.
    if unsafe { ioctl(file.as_raw_fd(), LOOP_GET_STATUS64, info.as_mut_ptr()) } != 0 {
        eprintln!("{path}: LOOP_GET_STATUS64: {}", Error::last_os_error());
        exit(1);
    }
    println!(
        "loop {}",
        u32::from_ne_bytes(info[40..44].try_into().unwrap())
    );
}

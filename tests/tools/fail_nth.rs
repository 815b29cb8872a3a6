// SPDX-License-Identifier: GPL-2.0

//! `fail_nth N CMD [ARG...]`: runs CMD with the N-th fault-injectable call of
//! its task failing (`/proc/<pid>/fail-nth`, CONFIG_FAULT_INJECTION), prints
//! `injected` or `not injected` on stderr, and exits with CMD's status.
//!
//! The child writes N to its own `fail-nth` and execs CMD (the count survives
//! exec); the parent reads the child's `fail-nth` while it is a zombie (0:
//! the fault was injected) and only then reaps it. Built by scripts/vm.sh.

use std::{
    ffi::CString,
    fs,
    os::raw::{c_char, c_int},
    process::exit,
};

const P_PID: c_int = 1;
const WEXITED: c_int = 4;
const WNOWAIT: c_int = 0x0100_0000;

extern "C" {
    fn fork() -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn waitid(idtype: c_int, id: u32, info: *mut [u8; 128], options: c_int) -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn _exit(code: c_int) -> !;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: fail_nth N CMD [ARG...]");
        exit(2);
    }
    let cargs: Vec<CString> = args[1..]
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap())
        .collect();
    let mut argv: Vec<*const c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());

    // SAFETY: plain fork(2); the child only writes a file and execs.
    let pid = unsafe { fork() };
    if pid < 0 {
        eprintln!("fork failed");
        exit(2);
    }
    if pid == 0 {
        if fs::write("/proc/self/fail-nth", &args[0]).is_err() {
            eprintln!("cannot write /proc/self/fail-nth");
            // SAFETY: ends the child without running the parent's handlers.
            unsafe { _exit(127) };
        }
        // SAFETY: `argv` is a NULL-terminated array of C strings that live
        // until exec.
        unsafe { execvp(argv[0], argv.as_ptr()) };
        // SAFETY: as above.
        unsafe { _exit(127) };
    }
    let mut info = [0u8; 128];
    // SAFETY: waits for the child without reaping it; `info` is a siginfo_t.
    if unsafe { waitid(P_PID, pid as u32, &mut info, WEXITED | WNOWAIT) } != 0 {
        eprintln!("waitid failed");
        exit(2);
    }
    let left = fs::read_to_string(format!("/proc/{pid}/fail-nth")).unwrap_or_default();
    let mut status = 0;
    // SAFETY: reaps the child waited for above.
    unsafe { waitpid(pid, &mut status, 0) };
    eprintln!(
        "{}",
        if left.trim() == "0" {
            "injected"
        } else {
            "not injected"
        }
    );
    exit(if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    });
}

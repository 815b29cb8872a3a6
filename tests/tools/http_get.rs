// SPDX-License-Identifier: GPL-2.0

//! A tiny HTTP/1.1 client for the guest tests (no crates: built with plain
//! rustc by scripts/vm.sh).
//!
//!   http_get HOST:PORT PATH [-H 'Name: value']... [NAME=VALUE]...
//!       GET PATH?NAME=VALUE&... (the values percent-encoded, so a PromQL
//!       query can be passed as is); prints the status code on the first
//!       line, then the response headers, an empty line and the body.
//!   http_get --raw HOST:PORT
//!       sends standard input as is, prints the response.
//!
//! Exit status: 0 when a response came (whatever its status), 1 on a
//! connection error or timeout (10 s), 2 on bad arguments.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::exit;
use std::time::Duration;

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!(
            "usage: http_get HOST:PORT PATH [-H HEADER]... [NAME=VALUE]... | --raw HOST:PORT"
        );
        exit(2)
    };
    let (addr, request) = if args.first().map(String::as_str) == Some("--raw") {
        let addr = args.get(1).cloned().unwrap_or_else(|| usage());
        let mut raw = Vec::new();
        std::io::stdin()
            .read_to_end(&mut raw)
            .unwrap_or_else(|_| usage());
        (addr, raw)
    } else {
        if args.len() < 2 {
            usage();
        }
        let (addr, mut path) = (args[0].clone(), args[1].clone());
        let mut headers = String::new();
        let mut params = Vec::new();
        let mut it = args[2..].iter();
        while let Some(a) = it.next() {
            if a == "-H" {
                let h = it.next().unwrap_or_else(|| usage());
                headers.push_str(h);
                headers.push_str("\r\n");
            } else if let Some((k, v)) = a.split_once('=') {
                params.push(format!("{}={}", encode(k), encode(v)));
            } else {
                usage();
            }
        }
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
        (addr, req.into_bytes())
    };
    let mut c = TcpStream::connect(&addr).unwrap_or_else(|e| {
        eprintln!("http_get: {addr}: {e}");
        exit(1)
    });
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = c.set_write_timeout(Some(Duration::from_secs(10)));
    if let Err(e) = c.write_all(&request) {
        eprintln!("http_get: {addr}: {e}");
        exit(1);
    }
    let mut resp = Vec::new();
    if let Err(e) = c.read_to_end(&mut resp) {
        if resp.is_empty() {
            eprintln!("http_get: {addr}: {e}");
            exit(1);
        }
    }
    let text = String::from_utf8_lossy(&resp);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        eprintln!("http_get: {addr}: no HTTP response ({} bytes)", resp.len());
        exit(1)
    };
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let code = status.split(' ').nth(1).unwrap_or("");
    let mut out = format!("{code}\n");
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push('\n');
    // A chunked body is joined back (Prometheus' API answers chunked).
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || tail.len() < n {
                break;
            }
            out.push_str(&tail[..n]);
            rest = tail[n..].strip_prefix("\r\n").unwrap_or(&tail[n..]);
        }
    } else {
        out.push_str(body);
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
}

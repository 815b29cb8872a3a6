// SPDX-License-Identifier: GPL-2.0
//! `--listen ADDR`: a Prometheus exporter. `GET /metrics` reads the kernel
//! at each scrape and answers in OpenMetrics 1.0 when the scraper's `Accept`
//! header prefers it, in the classic text format 0.0.4 otherwise.
//!
//! The HTTP side is tiny_http (synchronous, four small dependencies): it
//! parses requests, answers malformed ones 400 itself, and hands requests
//! to any number of threads; WORKERS threads take scrapes concurrently.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::format;

/// Default address: loopback, so that what an exporter running as root
/// tells about the machine's devices stays on it unless asked otherwise.
/// Port 9947: not among the ports node_exporter (9100), ebpf_exporter
/// (9435) and the other exporters commonly run with use.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9947";

pub const WORKERS: usize = 4;

pub const CLASSIC_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The listen address: HOST:PORT (a name, IPv4 or [IPv6]), or :PORT for
/// every IPv4 address.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let full = match s.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => s.to_string(),
    };
    let bad = || format!("bad listen address '{s}' (want HOST:PORT, e.g. {DEFAULT_ADDR})");
    if !full.contains(':') {
        return Err(bad());
    }
    let mut it = full.to_socket_addrs().map_err(|_| bad())?;
    it.next().ok_or_else(bad)
}

/// Whether an `Accept` header asks for OpenMetrics 1.0 over the classic
/// text: the highest-quality media range wins, OpenMetrics on a tie.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let (mut om, mut text) = (0.0f64, 0.0f64);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0;
        let mut version = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse().unwrap_or(0.0),
                    "version" => version = Some(v.to_string()),
                    _ => {}
                }
            }
        }
        match media.as_str() {
            "application/openmetrics-text" if version.as_deref().is_none_or(|v| v == "1.0.0") => {
                om = om.max(q)
            }
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    om > 0.0 && om >= text
}

/// What a request gets: status, content type, body.
pub fn answer(
    method: &str,
    url: &str,
    accept: Option<&str>,
    scrape: &dyn Fn() -> Result<Vec<format::Fam>, String>,
) -> (u16, &'static str, String) {
    let path = url.split(['?', '#']).next().unwrap_or("");
    if path != "/metrics" {
        return (
            404,
            "text/plain; charset=utf-8",
            "Not found: try /metrics\n".into(),
        );
    }
    if method != "GET" && method != "HEAD" {
        return (
            405,
            "text/plain; charset=utf-8",
            "Method not allowed: GET or HEAD\n".into(),
        );
    }
    match scrape() {
        Err(e) => (500, "text/plain; charset=utf-8", format!("dmpstat: {e}\n")),
        Ok(fams) if wants_openmetrics(accept) => {
            (200, OPENMETRICS_TYPE, format::openmetrics(&fams))
        }
        Ok(fams) => (200, CLASSIC_TYPE, format::classic(&fams)),
    }
}

fn respond(req: Request, scrape: &dyn Fn() -> Result<Vec<format::Fam>, String>) {
    let accept = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Accept"))
        .map(|h| h.value.as_str().to_string());
    let method = match req.method() {
        Method::Get => "GET",
        Method::Head => "HEAD",
        _ => "OTHER",
    };
    let (status, ctype, body) = answer(method, req.url(), accept.as_deref(), scrape);
    let mut resp = Response::from_string(body).with_status_code(status);
    if let Ok(h) = Header::from_bytes("Content-Type", ctype) {
        resp = resp.with_header(h);
    }
    if status == 405 {
        if let Ok(h) = Header::from_bytes("Allow", "GET, HEAD") {
            resp = resp.with_header(h);
        }
    }
    // A client that went away is no error of ours.
    let _ = req.respond(resp);
}

/// Binds and serves on WORKERS threads; returns once listening.
pub fn start(
    addr: SocketAddr,
    scrape: Arc<dyn Fn() -> Result<Vec<format::Fam>, String> + Send + Sync>,
) -> Result<(), String> {
    let server = Arc::new(Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?);
    for _ in 0..WORKERS {
        let server = Arc::clone(&server);
        let scrape = Arc::clone(&scrape);
        std::thread::spawn(move || loop {
            match server.recv() {
                Ok(req) => respond(req, &*scrape),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn accept_negotiation() {
        // What Prometheus 2.42 sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(Some(prom)));
        // Prometheus with scrape_classic / older: text first.
        assert!(!wants_openmetrics(Some(
            "text/plain;version=0.0.4;q=1,*/*;q=0.1"
        )));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(Some("")));
        assert!(wants_openmetrics(Some("application/openmetrics-text")));
        assert!(wants_openmetrics(Some(
            "Application/OpenMetrics-Text; Version=\"1.0.0\""
        )));
        // Only a version this encoder does not write.
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;version=0.0.1"
        )));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        )));
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
        assert!(!wants_openmetrics(Some(";;;,,q=x=,application/json")));
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_addr(DEFAULT_ADDR).unwrap().to_string(), DEFAULT_ADDR);
        assert_eq!(parse_addr(":9100").unwrap().to_string(), "0.0.0.0:9100");
        assert_eq!(parse_addr("[::1]:80").unwrap().to_string(), "[::1]:80");
        for bad in ["", "9947", "127.0.0.1", "127.0.0.1:99999", "1.2.3.4:x", ":"] {
            let e = parse_addr(bad).unwrap_err();
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
    }

    fn fams() -> Result<Vec<format::Fam>, String> {
        Ok(format::families(&crate::format::tests_report(true)))
    }

    #[test]
    fn answers_by_path_method_and_accept() {
        let (s, t, b) = answer("GET", "/metrics", None, &fams);
        assert_eq!((s, t), (200, CLASSIC_TYPE));
        assert_eq!(b, format::classic(&fams().unwrap()));
        let (s, t, b) = answer(
            "GET",
            "/metrics?x=1",
            Some("application/openmetrics-text; version=1.0.0"),
            &fams,
        );
        assert_eq!((s, t), (200, OPENMETRICS_TYPE));
        assert!(b.ends_with("# EOF\n"));
        assert_eq!(answer("GET", "/", None, &fams).0, 404);
        assert_eq!(answer("GET", "/metricsx", None, &fams).0, 404);
        assert_eq!(answer("GET", "", None, &fams).0, 404);
        assert_eq!(answer("OTHER", "/metrics", None, &fams).0, 405);
        let fail = || Err("dmp is not loaded (no /sys/module/dmp)".to_string());
        let (s, _, b) = answer("GET", "/metrics", None, &fail);
        assert_eq!(s, 500);
        assert_eq!(b, "dmpstat: dmp is not loaded (no /sys/module/dmp)\n");
    }

    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        c.write_all(raw).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Over a real socket: garbage gets 400 and the server keeps serving,
    /// also to clients that connect at the same time.
    #[test]
    fn serves_over_tcp_and_survives_bad_requests() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        start(addr, Arc::new(fams)).unwrap();
        let get = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        for raw in [
            &b"\x00\x01garbage\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET /metrics HTTP/9.9 extra\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nbad header line\r\n\r\n",
        ] {
            let r = exchange(addr, raw);
            assert!(
                r.is_empty() || r.starts_with("HTTP/1.") && r.contains(" 400 "),
                "{raw:?}: {r}"
            );
        }
        let threads: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(move || exchange(addr, get)))
            .collect();
        let want = format::classic(&fams().unwrap());
        for t in threads {
            let r = t.join().unwrap();
            assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
            assert!(
                r.contains(&format!("Content-Type: {CLASSIC_TYPE}\r\n")),
                "{r}"
            );
            assert!(r.ends_with(&want), "{r}");
        }
        let r = exchange(
            addr,
            b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        let r = exchange(
            addr,
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        assert!(
            r.starts_with("HTTP/1.1 405 ") && r.contains("Allow: GET, HEAD"),
            "{r}"
        );
    }
}

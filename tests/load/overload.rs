//! The load generator of `scripts/overload.sh` (a cargo example: `cargo run
//! --release --example overload -- --addr 127.0.0.1:PORT --pid PID`): a
//! storm of concurrent connections each sending 20 KB documents to the
//! scoring routes of a running `stance serve`, while
//!
//! - a probe thread times `GET /healthz` on one keep-alive connection and
//!   another on a fresh connection per probe (what a Kubernetes probe does),
//! - a sampler thread reads the server's RSS and open fds from `/proc/PID`.
//!
//! It prints one JSON object (the report) and exits 0 when every check
//! passes: only 200 and 503 answers, every 503 with `Retry-After` and its
//! API's JSON error, every `/healthz` 200 with p99 under `--p99-ms`, peak RSS
//! under `--rss-mb`. Loopback only: `--addr` must be a 127.0.0.0/8 address.
//! Bounded: the storm lasts `--seconds` (at most 120), every I/O step has a
//! 10 s timeout.
//!
//! The storm runs on one thread (a current-thread Tokio runtime), so on a
//! 2-core machine the server keeps most of the CPU; the probes run on their
//! own OS threads so their timings do not include the storm's scheduling.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

struct Args {
    addr: SocketAddr,
    /// Where `/healthz` is probed: `addr` unless `--health-addr` (the
    /// service's `--health-bind` listener) is given.
    health_addr: Option<SocketAddr>,
    pid: Option<u32>,
    connections: usize,
    seconds: u64,
    doc_bytes: usize,
    probe_every_ms: u64,
    p99_ms: f64,
    rss_mb: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?,
        health_addr: None,
        pid: None,
        connections: 2000,
        seconds: 30,
        doc_bytes: 20_000,
        probe_every_ms: 20,
        p99_ms: 50.0,
        rss_mb: 300.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {v:?}: {e}");
        match flag.as_str() {
            "--addr" => a.addr = v.parse().map_err(|e| bad(&e))?,
            "--health-addr" => a.health_addr = Some(v.parse().map_err(|e| bad(&e))?),
            "--pid" => a.pid = Some(v.parse().map_err(|e| bad(&e))?),
            "--connections" => a.connections = v.parse().map_err(|e| bad(&e))?,
            "--seconds" => a.seconds = v.parse().map_err(|e| bad(&e))?,
            "--doc-bytes" => a.doc_bytes = v.parse().map_err(|e| bad(&e))?,
            "--probe-every-ms" => a.probe_every_ms = v.parse().map_err(|e| bad(&e))?,
            "--p99-ms" => a.p99_ms = v.parse().map_err(|e| bad(&e))?,
            "--rss-mb" => a.rss_mb = v.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !a.addr.ip().is_loopback() || a.health_addr.is_some_and(|h| !h.ip().is_loopback()) {
        return Err(format!("--addr {}: loopback addresses only", a.addr));
    }
    if !(1..=120).contains(&a.seconds) || !(1..=20_000).contains(&a.connections) {
        return Err("--seconds must be 1..=120 and --connections 1..=20000".into());
    }
    Ok(a)
}

/// A document of exactly `bytes` bytes of news-like ASCII text.
fn document(bytes: usize) -> String {
    const LINES: [&str; 4] = [
        "The city council voted to keep its sanctuary policy, saying immigrant families must be able to call the police without fear.",
        "The sheriff said honoring every ICE detainer keeps dangerous offenders off the streets and the county safe.",
        "Officials met on Tuesday to discuss the budget, road repairs and the new library hours.",
        "Advocates rallied outside city hall while the state legislature debated the enforcement bill.",
    ];
    let mut s = String::with_capacity(bytes + 200);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(LINES[i % LINES.len()]);
        s.push(if i % 3 == 2 { '\n' } else { ' ' });
        i += 1;
    }
    s.truncate(bytes);
    s
}

/// The four kinds of scoring request, each a complete HTTP/1.1 request.
fn requests(addr: SocketAddr, doc: &str) -> Vec<(&'static str, Vec<u8>)> {
    let text = serde_json::Value::String(doc.to_string());
    let bodies = [
        ("/v1/score", serde_json::json!({ "text": text })),
        (
            "/v1/score/batch",
            serde_json::json!({ "documents": [{ "id": "d1", "text": text }] }),
        ),
        (
            "/v1alpha1/comments:analyze",
            serde_json::json!({
                "comment": { "text": text },
                "requestedAttributes": { "STANCE_PRO_SANCTUARY": {} }
            }),
        ),
        (
            "/v2/models/sanctuary/infer",
            serde_json::json!({
                "inputs": [{ "name": "text", "shape": [1], "datatype": "BYTES", "data": [text] }]
            }),
        ),
    ];
    bodies
        .into_iter()
        .map(|(path, body)| {
            let body = body.to_string();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            (path, [head.into_bytes(), body.into_bytes()].concat())
        })
        .collect()
}

/// Status, headers (lowercase names) and body of one response.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A parsed response head: its length in bytes, the status and the headers.
type Head = (usize, u16, Vec<(String, String)>);

/// Parses a response head; `None` until it is complete.
fn parse_head(buf: &[u8]) -> Option<Result<Head, String>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok());
    let Some(status) = status else {
        return Some(Err(format!("bad status line in {head:?}")));
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Ok((end, status, headers)))
}

async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Answer, String> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let (end, status, headers) = loop {
        if let Some(parsed) = parse_head(buf) {
            break parsed?;
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| e.kind().to_string())?;
        if n == 0 {
            return Err("closed before an answer".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or("no content-length")?;
    while buf.len() < end + len {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| e.kind().to_string())?;
        if n == 0 {
            return Err("closed inside a body".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Answer {
        status,
        headers,
        body: buf[end..end + len].to_vec(),
    })
}

/// Whether a 503 is the documented one: `Retry-After` and its API's JSON.
fn proper_503(path: &str, a: &Answer) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&a.body) else {
        return false;
    };
    let code_ok = if path.starts_with("/v1alpha1") {
        v["error"]["status"] == "UNAVAILABLE"
    } else if path.starts_with("/v2") {
        v["error"].is_string()
    } else {
        v["error"]["code"] == "overloaded"
    };
    code_ok
        && a.header("retry-after")
            .is_some_and(|r| r.parse::<u64>().is_ok())
}

#[derive(Default)]
struct Tally {
    by_status: BTreeMap<String, u64>,
    by_route_status: BTreeMap<String, u64>,
    transport: BTreeMap<String, u64>,
    improper_503: u64,
    connects: u64,
    latency_200_ms: Vec<f64>,
}

async fn client(
    i: usize,
    addr: SocketAddr,
    reqs: Arc<Vec<(&'static str, Vec<u8>)>>,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
) {
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut n = i;
    while Instant::now() < until {
        // 7 in 10 requests go to /v1/score, one each to the other routes.
        let (path, bytes) = &reqs[match n % 10 {
            7 => 1,
            8 => 2,
            9 => 3,
            _ => 0,
        }];
        n += 1;
        let mut s = match stream.take() {
            Some(s) => s,
            None => match tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    tally.lock().unwrap().connects += 1;
                    s
                }
                Ok(Err(e)) => {
                    *tally
                        .lock()
                        .unwrap()
                        .transport
                        .entry(format!("connect: {}", e.kind()))
                        .or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(_) => {
                    *tally
                        .lock()
                        .unwrap()
                        .transport
                        .entry("connect: timeout".into())
                        .or_default() += 1;
                    continue;
                }
            },
        };
        let start = Instant::now();
        // A refused request may be answered and closed before its body is
        // written: a write error is not the end, the answer may be there.
        let wrote = tokio::time::timeout(STEP_TIMEOUT, s.write_all(bytes)).await;
        let answer = tokio::time::timeout(STEP_TIMEOUT, read_answer(&mut s, &mut buf)).await;
        let mut t = tally.lock().unwrap();
        match answer {
            Ok(Ok(a)) => {
                *t.by_status.entry(a.status.to_string()).or_default() += 1;
                *t.by_route_status
                    .entry(format!("{path} {}", a.status))
                    .or_default() += 1;
                if a.status == 503 && !proper_503(path, &a) {
                    t.improper_503 += 1;
                }
                if a.status == 200 {
                    t.latency_200_ms.push(start.elapsed().as_secs_f64() * 1e3);
                }
                if !a.closes() && matches!(wrote, Ok(Ok(()))) {
                    stream = Some(s);
                }
            }
            Ok(Err(e)) => {
                let what = match wrote {
                    Ok(Err(w)) => format!("write: {}; read: {e}", w.kind()),
                    _ => format!("read: {e}"),
                };
                *t.transport.entry(what).or_default() += 1;
            }
            Err(_) => *t.transport.entry("read: timeout".into()).or_default() += 1,
        }
    }
}

/// Times `GET /healthz` every `every` until `stop`: on one keep-alive
/// connection (`fresh` false) or a new connection per probe (`fresh` true,
/// the connect included). Returns latencies (ms) and non-200 answers.
fn probe(addr: SocketAddr, every: Duration, fresh: bool, stop: Arc<AtomicBool>) -> (Vec<f64>, u64) {
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut lat = Vec::new();
    let mut failures = 0;
    let mut conn: Option<StdStream> = None;
    let mut buf = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let ok = (|| -> std::io::Result<bool> {
            let mut s = match conn.take() {
                Some(s) if !fresh => s,
                _ => {
                    let s = StdStream::connect_timeout(&addr, STEP_TIMEOUT)?;
                    s.set_read_timeout(Some(STEP_TIMEOUT))?;
                    s.set_nodelay(true)?;
                    s
                }
            };
            s.write_all(req.as_bytes())?;
            buf.clear();
            let mut chunk = [0u8; 4096];
            loop {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    return Ok(false);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(Ok((end, status, headers))) = parse_head(&buf) {
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + len {
                        if !fresh {
                            conn = Some(s);
                        }
                        return Ok(status == 200);
                    }
                }
            }
        })();
        lat.push(t0.elapsed().as_secs_f64() * 1e3);
        if !matches!(ok, Ok(true)) {
            failures += 1;
        }
        std::thread::sleep(every.saturating_sub(t0.elapsed()));
    }
    (lat, failures)
}

/// Peak RSS (MB, sampled and the kernel's high-water mark) and peak open fds.
fn sample_proc(pid: u32, stop: Arc<AtomicBool>) -> (f64, f64, usize) {
    let kb = |status: &str, key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (mut rss, mut hwm, mut fds) = (0.0f64, 0.0f64, 0usize);
    loop {
        let done = stop.load(Ordering::Relaxed);
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            rss = rss.max(kb(&st, "VmRSS:") / 1024.0);
            hwm = hwm.max(kb(&st, "VmHWM:") / 1024.0);
        }
        if let Ok(d) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
            fds = fds.max(d.count());
        }
        if done {
            return (rss, hwm, fds);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(|a, b| a.total_cmp(b));
    let r = |x: f64| (x * 100.0).round() / 100.0;
    serde_json::json!({
        "n": v.len(),
        "p50_ms": r(percentile(&v, 50.0)),
        "p90_ms": r(percentile(&v, 90.0)),
        "p99_ms": r(percentile(&v, 99.0)),
        "max_ms": r(v.last().copied().unwrap_or(f64::NAN)),
    })
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("overload: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let doc = document(args.doc_bytes);
    let reqs = Arc::new(requests(args.addr, &doc));
    let stop = Arc::new(AtomicBool::new(false));
    let every = Duration::from_millis(args.probe_every_ms);
    let health_addr = args.health_addr.unwrap_or(args.addr);
    let keepalive = {
        let stop = Arc::clone(&stop);
        let addr = health_addr;
        std::thread::spawn(move || probe(addr, every, false, stop))
    };
    let fresh = {
        let stop = Arc::clone(&stop);
        let addr = health_addr;
        std::thread::spawn(move || probe(addr, every, true, stop))
    };
    let sampler = args.pid.map(|pid| {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || sample_proc(pid, stop))
    });
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    rt.block_on(async {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let tasks: Vec<_> = (0..args.connections)
                    .map(|i| {
                        tokio::task::spawn_local(client(
                            i,
                            args.addr,
                            Arc::clone(&reqs),
                            until,
                            Arc::clone(&tally),
                        ))
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            })
            .await;
    });
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (ka_lat, ka_fail) = keepalive.join().expect("probe thread");
    let (fresh_lat, fresh_fail) = fresh.join().expect("probe thread");
    let proc = sampler.map(|s| s.join().expect("sampler thread"));
    let t = std::mem::take(&mut *tally.lock().unwrap());
    let answered: u64 = t.by_status.values().sum();
    let only_200_503 = t.by_status.keys().all(|s| s == "200" || s == "503");
    let ka = summary(ka_lat);
    let fr = summary(fresh_lat);
    let p99 = |v: &serde_json::Value| v["p99_ms"].as_f64().unwrap_or(f64::INFINITY);
    let mut checks = vec![
        ("only 200 and 503 answers", only_200_503),
        (
            "every 503 has Retry-After and its API's JSON error",
            t.improper_503 == 0,
        ),
        (
            "every /healthz probe answered 200",
            ka_fail == 0 && fresh_fail == 0,
        ),
        (
            "/healthz p99 (keep-alive probe) under the bar",
            p99(&ka) < args.p99_ms,
        ),
        (
            "/healthz p99 (fresh-connection probe) under the bar",
            p99(&fr) < args.p99_ms,
        ),
    ];
    if let Some((_, hwm, _)) = proc {
        checks.push(("server peak RSS under the bound", hwm < args.rss_mb));
    }
    let passed = checks.iter().all(|(_, ok)| *ok);
    let report = serde_json::json!({
        "healthz_probed_at": health_addr.to_string(),
        "healthz_on_health_listener": args.health_addr.is_some(),
        "connections": args.connections,
        "doc_bytes": args.doc_bytes,
        "seconds": (elapsed * 10.0).round() / 10.0,
        "answers": answered,
        "answers_per_s": (answered as f64 / elapsed).round(),
        "by_status": t.by_status,
        "by_route_status": t.by_route_status,
        "transport_errors": t.transport,
        "improper_503": t.improper_503,
        "connections_opened": t.connects,
        "latency_200": summary(t.latency_200_ms),
        "healthz_keepalive": ka,
        "healthz_keepalive_failures": ka_fail,
        "healthz_fresh_connection": fr,
        "healthz_fresh_connection_failures": fresh_fail,
        "server_peak_rss_mb": proc.map(|p| (p.1 * 10.0).round() / 10.0),
        "server_peak_rss_sampled_mb": proc.map(|p| (p.0 * 10.0).round() / 10.0),
        "server_peak_fds": proc.map(|p| p.2),
        "bars": {"healthz_p99_ms": args.p99_ms, "rss_mb": args.rss_mb},
        "checks": checks.iter().map(|(k, ok)| (k.to_string(), *ok)).collect::<BTreeMap<_, _>>(),
        "passed": passed,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if passed {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

//! Overload and slow clients, against the real `stance serve` binary on
//! port 0: the in-flight limit (503 with `Retry-After` and each API's JSON
//! error, health never limited), the request deadline (408 for a body that
//! does not arrive, 504 for scoring that does not finish, its slot freed when
//! the abandoned work ends), the first-request-head timeout and the body
//! limit. Loopback only; every wait is bounded; no test asserts a speed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{wait_for_listen, ChildGuard};
use crate::helpers::{fixture_model_path, stance_cmd};

/// A news-like paragraph, repeated to build large documents.
const PARAGRAPH: &str = "The city council voted to keep its sanctuary policy, saying families should not fear calling the police, while the sheriff said honoring detainers keeps offenders off the streets.\n";

/// Starts `stance serve` on the fixture model with `args`; the guard kills it.
fn serve(args: &[&str]) -> (ChildGuard, u16) {
    serve_model(args, Some(fixture_model_path()))
}

/// Starts `stance serve` on `model` (the shipped one when `None`).
fn serve_model(args: &[&str], model: Option<&std::path::Path>) -> (ChildGuard, u16) {
    let mut cmd = stance_cmd();
    if let Some(m) = model {
        cmd.env("STANCE_MODEL", m);
    }
    let mut child = ChildGuard(
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .args(args)
            .env("RUST_LOG", "warn,stance::server::startup=info")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start stance serve"),
    );
    let (port, _lines) = wait_for_listen(&mut child.0);
    (child, port)
}

/// Status, headers (lowercase names) and body of an answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.body))
    }
}

fn post(port: u16, path: &str, body: &Value) -> Answer {
    let r = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
        .post(&format!("http://127.0.0.1:{port}{path}"))
        .set("content-type", "application/json")
        .send_string(&body.to_string());
    answer(r, path)
}

fn get(port: u16, path: &str) -> Answer {
    let r = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .call();
    answer(r, path)
}

fn answer(r: Result<ureq::Response, ureq::Error>, path: &str) -> Answer {
    let r = match r {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: transport error: {e}"),
    };
    let headers = r
        .headers_names()
        .into_iter()
        .filter_map(|n| Some((n.to_ascii_lowercase(), r.header(&n)?.to_string())))
        .collect();
    Answer {
        status: r.status(),
        headers,
        body: r.into_string().unwrap_or_default(),
    }
}

/// One sample of `GET /metrics` (0 when absent).
fn metric(port: u16, series: &str) -> f64 {
    get(port, "/metrics")
        .body
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Polls `series` until it equals `want` (at most 20 s).
fn wait_for_metric(port: u16, series: &str, want: f64) {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let v = metric(port, series);
        if v == want {
            return;
        }
        assert!(
            Instant::now() < until,
            "{series} stayed {v}, expected {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A connection that sent a scoring request's head and part of its body,
/// and so holds an in-flight slot until it closes or the deadline passes.
fn hold_a_slot(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(
        b"POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"te",
    )
    .expect("write a partial request");
    s
}

/// Reads what the server sends on `s` until it closes or `wait` passes.
fn read_all(s: &mut TcpStream, wait: Duration) -> String {
    s.set_read_timeout(Some(wait)).ok();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The four kinds of scoring request, each with a document of `text`.
fn scoring_requests(text: &str) -> [(&'static str, Value); 4] {
    [
        ("/v1/score", json!({"text": text})),
        (
            "/v1/score/batch",
            json!({"documents": [{"id": "a", "text": text}]}),
        ),
        (
            "/v1alpha1/comments:analyze",
            json!({"comment": {"text": text}, "requestedAttributes": {"STANCE_PRO_SANCTUARY": {}}}),
        ),
        (
            "/v2/models/tiny/infer",
            json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [text]}]}),
        ),
    ]
}

/// Checks a 503 of `path`: `Retry-After` in whole seconds and its API's JSON error.
fn assert_overloaded(path: &str, a: &Answer) {
    assert_eq!(a.status, 503, "{path}: {}", a.body);
    let retry: u64 = a
        .header("retry-after")
        .unwrap_or_else(|| panic!("{path}: 503 without Retry-After"))
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1, "{path}");
    let v = a.json();
    match path {
        p if p.starts_with("/v1alpha1") => {
            assert_eq!(v["error"]["code"], 503, "{path}: {v}");
            assert_eq!(v["error"]["status"], "UNAVAILABLE", "{path}: {v}");
        }
        p if p.starts_with("/v2") => {
            assert!(
                v["error"].as_str().unwrap().contains("in flight"),
                "{path}: {v}"
            )
        }
        _ => assert_eq!(v["error"]["code"], "overloaded", "{path}: {v}"),
    }
}

#[test]
fn with_every_slot_taken_scoring_is_503_with_retry_after_and_health_stays_up() {
    let (_server, port) = serve(&["--max-in-flight", "2"]);
    let model_name = get(port, "/v1/model").json()["name"]
        .as_str()
        .expect("model name")
        .to_string();
    // Two clients that never finish their bodies hold both slots.
    let held = [hold_a_slot(port), hold_a_slot(port)];
    wait_for_metric(port, "stance_in_flight_requests", 2.0);
    for (path, body) in scoring_requests(PARAGRAPH) {
        let path = path.replace("/tiny/", &format!("/{model_name}/"));
        assert_overloaded(&path, &post(port, &path, &body));
    }
    for path in [
        "/healthz",
        "/readyz",
        "/v1/model",
        "/metrics",
        "/openapi.json",
    ] {
        assert_eq!(get(port, path).status, 200, "{path} is never limited");
    }
    assert_eq!(
        metric(port, "stance_requests_shed_total{reason=\"overloaded\"}"),
        4.0
    );
    drop(held);
    wait_for_metric(port, "stance_in_flight_requests", 0.0);
    assert_eq!(
        post(port, "/v1/score", &json!({"text": PARAGRAPH})).status,
        200,
        "slots are free again"
    );

    // Concurrent large documents (scored on the blocking pool), health
    // probed meanwhile: every answer is 200 or a proper 503.
    let text = PARAGRAPH.repeat(3000); // about 560 KB
    let clients = 8;
    let start = Arc::new(Barrier::new(clients + 1));
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let start = Arc::clone(&start);
            let (path, body) = scoring_requests(&text)[i % 2].clone();
            std::thread::spawn(move || {
                start.wait();
                (path, post(port, path, &body))
            })
        })
        .collect();
    start.wait();
    let probing = Instant::now();
    let mut health = Vec::new();
    while workers.iter().any(|w| !w.is_finished()) && probing.elapsed() < Duration::from_secs(60) {
        health.push(get(port, "/healthz").status);
        std::thread::sleep(Duration::from_millis(10));
    }
    let answers: Vec<(&str, Answer)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let ok = answers.iter().filter(|(_, a)| a.status == 200).count();
    for (path, a) in &answers {
        if a.status != 200 {
            assert_overloaded(path, a);
        }
    }
    assert!(ok >= 1, "at least one of the large documents is scored");
    assert!(
        health.iter().all(|s| *s == 200),
        "healthz during the storm: {health:?}"
    );
    assert_eq!(
        metric(port, "stance_requests_shed_total{reason=\"overloaded\"}"),
        4.0 + (clients - ok) as f64
    );
    wait_for_metric(port, "stance_in_flight_requests", 0.0);
}

#[test]
fn slow_clients_are_cut_off_and_bodies_over_the_limit_are_413() {
    let (_server, port) = serve(&[
        "--client-request-timeout-ms",
        "1000",
        "--request-deadline-ms",
        "500",
        "--max-body-bytes",
        "100000",
    ]);
    // Headers byte by byte: the connection is answered 408 (or closed)
    // long before the head could be complete.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /v1/score HTTP/1.1\r\nHost: t\r\nX-Slow: {}\r\n",
        "a".repeat(200)
    );
    let started = Instant::now();
    let mut sent = 0;
    for b in head.bytes() {
        if s.write_all(&[b]).is_err() || started.elapsed() > Duration::from_secs(5) {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = read_all(&mut s, Duration::from_secs(5));
    assert!(
        sent < head.len(),
        "the server stopped reading after {sent} of {} bytes",
        head.len()
    );
    assert!(
        got.is_empty() || got.starts_with("HTTP/1.1 408"),
        "slow head: {got:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off at {:?}",
        started.elapsed()
    );

    // A body that stops arriving: 408 JSON at the request deadline, closed.
    let mut s = hold_a_slot(port);
    let got = read_all(&mut s, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 408"), "slow body: {got:?}");
    assert!(got.contains("\"code\":\"request_timeout\""), "{got}");
    assert!(
        got.to_ascii_lowercase().contains("connection: close"),
        "{got}"
    );
    assert_eq!(
        metric(
            port,
            "stance_requests_shed_total{reason=\"request_timeout\"}"
        ),
        1.0
    );

    // A declared body over max_body_bytes: 413 JSON before any of it is read.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(
        b"POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n",
    )
    .unwrap();
    let got = read_all(&mut s, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 413"), "{got:?}");
    assert!(got.contains("\"code\":\"payload_too_large\""), "{got}");
    wait_for_metric(port, "stance_in_flight_requests", 0.0);
}

#[test]
fn scoring_past_the_deadline_is_504_and_its_slot_is_freed_when_the_work_ends() {
    // The shipped model: slower per byte than the fixture one.
    let (_server, port) = serve_model(
        &[
            "--request-deadline-ms",
            "250",
            "--max-body-bytes",
            "32000000",
            "--max-in-flight",
            "4",
        ],
        None,
    );
    // About 16 MB: sent in well under the deadline on loopback, scored in
    // well over it (about 1.5 s on a 2-core machine).
    let text = PARAGRAPH.repeat(90_000);
    let a = post(port, "/v1/score", &json!({"text": text}));
    assert_eq!(a.status, 504, "{}", a.body);
    assert_eq!(a.json()["error"]["code"], "deadline_exceeded");
    assert!(a.header("retry-after").is_none());
    assert_eq!(get(port, "/healthz").status, 200);
    assert_eq!(
        metric(
            port,
            "stance_requests_shed_total{reason=\"deadline_exceeded\"}"
        ),
        1.0
    );
    // The abandoned scoring finishes in the background, then frees its slot.
    wait_for_metric(port, "stance_in_flight_requests", 0.0);
    assert_eq!(
        post(port, "/v1/score", &json!({"text": PARAGRAPH})).status,
        200
    );
}

#[test]
fn the_health_listener_answers_health_and_readiness_only_while_the_main_port_is_full() {
    let mut child = ChildGuard(
        stance_cmd()
            .env("STANCE_MODEL", fixture_model_path())
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
            .args(["--max-in-flight", "1", "--health-bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn,stance::server::startup=info")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start stance serve"),
    );
    let (port, lines) = wait_for_listen(&mut child.0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let health_port: u16 = loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server logs its health listener");
        if let Some(rest) = line.split("also on 127.0.0.1:").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            break digits.parse().expect("health port");
        }
    };
    assert_ne!(health_port, port);

    // The main port's only slot is taken.
    let _held = hold_a_slot(port);
    wait_for_metric(port, "stance_in_flight_requests", 1.0);
    assert_overloaded(
        "/v1/score",
        &post(port, "/v1/score", &json!({"text": PARAGRAPH})),
    );

    assert_eq!(get(health_port, "/healthz").json()["status"], "ok");
    let ready = get(health_port, "/readyz").json();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["model"], get(port, "/v1/model").json()["id"]);
    // Nothing but health: scoring, metrics and the API document are 404 JSON.
    for path in ["/v1/model", "/metrics", "/openapi.json"] {
        let a = get(health_port, path);
        assert_eq!(a.status, 404, "{path} on the health listener");
        assert_eq!(a.json()["error"]["code"], "not_found", "{path}");
    }
    let a = post(health_port, "/v1/score", &json!({"text": PARAGRAPH}));
    assert_eq!(a.status, 404, "scoring on the health listener");
    let a = post(health_port, "/healthz", &json!({}));
    assert_eq!(a.status, 405, "POST /healthz");
}

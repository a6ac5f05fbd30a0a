//! The HTTP service, tested over real HTTP: [`spawn_app`] starts the real
//! server (`stance::server::Application`) on port 0 with a copy of the
//! fixture model, on a background thread with its own actix runtime, and
//! [`TestApp`] talks to it with `ureq` from Tokio's blocking pool.
//! Other test modules reuse [`spawn_app`] / [`spawn_app_with`].

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use stance::server::{AdminToken, Application, Settings};
use stance::{DocumentOptions, StanceModel};

use crate::helpers::{fixture_model, fixture_model_path, stance_cmd};

/// The admin token [`spawn_app`] configures.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running service and a client for it. Dropping it stops the server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// The model file the service serves and reloads (a private copy).
    pub model_path: PathBuf,
    /// The settings the service started with.
    pub settings: Settings,
    handle: ServerHandle,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // `stop` sends the command at once; the future only reports completion.
        drop(self.handle.stop(false));
    }
}

/// An HTTP answer: status, headers (lowercase names) and body.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `error.code` of an error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text()))
            .to_string()
    }
}

/// Starts the service on the fixture model with default settings (admin
/// token [`ADMIN_TOKEN`], one worker per CPU).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service after `configure` adjusts the settings. The model path
/// is a private copy of the fixture model (tests may overwrite it).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        stance::telemetry::init();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let model_path = dir.path().join("model.json");
    std::fs::copy(fixture_model_path(), &model_path).expect("copy fixture model");
    let mut settings = Settings {
        model: Some(model_path.clone()),
        bind: "127.0.0.1:0".into(),
        workers: 2,
        admin_token: Some(AdminToken::new(ADMIN_TOKEN)),
        shutdown_timeout_secs: 1,
        ..Settings::default()
    };
    configure(&mut settings);
    let model = stance::server::load_checked(settings.model.as_deref()).expect("load model");
    let (tx, rx) = std::sync::mpsc::channel();
    let app_settings = settings.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(app_settings, model) {
                Ok(app) => {
                    let _ = tx.send(Ok((app.port(), app.handle())));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        })
    });
    let (port, handle) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server thread answers")
        .expect("server starts");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        model_path,
        settings,
        handle,
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build(),
        _dir: dir,
    }
}

impl TestApp {
    /// Sends a request with any method, headers and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let agent = self.agent.clone();
        let url = format!("{}{}", self.address, path);
        let method = method.to_string();
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let mut req = agent.request(&method, &url);
            for (k, v) in &headers {
                req = req.set(k, v);
            }
            let result = match body {
                Some(b) => req.send_bytes(&b),
                None => req.call(),
            };
            let resp = match result {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(e) => panic!("{method} {url}: transport error: {e}"),
            };
            let status = resp.status();
            let headers = resp
                .headers_names()
                .into_iter()
                .filter_map(|n| {
                    let v = resp.header(&n)?.to_string();
                    Some((n.to_ascii_lowercase(), v))
                })
                .collect();
            let mut body = Vec::new();
            resp.into_reader()
                .read_to_end(&mut body)
                .expect("read body");
            TestResponse {
                status,
                headers,
                body,
            }
        })
        .await
        .expect("request task")
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// `POST /v1/score`.
    pub async fn score(&self, body: &Value) -> TestResponse {
        self.post_json("/v1/score", body).await
    }

    /// `POST /v1/score/batch`.
    pub async fn score_batch(&self, body: &Value) -> TestResponse {
        self.post_json("/v1/score/batch", body).await
    }

    /// `POST /admin/reload` with an optional bearer token.
    pub async fn reload(&self, token: Option<&str>) -> TestResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.request("POST", "/admin/reload", &headers, None).await
    }

    /// The value of one sample in `GET /metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics").await.text();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Sends raw bytes on a fresh connection and returns what came back
    /// (until the server closes or 2 s pass).
    pub fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(2))).ok();
        let _ = s.write_all(bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }
}

/// The library's answer for `text` under the service's default options.
fn library_score(model: &StanceModel, text: &str, explain: usize) -> stance::DocumentScore {
    let opts = DocumentOptions {
        explain,
        ..Settings::default().document_options()
    };
    model.score_document(text, &opts).expect("library scores")
}

/// Checks that a `/v1/score` answer equals the library's, field by field.
fn assert_same_as_library(resp: &Value, doc: &stance::DocumentScore, case: &str) {
    assert_eq!(resp["label"], json!(doc.label), "{case}: label");
    assert_eq!(
        resp["probabilities"],
        json!(doc.probabilities),
        "{case}: probabilities"
    );
    assert_eq!(
        resp["stance_index"],
        json!(doc.stance_index),
        "{case}: stance_index"
    );
    assert_eq!(
        resp["low_confidence"],
        json!(doc.low_confidence),
        "{case}: low_confidence"
    );
    assert_eq!(
        resp["paragraphs"],
        json!(doc.paragraphs),
        "{case}: paragraphs"
    );
}

const PRO: &str = "The city council voted to keep its welcoming ordinance, saying families should not fear calling the police.";
const ANTI: &str =
    "The sheriff said honoring every ICE detainer keeps dangerous offenders off the streets.";
const NEUTRAL: &str = "The county board will meet Tuesday at 6 p.m. to review the jail budget.";

/// Non-ASCII text: emoji (2 UTF-16 units, 4 bytes), accents (2 bytes), CJK.
const UNICODE: &str = "Café 😀 owners in San José said families should not fear calling the police.\n\n\
                       El sheriff 👮🏽 said honoring every ICE detainer keeps dangerous offenders off the streets — 市.";

// ---------------------------------------------------------------- OpenAPI

/// The served OpenAPI document.
async fn openapi(app: &TestApp) -> Value {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    r.json()
}

/// Fails unless `resp` (to `method path`) validates against the document.
/// A method a path does not document must be answered 405 with the error envelope.
fn assert_conforms(doc: &Value, method: &str, path: &str, resp: &TestResponse) {
    let m = method.to_ascii_lowercase();
    let error_schema = json!({"$ref": "#/components/schemas/Error"});
    let schema = if doc["paths"][path][&m].is_object() {
        crate::schema::response_schema(doc, path, &m, resp.status)
    } else {
        assert_eq!(
            resp.status, 405,
            "{method} {path} is not documented, so it must be 405"
        );
        &error_schema
    };
    let mut errs = Vec::new();
    crate::schema::validate(doc, schema, &resp.json(), "$", &mut errs);
    assert!(
        errs.is_empty(),
        "{method} {path} -> {}: response does not match the OpenAPI schema:\n{}\n{}",
        resp.status,
        errs.join("\n"),
        resp.text()
    );
}

#[test]
fn the_schema_validator_rejects_what_it_should() {
    let doc: Value = serde_json::from_str(stance::server::routes::openapi::OPENAPI_JSON).unwrap();
    let schema = json!({"$ref": "#/components/schemas/ScoreResponse"});
    let bad = [
        json!({}),
        json!({"model": "m@1", "version": "1", "checksum": "sha256:00", "label": "pro",
               "probabilities": {"pro": 1.0, "anti": 0.0, "neutral": 0.0}, "stance_index": 1.0,
               "low_confidence": false, "paragraphs": []}),
        json!({"model": "m@1", "version": "1", "checksum": format!("sha256:{}", "a".repeat(64)),
               "label": "maybe", "probabilities": {"pro": 1.0, "anti": 0.0, "neutral": 0.0},
               "stance_index": 1.0, "low_confidence": false, "paragraphs": [], "extra": 1}),
    ];
    for (i, v) in bad.iter().enumerate() {
        let errs = crate::schema::errors(&doc, &schema, v);
        assert!(!errs.is_empty(), "case {i} should fail validation");
    }
}

#[tokio::test]
async fn openapi_documents_every_route_and_real_responses_validate_against_it() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for path in [
        "/v1/score",
        "/v1/score/batch",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/admin/reload",
    ] {
        assert!(
            documented.iter().any(|p| *p == path),
            "{path} is not documented"
        );
    }
    let cases: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/v1/model", None),
        ("POST", "/v1/score", Some(json!({"text": UNICODE}))),
        (
            "POST",
            "/v1/score",
            Some(json!({"text": format!("{PRO}\n{ANTI}"), "explain": 3})),
        ),
        ("POST", "/v1/score", Some(json!({"text": "  "}))),
        ("POST", "/v1/score", Some(json!({"txt": "x"}))),
        (
            "POST",
            "/v1/score/batch",
            Some(json!({"documents": [
            {"id": "a", "text": PRO}, {"id": "b", "text": ""}, {"id": 3, "text": ANTI}, "junk"
        ], "explain": 1})),
        ),
        ("POST", "/v1/score/batch", Some(json!({"documents": []}))),
        ("PUT", "/v1/score", None),
        ("DELETE", "/healthz", None),
    ];
    for (method, path, body) in cases {
        let resp = match body {
            Some(b) => {
                app.request(
                    method,
                    path,
                    &[("content-type", "application/json")],
                    Some(b.to_string().into_bytes()),
                )
                .await
            }
            None => app.request(method, path, &[], None).await,
        };
        assert_conforms(&doc, method, path, &resp);
    }
    for token in [None, Some("wrong"), Some(ADMIN_TOKEN)] {
        let resp = app.reload(token).await;
        assert_conforms(&doc, "POST", "/admin/reload", &resp);
    }
    let bad = app
        .request(
            "POST",
            "/v1/score",
            &[("content-type", "application/json")],
            Some(b"{".to_vec()),
        )
        .await;
    assert_conforms(&doc, "POST", "/v1/score", &bad);
    let media = app
        .request(
            "POST",
            "/v1/score",
            &[("content-type", "text/plain")],
            Some(b"hi".to_vec()),
        )
        .await;
    assert_conforms(&doc, "POST", "/v1/score", &media);
    let metrics = app.get("/metrics").await;
    assert!(
        doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]["text/plain"].is_object()
    );
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
}

// ------------------------------------------------------------- endpoints

#[tokio::test]
async fn healthz_and_readyz_answer_and_readyz_names_the_model() {
    let app = spawn_app().await;
    let model = fixture_model();
    let h = app.get("/healthz").await;
    assert_eq!((h.status, h.json()), (200, json!({"status": "ok"})));
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"status": "ready", "model": model.id(), "checksum": model.checksum()})
    );
}

#[tokio::test]
async fn score_answers_exactly_what_the_library_computes_and_names_the_model() {
    let app = spawn_app().await;
    let model = fixture_model();
    for (case, text) in [
        ("one paragraph", PRO.to_string()),
        ("three paragraphs", format!("{PRO}\n\n{ANTI}\n{NEUTRAL}")),
        ("unicode", UNICODE.to_string()),
    ] {
        let r = app.score(&json!({"text": text})).await;
        assert_eq!(r.status, 200, "{case}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v = r.json();
        assert_eq!(v["model"], model.id(), "{case}");
        assert_eq!(v["version"], model.meta().version, "{case}");
        assert_eq!(v["checksum"], model.checksum(), "{case}");
        assert_same_as_library(&v, &library_score(&model, &text, 0), case);
        let si = v["stance_index"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&si), "{case}: stance index {si}");
    }
}

#[tokio::test]
async fn offsets_count_unicode_scalar_values_and_utf16_units_on_non_ascii_text() {
    let app = spawn_app().await;
    let v = app
        .score(&json!({"text": UNICODE, "explain": 5}))
        .await
        .json();
    let chars: Vec<char> = UNICODE.chars().collect();
    let utf16: Vec<u16> = UNICODE.encode_utf16().collect();
    let paragraphs = v["paragraphs"].as_array().unwrap();
    assert_eq!(paragraphs.len(), 2);
    let expected = UNICODE.split("\n\n").collect::<Vec<_>>();
    for (p, want) in paragraphs.iter().zip(expected) {
        let (s, e) = (
            p["start"].as_u64().unwrap() as usize,
            p["end"].as_u64().unwrap() as usize,
        );
        let got: String = chars[s..e].iter().collect();
        assert_eq!(got.trim(), want.trim(), "char offsets slice the paragraph");
        let (s16, e16) = (
            p["start_utf16"].as_u64().unwrap() as usize,
            p["end_utf16"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            String::from_utf16(&utf16[s16..e16]).unwrap(),
            got,
            "utf-16 offsets slice the same text"
        );
        for term in p["explanation"]["toward"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p["explanation"]["against"].as_array().unwrap())
        {
            let (s, e) = (
                term["start"].as_u64().unwrap() as usize,
                term["end"].as_u64().unwrap() as usize,
            );
            let at: String = chars[s..e].iter().collect();
            assert_eq!(
                at,
                term["text"].as_str().unwrap(),
                "term offsets point at its text"
            );
        }
    }
    // The second paragraph starts after an emoji and accents: chars and
    // UTF-16 units differ there, so the test can tell the units apart.
    assert_ne!(paragraphs[1]["start"], paragraphs[1]["start_utf16"]);
}

#[tokio::test]
async fn explanations_decompose_the_log_odds_exactly_and_are_bounded_by_explain() {
    let app = spawn_app().await;
    let model = fixture_model();
    let text = format!("{PRO}\n{ANTI}\n{NEUTRAL}");
    // The fixture model has fewer than 50 features, so explain=50 lists every present term.
    let v = app
        .score(&json!({"text": text, "explain": 50}))
        .await
        .json();
    assert_same_as_library(&v, &library_score(&model, &text, 50), "explain 50");
    for p in v["paragraphs"].as_array().unwrap() {
        let ex = &p["explanation"];
        let probs = &p["probabilities"];
        let (label, runner) = (
            ex["label"].as_str().unwrap(),
            ex["runner_up"].as_str().unwrap(),
        );
        assert_eq!(ex["label"], p["label"]);
        let log_odds = (probs[label].as_f64().unwrap() / probs[runner].as_f64().unwrap()).ln();
        assert!((ex["log_odds"].as_f64().unwrap() - log_odds).abs() < 1e-9);
        let weights: f64 = ex["toward"]
            .as_array()
            .unwrap()
            .iter()
            .chain(ex["against"].as_array().unwrap())
            .map(|t| t["weight"].as_f64().unwrap())
            .sum();
        let total = ex["intercept"].as_f64().unwrap() + weights;
        assert!(
            (total - log_odds).abs() < 1e-9,
            "intercept + weights = {total}, log odds = {log_odds}"
        );
    }
    let v = app.score(&json!({"text": text, "explain": 1})).await.json();
    for p in v["paragraphs"].as_array().unwrap() {
        assert!(p["explanation"]["toward"].as_array().unwrap().len() <= 1);
        assert!(p["explanation"]["against"].as_array().unwrap().len() <= 1);
    }
    let v = app.score(&json!({"text": text, "explain": 0})).await.json();
    assert!(
        v["paragraphs"][0].get("explanation").is_none(),
        "no explanation unless asked"
    );
    let r = app.score(&json!({"text": text, "explain": 51})).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "explain_out_of_range")
    );
}

#[tokio::test]
async fn batch_answers_in_input_order_and_an_empty_document_gets_its_own_error_entry() {
    let app = spawn_app().await;
    let model = fixture_model();
    let body = json!({"documents": [
        {"id": "p", "text": PRO},
        {"id": "empty", "text": "  \n "},
        {"id": "a", "text": ANTI},
        {"id": "nothing", "text": ""},
        {"id": "n", "text": UNICODE},
    ]});
    let r = app.score_batch(&body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["model"], model.id());
    assert_eq!(v["checksum"], model.checksum());
    assert_eq!(
        (v["scored"].as_u64(), v["failed"].as_u64()),
        (Some(3), Some(2))
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i, "results are in input order");
    }
    for (i, text) in [(0, PRO), (2, ANTI), (4, UNICODE)] {
        assert_same_as_library(
            &results[i],
            &library_score(&model, text, 0),
            &format!("document {i}"),
        );
    }
    for (i, id) in [(1, "empty"), (3, "nothing")] {
        assert_eq!(results[i]["id"], id, "document {i} id");
        assert_eq!(
            results[i]["error"]["code"], "empty_text",
            "document {i}: {}",
            results[i]
        );
        assert_eq!(
            results[i]["error"]["message"],
            format!("documents[{i}].text is empty: send some text to score"),
            "document {i} message names it"
        );
    }
}

#[tokio::test]
async fn a_batch_document_of_the_wrong_shape_fails_the_request_naming_it() {
    // Top-level bodies refuse unknown, missing and mistyped fields with 422,
    // and so does the schema for each document: a document of the wrong shape
    // fails the whole request, as the schema says, with a message naming it.
    let app = spawn_app().await;
    let cases = [
        (
            json!({"id": "typo", "txt": "x"}),
            "documents[1].txt: unknown field",
        ),
        (
            json!({"id": "x", "text": PRO, "lang": "en"}),
            "documents[1].lang: unknown field",
        ),
        (
            json!({"id": "no-text"}),
            "documents[1]: missing field `text`",
        ),
        (
            json!({"id": 7, "text": NEUTRAL}),
            "documents[1].id: invalid type",
        ),
        (
            json!({"id": "n", "text": null}),
            "documents[1].text: invalid type",
        ),
        (json!(42), "documents[1]: a document must be a JSON object"),
        // See: issue 14 (an array was read into a document's fields).
        (
            json!(["x", "y"]),
            "documents[1]: a document must be a JSON object",
        ),
    ];
    for (bad, message) in cases {
        let body = json!({"documents": [{"id": "ok", "text": PRO}, bad, {"id": "e", "text": ""}]});
        let r = app.score_batch(&body).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (422, "invalid_request"),
            "{bad}: {}",
            r.text()
        );
        let got = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(got.starts_with(message), "{bad}: {got}");
    }
    // Nothing was scored or counted as rejected.
    assert_eq!(app.metric("stance_documents_scored_total").await, 0.0);
    assert_eq!(app.metric("stance_documents_rejected_total").await, 0.0);
}

#[tokio::test]
async fn batch_size_is_bounded_by_the_setting_and_empty_batches_are_refused() {
    let app = spawn_app_with(|s| s.max_batch_size = 3).await;
    let docs = |n: usize| json!({"documents": (0..n).map(|i| json!({"id": i.to_string(), "text": PRO})).collect::<Vec<_>>()});
    assert_eq!(app.score_batch(&docs(3)).await.status, 200);
    let r = app.score_batch(&docs(4)).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "batch_too_large")
    );
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("STANCE_MAX_BATCH_SIZE"));
    let r = app.score_batch(&docs(0)).await;
    assert_eq!((r.status, r.error_code().as_str()), (422, "empty_batch"));
}

#[tokio::test]
async fn model_endpoint_reports_labels_version_checksum_provenance_and_limits() {
    let app = spawn_app().await;
    let model = fixture_model();
    let v = app.get("/v1/model").await.json();
    assert_eq!(v["id"], model.id());
    assert_eq!(v["version"], model.meta().version);
    assert_eq!(v["checksum"], model.checksum());
    assert_eq!(v["labels"], json!(["anti", "neutral", "pro"]));
    assert_eq!(v["provenance"], json!(model.meta().provenance));
    assert_eq!(v["training_metrics"], json!(model.meta().provenance.cv));
    assert_eq!(v["n_features"], model.tfidf().vocabulary().len());
    assert_eq!(v["limits"]["max_batch_size"], 100);
    assert_eq!(v["limits"]["max_body_bytes"], 1 << 20);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_documents_and_name_the_model() {
    let app = spawn_app().await;
    let model = fixture_model();
    let text = format!("{PRO}\n\n{ANTI}");
    app.score(&json!({"text": text})).await;
    app.score(&json!({"text": ""})).await;
    app.score_batch(&json!({"documents": [{"id": "1", "text": NEUTRAL}, {"id": "2", "text": ""}]}))
        .await;
    app.get("/no/such/route").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let m = r.text();
    for line in [
        "stance_http_requests_total{route=\"/v1/score\",method=\"POST\",status=\"200\"} 1"
            .to_string(),
        "stance_http_requests_total{route=\"/v1/score\",method=\"POST\",status=\"422\"} 1"
            .to_string(),
        "stance_http_requests_total{route=\"/v1/score/batch\",method=\"POST\",status=\"200\"} 1"
            .to_string(),
        "stance_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"
            .to_string(),
        "stance_documents_scored_total 2".to_string(),
        "stance_paragraphs_scored_total 3".to_string(),
        format!("stance_bytes_scored_total {}", text.len() + NEUTRAL.len()),
        "stance_documents_rejected_total 1".to_string(),
        "stance_http_request_duration_seconds_count{route=\"/v1/score\"} 2".to_string(),
        "stance_http_request_duration_seconds_bucket{route=\"/v1/score\",le=\"+Inf\"} 2"
            .to_string(),
        format!(
            "stance_model_info{{model=\"{}\",version=\"{}\",checksum=\"{}\"}} 1",
            model.id(),
            model.meta().version,
            model.checksum()
        ),
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line:?} in\n{m}");
    }
    assert!(
        !m.contains("/no/such/route"),
        "unknown paths do not become labels"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let app = spawn_app().await;
    let r = app
        .request(
            "GET",
            "/healthz",
            &[("x-request-id", "abc-123.X_y:z")],
            None,
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123.X_y:z"));
    let r = app
        .request(
            "GET",
            "/healthz",
            &[("x-request-id", "has spaces; and junk")],
            None,
        )
        .await;
    let id = r.header("x-request-id").unwrap();
    assert!(uuid_like(id), "replaced with a UUID: {id}");
    let r = app.get("/nope").await;
    assert!(
        uuid_like(r.header("x-request-id").unwrap()),
        "errors carry an id too"
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}

// ------------------------------------------------------------ bad input

#[tokio::test]
async fn every_kind_of_bad_request_gets_its_status_and_a_json_error() {
    let app = spawn_app().await;
    let json_ct = [("content-type", "application/json")];
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Option<Vec<u8>>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(b"{\"text\": ".to_vec()),
            400,
            "malformed_json",
        ),
        (
            "trailing garbage",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(b"{\"text\": \"a\"} x".to_vec()),
            400,
            "malformed_json",
        ),
        (
            "empty body",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(Vec::new()),
            400,
            "malformed_json",
        ),
        (
            "non-UTF-8 body",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(b"{\"text\": \"caf\xe9\"}".to_vec()),
            400,
            "invalid_utf8",
        ),
        (
            "lone surrogate",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": "\ud800"}"#.to_vec()),
            400,
            "malformed_json",
        ),
        (
            "text/plain",
            "POST",
            "/v1/score",
            vec![("content-type", "text/plain")],
            Some(br#"{"text": "a"}"#.to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "form",
            "POST",
            "/v1/score/batch",
            vec![("content-type", "application/x-www-form-urlencoded")],
            Some(b"a=b".to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            "POST",
            "/v1/score",
            vec![],
            Some(br#"{"text": "a"}"#.to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "latin-1 charset",
            "POST",
            "/v1/score",
            vec![("content-type", "application/json; charset=iso-8859-1")],
            Some(br#"{"text": "a"}"#.to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "missing text",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"explain": 1}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "text is a number",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": 5}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "text is null",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": null}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "unknown field",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": "a", "lang": "en"}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "body is an array",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(b"[1, 2]".to_vec()),
            422,
            "invalid_request",
        ),
        (
            "empty text",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": ""}"#.to_vec()),
            422,
            "empty_text",
        ),
        (
            "white space text",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": " \n\t\n "}"#.to_vec()),
            422,
            "empty_text",
        ),
        (
            "negative explain",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": "a", "explain": -1}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "explain is a string",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": "a", "explain": "3"}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "explain too large",
            "POST",
            "/v1/score",
            json_ct.to_vec(),
            Some(br#"{"text": "a", "explain": 1000000}"#.to_vec()),
            422,
            "explain_out_of_range",
        ),
        (
            "documents missing",
            "POST",
            "/v1/score/batch",
            json_ct.to_vec(),
            Some(br#"{}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "documents not a list",
            "POST",
            "/v1/score/batch",
            json_ct.to_vec(),
            Some(br#"{"documents": {"id": "a"}}"#.to_vec()),
            422,
            "invalid_request",
        ),
        (
            "unknown path",
            "GET",
            "/v2/score",
            vec![],
            None,
            404,
            "not_found",
        ),
        (
            "unknown nested path",
            "POST",
            "/v1/score/batch/extra",
            json_ct.to_vec(),
            Some(b"{}".to_vec()),
            404,
            "not_found",
        ),
        (
            "GET on score",
            "GET",
            "/v1/score",
            vec![],
            None,
            405,
            "method_not_allowed",
        ),
        (
            "PUT on batch",
            "PUT",
            "/v1/score/batch",
            json_ct.to_vec(),
            Some(b"{}".to_vec()),
            405,
            "method_not_allowed",
        ),
        (
            "POST on healthz",
            "POST",
            "/healthz",
            vec![],
            None,
            405,
            "method_not_allowed",
        ),
        (
            "DELETE on model",
            "DELETE",
            "/v1/model",
            vec![],
            None,
            405,
            "method_not_allowed",
        ),
        (
            "GET on reload",
            "GET",
            "/admin/reload",
            vec![],
            None,
            405,
            "method_not_allowed",
        ),
    ];
    for (case, method, path, headers, body, status, code) in cases {
        let r = app.request(method, path, &headers, body).await;
        assert_eq!(r.status, status, "{case}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"), "{case}");
        let v = r.json();
        assert_eq!(v["error"]["code"], code, "{case}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{case}: message says what was wrong");
        assert_eq!(
            v.as_object().unwrap().len(),
            1,
            "{case}: only the error envelope"
        );
        if status == 405 {
            assert!(r.header("allow").is_some(), "{case}: Allow header");
        }
    }
    // The messages name the problem.
    let r = app.score(&json!({"txt": "a"})).await;
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("txt"),
        "{}",
        r.text()
    );
    let r = app.score(&json!({"explain": 1})).await;
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `text`"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_with_or_without_a_content_length() {
    let app = spawn_app_with(|s| s.max_body_bytes = 1024).await;
    let big = json!({"text": "a ".repeat(1000)}).to_string();
    assert!(big.len() > 1024);
    let r = app
        .post_json("/v1/score", &serde_json::from_str(&big).unwrap())
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "payload_too_large")
    );
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1024"));
    let r = app
        .post_json(
            "/v1/score/batch",
            &json!({"documents": [{"id": "1", "text": "b ".repeat(600)}]}),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "payload_too_large")
    );
    // Chunked: no Content-Length, so the limit is enforced while reading.
    let mut req = b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for chunk in big.as_bytes().chunks(300) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let raw = String::from_utf8_lossy(&app.raw(&req)).into_owned();
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("payload_too_large"), "{raw}");
    // Just under the limit still scores.
    let ok = json!({"text": "a ".repeat(400)});
    assert_eq!(app.score(&ok).await.status, 200);
}

// ---------------------------------------------------------------- reload

/// Trains a different model (version 2.0.0, stronger regularisation) and
/// writes it to `path`.
fn write_second_model(path: &Path) -> StanceModel {
    let data =
        stance::dataset::read_labeled(&crate::helpers::fixture_data()).expect("fixture data");
    let params = stance::train::TrainParams {
        cv_folds: 0,
        version: "2.0.0".into(),
        tfidf: stance::features::TfidfParams::default(),
        logreg: stance::model::LogRegParams {
            c: 1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let trained = stance::train::train(&params, &data, |_| {}).expect("train second model");
    let tmp = path.with_extension("new");
    stance::artifact::save(&trained.model, &tmp).expect("save second model");
    std::fs::rename(&tmp, path).expect("replace model");
    stance::artifact::load(path).expect("reload second model")
}

#[tokio::test]
async fn reload_requires_the_admin_token() {
    let app = spawn_app().await;
    let r = app.reload(None).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="stance-admin""#)
    );
    // The messages docs/API.md ("Running it") quotes.
    assert_eq!(
        r.json()["error"]["message"],
        "missing bearer token: send Authorization: Bearer <STANCE_ADMIN_TOKEN>"
    );
    let r = app
        .request(
            "POST",
            "/admin/reload",
            &[("authorization", &format!("Basic {ADMIN_TOKEN}"))],
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "unauthorized"),
        "not a bearer token"
    );
    let r = app.reload(Some("wrong-token")).await;
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
    assert_eq!(
        r.json()["error"]["message"],
        "the bearer token is not valid"
    );
    let r = app
        .reload(Some(&ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]))
        .await;
    assert_eq!(r.status, 403, "a prefix of the token is wrong");
    let r = app.reload(Some(ADMIN_TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn reload_is_disabled_without_an_admin_token() {
    let app = spawn_app_with(|s| s.admin_token = None).await;
    for token in [None, Some(ADMIN_TOKEN)] {
        let r = app.reload(token).await;
        assert_eq!((r.status, r.error_code().as_str()), (404, "admin_disabled"));
        assert_eq!(
            r.json()["error"]["message"],
            "admin routes are disabled: start the service with STANCE_ADMIN_TOKEN set to enable them"
        );
    }
}

#[tokio::test]
async fn reload_of_the_built_in_model_succeeds_and_never_changes_it() {
    let app = spawn_app_with(|s| s.model = None).await;
    let shipped = stance::artifact::load_embedded().expect("built-in model");
    let successes = app
        .metric("stance_model_reloads_total{result=\"success\"}")
        .await;
    for _ in 0..2 {
        let r = app.reload(Some(ADMIN_TOKEN)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["changed"], false, "{v}");
        assert_eq!(v["model"]["checksum"], shipped.checksum());
        assert_eq!(v["previous"], v["model"]);
    }
    assert_eq!(
        app.get("/v1/model").await.json()["checksum"],
        shipped.checksum()
    );
    assert!(
        app.metric("stance_model_reloads_total{result=\"success\"}")
            .await
            >= successes + 2.0,
        "counted as successful reloads"
    );
}

#[tokio::test]
async fn reload_swaps_in_a_new_model_and_scoring_uses_it() {
    let app = spawn_app().await;
    let old = fixture_model();
    let new = write_second_model(&app.model_path);
    assert_ne!(old.checksum(), new.checksum());
    let r = app.reload(Some(ADMIN_TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["model"]["id"], "sanctuary@2.0.0");
    assert_eq!(v["model"]["checksum"], new.checksum());
    // A SIGHUP sent by another test may have reloaded first; `changed` must agree either way.
    assert_eq!(
        v["changed"],
        json!(v["previous"]["checksum"] != v["model"]["checksum"])
    );
    let s = app.score(&json!({"text": ANTI})).await.json();
    assert_eq!(s["model"], "sanctuary@2.0.0");
    assert_eq!(s["checksum"], new.checksum());
    assert_same_as_library(&s, &library_score(&new, ANTI, 0), "after reload");
    assert_eq!(
        app.get("/v1/model").await.json()["checksum"],
        new.checksum()
    );
    assert_eq!(app.get("/readyz").await.json()["model"], "sanctuary@2.0.0");
    assert!(
        app.metric("stance_model_reloads_total{result=\"success\"}")
            .await
            >= 1.0
    );
}

#[tokio::test]
async fn a_corrupted_or_missing_model_is_refused_and_the_old_one_keeps_serving() {
    let app = spawn_app().await;
    let old = fixture_model();
    let good = std::fs::read(&app.model_path).unwrap();
    let truncated = good[..good.len() / 2].to_vec();
    let mut flipped = good.clone();
    let i = flipped.len() - 40;
    flipped[i] = if flipped[i] == b'1' { b'2' } else { b'1' };
    for (case, bytes) in [
        ("truncated", Some(truncated)),
        ("bit flip", Some(flipped)),
        ("garbage", Some(b"not json".to_vec())),
        ("deleted", None),
    ] {
        match bytes {
            Some(b) => std::fs::write(&app.model_path, b).unwrap(),
            None => std::fs::remove_file(&app.model_path).unwrap(),
        }
        let r = app.reload(Some(ADMIN_TOKEN)).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (500, "reload_failed"),
            "{case}"
        );
        let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains(old.checksum()),
            "{case}: names the model still serving: {msg}"
        );
        let s = app.score(&json!({"text": PRO})).await;
        assert_eq!(s.status, 200, "{case}");
        assert_eq!(
            s.json()["checksum"],
            old.checksum(),
            "{case}: old model still serves"
        );
        assert_same_as_library(&s.json(), &library_score(&old, PRO, 0), case);
    }
    assert!(
        app.metric("stance_model_reloads_total{result=\"failure\"}")
            .await
            >= 4.0
    );
    std::fs::write(&app.model_path, &good).unwrap();
    assert_eq!(
        app.reload(Some(ADMIN_TOKEN)).await.status,
        200,
        "a fixed file reloads"
    );
}

#[tokio::test]
async fn sighup_reloads_the_model() {
    let app = spawn_app().await;
    let new = write_second_model(&app.model_path);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = app.get("/v1/model").await.json();
        if v["checksum"] == new.checksum() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the model: still {}",
            v["id"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.score(&json!({"text": PRO})).await.json()["model"],
        "sanctuary@2.0.0"
    );
}

#[tokio::test]
async fn requests_in_flight_during_reloads_all_succeed_on_one_model_or_the_other() {
    let app = std::sync::Arc::new(spawn_app().await);
    let old = fixture_model();
    let new = write_second_model(&app.model_path);
    let text = format!("{PRO}\n{ANTI}");
    let expected_old = json!(library_score(&old, &text, 0).paragraphs);
    let expected_new = json!(library_score(&new, &text, 0).paragraphs);
    let mut clients = Vec::new();
    for _ in 0..4 {
        let app = app.clone();
        let text = text.clone();
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..25 {
                let r = app.score(&json!({"text": text})).await;
                assert_eq!(r.status, 200, "{}", r.text());
                answers.push(r.json());
            }
            answers
        }));
    }
    for _ in 0..10 {
        assert_eq!(app.reload(Some(ADMIN_TOKEN)).await.status, 200);
    }
    for c in clients {
        for v in c.await.unwrap() {
            let expected = if v["checksum"] == old.checksum() {
                &expected_old
            } else {
                assert_eq!(v["checksum"], new.checksum());
                &expected_new
            };
            assert_eq!(
                &v["paragraphs"], expected,
                "scores match the model named in the answer"
            );
        }
    }
}

// ---------------------------------------------------------- concurrency

#[tokio::test]
async fn parallel_clients_get_answers_identical_to_the_library() {
    // Room for all 16 clients at once: this test is about answers under
    // concurrency; refusals over the limit are tests/integration/overload.rs's.
    let app = std::sync::Arc::new(
        spawn_app_with(|s| {
            s.workers = 4;
            s.max_in_flight = 16;
        })
        .await,
    );
    let model = fixture_model();
    let texts: Vec<String> = vec![
        PRO.into(),
        ANTI.into(),
        NEUTRAL.into(),
        UNICODE.into(),
        format!("{PRO}\n\n{ANTI}\n{NEUTRAL}\n{UNICODE}"),
    ];
    let expected: Vec<Value> = texts
        .iter()
        .map(|t| json!(library_score(&model, t, 2)))
        .collect();
    let texts = std::sync::Arc::new(texts);
    let expected = std::sync::Arc::new(expected);
    let mut clients = Vec::new();
    for client in 0..16 {
        let (app, texts, expected) = (app.clone(), texts.clone(), expected.clone());
        clients.push(tokio::spawn(async move {
            for i in 0..20 {
                let k = (client + i) % texts.len();
                let r = app.score(&json!({"text": texts[k], "explain": 2})).await;
                assert_eq!(r.status, 200, "client {client} request {i}: {}", r.text());
                let v = r.json();
                for field in [
                    "label",
                    "probabilities",
                    "stance_index",
                    "low_confidence",
                    "paragraphs",
                ] {
                    assert_eq!(
                        v[field], expected[k][field],
                        "client {client} request {i} text {k}: {field}"
                    );
                }
            }
        }));
    }
    for c in clients {
        c.await.expect("client finishes");
    }
    assert_eq!(app.metric("stance_documents_scored_total").await, 320.0);
}

// ---------------------------------------------------------------- fuzzer

/// A random body: bytes, broken JSON, or JSON of the right shape with wrong
/// or odd values. Fixed seed, so failures reproduce.
fn fuzz_body(rng: &mut StdRng) -> Vec<u8> {
    let odd_strings = [
        "",
        " ",
        "\n\n\n",
        "\u{0}",
        "\u{200b}",
        "😀",
        "e\u{301}",
        "\u{feff}x",
        "a\r\nb",
        "\\",
        "\"",
        "ＩＣＥ",
        "𝔰𝔥𝔢𝔯𝔦𝔣𝔣",
        "\u{10ffff}",
    ];
    let random_value = |rng: &mut StdRng| -> Value {
        match rng.gen_range(0..9) {
            0 => Value::Null,
            1 => json!(rng.gen::<bool>()),
            2 => json!(rng.gen::<i64>()),
            3 => json!(rng.gen::<f64>() * 1e300),
            4 => json!(odd_strings[rng.gen_range(0..odd_strings.len())]),
            5 => json!([1, "two", null]),
            6 => json!({"text": {}}),
            7 => json!(u64::MAX),
            _ => {
                let n = rng.gen_range(0..300);
                json!((0..n)
                    .map(|_| rng.gen_range(' '..='\u{2fff}'))
                    .collect::<String>())
            }
        }
    };
    match rng.gen_range(0..10) {
        0 => (0..rng.gen_range(0..512)).map(|_| rng.gen()).collect(),
        1 => {
            let good = json!({"text": PRO, "explain": 2}).to_string().into_bytes();
            let cut = rng.gen_range(0..good.len());
            good[..cut].to_vec()
        }
        2 => {
            let depth = rng.gen_range(100..5000);
            let mut b = format!("{{\"text\": {}", "[".repeat(depth)).into_bytes();
            b.extend("]".repeat(depth).bytes());
            b.push(b'}');
            b
        }
        3 => json!({"text": random_value(rng), "explain": random_value(rng)}).to_string().into_bytes(),
        4 => json!({"documents": (0..rng.gen_range(0..8)).map(|_| {
            if rng.gen_bool(0.5) { json!({"id": random_value(rng), "text": random_value(rng)}) } else { random_value(rng) }
        }).collect::<Vec<_>>(), "explain": rng.gen_range(0..60)})
        .to_string()
        .into_bytes(),
        5 => {
            let n = rng.gen_range(1..2000);
            let text: String = (0..n)
                .map(|_| match rng.gen_range(0..6) {
                    0 => '\n',
                    1 => ' ',
                    2 => '.',
                    3 => rng.gen_range('\u{80}'..='\u{10ffff}'),
                    _ => rng.gen_range('a'..='z'),
                })
                .collect();
            json!({"text": text, "explain": rng.gen_range(0..=50)}).to_string().into_bytes()
        }
        6 => format!("{{\"text\": \"{}\"}}", ["\\ud800", "\\u00", "\\x41", "\u{7}", "\\uDFFF\\uD800"][rng.gen_range(0..5)]).into_bytes(),
        7 => random_value(rng).to_string().into_bytes(),
        8 => {
            let mut b = json!({"text": ANTI}).to_string().into_bytes();
            let i = rng.gen_range(0..b.len());
            b[i] = rng.gen();
            b
        }
        _ => json!({"text": format!("{NEUTRAL}\n{UNICODE}"), "explain": 1, "extra": random_value(rng)}).to_string().into_bytes(),
    }
}

#[tokio::test]
async fn a_request_fuzzer_never_gets_a_server_error_and_the_service_stays_healthy() {
    let app = spawn_app_with(|s| s.max_body_bytes = 64 * 1024).await;
    let doc = openapi(&app).await;
    let mut rng = StdRng::seed_from_u64(0x57a9ce);
    let paths = [
        "/v1/score",
        "/v1/score/batch",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
        "/admin/reload",
        "/v1/../v1/score",
        "/%ff%fe",
        "/v1/score?explain=1",
        "//v1//score",
    ];
    let methods = [
        "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS",
    ];
    let content_types = [
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/json; charset=utf-16",
        "",
        "multipart/form-data; boundary=x",
    ];
    for i in 0..500 {
        let path = paths[rng.gen_range(0..paths.len())];
        let method = methods[rng.gen_range(0..methods.len())];
        let ct = content_types[rng.gen_range(0..content_types.len())];
        let headers: Vec<(&str, &str)> = if ct.is_empty() {
            vec![]
        } else {
            vec![("content-type", ct)]
        };
        let body = fuzz_body(&mut rng);
        let r = app
            .request(method, path, &headers, Some(body.clone()))
            .await;
        assert!(
            r.status < 500,
            "request {i}: {method} {path} ({ct}) -> {}: {}\nbody: {:?}",
            r.status,
            r.text(),
            String::from_utf8_lossy(&body)
        );
        if r.header("content-type") == Some("application/json") && r.status >= 400 {
            // Error envelopes conform wherever the route documents the status.
            let v = r.json();
            assert!(
                v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                "request {i}: {v}"
            );
            if doc["paths"][path][method.to_ascii_lowercase()]["responses"][r.status.to_string()]
                .is_object()
            {
                assert_conforms(&doc, method, path, &r);
            }
        }
    }
    // Raw junk on the socket: not even HTTP.
    for _ in 0..20 {
        let junk: Vec<u8> = (0..rng.gen_range(1..2048)).map(|_| rng.gen()).collect();
        app.raw(&junk);
    }
    app.raw(b"POST /v1/score HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n{");
    app.raw(b"GET /healthz HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n");
    assert_eq!(app.get("/healthz").await.status, 200);
    let model = fixture_model();
    let r = app.score(&json!({"text": UNICODE})).await;
    assert_eq!(r.status, 200);
    assert_same_as_library(
        &r.json(),
        &library_score(&model, UNICODE, 0),
        "after fuzzing",
    );
    let m = app.get("/metrics").await.text();
    assert!(
        !m.lines()
            .any(|l| l.starts_with("stance_http_requests_total") && l.contains("status=\"5")),
        "no 5xx counted:\n{m}"
    );
}

// ------------------------------------------------------------------- CLI

/// Kills the child if a test fails before it exits, so no server is left behind.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads the child's stderr on a thread; returns the port from the
/// "listening on" line and a receiver of all later lines.
pub fn wait_for_listen(
    child: &mut std::process::Child,
) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("server logs its address");
        if let Some(rest) = line.split("listening on ").nth(1) {
            let addr = rest
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .unwrap_or_default();
            let port = addr.rsplit(':').next().unwrap().parse().expect("port");
            return (port, rx);
        }
    }
}

fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = ureq::request(method, &format!("http://127.0.0.1:{port}{path}"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let r = match body {
        Some(b) => req.set("content-type", "application/json").send_string(b),
        None => req.call(),
    };
    match r {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

#[test]
fn stance_serve_logs_each_request_and_drains_in_flight_requests_on_sigterm() {
    let mut child = ChildGuard(
        stance_cmd()
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
            .env("STANCE_MODEL", fixture_model_path())
            .env("RUST_LOG", "info")
            .env("STANCE_LOG_FORMAT", "json")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start stance serve"),
    );
    let (port, lines) = wait_for_listen(&mut child.0);
    let (status, body) = http(
        port,
        "POST",
        "/v1/score",
        Some(&json!({"text": PRO}).to_string()),
        &[("x-request-id", "cli-test-1")],
    );
    assert_eq!(status, 200, "{body}");
    // A large document keeps a worker busy while SIGTERM arrives.
    let big = json!({"text": format!("{PRO}\n").repeat(9000)}).to_string();
    let in_flight = std::thread::spawn(move || http(port, "POST", "/v1/score", Some(&big), &[]));
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (status, body) = in_flight.join().expect("in-flight request");
    assert_eq!(status, 200, "the in-flight request finished: {body}");
    let exit = child.0.wait().expect("wait");
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    let log: Vec<String> = lines.try_iter().collect();
    let line = log
        .iter()
        .find(|l| l.contains("cli-test-1"))
        .unwrap_or_else(|| panic!("no log line for the request in {log:#?}"));
    let v: Value = serde_json::from_str(line).expect("json log line");
    let f = &v["fields"];
    assert_eq!(
        (
            f["method"].as_str(),
            f["path"].as_str(),
            f["status"].as_u64()
        ),
        (Some("POST"), Some("/v1/score"), Some(200)),
        "{line}"
    );
    assert!(f["latency_ms"].as_f64().is_some(), "{line}");
}

#[test]
fn stance_serve_refuses_invalid_settings_naming_the_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str], &str); 6] = [
        ("STANCE_WORKERS", "zero", &[], "an integer from 1 to 1024"),
        (
            "STANCE_LOW_CONFIDENCE_MARGIN",
            "2",
            &[],
            "a number from 0 to 1",
        ),
        ("STANCE_BIND", "localhost", &[], "127.0.0.1:8080"),
        (
            "STANCE_WORKERS",
            "2",
            &["--workers", "0"],
            "an integer from 1 to 1024",
        ),
        // The flag wins over the variable.
        (
            "STANCE_PERSPECTIVE_MAX_COMMENT_BYTES",
            "100",
            &["--perspective-max-comment-bytes", "0"],
            "perspective_max_comment_bytes",
        ),
        (
            "STANCE_API_KEYS_FILE",
            "",
            &["--api-keys-file", "no-such-keys.txt"],
            "no-such-keys.txt",
        ),
    ];
    for (var, value, args, expected) in cases {
        let out = stance_cmd()
            .current_dir(dir.path())
            .arg("serve")
            .args(args)
            .env("STANCE_MODEL", fixture_model_path())
            .env(var, value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value} {args:?}: {err}");
        assert!(err.contains(expected), "{var}={value} {args:?}: {err}");
    }
    let out = stance_cmd()
        .current_dir(dir.path())
        .args(["serve", "--model", "missing.json", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
}

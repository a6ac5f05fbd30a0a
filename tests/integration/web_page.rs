//! The web page at `/` and its files under `/ui/`, over real HTTP: content
//! types, the Content-Security-Policy and cache headers, ETag revalidation,
//! and that API keys guard the scoring API but never the page. The page's
//! behaviour in a browser is `scripts/browser_test.sh`'s.

use std::io::Write;

use serde_json::json;

use crate::api::{spawn_app, spawn_app_with, TestResponse};

/// Each file served, its URL and content type, and its source file.
const FILES: [(&str, &str, &str); 4] = [
    ("/", "text/html; charset=utf-8", "index.html"),
    ("/ui/app.js", "text/javascript; charset=utf-8", "app.js"),
    ("/ui/style.css", "text/css; charset=utf-8", "style.css"),
    ("/ui/icon.svg", "image/svg+xml", "icon.svg"),
];

fn source(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/server/web")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_page_headers(r: &TestResponse, case: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{case}: CSP {csp:?} lacks {directive}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{case}: {csp}"
    );
    assert_eq!(r.header("cache-control"), Some("no-cache"), "{case}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{case}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{case}");
    let etag = r.header("etag").unwrap_or_default();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{case}: etag {etag:?}"
    );
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_their_types_and_a_strict_csp() {
    let app = spawn_app().await;
    for (path, content_type, file) in FILES {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_page_headers(&r, path);
        assert_eq!(r.body, source(file), "{path} is {file} as embedded");
    }
    let html = app.get("/").await.text();
    for needed in [
        "<script src=\"/ui/app.js\" defer>",
        "href=\"/ui/style.css\"",
        "<label for=\"text\">",
    ] {
        assert!(html.contains(needed), "the page has {needed}");
    }
}

#[tokio::test]
async fn an_unchanged_file_is_revalidated_with_304_and_head_has_no_body() {
    let app = spawn_app().await;
    for (path, ..) in FILES {
        let etag = app.get(path).await.header("etag").unwrap().to_string();
        let r = app
            .request("GET", path, &[("if-none-match", &etag)], None)
            .await;
        assert_eq!(r.status, 304, "{path}");
        assert!(r.body.is_empty(), "{path}: a 304 has no body");
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{path}");
        assert_page_headers(&r, path);
        let r = app
            .request("GET", path, &[("if-none-match", "\"stale\"")], None)
            .await;
        assert_eq!(r.status, 200, "{path} with a stale etag");
        let r = app.request("HEAD", path, &[], None).await;
        assert_eq!(r.status, 200, "HEAD {path}");
        assert!(r.body.is_empty(), "HEAD {path} has no body");
    }
}

#[tokio::test]
async fn unknown_files_are_404_and_other_methods_405_in_the_json_envelope() {
    let app = spawn_app().await;
    for path in ["/ui/missing.js", "/ui/", "/index.html", "/ui/../Cargo.toml"] {
        let r = app.get(path).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "not_found"),
            "{path}"
        );
    }
    for (method, path) in [("POST", "/"), ("PUT", "/ui/app.js"), ("DELETE", "/")] {
        let r = app.request(method, path, &[], None).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.error_code(), "method_not_allowed", "{method} {path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method} {path}");
    }
}

#[tokio::test]
async fn the_page_is_not_part_of_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json").await.json();
    let paths = doc["paths"].as_object().unwrap();
    for path in ["/", "/ui/{name}"] {
        assert!(!paths.contains_key(path), "{path} is documented as API");
    }
}

#[tokio::test]
async fn with_api_keys_on_the_page_is_open_and_the_scoring_api_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.txt");
    let key = "page-test-key-0123456789";
    std::fs::File::create(&path)
        .and_then(|mut f| writeln!(f, "{key}"))
        .unwrap();
    let app = spawn_app_with(|s| s.api_keys_file = Some(path)).await;
    for (path, ..) in FILES {
        assert_eq!(app.get(path).await.status, 200, "{path} without a key");
    }
    assert_eq!(
        app.get("/v1/model").await.status,
        200,
        "the page reads the model without a key"
    );
    let body = json!({"text": "The city will not honor ICE detainers.", "explain": 2});
    let r = app.score(&body).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "unauthorized"),
        "no key"
    );
    let bearer = format!("Bearer {key}");
    let r = app
        .request(
            "POST",
            "/v1/score",
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "the key as the page sends it: {}", r.text());
}

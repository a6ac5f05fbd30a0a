//! The API contract: the served OpenAPI document states what the server
//! enforces, and the server accepts exactly what the document says. Each
//! case sends one request, checks the server's answer, and checks that the
//! document's request schema agrees (valid when the server accepts it,
//! invalid when the server refuses it for its shape or values). The cases
//! include every contract failure schemathesis found; `scripts/schemathesis.sh`
//! runs schemathesis itself against the real binary.

use serde_json::{json, Value};

use crate::api::{spawn_app, spawn_app_with, TestApp, TestResponse, ADMIN_TOKEN};
use crate::helpers::fixture_model;
use crate::schema::{errors, is_valid, request_schema, resolve};

const PRO: &str =
    "Families should not fear calling the police, and the city will not honor ICE detainers.";

async fn served(app: &TestApp) -> Value {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> TestResponse {
    app.post_json(path, body).await
}

/// Sends `body` to `path` (documented as `doc_path`), and checks that the
/// server accepts it (2xx) exactly when the request schema does.
async fn agree(
    app: &TestApp,
    doc: &Value,
    doc_path: &str,
    path: &str,
    body: &Value,
    case: &str,
) -> TestResponse {
    let r = post_json(app, path, body).await;
    let schema = request_schema(doc, doc_path, "post");
    let problems = errors(doc, schema, body);
    let accepted = (200..300).contains(&r.status);
    assert_eq!(
        accepted,
        problems.is_empty(),
        "{case}: server answered {} ({}) but the schema says {:?}",
        r.status,
        r.text(),
        problems
    );
    r
}

#[tokio::test]
async fn score_explain_is_bounded_by_the_schema_as_by_the_server() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let max = &doc["components"]["schemas"]["ScoreRequest"]["properties"]["explain"]["maximum"];
    assert_eq!(
        max,
        &json!(app.settings.max_explain),
        "the document states max_explain"
    );
    // schemathesis: `explain: 575` was schema-valid and refused.
    let r = agree(
        &app,
        &doc,
        "/v1/score",
        "/v1/score",
        &json!({"text": PRO, "explain": 575}),
        "explain 575",
    )
    .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "explain_out_of_range")
    );
    agree(
        &app,
        &doc,
        "/v1/score",
        "/v1/score",
        &json!({"text": PRO, "explain": 50}),
        "explain 50",
    )
    .await;
    // 3.0 is an integer in JSON Schema, and the server takes it as 3.
    let r = agree(
        &app,
        &doc,
        "/v1/score",
        "/v1/score",
        &json!({"text": PRO, "explain": 3.0}),
        "explain 3.0",
    )
    .await;
    let toward = r.json()["paragraphs"][0]["explanation"]["toward"]
        .as_array()
        .map(Vec::len);
    assert!(toward.is_some_and(|n| (1..=3).contains(&n)), "{}", r.text());
    for (body, case) in [
        (json!({"text": PRO, "explain": 2.5}), "explain 2.5"),
        (json!({"text": PRO, "explain": -1}), "explain -1"),
        (json!({"text": "  \u{2003}\n"}), "blank text"),
        (json!({"text": ""}), "empty text"),
        (json!({"text": PRO, "extra": 1}), "unknown field"),
    ] {
        let r = agree(&app, &doc, "/v1/score", "/v1/score", &body, case).await;
        assert_eq!(r.status, 422, "{case}");
    }
    // Another setting, another document.
    let small = spawn_app_with(|s| {
        s.max_explain = 4;
        s.max_batch_size = 2;
    })
    .await;
    let doc = served(&small).await;
    for (body, path) in [
        (json!({"text": PRO, "explain": 5}), "/v1/score"),
        (
            json!({"documents": [{"id": "a", "text": PRO}], "explain": 5}),
            "/v1/score/batch",
        ),
        (
            json!({"documents": [{"id": "a", "text": PRO}, {"id": "b", "text": PRO}, {"id": "c", "text": PRO}]}),
            "/v1/score/batch",
        ),
    ] {
        let r = agree(&small, &doc, path, path, &body, "over the small limits").await;
        assert_eq!(r.status, 422);
    }
    agree(
        &small,
        &doc,
        "/v1/score",
        "/v1/score",
        &json!({"text": PRO, "explain": 4}),
        "at the limit",
    )
    .await;
}

#[tokio::test]
async fn batch_documents_refuse_unknown_fields_like_top_level_bodies() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    // schemathesis: an unknown property inside a document was accepted (200).
    let body = json!({"documents": [{"id": "", "text": "0", "x-schemathesis-unknown-property": 42}], "explain": 0});
    let r = agree(
        &app,
        &doc,
        "/v1/score/batch",
        "/v1/score/batch",
        &body,
        "unknown property",
    )
    .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "invalid_request")
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("documents[0].x-schemathesis-unknown-property: unknown field"),
        "{}",
        r.text()
    );
    // The top level refuses unknown fields the same way.
    let r = agree(
        &app,
        &doc,
        "/v1/score/batch",
        "/v1/score/batch",
        &json!({"documents": [{"id": "a", "text": PRO}], "extra": 1}),
        "top-level unknown",
    )
    .await;
    assert_eq!(r.status, 422);
    // Empty and blank text are schema-valid: each gets its own error entry.
    let body = json!({"documents": [{"id": "a", "text": PRO}, {"id": "b", "text": ""}, {"id": "c", "text": " \t"}]});
    let r = agree(
        &app,
        &doc,
        "/v1/score/batch",
        "/v1/score/batch",
        &body,
        "empty texts",
    )
    .await;
    let v = r.json();
    assert_eq!(
        (v["scored"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
}

#[tokio::test]
async fn non_object_bodies_and_objects_written_as_arrays_are_refused() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    for path in ["/v1/score", "/v1/score/batch"] {
        for body in [json!([PRO]), json!(PRO), json!(null), json!(3)] {
            let r = agree(&app, &doc, path, path, &body, &format!("{path} {body}")).await;
            assert_eq!(
                (r.status, r.error_code().as_str()),
                (422, "invalid_request"),
                "{path} {body}"
            );
        }
    }
    let analyze = "/v1alpha1/comments:analyze";
    let suggest = "/v1alpha1/comments:suggestscore";
    let infer = "/v2/models/{name}/infer";
    let infer_at = format!("/v2/models/{}/infer", fixture_model().meta().name);
    let cases: Vec<(&str, String, Value)> = vec![
        (
            analyze,
            analyze.into(),
            json!([{"text": PRO}, null, {"STANCE_NEUTRAL": {}}]),
        ),
        (
            analyze,
            analyze.into(),
            json!({"comment": [PRO], "requestedAttributes": {"STANCE_NEUTRAL": {}}}),
        ),
        (suggest, suggest.into(), json!([{"text": PRO}])),
        (suggest, suggest.into(), json!({"comment": [PRO]})),
        (
            infer,
            infer_at.clone(),
            json!([[{"name": "t", "shape": [1], "datatype": "BYTES", "data": [PRO]}]]),
        ),
        (
            infer,
            infer_at.clone(),
            json!({"inputs": [["t", [1], "BYTES", null, [PRO]]]}),
        ),
    ];
    for (doc_path, path, body) in cases {
        let r = agree(
            &app,
            &doc,
            doc_path,
            &path,
            &body,
            &format!("{path} {body}"),
        )
        .await;
        assert_eq!(r.status, 400, "{path} {body}");
    }
}

/// A request to `path` (analyze or suggestscore) carrying `comment`.
fn comment_body(path: &str, comment: Value) -> Value {
    if path.ends_with("analyze") {
        json!({"comment": comment, "requestedAttributes": {"STANCE_PRO_SANCTUARY": {}}})
    } else {
        json!({"comment": comment, "clientToken": "t"})
    }
}

#[tokio::test]
async fn perspective_comments_must_be_plain_non_blank_text_in_schema_and_server() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    for path in [
        "/v1alpha1/comments:analyze",
        "/v1alpha1/comments:suggestscore",
    ] {
        // schemathesis: HTML and empty text were schema-valid and refused.
        let refused = [
            (json!({"text": PRO, "type": "HTML"}), "INVALID_REQUEST"),
            (json!({"text": PRO, "type": "MARKDOWN"}), "INVALID_REQUEST"),
            (json!({"text": ""}), "COMMENT_EMPTY"),
            (json!({"text": " \n\u{3000}"}), "COMMENT_EMPTY"),
            (json!({"type": "PLAIN_TEXT"}), "COMMENT_EMPTY"),
        ];
        for (comment, error_type) in refused {
            let r = agree(
                &app,
                &doc,
                path,
                path,
                &comment_body(path, comment.clone()),
                &format!("{path} {comment}"),
            )
            .await;
            assert_eq!(r.status, 400, "{path} {comment}");
            assert_eq!(
                r.json()["error"]["details"][0]["errorType"],
                error_type,
                "{path} {comment}: {}",
                r.text()
            );
        }
        for comment in [
            json!({"text": PRO}),
            json!({"text": PRO, "type": "PLAIN_TEXT"}),
            json!({"text": PRO, "type": "TEXT_TYPE_UNSPECIFIED"}),
            json!({"text": "\u{feff}x", "type": null}),
        ] {
            agree(
                &app,
                &doc,
                path,
                path,
                &comment_body(path, comment.clone()),
                &format!("{path} {comment}"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn perspective_spellings_attributes_and_languages_are_stated_in_the_schema() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let path = "/v1alpha1/comments:analyze";
    let version = fixture_model().meta().version.clone();
    let major = version.split('.').next().unwrap().to_string();
    let comment = json!({"text": PRO});
    let accepted = [
        json!({"comment": comment, "requested_attributes": {"STANCE_NEUTRAL": null}}),
        json!({"comment": comment, "requestedAttributes": {format!("STANCE_NEUTRAL@{version}"): {"score_type": "PROBABILITY"}}}),
        json!({"comment": comment, "requestedAttributes": {format!("STANCE_NEUTRAL@{major}"): {}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": ["fr", "EN-gb"]}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": ["fr"], "dropUnsupportedAttributes": true}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": [], "clientToken": null, "context": null}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "context": {"entries": [], "articleAndParentComment": {"article": {"text": "a", "type": "HTML"}}}}),
    ];
    for body in accepted {
        agree(&app, &doc, path, path, &body, &body.to_string()).await;
    }
    let refused = [
        json!({"comment": comment}),
        json!({"comment": comment, "requestedAttributes": {}}),
        json!({"comment": comment, "requestedAttributes": {"TOXICITY": {}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL@9.9": {}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {"scoreType": "RAW"}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {"extra": 1}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "requested_attributes": {"STANCE_NEUTRAL": {}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "clientToken": "a", "client_token": "b"}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": ["fr"]}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": ["fr"], "dropUnsupportedAttributes": false}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "context": {"entries": [{"text": "e"}], "articleAndParentComment": {}}}),
        json!({"comment": comment, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "unknown": 1}),
    ];
    for body in refused {
        let r = agree(&app, &doc, path, path, &body, &body.to_string()).await;
        assert_eq!(r.status, 400, "{body}");
    }
}

fn infer_input(shape: Value, data: Value) -> Value {
    json!({"inputs": [{"name": "text", "shape": shape, "datatype": "BYTES", "data": data}]})
}

#[tokio::test]
async fn kserve_inputs_are_described_with_their_shape_and_json_form() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let meta = fixture_model().meta().clone();
    let tmpl = "/v2/models/{name}/infer";
    let path = format!("/v2/models/{}/infer", meta.name);
    // schemathesis: shape [0] was schema-valid and refused.
    for (body, case) in [
        (infer_input(json!([0]), json!([])), "shape [0]"),
        (infer_input(json!([0]), json!(null)), "shape [0], no data"),
        (
            infer_input(json!([1, 2]), json!([[PRO, PRO]])),
            "shape [1, 2]",
        ),
        (infer_input(json!([1]), json!([" "])), "blank text"),
        (
            infer_input(json!([101]), json!(vec![PRO; 101])),
            "over max_batch_size",
        ),
        (
            json!({"inputs": [{"name": "t", "shape": [1], "datatype": "FP32", "data": [PRO]}]}),
            "datatype",
        ),
        (
            json!({"inputs": [{"name": "t", "shape": [1], "datatype": "BYTES", "data": [PRO], "parameters": {"binary_data_size": 4}}]}),
            "binary_data_size in JSON",
        ),
        (
            json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [PRO]}], "outputs": [{"name": "logits"}]}),
            "unknown output",
        ),
    ] {
        let r = agree(&app, &doc, tmpl, &path, &body, case).await;
        assert_eq!(r.status, 400, "{case}");
    }
    for (body, case) in [
        (infer_input(json!([1]), json!([PRO])), "flat"),
        (
            infer_input(json!([2.0, 1]), json!([[PRO], [PRO]])),
            "column, 2.0",
        ),
        (
            json!({"id": null, "parameters": null, "inputs": [{"name": "t", "shape": [1], "datatype": "BYTES", "data": [PRO], "parameters": null}], "outputs": null}),
            "nulls",
        ),
    ] {
        agree(&app, &doc, tmpl, &path, &body, case).await;
    }
    // The one rule JSON Schema cannot state (counted texts vs the shape) is
    // in the description, and the server enforces it.
    let count = infer_input(json!([2]), json!([PRO]));
    assert!(is_valid(&doc, request_schema(&doc, tmpl, "post"), &count));
    let r = post_json(&app, &path, &count).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let input = resolve(&doc, "#/components/schemas/KServeRequestInput");
    assert!(input["description"]
        .as_str()
        .unwrap()
        .contains("must equal N"));
    // schemathesis: a non-JSON body was "schema-valid" because the document
    // offered application/octet-stream with any bytes. It documents the JSON
    // form only; the binary extension is in the description.
    for p in [tmpl, "/v2/models/{name}/versions/{version}/infer"] {
        let content = doc["paths"][p]["post"]["requestBody"]["content"]
            .as_object()
            .unwrap();
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["application/json"],
            "{p}"
        );
        assert!(doc["paths"][p]["post"]["description"]
            .as_str()
            .unwrap()
            .contains("Inference-Header-Content-Length"));
    }
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    let r = app
        .request(
            "POST",
            &path,
            &[("content-type", "application/octet-stream")],
            Some(png),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // The path parameters name the serving model; another is 404.
    assert_eq!(
        doc["components"]["parameters"]["KServeModelName"]["schema"]["enum"],
        json!([meta.name])
    );
    assert_eq!(
        doc["components"]["parameters"]["KServeModelVersion"]["schema"]["enum"],
        json!([meta.version])
    );
    let r = post_json(
        &app,
        "/v2/models/other/infer",
        &infer_input(json!([1]), json!([PRO])),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn admin_reload_is_documented_as_the_server_answers_it() {
    // With a token: bearer auth required, 401 without it.
    let app = spawn_app().await;
    let doc = served(&app).await;
    let op = &doc["paths"]["/admin/reload"]["post"];
    assert_eq!(op["security"], json!([{"adminToken": []}]));
    assert!(op["responses"]["404"].is_null(), "{op}");
    let r = app.reload(None).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    assert!(op["responses"]["401"].is_object());
    assert_eq!(app.reload(Some(ADMIN_TOKEN)).await.status, 200);

    // schemathesis: without a token configured the route answered 404 to a
    // request missing its "required" Authorization header. The document now
    // says the route is disabled: no security, 404 (and 405) only.
    let off = spawn_app_with(|s| s.admin_token = None).await;
    let doc = served(&off).await;
    let op = &doc["paths"]["/admin/reload"]["post"];
    assert!(op["security"].is_null(), "{op}");
    let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["404", "405"]);
    for token in [None, Some("anything"), Some(ADMIN_TOKEN)] {
        let r = off.reload(token).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "admin_disabled"),
            "{token:?}"
        );
    }
}

#[tokio::test]
async fn every_request_example_is_schema_valid_and_scored() {
    let app = spawn_app_with(|s| s.admin_token = None).await;
    let doc = served(&app).await;
    let meta = fixture_model().meta().clone();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("post") else { continue };
        let Some(example) = op["requestBody"]["content"]["application/json"].get("example") else {
            continue;
        };
        seen += 1;
        let real = path
            .replace("{name}", &meta.name)
            .replace("{version}", &meta.version);
        let r = agree(&app, &doc, path, &real, example, path).await;
        assert_eq!(r.status, 200, "{path}");
    }
    assert_eq!(seen, 6, "request examples in the document");
}

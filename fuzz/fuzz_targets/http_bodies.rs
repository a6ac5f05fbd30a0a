//! Every JSON request body through the functions its route calls, in the
//! route's order: `/v1/score`, `/v1/score/batch` (body, then each
//! document), Perspective's `comments:analyze` and `comments:suggestscore`,
//! and the Open Inference Protocol's `infer` (JSON, and the binary tensor
//! extension with the first two bytes as the JSON part's length). A body is
//! either scored (valid probabilities and offsets, a serializable answer)
//! or refused with a 4xx; a 5xx would be a server bug.
#![no_main]

use std::sync::LazyLock;

use actix_web::ResponseError;
use libfuzzer_sys::fuzz_target;
use stance::pipeline::ScoreError;
use stance::server::extract::parse_json;
use stance::server::routes::score::{parse_document, BatchRequest, ScoreRequest};
use stance::server::{kserve, perspective, ApiError, AppState, Settings};
use stance::DocumentOptions;
use stance_fuzz::{check_document, check_probabilities};

/// The server's state with default settings and the shipped model.
static STATE: LazyLock<AppState> = LazyLock::new(|| {
    let model = stance::artifact::load_embedded().expect("the shipped model loads");
    AppState::new(Settings::default(), model)
});

fn refused(status: actix_web::http::StatusCode, what: &str, msg: &str) {
    assert!(
        status.is_client_error(),
        "{what}: {status} for a bad body: {msg}"
    );
    assert!(!msg.is_empty(), "{what}: an error must say what was wrong");
}

fn api_refused(e: ApiError, what: &str) {
    let body = e.body();
    refused(e.status_code(), what, &body.error.message);
    serde_json::to_vec(&body).expect("error bodies serialize");
}

/// Scores as the routes do; blank text is the caller's fault.
fn score(text: &str, opts: &DocumentOptions) -> Option<stance::DocumentScore> {
    match STATE.model().score_document(text, opts) {
        Ok(doc) => {
            check_document(text, opts, &doc);
            Some(doc)
        }
        Err(ScoreError::EmptyText) => None,
        Err(e) => panic!("unexpected score error {e}"),
    }
}

fn v1(data: &[u8], settings: &Settings) {
    let opts_for = |explain: Option<usize>| STATE.document_options(explain.unwrap_or(0));
    match parse_json::<ScoreRequest>(data).and_then(|r| Ok((opts_for(r.explain)?, r))) {
        Ok((opts, req)) => {
            score(&req.text, &opts);
        }
        Err(e) => api_refused(e, "/v1/score"),
    }
    let batch = parse_json::<BatchRequest>(data).and_then(|req| {
        let docs = req
            .documents
            .iter()
            .enumerate()
            .map(|(i, raw)| parse_document(i, raw))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((opts_for(req.explain)?, docs))
    });
    match batch {
        Ok((opts, docs)) => {
            for d in docs.iter().take(settings.max_batch_size) {
                score(&d.text, &opts);
            }
        }
        Err(e) => api_refused(e, "/v1/score/batch"),
    }
}

fn perspective(data: &[u8], settings: &Settings) {
    let max = settings.perspective_max_comment_bytes;
    let checked = perspective::parse_request(data)
        .and_then(|r| perspective::check_request(r, &STATE.model().meta().version, max));
    match checked {
        Ok(req) => {
            assert!(req.text.len() <= max, "comment over the limit was accepted");
            let opts = settings.document_options();
            if let Some(doc) = score(&req.text, &opts) {
                let answer = perspective::respond(&req, &doc);
                serde_json::to_vec(&answer).expect("answers serialize");
            }
        }
        Err(e) => {
            refused(e.status(), "comments:analyze", &e.to_string());
            e.body();
        }
    }
    if let Err(e) = perspective::acknowledge_suggestion(data, max) {
        refused(e.status(), "comments:suggestscore", &e.to_string());
    }
}

fn kserve_infer(body: &[u8], header_len: Option<&str>, settings: &Settings) {
    let checked = kserve::parse_body(body, header_len)
        .and_then(|(req, binary)| kserve::check_request(req, binary, settings.max_batch_size));
    match checked {
        Ok(input) => {
            assert!(!input.texts.is_empty() && input.texts.len() <= settings.max_batch_size);
            let opts = settings.document_options();
            let mut probs = Vec::new();
            for t in &input.texts {
                let doc = score(t, &opts).expect("infer refuses blank texts");
                check_probabilities(&doc.probabilities, "infer");
                probs.push(doc.probabilities);
            }
            let model = STATE.model();
            let meta = model.meta();
            let answer = kserve::respond(&meta.name, &meta.version, &input, &probs);
            serde_json::to_vec(&answer).expect("answers serialize");
        }
        Err(e) => {
            refused(e.status_code(), "infer", &e.to_string());
            e.body();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let settings = STATE.settings();
    v1(data, settings);
    perspective(data, settings);
    kserve_infer(data, None, settings);
    if let [a, b, rest @ ..] = data {
        let n = u16::from_le_bytes([*a, *b]) % 1024;
        kserve_infer(rest, Some(&n.to_string()), settings);
    }
});

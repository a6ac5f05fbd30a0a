//! `POST /v1/score` (one document) and `POST /v1/score/batch` (many, each
//! with its own result or error entry). Both score through
//! [`crate::StanceModel::score_document`], the one scoring path, and name
//! the model id, version and checksum that produced the answer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{json_ok, method_not_allowed};
use crate::label::{Label, Probabilities};
use crate::pipeline::{DocumentScore, ParagraphScore, ScoreError};
use crate::server::error::{ApiError, ErrorDetail};
use crate::server::extract::{parse_object, ApiJson};
use crate::server::overload::permit;
use crate::server::state::AppState;
use crate::server::strict::count_opt;
use crate::{DocumentOptions, StanceModel};

/// Registers `/v1/score` and `/v1/score/batch`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/score")
            .route(web::post().to(score))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/v1/score/batch")
            .route(web::post().to(score_batch))
            .default_service(method_not_allowed("POST")),
    );
}

/// Body of `POST /v1/score`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// The document.
    pub text: String,
    /// Terms to list toward and against each paragraph's label (0 = none).
    #[serde(default, deserialize_with = "count_opt")]
    pub explain: Option<usize>,
}

/// The score of one document, as answered.
#[derive(Debug, Serialize)]
pub struct ScoreResponse<'a> {
    /// `name@version` of the model.
    pub model: String,
    /// Model version.
    pub version: &'a str,
    /// Model checksum.
    pub checksum: &'a str,
    /// Document label.
    pub label: Label,
    /// Document probabilities (length-weighted mean of the paragraphs').
    pub probabilities: Probabilities,
    /// P(pro) - P(anti).
    pub stance_index: f64,
    /// Top-two margin below the threshold.
    pub low_confidence: bool,
    /// Paragraphs, in text order.
    pub paragraphs: &'a [ParagraphScore],
}

impl<'a> ScoreResponse<'a> {
    /// The answer for `doc`, scored by `model`.
    pub fn new(model: &'a StanceModel, doc: &'a DocumentScore) -> Self {
        Self {
            model: model.id(),
            version: &model.meta().version,
            checksum: model.checksum(),
            label: doc.label,
            probabilities: doc.probabilities,
            stance_index: doc.stance_index,
            low_confidence: doc.low_confidence,
            paragraphs: &doc.paragraphs,
        }
    }
}

/// Work (text or batch body, in bytes) up to this size is scored inline on
/// the actix worker; larger work goes to Tokio's blocking pool.
///
/// Measured 2026-11-24 on this 2-core machine (release build, fixture
/// model, 2 workers, `/tmp` ureq load generator on the same cores, other
/// builds running, so +-20%): one client, p50 latency 1 KB inline 104 us vs
/// `spawn_blocking` 155 us; 20 KB 1.38 ms vs 1.36 ms (about 1.3 ms of pure
/// scoring). Eight clients, requests/s: 1 KB inline 11-14k vs 8-11k; 20 KB
/// 360-920 vs 680-960 (noise dominates). So the hand-off costs ~50 us, a
/// third of a small request, and buys nothing on a CPU-bound path where the
/// worker count already equals the core count. It does buy isolation for big
/// inputs: a 1 MiB document (~70 ms) on the blocking pool does not stall the
/// small requests queued on the same worker. 64 KiB (~4 ms of scoring)
/// splits the two cases.
///
/// Under load, inline scoring makes the worker's event loop the queue: a
/// storm of 2,000 connections sending 20 KB documents was all answered 200,
/// never 503, at 2,700/s, with `/healthz` waiting 380 ms (p50) behind the
/// scoring (`scripts/overload.sh`, 2026-12-06). So work is inline only when
/// it is small *and* no other scoring request is in flight ([`inline`]).
pub const INLINE_BYTES: usize = 64 * 1024;

/// Whether to score `bytes` of text on the calling worker: small work while
/// this request is the only one holding an in-flight slot. Otherwise the
/// work goes to the blocking pool, so the event loops stay free to answer
/// health checks and to refuse requests over `max_in_flight` at once.
pub fn inline(state: &AppState, bytes: usize) -> bool {
    bytes <= INLINE_BYTES && state.in_flight().current() <= 1
}

/// Scores one document on the calling thread. A panic in the scorer (a bug:
/// none is known) becomes an opaque 500 instead of killing the worker.
fn score_document(
    model: &StanceModel,
    text: &str,
    opts: &DocumentOptions,
) -> Result<DocumentScore, ApiError> {
    match catch_unwind(AssertUnwindSafe(|| model.score_document(text, opts))) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(ScoreError::EmptyText)) => Err(ApiError::EmptyText {
            field: "text".into(),
        }),
        // `ScoreError` may grow variants; they are the caller's fault too.
        #[allow(unreachable_patterns)]
        Ok(Err(e)) => Err(ApiError::InvalidRequest(e.to_string())),
        Err(_) => Err(ApiError::internal("the scorer panicked")),
    }
}

async fn score(
    http: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(mut req): ApiJson<ScoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let opts = state.document_options(req.explain.unwrap_or(0))?;
    let model = state.model();
    let doc = if inline(&state, req.text.len()) {
        score_document(&model, &req.text, &opts)?
    } else {
        let m = Arc::clone(&model);
        let text = std::mem::take(&mut req.text);
        // The slot goes with the work: if the deadline passes, the work
        // finishes in the background and frees the slot only then.
        let permit = permit(&http);
        let (doc, text) = tokio::task::spawn_blocking(move || {
            let doc = score_document(&m, &text, &opts);
            drop(permit);
            (doc, text)
        })
        .await
        .map_err(ApiError::internal)?;
        req.text = text;
        doc?
    };
    state
        .metrics()
        .observe_document(req.text.len(), doc.paragraphs.len());
    json_ok(&ScoreResponse::new(&model, &doc))
}

/// Body of `POST /v1/score/batch`. Documents are kept raw here and parsed
/// one by one ([`parse_document`]) so that an error names the document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The documents, each `{"id": "...", "text": "..."}`.
    pub documents: Vec<Box<RawValue>>,
    /// Terms to list per paragraph, for every document (0 = none).
    #[serde(default, deserialize_with = "count_opt")]
    pub explain: Option<usize>,
}

/// One document of a batch.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with string fields `id` and `text`"
)]
pub struct BatchDocument {
    /// Caller's id, echoed in the result.
    pub id: String,
    /// The document.
    pub text: String,
}

/// A batch document that was scored.
#[derive(Debug, Serialize)]
struct BatchScored {
    index: usize,
    id: String,
    label: Label,
    probabilities: Probabilities,
    stance_index: f64,
    low_confidence: bool,
    paragraphs: Vec<ParagraphScore>,
}

/// A batch document that could not be scored (its text is empty or blank).
#[derive(Debug, Serialize)]
struct BatchFailed {
    index: usize,
    id: String,
    error: ErrorDetail,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum BatchEntry {
    Scored(BatchScored),
    Failed(BatchFailed),
}

#[derive(Debug, Serialize)]
struct BatchResponse<'a> {
    model: String,
    version: &'a str,
    checksum: &'a str,
    scored: usize,
    failed: usize,
    results: Vec<BatchEntry>,
}

/// Parses document `index` of a batch. A document of the wrong shape (not an
/// object, `id` or `text` missing or not a string, an unknown field) fails the
/// whole request with 422, as a top-level body of the wrong shape does: the
/// schema refuses it, so the server does too. The message names the document.
pub fn parse_document(index: usize, raw: &RawValue) -> Result<BatchDocument, ApiError> {
    // The same parser as whole bodies: a document must be an object, and a
    // shape error names the field in the API's words.
    parse_object(raw.get().as_bytes(), "a document").map_err(|e| {
        let msg = match e {
            ApiError::InvalidRequest(msg) => msg,
            other => other.to_string(),
        };
        ApiError::InvalidRequest(match msg.split_once(": ") {
            Some((field, rest)) if !field.contains(' ') => {
                format!("documents[{index}].{field}: {rest}")
            }
            _ => format!("documents[{index}]: {msg}"),
        })
    })
}

/// Scores one well-formed document; empty or blank text gets an error entry.
fn score_entry(
    model: &StanceModel,
    index: usize,
    doc: BatchDocument,
    opts: &DocumentOptions,
    state: &AppState,
) -> BatchEntry {
    let failed = |id: String, e: ApiError| {
        state.metrics().observe_rejected_document();
        BatchEntry::Failed(BatchFailed {
            index,
            id,
            error: e.body().error,
        })
    };
    match score_document(model, &doc.text, opts) {
        Ok(s) => {
            state
                .metrics()
                .observe_document(doc.text.len(), s.paragraphs.len());
            BatchEntry::Scored(BatchScored {
                index,
                id: doc.id,
                label: s.label,
                probabilities: s.probabilities,
                stance_index: s.stance_index,
                low_confidence: s.low_confidence,
                paragraphs: s.paragraphs,
            })
        }
        Err(ApiError::EmptyText { .. }) => failed(
            doc.id,
            ApiError::EmptyText {
                field: format!("documents[{index}].text"),
            },
        ),
        Err(e) => failed(doc.id, e),
    }
}

async fn score_batch(
    http: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let max = state.settings().max_batch_size;
    if req.documents.len() > max {
        return Err(ApiError::BatchTooLarge {
            size: req.documents.len(),
            max,
        });
    }
    if req.documents.is_empty() {
        return Err(ApiError::EmptyBatch);
    }
    let documents = req
        .documents
        .iter()
        .enumerate()
        .map(|(i, raw)| parse_document(i, raw))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = state.document_options(req.explain.unwrap_or(0))?;
    let model = state.model();
    let size: usize = req.documents.iter().map(|d| d.get().len()).sum();
    drop(req);
    let run = {
        let state = state.clone().into_inner();
        let model = Arc::clone(&model);
        // Held until the work ends, even after a passed deadline.
        let permit = permit(&http);
        move || -> Vec<BatchEntry> {
            let results = documents
                .into_iter()
                .enumerate()
                .map(|(i, doc)| score_entry(&model, i, doc, &opts, &state))
                .collect();
            drop(permit);
            results
        }
    };
    let results = if inline(&state, size) {
        run()
    } else {
        tokio::task::spawn_blocking(run)
            .await
            .map_err(ApiError::internal)?
    };
    let failed = results
        .iter()
        .filter(|r| matches!(r, BatchEntry::Failed(_)))
        .count();
    json_ok(&BatchResponse {
        model: model.id(),
        version: &model.meta().version,
        checksum: model.checksum(),
        scored: results.len() - failed,
        failed,
        results,
    })
}

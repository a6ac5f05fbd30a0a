//! `POST /v1alpha1/comments:analyze`, the Perspective API drop-in, and its
//! discovery document (`GET /$discovery/rest?version=v1alpha1`, also at
//! `/discovery/v1/apis/commentanalyzer/v1alpha1/rest`) for discovery-based
//! clients. Request checks, score mapping and errors live in
//! [`crate::server::perspective`]; scoring goes through
//! [`crate::StanceModel::score_document`] like `/v1/score`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};

use super::kserve::decompressed;
use super::{json_ok, method_not_allowed};
use crate::pipeline::{DocumentScore, ScoreError};
use crate::server::error::ApiError;
use crate::server::extract::read_body;
use crate::server::overload::permit;
use crate::server::perspective::{
    acknowledge_suggestion, check_request, discovery_document, parse_request, respond,
    PerspectiveError, ANALYZE_PATH, SUGGEST_PATH,
};
use crate::server::routes::score::inline;
use crate::server::state::AppState;
use crate::{DocumentOptions, StanceModel};

/// Path of the discovery document Perspective's samples point clients at.
pub const DISCOVERY_PATH: &str = "/$discovery/rest";
/// The same document at the path of Google's discovery service.
pub const DISCOVERY_ALT_PATH: &str = "/discovery/v1/apis/commentanalyzer/v1alpha1/rest";

/// Registers the Perspective routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(ANALYZE_PATH)
            .route(web::post().to(analyze))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource(SUGGEST_PATH)
            .route(web::post().to(suggest))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource(DISCOVERY_PATH)
            .route(web::get().to(discovery))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource(DISCOVERY_ALT_PATH)
            .route(web::get().to(discovery))
            .default_service(method_not_allowed("GET")),
    );
}

/// Scores on the calling thread; a scorer panic (a bug: none is known)
/// becomes an opaque 500 instead of killing the worker.
fn score(
    model: &StanceModel,
    text: &str,
    opts: &DocumentOptions,
) -> Result<DocumentScore, PerspectiveError> {
    match catch_unwind(AssertUnwindSafe(|| model.score_document(text, opts))) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(ScoreError::EmptyText)) => Err(PerspectiveError::CommentEmpty),
        #[allow(unreachable_patterns)]
        Ok(Err(e)) => Err(PerspectiveError::InvalidJson(e.to_string())),
        Err(_) => Err(PerspectiveError::Internal("the scorer panicked".into())),
    }
}

/// Reads a (possibly compressed) body of at most `STANCE_MAX_BODY_BYTES`;
/// a longer one is `COMMENT_TOO_LONG`, as the comment in it must be.
async fn read(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::BytesMut, PerspectiveError> {
    let settings = state.settings();
    read_body(decompressed(payload, req), settings.max_body_bytes)
        .await
        .map_err(|e| match e {
            ApiError::PayloadTooLarge { .. } => PerspectiveError::CommentTooLong {
                bytes: None,
                limit: settings.perspective_max_comment_bytes,
            },
            other => PerspectiveError::InvalidJson(other.to_string()),
        })
}

/// `POST /v1alpha1/comments:analyze`. Any content type is read as JSON, as
/// Google's endpoint does (browser `fetch` often sends `text/plain`); query
/// parameters other than `key` (`alt`, `prettyPrint`, `$.xgafv`) are ignored.
async fn analyze(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PerspectiveError> {
    let settings = state.settings();
    let max_comment = settings.perspective_max_comment_bytes;
    let body = read(&state, &req, payload).await?;
    let request = parse_request(&body)?;
    drop(body);
    let model = state.model();
    let checked = check_request(request, &model.meta().version, max_comment)?;
    let opts = settings.document_options();
    let (doc, checked) = if inline(&state, checked.text.len()) {
        (score(&model, &checked.text, &opts)?, checked)
    } else {
        let m = Arc::clone(&model);
        // Held until the work ends, even after a passed deadline.
        let permit = permit(&req);
        let (doc, checked) = tokio::task::spawn_blocking(move || {
            let doc = score(&m, &checked.text, &opts);
            drop(permit);
            (doc, checked)
        })
        .await
        .map_err(|e| PerspectiveError::Internal(e.to_string()))?;
        (doc?, checked)
    };
    state
        .metrics()
        .observe_document(checked.text.len(), doc.paragraphs.len());
    let body = serde_json::to_vec(&respond(&checked, &doc))
        .map_err(|e| PerspectiveError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json; charset=UTF-8")
        .body(body))
}

/// `POST /v1alpha1/comments:suggestscore`: Perspective's feedback method.
/// A valid suggestion is acknowledged and discarded (we do not learn from
/// feedback), so tools that send feedback keep working.
async fn suggest(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PerspectiveError> {
    let settings = state.settings();
    let max_comment = settings.perspective_max_comment_bytes;
    let body = read(&state, &req, payload).await?;
    let ack = acknowledge_suggestion(&body, max_comment)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json; charset=UTF-8")
        .body(ack.to_string()))
}

/// The discovery document, with this service (as the client reached it) as
/// its root URL. Only API version `v1alpha1` exists.
async fn discovery(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let version = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| {
            q.0.into_iter()
                .find(|(k, _)| k == "version")
                .map(|(_, v)| v)
        });
    if version.as_deref().is_some_and(|v| v != "v1alpha1") {
        return Err(ApiError::NotFound {
            path: format!("{}?version={}", req.path(), version.unwrap_or_default())
                .chars()
                .take(256)
                .collect(),
        });
    }
    let info = req.connection_info();
    let root = format!("{}://{}", info.scheme(), info.host());
    json_ok(&discovery_document(&root))
}

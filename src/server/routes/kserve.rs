//! The Open Inference Protocol (KServe V2) REST routes: `GET /v2`,
//! `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/{name}`,
//! `GET /v2/models/{name}/ready`, `POST /v2/models/{name}/infer`, and the same
//! model routes under `/versions/{version}`. Request checks and the response
//! shape live in [`crate::server::kserve`]; every text is scored through
//! [`crate::StanceModel::score_document`], as by `/v1/score`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Decompress;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::Stream;
use serde_json::json;

use super::{json_ok, method_not_allowed};
use crate::label::Probabilities;
use crate::server::error::ApiError;
use crate::server::extract::read_body;
use crate::server::kserve::{
    check_model, check_request, model_metadata, parse_body, respond, server_metadata, KServeError,
    HEADER_LENGTH_HEADER,
};
use crate::server::overload::permit;
use crate::server::routes::score::inline;
use crate::server::state::AppState;
use crate::{DocumentOptions, StanceModel};

/// Registers the Open Inference Protocol routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let get = |path: &str, handler| {
        web::resource(path.to_string())
            .route(handler)
            .default_service(method_not_allowed("GET"))
    };
    cfg.service(get("/v2", web::get().to(server_meta)))
        .service(get("/v2/health/live", web::get().to(live)))
        .service(get("/v2/health/ready", web::get().to(ready)))
        .service(get("/v2/models/{name}", web::get().to(model_meta)))
        .service(get(
            "/v2/models/{name}/versions/{version}",
            web::get().to(model_meta),
        ))
        .service(get("/v2/models/{name}/ready", web::get().to(model_ready)))
        .service(get(
            "/v2/models/{name}/versions/{version}/ready",
            web::get().to(model_ready),
        ))
        .service(
            web::resource("/v2/models/{name}/infer")
                .route(web::post().to(infer))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v2/models/{name}/versions/{version}/infer")
                .route(web::post().to(infer))
                .default_service(method_not_allowed("POST")),
        );
}

/// The request body, decoded per `Content-Encoding` (gzip, deflate, br,
/// zstd), as `tritonclient`'s `request_compression_algorithm` sends it. The
/// body limit then applies to the decoded bytes, so a compressed bomb stops
/// at the limit. Shared by the compatibility routes.
pub fn decompressed(payload: web::Payload, req: &HttpRequest) -> actix_web::dev::Payload {
    let stream = Decompress::from_headers(payload.into_inner(), req.headers());
    let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(stream);
    actix_web::dev::Payload::from(boxed)
}

/// `{name}` and the optional `{version}` of a model path.
#[derive(Debug, serde::Deserialize)]
struct ModelPath {
    name: String,
    version: Option<String>,
}

async fn server_meta() -> Result<HttpResponse, ApiError> {
    json_ok(&server_metadata())
}

async fn live() -> Result<HttpResponse, ApiError> {
    json_ok(&json!({"live": true}))
}

/// Ready whenever the process answers: the state always holds a checked model.
async fn ready() -> Result<HttpResponse, ApiError> {
    json_ok(&json!({"ready": true}))
}

async fn model_meta(
    state: web::Data<AppState>,
    path: web::Path<ModelPath>,
) -> Result<HttpResponse, KServeError> {
    let model = state.model();
    check_model(&model, &path.name, path.version.as_deref())?;
    ok(&model_metadata(&model))
}

async fn model_ready(
    state: web::Data<AppState>,
    path: web::Path<ModelPath>,
) -> Result<HttpResponse, KServeError> {
    let model = state.model();
    check_model(&model, &path.name, path.version.as_deref())?;
    ok(&json!({"name": model.meta().name, "ready": true}))
}

fn ok(value: &impl serde::Serialize) -> Result<HttpResponse, KServeError> {
    let body = serde_json::to_vec(value).map_err(|e| KServeError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// Scores every text; a scorer panic (a bug) becomes an opaque 500.
fn score_all(
    model: &StanceModel,
    texts: &[String],
    opts: &DocumentOptions,
) -> Result<Vec<(Probabilities, usize)>, KServeError> {
    catch_unwind(AssertUnwindSafe(|| {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                model
                    .score_document(t, opts)
                    .map(|d| (d.probabilities, d.paragraphs.len()))
                    .map_err(|e| KServeError::BadRequest(format!("element {i}: {e}")))
            })
            .collect()
    }))
    .unwrap_or_else(|_| Err(KServeError::Internal("the scorer panicked".into())))
}

/// `POST /v2/models/{name}[/versions/{version}]/infer`. Any content type is
/// read; a request with `Inference-Header-Content-Length` uses the binary
/// tensor data extension for its input. Outputs are always JSON.
async fn infer(
    state: web::Data<AppState>,
    path: web::Path<ModelPath>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, KServeError> {
    let model = state.model();
    check_model(&model, &path.name, path.version.as_deref())?;
    let settings = state.settings();
    let body = read_body(decompressed(payload, &req), settings.max_body_bytes)
        .await
        .map_err(|e| match e {
            ApiError::PayloadTooLarge { limit } => KServeError::PayloadTooLarge { limit },
            other => KServeError::BadRequest(other.to_string()),
        })?;
    let header_len = req
        .headers()
        .get(HEADER_LENGTH_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (request, binary) = parse_body(&body, header_len.as_deref())?;
    let input = check_request(request, binary, settings.max_batch_size)?;
    drop(body);
    let opts = settings.document_options();
    let size: usize = input.texts.iter().map(String::len).sum();
    let (scores, input) = if inline(&state, size) {
        (score_all(&model, &input.texts, &opts)?, input)
    } else {
        let m = Arc::clone(&model);
        // Held until the work ends, even after a passed deadline.
        let permit = permit(&req);
        let (scores, input) = tokio::task::spawn_blocking(move || {
            let s = score_all(&m, &input.texts, &opts);
            drop(permit);
            (s, input)
        })
        .await
        .map_err(|e| KServeError::Internal(e.to_string()))?;
        (scores?, input)
    };
    for (text, (_, paragraphs)) in input.texts.iter().zip(&scores) {
        state.metrics().observe_document(text.len(), *paragraphs);
    }
    let probs: Vec<Probabilities> = scores.into_iter().map(|(p, _)| p).collect();
    ok(&respond(
        &model.meta().name,
        &model.meta().version,
        &input,
        &probs,
    ))
}

//! `GET /v1/model`: identity, labels, provenance and training metrics of the
//! model serving now, and the service limits a client must respect.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{json_ok, method_not_allowed};
use crate::label::Label;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Registers `/v1/model`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/model")
            .route(web::get().to(model_info))
            .default_service(method_not_allowed("GET")),
    );
}

async fn model_info(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let model = state.model();
    let meta = model.meta();
    let s = state.settings();
    json_ok(&json!({
        "id": model.id(),
        "name": meta.name,
        "version": meta.version,
        "checksum": model.checksum(),
        "created_at": meta.created_at,
        "crate_version": meta.crate_version,
        "labels": Label::ALL,
        "n_features": model.tfidf().vocabulary().len(),
        "training_metrics": meta.provenance.cv,
        "provenance": meta.provenance,
        "limits": {
            "max_body_bytes": s.max_body_bytes,
            "max_batch_size": s.max_batch_size,
            "max_explain": s.max_explain,
            "max_paragraph_chars": s.max_paragraph_chars,
            "low_confidence_margin": s.low_confidence_margin,
        },
    }))
}

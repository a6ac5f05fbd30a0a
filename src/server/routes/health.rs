//! `GET /healthz` (the process answers) and `GET /readyz` (a model is loaded
//! and serving; names it).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{json_ok, method_not_allowed};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Registers `/healthz` and `/readyz`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .route(web::get().to(healthz))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(readyz))
            .default_service(method_not_allowed("GET")),
    );
}

/// Liveness: always `{"status": "ok"}`.
async fn healthz() -> Result<HttpResponse, ApiError> {
    json_ok(&json!({"status": "ok"}))
}

/// Readiness: the model serving now. The state always holds a checked model
/// (the service does not start without one, and a failed reload keeps the
/// old one), so this is 200 whenever the process can answer.
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let model = state.model();
    json_ok(&json!({
        "status": "ready",
        "model": model.id(),
        "checksum": model.checksum(),
    }))
}

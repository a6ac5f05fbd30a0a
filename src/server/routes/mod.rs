//! The HTTP routes, one file per area, each with a `configure` function that
//! registers its resources. [`configure`] registers them all; a new area
//! (e.g. compatibility endpoints) adds a file and one line here.
//!
//! Every resource answers other methods with 405 ([`method_not_allowed`]);
//! unknown paths are 404 (the app's default service).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::error::{mime_json, ApiError};

pub mod admin;
pub mod health;
pub mod kserve;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod page;
pub mod perspective;
pub mod score;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(score::configure)
        .configure(model::configure)
        .configure(health::configure)
        .configure(metrics::configure)
        .configure(openapi::configure)
        .configure(admin::configure)
        .configure(perspective::configure)
        .configure(kserve::configure)
        .configure(page::configure);
}

/// A resource's fallback for methods it does not serve: 405 with `Allow`.
pub fn method_not_allowed(allowed: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        let method: String = req.method().as_str().chars().take(32).collect();
        Err::<HttpResponse, ApiError>(ApiError::MethodNotAllowed { method, allowed })
    })
}

/// The app's fallback for unknown paths: 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound {
        path: req.path().chars().take(256).collect(),
    })
}

/// A 200 JSON response.
pub fn json_ok(value: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(mime_json()).body(body))
}

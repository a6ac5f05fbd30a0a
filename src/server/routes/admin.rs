//! `POST /admin/reload`: re-read the model file, check it and swap it in
//! (see [`crate::server::reload`]). Guarded by the bearer token
//! `STANCE_ADMIN_TOKEN`: 404 `admin_disabled` when no token is configured,
//! 401 without a token, 403 with a wrong one. Tokens are compared in
//! constant time (of their SHA-256 digests, so the length does not leak either).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{json_ok, method_not_allowed};
use crate::server::error::ApiError;
use crate::server::reload::reload;
use crate::server::state::AppState;

/// Registers `/admin/reload`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/reload")
            .route(web::post().to(reload_model))
            .default_service(method_not_allowed("POST")),
    );
}

/// Checks the request's bearer token against the configured one.
pub fn authorize_admin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(expected) = &state.settings().admin_token else {
        return Err(ApiError::AdminDisabled);
    };
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let a = Sha256::digest(sent.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    if bool::from(a.as_slice().ct_eq(b.as_slice())) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn reload_model(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize_admin(&req, &state)?;
    match reload(&state, "http").await {
        Ok(report) => json_ok(&serde_json::json!({
            "status": "reloaded",
            "changed": report.changed,
            "previous": report.previous,
            "model": report.current,
        })),
        Err(failure) => Err(ApiError::ReloadFailed {
            serving: failure.serving.to_string(),
            reason: failure.source.to_string(),
        }),
    }
}

//! `GET /openapi.json`: the OpenAPI 3.1 description of the API, as this
//! server enforces it (the template `src/server/openapi.json` with the
//! settings' limits filled in, see [`crate::server::contract`]). The
//! integration tests validate real responses against it, and
//! `scripts/schemathesis.sh` checks the server against it.

use actix_web::{web, HttpResponse};

use super::method_not_allowed;
use crate::server::contract::{served_document, ServerFacts};
use crate::server::error::{mime_json, ApiError};
use crate::server::state::AppState;

/// The OpenAPI template, as embedded at build time.
pub const OPENAPI_JSON: &str = crate::server::contract::OPENAPI_TEMPLATE;

/// Registers `/openapi.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi))
            .default_service(method_not_allowed("GET")),
    );
}

async fn openapi(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let model = state.model();
    let doc = served_document(ServerFacts {
        settings: state.settings(),
        model_name: &model.meta().name,
        model_version: &model.meta().version,
        api_keys: state.api_keys().enabled(),
    })
    .map_err(ApiError::internal)?;
    let body = serde_json::to_vec(&doc).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(mime_json()).body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_is_valid_json_of_version_3() {
        let v: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3."));
        assert!(v["paths"]["/v1/score"]["post"].is_object());
    }
}

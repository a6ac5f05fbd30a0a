//! `GET /openapi.json`: the hand-written OpenAPI 3.1 description of the API
//! (`src/server/openapi.json`, embedded at build time). The integration
//! tests validate real responses against its schemas.

use actix_web::{web, HttpResponse};

use super::method_not_allowed;
use crate::server::error::mime_json;

/// The OpenAPI document, as served.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Registers `/openapi.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi))
            .default_service(method_not_allowed("GET")),
    );
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(mime_json())
        .body(OPENAPI_JSON)
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

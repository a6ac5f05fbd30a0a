//! `GET /` and `GET /ui/{name}`: the web page and its files (see
//! [`assets`](crate::server::assets)), with the headers that keep it safe
//! and fresh:
//!
//! - a strict `Content-Security-Policy`: scripts, styles and images only
//!   from this service, `connect-src 'self'` (the page talks to this API and
//!   nothing else), no inline code, no frames, no forms posted anywhere;
//! - `Cache-Control: no-cache` with a strong `ETag`: browsers keep a copy
//!   but ask each time, and get 304 while the binary is the same, so a new
//!   release is never mixed with an old script;
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`.
//!
//! These routes are not part of the API: they are not in `/openapi.json`,
//! and API keys never guard them (the page asks for a key and sends it to
//! the scoring endpoints itself).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use super::method_not_allowed;
use crate::server::assets::{self, Asset, INDEX};
use crate::server::error::ApiError;

/// The page's Content-Security-Policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// Registers `/` and `/ui/{name}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(index))
            .route(web::head().to(index))
            .default_service(method_not_allowed("GET, HEAD")),
    )
    .service(
        web::resource("/ui/{name}")
            .route(web::get().to(file))
            .route(web::head().to(file))
            .default_service(method_not_allowed("GET, HEAD")),
    );
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, INDEX)
}

async fn file(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&req, &name)
}

fn serve(req: &HttpRequest, name: &str) -> Result<HttpResponse, ApiError> {
    let asset = assets::find(name).ok_or_else(|| ApiError::NotFound {
        path: req.path().chars().take(256).collect(),
    })?;
    let fresh = matches_etag(req, asset);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .body(asset.body))
}

/// Whether `If-None-Match` names the asset's current ETag (or `*`).
fn matches_etag(req: &HttpRequest, asset: &Asset) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == asset.etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    #[actix_web::test]
    async fn a_matching_etag_is_answered_304_and_others_200() {
        let app = test::init_service(App::new().configure(configure)).await;
        let etag = assets::find("app.js").unwrap().etag.clone();
        let cases = [
            (Some(etag.clone()), 304),
            (Some(format!("\"other\", W/{etag}")), 304),
            (Some("*".to_string()), 304),
            (Some("\"other\"".to_string()), 200),
            (None, 200),
        ];
        for (sent, want) in cases {
            let mut req = test::TestRequest::get().uri("/ui/app.js");
            if let Some(v) = &sent {
                req = req.insert_header((header::IF_NONE_MATCH, v.as_str()));
            }
            let res = test::call_service(&app, req.to_request()).await;
            assert_eq!(res.status().as_u16(), want, "{sent:?}");
            assert_eq!(res.headers().get(header::ETAG).unwrap(), etag.as_str());
        }
    }
}

//! Request telemetry, wrapped around every route: a request id (the client's
//! `x-request-id` if it is sane, else a new UUID) echoed on the response and
//! attached to a tracing span, one log line per request (method, path,
//! status, latency, request id) and the request metrics. It is also the
//! safety net of the JSON error envelope: an error response that is not
//! JSON (actix answered it itself: an extractor without our error handler,
//! e.g. a future route using `web::Bytes` over `PayloadConfig`'s limit) is
//! re-wrapped as an [`ApiError::Framework`] with the same status.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use tracing::Instrument;

use super::error::ApiError;
use super::metrics::method_label;
use super::state::AppState;

/// The request id header, read and echoed.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The client's id when it is 1 to 128 characters of `[A-Za-z0-9._:-]`;
/// anything else is replaced, so logs never carry arbitrary client bytes.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

/// The telemetry middleware (`actix_web::middleware::from_fn(telemetry)`).
pub async fn telemetry<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let start = Instant::now();
    let id = request_id(&req);
    let route = req.match_pattern();
    let method = method_label(req.method());
    let path = req.path().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let result = next.call(req).instrument(span).await;
    let latency = start.elapsed();
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    if let Some(state) = &state {
        state
            .metrics()
            .observe_request(route.as_deref(), method, status.as_u16(), latency);
    }
    tracing::info!(
        method,
        path = %path,
        status = status.as_u16(),
        // Whole microseconds: `0.148`, not `0.14817000000000002`.
        latency_ms = latency.as_micros() as f64 / 1e3,
        request_id = %id,
        "request"
    );
    let mut res = ensure_json_error(result?);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    Ok(res)
}

/// An error response actix produced itself (not JSON) becomes the JSON envelope.
fn ensure_json_error<B: MessageBody>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return res.map_into_left_body();
    }
    let message = if status.is_server_error() {
        if let Some(e) = res.response().error() {
            tracing::error!(status = status.as_u16(), "request failed: {e}");
        }
        "internal error".to_string()
    } else {
        res.response().error().map_or_else(
            || {
                status
                    .canonical_reason()
                    .unwrap_or("request failed")
                    .to_string()
            },
            |e| e.to_string(),
        )
    };
    let (req, _) = res.into_parts();
    let api = ApiError::Framework { status, message };
    ServiceResponse::new(req, api.error_response()).map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{test, App, HttpResponse};

    #[actix_web::test]
    async fn errors_actix_answers_itself_get_the_json_envelope_and_an_id() {
        let app = test::init_service(
            App::new()
                .app_data(web::PayloadConfig::new(8))
                .wrap(from_fn(telemetry))
                .route(
                    "/bytes",
                    web::post().to(|_b: web::Bytes| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/n/{n}",
                    web::get().to(|n: web::Path<u32>| async move { n.to_string() }),
                )
                .route(
                    "/teapot",
                    web::get().to(|| async { HttpResponse::ImATeapot().body("tea") }),
                ),
        )
        .await;
        let cases = [
            (
                test::TestRequest::post()
                    .uri("/bytes")
                    .set_payload("0123456789abcdef"),
                413,
                "payload_too_large",
            ),
            (test::TestRequest::get().uri("/n/abc"), 404, "not_found"),
            (test::TestRequest::get().uri("/teapot"), 418, "bad_request"),
        ];
        for (req, status, code) in cases {
            let res = test::call_service(&app, req.to_request()).await;
            assert_eq!(res.status().as_u16(), status, "{code}");
            assert!(res.headers().contains_key(REQUEST_ID_HEADER));
            let v: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(v["error"]["code"], code);
            assert!(v["error"]["message"].is_string());
        }
        let ok = test::call_service(&app, test::TestRequest::get().uri("/n/7").to_request()).await;
        assert_eq!(test::read_body(ok).await, "7", "successes are untouched");
    }

    #[actix_web::test]
    async fn sane_request_ids_are_kept_and_others_replaced() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(telemetry))
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        for (sent, kept) in [("abc-1", true), ("a b", false), (&*"x".repeat(129), false)] {
            let req = test::TestRequest::get()
                .uri("/")
                .insert_header((REQUEST_ID_HEADER, sent));
            let res = test::call_service(&app, req.to_request()).await;
            let got = res
                .headers()
                .get(REQUEST_ID_HEADER)
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(got == sent, kept, "{sent:?} -> {got:?}");
        }
    }
}

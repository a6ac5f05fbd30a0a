//! [`ApiError`]: every way a request can fail, mapped to an HTTP status and
//! the JSON envelope `{"error": {"code": "...", "message": "..."}}` in one
//! place. Extractor errors (JSON, path, query) are routed here too
//! ([`json_config`], [`path_config`], [`query_config`]), so no actix default
//! plain-text error reaches a client. A 500 is opaque: the client sees
//! `internal_error`, the log gets the whole cause chain.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Why a request failed. The status and `code` of each variant are listed in
/// `docs/API.md`.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON (syntax error or truncated). 400 `malformed_json`.
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is not UTF-8. 400 `invalid_utf8`.
    #[error("request body is not valid UTF-8 (first bad byte at offset {valid_up_to})")]
    InvalidUtf8 {
        /// Length of the valid prefix, in bytes.
        valid_up_to: usize,
    },
    /// The body is longer than the configured limit. 413 `payload_too_large`.
    #[error(
        "request body is larger than the limit of {limit} bytes (setting STANCE_MAX_BODY_BYTES)"
    )]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection. 400 `bad_request`.
    #[error("cannot read request body: {0}")]
    BodyRead(String),
    /// The content type is not `application/json` (UTF-8). 415 `unsupported_media_type`.
    #[error("expected Content-Type: application/json, found {}", found.as_deref().unwrap_or("none"))]
    UnsupportedMediaType {
        /// The content type sent, if any.
        found: Option<String>,
    },
    /// A field is missing, unknown or of the wrong type. 422 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// The text is empty or white space only. 422 `empty_text`.
    #[error("{field} is empty: send some text to score")]
    EmptyText {
        /// Where the text was, e.g. `text`.
        field: String,
    },
    /// `explain` asks for more terms than allowed. 422 `explain_out_of_range`.
    #[error("explain is {requested}, the most allowed is {max} (setting STANCE_MAX_EXPLAIN)")]
    ExplainOutOfRange {
        /// The value requested.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// A batch has more documents than allowed. 422 `batch_too_large`.
    #[error(
        "batch has {size} documents, the most allowed is {max} (setting STANCE_MAX_BATCH_SIZE)"
    )]
    BatchTooLarge {
        /// Documents sent.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A batch has no documents. 422 `empty_batch`.
    #[error("documents is empty: send at least one document")]
    EmptyBatch,
    /// No route has this path. 404 `not_found`.
    #[error("no route for {path}; see GET /openapi.json for the API")]
    NotFound {
        /// The path requested.
        path: String,
    },
    /// The route exists but not for this method. 405 `method_not_allowed`.
    #[error("method {method} is not allowed on this route (allowed: {allowed})")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The allowed methods, comma separated (also sent as `Allow`).
        allowed: &'static str,
    },
    /// Admin routes are off because no token is configured. 404 `admin_disabled`.
    #[error(
        "admin routes are disabled: start the service with STANCE_ADMIN_TOKEN set to enable them"
    )]
    AdminDisabled,
    /// No bearer token was sent. 401 `unauthorized`.
    #[error("missing bearer token: send Authorization: Bearer <STANCE_ADMIN_TOKEN>")]
    Unauthorized,
    /// The bearer token is wrong. 403 `forbidden`.
    #[error("the bearer token is not valid")]
    Forbidden,
    /// A reload could not load or check the new model; the old one still
    /// serves. 500 `reload_failed` (the message is shown: only an
    /// authenticated admin can see it).
    #[error("reload failed, still serving {serving}: {reason}")]
    ReloadFailed {
        /// Id and checksum of the model still serving.
        serving: String,
        /// Why the new model was refused.
        reason: String,
    },
    /// Every scoring slot is taken. 503 `overloaded`, with `Retry-After`.
    #[error("the service is at its limit of {limit} scoring requests in flight (setting STANCE_MAX_IN_FLIGHT): retry after {retry_after_secs} s")]
    Overloaded {
        /// `max_in_flight`.
        limit: usize,
        /// Seconds to wait (`Retry-After`).
        retry_after_secs: u64,
    },
    /// The body had not arrived by the request deadline. 408 `request_timeout`.
    #[error("the request body was not received within the deadline of {deadline_ms} ms (setting STANCE_REQUEST_DEADLINE_MS)")]
    RequestTimeout {
        /// The deadline.
        deadline_ms: u64,
    },
    /// Scoring did not finish by the request deadline. 504 `deadline_exceeded`.
    #[error("scoring did not finish within the deadline of {deadline_ms} ms (setting STANCE_REQUEST_DEADLINE_MS); send a smaller document or batch")]
    DeadlineExceeded {
        /// The deadline.
        deadline_ms: u64,
    },
    /// Anything unexpected. 500 `internal_error`; the cause is logged, not sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An error answered by actix itself (an extractor without our error
    /// handler, the router), re-wrapped by the telemetry middleware so it
    /// still gets the JSON envelope. Keeps its status; the code follows it.
    #[error("{message}")]
    Framework {
        /// The status actix chose.
        status: StatusCode,
        /// Its message (replaced by `internal error` for 5xx).
        message: String,
    },
}

impl ApiError {
    /// The stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidUtf8 { .. } => "invalid_utf8",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BodyRead(_) => "bad_request",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::EmptyText { .. } => "empty_text",
            ApiError::ExplainOutOfRange { .. } => "explain_out_of_range",
            ApiError::BatchTooLarge { .. } => "batch_too_large",
            ApiError::EmptyBatch => "empty_batch",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::AdminDisabled => "admin_disabled",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::ReloadFailed { .. } => "reload_failed",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::RequestTimeout { .. } => "request_timeout",
            ApiError::DeadlineExceeded { .. } => "deadline_exceeded",
            ApiError::Internal(_) => "internal_error",
            ApiError::Framework { status, .. } => match status.as_u16() {
                401 => "unauthorized",
                403 => "forbidden",
                404 => "not_found",
                405 => "method_not_allowed",
                408 => "request_timeout",
                413 => "payload_too_large",
                415 => "unsupported_media_type",
                422 => "invalid_request",
                503 => "overloaded",
                504 => "deadline_exceeded",
                s if s >= 500 => "internal_error",
                _ => "bad_request",
            },
        }
    }

    /// Wraps an unexpected error as an opaque 500.
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(e.into())
    }

    /// Maps a `serde_json` error of a request body: syntax and truncation
    /// are 400 `malformed_json`, wrong shapes are 422 `invalid_request`.
    pub fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::InvalidRequest(api_words(&e.to_string())),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(e.to_string())
            }
        }
    }

    /// The body of this error, as sent.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
            },
        }
    }
}

/// Rewrites serde's Rust-flavoured expectations ("expected usize", "expected
/// struct ScoreRequest") in the API's words, and drops the line and column
/// (the field path says where).
fn api_words(msg: &str) -> String {
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    let mut out = msg.to_string();
    for (rust, api) in [
        ("expected usize", "expected a whole number of at least 0"),
        ("expected u64", "expected a whole number of at least 0"),
        ("expected u32", "expected a whole number of at least 0"),
        ("expected u16", "expected a whole number of at least 0"),
        ("expected u8", "expected a whole number of at least 0"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected a JSON array"),
        ("expected a map", "expected a JSON object"),
    ] {
        out = out.replace(rust, api);
    }
    if let Some(i) = out.find("expected struct ") {
        out.truncate(i);
        out.push_str("expected a JSON object");
    }
    out
}

/// The JSON envelope of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `empty_text`.
    pub code: String,
    /// What was wrong, for people.
    pub message: String,
}

/// Writes an error and its chain of causes, one per line (for logs).
pub fn error_chain_fmt(e: &impl std::error::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{e}")?;
    let mut current = e.source();
    while let Some(cause) = current {
        writeln!(f, "caused by: {cause}")?;
        current = cause.source();
    }
    Ok(())
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error_chain_fmt(self, f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::InvalidUtf8 { .. } | ApiError::BodyRead(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidRequest(_)
            | ApiError::EmptyText { .. }
            | ApiError::ExplainOutOfRange { .. }
            | ApiError::BatchTooLarge { .. }
            | ApiError::EmptyBatch => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound { .. } | ApiError::AdminDisabled => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::ReloadFailed { .. } | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Framework { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // Shedding load is the service working as designed: counted in
        // `stance_requests_shed_total`, not logged as a failure per request.
        let shed = matches!(
            self,
            ApiError::Overloaded { .. } | ApiError::DeadlineExceeded { .. }
        );
        if status.is_server_error() && !shed {
            tracing::error!(code = self.code(), "request failed: {self:?}");
        }
        let mut res = HttpResponse::build(status);
        match self {
            ApiError::MethodNotAllowed { allowed, .. } => {
                res.insert_header((header::ALLOW, HeaderValue::from_static(allowed)));
            }
            ApiError::Unauthorized => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="stance-admin""#),
                ));
            }
            ApiError::Overloaded {
                retry_after_secs, ..
            } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
            }
            ApiError::RequestTimeout { .. } => {
                // The rest of the body may still be on its way.
                res.force_close();
            }
            _ => {}
        }
        // Serializing two strings cannot fail; fall back to a fixed body anyway.
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal_error","message":"internal error"}}"#.to_vec()
        });
        res.content_type(mime_json()).body(body)
    }
}

/// `application/json` as a header value.
pub(crate) fn mime_json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// `web::JsonConfig` whose errors are [`ApiError`]s, for routes that use the
/// `web::Json` extractor (the built-in routes read bodies with
/// [`crate::server::extract::ApiJson`], which shares these rules).
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    use actix_web::error::JsonPayloadError;
    actix_web::web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, req| {
            let api = match &err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge { limit },
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType {
                    found: req
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                },
                JsonPayloadError::Deserialize(e) => ApiError::from_json(e),
                JsonPayloadError::Serialize(e) => ApiError::internal(e.to_string()),
                other => ApiError::BodyRead(other.to_string()),
            };
            api.into()
        })
}

/// `web::PathConfig` whose errors are 404 [`ApiError`]s.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|_, req| {
        ApiError::NotFound {
            path: req.path().to_string(),
        }
        .into()
    })
}

/// `web::QueryConfig` whose errors are 422 [`ApiError`]s.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _| ApiError::InvalidRequest(format!("bad query string: {err}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_of(e: &ApiError) -> serde_json::Value {
        let bytes = e.error_response().into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn every_error_maps_to_its_status_and_json_envelope() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::MalformedJson("x".into()), 400, "malformed_json"),
            (
                ApiError::InvalidUtf8 { valid_up_to: 3 },
                400,
                "invalid_utf8",
            ),
            (
                ApiError::PayloadTooLarge { limit: 10 },
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType { found: None },
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::InvalidRequest("missing field `text`".into()),
                422,
                "invalid_request",
            ),
            (
                ApiError::EmptyText {
                    field: "text".into(),
                },
                422,
                "empty_text",
            ),
            (
                ApiError::ExplainOutOfRange {
                    requested: 99,
                    max: 50,
                },
                422,
                "explain_out_of_range",
            ),
            (
                ApiError::BatchTooLarge {
                    size: 101,
                    max: 100,
                },
                422,
                "batch_too_large",
            ),
            (ApiError::EmptyBatch, 422, "empty_batch"),
            (ApiError::NotFound { path: "/x".into() }, 404, "not_found"),
            (
                ApiError::MethodNotAllowed {
                    method: "GET".into(),
                    allowed: "POST",
                },
                405,
                "method_not_allowed",
            ),
            (ApiError::AdminDisabled, 404, "admin_disabled"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::Forbidden, 403, "forbidden"),
            (
                ApiError::Overloaded {
                    limit: 8,
                    retry_after_secs: 1,
                },
                503,
                "overloaded",
            ),
            (
                ApiError::RequestTimeout { deadline_ms: 10 },
                408,
                "request_timeout",
            ),
            (
                ApiError::DeadlineExceeded { deadline_ms: 10 },
                504,
                "deadline_exceeded",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status_code().as_u16(), status, "{code}");
            let v = body_of(&e);
            assert_eq!(v["error"]["code"], code);
            assert_eq!(v["error"]["message"], e.to_string(), "{code}");
        }
    }

    #[test]
    fn internal_errors_are_opaque_to_the_client() {
        let e = ApiError::internal("database password is hunter2");
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let v = body_of(&e);
        assert_eq!(v["error"]["code"], "internal_error");
        assert!(!v.to_string().contains("hunter2"));
        assert!(
            format!("{e:?}").contains("hunter2"),
            "the log keeps the cause"
        );
    }

    #[test]
    fn json_syntax_errors_are_400_and_shape_errors_are_422() {
        let syntax = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert_eq!(
            ApiError::from_json(&syntax).status_code(),
            StatusCode::BAD_REQUEST
        );
        let shape = serde_json::from_str::<Vec<u8>>("{}").unwrap_err();
        assert_eq!(
            ApiError::from_json(&shape).status_code(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn method_not_allowed_sends_an_allow_header() {
        let e = ApiError::MethodNotAllowed {
            method: "PUT".into(),
            allowed: "GET",
        };
        let res = e.error_response();
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET");
    }
}

//! [`ApiJson`]: the request-body extractor of every JSON route. It checks the
//! content type (415), the size limit (413, before and while reading), UTF-8
//! (400) and JSON syntax (400), and deserializes into the route's type, whose
//! shape errors are 422. Doing this ourselves, from bytes, keeps every case
//! mapped to one [`ApiError`] variant instead of actix's defaults.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;

/// A JSON request body deserialized into `T`, with every failure an [`ApiError`].
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(1024 * 1024, |s| s.settings().max_body_bytes);
        let checked = check_content_type(req).and_then(|()| check_content_length(req, limit));
        let payload = payload.take();
        Box::pin(async move {
            checked?;
            let bytes = read_body(payload, limit).await?;
            parse_json(&bytes).map(ApiJson)
        })
    }
}

/// Accepts `application/json`, with an optional `charset=utf-8`.
pub fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let raw = req.headers().get(header::CONTENT_TYPE);
    let found = || raw.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(value) = raw.and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::UnsupportedMediaType { found: found() });
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType { found: found() });
    }
    for param in parts {
        let Some((name, val)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let val = val.trim().trim_matches('"');
            if !val.eq_ignore_ascii_case("utf-8") && !val.eq_ignore_ascii_case("utf8") {
                return Err(ApiError::UnsupportedMediaType { found: found() });
            }
        }
    }
    Ok(())
}

/// Refuses a body whose declared length is over the limit before reading it.
fn check_content_length(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(ApiError::PayloadTooLarge { limit }),
        _ => Ok(()),
    }
}

/// Reads the whole body, failing as soon as it passes `limit` bytes.
pub async fn read_body(mut payload: Payload, limit: usize) -> Result<BytesMut, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BodyRead(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a body: non-UTF-8 is 400 `invalid_utf8`, bad syntax 400
/// `malformed_json`, a wrong shape 422 `invalid_request` naming the field
/// (`documents[2].text: ...`) in the API's words. Every route takes a JSON
/// object: an array or a scalar, even one serde could read into the route's
/// type, is 422.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_object(bytes, "the request body")
}

/// [`parse_json`] for any JSON object of a request; `what` names it in the
/// message when it is not an object ("the request body", "a document").
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ApiError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    if !text.trim_start().starts_with('{') {
        return match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => Err(ApiError::from_json(&e)),
            Ok(_) => Err(ApiError::InvalidRequest(format!(
                "{what} must be a JSON object"
            ))),
        };
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match ApiError::from_json(&inner) {
            ApiError::InvalidRequest(msg) if path != "." => {
                ApiError::InvalidRequest(format!("{path}: {msg}"))
            }
            other => other,
        }
    })?;
    de.end().map_err(|e| ApiError::from_json(&e))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn content_type_must_be_json_in_utf8() {
        let ok = [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ];
        for ct in ok {
            let req = TestRequest::default()
                .insert_header((header::CONTENT_TYPE, ct))
                .to_http_request();
            assert!(check_content_type(&req).is_ok(), "{ct}");
        }
        let bad = [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin1",
            "application/jsonx",
        ];
        for ct in bad {
            let req = TestRequest::default()
                .insert_header((header::CONTENT_TYPE, ct))
                .to_http_request();
            assert!(
                matches!(
                    check_content_type(&req),
                    Err(ApiError::UnsupportedMediaType { .. })
                ),
                "{ct}"
            );
        }
        let none = TestRequest::default().to_http_request();
        assert!(check_content_type(&none).is_err());
    }

    #[test]
    fn parse_json_tells_bad_bytes_bad_syntax_and_bad_shape_apart() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            text: String,
        }
        assert!(matches!(
            parse_json::<T>(b"{\"text\": \"\xff\"}"),
            Err(ApiError::InvalidUtf8 { valid_up_to: 10 })
        ));
        assert!(matches!(
            parse_json::<T>(b"{\"text\": "),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<T>(b"{\"text\": 5}"),
            Err(ApiError::InvalidRequest(_))
        ));
        assert!(parse_json::<T>(b"{\"text\": \"ok\"}").is_ok());
    }

    #[test]
    fn shape_errors_name_the_field_in_the_api_words_and_bodies_must_be_objects() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            text: String,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            explain: Option<usize>,
            documents: Vec<Doc>,
        }
        let msg = |body: &[u8]| match parse_json::<T>(body) {
            Err(ApiError::InvalidRequest(m)) => m,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
        };
        let m = msg(b"{\"explain\": -1, \"documents\": []}");
        assert!(
            m.starts_with("explain: ") && m.contains("a whole number of at least 0"),
            "{m}"
        );
        assert!(!m.contains("usize"), "{m}");
        let m = msg(b"{\"documents\": [{\"text\": 5}]}");
        assert!(
            m.starts_with("documents[0].text: ") && m.contains("expected a string"),
            "{m}"
        );
        let m = msg(b"\"just a string\"");
        assert_eq!(m, "the request body must be a JSON object");
        let m = msg(b"[\"The city should cooperate with ICE.\", 2]");
        assert_eq!(m, "the request body must be a JSON object");
        let m = msg(b"{\"documents\": \"x\"}");
        assert!(
            m.contains("expected a JSON array") && !m.contains("sequence"),
            "{m}"
        );
        assert!(matches!(
            parse_json::<T>(b"[1,"),
            Err(ApiError::MalformedJson(_))
        ));
    }
}

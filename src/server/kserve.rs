//! The Open Inference Protocol (KServe V2) over HTTP/REST: server
//! and model metadata, and inference on a `BYTES` tensor of texts, so
//! inference gateways and their clients (e.g. Triton's `tritonclient.http`)
//! can call the stance model. The routes are in `routes/kserve.rs`.
//!
//! - Input: one `BYTES` tensor (any name; `text` by convention) of shape
//!   `[N]` or `[N, 1]`, as JSON `data` (flat or nested, row-major) or, with
//!   the binary tensor data extension, as length-prefixed bytes after a JSON
//!   header of `Inference-Header-Content-Length` bytes.
//! - Outputs (JSON): `label` (`BYTES`, shape `[N]` or `[N, 1]` like the
//!   input) and `probabilities` (`FP64`, shape `[N, 3]`, columns in the
//!   order [`LABEL_ORDER`]: anti, neutral, pro). `model_name` and
//!   `model_version` are always set; the request `id` is echoed.
//! - Errors: `{"error": "<message>"}`: 400 for a bad request, 404 for an
//!   unknown model or version.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::label::{Label, Probabilities};
use crate::server::strict::{objects, objects_opt, value_as_count, wholes, Object};
use crate::StanceModel;

/// Columns of the `probabilities` output: the model's class order.
pub const LABEL_ORDER: [Label; 3] = Label::ALL;

/// Name of the label output.
pub const LABEL_OUTPUT: &str = "label";
/// Name of the probabilities output.
pub const PROBABILITIES_OUTPUT: &str = "probabilities";
/// Conventional name of the input.
pub const TEXT_INPUT: &str = "text";
/// Header giving the length of the JSON part of a binary request.
pub const HEADER_LENGTH_HEADER: &str = "inference-header-content-length";
/// The `platform` reported in model metadata.
pub const PLATFORM: &str = "stance_tfidf_logreg";

/// Why an Open Inference Protocol request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KServeError {
    /// The request is malformed or does not fit the model. 400.
    #[error("{0}")]
    BadRequest(String),
    /// No model of that name. 404.
    #[error("unknown model {requested:?}: this server serves {serving:?}")]
    ModelNotFound {
        /// The name in the path.
        requested: String,
        /// The model serving.
        serving: String,
    },
    /// The model exists but not in that version. 404.
    #[error("model {name:?} has no version {requested:?}: serving version {serving:?}")]
    VersionNotFound {
        /// The model.
        name: String,
        /// The version in the path.
        requested: String,
        /// The version serving.
        serving: String,
    },
    /// The body is over the configured size limit. 413, as on `/v1`.
    #[error(
        "request body is larger than the limit of {limit} bytes (setting STANCE_MAX_BODY_BYTES)"
    )]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Every scoring slot is taken. 503, with `Retry-After`.
    #[error("the service is at its limit of {limit} inference requests in flight (setting STANCE_MAX_IN_FLIGHT): retry after {retry_after_secs} s")]
    Unavailable {
        /// `max_in_flight`.
        limit: usize,
        /// Seconds to wait (`Retry-After`).
        retry_after_secs: u64,
    },
    /// The body had not arrived by the request deadline. 408.
    #[error("the request body was not received within the deadline of {deadline_ms} ms (setting STANCE_REQUEST_DEADLINE_MS)")]
    RequestTimeout {
        /// `request_deadline_ms`.
        deadline_ms: u64,
    },
    /// Inference did not finish by the request deadline. 504.
    #[error("inference did not finish within the deadline of {deadline_ms} ms (setting STANCE_REQUEST_DEADLINE_MS)")]
    DeadlineExceeded {
        /// `request_deadline_ms`.
        deadline_ms: u64,
    },
    /// Anything unexpected. 500; the cause is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl KServeError {
    /// The body `{"error": "..."}`.
    pub fn body(&self) -> Value {
        json!({ "error": self.to_string() })
    }
}

impl ResponseError for KServeError {
    fn status_code(&self) -> StatusCode {
        match self {
            KServeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            KServeError::ModelNotFound { .. } | KServeError::VersionNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            KServeError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            KServeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            KServeError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            KServeError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            KServeError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let KServeError::Internal(cause) = self {
            tracing::error!("inference request failed: {cause}");
        }
        let mut res = HttpResponse::build(self.status_code());
        match self {
            KServeError::Unavailable {
                retry_after_secs, ..
            } => {
                res.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_secs));
            }
            // The rest of the body may still be on its way.
            KServeError::RequestTimeout { .. } => {
                res.force_close();
            }
            _ => {}
        }
        res.content_type("application/json")
            .body(self.body().to_string())
    }
}

fn bad(msg: impl Into<String>) -> KServeError {
    KServeError::BadRequest(msg.into())
}

/// Checks that `name` (and `version`, if given) select the serving model.
pub fn check_model(
    model: &StanceModel,
    name: &str,
    version: Option<&str>,
) -> Result<(), KServeError> {
    let meta = model.meta();
    if name != meta.name {
        return Err(KServeError::ModelNotFound {
            requested: name.chars().take(128).collect(),
            serving: meta.name.clone(),
        });
    }
    match version {
        Some(v) if v != meta.version => Err(KServeError::VersionNotFound {
            name: meta.name.clone(),
            requested: v.chars().take(64).collect(),
            serving: meta.version.clone(),
        }),
        _ => Ok(()),
    }
}

/// Metadata of one tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorMetadata {
    /// Tensor name.
    pub name: String,
    /// `BYTES`, `FP64`, ...
    pub datatype: String,
    /// Shape; `-1` is a variable dimension.
    pub shape: Vec<i64>,
}

/// `GET /v2/models/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Model name.
    pub name: String,
    /// Versions available (the one serving).
    pub versions: Vec<String>,
    /// How the model runs.
    pub platform: String,
    /// Inputs.
    pub inputs: Vec<TensorMetadata>,
    /// Outputs.
    pub outputs: Vec<TensorMetadata>,
}

/// The metadata of the serving model.
pub fn model_metadata(model: &StanceModel) -> ModelMetadata {
    let t = |name: &str, datatype: &str, shape: &[i64]| TensorMetadata {
        name: name.into(),
        datatype: datatype.into(),
        shape: shape.to_vec(),
    };
    ModelMetadata {
        name: model.meta().name.clone(),
        versions: vec![model.meta().version.clone()],
        platform: PLATFORM.into(),
        inputs: vec![t(TEXT_INPUT, "BYTES", &[-1])],
        outputs: vec![
            t(LABEL_OUTPUT, "BYTES", &[-1]),
            t(PROBABILITIES_OUTPUT, "FP64", &[-1, 3]),
        ],
    }
}

/// `GET /v2`: server metadata.
pub fn server_metadata() -> Value {
    json!({
        "name": "stance",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    })
}

/// One input tensor of an inference request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RequestInput {
    /// Tensor name.
    pub name: String,
    /// Shape.
    #[serde(deserialize_with = "wholes")]
    pub shape: Vec<i64>,
    /// Data type (must be `BYTES`).
    pub datatype: String,
    /// Parameters (`binary_data_size` with the binary extension).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Elements, row-major, flat or nested (absent with binary data).
    #[serde(default)]
    pub data: Option<Value>,
}

/// One requested output.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RequestOutput {
    /// `label` or `probabilities`.
    pub name: String,
    /// Parameters (accepted; outputs are always JSON).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// `POST /v2/models/{name}/infer` body (or its JSON header).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InferRequest {
    /// Echoed in the response.
    #[serde(default)]
    pub id: Option<String>,
    /// Request parameters (accepted, not used).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Exactly one `BYTES` input.
    #[serde(deserialize_with = "objects")]
    pub inputs: Vec<RequestInput>,
    /// Outputs wanted (default: both).
    #[serde(default, deserialize_with = "objects_opt")]
    pub outputs: Option<Vec<RequestOutput>>,
}

/// One output tensor of a response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseOutput {
    /// Tensor name.
    pub name: String,
    /// Data type.
    pub datatype: &'static str,
    /// Shape.
    pub shape: Vec<usize>,
    /// Parameters (the column labels of `probabilities`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Elements, row-major.
    pub data: Value,
}

/// An inference response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferResponse {
    /// The model's name.
    pub model_name: String,
    /// The model's version.
    pub model_version: String,
    /// The request's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Outputs in the order requested (default: label, probabilities).
    pub outputs: Vec<ResponseOutput>,
}

/// The texts of a request, checked, and how to shape the outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct InferInput {
    /// The request's id.
    pub id: Option<String>,
    /// The texts, in order.
    pub texts: Vec<String>,
    /// Whether the input was `[N, 1]` (the label output follows).
    pub column: bool,
    /// Outputs to return, in order.
    pub outputs: Vec<String>,
}

/// Splits a request body into its JSON part and, with the binary extension
/// (`header_len` from `Inference-Header-Content-Length`), the binary rest.
pub fn parse_body<'a>(
    body: &'a [u8],
    header_len: Option<&str>,
) -> Result<(InferRequest, &'a [u8]), KServeError> {
    let (json_part, rest) = match header_len {
        None => (body, &[][..]),
        Some(h) => {
            let n: usize = h
                .trim()
                .parse()
                .map_err(|_| bad(format!("invalid Inference-Header-Content-Length {h:?}")))?;
            if n > body.len() {
                return Err(bad(format!(
                    "Inference-Header-Content-Length {n} is longer than the body ({} bytes)",
                    body.len()
                )));
            }
            body.split_at(n)
        }
    };
    let text = std::str::from_utf8(json_part).map_err(|e| {
        bad(format!(
            "request JSON is not valid UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let req = serde_json::from_str::<Object<InferRequest>>(text)
        .map_err(|e| bad(format!("invalid request JSON: {e}")))?;
    Ok((req.0, rest))
}

/// Decodes BYTES elements in the binary format: each a little-endian u32
/// length, then that many bytes.
fn decode_binary_bytes(mut buf: &[u8], name: &str) -> Result<Vec<String>, KServeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some((len, rest)) = buf.split_first_chunk::<4>() else {
            return Err(bad(format!("binary data of input {name:?} is truncated")));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if len > rest.len() {
            return Err(bad(format!("binary data of input {name:?} is truncated")));
        }
        let (elem, rest) = rest.split_at(len);
        let s = std::str::from_utf8(elem).map_err(|_| {
            bad(format!(
                "element {} of input {name:?} is not valid UTF-8",
                out.len()
            ))
        })?;
        out.push(s.to_string());
        buf = rest;
    }
    Ok(out)
}

/// Flattens JSON `data` (flat, or one row per text) into strings.
fn decode_json_bytes(data: &Value, name: &str) -> Result<Vec<String>, KServeError> {
    let Value::Array(items) = data else {
        return Err(bad(format!(
            "data of input {name:?} must be an array of strings"
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) => out.push(s.clone()),
            Value::Array(row) => {
                for v in row {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        _ => {
                            return Err(bad(format!(
                                "element {} of input {name:?} is not a string",
                                out.len()
                            )))
                        }
                    }
                }
            }
            _ => {
                return Err(bad(format!(
                    "element {} of input {name:?} is not a string",
                    out.len()
                )))
            }
        }
    }
    Ok(out)
}

/// Checks an inference request and extracts its texts: one `BYTES` input of
/// shape `[N]` or `[N, 1]` with `1 <= N <= max_batch`, every text non-blank;
/// requested outputs must be `label` or `probabilities`.
pub fn check_request(
    req: InferRequest,
    binary: &[u8],
    max_batch: usize,
) -> Result<InferInput, KServeError> {
    let [input] = <[RequestInput; 1]>::try_from(req.inputs).map_err(|inputs| {
        bad(format!(
            "expected exactly one input (a BYTES tensor of texts), got {}",
            inputs.len()
        ))
    })?;
    let name = input.name.chars().take(64).collect::<String>();
    if input.datatype != "BYTES" {
        return Err(bad(format!(
            "input {name:?} has datatype {:?}: expected BYTES (texts)",
            input.datatype.chars().take(16).collect::<String>()
        )));
    }
    let (n, column) = match input.shape.as_slice() {
        &[n] if n >= 0 => (n as usize, false),
        &[n, 1] if n >= 0 => (n as usize, true),
        other => {
            return Err(bad(format!(
                "input {name:?} has shape {other:?}: expected [N] or [N, 1]"
            )))
        }
    };
    let binary_size = input
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
        .map(|v| {
            value_as_count(v).ok_or_else(|| bad("binary_data_size must be a non-negative integer"))
        })
        .transpose()?;
    let texts = match (binary_size, &input.data) {
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "input {name:?} has both data and binary_data_size"
            )))
        }
        (Some(size), None) => {
            if size != binary.len() {
                return Err(bad(format!(
                    "input {name:?} declares {size} bytes of binary data, the body has {}",
                    binary.len()
                )));
            }
            decode_binary_bytes(binary, &name)?
        }
        (None, Some(data)) => decode_json_bytes(data, &name)?,
        (None, None) => return Err(bad(format!("input {name:?} has no data"))),
    };
    if texts.len() != n {
        return Err(bad(format!(
            "input {name:?} has shape {:?} but {} elements",
            input.shape,
            texts.len()
        )));
    }
    if n == 0 {
        return Err(bad(format!("input {name:?} has no texts")));
    }
    if n > max_batch {
        return Err(bad(format!(
            "input {name:?} has {n} texts, the most allowed is {max_batch} (setting STANCE_MAX_BATCH_SIZE)"
        )));
    }
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(bad(format!(
            "element {i} of input {name:?} is empty: send some text to score"
        )));
    }
    let outputs = match req.outputs {
        None => vec![LABEL_OUTPUT.to_string(), PROBABILITIES_OUTPUT.to_string()],
        Some(list) if list.is_empty() => {
            vec![LABEL_OUTPUT.to_string(), PROBABILITIES_OUTPUT.to_string()]
        }
        Some(list) => {
            let mut names = Vec::with_capacity(list.len());
            for o in list {
                if o.name != LABEL_OUTPUT && o.name != PROBABILITIES_OUTPUT {
                    return Err(bad(format!(
                        "unknown output {:?}: expected {LABEL_OUTPUT:?} or {PROBABILITIES_OUTPUT:?}",
                        o.name.chars().take(64).collect::<String>()
                    )));
                }
                if !names.contains(&o.name) {
                    names.push(o.name);
                }
            }
            names
        }
    };
    Ok(InferInput {
        id: req.id,
        texts,
        column,
        outputs,
    })
}

/// The response of model `model_name` at `model_version` for `input`,
/// given one probability triple per text.
pub fn respond(
    model_name: &str,
    model_version: &str,
    input: &InferInput,
    scores: &[Probabilities],
) -> InferResponse {
    let n = scores.len();
    let outputs = input
        .outputs
        .iter()
        .map(|name| {
            if name == LABEL_OUTPUT {
                ResponseOutput {
                    name: LABEL_OUTPUT.into(),
                    datatype: "BYTES",
                    shape: if input.column { vec![n, 1] } else { vec![n] },
                    parameters: None,
                    data: Value::Array(
                        scores
                            .iter()
                            .map(|p| Value::from(p.label().as_str()))
                            .collect(),
                    ),
                }
            } else {
                let mut params = Map::new();
                let labels: Vec<&str> = LABEL_ORDER.iter().map(|l| l.as_str()).collect();
                params.insert("labels".into(), Value::from(labels.join(",")));
                ResponseOutput {
                    name: PROBABILITIES_OUTPUT.into(),
                    datatype: "FP64",
                    shape: vec![n, 3],
                    parameters: Some(params),
                    data: Value::Array(
                        scores
                            .iter()
                            .flat_map(|p| LABEL_ORDER.map(|l| p.get(l)))
                            .map(Value::from)
                            .collect(),
                    ),
                }
            }
        })
        .collect();
    InferResponse {
        model_name: model_name.to_string(),
        model_version: model_version.to_string(),
        id: input.id.clone(),
        outputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: Value) -> InferRequest {
        serde_json::from_value(v).unwrap()
    }

    fn texts_input(shape: Value, data: Value) -> InferRequest {
        request(
            json!({"inputs": [{"name": "text", "shape": shape, "datatype": "BYTES", "data": data}]}),
        )
    }

    #[test]
    fn accepts_flat_and_column_shaped_byte_tensors() {
        let i = check_request(texts_input(json!([2]), json!(["a b", "c"])), &[], 10).unwrap();
        assert_eq!(i.texts, ["a b", "c"]);
        assert!(!i.column);
        assert_eq!(i.outputs, ["label", "probabilities"]);
        let i = check_request(texts_input(json!([2, 1]), json!([["a"], ["c"]])), &[], 10).unwrap();
        assert_eq!(i.texts, ["a", "c"]);
        assert!(i.column);
        let i = check_request(texts_input(json!([2, 1]), json!(["a", "c"])), &[], 10).unwrap();
        assert_eq!(i.texts, ["a", "c"]);
    }

    #[test]
    fn rejects_requests_that_do_not_fit_the_model_with_a_message() {
        let one = |input: Value| request(json!({"inputs": [input]}));
        let cases: Vec<(InferRequest, &str)> = vec![
            (request(json!({"inputs": []})), "exactly one input"),
            (
                one(json!({"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]})),
                "expected BYTES",
            ),
            (
                one(
                    json!({"name": "text", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}),
                ),
                "expected [N] or [N, 1]",
            ),
            (
                one(json!({"name": "text", "shape": [3], "datatype": "BYTES", "data": ["a", "b"]})),
                "but 2 elements",
            ),
            (
                one(json!({"name": "text", "shape": [1], "datatype": "BYTES", "data": [5]})),
                "element 0 of input \"text\" is not a string",
            ),
            (
                one(json!({"name": "text", "shape": [1], "datatype": "BYTES", "data": "abc"})),
                "must be an array",
            ),
            (
                one(
                    json!({"name": "text", "shape": [2], "datatype": "BYTES", "data": ["ok", "  "]}),
                ),
                "element 1 of input \"text\" is empty",
            ),
            (
                one(json!({"name": "text", "shape": [0], "datatype": "BYTES", "data": []})),
                "has no texts",
            ),
            (
                one(json!({"name": "text", "shape": [1], "datatype": "BYTES"})),
                "has no data",
            ),
            (
                one(
                    json!({"name": "text", "shape": [4], "datatype": "BYTES", "data": ["a", "b", "c", "d"]}),
                ),
                "the most allowed is 3",
            ),
            (
                request(
                    json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}],
                               "outputs": [{"name": "logits"}]}),
                ),
                "unknown output \"logits\"",
            ),
        ];
        for (req, want) in cases {
            let e = check_request(req, &[], 3).unwrap_err();
            assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
            assert!(e.to_string().contains(want), "{want}: {e}");
            assert_eq!(e.body()["error"], e.to_string());
        }
    }

    #[test]
    fn decodes_the_binary_tensor_extension() {
        fn binary_request(elems: &[&[u8]]) -> (Vec<u8>, String) {
            let mut data = Vec::new();
            for e in elems {
                data.extend_from_slice(&(e.len() as u32).to_le_bytes());
                data.extend_from_slice(e);
            }
            let header =
                json!({"inputs": [{"name": "text", "shape": [elems.len()], "datatype": "BYTES",
                                             "parameters": {"binary_data_size": data.len()}}]})
                .to_string();
            let len = header.len().to_string();
            let mut body = header.into_bytes();
            body.extend_from_slice(&data);
            (body, len)
        }
        let (body, len) = binary_request(&["héllo".as_bytes(), b"abc"]);
        let (req, rest) = parse_body(&body, Some(&len)).unwrap();
        let i = check_request(req, rest, 10).unwrap();
        assert_eq!(i.texts, ["héllo", "abc"]);
        // Truncated data, a header length past the body, a bad header length.
        let (req, rest) = parse_body(&body[..body.len() - 1], Some(&len)).unwrap();
        let e = check_request(req, rest, 10).unwrap_err();
        assert!(e.to_string().contains("declares"), "{e}");
        assert!(parse_body(&body, Some("99999")).is_err());
        assert!(parse_body(&body, Some("x")).is_err());
        let (body, len) = binary_request(&[b"\xff\xfeabcd", b"ok"]);
        let (req, rest) = parse_body(&body, Some(&len)).unwrap();
        let e = check_request(req, rest, 10).unwrap_err();
        assert!(
            e.to_string()
                .contains("element 0 of input \"text\" is not valid UTF-8"),
            "{e}"
        );
        assert_eq!(
            decode_binary_bytes(&[5, 0, 0, 0, b'a'], "t")
                .unwrap_err()
                .to_string(),
            "binary data of input \"t\" is truncated"
        );
        assert!(decode_binary_bytes(&[5, 0], "t").is_err());
    }

    #[test]
    fn the_response_names_the_model_echoes_the_id_and_keeps_the_column_order() {
        let input = check_request(
            request(json!({"id": "req-7", "inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": ["a", "b"]}]})),
            &[],
            10,
        )
        .unwrap();
        let scores = [
            Probabilities {
                pro: 0.7,
                anti: 0.2,
                neutral: 0.1,
            },
            Probabilities {
                pro: 0.1,
                anti: 0.3,
                neutral: 0.6,
            },
        ];
        let v = serde_json::to_value(respond("sanctuary", "1.0.0", &input, &scores)).unwrap();
        assert_eq!(v["model_name"], "sanctuary");
        assert_eq!(v["model_version"], "1.0.0");
        assert_eq!(v["id"], "req-7");
        assert_eq!(
            v["outputs"][0],
            json!({"name": "label", "datatype": "BYTES", "shape": [2, 1], "data": ["pro", "neutral"]})
        );
        assert_eq!(v["outputs"][1]["shape"], json!([2, 3]));
        assert_eq!(v["outputs"][1]["datatype"], "FP64");
        assert_eq!(v["outputs"][1]["parameters"]["labels"], "anti,neutral,pro");
        assert_eq!(
            v["outputs"][1]["data"],
            json!([0.2, 0.1, 0.7, 0.3, 0.6, 0.1])
        );
        // Only the outputs asked for, in the order asked.
        let input = check_request(
            request(
                json!({"inputs": [{"name": "t", "shape": [1], "datatype": "BYTES", "data": ["a"]}],
                           "outputs": [{"name": "probabilities"}]}),
            ),
            &[],
            10,
        )
        .unwrap();
        let v = serde_json::to_value(respond("m", "1", &input, &scores[..1])).unwrap();
        assert_eq!(v["outputs"].as_array().unwrap().len(), 1);
        assert_eq!(v["outputs"][0]["name"], "probabilities");
        assert!(v.get("id").is_none());
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for body in [&b"{"[..], b"[]", b"{\"inputs\": 5}", b"\xff"] {
            let e = parse_body(body, None).unwrap_err();
            assert_eq!(e.status_code(), StatusCode::BAD_REQUEST, "{body:?}");
        }
    }
}

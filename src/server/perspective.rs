//! A drop-in for the Perspective API's `comments:analyze`: its
//! request and response types, checking a request the way Perspective does,
//! mapping a [`DocumentScore`] to `attributeScores` / `spanScores`, and
//! Google's error envelope with Perspective's `errorType`s and messages.
//! The route itself is in `routes/perspective.rs`.
//!
//! Request and response follow Perspective's published reference
//! (`AnalyzeCommentRequest` / `AnalyzeCommentResponse`, API version
//! `v1alpha1`); field names are camelCase, and proto's snake_case spellings
//! are accepted too, as Google's own JSON parser does.
//!
//! Our attributes are the three stance probabilities of one model:
//! `STANCE_PRO_SANCTUARY`, `STANCE_ANTI_SANCTUARY`, `STANCE_NEUTRAL`. Unlike
//! Perspective's independent attributes they sum to 1 (see `docs/COMPAT.md`).
//! Span scores are per paragraph (Perspective: per sentence), with `begin`
//! and `end` in UTF-16 code units, end exclusive.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::keys::KeyRejection;
use super::strict::{object_map_opt, object_opt, objects_opt};
use crate::label::Label;
use crate::pipeline::DocumentScore;

/// The path of the endpoint (the colon is part of the path).
pub const ANALYZE_PATH: &str = "/v1alpha1/comments:analyze";

/// The path of Perspective's feedback endpoint (accepted and discarded).
pub const SUGGEST_PATH: &str = "/v1alpha1/comments:suggestscore";

/// Perspective's own limit on `comment.text`: 20 KB. Ours is configurable
/// (`STANCE_PERSPECTIVE_MAX_COMMENT_BYTES`); this is its default.
pub const DEFAULT_MAX_COMMENT_BYTES: usize = 20 * 1024;

/// The only score type Perspective (and we) return.
pub const PROBABILITY: &str = "PROBABILITY";

/// `@type` of Perspective's error details.
pub const ERROR_DETAIL_TYPE: &str = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error";

/// The only language the stance model was trained on.
pub const SUPPORTED_LANGUAGE: &str = "en";

/// One of the three stance attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// P(pro-sanctuary).
    ProSanctuary,
    /// P(anti-sanctuary, pro-enforcement).
    AntiSanctuary,
    /// P(neutral).
    Neutral,
}

impl Attribute {
    /// All attributes.
    pub const ALL: [Attribute; 3] = [
        Attribute::ProSanctuary,
        Attribute::AntiSanctuary,
        Attribute::Neutral,
    ];

    /// The attribute's name in requests and responses.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::ProSanctuary => "STANCE_PRO_SANCTUARY",
            Attribute::AntiSanctuary => "STANCE_ANTI_SANCTUARY",
            Attribute::Neutral => "STANCE_NEUTRAL",
        }
    }

    /// The label whose probability this attribute reports.
    pub fn label(self) -> Label {
        match self {
            Attribute::ProSanctuary => Label::Pro,
            Attribute::AntiSanctuary => Label::Anti,
            Attribute::Neutral => Label::Neutral,
        }
    }

    /// The attribute called `name` (exact, upper case as Perspective's are).
    pub fn from_name(name: &str) -> Option<Attribute> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A text and its type (`comment`, `context.entries[]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextEntry {
    /// The text.
    #[serde(default)]
    pub text: Option<String>,
    /// `PLAIN_TEXT` (default) or `HTML` (refused, as by Perspective).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// An article and the comment replied to (accepted, not used).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArticleAndParentComment {
    /// The article.
    #[serde(default, deserialize_with = "object_opt")]
    pub article: Option<TextEntry>,
    /// The parent comment.
    #[serde(default, alias = "parent_comment", deserialize_with = "object_opt")]
    pub parent_comment: Option<TextEntry>,
}

/// The context of a comment (accepted, not used, as by Perspective).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Context {
    /// Context texts.
    #[serde(default, deserialize_with = "objects_opt")]
    pub entries: Option<Vec<TextEntry>>,
    /// An article and parent comment.
    #[serde(
        default,
        alias = "article_and_parent_comment",
        deserialize_with = "object_opt"
    )]
    pub article_and_parent_comment: Option<ArticleAndParentComment>,
}

/// Options of one requested attribute.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttributeParameters {
    /// Only `PROBABILITY` is supported (the default).
    #[serde(default, alias = "score_type")]
    pub score_type: Option<String>,
    /// Scores below this are left out of the response.
    #[serde(default, alias = "score_threshold")]
    pub score_threshold: Option<f64>,
}

/// The body of `POST /v1alpha1/comments:analyze`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AnalyzeCommentRequest {
    /// The comment to score (required).
    #[serde(default, deserialize_with = "object_opt")]
    pub comment: Option<TextEntry>,
    /// Context (accepted, not used).
    #[serde(default, deserialize_with = "object_opt")]
    pub context: Option<Context>,
    /// Attribute name (optionally `NAME@VERSION`) to options (required, non-empty).
    #[serde(
        default,
        alias = "requested_attributes",
        deserialize_with = "object_map_opt"
    )]
    pub requested_attributes: Option<BTreeMap<String, Option<AttributeParameters>>>,
    /// Return a score per paragraph as well.
    #[serde(default, alias = "span_annotations")]
    pub span_annotations: Option<bool>,
    /// Languages of the comment; only `en` is supported.
    #[serde(default)]
    pub languages: Option<Vec<String>>,
    /// Do not store the comment: we never store comments, so this changes nothing.
    #[serde(default, alias = "do_not_store")]
    pub do_not_store: Option<bool>,
    /// Echoed in the response.
    #[serde(default, alias = "client_token")]
    pub client_token: Option<String>,
    /// Accepted, not used.
    #[serde(default, alias = "session_id")]
    pub session_id: Option<String>,
    /// Accepted, not used.
    #[serde(default, alias = "community_id")]
    pub community_id: Option<String>,
    /// Leave out attributes that do not support the request's languages
    /// instead of failing the request.
    #[serde(default, alias = "drop_unsupported_attributes")]
    pub drop_unsupported_attributes: Option<bool>,
}

/// A score and its type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The probability.
    pub value: f64,
    /// Always `PROBABILITY`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl Score {
    fn probability(value: f64) -> Self {
        Self {
            value,
            kind: PROBABILITY,
        }
    }
}

/// The score of one span (one paragraph).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpanScore {
    /// Start, in UTF-16 code units.
    pub begin: usize,
    /// End (exclusive), in UTF-16 code units.
    pub end: usize,
    /// The span's score.
    pub score: Score,
}

/// The scores of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeScores {
    /// Per-paragraph scores, when `spanAnnotations` was set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub span_scores: Vec<SpanScore>,
    /// The score of the whole comment.
    pub summary_score: Score,
}

/// The body of a successful answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzeCommentResponse {
    /// Requested attribute (as named in the request) to its scores.
    pub attribute_scores: BTreeMap<String, AttributeScores>,
    /// The request's languages, or the assumed language.
    pub languages: Vec<String>,
    /// Set when the request named no language: we assume English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_languages: Option<Vec<String>>,
    /// The request's `clientToken`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// One requested attribute, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedAttribute {
    /// The name as requested (with `@VERSION` if pinned): the response key.
    pub key: String,
    /// The attribute.
    pub attribute: Attribute,
    /// Leave out scores below this.
    pub threshold: Option<f64>,
}

/// A request that passed every check, ready to score.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    /// The comment text.
    pub text: String,
    /// Attributes to answer (empty when all were dropped for their language).
    pub attributes: Vec<RequestedAttribute>,
    /// Whether to return span scores.
    pub spans: bool,
    /// `languages` of the response.
    pub languages: Vec<String>,
    /// `detectedLanguages` of the response.
    pub detected_languages: Option<Vec<String>>,
    /// Echoed.
    pub client_token: Option<String>,
}

/// Why a Perspective request failed. Messages are Perspective's where it has
/// one. Every variant maps to an HTTP status, a Google status name and, for
/// request errors, an `errorType` ([`PerspectiveError::error_type`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PerspectiveError {
    /// No comment, or only white space. `COMMENT_EMPTY`.
    #[error("Comment must be non-empty.")]
    CommentEmpty,
    /// The comment is longer than the configured limit. `COMMENT_TOO_LONG`.
    #[error("Comment text too long.")]
    CommentTooLong {
        /// Its length in bytes (UTF-8), when known.
        bytes: Option<usize>,
        /// The limit in bytes.
        limit: usize,
    },
    /// `requestedAttributes` missing or empty. `NO_REQUESTED_ATTRIBUTES`.
    #[error("Missing requested_attributes")]
    NoRequestedAttributes,
    /// None of the request's languages is supported. `LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE`.
    #[error("Attribute {attribute} does not support request languages: {}", languages.join(", "))]
    LanguageNotSupported {
        /// The attribute (as requested).
        attribute: String,
        /// The request's languages.
        languages: Vec<String>,
    },
    /// An attribute we do not have. `INVALID_REQUEST`.
    #[error("Unknown requested attribute: {0}")]
    UnknownAttribute(String),
    /// `NAME@VERSION` names a version that is not serving. `INVALID_REQUEST`.
    #[error("Unknown requested attribute: {requested} (this service serves {name}@{serving})")]
    WrongVersion {
        /// The name as requested.
        requested: String,
        /// The attribute name.
        name: &'static str,
        /// The model version serving.
        serving: String,
    },
    /// A score type other than `PROBABILITY`. `INVALID_REQUEST`.
    #[error("Requested score type {score_type} is not supported by attribute {attribute}")]
    UnsupportedScoreType {
        /// The score type requested.
        score_type: String,
        /// The attribute.
        attribute: String,
    },
    /// `comment.type` is `HTML`. `INVALID_REQUEST`.
    #[error("Currently, only 'PLAIN_TEXT' comments are supported")]
    NotPlainText,
    /// `comment.type` is neither `PLAIN_TEXT` nor `HTML`. `INVALID_REQUEST`.
    #[error("Unknown text type: {0}")]
    UnknownTextType(String),
    /// `context` has both `entries` and `articleAndParentComment`. `INVALID_REQUEST`.
    #[error("Context can have either entries or article_and_parent_comment, but both fields were populated.")]
    ContextConflict,
    /// The body is not JSON, not UTF-8, or has unknown or mistyped fields. `INVALID_REQUEST`.
    #[error("Invalid JSON payload received. {0}")]
    InvalidJson(String),
    /// No API key, or an unknown one (keys are on). 401 `UNAUTHENTICATED`.
    #[error("{message}")]
    Unauthenticated {
        /// Google's message for the case.
        message: &'static str,
        /// `API_KEY_MISSING` or `API_KEY_INVALID`.
        reason: &'static str,
    },
    /// The key's requests-per-second limit is spent. 429 `RESOURCE_EXHAUSTED`,
    /// `RATE_LIMIT_EXCEEDED`.
    #[error("Rate limit exceeded for this API key: retry after {retry_after_secs} s")]
    RateLimited {
        /// Whole seconds until the next request would pass.
        retry_after_secs: u64,
    },
    /// Every scoring slot is taken (`max_in_flight`). 503 `UNAVAILABLE`,
    /// with `Retry-After` and a `google.rpc.RetryInfo` detail.
    #[error("The service is currently unavailable: too many requests in flight, retry after {retry_after_secs} s.")]
    Unavailable {
        /// Whole seconds to wait.
        retry_after_secs: u64,
    },
    /// The body had not arrived by the request deadline. 408 `DEADLINE_EXCEEDED`.
    #[error("The request body was not received within the deadline of {deadline_ms} ms.")]
    RequestTimeout {
        /// `request_deadline_ms`.
        deadline_ms: u64,
    },
    /// Scoring did not finish by the request deadline. 504 `DEADLINE_EXCEEDED`.
    #[error("Deadline exceeded: scoring did not finish within {deadline_ms} ms.")]
    DeadlineExceeded {
        /// `request_deadline_ms`.
        deadline_ms: u64,
    },
    /// Anything unexpected. 500 `INTERNAL`; the cause is logged, not sent.
    #[error("Internal error encountered.")]
    Internal(String),
}

impl PerspectiveError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            PerspectiveError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            PerspectiveError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            PerspectiveError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PerspectiveError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            PerspectiveError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            PerspectiveError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Google's status name (`google.rpc.Code`).
    pub fn grpc_status(&self) -> &'static str {
        match self {
            PerspectiveError::Unauthenticated { .. } => "UNAUTHENTICATED",
            PerspectiveError::RateLimited { .. } => "RESOURCE_EXHAUSTED",
            PerspectiveError::Internal(_) => "INTERNAL",
            PerspectiveError::Unavailable { .. } => "UNAVAILABLE",
            PerspectiveError::RequestTimeout { .. } | PerspectiveError::DeadlineExceeded { .. } => {
                "DEADLINE_EXCEEDED"
            }
            _ => "INVALID_ARGUMENT",
        }
    }

    /// Perspective's `errorType`, where the error has one.
    pub fn error_type(&self) -> Option<&'static str> {
        Some(match self {
            PerspectiveError::CommentEmpty => "COMMENT_EMPTY",
            PerspectiveError::CommentTooLong { .. } => "COMMENT_TOO_LONG",
            PerspectiveError::NoRequestedAttributes => "NO_REQUESTED_ATTRIBUTES",
            PerspectiveError::LanguageNotSupported { .. } => "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            PerspectiveError::RateLimited { .. } => "RATE_LIMIT_EXCEEDED",
            PerspectiveError::Unauthenticated { .. }
            | PerspectiveError::Internal(_)
            | PerspectiveError::Unavailable { .. }
            | PerspectiveError::RequestTimeout { .. }
            | PerspectiveError::DeadlineExceeded { .. } => return None,
            _ => "INVALID_REQUEST",
        })
    }

    /// The error for a refused API key.
    pub fn from_key_rejection(r: KeyRejection) -> Self {
        match r {
            KeyRejection::Missing => PerspectiveError::Unauthenticated {
                message: "The request is missing a valid API key.",
                reason: "API_KEY_MISSING",
            },
            KeyRejection::Unknown => PerspectiveError::Unauthenticated {
                message: "API key not valid. Please pass a valid API key.",
                reason: "API_KEY_INVALID",
            },
            KeyRejection::RateLimited { .. } => PerspectiveError::RateLimited {
                retry_after_secs: r.retry_after_secs().unwrap_or(1),
            },
        }
    }

    /// `error.details` of the envelope.
    pub fn details(&self) -> Vec<Value> {
        let mut details = Vec::new();
        if let Some(t) = self.error_type() {
            let mut d = json!({"@type": ERROR_DETAIL_TYPE, "errorType": t});
            if let PerspectiveError::LanguageNotSupported {
                attribute,
                languages,
            } = self
            {
                d["languageNotSupportedByAttributeError"] = json!({
                    "attribute": attribute,
                    "requestedLanguages": languages,
                });
            }
            details.push(d);
        }
        match self {
            PerspectiveError::Unauthenticated { reason, .. } => details.push(json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "stance",
            })),
            PerspectiveError::RateLimited { retry_after_secs }
            | PerspectiveError::Unavailable { retry_after_secs } => details.push(json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{retry_after_secs}s"),
            })),
            _ => {}
        }
        details
    }

    /// The whole body: `{"error": {"code", "message", "status", "details"}}`.
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "code": self.status().as_u16(),
                "message": self.to_string(),
                "status": self.grpc_status(),
                "details": self.details(),
            }
        })
    }

    /// Finishes `res` (status and headers already set) with this error's body.
    pub fn respond_with(&self, mut res: HttpResponseBuilder) -> HttpResponse {
        res.status(self.status())
            .content_type("application/json; charset=UTF-8")
            .body(self.body().to_string())
    }
}

impl ResponseError for PerspectiveError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let PerspectiveError::Internal(cause) = self {
            tracing::error!("perspective request failed: {cause}");
        }
        let mut res = HttpResponse::build(self.status());
        match self {
            PerspectiveError::RateLimited { retry_after_secs }
            | PerspectiveError::Unavailable { retry_after_secs } => {
                res.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_secs));
            }
            PerspectiveError::RequestTimeout { .. } => {
                // The rest of the body may still be on its way.
                res.force_close();
            }
            _ => {}
        }
        self.respond_with(res)
    }
}

/// Parses a request body: UTF-8 JSON whose top level is an object (serde
/// alone would also read a struct from an array of its fields).
pub fn parse_request(body: &[u8]) -> Result<AnalyzeCommentRequest, PerspectiveError> {
    parse_object(body)
}

/// Parses a body that must be a JSON object into `T`.
fn parse_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PerspectiveError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        PerspectiveError::InvalidJson(format!(
            "the body is not valid UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str::<super::strict::Object<T>>(text)
        .map(|o| o.0)
        .map_err(|e| PerspectiveError::InvalidJson(e.to_string()))
}

/// Checks a comment as Perspective does: plain text (HTML is refused),
/// non-blank, at most `max_comment_bytes` of UTF-8. Returns its text.
fn check_comment(
    comment: Option<TextEntry>,
    max_comment_bytes: usize,
) -> Result<String, PerspectiveError> {
    let comment = comment.unwrap_or_default();
    match comment.kind.as_deref() {
        None | Some("PLAIN_TEXT") | Some("TEXT_TYPE_UNSPECIFIED") => {}
        Some("HTML") => return Err(PerspectiveError::NotPlainText),
        Some(other) => {
            return Err(PerspectiveError::UnknownTextType(
                other.chars().take(64).collect(),
            ))
        }
    }
    let text = comment.text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(PerspectiveError::CommentEmpty);
    }
    if text.len() > max_comment_bytes {
        return Err(PerspectiveError::CommentTooLong {
            bytes: Some(text.len()),
            limit: max_comment_bytes,
        });
    }
    Ok(text)
}

/// Refuses a context with both `entries` (non-empty) and an article.
fn check_context(context: Option<&Context>) -> Result<(), PerspectiveError> {
    match context {
        Some(ctx)
            if ctx.entries.as_ref().is_some_and(|e| !e.is_empty())
                && ctx.article_and_parent_comment.is_some() =>
        {
            Err(PerspectiveError::ContextConflict)
        }
        _ => Ok(()),
    }
}

/// Whether a language tag (ISO 639-1 or BCP-47, any case) is English.
fn is_supported_language(tag: &str) -> bool {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    primary.eq_ignore_ascii_case(SUPPORTED_LANGUAGE)
}

/// Whether a pinned `version` selects the serving `model_version`: equal, or
/// a prefix ending at a `.` (`1` and `1.0` select `1.0.3`).
pub fn version_matches(version: &str, model_version: &str) -> bool {
    model_version == version
        || model_version
            .strip_prefix(version)
            .is_some_and(|rest| rest.starts_with('.') && !version.is_empty())
}

/// Checks a request against the serving model's version and the comment
/// length limit, in Perspective's order: comment, attributes, languages.
pub fn check_request(
    req: AnalyzeCommentRequest,
    model_version: &str,
    max_comment_bytes: usize,
) -> Result<CheckedRequest, PerspectiveError> {
    let text = check_comment(req.comment, max_comment_bytes)?;
    check_context(req.context.as_ref())?;
    let requested = req.requested_attributes.unwrap_or_default();
    if requested.is_empty() {
        return Err(PerspectiveError::NoRequestedAttributes);
    }
    let mut attributes = Vec::with_capacity(requested.len());
    for (key, params) in requested {
        let params = params.unwrap_or_default();
        let (name, version) = match key.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (key.as_str(), None),
        };
        let shown = || key.chars().take(128).collect::<String>();
        let attribute = Attribute::from_name(name)
            .ok_or_else(|| PerspectiveError::UnknownAttribute(shown()))?;
        if let Some(v) = version {
            if !version_matches(v, model_version) {
                return Err(PerspectiveError::WrongVersion {
                    requested: shown(),
                    name: attribute.name(),
                    serving: model_version.to_string(),
                });
            }
        }
        match params.score_type.as_deref() {
            None | Some("") | Some(PROBABILITY) => {}
            Some(other) => {
                return Err(PerspectiveError::UnsupportedScoreType {
                    score_type: other.chars().take(64).collect(),
                    attribute: shown(),
                })
            }
        }
        let threshold = match params.score_threshold {
            Some(t) if !t.is_finite() => {
                return Err(PerspectiveError::InvalidJson(format!(
                    "scoreThreshold of {} must be a finite number",
                    shown()
                )))
            }
            t => t,
        };
        attributes.push(RequestedAttribute {
            key,
            attribute,
            threshold,
        });
    }
    let (languages, detected_languages) = match req.languages {
        Some(langs) if !langs.is_empty() => {
            if !langs.iter().any(|l| is_supported_language(l)) {
                if req.drop_unsupported_attributes.unwrap_or(false) {
                    attributes.clear();
                } else {
                    return Err(PerspectiveError::LanguageNotSupported {
                        attribute: attributes
                            .first()
                            .map(|a| a.key.clone())
                            .unwrap_or_default(),
                        languages: langs.iter().map(|l| l.chars().take(35).collect()).collect(),
                    });
                }
            }
            (langs, None)
        }
        // No language named: we cannot detect one, and assume English.
        _ => (
            vec![SUPPORTED_LANGUAGE.to_string()],
            Some(vec![SUPPORTED_LANGUAGE.to_string()]),
        ),
    };
    Ok(CheckedRequest {
        text,
        attributes,
        spans: req.span_annotations.unwrap_or(false),
        languages,
        detected_languages,
        client_token: req.client_token,
    })
}

/// Builds the answer to `req` from the document's scores. A summary score
/// below an attribute's `scoreThreshold` leaves the attribute out; span
/// scores below it are left out of `spanScores`.
pub fn respond(req: &CheckedRequest, doc: &DocumentScore) -> AnalyzeCommentResponse {
    let mut attribute_scores = BTreeMap::new();
    for a in &req.attributes {
        let keep = |v: f64| a.threshold.is_none_or(|t| v >= t);
        let label = a.attribute.label();
        let summary = doc.probabilities.get(label);
        if !keep(summary) {
            continue;
        }
        let span_scores = if req.spans {
            doc.paragraphs
                .iter()
                .map(|p| SpanScore {
                    begin: p.start_utf16,
                    end: p.end_utf16,
                    score: Score::probability(p.probabilities.get(label)),
                })
                .filter(|s| keep(s.score.value))
                .collect()
        } else {
            Vec::new()
        };
        attribute_scores.insert(
            a.key.clone(),
            AttributeScores {
                span_scores,
                summary_score: Score::probability(summary),
            },
        );
    }
    AnalyzeCommentResponse {
        attribute_scores,
        languages: req.languages.clone(),
        detected_languages: req.detected_languages.clone(),
        client_token: req.client_token.clone(),
    }
}

/// The body of `POST /v1alpha1/comments:suggestscore`: a client's suggested
/// scores for a comment. We do not learn from feedback, so a valid
/// suggestion is acknowledged (its `clientToken` echoed) and discarded.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SuggestCommentScoreRequest {
    /// The comment (required, non-blank).
    #[serde(default, deserialize_with = "object_opt")]
    pub comment: Option<TextEntry>,
    /// Context (accepted).
    #[serde(default, deserialize_with = "object_opt")]
    pub context: Option<Context>,
    /// Suggested scores, attribute name to scores (accepted, any shape).
    #[serde(default, alias = "attribute_scores")]
    pub attribute_scores: Option<BTreeMap<String, Value>>,
    /// Languages (accepted).
    #[serde(default)]
    pub languages: Option<Vec<String>>,
    /// Community (accepted).
    #[serde(default, alias = "community_id")]
    pub community_id: Option<String>,
    /// Echoed.
    #[serde(default, alias = "client_token")]
    pub client_token: Option<String>,
    /// Session (accepted).
    #[serde(default, alias = "session_id")]
    pub session_id: Option<String>,
}

/// Checks a suggestion as analyze checks its comment and context (plain
/// text, non-blank, within the length limit; not both kinds of context) and
/// returns the acknowledgement `{"clientToken": ...}`.
pub fn acknowledge_suggestion(
    body: &[u8],
    max_comment_bytes: usize,
) -> Result<Value, PerspectiveError> {
    let req: SuggestCommentScoreRequest = parse_object(body)?;
    check_comment(req.comment, max_comment_bytes)?;
    check_context(req.context.as_ref())?;
    Ok(match req.client_token {
        Some(t) => json!({ "clientToken": t }),
        None => json!({}),
    })
}

/// The discovery document of this API (Google's `discovery#restDescription`
/// format), so discovery-based clients such as `google-api-python-client`
/// work when pointed at `{root_url}/$discovery/rest?version=v1alpha1`.
/// `root_url` is the service's base URL without a trailing slash.
pub fn discovery_document(root_url: &str) -> Value {
    let root = format!("{}/", root_url.trim_end_matches('/'));
    let text_entry = json!({
        "id": "TextEntry", "type": "object",
        "description": "A text and its type.",
        "properties": {
            "text": {"type": "string", "description": "UTF-8 text."},
            "type": {"type": "string", "enum": ["TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML"],
                     "description": "Only PLAIN_TEXT is supported."}
        }
    });
    let score = json!({
        "id": "Score", "type": "object",
        "properties": {
            "value": {"type": "number", "format": "float"},
            "type": {"type": "string", "enum": ["PROBABILITY"]}
        }
    });
    json!({
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "commentanalyzer:v1alpha1",
        "name": "commentanalyzer",
        "version": "v1alpha1",
        "revision": env!("CARGO_PKG_VERSION"),
        "title": "stance: Perspective-compatible Comment Analyzer API",
        "description": "Stance scores (STANCE_PRO_SANCTUARY, STANCE_ANTI_SANCTUARY, STANCE_NEUTRAL) in the shape of the Perspective API. The three probabilities sum to 1.",
        "protocol": "rest",
        "rootUrl": root,
        "servicePath": "",
        "baseUrl": root,
        "batchPath": "batch",
        "parameters": {
            "key": {"type": "string", "location": "query",
                    "description": "API key (only when the service has STANCE_API_KEYS_FILE set)."},
            "alt": {"type": "string", "location": "query", "default": "json", "enum": ["json"],
                    "description": "Data format for the response."},
            "prettyPrint": {"type": "boolean", "location": "query", "default": "true",
                            "description": "Accepted and ignored."},
            "fields": {"type": "string", "location": "query", "description": "Accepted and ignored."},
            "$.xgafv": {"type": "string", "location": "query", "enum": ["1", "2"],
                        "description": "Accepted and ignored."}
        },
        "resources": {
            "comments": {
                "methods": {
                    "analyze": {
                        "id": "commentanalyzer.comments.analyze",
                        "path": "v1alpha1/comments:analyze",
                        "flatPath": "v1alpha1/comments:analyze",
                        "httpMethod": "POST",
                        "description": "Scores a comment for the requested stance attributes.",
                        "parameters": {},
                        "parameterOrder": [],
                        "request": {"$ref": "AnalyzeCommentRequest"},
                        "response": {"$ref": "AnalyzeCommentResponse"}
                    },
                    "suggestscore": {
                        "id": "commentanalyzer.comments.suggestscore",
                        "path": "v1alpha1/comments:suggestscore",
                        "flatPath": "v1alpha1/comments:suggestscore",
                        "httpMethod": "POST",
                        "description": "Accepts suggested scores and discards them (this service does not learn from feedback).",
                        "parameters": {},
                        "parameterOrder": [],
                        "request": {"$ref": "SuggestCommentScoreRequest"},
                        "response": {"$ref": "SuggestCommentScoreResponse"}
                    }
                }
            }
        },
        "schemas": {
            "TextEntry": text_entry,
            "Score": score,
            "AttributeParameters": {
                "id": "AttributeParameters", "type": "object",
                "properties": {
                    "scoreType": {"type": "string", "enum": ["PROBABILITY"]},
                    "scoreThreshold": {"type": "number", "format": "float"}
                }
            },
            "SpanScore": {
                "id": "SpanScore", "type": "object",
                "properties": {
                    "begin": {"type": "integer", "format": "int32",
                              "description": "Start in UTF-16 code units."},
                    "end": {"type": "integer", "format": "int32",
                            "description": "End (exclusive) in UTF-16 code units."},
                    "score": {"$ref": "Score"}
                }
            },
            "AttributeScores": {
                "id": "AttributeScores", "type": "object",
                "properties": {
                    "summaryScore": {"$ref": "Score"},
                    "spanScores": {"type": "array", "items": {"$ref": "SpanScore"}}
                }
            },
            "Context": {
                "id": "Context", "type": "object",
                "properties": {
                    "entries": {"type": "array", "items": {"$ref": "TextEntry"}},
                    "articleAndParentComment": {"type": "object", "properties": {
                        "article": {"$ref": "TextEntry"},
                        "parentComment": {"$ref": "TextEntry"}
                    }}
                }
            },
            "AnalyzeCommentRequest": {
                "id": "AnalyzeCommentRequest", "type": "object",
                "properties": {
                    "comment": {"$ref": "TextEntry"},
                    "context": {"$ref": "Context"},
                    "requestedAttributes": {"type": "object",
                                            "additionalProperties": {"$ref": "AttributeParameters"}},
                    "spanAnnotations": {"type": "boolean"},
                    "languages": {"type": "array", "items": {"type": "string"}},
                    "doNotStore": {"type": "boolean"},
                    "clientToken": {"type": "string"},
                    "sessionId": {"type": "string"},
                    "communityId": {"type": "string"},
                    "dropUnsupportedAttributes": {"type": "boolean"}
                }
            },
            "SuggestCommentScoreRequest": {
                "id": "SuggestCommentScoreRequest", "type": "object",
                "properties": {
                    "comment": {"$ref": "TextEntry"},
                    "context": {"$ref": "Context"},
                    "attributeScores": {"type": "object",
                                        "additionalProperties": {"$ref": "AttributeScores"}},
                    "languages": {"type": "array", "items": {"type": "string"}},
                    "communityId": {"type": "string"},
                    "clientToken": {"type": "string"},
                    "sessionId": {"type": "string"}
                }
            },
            "SuggestCommentScoreResponse": {
                "id": "SuggestCommentScoreResponse", "type": "object",
                "properties": {"clientToken": {"type": "string"}}
            },
            "AnalyzeCommentResponse": {
                "id": "AnalyzeCommentResponse", "type": "object",
                "properties": {
                    "attributeScores": {"type": "object",
                                        "additionalProperties": {"$ref": "AttributeScores"}},
                    "languages": {"type": "array", "items": {"type": "string"}},
                    "detectedLanguages": {"type": "array", "items": {"type": "string"}},
                    "clientToken": {"type": "string"}
                }
            }
        }
    })
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Probabilities;
    use crate::pipeline::ParagraphScore;

    fn req(v: Value) -> AnalyzeCommentRequest {
        serde_json::from_value(v).unwrap()
    }

    fn check(v: Value) -> Result<CheckedRequest, PerspectiveError> {
        check_request(req(v), "1.2.0", 100)
    }

    fn probs(pro: f64, anti: f64, neutral: f64) -> Probabilities {
        Probabilities { pro, anti, neutral }
    }

    fn para(start_utf16: usize, end_utf16: usize, p: Probabilities) -> ParagraphScore {
        ParagraphScore {
            start: start_utf16,
            end: end_utf16,
            start_utf16,
            end_utf16,
            label: p.label(),
            probabilities: p,
            stance_index: p.stance_index(),
            low_confidence: false,
            explanation: None,
        }
    }

    fn doc() -> DocumentScore {
        let total = probs(0.5, 0.3, 0.2);
        DocumentScore {
            label: total.label(),
            probabilities: total,
            stance_index: total.stance_index(),
            low_confidence: false,
            paragraphs: vec![
                para(0, 10, probs(0.8, 0.1, 0.1)),
                para(12, 20, probs(0.2, 0.5, 0.3)),
            ],
        }
    }

    #[test]
    fn accepts_the_documented_request_shape_and_snake_case_aliases() {
        let full = json!({
            "comment": {"text": "Sanctuary now.", "type": "PLAIN_TEXT"},
            "context": {"entries": [{"text": "an article", "type": "PLAIN_TEXT"}]},
            "requestedAttributes": {"STANCE_PRO_SANCTUARY": {"scoreType": "PROBABILITY", "scoreThreshold": 0.1}},
            "spanAnnotations": true,
            "languages": ["en"],
            "doNotStore": true,
            "clientToken": "tok",
            "sessionId": "s",
            "communityId": "c",
            "dropUnsupportedAttributes": false
        });
        let c = check(full).unwrap();
        assert_eq!(c.text, "Sanctuary now.");
        assert_eq!(c.attributes[0].threshold, Some(0.1));
        assert!(c.spans);
        assert_eq!(c.client_token.as_deref(), Some("tok"));
        let snake = json!({
            "comment": {"text": "x"},
            "requested_attributes": {"STANCE_NEUTRAL": {"score_threshold": 0.5}},
            "span_annotations": true, "do_not_store": true, "client_token": "t"
        });
        let c = check(snake).unwrap();
        assert_eq!(c.attributes[0].attribute, Attribute::Neutral);
        assert_eq!(c.attributes[0].threshold, Some(0.5));
        assert!(c.spans);
    }

    #[test]
    fn rejects_unknown_fields_and_bad_json_as_invalid_request() {
        for body in [
            &b"{\"comment\": {\"text\": \"x\"}, \"bogus\": 1}"[..],
            b"{\"comment\": ",
            b"{\"comment\": {\"text\": 5}}",
            b"{\"comment\": {\"text\": \"\xff\"}}",
        ] {
            let e = parse_request(body).unwrap_err();
            assert_eq!(e.error_type(), Some("INVALID_REQUEST"), "{body:?}");
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
            assert!(
                e.to_string().starts_with("Invalid JSON payload received."),
                "{e}"
            );
        }
    }

    #[test]
    fn every_request_error_has_perspectives_type_and_message() {
        let attrs = json!({"STANCE_PRO_SANCTUARY": {}});
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"requestedAttributes": attrs}), "COMMENT_EMPTY", "Comment must be non-empty."),
            (json!({"comment": {"text": " \n\t"}, "requestedAttributes": attrs}), "COMMENT_EMPTY", "Comment must be non-empty."),
            (json!({"comment": {"text": "x".repeat(101)}, "requestedAttributes": attrs}), "COMMENT_TOO_LONG", "Comment text too long."),
            (json!({"comment": {"text": "x"}}), "NO_REQUESTED_ATTRIBUTES", "Missing requested_attributes"),
            (json!({"comment": {"text": "x"}, "requestedAttributes": {}}), "NO_REQUESTED_ATTRIBUTES", "Missing requested_attributes"),
            (json!({"comment": {"text": "x"}, "requestedAttributes": attrs, "languages": ["fr", "de"]}),
             "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE", "Attribute STANCE_PRO_SANCTUARY does not support request languages: fr, de"),
            (json!({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}}), "INVALID_REQUEST", "Unknown requested attribute: TOXICITY"),
            (json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL@2": {}}}), "INVALID_REQUEST",
             "Unknown requested attribute: STANCE_NEUTRAL@2 (this service serves STANCE_NEUTRAL@1.2.0)"),
            (json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {"scoreType": "PERCENTILE"}}}), "INVALID_REQUEST",
             "Requested score type PERCENTILE is not supported by attribute STANCE_NEUTRAL"),
            (json!({"comment": {"text": "<b>x</b>", "type": "HTML"}, "requestedAttributes": attrs}), "INVALID_REQUEST",
             "Currently, only 'PLAIN_TEXT' comments are supported"),
            (json!({"comment": {"text": "x", "type": "MARKDOWN"}, "requestedAttributes": attrs}), "INVALID_REQUEST", "Unknown text type: MARKDOWN"),
            (json!({"comment": {"text": "x"}, "requestedAttributes": attrs,
                    "context": {"entries": [{"text": "a"}], "articleAndParentComment": {"article": {"text": "b"}}}}),
             "INVALID_REQUEST", "Context can have either entries or article_and_parent_comment, but both fields were populated."),
        ];
        for (body, error_type, message) in cases {
            let e = check(body.clone()).unwrap_err();
            assert_eq!(e.error_type(), Some(error_type), "{body}");
            assert_eq!(e.to_string(), message, "{body}");
            let env = e.body();
            assert_eq!(env["error"]["code"], 400, "{body}");
            assert_eq!(env["error"]["status"], "INVALID_ARGUMENT", "{body}");
            assert_eq!(env["error"]["message"], message, "{body}");
            assert_eq!(env["error"]["details"][0]["@type"], ERROR_DETAIL_TYPE);
            assert_eq!(
                env["error"]["details"][0]["errorType"], error_type,
                "{body}"
            );
        }
    }

    #[test]
    fn the_language_error_names_the_attribute_and_languages_in_its_details() {
        let e = check(json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": ["es"]}))
            .unwrap_err();
        let d = &e.body()["error"]["details"][0]["languageNotSupportedByAttributeError"];
        assert_eq!(d["attribute"], "STANCE_NEUTRAL");
        assert_eq!(d["requestedLanguages"], json!(["es"]));
    }

    #[test]
    fn english_in_any_spelling_is_supported_and_echoed() {
        for langs in [json!(["en"]), json!(["EN-us"]), json!(["fr", "en_GB"])] {
            let c = check(json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": langs}))
                .unwrap();
            assert_eq!(json!(c.languages), langs);
            assert_eq!(c.detected_languages, None);
        }
        let c =
            check(json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {}}}))
                .unwrap();
        assert_eq!(c.languages, ["en"]);
        assert_eq!(c.detected_languages, Some(vec!["en".to_string()]));
    }

    #[test]
    fn drop_unsupported_attributes_answers_without_them_instead_of_failing() {
        let c = check(
            json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {}},
                             "languages": ["fr"], "dropUnsupportedAttributes": true}),
        )
        .unwrap();
        assert!(c.attributes.is_empty());
        let r = respond(&c, &doc());
        assert!(r.attribute_scores.is_empty());
        assert_eq!(r.languages, ["fr"]);
    }

    #[test]
    fn version_pinning_matches_the_serving_version_or_a_dotted_prefix() {
        for (v, ok) in [
            ("1.2.0", true),
            ("1.2", true),
            ("1", true),
            ("1.20", false),
            ("2", false),
            ("", false),
            ("1.2.0.1", false),
        ] {
            assert_eq!(version_matches(v, "1.2.0"), ok, "{v}");
        }
        let c = check(json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_PRO_SANCTUARY@1.2.0": {}}})).unwrap();
        assert_eq!(c.attributes[0].key, "STANCE_PRO_SANCTUARY@1.2.0");
        let r = respond(&c, &doc());
        assert!(r
            .attribute_scores
            .contains_key("STANCE_PRO_SANCTUARY@1.2.0"));
    }

    #[test]
    fn maps_document_and_paragraph_probabilities_to_summary_and_span_scores() {
        let c = check(json!({"comment": {"text": "x"}, "spanAnnotations": true, "clientToken": "ct",
                             "requestedAttributes": {"STANCE_PRO_SANCTUARY": {}, "STANCE_ANTI_SANCTUARY": {}, "STANCE_NEUTRAL": {}}}))
        .unwrap();
        let r = respond(&c, &doc());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["attributeScores"]["STANCE_PRO_SANCTUARY"]["summaryScore"],
            json!({"value": 0.5, "type": "PROBABILITY"})
        );
        assert_eq!(
            v["attributeScores"]["STANCE_ANTI_SANCTUARY"]["summaryScore"]["value"],
            0.3
        );
        assert_eq!(
            v["attributeScores"]["STANCE_NEUTRAL"]["summaryScore"]["value"],
            0.2
        );
        assert_eq!(
            v["attributeScores"]["STANCE_PRO_SANCTUARY"]["spanScores"],
            json!([
                {"begin": 0, "end": 10, "score": {"value": 0.8, "type": "PROBABILITY"}},
                {"begin": 12, "end": 20, "score": {"value": 0.2, "type": "PROBABILITY"}}
            ])
        );
        assert_eq!(v["clientToken"], "ct");
        assert_eq!(v["languages"], json!(["en"]));
        assert_eq!(v["detectedLanguages"], json!(["en"]));
        let sum: f64 = Attribute::ALL
            .iter()
            .map(|a| {
                v["attributeScores"][a.name()]["summaryScore"]["value"]
                    .as_f64()
                    .unwrap()
            })
            .sum();
        assert!((sum - 1.0).abs() < 1e-12);
    }

    #[test]
    fn span_scores_are_left_out_unless_asked_for() {
        let c =
            check(json!({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {}}}))
                .unwrap();
        let v = serde_json::to_value(respond(&c, &doc())).unwrap();
        assert!(
            v["attributeScores"]["STANCE_NEUTRAL"]
                .get("spanScores")
                .is_none(),
            "{v}"
        );
        assert!(v.get("clientToken").is_none());
    }

    #[test]
    fn score_threshold_leaves_out_attributes_and_spans_below_it() {
        let c = check(
            json!({"comment": {"text": "x"}, "spanAnnotations": true, "requestedAttributes": {
                "STANCE_PRO_SANCTUARY": {"scoreThreshold": 0.5},
                "STANCE_ANTI_SANCTUARY": {"scoreThreshold": 0.31},
                "STANCE_NEUTRAL": {"scoreThreshold": 0.0}
            }}),
        )
        .unwrap();
        let r = respond(&c, &doc());
        // Summary 0.5 is not below 0.5: kept, with only the 0.8 span.
        let pro = &r.attribute_scores["STANCE_PRO_SANCTUARY"];
        assert_eq!(pro.span_scores.len(), 1);
        assert_eq!(pro.span_scores[0].score.value, 0.8);
        // Summary 0.3 < 0.31: left out whole.
        assert!(!r.attribute_scores.contains_key("STANCE_ANTI_SANCTUARY"));
        assert_eq!(r.attribute_scores["STANCE_NEUTRAL"].span_scores.len(), 2);
    }

    #[test]
    fn key_refusals_use_googles_statuses_and_details() {
        let e = PerspectiveError::from_key_rejection(KeyRejection::Unknown);
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
        let b = e.body();
        assert_eq!(b["error"]["status"], "UNAUTHENTICATED");
        assert_eq!(b["error"]["details"][0]["reason"], "API_KEY_INVALID");
        let e = PerspectiveError::from_key_rejection(KeyRejection::RateLimited {
            retry_after: std::time::Duration::from_millis(1500),
        });
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        let b = e.body();
        assert_eq!(b["error"]["code"], 429);
        assert_eq!(b["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(b["error"]["details"][0]["errorType"], "RATE_LIMIT_EXCEEDED");
        assert_eq!(b["error"]["details"][1]["retryDelay"], "2s");
    }

    #[test]
    fn a_suggestion_is_checked_acknowledged_and_discarded() {
        let ok = br#"{"comment": {"text": "x"}, "attributeScores": {"STANCE_NEUTRAL": {"summaryScore": {"value": 1}}}, "clientToken": "c-1", "communityId": "/forum"}"#;
        assert_eq!(
            acknowledge_suggestion(ok, 100).unwrap(),
            json!({"clientToken": "c-1"})
        );
        assert_eq!(
            acknowledge_suggestion(br#"{"comment": {"text": "x"}}"#, 100).unwrap(),
            json!({})
        );
        let cases: [(&[u8], &str); 4] = [
            (br#"{"comment": {"text": ""}}"#, "COMMENT_EMPTY"),
            (br#"{"attributeScores": {}}"#, "COMMENT_EMPTY"),
            (br#"{"comment": {"text": "xxxx"}}"#, "COMMENT_TOO_LONG"),
            (
                br#"{"comment": {"text": "x"}, "bogus": true}"#,
                "INVALID_REQUEST",
            ),
        ];
        for (body, want) in cases {
            let e = acknowledge_suggestion(body, 3).unwrap_err();
            assert_eq!(
                e.error_type(),
                Some(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_discovery_document_points_clients_at_this_service() {
        let d = discovery_document("http://127.0.0.1:9000");
        assert_eq!(d["rootUrl"], "http://127.0.0.1:9000/");
        assert_eq!(d["name"], "commentanalyzer");
        assert_eq!(d["version"], "v1alpha1");
        let m = &d["resources"]["comments"]["methods"]["analyze"];
        assert_eq!(m["path"], "v1alpha1/comments:analyze");
        assert_eq!(format!("/{}", m["path"].as_str().unwrap()), ANALYZE_PATH);
        for r in ["AnalyzeCommentRequest", "AnalyzeCommentResponse"] {
            assert_eq!(d["schemas"][r]["id"], r);
        }
    }
}

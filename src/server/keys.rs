//! Optional API keys for the scoring endpoints, each with an optional
//! requests-per-second limit.
//!
//! Keys are off by default. `STANCE_API_KEYS_FILE` names a file with one key
//! per line:
//!
//! ```text
//! # comment lines start with '#'; blank lines are skipped
//! moderation-tool-7f3a9c            # no limit
//! research-batch-19be20 rps=5       # 5 requests per second, bursts of 5
//! dashboard-ae02 rps=0.5 burst=3    # one request every 2 s, bursts of 3
//! ```
//!
//! A key is 8 to 256 visible ASCII characters other than `#`. `rps` is a
//! positive number; `burst` (the bucket size, default `max(1, ceil(rps))`) a
//! positive integer. Each key has its own token bucket.
//!
//! Clients send the key as `?key=KEY` (what Perspective clients do), as
//! `Authorization: Bearer KEY`, or as `X-Goog-Api-Key: KEY`. Keys are
//! compared in constant time (SHA-256 of both sides, compared with `subtle`)
//! against every configured key, and never logged: [`ApiKeys`]' `Debug`
//! shows only how many keys there are.
//!
//! The keys in force live in an [`ApiKeyStore`] (in the service's
//! [`AppState`](super::state::AppState)). `SIGHUP` re-reads the same file
//! ([`ApiKeyStore::reload`], after the model reload): if it parses, the new
//! set is swapped in atomically (requests already checked are not affected);
//! a key in both files with the same limit keeps its token bucket, so a reload
//! never refills a spent limit; a new key, or a key whose limit changed,
//! starts with a full bucket; a removed key is refused from then on. If the
//! file cannot be read or parsed, the old keys stay in force and the error
//! (file and line, never a key) is logged. A service started without a keys
//! file keeps keys off: `SIGHUP` does not turn them on.
//!
//! [`require_api_key`] is the middleware: it guards the scoring endpoints
//! ([`is_guarded`]) and leaves health, readiness, metrics and model metadata
//! open. Its refusals use the envelope of the endpoint they guard: Google's
//! for the Perspective endpoint, the Open Inference Protocol's for KServe,
//! the service's own elsewhere.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::error::{ErrorBody, ErrorDetail};
use super::state::AppState;

/// Shortest accepted key: shorter keys are too easy to guess.
pub const MIN_KEY_LEN: usize = 8;
/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 256;

/// Why the keys file cannot be used. Every variant names the file; line
/// numbers start at 1; no message ever contains a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file cannot be read.
    #[error("cannot read API keys file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key is too short, too long or has characters outside visible ASCII.
    #[error("{path}:{line}: invalid key: expected {MIN_KEY_LEN} to {MAX_KEY_LEN} visible ASCII characters other than '#'")]
    InvalidKey {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// An option is not `rps=<number>` or `burst=<integer>`.
    #[error("{path}:{line}: invalid option {option:?}: expected rps=<positive number> or burst=<positive integer>")]
    InvalidOption {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// The option as written (never the key).
        option: String,
    },
    /// `burst=` without `rps=`.
    #[error("{path}:{line}: burst= needs rps= on the same line")]
    BurstWithoutRate {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// The same key twice.
    #[error("{path}:{line}: duplicate key (first defined on line {first})")]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The line of the repeat.
        line: usize,
        /// The line of the first definition.
        first: usize,
    },
    /// No key at all: the service would refuse every scoring request.
    #[error(
        "API keys file {path} has no keys (leave out --api-keys-file and STANCE_API_KEYS_FILE to turn keys off)"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// A per-key rate limit: `rps` tokens per second into a bucket of `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub rps: f64,
    /// Bucket size: requests allowed at once after a pause.
    pub burst: u32,
}

/// A token bucket: full at start, refilled continuously at `rps`.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket for `limit`, as of `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes one token at `now`, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        let cap = f64::from(self.limit.burst);
        self.tokens = (self.tokens + elapsed * self.limit.rps).min(cap);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.limit.rps;
            Err(Duration::from_secs_f64(wait.clamp(0.0, 86_400.0)))
        }
    }
}

struct KeyEntry {
    digest: [u8; 32],
    line: usize,
    limit: Option<RateLimit>,
    /// Shared with the entry of the same key in the previous set when a
    /// reload kept its limit, so the bucket survives the swap.
    bucket: Option<Arc<Mutex<TokenBucket>>>,
}

/// The configured keys. An empty set (no file) means keys are off.
pub struct ApiKeys {
    entries: Vec<KeyEntry>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    /// No key was sent. 401.
    Missing,
    /// The key is not configured. 401.
    Unknown,
    /// The key's limit is spent. 429 with `Retry-After`.
    RateLimited {
        /// Time until the next request would pass.
        retry_after: Duration,
    },
}

impl KeyRejection {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            KeyRejection::Missing | KeyRejection::Unknown => StatusCode::UNAUTHORIZED,
            KeyRejection::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// A short name for logs: `missing`, `unknown` or `rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRejection::Missing => "missing",
            KeyRejection::Unknown => "unknown",
            KeyRejection::RateLimited { .. } => "rate_limited",
        }
    }

    /// Whole seconds for `Retry-After` (at least 1), for rate limits.
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            KeyRejection::RateLimited { retry_after } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => None,
        }
    }
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

fn valid_key(key: &str) -> bool {
    (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

fn parse_limit(
    path: &Path,
    line: usize,
    options: &[&str],
) -> Result<Option<RateLimit>, KeyFileError> {
    let invalid = |option: &str| KeyFileError::InvalidOption {
        path: path.to_path_buf(),
        line,
        option: option.chars().take(64).collect(),
    };
    let (mut rps, mut burst) = (None, None);
    for &opt in options {
        match opt.split_once('=') {
            Some(("rps", v)) if rps.is_none() => match v.parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 && r <= 1e9 => rps = Some(r),
                _ => return Err(invalid(opt)),
            },
            Some(("burst", v)) if burst.is_none() => match v.parse::<u32>() {
                Ok(b) if b >= 1 => burst = Some(b),
                _ => return Err(invalid(opt)),
            },
            _ => return Err(invalid(opt)),
        }
    }
    match (rps, burst) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(KeyFileError::BurstWithoutRate {
            path: path.to_path_buf(),
            line,
        }),
        (Some(rps), burst) => Ok(Some(RateLimit {
            rps,
            burst: burst.unwrap_or_else(|| (rps.ceil() as u32).max(1)),
        })),
    }
}

impl ApiKeys {
    /// Keys off: every request passes.
    pub fn disabled() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Whether keys are required.
    pub fn enabled(&self) -> bool {
        !self.entries.is_empty()
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is configured (keys are off).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads the keys file at `path` (see the module docs for the syntax).
    pub fn from_file(path: &Path) -> Result<Self, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Keys from the settings: off when `file` is `None`.
    pub fn from_setting(file: Option<&Path>) -> Result<Self, KeyFileError> {
        file.map_or_else(|| Ok(Self::disabled()), Self::from_file)
    }

    /// Parses the text of a keys file; `path` is for error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, KeyFileError> {
        let now = Instant::now();
        let mut entries: Vec<KeyEntry> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            // A '#' starts a comment; keys cannot contain one.
            let content = raw.split('#').next().unwrap_or_default();
            let mut fields = content.split_whitespace();
            let Some(key) = fields.next() else { continue };
            if !valid_key(key) {
                return Err(KeyFileError::InvalidKey {
                    path: path.to_path_buf(),
                    line,
                });
            }
            let options: Vec<&str> = fields.collect();
            let limit = parse_limit(path, line, &options)?;
            let d = digest(key.as_bytes());
            if let Some(first) = entries.iter().find(|e| bool::from(e.digest.ct_eq(&d))) {
                return Err(KeyFileError::Duplicate {
                    path: path.to_path_buf(),
                    line,
                    first: first.line,
                });
            }
            entries.push(KeyEntry {
                digest: d,
                line,
                limit,
                bucket: limit.map(|l| Arc::new(Mutex::new(TokenBucket::new(l, now)))),
            });
        }
        if entries.is_empty() {
            return Err(KeyFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Self { entries })
    }

    /// Checks a presented key at `now`: `Ok` with the key's line in the file
    /// (a name for it that is safe to log), or why it is refused. Every
    /// configured key is compared, in constant time, whatever matches.
    pub fn check(&self, presented: Option<&str>, now: Instant) -> Result<usize, KeyRejection> {
        let presented = presented.ok_or(KeyRejection::Missing)?;
        let d = digest(presented.as_bytes());
        let mut found = subtle::Choice::from(0u8);
        let mut index = 0u64;
        for (i, e) in self.entries.iter().enumerate() {
            let eq = e.digest.ct_eq(&d);
            index = u64::conditional_select(&index, &(i as u64), eq);
            found |= eq;
        }
        if !bool::from(found) {
            return Err(KeyRejection::Unknown);
        }
        let entry = usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .ok_or(KeyRejection::Unknown)?;
        if let Some(bucket) = &entry.bucket {
            // A poisoned lock only means another request panicked mid-update;
            // the bucket's numbers are still usable.
            let mut b = bucket.lock().unwrap_or_else(|e| e.into_inner());
            b.try_take(now)
                .map_err(|retry_after| KeyRejection::RateLimited { retry_after })?;
        }
        Ok(entry.line)
    }

    /// Takes over the token buckets of `previous` for every key that is in
    /// both sets with the same limit (the bucket is shared, not copied, so
    /// requests still running on `previous` spend from it too). Returns how
    /// many buckets were carried over. Keys whose limit changed keep their
    /// fresh, full bucket.
    pub fn carry_buckets_from(&mut self, previous: &ApiKeys) -> usize {
        // Reload time only, not per request: a map lookup is fine here.
        let old: HashMap<&[u8; 32], &KeyEntry> =
            previous.entries.iter().map(|e| (&e.digest, e)).collect();
        let mut carried = 0;
        for entry in &mut self.entries {
            let Some(prev) = old.get(&entry.digest) else {
                continue;
            };
            if let (Some(limit), Some(bucket)) = (entry.limit, &prev.bucket) {
                if prev.limit == Some(limit) {
                    entry.bucket = Some(Arc::clone(bucket));
                    carried += 1;
                }
            }
        }
        carried
    }
}

/// What a successful [`ApiKeyStore::reload`] swapped in (counts only, never keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysReloaded {
    /// Keys in force now.
    pub keys: usize,
    /// Keys that kept their token bucket (same key, same limit).
    pub buckets_kept: usize,
}

/// The key set in force, behind an [`ArcSwap`] so a reload swaps it without
/// blocking requests (a check is one lock-free load), and the file it is read
/// from. Without a file, keys are off for the life of the service.
pub struct ApiKeyStore {
    file: Option<PathBuf>,
    current: ArcSwap<ApiKeys>,
}

impl fmt::Debug for ApiKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyStore")
            .field("file", &self.file)
            .field("keys", &self.current.load().len())
            .finish()
    }
}

impl Default for ApiKeyStore {
    fn default() -> Self {
        Self::disabled()
    }
}

impl ApiKeyStore {
    /// Keys off, for good: every request passes and reloads do nothing.
    pub fn disabled() -> Self {
        Self {
            file: None,
            current: ArcSwap::from_pointee(ApiKeys::disabled()),
        }
    }

    /// Keys from the settings: off when `file` is `None`, else read from
    /// `file` now and on every [`reload`](Self::reload).
    pub fn from_setting(file: Option<&Path>) -> Result<Self, KeyFileError> {
        match file {
            None => Ok(Self::disabled()),
            Some(path) => Ok(Self {
                current: ArcSwap::from_pointee(ApiKeys::from_file(path)?),
                file: Some(path.to_path_buf()),
            }),
        }
    }

    /// The keys file, when keys are on.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Whether keys are required (a keys file was configured at start).
    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    /// The key set in force now.
    pub fn current(&self) -> Arc<ApiKeys> {
        self.current.load_full()
    }

    /// Checks a presented key against the set in force (see [`ApiKeys::check`]).
    pub fn check(&self, presented: Option<&str>, now: Instant) -> Result<usize, KeyRejection> {
        self.current.load().check(presented, now)
    }

    /// Swaps `keys` in, keeping the buckets of unchanged keys (see
    /// [`ApiKeys::carry_buckets_from`]).
    pub fn replace(&self, mut keys: ApiKeys) -> KeysReloaded {
        let previous = self.current.load_full();
        let buckets_kept = keys.carry_buckets_from(&previous);
        let count = keys.len();
        self.current.store(Arc::new(keys));
        KeysReloaded {
            keys: count,
            buckets_kept,
        }
    }

    /// Re-reads the keys file and swaps the new set in. `Ok(None)` when keys
    /// are off (reloading never turns them on). On error the old set stays in
    /// force. Blocking (reads the file); callers serialize reloads.
    pub fn reload(&self) -> Result<Option<KeysReloaded>, KeyFileError> {
        let Some(path) = self.file.as_deref() else {
            return Ok(None);
        };
        let keys = ApiKeys::from_file(path)?;
        Ok(Some(self.replace(keys)))
    }
}

/// The key a request presents: `?key=`, else `Authorization: Bearer`, else
/// `X-Goog-Api-Key`. An empty value counts as none.
pub fn presented_key(query: &str, headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    let from_query = web::Query::<Vec<(String, String)>>::from_query(query)
        .ok()
        .and_then(|q| q.0.into_iter().find(|(k, _)| k == "key").map(|(_, v)| v));
    let from_bearer = || {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_string())
            })
    };
    let from_goog = || {
        headers
            .get("x-goog-api-key")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    from_query
        .or_else(from_bearer)
        .or_else(from_goog)
        .filter(|k| !k.is_empty())
}

/// Which API a guarded path belongs to, for the shape of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// `/v1/score`, `/v1/score/batch`: the service's own envelope.
    Native,
    /// `/v1alpha1/comments:analyze`: Google's envelope.
    Perspective,
    /// `/v2/models/.../infer`: `{"error": "..."}`.
    KServe,
}

/// Whether `path` is a scoring endpoint that needs a key, and of which API.
/// Health, readiness, metrics, model metadata and the docs stay open.
pub fn is_guarded(path: &str) -> Option<Guarded> {
    match path {
        "/v1/score" | "/v1/score/batch" => Some(Guarded::Native),
        super::perspective::ANALYZE_PATH | super::perspective::SUGGEST_PATH => {
            Some(Guarded::Perspective)
        }
        p if p.starts_with("/v2/models/") && p.ends_with("/infer") => Some(Guarded::KServe),
        _ => None,
    }
}

/// The message of a refusal (never containing the key).
pub fn rejection_message(r: KeyRejection) -> String {
    match r {
        KeyRejection::Missing => {
            "missing API key: send ?key=KEY or Authorization: Bearer KEY".into()
        }
        KeyRejection::Unknown => "API key not valid. Please pass a valid API key.".into(),
        KeyRejection::RateLimited { .. } => format!(
            "rate limit of this API key exceeded: retry after {} s",
            r.retry_after_secs().unwrap_or(1)
        ),
    }
}

/// The response refusing a request to a `kind` endpoint.
pub fn rejection_response(kind: Guarded, r: KeyRejection) -> HttpResponse {
    let mut res = HttpResponse::build(r.status());
    if let Some(secs) = r.retry_after_secs() {
        res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
    }
    if r.status() == StatusCode::UNAUTHORIZED {
        // With an auth-param: httplib2 (under google-api-python-client)
        // refuses a bare `Bearer` challenge as a malformed header.
        res.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"stance\""),
        ));
    }
    let body = match kind {
        Guarded::Perspective => {
            return super::perspective::PerspectiveError::from_key_rejection(r).respond_with(res)
        }
        Guarded::KServe => serde_json::json!({ "error": rejection_message(r) }),
        Guarded::Native => {
            let code = match r {
                KeyRejection::Missing | KeyRejection::Unknown => "unauthorized",
                KeyRejection::RateLimited { .. } => "rate_limited",
            };
            serde_json::to_value(ErrorBody {
                error: ErrorDetail {
                    code: code.into(),
                    message: rejection_message(r),
                },
            })
            .unwrap_or_default()
        }
    };
    res.content_type("application/json").body(body.to_string())
}

/// Middleware guarding the scoring endpoints with the [`ApiKeyStore`] of the
/// app state (`web::Data<AppState>`); without it, or with keys off, every
/// request passes. Refusals never reach the handler.
pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    // The percent-decoded path the router matches (`/v1alpha1/comments%3Aanalyze`
    // routes to the analyze handler), not the raw one, so no spelling of a
    // guarded path slips past.
    let path = req.match_info().as_str().to_string();
    let state = req.app_data::<web::Data<AppState>>();
    let verdict = match (is_guarded(&path), state.map(|s| s.api_keys())) {
        (Some(kind), Some(keys)) if keys.enabled() => {
            let key = presented_key(req.query_string(), req.headers());
            keys.check(key.as_deref(), Instant::now())
                .map(|line| Some((kind, line)))
                .map_err(|r| (kind, r))
        }
        _ => Ok(None),
    };
    match verdict {
        Ok(who) => {
            if let Some((_, line)) = who {
                tracing::debug!(api_key_line = line, "API key accepted");
            }
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err((kind, r)) => {
            tracing::info!(
                rejection = r.as_str(),
                status = r.status().as_u16(),
                "API key refused"
            );
            let res = rejection_response(kind, r);
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderMap;

    fn parse(text: &str) -> Result<ApiKeys, KeyFileError> {
        ApiKeys::parse(text, Path::new("keys.txt"))
    }

    #[test]
    fn parses_keys_limits_comments_and_blank_lines() {
        let keys = parse(
            "# team keys\n\nalpha-key-0001\n  beta-key-0002 rps=5   # research\ngamma-key-0003 rps=0.5 burst=3\n",
        )
        .unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys.enabled());
        let now = Instant::now();
        assert_eq!(keys.check(Some("alpha-key-0001"), now), Ok(3));
        assert_eq!(keys.check(Some("beta-key-0002"), now), Ok(4));
        assert_eq!(keys.check(Some("gamma-key-0003"), now), Ok(5));
        assert_eq!(
            keys.check(Some("delta-key-0004"), now),
            Err(KeyRejection::Unknown)
        );
        assert_eq!(
            keys.check(Some("alpha-key-000"), now),
            Err(KeyRejection::Unknown)
        );
        assert_eq!(keys.check(None, now), Err(KeyRejection::Missing));
    }

    #[test]
    fn rejects_bad_lines_naming_the_line_but_never_the_key() {
        let cases = [
            ("short\n", "keys.txt:1: invalid key"),
            (
                "good-key-0001\ngood-key-0002 with spaces\n",
                "keys.txt:2: invalid option \"with\"",
            ),
            ("good-key-0001 rps=0\n", "invalid option \"rps=0\""),
            ("good-key-0001 rps=-1\n", "invalid option"),
            ("good-key-0001 rps=NaN\n", "invalid option"),
            (
                "good-key-0001 burst=0 rps=1\n",
                "invalid option \"burst=0\"",
            ),
            ("good-key-0001 rps=1 rps=2\n", "invalid option \"rps=2\""),
            ("good-key-0001 burst=2\n", "burst= needs rps="),
            (
                "good-key-0001\ngood-key-0001 rps=1\n",
                "keys.txt:2: duplicate key (first defined on line 1)",
            ),
            ("# nothing\n\n", "has no keys"),
            ("clé-non-ascii-key\n", "keys.txt:1: invalid key"),
        ];
        for (text, want) in cases {
            let msg = parse(text).map(|_| ()).unwrap_err().to_string();
            assert!(msg.contains(want), "{text:?}: {msg}");
            assert!(!msg.contains("good-key"), "{text:?} leaks the key: {msg}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error_and_no_file_means_keys_off() {
        let err = ApiKeys::from_setting(Some(Path::new("/nonexistent/keys"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/keys"), "{err}");
        let off = ApiKeys::from_setting(None).unwrap();
        assert!(!off.enabled());
    }

    #[test]
    fn debug_output_never_shows_keys() {
        let keys = parse("secret-key-0001 rps=1\n").unwrap();
        let dbg = format!("{keys:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("keys: 1"), "{dbg}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        std::fs::write(&path, "secret-key-0001 rps=1\n").unwrap();
        let store = ApiKeyStore::from_setting(Some(&path)).unwrap();
        let dbg = format!("{store:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("keys: 1"), "{dbg}");
    }

    #[test]
    fn the_token_bucket_allows_a_burst_then_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RateLimit { rps: 2.0, burst: 2 }, t0);
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // Half a token after 250 ms: still refused, 250 ms to go.
        let wait = b.try_take(t0 + Duration::from_millis(250)).unwrap_err();
        assert!((wait.as_secs_f64() - 0.25).abs() < 1e-6, "{wait:?}");
        assert!(b.try_take(t0 + Duration::from_millis(500)).is_ok());
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert!(b.try_take(later).is_ok());
        assert!(b.try_take(later).is_ok());
        assert!(b.try_take(later).is_err());
    }

    #[test]
    fn a_limited_key_is_refused_with_retry_after_when_its_bucket_is_empty() {
        let keys = parse("slow-key-00001 rps=0.25\nfast-key-00002\n").unwrap();
        let now = Instant::now();
        assert!(keys.check(Some("slow-key-00001"), now).is_ok());
        let r = keys.check(Some("slow-key-00001"), now).unwrap_err();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.retry_after_secs(), Some(4));
        // Other keys have their own buckets.
        for _ in 0..100 {
            assert!(keys.check(Some("fast-key-00002"), now).is_ok());
        }
    }

    /// A store reading `text` from a keys file in a temp dir.
    fn store_with(text: &str) -> (tempfile::TempDir, PathBuf, ApiKeyStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        std::fs::write(&path, text).unwrap();
        let store = ApiKeyStore::from_setting(Some(&path)).unwrap();
        (dir, path, store)
    }

    #[test]
    fn a_reload_keeps_the_spent_bucket_of_a_key_whose_limit_is_unchanged() {
        let (_dir, path, store) = store_with(
            "slow-key-00001 rps=0.01
",
        );
        let now = Instant::now();
        assert_eq!(store.check(Some("slow-key-00001"), now), Ok(1));
        assert!(store.check(Some("slow-key-00001"), now).is_err());
        // Same key, same limit, on another line, next to a new key.
        std::fs::write(
            &path,
            "new-key-000002 rps=0.01
slow-key-00001 rps=0.01
",
        )
        .unwrap();
        let report = store.reload().unwrap();
        assert_eq!(
            report,
            Some(KeysReloaded {
                keys: 2,
                buckets_kept: 1
            })
        );
        let r = store.check(Some("slow-key-00001"), now).unwrap_err();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{r:?}");
        // The new key starts with a full bucket; it names its new line.
        assert_eq!(store.check(Some("new-key-000002"), now), Ok(1));
    }

    #[test]
    fn a_reload_resets_the_bucket_of_a_key_whose_limit_changed() {
        let (_dir, path, store) = store_with(
            "slow-key-00001 rps=0.01
",
        );
        let now = Instant::now();
        assert!(store.check(Some("slow-key-00001"), now).is_ok());
        assert!(store.check(Some("slow-key-00001"), now).is_err());
        std::fs::write(
            &path,
            "slow-key-00001 rps=0.01 burst=2
",
        )
        .unwrap();
        let report = store.reload().unwrap().unwrap();
        assert_eq!(report.buckets_kept, 0);
        assert!(store.check(Some("slow-key-00001"), now).is_ok());
        assert!(store.check(Some("slow-key-00001"), now).is_ok());
        assert!(store.check(Some("slow-key-00001"), now).is_err());
    }

    #[test]
    fn a_reload_refuses_removed_keys_while_sets_checked_before_keep_them() {
        let (_dir, path, store) = store_with(
            "gone-key-00001
kept-key-00002
",
        );
        let now = Instant::now();
        let before = store.current();
        std::fs::write(
            &path,
            "kept-key-00002
",
        )
        .unwrap();
        assert_eq!(store.reload().unwrap().map(|r| r.keys), Some(1));
        assert_eq!(
            store.check(Some("gone-key-00001"), now),
            Err(KeyRejection::Unknown)
        );
        assert_eq!(store.check(Some("kept-key-00002"), now), Ok(1));
        // A request that loaded the old set before the swap finishes on it.
        assert_eq!(before.check(Some("gone-key-00001"), now), Ok(1));
    }

    #[test]
    fn a_failed_reload_keeps_the_old_keys_and_their_buckets() {
        let (_dir, path, store) = store_with(
            "good-key-00001 rps=0.01
",
        );
        let now = Instant::now();
        assert!(store.check(Some("good-key-00001"), now).is_ok());
        for (text, want) in [
            (
                "good-key-00001
short
",
                "keys.txt:2: invalid key",
            ),
            (
                "# all commented out
",
                "has no keys",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let msg = store.reload().unwrap_err().to_string();
            assert!(msg.contains(want), "{msg}");
            assert!(!msg.contains("good-key"), "leaks the key: {msg}");
            assert_eq!(store.current().len(), 1);
            // Still the old set, with its spent bucket.
            let r = store.check(Some("good-key-00001"), now).unwrap_err();
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        std::fs::remove_file(&path).unwrap();
        let msg = store.reload().unwrap_err().to_string();
        assert!(msg.contains("cannot read API keys file"), "{msg}");
        assert_eq!(store.current().len(), 1);
    }

    #[test]
    fn a_store_without_a_file_stays_off_after_a_reload() {
        let store = ApiKeyStore::from_setting(None).unwrap();
        assert!(!store.enabled());
        assert_eq!(store.reload().unwrap(), None);
        assert!(!store.enabled());
        assert!(!store.current().enabled());
    }

    #[test]
    fn the_key_is_taken_from_the_query_then_bearer_then_goog_header() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key("", &h), None);
        assert_eq!(presented_key("key=", &h), None);
        assert_eq!(
            presented_key("alt=json&key=abc%2Fdef", &h).as_deref(),
            Some("abc/def")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tok-123"),
        );
        assert_eq!(presented_key("", &h).as_deref(), Some("tok-123"));
        assert_eq!(presented_key("key=q", &h).as_deref(), Some("q"));
        let mut g = HeaderMap::new();
        g.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(presented_key("", &g), None);
        g.insert(
            header::HeaderName::from_static("x-goog-api-key"),
            HeaderValue::from_static("goog-1"),
        );
        assert_eq!(presented_key("", &g).as_deref(), Some("goog-1"));
    }

    #[test]
    fn only_scoring_endpoints_are_guarded() {
        let cases = [
            ("/v1/score", Some(Guarded::Native)),
            ("/v1/score/batch", Some(Guarded::Native)),
            ("/v1alpha1/comments:analyze", Some(Guarded::Perspective)),
            (
                "/v1alpha1/comments:suggestscore",
                Some(Guarded::Perspective),
            ),
            ("/v2/models/sanctuary/infer", Some(Guarded::KServe)),
            (
                "/v2/models/sanctuary/versions/1.0.0/infer",
                Some(Guarded::KServe),
            ),
            ("/v2/models/sanctuary", None),
            ("/v2/health/ready", None),
            ("/healthz", None),
            ("/readyz", None),
            ("/metrics", None),
            ("/v1/model", None),
            ("/", None),
            ("/ui/app.js", None),
        ];
        for (path, want) in cases {
            assert_eq!(is_guarded(path), want, "{path}");
        }
    }
}

//! Typed, layered settings of the scoring service: defaults, then `STANCE_*`
//! environment variables, then command-line flags (`stance serve`). Every
//! value is checked once, in [`Settings::validate`]; an invalid value names
//! the setting and the values it accepts.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upper bound of `workers`: more threads than this never helps a CPU-bound scorer.
pub const MAX_WORKERS: usize = 1024;

/// Upper bound of `explain` the configuration accepts (per paragraph, per direction).
pub const MAX_EXPLAIN_LIMIT: usize = 1000;

/// Everything the service needs to start. Build it with [`Settings::default`],
/// layer the environment on with [`Settings::with_env`], set fields from the
/// command line, then call [`Settings::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Model file to serve and to re-read on reload (`STANCE_MODEL`;
    /// default: the shipped model built into the binary,
    /// [`crate::DEFAULT_MODEL_PATH`] at build time).
    pub model: Option<PathBuf>,
    /// Address to listen on (`STANCE_BIND`, default `127.0.0.1:8080`; port 0 picks a free port).
    pub bind: String,
    /// Address of a second listener that answers only `/healthz` and
    /// `/readyz`, on a thread of its own, so health checks stay fast while
    /// the main port is saturated (`STANCE_HEALTH_BIND`; default unset:
    /// health checks on the main port only; port 0 picks a free port).
    pub health_bind: Option<String>,
    /// Worker threads (`STANCE_WORKERS`, default: the number of CPUs).
    pub workers: usize,
    /// Largest accepted request body in bytes (`STANCE_MAX_BODY_BYTES`, default 1 MiB).
    pub max_body_bytes: usize,
    /// Most documents in one batch request (`STANCE_MAX_BATCH_SIZE`, default 100).
    pub max_batch_size: usize,
    /// Paragraphs longer than this many chars are split at sentence ends
    /// (`STANCE_MAX_PARAGRAPH_CHARS`, default 2000).
    pub max_paragraph_chars: usize,
    /// A top-two probability margin below this sets `low_confidence`
    /// (`STANCE_LOW_CONFIDENCE_MARGIN`, default 0.2, in [0, 1]).
    pub low_confidence_margin: f64,
    /// Largest `explain` a request may ask for (`STANCE_MAX_EXPLAIN`, default 50).
    pub max_explain: usize,
    /// Bearer token of `POST /admin/reload` (`STANCE_ADMIN_TOKEN`); admin
    /// routes are disabled when unset.
    #[serde(skip_serializing)]
    pub admin_token: Option<AdminToken>,
    /// Seconds to let in-flight requests finish after SIGTERM / Ctrl-C
    /// (`STANCE_SHUTDOWN_TIMEOUT`, default 30).
    pub shutdown_timeout_secs: u64,
    /// File of API keys for the scoring endpoints (`STANCE_API_KEYS_FILE`;
    /// syntax in `crate::server::keys`); keys are off when unset.
    pub api_keys_file: Option<PathBuf>,
    /// Longest `comment.text` of the Perspective endpoint, in bytes
    /// (`STANCE_PERSPECTIVE_MAX_COMMENT_BYTES`, default 20480: Perspective's 20 KB).
    pub perspective_max_comment_bytes: usize,
    /// Most scoring requests admitted at once; more are answered 503
    /// `overloaded` with `Retry-After` (`STANCE_MAX_IN_FLIGHT`, default
    /// [`default_max_in_flight`]: 4 per CPU).
    pub max_in_flight: usize,
    /// Milliseconds a scoring request may take from its head to its answer:
    /// a body still arriving then is 408, scoring still running is 504
    /// (`STANCE_REQUEST_DEADLINE_MS`, default 10000).
    pub request_deadline_ms: u64,
    /// Milliseconds a new connection has to send its first request head;
    /// later it is answered 408 and closed (`STANCE_CLIENT_REQUEST_TIMEOUT_MS`,
    /// default 5000, actix-web's; at least 1000, and up to 500 ms early:
    /// actix's clock is refreshed every 500 ms).
    pub client_request_timeout_ms: u64,
    /// Seconds an idle keep-alive connection stays open; 0 closes every
    /// connection after one answer (`STANCE_KEEP_ALIVE`, default 5, actix-web's).
    pub keep_alive_secs: u64,
    /// Connections the kernel queues before the service accepts them
    /// (`STANCE_LISTEN_BACKLOG`, default 2048; the kernel caps it at
    /// `net.core.somaxconn`). A burst beyond it is not refused: the kernel
    /// drops the SYNs and clients retry after a second.
    pub listen_backlog: u32,
}

/// `max_in_flight` by default: 4 per CPU. Scoring is CPU-bound, so more
/// than one admitted request per core only pays while the others read their
/// body or write their answer; measured with `scripts/overload.sh` (see
/// docs/RELIABILITY.md), 4 per core keeps both cores busy and bounds the
/// wait of an admitted request to about 4 scoring times.
pub fn default_max_in_flight() -> usize {
    4 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: None,
            bind: "127.0.0.1:8080".to_string(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_body_bytes: 1024 * 1024,
            max_batch_size: 100,
            max_paragraph_chars: 2000,
            low_confidence_margin: 0.2,
            max_explain: 50,
            admin_token: None,
            shutdown_timeout_secs: 30,
            api_keys_file: None,
            perspective_max_comment_bytes: super::perspective::DEFAULT_MAX_COMMENT_BYTES,
            max_in_flight: default_max_in_flight(),
            request_deadline_ms: 10_000,
            client_request_timeout_ms: 5_000,
            keep_alive_secs: 5,
            listen_backlog: 2048,
            health_bind: None,
        }
    }
}

/// The admin bearer token. Its `Debug` output is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminToken(String);

impl AdminToken {
    /// Wraps a token; it must not be empty (see [`Settings::validate`]).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token's bytes, for a constant-time comparison.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value does not parse or is out of range.
    #[error("invalid {setting} {value:?}: expected {expected}")]
    Invalid {
        /// The setting, e.g. `STANCE_WORKERS` or `--workers`.
        setting: String,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A configuration file cannot be read or does not describe settings.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong (the TOML parser's message names line and key).
        detail: String,
    },
}

fn invalid(setting: &str, value: impl fmt::Display, expected: &str) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

fn parse_usize(setting: &str, value: &str, min: usize, max: usize) -> Result<usize, ConfigError> {
    let expected = format!("an integer from {min} to {max}");
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(setting, value, &expected)),
    }
}

const WORKERS_EXPECTED: (usize, usize) = (1, MAX_WORKERS);
const BODY_RANGE: (usize, usize) = (64, 1 << 30);
const BATCH_RANGE: (usize, usize) = (1, 100_000);
const PARAGRAPH_RANGE: (usize, usize) = (1, 1 << 30);
const EXPLAIN_RANGE: (usize, usize) = (0, MAX_EXPLAIN_LIMIT);
const SHUTDOWN_RANGE: (usize, usize) = (0, 3600);
const COMMENT_RANGE: (usize, usize) = (1, 1 << 30);
const IN_FLIGHT_RANGE: (usize, usize) = (1, 1_000_000);
const DEADLINE_MS_RANGE: (usize, usize) = (1, 3_600_000);
/// At least 1 s: actix computes the deadline from a clock it refreshes every
/// 500 ms, so a shorter timeout can expire before the first byte is read.
const CLIENT_TIMEOUT_MS_RANGE: (usize, usize) = (1000, 3_600_000);
const KEEP_ALIVE_RANGE: (usize, usize) = (0, 3600);
const BACKLOG_RANGE: (usize, usize) = (1, 65535);

impl Settings {
    /// Applies `STANCE_*` variables from the process environment (see [`Settings::with_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::default().with_env(|k| std::env::var(k).ok())
    }

    /// Defaults, then the TOML file at `config` (when given), then the
    /// environment: the layers under the command line's flags.
    pub fn load(config: Option<&Path>) -> Result<Self, ConfigError> {
        let base = match config {
            Some(p) => Self::from_file(p)?,
            None => Self::default(),
        };
        base.with_env(|k| std::env::var(k).ok())
    }

    /// Defaults overridden by a TOML file whose keys are the fields of
    /// [`Settings`] (`model`, `bind`, `workers`, ...; unknown keys are
    /// errors). Relative paths in it (`model`, `api_keys_file`) are relative
    /// to the file's directory. See `docs/stance.example.toml`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let file_err = |detail: String| ConfigError::File {
            path: path.to_path_buf(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Self::from_toml(&text, dir).map_err(file_err)
    }

    /// Defaults overridden by the TOML `text` of a file in `dir`, its
    /// relative paths joined to `dir`.
    fn from_toml(text: &str, dir: &Path) -> Result<Self, String> {
        let mut s: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        for p in [s.model.as_mut(), s.api_keys_file.as_mut()]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(s)
    }

    /// Overrides fields with the `STANCE_*` variables `lookup` returns:
    /// `STANCE_MODEL`, `STANCE_BIND`, `STANCE_WORKERS`, `STANCE_MAX_BODY_BYTES`,
    /// `STANCE_MAX_BATCH_SIZE`, `STANCE_MAX_PARAGRAPH_CHARS`,
    /// `STANCE_LOW_CONFIDENCE_MARGIN`, `STANCE_MAX_EXPLAIN`, `STANCE_ADMIN_TOKEN`,
    /// `STANCE_SHUTDOWN_TIMEOUT`, `STANCE_API_KEYS_FILE`,
    /// `STANCE_PERSPECTIVE_MAX_COMMENT_BYTES`, `STANCE_MAX_IN_FLIGHT`,
    /// `STANCE_REQUEST_DEADLINE_MS`, `STANCE_CLIENT_REQUEST_TIMEOUT_MS`,
    /// `STANCE_KEEP_ALIVE`, `STANCE_LISTEN_BACKLOG`. Values that do not parse are errors naming
    /// the variable and the accepted values.
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty() || k == "STANCE_ADMIN_TOKEN");
        if let Some(v) = get("STANCE_MODEL") {
            self.model = Some(PathBuf::from(v));
        }
        if let Some(v) = get("STANCE_BIND") {
            self.bind = v;
        }
        let num = |k: &str, (min, max): (usize, usize)| -> Result<Option<usize>, ConfigError> {
            get(k).map(|v| parse_usize(k, &v, min, max)).transpose()
        };
        if let Some(n) = num("STANCE_WORKERS", WORKERS_EXPECTED)? {
            self.workers = n;
        }
        if let Some(n) = num("STANCE_MAX_BODY_BYTES", BODY_RANGE)? {
            self.max_body_bytes = n;
        }
        if let Some(n) = num("STANCE_MAX_BATCH_SIZE", BATCH_RANGE)? {
            self.max_batch_size = n;
        }
        if let Some(n) = num("STANCE_MAX_PARAGRAPH_CHARS", PARAGRAPH_RANGE)? {
            self.max_paragraph_chars = n;
        }
        if let Some(n) = num("STANCE_MAX_EXPLAIN", EXPLAIN_RANGE)? {
            self.max_explain = n;
        }
        if let Some(n) = num("STANCE_SHUTDOWN_TIMEOUT", SHUTDOWN_RANGE)? {
            self.shutdown_timeout_secs = n as u64;
        }
        if let Some(n) = num("STANCE_PERSPECTIVE_MAX_COMMENT_BYTES", COMMENT_RANGE)? {
            self.perspective_max_comment_bytes = n;
        }
        if let Some(n) = num("STANCE_MAX_IN_FLIGHT", IN_FLIGHT_RANGE)? {
            self.max_in_flight = n;
        }
        if let Some(n) = num("STANCE_REQUEST_DEADLINE_MS", DEADLINE_MS_RANGE)? {
            self.request_deadline_ms = n as u64;
        }
        if let Some(n) = num("STANCE_CLIENT_REQUEST_TIMEOUT_MS", CLIENT_TIMEOUT_MS_RANGE)? {
            self.client_request_timeout_ms = n as u64;
        }
        if let Some(n) = num("STANCE_KEEP_ALIVE", KEEP_ALIVE_RANGE)? {
            self.keep_alive_secs = n as u64;
        }
        if let Some(n) = num("STANCE_LISTEN_BACKLOG", BACKLOG_RANGE)? {
            self.listen_backlog = n as u32;
        }
        if let Some(v) = get("STANCE_HEALTH_BIND") {
            self.health_bind = Some(v);
        }
        if let Some(v) = get("STANCE_API_KEYS_FILE") {
            self.api_keys_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("STANCE_LOW_CONFIDENCE_MARGIN") {
            self.low_confidence_margin = parse_margin("STANCE_LOW_CONFIDENCE_MARGIN", &v)?;
        }
        if let Some(v) = get("STANCE_ADMIN_TOKEN") {
            self.admin_token = Some(AdminToken::new(v));
        }
        Ok(self)
    }

    /// Checks every value; the error names the setting and the accepted values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let main = self.bind_addr()?;
        if let Some(health) = self.health_bind_addr()? {
            if health.port() != 0 && health == main {
                return Err(invalid(
                    "health_bind",
                    health,
                    "an address other than `bind`'s",
                ));
            }
        }
        let check = |name: &str, v: usize, (min, max): (usize, usize)| {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err(invalid(name, v, &format!("an integer from {min} to {max}")))
            }
        };
        check("workers", self.workers, WORKERS_EXPECTED)?;
        check("max_body_bytes", self.max_body_bytes, BODY_RANGE)?;
        check("max_batch_size", self.max_batch_size, BATCH_RANGE)?;
        check(
            "max_paragraph_chars",
            self.max_paragraph_chars,
            PARAGRAPH_RANGE,
        )?;
        check("max_explain", self.max_explain, EXPLAIN_RANGE)?;
        check(
            "perspective_max_comment_bytes",
            self.perspective_max_comment_bytes,
            COMMENT_RANGE,
        )?;
        let secs = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        check(
            "shutdown_timeout_secs",
            secs(self.shutdown_timeout_secs),
            SHUTDOWN_RANGE,
        )?;
        check("max_in_flight", self.max_in_flight, IN_FLIGHT_RANGE)?;
        check(
            "request_deadline_ms",
            secs(self.request_deadline_ms),
            DEADLINE_MS_RANGE,
        )?;
        check(
            "client_request_timeout_ms",
            secs(self.client_request_timeout_ms),
            CLIENT_TIMEOUT_MS_RANGE,
        )?;
        check(
            "keep_alive_secs",
            secs(self.keep_alive_secs),
            KEEP_ALIVE_RANGE,
        )?;
        check(
            "listen_backlog",
            secs(u64::from(self.listen_backlog)),
            BACKLOG_RANGE,
        )?;
        if !(0.0..=1.0).contains(&self.low_confidence_margin) {
            return Err(invalid(
                "low_confidence_margin",
                self.low_confidence_margin,
                MARGIN_EXPECTED,
            ));
        }
        if let Some(t) = &self.admin_token {
            if t.0.trim().is_empty() || t.0.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(invalid(
                    "STANCE_ADMIN_TOKEN",
                    "<redacted>",
                    "a non-empty token of visible ASCII characters (unset it to disable admin routes)",
                ));
            }
        }
        Ok(())
    }

    /// The listen address, parsed.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| {
            invalid(
                "bind",
                &self.bind,
                "an IP address and port such as 127.0.0.1:8080 or [::1]:8080",
            )
        })
    }

    /// The parsed [`health_bind`](Self::health_bind), if set.
    pub fn health_bind_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        self.health_bind
            .as_deref()
            .map(|a| {
                a.parse().map_err(|_| {
                    invalid(
                        "health_bind",
                        a,
                        "an IP address and port such as 127.0.0.1:8081 or [::1]:8081",
                    )
                })
            })
            .transpose()
    }

    /// The request deadline of the scoring routes.
    pub fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.request_deadline_ms)
    }

    /// The scoring options every request starts from (`explain` 0).
    pub fn document_options(&self) -> crate::DocumentOptions {
        crate::DocumentOptions {
            max_paragraph_chars: self.max_paragraph_chars,
            low_confidence_margin: self.low_confidence_margin,
            explain: 0,
        }
    }
}

const MARGIN_EXPECTED: &str = "a number from 0 to 1";

fn parse_margin(setting: &str, value: &str) -> Result<f64, ConfigError> {
    match value.trim().parse::<f64>() {
        Ok(m) if (0.0..=1.0).contains(&m) => Ok(m),
        _ => Err(invalid(setting, value, MARGIN_EXPECTED)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_serve_the_shipped_model_on_localhost_8080() {
        let s = Settings::default();
        assert_eq!(s.model, None, "the built-in shipped model");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.max_body_bytes, 1 << 20);
        assert_eq!(s.max_batch_size, 100);
        assert_eq!(s.max_in_flight, default_max_in_flight());
        assert!(s.max_in_flight >= 4, "4 per CPU");
        assert_eq!(
            (
                s.request_deadline_ms,
                s.client_request_timeout_ms,
                s.keep_alive_secs
            ),
            (10_000, 5_000, 5)
        );
        assert!(s.admin_token.is_none());
        s.validate().unwrap();
    }

    #[test]
    fn a_config_file_sits_between_defaults_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stance.toml");
        std::fs::write(
            &path,
            "model = \"m/v9.json\"\nworkers = 3\nmax_batch_size = 7\napi_keys_file = \"/etc/k\"\n",
        )
        .unwrap();
        let file = Settings::from_file(&path).unwrap();
        assert_eq!(
            file.model,
            Some(dir.path().join("m/v9.json")),
            "relative to the file"
        );
        assert_eq!(file.api_keys_file, Some(PathBuf::from("/etc/k")));
        assert_eq!((file.workers, file.max_batch_size), (3, 7));
        assert_eq!(file.max_body_bytes, Settings::default().max_body_bytes);
        let layered = file.with_env(env(&[("STANCE_WORKERS", "5")])).unwrap();
        assert_eq!(
            (layered.workers, layered.max_batch_size),
            (5, 7),
            "env over file"
        );
        std::fs::write(&path, "wokers = 3\n").unwrap();
        let err = Settings::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("stance.toml") && err.contains("wokers"),
            "{err}"
        );
        std::fs::write(&path, "workers = \"many\"\n").unwrap();
        assert!(Settings::from_file(&path).is_err());
    }

    #[test]
    fn the_example_config_file_parses_validates_and_names_every_setting() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/stance.example.toml");
        let s = Settings::from_file(&path).unwrap();
        s.validate().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let all = Settings {
            model: Some("x".into()),
            api_keys_file: Some("x".into()),
            ..Settings::default()
        };
        let keys = serde_json::to_value(&all).unwrap();
        let keys = keys
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>();
        for k in keys.iter().map(String::as_str).chain(["admin_token"]) {
            assert!(text.contains(&format!("{k} = ")), "example lacks {k}");
        }
    }

    #[test]
    fn the_example_model_path_names_the_shipped_model_from_the_files_directory() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        let text = std::fs::read_to_string(docs.join("stance.example.toml")).unwrap();
        // The `model` line is commented out (the default is the built-in
        // model); uncommented, it is read as `--config` reads the file.
        let line = text
            .lines()
            .find(|l| l.starts_with("# model = "))
            .expect("a commented model line");
        let s = Settings::from_toml(line.trim_start_matches("# "), &docs).unwrap();
        let model = s.model.expect("model set");
        assert_eq!(model, docs.join("../models/sanctuary-v2.json"));
        let loaded = crate::artifact::load(&model).unwrap();
        let shipped = crate::artifact::load_embedded().unwrap();
        assert_eq!(loaded.checksum(), shipped.checksum(), "the shipped model");
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = Settings::default()
            .with_env(env(&[
                ("STANCE_MODEL", "/tmp/m.json"),
                ("STANCE_BIND", "0.0.0.0:9000"),
                ("STANCE_WORKERS", "3"),
                ("STANCE_MAX_BODY_BYTES", "2048"),
                ("STANCE_MAX_BATCH_SIZE", "7"),
                ("STANCE_MAX_PARAGRAPH_CHARS", "500"),
                ("STANCE_LOW_CONFIDENCE_MARGIN", "0.05"),
                ("STANCE_MAX_EXPLAIN", "5"),
                ("STANCE_ADMIN_TOKEN", "s3cret"),
                ("STANCE_SHUTDOWN_TIMEOUT", "4"),
                ("STANCE_MAX_IN_FLIGHT", "3"),
                ("STANCE_REQUEST_DEADLINE_MS", "250"),
                ("STANCE_CLIENT_REQUEST_TIMEOUT_MS", "1500"),
                ("STANCE_KEEP_ALIVE", "0"),
                ("STANCE_LISTEN_BACKLOG", "64"),
            ]))
            .unwrap();
        assert_eq!(s.model, Some(PathBuf::from("/tmp/m.json")));
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.workers, 3);
        assert_eq!(s.max_body_bytes, 2048);
        assert_eq!(s.max_batch_size, 7);
        assert_eq!(s.max_paragraph_chars, 500);
        assert_eq!(s.low_confidence_margin, 0.05);
        assert_eq!(s.max_explain, 5);
        assert_eq!(s.admin_token, Some(AdminToken::new("s3cret")));
        assert_eq!(s.shutdown_timeout_secs, 4);
        assert_eq!(s.max_in_flight, 3);
        assert_eq!(s.request_deadline_ms, 250);
        assert_eq!(s.client_request_timeout_ms, 1500);
        assert_eq!(s.keep_alive_secs, 0);
        assert_eq!(s.listen_backlog, 64);
        s.validate().unwrap();
    }

    #[test]
    fn invalid_environment_values_name_the_variable_and_the_allowed_values() {
        let cases = [
            ("STANCE_WORKERS", "0", "an integer from 1 to 1024"),
            ("STANCE_WORKERS", "many", "an integer from 1 to 1024"),
            ("STANCE_MAX_BATCH_SIZE", "-1", "an integer from 1 to 100000"),
            ("STANCE_MAX_IN_FLIGHT", "0", "an integer from 1 to 1000000"),
            (
                "STANCE_REQUEST_DEADLINE_MS",
                "0",
                "an integer from 1 to 3600000",
            ),
            ("STANCE_KEEP_ALIVE", "1h", "an integer from 0 to 3600"),
            (
                "STANCE_LOW_CONFIDENCE_MARGIN",
                "1.5",
                "a number from 0 to 1",
            ),
            (
                "STANCE_LOW_CONFIDENCE_MARGIN",
                "NaN",
                "a number from 0 to 1",
            ),
        ];
        for (k, v, expected) in cases {
            let err = Settings::default().with_env(env(&[(k, v)])).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(k) && msg.contains(expected), "{k}={v}: {msg}");
        }
    }

    #[test]
    fn the_health_listener_needs_an_address_of_its_own() {
        let with = |bind: &str, health: &str| Settings {
            bind: bind.into(),
            health_bind: Some(health.into()),
            ..Settings::default()
        };
        let msg = with("127.0.0.1:8080", "127.0.0.1:8080")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("health_bind") && msg.contains("other than"),
            "{msg}"
        );
        let msg = with("127.0.0.1:8080", "localhost:1")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("health_bind") && msg.contains("127.0.0.1:8081"),
            "{msg}"
        );
        for (bind, health) in [
            ("127.0.0.1:8080", "127.0.0.1:8081"),
            ("127.0.0.1:0", "127.0.0.1:0"),
        ] {
            assert!(with(bind, health).validate().is_ok(), "{bind} + {health}");
        }
        let s = Settings::default()
            .with_env(env(&[("STANCE_HEALTH_BIND", "127.0.0.1:9000")]))
            .unwrap();
        assert_eq!(
            s.health_bind_addr().unwrap(),
            Some("127.0.0.1:9000".parse().unwrap())
        );
        assert_eq!(Settings::default().health_bind_addr().unwrap(), None);
    }

    #[test]
    fn validate_rejects_a_bad_bind_address_and_an_empty_admin_token() {
        let s = Settings {
            bind: "localhost".into(),
            ..Settings::default()
        };
        let msg = s.validate().unwrap_err().to_string();
        assert!(
            msg.contains("bind") && msg.contains("127.0.0.1:8080"),
            "{msg}"
        );
        let s = Settings::default()
            .with_env(env(&[("STANCE_ADMIN_TOKEN", "")]))
            .unwrap();
        let msg = s.validate().unwrap_err().to_string();
        assert!(msg.contains("STANCE_ADMIN_TOKEN"), "{msg}");
        assert!(!msg.contains("s3cret"));
    }

    #[test]
    fn the_admin_token_never_appears_in_debug_or_serialized_output() {
        let s = Settings {
            admin_token: Some(AdminToken::new("hunter2hunter2")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
    }
}

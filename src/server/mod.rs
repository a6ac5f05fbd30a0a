//! The HTTP scoring service behind `stance serve`, built on
//! actix-web in the shape of zero-to-production:
//!
//! - [`settings`]: typed settings, defaults < `STANCE_*` environment < CLI flags;
//! - [`startup`]: [`Application::build`] binds the listener (port 0 for
//!   tests) and [`Application::run_until_stopped`] serves, reloading on SIGHUP;
//! - [`state`]: [`AppState`], the model behind an `ArcSwap` plus settings and metrics;
//! - [`routes`]: one file per area, each with a `configure` function;
//! - [`extract`]: the strict JSON body extractor; [`error`]: [`ApiError`],
//!   the one place errors become statuses and JSON;
//! - [`middleware`]: request ids, per-request log lines and metrics;
//! - [`overload`]: the in-flight limit and request deadline of the scoring
//!   routes (503 / 408 / 504); [`memory`]: RSS kept flat across model reloads;
//! - [`metrics`]: Prometheus counters; [`reload`]: load, check, swap;
//! - [`strict`]: serde helpers that read requests as `openapi.json` says;
//!   [`contract`]: the OpenAPI document as served, with this server's limits.
//!
//! - [`assets`]: the web page's files, embedded; served by [`routes::page`].
//!
//! The API is documented in `docs/API.md` and `GET /openapi.json`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod assets;
pub mod contract;
pub mod error;
pub mod extract;
pub mod keys;
pub mod kserve;
pub mod memory;
pub mod metrics;
pub mod middleware;
pub mod overload;
pub mod perspective;
pub mod reload;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod strict;

pub use error::ApiError;
pub use reload::{load_checked, ModelLoadError};
pub use settings::{AdminToken, ConfigError, Settings};
pub use startup::{Application, StartError};
pub use state::AppState;

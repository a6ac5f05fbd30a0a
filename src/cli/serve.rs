//! `stance serve`: run the HTTP scoring service (see `crate::server`).
//! Settings come from defaults, then a TOML file (`--config`), then
//! `STANCE_*` environment variables, then these flags; the admin token from
//! the file or `STANCE_ADMIN_TOKEN`, never a flag (a flag would show in `ps`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::server::{load_checked, Application, Settings};

/// Arguments of `stance serve`. Every flag falls back to its environment
/// variable, then to the default.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML settings file, layered under the environment and these flags
    /// (see docs/stance.example.toml).
    #[arg(long, env = "STANCE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Model file [env: STANCE_MODEL] [default: the shipped model, built into the binary].
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port [env: STANCE_BIND] [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Second address answering only /healthz and /readyz, on a thread of its own (stays fast when the main port is saturated) [env: STANCE_HEALTH_BIND] [default: none].
    #[arg(long, value_name = "ADDR")]
    pub health_bind: Option<String>,
    /// Worker threads [env: STANCE_WORKERS] [default: number of CPUs].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Largest request body in bytes [env: STANCE_MAX_BODY_BYTES] [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Most documents per batch request [env: STANCE_MAX_BATCH_SIZE] [default: 100].
    #[arg(long, value_name = "N")]
    pub max_batch_size: Option<usize>,
    /// Split paragraphs longer than this many chars [env: STANCE_MAX_PARAGRAPH_CHARS] [default: 2000].
    #[arg(long, value_name = "CHARS")]
    pub max_paragraph_chars: Option<usize>,
    /// Flag scores whose top-two margin is below this [env: STANCE_LOW_CONFIDENCE_MARGIN] [default: 0.2].
    #[arg(long, value_name = "MARGIN")]
    pub low_confidence_margin: Option<f64>,
    /// Largest `explain` a request may ask for [env: STANCE_MAX_EXPLAIN] [default: 50].
    #[arg(long, value_name = "K")]
    pub max_explain: Option<usize>,
    /// Seconds to drain in-flight requests on SIGTERM [env: STANCE_SHUTDOWN_TIMEOUT] [default: 30].
    #[arg(long, value_name = "SECS")]
    pub shutdown_timeout: Option<u64>,
    /// File of API keys for the scoring endpoints; keys are off without it [env: STANCE_API_KEYS_FILE].
    #[arg(long, value_name = "PATH")]
    pub api_keys_file: Option<PathBuf>,
    /// Longest Perspective comment in UTF-8 bytes [env: STANCE_PERSPECTIVE_MAX_COMMENT_BYTES] [default: 20480].
    #[arg(long, value_name = "BYTES")]
    pub perspective_max_comment_bytes: Option<usize>,
    /// Most scoring requests admitted at once; more get 503 with Retry-After [env: STANCE_MAX_IN_FLIGHT] [default: 4 per CPU].
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Deadline of a scoring request, head to answer: 408 if the body is still arriving, 504 if scoring is still running [env: STANCE_REQUEST_DEADLINE_MS] [default: 10000].
    #[arg(long, value_name = "MS")]
    pub request_deadline_ms: Option<u64>,
    /// Time a new connection has to send its first request head, else 408 and closed [env: STANCE_CLIENT_REQUEST_TIMEOUT_MS] [default: 5000].
    #[arg(long, value_name = "MS")]
    pub client_request_timeout_ms: Option<u64>,
    /// Seconds an idle keep-alive connection stays open; 0 disables keep-alive [env: STANCE_KEEP_ALIVE] [default: 5].
    #[arg(long, value_name = "SECS")]
    pub keep_alive: Option<u64>,
    /// Connections the kernel queues before they are accepted (capped by net.core.somaxconn) [env: STANCE_LISTEN_BACKLOG] [default: 2048].
    #[arg(long, value_name = "N")]
    pub listen_backlog: Option<u32>,
}

impl ServeArgs {
    /// Layers these flags over `settings`.
    fn apply(self, mut s: Settings) -> Settings {
        if let Some(v) = self.model {
            s.model = Some(v);
        }
        if let Some(v) = self.bind {
            s.bind = v;
        }
        if let Some(v) = self.workers {
            s.workers = v;
        }
        if let Some(v) = self.max_body_bytes {
            s.max_body_bytes = v;
        }
        if let Some(v) = self.max_batch_size {
            s.max_batch_size = v;
        }
        if let Some(v) = self.max_paragraph_chars {
            s.max_paragraph_chars = v;
        }
        if let Some(v) = self.low_confidence_margin {
            s.low_confidence_margin = v;
        }
        if let Some(v) = self.max_explain {
            s.max_explain = v;
        }
        if let Some(v) = self.shutdown_timeout {
            s.shutdown_timeout_secs = v;
        }
        if let Some(v) = self.api_keys_file {
            s.api_keys_file = Some(v);
        }
        if let Some(v) = self.perspective_max_comment_bytes {
            s.perspective_max_comment_bytes = v;
        }
        if let Some(v) = self.max_in_flight {
            s.max_in_flight = v;
        }
        if let Some(v) = self.request_deadline_ms {
            s.request_deadline_ms = v;
        }
        if let Some(v) = self.client_request_timeout_ms {
            s.client_request_timeout_ms = v;
        }
        if let Some(v) = self.keep_alive {
            s.keep_alive_secs = v;
        }
        if let Some(v) = self.listen_backlog {
            s.listen_backlog = v;
        }
        if let Some(v) = self.health_bind {
            s.health_bind = Some(v);
        }
        s
    }
}

pub(super) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref()).context("cannot read settings")?;
    let settings = args.apply(settings);
    settings.validate()?;
    let model = load_checked(settings.model.as_deref()).context("cannot load model")?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, model)?;
        app.run_until_stopped()
            .await
            .context("the server stopped with an error")
    })?;
    Ok(ExitCode::SUCCESS)
}

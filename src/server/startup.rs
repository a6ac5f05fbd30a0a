//! [`Application`]: builds the actix-web server around a bound listener
//! (port 0 picks a free port, for tests), and runs it until it stops. SIGTERM
//! and Ctrl-C stop it gracefully (actix's default: stop accepting, let
//! in-flight requests finish within `shutdown_timeout_secs`); SIGHUP reloads
//! the model, then the API keys file (when keys are on). The connection
//! limits (first request head, keep-alive, disconnect) are set here; the
//! scoring routes' in-flight limit and deadline are the
//! [`limit_scoring`] middleware's (inside the API key check).

use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use super::error::{json_config, path_config, query_config};
use super::keys::{require_api_key, ApiKeyStore, KeyFileError};
use super::middleware::telemetry;
use super::overload::limit_scoring;
use super::reload::{reload, reload_api_keys};
use super::routes;
use super::settings::{ConfigError, Settings};
use super::state::AppState;
use crate::StanceModel;

/// How long a connection being closed may take to shut down cleanly after
/// its last answer (actix-web's default, kept: a client that never reads the
/// close is dropped after this).
pub const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The SIGHUP handler could not be installed (needs a Tokio runtime).
    #[error("cannot install the SIGHUP handler: {0}")]
    Signal(std::io::Error),
    /// The API keys file (`STANCE_API_KEYS_FILE`) cannot be used.
    #[error(transparent)]
    Keys(#[from] KeyFileError),
}

/// A bound, ready-to-run scoring service.
pub struct Application {
    port: u16,
    server: Server,
    /// The health listener's port and server, when `health_bind` is set.
    health: Option<(u16, Server)>,
    state: web::Data<AppState>,
    hangup: tokio::signal::unix::Signal,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Validates `settings`, binds `settings.bind` and builds the server
    /// around `model`. Must be called inside a Tokio runtime (the SIGHUP
    /// handler is installed here, so a SIGHUP right after `build` is not lost).
    pub fn build(settings: Settings, model: StanceModel) -> Result<Self, StartError> {
        settings.validate()?;
        // Before the worker and blocking-pool threads exist (see `memory`).
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        if let Some(cap) = super::memory::cap_arenas(cores) {
            tracing::debug!(arenas = cap, "capped the allocator's arenas");
        }
        let keys = ApiKeyStore::from_setting(settings.api_keys_file.as_deref())?;
        let addr = settings.bind_addr()?;
        let bind = settings.bind.clone();
        let bind_error = move |source| StartError::Bind {
            addr: bind.clone(),
            source,
        };
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(StartError::Signal)?;
        let workers = settings.workers;
        let backlog = settings.listen_backlog;
        let shutdown = settings.shutdown_timeout_secs;
        let limit = settings.max_body_bytes;
        let client_request_timeout = Duration::from_millis(settings.client_request_timeout_ms);
        let keep_alive = match settings.keep_alive_secs {
            0 => KeepAlive::Disabled,
            s => KeepAlive::Timeout(Duration::from_secs(s)),
        };
        let state = web::Data::new(AppState::new(settings, model).with_api_keys(keys));
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(json_config(limit))
                .app_data(web::PayloadConfig::new(limit))
                .app_data(path_config())
                .app_data(query_config())
                .wrap(from_fn(limit_scoring))
                .wrap(from_fn(require_api_key))
                .wrap(from_fn(telemetry))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .workers(workers)
        .client_request_timeout(client_request_timeout)
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
        .keep_alive(keep_alive)
        .shutdown_timeout(shutdown)
        .backlog(backlog)
        .bind(addr)
        .map_err(&bind_error)?;
        let port = server
            .addrs()
            .first()
            .map(|a| a.port())
            .ok_or_else(|| bind_error(std::io::Error::other("no address was bound")))?;
        // Bound before either server runs, so a failure leaves nothing running.
        let health = match state.settings().health_bind_addr()? {
            Some(addr) => Some(health_listener(&state, addr, backlog)?),
            None => None,
        };
        let server = server.run();
        Ok(Self {
            port,
            server,
            health,
            state,
            hangup,
        })
    }

    /// The port of the health listener, when `health_bind` is set.
    pub fn health_port(&self) -> Option<u16> {
        self.health.as_ref().map(|(port, _)| *port)
    }

    /// The port the service listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (model, settings, metrics).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to stop the server (`handle.stop(true)` drains in-flight requests).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops (SIGTERM, Ctrl-C or a handle), reloading
    /// the model and then the API keys file on every SIGHUP meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            health,
            state,
            mut hangup,
            port,
        } = self;
        tracing::info!(
            port,
            model = %state.model().id(),
            checksum = state.model().checksum(),
            workers = state.settings().workers,
            "listening on {}",
            listen_display(&state.settings().bind, port)
        );
        let (health_handle, health_server) = match health {
            Some((health_port, health_server)) => {
                tracing::info!(
                    port = health_port,
                    "health checks (/healthz, /readyz) also on {}",
                    listen_display(
                        state.settings().health_bind.as_deref().unwrap_or(""),
                        health_port
                    )
                );
                (Some(health_server.handle()), Some(health_server))
            }
            None => (None, None),
        };
        if let Some(h) = health_server {
            // Runs on its own worker thread; stopped with the main server below.
            actix_web::rt::spawn(h);
        }
        let reloads = async move {
            while hangup.recv().await.is_some() {
                // Outcomes are logged and counted inside; the keys are
                // reloaded whatever became of the model.
                let _ = reload(&state, "SIGHUP").await;
                let _ = reload_api_keys(&state, "SIGHUP").await;
            }
            std::future::pending::<()>().await
        };
        let result = tokio::select! {
            result = server => {
                tracing::info!("server stopped");
                result
            }
            () = reloads => Ok(()),
        };
        if let Some(h) = health_handle {
            h.stop(false).await;
        }
        result
    }
}

/// The health listener: `/healthz` and `/readyz` only, one worker thread of
/// its own, no middleware. The main port's event loops can be saturated by
/// thousands of connections (each refused one costs an accept and a close),
/// and a probe there waits its turn among them; this listener's thread is
/// idle between probes, so the scheduler runs it as soon as a probe arrives.
/// Returns its port and the server, not yet polled.
fn health_listener(
    state: &web::Data<AppState>,
    addr: std::net::SocketAddr,
    backlog: u32,
) -> Result<(u16, actix_web::dev::Server), StartError> {
    let bind_error = |source| StartError::Bind {
        addr: addr.to_string(),
        source,
    };
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .configure(routes::health::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .backlog(backlog)
    .disable_signals()
    .bind(addr)
    .map_err(bind_error)?;
    let port = server
        .addrs()
        .first()
        .map(|a| a.port())
        .ok_or_else(|| bind_error(std::io::Error::other("no address was bound")))?;
    Ok((port, server.run()))
}

/// `host:port` with the real port, for the start-up log line.
fn listen_display(bind: &str, port: u16) -> String {
    match bind.rsplit_once(':') {
        Some((host, _)) => format!("{host}:{port}"),
        None => format!("{bind}:{port}"),
    }
}

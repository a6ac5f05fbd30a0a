//! [`Application`]: builds the actix-web server around a bound listener
//! (port 0 picks a free port, for tests), and runs it until it stops. SIGTERM
//! and Ctrl-C stop it gracefully (actix's default: stop accepting, let
//! in-flight requests finish within `shutdown_timeout_secs`); SIGHUP reloads
//! the model, then the API keys file (when keys are on).

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use super::error::{json_config, path_config, query_config};
use super::keys::{require_api_key, ApiKeyStore, KeyFileError};
use super::middleware::telemetry;
use super::reload::{reload, reload_api_keys};
use super::routes;
use super::settings::{ConfigError, Settings};
use super::state::AppState;
use crate::StanceModel;

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
        let keys = ApiKeyStore::from_setting(settings.api_keys_file.as_deref())?;
        let addr = settings.bind_addr()?;
        let listener = TcpListener::bind(addr).map_err(|source| StartError::Bind {
            addr: settings.bind.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: settings.bind.clone(),
                source,
            })?
            .port();
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(StartError::Signal)?;
        let workers = settings.workers;
        let shutdown = settings.shutdown_timeout_secs;
        let limit = settings.max_body_bytes;
        let state = web::Data::new(AppState::new(settings, model).with_api_keys(keys));
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(json_config(limit))
                .app_data(web::PayloadConfig::new(limit))
                .app_data(path_config())
                .app_data(query_config())
                .wrap(from_fn(require_api_key))
                .wrap(from_fn(telemetry))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .workers(workers)
        .shutdown_timeout(shutdown)
        .listen(listener)
        .map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })?
        .run();
        Ok(Self {
            port,
            server,
            state,
            hangup,
        })
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
        let reloads = async move {
            while hangup.recv().await.is_some() {
                // Outcomes are logged and counted inside; the keys are
                // reloaded whatever became of the model.
                let _ = reload(&state, "SIGHUP").await;
                let _ = reload_api_keys(&state, "SIGHUP").await;
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            result = server => {
                tracing::info!("server stopped");
                result
            }
            () = reloads => Ok(()),
        }
    }
}

/// `host:port` with the real port, for the start-up log line.
fn listen_display(bind: &str, port: u16) -> String {
    match bind.rsplit_once(':') {
        Some((host, _)) => format!("{host}:{port}"),
        None => format!("{bind}:{port}"),
    }
}

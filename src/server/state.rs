//! [`AppState`]: what every handler shares. The serving model sits behind an
//! [`ArcSwap`], so a reload swaps it atomically while requests in flight
//! finish on the `Arc` they already hold. The API keys in force sit in an
//! [`ApiKeyStore`] (an `ArcSwap` too, reloaded on SIGHUP). Settings,
//! metrics and the in-flight count of scoring requests live here too; new routes add their own fields.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::error::ApiError;
use super::keys::ApiKeyStore;
use super::metrics::Metrics;
use super::overload::InFlight;
use super::settings::Settings;
use crate::{DocumentOptions, StanceModel};

/// Shared state of one running service.
#[derive(Debug)]
pub struct AppState {
    settings: Settings,
    model: ArcSwap<StanceModel>,
    metrics: Metrics,
    api_keys: ApiKeyStore,
    in_flight: Arc<InFlight>,
    /// Serializes reloads (HTTP and SIGHUP) so two never race.
    reload_lock: tokio::sync::Mutex<()>,
}

impl AppState {
    /// State serving `model` under `settings`, with API keys off (see
    /// [`with_api_keys`](Self::with_api_keys)).
    pub fn new(settings: Settings, model: StanceModel) -> Self {
        let in_flight = InFlight::new(settings.max_in_flight);
        Self {
            settings,
            model: ArcSwap::from_pointee(model),
            metrics: Metrics::default(),
            api_keys: ApiKeyStore::disabled(),
            in_flight,
            reload_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The same state guarding the scoring endpoints with `keys`.
    pub fn with_api_keys(self, keys: ApiKeyStore) -> Self {
        Self {
            api_keys: keys,
            ..self
        }
    }

    /// The API keys in force (off unless a keys file was configured).
    pub fn api_keys(&self) -> &ApiKeyStore {
        &self.api_keys
    }

    /// The scoring requests in flight and their limit (`max_in_flight`).
    pub fn in_flight(&self) -> &Arc<InFlight> {
        &self.in_flight
    }

    /// The settings the service started with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The model serving now. Hold the `Arc` for the whole request so a
    /// concurrent reload cannot change the model under it.
    pub fn model(&self) -> Arc<StanceModel> {
        self.model.load_full()
    }

    /// Replaces the serving model (callers check the new one first).
    pub(crate) fn swap_model(&self, model: Arc<StanceModel>) -> Arc<StanceModel> {
        self.model.swap(model)
    }

    /// The service's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn reload_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.reload_lock
    }

    /// Scoring options for a request asking for `explain` terms; more than
    /// `max_explain` is 422 `explain_out_of_range`.
    pub fn document_options(&self, explain: usize) -> Result<DocumentOptions, ApiError> {
        let max = self.settings.max_explain;
        if explain > max {
            return Err(ApiError::ExplainOutOfRange {
                requested: explain,
                max,
            });
        }
        Ok(DocumentOptions {
            explain,
            ..self.settings.document_options()
        })
    }
}

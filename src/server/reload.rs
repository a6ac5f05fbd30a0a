//! Loading a model for the service and reloading it without downtime. A model
//! is loaded (checksum and consistency checked by [`crate::artifact::load`])
//! and then self-checked by scoring a probe document, all before it may
//! serve. A reload swaps the new model in atomically; if anything fails the
//! old model keeps serving and the failure is logged and counted
//! (`stance_model_reloads_total{result="failure"}`).
//!
//! [`reload_api_keys`] does the same for the API keys file (SIGHUP reloads
//! both, the model first): see [`super::keys`] for what a key swap keeps.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::keys::{KeyFileError, KeysReloaded};
use super::metrics::ReloadOutcome;
use super::state::AppState;
use crate::artifact::ArtifactError;
use crate::{DocumentOptions, StanceModel};

/// Why a model may not serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelLoadError {
    /// The file could not be read or is not a valid model.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The model loaded but scores the probe document wrongly.
    #[error("{path}: model fails its self-check: {detail}")]
    SelfCheck {
        /// The model file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The loading task did not finish (it panicked or was cancelled).
    #[error("model loading did not finish: {0}")]
    Interrupted(String),
}

/// Two short paragraphs the self-check scores.
const PROBE: &str = "The city council voted to keep its sanctuary ordinance.\n\n\
                     The sheriff said the county will honor every ICE detainer.";

/// Loads the model at `path` (the built-in shipped model when `None`) and
/// checks it can score (blocking: file I/O and parsing).
pub fn load_checked(path: Option<&Path>) -> Result<StanceModel, ModelLoadError> {
    let model = crate::artifact::load_or_embedded(path)?;
    self_check(&model, &source_name(path))?;
    Ok(model)
}

/// How a model source is named in messages and logs.
pub fn source_name(path: Option<&Path>) -> PathBuf {
    path.map_or_else(
        || PathBuf::from(crate::artifact::EMBEDDED_MODEL_NAME),
        Path::to_path_buf,
    )
}

/// Scores [`PROBE`] and checks every probability is finite, in [0, 1], and
/// that each triple sums to 1.
fn self_check(model: &StanceModel, path: &Path) -> Result<(), ModelLoadError> {
    let fail = |detail: String| ModelLoadError::SelfCheck {
        path: path.to_path_buf(),
        detail,
    };
    let doc = model
        .score_document(PROBE, &DocumentOptions::default())
        .map_err(|e| fail(e.to_string()))?;
    if doc.paragraphs.is_empty() {
        return Err(fail("probe document has no paragraphs".into()));
    }
    let triples =
        std::iter::once(doc.probabilities).chain(doc.paragraphs.iter().map(|p| p.probabilities));
    for p in triples {
        let v = p.to_class_order();
        let sum: f64 = v.iter().sum();
        if v.iter().any(|x| !x.is_finite() || !(0.0..=1.0).contains(x)) || (sum - 1.0).abs() > 1e-6
        {
            return Err(fail(format!(
                "probe probabilities are not a distribution: {v:?}"
            )));
        }
    }
    Ok(())
}

/// Identity of a model, as reported by reloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSummary {
    /// `name@version`.
    pub id: String,
    /// Model version.
    pub version: String,
    /// `sha256:<hex>` of the model body.
    pub checksum: String,
}

impl ModelSummary {
    /// The summary of `model`.
    pub fn of(model: &StanceModel) -> Self {
        Self {
            id: model.id(),
            version: model.meta().version.clone(),
            checksum: model.checksum().to_string(),
        }
    }
}

impl std::fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.id, self.checksum)
    }
}

/// A successful reload.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadReport {
    /// The model that served before.
    pub previous: ModelSummary,
    /// The model serving now.
    pub current: ModelSummary,
    /// Whether the checksum changed.
    pub changed: bool,
}

/// A refused reload: the old model still serves.
#[derive(Debug, thiserror::Error)]
#[error("reload refused, still serving {serving}: {source}")]
pub struct ReloadFailure {
    /// The model still serving.
    pub serving: ModelSummary,
    /// Why the new one was refused.
    #[source]
    pub source: ModelLoadError,
}

/// Re-reads the configured model file, checks it, and swaps it in. `trigger`
/// names the cause in the log (`http`, `SIGHUP`). Reloads are serialized.
pub async fn reload(
    state: &AppState,
    trigger: &'static str,
) -> Result<ReloadReport, ReloadFailure> {
    let _guard = state.reload_lock().lock().await;
    let configured = state.settings().model.clone();
    let path = source_name(configured.as_deref());
    let loaded = tokio::task::spawn_blocking(move || {
        let model = load_checked(configured.as_deref());
        // The file's text and the parse's temporaries are freed by now.
        super::memory::release_free_memory();
        model
    })
    .await
    .map_err(|e| ModelLoadError::Interrupted(e.to_string()))
    .and_then(|r| r);
    match loaded {
        Ok(model) => {
            let current = ModelSummary::of(&model);
            let old = state.swap_model(Arc::new(model));
            let previous = ModelSummary::of(&old);
            super::memory::release_when_unused(old);
            state.metrics().observe_reload(ReloadOutcome::Success);
            tracing::info!(
                trigger,
                path = %path.display(),
                previous = %previous,
                current = %current,
                "model reloaded"
            );
            Ok(ReloadReport {
                changed: previous.checksum != current.checksum,
                previous,
                current,
            })
        }
        Err(source) => {
            let serving = ModelSummary::of(&state.model());
            state.metrics().observe_reload(ReloadOutcome::Failure);
            tracing::error!(
                trigger,
                path = %path.display(),
                serving = %serving,
                "model reload failed, keeping the old model: {source}"
            );
            Err(ReloadFailure { serving, source })
        }
    }
}

/// Re-reads the API keys file the service started with and swaps the new
/// key set in (see [`super::keys::ApiKeyStore::reload`]). `Ok(None)` when
/// keys are off: a reload never turns them on. On failure the old keys stay
/// in force, and an `ERROR` line names the file and line (never a key).
/// Logged and counted (`stance_api_keys_reloads_total`); serialized with
/// model reloads.
pub async fn reload_api_keys(
    state: &AppState,
    trigger: &'static str,
) -> Result<Option<KeysReloaded>, KeyFileError> {
    let store = state.api_keys();
    let Some(path) = store.file() else {
        tracing::debug!(trigger, "API keys are off; not reloading them");
        return Ok(None);
    };
    let _guard = state.reload_lock().lock().await;
    // A keys file is a few lines: reading it inline is cheaper than a
    // blocking-pool round trip.
    match store.reload() {
        Ok(report) => {
            if let Some(r) = report {
                state
                    .metrics()
                    .observe_api_keys_reload(ReloadOutcome::Success);
                tracing::info!(
                    trigger,
                    path = %path.display(),
                    keys = r.keys,
                    buckets_kept = r.buckets_kept,
                    "API keys reloaded"
                );
            }
            Ok(report)
        }
        Err(e) => {
            state
                .metrics()
                .observe_api_keys_reload(ReloadOutcome::Failure);
            tracing::error!(
                trigger,
                path = %path.display(),
                keys = store.current().len(),
                "API keys reload failed, keeping the old keys: {e}"
            );
            Err(e)
        }
    }
}

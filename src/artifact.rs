//! The model file: one self-describing, versioned, checksummed JSON document.
//!
//! Layout (keys in this order):
//! `{"format_version": 1, "format": "stance-model", "checksum": "sha256:<hex>", "body": {...}}`
//! where the checksum is the SHA-256 of the exact bytes of `body`. The body
//! holds the model's identity and provenance, the analyzer configuration, the
//! vocabulary and idf, and the classifier's weights and intercepts. Files are
//! written to a temporary file beside the target and renamed, so a crash
//! never leaves half a model behind.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::eval::CvReport;
use crate::features::{Tfidf, TfidfParams};
use crate::label::Label;
use crate::model::{Calibration, FitInfo, LogReg, LogRegParams};
use crate::pipeline::{ModelMeta, StanceModel};
use crate::text::{Analyzer, AnalyzerConfig};

/// The `format` value of every model file.
pub const FORMAT: &str = "stance-model";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Where a model came from: data, parameters, metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Path of the training file as given to `stance train` (several
    /// files: `a.jsonl + b.jsonl:0.3`).
    pub training_file: String,
    /// SHA-256 of the training file's bytes (several files: the digest
    /// described at [`crate::dataset::read_sources`]).
    pub training_sha256: String,
    /// Every training file with its SHA-256, weight and example count
    /// (empty in models written before multi-file training).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_files: Vec<crate::dataset::SourceSummary>,
    /// Number of training examples.
    pub n_examples: usize,
    /// Training examples per label.
    pub examples_per_label: BTreeMap<Label, usize>,
    /// Seed used for cross-validation folds.
    pub seed: u64,
    /// Cross-validated metrics, when cross-validation ran.
    pub cv: Option<CvReport>,
    /// All training hyper-parameters (`TrainParams` as JSON).
    pub hyperparameters: serde_json::Value,
}

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file ends early: an interrupted copy or download.
    #[error("{path}: model file is truncated ({detail})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Parser detail.
        detail: String,
    },
    /// The file is not valid JSON or lacks required parts.
    #[error("{path}: model file is corrupted ({detail})")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The file is JSON but not a stance model.
    #[error("{path}: not a stance model file (format is {found:?}, expected {FORMAT:?})")]
    NotAModel {
        /// The file.
        path: PathBuf,
        /// The `format` found.
        found: String,
    },
    /// The file was written by an incompatible version of stance.
    #[error("{path}: model format version {found} is not supported (this build reads version {supported})")]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The body does not match its checksum: the file was altered or damaged.
    #[error("{path}: checksum mismatch (file says {expected}, body hashes to {actual}): the file is corrupted")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Checksum written in the file.
        expected: String,
        /// Checksum of the body as read.
        actual: String,
    },
    /// The parts of the model do not fit together.
    #[error("{path}: inconsistent model: {detail}")]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What does not fit.
        detail: String,
    },
}

#[derive(Serialize, Deserialize)]
struct TfidfBody {
    params: TfidfParams,
    vocabulary: Vec<String>,
    idf: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct LogRegBody {
    params: LogRegParams,
    n_features: usize,
    intercepts: Vec<f64>,
    /// Class-major: `weights[k * n_features + j]`.
    weights: Vec<f64>,
    fit_info: FitInfo,
}

#[derive(Serialize, Deserialize)]
struct Body {
    meta: ModelMeta,
    labels: Vec<Label>,
    analyzer: AnalyzerConfig,
    tfidf: TfidfBody,
    logreg: LogRegBody,
    /// Absent in models written before calibration: temperature 1.
    #[serde(default)]
    calibration: Calibration,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    format_version: u32,
    format: String,
    checksum: String,
    #[serde(borrow)]
    body: &'a RawValue,
}

#[derive(Deserialize)]
struct Header {
    format_version: Option<u32>,
    format: Option<String>,
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Serializes a model's body: the bytes the checksum covers.
fn body_bytes(model: &StanceModel) -> Result<Vec<u8>, serde_json::Error> {
    let lr = &model.logreg;
    let body = Body {
        meta: model.meta.clone(),
        labels: Label::ALL.to_vec(),
        analyzer: model.analyzer.config().clone(),
        tfidf: TfidfBody {
            params: model.tfidf.params().clone(),
            vocabulary: model.tfidf.vocabulary().to_vec(),
            idf: model.tfidf.idf().to_vec(),
        },
        logreg: LogRegBody {
            params: model.logreg_params.clone(),
            n_features: lr.n_features(),
            intercepts: lr.intercepts().to_vec(),
            weights: lr.weights().to_vec(),
            fit_info: lr.fit_info().clone(),
        },
        calibration: model.calibration.clone(),
    };
    serde_json::to_vec(&body)
}

/// Writes `model` to `path` atomically and returns the checksum written.
pub fn save(model: &StanceModel, path: &Path) -> Result<String, ArtifactError> {
    let io = |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    };
    let body = body_bytes(model).map_err(|e| ArtifactError::Corrupted {
        path: path.to_path_buf(),
        detail: format!("cannot serialize: {e}"),
    })?;
    let checksum = sha256_hex(&body);
    let mut bytes = Vec::with_capacity(body.len() + 160);
    write!(
        bytes,
        "{{\"format_version\":{FORMAT_VERSION},\"format\":\"{FORMAT}\",\"checksum\":\"{checksum}\",\"body\":"
    )
    .map_err(io)?;
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(b"}\n");
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(checksum)
}

/// Reads and checks a model file.
pub fn load(path: &Path) -> Result<StanceModel, ArtifactError> {
    let bytes = std::fs::read(path).map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(&bytes, path)
}

/// The shipped model ([`crate::DEFAULT_MODEL_PATH`]) as built into the
/// binary; `build.rs` checked its checksum at build time.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/",
    env!("STANCE_SHIPPED_MODEL")
));

/// How the built-in model is named in messages.
pub const EMBEDDED_MODEL_NAME: &str = concat!("built-in ", env!("STANCE_SHIPPED_MODEL"));

/// Loads the model built into the binary (the shipped model), so commands
/// work from any directory without a model file.
pub fn load_embedded() -> Result<StanceModel, ArtifactError> {
    from_bytes(EMBEDDED_MODEL, Path::new(EMBEDDED_MODEL_NAME))
}

/// Loads the model at `path`, or the built-in one when `path` is `None`.
pub fn load_or_embedded(path: Option<&Path>) -> Result<StanceModel, ArtifactError> {
    match path {
        Some(p) => load(p),
        None => load_embedded(),
    }
}

/// Parses and checks model bytes; `path` names the source in errors.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<StanceModel, ArtifactError> {
    let p = || path.to_path_buf();
    let corrupted = |detail: String| ArtifactError::Corrupted { path: p(), detail };
    let envelope: Envelope<'_> = match serde_json::from_slice(bytes) {
        Ok(e) => e,
        Err(e) if e.is_eof() => {
            return Err(ArtifactError::Truncated {
                path: p(),
                detail: e.to_string(),
            })
        }
        Err(e) => {
            // Say "wrong version" or "not a model" rather than "corrupted"
            // when the header is readable.
            if let Ok(h) = serde_json::from_slice::<Header>(bytes) {
                if let Some(found) = h.format.filter(|f| f != FORMAT) {
                    return Err(ArtifactError::NotAModel { path: p(), found });
                }
                if let Some(found) = h.format_version.filter(|&v| v != FORMAT_VERSION) {
                    return Err(ArtifactError::Incompatible {
                        path: p(),
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
            }
            return Err(corrupted(e.to_string()));
        }
    };
    if envelope.format != FORMAT {
        return Err(ArtifactError::NotAModel {
            path: p(),
            found: envelope.format,
        });
    }
    if envelope.format_version != FORMAT_VERSION {
        return Err(ArtifactError::Incompatible {
            path: p(),
            found: envelope.format_version,
            supported: FORMAT_VERSION,
        });
    }
    let actual = sha256_hex(envelope.body.get().as_bytes());
    if actual != envelope.checksum {
        return Err(ArtifactError::Checksum {
            path: p(),
            expected: envelope.checksum,
            actual,
        });
    }
    let body: Body =
        serde_json::from_str(envelope.body.get()).map_err(|e| corrupted(e.to_string()))?;
    let inconsistent = |detail: String| ArtifactError::Inconsistent { path: p(), detail };
    if body.labels != Label::ALL {
        return Err(inconsistent(format!(
            "labels {:?}, expected [anti, neutral, pro]",
            body.labels
        )));
    }
    let analyzer = Analyzer::new(body.analyzer).map_err(|e| inconsistent(e.to_string()))?;
    let tfidf = Tfidf::from_parts(body.tfidf.params, body.tfidf.vocabulary, body.tfidf.idf)
        .map_err(|e| inconsistent(e.to_string()))?;
    let lr = body.logreg;
    if lr.n_features != tfidf.n_features() {
        return Err(inconsistent(format!(
            "classifier has {} features, vocabulary has {}",
            lr.n_features,
            tfidf.n_features()
        )));
    }
    let logreg = LogReg::from_parts(lr.n_features, lr.weights, lr.intercepts, lr.fit_info)
        .map_err(|e| inconsistent(e.to_string()))?;
    if logreg.n_classes() != Label::ALL.len() {
        return Err(inconsistent(format!(
            "{} classes, expected 3",
            logreg.n_classes()
        )));
    }
    if !body.calibration.is_valid() {
        return Err(inconsistent(format!(
            "calibration temperature {} is not a positive number",
            body.calibration.temperature
        )));
    }
    Ok(StanceModel {
        meta: body.meta,
        analyzer,
        tfidf,
        logreg,
        checksum: envelope.checksum,
        logreg_params: lr.params,
        calibration: body.calibration,
    })
}

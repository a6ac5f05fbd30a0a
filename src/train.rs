//! Training: checked parameters -> cross-validation -> final fit -> [`StanceModel`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::artifact::Provenance;
use crate::dataset::Dataset;
use crate::eval::{evaluate, reliability, stratified_folds, CvReport, Reliability};
use crate::features::{TfidfError, TfidfParams};
use crate::label::{Label, Probabilities};
use crate::model::{Calibration, LogRegError, LogRegParams};
use crate::pipeline::{ModelMeta, StanceModel};
use crate::text::{Analyzer, AnalyzerConfig, AnalyzerError};

/// Inverse regularisation strength of the shipped model (chosen by
/// cross-validation, the real development set and Us-vs-Them: README,
/// "Defaults and how they were chosen").
pub const DEFAULT_C: f64 = 3.0;
/// Minimum document frequency of the shipped model.
pub const DEFAULT_MIN_DF: usize = 2;
/// Optimiser iteration cap of the shipped model.
pub const DEFAULT_MAX_ITER: u64 = 1000;
/// Negation scope of the shipped model's analyzer (tokens marked after a cue).
pub const DEFAULT_NEGATION_SCOPE: usize = 3;
/// Cross-validation folds.
pub const DEFAULT_CV_FOLDS: usize = 5;
/// Seed of the cross-validation folds.
pub const DEFAULT_SEED: u64 = 42;

/// Everything `stance train` decides. Defaults are the shipped model's; the
/// command line's defaults are these same constants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Model name (default `sanctuary`).
    pub name: String,
    /// Model semantic version (default `0.1.0`).
    pub version: String,
    /// Text analysis.
    pub analyzer: AnalyzerConfig,
    /// TF-IDF.
    pub tfidf: TfidfParams,
    /// Classifier.
    pub logreg: LogRegParams,
    /// Cross-validation folds; 0 skips cross-validation (default 5).
    pub cv_folds: usize,
    /// Seed for fold assignment (default 42).
    pub seed: u64,
    /// Apply the temperature fitted on the out-of-fold predictions (default
    /// false: on corpus v2 it sharpened probabilities that are already
    /// over-confident on real text; README, "Calibration"). The temperature
    /// is fitted and reported whenever there are folds.
    #[serde(default)]
    pub calibrate: bool,
}

impl TrainParams {
    /// Checks every parameter (analyzer, TF-IDF, classifier, folds) without
    /// touching data, so a bad value is reported before a file is read.
    pub fn check(&self) -> Result<(), TrainError> {
        Analyzer::new(self.analyzer.clone())?;
        self.tfidf.check()?;
        self.logreg.check()?;
        if self.cv_folds == 1 {
            return Err(TrainError::OneFold);
        }
        Ok(())
    }
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            name: "sanctuary".into(),
            version: "0.1.0".into(),
            analyzer: AnalyzerConfig {
                negation_scope: DEFAULT_NEGATION_SCOPE,
                ..AnalyzerConfig::default()
            },
            tfidf: TfidfParams {
                min_df: DEFAULT_MIN_DF,
                ..TfidfParams::default()
            },
            logreg: LogRegParams {
                c: DEFAULT_C,
                max_iter: DEFAULT_MAX_ITER,
                ..LogRegParams::default()
            },
            cv_folds: DEFAULT_CV_FOLDS,
            seed: DEFAULT_SEED,
            calibrate: false,
        }
    }
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The analyzer configuration is invalid.
    #[error("analyzer: {0}")]
    Analyzer(#[from] AnalyzerError),
    /// TF-IDF parameters are invalid or fitting failed.
    #[error("tf-idf: {0}")]
    Tfidf(#[from] TfidfError),
    /// Classifier parameters are invalid or fitting failed.
    #[error("classifier: {0}")]
    LogReg(#[from] LogRegError),
    /// Fewer than two labels occur in the data.
    #[error("need at least two labels in the training data, found {found}")]
    TooFewClasses {
        /// Labels present.
        found: usize,
    },
    /// Fewer than two labels have examples of positive weight: the fit
    /// would learn nothing (every weight 0 gives one third to each label).
    #[error("need at least two labels with a positive total weight, found {found} (a weight of 0 drops every example it applies to)")]
    TooFewWeightedClasses {
        /// Labels with a positive total weight.
        found: usize,
    },
    /// A label has fewer examples than cross-validation folds.
    #[error("label {label} has {count} examples, fewer than the {folds} cross-validation folds (lower --cv)")]
    ClassTooSmall {
        /// The label.
        label: Label,
        /// Its examples.
        count: usize,
        /// Folds asked for.
        folds: usize,
    },
    /// Cross-validation needs at least two folds.
    #[error("--cv must be 0 (skip) or at least 2, got 1")]
    OneFold,
}

/// Progress reported while training.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Fold `fold` of `folds` finished with this macro-F1.
    Fold {
        /// 1-based fold.
        fold: usize,
        /// Total folds.
        folds: usize,
        /// Its macro-F1.
        macro_f1: f64,
    },
    /// The final fit on all data starts.
    FinalFit,
}

/// A trained model and its cross-validation report.
#[derive(Debug)]
pub struct Trained {
    /// The model (not yet saved: its checksum is empty).
    pub model: StanceModel,
    /// Cross-validation results, unless skipped.
    pub cv: Option<CvReport>,
    /// Calibration metrics of the out-of-fold predictions without and with
    /// the fitted temperature, unless cross-validation was skipped.
    pub calibration_check: Option<CalibrationCheck>,
}

/// Calibration metrics on predictions the model did not train on, with
/// temperature 1 and with the fitted one.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationCheck {
    /// The temperature fitted (applied to the model only when
    /// [`TrainParams::calibrate`]).
    pub temperature: f64,
    /// Temperature 1.
    pub uncalibrated: Reliability,
    /// The fitted temperature.
    pub calibrated: Reliability,
}

impl CalibrationCheck {
    /// Metrics of `logits` against `truth` at temperature 1 and at `calibration`'s.
    pub fn of(logits: &[[f64; 3]], truth: &[Label], calibration: &Calibration) -> Self {
        let probs = |c: &Calibration| -> Vec<Probabilities> {
            logits.iter().map(|&z| c.probabilities(z)).collect()
        };
        Self {
            temperature: calibration.temperature,
            uncalibrated: reliability(&probs(&Calibration::identity()), truth),
            calibrated: reliability(&probs(calibration), truth),
        }
    }
}

/// Fits analyzer config, TF-IDF and classifier on `texts` (no
/// cross-validation). `weights`, when given, weigh each example's loss.
pub fn fit(
    params: &TrainParams,
    texts: &[&str],
    labels: &[Label],
    weights: Option<&[f64]>,
    meta: ModelMeta,
) -> Result<StanceModel, TrainError> {
    let analyzer = Analyzer::new(params.analyzer.clone())?;
    let tfidf_params = params.tfidf.check()?;
    let lr_params = params.logreg.check()?;
    let started = std::time::Instant::now();
    let (tfidf, x) = tfidf_params.fit_transform(&analyzer, texts)?;
    tracing::debug!(
        documents = texts.len(),
        features = tfidf.n_features(),
        nnz = x.nnz(),
        seconds = started.elapsed().as_secs_f64(),
        "tf-idf fitted"
    );
    let y: Vec<usize> = labels.iter().map(|l| l.index()).collect();
    let logreg = lr_params.fit(&x, &y, Label::ALL.len(), weights)?;
    Ok(StanceModel {
        meta,
        analyzer,
        tfidf,
        logreg,
        logreg_params: params.logreg.clone(),
        calibration: crate::model::Calibration::identity(),
        checksum: String::new(),
    })
}

/// Trains on a dataset: checks it, cross-validates (unless `cv_folds` is 0),
/// then fits on everything.
pub fn train(
    params: &TrainParams,
    data: &Dataset,
    mut progress: impl FnMut(Progress),
) -> Result<Trained, TrainError> {
    params.check()?;
    let texts: Vec<&str> = data.examples.iter().map(|e| e.text.as_str()).collect();
    let labels: Vec<Label> = data.examples.iter().map(|e| e.label).collect();
    let weights: Vec<f64> = data.examples.iter().map(|e| e.weight).collect();
    let weighted = weights.iter().any(|&w| w != 1.0);
    let mut counts: BTreeMap<Label, usize> = BTreeMap::new();
    for &l in &labels {
        *counts.entry(l).or_default() += 1;
    }
    if counts.len() < 2 {
        return Err(TrainError::TooFewClasses {
            found: counts.len(),
        });
    }
    let mut weight_of: BTreeMap<Label, f64> = BTreeMap::new();
    for (&l, &w) in labels.iter().zip(&weights) {
        *weight_of.entry(l).or_default() += w;
    }
    let positive = weight_of.values().filter(|&&w| w > 0.0).count();
    if positive < 2 {
        return Err(TrainError::TooFewWeightedClasses { found: positive });
    }
    let k = params.cv_folds;
    if k > 0 {
        if let Some((&label, &count)) = counts.iter().find(|(_, &c)| c < k) {
            return Err(TrainError::ClassTooSmall {
                label,
                count,
                folds: k,
            });
        }
    }

    let mut oof_logits = vec![[0.0; 3]; labels.len()];
    let cv = if k > 0 {
        let folds = stratified_folds(&labels, k, params.seed);
        let mut predicted = vec![Label::Neutral; labels.len()];
        let mut fold_f1 = Vec::with_capacity(k);
        for (f, test) in folds.iter().enumerate() {
            let mut in_test = vec![false; labels.len()];
            test.iter().for_each(|&i| in_test[i] = true);
            let train_idx: Vec<usize> = (0..labels.len()).filter(|&i| !in_test[i]).collect();
            let tr_texts: Vec<&str> = train_idx.iter().map(|&i| texts[i]).collect();
            let tr_labels: Vec<Label> = train_idx.iter().map(|&i| labels[i]).collect();
            let tr_weights: Vec<f64> = train_idx.iter().map(|&i| weights[i]).collect();
            let model = fit(
                params,
                &tr_texts,
                &tr_labels,
                weighted.then_some(tr_weights.as_slice()),
                placeholder_meta(params, data),
            )?;
            let truth: Vec<Label> = test.iter().map(|&i| labels[i]).collect();
            let pred: Vec<Label> = test
                .iter()
                .map(|&i| {
                    let x = model.features(texts[i]);
                    oof_logits[i] = model.logits(x.view());
                    model.score_features(x.view()).label()
                })
                .collect();
            for (&i, &p) in test.iter().zip(&pred) {
                predicted[i] = p;
            }
            let macro_f1 = evaluate(&truth, &pred).macro_f1;
            progress(Progress::Fold {
                fold: f + 1,
                folds: k,
                macro_f1,
            });
            fold_f1.push(macro_f1);
        }
        Some(CvReport::new(
            params.seed,
            fold_f1,
            evaluate(&labels, &predicted),
        ))
    } else {
        None
    };

    // Temperature scaling on the out-of-fold logits: predictions no fold's
    // model trained on, as the final model's will be on new text.
    // Fitted and measured whenever there are folds; applied only when asked.
    let (calibration, calibration_check) = if k > 0 {
        let y: Vec<usize> = labels.iter().map(|l| l.index()).collect();
        let c = Calibration::fit(
            &oof_logits,
            &y,
            format!(
                "{k}-fold out-of-fold predictions on the training data (seed {})",
                params.seed
            ),
        );
        let check = CalibrationCheck::of(&oof_logits, &labels, &c);
        (c, Some(check))
    } else {
        (Calibration::identity(), None)
    };
    let calibration = if params.calibrate {
        calibration
    } else {
        Calibration::identity()
    };

    progress(Progress::FinalFit);
    let mut meta = placeholder_meta(params, data);
    meta.provenance.cv = cv.clone();
    meta.provenance.examples_per_label = counts;
    let mut model = fit(
        params,
        &texts,
        &labels,
        weighted.then_some(weights.as_slice()),
        meta,
    )?;
    model.set_calibration(calibration);
    Ok(Trained {
        model,
        cv,
        calibration_check,
    })
}

fn placeholder_meta(params: &TrainParams, data: &Dataset) -> ModelMeta {
    ModelMeta {
        name: params.name.clone(),
        version: params.version.clone(),
        created_at: now_rfc3339(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        provenance: Provenance {
            training_file: data.path.display().to_string(),
            training_sha256: data.sha256.clone(),
            training_files: data.sources.clone(),
            n_examples: data.examples.len(),
            examples_per_label: BTreeMap::new(),
            seed: params.seed,
            cv: None,
            hyperparameters: serde_json::to_value(params).unwrap_or_default(),
        },
    }
}

/// Current UTC time as RFC 3339 (second precision).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Example;

    fn dataset(rows: &[(&str, Label, f64)]) -> Dataset {
        Dataset {
            path: "mem.jsonl".into(),
            sha256: String::new(),
            examples: rows
                .iter()
                .enumerate()
                .map(|(i, (t, l, w))| Example {
                    id: format!("e{i}"),
                    text: t.to_string(),
                    label: *l,
                    line: i + 1,
                    weight: *w,
                })
                .collect(),
            warnings: Vec::new(),
            sources: Vec::new(),
        }
    }

    #[test]
    fn example_weights_change_the_fit() {
        // "ice" is pro once and anti once; weighting one side decides it.
        let rows = |w: f64| {
            dataset(&[
                ("ice protect", Label::Pro, w),
                ("ice enforce", Label::Anti, 1.0),
                ("meeting agenda", Label::Neutral, 1.0),
            ])
        };
        let params = TrainParams {
            cv_folds: 0,
            tfidf: TfidfParams::default(),
            ..TrainParams::default()
        };
        let heavy = train(&params, &rows(10.0), |_| {}).unwrap().model;
        let plain = train(&params, &rows(1.0), |_| {}).unwrap().model;
        assert!(heavy.score("ice").pro > plain.score("ice").pro);
        assert_eq!(heavy.score("ice").label(), Label::Pro);
    }

    #[test]
    fn zero_weights_that_leave_one_label_are_refused() {
        let rows = dataset(&[
            ("ice protect", Label::Pro, 0.0),
            ("ice enforce", Label::Anti, 1.0),
            ("meeting agenda", Label::Anti, 1.0),
        ]);
        let params = TrainParams {
            cv_folds: 0,
            tfidf: TfidfParams::default(),
            ..TrainParams::default()
        };
        let err = train(&params, &rows, |_| {}).unwrap_err();
        assert!(
            matches!(err, TrainError::TooFewWeightedClasses { found: 1 }),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_valid() {
        let p = TrainParams::default();
        assert!(p.tfidf.check().is_ok() && p.logreg.check().is_ok());
        assert!(Analyzer::new(p.analyzer).is_ok());
    }
}

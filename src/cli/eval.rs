//! `stance eval`: metrics of a model on a labeled file: labels (accuracy,
//! macro-F1, per class, confusion) and calibration (expected calibration
//! error, Brier score, log loss and the reliability table, with the model's
//! temperature and without it).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::eval::evaluate;
use crate::label::{Label, Probabilities};
use crate::model::Calibration;
use crate::report::model_page::CONFIDENT_ERRORS;
use crate::report::output::write_files;
use crate::report::{confident_errors, render_model_report, ModelReport};
use crate::train::CalibrationCheck;

/// Arguments of `stance eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model file (default: the shipped model, built into the binary).
    #[arg(long, env = "STANCE_MODEL")]
    pub model: Option<PathBuf>,
    /// Labeled file: JSONL (`text`, `label`) or CSV with a header, optionally .gz/.zst.
    #[arg(long)]
    pub data: PathBuf,
    /// Print one JSON object (keys: n, accuracy, macro_f1, per_class,
    /// confusion, calibration, model, checksum).
    #[arg(long)]
    pub json: bool,
    /// Score with temperature 1 (the model's raw probabilities) instead of
    /// the model's calibration.
    #[arg(long)]
    pub no_calibrate: bool,
    /// Also write an HTML report to this file: metrics, confusion heatmap,
    /// reliability diagram, strongest terms, the most confident errors
    /// with their text, and the model's provenance.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub(super) fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let mut model = super::load_model(args.model.as_deref())?;
    let checksum = model.checksum().to_string();
    if args.no_calibrate {
        model.set_calibration(Calibration::identity());
    }
    // Features and logits once per example; the labels (calibrated
    // probabilities, as `score` gives) and both calibration checks derive
    // from them.
    let (data, truth, logits) = super::labeled_logits(&model, &args.data, "evaluation data")?;
    let probs: Vec<Probabilities> = logits
        .iter()
        .map(|&z| model.calibration().probabilities(z))
        .collect();
    let predicted: Vec<Label> = probs.iter().map(Probabilities::label).collect();
    let report = evaluate(&truth, &predicted);
    let calibration = CalibrationCheck::of(&logits, &truth, model.calibration());
    if let Some(path) = &args.html {
        let examples: Vec<(&str, &str, Label)> = data
            .examples
            .iter()
            .map(|e| (e.id.as_str(), e.text.as_str(), e.label))
            .collect();
        let page = render_model_report(&ModelReport {
            title: "Evaluation report".into(),
            model: &model,
            source: format!("{} ({} examples)", args.data.display(), data.examples.len()),
            metrics: Some(&report),
            reliability: Some(&calibration.calibrated),
            errors: Some(confident_errors(&examples, &probs, CONFIDENT_ERRORS)),
        })?;
        write_files(&[(path.clone(), page.into_bytes())])
            .context("cannot write the HTML report")?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("model".into(), model.id().into());
            obj.insert("checksum".into(), checksum.into());
            obj.insert(
                "calibration".into(),
                serde_json::json!({
                    "temperature": model.calibration().temperature,
                    "calibrated": calibration.calibrated,
                    "uncalibrated": calibration.uncalibrated,
                }),
            );
        }
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
    } else {
        writeln!(out, "model {} on {}", model.id(), args.data.display())?;
        write!(out, "{}", report.to_table())?;
        let (c, u) = (&calibration.calibrated, &calibration.uncalibrated);
        writeln!(
            out,
            "calibration (temperature {:.3}{}): ECE {:.4} (uncalibrated {:.4}), Brier {:.4} ({:.4}), log loss {:.4} ({:.4})",
            model.calibration().temperature,
            if args.no_calibrate { ", --no-calibrate" } else { "" },
            c.ece,
            u.ece,
            c.brier,
            u.brier,
            c.log_loss,
            u.log_loss
        )?;
        write!(out, "{}", c.to_table())?;
    }
    Ok(ExitCode::SUCCESS)
}

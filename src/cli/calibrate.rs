//! `stance calibrate`: refits only a model's temperature on a labeled file of
//! the user's own text (minimising log loss), and writes the model with it.
//! Weights, vocabulary and labels are untouched; probabilities change,
//! labels do not.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use rayon::prelude::*;

use crate::label::Label;
use crate::model::Calibration;
use crate::train::CalibrationCheck;

/// Arguments of `stance calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Model to calibrate (default: the shipped model, built into the binary).
    #[arg(long, env = "STANCE_MODEL")]
    pub model: Option<PathBuf>,
    /// Labeled file of your own text (JSONL or CSV, optionally .gz/.zst).
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the calibrated model.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file at --out.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it, or choose another --out",
            args.out.display()
        );
    }
    let mut model = super::load_model(args.model.as_deref())?;
    let data = crate::dataset::read_labeled(&args.data).context("cannot read calibration data")?;
    let truth: Vec<Label> = data.examples.iter().map(|e| e.label).collect();
    let logits: Vec<[f64; 3]> = data
        .examples
        .par_iter()
        .map(|e| model.logits(model.features(&e.text).view()))
        .collect();
    let y: Vec<usize> = truth.iter().map(|l| l.index()).collect();
    let before = model.calibration().clone();
    let fitted = Calibration::fit(
        &logits,
        &y,
        format!("{} ({})", args.data.display(), data.sha256),
    );
    let was = CalibrationCheck::of(&logits, &truth, &before);
    let now = CalibrationCheck::of(&logits, &truth, &fitted);
    model.set_calibration(fitted);
    let checksum = crate::artifact::save(&model, &args.out).context("cannot write model")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "temperature {:.3} -> {:.3} on {} examples of {}: ECE {:.4} -> {:.4}, Brier {:.4} -> {:.4}, log loss {:.4} -> {:.4} (on the same file: measure on other text)",
        before.temperature,
        model.calibration().temperature,
        data.examples.len(),
        args.data.display(),
        was.calibrated.ece,
        now.calibrated.ece,
        was.calibrated.brier,
        now.calibrated.brier,
        was.calibrated.log_loss,
        now.calibrated.log_loss
    )?;
    writeln!(
        out,
        "wrote {} ({}, {checksum})",
        args.out.display(),
        model.id()
    )?;
    Ok(ExitCode::SUCCESS)
}

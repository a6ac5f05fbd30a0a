//! `stance calibrate`: refits only a model's temperature on a labeled file of
//! the user's own text (minimising log loss), and writes the model with it.
//! Weights, vocabulary and labels are untouched; probabilities change,
//! labels do not. Warns when the file is too small for a reliable
//! temperature or the fit stopped at an end of its search range.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use crate::model::calibration::TEMPERATURE_RANGE;
use crate::model::Calibration;
use crate::train::CalibrationCheck;

/// Below this many examples the fitted temperature is reported as unreliable.
const MIN_RELIABLE_EXAMPLES: usize = 100;

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
    /// Model semantic version recorded in the written file (default: the
    /// input model's), as `stance train --version`.
    #[arg(long = "version", visible_alias = "model-version")]
    pub model_version: Option<String>,
}

pub(super) fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it, or choose another --out",
            args.out.display()
        );
    }
    let mut model = super::load_model(args.model.as_deref())?;
    let (data, truth, logits) = super::labeled_logits(&model, &args.data, "calibration data")?;
    let y: Vec<usize> = truth.iter().map(|l| l.index()).collect();
    let before = model.calibration().clone();
    let fitted = Calibration::fit(
        &logits,
        &y,
        format!("{} ({})", args.data.display(), data.sha256),
    );
    let was = CalibrationCheck::of(&logits, &truth, &before);
    let now = CalibrationCheck::of(&logits, &truth, &fitted);
    for w in warnings(data.examples.len(), &fitted) {
        eprintln!("warning: {w}");
    }
    model.set_calibration(fitted);
    if let Some(v) = args.model_version {
        model.set_version(v);
    }
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

/// What to warn about a temperature fitted on `n` examples.
fn warnings(n: usize, fitted: &Calibration) -> Vec<String> {
    let mut out = Vec::new();
    if n < MIN_RELIABLE_EXAMPLES {
        out.push(format!(
            "only {n} calibration examples (fewer than {MIN_RELIABLE_EXAMPLES}): the temperature is unreliable; use a few hundred"
        ));
    }
    if fitted.at_bound() {
        let (lo, hi) = TEMPERATURE_RANGE;
        out.push(format!(
            "the fitted temperature {:.3} is at a bound of its search range [{lo}, {hi}]: the data wanted a more extreme one (labels the model always gets right, or always wrong?); do not trust it",
            fitted.temperature
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_below_the_minimum_and_at_a_bound_only() {
        let t = |temperature| Calibration {
            temperature,
            ..Calibration::identity()
        };
        assert!(warnings(100, &t(1.3)).is_empty());
        let w = warnings(99, &t(1.3));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("only 99 calibration examples"), "{w:?}");
        for bound in [TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1] {
            let w = warnings(500, &t(bound));
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(w[0].contains("at a bound of its search range"), "{w:?}");
        }
        assert_eq!(warnings(5, &t(20.0)).len(), 2);
    }
}

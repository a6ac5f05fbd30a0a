//! `stance eval`: metrics of a model on a labeled file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;

use crate::eval::evaluate;
use crate::label::Label;

/// Arguments of `stance eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model file (default: the shipped model, built into the binary).
    #[arg(long, env = "STANCE_MODEL")]
    pub model: Option<PathBuf>,
    /// Labeled file: JSONL (`text`, `label`) or CSV with a header.
    #[arg(long)]
    pub data: PathBuf,
    /// Print one JSON object (keys: n, accuracy, macro_f1, per_class, confusion, model).
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let model = super::load_model(args.model.as_deref())?;
    let data = crate::dataset::read_labeled(&args.data).context("cannot read evaluation data")?;
    for w in &data.warnings {
        eprintln!("warning: {w}");
    }
    let truth: Vec<Label> = data.examples.iter().map(|e| e.label).collect();
    let predicted: Vec<Label> = data
        .examples
        .par_iter()
        .map(|e| model.score(&e.text).label())
        .collect();
    let report = evaluate(&truth, &predicted);
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("model".into(), model.id().into());
            obj.insert("checksum".into(), model.checksum().into());
        }
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
    } else {
        writeln!(out, "model {} on {}", model.id(), args.data.display())?;
        write!(out, "{}", report.to_table())?;
    }
    Ok(ExitCode::SUCCESS)
}

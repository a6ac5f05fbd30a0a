//! `stance tokenize`: the analyzer's tokens for every example of a labeled
//! file, so other tools (scikit-learn in `scripts/compare_sklearn.sh`) can be
//! fed exactly our tokens.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::text::Analyzer;

/// Arguments of `stance tokenize`.
#[derive(Debug, Args)]
pub struct TokenizeArgs {
    /// JSONL (`text`, optional `id` and `label`) or CSV with a header, optionally .gz/.zst.
    #[arg(long)]
    pub data: PathBuf,
    /// Use this model's analyzer instead of the one `stance train` uses by default.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

pub(super) fn run(args: TokenizeArgs) -> anyhow::Result<ExitCode> {
    let model = args
        .model
        .as_deref()
        .map(|p| super::load_model(Some(p)))
        .transpose()?;
    let default;
    let analyzer = match &model {
        Some(m) => m.analyzer(),
        None => {
            default = Analyzer::new(crate::train::TrainParams::default().analyzer)?;
            &default
        }
    };
    let data = crate::dataset::read_texts(&args.data).context("cannot read data")?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut tokens = Vec::new();
    for e in &data {
        analyzer.tokens_into(&e.text, &mut tokens);
        let words: Vec<&str> = tokens.iter().map(|t| &*t.text).collect();
        let line = serde_json::json!({"id": e.id, "label": e.label, "tokens": words});
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

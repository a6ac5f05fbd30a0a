//! `stance predict`: one text to label and probabilities.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

/// Arguments of `stance predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model file.
    #[arg(long, env = "STANCE_MODEL", default_value = crate::DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// The text, or `-` (or nothing) to read standard input.
    pub text: Option<String>,
    /// Print JSON instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let text = match args.text.as_deref() {
        None | Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            String::from_utf8(bytes).context("standard input is not valid UTF-8")?
        }
        Some(t) => t.to_string(),
    };
    if text.trim().is_empty() {
        bail!("text is empty");
    }
    let model = super::load_model(&args.model)?;
    let p = model.score(&text);
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "label": p.label(),
            "probabilities": p,
            "stance_index": p.stance_index(),
            "model": model.id(),
            "checksum": model.checksum(),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{}\tpro={:.4}\tanti={:.4}\tneutral={:.4}\tstance_index={:+.4}",
            p.label(),
            p.pro,
            p.anti,
            p.neutral,
            p.stance_index()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

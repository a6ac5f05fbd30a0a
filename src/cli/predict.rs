//! `stance predict`: one text to label and probabilities, scored as a
//! document (paragraphs and their length-weighted aggregate) exactly as
//! `/v1/score`, KServe and `stance score` score it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

/// Arguments of `stance predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model file (default: the shipped model, built into the binary).
    #[arg(long, env = "STANCE_MODEL")]
    pub model: Option<PathBuf>,
    /// The text, or `-` (or nothing) to read standard input.
    pub text: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also show each paragraph's score.
    #[arg(long)]
    pub paragraphs: bool,
    /// List the K terms pushing hardest toward and against each paragraph's
    /// label (implies --paragraphs).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub explain: usize,
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
    let model = super::load_model(args.model.as_deref())?;
    let opts = crate::pipeline::DocumentOptions {
        explain: args.explain,
        ..Default::default()
    };
    let doc = model
        .score_document(&text, &opts)
        .context("cannot score the text")?;
    let show_paragraphs = args.paragraphs || args.explain > 0;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::json!({
            "label": doc.label,
            "probabilities": doc.probabilities,
            "stance_index": doc.stance_index,
            "low_confidence": doc.low_confidence,
            "model": model.id(),
            "checksum": model.checksum(),
        });
        if show_paragraphs {
            v["paragraphs"] = serde_json::to_value(&doc.paragraphs)?;
        }
        writeln!(out, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let line = |label: crate::Label, p: &crate::Probabilities, low: bool| {
        format!(
            "{label}\tpro={:.4}\tanti={:.4}\tneutral={:.4}\tstance_index={:+.4}{}",
            p.pro,
            p.anti,
            p.neutral,
            p.stance_index(),
            if low { "\tlow_confidence" } else { "" }
        )
    };
    writeln!(
        out,
        "{}",
        line(doc.label, &doc.probabilities, doc.low_confidence)
    )?;
    if show_paragraphs {
        let chars: Vec<char> = text.chars().collect();
        for (i, para) in doc.paragraphs.iter().enumerate() {
            let excerpt: String = chars[para.start..para.end.min(chars.len())]
                .iter()
                .take(60)
                .collect();
            writeln!(
                out,
                "  [{}] {}\t{}",
                i + 1,
                line(para.label, &para.probabilities, para.low_confidence),
                excerpt.replace('\n', " ")
            )?;
            if let Some(ex) = &para.explanation {
                let terms = |v: &[crate::pipeline::TermContribution]| {
                    if v.is_empty() {
                        return "none".to_string();
                    }
                    v.iter()
                        .map(|c| format!("{} ({:+.3})", c.text, c.weight))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(out, "      toward {}: {}", ex.label, terms(&ex.toward))?;
                writeln!(out, "      against: {}", terms(&ex.against))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

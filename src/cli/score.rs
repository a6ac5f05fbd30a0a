//! `stance score`: batch re-scoring of archives (see [`crate::batch`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::batch::{BatchParams, OutputFormat, Shard};

/// Arguments of `stance score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Model file (default: the shipped model, built into the binary).
    #[arg(long, env = "STANCE_MODEL")]
    pub model: Option<PathBuf>,
    /// Inputs and their fields.
    #[command(flatten)]
    pub archive: super::archive::ArchiveArgs,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Output format: jsonl or csv.
    #[arg(long, default_value = "jsonl")]
    pub format: OutputFormat,
    /// Input fields (JSON keys, CSV columns) copied into every output record
    /// after `source`, e.g. outlet,date: JSON values as they are (a missing one
    /// as null), CSV cells as strings. Not with .txt inputs.
    #[arg(long, value_name = "FIELD,...", value_delimiter = ',')]
    pub keep_fields: Vec<String>,
    /// Scoring threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Add per-paragraph scores to every record.
    #[arg(long)]
    pub paragraphs: bool,
    /// List the K terms pushing hardest toward and against each paragraph's label (implies --paragraphs).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub explain: usize,
    /// Continue an interrupted run: keep the complete records --output holds, score the rest.
    #[arg(long)]
    pub resume: bool,
    /// Score only the K-th of N slices of the input: records whose index i (0-based, over all inputs) has i % N == K-1.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Never draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

pub(super) fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let model = super::load_model(args.model.as_deref())?;
    let params = BatchParams {
        input_format: args.archive.input_format,
        fields: args.archive.fields(),
        inputs: args.archive.input,
        output: args.output,
        output_format: args.format,
        keep_fields: args.keep_fields,
        threads: args.threads,
        paragraphs: args.paragraphs,
        explain: args.explain,
        resume: args.resume,
        shard: args.shard.unwrap_or_else(Shard::whole),
        progress: !args.no_progress && std::io::stderr().is_terminal(),
    };
    let summary = crate::batch::run(&model, &params)?;
    eprintln!("{summary}");
    Ok(if summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

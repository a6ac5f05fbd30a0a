//! `stance sample`: picks the paragraphs of an archive most worth labeling
//! and writes them as labeling tasks (see [`crate::adapt`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use crate::adapt::sample::read_exclusions;
use crate::adapt::{sample, write_tasks, SampleParams, Strategy, TaskFormat};
use crate::batch::record::ModelStamp;

/// Arguments of `stance sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Model whose uncertainty picks the paragraphs (default: the shipped model, built into the binary).
    #[arg(long, env = "STANCE_MODEL")]
    pub model: Option<PathBuf>,
    /// Inputs and their fields.
    #[command(flatten)]
    pub archive: super::archive::ArchiveArgs,
    /// Number of paragraphs to pick.
    #[arg(long, short = 'n', default_value_t = 200)]
    pub n: usize,
    /// How to rank paragraphs: margin (1 - gap between the top two probabilities), entropy, or random.
    #[arg(long, default_value = "margin")]
    pub strategy: Strategy,
    /// Skip a paragraph whose TF-IDF cosine to one already picked exceeds this (0-1; 1 turns the step off).
    #[arg(long, default_value_t = 0.8)]
    pub diversity: f64,
    /// Seed of the random strategy.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Paragraphs shorter than this many characters are never picked (bylines, datelines).
    #[arg(long, default_value_t = 40)]
    pub min_chars: usize,
    /// Task format: labelstudio (JSON tasks plus NAME.label_config.xml beside them), doccano (JSONL), or jsonl.
    #[arg(long, default_value = "labelstudio")]
    pub format: TaskFormat,
    /// Where to write the tasks.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Overwrite an existing --output.
    #[arg(long)]
    pub force: bool,
    /// Never pick paragraphs listed in these files (task files from an earlier `stance sample`, labeled files from `stance labels import`): matched by `task_id` or by text.
    #[arg(long, num_args = 1..)]
    pub exclude: Vec<PathBuf>,
    /// Scoring threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
}

pub(super) fn run(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.output.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it, or choose another --output",
            args.output.display()
        );
    }
    let params = SampleParams {
        input_format: args.archive.input_format,
        fields: args.archive.fields(),
        inputs: args.archive.input,
        n: args.n,
        strategy: args.strategy,
        diversity: args.diversity,
        seed: args.seed,
        min_chars: args.min_chars,
        exclude: read_exclusions(&args.exclude)?,
        threads: args.threads,
    };
    params.check()?;
    let model = super::load_model(args.model.as_deref())?;
    let summary = sample(&model, &params).context("sampling failed")?;
    let stamp = ModelStamp::of(&model);
    let files = write_tasks(
        &summary.picked,
        &stamp,
        params.strategy,
        args.format,
        &args.output,
    )
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    if summary.picked.len() < params.n {
        eprintln!(
            "warning: picked {} of the {} paragraphs asked for: the archive has only {} distinct paragraphs of at least {} characters{}",
            summary.picked.len(),
            params.n,
            summary.picked.len() + summary.too_similar,
            params.min_chars,
            if summary.too_similar > 0 {
                format!(", and {} were too similar to one picked (--diversity {})", summary.too_similar, params.diversity)
            } else {
                String::new()
            }
        );
    }
    if summary.bad_records > 0 {
        eprintln!(
            "warning: {} record(s) could not be read or had no text; `stance score` on the same input lists them",
            summary.bad_records
        );
    }
    for f in &files {
        eprintln!("wrote {}", f.display());
    }
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

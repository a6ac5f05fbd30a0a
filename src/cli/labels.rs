//! `stance labels import`: turns Label Studio or Doccano exports into
//! labeled JSONL for `stance train --data` (see [`crate::adapt::import`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::adapt::import::{default_disagreements_path, Agreement};
use crate::adapt::{import_labels, LabelTool};

/// Arguments of `stance labels`.
#[derive(Debug, Args)]
pub struct LabelsArgs {
    /// What to do with labels.
    #[command(subcommand)]
    pub command: LabelsCommand,
}

/// Subcommands of `stance labels`.
#[derive(Debug, Subcommand)]
pub enum LabelsCommand {
    /// Read a labeling tool's export(s) into labeled JSONL.
    Import(ImportArgs),
}

/// Arguments of `stance labels import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool that wrote the export: labelstudio (JSON or JSON-MIN export) or doccano (JSONL export; one file per annotator).
    #[arg(long = "from")]
    pub from: LabelTool,
    /// Export file(s); annotations of one task across files are combined.
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Labeled JSONL to write.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Where tasks without an agreed label go (default: OUTPUT with .disagreements.jsonl).
    #[arg(long)]
    pub disagreements: Option<PathBuf>,
    /// Label rule for tasks with several annotations: majority (strict) or unanimous.
    #[arg(long, default_value = "majority")]
    pub agreement: Agreement,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(args: LabelsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LabelsCommand::Import(a) => import(a),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let disagreements = args
        .disagreements
        .clone()
        .unwrap_or_else(|| default_disagreements_path(&args.output));
    if !args.force {
        for p in [&args.output, &disagreements] {
            if p.exists() {
                bail!(
                    "{} already exists; pass --force to overwrite it",
                    p.display()
                );
            }
        }
    }
    if args
        .files
        .iter()
        .any(|f| *f == args.output || *f == disagreements)
    {
        bail!("an export file is also an output file; choose another --output");
    }
    let summary = import_labels(
        args.from,
        &args.files,
        args.agreement,
        &args.output,
        &disagreements,
    )?;
    eprintln!("wrote {}", args.output.display());
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

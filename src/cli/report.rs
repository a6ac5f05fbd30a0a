//! `stance report`: aggregates `stance score` outputs per group (and
//! period) into `report.html`, `groups.csv` and `groups.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::report::{BootstrapParams, PeriodKind, ReportParams, Unit};

/// Arguments of `stance report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Outputs of `stance score` (JSONL or CSV, optionally .gz/.zst), read in order.
    #[arg(long, short = 'i', required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Fields to group by, comma separated (kept with `stance score --keep-fields`).
    #[arg(long, required = true, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Date field (ISO dates) for statistics per period.
    #[arg(long)]
    pub time_field: Option<String>,
    /// Period of the statistics over time: month, quarter or year.
    #[arg(long, default_value = "month", requires = "time_field")]
    pub period: PeriodKind,
    /// What is counted: document (one per record) or paragraph (needs
    /// `stance score --paragraphs` output).
    #[arg(long, default_value = "document")]
    pub unit: Unit,
    /// Bootstrap resamples for the 95% intervals.
    #[arg(long, default_value_t = crate::report::bootstrap::DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = crate::report::bootstrap::DEFAULT_SEED)]
    pub seed: u64,
    /// Directory for report.html, groups.csv and groups.json (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

pub(super) fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut params = ReportParams::new(
        args.input,
        args.by.iter().map(|s| s.trim().to_string()).collect(),
    );
    params.time_field = args.time_field;
    params.period = args.period;
    params.unit = args.unit;
    params.bootstrap = BootstrapParams::new(args.resamples, args.seed)?;
    let params = params.check()?;
    let agg = crate::report::write_archive_report(params, &args.out)
        .with_context(|| format!("no report written to {}", args.out.display()))?;
    for w in &agg.warnings {
        eprintln!("warning: {w}");
    }
    let groups = agg
        .rows
        .iter()
        .filter(|r| r.period == crate::report::aggregate::Period::All)
        .count();
    eprintln!(
        "summary: documents={} units={} error_records={} groups={} out={}",
        agg.documents,
        agg.units,
        agg.error_records,
        groups,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

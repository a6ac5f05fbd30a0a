//! `stance score`: batch re-scoring of archives (see `crate::batch`).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `stance score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {}

pub(super) fn run(_args: ScoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("stance score is not built yet (issue 5)")
}

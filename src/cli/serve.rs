//! `stance serve`: run the HTTP scoring service (see `crate::server`).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `stance serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {}

pub(super) fn run(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("stance serve is not built yet (issue 4)")
}

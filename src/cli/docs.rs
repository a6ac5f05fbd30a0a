//! `stance completions` and `stance man`: shell completions and the manual
//! page, generated from the same clap definitions as the parser, so they
//! never drift from the real flags.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

/// Arguments of `stance completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Arguments of `stance man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the page of this subcommand (e.g. `score`) instead of the top-level one.
    pub subcommand: Option<String>,
}

pub(super) fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "stance", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match &args.subcommand {
        None => cmd,
        Some(name) => {
            let names: Vec<String> = cmd
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            cmd.find_subcommand(name)
                .cloned()
                .map(|c| c.name(format!("stance-{name}")))
                .with_context(|| format!("no subcommand {name:?} (known: {})", names.join(", ")))?
        }
    };
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("cannot write the manual page")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_and_man_pages_name_every_subcommand() {
        let mut cmd = Cli::command();
        let mut bash = Vec::new();
        clap_complete::generate(Shell::Bash, &mut cmd, "stance", &mut bash);
        let bash = String::from_utf8(bash).expect("utf-8");
        let mut roff = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut roff)
            .expect("renders");
        let roff = String::from_utf8(roff).expect("utf-8");
        // Every subcommand `stance --help` lists, in its order.
        let help = Cli::command().render_help().to_string();
        let listed: Vec<&str> = help
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let all = [
            "train",
            "eval",
            "calibrate",
            "predict",
            "tokenize",
            "score",
            "report",
            "serve",
            "sample",
            "labels",
            "completions",
            "man",
            "help",
        ];
        assert_eq!(listed, all, "stance --help:\n{help}");
        for sub in all {
            assert!(
                bash.contains(&format!("stance,{sub})")),
                "bash completions lack {sub}"
            );
            assert!(
                roff.contains(&format!("stance\\-{sub}(1)")),
                "man page lacks {sub}"
            );
        }
        assert!(bash.contains("--negation-scope"), "flags are completed");
    }
}

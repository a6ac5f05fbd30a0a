//! The `stance` command line: argument definitions and dispatch. `main.rs`
//! only parses and calls [`run`].
//!
//! Exit codes: 0 success; 1 finished, but some records could not be scored
//! (`stance score`); 2 fatal error (bad arguments, unreadable input, bad model).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod archive;
mod calibrate;
mod docs;
mod eval;
mod labels;
mod predict;
mod report;
mod sample;
mod score;
mod serve;
mod tokenize;
mod train;

pub use calibrate::CalibrateArgs;
pub use docs::{CompletionsArgs, ManArgs};
pub use eval::EvalArgs;
pub use labels::LabelsArgs;
pub use predict::PredictArgs;
pub use report::ReportArgs;
pub use sample::SampleArgs;
pub use score::ScoreArgs;
pub use serve::ServeArgs;
pub use tokenize::TokenizeArgs;
pub use train::TrainArgs;

/// Stance of news text on US sanctuary-city policy: train, evaluate, score, serve.
#[derive(Debug, Parser)]
#[command(name = "stance", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model from labeled paragraphs (JSONL or CSV).
    Train(TrainArgs),
    /// Evaluate a model on a labeled file.
    Eval(EvalArgs),
    /// Refit a model's temperature on your own labeled text.
    Calibrate(CalibrateArgs),
    /// Score one text (argument or stdin) for a quick check.
    Predict(PredictArgs),
    /// Print the analyzer's tokens of a labeled file (for comparisons).
    Tokenize(TokenizeArgs),
    /// Re-score archives (JSONL, CSV, directories of .txt; .gz/.zst).
    Score(ScoreArgs),
    /// Aggregate scored records per group (and period) into an HTML report and tables.
    Report(ReportArgs),
    /// Run the HTTP scoring service.
    Serve(ServeArgs),
    /// Pick the paragraphs of an archive most worth labeling, as labeling tasks.
    Sample(SampleArgs),
    /// Labeling-tool round trip: `stance labels import --from labelstudio|doccano`.
    Labels(LabelsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `stance man > stance.1`.
    Man(ManArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Tokenize(a) => tokenize::run(a),
        Command::Score(a) => score::run(a),
        Command::Report(a) => report::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Labels(a) => labels::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
    }
}

/// The message of an error and its causes, joined by `: `, each cause printed
/// once: a cause whose text the message already ends with (a typed error
/// that shows its source, as `{path}: {source}` does) is skipped.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Loads the model at `path`, or the built-in shipped model when `path` is
/// `None`, naming the source on failure.
pub(crate) fn load_model(path: Option<&std::path::Path>) -> anyhow::Result<crate::StanceModel> {
    use anyhow::Context;
    crate::artifact::load_or_embedded(path).context("cannot load model")
}

/// Reads a labeled file, prints its warnings, and returns it with its true
/// labels and the model's logits (features computed once per example), as
/// `eval` and `calibrate` need them.
pub(crate) fn labeled_logits(
    model: &crate::StanceModel,
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<(crate::dataset::Dataset, Vec<crate::Label>, Vec<[f64; 3]>)> {
    use anyhow::Context;
    use rayon::prelude::*;
    let data = crate::dataset::read_labeled(path).with_context(|| format!("cannot read {what}"))?;
    for w in &data.warnings {
        eprintln!("warning: {w}");
    }
    let truth = data.examples.iter().map(|e| e.label).collect();
    let logits = data
        .examples
        .par_iter()
        .map(|e| model.logits(model.features(&e.text).view()))
        .collect();
    Ok((data, truth, logits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_prints_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let typed = crate::dataset::DatasetError::Io {
            path: "nope.jsonl".into(),
            source: io,
        };
        let err = anyhow::Error::new(typed).context("cannot read data");
        assert_eq!(
            error_message(&err),
            "cannot read data: nope.jsonl: No such file"
        );
        let plain = anyhow::anyhow!("root").context("middle").context("top");
        assert_eq!(error_message(&plain), "top: middle: root");
    }
}

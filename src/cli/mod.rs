//! The `stance` command line: argument definitions and dispatch. `main.rs`
//! only parses and calls [`run`].
//!
//! Exit codes: 0 success; 1 finished, but some records could not be scored
//! (`stance score`); 2 fatal error (bad arguments, unreadable input, bad model).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod eval;
mod predict;
mod score;
mod serve;
mod tokenize;
mod train;

pub use eval::EvalArgs;
pub use predict::PredictArgs;
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
    /// Score one text (argument or stdin) for a quick check.
    Predict(PredictArgs),
    /// Print the analyzer's tokens of a labeled file (for comparisons).
    Tokenize(TokenizeArgs),
    /// Re-score archives (JSONL, CSV, directories of .txt; .gz/.zst).
    Score(ScoreArgs),
    /// Run the HTTP scoring service.
    Serve(ServeArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Tokenize(a) => tokenize::run(a),
        Command::Score(a) => score::run(a),
        Command::Serve(a) => serve::run(a),
    }
}

/// Loads a model, naming the file on failure.
pub(crate) fn load_model(path: &std::path::Path) -> anyhow::Result<crate::StanceModel> {
    use anyhow::Context;
    crate::artifact::load(path).context("cannot load model")
}

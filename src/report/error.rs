//! [`ReportError`]: why a report could not be built or written. Every input
//! problem names the file and line it was found at.

use std::path::PathBuf;

/// Why `stance report` (or an HTML model report) stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The parameters break a rule (the message says which).
    #[error("invalid report parameters: {0}")]
    Params(String),
    /// An input could not be opened or read.
    #[error("cannot read {path}")]
    Input {
        /// The input.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input's format could not be told from its name.
    #[error("{path}: cannot tell the format from the name (expected .jsonl, .ndjson, .json or .csv, optionally .gz or .zst)")]
    UnknownFormat {
        /// The input.
        path: PathBuf,
    },
    /// A record is not a `stance score` output record.
    #[error("{at}: {problem}")]
    BadRecord {
        /// `file:line`.
        at: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A CSV input lacks a column the report needs.
    #[error("{path}: no column {column:?} in the CSV header (columns: {columns})")]
    MissingColumn {
        /// The input.
        path: PathBuf,
        /// The column wanted.
        column: String,
        /// The header's columns, comma separated.
        columns: String,
    },
    /// Records scored by two different models: their scores cannot be compared.
    #[error("{at}: scored by model {found}, but {first_at} was scored by model {first}; records of different models are never mixed in one report (report them separately)")]
    MixedModels {
        /// `file:line` of the first record of the second model.
        at: String,
        /// Its checksum.
        found: String,
        /// `file:line` of the first record read.
        first_at: String,
        /// The checksum of the first record read.
        first: String,
    },
    /// The inputs hold no records at all.
    #[error("the inputs hold no records")]
    Empty,
    /// A chart could not be drawn.
    #[error("cannot draw chart {chart:?}: {detail}")]
    Chart {
        /// The chart's title.
        chart: String,
        /// The drawing backend's message.
        detail: String,
    },
    /// An output file could not be written.
    #[error("cannot write {path}")]
    Output {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

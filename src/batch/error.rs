//! [`BatchError`]: the fatal errors of a batch run. A record that cannot be
//! scored is not an error here: it becomes an error record in the output.

use std::path::PathBuf;

/// Why a batch run stopped (exit code 2). Bad records never end up here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// An input could not be opened or read (the cause is the error's source).
    #[error("cannot read {path}")]
    Input {
        /// The input (`-` for standard input).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The output could not be opened, read (for `--resume`) or written
    /// (the cause is the error's source).
    #[error("cannot write {path}")]
    Output {
        /// The output (`-` for standard output).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing an opened output file failed (a full disk, a file size
    /// limit, an I/O error). The file was cut back to its last complete
    /// record, so `--resume` continues it once the cause is gone.
    #[error("cannot write {path} (its complete records are kept; free space or fix the cause, then rerun with --resume)")]
    OutputWrite {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input's format could not be told from its name.
    #[error("{path}: cannot tell the input format from the name (expected .jsonl, .ndjson, .json, .csv or .txt, optionally .gz or .zst, or a directory); pass --input-format")]
    UnknownFormat {
        /// The input.
        path: PathBuf,
    },
    /// A CSV input has no column holding the text, or no column of a kept field.
    #[error("{path}: no column {column:?} in the CSV header (columns: {found})")]
    MissingColumn {
        /// The input.
        path: PathBuf,
        /// The column asked for (`--text-field` or `--keep-fields`).
        column: String,
        /// The header's columns, comma separated.
        found: String,
    },
    /// A `--keep-fields` name is empty.
    #[error(
        "--keep-fields: empty field name (expected names separated by commas, e.g. outlet,date)"
    )]
    KeepFieldEmpty,
    /// A `--keep-fields` name is one the output records already use.
    #[error("--keep-fields: {field:?} cannot be kept: every output record already has a field of that name ({reserved})")]
    KeepFieldClash {
        /// The name.
        field: String,
        /// The output's own names, comma separated.
        reserved: String,
    },
    /// A `--keep-fields` name is the text field.
    #[error("--keep-fields: {field:?} is the text field (--text-field): the text is not copied into the output; the id links each score to its text")]
    KeepTextField {
        /// The name.
        field: String,
    },
    /// A `--keep-fields` name is given twice.
    #[error("--keep-fields: {field:?} is given twice")]
    KeepFieldTwice {
        /// The name.
        field: String,
    },
    /// `--keep-fields` with a `.txt` document input, which has no fields.
    #[error("{path}: --keep-fields {fields} needs JSONL or CSV inputs: a .txt document has no fields to keep")]
    KeepFieldsWithDocuments {
        /// The input (a `.txt` file, a directory, or `-`).
        path: PathBuf,
        /// The kept fields, comma separated.
        fields: String,
    },
    /// A `--shard` value is not `K/N` with `1 <= K <= N`.
    #[error("invalid shard {0:?}: expected K/N with 1 <= K <= N, e.g. 3/8")]
    BadShard(String),
    /// `--resume` needs an output file.
    #[error("--resume needs --output FILE (standard output cannot be resumed)")]
    ResumeNeedsFile,
    /// The existing output was written by another model.
    #[error("{path}: refusing to resume: the output was scored by model {found}, but the current model is {expected}; write to a new output file")]
    ModelMismatch {
        /// The output file.
        path: PathBuf,
        /// Checksum found in the output.
        found: String,
        /// Checksum of the current model.
        expected: String,
    },
    /// The existing output was written with other `--keep-fields`.
    #[error("{path}: refusing to resume: the output keeps the fields [{found}], but this run keeps [{expected}]; pass the first run's --keep-fields or write to a new output file")]
    KeepFieldsMismatch {
        /// The output file.
        path: PathBuf,
        /// The kept fields found in the output, comma separated.
        found: String,
        /// The kept fields of this run, comma separated.
        expected: String,
    },
    /// The existing output is not what this run would write.
    #[error("{path}: refusing to resume: {detail}")]
    NotResumable {
        /// The output file.
        path: PathBuf,
        /// What does not match.
        detail: String,
    },
    /// The input does not line up with the records already in the output.
    #[error("refusing to resume: {detail}")]
    InputMismatch {
        /// What does not match.
        detail: String,
    },
    /// A worker thread panicked (a bug).
    #[error("a scoring thread stopped unexpectedly")]
    WorkerPanicked,
}

//! The archive arguments `stance score` and `stance sample` share: which
//! inputs to read, in which format, and which fields hold the text and id.

use std::path::PathBuf;

use clap::Args;

use crate::batch::{FieldNames, InputFormat};

/// Inputs of a command that reads archives.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Inputs, read in order: .jsonl/.ndjson/.json, .csv (with a header), .txt,
    /// each optionally .gz or .zst; a directory of .txt files; `-` for standard input.
    #[arg(long, short, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Input format of standard input (default jsonl) and, when given, of every file input (overriding its name): jsonl, csv or txt.
    #[arg(long)]
    pub input_format: Option<InputFormat>,
    /// JSON field or CSV column holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// JSON field or CSV column holding the id (records without one get `file:line`).
    #[arg(long, default_value = "id")]
    pub id_field: String,
}

impl ArchiveArgs {
    /// The text and id field names.
    pub fn fields(&self) -> FieldNames {
        FieldNames {
            text: self.text_field.clone(),
            id: self.id_field.clone(),
        }
    }
}

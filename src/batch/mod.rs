//! Batch re-scoring of archives (`stance score`).
//!
//! A reader thread cuts records out of the inputs (JSONL, CSV, directories of
//! `.txt` files; gzip and zstd read transparently), a pool of workers scores
//! them through [`StanceModel::score_document`](crate::StanceModel::score_document),
//! the same path as the service, and a writer puts them back in input order.
//! Every input record gets exactly one output record; a record that cannot be
//! scored gets an error record and the run goes on. Queues are bounded, so
//! memory stays flat whatever the archive size. The output can be resumed
//! after a crash ([`checkpoint`]) and the input split into shards ([`shard`]).
//! Named input fields can be copied into every output record ([`keep`]).
//! See `docs/BATCH.md` for formats and semantics.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod checkpoint;
pub mod error;
pub mod formats;
pub mod keep;
pub mod reader;
pub mod record;
pub mod reorder;
mod run;
pub mod shard;

pub use error::BatchError;
pub use formats::{InputFormat, OutputFormat};
pub use keep::KeepFields;
pub use record::FieldNames;
pub use run::{run, BatchParams, Summary, BATCH_BYTES, BATCH_RECORDS};
pub use shard::Shard;

//! Adapting a model to a user's own archive: picking the paragraphs most
//! worth labeling ([`sample`]), writing them as labeling tasks for Label
//! Studio, Doccano or plain JSONL ([`tasks`]), and reading the labeled
//! exports back into training data ([`import`]). `docs/ADAPT.md` walks the
//! loop end to end.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod import;
pub mod pool;
pub mod sample;
pub mod tasks;

pub use import::{import_labels, ImportError, ImportSummary, LabelTool};
pub use sample::{sample, SampleError, SampleParams, SampleSummary, Strategy};
pub use tasks::{write_tasks, TaskFormat};

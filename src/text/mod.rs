//! Text analysis: turns raw text into the terms the model counts.
//!
//! The pipeline is segmentation -> lowercase -> apostrophe and number
//! handling -> stop words -> stemming -> negation scopes (optional) -> word
//! n-grams. It is described by a
//! plain, serializable [`AnalyzerConfig`] stored inside every model file, so a
//! loaded model rebuilds exactly the analyzer it was trained with.

mod analyzer;
mod config;
mod negation;
mod normalize;
mod segment;
mod stopwords;

pub use analyzer::{Analyzer, AnalyzerError, Token};
pub use config::{AnalyzerConfig, NumberMode, StopWordsConfig};
pub use negation::NEGATED_PREFIX;
pub use stopwords::STANCE_EN;

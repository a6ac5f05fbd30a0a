//! The analyzer's configuration: plain data, stored in every model file.

use serde::{Deserialize, Serialize};

/// What to do with tokens made only of digits (and `.`/`,`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NumberMode {
    /// Keep numbers as they are ("1996", "287"). Default: programme numbers
    /// such as 287(g) and years carry meaning here.
    #[default]
    Keep,
    /// Replace every number with the single term `<num>`.
    Collapse,
    /// Drop numbers.
    Drop,
}

/// Which stop words to remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StopWordsConfig {
    /// Remove none.
    None,
    /// The built-in stance-aware English list ([`super::STANCE_EN`]). Default.
    #[default]
    StanceEn,
    /// A custom list (compared after lowercasing and apostrophe folding).
    Custom {
        /// The words to remove.
        words: Vec<String>,
    },
}

/// The full analyzer description. Defaults: lowercase, keep numbers,
/// stance-aware stop words, Snowball English stemming, word 1- and 2-grams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerConfig {
    /// Lowercase tokens (default true).
    pub lowercase: bool,
    /// Number handling (default keep).
    pub numbers: NumberMode,
    /// Stop-word removal (default the stance-aware English list).
    pub stop_words: StopWordsConfig,
    /// Snowball stemming language, or `None` for no stemming (default "english").
    pub stemmer: Option<String>,
    /// Smallest word n-gram (default 1).
    pub ngram_min: usize,
    /// Largest word n-gram (default 2).
    pub ngram_max: usize,
    /// Tokens after a negation cue (not, no, never, without, n't...) marked
    /// `neg_` up to the end of the clause; 0 marks none. Model files written
    /// before this setting existed read as 0.
    #[serde(default)]
    pub negation_scope: usize,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            lowercase: true,
            numbers: NumberMode::Keep,
            stop_words: StopWordsConfig::StanceEn,
            stemmer: Some("english".to_string()),
            ngram_min: 1,
            ngram_max: 2,
            negation_scope: 0,
        }
    }
}

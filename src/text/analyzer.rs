//! [`Analyzer`]: the configured pipeline, built from an [`AnalyzerConfig`].

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rust_stemmers::{Algorithm, Stemmer};
/// Hash map with a fast, fixed-seed hasher: lookups are on the scoring hot path.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// Hash set with the same hasher.
type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

use super::config::{AnalyzerConfig, StopWordsConfig};
use super::normalize::{apply_number_mode, fold_apostrophes, lowercase_into};
use super::segment::for_each_word;
use super::stopwords::STANCE_EN;

/// A token after analysis, with the byte span of the word it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The normalised (lowercased, stemmed) text. Shared with the analyzer's
    /// per-thread word cache, so a repeated word costs no allocation.
    pub text: Arc<str>,
    /// Byte offset of the source word's start.
    pub start: usize,
    /// Byte offset just past the source word's end.
    pub end: usize,
}

/// Why an analyzer configuration is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnalyzerError {
    /// The stemmer language is not one rust-stemmers provides.
    #[error("unknown stemmer language {0:?} (known: english, french, german, spanish, ...)")]
    UnknownStemmer(String),
    /// The n-gram range is empty or starts at zero.
    #[error("invalid n-gram range {min}..={max}: need 1 <= min <= max")]
    NgramRange {
        /// Smallest n.
        min: usize,
        /// Largest n.
        max: usize,
    },
    /// N-grams above this size are refused: they only add unseen features.
    #[error("n-gram size {0} is above the maximum of 5")]
    NgramTooLarge(usize),
}

/// The analysis pipeline. Cheap to share between threads (`Send + Sync`).
pub struct Analyzer {
    id: u64,
    config: AnalyzerConfig,
    stop_words: FastSet<String>,
    stemmer: Option<Stemmer>,
}

/// Most words a thread caches before starting over.
const WORD_CACHE_MAX: usize = 200_000;

/// Source of [`Analyzer::id`]: every analyzer built gets a new one.
static NEXT_ANALYZER_ID: AtomicU64 = AtomicU64::new(1);

/// One thread's memo of what an analyzer makes of a word: the id of the
/// analyzer it belongs to, and raw word -> token text (`None`: dropped as a
/// stop word or number).
type WordCache = (u64, FastMap<Box<str>, Option<Arc<str>>>);

thread_local! {
    /// Words in news text repeat (Zipf), and normalising, stop-word lookup and
    /// Snowball stemming were 40% of scoring time before this cache (perf,
    /// `stance score`, 2026-11-24). Keyed by analyzer id, so analyzers with
    /// different configurations never share entries.
    static WORD_CACHE: RefCell<WordCache> = RefCell::new((0, FastMap::default()));
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("id", &self.id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn stemmer_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "arabic" => Algorithm::Arabic,
        "danish" => Algorithm::Danish,
        "dutch" => Algorithm::Dutch,
        "english" => Algorithm::English,
        "french" => Algorithm::French,
        "german" => Algorithm::German,
        "greek" => Algorithm::Greek,
        "hungarian" => Algorithm::Hungarian,
        "italian" => Algorithm::Italian,
        "norwegian" => Algorithm::Norwegian,
        "portuguese" => Algorithm::Portuguese,
        "romanian" => Algorithm::Romanian,
        "russian" => Algorithm::Russian,
        "spanish" => Algorithm::Spanish,
        "swedish" => Algorithm::Swedish,
        "tamil" => Algorithm::Tamil,
        "turkish" => Algorithm::Turkish,
        _ => return None,
    })
}

impl Analyzer {
    /// Builds the pipeline a configuration describes, checking it first.
    pub fn new(config: AnalyzerConfig) -> Result<Self, AnalyzerError> {
        let (min, max) = (config.ngram_min, config.ngram_max);
        if min == 0 || min > max {
            return Err(AnalyzerError::NgramRange { min, max });
        }
        if max > 5 {
            return Err(AnalyzerError::NgramTooLarge(max));
        }
        let stemmer = match &config.stemmer {
            None => None,
            Some(name) => {
                let algorithm = stemmer_algorithm(name)
                    .ok_or_else(|| AnalyzerError::UnknownStemmer(name.clone()))?;
                Some(Stemmer::create(algorithm))
            }
        };
        let stop_words = match &config.stop_words {
            StopWordsConfig::None => FastSet::default(),
            StopWordsConfig::StanceEn => STANCE_EN.iter().map(|w| w.to_string()).collect(),
            StopWordsConfig::Custom { words } => words
                .iter()
                .map(|w| {
                    let mut t = String::new();
                    lowercase_into(w, &mut t);
                    fold_apostrophes(&mut t);
                    t
                })
                .collect(),
        };
        Ok(Self {
            id: NEXT_ANALYZER_ID.fetch_add(1, Ordering::Relaxed),
            config,
            stop_words,
            stemmer,
        })
    }

    /// Identity of this analyzer within the process (each one built gets a new id).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The configuration this analyzer was built from.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// Appends the tokens of `text` to `out` (cleared first): words that
    /// survive lowercasing, apostrophe and number handling, stop words and
    /// stemming, in text order.
    pub fn tokens_into(&self, text: &str, out: &mut Vec<Token>) {
        out.clear();
        WORD_CACHE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut cache) => {
                let (owner, map) = &mut *cache;
                if *owner != self.id || map.len() >= WORD_CACHE_MAX {
                    *owner = self.id;
                    map.clear();
                }
                let mut buf = String::new();
                for_each_word(text, |word, start, end| {
                    let text = match map.get(word) {
                        Some(t) => t.clone(),
                        None => {
                            let t: Option<Arc<str>> = self.normalize(word, &mut buf).map(Arc::from);
                            map.insert(word.into(), t.clone());
                            t
                        }
                    };
                    if let Some(text) = text {
                        out.push(Token { text, start, end });
                    }
                });
            }
            // Only reachable if analysis re-entered itself on this thread.
            Err(_) => {
                let mut buf = String::new();
                for_each_word(text, |word, start, end| {
                    if let Some(text) = self.normalize(word, &mut buf) {
                        out.push(Token {
                            text: Arc::from(text),
                            start,
                            end,
                        });
                    }
                });
            }
        });
        super::negation::mark_scopes(text, out, self.config.negation_scope);
    }

    /// What one word becomes: lowercased, apostrophes folded, numbers
    /// handled, stemmed; `None` when it is dropped. `buf` is scratch space.
    fn normalize(&self, word: &str, buf: &mut String) -> Option<String> {
        if self.config.lowercase {
            lowercase_into(word, buf);
        } else {
            buf.clear();
            buf.push_str(word);
        }
        fold_apostrophes(buf);
        if buf.is_empty() || !apply_number_mode(buf, self.config.numbers) {
            return None;
        }
        if self.stop_words.contains(buf.as_str()) {
            return None;
        }
        Some(match &self.stemmer {
            Some(s) => s.stem(buf).into_owned(),
            None => buf.clone(),
        })
    }

    /// The tokens of `text`.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.tokens_into(text, &mut out);
        out
    }

    /// Calls `f(first, last)` for every word n-gram of a text of `n_tokens`
    /// tokens, in the configured range and in generation order (all
    /// n-grams of the shortest length first): `first..=last` are the token
    /// indices it spans. The one place that says which n-grams a text has.
    pub fn for_each_ngram(&self, n_tokens: usize, mut f: impl FnMut(usize, usize)) {
        for n in self.config.ngram_min..=self.config.ngram_max {
            for first in 0..(n_tokens + 1).saturating_sub(n) {
                f(first, first + n - 1);
            }
        }
    }

    /// Calls `f(term, first, last)` for every word n-gram of `tokens` (see
    /// [`for_each_ngram`](Self::for_each_ngram)). N-grams join tokens with
    /// one space; `buf` is reused scratch space.
    pub fn for_each_term(
        &self,
        tokens: &[Token],
        buf: &mut String,
        mut f: impl FnMut(&str, usize, usize),
    ) {
        self.for_each_ngram(tokens.len(), |first, last| {
            if first == last {
                f(&tokens[first].text, first, last);
                return;
            }
            buf.clear();
            for (k, t) in tokens[first..=last].iter().enumerate() {
                if k > 0 {
                    buf.push(' ');
                }
                buf.push_str(&t.text);
            }
            f(buf, first, last);
        });
    }

    /// All terms (n-grams) of `text`, in generation order.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let tokens = self.tokens(text);
        let mut buf = String::new();
        let mut out = Vec::new();
        self.for_each_term(&tokens, &mut buf, |t, _, _| out.push(t.to_string()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::NumberMode;
    use super::*;

    fn default() -> Analyzer {
        Analyzer::new(AnalyzerConfig::default()).expect("default config is valid")
    }

    fn texts(a: &Analyzer, s: &str) -> Vec<String> {
        a.tokens(s)
            .into_iter()
            .map(|t| t.text.to_string())
            .collect()
    }

    #[test]
    fn lowercases_stems_and_drops_stop_words() {
        let a = default();
        assert_eq!(
            texts(&a, "The Sheriffs are Refusing ICE detainers"),
            ["sheriff", "refus", "ice", "detain"]
        );
    }

    #[test]
    fn stance_words_survive_the_default_pipeline() {
        let a = default();
        for w in super::super::stopwords::STANCE_WORDS {
            assert!(!a.tokens(w).is_empty(), "{w} was removed");
        }
        assert_eq!(
            texts(&a, "We should not comply, never, against it"),
            ["should", "not", "compli", "never", "against"]
        );
    }

    #[test]
    fn keeps_unicode_offsets_of_source_words() {
        let a = default();
        let text = "Ciudad «santuario»: l’alcaldesa dijo 🙂 NO";
        for t in a.tokens(text) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(!text[t.start..t.end].is_empty());
        }
        assert_eq!(
            a.tokens(text).last().map(|t| t.text.to_string()),
            Some("no".to_string())
        );
    }

    #[test]
    fn handles_possessives_and_contractions() {
        let a = default();
        assert_eq!(
            texts(&a, "The county’s jail won’t hold them"),
            ["counti", "jail", "won't", "hold"]
        );
    }

    #[test]
    fn empty_input_gives_no_tokens_or_terms() {
        let a = default();
        assert!(a.tokens("").is_empty());
        assert!(a.terms(" ,.; ").is_empty());
    }

    #[test]
    fn builds_unigrams_and_bigrams_with_spans() {
        let a = default();
        let tokens = a.tokens("sanctuary cities protect");
        let mut got = Vec::new();
        a.for_each_term(&tokens, &mut String::new(), |t, i, j| {
            got.push((t.to_string(), i, j))
        });
        let want = [
            ("sanctuari", 0, 0),
            ("citi", 1, 1),
            ("protect", 2, 2),
            ("sanctuari citi", 0, 1),
            ("citi protect", 1, 2),
        ];
        let want: Vec<(String, usize, usize)> = want
            .iter()
            .map(|(t, i, j)| (t.to_string(), *i, *j))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn configuration_switches_work() {
        let cfg = AnalyzerConfig {
            stop_words: StopWordsConfig::None,
            stemmer: None,
            numbers: NumberMode::Collapse,
            ngram_max: 1,
            ..AnalyzerConfig::default()
        };
        let a = Analyzer::new(cfg).expect("valid");
        assert_eq!(
            texts(&a, "The 287 Detainers"),
            ["the", "<num>", "detainers"]
        );
        let custom = AnalyzerConfig {
            stop_words: StopWordsConfig::Custom {
                words: vec!["ICE".into()],
            },
            ..AnalyzerConfig::default()
        };
        let a = Analyzer::new(custom).expect("valid");
        assert_eq!(texts(&a, "ICE the"), ["the"]);
    }

    #[test]
    fn rejects_bad_configurations() {
        for (cfg, want) in [
            (
                AnalyzerConfig {
                    ngram_min: 0,
                    ..AnalyzerConfig::default()
                },
                AnalyzerError::NgramRange { min: 0, max: 2 },
            ),
            (
                AnalyzerConfig {
                    ngram_min: 3,
                    ngram_max: 2,
                    ..AnalyzerConfig::default()
                },
                AnalyzerError::NgramRange { min: 3, max: 2 },
            ),
            (
                AnalyzerConfig {
                    ngram_max: 9,
                    ..AnalyzerConfig::default()
                },
                AnalyzerError::NgramTooLarge(9),
            ),
            (
                AnalyzerConfig {
                    stemmer: Some("klingon".into()),
                    ..AnalyzerConfig::default()
                },
                AnalyzerError::UnknownStemmer("klingon".into()),
            ),
        ] {
            assert_eq!(Analyzer::new(cfg).err(), Some(want));
        }
    }

    #[test]
    fn analyzer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Analyzer>();
    }
}

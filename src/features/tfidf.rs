//! TF-IDF: a vocabulary and idf fitted once on the training set, then stored.
//!
//! [`TfidfParams`] -> [`TfidfParams::check`] -> [`ValidTfidfParams::fit_transform`]
//! -> [`Tfidf`]. A fitted [`Tfidf`] never refits: a document gets the same
//! features whether it is transformed alone or inside a batch (unlike
//! linfa-preprocessing's vectorizer, which recomputes idf per batch).
//! Formulas follow scikit-learn's `TfidfVectorizer` so results compare:
//! smoothed idf `ln((1 + n) / (1 + df)) + 1`, sublinear tf `1 + ln(tf)`, L2 rows.

/// Hash map with a fast, fixed-seed hasher: term lookups are on the scoring hot path.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::sparse::{CsrMatrix, SparseVec};
use crate::text::{Analyzer, Token};

/// Fewest documents per parallel chunk while fitting.
const MIN_FIT_CHUNK: usize = 1024;

/// Parallel chunks per thread while fitting. Each chunk counts its own
/// terms and every chunk's distinct terms are merged on one thread, so few
/// large chunks are cheaper than many small ones (100,000 bench paragraphs
/// on 2 threads: 2.76 s with chunks of 2,048 documents, 1.69 s with 4
/// chunks). The fitted vocabulary, idf and rows do not depend on the
/// chunking: terms are sorted before ids are given.
const FIT_CHUNKS_PER_THREAD: usize = 2;

/// TF-IDF hyper-parameters (unchecked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TfidfParams {
    /// Drop terms found in fewer documents than this (default 1: keep all).
    pub min_df: usize,
    /// Drop terms found in more than this fraction of documents (default 1.0).
    pub max_df: f64,
    /// Keep only the most frequent terms, by total count (default: no limit).
    pub max_features: Option<usize>,
    /// Use `1 + ln(tf)` instead of raw counts (default true).
    pub sublinear_tf: bool,
    /// Smooth idf as if one extra document held every term (default true).
    pub smooth_idf: bool,
}

impl Default for TfidfParams {
    fn default() -> Self {
        Self {
            min_df: 1,
            max_df: 1.0,
            max_features: None,
            sublinear_tf: true,
            smooth_idf: true,
        }
    }
}

/// Why TF-IDF parameters or fitting failed.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum TfidfError {
    /// `min_df` must be at least 1.
    #[error("min_df must be at least 1, got {0}")]
    MinDf(usize),
    /// `max_df` must be a fraction in (0, 1].
    #[error("max_df must be in (0, 1], got {0}")]
    MaxDf(f64),
    /// `max_features` must be at least 1 when set.
    #[error("max_features must be at least 1")]
    MaxFeatures,
    /// No documents to fit on.
    #[error("no documents to fit on")]
    NoDocuments,
    /// Every term was pruned (or the documents hold no words).
    #[error("empty vocabulary after pruning: lower min_df or raise max_df")]
    EmptyVocabulary,
    /// A stored vocabulary and idf disagree in length.
    #[error("vocabulary has {vocabulary} terms but idf has {idf} values")]
    LengthMismatch {
        /// Terms.
        vocabulary: usize,
        /// Idf values.
        idf: usize,
    },
    /// A stored idf value is not positive or above [`MAX_IDF`].
    #[error(
        "idf value for term {term:?} is {value:e}, expected a positive number at most {MAX_IDF:e}"
    )]
    BadIdf {
        /// The term.
        term: String,
        /// Its idf.
        value: f64,
    },
    /// A stored vocabulary lists a term twice.
    #[error("term {0:?} appears twice in the vocabulary")]
    DuplicateTerm(String),
}

/// Checked TF-IDF parameters; only these can fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTfidfParams(TfidfParams);

impl TfidfParams {
    /// Checks every rule; never mutates.
    pub fn check(&self) -> Result<ValidTfidfParams, TfidfError> {
        if self.min_df < 1 {
            return Err(TfidfError::MinDf(self.min_df));
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return Err(TfidfError::MaxDf(self.max_df));
        }
        if self.max_features == Some(0) {
            return Err(TfidfError::MaxFeatures);
        }
        Ok(ValidTfidfParams(self.clone()))
    }
}

/// Per-chunk result of the counting pass. A term is counted as the
/// sequence of its words' ids (one id for a unigram, two for a bigram), so
/// n-grams are counted without building their strings.
struct ChunkCounts {
    /// Local word id -> word.
    words: Vec<Arc<str>>,
    /// Local term id -> its words, as local word ids.
    terms: Vec<Box<[u32]>>,
    /// Per document, sorted `(local term id, count)`.
    rows: Vec<Vec<(u32, u32)>>,
    /// Local term id -> documents of this chunk holding it.
    df: Vec<u32>,
    /// Local term id -> occurrences in this chunk.
    total: Vec<u64>,
}

/// Id of `key` in `ids`; if new, `owned()` is added to `ids` and `list`.
fn intern<K, Q>(
    ids: &mut FastMap<K, u32>,
    list: &mut Vec<K>,
    key: &Q,
    owned: impl FnOnce() -> K,
) -> u32
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq + Clone,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(&id) = ids.get(key) {
        return id;
    }
    let id = list.len() as u32;
    let owned = owned();
    ids.insert(owned.clone(), id);
    list.push(owned);
    id
}

fn count_chunk(analyzer: &Analyzer, docs: &[&str]) -> ChunkCounts {
    let mut word_ids: FastMap<Arc<str>, u32> = FastMap::default();
    let mut words: Vec<Arc<str>> = Vec::new();
    let mut term_ids: FastMap<Box<[u32]>, u32> = FastMap::default();
    let mut terms: Vec<Box<[u32]>> = Vec::new();
    let mut rows = Vec::with_capacity(docs.len());
    let (mut tokens, mut sequence) = (Vec::new(), Vec::new());
    for doc in docs {
        analyzer.tokens_into(doc, &mut tokens);
        sequence.clear();
        sequence.extend(
            tokens
                .iter()
                .map(|t| intern(&mut word_ids, &mut words, &*t.text, || t.text.clone())),
        );
        let mut row: Vec<u32> = Vec::new();
        analyzer.for_each_ngram(sequence.len(), |first, last| {
            let window = &sequence[first..=last];
            row.push(intern(&mut term_ids, &mut terms, window, || window.into()));
        });
        rows.push(run_length(row));
    }
    let mut df = vec![0u32; terms.len()];
    let mut total = vec![0u64; terms.len()];
    for row in &rows {
        for &(id, n) in row {
            df[id as usize] += 1;
            total[id as usize] += u64::from(n);
        }
    }
    ChunkCounts {
        words,
        terms,
        rows,
        df,
        total,
    }
}

/// Sorts ids and counts repeats: `[3, 1, 3] -> [(1, 1), (3, 2)]`.
fn run_length(mut ids: Vec<u32>) -> Vec<(u32, u32)> {
    ids.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(ids.len());
    for id in ids {
        match out.last_mut() {
            Some((last, n)) if *last == id => *n += 1,
            _ => out.push((id, 1)),
        }
    }
    out
}

impl ValidTfidfParams {
    /// The checked parameters.
    pub fn params(&self) -> &TfidfParams {
        &self.0
    }

    /// Fits vocabulary and idf on `docs` and returns them with the documents'
    /// feature rows (one pass of analysis).
    pub fn fit_transform(
        &self,
        analyzer: &Analyzer,
        docs: &[&str],
    ) -> Result<(Tfidf, CsrMatrix), TfidfError> {
        let p = &self.0;
        if docs.is_empty() {
            return Err(TfidfError::NoDocuments);
        }
        let chunk_len = docs
            .len()
            .div_ceil(FIT_CHUNKS_PER_THREAD * rayon::current_num_threads())
            .max(MIN_FIT_CHUNK);
        let chunks: Vec<ChunkCounts> = docs
            .par_chunks(chunk_len)
            .map(|c| count_chunk(analyzer, c))
            .collect();

        // Merge chunk vocabularies in chunk order: words first, then terms
        // as sequences of global word ids. Only each chunk's distinct words
        // and terms are touched here; rows are remapped later, in parallel.
        let mut word_ids: FastMap<Arc<str>, u32> = FastMap::default();
        let mut words: Vec<Arc<str>> = Vec::new();
        let mut term_ids: FastMap<Box<[u32]>, u32> = FastMap::default();
        let mut terms: Vec<Box<[u32]>> = Vec::new();
        let mut df: Vec<u32> = Vec::new();
        let mut total: Vec<u64> = Vec::new();
        let mut maps: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
        let mut chunk_rows: Vec<Vec<Vec<(u32, u32)>>> = Vec::with_capacity(chunks.len());
        let mut sequence: Vec<u32> = Vec::new();
        for chunk in chunks {
            let word_map: Vec<u32> = chunk
                .words
                .iter()
                .map(|w| intern(&mut word_ids, &mut words, &**w, || w.clone()))
                .collect();
            let map: Vec<u32> = chunk
                .terms
                .iter()
                .zip(chunk.df.iter().zip(&chunk.total))
                .map(|(t, (&d, &n))| {
                    sequence.clear();
                    sequence.extend(t.iter().map(|&w| word_map[w as usize]));
                    let g = intern(&mut term_ids, &mut terms, sequence.as_slice(), || {
                        sequence.as_slice().into()
                    }) as usize;
                    if g == df.len() {
                        df.push(0);
                        total.push(0);
                    }
                    df[g] += d;
                    total[g] += n;
                    g as u32
                })
                .collect();
            maps.push(map);
            chunk_rows.push(chunk.rows);
        }
        drop(term_ids);

        // Prune by document frequency, then keep the most frequent terms
        // (ties by term). Words hold no spaces, so distinct sequences have
        // distinct strings.
        let n_docs = docs.len();
        let max_count = p.max_df * n_docs as f64;
        let term_string = |g: u32| -> String {
            let mut out = String::new();
            for (k, &w) in terms[g as usize].iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                out.push_str(&words[w as usize]);
            }
            out
        };
        let mut kept: Vec<(String, u32)> = (0..terms.len() as u32)
            .filter(|&g| {
                let d = df[g as usize] as usize;
                d >= p.min_df && d as f64 <= max_count
            })
            .map(|g| (term_string(g), g))
            .collect();
        if let Some(limit) = p.max_features {
            if kept.len() > limit {
                kept.sort_by(|(ta, a), (tb, b)| {
                    total[*b as usize]
                        .cmp(&total[*a as usize])
                        .then_with(|| ta.cmp(tb))
                });
                kept.truncate(limit);
            }
        }
        if kept.is_empty() {
            return Err(TfidfError::EmptyVocabulary);
        }
        kept.sort_by(|(a, _), (b, _)| a.cmp(b));

        let mut final_id: Vec<Option<u32>> = vec![None; terms.len()];
        for (f, &(_, g)) in kept.iter().enumerate() {
            final_id[g as usize] = Some(f as u32);
        }
        let idf: Vec<f64> = kept
            .iter()
            .map(|&(_, g)| idf_value(n_docs, df[g as usize] as usize, p.smooth_idf))
            .collect();
        let vocabulary: Vec<String> = kept.into_iter().map(|(t, _)| t).collect();
        let tfidf = Tfidf::from_parts(p.clone(), vocabulary, idf)?;

        let weighed: Vec<Vec<SparseVec>> = chunk_rows
            .into_par_iter()
            .zip(maps.par_iter())
            .map(|(rows, map)| {
                let mut counts: Vec<(u32, u32)> = Vec::new();
                rows.into_iter()
                    .map(|row| {
                        counts.clear();
                        counts.extend(row.into_iter().filter_map(|(l, n)| {
                            final_id[map[l as usize] as usize].map(|f| (f, n))
                        }));
                        counts.sort_unstable();
                        tfidf.weigh(&counts)
                    })
                    .collect()
            })
            .collect();
        let mut matrix = CsrMatrix::new(tfidf.n_features());
        for v in weighed.iter().flatten() {
            matrix.push_row(v.view());
        }
        Ok((tfidf, matrix))
    }
}

fn idf_value(n_docs: usize, df: usize, smooth: bool) -> f64 {
    let (n, d) = if smooth {
        (n_docs as f64 + 1.0, df as f64 + 1.0)
    } else {
        (n_docs as f64, df as f64)
    };
    (n / d).ln() + 1.0
}

/// A fitted TF-IDF vectorizer: vocabulary (sorted) and idf, plus the
/// parameters it was fitted with.
#[derive(Debug, Clone, PartialEq)]
pub struct Tfidf {
    params: TfidfParams,
    vocabulary: Vec<String>,
    idf: Vec<f64>,
    index: FastMap<String, u32>,
    tokens: TokenIndex,
}

/// Marks "no such token or feature" in [`TokenIndex`].
const NONE: u32 = u32::MAX;

/// Fast path for unigram and bigram features: one string lookup per token
/// (token -> token id), then array and integer-pair lookups, instead of
/// building and hashing every word-pair string. Vocabulary terms of three or
/// more words still go through strings. Same features either way (tested).
#[derive(Debug, Clone, PartialEq)]
struct TokenIndex {
    /// Every word that occurs in a one- or two-word vocabulary term.
    ids: FastMap<String, u32>,
    /// Token id -> feature id of the one-word term, or [`NONE`].
    unigram: Vec<u32>,
    /// `(first << 32) | second` token ids -> feature id of the two-word term.
    bigram: FastMap<u64, u32>,
    /// Some vocabulary term has three or more words.
    has_longer: bool,
}

impl TokenIndex {
    fn new(vocabulary: &[String]) -> Self {
        let mut index = Self {
            ids: FastMap::default(),
            unigram: Vec::new(),
            bigram: FastMap::default(),
            has_longer: false,
        };
        for (f, term) in vocabulary.iter().enumerate() {
            let mut words = term.split(' ');
            match (words.next(), words.next(), words.next()) {
                (Some(a), None, _) => {
                    let a = index.id(a);
                    index.unigram[a as usize] = f as u32;
                }
                (Some(a), Some(b), None) => {
                    let (a, b) = (index.id(a), index.id(b));
                    index.bigram.insert(pair(a, b), f as u32);
                }
                _ => index.has_longer = true,
            }
        }
        index
    }

    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.unigram.len() as u32;
        self.ids.insert(word.to_string(), id);
        self.unigram.push(NONE);
        id
    }
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Largest idf a stored vectorizer may hold. Fitting gives at most
/// `1 + ln(n_documents + 1)`; far larger values (a damaged or hand-edited
/// model file) overflow the row's L2 norm to infinity, and the row's values
/// to NaN, so every probability would be NaN (`null` in JSON).
pub const MAX_IDF: f64 = 1e100;

impl Tfidf {
    /// Rebuilds a fitted vectorizer from stored parts, checking them.
    pub fn from_parts(
        params: TfidfParams,
        vocabulary: Vec<String>,
        idf: Vec<f64>,
    ) -> Result<Self, TfidfError> {
        if vocabulary.len() != idf.len() {
            return Err(TfidfError::LengthMismatch {
                vocabulary: vocabulary.len(),
                idf: idf.len(),
            });
        }
        let mut index = FastMap::with_capacity_and_hasher(vocabulary.len(), Default::default());
        for (i, (term, &value)) in vocabulary.iter().zip(&idf).enumerate() {
            if !(value > 0.0 && value <= MAX_IDF) {
                return Err(TfidfError::BadIdf {
                    term: term.clone(),
                    value,
                });
            }
            if index.insert(term.clone(), i as u32).is_some() {
                return Err(TfidfError::DuplicateTerm(term.clone()));
            }
        }
        let tokens = TokenIndex::new(&vocabulary);
        Ok(Self {
            params,
            vocabulary,
            idf,
            index,
            tokens,
        })
    }

    /// The parameters it was fitted with.
    pub fn params(&self) -> &TfidfParams {
        &self.params
    }

    /// Terms, indexed by feature id.
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// Idf, indexed by feature id.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.vocabulary.len()
    }

    /// Feature id of a term.
    pub fn feature(&self, term: &str) -> Option<u32> {
        self.index.get(term).copied()
    }

    /// Features of `text`.
    pub fn transform(&self, analyzer: &Analyzer, text: &str) -> SparseVec {
        let tokens = analyzer.tokens(text);
        self.transform_tokens(analyzer, &tokens, None)
    }

    /// Features of already analysed tokens. With `spans`, also records for
    /// every feature present the token range `(feature, first, last)` of its
    /// first occurrence (for explanations).
    pub fn transform_tokens(
        &self,
        analyzer: &Analyzer,
        tokens: &[Token],
        mut spans: Option<&mut Vec<(u32, usize, usize)>>,
    ) -> SparseVec {
        let mut counts: Vec<(u32, u32)> = Vec::new();
        let mut hit = |id: u32, first: usize, last: usize| {
            counts.push((id, 1));
            if let Some(s) = spans.as_deref_mut() {
                s.push((id, first, last));
            }
        };
        let config = analyzer.config();
        let (min, max) = (config.ngram_min, config.ngram_max);
        let ti = &self.tokens;
        let ids: Vec<u32> = tokens
            .iter()
            .map(|t| ti.ids.get(&*t.text).copied().unwrap_or(NONE))
            .collect();
        if min <= 1 && 1 <= max {
            for (i, &t) in ids.iter().enumerate() {
                if let Some(&f) = ti.unigram.get(t as usize) {
                    if f != NONE {
                        hit(f, i, i);
                    }
                }
            }
        }
        if min <= 2 && 2 <= max {
            for (i, w) in ids.windows(2).enumerate() {
                if w[0] != NONE && w[1] != NONE {
                    if let Some(&f) = ti.bigram.get(&pair(w[0], w[1])) {
                        hit(f, i, i + 1);
                    }
                }
            }
        }
        if ti.has_longer && max >= 3 {
            let mut buf = String::new();
            analyzer.for_each_term(tokens, &mut buf, |t, first, last| {
                if last - first >= 2 {
                    if let Some(id) = self.feature(t) {
                        hit(id, first, last);
                    }
                }
            });
        }
        if let Some(s) = spans {
            // Keep the first occurrence of each feature.
            s.sort_by_key(|&(id, first, _)| (id, first));
            s.dedup_by_key(|&mut (id, _, _)| id);
        }
        counts.sort_unstable();
        counts.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        self.weigh(&counts)
    }

    /// Turns sorted `(feature, count)` pairs into an L2-normalised TF-IDF row.
    fn weigh(&self, counts: &[(u32, u32)]) -> SparseVec {
        let mut indices = Vec::with_capacity(counts.len());
        let mut values = Vec::with_capacity(counts.len());
        for &(f, n) in counts {
            let tf = if self.params.sublinear_tf {
                1.0 + f64::from(n).ln()
            } else {
                f64::from(n)
            };
            indices.push(f);
            values.push(tf * self.idf[f as usize]);
        }
        let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            values.iter_mut().for_each(|v| *v /= norm);
        }
        SparseVec { indices, values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{AnalyzerConfig, StopWordsConfig};
    use std::collections::HashMap;

    fn plain_unigrams() -> Analyzer {
        Analyzer::new(AnalyzerConfig {
            stop_words: StopWordsConfig::None,
            stemmer: None,
            ngram_max: 1,
            ..AnalyzerConfig::default()
        })
        .expect("valid")
    }

    fn dense(t: &Tfidf, v: &SparseVec) -> HashMap<String, f64> {
        v.view()
            .iter()
            .map(|(i, x)| (t.vocabulary()[i].clone(), x))
            .collect()
    }

    #[test]
    fn values_match_hand_computed_tfidf() {
        // n = 3 docs. df: ice 2, jail 1, sheriff 2.
        // smoothed idf: ice = sheriff = ln(4/3)+1, jail = ln(4/2)+1.
        let a = plain_unigrams();
        let docs = ["ice ice jail", "ice sheriff", "sheriff"];
        let params = TfidfParams {
            sublinear_tf: true,
            ..TfidfParams::default()
        };
        let (t, m) = params.check().unwrap().fit_transform(&a, &docs).unwrap();
        assert_eq!(t.vocabulary(), ["ice", "jail", "sheriff"]);
        let idf_common = (4.0f64 / 3.0).ln() + 1.0;
        let idf_jail = 2.0f64.ln() + 1.0;
        assert!((t.idf()[0] - idf_common).abs() < 1e-12);
        assert!((t.idf()[1] - idf_jail).abs() < 1e-12);
        // doc 0: ice tf 2 -> 1 + ln 2; jail tf 1.
        let (x_ice, x_jail) = ((1.0 + 2.0f64.ln()) * idf_common, idf_jail);
        let norm = (x_ice * x_ice + x_jail * x_jail).sqrt();
        let row = dense(
            &t,
            &SparseVec {
                indices: m.row(0).indices.to_vec(),
                values: m.row(0).values.to_vec(),
            },
        );
        assert!((row["ice"] - x_ice / norm).abs() < 1e-12);
        assert!((row["jail"] - x_jail / norm).abs() < 1e-12);
        // doc 2: a single term normalises to 1.
        assert_eq!(m.row(2).values, [1.0]);
    }

    #[test]
    fn raw_tf_and_unsmoothed_idf() {
        let a = plain_unigrams();
        let params = TfidfParams {
            sublinear_tf: false,
            smooth_idf: false,
            ..TfidfParams::default()
        };
        let (t, m) = params
            .check()
            .unwrap()
            .fit_transform(&a, &["a a b", "b"])
            .unwrap();
        let idf_a = 2.0f64.ln() + 1.0;
        assert!((t.idf()[0] - idf_a).abs() < 1e-12);
        assert_eq!(t.idf()[1], 1.0);
        let (xa, xb) = (2.0 * idf_a, 1.0);
        let norm = (xa * xa + xb * xb).sqrt();
        assert!((m.row(0).values[0] - xa / norm).abs() < 1e-12);
    }

    #[test]
    fn rows_stay_finite_at_the_largest_idf() {
        let a = Analyzer::new(AnalyzerConfig::default()).unwrap();
        for sublinear_tf in [true, false] {
            let params = TfidfParams {
                sublinear_tf,
                ..TfidfParams::default()
            };
            let t = Tfidf::from_parts(
                params,
                vec!["sheriff".into(), "ice".into()],
                vec![MAX_IDF, MAX_IDF],
            )
            .unwrap();
            let row = t.transform(&a, &"sheriff ICE ".repeat(1000));
            assert!(
                !row.values.is_empty() && row.values.iter().all(|x| x.is_finite() && *x > 0.0),
                "sublinear {sublinear_tf}: {:?}",
                row.values
            );
        }
    }

    #[test]
    fn transform_alone_equals_row_in_batch() {
        let a = Analyzer::new(AnalyzerConfig::default()).unwrap();
        let docs = [
            "The sheriff will honor ICE detainers.",
            "The council voted to limit cooperation with ICE.",
            "Advocates rallied; the sheriff declined to comment.",
        ];
        let (t, m) = TfidfParams::default()
            .check()
            .unwrap()
            .fit_transform(&a, &docs)
            .unwrap();
        for (i, d) in docs.iter().enumerate() {
            let alone = t.transform(&a, d);
            assert_eq!(alone.indices, m.row(i).indices, "doc {i}");
            assert_eq!(alone.values, m.row(i).values, "doc {i}");
        }
        // Unknown words are ignored, never refitted.
        assert_eq!(t.transform(&a, "zzzz qqqq").nnz(), 0);
    }

    #[test]
    fn fit_does_not_depend_on_the_thread_count() {
        // Enough documents for several chunks at every thread count, with
        // terms first seen in different chunks and a max_features cut.
        let words = ["ice", "jail", "council", "sheriff", "detainer", "vote"];
        let docs: Vec<String> = (0..5 * MIN_FIT_CHUNK)
            .map(|i| {
                let a = words[i % words.len()];
                let b = words[(i / 7) % words.len()];
                format!("{a} {b} w{} w{} {a}", i % 997, (i * 31) % 1499)
            })
            .collect();
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let a = Analyzer::new(AnalyzerConfig::default()).unwrap();
        let p = TfidfParams {
            min_df: 2,
            max_features: Some(1500),
            ..TfidfParams::default()
        }
        .check()
        .unwrap();
        let fit_with = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| p.fit_transform(&a, &refs).unwrap())
        };
        let (t1, m1) = fit_with(1);
        assert!(t1.n_features() == 1500, "cut applied: {}", t1.n_features());
        for threads in [2, 3, 8] {
            let (t, m) = fit_with(threads);
            assert_eq!(t.vocabulary(), t1.vocabulary(), "{threads} threads");
            assert_eq!(t.idf(), t1.idf(), "{threads} threads");
            assert_eq!(m, m1, "{threads} threads");
        }
    }

    #[test]
    fn prunes_by_df_and_max_features() {
        let a = plain_unigrams();
        let docs = ["a b c", "a b", "a d", "a"];
        let p = TfidfParams {
            min_df: 2,
            ..TfidfParams::default()
        };
        let (t, _) = p.check().unwrap().fit_transform(&a, &docs).unwrap();
        assert_eq!(t.vocabulary(), ["a", "b"]);
        let p = TfidfParams {
            max_df: 0.5,
            ..TfidfParams::default()
        };
        let (t, _) = p.check().unwrap().fit_transform(&a, &docs).unwrap();
        assert_eq!(t.vocabulary(), ["b", "c", "d"]);
        let p = TfidfParams {
            max_features: Some(2),
            ..TfidfParams::default()
        };
        let (t, _) = p.check().unwrap().fit_transform(&a, &docs).unwrap();
        assert_eq!(t.vocabulary(), ["a", "b"]);
        let p = TfidfParams {
            min_df: 9,
            ..TfidfParams::default()
        };
        assert_eq!(
            p.check().unwrap().fit_transform(&a, &docs).err(),
            Some(TfidfError::EmptyVocabulary)
        );
    }

    /// The token-id fast path finds exactly the features the plain string
    /// lookup of every n-gram finds, for 1- to 3-grams.
    #[test]
    fn fast_path_matches_string_lookup() {
        let docs = [
            "The sheriff will honor ICE detainers, the sheriff said.",
            "The council voted to limit cooperation with ICE detainers.",
            "Advocates rallied; the sheriff declined to comment on ICE.",
            "Honor detainers? The council said no, the sheriff said yes.",
        ];
        for max in 1..=3 {
            let a = Analyzer::new(AnalyzerConfig {
                ngram_max: max,
                ..AnalyzerConfig::default()
            })
            .unwrap();
            let (t, _) = TfidfParams::default()
                .check()
                .unwrap()
                .fit_transform(&a, &docs)
                .unwrap();
            for d in docs
                .iter()
                .chain(&["sheriff sheriff council ICE unknownword detainers"])
            {
                let tokens = a.tokens(d);
                let mut want: Vec<(u32, usize, usize)> = Vec::new();
                a.for_each_term(&tokens, &mut String::new(), |term, i, j| {
                    if let Some(f) = t.feature(term) {
                        want.push((f, i, j));
                    }
                });
                let mut got = Vec::new();
                let v = t.transform_tokens(&a, &tokens, Some(&mut got));
                want.sort_by_key(|&(id, first, _)| (id, first));
                want.dedup_by_key(|&mut (id, _, _)| id);
                assert_eq!(got, want, "n <= {max}: {d}");
                let features: Vec<u32> = want.iter().map(|w| w.0).collect();
                assert_eq!(v.indices, features, "n <= {max}: {d}");
            }
        }
    }

    #[test]
    fn records_first_span_of_each_feature() {
        let a = Analyzer::new(AnalyzerConfig::default()).unwrap();
        let (t, _) = TfidfParams::default()
            .check()
            .unwrap()
            .fit_transform(&a, &["ice jail ice"])
            .unwrap();
        let tokens = a.tokens("ice jail ice");
        let mut spans = Vec::new();
        t.transform_tokens(&a, &tokens, Some(&mut spans));
        let ice = t.feature("ice").unwrap();
        assert!(spans.contains(&(ice, 0, 0)));
        assert_eq!(spans.len(), t.n_features());
    }

    #[test]
    fn checks_parameters_and_parts() {
        assert_eq!(
            TfidfParams {
                min_df: 0,
                ..TfidfParams::default()
            }
            .check()
            .err(),
            Some(TfidfError::MinDf(0))
        );
        assert_eq!(
            TfidfParams {
                max_df: 1.5,
                ..TfidfParams::default()
            }
            .check()
            .err(),
            Some(TfidfError::MaxDf(1.5))
        );
        assert!(TfidfParams {
            max_df: f64::NAN,
            ..TfidfParams::default()
        }
        .check()
        .is_err());
        assert_eq!(
            TfidfParams {
                max_features: Some(0),
                ..TfidfParams::default()
            }
            .check()
            .err(),
            Some(TfidfError::MaxFeatures)
        );
        assert!(matches!(
            Tfidf::from_parts(TfidfParams::default(), vec!["a".into()], vec![]),
            Err(TfidfError::LengthMismatch { .. })
        ));
        for huge in [1.7e308, 1e101, f64::INFINITY] {
            assert!(
                matches!(
                    Tfidf::from_parts(TfidfParams::default(), vec!["a".into()], vec![huge]),
                    Err(TfidfError::BadIdf { .. })
                ),
                "idf {huge}"
            );
        }
        assert!(matches!(
            Tfidf::from_parts(TfidfParams::default(), vec!["a".into()], vec![f64::NAN]),
            Err(TfidfError::BadIdf { .. })
        ));
        assert!(matches!(
            Tfidf::from_parts(
                TfidfParams::default(),
                vec!["a".into(), "a".into()],
                vec![1.0, 1.0]
            ),
            Err(TfidfError::DuplicateTerm(_))
        ));
        let a = plain_unigrams();
        assert_eq!(
            TfidfParams::default()
                .check()
                .unwrap()
                .fit_transform(&a, &[])
                .err(),
            Some(TfidfError::NoDocuments)
        );
    }
}

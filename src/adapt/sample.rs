//! `stance sample`: streams an archive (the inputs `stance score` reads),
//! scores every paragraph, and keeps the `n` most worth labeling by
//! uncertainty (margin or entropy) or at random, skipping copies and
//! near-copies. Memory is bounded by the batch reader's queue and one
//! candidate pool per thread, whatever the archive's size.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver};

use crate::batch::reader::{Batch, Counters, Halt, ReadOptions, Selector};
use crate::batch::{
    BatchError, FieldNames, InputFormat, KeepFields, Shard, BATCH_BYTES, BATCH_RECORDS,
};
use crate::document::paragraphs;
use crate::pipeline::{DocumentOptions, StanceModel};

use super::pool::{pick_diverse, row_hash, Candidate, Pool};

/// How a paragraph's worth for labeling is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// 1 minus the gap between the two most probable labels (default).
    Margin,
    /// Entropy of the three probabilities, divided by ln 3 (0..1).
    Entropy,
    /// A seeded pseudo-random key: a uniform sample, the baseline.
    Random,
}

impl Strategy {
    /// The name used on the command line and in task records.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Margin => "margin",
            Strategy::Entropy => "entropy",
            Strategy::Random => "random",
        }
    }
}

impl FromStr for Strategy {
    type Err = SampleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "margin" => Ok(Strategy::Margin),
            "entropy" => Ok(Strategy::Entropy),
            "random" => Ok(Strategy::Random),
            _ => Err(SampleError::Invalid(format!(
                "unknown strategy {s:?} (expected margin, entropy or random)"
            ))),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to sample and how.
#[derive(Debug, Clone)]
pub struct SampleParams {
    /// Inputs, as for `stance score`.
    pub inputs: Vec<PathBuf>,
    /// Input format override (as for `stance score`).
    pub input_format: Option<InputFormat>,
    /// Fields holding id and text.
    pub fields: FieldNames,
    /// Paragraphs to pick (at least 1).
    pub n: usize,
    /// How to rank paragraphs (default margin).
    pub strategy: Strategy,
    /// A paragraph whose TF-IDF cosine to one already picked exceeds this is
    /// skipped (0..=1; 1 turns the step off; default 0.8).
    pub diversity: f64,
    /// Seed of the random strategy's keys (default 42).
    pub seed: u64,
    /// Paragraphs shorter than this many chars are not candidates (bylines,
    /// datelines, "Advertisement"; default 40).
    pub min_chars: usize,
    /// Paragraphs never to pick: task ids (`doc_id#paragraph`) and texts
    /// already labeled or already sent out (see [`read_exclusions`]).
    pub exclude: HashSet<String>,
    /// Scoring threads; 0 means one per core.
    pub threads: usize,
}

impl Default for SampleParams {
    fn default() -> Self {
        Self {
            inputs: Vec::new(),
            input_format: None,
            fields: FieldNames::default(),
            n: 200,
            strategy: Strategy::Margin,
            diversity: 0.8,
            seed: 42,
            min_chars: 40,
            exclude: HashSet::new(),
            threads: 0,
        }
    }
}

impl SampleParams {
    /// Checks the parameters before any input is read.
    pub fn check(&self) -> Result<(), SampleError> {
        if self.n == 0 {
            return Err(SampleError::Invalid("--n must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.diversity) {
            return Err(SampleError::Invalid(format!(
                "--diversity {} must be between 0 and 1 (1 turns the diversity step off)",
                self.diversity
            )));
        }
        if self.inputs.is_empty() {
            return Err(SampleError::Invalid("no input given".into()));
        }
        Ok(())
    }

    /// Candidates kept per thread: room for the diversity step to skip
    /// near-copies and still find `n`.
    fn pool_capacity(&self) -> usize {
        if self.diversity >= 1.0 {
            self.n
        } else {
            self.n.saturating_mul(4).saturating_add(256)
        }
    }
}

/// Why sampling stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// Reading the inputs failed.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// An exclusion file could not be read.
    #[error("cannot read {path}")]
    Exclude {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of an exclusion file is not a JSON object.
    #[error("{path}:{line}: {message}")]
    ExcludeLine {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads the `task_id` and `text` of every line of JSONL files (tasks written
/// by `stance sample`, or labeled files from `stance labels import`): the
/// paragraphs a new round must not pick again.
pub fn read_exclusions(files: &[PathBuf]) -> Result<HashSet<String>, SampleError> {
    let mut out = HashSet::new();
    for path in files {
        let body = std::fs::read_to_string(path).map_err(|source| SampleError::Exclude {
            path: path.clone(),
            source,
        })?;
        if body.trim_start().starts_with('[') {
            // A Label Studio task file or export: one JSON array.
            let tasks: Vec<serde_json::Value> = serde_json::from_str(&body)
                .map_err(|e| exclude_line(path, e.line(), format!("invalid JSON: {e}")))?;
            for t in &tasks {
                add_exclusions(t.get("data").unwrap_or(t), &mut out);
            }
            continue;
        }
        for (i, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| exclude_line(path, i + 1, format!("invalid JSON: {e}")))?;
            if !v.is_object() {
                return Err(exclude_line(
                    path,
                    i + 1,
                    "a line must be a JSON object".into(),
                ));
            }
            add_exclusions(&v, &mut out);
        }
    }
    Ok(out)
}

fn exclude_line(path: &Path, line: usize, message: String) -> SampleError {
    SampleError::ExcludeLine {
        path: path.to_path_buf(),
        line: line.max(1),
        message,
    }
}

fn add_exclusions(v: &serde_json::Value, out: &mut HashSet<String>) {
    for key in ["task_id", "text"] {
        if let Some(s) = v.get(key).and_then(serde_json::Value::as_str) {
            out.insert(s.to_string());
        }
    }
}

/// What a sampling run saw and picked.
#[derive(Debug)]
pub struct SampleSummary {
    /// The picked paragraphs, most worth labeling first.
    pub picked: Vec<Candidate>,
    /// Records read.
    pub records: u64,
    /// Records that could not be read or had no text (not sampled).
    pub bad_records: u64,
    /// Paragraphs scored.
    pub paragraphs: u64,
    /// Paragraphs shorter than `min_chars`.
    pub short: u64,
    /// Paragraphs skipped because an exclusion file holds them.
    pub excluded: u64,
    /// Candidates that were exact copies (same TF-IDF row) of one held.
    pub copies: u64,
    /// Candidates skipped by the diversity step.
    pub too_similar: usize,
    /// Input bytes after decompression.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

impl fmt::Display for SampleSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "summary: picked={} records={} bad_records={} paragraphs={} short={} excluded={} copies={} too_similar={} mb={:.2} seconds={:.3}",
            self.picked.len(),
            self.records,
            self.bad_records,
            self.paragraphs,
            self.short,
            self.excluded,
            self.copies,
            self.too_similar,
            self.bytes as f64 / 1e6,
            self.seconds
        )
    }
}

/// Per-thread tallies.
#[derive(Debug)]
struct WorkerOut {
    pool: Pool,
    records: u64,
    bad_records: u64,
    paragraphs: u64,
    short: u64,
    excluded: u64,
}

/// Reads every input, scores every paragraph with `model`, and picks the
/// `params.n` most worth labeling. Bad records are counted, never fatal.
pub fn sample(model: &StanceModel, params: &SampleParams) -> Result<SampleSummary, SampleError> {
    params.check()?;
    let start = Instant::now();
    let threads = match params.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let opts = ReadOptions {
        input_format: params.input_format,
        fields: params.fields.clone(),
        keep: KeepFields::none(),
        shard: Shard::whole(),
        skip: 0,
        last_done_id: None,
        batch_records: BATCH_RECORDS,
        batch_bytes: BATCH_BYTES,
    };
    let counters = Counters::default();
    let (work_tx, work_rx) = bounded::<Batch>(2 * threads + 2);

    let (read, outs) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut selector = Selector::new(&opts, &counters, |batch| work_tx.send(batch).is_ok());
            let r = selector.read_all(&params.inputs);
            let r = r.and_then(|()| selector.finish());
            drop(work_tx);
            r
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = work_rx.clone();
                scope.spawn(move || worker(model, params, rx))
            })
            .collect();
        drop(work_rx);
        let read = reader
            .join()
            .unwrap_or(Err(Halt::Fatal(BatchError::WorkerPanicked)));
        let outs: Vec<Option<WorkerOut>> = workers.into_iter().map(|w| w.join().ok()).collect();
        (read, outs)
    });
    match read {
        Ok(()) => {}
        Err(Halt::Fatal(e)) => return Err(e.into()),
        Err(Halt::Closed) => return Err(BatchError::WorkerPanicked.into()),
    }
    let mut pool = Pool::new(params.pool_capacity());
    let mut summary = SampleSummary {
        picked: Vec::new(),
        records: 0,
        bad_records: 0,
        paragraphs: 0,
        short: 0,
        excluded: 0,
        copies: 0,
        too_similar: 0,
        bytes: counters.bytes.load(std::sync::atomic::Ordering::Relaxed),
        seconds: 0.0,
    };
    for out in outs {
        let out = out.ok_or(BatchError::WorkerPanicked)?;
        summary.records += out.records;
        summary.bad_records += out.bad_records;
        summary.paragraphs += out.paragraphs;
        summary.short += out.short;
        summary.excluded += out.excluded;
        pool.merge(out.pool);
    }
    summary.copies = pool.copies;
    let (picked, too_similar) = pick_diverse(pool.into_ranked(), params.n, params.diversity);
    summary.picked = picked;
    summary.too_similar = too_similar;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

fn worker(model: &StanceModel, params: &SampleParams, work: Receiver<Batch>) -> WorkerOut {
    let mut out = WorkerOut {
        pool: Pool::new(params.pool_capacity()),
        records: 0,
        bad_records: 0,
        paragraphs: 0,
        short: 0,
        excluded: 0,
    };
    let max_chars = DocumentOptions::default().max_paragraph_chars;
    let mut tokens = Vec::new();
    for batch in work {
        for (i, rec) in batch.records.iter().enumerate() {
            out.records += 1;
            let Ok((id, text)) = rec.parse(&params.fields) else {
                out.bad_records += 1;
                continue;
            };
            let spans = paragraphs(&text, max_chars);
            if spans.is_empty() {
                out.bad_records += 1;
                continue;
            }
            for (k, r) in spans.iter().enumerate() {
                out.paragraphs += 1;
                let para = &text[r.clone()];
                let n_chars = para.chars().count();
                if n_chars < params.min_chars {
                    out.short += 1;
                    continue;
                }
                if !params.exclude.is_empty()
                    && (params.exclude.contains(para)
                        || params.exclude.contains(&format!("{id}#{k}")))
                {
                    out.excluded += 1;
                    continue;
                }
                // As `model.features(para)`, with the token buffer reused.
                model.analyzer().tokens_into(para, &mut tokens);
                let features = model
                    .tfidf()
                    .transform_tokens(model.analyzer(), &tokens, None);
                let p = model.score_features(features.view());
                let position = (batch.seq, i as u32, k as u32);
                let row = row_hash(&features);
                let priority = priority(params.strategy, &p.to_class_order(), params.seed, row);
                if !out.pool.admits(priority, position) {
                    continue;
                }
                let start = text[..r.start].chars().count();
                out.pool.offer(Candidate {
                    priority,
                    position,
                    row_hash: row,
                    doc_id: id.to_string(),
                    source: rec.source.clone(),
                    paragraph: k as u32,
                    start,
                    end: start + n_chars,
                    text: para.to_string(),
                    probabilities: p,
                    features,
                });
            }
        }
    }
    out
}

/// A paragraph's priority under a strategy. The random key hashes the seed
/// with the paragraph's TF-IDF row, so copies share a key (and are merged)
/// and the draw does not depend on threads.
fn priority(strategy: Strategy, p: &[f64; 3], seed: u64, row: u64) -> f64 {
    match strategy {
        Strategy::Margin => {
            let mut s = *p;
            s.sort_by(|a, b| b.total_cmp(a));
            1.0 - (s[0] - s[1])
        }
        Strategy::Entropy => {
            -p.iter()
                .filter(|&&x| x > 0.0)
                .map(|&x| x * x.ln())
                .sum::<f64>()
                / 3f64.ln()
        }
        Strategy::Random => {
            // splitmix64 of seed and row hash: a uniform key in [0, 1).
            let mut z = seed ^ row.rotate_left(17) ^ 0x9E37_79B9_7F4A_7C15;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_and_entropy_rank_uncertain_probabilities_first() {
        let sure = [0.9, 0.05, 0.05];
        let torn = [0.45, 0.44, 0.11];
        let flat = [1.0 / 3.0; 3];
        for s in [Strategy::Margin, Strategy::Entropy] {
            let f = |p: &[f64; 3]| priority(s, p, 0, 0);
            assert!(f(&torn) > f(&sure), "{s}");
            assert!(f(&flat) >= f(&torn), "{s}");
        }
        assert!((priority(Strategy::Entropy, &flat, 0, 0) - 1.0).abs() < 1e-12);
        assert!((priority(Strategy::Margin, &flat, 0, 0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn random_keys_are_uniform_and_seeded() {
        let keys: Vec<f64> = (0..10_000u64)
            .map(|i| {
                priority(
                    Strategy::Random,
                    &[0.0; 3],
                    7,
                    i.wrapping_mul(0x2545_F491_4F6C_DD1D),
                )
            })
            .collect();
        assert!(keys.iter().all(|k| (0.0..1.0).contains(k)));
        let below_half = keys.iter().filter(|&&k| k < 0.5).count();
        assert!((4_700..5_300).contains(&below_half), "{below_half}");
        assert_ne!(
            priority(Strategy::Random, &[0.0; 3], 7, 5),
            priority(Strategy::Random, &[0.0; 3], 8, 5)
        );
    }

    #[test]
    fn parameters_are_checked() {
        let ok = SampleParams {
            inputs: vec!["a.jsonl".into()],
            ..SampleParams::default()
        };
        assert!(ok.check().is_ok());
        assert!(SampleParams { n: 0, ..ok.clone() }.check().is_err());
        assert!(SampleParams {
            diversity: 1.5,
            ..ok.clone()
        }
        .check()
        .is_err());
        assert!(SampleParams {
            inputs: vec![],
            ..ok
        }
        .check()
        .is_err());
        assert!("wild".parse::<Strategy>().is_err());
    }
}

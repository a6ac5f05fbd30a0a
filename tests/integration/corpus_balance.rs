//! Corpus-wide properties of `training_data/` that make a model trained on it
//! hold on real coverage (GUIDELINES.md, section 5, and the README's
//! "Corpus v2" section):
//! - the words that name the subject, not a side, do not predict a side:
//!   among training paragraphs holding each topic stem, every label's share
//!   is within 15 points of its share overall;
//! - at least 600 minimal pairs (the pairs themselves are checked in
//!   `training_data.rs`);
//! - the registers real text uses: short one-sentence statements, neutral
//!   copy with the loaded words of both sides, pro paragraphs about crimes,
//!   victims and ICE, anti paragraphs about families and trust;
//! - the README's table of the most skewed stems is the one the files give.

use std::collections::{BTreeMap, BTreeSet};

use stance::text::{Analyzer, AnalyzerConfig};

use super::training_data::{data_dir, parse_file, words, Row, LABELS};

/// The files the shipped model is trained on (README, "Retrain the shipped
/// model").
const TRAIN_FILES: [&str; 1] = ["train.jsonl"];
/// The corpus v2 files, written in the registers of real coverage.
const V2_FILES: [&str; 2] = ["train.jsonl", "test.jsonl"];
/// Analyzer stems of the words that name the subject, not a side.
const TOPIC_STEMS: [&str; 15] = [
    "sanctuari",
    "ice",
    "detain",
    "cooper",
    "citi",
    "polici",
    "immigr",
    "enforc",
    "law",
    "deport",
    "feder",
    "sheriff",
    "offic",
    "state",
    "counti",
];
/// Largest distance, in percentage points, between a label's share among
/// paragraphs holding a topic stem and its share overall.
const MAX_TOPIC_SKEW: f64 = 15.0;
/// Fewest minimal pairs across all files.
const MIN_PAIRS: usize = 600;
/// Smallest share of one-sentence paragraphs in each v2 file.
const MIN_ONE_SENTENCE: f64 = 0.10;
/// Stems counted as frequent for the README's skew table: in at least this
/// many training paragraphs.
const FREQUENT: usize = 50;

/// Register checks: (label, description, word groups any of which must
/// occur, smallest share of that label's paragraphs in each v2 file).
const REGISTER_RULES: [(&str, &str, &[&str], f64); 4] = [
    (
        "neutral",
        "neutral paragraphs using the loaded words of enforcement's side",
        &[
            "illegal alien",
            "illegal aliens",
            "illegal immigrant",
            "illegal immigrants",
            "criminal alien",
            "criminal aliens",
            "illegals",
            "rule of law",
        ],
        0.05,
    ),
    (
        "neutral",
        "neutral paragraphs using the loaded words of the sanctuary side",
        &[
            "undocumented",
            "immigrant families",
            "trust",
            "families",
            "neighbors",
            "neighbours",
            "afraid",
            "fear",
        ],
        0.10,
    ),
    (
        "pro",
        "pro paragraphs about crimes, victims, ICE or detainers",
        &[
            "crime",
            "crimes",
            "criminal",
            "victim",
            "victims",
            "assault",
            "murder",
            "ice",
            "detainer",
            "detainers",
            "convicted",
            "felony",
        ],
        0.40,
    ),
    (
        "anti",
        "anti paragraphs about families, trust or community",
        &[
            "family",
            "families",
            "trust",
            "community",
            "communities",
            "neighborhood",
            "neighborhoods",
            "neighbors",
            "parents",
            "children",
        ],
        0.25,
    ),
];

fn rows_of(files: &[&str]) -> Vec<Row> {
    files
        .iter()
        .flat_map(|f| parse_file(&data_dir().join(f)).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// The set of unigram stems of each row, by the analyzer's default
/// configuration (`AnalyzerConfig::default()`): the shipped model's analyzer
/// without negation marking, so a negated word counts as itself (`fear`, not
/// `neg_fear`), as training_data/README.md's table says.
fn stems(rows: &[Row]) -> Vec<BTreeSet<String>> {
    let analyzer = Analyzer::new(AnalyzerConfig::default()).expect("default analyzer");
    rows.iter()
        .map(|r| {
            analyzer
                .tokens(&r.text)
                .into_iter()
                .map(|t| t.text.to_string())
                .collect()
        })
        .collect()
}

/// For one stem: paragraphs holding it, per-label shares (pro, anti,
/// neutral) among them, and the largest distance in points from the overall
/// shares.
struct Skew {
    n: usize,
    shares: [f64; 3],
    worst: f64,
}

fn skews(rows: &[Row], stems: &[BTreeSet<String>]) -> (BTreeMap<String, Skew>, [f64; 3]) {
    let idx = |l: &str| LABELS.iter().position(|x| *x == l).unwrap_or(0);
    let mut overall = [0.0; 3];
    rows.iter().for_each(|r| overall[idx(&r.label)] += 1.0);
    overall.iter_mut().for_each(|c| *c /= rows.len() as f64);
    let mut counts: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for (r, s) in rows.iter().zip(stems) {
        for stem in s {
            counts.entry(stem.as_str()).or_default()[idx(&r.label)] += 1;
        }
    }
    let out = counts
        .into_iter()
        .map(|(stem, c)| {
            let n: usize = c.iter().sum();
            let shares = [0, 1, 2].map(|i| c[i] as f64 / n as f64);
            let worst = (0..3)
                .map(|i| (shares[i] - overall[i]).abs() * 100.0)
                .fold(0.0, f64::max);
            (stem.to_string(), Skew { n, shares, worst })
        })
        .collect();
    (out, overall)
}

/// The README table: the 30 most skewed stems found in at least
/// [`FREQUENT`] training paragraphs.
fn skew_table(rows: &[Row], stems: &[BTreeSet<String>]) -> String {
    let (skews, overall) = skews(rows, stems);
    let mut frequent: Vec<(&String, &Skew)> =
        skews.iter().filter(|(_, s)| s.n >= FREQUENT).collect();
    frequent.sort_by(|a, b| b.1.worst.total_cmp(&a.1.worst).then(a.0.cmp(b.0)));
    let mut t = format!(
        "| stem | paragraphs | pro | anti | neutral | largest gap (points) |\n|---|---:|---:|---:|---:|---:|\n| *all* | {} | {:.0}% | {:.0}% | {:.0}% | |\n",
        rows.len(),
        overall[0] * 100.0,
        overall[1] * 100.0,
        overall[2] * 100.0
    );
    for (stem, s) in frequent.into_iter().take(30) {
        t.push_str(&format!(
            "| `{stem}` | {} | {:.0}% | {:.0}% | {:.0}% | {:.1} |\n",
            s.n,
            s.shares[0] * 100.0,
            s.shares[1] * 100.0,
            s.shares[2] * 100.0,
            s.worst
        ));
    }
    t
}

#[test]
fn topic_words_do_not_give_the_label_away() {
    let rows = rows_of(&TRAIN_FILES);
    let stems = stems(&rows);
    let (skews, _) = skews(&rows, &stems);
    let mut problems = Vec::new();
    for stem in TOPIC_STEMS {
        match skews.get(stem) {
            None => problems.push(format!("topic stem {stem:?} occurs in no training paragraph")),
            Some(s) if s.worst > MAX_TOPIC_SKEW => problems.push(format!(
                "topic stem {stem:?} ({} paragraphs): pro {:.0}% anti {:.0}% neutral {:.0}%, {:.1} points from the overall shares (at most {MAX_TOPIC_SKEW})",
                s.n,
                s.shares[0] * 100.0,
                s.shares[1] * 100.0,
                s.shares[2] * 100.0,
                s.worst
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_corpus_holds_enough_minimal_pairs() {
    let dir = data_dir();
    let mut pairs = BTreeSet::new();
    for f in std::fs::read_dir(&dir).expect("training_data") {
        let p = f.expect("entry").path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            for r in parse_file(&p).unwrap_or_else(|e| panic!("{e}")) {
                if !r.pair.is_empty() {
                    pairs.insert(r.pair);
                }
            }
        }
    }
    assert!(
        pairs.len() >= MIN_PAIRS,
        "{} minimal pairs in training_data/*.jsonl, need at least {MIN_PAIRS}",
        pairs.len()
    );
}

/// One sentence: no sentence end followed by another sentence's start.
fn one_sentence(text: &str) -> bool {
    let chars: Vec<char> = text.trim().chars().collect();
    for i in 0..chars.len() {
        if !matches!(chars[i], '.' | '!' | '?') {
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && matches!(chars[j], '"' | '\'' | '”' | '’' | ')') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_whitespace() {
            let next = chars[j..].iter().find(|c| !c.is_whitespace());
            if next.is_some_and(|c| {
                c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '“' | '‘' | '(')
            }) {
                return false;
            }
        }
    }
    true
}

#[test]
fn one_sentence_detection() {
    assert!(one_sentence(
        "The city should refuse to cooperate with ICE."
    ));
    assert!(one_sentence("Sheriff: \"We hold them.\""));
    assert!(one_sentence("Dr. smith said so."));
    assert!(!one_sentence("The board met. It voted 5-2."));
    assert!(!one_sentence("\"No.\" The mayor left."));
}

#[test]
fn v2_files_hold_the_registers_of_real_coverage() {
    let mut problems = Vec::new();
    for file in V2_FILES {
        let rows = rows_of(&[file]);
        let short =
            rows.iter().filter(|r| one_sentence(&r.text)).count() as f64 / rows.len() as f64;
        if short < MIN_ONE_SENTENCE {
            problems.push(format!(
                "{file}: {:.1}% one-sentence paragraphs, need {:.0}%",
                short * 100.0,
                MIN_ONE_SENTENCE * 100.0
            ));
        }
        for (label, what, groups, min) in REGISTER_RULES {
            let of_label: Vec<&Row> = rows.iter().filter(|r| r.label == label).collect();
            let hits = of_label
                .iter()
                .filter(|r| {
                    let w = words(&r.text).join(" ");
                    let padded = format!(" {w} ");
                    groups.iter().any(|g| padded.contains(&format!(" {g} ")))
                })
                .count();
            let share = hits as f64 / of_label.len().max(1) as f64;
            if share < min {
                problems.push(format!(
                    "{file}: {what}: {hits} of {} ({:.1}%), need {:.0}%",
                    of_label.len(),
                    share * 100.0,
                    min * 100.0
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn readme_shows_the_most_skewed_stems_of_the_training_files() {
    let rows = rows_of(&TRAIN_FILES);
    let table = skew_table(&rows, &stems(&rows));
    let readme = std::fs::read_to_string(data_dir().join("README.md")).expect("README");
    assert!(
        readme.contains(&table),
        "training_data/README.md must hold this table (the 30 most skewed stems in at least {FREQUENT} training paragraphs):\n\n{table}"
    );
}

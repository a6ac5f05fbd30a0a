//! Validates every labeled file under `training_data/` against the codebook's
//! rules (training_data/GUIDELINES.md, section 6): valid JSON objects with
//! the right keys, known labels and genres, non-empty text, unique ids and
//! texts across all files, label shares close to real coverage, genre
//! breadth, minimal pairs that really are pairs, and no near-duplicates
//! (word 5-gram overlap) within or across files. The corpus-wide properties
//! (topic words that do not give the label away, enough minimal pairs, short
//! statements, the registers real text uses) live in `corpus_balance.rs`.
//! Each failure names the file and line of the first problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

pub const LABELS: [&str; 3] = ["pro", "anti", "neutral"];
pub const GENRES: [&str; 17] = [
    "wire",
    "local_news",
    "headline",
    "explainer",
    "press_release",
    "legal",
    "court",
    "policy_analysis",
    "advocacy",
    "opinion",
    "editorial",
    "letter",
    "broadcast",
    "minutes",
    "quotes",
    "social",
    "blog",
];
const KEYS: [&str; 6] = ["id", "text", "label", "genre", "pair", "notes"];
/// Every label's share of a file lies in this range: v1 files hold a third
/// each, v2 files about 40% neutral and 30% each side, as real coverage does.
const LABEL_SHARE: (f64, f64) = (0.25, 0.45);
/// No genre may exceed this share of a file...
const MAX_GENRE_SHARE: f64 = 0.25;
/// ...and a file spans at least this many genres.
const MIN_GENRES: usize = 8;
/// Two texts are near-duplicates when their word 5-gram sets have a Jaccard
/// similarity of at least this, or share half of the smaller set.
const NEAR_DUP_JACCARD: f64 = 0.30;
/// The two members of a minimal pair have a word-sequence similarity
/// (2·LCS / total words) of at least this: they differ in a few words.
const PAIR_SIMILARITY: f64 = 0.60;

#[derive(Debug, Clone)]
pub struct Row {
    pub file: PathBuf,
    pub line: usize,
    pub id: String,
    pub text: String,
    pub label: String,
    pub genre: String,
    pub pair: String,
}

pub fn where_(r: &Row) -> String {
    format!("{}:{}", r.file.display(), r.line)
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("training_data")
}

/// Every `*.jsonl` under `training_data/`, sorted.
fn data_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&data_dir(), &mut files);
    files.sort();
    files
}

/// Parses one file, checking each line on its own.
pub fn parse_file(path: &Path) -> Result<Vec<Row>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    let n_lines = bytes.split(|&b| b == b'\n').count();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let at = format!("{}:{line}", path.display());
        if raw.is_empty() && line == n_lines {
            break; // the newline at the end of the file
        }
        let s = std::str::from_utf8(raw).map_err(|_| format!("{at}: not valid UTF-8"))?;
        let v: Value = serde_json::from_str(s).map_err(|e| format!("{at}: invalid JSON: {e}"))?;
        let obj = v.as_object().ok_or(format!("{at}: not a JSON object"))?;
        for k in obj.keys() {
            if !KEYS.contains(&k.as_str()) {
                return Err(format!("{at}: unknown key {k:?}"));
            }
        }
        let field = |k: &str| -> Result<String, String> {
            obj.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or(format!("{at}: missing or non-string field {k:?}"))
        };
        let (id, text, label, genre) = (
            field("id")?,
            field("text")?,
            field("label")?,
            field("genre")?,
        );
        for optional in ["notes", "pair"] {
            if obj.get(optional).is_some_and(|n| !n.is_string()) {
                return Err(format!("{at}: field {optional:?} must be a string"));
            }
        }
        let pair = obj
            .get("pair")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if text.trim().is_empty() {
            return Err(format!("{at}: empty text"));
        }
        if !LABELS.contains(&label.as_str()) {
            return Err(format!("{at}: unknown label {label:?}"));
        }
        if !GENRES.contains(&genre.as_str()) {
            return Err(format!("{at}: unknown genre {genre:?}"));
        }
        rows.push(Row {
            file: path.to_path_buf(),
            line,
            id,
            text,
            label,
            genre,
            pair,
        });
    }
    if rows.is_empty() {
        return Err(format!("{}: no rows", path.display()));
    }
    Ok(rows)
}

/// Label shares and genre breadth within one file.
fn check_shares(rows: &[Row]) -> Result<(), String> {
    let file = rows[0].file.display().to_string();
    let n = rows.len() as f64;
    let mut labels: BTreeMap<&str, usize> = LABELS.iter().map(|l| (*l, 0)).collect();
    let mut genres: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *labels.entry(r.label.as_str()).or_default() += 1;
        *genres.entry(r.genre.as_str()).or_default() += 1;
    }
    for (l, c) in &labels {
        let share = *c as f64 / n;
        if share < LABEL_SHARE.0 || share > LABEL_SHARE.1 {
            return Err(format!(
                "{file}: label {l} is {:.1}% of the file, outside {:.0}%..{:.0}%: {labels:?}",
                share * 100.0,
                LABEL_SHARE.0 * 100.0,
                LABEL_SHARE.1 * 100.0
            ));
        }
    }
    // A statements file holds one-sentence statements in the few registers
    // they come in (posts, headlines, quotes, letters): breadth is the
    // corpus's job, not its.
    if rows[0]
        .file
        .file_name()
        .is_some_and(|n| n == "statements.jsonl")
    {
        return Ok(());
    }
    if genres.len() < MIN_GENRES {
        return Err(format!(
            "{file}: {} genres, need at least {MIN_GENRES}: {genres:?}",
            genres.len()
        ));
    }
    for (g, c) in &genres {
        let share = *c as f64 / n;
        if share > MAX_GENRE_SHARE {
            return Err(format!(
                "{file}: genre {g} is {:.1}% of the file, above {:.0}%",
                share * 100.0,
                MAX_GENRE_SHARE * 100.0
            ));
        }
    }
    Ok(())
}

/// Lowercased alphanumeric words.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn shingles(text: &str) -> HashSet<String> {
    let words = words(text);
    if words.len() < 5 {
        return std::iter::once(words.join(" ")).collect();
    }
    words.windows(5).map(|w| w.join(" ")).collect()
}

/// Word-sequence similarity: twice the longest common subsequence over the
/// total number of words (1 for equal texts, 0 for disjoint ones).
pub fn sequence_similarity(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    2.0 * prev[b.len()] as f64 / (a.len() + b.len()) as f64
}

/// Minimal pairs: a pair id names exactly two rows of one file (so a pair
/// never straddles the train/test split), with different labels and texts
/// that differ in a few words.
fn check_pairs(rows: &[Row]) -> Result<(), String> {
    let mut by_pair: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.pair.is_empty()) {
        by_pair.entry(r.pair.as_str()).or_default().push(r);
    }
    for (p, members) in &by_pair {
        let [a, b] = members.as_slice() else {
            return Err(format!(
                "{}: pair {p:?} has {} members, need exactly 2",
                where_(members[0]),
                members.len()
            ));
        };
        if a.file != b.file {
            return Err(format!(
                "{}: pair {p:?} straddles files (other member at {})",
                where_(b),
                where_(a)
            ));
        }
        if a.label == b.label {
            return Err(format!(
                "{}: pair {p:?} has the same label {} as {}",
                where_(b),
                a.label,
                where_(a)
            ));
        }
        let sim = sequence_similarity(&words(&a.text), &words(&b.text));
        if sim < PAIR_SIMILARITY {
            return Err(format!(
                "{}: pair {p:?} differs from {} in too much (word similarity {sim:.2}, need {PAIR_SIMILARITY})",
                where_(b),
                where_(a)
            ));
        }
    }
    Ok(())
}

/// Every problem across all rows: duplicate ids and texts, near-duplicates
/// (the two members of a minimal pair are exempt from each other only).
/// Returns the first problem by position of its later row.
fn check_uniqueness(rows: &[Row]) -> Result<(), String> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut texts: HashMap<String, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(&j) = ids.get(r.id.as_str()) {
            return Err(format!(
                "{}: duplicate id {:?} (first at {})",
                where_(r),
                r.id,
                where_(&rows[j])
            ));
        }
        ids.insert(&r.id, i);
        let norm = r
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if let Some(&j) = texts.get(&norm) {
            return Err(format!(
                "{}: duplicate text (first at {})",
                where_(r),
                where_(&rows[j])
            ));
        }
        texts.insert(norm, i);
    }
    let sets: Vec<HashSet<String>> = rows.iter().map(|r| shingles(&r.text)).collect();
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in sets.iter().enumerate() {
        for g in s {
            index.entry(g.as_str()).or_default().push(i);
        }
    }
    let mut shared: HashMap<(usize, usize), usize> = HashMap::new();
    for ids in index.values() {
        // A 5-gram in very many texts is a stock phrase, not copying.
        if ids.len() > 50 {
            continue;
        }
        for (a, &i) in ids.iter().enumerate() {
            for &j in &ids[a + 1..] {
                *shared.entry((i, j)).or_default() += 1;
            }
        }
    }
    let mates = |i: usize, j: usize| !rows[i].pair.is_empty() && rows[i].pair == rows[j].pair;
    let mut problems: Vec<(usize, usize, f64)> = shared
        .into_iter()
        .filter(|&((i, j), _)| !mates(i, j))
        .filter_map(|((i, j), n)| {
            let union = sets[i].len() + sets[j].len() - n;
            let jaccard = n as f64 / union as f64;
            let smaller = sets[i].len().min(sets[j].len());
            (jaccard >= NEAR_DUP_JACCARD || 2 * n >= smaller.max(2)).then_some((i, j, jaccard))
        })
        .collect();
    problems.sort_by_key(|&(i, j, _)| (j, i));
    if let Some(&(i, j, jac)) = problems.first() {
        return Err(format!(
            "{}: near-duplicate of {} (5-gram Jaccard {jac:.2}); {} near-duplicate pairs in all",
            where_(&rows[j]),
            where_(&rows[i]),
            problems.len()
        ));
    }
    Ok(())
}

fn validate(files: &[PathBuf]) -> Result<usize, String> {
    let mut all = Vec::new();
    for f in files {
        let rows = parse_file(f)?;
        check_shares(&rows)?;
        all.extend(rows);
    }
    check_pairs(&all)?;
    check_uniqueness(&all)?;
    Ok(all.len())
}

#[test]
fn every_training_data_file_follows_the_codebook() {
    let files = data_files();
    for want in ["train.jsonl", "test.jsonl"] {
        assert!(
            files.contains(&data_dir().join(want)),
            "training_data/{want} is missing"
        );
    }
    if let Err(e) = validate(&files) {
        panic!("{e}");
    }
}

/// The validator itself must catch each kind of problem, at the right line.
#[test]
fn validator_reports_the_file_and_line_of_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let text_of = |i: usize| {
        format!(
            "Paragraph number {i} talks about item {} with words {} and {}.",
            i * 7,
            i * 13,
            i * 31
        )
    };
    // Row `i` of a file where every label is a third and ten genres 10% each.
    let row = |i: usize, id: &str, text: &str| {
        serde_json::json!({"id": id, "text": text, "label": LABELS[i % 3], "genre": GENRES[i % 10]})
            .to_string()
    };
    let paired = |i: usize, id: &str, text: &str, label: &str, pair: &str| {
        serde_json::json!({"id": id, "text": text, "label": label, "genre": GENRES[i % 10], "pair": pair})
            .to_string()
    };
    let base: Vec<String> = (0..30)
        .map(|i| row(i, &format!("x-{i}"), &text_of(i)))
        .collect();
    let near_a = "The county sheriff said on Monday that the jail will keep honoring every federal detainer request it gets.";
    let near_b = "The county sheriff said on Monday that the jail will keep honoring every federal detainer request it gets from ICE.";
    let far = "Commissioners tabled the library roof bids until the spring budget session.";
    type Edit = Box<dyn Fn(&mut Vec<String>)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("valid", Box::new(|_| {}), ""),
        (
            "valid pair",
            Box::new(move |r| {
                r[11] = paired(11, "x-11", near_a, "anti", "p1");
                r[21] = paired(21, "x-21", near_b, "pro", "p1");
            }),
            "",
        ),
        (
            "bad json",
            Box::new(|r| r[4] = "{oops".into()),
            "f.jsonl:5: invalid JSON",
        ),
        (
            "bad label",
            Box::new(|r| r[2] = r[2].replace("\"neutral\"", "\"maybe\"")),
            "f.jsonl:3: unknown label",
        ),
        (
            "bad genre",
            Box::new(|r| r[3] = r[3].replace("\"explainer\"", "\"blogpost\"")),
            "f.jsonl:4: unknown genre",
        ),
        (
            "unknown key",
            Box::new(|r| r[6] = r[6].replace("\"id\"", "\"weight\":2,\"id\"")),
            "f.jsonl:7: unknown key \"weight\"",
        ),
        (
            "empty text",
            Box::new(move |r| r[0] = row(0, "e", " ")),
            "f.jsonl:1: empty text",
        ),
        (
            "dup id",
            Box::new(move |r| r[7] = row(7, "x-1", &text_of(7))),
            "f.jsonl:8: duplicate id",
        ),
        (
            "dup text",
            Box::new(move |r| r[9] = row(9, "x-9", &text_of(6))),
            "f.jsonl:10: duplicate text",
        ),
        (
            "label share",
            Box::new(move |r| {
                r.extend((0..10).map(|i| row(0, &format!("u-{i}"), &text_of(100 + i))))
            }),
            "label pro is 50.0% of the file",
        ),
        (
            "genre share",
            Box::new(move |r| {
                r.extend((0..9).map(|i| row(i * 10, &format!("g-{i}"), &text_of(200 + i))))
            }),
            "above 25%",
        ),
        (
            "near dup",
            Box::new(move |r| {
                r[11] = row(11, "x-11", near_a);
                r[21] = row(21, "x-21", near_b);
            }),
            "f.jsonl:22: near-duplicate of",
        ),
        (
            "pair with one member",
            Box::new(move |r| r[12] = paired(12, "x-12", &text_of(12), "pro", "lonely")),
            "f.jsonl:13: pair \"lonely\" has 1 members",
        ),
        (
            "pair with one label",
            Box::new(move |r| {
                r[11] = paired(11, "x-11", near_a, "anti", "p2");
                r[21] = paired(21, "x-21", near_b, "anti", "p2");
            }),
            "f.jsonl:22: pair \"p2\" has the same label",
        ),
        (
            "pair of different texts",
            Box::new(move |r| {
                r[11] = paired(11, "x-11", near_a, "anti", "p3");
                r[21] = paired(21, "x-21", far, "neutral", "p3");
            }),
            "f.jsonl:22: pair \"p3\" differs from",
        ),
    ];
    for (name, edit, want) in cases {
        let mut rows = base.clone();
        edit(&mut rows);
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, rows.join("\n") + "\n").unwrap();
        let got = validate(&[path]);
        if want.is_empty() {
            assert!(got.is_ok(), "case {name}: {got:?}");
        } else {
            let err = got.expect_err(name);
            assert!(
                err.contains(want),
                "case {name}: want {want:?}, got {err:?}"
            );
        }
    }
    // A pair split between two files (train and test) is refused.
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let mut ra = base.clone();
    ra[11] = paired(11, "x-11", near_a, "anti", "p4");
    let mut rb: Vec<String> = (0..30)
        .map(|i| row(i, &format!("y-{i}"), &text_of(500 + i)))
        .collect();
    rb[21] = paired(21, "y-21", near_b, "pro", "p4");
    std::fs::write(&a, ra.join("\n") + "\n").unwrap();
    std::fs::write(&b, rb.join("\n") + "\n").unwrap();
    let err = validate(&[a, b]).expect_err("split pair");
    assert!(err.contains("pair \"p4\" straddles files"), "{err}");
}

#[test]
fn sequence_similarity_counts_shared_words_in_order() {
    let w = |s: &str| words(s);
    assert_eq!(sequence_similarity(&w("a b c d"), &w("a b c d")), 1.0);
    assert_eq!(sequence_similarity(&w("a b"), &w("c d")), 0.0);
    // "should cooperate" vs "should not cooperate": 3 of 4 and 3 of 5 words.
    let s = sequence_similarity(&w("city should cooperate"), &w("city should not cooperate"));
    assert!((s - 6.0 / 7.0).abs() < 1e-12, "{s}");
}

/// The per-genre tables in training_data/README.md match the files.
#[test]
fn readme_counts_match_the_files() {
    let dir = data_dir();
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("training_data/README.md");
    for file in data_files() {
        let name = file
            .strip_prefix(&dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let rows = parse_file(&file).unwrap_or_else(|e| panic!("{e}"));
        let mut want: BTreeMap<String, [usize; 3]> = BTreeMap::new();
        for r in &rows {
            let i = LABELS.iter().position(|l| *l == r.label).unwrap_or(0);
            want.entry(r.genre.clone()).or_default()[i] += 1;
        }
        let section = readme
            .split(&format!("### {name}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("README has no section \"### {name}\""));
        let mut got: BTreeMap<String, [usize; 3]> = BTreeMap::new();
        for line in section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
        {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let nums: Vec<usize> = cells[1..].iter().filter_map(|c| c.parse().ok()).collect();
            if GENRES.contains(&cells[0]) && nums.len() == 4 {
                assert_eq!(
                    nums[0] + nums[1] + nums[2],
                    nums[3],
                    "README {name} row {} total",
                    cells[0]
                );
                got.insert(cells[0].to_string(), [nums[0], nums[1], nums[2]]);
            }
        }
        assert_eq!(
            got, want,
            "README table for {name} (pro, anti, neutral) differs from the file"
        );
    }
}

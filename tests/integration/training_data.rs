//! Validates every `training_data/*.jsonl` file against the codebook's rules
//! (training_data/GUIDELINES.md): valid JSON objects with the right keys,
//! known labels and genres, non-empty text, unique ids and texts across all
//! files, labels balanced within 10%, every genre at least 8% of a file, and
//! no near-duplicates (word 5-gram overlap) within or across files. Each
//! failure names the file and line of the first problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

const LABELS: [&str; 3] = ["pro", "anti", "neutral"];
const GENRES: [&str; 10] = [
    "wire",
    "local_news",
    "opinion",
    "editorial",
    "press_release",
    "legal",
    "quotes",
    "social",
    "letter",
    "policy_analysis",
];
const KEYS: [&str; 5] = ["id", "text", "label", "genre", "notes"];
/// Largest label count may exceed the smallest by at most this factor.
const BALANCE: f64 = 1.10;
/// Smallest share of a file each genre must have.
const MIN_GENRE_SHARE: f64 = 0.08;
/// Two texts are near-duplicates when their word 5-gram sets have a Jaccard
/// similarity of at least this, or share half of the smaller set.
const NEAR_DUP_JACCARD: f64 = 0.30;

struct Row {
    file: PathBuf,
    line: usize,
    id: String,
    text: String,
    label: String,
    genre: String,
}

fn where_(r: &Row) -> String {
    format!("{}:{}", r.file.display(), r.line)
}

fn data_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("training_data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Parses one file, checking each line on its own.
fn parse_file(path: &Path) -> Result<Vec<Row>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let at = format!("{}:{line}", path.display());
        if raw.is_empty() && i + 1 == bytes.split(|&b| b == b'\n').count() {
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
        if let Some(n) = obj.get("notes") {
            if !n.is_string() {
                return Err(format!("{at}: field \"notes\" must be a string"));
            }
        }
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
        });
    }
    if rows.is_empty() {
        return Err(format!("{}: no rows", path.display()));
    }
    Ok(rows)
}

/// Label balance and genre shares within one file.
fn check_shares(rows: &[Row]) -> Result<(), String> {
    let file = rows[0].file.display().to_string();
    let mut labels: BTreeMap<&str, usize> = LABELS.iter().map(|l| (*l, 0)).collect();
    let mut genres: BTreeMap<&str, usize> = GENRES.iter().map(|g| (*g, 0)).collect();
    for r in rows {
        *labels.entry(r.label.as_str()).or_default() += 1;
        *genres.entry(r.genre.as_str()).or_default() += 1;
    }
    let (min, max) = (
        labels.values().min().copied().unwrap_or(0),
        labels.values().max().copied().unwrap_or(0),
    );
    if (max as f64) > BALANCE * min as f64 {
        return Err(format!(
            "{file}: labels not balanced within 10%: {labels:?}"
        ));
    }
    for (g, n) in &genres {
        let share = *n as f64 / rows.len() as f64;
        if share < MIN_GENRE_SHARE {
            return Err(format!(
                "{file}: genre {g} is {:.1}% of the file, below 8%",
                share * 100.0
            ));
        }
    }
    Ok(())
}

fn shingles(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < 5 {
        return std::iter::once(words.join(" ")).collect();
    }
    words.windows(5).map(|w| w.join(" ")).collect()
}

/// Every problem across all rows: duplicate ids and texts, near-duplicates.
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
    let mut problems: Vec<(usize, usize, f64)> = shared
        .into_iter()
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
    check_uniqueness(&all)?;
    Ok(all.len())
}

#[test]
fn every_training_data_file_follows_the_codebook() {
    let files = data_files();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"train.jsonl".to_string()),
        "training_data/train.jsonl is missing"
    );
    assert!(
        names.contains(&"test.jsonl".to_string()),
        "training_data/test.jsonl is missing"
    );
    if let Err(e) = validate(&files) {
        panic!("{e}");
    }
}

#[test]
fn train_and_test_have_the_required_sizes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("training_data");
    let train = parse_file(&dir.join("train.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    let test = parse_file(&dir.join("test.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        train.len() >= 2400,
        "train.jsonl has {} rows, need at least 2400",
        train.len()
    );
    assert!(
        test.len() >= 450,
        "test.jsonl has {} rows, need at least 450",
        test.len()
    );
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
    // Row `i` of a file where every label is a third and every genre 10%.
    let row = |i: usize, id: &str, text: &str| {
        serde_json::json!({"id": id, "text": text, "label": LABELS[i % 3], "genre": GENRES[i % 10]})
            .to_string()
    };
    let base: Vec<String> = (0..30)
        .map(|i| row(i, &format!("x-{i}"), &text_of(i)))
        .collect();
    let near_a = "The county sheriff said on Monday that the jail will keep honoring every federal detainer request it gets.";
    let near_b = "The county sheriff said on Monday that the jail will keep honoring every federal detainer request it gets from ICE.";
    type Edit = Box<dyn Fn(&mut Vec<String>)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("valid", Box::new(|_| {}), ""),
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
            Box::new(|r| r[3] = r[3].replace("\"editorial\"", "\"blog\"")),
            "f.jsonl:4: unknown genre",
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
            "unbalanced",
            Box::new(move |r| {
                r.extend((0..4).map(|i| row(0, &format!("u-{i}"), &text_of(100 + i))))
            }),
            "labels not balanced",
        ),
        (
            "genre share",
            Box::new(move |r| {
                r.extend((0..30).map(|i| row(i / 10 * 10, &format!("g-{i}"), &text_of(200 + i))))
            }),
            "below 8%",
        ),
        (
            "near dup",
            Box::new(move |r| {
                r[11] = row(11, "x-11", near_a);
                r[21] = row(21, "x-21", near_b);
            }),
            "f.jsonl:22: near-duplicate of",
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
}

/// The per-genre tables in training_data/README.md match the files.
#[test]
fn readme_counts_match_the_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("training_data");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("training_data/README.md");
    for file in ["train.jsonl", "test.jsonl"] {
        let rows = parse_file(&dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
        let mut want: BTreeMap<String, [usize; 3]> = BTreeMap::new();
        for r in &rows {
            let i = LABELS.iter().position(|l| *l == r.label).unwrap_or(0);
            want.entry(r.genre.clone()).or_default()[i] += 1;
        }
        let section = readme
            .split(&format!("### {file}"))
            .nth(1)
            .unwrap_or_else(|| panic!("README has no section for {file}"));
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
                    "README {file} row {} total",
                    cells[0]
                );
                got.insert(cells[0].to_string(), [nums[0], nums[1], nums[2]]);
            }
        }
        assert_eq!(
            got, want,
            "README table for {file} (pro, anti, neutral) differs from the file"
        );
    }
}

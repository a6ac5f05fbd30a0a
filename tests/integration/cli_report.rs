//! `stance report` run as a user would: interval coverage on archives with
//! known group shares, the HTML and its charts, groups.csv against
//! groups.json, refused inputs (mixed models, bad records) that leave
//! nothing written, error records, missing groups and dates, compression,
//! and the whole chain from `stance score --keep-fields`.

use std::path::{Path, PathBuf};
use std::process::Output;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::cli_score::{documents, score_in};
use crate::helpers::{run_in, stderr};

const CHECKSUM_A: &str = "sha256:aaaa";
const CHECKSUM_B: &str = "sha256:bbbb";

/// A group of the generated archives: true label probabilities (pro, anti, neutral).
struct TrueGroup {
    name: &'static str,
    p: [f64; 3],
}

const GROUPS: [TrueGroup; 2] = [
    TrueGroup {
        name: "Gazette",
        p: [0.5, 0.2, 0.3],
    },
    TrueGroup {
        name: "Herald",
        p: [0.15, 0.55, 0.3],
    },
];

/// Stance index of a unit given its label: pro uniform on [0.2, 1.0]
/// (mean 0.6), anti on [-1.0, -0.2] (mean -0.6), neutral on [-0.2, 0.2]
/// (mean 0). So a group's true mean index is 0.6 * (p_pro - p_anti).
fn draw_record(rng: &mut StdRng, i: usize, g: &TrueGroup, checksum: &str) -> Value {
    let u: f64 = rng.gen();
    let (label, index) = if u < g.p[0] {
        ("pro", rng.gen_range(0.2..1.0))
    } else if u < g.p[0] + g.p[1] {
        ("anti", rng.gen_range(-1.0..-0.2))
    } else {
        ("neutral", rng.gen_range(-0.2..0.2))
    };
    json!({
        "id": format!("a{i}"), "source": format!("archive.jsonl:{}", i + 1),
        "outlet": g.name, "date": format!("2019-{:02}-15", i % 12 + 1),
        "label": label, "probabilities": {"pro": 0.4, "anti": 0.3, "neutral": 0.3},
        "stance_index": index, "low_confidence": false,
        "model": "m", "model_version": "1.0.0", "model_checksum": checksum,
    })
}

fn write_jsonl(path: &Path, recs: &[Value]) {
    let text: String = recs.iter().map(|r| r.to_string() + "\n").collect();
    std::fs::write(path, text).unwrap();
}

/// `n` records per true group, drawn with `seed`.
fn archive(seed: u64, n: usize) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n * GROUPS.len())
        .map(|i| draw_record(&mut rng, i, &GROUPS[i % GROUPS.len()], CHECKSUM_A))
        .collect()
}

fn report_in(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    run_in(dir, &all)
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The `all` row of `group` in groups.json.
fn all_row<'a>(groups: &'a Value, group: &str) -> &'a Value {
    groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"]["outlet"] == group && r["period"] == "all")
        .unwrap_or_else(|| panic!("no all row for {group}"))
}

#[test]
fn intervals_cover_the_true_shares_in_about_95_percent_of_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = 60u64;
    // (covered, trials) per statistic: share pro, share anti, mean index.
    let mut hits = [0usize; 3];
    let mut trials = 0usize;
    for seed in 0..seeds {
        let input = dir.path().join(format!("s{seed}.jsonl"));
        write_jsonl(&input, &archive(seed, 150));
        let out = dir.path().join(format!("out{seed}"));
        let o = report_in(
            dir.path(),
            &[
                "-i",
                input.to_str().unwrap(),
                "--by",
                "outlet",
                "--seed",
                &seed.to_string(),
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "seed {seed}: {}", stderr(&o));
        let g = read_json(out.join("groups.json"));
        for tg in &GROUPS {
            let row = all_row(&g, tg.name);
            let truth = [tg.p[0], tg.p[1], 0.6 * (tg.p[0] - tg.p[1])];
            let est = [
                &row["share"]["pro"],
                &row["share"]["anti"],
                &row["mean_index"],
            ];
            for k in 0..3 {
                let (lo, hi) = (
                    est[k]["low"].as_f64().unwrap(),
                    est[k]["high"].as_f64().unwrap(),
                );
                hits[k] += usize::from(lo <= truth[k] && truth[k] <= hi);
            }
            trials += 1;
        }
    }
    // 120 intervals per statistic: the count covering the truth is
    // Binomial(120, 0.95), mean 114, sd 2.4; 3 sd below is 106.8. The
    // percentile bootstrap runs slightly narrow at n = 150, so we only
    // require >= 106 per statistic and that the pooled share is not above
    // 0.99 (intervals that always cover would be too wide).
    for (k, name) in ["share pro", "share anti", "mean index"].iter().enumerate() {
        assert!(
            hits[k] >= 106,
            "{name}: {} of {trials} intervals cover the truth",
            hits[k]
        );
    }
    let pooled = hits.iter().sum::<usize>() as f64 / (3 * trials) as f64;
    eprintln!(
        "coverage of {trials} intervals each: share pro {}, share anti {}, mean index {}",
        hits[0], hits[1], hits[2]
    );
    assert!((0.90..=0.99).contains(&pooled), "pooled coverage {pooled}");
}

#[test]
fn html_parses_and_has_one_svg_per_chart_and_no_external_resources() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = archive(1, 40);
    recs[3]["outlet"] = json!("<script>alert(1)</script>");
    write_jsonl(&dir.path().join("s.jsonl"), &recs);
    for (case, extra, charts) in [
        (
            "by time",
            &["--time-field", "date", "--period", "quarter"][..],
            4,
        ),
        ("no time", &[][..], 3),
    ] {
        let mut args = vec!["-i", "s.jsonl", "--by", "outlet", "-o", "out"];
        args.extend_from_slice(extra);
        let o = report_in(dir.path(), &args);
        assert!(o.status.success(), "{case}: {}", stderr(&o));
        let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
        let doc = scraper::Html::parse_document(&html);
        assert!(
            doc.errors.is_empty(),
            "{case}: parse errors {:?}",
            doc.errors
        );
        let count = |sel: &str| doc.select(&scraper::Selector::parse(sel).unwrap()).count();
        assert_eq!(count("svg"), charts, "{case}: one svg per chart");
        assert_eq!(
            count("script") + count("link") + count("[src]") + count("img") + count("iframe"),
            0,
            "{case}: nothing external or executable"
        );
        for id in [
            "summary",
            "charts",
            "groups-table",
            "error-records",
            "method",
        ] {
            assert_eq!(count(&format!("section#{id}")), 1, "{case}: section {id}");
        }
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{case}: group name escaped"
        );
    }
}

#[test]
fn groups_csv_and_json_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("s.jsonl"), &archive(2, 60));
    let o = report_in(
        dir.path(),
        &[
            "-i",
            "s.jsonl",
            "--by",
            "outlet",
            "--time-field",
            "date",
            "-o",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json = read_json(dir.path().join("out/groups.json"));
    let mut rdr = csv::Reader::from_path(dir.path().join("out/groups.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["outlet", "period", "documents"]);
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(rows.len(), groups.len());
    // Record i is in group i % 2 and month i % 12 + 1: six months a group.
    assert_eq!(rows.len(), 2 * (1 + 6), "two groups, each all + 6 months");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (r, g) in rows.iter().zip(groups) {
        let case = format!("{} {}", &r[0], &r[1]);
        assert_eq!(r[0], *g["group"]["outlet"].as_str().unwrap(), "{case}");
        assert_eq!(r[1], *g["period"].as_str().unwrap(), "{case}");
        assert_eq!(
            r[col("documents")].parse::<u64>().unwrap(),
            g["documents"].as_u64().unwrap(),
            "{case}"
        );
        for (c, v) in [
            ("share_pro", &g["share"]["pro"]["value"]),
            ("share_anti_low", &g["share"]["anti"]["low"]),
            ("share_neutral_high", &g["share"]["neutral"]["high"]),
            ("mean_index", &g["mean_index"]["value"]),
            ("mean_index_high", &g["mean_index"]["high"]),
        ] {
            assert_eq!(
                r[col(c)].parse::<f64>().unwrap(),
                v.as_f64().unwrap(),
                "{case} {c}"
            );
        }
    }
    let total: u64 = groups
        .iter()
        .filter(|g| g["period"] == "all")
        .map(|g| g["documents"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 120);
}

#[test]
fn mixed_models_and_bad_records_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let a: Vec<Value> = (0..5)
        .map(|i| draw_record(&mut rng, i, &GROUPS[0], CHECKSUM_A))
        .collect();
    let mut b = a.clone();
    b[2]["model_checksum"] = json!(CHECKSUM_B);
    write_jsonl(&dir.path().join("a.jsonl"), &a);
    write_jsonl(&dir.path().join("b.jsonl"), &b);
    let mut bad = std::fs::read_to_string(dir.path().join("a.jsonl")).unwrap();
    bad.push_str("{\"id\": \"x\", \"label\": \"pro\"\n");
    std::fs::write(dir.path().join("bad.jsonl"), bad).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let cases: [(&str, &[&str], &[&str]); 5] = [
        (
            "mixed within a file",
            &["b.jsonl"],
            &[
                "b.jsonl:3",
                CHECKSUM_B,
                "b.jsonl:1",
                CHECKSUM_A,
                "never mixed",
            ],
        ),
        (
            "mixed across files",
            &["a.jsonl", "b.jsonl"],
            &["b.jsonl:3", "a.jsonl:1"],
        ),
        (
            "invalid JSON",
            &["bad.jsonl"],
            &["bad.jsonl:6", "invalid JSON"],
        ),
        (
            "not score output",
            &["notes.txt"],
            &["notes.txt", "cannot tell the format"],
        ),
        ("missing file", &["nope.jsonl"], &["cannot read nope.jsonl"]),
    ];
    for (case, inputs, wants) in cases {
        let mut args = vec!["-i"];
        args.extend_from_slice(inputs);
        args.extend(["--by", "outlet", "-o", "out"]);
        let o = report_in(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{case}: exit code");
        let err = stderr(&o);
        for w in wants {
            assert!(err.contains(w), "{case}: {w:?} not in {err}");
        }
        assert!(!dir.path().join("out").exists(), "{case}: nothing written");
    }
    // A report that exists is kept as it was when a rerun is refused.
    let o = report_in(
        dir.path(),
        &["-i", "a.jsonl", "--by", "outlet", "-o", "out"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(dir.path().join("out/groups.json")).unwrap();
    let o = report_in(
        dir.path(),
        &["-i", "bad.jsonl", "--by", "outlet", "-o", "out"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read(dir.path().join("out/groups.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        3,
        "no temporary files"
    );
}

#[test]
fn error_records_missing_groups_and_undated_records_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = archive(4, 10);
    recs[0].as_object_mut().unwrap().remove("outlet");
    recs[1]["outlet"] = Value::Null;
    recs[2]["date"] = json!("last spring");
    recs.push(json!({"id": "e1", "source": "archive.jsonl:99", "outlet": "Gazette", "error": "text is empty",
        "model": "m", "model_version": "1.0.0", "model_checksum": CHECKSUM_A}));
    recs.push(json!({"id": "archive.jsonl:100", "source": "archive.jsonl:100", "outlet": null, "error": "invalid JSON: EOF",
        "model": "m", "model_version": "1.0.0", "model_checksum": CHECKSUM_A}));
    write_jsonl(&dir.path().join("s.jsonl"), &recs);
    let o = report_in(
        dir.path(),
        &[
            "-i",
            "s.jsonl",
            "--by",
            "outlet",
            "--time-field",
            "date",
            "--period",
            "year",
            "-o",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The bad date and the two error records, which have no date field.
    assert!(
        stderr(&o).contains("3 records have no usable date"),
        "{}",
        stderr(&o)
    );
    let g = read_json(dir.path().join("out/groups.json"));
    assert_eq!(
        (g["documents"].as_u64(), g["error_records"].as_u64()),
        (Some(20), Some(2))
    );
    assert_eq!(g["errors"].as_array().unwrap().len(), 2);
    assert_eq!(g["errors"][0]["at"], "s.jsonl:21");
    assert_eq!(g["errors"][0]["message"], "text is empty");
    let missing = all_row(&g, "(missing)");
    assert_eq!(
        (missing["documents"].as_u64(), missing["errors"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(all_row(&g, "Gazette")["errors"], 1);
    let undated: Vec<&Value> = g["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["period"] == "(undated)")
        .collect();
    let counts: Vec<(&str, u64, u64)> = undated
        .iter()
        .map(|r| {
            (
                r["group"]["outlet"].as_str().unwrap(),
                r["documents"].as_u64().unwrap(),
                r["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("(missing)", 0, 1), ("Gazette", 1, 1)]);
    assert!(undated[0]["share"].is_null(), "no units, no shares");
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(
        html.contains("text is empty") && html.contains("invalid JSON: EOF"),
        "errors listed in the report"
    );
    // A field no record has: every record in "(missing)", with a warning.
    let o = report_in(dir.path(), &["-i", "s.jsonl", "--by", "desk", "-o", "out2"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("no record has a value for group field \"desk\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn gzip_input_reports_like_the_plain_file() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("s.jsonl"), &archive(5, 30));
    let plain = std::fs::read(dir.path().join("s.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    std::fs::write(dir.path().join("s.jsonl.gz"), gz.finish().unwrap()).unwrap();
    for (input, out) in [("s.jsonl", "p"), ("s.jsonl.gz", "g")] {
        let o = report_in(dir.path(), &["-i", input, "--by", "outlet", "-o", out]);
        assert!(o.status.success(), "{input}: {}", stderr(&o));
    }
    let csv = |d: &str| std::fs::read(dir.path().join(d).join("groups.csv")).unwrap();
    assert_eq!(csv("p"), csv("g"));
}

#[test]
fn scored_csv_with_paragraphs_and_kept_fields_reports_paragraph_units() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(30);
    let lines: String = docs
        .iter()
        .enumerate()
        .map(|(i, (id, text))| {
            let desk = ["metro", "politics"][i % 2];
            json!({"id": id, "text": text, "desk": desk}).to_string() + "\n"
        })
        .collect();
    std::fs::write(dir.path().join("in.jsonl"), lines).unwrap();
    for (fmt, out) in [("jsonl", "scored.jsonl"), ("csv", "scored.csv")] {
        let o = score_in(
            dir.path(),
            &[
                "-i",
                "in.jsonl",
                "-o",
                out,
                "--format",
                fmt,
                "--paragraphs",
                "--keep-fields",
                "desk",
                "--no-progress",
            ],
        );
        assert!(o.status.success(), "{fmt}: {}", stderr(&o));
    }
    let scored: Vec<Value> = std::fs::read_to_string(dir.path().join("scored.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paragraphs: usize = scored
        .iter()
        .map(|r| r["paragraphs"].as_array().unwrap().len())
        .sum();
    let pro_paragraphs = scored
        .iter()
        .flat_map(|r| r["paragraphs"].as_array().unwrap())
        .filter(|p| p["label"] == "pro")
        .count();
    for input in ["scored.jsonl", "scored.csv"] {
        let o = report_in(
            dir.path(),
            &[
                "-i",
                input,
                "--by",
                "desk",
                "--unit",
                "paragraph",
                "-o",
                "out",
            ],
        );
        assert!(o.status.success(), "{input}: {}", stderr(&o));
        let g = read_json(dir.path().join("out/groups.json"));
        assert_eq!(g["units"].as_u64(), Some(paragraphs as u64), "{input}");
        assert_eq!(g["documents"].as_u64(), Some(30), "{input}");
        let pro: f64 = g["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["share"]["pro"]["value"].as_f64().unwrap() * r["units"].as_f64().unwrap())
            .sum();
        assert!(
            (pro - pro_paragraphs as f64).abs() < 1e-9,
            "{input}: pro paragraphs"
        );
    }
    // Without --paragraphs output, --unit paragraph is refused with the line.
    let o = score_in(
        dir.path(),
        &["-i", "in.jsonl", "-o", "plain.jsonl", "--no-progress"],
    );
    assert!(o.status.success());
    let o = report_in(
        dir.path(),
        &[
            "-i",
            "plain.jsonl",
            "--by",
            "desk",
            "--unit",
            "paragraph",
            "-o",
            "out3",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("plain.jsonl:1") && stderr(&o).contains("--paragraphs"),
        "{}",
        stderr(&o)
    );
    let o = report_in(
        dir.path(),
        &["-i", "scored.csv", "--by", "outlet", "-o", "out4"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no column \"outlet\""),
        "{}",
        stderr(&o)
    );
}

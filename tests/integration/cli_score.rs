//! `stance score` run as a user would: every input format and compression,
//! bad records, ordering under many threads, resume after a kill, shards,
//! and scores identical to the library's.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stance::DocumentOptions;

use crate::helpers::{fixture_data, fixture_model, fixture_model_path, stance_cmd, stderr, stdout};

/// The fixture's texts, to build inputs from.
fn fixture_texts() -> Vec<String> {
    std::fs::read_to_string(fixture_data())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `n` distinct documents: `(id, text)`, some with two paragraphs.
pub(crate) fn documents(n: usize) -> Vec<(String, String)> {
    let t = fixture_texts();
    (0..n)
        .map(|i| {
            let mut text = format!("{} (item {i})", t[i % t.len()]);
            if i % 3 == 0 {
                text.push_str("\n\n");
                text.push_str(&t[(i * 7 + 3) % t.len()]);
            }
            (format!("doc-{i:05}"), text)
        })
        .collect()
}

pub(crate) fn jsonl_of(docs: &[(String, String)]) -> String {
    docs.iter()
        .map(|(id, text)| {
            serde_json::json!({"id": id, "text": text, "section": "metro"}).to_string() + "\n"
        })
        .collect()
}

/// Runs `stance score --model <fixture> <args>` in `dir`.
pub(crate) fn score_in(dir: &Path, args: &[&str]) -> Output {
    stance_cmd()
        .current_dir(dir)
        .args(["score", "--model", fixture_model_path().to_str().unwrap()])
        .args(args)
        .output()
        .unwrap()
}

/// Output records parsed from JSONL.
fn records(jsonl: &str) -> Vec<Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad output line {l:?}: {e}")))
        .collect()
}

fn ids(recs: &[Value]) -> Vec<String> {
    recs.iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Checks every record against the library's score of the same text, exactly.
fn assert_scores_match_library(case: &str, recs: &[Value], docs: &[(String, String)]) {
    let model = fixture_model();
    assert_eq!(recs.len(), docs.len(), "{case}: record count");
    for (rec, (id, text)) in recs.iter().zip(docs) {
        assert_eq!(rec["id"], id.as_str(), "{case}: order");
        let expected = model
            .score_document(text, &DocumentOptions::default())
            .unwrap();
        let p = &rec["probabilities"];
        let got = [p["pro"].as_f64(), p["anti"].as_f64(), p["neutral"].as_f64()];
        let want = expected.probabilities;
        assert_eq!(
            got,
            [Some(want.pro), Some(want.anti), Some(want.neutral)],
            "{case}: {id}"
        );
        assert_eq!(rec["label"], expected.label.as_str(), "{case}: {id}");
        assert_eq!(
            rec["stance_index"].as_f64(),
            Some(expected.stance_index),
            "{case}: {id}"
        );
        assert_eq!(
            rec["low_confidence"], expected.low_confidence,
            "{case}: {id}"
        );
        assert_eq!(rec["model_checksum"], model.checksum(), "{case}: {id}");
        assert_eq!(rec["model"], model.meta().name.as_str(), "{case}: {id}");
        assert_eq!(
            rec["model_version"],
            model.meta().version.as_str(),
            "{case}: {id}"
        );
    }
}

#[test]
fn every_input_format_gives_the_library_scores_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(40);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&docs)).unwrap();
    let mut csv = csv::Writer::from_path(dir.path().join("in.csv")).unwrap();
    csv.write_record(["section", "text", "id"]).unwrap();
    for (id, text) in &docs {
        csv.write_record(["metro", text, id]).unwrap();
    }
    csv.flush().unwrap();
    // A directory of documents, nested; ids are paths relative to it.
    let txt = dir.path().join("docs");
    std::fs::create_dir_all(txt.join("b")).unwrap();
    let mut txt_docs = Vec::new();
    for (i, (_, text)) in docs.iter().enumerate().take(6) {
        let rel = if i < 3 {
            format!("a{i}.txt")
        } else {
            format!("b/c{i}.txt")
        };
        std::fs::write(txt.join(&rel), text).unwrap();
        txt_docs.push((rel, text.clone()));
    }
    std::fs::write(txt.join("notes.md"), "not a document").unwrap();

    for (case, input) in [("jsonl", "in.jsonl"), ("csv", "in.csv")] {
        let out = score_in(dir.path(), &["--input", input, "--threads", "3"]);
        assert!(out.status.success(), "{case}: {}", stderr(&out));
        assert_scores_match_library(case, &records(&stdout(&out)), &docs);
        assert!(
            stderr(&out).contains("summary: records=40 errors=0"),
            "{case}: {}",
            stderr(&out)
        );
    }
    let out = score_in(dir.path(), &["--input", "docs"]);
    assert!(out.status.success(), "txt dir: {}", stderr(&out));
    assert_scores_match_library("txt dir", &records(&stdout(&out)), &txt_docs);

    let mut child = stance_cmd()
        .current_dir(dir.path())
        .args([
            "score",
            "--model",
            fixture_model_path().to_str().unwrap(),
            "-i",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(jsonl_of(&docs).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stdin: {}", stderr(&out));
    let recs = records(&stdout(&out));
    assert_scores_match_library("stdin", &recs, &docs);
}

#[test]
fn gzip_and_zstd_inputs_score_like_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(30);
    let plain = jsonl_of(&docs);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(plain.as_bytes()).unwrap();
    std::fs::write(dir.path().join("in.jsonl.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("in.jsonl.zst"),
        zstd::encode_all(plain.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("in.jsonl"), &plain).unwrap();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["id", "text"]).unwrap();
    for (id, text) in &docs {
        csv.write_record([id, text]).unwrap();
    }
    let csv = csv.into_inner().unwrap();
    std::fs::write(
        dir.path().join("in.csv.zst"),
        zstd::encode_all(&csv[..], 3).unwrap(),
    )
    .unwrap();
    let expected = stdout(&score_in(dir.path(), &["-i", "in.jsonl"]));
    for input in ["in.jsonl.gz", "in.jsonl.zst", "in.csv.zst"] {
        let out = score_in(dir.path(), &["-i", input]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        let recs = records(&stdout(&out));
        assert_scores_match_library(input, &recs, &docs);
        let strip = |r: &Value| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("source");
            r
        };
        let want: Vec<Value> = records(&expected).iter().map(strip).collect();
        assert_eq!(recs.iter().map(strip).collect::<Vec<_>>(), want, "{input}");
    }
    // Compressed standard input is recognised by its magic bytes.
    let mut child = stance_cmd()
        .args([
            "score",
            "--model",
            fixture_model_path().to_str().unwrap(),
            "-i",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let zst = std::fs::read(dir.path().join("in.jsonl.zst")).unwrap();
    child.stdin.take().unwrap().write_all(&zst).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "zstd stdin: {}", stderr(&out));
    assert_scores_match_library("zstd stdin", &records(&stdout(&out)), &docs);
}

#[test]
fn bad_records_get_one_error_record_each_and_the_rest_is_scored() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(6);
    let good = jsonl_of(&docs);
    let good: Vec<&str> = good.lines().collect();
    let mut input: Vec<u8> = Vec::new();
    let lines: Vec<&[u8]> = vec![
        good[0].as_bytes(),
        b"{\"id\": \"broken\", \"text\": ",
        good[1].as_bytes(),
        b"{\"id\": \"no-text\", \"body\": \"x\"}",
        b"{\"id\": \"empty\", \"text\": \"   \"}",
        good[2].as_bytes(),
        b"{\"id\": \"number\", \"text\": 12}",
        b"{\"id\": \"latin1\", \"text\": \"caf\xe9\"}",
        b"",
        good[3].as_bytes(),
    ];
    for l in lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    std::fs::write(dir.path().join("in.jsonl"), &input).unwrap();
    let out = score_in(
        dir.path(),
        &["-i", "in.jsonl", "-o", "out.jsonl", "--threads", "2"],
    );
    assert_eq!(out.status.code(), Some(1), "exit code: {}", stderr(&out));
    assert!(
        stderr(&out).contains("summary: records=9 errors=5"),
        "{}",
        stderr(&out)
    );
    let recs = records(&std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap());
    let expected = [
        ("doc-00000", None),
        ("in.jsonl:2", Some("invalid JSON")),
        ("doc-00001", None),
        ("no-text", Some("missing field \"text\"")),
        ("empty", Some("text is empty")),
        ("doc-00002", None),
        ("number", Some("field \"text\" must be a string")),
        ("in.jsonl:8", Some("line is not valid UTF-8")),
        // Line 9 is blank: not a record.
        ("doc-00003", None),
    ];
    assert_eq!(recs.len(), expected.len());
    for (i, (rec, (id, error))) in recs.iter().zip(expected).enumerate() {
        assert_eq!(rec["id"], id, "record {i}");
        match error {
            Some(e) => {
                let msg = rec["error"].as_str().unwrap_or_default();
                assert!(msg.starts_with(e), "record {i}: {msg}");
                assert!(rec.get("label").is_none(), "record {i}");
                assert_eq!(
                    rec["model_checksum"],
                    fixture_model().checksum(),
                    "record {i}"
                );
            }
            None => assert!(
                rec.get("error").is_none() && rec["label"].is_string(),
                "record {i}"
            ),
        }
    }
    assert_eq!(recs[7]["source"], "in.jsonl:8");

    // CSV: a short row and a non-UTF-8 text in the middle.
    let csv = b"id,text\nr1,\"The council kept the ordinance.\"\nr2\nr3,\"caf\xe9\"\nr4,The sheriff honored the detainer.\n";
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    let out = score_in(dir.path(), &["-i", "in.csv", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(1), "csv: {}", stderr(&out));
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let header = rdr.headers().unwrap().clone();
    let error_col = header.iter().position(|h| h == "error").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let got: Vec<(&str, bool)> = rows
        .iter()
        .map(|r| (&r[0], r[error_col].is_empty()))
        .collect();
    assert_eq!(
        got,
        [("r1", true), ("r2", false), ("r3", false), ("r4", true)]
    );
    assert!(
        rows[1][error_col].contains("row has 1 fields"),
        "{:?}",
        &rows[1]
    );
}

#[test]
fn many_threads_keep_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(5000);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&docs)).unwrap();
    let out = score_in(dir.path(), &["-i", "in.jsonl", "--threads", "8"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&stdout(&out));
    let want: Vec<String> = docs.iter().map(|d| d.0.clone()).collect();
    assert_eq!(ids(&recs), want);
    assert!(stderr(&out).contains("threads=8"), "{}", stderr(&out));
}

#[test]
fn shards_are_disjoint_and_their_union_is_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(103);
    std::fs::write(dir.path().join("a.jsonl"), jsonl_of(&docs[..50])).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), jsonl_of(&docs[50..])).unwrap();
    let whole = records(&stdout(&score_in(
        dir.path(),
        &["-i", "a.jsonl", "b.jsonl"],
    )));
    assert_eq!(whole.len(), 103);
    let mut union = Vec::new();
    for k in 1..=4 {
        let shard = format!("{k}/4");
        let out = score_in(dir.path(), &["-i", "a.jsonl", "b.jsonl", "--shard", &shard]);
        assert!(out.status.success(), "shard {shard}: {}", stderr(&out));
        let recs = records(&stdout(&out));
        // Round robin over the input index, across both files.
        let expected: Vec<&Value> = whole.iter().skip(k - 1).step_by(4).collect();
        assert_eq!(recs.iter().collect::<Vec<_>>(), expected, "shard {shard}");
        union.extend(recs);
    }
    union.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    assert_eq!(union, whole);
    for bad in ["0/4", "5/4", "1/0", "x"] {
        let out = score_in(dir.path(), &["-i", "a.jsonl", "--shard", bad]);
        assert_eq!(out.status.code(), Some(2), "shard {bad}");
        assert!(
            stderr(&out).contains("invalid shard"),
            "shard {bad}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn resume_after_kill_completes_the_output_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(30000);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&docs)).unwrap();
    let args = ["-i", "in.jsonl", "--threads", "1", "--explain", "5"];
    let expected = score_in(dir.path(), &[&args[..], &["-o", "full.jsonl"]].concat());
    assert!(expected.status.success(), "{}", stderr(&expected));
    let expected = std::fs::read_to_string(dir.path().join("full.jsonl")).unwrap();

    let out_path = dir.path().join("part.jsonl");
    let mut child = stance_cmd()
        .current_dir(dir.path())
        .args(["score", "--model", fixture_model_path().to_str().unwrap()])
        .args(args)
        .args(["-o", "part.jsonl"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&out_path).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "no output after 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = std::fs::read_to_string(&out_path).unwrap();
    let complete = partial.matches('\n').count();
    assert!(
        complete < docs.len(),
        "the run finished before the kill: make the input larger"
    );

    let out = score_in(
        dir.path(),
        &[&args[..], &["-o", "part.jsonl", "--resume"]].concat(),
    );
    assert!(out.status.success(), "resume: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("skipped={complete}")),
        "resume must skip the {complete} complete records: {}",
        stderr(&out)
    );
    let resumed = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        resumed == expected,
        "resumed output differs from an uninterrupted run"
    );
}

#[test]
fn resume_truncates_a_torn_record_wherever_the_cut_falls() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(700);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&docs)).unwrap();
    for format in ["jsonl", "csv"] {
        let full = score_in(
            dir.path(),
            &["-i", "in.jsonl", "--format", format, "--paragraphs"],
        );
        assert!(full.status.success(), "{format}: {}", stderr(&full));
        let full = full.stdout;
        // Cuts inside the header, inside a record, and just after a record.
        let first_break = full.iter().position(|&b| b == b'\n').unwrap();
        for cut in [
            0,
            first_break / 2,
            first_break + 1,
            full.len() / 3,
            full.len() / 2 + 17,
            full.len() - 1,
        ] {
            let path = dir.path().join(format!("out.{format}"));
            std::fs::write(&path, &full[..cut]).unwrap();
            let out = score_in(
                dir.path(),
                &[
                    "-i",
                    "in.jsonl",
                    "--format",
                    format,
                    "--paragraphs",
                    "-o",
                    path.to_str().unwrap(),
                    "--resume",
                ],
            );
            assert!(out.status.success(), "{format} cut {cut}: {}", stderr(&out));
            assert!(
                std::fs::read(&path).unwrap() == full,
                "{format} cut {cut}: output differs"
            );
        }
    }
}

#[test]
fn resume_refuses_an_output_from_another_model_or_input() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(50);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&docs)).unwrap();
    std::fs::write(
        dir.path().join("other.jsonl"),
        jsonl_of(&documents(80)[60..]),
    )
    .unwrap();
    let out = score_in(dir.path(), &["-i", "in.jsonl", "-o", "out.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let original = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let half: String = original
        .lines()
        .take(20)
        .map(|l| format!("{l}\n"))
        .collect();

    let checksum = fixture_model().checksum().to_string();
    std::fs::write(
        dir.path().join("out.jsonl"),
        half.replace(&checksum, "sha256:0000"),
    )
    .unwrap();
    let out = score_in(
        dir.path(),
        &["-i", "in.jsonl", "-o", "out.jsonl", "--resume"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("scored by model sha256:0000"),
        "{}",
        stderr(&out)
    );

    std::fs::write(dir.path().join("out.jsonl"), &half).unwrap();
    let out = score_in(
        dir.path(),
        &["-i", "other.jsonl", "-o", "out.jsonl", "--resume"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing to resume"),
        "{}",
        stderr(&out)
    );

    let out = score_in(dir.path(), &["-i", "in.jsonl", "--resume"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--resume needs --output"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fatal_input_problems_exit_2_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id,body\n1,hello\n").unwrap();
    std::fs::write(dir.path().join("in.dat"), "x").unwrap();
    let cases = [
        (vec!["-i", "missing.jsonl"], "missing.jsonl"),
        (vec!["-i", "in.csv"], "no column \"text\""),
        (vec!["-i", "in.dat"], "cannot tell the input format"),
    ];
    for (args, message) in cases {
        let out = score_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let out = stance_cmd()
        .current_dir(dir.path())
        .args(["score", "--model", "nope.json", "-i", "in.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad model");
    // --text-field picks the column.
    let out = score_in(dir.path(), &["-i", "in.csv", "--text-field", "body"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(records(&stdout(&out))[0]["id"], "1");
}

#[test]
fn paragraphs_explanations_and_csv_output_match_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(12);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&docs)).unwrap();
    let model = fixture_model();
    let opts = DocumentOptions {
        explain: 3,
        ..DocumentOptions::default()
    };
    let out = score_in(dir.path(), &["-i", "in.jsonl", "--explain", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&stdout(&out));
    assert_scores_match_library("explain", &recs, &docs);
    for (rec, (id, text)) in recs.iter().zip(&docs) {
        let expected = model.score_document(text, &opts).unwrap();
        assert_eq!(
            rec["paragraphs"],
            serde_json::to_value(&expected.paragraphs).unwrap(),
            "paragraphs of {id}"
        );
    }
    assert!(
        recs[0]["paragraphs"][0]["explanation"]["toward"].is_array(),
        "explanations missing"
    );

    let out = score_in(dir.path(), &["-i", "in.jsonl", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), docs.len());
    for (row, (id, text)) in rows.iter().zip(&docs) {
        let p = model
            .score_document(text, &DocumentOptions::default())
            .unwrap()
            .probabilities;
        assert_eq!(&row[col("id")], id.as_str());
        let got: Vec<f64> = ["pro", "anti", "neutral"]
            .iter()
            .map(|c| row[col(c)].parse().unwrap())
            .collect();
        assert_eq!(got, [p.pro, p.anti, p.neutral], "csv {id}");
        assert_eq!(&row[col("model_checksum")], model.checksum(), "csv {id}");
    }
}

// See: issue 15 (CRLF line ends gave every CSV row the line before its own).
#[test]
fn csv_sources_name_the_line_each_row_starts_on_whatever_the_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body, want) in [
        ("lf.csv", "id,text\na,ICE out\nb,ICE in\n", vec![2, 3]),
        (
            "crlf.csv",
            "id,text\r\na,ICE out\r\nb,ICE in\r\n",
            vec![2, 3],
        ),
        (
            "mixed.csv",
            "id,text\r\na,ICE out\nb,\"ICE\r\nin\"\r\nc,x\n",
            vec![2, 3, 5],
        ),
    ] {
        std::fs::write(dir.path().join(name), body).unwrap();
        let out = score_in(dir.path(), &["--input", name]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let got: Vec<String> = records(&stdout(&out))
            .iter()
            .map(|r| r["source"].as_str().unwrap_or_default().to_string())
            .collect();
        let want: Vec<String> = want.iter().map(|l| format!("{name}:{l}")).collect();
        assert_eq!(got, want, "{name}");
    }
}

/// `docs` as JSONL whose records carry fields of every JSON type to keep;
/// every fifth record lacks `outlet`.
fn jsonl_with_fields(docs: &[(String, String)]) -> String {
    docs.iter()
        .enumerate()
        .map(|(i, (id, text))| {
            let mut v = serde_json::json!({
                "id": id,
                "date": format!("2019-03-{:02}", i % 28 + 1),
                "wc": i * 10,
                "meta": {"desk": "metro", "tags": ["ice", i]},
                "paywall": i % 2 == 0,
                "byline": null,
                "text": text,
            });
            if i % 5 != 4 {
                v["outlet"] = serde_json::json!(["Gazette", "Tribune", "Herald"][i % 3]);
            }
            v.to_string() + "\n"
        })
        .collect()
}

/// The rows of a CSV output, as strings.
fn string_rows<R: std::io::Read>(rdr: &mut csv::Reader<R>) -> Vec<Vec<String>> {
    rdr.records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// A record without the given keys.
fn without(rec: &Value, keys: &[&str]) -> Value {
    let mut rec = rec.clone();
    for k in keys {
        rec.as_object_mut().unwrap().remove(*k);
    }
    rec
}

#[test]
fn kept_json_fields_are_copied_as_they_are_and_missing_ones_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(20);
    let mut input = jsonl_with_fields(&docs);
    // Error records: text not a string (kept fields copied), invalid JSON (null).
    input.push_str("{\"id\": \"num\", \"outlet\": \"Post\", \"wc\": 1.50, \"text\": 3}\n");
    input.push_str("{\"id\": \"broken\", \"outlet\": \"Post\", \"text\": \n");
    std::fs::write(dir.path().join("in.jsonl"), &input).unwrap();
    let keep = ["outlet", "wc", "meta", "paywall", "byline", "absent"];
    let out = score_in(
        dir.path(),
        &[
            "-i",
            "in.jsonl",
            "--keep-fields",
            "outlet,wc,meta",
            "--keep-fields",
            "paywall,byline,absent",
            "--threads",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let plain = score_in(dir.path(), &["-i", "in.jsonl", "--threads", "2"]);
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    let recs = records(&stdout(&out));
    let plain = records(&stdout(&plain));
    assert_eq!(recs.len(), docs.len() + 2);
    let inputs = records(
        &input
            .lines()
            .take(docs.len() + 1)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    for (i, rec) in recs.iter().enumerate() {
        // Scores and everything else as without --keep-fields.
        assert_eq!(without(rec, &keep), plain[i], "record {i}");
        // Kept keys right after source, in the order given, on every record.
        let line = &lines[i];
        let at = |k: &str| {
            line.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("record {i}: no {k}"))
        };
        let order: Vec<usize> = ["source"].iter().chain(&keep).map(|k| at(k)).collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "record {i}: key order {line}"
        );
        let next = if rec.get("error").is_some() {
            "error"
        } else {
            "label"
        };
        assert!(at("absent") < at(next), "record {i}: {line}");
        // Values: as in the input, missing ones null.
        if i <= docs.len() {
            for k in keep {
                let want = inputs[i].get(k).cloned().unwrap_or(Value::Null);
                assert_eq!(rec[k], want, "record {i} field {k}");
            }
        }
    }
    assert_eq!(recs[4]["outlet"], Value::Null, "a record without outlet");
    assert!(
        lines[docs.len()].contains("\"wc\":1.50,"),
        "number copied as written: {}",
        lines[docs.len()]
    );
    assert_eq!(
        recs[docs.len()]["outlet"],
        "Post",
        "error record keeps fields"
    );
    assert!(recs[docs.len()]["error"].is_string());
    let broken = &recs[docs.len() + 1];
    assert!(broken["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid JSON"));
    for k in keep {
        assert_eq!(broken[k], Value::Null, "invalid JSON: {k} null");
    }

    // CSV output: strings as is, other values as JSON text, null and missing empty.
    let out = score_in(
        dir.path(),
        &[
            "-i",
            "in.jsonl",
            "--format",
            "csv",
            "--keep-fields",
            "outlet,wc,meta,paywall,byline,absent",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..9],
        ["id", "source", "outlet", "wc", "meta", "paywall", "byline", "absent", "label"]
    );
    assert_eq!(header.last().map(String::as_str), Some("model_checksum"));
    let rows = string_rows(&mut rdr);
    assert_eq!(
        &rows[1][2..8],
        [
            "Tribune",
            "10",
            r#"{"desk":"metro","tags":["ice",1]}"#,
            "false",
            "",
            ""
        ]
    );
    assert_eq!(&rows[4][2..3], [""], "missing outlet");
    assert_eq!(&rows[docs.len()][2..4], ["Post", "1.50"]);
    assert_eq!(rows[docs.len() + 1][2..8].concat(), "", "invalid JSON");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), header.len(), "row {i}");
        assert_eq!(&row[0], recs[i]["id"].as_str().unwrap(), "row {i}");
    }
}

#[test]
fn kept_csv_columns_are_copied_as_strings() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(9);
    let mut w = csv::Writer::from_path(dir.path().join("in.csv")).unwrap();
    w.write_record(["outlet", "text", "id", "wc", "date"])
        .unwrap();
    for (i, (id, text)) in docs.iter().enumerate() {
        let outlet = if i == 3 { "" } else { "The \"Herald\", Metro" };
        w.write_record([outlet, text, id, &(i * 10).to_string(), "2019-03-01"])
            .unwrap();
    }
    w.flush().unwrap();
    let out = score_in(dir.path(), &["-i", "in.csv", "--keep-fields", "wc,outlet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&stdout(&out));
    assert_scores_match_library("csv keep", &recs, &docs);
    assert_eq!(recs[2]["wc"], "20", "a CSV cell is a string");
    assert_eq!(recs[2]["outlet"], "The \"Herald\", Metro");
    assert_eq!(recs[3]["outlet"], "", "an empty cell is an empty string");

    let out = score_in(
        dir.path(),
        &[
            "-i",
            "in.csv",
            "--format",
            "csv",
            "--keep-fields",
            "wc,outlet",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("id,source,wc,outlet,label,pro,anti,neutral,stance_index,low_confidence,error,model,model_version,model_checksum\n"),
        "{text}"
    );
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let rows = string_rows(&mut rdr);
    assert_eq!(rows.len(), docs.len());
    assert_eq!(
        &rows[2][..4],
        [
            docs[2].0.as_str(),
            recs[2]["source"].as_str().unwrap(),
            "20",
            "The \"Herald\", Metro"
        ]
    );
    assert_eq!(&rows[8][13], fixture_model().checksum());

    // A kept column the header lacks: exit 2, naming the file and the column.
    let out = score_in(dir.path(), &["-i", "in.csv", "--keep-fields", "wc,section"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("in.csv: no column \"section\" in the CSV header"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn keep_fields_refusals_exit_2_and_leave_the_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.jsonl"),
        jsonl_with_fields(&documents(3)),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("doc.txt"),
        "The council kept the ordinance.",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    let cases: [(&[&str], &str); 10] = [
        (
            &["--keep-fields", "outlet,id"],
            "\"id\" cannot be kept: every output record already has a field of that name",
        ),
        (&["--keep-fields", "label"], "\"label\" cannot be kept"),
        (
            &["--keep-fields", "probabilities"],
            "\"probabilities\" cannot be kept",
        ),
        (
            &["--keep-fields", "anti", "--format", "csv"],
            "\"anti\" cannot be kept",
        ),
        (
            &["--keep-fields", "model_checksum"],
            "\"model_checksum\" cannot be kept",
        ),
        (&["--keep-fields", "text"], "\"text\" is the text field"),
        (
            &["--keep-fields", "outlet,date,outlet"],
            "\"outlet\" is given twice",
        ),
        (&["--keep-fields", "outlet,,date"], "empty field name"),
        (
            &["-i", "doc.txt", "--keep-fields", "outlet"],
            "doc.txt: --keep-fields outlet needs JSONL or CSV inputs",
        ),
        (
            &["-i", "docs", "--keep-fields", "outlet"],
            "docs: --keep-fields outlet needs JSONL or CSV inputs",
        ),
    ];
    for (args, message) in cases {
        std::fs::write(dir.path().join("out.jsonl"), "untouched\n").unwrap();
        let mut all = vec!["-i", "in.jsonl"];
        all.extend(args);
        all.extend(["-o", "out.jsonl"]);
        let out = score_in(dir.path(), &all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap(),
            "untouched\n",
            "{args:?}"
        );
    }
    // Another text field frees "text"; another id field may be kept by name.
    let out = score_in(
        dir.path(),
        &[
            "-i",
            "in.jsonl",
            "--text-field",
            "date",
            "--id-field",
            "wc",
            "--keep-fields",
            "text,wc",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&stdout(&out));
    assert_eq!(
        (recs[1]["id"].as_str(), recs[1]["wc"].as_i64()),
        (Some("10"), Some(10))
    );
    assert!(recs[1]["text"].as_str().unwrap().contains("(item 1)"));
}

#[test]
fn resume_with_kept_fields_gives_the_bytes_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(600);
    std::fs::write(dir.path().join("in.jsonl"), jsonl_with_fields(&docs)).unwrap();
    for format in ["jsonl", "csv"] {
        for shard in ["1/1", "2/3"] {
            let case = format!("{format} shard {shard}");
            let args = [
                "-i",
                "in.jsonl",
                "--format",
                format,
                "--shard",
                shard,
                "--keep-fields",
                "outlet,meta,wc",
            ];
            let full = score_in(dir.path(), &args);
            assert!(full.status.success(), "{case}: {}", stderr(&full));
            let full = full.stdout;
            let first_break = full.iter().position(|&b| b == b'\n').unwrap();
            for cut in [
                0,
                first_break / 2,
                first_break + 1,
                full.len() / 3,
                full.len() / 2 + 17,
                full.len() - 1,
            ] {
                let path = dir.path().join(format!("out.{format}"));
                std::fs::write(&path, &full[..cut]).unwrap();
                let out = score_in(
                    dir.path(),
                    &[&args[..], &["-o", path.to_str().unwrap(), "--resume"]].concat(),
                );
                assert!(out.status.success(), "{case} cut {cut}: {}", stderr(&out));
                assert!(
                    std::fs::read(&path).unwrap() == full,
                    "{case} cut {cut}: output differs"
                );
            }
        }
    }
}

#[test]
fn resume_refuses_an_output_with_other_kept_fields() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.jsonl"),
        jsonl_with_fields(&documents(40)),
    )
    .unwrap();
    for format in ["jsonl", "csv"] {
        let out_name = format!("out.{format}");
        let first = [
            "-i",
            "in.jsonl",
            "--format",
            format,
            "-o",
            &out_name,
            "--keep-fields",
            "outlet,date",
        ];
        let out = score_in(dir.path(), &first);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let full = std::fs::read(dir.path().join(&out_name)).unwrap();
        let half = &full[..full.len() / 2];
        let cases: [(&[&str], &str); 3] = [
            (
                &["--keep-fields", "date,outlet"],
                "this run keeps [date,outlet]",
            ),
            (&["--keep-fields", "outlet"], "this run keeps [outlet]"),
            (&[], "this run keeps []"),
        ];
        for (keep, message) in cases {
            std::fs::write(dir.path().join(&out_name), half).unwrap();
            let args = [
                &[
                    "-i", "in.jsonl", "--format", format, "-o", &out_name, "--resume",
                ][..],
                keep,
            ]
            .concat();
            let out = score_in(dir.path(), &args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{format} {keep:?}: {}",
                stderr(&out)
            );
            let err = stderr(&out);
            assert!(
                err.contains("refusing to resume: the output keeps the fields [outlet,date]")
                    && err.contains(message),
                "{format} {keep:?}: {err}"
            );
            assert!(
                std::fs::read(dir.path().join(&out_name)).unwrap() == half,
                "{format} {keep:?}: output touched"
            );
        }
        // An output written without --keep-fields is refused when resumed with them.
        let plain = score_in(
            dir.path(),
            &["-i", "in.jsonl", "--format", format, "-o", &out_name],
        );
        assert!(plain.status.success());
        let out = score_in(dir.path(), &[&first[..], &["--resume"]].concat());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{format} plain: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("the output keeps the fields []"),
            "{format}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn shards_with_kept_fields_are_slices_of_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.jsonl"),
        jsonl_with_fields(&documents(50)),
    )
    .unwrap();
    let keep = ["--keep-fields", "outlet,meta"];
    let whole = records(&stdout(&score_in(
        dir.path(),
        &[&["-i", "in.jsonl"][..], &keep].concat(),
    )));
    assert_eq!(whole.len(), 50);
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = score_in(
            dir.path(),
            &[&["-i", "in.jsonl", "--shard", &shard][..], &keep].concat(),
        );
        assert!(out.status.success(), "shard {shard}: {}", stderr(&out));
        let expected: Vec<&Value> = whole.iter().skip(k - 1).step_by(3).collect();
        let recs = records(&stdout(&out));
        assert_eq!(recs.iter().collect::<Vec<_>>(), expected, "shard {shard}");
        assert!(
            recs.iter()
                .all(|r| r.get("outlet").is_some() && r.get("meta").is_some()),
            "shard {shard}"
        );
    }
}

//! `stance sample` and `stance labels import`: the real binary on files.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{run_in, stderr, stdout};

/// An archive of news-like documents in which one paragraph is a wire copy
/// repeated in five documents.
fn archive(dir: &std::path::Path) -> std::path::PathBuf {
    let wire = "The county board voted on Tuesday on whether jail staff should keep notifying federal immigration agents before releasing inmates.";
    let others = [
        "Advocates said the city should stop sharing release dates with ICE because families are afraid to report crimes.",
        "The sheriff argued that honoring detainers keeps dangerous offenders off the streets and called the sanctuary ordinance reckless.",
        "Council members will hold a second hearing next month on the proposed policy, the clerk said.",
        "Short line.",
        "Residents packed the meeting, some holding signs supporting the police department's cooperation with federal agents.",
        "A spokesperson for the mayor said the policy protects immigrant neighbors and that local police are not immigration agents.",
        "State lawmakers are weighing a bill that would bar counties from limiting cooperation with immigration authorities.",
    ];
    let mut lines = Vec::new();
    for i in 0..12 {
        let a = others[i % others.len()];
        let b = others[(i * 3 + 1) % others.len()];
        let text = if i % 2 == 0 {
            format!("{wire}\n\n{a}\n\n{b} Story {i}.")
        } else {
            format!("{a}\n\n{b} Item {i}.")
        };
        lines.push(serde_json::json!({"id": format!("doc-{i}"), "text": text}).to_string());
    }
    lines.push("{\"id\": \"broken\", \"text\": 5}".to_string());
    let p = dir.join("archive.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn read_jsonl(p: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn sample_picks_distinct_uncertain_paragraphs_scored_as_stance_score_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let d = dir.path();
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "6",
            "--format",
            "jsonl",
            "--output",
            "tasks.jsonl",
            "-j",
            "2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad_records=1"),
        "the broken record is counted: {err}"
    );
    assert!(err.contains("short="), "{err}");
    let tasks = read_jsonl(&d.join("tasks.jsonl"));
    assert_eq!(tasks.len(), 6);
    let texts: HashSet<&str> = tasks.iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 6, "the wire copy is picked at most once");
    assert!(
        !texts.contains("Short line."),
        "paragraphs under --min-chars are never picked"
    );
    let priorities: Vec<f64> = tasks
        .iter()
        .map(|t| t["priority"].as_f64().unwrap())
        .collect();
    assert!(
        priorities.windows(2).all(|w| w[0] >= w[1]),
        "most uncertain first: {priorities:?}"
    );

    // Each task's probabilities are those `stance score --paragraphs` gives
    // the same paragraph of the same document, and its offsets point at it.
    let o = run_in(
        d,
        &[
            "score",
            "--input",
            "archive.jsonl",
            "--paragraphs",
            "--output",
            "scored.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "one bad record: {}", stderr(&o));
    let scored = read_jsonl(&d.join("scored.jsonl"));
    let source: Vec<Value> = read_jsonl(&input);
    for t in &tasks {
        let doc = scored.iter().find(|s| s["id"] == t["doc_id"]).unwrap();
        let k = t["paragraph"].as_u64().unwrap() as usize;
        let para = &doc["paragraphs"][k];
        assert_eq!(para["probabilities"], t["probabilities"], "{t}");
        assert_eq!(para["start"], t["start"]);
        let text: Vec<char> = source.iter().find(|s| s["id"] == t["doc_id"]).unwrap()["text"]
            .as_str()
            .unwrap()
            .chars()
            .collect();
        let (s, e) = (
            t["start"].as_u64().unwrap() as usize,
            t["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            text[s..e].iter().collect::<String>(),
            t["text"].as_str().unwrap()
        );
        assert_eq!(
            t["task_id"],
            format!("{}#{}", t["doc_id"].as_str().unwrap(), k)
        );
        assert!(t["model_checksum"].as_str().unwrap().starts_with("sha256:"));
    }

    // The same picks with one thread, byte for byte; random differs from margin.
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "6",
            "--format",
            "jsonl",
            "--output",
            "one.jsonl",
            "-j",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(d.join("tasks.jsonl")).unwrap(),
        std::fs::read(d.join("one.jsonl")).unwrap()
    );
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "3",
            "--strategy",
            "random",
            "--format",
            "jsonl",
            "--output",
            "random.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(read_jsonl(&d.join("random.jsonl"))
        .iter()
        .all(|t| t["strategy"] == "random"));
}

#[test]
fn sample_asks_for_more_than_the_archive_holds_with_a_warning_and_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let d = dir.path();
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "500",
            "--output",
            "t.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: picked"), "{}", stderr(&o));
    assert!(d.join("t.label_config.xml").exists());
    let tasks: Value = serde_json::from_slice(&std::fs::read(d.join("t.json")).unwrap()).unwrap();
    assert!(tasks[0]["predictions"][0]["result"][0]["value"]["choices"][0].is_string());

    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "5",
            "--output",
            "t.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("t.json already exists"),
        "{}",
        stderr(&o)
    );
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "--diversity",
            "1.5",
            "--output",
            "u.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--diversity 1.5 must be between 0 and 1"),
        "{}",
        stderr(&o)
    );
    let o = run_in(
        d,
        &["sample", "--input", "missing.jsonl", "--output", "u.json"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));
    assert!(!d.join("u.json").exists(), "nothing written on failure");
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "--strategy",
            "loudest",
            "--output",
            "u.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown strategy"), "{}", stderr(&o));
}

#[test]
fn labels_import_reads_a_label_studio_export_that_train_and_eval_then_read() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let d = dir.path();
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "6",
            "--output",
            "tasks.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Stand in for Label Studio: its JSON export is the tasks with
    // annotations added (two annotators; they disagree on the last task).
    let mut tasks: Value =
        serde_json::from_slice(&std::fs::read(d.join("tasks.json")).unwrap()).unwrap();
    let labels = ["pro", "anti", "neutral", "pro", "anti", "neutral"];
    for (i, t) in tasks.as_array_mut().unwrap().iter_mut().enumerate() {
        let ann = |label: &str, user: u64| {
            serde_json::json!({"id": i * 10 + user as usize, "completed_by": user, "was_cancelled": false,
                "created_at": "2026-12-06T04:00:00Z", "lead_time": 3.5,
                "result": [{"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]})
        };
        let second = if i == 5 { "pro" } else { labels[i] };
        t["id"] = serde_json::json!(i + 1);
        t["annotations"] = serde_json::json!([ann(labels[i], 1), ann(second, 2)]);
    }
    std::fs::write(
        d.join("export.json"),
        serde_json::to_string_pretty(&tasks).unwrap(),
    )
    .unwrap();
    let o = run_in(
        d,
        &[
            "labels",
            "import",
            "--from",
            "labelstudio",
            "export.json",
            "--output",
            "labeled.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("tasks=6 labeled=5 unanimous=5 majority=0 unresolved=1"),
        "{err}"
    );
    assert!(err.contains("labeled.disagreements.jsonl"), "{err}");
    let labeled = read_jsonl(&d.join("labeled.jsonl"));
    assert_eq!(labeled.len(), 5);
    assert_eq!(read_jsonl(&d.join("labeled.disagreements.jsonl")).len(), 1);
    // The labeled file is training data as it is.
    let o = run_in(d, &["eval", "--data", "labeled.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("macro"), "{}", stdout(&o));

    // A second import refuses to overwrite; an unknown label is a file:line error.
    let o = run_in(
        d,
        &[
            "labels",
            "import",
            "--from",
            "labelstudio",
            "export.json",
            "--output",
            "labeled.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    tasks[2]["annotations"][0]["result"][0]["value"]["choices"][0] = "neutrall".into();
    let bad = serde_json::to_string_pretty(&tasks).unwrap();
    std::fs::write(d.join("bad.json"), &bad).unwrap();
    let line = bad.lines().position(|l| l.contains("neutrall")).unwrap();
    let o = run_in(
        d,
        &[
            "labels",
            "import",
            "--from",
            "labelstudio",
            "bad.json",
            "--output",
            "x.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.json:") && err.contains("unknown label \"neutrall\""),
        "{err}"
    );
    // The error names the line of the task holding the bad label.
    let task_line: usize = err
        .split("bad.json:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        task_line <= line + 1,
        "task starts at or before the label's line {}: {err}",
        line + 1
    );
    assert!(!d.join("x.jsonl").exists());
}

#[test]
fn labels_import_reads_doccano_exports_one_file_per_annotator() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let d = dir.path();
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "3",
            "--format",
            "doccano",
            "--output",
            "tasks.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Doccano's export: its own id, the text, the chosen labels, and the
    // imported fields as metadata.
    let tasks = read_jsonl(&d.join("tasks.jsonl"));
    let export = |labels: [&str; 3]| {
        tasks
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (t, l))| {
                let mut meta = t.clone();
                meta.as_object_mut().unwrap().remove("text");
                serde_json::json!({"id": i + 1, "text": t["text"], "label": [l], "meta": meta})
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    std::fs::write(d.join("ana.jsonl"), export(["pro", "anti", "neutral"])).unwrap();
    std::fs::write(d.join("ben.jsonl"), export(["pro", "neutral", "neutral"])).unwrap();
    let o = run_in(
        d,
        &[
            "labels",
            "import",
            "--from",
            "doccano",
            "ana.jsonl",
            "ben.jsonl",
            "--output",
            "labeled.jsonl",
            "--agreement",
            "unanimous",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tasks=3 labeled=2 unanimous=2 majority=0 unresolved=1"),
        "{}",
        stderr(&o)
    );
    let labeled = read_jsonl(&d.join("labeled.jsonl"));
    assert_eq!(labeled[0]["annotators"], serde_json::json!(["ana", "ben"]));
    assert_eq!(labeled[0]["task_id"], tasks[0]["task_id"]);
}

#[test]
fn a_second_round_excludes_what_the_first_sent_out() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let d = dir.path();
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "4",
            "--output",
            "round1.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "-n",
            "4",
            "--format",
            "jsonl",
            "--exclude",
            "round1.json",
            "--output",
            "round2.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("excluded="), "{}", stderr(&o));
    let first: Value =
        serde_json::from_slice(&std::fs::read(d.join("round1.json")).unwrap()).unwrap();
    let first: HashSet<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["data"]["text"].as_str().unwrap())
        .collect();
    let second = read_jsonl(&d.join("round2.jsonl"));
    assert_eq!(second.len(), 4);
    for t in &second {
        assert!(
            !first.contains(t["text"].as_str().unwrap()),
            "picked again: {t}"
        );
    }
    std::fs::write(d.join("bad.jsonl"), "{\"text\": \"a\"}\n[1]\n").unwrap();
    let o = run_in(
        d,
        &[
            "sample",
            "--input",
            "archive.jsonl",
            "--exclude",
            "bad.jsonl",
            "--output",
            "x.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.jsonl:2: a line must be a JSON object"),
        "{}",
        stderr(&o)
    );
}

//! `stance train`, `eval`, `predict` and `tokenize` run as a user would:
//! good runs and every bad input (exit code and message).

use crate::helpers::{fixture_data, fixture_model_path, run_in, stance_cmd, stderr, stdout};

#[test]
fn train_writes_model_and_report_then_eval_and_predict_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture_data();
    let out = run_in(
        dir.path(),
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            "m/tiny.json",
            "--cv",
            "3",
        ],
    );
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    assert!(
        stdout(&out).contains("3-fold cross-validation: macro-F1"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("fold 3/3"),
        "progress missing: {}",
        stderr(&out)
    );
    assert!(dir.path().join("m/tiny.json").is_file());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("m/tiny.report.json")).unwrap())
            .unwrap();
    assert_eq!(report["cv"]["folds"], 3);
    assert_eq!(report["n_examples"], 24);

    let out = run_in(
        dir.path(),
        &[
            "eval",
            "--model",
            "m/tiny.json",
            "--data",
            data.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    for key in ["macro_f1", "accuracy", "per_class", "confusion", "n"] {
        assert!(v.get(key).is_some(), "eval --json lacks {key}: {v}");
    }
    assert_eq!(v["n"], 24);
    // Training data is learned: the fixture is tiny and separable enough.
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "{v}");

    let out = run_in(
        dir.path(),
        &[
            "predict",
            "--model",
            "m/tiny.json",
            "--json",
            "Protect our neighbors from ICE raids.",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let p = &v["probabilities"];
    let sum =
        p["pro"].as_f64().unwrap() + p["anti"].as_f64().unwrap() + p["neutral"].as_f64().unwrap();
    assert!((sum - 1.0).abs() < 1e-9, "{v}");
    assert!(v["checksum"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn predict_reads_standard_input() {
    use std::io::Write;
    let mut child = stance_cmd()
        .args([
            "predict",
            "--model",
            fixture_model_path().to_str().unwrap(),
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"The sheriff will honor detainers.")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let line = stdout(&out);
    assert!(
        ["pro\t", "anti\t", "neutral\t"]
            .iter()
            .any(|l| line.starts_with(l)),
        "{line}"
    );
}

#[test]
fn tokenize_prints_analyzer_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["tokenize", "--data", fixture_data().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "tiny-01");
    assert_eq!(first["tokens"][0], "citi");
}

/// Every bad input: non-zero exit (2), a message naming the file and line, no panic.
#[test]
fn bad_training_inputs_fail_with_clear_messages() {
    // (case, file name, file bytes, extra args, expected message)
    type Case<'a> = (&'a str, &'a str, &'a [u8], &'a [&'a str], &'a str);
    let cases: &[Case] = &[
        ("missing file", "absent.jsonl", b"", &[], "absent.jsonl: No such file"),
        ("invalid json", "d.jsonl", b"{\"text\":\"a b\",\"label\":\"pro\"}\n{\"text\": oops}\n", &[], "d.jsonl:2: invalid JSON"),
        ("invalid csv", "d.csv", b"text,label\n\"a b\",pro\n\"unterminated,anti\nx,y,z\n", &[], "d.csv:"),
        ("missing field", "d.jsonl", b"{\"text\":\"a b\"}\n", &[], "d.jsonl:1: missing field \"label\""),
        ("unknown label", "d.jsonl", b"{\"text\":\"a b\",\"label\":\"favour\"}\n", &[], "d.jsonl:1: unknown label \"favour\""),
        ("empty text", "d.jsonl", b"{\"text\":\"a\",\"label\":\"pro\"}\n{\"text\":\"\",\"label\":\"anti\"}\n", &[], "d.jsonl:2: empty text"),
        ("non utf8", "d.jsonl", b"{\"text\":\"a\",\"label\":\"pro\"}\n{\"text\":\"\xc3\x28\",\"label\":\"anti\"}\n", &[], "d.jsonl:2: not valid UTF-8"),
        ("one class", "d.jsonl", b"{\"text\":\"a b\",\"label\":\"pro\"}\n{\"text\":\"c d\",\"label\":\"pro\"}\n", &["--cv", "0"], "at least two labels"),
        (
            "class too small",
            "d.jsonl",
            b"{\"text\":\"a b\",\"label\":\"pro\"}\n{\"text\":\"c d\",\"label\":\"anti\"}\n{\"text\":\"e f\",\"label\":\"anti\"}\n",
            &["--cv", "2"],
            "label pro has 1 examples, fewer than the 2 cross-validation folds",
        ),
        ("bad c", "d.jsonl", b"{\"text\":\"a b\",\"label\":\"pro\"}\n{\"text\":\"c d\",\"label\":\"anti\"}\n", &["--cv", "0", "--c=-1"], "c must be"),
        ("bad ngrams", "d.jsonl", b"{\"text\":\"a b\",\"label\":\"pro\"}\n", &["--ngrams", "x..2"], "invalid --ngrams"),
        ("empty file", "d.jsonl", b"\n", &[], "d.jsonl: no examples"),
    ];
    for (name, file, bytes, extra, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        if !bytes.is_empty() {
            std::fs::write(dir.path().join(file), bytes).unwrap();
        }
        let mut args = vec!["train", "--data", file, "--out", "m.json"];
        args.extend_from_slice(extra);
        let out = run_in(dir.path(), &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "case {name}: {err}");
        assert!(err.contains(want), "case {name}: want {want:?} in {err:?}");
        assert!(!err.contains("panicked"), "case {name} panicked: {err}");
        assert!(
            !dir.path().join("m.json").exists(),
            "case {name} wrote a model"
        );
    }
}

#[test]
fn duplicate_texts_warn_but_train() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = std::fs::read_to_string(fixture_data()).unwrap();
    data.push_str("{\"text\":\"The county board will meet Tuesday at 6 p.m. to review the jail budget.\",\"label\":\"neutral\"}\n");
    std::fs::write(dir.path().join("d.jsonl"), data).unwrap();
    let out = run_in(
        dir.path(),
        &["train", "--data", "d.jsonl", "--out", "m.json", "--cv", "0"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("d.jsonl:25: duplicate text (same as line 3)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_and_predict_refuse_bad_models_and_empty_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.json"), b"{\"format_version\":1,").unwrap();
    let data = fixture_data();
    let out = run_in(
        dir.path(),
        &[
            "eval",
            "--model",
            "bad.json",
            "--data",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.json: model file is truncated"),
        "{}",
        stderr(&out)
    );
    let out = run_in(
        dir.path(),
        &[
            "predict",
            "--model",
            fixture_model_path().to_str().unwrap(),
            "   ",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("text is empty"), "{}", stderr(&out));
    let out = run_in(dir.path(), &["predict", "--model", "nope.json", "text"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.json"), "{}", stderr(&out));
}

// See: issue 15 (training without --out overwrote the shipped model).
#[test]
fn train_never_overwrites_a_model_without_force_and_records_name_and_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture_data(), dir.path().join("mine.jsonl")).unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", "mine.jsonl", "--cv", "0"];
        args.extend_from_slice(extra);
        run_in(dir.path(), &args)
    };
    let out = train(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model = dir.path().join("mine.model.json");
    assert!(model.is_file(), "the default output sits beside the data");
    let first = std::fs::read(&model).unwrap();
    let loaded = stance::artifact::load(&model).unwrap();
    assert_eq!(
        loaded.id(),
        "mine@0.1.0",
        "name from the file, default version"
    );

    let out = train(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("mine.model.json already exists; pass --force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&model).unwrap(), first, "left untouched");

    let out = train(&["--force", "--name", "county", "--version", "3.1.0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let loaded = stance::artifact::load(&model).unwrap();
    assert_eq!(loaded.id(), "county@3.1.0");
}

// See: issue 15 (error causes were printed twice).
#[test]
fn file_errors_name_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["predict", "--model", "nope.json", "x"][..],
        &["eval", "--data", "nope.jsonl"][..],
    ] {
        let out = run_in(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err.matches("No such file or directory").count(),
            1,
            "{args:?}: {err}"
        );
    }
}

// See: issue 15 (predict scored the text as one block, the service by paragraphs).
#[test]
fn predict_scores_paragraphs_like_the_service_and_explains_them() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture_model_path().to_str().unwrap().to_string();
    let text = "Protect our neighbors from ICE raids.\n\nThe council meets Tuesday.";
    let out = run_in(
        dir.path(),
        &[
            "predict",
            "--model",
            &model,
            "--json",
            "--explain",
            "2",
            text,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(v["low_confidence"].is_boolean(), "{v}");
    let paragraphs = v["paragraphs"]
        .as_array()
        .expect("paragraphs with --explain");
    assert_eq!(paragraphs.len(), 2, "{v}");
    assert!(paragraphs[0]["explanation"]["toward"].is_array(), "{v}");
    let out = run_in(
        dir.path(),
        &["predict", "--model", &model, "--paragraphs", text],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        3,
        "document line and two paragraph lines"
    );
}

// See: issue 15 (commands needed models/ in the working directory).
#[test]
fn commands_use_the_built_in_model_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "predict",
            "--json",
            "The council voted to keep its sanctuary policy.",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let shipped = stance::artifact::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(stance::DEFAULT_MODEL_PATH),
    )
    .unwrap();
    assert_eq!(
        v["checksum"],
        shipped.checksum(),
        "the built-in model is the shipped file"
    );
}

#[test]
fn calibrate_refits_only_the_temperature_and_eval_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture_model_path().to_str().unwrap().to_string();
    let data = fixture_data();
    let data = data.to_str().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "calibrate",
            "--model",
            &model,
            "--data",
            data,
            "--out",
            "cal.json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("temperature 1.000 -> "),
        "{}",
        stdout(&out)
    );
    let before = stance::artifact::load(std::path::Path::new(&model)).unwrap();
    let after = stance::artifact::load(&dir.path().join("cal.json")).unwrap();
    assert_ne!(after.calibration().temperature, 1.0);
    assert_eq!(after.tfidf().vocabulary(), before.tfidf().vocabulary());
    for text in [
        "Protect our neighbors from ICE raids.",
        "The council meets Tuesday.",
    ] {
        assert_eq!(
            after.score(text).label(),
            before.score(text).label(),
            "{text}"
        );
    }
    let out = run_in(
        dir.path(),
        &[
            "calibrate",
            "--model",
            &model,
            "--data",
            data,
            "--out",
            "cal.json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "never overwrites without --force"
    );
    let out = run_in(
        dir.path(),
        &["eval", "--model", "cal.json", "--data", data, "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let c = &v["calibration"];
    assert!(
        c["calibrated"]["ece"].is_number() && c["uncalibrated"]["ece"].is_number(),
        "{v}"
    );
    assert_eq!(c["calibrated"]["bins"].as_array().map(Vec::len), Some(15));
    assert!(
        c["calibrated"]["log_loss"].as_f64() <= c["uncalibrated"]["log_loss"].as_f64(),
        "fitted on this file, the log loss cannot be worse: {c}"
    );
    let out = run_in(
        dir.path(),
        &[
            "eval",
            "--model",
            "cal.json",
            "--data",
            data,
            "--no-calibrate",
        ],
    );
    assert!(
        stdout(&out).contains("temperature 1.000, --no-calibrate"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn calibrate_warns_on_small_data_and_a_bound_and_sets_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture_model_path().to_str().unwrap().to_string();
    let data = fixture_data();
    // 24 examples the fixture model was trained on and gets all right: the
    // fit sharpens until it stops at the smallest temperature.
    let out = run_in(
        dir.path(),
        &[
            "calibrate",
            "--model",
            &model,
            "--data",
            data.to_str().unwrap(),
            "--out",
            "cal.json",
            "--version",
            "9.9.9",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: only 24 calibration examples (fewer than 100)"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: the fitted temperature 0.050 is at a bound of its search range [0.05, 20]"
        ),
        "{err}"
    );
    let cal = stance::artifact::load(&dir.path().join("cal.json")).unwrap();
    assert_eq!(cal.meta().version, "9.9.9");
    assert!(
        stdout(&out).contains(&format!("({}, sha256:", cal.id())),
        "{}",
        stdout(&out)
    );
    assert!(cal.calibration().at_bound());

    // 120 examples (the fixture five times, each copy's texts numbered so
    // none is a duplicate) scored by the shipped model, which gets some
    // wrong: an inner temperature, no warning, and the model's own version
    // kept.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut x5 = String::new();
    for copy in 1..=5 {
        for line in text.lines() {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["text"] = format!("{} ({copy})", v["text"].as_str().unwrap()).into();
            x5.push_str(&format!("{v}\n"));
        }
    }
    std::fs::write(dir.path().join("x5.jsonl"), x5).unwrap();
    let out = run_in(
        dir.path(),
        &["calibrate", "--data", "x5.jsonl", "--out", "shipped.json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let shipped = stance::artifact::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(stance::DEFAULT_MODEL_PATH),
    )
    .unwrap();
    let cal = stance::artifact::load(&dir.path().join("shipped.json")).unwrap();
    assert_eq!(cal.meta().version, shipped.meta().version);
    assert!(!cal.calibration().at_bound());
    assert_ne!(cal.calibration().temperature, 1.0);

    let out = run_in(
        dir.path(),
        &[
            "calibrate",
            "--data",
            "x5.jsonl",
            "--out",
            "shipped.json",
            "--force",
            "--model-version",
            "2.1.0",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let cal = stance::artifact::load(&dir.path().join("shipped.json")).unwrap();
    assert_eq!(cal.meta().version, "2.1.0");
}

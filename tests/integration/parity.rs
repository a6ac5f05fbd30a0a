//! One scoring path: the same text gets bit-identical probabilities through
//! the library, `stance predict`, `stance score` (batch) and the HTTP service.

use serde_json::{json, Value};
use stance::{DocumentOptions, Probabilities};

use crate::api::spawn_app;
use crate::helpers::{fixture_model, fixture_model_path, run_in, stderr, stdout};

const DOCS: [&str; 5] = [
    "The sheriff should honor every ICE detainer.",
    "Keep ICE out of our schools; protect immigrant families.\n\nThe council meets Tuesday at 6 p.m.",
    "Café «santuario» 🙂 — ¿cooperación con ICE? Nadie sabe.",
    "zzz qqq",
    "Sanctuary cities shield criminals.\nAdvocates say the policy builds trust.\n\n\nBudget hearing next week.",
];

fn probs(v: &Value) -> Probabilities {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not probabilities: {v}: {e}"))
}

#[tokio::test]
async fn library_cli_batch_and_http_give_identical_probabilities() {
    let model = fixture_model();
    let opts = DocumentOptions::default();
    let library: Vec<Probabilities> = DOCS
        .iter()
        .map(|d| {
            model
                .score_document(d, &opts)
                .expect("non-empty")
                .probabilities
        })
        .collect();
    let model_path = fixture_model_path().to_str().unwrap().to_string();

    // `stance predict` scores its argument as a document, as the others do.
    let dir = tempfile::tempdir().unwrap();
    for (i, d) in DOCS.iter().enumerate() {
        let out = run_in(
            dir.path(),
            &["predict", "--model", &model_path, "--json", d],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(probs(&v["probabilities"]), library[i], "predict: {d:?}");
    }

    // `stance score`, several threads.
    let input: String = DOCS
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"id": format!("d{i}"), "text": d}).to_string() + "\n")
        .collect();
    std::fs::write(dir.path().join("in.jsonl"), input).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "score",
            "--model",
            &model_path,
            "--input",
            "in.jsonl",
            "--output",
            "out.jsonl",
            "--threads",
            "3",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let batch: Vec<Value> = std::fs::read_to_string(dir.path().join("out.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(batch.len(), DOCS.len());

    // The HTTP service.
    let app = spawn_app().await;
    for (i, d) in DOCS.iter().enumerate() {
        assert_eq!(batch[i]["id"], format!("d{i}"));
        assert_eq!(
            probs(&batch[i]["probabilities"]),
            library[i],
            "batch: {d:?}"
        );
        let r = app.score(&json!({"text": d})).await;
        let v = r.json();
        assert_eq!(probs(&v["probabilities"]), library[i], "http: {d:?} {v}");
        let r = app
            .score_batch(&json!({"documents": [{"id": "x", "text": d}]}))
            .await;
        let v = r.json();
        assert_eq!(
            probs(&v["results"][0]["probabilities"]),
            library[i],
            "http batch: {d:?} {v}"
        );
    }
}

//! The model file: round trip, its exact top-level shape, reproducible
//! retraining, and refusal of truncated, corrupted and incompatible files.

use std::path::Path;

use crate::helpers::{fixture_model, fixture_model_path, train_fixture};

const TEXTS: [&str; 4] = [
    "The sheriff should honor every ICE detainer.",
    "Keep ICE out of our schools; protect immigrant families.",
    "The council meets Tuesday.",
    "Ünïcödé 🙂 text with no known words",
];

#[test]
fn saved_model_loads_back_with_identical_scores() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture_model();
    let path = dir.path().join("copy.json");
    let checksum = stance::artifact::save(&model, &path).unwrap();
    let again = stance::artifact::load(&path).unwrap();
    assert_eq!(
        checksum,
        model.checksum(),
        "re-saving must not change the body"
    );
    for t in TEXTS {
        assert_eq!(model.score(t), again.score(t), "text {t:?}");
    }
}

#[test]
fn file_has_the_documented_shape() {
    let bytes = std::fs::read(fixture_model_path()).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(
        text.starts_with(
            "{\"format_version\":1,\"format\":\"stance-model\",\"checksum\":\"sha256:"
        ),
        "{}",
        &text[..80]
    );
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let keys: Vec<&str> = v["body"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in ["meta", "labels", "analyzer", "tfidf", "logreg"] {
        assert!(keys.contains(&k), "body lacks {k}: {keys:?}");
    }
    assert_eq!(
        v["body"]["labels"],
        serde_json::json!(["anti", "neutral", "pro"])
    );
    let meta = &v["body"]["meta"];
    for k in [
        "name",
        "version",
        "created_at",
        "crate_version",
        "provenance",
    ] {
        assert!(meta.get(k).is_some(), "meta lacks {k}");
    }
    for k in [
        "training_sha256",
        "n_examples",
        "examples_per_label",
        "hyperparameters",
    ] {
        assert!(meta["provenance"].get(k).is_some(), "provenance lacks {k}");
    }
    for k in ["vocabulary", "idf", "params"] {
        assert!(v["body"]["tfidf"].get(k).is_some(), "tfidf lacks {k}");
    }
    for k in ["weights", "intercepts", "n_features", "fit_info", "params"] {
        assert!(v["body"]["logreg"].get(k).is_some(), "logreg lacks {k}");
    }
}

#[test]
fn retraining_with_the_same_seed_reproduces_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    train_fixture(&a);
    train_fixture(&b);
    let (a, b) = (
        stance::artifact::load(&a).unwrap(),
        stance::artifact::load(&b).unwrap(),
    );
    assert_eq!(a.logreg().weights(), b.logreg().weights());
    for t in TEXTS {
        assert_eq!(a.score(t), b.score(t), "text {t:?}");
    }
}

fn load_err(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    std::fs::write(&p, bytes).unwrap();
    match stance::artifact::load(&p) {
        Ok(_) => panic!("loaded a bad model"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn refuses_truncated_corrupted_and_incompatible_files() {
    let good = std::fs::read(fixture_model_path()).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();

    let truncated = load_err(&good[..good.len() / 2]);
    assert!(
        truncated.contains("m.json: model file is truncated"),
        "{truncated}"
    );

    // Flip one digit inside the weights: valid JSON, wrong checksum.
    let pos = text.find("\"weights\":[").unwrap() + 12;
    let mut flipped = good.clone();
    let digit = (pos..).find(|&i| flipped[i].is_ascii_digit()).unwrap();
    flipped[digit] = if flipped[digit] == b'9' {
        b'8'
    } else {
        flipped[digit] + 1
    };
    let corrupted = load_err(&flipped);
    assert!(corrupted.contains("checksum mismatch"), "{corrupted}");

    let future = load_err(
        text.replacen("\"format_version\":1", "\"format_version\":7", 1)
            .as_bytes(),
    );
    assert!(
        future.contains("model format version 7 is not supported (this build reads version 1)"),
        "{future}"
    );

    let other = load_err(
        text.replacen("\"stance-model\"", "\"other-model\"", 1)
            .as_bytes(),
    );
    assert!(other.contains("not a stance model file"), "{other}");

    let garbage = load_err(b"\x00\x01 not json at all");
    assert!(garbage.contains("model file is corrupted"), "{garbage}");

    let missing = stance::artifact::load(Path::new("/nonexistent/m.json"))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.starts_with("/nonexistent/m.json: "), "{missing}");
}

#[test]
fn interrupted_save_leaves_the_previous_model_intact() {
    // Saving into a path whose directory cannot be created fails cleanly and
    // leaves no temporary file where the model should be.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = stance::artifact::save(&fixture_model(), &blocker.join("m.json"));
    assert!(err.is_err());
    // Overwriting an existing model is atomic: the old file stays readable
    // until the rename, and afterwards the new one is whole.
    let target = dir.path().join("m.json");
    train_fixture(&target);
    train_fixture(&target);
    assert!(stance::artifact::load(&target).is_ok());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The shipped model is what the README's command makes from the shipped
/// data: retraining with the parameters its provenance records (the
/// defaults), on the files (and weights) it
/// lists, reproduces its predictions on the test set. Fails when code or data change without a retrain of the shipped
/// model.
#[test]
fn shipped_model_is_reproduced_by_retraining() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = stance::artifact::load(&root.join(stance::DEFAULT_MODEL_PATH))
        .expect("shipped model loads");
    let sources: Vec<stance::dataset::DataSource> = shipped
        .meta()
        .provenance
        .training_files
        .iter()
        .map(|f| stance::dataset::DataSource {
            path: root.join(&f.path),
            weight: f.weight,
        })
        .collect();
    assert!(
        !sources.is_empty(),
        "the shipped model lists its training files"
    );
    let data = stance::dataset::read_sources(&sources).expect("training files");
    assert_eq!(
        shipped.meta().provenance.training_sha256,
        data.sha256,
        "{} was trained on other versions of {:?}: retrain it with the README's command",
        stance::DEFAULT_MODEL_PATH,
        shipped.meta().provenance.training_file
    );
    // The parameters the README's command uses are the defaults and its
    // flags; the model records them all.
    let recorded: stance::train::TrainParams =
        serde_json::from_value(shipped.meta().provenance.hyperparameters.clone())
            .expect("recorded hyper-parameters");
    let params = stance::train::TrainParams {
        cv_folds: 0,
        ..recorded
    };
    let retrained = stance::train::train(&params, &data, |_| {})
        .expect("retrain")
        .model;
    assert_eq!(retrained.tfidf().vocabulary(), shipped.tfidf().vocabulary());
    let test =
        stance::dataset::read_labeled(&root.join("training_data/test.jsonl")).expect("test.jsonl");
    for e in &test.examples {
        let (a, b) = (retrained.score(&e.text), shipped.score(&e.text));
        assert_eq!(a.label(), b.label(), "{}", e.id);
        for (x, y) in a.to_class_order().iter().zip(b.to_class_order()) {
            assert!((x - y).abs() < 1e-9, "{}: {a:?} vs {b:?}", e.id);
        }
    }
}

#[test]
fn refuses_a_model_whose_idf_overflows_the_norm() {
    // A model file with a correct checksum whose idf values are 1.7e308
    // loaded and scored every text with a repeated known word as NaN (JSON
    // `null` probabilities). Found while writing the model_file fuzz target.
    let good = std::fs::read_to_string(fixture_model_path()).unwrap();
    let start = good.find("\"body\":").unwrap() + "\"body\":".len();
    let body = good[start..].trim_end().strip_suffix('}').unwrap();
    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
    for idf in body["tfidf"]["idf"].as_array_mut().unwrap() {
        *idf = serde_json::json!(1.7e308);
    }
    let body = serde_json::to_string(&body).unwrap();
    let sealed = format!(
        "{{\"format_version\":1,\"format\":\"stance-model\",\"checksum\":\"{}\",\"body\":{body}}}",
        stance::artifact::sha256_hex(body.as_bytes())
    );
    let err = load_err(sealed.as_bytes());
    assert!(
        err.contains("inconsistent model")
            && err.contains("expected a positive number at most 1e100"),
        "{err}"
    );
}

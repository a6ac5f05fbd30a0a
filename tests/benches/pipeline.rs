//! Criterion benches of the scoring path: analysis, TF-IDF + classifier per
//! paragraph, and whole documents of 1 KB and 20 KB. The corpus is the
//! project's own training set, embedded; the model is trained on it at start.
//! Run: `cargo bench --bench pipeline`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::dataset::Example;
use stance::train::{fit, TrainParams};
use stance::{DocumentOptions, Label, StanceModel};

const CORPUS: &str = include_str!("../../training_data/train.jsonl");

fn examples() -> Vec<Example> {
    CORPUS
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some(Example {
                id: v["id"].as_str()?.to_string(),
                text: v["text"].as_str()?.to_string(),
                label: v["label"].as_str()?.parse().ok()?,
                line: i + 1,
                weight: 1.0,
            })
        })
        .collect()
}

fn model(ex: &[Example]) -> StanceModel {
    let texts: Vec<&str> = ex.iter().map(|e| e.text.as_str()).collect();
    let labels: Vec<Label> = ex.iter().map(|e| e.label).collect();
    let meta = stance::pipeline::ModelMeta {
        name: "bench".into(),
        version: "0.0.0".into(),
        created_at: String::new(),
        crate_version: String::new(),
        provenance: stance::artifact::Provenance {
            training_file: String::new(),
            training_sha256: String::new(),
            training_files: Vec::new(),
            n_examples: ex.len(),
            examples_per_label: Default::default(),
            seed: 0,
            cv: None,
            hyperparameters: serde_json::Value::Null,
        },
    };
    fit(&TrainParams::default(), &texts, &labels, None, meta).expect("bench model")
}

/// A document of about `bytes` bytes: training paragraphs joined by blank lines.
fn document(ex: &[Example], bytes: usize) -> String {
    let mut doc = String::new();
    for e in ex.iter().cycle() {
        if doc.len() >= bytes {
            break;
        }
        doc.push_str(&e.text);
        doc.push_str("\n\n");
    }
    doc
}

fn benches(c: &mut Criterion) {
    let ex = examples();
    let m = model(&ex);
    let texts: Vec<&str> = ex.iter().map(|e| e.text.as_str()).take(500).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();

    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function(
        BenchmarkId::new("tokens", format!("{}paras", texts.len())),
        |b| {
            let mut tokens = Vec::new();
            b.iter(|| {
                let mut n = 0;
                for t in &texts {
                    m.analyzer().tokens_into(black_box(t), &mut tokens);
                    n += tokens.len();
                }
                assert!(n > 0);
                n
            })
        },
    );
    g.finish();

    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function(
        BenchmarkId::new("paragraphs", format!("{}paras", texts.len())),
        |b| {
            b.iter(|| {
                let s: f64 = texts.iter().map(|t| m.score(black_box(t)).pro).sum();
                assert!(s > 0.0);
                s
            })
        },
    );
    g.finish();

    let mut g = c.benchmark_group("score_document");
    for kb in [1usize, 20] {
        let doc = document(&ex, kb * 1024);
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.bench_function(BenchmarkId::new("document", format!("{kb}KB")), |b| {
            let opts = DocumentOptions::default();
            b.iter(|| {
                let d = m.score_document(black_box(&doc), &opts).expect("non-empty");
                assert!(!d.paragraphs.is_empty());
                d.stance_index
            })
        });
    }
    g.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);

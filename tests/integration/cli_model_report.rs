//! `stance eval --html` and `stance train --html`: the page parses, has its
//! sections and charts, shows the same confusion numbers as `stance eval
//! --json` (and the training report), and escapes the texts it shows.

use scraper::{Html, Selector};
use serde_json::Value;

use crate::helpers::{fixture_data, fixture_model, fixture_model_path, run_in, stderr, stdout};

fn select<'a>(doc: &'a Html, sel: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(sel).unwrap()).collect()
}

/// The confusion table of a page as numbers, rows = truth.
fn confusion_table(doc: &Html) -> Vec<Vec<u64>> {
    select(doc, "table#confusion tbody tr")
        .iter()
        .map(|tr| {
            select_in(tr, "td")
                .iter()
                .skip(1)
                .map(|td| td.text().collect::<String>().parse().unwrap())
                .collect()
        })
        .collect()
}

fn select_in<'a>(el: &scraper::ElementRef<'a>, sel: &str) -> Vec<scraper::ElementRef<'a>> {
    el.select(&Selector::parse(sel).unwrap()).collect()
}

fn matrix_of(v: &Value) -> Vec<Vec<u64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        })
        .collect()
}

fn parse(path: &std::path::Path) -> (String, Html) {
    let html = std::fs::read_to_string(path).unwrap();
    let doc = Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "parse errors: {:?}", doc.errors);
    (html, doc)
}

fn assert_sections_and_no_scripts(case: &str, doc: &Html, svgs: usize) {
    for id in ["provenance", "metrics", "reliability", "terms", "errors"] {
        assert_eq!(
            select(doc, &format!("section#{id}")).len(),
            1,
            "{case}: section {id}"
        );
    }
    assert_eq!(
        select(doc, "svg").len(),
        svgs,
        "{case}: heatmap and reliability diagram"
    );
    let external =
        select(doc, "script").len() + select(doc, "link").len() + select(doc, "[src]").len();
    assert_eq!(external, 0, "{case}: nothing external or executable");
    let terms = select(doc, "table[id^=terms-]");
    assert_eq!(terms.len(), 3, "{case}: one term table per class");
    for t in terms {
        let rows = select_in(&t, "tbody tr").len();
        assert!((1..=25).contains(&rows), "{case}: {rows} terms");
    }
}

#[test]
fn eval_html_matches_eval_json_and_escapes_the_texts_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture_model();
    let mut lines: Vec<String> = std::fs::read_to_string(fixture_data())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // A paragraph with markup, labeled against the model's prediction so it
    // is an error the page lists with its text.
    let text =
        "The board <script>alert(\"x\")</script> voted to end the ICE contract & keep its policy.";
    let predicted = model.score(text).label();
    let wrong = stance::Label::ALL
        .into_iter()
        .find(|&l| l != predicted)
        .unwrap();
    lines.push(serde_json::json!({"id": "<b>x</b>", "text": text, "label": wrong}).to_string());
    std::fs::write(dir.path().join("eval.jsonl"), lines.join("\n") + "\n").unwrap();
    let m = fixture_model_path().to_str().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "eval",
            "--model",
            m,
            "--data",
            "eval.jsonl",
            "--html",
            "out/e.html",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a missing directory is an error: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("out/e.html"), "{}", stderr(&o));
    let o = run_in(
        dir.path(),
        &[
            "eval",
            "--model",
            m,
            "--data",
            "eval.jsonl",
            "--html",
            "e.html",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text_out = stdout(&o);
    let o = run_in(
        dir.path(),
        &["eval", "--model", m, "--data", "eval.jsonl", "--json"],
    );
    let json: Value = serde_json::from_str(&stdout(&o)).unwrap();

    let (html, doc) = parse(&dir.path().join("e.html"));
    assert_sections_and_no_scripts("eval", &doc, 2);
    let want = matrix_of(&json["confusion"]["matrix"]);
    assert_eq!(confusion_table(&doc), want, "confusion as in eval --json");
    for row in &want {
        let cells: Vec<String> = row.iter().map(|v| format!(" {v:>8}")).collect();
        assert!(
            text_out.contains(&cells.concat()),
            "row {row:?} in the text output"
        );
    }
    for tr in select(&doc, "table#per-class tbody tr") {
        let cells: Vec<String> = select_in(&tr, "td")
            .iter()
            .map(|td| td.text().collect())
            .collect();
        let support = json["per_class"][&cells[0]]["support"].as_u64().unwrap();
        assert_eq!(cells[4], support.to_string(), "support of {}", cells[0]);
        let f1 = json["per_class"][&cells[0]]["f1"].as_f64().unwrap();
        assert_eq!(cells[3], format!("{f1:.3}"), "F1 of {}", cells[0]);
    }
    let errors: String = select(&doc, "table#confident-errors")
        .iter()
        .flat_map(|t| t.text())
        .collect();
    assert!(errors.contains(text), "the wrong text is listed as text");
    assert!(errors.contains("<b>x</b>"), "the id is listed as text");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(!html.contains("<b>x</b>"));
    let prov: String = select(&doc, "section#provenance")
        .iter()
        .flat_map(|s| s.text())
        .collect();
    assert!(
        prov.contains(json["checksum"].as_str().unwrap()),
        "checksum in provenance"
    );
}

#[test]
fn train_html_shows_the_cross_validation_of_the_training_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture_data();
    let o = run_in(
        dir.path(),
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            "m.json",
            "--cv",
            "3",
            "--html",
            "train.html",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m.report.json")).unwrap())
            .unwrap();
    let (_, doc) = parse(&dir.path().join("train.html"));
    assert_sections_and_no_scripts("train", &doc, 2);
    assert_eq!(
        confusion_table(&doc),
        matrix_of(&report["cv"]["pooled"]["confusion"]["matrix"])
    );
    let errors: String = select(&doc, "section#errors")
        .iter()
        .flat_map(|s| s.text())
        .collect();
    assert!(errors.contains("evaluation data only"), "{errors}");
    let prov: String = select(&doc, "section#provenance")
        .iter()
        .flat_map(|s| s.text())
        .collect();
    assert!(
        prov.contains(report["checksum"].as_str().unwrap()),
        "checksum in provenance"
    );
    assert!(prov.contains("tiny.jsonl"), "training file in provenance");
}

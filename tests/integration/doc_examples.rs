//! Every output the documentation shows is one the shipped model really
//! gives. An example is a marker line in a Markdown file followed by a fenced
//! block holding the output shown:
//!
//! ```text
//! <!-- example score {"text": "...", "explain": 2} -->      a /v1/score body
//! <!-- example batch {"documents": [{"id": "a", "text": "..."}]} -->  a /v1/score/batch body
//! <!-- example record {"text": "...", "id": "...", "source": "..."} -->  a `stance score` record
//! <!-- example perspective {"text": "...", "attribute": "STANCE_PRO_SANCTUARY"} -->
//! <!-- example kserve {"texts": ["...", "..."]} -->         an Open Inference Protocol response
//! <!-- example predict {"text": "..."} -->                  `stance predict` text output
//! ```
//!
//! The test scores the input with the shipped (built-in) model and checks
//! every label, probability, stance index, `low_confidence` flag, paragraph
//! and explanation offset, explanation term and checksum the block shows.
//! Flags, offsets and terms must match exactly. Numbers may be rounded to
//! four decimals (`scripts/update_doc_examples.py` does, and JSON drops
//! trailing zeros, so `0.5` stands for `0.5000`): a number shown with d
//! decimals must be within 0.5·10^-max(d, 4) of the model's. A retrain that
//! changes an example fails here until the documentation is updated. A
//! `record` block is one line, as `stance score` writes records.

use std::path::{Path, PathBuf};

use serde_json::Value;
use stance::pipeline::Explanation;
use stance::{DocumentOptions, DocumentScore, Label, Probabilities, StanceModel};

/// Markdown files that may hold examples.
fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("models/MODEL_CARD.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    files.extend(docs);
    files
}

struct Example {
    at: String,
    kind: String,
    input: Value,
    block: String,
}

/// The examples of one Markdown text: each marker and the fenced block after it.
fn examples_in(name: &str, text: &str) -> Result<Vec<Example>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix("<!-- example ") else {
            continue;
        };
        let at = format!("{name}:{}", i + 1);
        let rest = rest
            .strip_suffix("-->")
            .ok_or(format!("{at}: marker must end with -->"))?
            .trim();
        let (kind, json) = rest
            .split_once(' ')
            .ok_or(format!("{at}: marker needs a kind and a JSON input"))?;
        let input: Value =
            serde_json::from_str(json).map_err(|e| format!("{at}: marker input: {e}"))?;
        // The first fence line after `from`.
        let fence_after = |from: usize| {
            lines[from + 1..]
                .iter()
                .position(|l| l.trim_start().starts_with("```"))
                .map(|k| from + 1 + k)
        };
        let open = fence_after(i).ok_or(format!("{at}: no fenced block after the marker"))?;
        let close = fence_after(open).ok_or(format!("{at}: fenced block never closes"))?;
        out.push(Example {
            at,
            kind: kind.to_string(),
            input,
            block: lines[open + 1..close].join("\n"),
        });
    }
    Ok(out)
}

/// Decimals a number is written with in `shown` (0 for integers).
fn decimals(shown: &str) -> i32 {
    shown.split_once('.').map_or(0, |(_, f)| {
        f.chars().take_while(char::is_ascii_digit).count() as i32
    })
}

/// Checks a shown number against the true one, allowing the rounding to
/// four decimals (or to as many as it shows, when more).
fn check_number(at: &str, what: &str, shown: &Value, actual: f64, errors: &mut Vec<String>) {
    let Some(x) = shown.as_f64() else {
        errors.push(format!("{at}: {what} is not a number: {shown}"));
        return;
    };
    let tol = 0.5 * 10f64.powi(-decimals(&shown.to_string()).max(4)) + 1e-12;
    if (x - actual).abs() > tol {
        errors.push(format!(
            "{at}: {what} shown {shown}, the model gives {actual:.6}"
        ));
    }
}

fn check_probabilities(
    at: &str,
    what: &str,
    shown: &Value,
    p: &Probabilities,
    errors: &mut Vec<String>,
) {
    for (name, v) in [("pro", p.pro), ("anti", p.anti), ("neutral", p.neutral)] {
        match shown.get(name) {
            Some(s) => check_number(at, &format!("{what}.{name}"), s, v, errors),
            None => errors.push(format!("{at}: {what} lacks {name}")),
        }
    }
}

/// Checks a shown flag or offset: equal, or an error.
fn check_exact(at: &str, what: &str, shown: &Value, actual: Value, errors: &mut Vec<String>) {
    if *shown != actual {
        errors.push(format!(
            "{at}: {what} shown {shown}, the model gives {actual}"
        ));
    }
}

fn check_label(at: &str, what: &str, shown: &Value, label: Label, errors: &mut Vec<String>) {
    if shown.as_str() != Some(label.as_str()) {
        errors.push(format!(
            "{at}: {what} shown {shown}, the model gives {label}"
        ));
    }
}

/// Every JSON object holding `probabilities`, in document order.
fn scored_objects(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) => {
            if o.contains_key("probabilities") {
                out.push(v.clone());
            }
            o.values().for_each(|c| scored_objects(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| scored_objects(c, out)),
        _ => {}
    }
}

fn check_score(ex: &Example, model: &StanceModel, errors: &mut Vec<String>) {
    let at = &ex.at;
    let opts = DocumentOptions {
        explain: ex.input["explain"].as_u64().unwrap_or(0) as usize,
        ..Default::default()
    };
    // A batch shows its scored documents in order; blank or missing texts
    // are error entries without scores.
    let texts: Vec<&str> = match ex.input.get("documents").and_then(Value::as_array) {
        Some(docs) => docs
            .iter()
            .filter_map(|d| d["text"].as_str())
            .filter(|t| !t.trim().is_empty())
            .collect(),
        None => vec![ex.input["text"].as_str().unwrap_or_default()],
    };
    let mut docs: Vec<DocumentScore> = Vec::new();
    for text in texts {
        match model.score_document(text, &opts) {
            Ok(d) => docs.push(d),
            Err(e) => return errors.push(format!("{at}: cannot score the input: {e}")),
        }
    }
    let shown: Value = match serde_json::from_str(&ex.block) {
        Ok(v) => v,
        Err(e) => return errors.push(format!("{at}: the block is not JSON: {e}")),
    };
    if ex.kind == "record" && ex.block.trim().lines().count() != 1 {
        errors.push(format!(
            "{at}: a record is one JSON object on one line (docs/BATCH.md), the block has {} lines",
            ex.block.trim().lines().count()
        ));
    }
    for key in ["checksum", "model_checksum"] {
        if let Some(c) = shown.get(key).and_then(Value::as_str) {
            let prefix = c.trim_end_matches('.').trim_end_matches('…');
            if !model.checksum().starts_with(prefix) {
                errors.push(format!(
                    "{at}: {key} shown {c}, the model's is {}",
                    model.checksum()
                ));
            }
        }
    }
    if let Some(v) = shown.get("version").or(shown.get("model_version")) {
        check_label_str(at, "version", v, &model.meta().version, errors);
    }
    if let Some(v) = shown.get("model").and_then(Value::as_str) {
        if v != model.id() && v != model.meta().name {
            errors.push(format!(
                "{at}: model shown {v}, the model is {}",
                model.id()
            ));
        }
    }
    let mut objects = Vec::new();
    scored_objects(&shown, &mut objects);
    let truth: Vec<Truth> = docs
        .iter()
        .flat_map(|doc| {
            std::iter::once(Truth {
                label: doc.label,
                probabilities: doc.probabilities,
                stance_index: doc.stance_index,
                low_confidence: doc.low_confidence,
                span: None,
                explanation: None,
            })
            .chain(doc.paragraphs.iter().map(|p| Truth {
                label: p.label,
                probabilities: p.probabilities,
                stance_index: p.stance_index,
                low_confidence: p.low_confidence,
                span: Some([p.start, p.end, p.start_utf16, p.end_utf16]),
                explanation: p.explanation.as_ref(),
            }))
        })
        .collect();
    // A one-paragraph document may be shown without its paragraph list.
    if objects.len() > truth.len() || objects.is_empty() {
        return errors.push(format!(
            "{at}: the block shows {} scored objects, the model gives {}",
            objects.len(),
            truth.len()
        ));
    }
    for (i, (o, t)) in objects.iter().zip(&truth).enumerate() {
        check_scored_object(at, &format!("scored object {i}"), o, t, errors);
    }
}

/// What the model gives for one scored object: a document, or one of its
/// paragraphs (with its offsets and explanation).
struct Truth<'a> {
    label: Label,
    probabilities: Probabilities,
    stance_index: f64,
    low_confidence: bool,
    /// `start`, `end`, `start_utf16`, `end_utf16` of a paragraph.
    span: Option<[usize; 4]>,
    explanation: Option<&'a Explanation>,
}

fn check_scored_object(at: &str, what: &str, o: &Value, t: &Truth, errors: &mut Vec<String>) {
    if let Some(l) = o.get("label") {
        check_label(at, &format!("{what} label"), l, t.label, errors);
    }
    check_probabilities(
        at,
        &format!("{what} probabilities"),
        &o["probabilities"],
        &t.probabilities,
        errors,
    );
    if let Some(s) = o.get("stance_index") {
        check_number(
            at,
            &format!("{what} stance_index"),
            s,
            t.stance_index,
            errors,
        );
    }
    if let Some(f) = o.get("low_confidence") {
        check_exact(
            at,
            &format!("{what} low_confidence"),
            f,
            t.low_confidence.into(),
            errors,
        );
    }
    if let Some(span) = t.span {
        for (key, v) in ["start", "end", "start_utf16", "end_utf16"]
            .iter()
            .zip(span)
        {
            if let Some(shown) = o.get(*key) {
                check_exact(at, &format!("{what} {key}"), shown, v.into(), errors);
            }
        }
    }
    let (Some(shown_ex), Some(ex_true)) = (o.get("explanation"), t.explanation) else {
        return;
    };
    for (key, l) in [("label", ex_true.label), ("runner_up", ex_true.runner_up)] {
        if let Some(s) = shown_ex.get(key) {
            check_label(at, &format!("{what} explanation {key}"), s, l, errors);
        }
    }
    for (key, v) in [
        ("log_odds", ex_true.log_odds),
        ("intercept", ex_true.intercept),
    ] {
        if let Some(s) = shown_ex.get(key) {
            check_number(at, &format!("{what} explanation {key}"), s, v, errors);
        }
    }
    for (side, terms) in [("toward", &ex_true.toward), ("against", &ex_true.against)] {
        let shown_terms = shown_ex[side].as_array().cloned().unwrap_or_default();
        if shown_terms.len() > terms.len() {
            errors.push(format!(
                "{at}: {what} shows {} terms {side}, the model gives {}",
                shown_terms.len(),
                terms.len()
            ));
        }
        for (s, t) in shown_terms.iter().zip(terms.iter()) {
            let term = format!("{what} {side} term {}", t.term);
            check_label_str(
                at,
                &format!("{what} {side} term"),
                &s["term"],
                &t.term,
                errors,
            );
            check_label_str(at, &format!("{term} text"), &s["text"], &t.text, errors);
            check_exact(
                at,
                &format!("{term} start"),
                &s["start"],
                t.start.into(),
                errors,
            );
            check_exact(at, &format!("{term} end"), &s["end"], t.end.into(), errors);
            check_number(
                at,
                &format!("{term} weight"),
                &s["weight"],
                t.weight,
                errors,
            );
        }
    }
}

fn check_label_str(at: &str, what: &str, shown: &Value, actual: &str, errors: &mut Vec<String>) {
    if shown.as_str() != Some(actual) {
        errors.push(format!(
            "{at}: {what} shown {shown}, the model gives {actual:?}"
        ));
    }
}

fn check_perspective(ex: &Example, model: &StanceModel, errors: &mut Vec<String>) {
    let at = &ex.at;
    let text = ex.input["text"].as_str().unwrap_or_default();
    let attribute = ex.input["attribute"].as_str().unwrap_or_default();
    let label = match attribute {
        "STANCE_PRO_SANCTUARY" => Label::Pro,
        "STANCE_ANTI_SANCTUARY" => Label::Anti,
        "STANCE_NEUTRAL" => Label::Neutral,
        other => return errors.push(format!("{at}: unknown attribute {other:?}")),
    };
    let doc = match model.score_document(text, &DocumentOptions::default()) {
        Ok(d) => d,
        Err(e) => return errors.push(format!("{at}: cannot score the input: {e}")),
    };
    let shown: Value = match serde_json::from_str(&ex.block) {
        Ok(v) => v,
        Err(e) => return errors.push(format!("{at}: the block is not JSON: {e}")),
    };
    let scores = &shown["attributeScores"][attribute];
    let prob = |p: &Probabilities| match label {
        Label::Pro => p.pro,
        Label::Anti => p.anti,
        Label::Neutral => p.neutral,
    };
    check_number(
        at,
        "summaryScore",
        &scores["summaryScore"]["value"],
        prob(&doc.probabilities),
        errors,
    );
    if let Some(spans) = scores["spanScores"].as_array() {
        for (s, p) in spans.iter().zip(&doc.paragraphs) {
            check_number(
                at,
                "spanScore",
                &s["score"]["value"],
                prob(&p.probabilities),
                errors,
            );
        }
    }
}

fn check_kserve(ex: &Example, model: &StanceModel, errors: &mut Vec<String>) {
    let at = &ex.at;
    let shown: Value = match serde_json::from_str(&ex.block) {
        Ok(v) => v,
        Err(e) => return errors.push(format!("{at}: the block is not JSON: {e}")),
    };
    let texts: Vec<&str> = ex.input["texts"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let outputs = shown["outputs"].as_array().cloned().unwrap_or_default();
    let output = |name: &str| outputs.iter().find(|o| o["name"] == name).cloned();
    for (i, t) in texts.iter().enumerate() {
        let doc = match model.score_document(t, &DocumentOptions::default()) {
            Ok(d) => d,
            Err(e) => return errors.push(format!("{at}: cannot score input {i}: {e}")),
        };
        if let Some(o) = output("label") {
            check_label(at, &format!("label {i}"), &o["data"][i], doc.label, errors);
        }
        if let Some(o) = output("probabilities") {
            let [a, n, p] = doc.probabilities.to_class_order();
            for (j, v) in [a, n, p].into_iter().enumerate() {
                check_number(
                    at,
                    &format!("probabilities[{i}][{j}]"),
                    &o["data"][i * 3 + j],
                    v,
                    errors,
                );
            }
        }
    }
}

fn check_predict(ex: &Example, model: &StanceModel, errors: &mut Vec<String>) {
    let at = &ex.at;
    let text = ex.input["text"].as_str().unwrap_or_default();
    let doc = match model.score_document(text, &DocumentOptions::default()) {
        Ok(d) => d,
        Err(e) => return errors.push(format!("{at}: cannot score the input: {e}")),
    };
    let first = ex.block.lines().next().unwrap_or_default();
    let mut fields = first.split('\t');
    let label = fields.next().unwrap_or_default();
    if label != doc.label.as_str() {
        errors.push(format!(
            "{at}: label shown {label}, the model gives {}",
            doc.label
        ));
    }
    let p = doc.probabilities;
    let flagged = first.split('\t').any(|f| f == "low_confidence");
    if flagged != doc.low_confidence {
        errors.push(format!(
            "{at}: low_confidence {}shown, the model gives low_confidence {}",
            if flagged { "" } else { "not " },
            doc.low_confidence
        ));
    }
    for f in fields {
        let Some((k, v)) = f.split_once('=') else {
            continue;
        };
        let actual = match k {
            "pro" => p.pro,
            "anti" => p.anti,
            "neutral" => p.neutral,
            "stance_index" => doc.stance_index,
            _ => continue,
        };
        match serde_json::from_str::<Value>(v.trim_start_matches('+')) {
            Ok(n) => check_number(at, k, &n, actual, errors),
            Err(_) => errors.push(format!("{at}: {k}={v} is not a number")),
        }
    }
}

fn check_example(ex: &Example, model: &StanceModel, errors: &mut Vec<String>) {
    match ex.kind.as_str() {
        "score" | "batch" | "record" => check_score(ex, model, errors),
        "perspective" => check_perspective(ex, model, errors),
        "kserve" => check_kserve(ex, model, errors),
        "predict" => check_predict(ex, model, errors),
        other => errors.push(format!("{}: unknown example kind {other:?}", ex.at)),
    }
}

#[test]
fn documented_outputs_are_what_the_shipped_model_gives() {
    let model = stance::artifact::load_embedded().expect("the built-in model loads");
    let mut errors = Vec::new();
    let mut n = 0;
    for file in doc_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let name = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&file)
            .display()
            .to_string();
        match examples_in(name.trim_start_matches('/'), &text) {
            Ok(examples) => {
                for ex in &examples {
                    check_example(ex, &model, &mut errors);
                }
                n += examples.len();
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(
        n >= 5,
        "only {n} documented examples found: the markers are missing"
    );
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn the_checker_catches_wrong_numbers_labels_flags_offsets_and_bad_blocks() {
    let model = stance::artifact::load_embedded().expect("the built-in model loads");
    let text = "The county should stop honoring ICE detainers.";
    let doc = model
        .score_document(text, &DocumentOptions::default())
        .expect("scores");
    let p = doc.probabilities;
    let other = Label::ALL
        .into_iter()
        .find(|l| *l != doc.label)
        .expect("three labels");
    let md = |block: String| {
        format!(
            "<!-- example score {{\"text\": {}}} -->\n```json\n{block}\n```\n",
            serde_json::to_string(text).expect("json")
        )
    };
    let good = format!(
        "{{\"label\": \"{}\", \"probabilities\": {{\"pro\": {:.4}, \"anti\": {:.4}, \"neutral\": {:.4}}}, \"low_confidence\": {}}}",
        doc.label, p.pro, p.anti, p.neutral, doc.low_confidence
    );
    let wrong_number = good.replace(
        &format!("{:.4}", p.pro),
        &format!("{:.4}", (p.pro + 0.01).min(1.0)),
    );
    let wrong_label = good.replace(
        &format!("\"label\": \"{}\"", doc.label),
        &format!("\"label\": \"{other}\""),
    );
    let count = |m: &str| {
        let mut errors = Vec::new();
        for ex in examples_in("t.md", m).expect("parses") {
            check_example(&ex, &model, &mut errors);
        }
        errors.len()
    };
    let wrong_flag = good.replace(
        &format!("\"low_confidence\": {}", doc.low_confidence),
        &format!("\"low_confidence\": {}", !doc.low_confidence),
    );
    // Shown with one decimal, a probability must still be right to four.
    let one_decimal = format!("{:.1}", p.pro);
    assert!(
        (one_decimal.parse::<f64>().expect("number") - p.pro).abs() > 1e-4,
        "the example needs a probability that one decimal rounds visibly"
    );
    let too_rounded = good.replace(&format!("{:.4}", p.pro), &one_decimal);
    assert_eq!(count(&md(good.clone())), 0, "{good}");
    assert_eq!(count(&md(wrong_number)), 1);
    assert_eq!(count(&md(wrong_label)), 1);
    assert_eq!(count(&md(wrong_flag)), 1);
    assert_eq!(count(&md(too_rounded)), 1);
    assert_eq!(count(&md("{not json".into())), 1);

    // The whole response with explanations, then one offset moved.
    let opts = DocumentOptions {
        explain: 2,
        ..Default::default()
    };
    let explained = model.score_document(text, &opts).expect("scores");
    let block = serde_json::to_string_pretty(&explained).expect("json");
    let md_explained = |block: &str| {
        format!(
            "<!-- example score {{\"text\": {}, \"explain\": 2}} -->\n```json\n{block}\n```\n",
            serde_json::to_string(text).expect("json")
        )
    };
    assert_eq!(count(&md_explained(&block)), 0, "{block}");
    let mut moved: Value = serde_json::from_str(&block).expect("json");
    let term = &mut moved["paragraphs"][0]["explanation"]["toward"][0];
    let start = term["start"].as_u64().expect("an explained term");
    term["start"] = (start + 1).into();
    let moved = serde_json::to_string_pretty(&moved).expect("json");
    assert_eq!(count(&md_explained(&moved)), 1, "{moved}");

    // A record spread over several lines is not the record format.
    let record = |block: &str| {
        format!(
            "<!-- example record {{\"text\": {}}} -->\n```json\n{block}\n```\n",
            serde_json::to_string(text).expect("json")
        )
    };
    assert_eq!(count(&record(&good)), 0);
    assert_eq!(count(&record(&good.replace(", ", ",\n"))), 1);
    assert!(examples_in("t.md", "<!-- example score {\"text\": \"x\"} -->\nno block").is_err());
}

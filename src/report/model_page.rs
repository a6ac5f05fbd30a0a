//! The HTML report of a model (`stance train --html`, `stance eval --html`):
//! provenance, per-class precision/recall/F1 with support, the confusion
//! heatmap, the reliability diagram, the strongest terms per class and,
//! for evaluation data, the most confident errors with their text. The
//! numbers come from [`crate::eval`]; this module only lays them out.

use crate::eval::{Reliability, Report};
use crate::label::{Label, Probabilities};
use crate::pipeline::StanceModel;

use super::charts::{self, ReliabilityPoint};
use super::error::ReportError;
use super::html::{definitions, figure, paragraph, table, Cell, Page};
use super::terms::{strongest_terms, STRONGEST_TERMS};

/// Confident errors listed in an evaluation report.
pub const CONFIDENT_ERRORS: usize = 20;

/// A wrong prediction with its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidentError {
    /// The example's id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// Its true label.
    pub truth: Label,
    /// The model's label.
    pub predicted: Label,
    /// The model's probability of its label.
    pub confidence: f64,
}

/// The `k` wrong predictions the model was surest of, surest first:
/// `examples` are `(id, text, truth)`, `probs` the model's probabilities
/// for them in the same order.
pub fn confident_errors(
    examples: &[(&str, &str, Label)],
    probs: &[Probabilities],
    k: usize,
) -> Vec<ConfidentError> {
    let mut errs: Vec<ConfidentError> = examples
        .iter()
        .zip(probs)
        .filter(|((_, _, t), p)| p.label() != *t)
        .map(|(&(id, text, truth), p)| ConfidentError {
            id: id.to_string(),
            text: text.to_string(),
            truth,
            predicted: p.label(),
            confidence: p.get(p.label()),
        })
        .collect();
    errs.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    errs.truncate(k);
    errs
}

/// What a model report shows.
#[derive(Debug)]
pub struct ModelReport<'a> {
    /// Page title.
    pub title: String,
    /// The model.
    pub model: &'a StanceModel,
    /// Where the metrics come from (file and count, or cross-validation).
    pub source: String,
    /// Label metrics (`None`: none computed, e.g. training without cross-validation).
    pub metrics: Option<&'a Report>,
    /// Calibration metrics of the same predictions.
    pub reliability: Option<&'a Reliability>,
    /// The most confident errors (`None` when the data is the training data).
    pub errors: Option<Vec<ConfidentError>>,
}

fn provenance(model: &StanceModel) -> String {
    let m = model.meta();
    let p = &m.provenance;
    let per_label = p
        .examples_per_label
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut pairs = vec![
        ("model", m.name.clone()),
        ("version", m.version.clone()),
        ("checksum", model.checksum().to_string()),
        ("created", m.created_at.clone()),
        ("trained by", format!("stance {}", m.crate_version)),
        ("training data", p.training_file.clone()),
        ("training data SHA-256", p.training_sha256.clone()),
        (
            "training examples",
            format!("{} ({per_label})", p.n_examples),
        ),
        ("features", model.tfidf().n_features().to_string()),
        (
            "temperature",
            format!("{:.3}", model.calibration().temperature),
        ),
        ("seed", p.seed.to_string()),
    ];
    for s in &p.training_files {
        pairs.push((
            "training file",
            format!(
                "{} (weight {}, {} examples, {})",
                s.path, s.weight, s.n_examples, s.sha256
            ),
        ));
    }
    if let Some(cv) = &p.cv {
        pairs.push((
            "cross-validation",
            format!(
                "{} folds: macro-F1 {:.3} ± {:.3}",
                cv.folds, cv.macro_f1_mean, cv.macro_f1_std
            ),
        ));
    }
    pairs.push(("hyper-parameters", p.hyperparameters.to_string()));
    definitions(&pairs)
}

fn metrics_html(r: &Report) -> Result<String, ReportError> {
    let mut s = paragraph(&format!(
        "n = {}, accuracy {:.3}, macro-F1 {:.3}",
        r.n, r.accuracy, r.macro_f1
    ));
    let rows: Vec<Vec<Cell>> = r
        .per_class
        .iter()
        .map(|(l, c)| {
            vec![
                Cell::text(l.as_str()),
                Cell::num(format!("{:.3}", c.precision)),
                Cell::num(format!("{:.3}", c.recall)),
                Cell::num(format!("{:.3}", c.f1)),
                Cell::num(c.support),
            ]
        })
        .collect();
    s.push_str(&table(
        "per-class",
        &["label", "precision", "recall", "F1", "support"],
        &rows,
    ));
    let labels: Vec<&str> = r.confusion.labels.iter().map(|l| l.as_str()).collect();
    s.push_str(&figure(&charts::heatmap(
        "Confusion (rows: true, columns: predicted)",
        &labels,
        &r.confusion.matrix,
    )?));
    let mut head = vec!["true \\ predicted"];
    head.extend(&labels);
    let rows: Vec<Vec<Cell>> = r
        .confusion
        .labels
        .iter()
        .zip(&r.confusion.matrix)
        .map(|(l, row)| {
            std::iter::once(Cell::text(l.as_str()))
                .chain(row.iter().map(Cell::num))
                .collect()
        })
        .collect();
    s.push_str(&table("confusion", &head, &rows));
    Ok(s)
}

fn reliability_html(r: &Reliability) -> Result<String, ReportError> {
    let points: Vec<ReliabilityPoint> = r
        .bins
        .iter()
        .map(|b| ReliabilityPoint {
            lower: b.lower,
            upper: b.upper,
            n: b.n,
            confidence: b.confidence,
            accuracy: b.accuracy,
        })
        .collect();
    let mut s = paragraph(&format!(
        "Expected calibration error {:.4} ({} equal-width bins), Brier score {:.4}, log loss {:.4}.",
        r.ece,
        r.bins.len(),
        r.brier,
        r.log_loss
    ));
    s.push_str(&figure(&charts::reliability("Reliability", &points)?));
    Ok(s)
}

fn terms_html(model: &StanceModel) -> String {
    let mut s = paragraph(&format!(
        "Per class, the {STRONGEST_TERMS} features with the largest weight for it in the softmax (stemmed words and word pairs; neg_ marks a negated word)."
    ));
    s.push_str("<div style=\"display:flex;gap:16px;flex-wrap:wrap\">");
    for (label, terms) in strongest_terms(model, STRONGEST_TERMS) {
        let rows: Vec<Vec<Cell>> = terms
            .iter()
            .map(|(t, w)| vec![Cell::text(t), Cell::num(format!("{w:.3}"))])
            .collect();
        s.push_str(&table(
            &format!("terms-{label}"),
            &[&format!("{label} term"), "weight"],
            &rows,
        ));
    }
    s.push_str("</div>");
    s
}

fn errors_html(errors: &[ConfidentError]) -> String {
    if errors.is_empty() {
        return paragraph("No errors: every example was predicted correctly.");
    }
    let rows: Vec<Vec<Cell>> = errors
        .iter()
        .map(|e| {
            vec![
                Cell::text(&e.id),
                Cell::text(e.truth.as_str()),
                Cell::text(e.predicted.as_str()),
                Cell::num(format!("{:.3}", e.confidence)),
                Cell::text(&e.text),
            ]
        })
        .collect();
    let mut s = paragraph(&format!(
        "The {} wrong predictions the model was surest of, surest first.",
        errors.len()
    ));
    s.push_str(&table(
        "confident-errors",
        &["id", "true", "predicted", "probability", "text"],
        &rows,
    ));
    s
}

/// Renders the report as one self-contained HTML page.
pub fn render_model_report(r: &ModelReport<'_>) -> Result<String, ReportError> {
    let mut page = Page::new(&r.title);
    page.note(&format!("{} on {}", r.model.id(), r.source));
    page.section("provenance", "Provenance", &provenance(r.model));
    match r.metrics {
        Some(m) => page.section(
            "metrics",
            "Precision, recall, F1 and confusion",
            &metrics_html(m)?,
        ),
        None => page.section(
            "metrics",
            "Precision, recall, F1 and confusion",
            &paragraph("Not computed: no held-out predictions (cross-validation was skipped)."),
        ),
    };
    match r.reliability {
        Some(rel) => page.section("reliability", "Calibration", &reliability_html(rel)?),
        None => page.section(
            "reliability",
            "Calibration",
            &paragraph("Not computed: no held-out predictions."),
        ),
    };
    page.section("terms", "Strongest terms per class", &terms_html(r.model));
    match &r.errors {
        Some(e) => page.section("errors", "Most confident errors", &errors_html(e)),
        None => page.section("errors", "Most confident errors", &paragraph("Listed for evaluation data only (stance eval --html): the training data's texts are not shown here.")),
    };
    Ok(page.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_errors_are_the_surest_wrong_predictions() {
        let p =
            |pro: f64, anti: f64| Probabilities::from_class_order([anti, 1.0 - pro - anti, pro]);
        let examples = [
            ("a", "x", Label::Pro),
            ("b", "y", Label::Anti),
            ("c", "z", Label::Anti),
            ("d", "w", Label::Neutral),
        ];
        let probs = [p(0.9, 0.05), p(0.6, 0.3), p(0.8, 0.1), p(0.1, 0.5)];
        let e = confident_errors(&examples, &probs, 2);
        let ids: Vec<&str> = e.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        assert_eq!((e[0].truth, e[0].predicted), (Label::Anti, Label::Pro));
        assert!((e[0].confidence - 0.8).abs() < 1e-12);
    }
}

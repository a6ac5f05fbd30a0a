//! [`StanceModel`]: analyzer + TF-IDF + logistic regression, the one scoring
//! path shared by training, `stance eval`, `stance score` and the server.

use serde::{Deserialize, Serialize};

use crate::document::{paragraphs, Offsets};
use crate::features::{SparseRow, SparseVec, Tfidf};
use crate::label::{Label, Probabilities};
use crate::model::{Calibration, LogReg, LogRegParams};
use crate::text::{Analyzer, Token};

/// Descriptive data carried by a model: identity and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Model name, e.g. `sanctuary`.
    pub name: String,
    /// Semantic version of the model, e.g. `1.0.0`.
    pub version: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Version of the `stance` crate that trained it.
    pub crate_version: String,
    /// Training data, parameters and cross-validated metrics.
    pub provenance: crate::artifact::Provenance,
}

/// Options for scoring a whole document.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DocumentOptions {
    /// Paragraphs longer than this many chars are split at sentence ends (default 2000).
    pub max_paragraph_chars: usize,
    /// A score whose top two probabilities differ by less than this is flagged
    /// `low_confidence` (default 0.2).
    pub low_confidence_margin: f64,
    /// Number of terms to list toward and against each paragraph's label (default 0).
    pub explain: usize,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        Self {
            max_paragraph_chars: 2000,
            low_confidence_margin: 0.2,
            explain: 0,
        }
    }
}

/// One term's part in a paragraph's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermContribution {
    /// The model feature (stemmed word or word pair).
    pub term: String,
    /// The text it came from (first occurrence in the paragraph).
    pub text: String,
    /// Start of that text in the document, in Unicode scalar values.
    pub start: usize,
    /// End (exclusive) of that text in the document, in Unicode scalar values.
    pub end: usize,
    /// Its contribution to `ln(P(label) / P(runner_up))`.
    pub weight: f64,
}

/// Why a paragraph got its label, computed exactly from the linear model:
/// `ln(P(label)/P(runner_up)) = intercept + sum of every present term's weight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The label explained (the paragraph's label).
    pub label: Label,
    /// The label it is compared against (second most probable).
    pub runner_up: Label,
    /// The log-odds `ln(P(label)/P(runner_up))` being decomposed.
    pub log_odds: f64,
    /// The intercepts' share of the log-odds.
    pub intercept: f64,
    /// Terms pushing hardest toward `label`, strongest first.
    pub toward: Vec<TermContribution>,
    /// Terms pushing hardest toward `runner_up`, strongest first (negative weights).
    pub against: Vec<TermContribution>,
}

/// The score of one paragraph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParagraphScore {
    /// Start in the document, in Unicode scalar values.
    pub start: usize,
    /// End (exclusive), in Unicode scalar values.
    pub end: usize,
    /// Start in UTF-16 code units.
    pub start_utf16: usize,
    /// End (exclusive) in UTF-16 code units.
    pub end_utf16: usize,
    /// Most probable label.
    pub label: Label,
    /// Label probabilities.
    pub probabilities: Probabilities,
    /// P(pro) - P(anti).
    pub stance_index: f64,
    /// Top-two margin below the threshold: review rather than trust.
    pub low_confidence: bool,
    /// Present when explanations were requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// The score of a document: its paragraphs and their length-weighted aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentScore {
    /// Argmax of the aggregate probabilities.
    pub label: Label,
    /// Mean of paragraph probabilities weighted by paragraph length in chars.
    pub probabilities: Probabilities,
    /// P(pro) - P(anti) of the aggregate, in [-1, 1].
    pub stance_index: f64,
    /// The aggregate's top-two margin is below the threshold.
    pub low_confidence: bool,
    /// Paragraph scores in text order.
    pub paragraphs: Vec<ParagraphScore>,
}

/// Why a text could not be scored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScoreError {
    /// The text is empty or white space only.
    #[error("text is empty")]
    EmptyText,
}

/// One paragraph after analysis, as the explainer needs it.
struct AnalysedParagraph<'a> {
    /// The paragraph's text.
    text: &'a str,
    /// Byte offset of the paragraph in the document.
    base: usize,
    /// Its tokens (offsets relative to `text`).
    tokens: &'a [Token],
    /// `(feature, first token, last token)` of each feature's first occurrence.
    term_spans: &'a [(u32, usize, usize)],
    /// Its TF-IDF row.
    features: &'a SparseVec,
}

/// A trained stance model. Immutable and `Send + Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct StanceModel {
    pub(crate) meta: ModelMeta,
    pub(crate) analyzer: Analyzer,
    pub(crate) tfidf: Tfidf,
    pub(crate) logreg: LogReg,
    pub(crate) logreg_params: LogRegParams,
    pub(crate) calibration: Calibration,
    pub(crate) checksum: String,
}

impl StanceModel {
    /// Identity and provenance.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// `name@version`, as reported on every answer.
    pub fn id(&self) -> String {
        format!("{}@{}", self.meta.name, self.meta.version)
    }

    /// SHA-256 of the model body (`sha256:<hex>`); empty for a model not yet saved.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// The analyzer the model was trained with.
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// The fitted TF-IDF vectorizer.
    pub fn tfidf(&self) -> &Tfidf {
        &self.tfidf
    }

    /// The fitted classifier.
    pub fn logreg(&self) -> &LogReg {
        &self.logreg
    }

    /// The classifier's hyper-parameters.
    pub fn logreg_params(&self) -> &LogRegParams {
        &self.logreg_params
    }

    /// The temperature the logits are divided by before the softmax.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Replaces the calibration (`stance calibrate`, `eval --no-calibrate`).
    /// The model is then unsaved: its checksum is cleared.
    pub fn set_calibration(&mut self, calibration: Calibration) {
        self.calibration = calibration;
        self.checksum.clear();
    }

    /// Replaces the semantic version recorded in the model (`stance
    /// calibrate --version`). The model is then unsaved: its checksum is
    /// cleared.
    pub fn set_version(&mut self, version: impl Into<String>) {
        self.meta.version = version.into();
        self.checksum.clear();
    }

    /// The classifier's logits for a feature row, classes in
    /// [`Label::ALL`] order, before calibration.
    pub fn logits(&self, x: SparseRow<'_>) -> [f64; 3] {
        let mut z = [0.0; 3];
        self.logreg.decision_function(x, &mut z);
        z
    }

    /// Probabilities for a feature row: the softmax of the logits divided by
    /// the calibration temperature.
    pub fn score_features(&self, x: SparseRow<'_>) -> Probabilities {
        self.calibration.probabilities(self.logits(x))
    }

    /// TF-IDF features of one text, treated as a single segment.
    pub fn features(&self, text: &str) -> SparseVec {
        self.tfidf.transform(&self.analyzer, text)
    }

    /// Probabilities for one text as a single segment (no paragraph split).
    /// Training, evaluation and cross-validation score through this.
    pub fn score(&self, text: &str) -> Probabilities {
        self.score_features(self.features(text).view())
    }

    /// Scores a document paragraph by paragraph, with an aggregate.
    pub fn score_document(
        &self,
        text: &str,
        opts: &DocumentOptions,
    ) -> Result<DocumentScore, ScoreError> {
        let spans = paragraphs(text, opts.max_paragraph_chars);
        if spans.is_empty() {
            return Err(ScoreError::EmptyText);
        }
        // Char/UTF-16 positions of every span edge, in one pass.
        let mut edges: Vec<usize> = spans.iter().flat_map(|r| [r.start, r.end]).collect();
        let mut tokens: Vec<Token> = Vec::new();
        let mut spans_of_terms = Vec::new();
        let mut out = Vec::with_capacity(spans.len());
        let mut pending_explain = Vec::new();
        for r in &spans {
            self.analyzer.tokens_into(&text[r.clone()], &mut tokens);
            spans_of_terms.clear();
            let want_spans = opts.explain > 0;
            let x = self.tfidf.transform_tokens(
                &self.analyzer,
                &tokens,
                want_spans.then_some(&mut spans_of_terms),
            );
            let p = self.score_features(x.view());
            if want_spans {
                let para = &text[r.clone()];
                let analysed = AnalysedParagraph {
                    text: para,
                    base: r.start,
                    tokens: &tokens,
                    term_spans: &spans_of_terms,
                    features: &x,
                };
                let raw = self.explain_row(&analysed, &p, opts.explain);
                for c in raw.toward.iter().chain(&raw.against) {
                    edges.push(c.start);
                    edges.push(c.end);
                }
                pending_explain.push(Some(raw));
            } else {
                pending_explain.push(None);
            }
            out.push(p);
        }
        // Convert every byte offset to chars and UTF-16 at once.
        let mut sorted = edges.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let positions = Offsets::new(text).positions(&sorted);
        let pos = |b: usize| {
            let i = sorted.partition_point(|&x| x < b);
            positions[i]
        };
        let mut paragraphs_out = Vec::with_capacity(spans.len());
        let mut agg = [0.0; 3];
        let mut total = 0.0;
        for ((r, p), explanation) in spans.iter().zip(&out).zip(pending_explain) {
            let (s, e) = (pos(r.start), pos(r.end));
            let weight = (e.chars - s.chars) as f64;
            for (a, v) in agg.iter_mut().zip(p.to_class_order()) {
                *a += weight * v;
            }
            total += weight;
            let explanation = explanation.map(|mut ex| {
                for c in ex.toward.iter_mut().chain(ex.against.iter_mut()) {
                    c.start = pos(c.start).chars;
                    c.end = pos(c.end).chars;
                }
                ex
            });
            paragraphs_out.push(ParagraphScore {
                start: s.chars,
                end: e.chars,
                start_utf16: s.utf16,
                end_utf16: e.utf16,
                label: p.label(),
                probabilities: *p,
                stance_index: p.stance_index(),
                low_confidence: p.margin() < opts.low_confidence_margin,
                explanation,
            });
        }
        let probabilities = if total > 0.0 {
            Probabilities::from_class_order(agg.map(|a| a / total))
        } else {
            out[0]
        };
        Ok(DocumentScore {
            label: probabilities.label(),
            probabilities,
            stance_index: probabilities.stance_index(),
            low_confidence: probabilities.margin() < opts.low_confidence_margin,
            paragraphs: paragraphs_out,
        })
    }

    /// Exact decomposition of `ln(P(label)/P(runner_up))` over the present
    /// features of one paragraph (`para`). Offsets in the result are byte offsets into the document
    /// (`base` is the paragraph's start); the caller converts them.
    fn explain_row(&self, a: &AnalysedParagraph<'_>, p: &Probabilities, k: usize) -> Explanation {
        let (x, para, tokens, spans, base) = (a.features, a.text, a.tokens, a.term_spans, a.base);
        let (label, other) = (p.label(), p.runner_up());
        let (li, oi) = (label.index(), other.index());
        // Calibration divides every logit by T, so every part of the log
        // odds is divided by T too and the parts still add up exactly.
        let t = self.calibration.temperature;
        let intercept = (self.logreg.intercepts()[li] - self.logreg.intercepts()[oi]) / t;
        let mut contributions: Vec<(u32, f64)> = x
            .view()
            .iter()
            .map(|(j, v)| {
                let w = self.logreg.coef(li, j) - self.logreg.coef(oi, j);
                (j as u32, v * w / t)
            })
            .collect();
        let log_odds = intercept + contributions.iter().map(|c| c.1).sum::<f64>();
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let describe = |&(j, w): &(u32, f64)| {
            let (first, last) = spans
                .binary_search_by_key(&j, |s| s.0)
                .ok()
                .map(|i| (spans[i].1, spans[i].2))
                .unwrap_or((0, 0));
            let (start, end) = match (tokens.get(first), tokens.get(last)) {
                (Some(a), Some(b)) => (a.start, b.end),
                _ => (0, 0),
            };
            TermContribution {
                term: self.tfidf.vocabulary()[j as usize].clone(),
                text: para.get(start..end).unwrap_or_default().to_string(),
                start: base + start,
                end: base + end,
                weight: w,
            }
        };
        let toward: Vec<TermContribution> = contributions
            .iter()
            .filter(|c| c.1 > 0.0)
            .take(k)
            .map(describe)
            .collect();
        let against: Vec<TermContribution> = contributions
            .iter()
            .rev()
            .filter(|c| c.1 < 0.0)
            .take(k)
            .map(describe)
            .collect();
        Explanation {
            label,
            runner_up: other,
            log_odds,
            intercept,
            toward,
            against,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Provenance;
    use crate::train::{fit, TrainParams};

    fn tiny_model() -> StanceModel {
        let rows = [
            (
                "Sanctuary protections keep families safe and build trust.",
                Label::Pro,
            ),
            (
                "Protect immigrant neighbors, limit cooperation with ICE.",
                Label::Pro,
            ),
            (
                "End sanctuary policies and honor every ICE detainer.",
                Label::Anti,
            ),
            (
                "Sanctuary cities shield criminals and defy the law.",
                Label::Anti,
            ),
            (
                "The council meets Tuesday to discuss the budget.",
                Label::Neutral,
            ),
            (
                "The hearing lasted three hours and ended at noon.",
                Label::Neutral,
            ),
        ];
        let texts: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let labels: Vec<Label> = rows.iter().map(|r| r.1).collect();
        let params = TrainParams {
            tfidf: crate::features::TfidfParams::default(),
            ..TrainParams::default()
        };
        let meta = ModelMeta {
            name: "t".into(),
            version: "0.0.1".into(),
            created_at: String::new(),
            crate_version: String::new(),
            provenance: Provenance {
                training_file: String::new(),
                training_sha256: String::new(),
                training_files: Vec::new(),
                n_examples: rows.len(),
                examples_per_label: Default::default(),
                seed: 0,
                cv: None,
                hyperparameters: serde_json::Value::Null,
            },
        };
        fit(&params, &texts, &labels, None, meta).expect("tiny model fits")
    }

    #[test]
    fn explanation_weights_sum_exactly_to_the_log_odds() {
        let m = tiny_model();
        let text = "Sanctuary cities shield criminals; protect families and honor detainers.";
        let opts = DocumentOptions {
            explain: 1000,
            ..DocumentOptions::default()
        };
        let doc = m.score_document(text, &opts).unwrap();
        let para = &doc.paragraphs[0];
        let ex = para.explanation.as_ref().expect("explanation requested");
        let p = para.probabilities;
        let want = (p.get(ex.label) / p.get(ex.runner_up)).ln();
        let sum: f64 = ex.intercept
            + ex.toward
                .iter()
                .chain(&ex.against)
                .map(|c| c.weight)
                .sum::<f64>();
        assert!(
            (ex.log_odds - want).abs() < 1e-9,
            "{} vs {want}",
            ex.log_odds
        );
        assert!((sum - want).abs() < 1e-9, "{sum} vs {want}");
        assert!(ex.toward.iter().all(|c| c.weight > 0.0));
        assert!(ex.against.iter().all(|c| c.weight < 0.0));
        for c in ex.toward.iter().chain(&ex.against) {
            let span: String = text.chars().skip(c.start).take(c.end - c.start).collect();
            assert_eq!(span, c.text, "term {}", c.term);
        }
    }

    #[test]
    fn a_temperature_softens_probabilities_keeps_labels_and_exact_explanations() {
        let mut m = tiny_model();
        let text = "Sanctuary cities shield criminals; protect families and honor detainers.";
        let opts = DocumentOptions {
            explain: 1000,
            ..DocumentOptions::default()
        };
        let plain = m.score_document(text, &opts).unwrap();
        m.set_calibration(Calibration {
            temperature: 2.0,
            ..Calibration::identity()
        });
        let soft = m.score_document(text, &opts).unwrap();
        let (a, b) = (&plain.paragraphs[0], &soft.paragraphs[0]);
        assert_eq!(a.label, b.label, "a temperature never changes the label");
        assert!(b.probabilities.get(b.label) < a.probabilities.get(a.label));
        let ex = b.explanation.as_ref().expect("explanation requested");
        let want = (b.probabilities.get(ex.label) / b.probabilities.get(ex.runner_up)).ln();
        let sum: f64 = ex.intercept
            + ex.toward
                .iter()
                .chain(&ex.against)
                .map(|c| c.weight)
                .sum::<f64>();
        assert!((sum - want).abs() < 1e-9, "{sum} vs {want}");
        let ea = a.explanation.as_ref().expect("explanation requested");
        assert!((ex.log_odds * 2.0 - ea.log_odds).abs() < 1e-9);
        assert!(m.checksum().is_empty(), "a recalibrated model is unsaved");
    }

    #[test]
    fn explain_k_limits_each_list() {
        let m = tiny_model();
        let opts = DocumentOptions {
            explain: 1,
            ..DocumentOptions::default()
        };
        let doc = m
            .score_document(
                "Sanctuary cities shield criminals and protect families.",
                &opts,
            )
            .unwrap();
        let ex = doc.paragraphs[0].explanation.as_ref().unwrap();
        assert!(ex.toward.len() <= 1 && ex.against.len() <= 1);
        let none = m
            .score_document("Sanctuary.", &DocumentOptions::default())
            .unwrap();
        assert!(none.paragraphs[0].explanation.is_none());
    }

    #[test]
    fn document_aggregate_is_the_length_weighted_mean() {
        let m = tiny_model();
        let a = "End sanctuary policies and honor every ICE detainer now.";
        let b = "Protect families.";
        let doc = m
            .score_document(&format!("{a}\n\n{b}"), &DocumentOptions::default())
            .unwrap();
        assert_eq!(doc.paragraphs.len(), 2);
        let (pa, pb) = (m.score(a), m.score(b));
        assert_eq!(
            doc.paragraphs[0].probabilities, pa,
            "paragraph = single-text score"
        );
        let (wa, wb) = (a.chars().count() as f64, b.chars().count() as f64);
        let want = (wa * pa.pro + wb * pb.pro) / (wa + wb);
        assert!((doc.probabilities.pro - want).abs() < 1e-12);
        let total = doc.probabilities.pro + doc.probabilities.anti + doc.probabilities.neutral;
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(doc.label, doc.probabilities.label());
        assert!(
            (doc.stance_index - (doc.probabilities.pro - doc.probabilities.anti)).abs() < 1e-15
        );
    }

    #[test]
    fn offsets_count_chars_and_utf16_units_on_non_ascii_text() {
        let m = tiny_model();
        let text = "🙂 Élus\n\nCafé ICE détainers 🙂🙂 end";
        let doc = m.score_document(text, &DocumentOptions::default()).unwrap();
        let second = &doc.paragraphs[1];
        let chars: Vec<char> = text.chars().collect();
        let span: String = chars[second.start..second.end].iter().collect();
        assert_eq!(span, "Café ICE détainers 🙂🙂 end");
        let utf16: Vec<u16> = text.encode_utf16().collect();
        let span16 = String::from_utf16(&utf16[second.start_utf16..second.end_utf16]).unwrap();
        assert_eq!(span16, span);
        assert_eq!(
            doc.paragraphs[0].end_utf16, 7,
            "emoji counts 2 UTF-16 units"
        );
        assert_eq!(doc.paragraphs[0].end, 6);
    }

    #[test]
    fn low_confidence_follows_the_margin_threshold() {
        let m = tiny_model();
        let text = "The sheriff spoke.";
        let never = DocumentOptions {
            low_confidence_margin: 0.0,
            ..DocumentOptions::default()
        };
        let always = DocumentOptions {
            low_confidence_margin: 1.01,
            ..DocumentOptions::default()
        };
        assert!(!m.score_document(text, &never).unwrap().low_confidence);
        assert!(m.score_document(text, &always).unwrap().paragraphs[0].low_confidence);
    }

    #[test]
    fn empty_documents_are_an_error() {
        let m = tiny_model();
        for t in ["", "   ", "\n\n\t"] {
            assert_eq!(
                m.score_document(t, &DocumentOptions::default()),
                Err(ScoreError::EmptyText),
                "{t:?}"
            );
        }
    }

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<StanceModel>();
    }
}

//! The evaluation [`Report`] of predictions against true labels. Its JSON
//! shape is the stable schema `stance eval --json` prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::label::Label;

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// Of the texts predicted as this class, the share that are.
    pub precision: f64,
    /// Of the texts of this class, the share predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Number of texts truly of this class.
    pub support: usize,
}

/// Confusion matrix: `matrix[i][j]` counts texts of true label `labels[i]`
/// predicted as `labels[j]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// Row and column order.
    pub labels: Vec<Label>,
    /// Counts, rows = truth, columns = prediction.
    pub matrix: Vec<Vec<usize>>,
}

/// Metrics of one labeled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Number of texts.
    pub n: usize,
    /// Share predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 over classes with support or predictions.
    pub macro_f1: f64,
    /// Scores per class.
    pub per_class: BTreeMap<Label, ClassScores>,
    /// Confusion matrix.
    pub confusion: Confusion,
}

/// Scores predictions against the truth. Slices must have equal length;
/// extra entries in the longer one are ignored.
pub fn evaluate(truth: &[Label], predicted: &[Label]) -> Report {
    let mut matrix = vec![vec![0usize; 3]; 3];
    for (t, p) in truth.iter().zip(predicted) {
        matrix[t.index()][p.index()] += 1;
    }
    let n: usize = matrix.iter().flatten().sum();
    let correct: usize = (0..3).map(|i| matrix[i][i]).sum();
    let mut per_class = BTreeMap::new();
    let mut f1s = Vec::new();
    for l in Label::ALL {
        let i = l.index();
        let support: usize = matrix[i].iter().sum();
        let predicted: usize = (0..3).map(|r| matrix[r][i]).sum();
        let tp = matrix[i][i] as f64;
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        if support > 0 || predicted > 0 {
            f1s.push(f1);
        }
        per_class.insert(
            l,
            ClassScores {
                precision,
                recall,
                f1,
                support,
            },
        );
    }
    let macro_f1 = if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    };
    Report {
        n,
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
        macro_f1,
        per_class,
        confusion: Confusion {
            labels: Label::ALL.to_vec(),
            matrix,
        },
    }
}

impl Report {
    /// A plain-text table for terminals.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "n = {}   accuracy = {:.3}   macro-F1 = {:.3}",
            self.n, self.accuracy, self.macro_f1
        );
        let _ = writeln!(
            s,
            "{:<8} {:>9} {:>7} {:>7} {:>8}",
            "label", "precision", "recall", "f1", "support"
        );
        for (l, c) in &self.per_class {
            let _ = writeln!(
                s,
                "{:<8} {:>9.3} {:>7.3} {:>7.3} {:>8}",
                l.as_str(),
                c.precision,
                c.recall,
                c.f1,
                c.support
            );
        }
        let _ = writeln!(s, "confusion (rows = truth, columns = predicted):");
        let _ = write!(s, "{:<8}", "");
        for l in &self.confusion.labels {
            let _ = write!(s, " {:>8}", l.as_str());
        }
        let _ = writeln!(s);
        for (l, row) in self.confusion.labels.iter().zip(&self.confusion.matrix) {
            let _ = write!(s, "{:<8}", l.as_str());
            for v in row {
                let _ = write!(s, " {v:>8}");
            }
            let _ = writeln!(s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::*;

    #[test]
    fn computes_hand_checked_metrics() {
        // truth:  pro pro anti anti neutral
        // pred:   pro anti anti anti pro
        let r = evaluate(
            &[Pro, Pro, Anti, Anti, Neutral],
            &[Pro, Anti, Anti, Anti, Pro],
        );
        assert_eq!(r.n, 5);
        assert!((r.accuracy - 0.6).abs() < 1e-12);
        let pro = r.per_class[&Pro];
        assert_eq!((pro.precision, pro.recall, pro.support), (0.5, 0.5, 2));
        let anti = r.per_class[&Anti];
        assert!((anti.precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(anti.recall, 1.0);
        assert_eq!(r.per_class[&Neutral].f1, 0.0);
        let want = (0.5 + 0.8 + 0.0) / 3.0;
        assert!((r.macro_f1 - want).abs() < 1e-12);
        assert_eq!(r.confusion.matrix[Pro.index()][Anti.index()], 1);
    }

    #[test]
    fn json_schema_has_the_documented_keys() {
        let r = evaluate(&[Pro, Anti], &[Pro, Neutral]);
        let v = serde_json::to_value(&r).unwrap();
        for key in ["n", "accuracy", "macro_f1", "per_class", "confusion"] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        for key in ["precision", "recall", "f1", "support"] {
            assert!(
                v["per_class"]["pro"].get(key).is_some(),
                "missing per_class.pro.{key}"
            );
        }
        assert!(r.to_table().contains("macro-F1"));
    }
}

//! How far probabilities can be trusted: expected calibration error over
//! equal-width confidence bins, Brier score and log loss, and the
//! reliability table behind them (mean confidence against accuracy per bin).

use serde::Serialize;

use crate::label::{Label, Probabilities};

/// Confidence bins of the reliability table and the ECE.
pub const BINS: usize = 15;

/// One bin of the reliability table: predictions whose top probability lies
/// in `[lower, upper)` (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Predictions in the bin.
    pub n: usize,
    /// Mean top probability in the bin (0 when empty).
    pub confidence: f64,
    /// Share of the bin's predictions that are right (0 when empty).
    pub accuracy: f64,
}

/// Calibration metrics of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reliability {
    /// Expected calibration error: the bins' |accuracy - confidence|
    /// weighted by their share of predictions ([`BINS`] equal-width bins).
    pub ece: f64,
    /// Mean over examples of the squared distance between the probability
    /// vector and the one-hot truth (0 best, 2 worst).
    pub brier: f64,
    /// Mean negative log probability of the true label (probabilities
    /// clipped at 1e-15).
    pub log_loss: f64,
    /// The reliability table.
    pub bins: Vec<ReliabilityBin>,
}

/// Metrics of `probs` against `truth` (same length).
pub fn reliability(probs: &[Probabilities], truth: &[Label]) -> Reliability {
    let n = probs.len().min(truth.len());
    let mut bins: Vec<(usize, f64, usize)> = vec![(0, 0.0, 0); BINS];
    let (mut brier, mut log_loss) = (0.0, 0.0);
    for (p, &t) in probs.iter().zip(truth).take(n) {
        let v = p.to_class_order();
        let top = v.iter().copied().fold(0.0, f64::max);
        let b = ((top * BINS as f64) as usize).min(BINS - 1);
        bins[b].0 += 1;
        bins[b].1 += top;
        bins[b].2 += usize::from(p.label() == t);
        for (i, &pi) in v.iter().enumerate() {
            let y = if i == t.index() { 1.0 } else { 0.0 };
            brier += (pi - y) * (pi - y);
        }
        log_loss -= v[t.index()].max(1e-15).ln();
    }
    let total = n.max(1) as f64;
    let table: Vec<ReliabilityBin> = bins
        .iter()
        .enumerate()
        .map(|(i, &(count, conf, right))| {
            let c = count.max(1) as f64;
            ReliabilityBin {
                lower: i as f64 / BINS as f64,
                upper: (i + 1) as f64 / BINS as f64,
                n: count,
                confidence: if count > 0 { conf / c } else { 0.0 },
                accuracy: if count > 0 { right as f64 / c } else { 0.0 },
            }
        })
        .collect();
    let ece = table
        .iter()
        .map(|b| b.n as f64 / total * (b.accuracy - b.confidence).abs())
        .sum();
    Reliability {
        ece,
        brier: brier / total,
        log_loss: log_loss / total,
        bins: table,
    }
}

impl Reliability {
    /// The reliability table as text (non-empty bins).
    pub fn to_table(&self) -> String {
        let mut s = String::from("confidence bin   n   mean confidence   accuracy\n");
        for b in self.bins.iter().filter(|b| b.n > 0) {
            s.push_str(&format!(
                "[{:.3}, {:.3})  {:>5}   {:>15.3}   {:>8.3}\n",
                b.lower, b.upper, b.n, b.confidence, b.accuracy
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pro: f64, anti: f64, neutral: f64) -> Probabilities {
        Probabilities { pro, anti, neutral }
    }

    #[test]
    fn perfect_and_hopeless_predictions() {
        let truth = [Label::Pro, Label::Anti];
        let sure = reliability(&[p(1.0, 0.0, 0.0), p(0.0, 1.0, 0.0)], &truth);
        assert!(sure.ece.abs() < 1e-12 && sure.brier.abs() < 1e-12);
        assert!(sure.log_loss < 1e-12);
        let wrong = reliability(&[p(0.0, 1.0, 0.0), p(1.0, 0.0, 0.0)], &truth);
        assert!((wrong.ece - 1.0).abs() < 1e-12, "{}", wrong.ece);
        assert!((wrong.brier - 2.0).abs() < 1e-12);
        assert!((wrong.log_loss - (1e-15f64).ln().abs()).abs() < 1e-9);
    }

    #[test]
    fn ece_weighs_each_bin_by_its_share() {
        // Four predictions at 0.6 confidence, three right: that bin is
        // under-confident (accuracy 0.75 against confidence 0.6, off by
        // 0.15); alone it makes the ECE 0.15.
        let probs = [p(0.6, 0.3, 0.1); 4];
        let truth = [Label::Pro, Label::Pro, Label::Pro, Label::Anti];
        let r = reliability(&probs, &truth);
        assert!((r.ece - 0.15).abs() < 1e-12, "{}", r.ece);
        let bin = r.bins.iter().find(|b| b.n > 0).expect("one bin");
        assert_eq!((bin.n, bin.accuracy), (4, 0.75));
        assert_eq!(r.bins.len(), BINS);
        // Two more at 0.9 confidence, both right: a second bin off by 0.1
        // holding a third of the predictions. ECE = 4/6 * 0.15 + 2/6 * 0.1,
        // not the plain mean of the two bins (0.125).
        let mut probs = probs.to_vec();
        probs.extend([p(0.9, 0.05, 0.05); 2]);
        let mut truth = truth.to_vec();
        truth.extend([Label::Pro; 2]);
        let r = reliability(&probs, &truth);
        let want = 4.0 / 6.0 * 0.15 + 2.0 / 6.0 * 0.1;
        assert!((r.ece - want).abs() < 1e-12, "{} vs {want}", r.ece);
        assert_eq!(r.bins.iter().filter(|b| b.n > 0).count(), 2);
    }
}

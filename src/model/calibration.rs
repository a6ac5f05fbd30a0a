//! Temperature scaling: one number `T` that divides the classifier's logits
//! before the softmax, fitted to minimise log loss on predictions the model
//! did not train on (the cross-validation folds of `stance train`, or a
//! user's labeled file with `stance calibrate`). `T > 1` softens
//! over-confident probabilities, `T < 1` sharpens timid ones, `T = 1` changes
//! nothing; the label (the largest probability) never changes.

use serde::{Deserialize, Serialize};

use crate::label::Probabilities;

/// Smallest and largest temperature the fit considers.
pub const TEMPERATURE_RANGE: (f64, f64) = (0.05, 20.0);

/// A fitted temperature and what it was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Divides the logits before the softmax (1: no calibration).
    pub temperature: f64,
    /// What it was fitted on; empty when not fitted.
    #[serde(default)]
    pub fitted_on: String,
    /// Examples it was fitted on (0 when not fitted).
    #[serde(default)]
    pub n: usize,
}

impl Default for Calibration {
    fn default() -> Self {
        Self::identity()
    }
}

impl Calibration {
    /// No calibration: temperature 1. Models written before calibration
    /// existed read as this.
    pub fn identity() -> Self {
        Self {
            temperature: 1.0,
            fitted_on: String::new(),
            n: 0,
        }
    }

    /// Fits the temperature that minimises the mean log loss of `logits`
    /// (one row per example, classes in [`crate::Label::ALL`] order) against
    /// `labels` (class indices). Identity when there are no examples.
    pub fn fit(logits: &[[f64; 3]], labels: &[usize], fitted_on: impl Into<String>) -> Self {
        let n = logits.len().min(labels.len());
        if n == 0 {
            return Self::identity();
        }
        let loss = |t: f64| mean_log_loss(&logits[..n], &labels[..n], t);
        // Golden-section search on ln T: the log loss is convex in 1/T.
        let (mut a, mut b) = (TEMPERATURE_RANGE.0.ln(), TEMPERATURE_RANGE.1.ln());
        let g = (5f64.sqrt() - 1.0) / 2.0;
        let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
        let (mut fc, mut fd) = (loss(c.exp()), loss(d.exp()));
        for _ in 0..80 {
            if fc < fd {
                (b, d, fd) = (d, c, fc);
                c = b - g * (b - a);
                fc = loss(c.exp());
            } else {
                (a, c, fc) = (c, d, fd);
                d = a + g * (b - a);
                fd = loss(d.exp());
            }
        }
        let t = ((a + b) / 2.0).exp();
        let t = if t.is_finite() { t } else { 1.0 };
        // Where every label is already the most likely class, the loss
        // keeps falling toward the smallest temperature but drops below
        // rounding first, and the search stops on the flat part short of the
        // bound. A bound no worse than the result (the other bound being
        // worse) is the honest answer. A loss flat everywhere (logits that
        // say nothing) gives no reason to move from 1.
        let (lo, hi) = TEMPERATURE_RANGE;
        let (at_t, at_lo, at_hi) = (loss(t), loss(lo), loss(hi));
        let t = if at_lo == at_t && at_hi == at_t {
            1.0
        } else if at_lo <= at_t && at_hi > at_t {
            lo
        } else if at_hi <= at_t && at_lo > at_t {
            hi
        } else {
            t
        };
        Self {
            temperature: t,
            fitted_on: fitted_on.into(),
            n,
        }
    }

    /// Whether the temperature is usable (finite and positive).
    pub fn is_valid(&self) -> bool {
        self.temperature.is_finite() && self.temperature > 0.0
    }

    /// Whether the temperature lies at an end of [`TEMPERATURE_RANGE`]
    /// (within 0.1%): a fit that stopped there did not find a minimum
    /// inside the range, and the data would have pushed it further.
    pub fn at_bound(&self) -> bool {
        let (lo, hi) = TEMPERATURE_RANGE;
        let near = |b: f64| (self.temperature / b).ln().abs() < 1e-3;
        near(lo) || near(hi)
    }

    /// Divides `logits` by the temperature in place.
    pub fn scale(&self, logits: &mut [f64]) {
        if self.temperature != 1.0 {
            logits.iter_mut().for_each(|l| *l /= self.temperature);
        }
    }

    /// The calibrated probabilities of one row of logits (classes in
    /// [`crate::Label::ALL`] order): the softmax of the logits divided by the
    /// temperature. Every scoring path goes through this.
    pub fn probabilities(&self, logits: [f64; 3]) -> Probabilities {
        let mut p = logits;
        self.scale(&mut p);
        super::logistic::softmax_in_place(&mut p);
        Probabilities::from_class_order(p)
    }
}

/// Mean negative log-likelihood of `labels` under softmax(`logits` / `t`).
fn mean_log_loss(logits: &[[f64; 3]], labels: &[usize], t: f64) -> f64 {
    let mut total = 0.0;
    for (z, &y) in logits.iter().zip(labels) {
        let scaled = z.map(|v| v / t);
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = max + scaled.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total += log_sum - scaled.get(y).copied().unwrap_or(max);
    }
    total / logits.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logits `scale` times too confident: the true temperature is `scale`.
    fn overconfident(scale: f64) -> (Vec<[f64; 3]>, Vec<usize>) {
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        // Calibrated margins m give P(right) = softmax; sample labels so
        // their frequencies match exactly (deterministic, no RNG).
        for (i, m) in [0.2, 0.5, 1.0, 1.5, 2.0, 3.0].iter().enumerate() {
            let z = [m * scale, 0.0, 0.0];
            let p_right = m.exp() / (m.exp() + 2.0);
            let n_right = (p_right * 1000.0).round() as usize;
            for k in 0..1000 {
                logits.push(z);
                labels.push(if k < n_right { 0 } else { 1 + (k + i) % 2 });
            }
        }
        (logits, labels)
    }

    #[test]
    fn recovers_the_temperature_of_overconfident_logits() {
        for scale in [0.5, 1.0, 3.0] {
            let (z, y) = overconfident(scale);
            let c = Calibration::fit(&z, &y, "synthetic");
            assert!(
                (c.temperature - scale).abs() < 0.05 * scale,
                "scale {scale}: fitted {}",
                c.temperature
            );
            assert_eq!(c.n, z.len());
            assert!(
                mean_log_loss(&z, &y, c.temperature) <= mean_log_loss(&z, &y, 1.0) + 1e-12,
                "the fit never loses to T = 1"
            );
        }
    }

    #[test]
    fn identity_when_empty_and_scaling_divides() {
        assert_eq!(Calibration::fit(&[], &[], "x"), Calibration::identity());
        let mut z = [2.0, -4.0, 1.0];
        Calibration {
            temperature: 2.0,
            ..Calibration::identity()
        }
        .scale(&mut z);
        assert_eq!(z, [1.0, -2.0, 0.5]);
        assert!(!Calibration {
            temperature: 0.0,
            ..Calibration::identity()
        }
        .is_valid());
    }

    #[test]
    fn probabilities_are_the_softmax_of_the_scaled_logits() {
        let c = Calibration {
            temperature: 2.0,
            ..Calibration::identity()
        };
        let p = c.probabilities([2.0, 0.0, 0.0]).to_class_order();
        let e = 1f64.exp();
        let want = [e / (e + 2.0), 1.0 / (e + 2.0), 1.0 / (e + 2.0)];
        for (got, want) in p.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{p:?}");
        }
        let id = Calibration::identity()
            .probabilities([0.0; 3])
            .to_class_order();
        assert_eq!(id, [1.0 / 3.0; 3]);
    }

    #[test]
    fn a_fit_pushed_past_the_range_is_at_a_bound() {
        // Every label is the least likely class: the flatter the better,
        // so the fit runs to the largest temperature.
        let z = vec![[3.0, 1.0, 0.0]; 50];
        let wrong = vec![2; 50];
        let c = Calibration::fit(&z, &wrong, "x");
        assert!(c.at_bound(), "{}", c.temperature);
        assert!((c.temperature - TEMPERATURE_RANGE.1).abs() < 1e-3);
        // Every label is the most likely class: sharpen without end.
        let right = vec![0; 50];
        let c = Calibration::fit(&z, &right, "x");
        assert!(c.at_bound(), "{}", c.temperature);
        assert!((c.temperature - TEMPERATURE_RANGE.0).abs() < 1e-3);
        let (z, y) = overconfident(3.0);
        assert!(!Calibration::fit(&z, &y, "x").at_bound());
        assert!(!Calibration::identity().at_bound());
        // Logits that say nothing: every temperature is as good; keep 1.
        let flat = Calibration::fit(&[[0.0; 3]; 10], &[0; 10], "x");
        assert_eq!(flat.temperature, 1.0);
    }
}

//! Stratified k-fold cross-validation splits with a fixed seed, and the
//! cross-validation summary stored with every model.

use serde::{Deserialize, Serialize};

use super::report::Report;
use crate::label::Label;

/// Cross-validation results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// Number of folds.
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Mean of the per-fold macro-F1.
    pub macro_f1_mean: f64,
    /// Sample standard deviation of the per-fold macro-F1.
    pub macro_f1_std: f64,
    /// Macro-F1 of each fold.
    pub fold_macro_f1: Vec<f64>,
    /// Metrics of all out-of-fold predictions pooled.
    pub pooled: Report,
}

impl CvReport {
    /// Summarises per-fold macro-F1 and the pooled report.
    pub fn new(seed: u64, fold_macro_f1: Vec<f64>, pooled: Report) -> Self {
        let k = fold_macro_f1.len();
        let mean = fold_macro_f1.iter().sum::<f64>() / k.max(1) as f64;
        let var = if k > 1 {
            fold_macro_f1
                .iter()
                .map(|f| (f - mean).powi(2))
                .sum::<f64>()
                / (k - 1) as f64
        } else {
            0.0
        };
        Self {
            folds: k,
            seed,
            macro_f1_mean: mean,
            macro_f1_std: var.sqrt(),
            fold_macro_f1,
            pooled,
        }
    }
}

/// SplitMix64: a tiny, fixed PRNG, so fold assignment never changes with a
/// dependency's version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Test-set indices of `k` stratified folds: each class is shuffled with
/// `seed` and dealt round-robin, so every fold holds each class in nearly
/// equal share. Callers check that every class has at least `k` members.
pub fn stratified_folds(labels: &[Label], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let k = k.max(1);
    let mut rng = SplitMix64(seed);
    let mut folds = vec![Vec::new(); k];
    for (offset, l) in Label::ALL.into_iter().enumerate() {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == l).collect();
        for i in (1..idx.len()).rev() {
            let j = rng.below(i + 1);
            idx.swap(i, j);
        }
        for (n, i) in idx.into_iter().enumerate() {
            folds[(n + offset) % k].push(i);
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_the_data_and_stratify() {
        let labels: Vec<Label> = (0..30).map(|i| Label::ALL[i % 3]).collect();
        let folds = stratified_folds(&labels, 5, 7);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..30).collect::<Vec<_>>());
        for f in &folds {
            for l in Label::ALL {
                assert_eq!(
                    f.iter().filter(|&&i| labels[i] == l).count(),
                    2,
                    "fold {f:?}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_folds_other_seed_other_folds() {
        let labels: Vec<Label> = (0..60).map(|i| Label::ALL[i % 3]).collect();
        assert_eq!(
            stratified_folds(&labels, 4, 1),
            stratified_folds(&labels, 4, 1)
        );
        assert_ne!(
            stratified_folds(&labels, 4, 1),
            stratified_folds(&labels, 4, 2)
        );
    }

    #[test]
    fn summary_mean_and_std() {
        let r = crate::eval::evaluate(&[], &[]);
        let cv = CvReport::new(0, vec![0.5, 0.7], r);
        assert!((cv.macro_f1_mean - 0.6).abs() < 1e-12);
        assert!((cv.macro_f1_std - (0.02f64).sqrt()).abs() < 1e-12);
    }
}

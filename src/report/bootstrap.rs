//! Percentile bootstrap over documents: the 95% intervals of a group's label
//! shares and mean stance index. Documents, not paragraphs, are resampled
//! (a cluster bootstrap), because the paragraphs of one article are not
//! independent draws.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::label::Label;

use super::error::ReportError;

/// Default number of bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 1000;
/// Default seed of the resampling.
pub const DEFAULT_SEED: u64 = 42;
/// Coverage of every interval.
pub const LEVEL: f64 = 0.95;

/// What one document contributes to its group: its units (the document
/// itself, or its paragraphs) counted per label, and the sum of their
/// stance indices.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DocSummary {
    /// Units per label, in class order ([`Label::index`]).
    pub counts: [u32; 3],
    /// Sum of the units' stance indices.
    pub index_sum: f64,
}

impl DocSummary {
    /// Number of units.
    pub fn units(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Mean stance index of the document's units (0 without units).
    pub fn mean_index(&self) -> f64 {
        let n = self.units();
        if n == 0 {
            0.0
        } else {
            self.index_sum / n as f64
        }
    }
}

/// Bootstrap settings, checked by [`BootstrapParams::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootstrapParams {
    resamples: usize,
    seed: u64,
}

impl Default for BootstrapParams {
    /// [`DEFAULT_RESAMPLES`] resamples, seed [`DEFAULT_SEED`].
    fn default() -> Self {
        Self {
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
        }
    }
}

impl BootstrapParams {
    /// `resamples` must be at least 20 (fewer cannot place a 2.5% percentile).
    pub fn new(resamples: usize, seed: u64) -> Result<Self, ReportError> {
        if resamples < 20 {
            return Err(ReportError::Params(format!(
                "resamples must be at least 20, got {resamples}"
            )));
        }
        Ok(Self { resamples, seed })
    }

    /// Number of resamples.
    pub fn resamples(&self) -> usize {
        self.resamples
    }

    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// A point estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate on all documents.
    pub value: f64,
    /// Lower end of the interval (2.5th percentile of the resamples).
    pub low: f64,
    /// Upper end (97.5th percentile).
    pub high: f64,
}

/// A group's statistics: label shares and mean stance index over its units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupStats {
    /// Documents.
    pub documents: u64,
    /// Units (documents or paragraphs).
    pub units: u64,
    /// Share of units labeled `pro`.
    pub pro: Estimate,
    /// Share of units labeled `anti`.
    pub anti: Estimate,
    /// Share of units labeled `neutral`.
    pub neutral: Estimate,
    /// Mean stance index of the units.
    pub mean_index: Estimate,
}

/// The four statistics of a set of documents: shares in class order, then
/// the mean stance index. `None` without units.
fn statistics<'a>(docs: impl Iterator<Item = &'a DocSummary>) -> Option<[f64; 4]> {
    let (mut counts, mut sum) = ([0u64; 3], 0.0);
    for d in docs {
        for (c, &x) in counts.iter_mut().zip(&d.counts) {
            *c += u64::from(x);
        }
        sum += d.index_sum;
    }
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let n = n as f64;
    Some([
        counts[0] as f64 / n,
        counts[1] as f64 / n,
        counts[2] as f64 / n,
        sum / n,
    ])
}

/// The `p` quantile of sorted `xs` (linear interpolation between order
/// statistics, R's type 7). `xs` must not be empty.
fn quantile(xs: &[f64], p: f64) -> f64 {
    let h = (xs.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    xs[lo] + (h - h.floor()) * (xs[hi] - xs[lo])
}

/// A seed per (stream, resample), so results do not depend on thread count
/// or on the order groups are processed in (SplitMix64 finaliser).
fn mix(seed: u64, stream: u64, resample: u64) -> u64 {
    let mut z = seed
        ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ resample.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Label shares and mean stance index of `docs` with percentile-bootstrap
/// intervals: `params.resamples()` times, draw as many documents as there
/// are with replacement, recompute the statistics; the interval is the
/// 2.5th to 97.5th percentile of the recomputed values. `stream` tells
/// groups apart so each gets its own random numbers. `None` without units.
pub fn bootstrap(docs: &[DocSummary], params: &BootstrapParams, stream: u64) -> Option<GroupStats> {
    let point = statistics(docs.iter())?;
    let n = docs.len();
    let mut draws: Vec<[f64; 4]> = (0..params.resamples as u64)
        .into_par_iter()
        .filter_map(|b| {
            let mut rng = StdRng::seed_from_u64(mix(params.seed, stream, b));
            statistics((0..n).map(|_| &docs[rng.gen_range(0..n)]))
        })
        .collect();
    if draws.is_empty() {
        draws.push(point);
    }
    let mut est = [Estimate {
        value: 0.0,
        low: 0.0,
        high: 0.0,
    }; 4];
    let mut column = Vec::with_capacity(draws.len());
    for (k, e) in est.iter_mut().enumerate() {
        column.clear();
        column.extend(draws.iter().map(|d| d[k]));
        column.sort_by(f64::total_cmp);
        *e = Estimate {
            value: point[k],
            low: quantile(&column, (1.0 - LEVEL) / 2.0),
            high: quantile(&column, 1.0 - (1.0 - LEVEL) / 2.0),
        };
    }
    let share = |l: Label| est[l.index()];
    Some(GroupStats {
        documents: n as u64,
        units: docs.iter().map(DocSummary::units).sum(),
        pro: share(Label::Pro),
        anti: share(Label::Anti),
        neutral: share(Label::Neutral),
        mean_index: est[3],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(label: Label, index: f64) -> DocSummary {
        let mut counts = [0; 3];
        counts[label.index()] = 1;
        DocSummary {
            counts,
            index_sum: index,
        }
    }

    #[test]
    fn quantile_interpolates_like_r_type_7() {
        // R: quantile(c(1,2,3,4), c(0.25, 0.975), type = 7) = 1.75, 3.925
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile(&xs, 0.25) - 1.75).abs() < 1e-12);
        assert!((quantile(&xs, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn point_estimates_are_unit_shares_and_means() {
        let docs = [
            doc(Label::Pro, 0.5),
            doc(Label::Pro, 0.7),
            doc(Label::Anti, -0.6),
            DocSummary {
                counts: [1, 0, 1],
                index_sum: 0.0,
            },
        ];
        let s = bootstrap(&docs, &BootstrapParams::default(), 0).unwrap();
        assert_eq!((s.documents, s.units), (4, 5));
        assert!((s.pro.value - 3.0 / 5.0).abs() < 1e-12);
        assert!((s.anti.value - 2.0 / 5.0).abs() < 1e-12);
        assert_eq!(s.neutral.value, 0.0);
        assert!((s.mean_index.value - 0.6 / 5.0).abs() < 1e-12);
        for e in [s.pro, s.anti, s.neutral, s.mean_index] {
            assert!(e.low <= e.value && e.value <= e.high, "{e:?}");
        }
    }

    #[test]
    fn same_seed_same_intervals_other_seed_other_intervals() {
        let docs: Vec<DocSummary> = (0..50)
            .map(|i| doc(Label::ALL[i % 3], (i as f64 / 50.0) - 0.5))
            .collect();
        let p = BootstrapParams::new(200, 7).unwrap();
        let a = bootstrap(&docs, &p, 3).unwrap();
        assert_eq!(a, bootstrap(&docs, &p, 3).unwrap());
        let other = bootstrap(&docs, &BootstrapParams::new(200, 8).unwrap(), 3).unwrap();
        assert_ne!(a.mean_index, other.mean_index);
    }

    #[test]
    fn interval_width_matches_the_binomial_standard_error() {
        // 400 documents, 25% pro: the standard error of the share is
        // sqrt(0.25 * 0.75 / 400) = 0.0217, so a 95% interval spans about
        // 2 * 1.96 * 0.0217 = 0.085.
        let docs: Vec<DocSummary> = (0..400)
            .map(|i| {
                doc(
                    if i % 4 == 0 {
                        Label::Pro
                    } else {
                        Label::Neutral
                    },
                    0.0,
                )
            })
            .collect();
        let s = bootstrap(&docs, &BootstrapParams::default(), 1).unwrap();
        let width = s.pro.high - s.pro.low;
        assert!((0.07..0.10).contains(&width), "width {width}");
    }

    #[test]
    fn refuses_too_few_resamples_and_has_nothing_without_units() {
        assert!(BootstrapParams::new(10, 1).is_err());
        assert!(bootstrap(&[], &BootstrapParams::default(), 0).is_none());
    }
}

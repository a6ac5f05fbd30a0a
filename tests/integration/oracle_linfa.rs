//! Oracle test: our sparse multinomial logistic regression against
//! linfa-logistic 0.8's dense `MultiLogisticRegression` on the same data.
//!
//! Convention mapping (read from linfa-logistic 0.8.1 `src/lib.rs`,
//! `multi_logistic_loss`/`multi_logistic_grad`): linfa minimises
//! `-sum_i log softmax(x_i W + b)[y_i] + alpha/2 * ||W||^2`, with the
//! intercept row split off by `convert_params` and not penalised. Ours (and
//! scikit-learn's) is `C * sum_i -log softmax(...)[y_i] + 1/2 * ||W||^2`,
//! which is `C` times linfa's at `alpha = 1 / C`: the same minimiser.

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};
use stance::features::{CsrMatrix, SparseVec};
use stance::model::{LogReg, LogRegParams};

const N_ROWS: usize = 150;
const N_FEATURES: usize = 20;
const N_CLASSES: usize = 3;

/// Deterministic pseudo-random numbers in [0, 1) (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Three overlapping Gaussian-ish blobs in 20 dimensions; small entries are
/// dropped so the rows are sparse but not very (about 70% filled).
fn dataset() -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut rng = Lcg(2024);
    let centres: Vec<Vec<f64>> = (0..N_CLASSES)
        .map(|_| (0..N_FEATURES).map(|_| rng.next() - 0.5).collect())
        .collect();
    let mut rows = Vec::with_capacity(N_ROWS);
    let mut labels = Vec::with_capacity(N_ROWS);
    for i in 0..N_ROWS {
        let label = i % N_CLASSES;
        let row = centres[label]
            .iter()
            .map(|c| {
                // Sum of three uniforms: a cheap bell-shaped noise, sd 1.
                let noise = 2.0 * (rng.next() + rng.next() + rng.next() - 1.5);
                let v = c + noise;
                if v.abs() < 0.3 {
                    0.0
                } else {
                    v
                }
            })
            .collect();
        rows.push(row);
        labels.push(label);
    }
    (rows, labels)
}

fn to_csr(rows: &[Vec<f64>]) -> CsrMatrix {
    let sparse: Vec<SparseVec> = rows
        .iter()
        .map(|r| {
            let mut s = SparseVec::default();
            for (j, &v) in r.iter().enumerate() {
                if v != 0.0 {
                    s.indices.push(j as u32);
                    s.values.push(v);
                }
            }
            s
        })
        .collect();
    CsrMatrix::from_rows(N_FEATURES, &sparse)
}

/// Our objective, computed densely and independently of the crate:
/// `C * sum_i -log softmax(W x_i + b)[y_i] + 0.5 * ||W||^2`.
/// `coef(k, j)` and `intercept(k)` give the model's parameters.
fn objective(
    rows: &[Vec<f64>],
    labels: &[usize],
    c: f64,
    coef: impl Fn(usize, usize) -> f64,
    intercept: impl Fn(usize) -> f64,
) -> f64 {
    let mut loss = 0.0;
    for (row, &label) in rows.iter().zip(labels) {
        let logits: Vec<f64> = (0..N_CLASSES)
            .map(|k| {
                intercept(k)
                    + row
                        .iter()
                        .enumerate()
                        .map(|(j, v)| v * coef(k, j))
                        .sum::<f64>()
            })
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
        loss += lse - logits[label];
    }
    let penalty: f64 = (0..N_CLASSES)
        .flat_map(|k| (0..N_FEATURES).map(move |j| (k, j)))
        .map(|(k, j)| coef(k, j).powi(2))
        .sum();
    c * loss + 0.5 * penalty
}

fn argmax(p: &[f64]) -> usize {
    (0..p.len()).fold(0, |best, k| if p[k] > p[best] { k } else { best })
}

#[test]
fn matches_linfa_multinomial_objective_and_predictions() {
    let (rows, labels) = dataset();
    let x = to_csr(&rows);
    let records = Array2::from_shape_vec(
        (N_ROWS, N_FEATURES),
        rows.iter().flatten().copied().collect(),
    )
    .expect("rows have N_FEATURES entries");
    let targets = Array1::from_vec(labels.clone());
    let data = Dataset::new(records.clone(), targets);

    for c in [0.1, 1.0, 10.0] {
        let ours: LogReg = LogRegParams::default()
            .c(c)
            .tol(1e-8)
            .max_iter(1000)
            .check()
            .expect("valid params")
            .fit(&x, &labels, N_CLASSES, None)
            .expect("our fit");
        assert!(ours.fit_info().converged, "C={c}: {:?}", ours.fit_info());

        let theirs = MultiLogisticRegression::default()
            .alpha(1.0 / c)
            .max_iterations(1000)
            .gradient_tolerance(1e-8)
            .fit(&data)
            .expect("linfa fit");
        let (w, b) = (theirs.params(), theirs.intercept());
        assert_eq!(theirs.classes(), &[0, 1, 2], "C={c}: linfa class order");

        let ours_obj = objective(
            &rows,
            &labels,
            c,
            |k, j| ours.coef(k, j),
            |k| ours.intercepts()[k],
        );
        let theirs_obj = objective(&rows, &labels, c, |k, j| w[[j, k]], |k| b[k]);
        assert!(
            (ours_obj - ours.fit_info().objective).abs() <= 1e-9 * ours_obj,
            "C={c}: reported objective {} vs recomputed {ours_obj}",
            ours.fit_info().objective
        );
        // Both should sit at the same minimum; ours is never meaningfully worse.
        let rel = (ours_obj - theirs_obj) / theirs_obj;
        eprintln!(
            "C={c}: ours {ours_obj} ({} iterations), linfa {theirs_obj}, relative gap {rel:e}",
            ours.fit_info().iterations
        );
        assert!(
            rel.abs() < 1e-7,
            "C={c}: ours {ours_obj}, linfa {theirs_obj}"
        );
        assert!(
            rel < 1e-9,
            "C={c}: ours {ours_obj} above linfa {theirs_obj}"
        );

        // The penalised weights are identified, so they must agree too.
        for k in 0..N_CLASSES {
            for j in 0..N_FEATURES {
                let (a, e) = (ours.coef(k, j), w[[j, k]]);
                assert!(
                    (a - e).abs() < 1e-3 * (1.0 + e.abs()),
                    "C={c}: coef({k},{j}) {a} vs {e}"
                );
            }
        }

        let theirs_pred = theirs.predict(&records);
        let theirs_proba = theirs.predict_probabilities(&records);
        let mut agree = 0;
        for (i, row) in x.rows().enumerate() {
            let p = ours.predict_proba(row);
            for k in 0..N_CLASSES {
                assert!(
                    (p[k] - theirs_proba[[i, k]]).abs() < 1e-4,
                    "C={c}: row {i} class {k}: {} vs {}",
                    p[k],
                    theirs_proba[[i, k]]
                );
            }
            assert_eq!(argmax(&p), theirs_pred[i], "C={c}: prediction of row {i}");
            agree += usize::from(argmax(&p) == labels[i]);
        }
        // Sanity: the problem is learnable but not separable.
        assert!(
            agree > N_ROWS / 2 && agree < N_ROWS,
            "C={c}: training accuracy {agree}/{N_ROWS}"
        );
    }
}

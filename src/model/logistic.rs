//! Fitting and applying multinomial logistic regression: input checks, the
//! penalised softmax loss and its exact gradient over CSR rows, the argmin
//! L-BFGS driver, and the fitted [`LogReg`] with its prediction methods.
//!
//! Determinism: the fit starts from zeros and every floating-point sum has a
//! fixed order, whatever the rayon thread count. The row pass works on
//! fixed-size chunks of 4096 rows whose partial sums are added in chunk
//! order; the weight gradient is computed per feature from a column-major
//! (CSC) copy of `x`, so each entry is one sequential sum over its rows in row
//! order, with no cross-thread reduction at all. The L-BFGS vector algebra
//! (see `Lbfgs`) works on fixed chunks of 8192 entries, each dot product in
//! 8 fixed lanes, with per-chunk partial sums added in chunk order. That replaces per-chunk dense
//! gradient buffers (`n_chunks * n_features * n_classes` floats per
//! evaluation, 60 MB at 100k rows x 100k features x 3 classes) with one CSC
//! copy of `x` made once per fit.
//!
//! Speed, measured on 100k rows x 100k features, 60 nnz per row, 3 classes,
//! 2 shared cores, release build: one cost+gradient evaluation takes about
//! 23 ms (42 ms before the small-class-count specialisation in
//! `Objective::evaluate`); a fit to the default `tol` takes about 660
//! iterations with 1.1 evaluations each. On the 100k-paragraph bench corpus
//! (305,241 parameters, C=10) the in-place, parallel L-BFGS algebra of
//! `Lbfgs` brought the time per iteration outside the evaluations from
//! roughly 20 ms (argmin's `LBFGS` on `Vec<f64>`) to about 12 ms under load
//! (the rest was argmin's line search: its vector copies and dot products).
//! Storing the correction pairs in `f32` (see `Stored`) and passing
//! parameters as reference-counted [`Vector`]s with parallel `dot` and
//! `scaled_add` brought it to about 6 ms (1.8-2.0 s of an 8.5-9.2 s fit, 318
//! iterations; evaluations 6.6-7.0 s, 356 of them). The fused alternative,
//! one pass over the rows adding `x_i r_i^T` into per-stripe gradient
//! buffers instead of the CSC pass, was measured slower (about 25 ms per
//! evaluation against 20 ms) and is not used. Run with
//! `RUST_LOG=stance=debug` to log iterations, evaluations and their wall
//! time at the end of every fit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use argmin::core::{
    CostFunction, Error as ArgminError, Executor, Gradient, IterState, LineSearch,
    OptimizationResult, Problem, Solver, State, TerminationReason, TerminationStatus, KV,
};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin_math::{ArgminDot, ArgminScaledAdd};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::LogRegError;
use super::params::{ClassWeight, ValidLogRegParams};
use crate::features::{CsrMatrix, SparseRow};

/// Rows per parallel work item in the loss pass. Fixed, so the order of the
/// floating-point sums does not depend on the number of threads.
const ROW_CHUNK: usize = 4096;

/// Features per parallel work item in the gradient pass. Each gradient entry
/// is a sequential sum, so this only sets the grain of the work.
const COL_CHUNK: usize = 4096;

/// How a fit ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitInfo {
    /// L-BFGS iterations run.
    pub iterations: u64,
    /// Whether the gradient criterion set by `LogRegParams::tol` was met. `false` when `max_iter` was reached or the line search could
    /// make no more progress; the model is still the best point found.
    pub converged: bool,
    /// Value of the penalised objective at the returned parameters:
    /// `C * weighted log-loss sum + 0.5 * ||W||^2`, scikit-learn's documented
    /// objective (its solvers minimise it divided by a positive constant).
    pub objective: f64,
}

/// A fitted multinomial logistic regression: immutable, plain data.
///
/// Weights are class-major: the weight of feature `j` for class `k` is
/// `weights[k * n_features + j]`. Deserialising runs the checks of
/// [`LogReg::from_parts`], so a loaded model can never index out of range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogRegParts")]
pub struct LogReg {
    n_classes: usize,
    n_features: usize,
    weights: Vec<f64>,
    intercepts: Vec<f64>,
    fit_info: FitInfo,
}

/// Unvalidated mirror of [`LogReg`] for deserialisation.
#[derive(Deserialize)]
struct LogRegParts {
    n_classes: usize,
    n_features: usize,
    weights: Vec<f64>,
    intercepts: Vec<f64>,
    fit_info: FitInfo,
}

impl TryFrom<LogRegParts> for LogReg {
    type Error = LogRegError;

    fn try_from(p: LogRegParts) -> Result<Self, LogRegError> {
        if p.n_classes != p.intercepts.len() {
            return Err(LogRegError::Shape {
                what: "n_classes",
                expected: p.intercepts.len(),
                found: p.n_classes,
            });
        }
        LogReg::from_parts(p.n_features, p.weights, p.intercepts, p.fit_info)
    }
}

impl LogReg {
    /// Rebuilds a model from its parts (used by artifact loading). The number
    /// of classes is `intercepts.len()`.
    ///
    /// # Errors
    /// [`TooFewClasses`](LogRegError::TooFewClasses) for fewer than two
    /// intercepts, [`TooManyParameters`](LogRegError::TooManyParameters) if the
    /// shape overflows, [`Shape`](LogRegError::Shape) unless
    /// `weights.len() == n_classes * n_features`, and
    /// [`NonFiniteParameter`](LogRegError::NonFiniteParameter) for a NaN or
    /// infinite weight or intercept.
    pub fn from_parts(
        n_features: usize,
        weights: Vec<f64>,
        intercepts: Vec<f64>,
        fit_info: FitInfo,
    ) -> Result<Self, LogRegError> {
        let n_classes = intercepts.len();
        if n_classes < 2 {
            return Err(LogRegError::TooFewClasses { found: n_classes });
        }
        let expected = n_features
            .checked_mul(n_classes)
            .ok_or(LogRegError::TooManyParameters {
                n_features,
                n_classes,
            })?;
        if weights.len() != expected {
            return Err(LogRegError::Shape {
                what: "weights",
                expected,
                found: weights.len(),
            });
        }
        for (what, values) in [("weights", &weights), ("intercepts", &intercepts)] {
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(LogRegError::NonFiniteParameter { what, index, value });
            }
        }
        Ok(Self {
            n_classes,
            n_features,
            weights,
            intercepts,
            fit_info,
        })
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of features (columns) the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// All weights, class-major (`weights[k * n_features + j]`).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// One intercept per class (all zero when fitted without intercepts).
    pub fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// How the fit ended.
    pub fn fit_info(&self) -> &FitInfo {
        &self.fit_info
    }

    /// Weight of `feature` for `class`; `0.0` when either is out of range.
    pub fn coef(&self, class: usize, feature: usize) -> f64 {
        if class >= self.n_classes || feature >= self.n_features {
            return 0.0;
        }
        self.weights
            .get(class * self.n_features + feature)
            .copied()
            .unwrap_or(0.0)
    }

    /// Weights of one class, indexed by feature (empty when out of range).
    fn class_weights(&self, class: usize) -> &[f64] {
        let start = class * self.n_features;
        self.weights
            .get(start..start + self.n_features)
            .unwrap_or(&[])
    }

    /// Writes the logits `W x + b` of row `x` into `out`, without allocating.
    /// Columns at or past [`n_features`](Self::n_features) are ignored.
    ///
    /// `out` must have length [`n_classes`](Self::n_classes); otherwise it is
    /// filled with NaN rather than panicking.
    pub fn decision_function(&self, x: SparseRow<'_>, out: &mut [f64]) {
        if out.len() != self.n_classes {
            out.fill(f64::NAN);
            return;
        }
        for (class, (o, &b)) in out.iter_mut().zip(&self.intercepts).enumerate() {
            *o = b + x.dot(self.class_weights(class));
        }
    }

    /// Writes the class probabilities of row `x` into `out`, without
    /// allocating: the softmax of the logits, computed after subtracting the
    /// row's largest logit so huge logits cannot overflow. If the largest
    /// logit itself overflows to infinity, the classes holding it share the
    /// probability equally.
    ///
    /// `out` must have length [`n_classes`](Self::n_classes); otherwise it is
    /// filled with NaN rather than panicking. NaN features give NaN
    /// probabilities.
    pub fn predict_proba_into(&self, x: SparseRow<'_>, out: &mut [f64]) {
        self.decision_function(x, out);
        softmax_in_place(out);
    }

    /// Class probabilities of row `x`, summing to 1.
    pub fn predict_proba(&self, x: SparseRow<'_>) -> Vec<f64> {
        let mut out = vec![0.0; self.n_classes];
        self.predict_proba_into(x, &mut out);
        out
    }
}

/// Softmax with the maximum subtracted first. When the largest logit is
/// infinite (overflow), the logits equal to it share the probability; any NaN
/// makes every entry NaN.
pub(crate) fn softmax_in_place(v: &mut [f64]) {
    if v.iter().any(|l| l.is_nan()) {
        v.fill(f64::NAN);
        return;
    }
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max.is_infinite() {
        let n_max = v.iter().filter(|&&l| l == max).count() as f64;
        for l in v.iter_mut() {
            *l = if *l == max { 1.0 / n_max } else { 0.0 };
        }
        return;
    }
    let mut sum = 0.0;
    for l in v.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    for l in v.iter_mut() {
        *l /= sum;
    }
}

impl ValidLogRegParams {
    /// Fits the model on CSR rows `x` with labels `y` in `0..n_classes`.
    ///
    /// Minimises `C * sum_i s_i * (-log softmax(W x_i + b)[y_i]) + 0.5 * ||W||^2`
    /// (scikit-learn's multinomial objective; `b` is not penalised), where
    /// `s_i` is `sample_weight[i]` (default 1) times the class weight of
    /// `y[i]`. L-BFGS with a Moré-Thuente line search starts from zeros and
    /// stops when the gradient's largest absolute entry is at most
    /// `tol * max(1, that of the starting gradient)` (converged), after
    /// `max_iter` iterations, or when the line search can make no progress
    /// (both not converged, not errors).
    ///
    /// A class in `0..n_classes` that never occurs in `y` is still fitted:
    /// its probabilities are pushed toward zero (with intercepts, its
    /// unpenalised intercept goes strongly negative).
    ///
    /// # Errors
    /// Inputs are checked before any maths: [`EmptyData`](LogRegError::EmptyData),
    /// [`TooManyRows`](LogRegError::TooManyRows),
    /// [`LabelsLengthMismatch`](LogRegError::LabelsLengthMismatch),
    /// [`SampleWeightLength`](LogRegError::SampleWeightLength),
    /// [`LabelOutOfRange`](LogRegError::LabelOutOfRange),
    /// [`TooManyParameters`](LogRegError::TooManyParameters),
    /// [`TooFewClasses`](LogRegError::TooFewClasses),
    /// [`InvalidSampleWeight`](LogRegError::InvalidSampleWeight),
    /// [`ColumnOutOfRange`](LogRegError::ColumnOutOfRange),
    /// [`NonFiniteFeature`](LogRegError::NonFiniteFeature); an argmin failure
    /// or non-finite result is [`Optimizer`](LogRegError::Optimizer).
    pub fn fit(
        &self,
        x: &CsrMatrix,
        y: &[usize],
        n_classes: usize,
        sample_weight: Option<&[f64]>,
    ) -> Result<LogReg, LogRegError> {
        let row_weights = validate(self, x, y, n_classes, sample_weight)?;
        let started = Instant::now();
        let n_features = x.n_cols();
        let objective = Objective::new(x, y, n_classes, row_weights, self.c, self.fit_intercept);
        let n_params = objective.n_params();

        let lbfgs = Lbfgs::new(self.history);
        let solver = RelativeGradientStop::new(lbfgs, self.tol);
        let result = Executor::new(objective, solver)
            .configure(|state| {
                state
                    .param(Vector::new(vec![0.0; n_params]))
                    .max_iters(self.max_iter)
            })
            .timer(false)
            .run()
            .map_err(|e| LogRegError::Optimizer(e.to_string()))?;

        let objective = result.problem.problem.as_ref();
        let evaluations = objective.map_or(0, |o| o.evaluations.load(Ordering::Relaxed));
        let evaluation_seconds =
            objective.map_or(0, |o| o.evaluation_nanos.load(Ordering::Relaxed)) as f64 * 1e-9;
        let state = &result.state;
        let mut theta = state
            .get_best_param()
            .ok_or_else(|| LogRegError::Optimizer("no parameters returned".to_owned()))?
            .to_vec();
        // Softmax leaves the intercepts free up to a common constant, which
        // exact arithmetic keeps at mean 0 (as scikit-learn's are); the `f32`
        // correction pairs (see `Stored`) let it drift by about 1e-7 of their
        // size. Return the centred intercepts and the objective there.
        let mut objective_value = state.get_best_cost();
        if self.fit_intercept {
            let b = &mut theta[n_features * n_classes..];
            let mean = b.iter().sum::<f64>() / n_classes as f64;
            b.iter_mut().for_each(|v| *v -= mean);
            if let Some(o) = objective {
                objective_value = o.evaluate(&theta).0;
            }
        }
        if !objective_value.is_finite() {
            return Err(LogRegError::Optimizer(format!(
                "objective is not finite: {objective_value}"
            )));
        }
        let (weights, intercepts) = to_class_major(&theta, n_features, n_classes);
        let fit_info = FitInfo {
            iterations: state.get_iter(),
            converged: result.solver.converged,
            objective: objective_value,
        };
        tracing::debug!(
            iterations = fit_info.iterations,
            converged = fit_info.converged,
            objective = fit_info.objective,
            seconds = started.elapsed().as_secs_f64(),
            evaluations,
            evaluation_seconds,
            "logistic regression fitted"
        );
        LogReg::from_parts(n_features, weights, intercepts, fit_info)
            .map_err(|e| LogRegError::Optimizer(e.to_string()))
    }
}

/// Checks the training inputs (linfa's `validate_data`) and returns each
/// row's weight `s_i = sample_weight_i * class_weight(y_i)`.
fn validate(
    params: &ValidLogRegParams,
    x: &CsrMatrix,
    y: &[usize],
    n_classes: usize,
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>, LogRegError> {
    let rows = x.n_rows();
    if rows == 0 {
        return Err(LogRegError::EmptyData);
    }
    if u32::try_from(rows).is_err() {
        return Err(LogRegError::TooManyRows { rows });
    }
    if y.len() != rows {
        return Err(LogRegError::LabelsLengthMismatch {
            rows,
            labels: y.len(),
        });
    }
    if let Some(w) = sample_weight {
        if w.len() != rows {
            return Err(LogRegError::SampleWeightLength {
                rows,
                weights: w.len(),
            });
        }
    }
    if let Some((row, &label)) = y.iter().enumerate().find(|(_, &l)| l >= n_classes) {
        return Err(LogRegError::LabelOutOfRange {
            row,
            label,
            n_classes,
        });
    }
    // The parameter vector, counted in bytes, must be allocatable.
    let n_features = x.n_cols();
    n_features
        .checked_add(1)
        .and_then(|f| f.checked_mul(n_classes))
        .and_then(|p| p.checked_mul(std::mem::size_of::<f64>()))
        .filter(|&bytes| isize::try_from(bytes).is_ok())
        .ok_or(LogRegError::TooManyParameters {
            n_features,
            n_classes,
        })?;
    let mut counts = vec![0usize; n_classes];
    for &label in y {
        counts[label] += 1;
    }
    let present = counts.iter().filter(|&&c| c > 0).count();
    if present < 2 {
        return Err(LogRegError::TooFewClasses { found: present });
    }

    // sklearn's compute_class_weight("balanced"): raw counts, present classes.
    let class_weight: Vec<f64> = match params.class_weight {
        ClassWeight::Balanced => counts
            .iter()
            .map(|&c| {
                if c == 0 {
                    0.0
                } else {
                    rows as f64 / (present as f64 * c as f64)
                }
            })
            .collect(),
        ClassWeight::None => vec![1.0; n_classes],
    };
    let mut row_weights = Vec::with_capacity(rows);
    let mut total = 0.0;
    for (index, &label) in y.iter().enumerate() {
        let value = sample_weight.map_or(1.0, |w| w[index]);
        let s = value * class_weight[label];
        total += s;
        // `c` times the total weight must stay finite too, or the loss overflows.
        if !(value.is_finite() && value >= 0.0 && (total * params.c).is_finite()) {
            return Err(LogRegError::InvalidSampleWeight { index, value });
        }
        row_weights.push(s);
    }

    for (row, r) in x.rows().enumerate() {
        for (column, value) in r.iter() {
            if column >= n_features {
                return Err(LogRegError::ColumnOutOfRange {
                    row,
                    column,
                    n_cols: n_features,
                });
            }
            if !value.is_finite() {
                return Err(LogRegError::NonFiniteFeature { row, column, value });
            }
        }
    }
    Ok(row_weights)
}

/// Converts the solver's feature-major parameters (`theta[j * K + k]`, then
/// `K` intercepts if fitted) to class-major weights and intercepts.
fn to_class_major(theta: &[f64], n_features: usize, n_classes: usize) -> (Vec<f64>, Vec<f64>) {
    let (w, b) = theta.split_at((n_features * n_classes).min(theta.len()));
    let mut weights = vec![0.0; n_features * n_classes];
    for (j, wj) in w.chunks_exact(n_classes).enumerate() {
        for (k, &v) in wj.iter().enumerate() {
            weights[k * n_features + j] = v;
        }
    }
    let mut intercepts = vec![0.0; n_classes];
    for (dst, &v) in intercepts.iter_mut().zip(b) {
        *dst = v;
    }
    (weights, intercepts)
}

/// Column-major copy of the training matrix, for the gradient pass.
struct Csc {
    /// `col_ptr[j]..col_ptr[j + 1]` are the entries of column `j`.
    col_ptr: Vec<usize>,
    /// Row of each entry, increasing within a column.
    rows: Vec<u32>,
    values: Vec<f64>,
}

impl Csc {
    /// Transposes `x`; its column indices must already be checked.
    fn from_csr(x: &CsrMatrix) -> Self {
        let n_cols = x.n_cols();
        let mut col_ptr = vec![0usize; n_cols + 1];
        for r in x.rows() {
            for &j in r.indices {
                col_ptr[j as usize + 1] += 1;
            }
        }
        for j in 0..n_cols {
            col_ptr[j + 1] += col_ptr[j];
        }
        let mut next = col_ptr.clone();
        let nnz = col_ptr[n_cols];
        let mut rows = vec![0u32; nnz];
        let mut values = vec![0.0; nnz];
        for (i, r) in x.rows().enumerate() {
            for (j, v) in r.iter() {
                let p = next[j];
                // Row count was checked to fit in u32.
                rows[p] = i as u32;
                values[p] = v;
                next[j] += 1;
            }
        }
        Self {
            col_ptr,
            rows,
            values,
        }
    }
}

/// Cost and gradient at one parameter vector.
struct Evaluation {
    param: Vector,
    cost: f64,
    gradient: Vector,
}

/// The penalised multinomial loss over validated training data.
///
/// Parameters are feature-major (`theta[j * K + k]`) so that one feature's
/// `K` weights are adjacent for the sparse row and column loops, followed by
/// `K` intercepts when they are fitted.
struct Objective<'a> {
    x: &'a CsrMatrix,
    xt: Csc,
    y: &'a [usize],
    row_weights: Vec<f64>,
    c: f64,
    n_classes: usize,
    n_features: usize,
    fit_intercept: bool,
    /// argmin asks for cost and gradient separately, mostly at the same
    /// point; both come from one pass, so the last pass is kept.
    last: Mutex<Option<Evaluation>>,
    /// The residuals of the last evaluation: a buffer reused by the next.
    residuals: Mutex<Vec<f64>>,
    /// Evaluations run and their total wall time, for the fit's debug log.
    evaluations: AtomicU64,
    evaluation_nanos: AtomicU64,
}

/// Partial sums of one row chunk.
struct ChunkSums {
    loss: f64,
    residual_sum: Vec<f64>,
}

impl<'a> Objective<'a> {
    fn new(
        x: &'a CsrMatrix,
        y: &'a [usize],
        n_classes: usize,
        row_weights: Vec<f64>,
        c: f64,
        fit_intercept: bool,
    ) -> Self {
        Self {
            x,
            xt: Csc::from_csr(x),
            y,
            row_weights,
            c,
            n_classes,
            n_features: x.n_cols(),
            fit_intercept,
            last: Mutex::new(None),
            residuals: Mutex::new(Vec::new()),
            evaluations: AtomicU64::new(0),
            evaluation_nanos: AtomicU64::new(0),
        }
    }

    fn n_params(&self) -> usize {
        (self.n_features + usize::from(self.fit_intercept)) * self.n_classes
    }

    /// Cost and gradient at `theta`, reusing the last evaluation if `theta`
    /// is the same point.
    fn evaluate_cached<T>(&self, theta: &Vector, pick: impl FnOnce(&Evaluation) -> T) -> T {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = last.as_ref().filter(|e| e.param.same_as(theta)) {
            return pick(e);
        }
        let started = Instant::now();
        let (cost, gradient) = self.evaluate(theta);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        self.evaluation_nanos.fetch_add(nanos, Ordering::Relaxed);
        let e = last.insert(Evaluation {
            param: theta.clone(),
            cost,
            gradient: Vector::new(gradient),
        });
        pick(e)
    }

    /// One pass over the rows (logits, loss, residuals `s_i * (p_i - onehot(y_i))`)
    /// and one over the columns (weight gradient `C * X^T R + W`).
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        // Specialising on small class counts keeps the per-entry accumulators
        // in registers: 1.8x faster evaluations for 3 classes on 100k x 100k
        // with 60 nnz per row (42 ms -> 23 ms, see the module doc).
        match self.n_classes {
            2 => self.evaluate_k::<2>(theta),
            3 => self.evaluate_k::<3>(theta),
            4 => self.evaluate_k::<4>(theta),
            _ => self.evaluate_k::<0>(theta),
        }
    }

    /// [`evaluate`](Self::evaluate) with the class count `K` known at compile
    /// time, or read from `self.n_classes` when `K == 0`. The arithmetic, and
    /// so every bit of the result, is the same either way.
    fn evaluate_k<const K: usize>(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let k = if K == 0 { self.n_classes } else { K };
        let n_weights = self.n_features * k;
        let (w, b) = theta.split_at(n_weights);
        // Every entry is written below (or zeroed for rows of weight 0), so
        // the buffer of the last evaluation is reused as it is.
        let mut residuals = self
            .residuals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        residuals.resize(self.x.n_rows() * k, 0.0);

        let chunks: Vec<ChunkSums> = residuals
            .par_chunks_mut(ROW_CHUNK * k)
            .enumerate()
            .map(|(chunk, r)| self.row_chunk::<K>(chunk * ROW_CHUNK, w, b, r))
            .collect();
        let mut loss = 0.0;
        let mut residual_sum = vec![0.0; k];
        for chunk in &chunks {
            loss += chunk.loss;
            for (acc, s) in residual_sum.iter_mut().zip(&chunk.residual_sum) {
                *acc += s;
            }
        }

        let mut gradient = vec![0.0; theta.len()];
        let (gw, gb) = gradient.split_at_mut(n_weights);
        gw.par_chunks_mut(COL_CHUNK * k)
            .zip(w.par_chunks(COL_CHUNK * k))
            .enumerate()
            .for_each(|(chunk, (g, wc))| {
                self.column_chunk::<K>(chunk * COL_CHUNK, wc, &residuals, g);
            });
        for (g, s) in gb.iter_mut().zip(&residual_sum) {
            *g = self.c * s;
        }

        let penalty = 0.5 * w.iter().map(|v| v * v).sum::<f64>();
        (self.c * loss + penalty, gradient)
    }

    /// Loss and residuals of rows `row0..row0 + residuals.len() / k`.
    fn row_chunk<const K: usize>(
        &self,
        row0: usize,
        w: &[f64],
        b: &[f64],
        residuals: &mut [f64],
    ) -> ChunkSums {
        let k = if K == 0 { self.n_classes } else { K };
        let mut loss = 0.0;
        let mut residual_sum = vec![0.0; k];
        let mut logits_fixed = [0.0; K];
        let mut logits_dynamic = vec![0.0; if K == 0 { k } else { 0 }];
        let logits: &mut [f64] = if K == 0 {
            &mut logits_dynamic
        } else {
            &mut logits_fixed
        };
        for (offset, r) in residuals.chunks_exact_mut(k).enumerate() {
            let i = row0 + offset;
            let s = self.row_weights[i];
            if s == 0.0 {
                r.fill(0.0);
                continue;
            }
            if b.is_empty() {
                logits.fill(0.0);
            } else {
                logits.copy_from_slice(b);
            }
            for (j, v) in self.x.row(i).iter() {
                let wj = &w[j * k..j * k + k];
                for (l, &wv) in logits.iter_mut().zip(wj) {
                    *l += v * wv;
                }
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for (p, &l) in r.iter_mut().zip(logits.iter()) {
                *p = (l - max).exp();
                sum += *p;
            }
            let label = self.y[i];
            // -log softmax(l)[y] = (max - l[y]) + ln(sum exp(l - max))
            loss += s * ((max - logits[label]) + sum.ln());
            let scale = s / sum;
            for p in r.iter_mut() {
                *p *= scale;
            }
            r[label] -= s;
            for (acc, &p) in residual_sum.iter_mut().zip(r.iter()) {
                *acc += p;
            }
        }
        ChunkSums { loss, residual_sum }
    }

    /// Weight gradient `C * sum_i x_ij r_i + w_j` for features
    /// `col0..col0 + g.len() / k`; each sum runs over rows in order.
    fn column_chunk<const K: usize>(
        &self,
        col0: usize,
        w: &[f64],
        residuals: &[f64],
        g: &mut [f64],
    ) {
        let k = if K == 0 { self.n_classes } else { K };
        let mut acc_fixed = [0.0; K];
        let mut acc_dynamic = vec![0.0; if K == 0 { k } else { 0 }];
        let acc: &mut [f64] = if K == 0 {
            &mut acc_dynamic
        } else {
            &mut acc_fixed
        };
        for (offset, (gj, wj)) in g.chunks_exact_mut(k).zip(w.chunks_exact(k)).enumerate() {
            let j = col0 + offset;
            let (start, end) = (self.xt.col_ptr[j], self.xt.col_ptr[j + 1]);
            acc.fill(0.0);
            for (&i, &v) in self.xt.rows[start..end]
                .iter()
                .zip(&self.xt.values[start..end])
            {
                let i = i as usize;
                let ri = &residuals[i * k..i * k + k];
                for (a, &rv) in acc.iter_mut().zip(ri) {
                    *a += v * rv;
                }
            }
            for ((gv, &a), &wv) in gj.iter_mut().zip(acc.iter()).zip(wj) {
                *gv = self.c * a + wv;
            }
        }
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vector;
    type Output = f64;

    fn cost(&self, theta: &Vector) -> Result<f64, ArgminError> {
        Ok(self.evaluate_cached(theta, |e| e.cost))
    }
}

impl Gradient for Objective<'_> {
    type Param = Vector;
    type Gradient = Vector;

    fn gradient(&self, theta: &Vector) -> Result<Vector, ArgminError> {
        Ok(self.evaluate_cached(theta, |e| e.gradient.clone()))
    }
}

/// A parameter or gradient vector behind a reference count.
///
/// argmin's executor and line search hand these over by value several times
/// per iteration (state, best point, the line search's start, gradient
/// copies): with `Vec<f64>` each of those copied all 305,241 entries of the
/// bench fit, and the line search's step and dot products ran on one
/// thread. Here a clone is a reference count, and `scaled_add` and `dot`
/// run on all threads in a fixed order (bit-identical for any thread count).
#[derive(Debug, Clone)]
struct Vector(Arc<Vec<f64>>);

impl Vector {
    fn new(values: Vec<f64>) -> Self {
        Self(Arc::new(values))
    }

    /// Whether both hold the same values (the same allocation, or equal).
    fn same_as(&self, other: &Vector) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0[..] == other.0[..]
    }
}

impl std::ops::Deref for Vector {
    type Target = [f64];

    fn deref(&self) -> &[f64] {
        &self.0
    }
}

impl ArgminDot<Vector, f64> for Vector {
    fn dot(&self, other: &Vector) -> f64 {
        par_dot(self, other)
    }
}

impl ArgminScaledAdd<Vector, f64, Vector> for Vector {
    /// `self + factor * direction`.
    fn scaled_add(&self, factor: &f64, direction: &Vector) -> Vector {
        let mut out = vec![0.0; self.len()];
        out.par_chunks_mut(VEC_CHUNK)
            .zip(self.par_chunks(VEC_CHUNK))
            .zip(direction.par_chunks(VEC_CHUNK))
            .for_each(|((o, x), d)| {
                for ((ov, &xv), &dv) in o.iter_mut().zip(x).zip(d) {
                    *ov = xv + factor * dv;
                }
            });
        Vector::new(out)
    }
}

type LbfgsState = IterState<Vector, Vector, (), (), (), f64>;

/// Elements per parallel work item in the L-BFGS vector algebra. Fixed, so
/// the order of every floating-point sum does not depend on the thread count.
const VEC_CHUNK: usize = 8192;

/// Independent partial sums inside one chunk of a dot product: enough to
/// vectorise the loop and hide the latency of the additions.
const LANES: usize = 8;

/// Sum of `f(a_i, b_i)` over one chunk in `LANES` fixed lanes, added in lane
/// order at the end.
#[inline]
fn lane_sum<A, B>(a: &[A], b: &[B], f: impl Fn(f64, f64) -> f64) -> f64
where
    A: Copy + Into<f64>,
    B: Copy + Into<f64>,
{
    let mut acc = [0.0; LANES];
    let mut a_lanes = a.chunks_exact(LANES);
    let mut b_lanes = b.chunks_exact(LANES);
    for (x, y) in (&mut a_lanes).zip(&mut b_lanes) {
        for ((s, &xv), &yv) in acc.iter_mut().zip(x).zip(y) {
            *s += f(xv.into(), yv.into());
        }
    }
    for ((s, &xv), &yv) in acc
        .iter_mut()
        .zip(a_lanes.remainder())
        .zip(b_lanes.remainder())
    {
        *s += f(xv.into(), yv.into());
    }
    acc.iter().fold(0.0, |t, v| t + v)
}

/// Adds per-chunk partial sums in chunk order.
fn ordered_sum(partials: Vec<f64>) -> f64 {
    partials.into_iter().fold(0.0, |t, v| t + v)
}

/// `a . b` over fixed chunks in parallel; bit-identical for any thread count.
fn par_dot<A: Copy + Into<f64> + Sync>(a: &[A], b: &[f64]) -> f64 {
    ordered_sum(
        a.par_chunks(VEC_CHUNK)
            .zip(b.par_chunks(VEC_CHUNK))
            .map(|(x, y)| lane_sum(x, y, |u, v| u * v))
            .collect(),
    )
}

/// `out_i = f(out_i, a_i)` for every `i`, then returns `out . dot_with` (or 0
/// without `dot_with`): one parallel pass instead of two.
fn par_update_dot(
    out: &mut [f64],
    a: &[Stored],
    dot_with: Option<&[Stored]>,
    f: impl Fn(f64, f64) -> f64 + Sync,
) -> f64 {
    ordered_sum(
        out.par_chunks_mut(VEC_CHUNK)
            .zip(a.par_chunks(VEC_CHUNK))
            .enumerate()
            .map(|(chunk, (o, x))| {
                for (ov, &xv) in o.iter_mut().zip(x) {
                    *ov = f(*ov, xv.into());
                }
                dot_with.map_or(0.0, |d| {
                    let start = chunk * VEC_CHUNK;
                    lane_sum(o, &d[start..start + o.len()], |u, v| u * v)
                })
            })
            .collect(),
    )
}

/// Largest absolute entry (exact, so the parallel order does not matter).
fn max_abs(v: &[f64]) -> f64 {
    v.par_chunks(VEC_CHUNK)
        .map(|c| c.iter().fold(0.0, |m: f64, x| m.max(x.abs())))
        .reduce(|| 0.0, f64::max)
}

/// Precision of the stored L-BFGS correction pairs.
///
/// The two-loop recursion reads the whole history twice per iteration and
/// is bound by memory bandwidth: on the 100k-paragraph bench corpus
/// (305,241 parameters, 10 pairs) it took about 5.6 ms of a 32 ms
/// iteration with `f64` pairs (49 MB). `f32` pairs halve that traffic and
/// fit in a large L3 cache. They only change the quasi-Newton model of the
/// curvature, not the objective, its gradient or the stopping rule, so the
/// fit reaches the same optimum; `ys` and `yy` are computed from the
/// rounded pairs, so the model stays consistent (and a pair whose rounded
/// `ys` is not positive is skipped).
type Stored = f32;

/// One stored L-BFGS correction pair with its cached inner products.
struct Correction {
    /// `s = x_{k+1} - x_k`, rounded to [`Stored`].
    s: Vec<Stored>,
    /// `y = g_{k+1} - g_k`, rounded to [`Stored`].
    y: Vec<Stored>,
    /// `y . s` of the rounded pair.
    ys: f64,
    /// `y . y` of the rounded pair.
    yy: f64,
}

/// L-BFGS (Nocedal & Wright, algorithm 7.4) with argmin's Moré-Thuente line
/// search: the same iteration as argmin 0.10's `LBFGS` without L1 (initial
/// scaling `s.y / y.y` from the newest pair, history of `m` pairs, a failed
/// line search ends the run), but its vector algebra runs in place, fused
/// into one parallel pass per pair and direction, with each pair's inner
/// products computed once. argmin's version allocates a new vector for every
/// `dot`/`mul`/`sub`/`add` and runs on one thread: 21% of a 100k-row fit.
struct Lbfgs {
    m: usize,
    history: VecDeque<Correction>,
    /// Buffers of the last dropped (or refused) pair, for the next one.
    spare: Option<(Vec<Stored>, Vec<Stored>)>,
}

impl Lbfgs {
    fn new(m: usize) -> Self {
        Self {
            m,
            history: VecDeque::with_capacity(m),
            spare: None,
        }
    }

    /// The search direction `-H g` by the two-loop recursion.
    fn direction(&self, gradient: &[f64]) -> Vec<f64> {
        let mut q = gradient.to_vec();
        let Some(newest) = self.history.back() else {
            q.par_chunks_mut(VEC_CHUNK)
                .for_each(|c| c.iter_mut().for_each(|v| *v = -*v));
            return q;
        };
        let gamma = newest.ys / newest.yy;
        let n = self.history.len();
        let mut alpha = vec![0.0; n];
        // First loop, newest to oldest: q -= alpha_i y_i, fused with the next
        // (older) pair's s . q.
        let mut sq = par_dot(&newest.s, &q);
        for i in (0..n).rev() {
            let pair = &self.history[i];
            let a = sq * (1.0 / pair.ys);
            alpha[i] = a;
            let next = i.checked_sub(1).map(|p| self.history[p].s.as_slice());
            sq = par_update_dot(&mut q, &pair.y, next, |qv, yv| qv - yv * a);
        }
        // r = gamma q, fused with the oldest pair's y . r.
        let mut yr = par_update_dot(
            &mut q,
            &self.history[0].y,
            Some(&self.history[0].y),
            |qv, _| qv * gamma,
        );
        // Second loop, oldest to newest: r += (alpha_i - beta_i) s_i, fused
        // with the next pair's y . r; the last pass also negates r.
        for (i, (pair, &a)) in self.history.iter().zip(&alpha).enumerate() {
            let step = a - yr * (1.0 / pair.ys);
            if let Some(next_pair) = self.history.get(i + 1) {
                let next = Some(next_pair.y.as_slice());
                yr = par_update_dot(&mut q, &pair.s, next, |rv, sv| rv + sv * step);
            } else {
                par_update_dot(&mut q, &pair.s, None, |rv, sv| -(rv + sv * step));
            }
        }
        q
    }

    /// Stores the pair from `x_k, g_k` to `x_{k+1}, g_{k+1}`, dropping the
    /// oldest pair once the history is full and reusing its buffers. A
    /// pair without positive curvature (`y . s <= 0` after rounding) would
    /// make the model indefinite and is not stored.
    fn push(&mut self, x_old: &[f64], x_new: &[f64], g_old: &[f64], g_new: &[f64]) {
        let (mut s, mut y) = self.spare.take().unwrap_or_default();
        s.resize(x_new.len(), 0.0);
        y.resize(g_new.len(), 0.0);
        let partials: Vec<(f64, f64)> = s
            .par_chunks_mut(VEC_CHUNK)
            .zip(y.par_chunks_mut(VEC_CHUNK))
            .enumerate()
            .map(|(chunk, (sc, yc))| {
                let start = chunk * VEC_CHUNK;
                let end = start + sc.len();
                for ((sv, &a), &b) in sc
                    .iter_mut()
                    .zip(&x_new[start..end])
                    .zip(&x_old[start..end])
                {
                    *sv = (a - b) as Stored;
                }
                for ((yv, &a), &b) in yc
                    .iter_mut()
                    .zip(&g_new[start..end])
                    .zip(&g_old[start..end])
                {
                    *yv = (a - b) as Stored;
                }
                (
                    lane_sum(yc, sc, |u, v| u * v),
                    lane_sum(yc, yc, |u, v| u * v),
                )
            })
            .collect();
        let (ys, yy) = partials
            .into_iter()
            .fold((0.0, 0.0), |(a, b), (u, v)| (a + u, b + v));
        if !(ys > 0.0 && yy > 0.0 && ys.is_finite() && yy.is_finite()) {
            self.spare = Some((s, y));
            return;
        }
        if self.history.len() >= self.m {
            self.spare = self.history.pop_front().map(|c| (c.s, c.y));
        }
        self.history.push_back(Correction { s, y, ys, yy });
    }
}

impl<'a> Solver<Objective<'a>, LbfgsState> for Lbfgs {
    const NAME: &'static str = "L-BFGS";

    fn init(
        &mut self,
        problem: &mut Problem<Objective<'a>>,
        mut state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), ArgminError> {
        let param = state
            .take_param()
            .ok_or_else(|| ArgminError::msg("L-BFGS needs an initial parameter vector"))?;
        let cost = problem.cost(&param)?;
        let gradient = problem.gradient(&param)?;
        Ok((state.param(param).cost(cost).gradient(gradient), None))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<Objective<'a>>,
        mut state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), ArgminError> {
        let (Some(param), Some(prev_grad)) = (state.take_param(), state.take_gradient()) else {
            return Err(ArgminError::msg("L-BFGS state lost its parameters"));
        };
        let cost = state.get_cost();
        let direction = Vector::new(self.direction(&prev_grad));

        let mut linesearch = MoreThuenteLineSearch::new();
        linesearch.search_direction(direction);
        let objective = problem
            .take_problem()
            .ok_or_else(|| ArgminError::msg("L-BFGS problem missing"))?;
        let result = Executor::new(objective, linesearch)
            .configure(|config| {
                config
                    .param(param.clone())
                    .gradient(prev_grad.clone())
                    .cost(cost)
            })
            .ctrlc(false)
            .timer(false)
            .run();
        let OptimizationResult {
            problem: mut line_problem,
            state: mut line_state,
            ..
        } = match result {
            Ok(result) => result,
            Err(e) => {
                return Ok((
                    state.terminate_with(TerminationReason::SolverExit(format!(
                        "Line search terminated with: '{e}'"
                    ))),
                    None,
                ))
            }
        };
        problem.problem = line_problem.take_problem();
        problem.consume_func_counts(line_problem);
        let next = line_state
            .take_param()
            .ok_or_else(|| ArgminError::msg("line search returned no parameters"))?;
        let next_cost = line_state.get_cost();
        // Moré-Thuente returns the gradient of its last point when it
        // converges; otherwise (or if absent) evaluate it (usually cached).
        let converged =
            line_state.get_termination_reason() == Some(&TerminationReason::SolverConverged);
        let gradient = match line_state.take_gradient().filter(|_| converged) {
            Some(gradient) => gradient,
            None => problem.gradient(&next)?,
        };
        self.push(&param, &next, &prev_grad, &gradient);
        Ok((state.param(next).cost(next_cost).gradient(gradient), None))
    }
}

/// [`Lbfgs`] with our stopping rule: converged when the gradient's
/// largest absolute entry is at most `tol * max(1, that at the start)`.
/// argmin's own rule (absolute L2 norm below `sqrt(eps)`) is scale-dependent:
/// with `C * n` in the loss it is either unreachable or too loose.
struct RelativeGradientStop {
    inner: Lbfgs,
    tol: f64,
    threshold: f64,
    converged: bool,
    flat_iterations: u32,
}

/// Consecutive iterations without a measurable decrease of the objective
/// after which the fit stops unconverged.
const MAX_FLAT_ITERATIONS: u32 = 5;

impl RelativeGradientStop {
    fn new(inner: Lbfgs, tol: f64) -> Self {
        Self {
            inner,
            tol,
            threshold: tol,
            converged: false,
            flat_iterations: 0,
        }
    }
}

impl Solver<Objective<'_>, LbfgsState> for RelativeGradientStop {
    const NAME: &'static str = "L-BFGS (relative max-abs gradient stop)";

    fn init(
        &mut self,
        problem: &mut Problem<Objective<'_>>,
        state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), ArgminError> {
        let (state, kv) = self.inner.init(problem, state)?;
        let initial = state.get_gradient().map_or(0.0, |g| max_abs(g));
        self.threshold = self.tol * initial.max(1.0);
        Ok((state, kv))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<Objective<'_>>,
        state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), ArgminError> {
        // A failed line search comes back as a terminated state, not an error.
        self.inner.next_iter(problem, state)
    }

    fn terminate(&mut self, state: &LbfgsState) -> TerminationStatus {
        let Some(gradient) = state.get_gradient() else {
            return TerminationStatus::NotTerminated;
        };
        if max_abs(gradient) <= self.threshold {
            self.converged = true;
            return TerminationStatus::Terminated(TerminationReason::SolverConverged);
        }
        // No measurable progress for several iterations in a row: the
        // objective is at machine precision even if the gradient is not yet
        // below tolerance. (One flat iteration is normal near the optimum:
        // stopping on the first cost an f64 step too small to show cut a
        // C=10 oracle fit off at gradient 3.7e-6 against a 3e-6 threshold.)
        let (prev, cost) = (state.get_prev_cost(), state.get_cost());
        if (prev - cost).abs() <= f64::EPSILON * cost.abs() {
            self.flat_iterations += 1;
        } else {
            self.flat_iterations = 0;
        }
        if self.flat_iterations >= MAX_FLAT_ITERATIONS {
            return TerminationStatus::Terminated(TerminationReason::SolverExit(
                "objective stopped decreasing".to_owned(),
            ));
        }
        TerminationStatus::NotTerminated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::SparseVec;
    use crate::model::LogRegParams;

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

    /// `n` rows over `f` features, about `density * f` entries per row, labels
    /// from a planted linear rule plus noise.
    fn random_problem(
        n: usize,
        f: usize,
        k: usize,
        density: f64,
        seed: u64,
    ) -> (CsrMatrix, Vec<usize>) {
        let mut rng = Lcg(seed);
        let truth: Vec<f64> = (0..f * k).map(|_| 4.0 * rng.next() - 2.0).collect();
        let mut x = CsrMatrix::new(f);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let mut row = SparseVec::default();
            for j in 0..f {
                if rng.next() < density {
                    row.indices.push(j as u32);
                    row.values.push(rng.next());
                }
            }
            let mut label = 0;
            let mut best = f64::NEG_INFINITY;
            for c in 0..k {
                let score = row.view().dot(&truth[c * f..(c + 1) * f]) + 0.5 * rng.next();
                if score > best {
                    (label, best) = (c, score);
                }
            }
            x.push_row(row.view());
            y.push(label);
        }
        (x, y)
    }

    fn one_hot_row(col: u32, value: f64) -> SparseVec {
        SparseVec {
            indices: vec![col],
            values: vec![value],
        }
    }

    #[test]
    fn gradient_matches_central_finite_differences() {
        // 3 classes take the specialised path, 5 the generic one.
        for k in [3, 5] {
            let (x, y) = random_problem(40, 6, k, 0.5, 7);
            let mut rng = Lcg(99);
            let sample_weight: Vec<f64> = (0..40).map(|_| 0.2 + 2.0 * rng.next()).collect();
            let params = LogRegParams::default()
                .c(0.7)
                .class_weight(ClassWeight::Balanced)
                .check()
                .unwrap();
            let row_weights = validate(&params, &x, &y, k, Some(&sample_weight)).unwrap();
            let objective = Objective::new(&x, &y, k, row_weights, 0.7, true);
            let theta: Vec<f64> = (0..objective.n_params())
                .map(|_| 2.0 * rng.next() - 1.0)
                .collect();
            let (_, gradient) = objective.evaluate(&theta);
            assert_eq!(gradient.len(), 7 * k);
            let h = 1e-6;
            for (p, &g) in gradient.iter().enumerate() {
                let mut plus = theta.clone();
                plus[p] += h;
                let mut minus = theta.clone();
                minus[p] -= h;
                let numeric =
                    (objective.evaluate(&plus).0 - objective.evaluate(&minus).0) / (2.0 * h);
                assert!(
                    (numeric - g).abs() <= 1e-6 * (1.0 + g.abs()),
                    "k={k} parameter {p}: analytic {g}, numeric {numeric}"
                );
            }
        }
    }

    #[test]
    fn specialised_and_generic_evaluations_are_bit_identical() {
        for k in [2, 3, 4] {
            let (x, y) = random_problem(300, 9, k, 0.4, 13);
            let params = LogRegParams::default().check().unwrap();
            let row_weights = validate(&params, &x, &y, k, None).unwrap();
            let objective = Objective::new(&x, &y, k, row_weights, 1.3, true);
            let mut rng = Lcg(4);
            let theta: Vec<f64> = (0..objective.n_params())
                .map(|_| rng.next() - 0.5)
                .collect();
            let fixed = match k {
                2 => objective.evaluate_k::<2>(&theta),
                3 => objective.evaluate_k::<3>(&theta),
                _ => objective.evaluate_k::<4>(&theta),
            };
            let generic = objective.evaluate_k::<0>(&theta);
            assert_eq!(fixed.0.to_bits(), generic.0.to_bits(), "k={k} cost");
            let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fixed.1), bits(&generic.1), "k={k} gradient");
        }
    }

    #[test]
    fn cost_matches_a_direct_dense_computation() {
        let (x, y) = random_problem(25, 4, 3, 0.7, 3);
        let params = LogRegParams::default().c(2.0).check().unwrap();
        let row_weights = validate(&params, &x, &y, 3, None).unwrap();
        let objective = Objective::new(&x, &y, 3, row_weights, 2.0, true);
        let theta: Vec<f64> = (0..objective.n_params())
            .map(|p| 0.1 * p as f64 - 0.5)
            .collect();
        let dense = x.to_dense();
        let mut expected = 0.0;
        for (row, &label) in dense.iter().zip(&y) {
            let logits: Vec<f64> = (0..3)
                .map(|k| theta[4 * 3 + k] + (0..4).map(|j| row[j] * theta[j * 3 + k]).sum::<f64>())
                .collect();
            let lse = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
            expected += 2.0 * (lse - logits[label]);
        }
        expected += 0.5 * theta[..12].iter().map(|v| v * v).sum::<f64>();
        let (cost, _) = objective.evaluate(&theta);
        assert!(
            (cost - expected).abs() < 1e-10 * expected.abs(),
            "{cost} vs {expected}"
        );
    }

    #[test]
    fn linearly_separable_data_is_learned_exactly() {
        // Each class owns one feature; a shared noise feature carries nothing.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let k = i % 3;
            rows.push(SparseVec {
                indices: vec![k as u32, 3],
                values: vec![1.0, (i as f64 * 0.37).fract()],
            });
            y.push(k);
        }
        let x = CsrMatrix::from_rows(4, &rows);
        let model = LogRegParams::default()
            .c(10.0)
            .check()
            .unwrap()
            .fit(&x, &y, 3, None)
            .unwrap();
        assert!(model.fit_info().converged, "{:?}", model.fit_info());
        for (i, &label) in y.iter().enumerate() {
            let p = model.predict_proba(x.row(i));
            let best = (0..3).fold(0, |a, b| if p[b] > p[a] { b } else { a });
            assert_eq!(best, label, "row {i}: {p:?}");
            assert!(p[label] > 0.9, "row {i}: {p:?}");
        }
    }

    #[test]
    fn fit_reaches_a_stationary_point_with_the_reported_objective() {
        let (x, y) = random_problem(200, 10, 3, 0.4, 11);
        let params = LogRegParams::default().check().unwrap();
        let model = params.fit(&x, &y, 3, None).unwrap();
        assert!(model.fit_info().converged, "{:?}", model.fit_info());
        assert!(model.fit_info().iterations > 0);

        // Re-evaluate the gradient at the returned model.
        let row_weights = validate(&params, &x, &y, 3, None).unwrap();
        let objective = Objective::new(&x, &y, 3, row_weights, 1.0, true);
        let mut theta = vec![0.0; objective.n_params()];
        for k in 0..3 {
            for j in 0..10 {
                theta[j * 3 + k] = model.coef(k, j);
            }
            theta[30 + k] = model.intercepts()[k];
        }
        let (cost, gradient) = objective.evaluate(&theta);
        assert_eq!(cost, model.fit_info().objective);
        let (_, g0) = objective.evaluate(&vec![0.0; theta.len()]);
        assert!(max_abs(&gradient) <= 1e-6 * max_abs(&g0).max(1.0));
        // The intercepts are centred, as in sklearn.
        assert!(model.intercepts().iter().sum::<f64>().abs() < 1e-9);
    }

    #[test]
    fn probabilities_sum_to_one_and_stay_finite_for_huge_logits() {
        let info = FitInfo {
            iterations: 0,
            converged: true,
            objective: 0.0,
        };
        let model = LogReg::from_parts(
            2,
            vec![1e300, -1e300, -1e300, 1e300, 0.0, 0.0],
            vec![0.0, 1e6, -1e6],
            info,
        )
        .unwrap();
        let rows = [
            one_hot_row(0, 1.0),  // logits ~ [1e300, -1e300, 0]
            one_hot_row(0, 1e10), // overflows to [+inf, -inf, 0]
            one_hot_row(1, -1e10),
            SparseVec::default(), // only intercepts: [0, 1e6, -1e6]
            SparseVec {
                indices: vec![0, 1],
                values: vec![1e10, 1e10], // [inf - inf, ...]: NaN, see below
            },
        ];
        for (case, row) in rows.iter().take(4).enumerate() {
            let p = model.predict_proba(row.view());
            assert!(p.iter().all(|v| v.is_finite()), "case {case}: {p:?}");
            assert!(
                (p.iter().sum::<f64>() - 1.0).abs() < 1e-12,
                "case {case}: {p:?}"
            );
        }
        let mut logits = [0.0; 3];
        model.decision_function(rows[3].view(), &mut logits);
        assert_eq!(logits, [0.0, 1e6, -1e6]);
        // Overflow to +inf on both sides of a sum is undefined: NaN, not a panic.
        assert!(model
            .predict_proba(rows[4].view())
            .iter()
            .all(|v| v.is_nan()));
        // Every logit overflowing to -inf: the tie is shared.
        let all_low = LogReg::from_parts(
            1,
            vec![-1e300, -1e300],
            vec![0.0, 0.0],
            model.fit_info().clone(),
        )
        .unwrap();
        assert_eq!(
            all_low.predict_proba(one_hot_row(0, 1e10).view()),
            vec![0.5, 0.5]
        );
        let mut wrong = [0.0; 2];
        model.predict_proba_into(rows[0].view(), &mut wrong);
        assert!(
            wrong.iter().all(|v| v.is_nan()),
            "wrong-length out is NaN-filled"
        );
    }

    #[test]
    fn loss_stays_finite_for_huge_logits() {
        let x = CsrMatrix::from_rows(1, [&one_hot_row(0, 1.0), &one_hot_row(0, -1.0)]);
        let y = [0, 1];
        let params = LogRegParams::default().check().unwrap();
        let row_weights = validate(&params, &x, &y, 2, None).unwrap();
        let objective = Objective::new(&x, &y, 2, row_weights, 1.0, true);
        // Logits of +-1e150: each row is classified wrongly with margin 2e150.
        let (cost, gradient) = objective.evaluate(&[-1e150, 1e150, 0.0, 0.0]);
        assert!((cost - 1e300).abs() <= 1e-12 * 1e300, "{cost}");
        assert!(gradient.iter().all(|g| g.is_finite()), "{gradient:?}");
        // Margins of 2000, where a naive exp() would overflow.
        let (cost, _) = objective.evaluate(&[-1e3, 1e3, 0.0, 0.0]);
        assert!((cost - (2.0 * 2000.0 + 1e6)).abs() < 1e-6, "{cost}");
    }

    #[test]
    fn balanced_weights_shift_predictions_toward_a_minority_class() {
        // 90 rows of class 0 and 10 of class 1 on one overlapping feature.
        let mut rng = Lcg(5);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..100 {
            let label = usize::from(i >= 90);
            let centre = if label == 1 { 1.0 } else { 0.0 };
            rows.push(SparseVec {
                indices: vec![0],
                values: vec![centre + 1.5 * (rng.next() - 0.5)],
            });
            y.push(label);
        }
        let x = CsrMatrix::from_rows(1, &rows);
        let fit = |cw| {
            LogRegParams::default()
                .class_weight(cw)
                .check()
                .unwrap()
                .fit(&x, &y, 2, None)
                .unwrap()
        };
        let plain = fit(ClassWeight::None);
        let balanced = fit(ClassWeight::Balanced);
        let minority_votes = |m: &LogReg| {
            x.rows()
                .filter(|r| {
                    let p = m.predict_proba(*r);
                    p[1] > p[0]
                })
                .count()
        };
        let mean_p1 = |m: &LogReg| x.rows().map(|r| m.predict_proba(r)[1]).sum::<f64>() / 100.0;
        assert!(minority_votes(&balanced) > minority_votes(&plain));
        assert!(mean_p1(&balanced) > mean_p1(&plain) + 0.1);
    }

    #[test]
    fn balanced_weights_follow_sklearn_formula() {
        // Counts 3, 1 (and an absent class 2): n / (n_present * count).
        let e = SparseVec::default();
        let x = CsrMatrix::from_rows(1, [&e, &e, &e, &e]);
        let params = LogRegParams::default()
            .class_weight(ClassWeight::Balanced)
            .check()
            .unwrap();
        let w = validate(&params, &x, &[0, 0, 0, 1], 3, Some(&[1.0, 2.0, 1.0, 1.0])).unwrap();
        let (w0, w1) = (4.0 / (2.0 * 3.0), 4.0 / (2.0 * 1.0));
        assert_eq!(w, vec![w0, 2.0 * w0, w0, w1]);
    }

    #[test]
    fn integer_sample_weights_equal_duplicated_rows() {
        let (x, y) = random_problem(30, 5, 3, 0.6, 21);
        let mut weights = vec![1.0; 30];
        let mut dup_rows: Vec<usize> = (0..30).collect();
        for i in (0..30).step_by(4) {
            weights[i] = 2.0;
            dup_rows.push(i);
        }
        let x_dup = x.select_rows(&dup_rows);
        let y_dup: Vec<usize> = dup_rows.iter().map(|&i| y[i]).collect();
        let params = LogRegParams::default().tol(1e-10).check().unwrap();
        let weighted = params.fit(&x, &y, 3, Some(&weights)).unwrap();
        let duplicated = params.fit(&x_dup, &y_dup, 3, None).unwrap();
        let rel = (weighted.fit_info().objective - duplicated.fit_info().objective).abs()
            / duplicated.fit_info().objective;
        assert!(rel < 1e-10, "{rel}");
        for (a, b) in weighted.weights().iter().zip(duplicated.weights()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn fit_is_deterministic_across_runs_and_thread_counts() {
        // More than one row chunk and column chunk, so the parallel paths run.
        let (x, y) = random_problem(2 * ROW_CHUNK + 100, 30, 3, 0.1, 42);
        let mut wide = CsrMatrix::new(COL_CHUNK + 50);
        for r in x.rows() {
            let shifted: Vec<u32> = r.indices.iter().map(|&j| j * 140).collect();
            wide.push_row(SparseRow {
                indices: &shifted,
                values: r.values,
            });
        }
        let params = LogRegParams::default().max_iter(15).check().unwrap();
        let fit_with = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| params.fit(&wide, &y, 3, None).unwrap())
        };
        let a = fit_with(2);
        let b = fit_with(2);
        let c = fit_with(1);
        let d = fit_with(3);
        let bits = |m: &LogReg| -> Vec<u64> {
            m.weights()
                .iter()
                .chain(m.intercepts())
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&a), bits(&b), "two runs");
        assert_eq!(bits(&a), bits(&c), "1 thread vs 2");
        assert_eq!(bits(&a), bits(&d), "3 threads vs 2");
        assert_eq!(a, c);
    }

    #[test]
    fn hitting_max_iter_is_not_an_error() {
        let (x, y) = random_problem(100, 8, 3, 0.5, 1);
        let model = LogRegParams::default()
            .max_iter(2)
            .check()
            .unwrap()
            .fit(&x, &y, 3, None)
            .unwrap();
        assert_eq!(model.fit_info().iterations, 2);
        assert!(!model.fit_info().converged);
    }

    #[test]
    fn fit_without_intercept_leaves_intercepts_zero() {
        let (x, y) = random_problem(60, 5, 2, 0.6, 8);
        let model = LogRegParams::default()
            .fit_intercept(false)
            .check()
            .unwrap()
            .fit(&x, &y, 2, None)
            .unwrap();
        assert_eq!(model.intercepts(), &[0.0, 0.0]);
        assert!(model.fit_info().converged);
        // Two-class softmax weights are antisymmetric at the optimum.
        for j in 0..5 {
            assert!((model.coef(0, j) + model.coef(1, j)).abs() < 1e-6);
        }
        assert_eq!(model.coef(2, 0), 0.0);
        assert_eq!(model.coef(0, 5), 0.0);
    }

    #[test]
    fn each_bad_input_returns_its_error() {
        let params = LogRegParams::default().check().unwrap();
        let x = CsrMatrix::from_rows(2, [&one_hot_row(0, 1.0), &one_hot_row(1, 1.0)]);
        let nan_x = CsrMatrix::from_rows(2, [&one_hot_row(0, 1.0), &one_hot_row(1, f64::NAN)]);
        let inf_x = CsrMatrix::from_rows(2, [&one_hot_row(1, f64::INFINITY), &one_hot_row(0, 1.0)]);
        let empty = CsrMatrix::new(2);
        type Case<'a> = (
            &'a str,
            &'a CsrMatrix,
            &'a [usize],
            usize,
            Option<&'a [f64]>,
            LogRegError,
        );
        let cases: Vec<Case> = vec![
            ("no rows", &empty, &[], 2, None, LogRegError::EmptyData),
            (
                "short labels",
                &x,
                &[0],
                2,
                None,
                LogRegError::LabelsLengthMismatch { rows: 2, labels: 1 },
            ),
            (
                "label too big",
                &x,
                &[0, 2],
                2,
                None,
                LogRegError::LabelOutOfRange {
                    row: 1,
                    label: 2,
                    n_classes: 2,
                },
            ),
            (
                "one class",
                &x,
                &[1, 1],
                2,
                None,
                LogRegError::TooFewClasses { found: 1 },
            ),
            (
                "weights too long",
                &x,
                &[0, 1],
                2,
                Some(&[1.0, 1.0, 1.0]),
                LogRegError::SampleWeightLength {
                    rows: 2,
                    weights: 3,
                },
            ),
            (
                "negative weight",
                &x,
                &[0, 1],
                2,
                Some(&[1.0, -0.5]),
                LogRegError::InvalidSampleWeight {
                    index: 1,
                    value: -0.5,
                },
            ),
            (
                "infinite weight",
                &x,
                &[0, 1],
                2,
                Some(&[f64::INFINITY, 1.0]),
                LogRegError::InvalidSampleWeight {
                    index: 0,
                    value: f64::INFINITY,
                },
            ),
            (
                "weight overflowing with c",
                &x,
                &[0, 1],
                2,
                Some(&[f64::MAX, f64::MAX]),
                LogRegError::InvalidSampleWeight {
                    index: 1,
                    value: f64::MAX,
                },
            ),
            (
                "infinite feature",
                &inf_x,
                &[0, 1],
                2,
                None,
                LogRegError::NonFiniteFeature {
                    row: 0,
                    column: 1,
                    value: f64::INFINITY,
                },
            ),
            (
                "too many classes for memory",
                &x,
                &[0, 1],
                usize::MAX,
                None,
                LogRegError::TooManyParameters {
                    n_features: 2,
                    n_classes: usize::MAX,
                },
            ),
        ];
        for (name, x, y, k, w, expected) in cases {
            assert_eq!(params.fit(x, y, k, w), Err(expected), "case {name}");
        }
        let err = params.fit(&nan_x, &[0, 1], 2, None).unwrap_err();
        assert!(
            matches!(err, LogRegError::NonFiniteFeature { row: 1, column: 1, value } if value.is_nan()),
            "nan feature: {err:?}"
        );
        let err = params
            .fit(&x, &[0, 1], 2, Some(&[1.0, f64::NAN]))
            .unwrap_err();
        assert!(
            matches!(err, LogRegError::InvalidSampleWeight { index: 1, .. }),
            "nan weight: {err:?}"
        );
    }

    #[test]
    fn from_parts_rejects_wrong_shapes_and_nan() {
        let info = || FitInfo {
            iterations: 1,
            converged: true,
            objective: 1.0,
        };
        assert!(LogReg::from_parts(2, vec![0.0; 4], vec![0.0; 2], info()).is_ok());
        type Case = (&'static str, usize, Vec<f64>, Vec<f64>, LogRegError);
        let cases: Vec<Case> = vec![
            (
                "weights too short",
                2,
                vec![0.0; 3],
                vec![0.0; 2],
                LogRegError::Shape {
                    what: "weights",
                    expected: 4,
                    found: 3,
                },
            ),
            (
                "one class",
                2,
                vec![0.0; 2],
                vec![0.0],
                LogRegError::TooFewClasses { found: 1 },
            ),
            (
                "overflowing shape",
                usize::MAX,
                vec![],
                vec![0.0; 2],
                LogRegError::TooManyParameters {
                    n_features: usize::MAX,
                    n_classes: 2,
                },
            ),
            (
                "infinite intercept",
                1,
                vec![0.0; 2],
                vec![0.0, f64::NEG_INFINITY],
                LogRegError::NonFiniteParameter {
                    what: "intercepts",
                    index: 1,
                    value: f64::NEG_INFINITY,
                },
            ),
        ];
        for (name, f, w, b, expected) in cases {
            assert_eq!(
                LogReg::from_parts(f, w, b, info()),
                Err(expected),
                "case {name}"
            );
        }
        let err =
            LogReg::from_parts(2, vec![0.0, f64::NAN, 0.0, 0.0], vec![0.0; 2], info()).unwrap_err();
        assert!(
            matches!(
                err,
                LogRegError::NonFiniteParameter {
                    what: "weights",
                    index: 1,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn model_round_trips_through_serde_and_bad_shapes_are_refused() {
        let (x, y) = random_problem(50, 4, 3, 0.5, 2);
        let model = LogRegParams::default()
            .check()
            .unwrap()
            .fit(&x, &y, 3, None)
            .unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let back: LogReg = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        let bad = json.replace("\"n_features\":4", "\"n_features\":5");
        assert!(serde_json::from_str::<LogReg>(&bad).is_err());
        let bad = json.replace("\"n_classes\":3", "\"n_classes\":2");
        assert!(serde_json::from_str::<LogReg>(&bad).is_err());
    }

    #[test]
    fn fitted_types_are_send_sync_and_plain() {
        fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + PartialEq>() {}
        assert_traits::<LogReg>();
        assert_traits::<FitInfo>();
        assert_traits::<ValidLogRegParams>();
        assert_traits::<LogRegError>();
    }
}

//! Hyperparameters of the logistic regression learner: the unchecked,
//! serde-able builder [`LogRegParams`] and the checked [`ValidLogRegParams`]
//! that alone can fit (linfa's `ParamGuard` pattern: validate once, never
//! mutate while checking).

use std::ops::Deref;

use serde::{Deserialize, Serialize};

use super::error::LogRegError;

/// Upper bound on [`LogRegParams::history`]. L-BFGS keeps `2 * history`
/// parameter-sized vectors, so larger values only exhaust memory.
pub const MAX_HISTORY: usize = 1024;

/// How training rows are weighted by their class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClassWeight {
    /// Every class weighs 1 (the default).
    #[default]
    None,
    /// Class `k` weighs `n_samples / (n_present_classes * count_k)`, counting
    /// raw rows even when sample weights are given: scikit-learn's
    /// `class_weight="balanced"` (`compute_class_weight`).
    Balanced,
}

/// Unchecked hyperparameters of multinomial logistic regression; call
/// [`check`](Self::check) to get [`ValidLogRegParams`].
///
/// The objective matches scikit-learn's multinomial `LogisticRegression`
/// with `penalty="l2"` at the same `C`:
/// `C * sum_i s_i * (-log softmax(W x_i + b)[y_i]) + 0.5 * ||W||_F^2`,
/// with intercepts `b` not penalised and `s_i` = sample weight times class
/// weight.
///
/// Missing fields deserialise to their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogRegParams {
    /// Inverse L2 regularisation strength, as scikit-learn's `C`. Default `1.0`.
    pub c: f64,
    /// Maximum number of L-BFGS iterations. Default `500`. Reaching it is not
    /// an error: the fit reports `converged = false`.
    pub max_iter: u64,
    /// Relative gradient tolerance. Default `1e-6`. The fit has converged once
    /// the largest absolute gradient entry is at most
    /// `tol * max(1, largest absolute gradient entry at the start)`.
    pub tol: f64,
    /// Per-class row weights. Default [`ClassWeight::None`].
    pub class_weight: ClassWeight,
    /// Whether to fit one unpenalised intercept per class. Default `true`.
    pub fit_intercept: bool,
    /// L-BFGS memory (number of correction pairs kept). Default `10`.
    pub history: usize,
}

impl Default for LogRegParams {
    fn default() -> Self {
        Self {
            c: 1.0,
            max_iter: 500,
            tol: 1e-6,
            class_weight: ClassWeight::None,
            fit_intercept: true,
            history: 10,
        }
    }
}

impl LogRegParams {
    /// Defaults: `c = 1.0`, `max_iter = 500`, `tol = 1e-6`, no class weights,
    /// intercepts fitted, `history = 10`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the inverse regularisation strength (finite, > 0). Default `1.0`.
    pub fn c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    /// Sets the iteration cap (>= 1). Default `500`.
    pub fn max_iter(mut self, max_iter: u64) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the relative gradient tolerance (finite, > 0). Default `1e-6`.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the class weighting. Default [`ClassWeight::None`].
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// Sets whether intercepts are fitted. Default `true`.
    pub fn fit_intercept(mut self, fit_intercept: bool) -> Self {
        self.fit_intercept = fit_intercept;
        self
    }

    /// Sets the L-BFGS memory (1 to [`MAX_HISTORY`]). Default `10`.
    pub fn history(mut self, history: usize) -> Self {
        self.history = history;
        self
    }

    /// Checks every rule and returns the parameters that can fit.
    ///
    /// # Errors
    /// One [`LogRegError`] variant per rule: [`InvalidC`](LogRegError::InvalidC),
    /// [`InvalidMaxIter`](LogRegError::InvalidMaxIter),
    /// [`InvalidTol`](LogRegError::InvalidTol),
    /// [`InvalidHistory`](LogRegError::InvalidHistory).
    pub fn check(&self) -> Result<ValidLogRegParams, LogRegError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(LogRegError::InvalidC(self.c));
        }
        if self.max_iter == 0 {
            return Err(LogRegError::InvalidMaxIter);
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(LogRegError::InvalidTol(self.tol));
        }
        if !(1..=MAX_HISTORY).contains(&self.history) {
            return Err(LogRegError::InvalidHistory(self.history));
        }
        Ok(ValidLogRegParams(self.clone()))
    }
}

/// Checked hyperparameters; the only way to [`fit`](ValidLogRegParams::fit).
/// Dereferences to the [`LogRegParams`] it was checked from. Deserialising
/// runs [`LogRegParams::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogRegParams", into = "LogRegParams")]
pub struct ValidLogRegParams(LogRegParams);

impl ValidLogRegParams {
    /// The checked parameters.
    pub fn params(&self) -> &LogRegParams {
        &self.0
    }
}

impl Deref for ValidLogRegParams {
    type Target = LogRegParams;

    fn deref(&self) -> &LogRegParams {
        &self.0
    }
}

impl TryFrom<LogRegParams> for ValidLogRegParams {
    type Error = LogRegError;

    fn try_from(params: LogRegParams) -> Result<Self, LogRegError> {
        params.check()
    }
}

impl From<ValidLogRegParams> for LogRegParams {
    fn from(valid: ValidLogRegParams) -> Self {
        valid.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = LogRegParams::default();
        assert_eq!(p.c, 1.0);
        assert_eq!(p.max_iter, 500);
        assert_eq!(p.tol, 1e-6);
        assert_eq!(p.class_weight, ClassWeight::None);
        assert!(p.fit_intercept);
        assert_eq!(p.history, 10);
        assert!(p.check().is_ok());
    }

    #[test]
    fn each_rule_rejects_its_bad_value() {
        let base = LogRegParams::default();
        let cases: Vec<(&str, LogRegParams, LogRegError)> = vec![
            ("c zero", base.clone().c(0.0), LogRegError::InvalidC(0.0)),
            (
                "c negative",
                base.clone().c(-1.0),
                LogRegError::InvalidC(-1.0),
            ),
            (
                "c infinite",
                base.clone().c(f64::INFINITY),
                LogRegError::InvalidC(f64::INFINITY),
            ),
            (
                "max_iter zero",
                base.clone().max_iter(0),
                LogRegError::InvalidMaxIter,
            ),
            (
                "tol zero",
                base.clone().tol(0.0),
                LogRegError::InvalidTol(0.0),
            ),
            (
                "tol negative",
                base.clone().tol(-1e-3),
                LogRegError::InvalidTol(-1e-3),
            ),
            (
                "tol infinite",
                base.clone().tol(f64::INFINITY),
                LogRegError::InvalidTol(f64::INFINITY),
            ),
            (
                "history zero",
                base.clone().history(0),
                LogRegError::InvalidHistory(0),
            ),
            (
                "history huge",
                base.clone().history(MAX_HISTORY + 1),
                LogRegError::InvalidHistory(MAX_HISTORY + 1),
            ),
        ];
        for (name, params, expected) in cases {
            assert_eq!(params.check(), Err(expected), "case {name}");
        }
    }

    #[test]
    fn nan_c_and_tol_are_rejected() {
        let p = LogRegParams::default().c(f64::NAN);
        assert!(matches!(p.check(), Err(LogRegError::InvalidC(v)) if v.is_nan()));
        let p = LogRegParams::default().tol(f64::NAN);
        assert!(matches!(p.check(), Err(LogRegError::InvalidTol(v)) if v.is_nan()));
    }

    #[test]
    fn error_messages_name_the_value() {
        let msg = LogRegParams::default()
            .c(-2.5)
            .check()
            .unwrap_err()
            .to_string();
        assert_eq!(msg, "c must be finite and greater than 0, got -2.5");
    }

    #[test]
    fn checking_does_not_change_the_params() {
        let p = LogRegParams::new()
            .c(3.0)
            .class_weight(ClassWeight::Balanced);
        let v = p.check().unwrap();
        assert_eq!(v.params(), &p);
        assert_eq!(v.c, 3.0);
    }

    #[test]
    fn params_deserialise_with_defaults_and_validate() {
        let p: LogRegParams =
            serde_json::from_str(r#"{"c": 0.5, "class_weight": "balanced"}"#).unwrap();
        assert_eq!(
            p,
            LogRegParams::default()
                .c(0.5)
                .class_weight(ClassWeight::Balanced)
        );
        let v: ValidLogRegParams = serde_json::from_str(r#"{"c": 2.0}"#).unwrap();
        assert_eq!(v.c, 2.0);
        assert!(serde_json::from_str::<ValidLogRegParams>(r#"{"c": -1.0}"#).is_err());
        let round = serde_json::to_string(&v).unwrap();
        assert_eq!(
            serde_json::from_str::<ValidLogRegParams>(&round).unwrap(),
            v
        );
    }
}

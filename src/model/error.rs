//! `LogRegError`: everything that can go wrong when checking logistic
//! regression parameters, fitting on training data, or rebuilding a fitted
//! model from its parts. One variant per rule, each naming the offending value.

use thiserror::Error;

use super::params::MAX_HISTORY;

/// Why a logistic regression could not be configured, fitted or rebuilt.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LogRegError {
    /// The inverse regularisation strength `c` is not finite or not positive.
    #[error("c must be finite and greater than 0, got {0}")]
    InvalidC(f64),
    /// `max_iter` is zero.
    #[error("max_iter must be at least 1, got 0")]
    InvalidMaxIter,
    /// The gradient tolerance `tol` is not finite or not positive.
    #[error("tol must be finite and greater than 0, got {0}")]
    InvalidTol(f64),
    /// The L-BFGS memory `history` is zero or absurdly large.
    #[error("history must be between 1 and {MAX_HISTORY}, got {0}")]
    InvalidHistory(usize),
    /// The training data has no rows.
    #[error("training data has no rows")]
    EmptyData,
    /// More rows than the solver can index (it stores row numbers as `u32`).
    #[error("training data has {rows} rows, more than the supported {}", u32::MAX)]
    TooManyRows {
        /// Number of rows in `x`.
        rows: usize,
    },
    /// `y` does not have one label per row of `x`.
    #[error("x has {rows} rows but y has {labels} labels")]
    LabelsLengthMismatch {
        /// Number of rows in `x`.
        rows: usize,
        /// Number of labels in `y`.
        labels: usize,
    },
    /// A label is not below `n_classes`.
    #[error("label {label} at row {row} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// Row of the bad label.
        row: usize,
        /// The bad label.
        label: usize,
        /// Number of classes the model was asked for.
        n_classes: usize,
    },
    /// Fewer than two distinct classes occur in `y` (or, for a rebuilt
    /// model, fewer than two intercepts were given).
    #[error("need at least two classes, found {found}")]
    TooFewClasses {
        /// Number of distinct classes found.
        found: usize,
    },
    /// `sample_weight` does not have one weight per row of `x`.
    #[error("sample_weight has {weights} entries but x has {rows} rows")]
    SampleWeightLength {
        /// Number of rows in `x`.
        rows: usize,
        /// Number of sample weights.
        weights: usize,
    },
    /// A sample weight is negative or not finite, or makes `c` times the total
    /// row weight overflow.
    #[error("sample weight {value} at row {index} must be finite and at least 0")]
    InvalidSampleWeight {
        /// Row of the bad weight.
        index: usize,
        /// The bad weight.
        value: f64,
    },
    /// A feature value is NaN or infinite.
    #[error("feature value {value} at row {row}, column {column} is not finite")]
    NonFiniteFeature {
        /// Row of the bad value.
        row: usize,
        /// Column of the bad value.
        column: usize,
        /// The bad value.
        value: f64,
    },
    /// A stored column index is not below the matrix's column count (only
    /// possible for a matrix that bypassed `CsrMatrix::push_row`, e.g. by
    /// deserialisation).
    #[error("column {column} at row {row} is out of range for {n_cols} columns")]
    ColumnOutOfRange {
        /// Row of the bad index.
        row: usize,
        /// The bad column index.
        column: usize,
        /// Number of columns of the matrix.
        n_cols: usize,
    },
    /// `n_features * n_classes` does not fit in memory addresses.
    #[error("{n_features} features times {n_classes} classes overflows the parameter count")]
    TooManyParameters {
        /// Number of features.
        n_features: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// A part given to `LogReg::from_parts` (or found in a serialised model)
    /// has the wrong length.
    #[error("{what} has length {found}, expected {expected}")]
    Shape {
        /// Which part: `"weights"` or `"n_classes"`.
        what: &'static str,
        /// Length implied by the other parts.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A weight or intercept given to `LogReg::from_parts` is NaN or infinite.
    #[error("{what}[{index}] is not finite: {value}")]
    NonFiniteParameter {
        /// Which part: `"weights"` or `"intercepts"`.
        what: &'static str,
        /// Position in that part.
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// The optimiser failed (argmin's error, as text) or produced
    /// non-finite parameters.
    #[error("optimizer failed: {0}")]
    Optimizer(String),
}

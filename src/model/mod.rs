//! The learner: multinomial (softmax) logistic regression with an L2 penalty
//! over sparse CSR rows, minimised with L-BFGS (our two-loop recursion, argmin's
//! executor and Moré-Thuente line search).
//!
//! The flow is params -> checked params -> fitted model (linfa's shape):
//! [`LogRegParams`] is a serde-able builder, [`LogRegParams::check`] turns it
//! into [`ValidLogRegParams`], and only that can [`fit`](ValidLogRegParams::fit)
//! a [`LogReg`], which is immutable plain data. The objective is
//! scikit-learn's multinomial `LogisticRegression(penalty="l2", C=c)`, so
//! scores are comparable to sklearn's at the same `C`.
//!
//! ```
//! use stance::features::{CsrMatrix, SparseVec};
//! use stance::model::LogRegParams;
//!
//! let row = |i: u32| SparseVec { indices: vec![i], values: vec![1.0] };
//! let x = CsrMatrix::from_rows(2, [&row(0), &row(1), &row(0), &row(1)]);
//! let model = LogRegParams::default().check()?.fit(&x, &[0, 1, 0, 1], 2, None)?;
//! let p = model.predict_proba(x.row(1));
//! assert!(p[1] > p[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod calibration;
pub mod error;
pub mod logistic;
pub mod params;

pub use calibration::Calibration;
pub use error::LogRegError;
pub use logistic::{FitInfo, LogReg};
pub use params::{ClassWeight, LogRegParams, ValidLogRegParams, MAX_HISTORY};

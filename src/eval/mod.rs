//! Evaluation: confusion matrix, per-class precision/recall/F1, macro-F1,
//! and stratified cross-validation ([`cv`]).

pub mod cv;
mod report;

pub use cv::{stratified_folds, CvReport};
pub use report::{evaluate, ClassScores, Confusion, Report};

//! Evaluation: confusion matrix, per-class precision/recall/F1, macro-F1,
//! stratified cross-validation ([`cv`]) and calibration metrics
//! ([`reliability`]).

pub mod cv;
pub mod reliability;
mod report;

pub use cv::{stratified_folds, CvReport};
pub use reliability::{reliability, Reliability, ReliabilityBin};
pub use report::{evaluate, ClassScores, Confusion, Report};

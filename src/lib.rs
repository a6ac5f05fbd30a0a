//! # stance
//!
//! Scores the stance of news text on US sanctuary-city policy and local
//! cooperation with federal immigration enforcement: `pro` (pro-sanctuary),
//! `anti` (pro-enforcement) or `neutral`.
//!
//! The pipeline, in the order data flows through it:
//!
//! 1. [`text`]: segmentation, lowercasing, apostrophes and numbers, stance-aware
//!    stop words, Snowball stemming, word n-grams ([`text::Analyzer`]).
//! 2. [`features`]: TF-IDF fitted once and stored ([`features::Tfidf`]).
//! 3. [`model`]: multinomial logistic regression over sparse rows ([`model::LogReg`]).
//! 4. [`pipeline`]: the one scoring path ([`StanceModel`]) used by training,
//!    evaluation, the batch scorer and the server; paragraphs via [`document`].
//! 5. [`artifact`]: the versioned, checksummed model file.
//!
//! ```no_run
//! let model = stance::artifact::load_embedded()?; // the shipped model, built in
//! let p = model.score("The county should stop honoring ICE detainers.");
//! println!("{} {:.3}", p.label(), p.stance_index());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod adapt;
pub mod artifact;
pub mod batch;
pub mod cli;
pub mod dataset;
pub mod document;
pub mod eval;
pub mod features;
pub mod label;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod server;
pub mod telemetry;
pub mod text;
pub mod train;

pub use label::{Label, Probabilities};
pub use pipeline::{DocumentOptions, DocumentScore, StanceModel};

/// Default location of the shipped model, relative to the project root.
pub const DEFAULT_MODEL_PATH: &str = env!("STANCE_SHIPPED_MODEL");

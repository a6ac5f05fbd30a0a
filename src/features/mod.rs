//! Features: sparse vectors and the fitted TF-IDF vectorizer.

pub mod sparse;
pub mod tfidf;

pub use sparse::{CsrMatrix, SparseRow, SparseVec};
pub use tfidf::{Tfidf, TfidfError, TfidfParams, ValidTfidfParams};

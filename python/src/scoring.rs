//! Scoring many texts at once: the library's document scorer over a rayon
//! pool, in input order, one result per text. Runs without the GIL (the
//! callers hold only `Send` borrowed text), so other Python threads go on.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rayon::prelude::*;
use stance::{DocumentOptions, DocumentScore, StanceModel};

/// Why one text has no score.
pub const MISSING_TEXT: &str = "text is missing (null)";

/// What a scorer panic (a bug: none is known) becomes for that text, as in
/// `stance score`.
const INTERNAL: &str = "internal error while scoring this text";

/// Scores one document; a panic becomes an error for that text alone.
pub fn score_one(
    model: &StanceModel,
    text: &str,
    opts: &DocumentOptions,
) -> Result<DocumentScore, String> {
    match catch_unwind(AssertUnwindSafe(|| model.score_document(text, opts))) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(INTERNAL.to_string()),
    }
}

/// Scores every text (None = a missing one) with the default document
/// options, in parallel, results in input order.
pub fn score_all(
    model: &StanceModel,
    texts: &[Option<&str>],
) -> Vec<Result<DocumentScore, String>> {
    let opts = DocumentOptions::default();
    texts
        .par_iter()
        .with_min_len(16)
        .map(|t| match t {
            Some(t) => score_one(model, t, &opts),
            None => Err(MISSING_TEXT.to_string()),
        })
        .collect()
}

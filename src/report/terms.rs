//! The terms a model leans on most: per class, the features with the
//! largest weights in the softmax (features are L2-normalised TF-IDF, so
//! weights of different terms are comparable).

use crate::label::Label;
use crate::pipeline::StanceModel;

/// Terms listed per class in the model reports.
pub const STRONGEST_TERMS: usize = 25;

/// For each label in class order, the `k` features with the largest weight
/// for that class, strongest first, as `(term, weight)`.
pub fn strongest_terms(model: &StanceModel, k: usize) -> Vec<(Label, Vec<(String, f64)>)> {
    let vocab = model.tfidf().vocabulary();
    let logreg = model.logreg();
    Label::ALL
        .iter()
        .map(|&label| {
            let mut w: Vec<(usize, f64)> = (0..vocab.len())
                .map(|j| (j, logreg.coef(label.index(), j)))
                .collect();
            w.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let top = w
                .into_iter()
                .take(k)
                .filter_map(|(j, x)| vocab.get(j).map(|t| (t.clone(), x)))
                .collect();
            (label, top)
        })
        .collect()
}

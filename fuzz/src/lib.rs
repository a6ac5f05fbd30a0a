//! What every fuzz target checks of a score, whatever the input: the
//! invariants of [`stance::Probabilities`] and [`stance::DocumentScore`]
//! that callers of the library, the batch scorer and the HTTP API rely on.
//! Also the shipped model, loaded once per fuzzing process.

use std::sync::LazyLock;

use stance::document::paragraphs;
use stance::{DocumentOptions, DocumentScore, Probabilities, StanceModel};

/// The shipped model, as built into the binary.
pub static MODEL: LazyLock<StanceModel> = LazyLock::new(|| {
    stance::artifact::load_embedded().expect("the shipped model is checked at build time")
});

/// Probabilities are finite, in [0, 1], sum to 1, and agree with their label
/// and stance index.
pub fn check_probabilities(p: &Probabilities, what: &str) {
    let v = p.to_class_order();
    for x in v {
        assert!(x.is_finite() && (0.0..=1.0).contains(&x), "{what}: {v:?}");
    }
    let sum: f64 = v.iter().sum();
    assert!((sum - 1.0).abs() < 1e-9, "{what}: {v:?} sums to {sum}");
    let si = p.stance_index();
    assert!(
        si.is_finite() && (-1.0..=1.0).contains(&si),
        "{what}: stance index {si}"
    );
    assert!(p.margin() >= 0.0, "{what}: margin {}", p.margin());
    assert_eq!(
        p.get(p.label()),
        v.iter().copied().fold(f64::MIN, f64::max),
        "{what}"
    );
}

/// A document score of `text` has valid probabilities everywhere, one
/// paragraph per span of [`paragraphs`], in order, within the text in chars
/// and in UTF-16 units, and explanations that point inside their paragraph.
pub fn check_document(text: &str, opts: &DocumentOptions, doc: &DocumentScore) {
    check_probabilities(&doc.probabilities, "document");
    let spans = paragraphs(text, opts.max_paragraph_chars);
    assert_eq!(doc.paragraphs.len(), spans.len(), "one score per paragraph");
    let n_chars = text.chars().count();
    let n_utf16 = text.encode_utf16().count();
    let (mut prev_end, mut prev_end16) = (0, 0);
    for (i, (p, span)) in doc.paragraphs.iter().zip(&spans).enumerate() {
        let what = format!("paragraph {i}");
        check_probabilities(&p.probabilities, &what);
        assert!(
            prev_end <= p.start && p.start < p.end && p.end <= n_chars,
            "{what}: {}..{} of {n_chars}",
            p.start,
            p.end
        );
        assert!(
            prev_end16 <= p.start_utf16 && p.start_utf16 < p.end_utf16 && p.end_utf16 <= n_utf16,
            "{what}: utf16 {}..{} of {n_utf16}",
            p.start_utf16,
            p.end_utf16
        );
        let chars = text[span.clone()].chars().count();
        assert_eq!(p.end - p.start, chars, "{what}: length in chars");
        (prev_end, prev_end16) = (p.end, p.end_utf16);
        if let Some(ex) = &p.explanation {
            assert!(
                ex.log_odds.is_finite() && ex.intercept.is_finite(),
                "{what}: {ex:?}"
            );
            assert!(
                ex.toward.len() <= opts.explain && ex.against.len() <= opts.explain,
                "{what}"
            );
            for c in ex.toward.iter().chain(&ex.against) {
                assert!(
                    p.start <= c.start && c.start < c.end && c.end <= p.end,
                    "{what}: term {c:?}"
                );
                assert!(c.weight.is_finite(), "{what}: term {c:?}");
                let quoted: String = text.chars().skip(c.start).take(c.end - c.start).collect();
                assert_eq!(quoted, c.text, "{what}: term text");
            }
        }
    }
}

/// The text of fuzz input bytes: as is when they are UTF-8, else lossily
/// decoded, as a client's bytes would be before they reach the scorer.
pub fn text_of(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

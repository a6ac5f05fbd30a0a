//! Negation scope marking: the few tokens after a negation cue, up to the end
//! of the clause, get the prefix `neg_`, so "will not honor detainers" gives
//! `neg_honor neg_detain` and learns apart from "will honor detainers".
//! Bigrams alone see only the word right after the cue ("not honor");
//! marking carries the negation to the object as well. A filter over the
//! analyzed token stream: expects lowercased, stemmed tokens and the source
//! text they point into.

use std::sync::Arc;

use super::analyzer::Token;

/// Prefix of a token inside a negation scope.
pub const NEGATED_PREFIX: &str = "neg_";

/// Whether a (lowercased, stemmed) token opens a negation scope.
pub fn is_cue(token: &str) -> bool {
    matches!(
        token,
        "not" | "no" | "never" | "nor" | "without" | "cannot" | "neither"
    ) || token.ends_with("n't")
}

/// Whether the source text between two tokens ends a clause.
fn ends_clause(between: &str) -> bool {
    between.contains([
        '.', ',', ';', ':', '!', '?', '\n', '(', ')', '"', '“', '”', '—',
    ])
}

/// Marks up to `window` tokens after each cue, within its clause, with
/// [`NEGATED_PREFIX`]. Cues themselves stay as they are; a cue inside a
/// scope starts a new one. `text` is the text the tokens' offsets point into.
pub fn mark_scopes(text: &str, tokens: &mut [Token], window: usize) {
    if window == 0 {
        return;
    }
    let mut remaining = 0usize;
    let mut prev_end = 0usize;
    for t in tokens.iter_mut() {
        if remaining > 0 && text.get(prev_end..t.start).is_some_and(ends_clause) {
            remaining = 0;
        }
        prev_end = t.end;
        if is_cue(&t.text) {
            remaining = window;
        } else if remaining > 0 {
            let mut s = String::with_capacity(NEGATED_PREFIX.len() + t.text.len());
            s.push_str(NEGATED_PREFIX);
            s.push_str(&t.text);
            t.text = Arc::from(s);
            remaining -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Analyzer, AnalyzerConfig};

    fn texts(window: usize, s: &str) -> Vec<String> {
        let a = Analyzer::new(AnalyzerConfig {
            negation_scope: window,
            ..AnalyzerConfig::default()
        })
        .expect("valid");
        a.tokens(s)
            .into_iter()
            .map(|t| t.text.to_string())
            .collect()
    }

    #[test]
    fn marks_tokens_after_a_cue_up_to_the_window() {
        assert_eq!(
            texts(3, "The county should not honor ICE detainers anymore"),
            [
                "counti",
                "should",
                "not",
                "neg_honor",
                "neg_ice",
                "neg_detain",
                "anymor"
            ]
        );
    }

    #[test]
    fn a_clause_boundary_ends_the_scope() {
        assert_eq!(
            texts(3, "We won't comply, and detainers stay."),
            ["won't", "neg_compli", "detain", "stay"]
        );
    }

    #[test]
    fn window_zero_marks_nothing_and_offsets_are_kept() {
        assert_eq!(texts(0, "not honor"), ["not", "honor"]);
        let a = Analyzer::new(AnalyzerConfig {
            negation_scope: 2,
            ..AnalyzerConfig::default()
        })
        .expect("valid");
        let text = "Never hold them";
        for t in a.tokens(text) {
            assert!(!text[t.start..t.end].is_empty());
        }
    }
}

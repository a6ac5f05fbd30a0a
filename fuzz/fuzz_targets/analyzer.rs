//! Text analysis on any bytes: tokens of every analyzer configuration lie on
//! char boundaries, in order and without overlap; the paragraph splitter's
//! spans are trimmed, ordered and within bounds; `score_document` with the
//! shipped model gives valid probabilities and offsets, or `EmptyText` for
//! a blank text. The first byte picks the options.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use stance::document::paragraphs;
use stance::pipeline::ScoreError;
use stance::text::{Analyzer, AnalyzerConfig, NumberMode, StopWordsConfig, Token};
use stance::DocumentOptions;
use stance_fuzz::{check_document, check_probabilities, text_of, MODEL};

/// Configurations beside the shipped model's: every step switched each way.
static ANALYZERS: LazyLock<Vec<Analyzer>> = LazyLock::new(|| {
    let plain = AnalyzerConfig {
        lowercase: false,
        numbers: NumberMode::Collapse,
        stop_words: StopWordsConfig::None,
        stemmer: None,
        ngram_min: 1,
        ngram_max: 3,
        negation_scope: 3,
    };
    let other = AnalyzerConfig {
        lowercase: true,
        numbers: NumberMode::Drop,
        stop_words: StopWordsConfig::Custom {
            words: vec!["The".into(), "don’t".into(), "ÉTÉ".into()],
        },
        stemmer: Some("french".into()),
        ngram_min: 2,
        ngram_max: 5,
        negation_scope: 50,
    };
    [AnalyzerConfig::default(), plain, other]
        .into_iter()
        .map(|c| Analyzer::new(c).expect("valid configuration"))
        .collect()
});

const MAX_CHARS: [usize; 8] = [1, 2, 3, 7, 16, 80, 500, 2000];

fn check_tokens(text: &str, tokens: &[Token]) {
    let mut prev_end = 0;
    for t in tokens {
        assert!(
            prev_end <= t.start && t.start < t.end && t.end <= text.len(),
            "token {t:?} after {prev_end} in {} bytes",
            text.len()
        );
        assert!(
            text.is_char_boundary(t.start) && text.is_char_boundary(t.end),
            "token {t:?} is not on char boundaries"
        );
        assert!(!t.text.is_empty(), "empty token at {}..{}", t.start, t.end);
        prev_end = t.end;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let text = text_of(rest);
    let mut tokens = Vec::new();
    for analyzer in ANALYZERS.iter().chain([MODEL.analyzer()]) {
        analyzer.tokens_into(&text, &mut tokens);
        check_tokens(&text, &tokens);
        let mut buf = String::new();
        let mut terms = 0usize;
        analyzer.for_each_term(&tokens, &mut buf, |term, first, last| {
            assert!(
                first <= last && last < tokens.len(),
                "term {term:?} {first}..={last}"
            );
            assert!(!term.is_empty());
            terms += 1;
        });
        let (min, max) = (analyzer.config().ngram_min, analyzer.config().ngram_max);
        let expected: usize = (min..=max)
            .map(|n| (tokens.len() + 1).saturating_sub(n))
            .sum();
        assert_eq!(terms, expected, "n-grams of {} tokens", tokens.len());
    }

    let max_chars = MAX_CHARS[usize::from(ctl & 7)];
    let spans = paragraphs(&text, max_chars);
    let mut prev_end = 0;
    for r in &spans {
        assert!(
            prev_end <= r.start && r.start < r.end && r.end <= text.len(),
            "span {r:?}"
        );
        let p = &text[r.clone()];
        assert_eq!(p, p.trim(), "span {r:?} is not trimmed");
        assert!(
            !p.contains(['\n', '\r', '\u{2028}', '\u{2029}']),
            "span {r:?} crosses a line"
        );
        prev_end = r.end;
    }

    let opts = DocumentOptions {
        max_paragraph_chars: max_chars,
        explain: usize::from(ctl >> 5),
        ..DocumentOptions::default()
    };
    match MODEL.score_document(&text, &opts) {
        Ok(doc) => check_document(&text, &opts, &doc),
        Err(ScoreError::EmptyText) => {
            assert!(spans.is_empty(), "EmptyText for {} spans", spans.len())
        }
        Err(e) => panic!("unexpected error {e}"),
    }
    check_probabilities(&MODEL.score(&text), "score");
});

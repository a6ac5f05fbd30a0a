//! The stance-aware English stop-word list.
//!
//! Written for this project. Common English lists drop words that carry
//! stance (not, no, nor, against, should, must, never, without, negated
//! contractions); this list holds only articles, pronouns, prepositions,
//! auxiliaries and conjunctions, and keeps every one of those stance words.
//! Entries are lowercased and apostrophe-folded, as the analyzer compares them.

/// Stop words removed by the `stance_en` list.
pub const STANCE_EN: &[&str] = &[
    "a", "about", "above", "after", "again", "am", "an", "and", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "but", "by", "can", "could", "d",
    "did", "do", "does", "doing", "down", "during", "each", "from", "further", "had", "has",
    "have", "having", "he", "he'd", "he'll", "her", "here", "hers", "herself", "him", "himself",
    "his", "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "it", "it'd",
    "it'll", "its", "itself", "just", "ll", "m", "may", "me", "might", "my", "myself", "o", "of",
    "off", "on", "once", "onto", "or", "our", "ours", "ourselves", "out", "over", "re", "s", "she",
    "she'd", "she'll", "so", "t", "than", "that", "the", "their", "theirs", "them", "themselves",
    "then", "there", "these", "they", "they'd", "they'll", "they're", "they've", "this", "those",
    "through", "to", "under", "until", "up", "upon", "us", "ve", "was", "we", "we'd", "we'll",
    "we're", "we've", "were", "what", "when", "where", "which", "while", "who", "whom", "whose",
    "why", "will", "with", "would", "y", "you", "you'd", "you'll", "you're", "you've", "your",
    "yours", "yourself", "yourselves",
];

/// Words that carry stance and must never be stop words (tested).
#[cfg(test)]
pub(crate) const STANCE_WORDS: &[&str] = &[
    "not", "no", "nor", "never", "against", "should", "must", "without", "cannot", "can't",
    "don't", "won't", "shouldn't", "mustn't", "isn't", "for", "only", "all", "any", "more",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stance_words_are_not_stop_words() {
        for w in STANCE_WORDS {
            assert!(!STANCE_EN.contains(w), "{w} must survive stop-word removal");
        }
    }

    #[test]
    fn list_is_lowercase_sorted_and_unique() {
        for pair in STANCE_EN.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
        for w in STANCE_EN {
            assert_eq!(*w, w.to_lowercase(), "{w}");
        }
    }
}

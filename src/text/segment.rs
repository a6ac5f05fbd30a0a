//! Unicode word segmentation (UAX #29) with byte offsets.

use unicode_segmentation::UnicodeSegmentation;

/// Calls `f(word, start, end)` for every word segment of `text` that holds at
/// least one letter or digit; punctuation and spaces are skipped. Offsets are
/// byte offsets into `text`.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str, usize, usize)) {
    for (start, word) in text.split_word_bound_indices() {
        if word.chars().any(char::is_alphanumeric) {
            f(word, start, start + word.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(String, usize, usize)> {
        let mut out = Vec::new();
        for_each_word(text, |w, s, e| out.push((w.to_string(), s, e)));
        out
    }

    #[test]
    fn skips_punctuation_and_keeps_byte_offsets() {
        let w = words("ICE, détainers — 287(g)!");
        let texts: Vec<&str> = w.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(texts, ["ICE", "détainers", "287", "g"]);
        assert_eq!(&"ICE, détainers — 287(g)!"[w[1].1..w[1].2], "détainers");
    }

    #[test]
    fn keeps_contractions_as_one_word() {
        let w = words("Don't comply; they won’t.");
        let texts: Vec<&str> = w.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(texts, ["Don't", "comply", "they", "won’t"]);
    }

    #[test]
    fn empty_and_blank_text_give_no_words() {
        assert!(words("").is_empty());
        assert!(words("  \n\t ... !!").is_empty());
    }
}

//! Splitting a document into paragraphs, and offset conversion.
//!
//! A paragraph is a run of text between line breaks, trimmed of white space.
//! A paragraph longer than a limit is split at sentence ends (or, for one
//! over-long sentence, at word boundaries). Spans are byte ranges into the
//! original text; [`Offsets`] converts them to Unicode scalar values (chars)
//! and UTF-16 code units for APIs.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

/// Byte ranges of the paragraphs of `text`, in order. Empty or blank lines
/// yield nothing. `max_chars` (at least 1) bounds a paragraph's length in chars.
pub fn paragraphs(text: &str, max_chars: usize) -> Vec<Range<usize>> {
    let max_chars = max_chars.max(1);
    let mut out = Vec::new();
    let mut line_start = 0;
    for (i, c) in text.char_indices() {
        if c == '\n' || c == '\r' || c == '\u{2028}' || c == '\u{2029}' {
            push_trimmed(text, line_start..i, max_chars, &mut out);
            line_start = i + c.len_utf8();
        }
    }
    push_trimmed(text, line_start..text.len(), max_chars, &mut out);
    out
}

fn push_trimmed(text: &str, r: Range<usize>, max_chars: usize, out: &mut Vec<Range<usize>>) {
    let Some(r) = trim(text, r) else { return };
    if text[r.clone()].chars().count() <= max_chars {
        out.push(r);
        return;
    }
    // Group sentences into pieces of at most max_chars.
    let base = r.start;
    let mut piece: Option<Range<usize>> = None;
    let mut piece_chars = 0;
    for (off, sentence) in text[r.clone()].split_sentence_bound_indices() {
        let s = base + off..base + off + sentence.len();
        let n = sentence.chars().count();
        if n > max_chars {
            if let Some(p) = piece.take() {
                push_piece(text, p, out);
            }
            piece_chars = 0;
            split_words(text, s, max_chars, out);
            continue;
        }
        match piece.as_mut() {
            Some(p) if piece_chars + n <= max_chars => {
                p.end = s.end;
                piece_chars += n;
            }
            _ => {
                if let Some(p) = piece.take() {
                    push_piece(text, p, out);
                }
                piece = Some(s);
                piece_chars = n;
            }
        }
    }
    if let Some(p) = piece {
        push_piece(text, p, out);
    }
}

fn split_words(text: &str, r: Range<usize>, max_chars: usize, out: &mut Vec<Range<usize>>) {
    let base = r.start;
    let mut piece: Option<Range<usize>> = None;
    let mut piece_chars = 0;
    for (off, word) in text[r].split_word_bound_indices() {
        let s = base + off..base + off + word.len();
        let n = word.chars().count();
        match piece.as_mut() {
            Some(p) if piece_chars + n <= max_chars => {
                p.end = s.end;
                piece_chars += n;
            }
            _ => {
                if let Some(p) = piece.take() {
                    push_piece(text, p, out);
                }
                piece = Some(s);
                piece_chars = n;
            }
        }
    }
    if let Some(p) = piece {
        push_piece(text, p, out);
    }
}

fn push_piece(text: &str, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    if let Some(r) = trim(text, r) {
        out.push(r);
    }
}

fn trim(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else {
        Some(r.start + lead..r.start + lead + trimmed.len())
    }
}

/// Converts byte offsets of one text into char and UTF-16 offsets.
#[derive(Debug)]
pub struct Offsets<'a> {
    text: &'a str,
}

/// One position in three units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Unicode scalar values (Rust `char`s, Python `str` indices) before it.
    pub chars: usize,
    /// UTF-16 code units (JavaScript string indices) before it.
    pub utf16: usize,
}

impl<'a> Offsets<'a> {
    /// Offsets into `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text }
    }

    /// Positions of byte offsets given in increasing order, counted in one
    /// pass. An offset inside a char counts that char as not yet passed.
    pub fn positions(&self, bytes: &[usize]) -> Vec<Position> {
        let mut out = Vec::with_capacity(bytes.len());
        let (mut chars, mut utf16) = (0, 0);
        let mut iter = self.text.char_indices().peekable();
        for &b in bytes {
            while let Some(&(i, c)) = iter.peek() {
                if i >= b {
                    break;
                }
                chars += 1;
                utf16 += c.len_utf16();
                iter.next();
            }
            out.push(Position { chars, utf16 });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, max: usize) -> Vec<&str> {
        paragraphs(text, max)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn splits_on_line_breaks_and_skips_blank_lines() {
        let t = "First paragraph.\n\n  Second one.  \r\nThird\n\n\n";
        assert_eq!(texts(t, 1000), ["First paragraph.", "Second one.", "Third"]);
        assert!(texts("", 10).is_empty());
        assert!(texts(" \n\t\n", 10).is_empty());
    }

    #[test]
    fn splits_long_paragraphs_at_sentence_ends() {
        let t = "One two three. Four five six. Seven eight nine.";
        assert_eq!(
            texts(t, 30),
            ["One two three. Four five six.", "Seven eight nine."]
        );
        for p in texts(t, 30) {
            assert!(p.chars().count() <= 30);
        }
    }

    #[test]
    fn splits_an_overlong_sentence_at_words() {
        let t = "aaaa bbbb cccc dddd eeee";
        let got = texts(t, 10);
        assert_eq!(got, ["aaaa bbbb", "cccc dddd", "eeee"]);
    }

    #[test]
    fn converts_offsets_to_chars_and_utf16() {
        // "é" is 2 bytes, 1 char, 1 UTF-16 unit; "🙂" is 4 bytes, 1 char, 2 units.
        let t = "é🙂a";
        let pos = Offsets::new(t).positions(&[0, 2, 6, 7]);
        let got: Vec<(usize, usize)> = pos.iter().map(|p| (p.chars, p.utf16)).collect();
        assert_eq!(got, [(0, 0), (1, 1), (2, 3), (3, 4)]);
    }
}

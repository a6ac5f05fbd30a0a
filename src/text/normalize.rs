//! Per-token normalisation: lowercasing (ASCII fast path), apostrophes and
//! numbers. Works on one token at a time into a reused buffer.

use super::config::NumberMode;

/// Lowercases `word` into `out` (cleared first). ASCII words skip the Unicode
/// case tables.
pub fn lowercase_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.extend(word.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        for c in word.chars() {
            out.extend(c.to_lowercase());
        }
    }
}

/// Folds typographic apostrophes to `'` and drops a possessive `'s` or a
/// trailing apostrophe ("city's" -> "city", "officers'" -> "officers").
/// Contractions keep their apostrophe ("don't"): negation carries stance.
/// Expects lowercased input.
pub fn fold_apostrophes(token: &mut String) {
    if token.contains(['\u{2019}', '\u{2018}', '\u{02BC}']) {
        *token = token.replace(['\u{2019}', '\u{2018}', '\u{02BC}'], "'");
    }
    if let Some(stripped) = token.strip_suffix("'s") {
        let len = stripped.len();
        token.truncate(len);
    }
    while token.ends_with('\'') {
        token.pop();
    }
}

/// Applies the number policy. Returns `false` when the token should be dropped.
pub fn apply_number_mode(token: &mut String, mode: NumberMode) -> bool {
    if mode == NumberMode::Keep
        || !token
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return true;
    }
    if !token.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    match mode {
        NumberMode::Keep => true,
        NumberMode::Drop => false,
        NumberMode::Collapse => {
            token.clear();
            token.push_str("<num>");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(s: &str) -> String {
        let mut out = String::new();
        lowercase_into(s, &mut out);
        out
    }

    #[test]
    fn lowercases_ascii_and_unicode() {
        assert_eq!(lower("SANCTUARY"), "sanctuary");
        assert_eq!(lower("ÉLUS"), "élus");
        assert_eq!(lower("İstanbul").chars().next(), Some('i'));
    }

    #[test]
    fn folds_possessives_and_curly_apostrophes() {
        for (input, want) in [
            ("city's", "city"),
            ("county’s", "county"),
            ("officers'", "officers"),
            ("won’t", "won't"),
            ("don't", "don't"),
        ] {
            let mut t = input.to_string();
            fold_apostrophes(&mut t);
            assert_eq!(t, want, "case {input}");
        }
    }

    #[test]
    fn number_modes_touch_only_numbers() {
        for (input, mode, want) in [
            ("1996", NumberMode::Collapse, Some("<num>")),
            ("3,000", NumberMode::Collapse, Some("<num>")),
            ("1996", NumberMode::Drop, None),
            ("1996", NumberMode::Keep, Some("1996")),
            ("i", NumberMode::Drop, Some("i")),
            ("287g", NumberMode::Drop, Some("287g")),
        ] {
            let mut t = input.to_string();
            let kept = apply_number_mode(&mut t, mode);
            assert_eq!(kept.then_some(t.as_str()), want, "case {input} {mode:?}");
        }
    }
}

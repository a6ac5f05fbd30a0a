//! HTML rendering shared by every report: escaping of data text, a
//! self-contained page (inline CSS, no scripts, fonts or network fetches)
//! and tables whose cells are always escaped.

use std::fmt::Write;

/// Escapes text for an HTML text node or a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page's whole style sheet, inline: system fonts only, nothing fetched.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4;padding:0 16px}\
h1{font-size:1.6em;margin-bottom:0.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:1.8em}\
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
.note{color:#555;font-size:0.9em}.chart{margin:8px 0}code{background:#f4f4f4;padding:0 3px}\
.scroll{max-height:420px;overflow:auto}";

/// An HTML page assembled section by section.
#[derive(Debug, Clone)]
pub struct Page {
    body: String,
}

impl Page {
    /// A page whose `<title>` and heading are `title` (escaped).
    pub fn new(title: &str) -> Self {
        let t = escape(title);
        Self {
            body: format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n"
            ),
        }
    }

    /// Adds a paragraph of plain text (escaped), styled as a note.
    pub fn note(&mut self, text: &str) -> &mut Self {
        let _ = writeln!(self.body, "<p class=\"note\">{}</p>", escape(text));
        self
    }

    /// Adds a section: a heading (escaped) with an `id`, then `html`, which
    /// the caller built from escaped text, tables and charts.
    pub fn section(&mut self, id: &str, heading: &str, html: &str) -> &mut Self {
        let _ = writeln!(
            self.body,
            "<section id=\"{}\">\n<h2>{}</h2>\n{html}\n</section>",
            escape(id),
            escape(heading)
        );
        self
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.body.push_str("</body>\n</html>\n");
        self.body
    }
}

/// One table cell: text (escaped) or a number (escaped, right-aligned).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, left-aligned.
    Text(String),
    /// A formatted number, right-aligned.
    Num(String),
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// A number cell.
    pub fn num(s: impl ToString) -> Self {
        Self::Num(s.to_string())
    }
}

/// A table with a header row; every cell is escaped. `id` (escaped) lets
/// readers and tests find it.
pub fn table(id: &str, head: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut s = format!("<table id=\"{}\">\n<thead><tr>", escape(id));
    for h in head {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        s.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(t) => {
                    let _ = write!(s, "<td>{}</td>", escape(t));
                }
                Cell::Num(t) => {
                    let _ = write!(s, "<td class=\"num\">{}</td>", escape(t));
                }
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>");
    s
}

/// A definition list of `(term, value)` pairs, both escaped.
pub fn definitions(pairs: &[(&str, String)]) -> String {
    let mut s = String::from("<dl>\n");
    for (k, v) in pairs {
        let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
    }
    s.push_str("</dl>");
    s
}

/// A paragraph of escaped text.
pub fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// Wraps a chart's SVG in a figure container.
pub fn figure(svg: &str) -> String {
    format!("<div class=\"chart\">{svg}</div>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn table_cells_and_headings_are_escaped() {
        let t = table(
            "t",
            &["a<b"],
            &[vec![Cell::text("<i>x</i>"), Cell::num("1.5")]],
        );
        assert!(t.contains("<th>a&lt;b</th>"));
        assert!(t.contains("<td>&lt;i&gt;x&lt;/i&gt;</td>"));
        assert!(t.contains("<td class=\"num\">1.5</td>"));
        let mut p = Page::new("T <x>");
        p.section("s", "H & H", "<p>ok</p>");
        let html = p.finish();
        assert!(html.contains("<title>T &lt;x&gt;</title>"));
        assert!(html.contains("<h2>H &amp; H</h2>"));
        assert!(!html.contains("http"), "no network references");
    }
}

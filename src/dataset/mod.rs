//! Labeled data files: JSONL (`{"text": ..., "label": ...}` per line, `id`
//! optional) or CSV with a header row holding `text` and `label` columns,
//! either optionally gzip or zstd compressed. Every problem is reported with
//! the file and line it is on. Training sets made of several weighted files
//! are in [`sources`].

mod sources;

pub use sources::{read_sources, DataSource, SourceSummary};

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::batch::formats::{compression_of, decoder, sniff, Compression};

use crate::artifact::sha256_hex;
use crate::label::Label;

/// One labeled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The `id` field, or `line-N` when absent.
    pub id: String,
    /// The text.
    pub text: String,
    /// Its label.
    pub label: Label,
    /// 1-based line in the source file.
    pub line: usize,
    /// Weight of the example's loss in training (optional `weight` field or
    /// column; default 1).
    pub weight: f64,
}

/// One text of a file whose labels may be missing (`stance tokenize`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextRecord {
    /// The `id` field, or `line-N` when absent.
    pub id: String,
    /// The text.
    pub text: String,
    /// Its label, when the line has one.
    pub label: Option<Label>,
    /// 1-based line in the source file.
    pub line: usize,
    /// Weight (optional `weight` field or column; default 1).
    pub weight: f64,
}

/// Whether every line must carry a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Labels {
    Required,
    Optional,
}

/// A labeled file read into memory.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The file read.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes (`sha256:<hex>`).
    pub sha256: String,
    /// Examples in file order.
    pub examples: Vec<Example>,
    /// Non-fatal findings (duplicate texts), one message each.
    pub warnings: Vec<String>,
    /// The files the examples came from, in order, with their weights.
    pub sources: Vec<SourceSummary>,
}

/// Why a labeled file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not valid UTF-8.
    #[error("{path}:{line}: not valid UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A JSONL line is not a JSON object.
    #[error("{path}:{line}: invalid JSON: {detail}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        detail: String,
    },
    /// A CSV record could not be parsed.
    #[error("{path}:{line}: invalid CSV: {detail}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        detail: String,
    },
    /// A required field or column is missing.
    #[error("{path}:{line}: missing field {field:?}")]
    MissingField {
        /// The file.
        path: PathBuf,
        /// 1-based line (the header line for a missing CSV column).
        line: usize,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("{path}:{line}: field {field:?} must be a string")]
    NotAString {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The field.
        field: &'static str,
    },
    /// A label is not one of pro, anti, neutral.
    #[error("{path}:{line}: unknown label {label:?} (expected pro, anti or neutral)")]
    UnknownLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The label found.
        label: String,
    },
    /// A text is empty or white space.
    #[error("{path}:{line}: empty text")]
    EmptyText {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A weight is not a finite number of at least 0.
    #[error("{path}:{line}: weight {value:?} must be a finite number of at least 0")]
    BadWeight {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The weight as written.
        value: String,
    },
    /// The same file is given twice to one training set.
    #[error("{path}: given more than once (its examples would count twice; use one FILE:WEIGHT)")]
    GivenTwice {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no examples.
    #[error("{path}: no examples")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// Reads a labeled JSONL or CSV file (chosen by the `.csv` extension).
/// A `.gz` or `.zst` file (by name or by its first bytes) is decompressed
/// first; `a.csv.gz` is CSV.
pub fn read_labeled(path: &Path) -> Result<Dataset, DatasetError> {
    let (stored, records) = read_records(path, Labels::Required)?;
    let mut examples = Vec::with_capacity(records.len());
    for r in records {
        let label = r.label.ok_or_else(|| DatasetError::MissingField {
            path: path.to_path_buf(),
            line: r.line,
            field: "label",
        })?;
        examples.push(Example {
            id: r.id,
            text: r.text,
            label,
            line: r.line,
            weight: r.weight,
        });
    }
    let warnings = duplicate_warnings(&examples, path);
    let sha256 = sha256_hex(&stored);
    Ok(Dataset {
        path: path.to_path_buf(),
        sources: vec![SourceSummary {
            path: path.display().to_string(),
            sha256: sha256.clone(),
            weight: 1.0,
            n_examples: examples.len(),
        }],
        sha256,
        examples,
        warnings,
    })
}

/// Reads the texts of a JSONL or CSV file (compressed or not, as
/// [`read_labeled`]) whose `label` is optional: a label, when present, must
/// still be a known one.
pub fn read_texts(path: &Path) -> Result<Vec<TextRecord>, DatasetError> {
    read_records(path, Labels::Optional).map(|(_, records)| records)
}

/// The stored bytes of a file and its records.
fn read_records(path: &Path, labels: Labels) -> Result<(Vec<u8>, Vec<TextRecord>), DatasetError> {
    let io_err = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let stored = std::fs::read(path).map_err(io_err)?;
    let by_name = compression_of(path);
    let compression = match sniff(&stored) {
        Compression::None => by_name,
        found => found,
    };
    let bytes = match compression {
        Compression::None => None,
        c => {
            let mut out = Vec::new();
            decoder(std::io::Cursor::new(stored.clone()), c)
                .and_then(|mut d| d.read_to_end(&mut out))
                .map_err(io_err)?;
            Some(out)
        }
    };
    let bytes = bytes.as_deref().unwrap_or(&stored);
    let inner = match by_name {
        Compression::None => path.to_path_buf(),
        _ => path.with_extension(""),
    };
    let is_csv = inner
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let records = if is_csv {
        parse_csv(bytes, path, labels)?
    } else {
        parse_jsonl(bytes, path, labels)?
    };
    if records.is_empty() {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((stored, records))
}

fn duplicate_warnings(examples: &[Example], path: &Path) -> Vec<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for e in examples {
        let key = e.text.trim();
        if let Some(first) = seen.get(key) {
            out.push(format!(
                "{}:{}: duplicate text (same as line {first})",
                path.display(),
                e.line
            ));
        } else {
            seen.insert(key, e.line);
        }
    }
    out
}

fn check_text_and_label(
    path: &Path,
    line: usize,
    text: &str,
    label: Option<&str>,
) -> Result<Option<Label>, DatasetError> {
    if text.trim().is_empty() {
        return Err(DatasetError::EmptyText {
            path: path.to_path_buf(),
            line,
        });
    }
    label
        .map(|l| {
            l.parse().map_err(|_| DatasetError::UnknownLabel {
                path: path.to_path_buf(),
                line,
                label: l.to_string(),
            })
        })
        .transpose()
}

fn check_weight(
    path: &Path,
    line: usize,
    value: Option<f64>,
    raw: &str,
) -> Result<f64, DatasetError> {
    match value {
        Some(w) if w.is_finite() && w >= 0.0 => Ok(w),
        _ => Err(DatasetError::BadWeight {
            path: path.to_path_buf(),
            line,
            value: raw.to_string(),
        }),
    }
}

fn parse_jsonl(bytes: &[u8], path: &Path, labels: Labels) -> Result<Vec<TextRecord>, DatasetError> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let s = std::str::from_utf8(raw).map_err(|_| DatasetError::NotUtf8 {
            path: path.to_path_buf(),
            line,
        })?;
        let s = s.trim_start_matches('\u{feff}').trim();
        if s.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(s).map_err(|e| DatasetError::Json {
            path: path.to_path_buf(),
            line,
            detail: e.to_string(),
        })?;
        let Value::Object(obj) = value else {
            return Err(DatasetError::Json {
                path: path.to_path_buf(),
                line,
                detail: "expected a JSON object".into(),
            });
        };
        let field = |name: &'static str| -> Result<&str, DatasetError> {
            match obj.get(name) {
                None | Some(Value::Null) => Err(DatasetError::MissingField {
                    path: path.to_path_buf(),
                    line,
                    field: name,
                }),
                Some(Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(DatasetError::NotAString {
                    path: path.to_path_buf(),
                    line,
                    field: name,
                }),
            }
        };
        let text = field("text")?;
        let label = match (labels, obj.get("label")) {
            (Labels::Optional, None | Some(Value::Null)) => None,
            _ => Some(field("label")?),
        };
        let label = check_text_and_label(path, line, text, label)?;
        let id = match obj.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => format!("line-{line}"),
        };
        let weight = match obj.get("weight") {
            None | Some(Value::Null) => 1.0,
            Some(v) => check_weight(path, line, v.as_f64(), &v.to_string())?,
        };
        out.push(TextRecord {
            id,
            text: text.to_string(),
            label,
            line,
            weight,
        });
    }
    Ok(out)
}

fn parse_csv(bytes: &[u8], path: &Path, labels: Labels) -> Result<Vec<TextRecord>, DatasetError> {
    let csv_err = |line: usize, e: csv::Error| DatasetError::Csv {
        path: path.to_path_buf(),
        line,
        detail: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| csv_err(1, e))?.clone();
    let column = |name: &'static str| {
        headers.iter().position(|h| {
            h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h).trim_ascii() == name.as_bytes()
        })
    };
    let missing = |field| DatasetError::MissingField {
        path: path.to_path_buf(),
        line: 1,
        field,
    };
    let text_col = column("text").ok_or_else(|| missing("text"))?;
    let label_col = match (labels, column("label")) {
        (Labels::Required, None) => return Err(missing("label")),
        (_, c) => c,
    };
    let id_col = column("id");
    let weight_col = column("weight");
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    // Lines come from byte offsets: the csv crate's line count is one short
    // after CRLF line ends (BurntSushi/rust-csv#395). A line end at the
    // offset itself counts, as the parser starts a record on the `\n` of a
    // CRLF.
    let newlines: Vec<u64> = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i as u64)
        .collect();
    let line_at = |byte: u64| newlines.partition_point(|&p| p <= byte) + 1;
    loop {
        let line = line_at(reader.position().byte());
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| line_at(p.byte()));
                return Err(csv_err(line, e));
            }
        }
        let line = record.position().map_or(line, |p| line_at(p.byte()));
        let get = |col: usize| -> Result<&str, DatasetError> {
            let raw = record.get(col).unwrap_or_default();
            std::str::from_utf8(raw).map_err(|_| DatasetError::NotUtf8 {
                path: path.to_path_buf(),
                line,
            })
        };
        let text = get(text_col)?;
        let label = match label_col {
            Some(c) if labels == Labels::Required || !get(c)?.trim().is_empty() => Some(get(c)?),
            _ => None,
        };
        let label = check_text_and_label(path, line, text, label)?;
        let id = match id_col {
            Some(c) if !get(c)?.is_empty() => get(c)?.to_string(),
            _ => format!("line-{line}"),
        };
        let weight = match weight_col {
            Some(c) if !get(c)?.trim().is_empty() => {
                let raw = get(c)?.trim();
                check_weight(path, line, raw.parse().ok(), raw)?
            }
            _ => 1.0,
        };
        out.push(TextRecord {
            id,
            text: text.to_string(),
            label,
            line,
            weight,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        (dir, p)
    }

    #[test]
    fn reads_jsonl_with_and_without_ids() {
        let (_d, p) = write(
            "a.jsonl",
            b"{\"id\":\"x1\",\"text\":\"Sheriff honors detainers\",\"label\":\"anti\"}\n\n{\"text\":\"Council meets\",\"label\":\"neutral\"}\n",
        );
        let d = read_labeled(&p).unwrap();
        assert_eq!(d.examples.len(), 2);
        assert_eq!(d.examples[0].id, "x1");
        assert_eq!(d.examples[1].id, "line-3");
        assert_eq!(d.examples[1].label, Label::Neutral);
        assert!(d.sha256.starts_with("sha256:"));
    }

    #[test]
    fn reads_csv_with_quoted_multiline_text() {
        let (_d, p) = write(
            "a.csv",
            b"label,text\npro,\"Protect our\nneighbours\"\nanti,Enforce the law\n",
        );
        let d = read_labeled(&p).unwrap();
        assert_eq!(d.examples.len(), 2);
        assert_eq!(d.examples[0].text, "Protect our\nneighbours");
        assert_eq!(d.examples[1].line, 4);
    }

    #[test]
    fn reports_each_problem_with_its_line() {
        let cases: &[(&str, &[u8], &str)] = &[
            (
                "a.jsonl",
                b"{\"text\":\"ok\",\"label\":\"pro\"}\n{bad\n",
                "a.jsonl:2: invalid JSON",
            ),
            (
                "a.jsonl",
                b"{\"label\":\"pro\"}\n",
                "a.jsonl:1: missing field \"text\"",
            ),
            (
                "a.jsonl",
                b"{\"text\":\"x\"}\n",
                "a.jsonl:1: missing field \"label\"",
            ),
            (
                "a.jsonl",
                b"{\"text\":5,\"label\":\"pro\"}\n",
                "a.jsonl:1: field \"text\" must be a string",
            ),
            (
                "a.jsonl",
                b"{\"text\":\"x\",\"label\":\"maybe\"}\n",
                "a.jsonl:1: unknown label \"maybe\"",
            ),
            (
                "a.jsonl",
                b"{\"text\":\"  \",\"label\":\"pro\"}\n",
                "a.jsonl:1: empty text",
            ),
            (
                "a.jsonl",
                b"{\"text\":\"ok\",\"label\":\"pro\"}\n{\"text\":\"\xff\",\"label\":\"pro\"}\n",
                "a.jsonl:2: not valid UTF-8",
            ),
            (
                "a.jsonl",
                b"[1,2]\n",
                "a.jsonl:1: invalid JSON: expected a JSON object",
            ),
            ("a.jsonl", b"\n\n", "a.jsonl: no examples"),
            (
                "a.csv",
                b"body,label\nx,pro\n",
                "a.csv:1: missing field \"text\"",
            ),
            (
                "a.csv",
                b"text,label\nx,pro\ny,pro,extra\n",
                "a.csv:3: invalid CSV",
            ),
            (
                "a.csv",
                b"text,label\nx,nope\n",
                "a.csv:2: unknown label \"nope\"",
            ),
        ];
        for (name, bytes, want) in cases {
            let (_d, p) = write(name, bytes);
            let err = read_labeled(&p).expect_err(want).to_string();
            assert!(err.contains(want), "want {want:?}, got {err:?}");
        }
    }

    #[test]
    fn reads_optional_weights() {
        let (_d, p) = write(
            "a.jsonl",
            b"{\"text\":\"a\",\"label\":\"pro\",\"weight\":2.5}\n{\"text\":\"b\",\"label\":\"anti\"}\n",
        );
        let d = read_labeled(&p).unwrap();
        assert_eq!(d.examples[0].weight, 2.5);
        assert_eq!(d.examples[1].weight, 1.0);
        let (_d, p) = write("a.csv", b"text,label,weight\na,pro,0\nb,anti,\n");
        let d = read_labeled(&p).unwrap();
        assert_eq!((d.examples[0].weight, d.examples[1].weight), (0.0, 1.0));
    }

    #[test]
    fn warns_on_duplicate_texts() {
        let (_d, p) = write(
            "a.jsonl",
            b"{\"text\":\"same\",\"label\":\"pro\"}\n{\"text\":\"same \",\"label\":\"anti\"}\n",
        );
        let d = read_labeled(&p).unwrap();
        assert_eq!(d.warnings.len(), 1);
        assert!(d.warnings[0].contains(":2: duplicate text (same as line 1)"));
    }

    #[test]
    fn reads_gzip_and_zstd_files_by_name_and_by_content() {
        let jsonl = b"{\"text\":\"a\",\"label\":\"pro\"}\n";
        let csv = b"text,label\nb,anti\n";
        let gz = |b: &[u8]| {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        };
        for (name, bytes, label) in [
            ("a.jsonl.gz", gz(jsonl), Label::Pro),
            (
                "a.csv.zst",
                zstd::encode_all(&csv[..], 1).unwrap(),
                Label::Anti,
            ),
            ("a.jsonl", gz(jsonl), Label::Pro),
        ] {
            let (_d, p) = write(name, &bytes);
            let d = read_labeled(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.examples[0].label, label, "{name}");
            assert_eq!(
                d.sha256,
                sha256_hex(&bytes),
                "{name}: digest of the stored bytes"
            );
        }
    }

    #[test]
    fn texts_may_lack_labels_but_a_label_given_must_be_known() {
        let (_d, p) = write(
            "a.jsonl",
            b"\xef\xbb\xbf{\"text\":\"a\"}\n{\"text\":\"b\",\"label\":\"pro\"}\n",
        );
        let t = read_texts(&p).unwrap();
        assert_eq!((t[0].label, t[1].label), (None, Some(Label::Pro)));
        let err = read_labeled(&p).unwrap_err().to_string();
        assert!(err.contains("a.jsonl:1: missing field \"label\""), "{err}");
        let (_d, p) = write("a.csv", b"text\nx\n");
        assert_eq!(read_texts(&p).unwrap()[0].label, None);
        let (_d, p) = write("a.jsonl", b"{\"text\":\"a\",\"label\":\"meh\"}\n");
        assert!(read_texts(&p).is_err());
    }

    // See: issue 15 (CRLF line ends made CSV lines one short).
    #[test]
    fn csv_lines_are_right_with_crlf_line_ends() {
        let (_d, p) = write(
            "a.csv",
            b"text,label\r\nfine,pro\r\n\"two\r\nlines\",anti\r\nbad,maybe\r\n",
        );
        let err = read_labeled(&p).unwrap_err().to_string();
        assert!(err.contains("a.csv:5: unknown label"), "{err}");
        let (_d, p) = write(
            "b.csv",
            b"text,label\r\nfine,pro\r\n\"two\r\nlines\",anti\r\n",
        );
        let d = read_labeled(&p).unwrap();
        let lines: Vec<usize> = d.examples.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_labeled(Path::new("/nonexistent/x.jsonl")).unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/x.jsonl: "));
    }
}

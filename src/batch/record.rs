//! One record on its way through the batch pipeline: the raw record the
//! reader cuts out of an input, its id and text once parsed, and its output
//! record (JSONL or CSV) once scored.
//!
//! Output record (JSONL; CSV has the same fields as columns, probabilities
//! flattened and paragraphs as a JSON string):
//! `{"id", "source", "label", "probabilities": {"pro", "anti", "neutral"},
//! "stance_index", "low_confidence", ["paragraphs"], "model", "model_version",
//! "model_checksum"}`; an error record has `"error"` instead of the scores.

use std::borrow::Cow;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Serialize;

use crate::label::{Label, Probabilities};
use crate::pipeline::{DocumentScore, ParagraphScore, StanceModel};

use super::formats::OutputFormat;

/// A record as cut out of an input by the reader, not yet parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// Where it came from: `file:line` (`<stdin>:line`), or the file path of a document.
    pub source: String,
    /// What the reader found.
    pub payload: Payload,
}

/// The content of a raw record.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// One JSONL line (without its line break), parsed by a worker.
    JsonLine(Vec<u8>),
    /// Id and text bytes already separated (CSV row, text document).
    Fields {
        /// The id, if the input has one.
        id: Option<Vec<u8>>,
        /// The text bytes (checked for UTF-8 by the worker).
        text: Vec<u8>,
    },
    /// The reader could not cut a record here (short CSV row, unreadable document).
    Invalid {
        /// The id, if known.
        id: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Names of the fields (JSONL keys, CSV columns) holding the text and the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
    /// Field holding the text (default `text`).
    pub text: String,
    /// Field holding the id (default `id`).
    pub id: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        Self {
            text: "text".into(),
            id: "id".into(),
        }
    }
}

/// A record that cannot be scored: its id and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    /// The record's id (its source when it has none or it could not be read).
    pub id: String,
    /// What is wrong, e.g. `missing field "text"`.
    pub message: String,
}

impl RawRecord {
    /// The record's id and text, or why it has none. A record without an id
    /// gets its source (`file:line`) as id.
    pub fn parse<'a>(
        &'a self,
        fields: &FieldNames,
    ) -> Result<(Cow<'a, str>, Cow<'a, str>), BadRecord> {
        let fallback = || Cow::Borrowed(self.source.as_str());
        let bad = |id: Option<String>, message: String| BadRecord {
            id: id
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| self.source.clone()),
            message,
        };
        match &self.payload {
            Payload::Invalid { id, message } => Err(bad(id.clone(), message.clone())),
            Payload::Fields { id, text } => {
                let id = match id.as_deref().map(std::str::from_utf8) {
                    Some(Ok(s)) if !s.trim().is_empty() => Cow::Borrowed(s),
                    Some(Err(_)) => {
                        return Err(bad(
                            None,
                            format!("field {:?} is not valid UTF-8", fields.id),
                        ))
                    }
                    _ => fallback(),
                };
                let text = std::str::from_utf8(text).map_err(|e| {
                    bad(
                        Some(id.to_string()),
                        format!("text is not valid UTF-8 (at byte {})", e.valid_up_to()),
                    )
                })?;
                Ok((id, Cow::Borrowed(text)))
            }
            Payload::JsonLine(line) => {
                let line = std::str::from_utf8(line).map_err(|e| {
                    bad(
                        None,
                        format!("line is not valid UTF-8 (at byte {})", e.valid_up_to()),
                    )
                })?;
                let mut de = serde_json::Deserializer::from_str(line);
                let picked = PickFields { fields }
                    .deserialize(&mut de)
                    .and_then(|p| de.end().map(|()| p))
                    .map_err(|e| bad(None, format!("invalid JSON: {e}")))?;
                let id = match picked.id {
                    Some(id) if !id.trim().is_empty() => Cow::Owned(id),
                    _ => fallback(),
                };
                match picked.text {
                    Some(Ok(text)) => Ok((id, Cow::Owned(text))),
                    Some(Err(kind)) => Err(bad(
                        Some(id.into_owned()),
                        format!("field {:?} must be a string, found {kind}", fields.text),
                    )),
                    None => Err(bad(
                        Some(id.into_owned()),
                        format!("missing field {:?}", fields.text),
                    )),
                }
            }
        }
    }
}

/// The two fields of a JSON object we need; the rest is skipped unparsed.
struct PickFields<'f> {
    fields: &'f FieldNames,
}

#[derive(Default)]
struct Picked {
    /// The text, or the JSON type found instead of a string.
    text: Option<Result<String, &'static str>>,
    id: Option<String>,
}

/// A map key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> DeserializeSeed<'de> for PickFields<'_> {
    type Value = Picked;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Picked, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PickFields<'_> {
    type Value = Picked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Picked, A::Error> {
        let mut out = Picked::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.fields.text {
                out.text = Some(match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(json_type(&other)),
                });
            } else if key == self.fields.id {
                out.id = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                };
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The model's identity, stamped on every output record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStamp {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// `sha256:<hex>` of the model body.
    pub checksum: String,
}

impl ModelStamp {
    /// The stamp of `model`.
    pub fn of(model: &StanceModel) -> Self {
        Self {
            name: model.meta().name.clone(),
            version: model.meta().version.clone(),
            checksum: model.checksum().to_string(),
        }
    }
}

#[derive(Serialize)]
struct OkJson<'a> {
    id: &'a str,
    source: &'a str,
    label: Label,
    probabilities: &'a Probabilities,
    stance_index: f64,
    low_confidence: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    paragraphs: Option<&'a [ParagraphScore]>,
    model: &'a str,
    model_version: &'a str,
    model_checksum: &'a str,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    id: &'a str,
    source: &'a str,
    error: &'a str,
    model: &'a str,
    model_version: &'a str,
    model_checksum: &'a str,
}

/// The CSV header of the output, with or without the `paragraphs` column.
/// `model_checksum` is always last: a CSV record is complete only when it
/// holds that column and its line break (see `checkpoint`).
pub fn csv_header(paragraphs: bool) -> Vec<&'static str> {
    let mut h = vec![
        "id",
        "source",
        "label",
        "pro",
        "anti",
        "neutral",
        "stance_index",
        "low_confidence",
        "error",
    ];
    if paragraphs {
        h.push("paragraphs");
    }
    h.extend(["model", "model_version", "model_checksum"]);
    h
}

/// Serializes the output records of one batch into a byte buffer of whole records.
pub struct Encoder<'s> {
    stamp: &'s ModelStamp,
    paragraphs: bool,
    sink: Sink,
}

enum Sink {
    Jsonl(Vec<u8>),
    Csv(Box<csv::Writer<Vec<u8>>>),
}

impl<'s> Encoder<'s> {
    /// An empty batch in `format`; `paragraphs` adds paragraph scores.
    pub fn new(format: OutputFormat, stamp: &'s ModelStamp, paragraphs: bool) -> Self {
        let sink = match format {
            OutputFormat::Jsonl => Sink::Jsonl(Vec::with_capacity(1 << 16)),
            OutputFormat::Csv => Sink::Csv(Box::new(
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(Vec::with_capacity(1 << 16)),
            )),
        };
        Self {
            stamp,
            paragraphs,
            sink,
        }
    }

    /// Appends the record of a scored document.
    pub fn scored(&mut self, id: &str, source: &str, s: &DocumentScore) -> io::Result<()> {
        let st = self.stamp;
        match &mut self.sink {
            Sink::Jsonl(buf) => {
                let rec = OkJson {
                    id,
                    source,
                    label: s.label,
                    probabilities: &s.probabilities,
                    stance_index: s.stance_index,
                    low_confidence: s.low_confidence,
                    paragraphs: self.paragraphs.then_some(s.paragraphs.as_slice()),
                    model: &st.name,
                    model_version: &st.version,
                    model_checksum: &st.checksum,
                };
                serde_json::to_writer(&mut *buf, &rec)?;
                buf.push(b'\n');
            }
            Sink::Csv(w) => {
                let p = &s.probabilities;
                let mut row: Vec<Cow<'_, str>> = vec![
                    id.into(),
                    source.into(),
                    s.label.as_str().into(),
                    p.pro.to_string().into(),
                    p.anti.to_string().into(),
                    p.neutral.to_string().into(),
                    s.stance_index.to_string().into(),
                    s.low_confidence.to_string().into(),
                    "".into(),
                ];
                if self.paragraphs {
                    row.push(serde_json::to_string(&s.paragraphs)?.into());
                }
                row.extend([
                    st.name.as_str().into(),
                    st.version.as_str().into(),
                    st.checksum.as_str().into(),
                ]);
                w.write_record(row.iter().map(|c| c.as_bytes()))?;
            }
        }
        Ok(())
    }

    /// Appends an error record.
    pub fn error(&mut self, id: &str, source: &str, message: &str) -> io::Result<()> {
        let st = self.stamp;
        match &mut self.sink {
            Sink::Jsonl(buf) => {
                let rec = ErrorJson {
                    id,
                    source,
                    error: message,
                    model: &st.name,
                    model_version: &st.version,
                    model_checksum: &st.checksum,
                };
                serde_json::to_writer(&mut *buf, &rec)?;
                buf.push(b'\n');
            }
            Sink::Csv(w) => {
                let mut row: Vec<&str> = vec![id, source, "", "", "", "", "", "", message];
                if self.paragraphs {
                    row.push("");
                }
                row.extend([st.name.as_str(), st.version.as_str(), st.checksum.as_str()]);
                w.write_record(row)?;
            }
        }
        Ok(())
    }

    /// The serialized records.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        match self.sink {
            Sink::Jsonl(buf) => Ok(buf),
            Sink::Csv(w) => (*w)
                .into_inner()
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }
}

/// The CSV header line of the output.
pub fn csv_header_line(paragraphs: bool) -> Vec<u8> {
    let mut line = csv_header(paragraphs).join(",").into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsonl(line: &str) -> RawRecord {
        RawRecord {
            source: "in.jsonl:7".into(),
            payload: Payload::JsonLine(line.as_bytes().to_vec()),
        }
    }

    fn parse(r: &RawRecord) -> Result<(String, String), BadRecord> {
        r.parse(&FieldNames::default())
            .map(|(id, text)| (id.into_owned(), text.into_owned()))
    }

    #[test]
    fn a_bad_record_with_a_blank_id_is_named_by_its_source() {
        for id in [Some(String::new()), Some(" \t".into()), None] {
            let r = RawRecord {
                source: "in.csv:3".into(),
                payload: Payload::Invalid {
                    id: id.clone(),
                    message: "row has 3 fields but the header has 2".into(),
                },
            };
            assert_eq!(parse(&r).unwrap_err().id, "in.csv:3", "id {id:?}");
        }
    }

    #[test]
    fn picks_id_and_text_from_a_json_line() {
        let r = jsonl(r#"{"meta": {"a": [1, 2]}, "id": "a-1", "text": "Hello\nworld", "x": null}"#);
        assert_eq!(parse(&r), Ok(("a-1".into(), "Hello\nworld".into())));
        let r = jsonl(r#"{"id": 42, "text": "t"}"#);
        assert_eq!(parse(&r), Ok(("42".into(), "t".into())));
        let r = jsonl(r#"{"text": "t"}"#);
        assert_eq!(
            parse(&r),
            Ok(("in.jsonl:7".into(), "t".into())),
            "no id: source"
        );
    }

    #[test]
    fn honours_custom_field_names_with_escaped_keys() {
        let names = FieldNames {
            text: "body".into(),
            id: "doc\"id".into(),
        };
        let r = jsonl(r#"{"doc\"id": "d", "body": "b", "text": "not this"}"#);
        let (id, text) = r.parse(&names).unwrap();
        assert_eq!((id.as_ref(), text.as_ref()), ("d", "b"));
    }

    #[test]
    fn explains_why_a_json_line_cannot_be_scored() {
        let cases = [
            (
                r#"{"id": "a", "text": 3}"#,
                "a",
                "field \"text\" must be a string, found a number",
            ),
            (r#"{"id": "a"}"#, "a", "missing field \"text\""),
            (
                r#"{"id": "a", "text": null}"#,
                "a",
                "field \"text\" must be a string, found null",
            ),
            (r#"{"id": "a", "text": "x""#, "in.jsonl:7", "invalid JSON"),
            (r#"[1, 2]"#, "in.jsonl:7", "invalid JSON"),
            (r#"{"text": "x"} trailing"#, "in.jsonl:7", "invalid JSON"),
        ];
        for (line, id, message) in cases {
            let err = parse(&jsonl(line)).unwrap_err();
            assert_eq!(err.id, id, "case {line}");
            assert!(
                err.message.starts_with(message),
                "case {line}: {}",
                err.message
            );
        }
        let r = RawRecord {
            source: "in.jsonl:9".into(),
            payload: Payload::JsonLine(b"{\"text\": \"caf\xe9\"}".to_vec()),
        };
        assert!(parse(&r).unwrap_err().message.contains("not valid UTF-8"));
    }

    #[test]
    fn checks_field_payloads_for_utf8() {
        let r = RawRecord {
            source: "a.csv:3".into(),
            payload: Payload::Fields {
                id: Some(b"r3".to_vec()),
                text: b"ok \xff".to_vec(),
            },
        };
        let err = parse(&r).unwrap_err();
        assert_eq!(err.id, "r3");
        assert!(err.message.contains("not valid UTF-8"), "{}", err.message);
        let r = RawRecord {
            source: "a.csv:4".into(),
            payload: Payload::Fields {
                id: Some(b" ".to_vec()),
                text: b"fine".to_vec(),
            },
        };
        assert_eq!(
            parse(&r),
            Ok(("a.csv:4".into(), "fine".into())),
            "blank id: source"
        );
    }

    #[test]
    fn csv_header_ends_with_the_checksum_column() {
        for p in [false, true] {
            let h = csv_header(p);
            assert_eq!(h.last(), Some(&"model_checksum"));
            assert_eq!(h.contains(&"paragraphs"), p);
        }
    }
}

//! One record on its way through the batch pipeline: the raw record the
//! reader cuts out of an input, its id and text once parsed, and its output
//! record (JSONL or CSV) once scored.
//!
//! Output record (JSONL; CSV has the same fields as columns, probabilities
//! flattened and paragraphs as a JSON string):
//! `{"id", "source", [kept fields...], "label", "probabilities": {"pro",
//! "anti", "neutral"}, "stance_index", "low_confidence", ["paragraphs"],
//! "model", "model_version", "model_checksum"}`; an error record has
//! `"error"` instead of the scores. Kept fields (`--keep-fields`, see
//! [`keep`](super::keep)) are on every record, error records included.

use std::borrow::Cow;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::pipeline::{DocumentScore, StanceModel};

use super::formats::OutputFormat;
use super::keep::{KeepFields, Kept};

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
        /// The kept columns' bytes, in `--keep-fields` order (empty when
        /// nothing is kept).
        kept: Vec<Vec<u8>>,
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

/// A record as a worker parsed it.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// One value per kept field, in `--keep-fields` order: `None` when the
    /// record lacks the field or could not be parsed at all.
    pub kept: Vec<Option<Kept<'a>>>,
    /// The id and text, or why the record cannot be scored.
    pub record: Result<(Cow<'a, str>, Cow<'a, str>), BadRecord>,
}

impl RawRecord {
    /// The record's id and text, or why it has none. A record without an id
    /// gets its source (`file:line`) as id.
    pub fn parse<'a>(
        &'a self,
        fields: &FieldNames,
    ) -> Result<(Cow<'a, str>, Cow<'a, str>), BadRecord> {
        self.parse_keeping(fields, &KeepFields::none()).record
    }

    /// Like [`parse`](Self::parse), and also picks the values of the kept
    /// fields, which an error record carries too.
    pub fn parse_keeping<'a>(&'a self, fields: &FieldNames, keep: &KeepFields) -> Parsed<'a> {
        match &self.payload {
            Payload::Invalid { id, message } => Parsed {
                kept: vec![None; keep.len()],
                record: Err(self.bad(id.clone(), message.clone())),
            },
            Payload::Fields { id, text, kept } => {
                let mut values = Vec::with_capacity(keep.len());
                let mut not_utf8 = None;
                for (i, name) in keep.names().iter().enumerate() {
                    values.push(match kept.get(i).map(|b| std::str::from_utf8(b)) {
                        Some(Ok(s)) => Some(Kept::Text(s)),
                        Some(Err(_)) => {
                            not_utf8.get_or_insert(name);
                            None
                        }
                        None => None,
                    });
                }
                let record =
                    self.parse_fields(fields, id, text)
                        .and_then(|(id, text)| match not_utf8 {
                            Some(name) => Err(BadRecord {
                                id: id.into_owned(),
                                message: format!("field {name:?} is not valid UTF-8"),
                            }),
                            None => Ok((id, text)),
                        });
                Parsed {
                    kept: values,
                    record,
                }
            }
            Payload::JsonLine(line) => self.parse_json(fields, keep, line),
        }
    }

    /// A bad record, named by its id, or by its source when the id is
    /// missing or blank (as a good record is).
    fn bad(&self, id: Option<String>, message: String) -> BadRecord {
        BadRecord {
            id: id
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| self.source.clone()),
            message,
        }
    }

    fn parse_fields<'a>(
        &'a self,
        fields: &FieldNames,
        id: &'a Option<Vec<u8>>,
        text: &'a [u8],
    ) -> Result<(Cow<'a, str>, Cow<'a, str>), BadRecord> {
        let id = match id.as_deref().map(std::str::from_utf8) {
            Some(Ok(s)) if !s.trim().is_empty() => Cow::Borrowed(s),
            Some(Err(_)) => {
                return Err(self.bad(None, format!("field {:?} is not valid UTF-8", fields.id)))
            }
            _ => Cow::Borrowed(self.source.as_str()),
        };
        let text = std::str::from_utf8(text).map_err(|e| {
            self.bad(
                Some(id.to_string()),
                format!("text is not valid UTF-8 (at byte {})", e.valid_up_to()),
            )
        })?;
        Ok((id, Cow::Borrowed(text)))
    }

    fn parse_json<'a>(&'a self, fields: &FieldNames, keep: &KeepFields, line: &[u8]) -> Parsed<'a> {
        let unparsed = |message: String| Parsed {
            kept: vec![None; keep.len()],
            record: Err(self.bad(None, message)),
        };
        let line = match std::str::from_utf8(line) {
            Ok(line) => line,
            Err(e) => {
                return unparsed(format!(
                    "line is not valid UTF-8 (at byte {})",
                    e.valid_up_to()
                ))
            }
        };
        let mut de = serde_json::Deserializer::from_str(line);
        let picked = PickFields {
            fields,
            keep: keep.names(),
        }
        .deserialize(&mut de)
        .and_then(|p| de.end().map(|()| p));
        let picked = match picked {
            Ok(p) => p,
            Err(e) => return unparsed(format!("invalid JSON: {e}")),
        };
        let kept = picked.kept.into_iter().map(|v| v.map(Kept::Json)).collect();
        let id = match picked.id {
            Some(id) if !id.trim().is_empty() => Cow::Owned(id),
            _ => Cow::Borrowed(self.source.as_str()),
        };
        let record = match picked.text {
            Some(Ok(text)) => Ok((id, Cow::Owned(text))),
            Some(Err(kind)) => Err(self.bad(
                Some(id.into_owned()),
                format!("field {:?} must be a string, found {kind}", fields.text),
            )),
            None => Err(self.bad(
                Some(id.into_owned()),
                format!("missing field {:?}", fields.text),
            )),
        };
        Parsed { kept, record }
    }
}

/// The fields of a JSON object we need (text, id, kept fields); the rest is
/// skipped unparsed, and kept values are captured as raw JSON, unparsed too.
struct PickFields<'f> {
    fields: &'f FieldNames,
    keep: &'f [String],
}

struct Picked {
    /// The text, or the JSON type found instead of a string.
    text: Option<Result<String, &'static str>>,
    id: Option<String>,
    /// One slot per kept field.
    kept: Vec<Option<Box<RawValue>>>,
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
        let mut out = Picked {
            text: None,
            id: None,
            kept: vec![None; self.keep.len()],
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.fields.text {
                out.text = Some(match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(json_type(&other)),
                });
            } else if let Some(i) = self.keep.iter().position(|k| *k == key) {
                let raw = map.next_value::<Box<RawValue>>()?;
                if key == self.fields.id {
                    // The id field kept under its own name: read it back.
                    out.id = serde_json::from_str(raw.get())
                        .map_err(de::Error::custom)
                        .map(id_of)?;
                }
                if let Some(slot) = out.kept.get_mut(i) {
                    *slot = Some(raw);
                }
            } else if key == self.fields.id {
                out.id = id_of(map.next_value::<serde_json::Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// An id from its JSON value: a string as is, `null` as none, anything else
/// as its JSON text.
fn id_of(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
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

/// The kept fields of one output record: names and values, in order; a
/// missing value is written as `null`.
#[derive(Clone, Copy)]
struct KeptEntries<'r, 'v> {
    names: &'r [String],
    values: &'r [Option<Kept<'v>>],
}

impl KeptEntries<'_, '_> {
    fn serialize_into<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        for (i, name) in self.names.iter().enumerate() {
            m.serialize_entry(name, &self.values.get(i).and_then(Option::as_ref))?;
        }
        Ok(())
    }

    /// The CSV cells: strings as is, other JSON values as their JSON text,
    /// `null` and missing values empty.
    fn csv_cells(&self) -> impl Iterator<Item = Cow<'_, str>> {
        (0..self.names.len()).map(|i| match self.values.get(i).and_then(Option::as_ref) {
            Some(v) => v.csv_cell(),
            None => Cow::Borrowed(""),
        })
    }
}

/// A scored record. Written as a map, not derived, so that the kept fields
/// can sit between `source` and `label`; the bytes are the same as a
/// derived struct's.
struct OkJson<'a> {
    id: &'a str,
    source: &'a str,
    kept: KeptEntries<'a, 'a>,
    score: &'a DocumentScore,
    paragraphs: bool,
    stamp: &'a ModelStamp,
}

impl Serialize for OkJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", self.id)?;
        m.serialize_entry("source", self.source)?;
        self.kept.serialize_into(&mut m)?;
        let sc = self.score;
        m.serialize_entry("label", &sc.label)?;
        m.serialize_entry("probabilities", &sc.probabilities)?;
        m.serialize_entry("stance_index", &sc.stance_index)?;
        m.serialize_entry("low_confidence", &sc.low_confidence)?;
        if self.paragraphs {
            m.serialize_entry("paragraphs", sc.paragraphs.as_slice())?;
        }
        m.serialize_entry("model", &self.stamp.name)?;
        m.serialize_entry("model_version", &self.stamp.version)?;
        m.serialize_entry("model_checksum", &self.stamp.checksum)?;
        m.end()
    }
}

/// An error record (see [`OkJson`] for why it is a map).
struct ErrorJson<'a> {
    id: &'a str,
    source: &'a str,
    kept: KeptEntries<'a, 'a>,
    error: &'a str,
    stamp: &'a ModelStamp,
}

impl Serialize for ErrorJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", self.id)?;
        m.serialize_entry("source", self.source)?;
        self.kept.serialize_into(&mut m)?;
        m.serialize_entry("error", self.error)?;
        m.serialize_entry("model", &self.stamp.name)?;
        m.serialize_entry("model_version", &self.stamp.version)?;
        m.serialize_entry("model_checksum", &self.stamp.checksum)?;
        m.end()
    }
}

/// The CSV header of the output: the kept fields right after `source`, the
/// `paragraphs` column only with paragraphs. `model_checksum` is always
/// last: a CSV record is complete only when it holds that column and its
/// line break (see `checkpoint`).
pub fn csv_header(paragraphs: bool, keep: &KeepFields) -> Vec<&str> {
    let mut h = vec!["id", "source"];
    h.extend(keep.names().iter().map(String::as_str));
    h.extend([
        "label",
        "pro",
        "anti",
        "neutral",
        "stance_index",
        "low_confidence",
        "error",
    ]);
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
    keep: &'s KeepFields,
    sink: Sink,
}

enum Sink {
    Jsonl(Vec<u8>),
    Csv(Box<csv::Writer<Vec<u8>>>),
}

impl<'s> Encoder<'s> {
    /// An empty batch in `format`; `paragraphs` adds paragraph scores, `keep`
    /// names the kept fields.
    pub fn new(
        format: OutputFormat,
        stamp: &'s ModelStamp,
        paragraphs: bool,
        keep: &'s KeepFields,
    ) -> Self {
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
            keep,
            sink,
        }
    }

    /// Appends the record of a scored document; `kept` holds the values of
    /// the kept fields, in order.
    pub fn scored(
        &mut self,
        id: &str,
        source: &str,
        kept: &[Option<Kept<'_>>],
        s: &DocumentScore,
    ) -> io::Result<()> {
        let st = self.stamp;
        let kept = KeptEntries {
            names: self.keep.names(),
            values: kept,
        };
        match &mut self.sink {
            Sink::Jsonl(buf) => {
                let rec = OkJson {
                    id,
                    source,
                    kept,
                    score: s,
                    paragraphs: self.paragraphs,
                    stamp: st,
                };
                serde_json::to_writer(&mut *buf, &rec)?;
                buf.push(b'\n');
            }
            Sink::Csv(w) => {
                let p = &s.probabilities;
                let mut row: Vec<Cow<'_, str>> = vec![id.into(), source.into()];
                row.extend(kept.csv_cells());
                row.extend([
                    s.label.as_str().into(),
                    p.pro.to_string().into(),
                    p.anti.to_string().into(),
                    p.neutral.to_string().into(),
                    s.stance_index.to_string().into(),
                    s.low_confidence.to_string().into(),
                    "".into(),
                ]);
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

    /// Appends an error record; `kept` as for [`scored`](Self::scored).
    pub fn error(
        &mut self,
        id: &str,
        source: &str,
        kept: &[Option<Kept<'_>>],
        message: &str,
    ) -> io::Result<()> {
        let st = self.stamp;
        let kept = KeptEntries {
            names: self.keep.names(),
            values: kept,
        };
        match &mut self.sink {
            Sink::Jsonl(buf) => {
                let rec = ErrorJson {
                    id,
                    source,
                    kept,
                    error: message,
                    stamp: st,
                };
                serde_json::to_writer(&mut *buf, &rec)?;
                buf.push(b'\n');
            }
            Sink::Csv(w) => {
                let mut row: Vec<Cow<'_, str>> = vec![id.into(), source.into()];
                row.extend(kept.csv_cells());
                row.extend(["", "", "", "", "", ""].map(Cow::Borrowed));
                row.push(message.into());
                if self.paragraphs {
                    row.push("".into());
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

/// The CSV header line of the output, quoted like the records are.
pub fn csv_header_line(paragraphs: bool, keep: &KeepFields) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, name) in csv_header(paragraphs, keep).into_iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        if name.contains([',', '"', '\n', '\r']) {
            line.push(b'"');
            line.extend_from_slice(name.replace('"', "\"\"").as_bytes());
            line.push(b'"');
        } else {
            line.extend_from_slice(name.as_bytes());
        }
    }
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
                kept: vec![],
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
                kept: vec![],
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
        let keep = keep(&["outlet", "date"]);
        for p in [false, true] {
            let h = csv_header(p, &keep);
            assert_eq!(h.last(), Some(&"model_checksum"));
            assert_eq!(h.contains(&"paragraphs"), p);
            assert_eq!(h[..5], ["id", "source", "outlet", "date", "label"]);
        }
    }

    fn keep(names: &[&str]) -> KeepFields {
        let names = names.iter().map(|s| s.to_string()).collect();
        KeepFields::new(names, &FieldNames::default()).unwrap()
    }

    /// The kept values of a record as JSON text (`None` when missing).
    fn kept_json(p: &Parsed<'_>) -> Vec<Option<String>> {
        p.kept
            .iter()
            .map(|k| k.as_ref().map(|k| serde_json::to_string(k).unwrap()))
            .collect()
    }

    #[test]
    fn keeps_json_values_as_written_and_misses_as_none() {
        let keep = keep(&["outlet", "wc", "meta", "gone", "nil"]);
        let r = jsonl(
            r#"{"id": "a", "meta": {"tags": ["x", "y"], "n": 1.50}, "outlet": "Gaz\u00e9tte", "text": "t", "wc": 12, "nil": null}"#,
        );
        let p = r.parse_keeping(&FieldNames::default(), &keep);
        assert_eq!(
            kept_json(&p),
            [
                Some(r#""Gaz\u00e9tte""#.to_string()),
                Some("12".to_string()),
                Some(r#"{"tags": ["x", "y"], "n": 1.50}"#.to_string()),
                None,
                Some("null".to_string()),
            ]
        );
        let (id, text) = p.record.unwrap();
        assert_eq!((id.as_ref(), text.as_ref()), ("a", "t"));
    }

    #[test]
    fn error_records_keep_fields_when_the_json_parsed() {
        let keep = keep(&["outlet"]);
        let r = jsonl(r#"{"id": "a", "outlet": "G", "text": 3}"#);
        let p = r.parse_keeping(&FieldNames::default(), &keep);
        assert_eq!(kept_json(&p), [Some(r#""G""#.to_string())]);
        assert!(p.record.is_err());
        for line in [r#"{"outlet": "G", "text": "#, r#"{"outlet": "G"} x"#] {
            let r = jsonl(line);
            let p = r.parse_keeping(&FieldNames::default(), &keep);
            assert_eq!(kept_json(&p), [None], "case {line}");
            assert!(p.record.unwrap_err().message.starts_with("invalid JSON"));
        }
    }

    #[test]
    fn a_kept_id_field_is_both_id_and_kept() {
        let fields = FieldNames {
            text: "text".into(),
            id: "doc_id".into(),
        };
        let keep = KeepFields::new(vec!["doc_id".into()], &fields).unwrap();
        let r = jsonl(r#"{"doc_id": 7, "text": "t"}"#);
        let p = r.parse_keeping(&fields, &keep);
        assert_eq!(kept_json(&p), [Some("7".to_string())]);
        assert_eq!(p.record.unwrap().0, "7");
    }

    #[test]
    fn keeps_csv_cells_and_refuses_non_utf8_ones() {
        let keep = keep(&["outlet", "date"]);
        let rec = |outlet: &[u8]| RawRecord {
            source: "a.csv:2".into(),
            payload: Payload::Fields {
                id: Some(b"r".to_vec()),
                text: b"t".to_vec(),
                kept: vec![outlet.to_vec(), b"".to_vec()],
            },
        };
        let r = rec(b"Gazette");
        let p = r.parse_keeping(&FieldNames::default(), &keep);
        assert_eq!(p.kept, [Some(Kept::Text("Gazette")), Some(Kept::Text(""))]);
        assert!(p.record.is_ok());
        let r = rec(b"caf\xe9");
        let p = r.parse_keeping(&FieldNames::default(), &keep);
        assert_eq!(p.kept, [None, Some(Kept::Text(""))]);
        let bad = p.record.unwrap_err();
        assert_eq!(bad.id, "r");
        assert_eq!(bad.message, "field \"outlet\" is not valid UTF-8");
    }

    #[test]
    fn kept_fields_sit_after_source_in_jsonl_and_csv() {
        let stamp = ModelStamp {
            name: "m".into(),
            version: "1".into(),
            checksum: "sha256:x".into(),
        };
        let keep = keep(&["outlet", "n"]);
        let raw = RawValue::from_string("[1, 2]".into()).unwrap();
        let kept = [Some(Kept::Text("a,\"b\"")), Some(Kept::Json(raw))];
        let mut enc = Encoder::new(OutputFormat::Jsonl, &stamp, false, &keep);
        enc.error("i", "s:1", &kept, "bad").unwrap();
        enc.error("j", "s:2", &[], "bad").unwrap();
        assert_eq!(
            String::from_utf8(enc.finish().unwrap()).unwrap(),
            concat!(
                r#"{"id":"i","source":"s:1","outlet":"a,\"b\"","n":[1, 2],"error":"bad","model":"m","model_version":"1","model_checksum":"sha256:x"}"#,
                "\n",
                r#"{"id":"j","source":"s:2","outlet":null,"n":null,"error":"bad","model":"m","model_version":"1","model_checksum":"sha256:x"}"#,
                "\n"
            )
        );
        let mut enc = Encoder::new(OutputFormat::Csv, &stamp, false, &keep);
        enc.error("i", "s:1", &kept, "bad").unwrap();
        let mut out = csv_header_line(false, &keep);
        out.extend(enc.finish().unwrap());
        let mut rdr = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, csv_header(false, &keep));
        let row = rdr.records().next().unwrap().unwrap();
        assert_eq!(row.len(), header.len());
        assert_eq!(
            row.iter().take(4).collect::<Vec<_>>(),
            ["i", "s:1", "a,\"b\"", "[1, 2]"]
        );
    }

    #[test]
    fn csv_header_line_quotes_names_that_need_it() {
        let keep = keep(&["a,b", "q\"x"]);
        let line = String::from_utf8(csv_header_line(false, &keep)).unwrap();
        assert!(
            line.starts_with("id,source,\"a,b\",\"q\"\"x\",label,"),
            "{line}"
        );
    }
}

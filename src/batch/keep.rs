//! `--keep-fields`: the input fields (JSONL keys, CSV columns) copied into
//! every output record so that scores can be grouped later, the names they
//! may not take, and how a kept value is written (JSONL: the JSON value as
//! is; CSV: a string, other JSON values as their JSON text).
//!
//! JSON values are captured as [`RawValue`]s by the streaming record parser,
//! so keeping a field costs a copy of its bytes, never a parse into a tree.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::error::BatchError;
use super::formats::{self, InputFormat};
use super::record::FieldNames;

/// The names every output record (JSONL keys and CSV columns) already uses:
/// a kept field may not take one of them.
pub const OUTPUT_FIELDS: &[&str] = &[
    "id",
    "source",
    "label",
    "probabilities",
    "pro",
    "anti",
    "neutral",
    "stance_index",
    "low_confidence",
    "error",
    "paragraphs",
    "model",
    "model_version",
    "model_checksum",
];

/// The checked list of fields to keep, in the order given (the order of the
/// output's keys and columns). Empty when nothing is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepFields(Vec<String>);

impl KeepFields {
    /// Keeps nothing.
    pub const fn none() -> Self {
        Self(Vec::new())
    }

    /// Checks `names` (surrounding white space trimmed): none empty, none
    /// twice, none an output field, none the text field.
    pub fn new(names: Vec<String>, fields: &FieldNames) -> Result<Self, BatchError> {
        let mut kept: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(BatchError::KeepFieldEmpty);
            }
            if OUTPUT_FIELDS.contains(&name.as_str()) {
                return Err(BatchError::KeepFieldClash {
                    field: name,
                    reserved: OUTPUT_FIELDS.join(", "),
                });
            }
            if name == fields.text {
                return Err(BatchError::KeepTextField { field: name });
            }
            if kept.contains(&name) {
                return Err(BatchError::KeepFieldTwice { field: name });
            }
            kept.push(name);
        }
        Ok(Self(kept))
    }

    /// The names, in output order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many fields are kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Refuses `.txt` documents (files, directories, or standard input read
    /// as text) when fields are kept: a document has no fields. Inputs whose
    /// format cannot be told are left to the reader to report.
    pub fn check_inputs(
        &self,
        inputs: &[PathBuf],
        input_format: Option<InputFormat>,
    ) -> Result<(), BatchError> {
        if self.is_empty() {
            return Ok(());
        }
        for path in inputs {
            let format = if path.as_os_str() == "-" {
                input_format.unwrap_or(InputFormat::Jsonl)
            } else if path.is_dir() {
                InputFormat::Txt
            } else {
                match (input_format, formats::detect_file(path)) {
                    (Some(format), _) | (None, Ok((format, _))) => format,
                    (None, Err(_)) => continue,
                }
            };
            if format == InputFormat::Txt {
                return Err(self.refuse_document(path.clone()));
            }
        }
        Ok(())
    }

    /// The error for a `.txt` document input.
    pub(crate) fn refuse_document(&self, path: PathBuf) -> BatchError {
        BatchError::KeepFieldsWithDocuments {
            path,
            fields: self.0.join(","),
        }
    }
}

impl fmt::Display for KeepFields {
    /// The names, comma separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// One kept value of one record.
#[derive(Debug, Clone)]
pub enum Kept<'a> {
    /// A JSONL input's value, exactly as it was written.
    Json(Box<RawValue>),
    /// A CSV input's cell.
    Text(&'a str),
}

impl PartialEq for Kept<'_> {
    /// Same variant and same text (JSON values compare as written).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Kept::Json(a), Kept::Json(b)) => a.get() == b.get(),
            (Kept::Text(a), Kept::Text(b)) => a == b,
            _ => false,
        }
    }
}

impl Kept<'_> {
    /// The CSV cell: a string as is, any other JSON value as its JSON text.
    pub fn csv_cell(&self) -> Cow<'_, str> {
        match self {
            Kept::Text(s) => Cow::Borrowed(s),
            Kept::Json(raw) => {
                let json = raw.get();
                if json.starts_with('"') {
                    // A string with a lone surrogate escape has no UTF-8
                    // form: it stays JSON text.
                    if let Ok(s) = serde_json::from_str::<String>(json) {
                        return Cow::Owned(s);
                    }
                } else if json == "null" {
                    return Cow::Borrowed("");
                }
                Cow::Borrowed(json)
            }
        }
    }
}

impl Serialize for Kept<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Kept::Json(raw) => raw.serialize(s),
            Kept::Text(t) => s.serialize_str(t),
        }
    }
}

/// The kept fields of an output JSONL record: its keys that are not output
/// fields, in order (for `--resume`).
pub fn kept_keys_of_output(line: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if !OUTPUT_FIELDS.contains(&key.as_str()) {
                    keys.push(key);
                }
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    de::Deserializer::deserialize_map(&mut de, Keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(names: &[&str]) -> Result<KeepFields, BatchError> {
        KeepFields::new(
            names.iter().map(|s| s.to_string()).collect(),
            &FieldNames::default(),
        )
    }

    #[test]
    fn keeps_names_in_the_order_given_trimmed() {
        let k = keep(&["outlet", " date "]).unwrap();
        assert_eq!(k.names(), ["outlet", "date"]);
        assert_eq!(k.to_string(), "outlet,date");
        assert!(keep(&[]).unwrap().is_empty());
    }

    #[test]
    fn refuses_output_names_the_text_field_blanks_and_repeats() {
        for name in OUTPUT_FIELDS {
            assert!(
                matches!(keep(&[name]), Err(BatchError::KeepFieldClash { .. })),
                "case {name}"
            );
        }
        assert!(matches!(
            keep(&["text"]),
            Err(BatchError::KeepTextField { .. })
        ));
        assert!(matches!(keep(&["a", " "]), Err(BatchError::KeepFieldEmpty)));
        assert!(matches!(
            keep(&["a", "b", "a"]),
            Err(BatchError::KeepFieldTwice { ref field }) if field == "a"
        ));
        // Another id field may be kept under its own name.
        let fields = FieldNames {
            text: "body".into(),
            id: "doc_id".into(),
        };
        assert!(KeepFields::new(vec!["doc_id".into(), "text".into()], &fields).is_ok());
    }

    #[test]
    fn refuses_text_documents_only_when_fields_are_kept() {
        let txt = [PathBuf::from("a.jsonl"), PathBuf::from("b.txt.gz")];
        assert!(KeepFields::none().check_inputs(&txt, None).is_ok());
        let k = keep(&["outlet"]).unwrap();
        let err = k.check_inputs(&txt, None).unwrap_err();
        assert!(err.to_string().contains("b.txt.gz"), "{err}");
        let stdin = [PathBuf::from("-")];
        assert!(k.check_inputs(&stdin, None).is_ok());
        assert!(k.check_inputs(&stdin, Some(InputFormat::Txt)).is_err());
        let csv_named_txt = [PathBuf::from("a.txt")];
        assert!(k
            .check_inputs(&csv_named_txt, Some(InputFormat::Csv))
            .is_ok());
    }

    #[test]
    fn writes_csv_cells_as_strings_or_json_text() {
        let raw = |s: &str| Kept::Json(RawValue::from_string(s.to_string()).unwrap());
        let cases = [
            (raw(r#""Gazette""#), "Gazette"),
            (raw(r#""a \"q\"\n""#), "a \"q\"\n"),
            (raw("12.50"), "12.50"),
            (raw("null"), ""),
            (raw("true"), "true"),
            (raw(r#"{"a": [1, 2]}"#), r#"{"a": [1, 2]}"#),
            (raw(r#""\ud800""#), r#""\ud800""#),
            (Kept::Text("plain"), "plain"),
        ];
        for (kept, want) in cases {
            assert_eq!(kept.csv_cell(), want, "case {kept:?}");
        }
    }

    #[test]
    fn finds_the_kept_keys_of_an_output_record_in_order() {
        let line = br#"{"id":"a","source":"s:1","outlet":"G","date":null,"label":"pro","model_checksum":"x"}"#;
        assert_eq!(kept_keys_of_output(line).unwrap(), ["outlet", "date"]);
        let line = br#"{"id":"a","source":"s:1","error":"e","model_checksum":"x"}"#;
        assert!(kept_keys_of_output(line).unwrap().is_empty());
        assert!(kept_keys_of_output(b"[1]").is_err());
    }
}

//! One batch record through what a batch worker does with it: cut as a
//! JSONL line, a CSV row's fields or an invalid row (the first byte picks
//! which, and the field names), parsed by `RawRecord::parse`, scored, and
//! encoded as a JSONL or CSV output record. When serde_json reads a JSONL
//! line as a value, the record's id and text must be what it reads (last
//! duplicate key wins); the worker may accept more, as it skips the fields
//! it does not use without decoding them (a lone surrogate escape there).
//! The output must read back as one record with the same id, and with the
//! kept fields (`--keep-fields outlet,date`, when a control bit asks) under
//! their names, whatever the record held.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stance::batch::record::{csv_header, Encoder, ModelStamp, Payload, RawRecord};
use stance::batch::{FieldNames, KeepFields, OutputFormat};
use stance::DocumentOptions;
use stance_fuzz::{check_document, MODEL};

static STAMP: LazyLock<ModelStamp> = LazyLock::new(|| ModelStamp::of(&MODEL));

const SOURCE: &str = "fuzz.jsonl:7";

/// What serde_json makes of a JSONL line: `Ok((id, text))`, or `Err(())`
/// when the record must be refused.
fn expected(line: &[u8], fields: &FieldNames) -> Result<(Option<String>, String), ()> {
    let v: Value = serde_json::from_slice(line).map_err(|_| ())?;
    let Value::Object(o) = v else { return Err(()) };
    let text = match o.get(&fields.text) {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(()),
    };
    let id = match o.get(&fields.id) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    Ok((id, text))
}

fuzz_target!(|data: &[u8]| {
    let [ctl, cut, rest @ ..] = data else { return };
    let fields = if ctl & 4 == 0 {
        FieldNames::default()
    } else {
        FieldNames {
            text: "body".into(),
            id: "doc_id".into(),
        }
    };
    let keep = if ctl & 64 == 0 {
        KeepFields::none()
    } else {
        KeepFields::new(vec!["outlet".into(), "date".into()], &fields).expect("valid names")
    };
    let payload = match ctl & 3 {
        0 | 1 => Payload::JsonLine(rest.to_vec()),
        2 => {
            let (id, text) = rest.split_at(usize::from(*cut).min(rest.len()));
            // Kept columns: the id's bytes cut in two (any bytes, UTF-8 or not).
            let half = id.len() / 2;
            Payload::Fields {
                id: (ctl & 8 == 0).then(|| id.to_vec()),
                text: text.to_vec(),
                kept: if keep.is_empty() {
                    Vec::new()
                } else {
                    vec![id[..half].to_vec(), id[half..].to_vec()]
                },
            }
        }
        _ => Payload::Invalid {
            id: (ctl & 8 == 0).then(|| String::from_utf8_lossy(rest).into_owned()),
            message: "row has 1 fields but the header has 2".into(),
        },
    };
    let rec = RawRecord {
        source: SOURCE.into(),
        payload,
    };
    let picked = rec.parse_keeping(&fields, &keep);
    assert_eq!(picked.kept.len(), keep.len(), "one value per kept field");
    let parsed = picked.record.clone();
    if let Payload::JsonLine(line) = &rec.payload {
        match (&parsed, expected(line, &fields)) {
            (Ok((id, text)), Ok((want_id, want_text))) => {
                assert_eq!(text, &want_text, "text");
                let want_id = want_id
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| SOURCE.into());
                assert_eq!(id, &want_id, "id");
            }
            (Err(_), Err(())) | (Ok(_), Err(())) => {}
            (got, want) => panic!("parse gave {got:?}, serde_json reads {want:?}"),
        }
    }
    let format = if ctl & 16 == 0 {
        OutputFormat::Jsonl
    } else {
        OutputFormat::Csv
    };
    let mut enc = Encoder::new(format, &STAMP, ctl & 32 != 0, &keep);
    let opts = DocumentOptions {
        max_paragraph_chars: 200,
        ..DocumentOptions::default()
    };
    let id = match &parsed {
        Ok((id, text)) => {
            assert!(!id.trim().is_empty(), "blank id");
            match MODEL.score_document(text, &opts) {
                Ok(doc) => {
                    check_document(text, &opts, &doc);
                    enc.scored(id, &rec.source, &picked.kept, &doc)
                        .expect("encodes")
                }
                Err(e) => enc
                    .error(id, &rec.source, &picked.kept, &e.to_string())
                    .expect("encodes"),
            }
            id.to_string()
        }
        Err(bad) => {
            assert!(!bad.message.is_empty());
            enc.error(&bad.id, &rec.source, &picked.kept, &bad.message)
                .expect("encodes");
            bad.id.clone()
        }
    };
    let out = enc.finish().expect("encodes");
    match format {
        OutputFormat::Jsonl => {
            assert_eq!(
                out.iter().filter(|&&b| b == b'\n').count(),
                1,
                "one line per record"
            );
            let v: Value = serde_json::from_slice(&out).expect("output is JSON");
            assert_eq!(v["id"], Value::String(id), "output id");
            for name in keep.names() {
                assert!(v.get(name).is_some(), "kept field {name} in the output");
            }
        }
        _ => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(&out[..]);
            let rows: Vec<csv::StringRecord> = r
                .records()
                .collect::<Result<_, _>>()
                .expect("output is CSV");
            assert_eq!(rows.len(), 1, "one row per record");
            assert_eq!(&rows[0][0], id, "output id");
            assert_eq!(
                rows[0].len(),
                csv_header(ctl & 32 != 0, &keep).len(),
                "one cell per header column"
            );
        }
    }
});

//! One record of `stance score` output (JSONL line or CSV row) read back for
//! a report: its model, its group values, its date, and either what it
//! contributes to the statistics or the error it carries.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::label::Label;

use super::bootstrap::DocSummary;

/// The group value of a record whose field is absent, `null` or empty.
pub const MISSING: &str = "(missing)";

/// What a statistic counts: whole documents or their paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// One unit per output record: its `label` and `stance_index` (default).
    #[default]
    Document,
    /// One unit per paragraph of `--paragraphs` output.
    Paragraph,
}

/// A unit name that is not `document` or `paragraph`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown unit {0:?} (expected document or paragraph)")]
pub struct UnknownUnit(pub String);

impl FromStr for Unit {
    type Err = UnknownUnit;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "document" => Ok(Self::Document),
            "paragraph" => Ok(Self::Paragraph),
            other => Err(UnknownUnit(other.to_string())),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Document => "document",
            Self::Paragraph => "paragraph",
        })
    }
}

/// Which fields of a record the report reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Group fields, in order.
    pub by: Vec<String>,
    /// The date field, if any.
    pub time: Option<String>,
    /// What is counted.
    pub unit: Unit,
}

/// The model that scored a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelStamp {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// `sha256:` checksum.
    pub checksum: String,
}

/// What a record holds: statistics or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A scored record.
    Scored(DocSummary),
    /// An error record of `stance score`: its id and message.
    Error {
        /// The record's id.
        id: String,
        /// The error message.
        message: String,
    },
}

/// A record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRecord {
    /// Who scored it.
    pub model: ModelStamp,
    /// The record's `source` (`file:line` of the archive it came from).
    pub source: String,
    /// Group values, one per [`Wanted::by`] field ([`MISSING`] when absent).
    pub group: Vec<String>,
    /// The date field's value, when present and not empty.
    pub date: Option<String>,
    /// Its statistics or its error.
    pub outcome: Outcome,
}

/// A field's value as a group value: strings as they are, other JSON values
/// as their JSON text (as `stance score` writes them to CSV), `null` and
/// `""` as absent.
fn text_of(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("field {key:?} must be a string")),
        None => Err(format!(
            "missing field {key:?}: not a stance score output record"
        )),
    }
}

fn label_of(v: Option<&Value>, what: &str) -> Result<Label, String> {
    match v {
        Some(Value::String(s)) => s.parse().map_err(|e| format!("{what}: {e}")),
        _ => Err(format!("{what}: missing or not a string")),
    }
}

fn index_of(v: Option<&Value>, what: &str) -> Result<f64, String> {
    match v.and_then(Value::as_f64) {
        Some(x) if x.is_finite() && (-1.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{what}: missing or not a number in [-1, 1]")),
    }
}

/// The summary of one scored record's units: the record itself, or its
/// `paragraphs` array.
fn summary(
    label: Label,
    index: f64,
    paragraphs: Option<&Value>,
    unit: Unit,
) -> Result<DocSummary, String> {
    let mut d = DocSummary::default();
    match unit {
        Unit::Document => {
            d.counts[label.index()] = 1;
            d.index_sum = index;
        }
        Unit::Paragraph => {
            let ps = match paragraphs {
                Some(Value::Array(ps)) if !ps.is_empty() => ps,
                Some(Value::Array(_)) => return Err("\"paragraphs\" is empty".into()),
                _ => {
                    return Err(
                        "no \"paragraphs\" array: --unit paragraph needs the output of stance score --paragraphs"
                            .into(),
                    )
                }
            };
            for (i, p) in ps.iter().enumerate() {
                let l = label_of(p.get("label"), &format!("paragraph {i} \"label\""))?;
                d.counts[l.index()] += 1;
                d.index_sum += index_of(
                    p.get("stance_index"),
                    &format!("paragraph {i} \"stance_index\""),
                )?;
            }
        }
    }
    Ok(d)
}

/// Reads one JSON object of `stance score` JSONL output.
pub fn from_json(line: &str, wanted: &Wanted) -> Result<ScoredRecord, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err("not a JSON object".into());
    };
    let model = ModelStamp {
        name: string_field(&obj, "model")?,
        version: string_field(&obj, "model_version")?,
        checksum: string_field(&obj, "model_checksum")?,
    };
    let source = text_of(obj.get("source")).unwrap_or_default();
    let group = wanted
        .by
        .iter()
        .map(|f| text_of(obj.get(f)).unwrap_or_else(|| MISSING.to_string()))
        .collect();
    let date = wanted.time.as_ref().and_then(|f| text_of(obj.get(f)));
    let outcome = if let Some(e) = obj.get("error") {
        Outcome::Error {
            id: text_of(obj.get("id")).unwrap_or_else(|| source.clone()),
            message: text_of(Some(e)).unwrap_or_default(),
        }
    } else {
        let label = label_of(obj.get("label"), "\"label\"")?;
        let index = index_of(obj.get("stance_index"), "\"stance_index\"")?;
        Outcome::Scored(summary(label, index, obj.get("paragraphs"), wanted.unit)?)
    };
    Ok(ScoredRecord {
        model,
        source,
        group,
        date,
        outcome,
    })
}

/// Positions of the columns a report reads in a CSV header.
#[derive(Debug, Clone)]
pub struct CsvColumns {
    id: usize,
    source: usize,
    label: usize,
    stance_index: usize,
    error: usize,
    paragraphs: Option<usize>,
    model: usize,
    model_version: usize,
    model_checksum: usize,
    by: Vec<usize>,
    time: Option<usize>,
}

impl CsvColumns {
    /// Finds the columns in `header`; `Err(column)` names the first one missing.
    pub fn new(header: &csv::StringRecord, wanted: &Wanted) -> Result<Self, String> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| name.to_string())
        };
        let paragraphs = match wanted.unit {
            Unit::Paragraph => Some(find("paragraphs")?),
            Unit::Document => None,
        };
        Ok(Self {
            id: find("id")?,
            source: find("source")?,
            label: find("label")?,
            stance_index: find("stance_index")?,
            error: find("error")?,
            paragraphs,
            model: find("model")?,
            model_version: find("model_version")?,
            model_checksum: find("model_checksum")?,
            by: wanted
                .by
                .iter()
                .map(|f| find(f))
                .collect::<Result<_, _>>()?,
            time: wanted.time.as_deref().map(find).transpose()?,
        })
    }
}

/// Reads one row of `stance score` CSV output.
pub fn from_csv(
    row: &csv::StringRecord,
    cols: &CsvColumns,
    unit: Unit,
) -> Result<ScoredRecord, String> {
    let cell = |i: usize| row.get(i).unwrap_or("");
    let nonempty = |i: usize| Some(cell(i)).filter(|s| !s.is_empty()).map(str::to_string);
    let model = ModelStamp {
        name: cell(cols.model).to_string(),
        version: cell(cols.model_version).to_string(),
        checksum: cell(cols.model_checksum).to_string(),
    };
    if model.checksum.is_empty() {
        return Err("empty \"model_checksum\": not a stance score output record".into());
    }
    let source = cell(cols.source).to_string();
    let group = cols
        .by
        .iter()
        .map(|&i| nonempty(i).unwrap_or_else(|| MISSING.to_string()))
        .collect();
    let date = cols.time.and_then(nonempty);
    let outcome = if let Some(message) = nonempty(cols.error) {
        Outcome::Error {
            id: nonempty(cols.id).unwrap_or_else(|| source.clone()),
            message,
        }
    } else {
        let label = label_of(
            Some(&Value::String(cell(cols.label).to_string())),
            "\"label\"",
        )?;
        let index = cell(cols.stance_index)
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && (-1.0..=1.0).contains(x));
        let index = index.ok_or("\"stance_index\": not a number in [-1, 1]")?;
        let paragraphs = match cols.paragraphs {
            Some(i) => Some(
                serde_json::from_str::<Value>(cell(i))
                    .map_err(|e| format!("\"paragraphs\": invalid JSON: {e}"))?,
            ),
            None => None,
        };
        Outcome::Scored(summary(label, index, paragraphs.as_ref(), unit)?)
    };
    Ok(ScoredRecord {
        model,
        source,
        group,
        date,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(unit: Unit) -> Wanted {
        Wanted {
            by: vec!["outlet".into(), "desk".into()],
            time: Some("date".into()),
            unit,
        }
    }

    const STAMP: &str = r#""model":"m","model_version":"1.0.0","model_checksum":"sha256:aa""#;

    #[test]
    fn reads_a_scored_json_record_with_missing_and_typed_fields() {
        let line = format!(
            r#"{{"id":"a","source":"in.jsonl:2","outlet":"Gazette","desk":12,"date":"2019-03-04","label":"pro","probabilities":{{"pro":0.7,"anti":0.1,"neutral":0.2}},"stance_index":0.6,"low_confidence":false,{STAMP}}}"#
        );
        let r = from_json(&line, &wanted(Unit::Document)).unwrap();
        assert_eq!(r.group, vec!["Gazette", "12"]);
        assert_eq!(r.date.as_deref(), Some("2019-03-04"));
        assert_eq!(r.model.checksum, "sha256:aa");
        let Outcome::Scored(d) = r.outcome else {
            panic!("scored")
        };
        assert_eq!(d.counts[Label::Pro.index()], 1);
        assert_eq!(d.index_sum, 0.6);

        let line = format!(
            r#"{{"id":"b","source":"s","outlet":null,"desk":"","label":"anti","stance_index":-0.5,{STAMP}}}"#
        );
        let r = from_json(&line, &wanted(Unit::Document)).unwrap();
        assert_eq!(r.group, vec![MISSING, MISSING]);
        assert_eq!(r.date, None);
    }

    #[test]
    fn reads_paragraphs_and_error_records() {
        let line = format!(
            r#"{{"id":"a","source":"s","label":"pro","stance_index":0.2,"paragraphs":[{{"label":"pro","stance_index":0.5}},{{"label":"neutral","stance_index":-0.1}}],{STAMP}}}"#
        );
        let r = from_json(&line, &wanted(Unit::Paragraph)).unwrap();
        let Outcome::Scored(d) = r.outcome else {
            panic!("scored")
        };
        assert_eq!(d.units(), 2);
        assert!((d.index_sum - 0.4).abs() < 1e-12);
        let e = from_json(
            &line.replace(",\"paragraphs\"", ",\"x\""),
            &wanted(Unit::Paragraph),
        );
        assert!(e.unwrap_err().contains("--paragraphs"));

        let line = format!(r#"{{"id":"x","source":"s:3","error":"text is empty",{STAMP}}}"#);
        let r = from_json(&line, &wanted(Unit::Paragraph)).unwrap();
        assert_eq!(
            r.outcome,
            Outcome::Error {
                id: "x".into(),
                message: "text is empty".into()
            }
        );
    }

    #[test]
    fn refuses_records_that_are_not_score_output() {
        let w = wanted(Unit::Document);
        let cases = [
            ("{", "invalid JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"text":"hello"}"#, "missing field \"model\""),
            (
                &*format!(r#"{{"label":"maybe","stance_index":0,{STAMP}}}"#),
                "unknown label",
            ),
            (
                &*format!(r#"{{"label":"pro","stance_index":3,{STAMP}}}"#),
                "stance_index",
            ),
        ];
        for (line, want) in cases {
            let err = from_json(line, &w).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
    }

    #[test]
    fn reads_csv_rows_by_header() {
        // The header `stance score --format csv --keep-fields outlet,desk,date` writes.
        let keep = crate::batch::KeepFields::new(
            vec!["outlet".into(), "desk".into(), "date".into()],
            &crate::batch::FieldNames::default(),
        )
        .unwrap();
        let header = csv::StringRecord::from(crate::batch::record::csv_header(false, &keep));
        let w = wanted(Unit::Document);
        let cols = CsvColumns::new(&header, &w).unwrap();
        let row = csv::StringRecord::from(vec![
            "a",
            "in.csv:2",
            "Gazette",
            "",
            "2019-01-02",
            "neutral",
            "0.2",
            "0.1",
            "0.7",
            "0.1",
            "false",
            "",
            "m",
            "1",
            "sha256:aa",
        ]);
        let r = from_csv(&row, &cols, Unit::Document).unwrap();
        assert_eq!(r.group, vec!["Gazette", MISSING]);
        let Outcome::Scored(d) = r.outcome else {
            panic!("scored")
        };
        assert_eq!(d.counts[Label::Neutral.index()], 1);
        let err = CsvColumns::new(&header, &wanted(Unit::Paragraph)).unwrap_err();
        assert_eq!(err, "paragraphs");
    }
}

//! Labeling tasks as written by `stance sample`: one per picked paragraph,
//! carrying the document id, paragraph index and offsets, the model's
//! prediction and probabilities, and the model's checksum, in one of three
//! formats:
//!
//! - `labelstudio`: a JSON array of Label Studio tasks (fields under `data`,
//!   the prediction as a pre-annotation under `predictions`), with the
//!   labeling configuration for the three labels written beside it
//!   (`NAME.label_config.xml`);
//! - `doccano`: JSONL for Doccano's text-classification import; the fields
//!   other than `text` become the example's metadata. The prediction is not
//!   written as `label`, which Doccano would import as a human annotation;
//! - `jsonl`: one task per line, the plain fields; add a `label` field to
//!   each and `stance train --data` reads the file as it is.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::batch::record::ModelStamp;
use crate::label::{Label, Probabilities};

use super::pool::Candidate;
use super::sample::Strategy;

/// Name of the Label Studio control holding the stance choice.
pub const LS_FROM_NAME: &str = "stance";
/// Name of the Label Studio text object.
pub const LS_TO_NAME: &str = "text";

/// Output format of `stance sample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFormat {
    /// Label Studio task import (JSON array) plus a labeling configuration.
    LabelStudio,
    /// Doccano JSONL import.
    Doccano,
    /// Plain JSONL.
    Jsonl,
}

impl FromStr for TaskFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "labelstudio" => Ok(TaskFormat::LabelStudio),
            "doccano" => Ok(TaskFormat::Doccano),
            "jsonl" => Ok(TaskFormat::Jsonl),
            _ => Err(format!(
                "unknown task format {s:?} (expected labelstudio, doccano or jsonl)"
            )),
        }
    }
}

/// The fields every task carries.
#[derive(Debug, Serialize)]
struct TaskFields<'a> {
    /// `doc_id#paragraph`: unique per task (named so as not to clash with
    /// the tools' own `id`).
    task_id: String,
    text: &'a str,
    doc_id: &'a str,
    paragraph: u32,
    start: usize,
    end: usize,
    source: &'a str,
    prediction: Label,
    probabilities: &'a Probabilities,
    strategy: &'static str,
    priority: f64,
    model: &'a str,
    model_version: &'a str,
    model_checksum: &'a str,
}

#[derive(Serialize)]
struct LsChoice {
    choices: [Label; 1],
}

#[derive(Serialize)]
struct LsResult {
    from_name: &'static str,
    to_name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: LsChoice,
}

#[derive(Serialize)]
struct LsPrediction {
    model_version: String,
    score: f64,
    result: [LsResult; 1],
}

#[derive(Serialize)]
struct LsTask<'a> {
    data: TaskFields<'a>,
    predictions: [LsPrediction; 1],
}

/// The Label Studio labeling configuration matching the tasks.
pub fn label_studio_config() -> String {
    format!(
        r#"<View>
  <Header value="Stance on sanctuary policy and local cooperation with federal immigration enforcement"/>
  <Text name="{LS_TO_NAME}" value="$text"/>
  <Choices name="{LS_FROM_NAME}" toName="{LS_TO_NAME}" choice="single-radio" required="true" showInline="true">
    <Choice value="pro" hint="argues for sanctuary protections or against local help to federal immigration enforcement"/>
    <Choice value="anti" hint="argues for local cooperation with federal immigration enforcement or against sanctuary protections"/>
    <Choice value="neutral" hint="reports or explains without taking a side"/>
  </Choices>
</View>
"#
    )
}

/// Where the Label Studio configuration goes for a task file:
/// `tasks.json` -> `tasks.label_config.xml`.
pub fn config_path(tasks: &Path) -> PathBuf {
    tasks.with_extension("label_config.xml")
}

fn fields<'a>(c: &'a Candidate, stamp: &'a ModelStamp, strategy: Strategy) -> TaskFields<'a> {
    TaskFields {
        task_id: format!("{}#{}", c.doc_id, c.paragraph),
        text: &c.text,
        doc_id: &c.doc_id,
        paragraph: c.paragraph,
        start: c.start,
        end: c.end,
        source: &c.source,
        prediction: c.probabilities.label(),
        probabilities: &c.probabilities,
        strategy: strategy.as_str(),
        priority: c.priority,
        model: &stamp.name,
        model_version: &stamp.version,
        model_checksum: &stamp.checksum,
    }
}

/// Writes the tasks to `out` (and, for Label Studio, the configuration
/// beside it). Returns the files written.
pub fn write_tasks(
    picked: &[Candidate],
    stamp: &ModelStamp,
    strategy: Strategy,
    format: TaskFormat,
    out: &Path,
) -> io::Result<Vec<PathBuf>> {
    let mut w = BufWriter::new(File::create(out)?);
    let mut written = vec![out.to_path_buf()];
    match format {
        TaskFormat::LabelStudio => {
            let tasks: Vec<LsTask> = picked
                .iter()
                .map(|c| LsTask {
                    data: fields(c, stamp, strategy),
                    predictions: [LsPrediction {
                        model_version: format!(
                            "{}@{} {}",
                            stamp.name, stamp.version, stamp.checksum
                        ),
                        score: c.probabilities.get(c.probabilities.label()),
                        result: [LsResult {
                            from_name: LS_FROM_NAME,
                            to_name: LS_TO_NAME,
                            kind: "choices",
                            value: LsChoice {
                                choices: [c.probabilities.label()],
                            },
                        }],
                    }],
                })
                .collect();
            serde_json::to_writer_pretty(&mut w, &tasks)?;
            w.write_all(b"\n")?;
            let config = config_path(out);
            std::fs::write(&config, label_studio_config())?;
            written.push(config);
        }
        TaskFormat::Doccano | TaskFormat::Jsonl => {
            for c in picked {
                serde_json::to_writer(&mut w, &fields(c, stamp, strategy))?;
                w.write_all(b"\n")?;
            }
        }
    }
    w.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::SparseVec;

    fn picked() -> Vec<Candidate> {
        vec![Candidate {
            priority: 0.97,
            position: (0, 0, 1),
            row_hash: 1,
            doc_id: "a-1".into(),
            source: "in.jsonl:1".into(),
            paragraph: 1,
            start: 10,
            end: 52,
            text: "The council voted to end the ICE contract.".into(),
            probabilities: Probabilities::from_class_order([0.30, 0.33, 0.37]),
            features: SparseVec::default(),
        }]
    }

    fn stamp() -> ModelStamp {
        ModelStamp {
            name: "m".into(),
            version: "1.0.0".into(),
            checksum: "sha256:ab".into(),
        }
    }

    #[test]
    fn label_studio_tasks_carry_data_prediction_and_config() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tasks.json");
        let files = write_tasks(
            &picked(),
            &stamp(),
            Strategy::Margin,
            TaskFormat::LabelStudio,
            &out,
        )
        .unwrap();
        assert_eq!(
            files,
            vec![out.clone(), dir.path().join("tasks.label_config.xml")]
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let t = &v[0];
        assert_eq!(t["data"]["task_id"], "a-1#1");
        assert_eq!(
            t["data"]["text"],
            "The council voted to end the ICE contract."
        );
        assert_eq!(t["data"]["model_checksum"], "sha256:ab");
        assert_eq!(t["data"]["prediction"], "pro");
        assert_eq!(
            t["predictions"][0]["result"][0]["value"]["choices"][0],
            "pro"
        );
        assert_eq!(t["predictions"][0]["result"][0]["from_name"], LS_FROM_NAME);
        let config = std::fs::read_to_string(&files[1]).unwrap();
        for l in ["pro", "anti", "neutral"] {
            assert!(
                config.contains(&format!("<Choice value=\"{l}\"")),
                "{config}"
            );
        }
    }

    #[test]
    fn doccano_lines_never_carry_the_prediction_as_a_label() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tasks.jsonl");
        write_tasks(
            &picked(),
            &stamp(),
            Strategy::Entropy,
            TaskFormat::Doccano,
            &out,
        )
        .unwrap();
        let line = std::fs::read_to_string(&out).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert!(v.get("label").is_none());
        assert_eq!(v["prediction"], "pro");
        assert_eq!(v["strategy"], "entropy");
        assert_eq!(v["paragraph"], 1);
    }
}

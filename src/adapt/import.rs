//! `stance labels import`: turns Label Studio and Doccano exports back into
//! labeled JSONL that `stance train --data` reads.
//!
//! Read:
//! - Label Studio's JSON export (an array of tasks with `annotations`) and
//!   its JSON-MIN export (flat objects, the choice under `stance`);
//! - Doccano's JSONL export (`text`, `label` as a list or a string; every
//!   label in the list counts as one annotation; the annotator is the
//!   file's name, as Doccano exports one file per user).
//!
//! Annotations of one task (matched by `task_id`, else by text, across all
//! files given) are resolved: all agree -> labeled; a strict majority ->
//! labeled with its agreement (unless `unanimous` is required); otherwise
//! the task goes to the disagreements file with every annotation. Skipped
//! (cancelled) annotations and tasks nobody labeled are counted. Nothing is
//! dropped silently. Bad input (malformed JSON, unknown labels, a task
//! without text) is reported as `file:line` errors and nothing is written.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::label::Label;

use super::tasks::LS_FROM_NAME;

/// Which tool wrote the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelTool {
    /// Label Studio (JSON or JSON-MIN export).
    LabelStudio,
    /// Doccano (JSONL export).
    Doccano,
}

impl FromStr for LabelTool {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "labelstudio" => Ok(LabelTool::LabelStudio),
            "doccano" => Ok(LabelTool::Doccano),
            _ => Err(format!(
                "unknown tool {s:?} (expected labelstudio or doccano)"
            )),
        }
    }
}

/// How the annotations of one task become its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Agreement {
    /// A strict majority of the annotations (default).
    #[default]
    Majority,
    /// Every annotation.
    Unanimous,
}

impl FromStr for Agreement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "majority" => Ok(Agreement::Majority),
            "unanimous" => Ok(Agreement::Unanimous),
            _ => Err(format!(
                "unknown rule {s:?} (expected majority or unanimous)"
            )),
        }
    }
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The exports hold bad records; every one is listed, `file:line: what`.
    #[error("{} error(s) in the export; nothing was written:\n{}", .0.len(), .0.join("\n"))]
    Invalid(Vec<String>),
}

/// One annotator's label for one task.
#[derive(Debug, Clone, Serialize)]
struct Annotation {
    label: Label,
    annotator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_time_s: Option<f64>,
    at: String,
}

/// A task with the annotations found for it in every file.
#[derive(Debug)]
struct Task {
    task_id: Option<String>,
    text: String,
    doc_id: Option<Value>,
    paragraph: Option<Value>,
    model_checksum: Option<Value>,
    at: String,
    annotations: Vec<Annotation>,
    cancelled: u64,
}

/// A labeled record of the output.
#[derive(Serialize)]
struct Labeled<'a> {
    text: &'a str,
    label: Label,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paragraph: Option<&'a Value>,
    annotators: Vec<&'a str>,
    n_annotations: usize,
    /// Share of the annotations that chose `label`.
    agreement: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotated_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sampled_by_model: Option<&'a Value>,
    source: &'a str,
}

/// A task whose annotations do not settle its label.
#[derive(Serialize)]
struct Disagreement<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_id: Option<&'a str>,
    annotations: &'a [Annotation],
    source: &'a str,
}

/// What an import found and wrote.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Distinct tasks in the exports.
    pub tasks: usize,
    /// Tasks written with a label.
    pub labeled: usize,
    /// Of those, tasks whose annotations all agree.
    pub unanimous: usize,
    /// Of those, tasks labeled by a strict majority over dissent.
    pub majority: usize,
    /// Tasks written to the disagreements file.
    pub unresolved: usize,
    /// Tasks nobody labeled (not written; listed in `unlabeled_ids`).
    pub unlabeled: usize,
    /// Ids (or sources) of the first unlabeled tasks.
    pub unlabeled_ids: Vec<String>,
    /// Cancelled (skipped) annotations.
    pub cancelled: u64,
    /// Labeled tasks per label.
    pub per_label: BTreeMap<String, usize>,
    /// Annotations per annotator.
    pub per_annotator: BTreeMap<String, usize>,
    /// Where the unresolved tasks went.
    pub disagreements_path: PathBuf,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "summary: tasks={} labeled={} unanimous={} majority={} unresolved={} unlabeled={} cancelled_annotations={}",
            self.tasks, self.labeled, self.unanimous, self.majority, self.unresolved, self.unlabeled, self.cancelled
        )?;
        let join = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(f, "\nlabels: {}", join(&self.per_label))?;
        write!(
            f,
            "\nannotations per annotator: {}",
            join(&self.per_annotator)
        )?;
        if self.unresolved > 0 {
            write!(
                f,
                "\n{} task(s) without an agreed label are in {} with every annotation",
                self.unresolved,
                self.disagreements_path.display()
            )?;
        }
        if self.unlabeled > 0 {
            write!(
                f,
                "\n{} task(s) have no annotation and were not written: {}{}",
                self.unlabeled,
                self.unlabeled_ids.join(", "),
                if self.unlabeled > self.unlabeled_ids.len() {
                    ", ..."
                } else {
                    ""
                }
            )?;
        }
        Ok(())
    }
}

/// Where the unresolved tasks go by default: `labeled.jsonl` ->
/// `labeled.disagreements.jsonl`.
pub fn default_disagreements_path(output: &Path) -> PathBuf {
    output.with_extension("disagreements.jsonl")
}

/// Reads the exports, resolves every task's label and writes the labeled
/// JSONL to `output` and the unresolved tasks to `disagreements`.
pub fn import_labels(
    tool: LabelTool,
    files: &[PathBuf],
    rule: Agreement,
    output: &Path,
    disagreements: &Path,
) -> Result<ImportSummary, ImportError> {
    let mut exports = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
            path: path.clone(),
            source,
        })?;
        exports.push((path.display().to_string(), text));
    }
    let exports: Vec<(&str, &str)> = exports
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    let tasks = collect(tool, &exports)?;
    let open = |p: &Path| {
        File::create(p)
            .map(BufWriter::new)
            .map_err(|source| ImportError::Write {
                path: p.to_path_buf(),
                source,
            })
    };
    let mut out = open(output)?;
    let mut dis = open(disagreements)?;
    write_outputs(&tasks, rule, (&mut out, output), (&mut dis, disagreements))
}

/// [`import_labels`] on exports already in memory: `exports` are `(name,
/// text)` pairs, the name being the file's path (it appears in `file:line`
/// errors, and its stem is a Doccano file's annotator). Labeled records go
/// to `output` and unresolved tasks to `disagreements`, each named by its
/// path in errors and the summary; nothing is written if an export is bad.
pub fn import_texts(
    tool: LabelTool,
    exports: &[(&str, &str)],
    rule: Agreement,
    output: (&mut dyn Write, &Path),
    disagreements: (&mut dyn Write, &Path),
) -> Result<ImportSummary, ImportError> {
    let tasks = collect(tool, exports)?;
    write_outputs(&tasks, rule, output, disagreements)
}

/// Every task of the exports with its annotations, or every error found.
fn collect(tool: LabelTool, exports: &[(&str, &str)]) -> Result<Vec<Task>, ImportError> {
    let mut collector = Collector::default();
    for &(name, text) in exports {
        match tool {
            LabelTool::LabelStudio => collector.label_studio(name, text),
            LabelTool::Doccano => {
                let annotator = Path::new(name)
                    .file_stem()
                    .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
                collector.doccano(name, &annotator, text)
            }
        }
    }
    if !collector.errors.is_empty() {
        return Err(ImportError::Invalid(collector.errors));
    }
    Ok(collector.tasks)
}

fn write_outputs(
    tasks: &[Task],
    rule: Agreement,
    (out, output): (&mut dyn Write, &Path),
    (dis, disagreements): (&mut dyn Write, &Path),
) -> Result<ImportSummary, ImportError> {
    let mut s = ImportSummary {
        tasks: tasks.len(),
        disagreements_path: disagreements.to_path_buf(),
        ..ImportSummary::default()
    };
    let write = |w: &mut dyn Write, path: &Path, v: &dyn erased::Json| {
        v.write_line(w).map_err(|source| ImportError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    for t in tasks {
        s.cancelled += t.cancelled;
        for a in &t.annotations {
            *s.per_annotator.entry(a.annotator.clone()).or_default() += 1;
        }
        if t.annotations.is_empty() {
            s.unlabeled += 1;
            if s.unlabeled_ids.len() < 20 {
                s.unlabeled_ids
                    .push(t.task_id.clone().unwrap_or_else(|| t.at.clone()));
            }
            continue;
        }
        let mut counts: BTreeMap<Label, usize> = BTreeMap::new();
        for a in &t.annotations {
            *counts.entry(a.label).or_default() += 1;
        }
        let n = t.annotations.len();
        let (&top, &k) = counts
            .iter()
            .max_by_key(|(_, &c)| c)
            .unwrap_or((&t.annotations[0].label, &0));
        let settled = match rule {
            Agreement::Unanimous => k == n,
            Agreement::Majority => 2 * k > n,
        };
        if !settled {
            s.unresolved += 1;
            let d = Disagreement {
                text: &t.text,
                task_id: t.task_id.as_deref(),
                annotations: &t.annotations,
                source: &t.at,
            };
            write(dis, disagreements, &d)?;
            continue;
        }
        s.labeled += 1;
        if k == n {
            s.unanimous += 1;
        } else {
            s.majority += 1;
        }
        *s.per_label.entry(top.to_string()).or_default() += 1;
        let mut annotators: Vec<&str> = Vec::new();
        for a in &t.annotations {
            if !annotators.contains(&a.annotator.as_str()) {
                annotators.push(&a.annotator);
            }
        }
        let rec = Labeled {
            text: &t.text,
            label: top,
            task_id: t.task_id.as_deref(),
            doc_id: t.doc_id.as_ref(),
            paragraph: t.paragraph.as_ref(),
            annotators,
            n_annotations: n,
            agreement: k as f64 / n as f64,
            annotated_at: t
                .annotations
                .iter()
                .filter_map(|a| a.created_at.as_deref())
                .max(),
            sampled_by_model: t.model_checksum.as_ref(),
            source: &t.at,
        };
        write(out, output, &rec)?;
    }
    let flush = |w: &mut dyn Write, path: &Path| {
        w.flush().map_err(|source| ImportError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    flush(out, output)?;
    flush(dis, disagreements)?;
    Ok(s)
}

/// Serialising either record type through one closure.
mod erased {
    use std::io::{self, Write};

    pub trait Json {
        fn write_line(&self, w: &mut dyn Write) -> io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write_line(&self, w: &mut dyn Write) -> io::Result<()> {
            serde_json::to_writer(&mut *w, self)?;
            w.write_all(b"\n")
        }
    }
}

/// Gathers tasks from every file, merging the same task across files.
#[derive(Default)]
struct Collector {
    tasks: Vec<Task>,
    by_key: HashMap<String, usize>,
    errors: Vec<String>,
}

/// Line numbers of byte offsets in a text.
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Self {
        Self(text.match_indices('\n').map(|(i, _)| i).collect())
    }
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

impl Collector {
    fn error(&mut self, at: &str, msg: impl fmt::Display) {
        self.errors.push(format!("{at}: {msg}"));
    }

    fn task(&mut self, t: Task) -> &mut Task {
        let key = t
            .task_id
            .clone()
            .unwrap_or_else(|| format!("text:{}", t.text));
        let i = match self.by_key.get(&key) {
            Some(&i) => i,
            None => {
                self.tasks.push(t);
                self.by_key.insert(key, self.tasks.len() - 1);
                self.tasks.len() - 1
            }
        };
        &mut self.tasks[i]
    }

    fn label_studio(&mut self, name: &str, text: &str) {
        let items: Vec<&RawValue> = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let what = if e.is_data() {
                    "a Label Studio export must be a JSON array of tasks (JSON or JSON-MIN export)"
                        .to_string()
                } else {
                    format!("invalid JSON: {e}")
                };
                return self.error(&format!("{name}:{}", e.line().max(1)), what);
            }
        };
        let lines = Lines::of(text);
        for raw in items {
            let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            let at = format!("{name}:{}", lines.line(offset));
            let v: Value = match serde_json::from_str(raw.get()) {
                Ok(v) => v,
                Err(e) => {
                    self.error(&at, format!("invalid JSON: {e}"));
                    continue;
                }
            };
            let Some(obj) = v.as_object() else {
                self.error(&at, "a task must be a JSON object");
                continue;
            };
            if obj.contains_key("annotations") || obj.contains_key("data") {
                self.ls_full(&at, obj);
            } else {
                self.ls_min(&at, obj);
            }
        }
    }

    fn ls_full(&mut self, at: &str, obj: &serde_json::Map<String, Value>) {
        let empty = serde_json::Map::new();
        let data = obj.get("data").and_then(Value::as_object).unwrap_or(&empty);
        let Some(task) = self.new_task(at, data) else {
            return;
        };
        let mut anns = Vec::new();
        let mut cancelled = 0;
        let list = match obj.get("annotations") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return self.error(at, "\"annotations\" must be an array"),
        };
        for (k, a) in list.iter().enumerate() {
            if a.get("was_cancelled").and_then(Value::as_bool) == Some(true) {
                cancelled += 1;
                continue;
            }
            let choices: Vec<&Value> = a
                .get("result")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter(|x| x.get("type").and_then(Value::as_str) == Some("choices"))
                        .flat_map(|x| {
                            x.pointer("/value/choices")
                                .and_then(Value::as_array)
                                .map(|c| c.iter().collect::<Vec<_>>())
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let label = match choices.as_slice() {
                [] => {
                    // Submitted without a choice: as good as skipped.
                    cancelled += 1;
                    continue;
                }
                [one] => one,
                more => {
                    self.error(
                        at,
                        format!(
                            "annotation {} chose {} labels; a task takes one",
                            k + 1,
                            more.len()
                        ),
                    );
                    continue;
                }
            };
            let Some(label) = self.label(at, label) else {
                continue;
            };
            let annotator = match a.get("completed_by") {
                Some(Value::Object(u)) => u
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| u.get("id").map(|id| format!("user {id}"))),
                Some(Value::Null) | None => None,
                Some(id) => Some(format!("user {id}")),
            }
            .unwrap_or_else(|| "unknown".to_string());
            anns.push(Annotation {
                label,
                annotator,
                created_at: a
                    .get("created_at")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                lead_time_s: a.get("lead_time").and_then(Value::as_f64),
                at: at.to_string(),
            });
        }
        let t = self.task(task);
        t.annotations.extend(anns);
        t.cancelled += cancelled;
    }

    fn ls_min(&mut self, at: &str, obj: &serde_json::Map<String, Value>) {
        let Some(task) = self.new_task(at, obj) else {
            return;
        };
        let label = match obj.get(LS_FROM_NAME) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => match o
                .get("choices")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                Some([one]) => self.label(at, one),
                _ => return self.error(at, format!("\"{LS_FROM_NAME}\" must hold one choice")),
            },
            Some(v) => self.label(at, v),
        };
        let annotator = match obj.get("annotator") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "unknown".to_string(),
            Some(v) => format!("user {v}"),
        };
        let created_at = obj
            .get("created_at")
            .and_then(Value::as_str)
            .map(str::to_string);
        let lead_time_s = obj.get("lead_time").and_then(Value::as_f64);
        let t = self.task(task);
        if let Some(label) = label {
            t.annotations.push(Annotation {
                label,
                annotator,
                created_at,
                lead_time_s,
                at: at.to_string(),
            });
        }
    }

    fn doccano(&mut self, name: &str, annotator: &str, text: &str) {
        for (i, line) in text.lines().enumerate() {
            let at = format!("{name}:{}", i + 1);
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    self.error(&at, format!("invalid JSON: {e}"));
                    continue;
                }
            };
            let Some(obj) = v.as_object() else {
                self.error(&at, "a line must be a JSON object");
                continue;
            };
            // Doccano keeps metadata at the top level or under "meta".
            let mut fields = obj.clone();
            if let Some(Value::Object(meta)) = obj.get("meta") {
                for (k, v) in meta {
                    fields.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            let Some(task) = self.new_task(&at, &fields) else {
                continue;
            };
            let raw_labels: Vec<&Value> = match obj.get("label").or_else(|| obj.get("labels")) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.iter().collect(),
                Some(v) => vec![v],
            };
            let mut anns = Vec::new();
            for l in raw_labels {
                if let Some(label) = self.label(&at, l) {
                    anns.push(Annotation {
                        label,
                        annotator: annotator.to_string(),
                        created_at: None,
                        lead_time_s: None,
                        at: at.clone(),
                    });
                }
            }
            self.task(task).annotations.extend(anns);
        }
    }

    /// A task's identity and text from its fields (`data` for Label Studio).
    fn new_task(&mut self, at: &str, fields: &serde_json::Map<String, Value>) -> Option<Task> {
        let text = match fields.get("text") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => {
                self.error(at, "the task's text is empty");
                return None;
            }
            _ => {
                self.error(at, "the task has no \"text\" string");
                return None;
            }
        };
        Some(Task {
            task_id: fields
                .get("task_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            text,
            doc_id: fields.get("doc_id").cloned(),
            paragraph: fields.get("paragraph").cloned(),
            model_checksum: fields.get("model_checksum").cloned(),
            at: at.to_string(),
            annotations: Vec::new(),
            cancelled: 0,
        })
    }

    fn label(&mut self, at: &str, v: &Value) -> Option<Label> {
        match v.as_str().map(|s| s.trim().to_lowercase().parse::<Label>()) {
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                self.error(at, e);
                None
            }
            None => {
                self.error(at, format!("label {v} is not a string"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        tool: LabelTool,
        files: &[(&str, &str)],
        rule: Agreement,
    ) -> (Result<ImportSummary, ImportError>, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = files
            .iter()
            .map(|(name, body)| {
                let p = dir.path().join(name);
                std::fs::write(&p, body).unwrap();
                p
            })
            .collect();
        let out = dir.path().join("labeled.jsonl");
        let dis = default_disagreements_path(&out);
        let r = import_labels(tool, &paths, rule, &out, &dis);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (r, read(&out), read(&dis))
    }

    fn ls_task(id: &str, text: &str, anns: &[(&str, u64, bool)]) -> String {
        let anns: Vec<String> = anns
            .iter()
            .map(|(l, user, cancelled)| {
                format!(
                    r#"{{"completed_by": {user}, "was_cancelled": {cancelled}, "created_at": "2026-12-0{user}T10:00:00Z", "lead_time": 4.5, "result": [{{"from_name": "stance", "to_name": "text", "type": "choices", "value": {{"choices": ["{l}"]}}}}]}}"#
                )
            })
            .collect();
        format!(
            r#"{{"id": 1, "data": {{"task_id": "{id}", "text": "{text}", "doc_id": "d", "paragraph": 0}}, "annotations": [{}]}}"#,
            anns.join(",")
        )
    }

    #[test]
    fn label_studio_annotations_are_resolved_and_nothing_is_dropped() {
        let export = format!(
            "[\n{},\n{},\n{},\n{},\n{}\n]",
            ls_task(
                "a#0",
                "Agreed pro.",
                &[("pro", 1, false), ("pro", 2, false)]
            ),
            ls_task(
                "b#0",
                "Majority anti.",
                &[
                    ("anti", 1, false),
                    ("anti", 2, false),
                    ("neutral", 3, false)
                ]
            ),
            ls_task("c#0", "Split.", &[("pro", 1, false), ("anti", 2, false)]),
            ls_task("d#0", "Skipped.", &[("pro", 1, true)]),
            ls_task("e#0", "Untouched.", &[]),
        );
        let (r, out, dis) = run(
            LabelTool::LabelStudio,
            &[("export.json", &export)],
            Agreement::Majority,
        );
        let s = r.unwrap();
        assert_eq!(
            (
                s.tasks,
                s.labeled,
                s.unanimous,
                s.majority,
                s.unresolved,
                s.unlabeled,
                s.cancelled
            ),
            (5, 2, 1, 1, 1, 2, 1)
        );
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["label"], "pro");
        assert_eq!(
            lines[0]["annotators"],
            serde_json::json!(["user 1", "user 2"])
        );
        assert_eq!(lines[0]["annotated_at"], "2026-12-02T10:00:00Z");
        assert_eq!(lines[1]["label"], "anti");
        assert!((lines[1]["agreement"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!(
            lines[1]["source"]
                .as_str()
                .unwrap()
                .ends_with("export.json:3"),
            "{}",
            lines[1]["source"]
        );
        let d: Value = serde_json::from_str(dis.trim()).unwrap();
        assert_eq!(d["task_id"], "c#0");
        assert_eq!(d["annotations"].as_array().unwrap().len(), 2);
        assert_eq!(s.unlabeled_ids, vec!["d#0", "e#0"]);
        let (r, _, _) = run(
            LabelTool::LabelStudio,
            &[("export.json", &export)],
            Agreement::Unanimous,
        );
        let s = r.unwrap();
        assert_eq!((s.labeled, s.unresolved), (1, 2));
    }

    #[test]
    fn unknown_labels_and_bad_tasks_are_file_line_errors() {
        let export = format!(
            "[\n{},\n{},\n{{\"data\": {{\"text\": \"\"}}}}\n]",
            ls_task("a#0", "Fine.", &[("pro", 1, false)]),
            ls_task("b#0", "Bad.", &[("sanctuary", 1, false)]),
        );
        let (r, out, _) = run(
            LabelTool::LabelStudio,
            &[("x.json", &export)],
            Agreement::Majority,
        );
        let msg = r.unwrap_err().to_string();
        assert!(
            msg.contains("x.json:3: unknown label \"sanctuary\""),
            "{msg}"
        );
        assert!(msg.contains("x.json:4: the task's text is empty"), "{msg}");
        assert!(out.is_empty(), "nothing is written when the export is bad");
        let (r, _, _) = run(
            LabelTool::LabelStudio,
            &[("y.json", "{\"not\": \"an array\"}")],
            Agreement::Majority,
        );
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("y.json:1: a Label Studio export must be a JSON array"));
        let (r, _, _) = run(
            LabelTool::LabelStudio,
            &[("z.json", "[\n{\"data\": }\n]")],
            Agreement::Majority,
        );
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("z.json:2: invalid JSON"));
    }

    #[test]
    fn texts_in_memory_import_as_their_files_do() {
        let alice = "{\"text\": \"One.\", \"label\": [\"pro\"], \"task_id\": \"t#0\"}\n";
        let bob = "{\"text\": \"One.\", \"label\": [\"anti\"], \"task_id\": \"t#0\"}\n{\"text\": \"Two.\", \"label\": \"pro\"}\n";
        let (r, file_out, file_dis) = run(
            LabelTool::Doccano,
            &[("alice.jsonl", alice), ("bob.jsonl", bob)],
            Agreement::Majority,
        );
        let from_files = r.unwrap();
        let (mut out, mut dis) = (Vec::new(), Vec::new());
        let from_texts = import_texts(
            LabelTool::Doccano,
            &[("dir/alice.jsonl", alice), ("dir/bob.jsonl", bob)],
            Agreement::Majority,
            (&mut out, Path::new("labeled.jsonl")),
            (&mut dis, Path::new("labeled.disagreements.jsonl")),
        )
        .unwrap();
        let counts = |s: &ImportSummary| (s.tasks, s.labeled, s.unresolved, s.unlabeled);
        assert_eq!(counts(&from_texts), counts(&from_files));
        assert_eq!(counts(&from_texts), (2, 1, 1, 0));
        // The same records, apart from the source paths.
        let records = |jsonl: &str| -> Vec<Value> {
            jsonl
                .lines()
                .map(|l| {
                    let mut v: Value = serde_json::from_str(l).unwrap();
                    strip_sources(&mut v);
                    v
                })
                .collect()
        };
        assert_eq!(
            records(&String::from_utf8(out).unwrap()),
            records(&file_out)
        );
        assert_eq!(
            records(&String::from_utf8(dis).unwrap()),
            records(&file_dis)
        );
        let bad = import_texts(
            LabelTool::Doccano,
            &[("c.jsonl", "not json\n")],
            Agreement::Majority,
            (&mut Vec::new(), Path::new("o")),
            (&mut Vec::new(), Path::new("d")),
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("c.jsonl:1: invalid JSON"));
    }

    /// Removes every `source` and `at` (file paths) from a record.
    fn strip_sources(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("source");
                o.remove("at");
                o.values_mut().for_each(strip_sources);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_sources),
            _ => {}
        }
    }

    #[test]
    fn label_studio_json_min_is_read() {
        let export = r#"[{"id": 3, "task_id": "a#1", "text": "Min.", "stance": "neutral", "annotator": "ann@x.org", "lead_time": 2.0},
{"id": 4, "task_id": "a#2", "text": "None yet."}]"#;
        let (r, out, _) = run(
            LabelTool::LabelStudio,
            &[("min.json", export)],
            Agreement::Majority,
        );
        let s = r.unwrap();
        assert_eq!((s.labeled, s.unlabeled), (1, 1));
        assert!(out.contains("\"annotators\":[\"ann@x.org\"]"), "{out}");
    }

    #[test]
    fn doccano_files_are_one_annotator_each_and_merge_by_task() {
        let alice = "{\"id\": 1, \"text\": \"One.\", \"label\": [\"pro\"], \"task_id\": \"t#0\"}\n{\"id\": 2, \"text\": \"Two.\", \"label\": [], \"meta\": {\"task_id\": \"t#1\"}}\n";
        let bob = "{\"id\": 7, \"text\": \"One.\", \"label\": [\"anti\"], \"task_id\": \"t#0\"}\n{\"id\": 8, \"text\": \"Two.\", \"label\": \"Neutral\", \"meta\": {\"task_id\": \"t#1\"}}\n";
        let (r, out, dis) = run(
            LabelTool::Doccano,
            &[("alice.jsonl", alice), ("bob.jsonl", bob)],
            Agreement::Majority,
        );
        let s = r.unwrap();
        assert_eq!((s.tasks, s.labeled, s.unresolved), (2, 1, 1));
        assert!(
            out.contains("\"label\":\"neutral\"") && out.contains("\"annotators\":[\"bob\"]"),
            "{out}"
        );
        assert!(dis.contains("alice") && dis.contains("bob"), "{dis}");
        let (r, _, _) = run(
            LabelTool::Doccano,
            &[(
                "c.jsonl",
                "{\"text\": \"x\", \"label\": [\"maybe\"]}\nnot json\n",
            )],
            Agreement::Majority,
        );
        let msg = r.unwrap_err().to_string();
        assert!(
            msg.contains("c.jsonl:1: unknown label \"maybe\"")
                && msg.contains("c.jsonl:2: invalid JSON"),
            "{msg}"
        );
    }
}

//! The Label Studio and Doccano importers on any export text, through
//! `import_texts` (what `stance labels import` runs after reading the
//! files). The first byte picks the tool and the agreement rule; a NUL
//! byte splits the input into two files (two annotators). Either every
//! bad record is reported and nothing is written, or every task is
//! accounted for: labeled, unresolved or unlabeled, one output line each.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stance::adapt::import::{import_texts, Agreement, ImportError, LabelTool};

fuzz_target!(|data: &[u8]| {
    let [ctl, rest @ ..] = data else { return };
    let tool = if ctl & 1 == 0 {
        LabelTool::LabelStudio
    } else {
        LabelTool::Doccano
    };
    let rule = if ctl & 2 == 0 {
        Agreement::Majority
    } else {
        Agreement::Unanimous
    };
    let text = String::from_utf8_lossy(rest);
    let (a, b) = text.split_once('\0').unwrap_or((&text, ""));
    let mut exports = vec![("exports/alice.json", a)];
    if ctl & 4 != 0 {
        exports.push(("exports/bob.json", b));
    }
    let (mut out, mut dis) = (Vec::new(), Vec::new());
    let result = import_texts(
        tool,
        &exports,
        rule,
        (&mut out, Path::new("labeled.jsonl")),
        (&mut dis, Path::new("labeled.disagreements.jsonl")),
    );
    match result {
        Ok(s) => {
            assert_eq!(
                s.tasks,
                s.labeled + s.unresolved + s.unlabeled,
                "tasks accounted for: {s}"
            );
            assert_eq!(s.labeled, s.unanimous + s.majority, "{s}");
            assert_eq!(s.unlabeled_ids.len(), s.unlabeled.min(20), "{s}");
            let lines = |b: &[u8]| -> Vec<Value> {
                std::str::from_utf8(b)
                    .expect("output is UTF-8")
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("output lines are JSON"))
                    .collect()
            };
            let labeled = lines(&out);
            assert_eq!(labeled.len(), s.labeled, "one line per labeled task");
            for r in &labeled {
                assert!(
                    matches!(r["label"].as_str(), Some("pro" | "anti" | "neutral")),
                    "{r}"
                );
                assert!(
                    r["text"].as_str().is_some_and(|t| !t.trim().is_empty()),
                    "{r}"
                );
                let agreement = r["agreement"].as_f64().expect("agreement");
                match rule {
                    Agreement::Unanimous => assert_eq!(agreement, 1.0, "{r}"),
                    _ => assert!(agreement > 0.5 && agreement <= 1.0, "{r}"),
                }
            }
            assert_eq!(
                lines(&dis).len(),
                s.unresolved,
                "one line per unresolved task"
            );
            assert_eq!(s.per_label.values().sum::<usize>(), s.labeled, "{s}");
        }
        Err(ImportError::Invalid(errors)) => {
            assert!(!errors.is_empty(), "an invalid export names its errors");
            assert!(
                out.is_empty() && dis.is_empty(),
                "nothing is written for a bad export"
            );
            for e in &errors {
                assert!(e.starts_with("exports/"), "error without its file: {e}");
            }
        }
        Err(e) => panic!("in-memory import failed to write: {e}"),
    }
});

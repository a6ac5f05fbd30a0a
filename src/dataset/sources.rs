//! Training sets made of several labeled files, each with a weight for all
//! its examples (`stance train --data a.jsonl --data b.jsonl:0.3`), and what
//! a model records of each file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{read_labeled, Dataset, DatasetError};
use crate::artifact::sha256_hex;

/// One labeled file given to training, with a weight that multiplies the
/// weight of each of its examples. Written `FILE` or `FILE:WEIGHT`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// The file.
    pub path: PathBuf,
    /// Weight of all its examples (default 1).
    pub weight: f64,
}

impl FromStr for DataSource {
    type Err = String;

    /// `FILE` or `FILE:WEIGHT`; a suffix after the last `:` that is not a
    /// number is part of the file name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("empty file name".into());
        }
        if let Some((path, w)) = s.rsplit_once(':') {
            if let Ok(weight) = w.trim().parse::<f64>() {
                if !weight.is_finite() || weight < 0.0 {
                    return Err(format!(
                        "weight {w:?} of {path} must be a finite number of at least 0"
                    ));
                }
                if path.is_empty() {
                    return Err(format!("no file name before the weight in {s:?}"));
                }
                return Ok(Self {
                    path: path.into(),
                    weight,
                });
            }
        }
        Ok(Self {
            path: s.into(),
            weight: 1.0,
        })
    }
}

/// What training read from one file: recorded in the model's provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// The file as given.
    pub path: String,
    /// SHA-256 of its bytes as stored (`sha256:<hex>`).
    pub sha256: String,
    /// The weight multiplying each of its examples' own weights.
    pub weight: f64,
    /// Examples read from it.
    pub n_examples: usize,
}

/// Reads several labeled files into one training set, in order, each
/// example's weight multiplied by its file's weight. With one file of
/// weight 1 this is [`read_labeled`]. With several, `path` names them all
/// (`a.jsonl + b.jsonl:0.3`) and `sha256` is the digest of the lines
/// `<sha256> <weight> <path>` of the files in order, so it changes when any
/// file or weight does. Texts found in more than one file are warned about;
/// a file given twice is refused (its examples would count twice).
pub fn read_sources(sources: &[DataSource]) -> Result<Dataset, DatasetError> {
    let mut parts = Vec::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        if sources[..i].iter().any(|o| o.path == s.path) {
            return Err(DatasetError::GivenTwice {
                path: s.path.clone(),
            });
        }
        let mut d = read_labeled(&s.path)?;
        for e in &mut d.examples {
            e.weight *= s.weight;
        }
        d.sources[0].weight = s.weight;
        parts.push(d);
    }
    match parts.len() {
        0 => Err(DatasetError::Empty {
            path: PathBuf::new(),
        }),
        1 if sources[0].weight == 1.0 => Ok(parts.remove(0)),
        _ => Ok(concat(parts)),
    }
}

fn concat(parts: Vec<Dataset>) -> Dataset {
    let mut out = Dataset {
        path: PathBuf::new(),
        sha256: String::new(),
        examples: Vec::new(),
        warnings: Vec::new(),
        sources: Vec::new(),
    };
    // text -> (file index, "file:line") of its first occurrence.
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    let mut digest_input = String::new();
    let mut names = Vec::new();
    for (file, part) in parts.into_iter().enumerate() {
        let src = part.sources[0].clone();
        for e in &part.examples {
            let key = e.text.trim().to_string();
            let here = format!("{}:{}", src.path, e.line);
            match seen.get(&key) {
                // Duplicates within one file were warned about when it was read.
                Some((f, first)) if *f != file => out
                    .warnings
                    .push(format!("{here}: duplicate text (same as {first})")),
                Some(_) => {}
                None => {
                    seen.insert(key, (file, here));
                }
            }
        }
        digest_input.push_str(&format!("{} {} {}\n", src.sha256, src.weight, src.path));
        names.push(if src.weight == 1.0 {
            src.path.clone()
        } else {
            format!("{}:{}", src.path, src.weight)
        });
        out.examples.extend(part.examples);
        out.warnings.extend(part.warnings);
        out.sources.push(src);
    }
    out.path = PathBuf::from(names.join(" + "));
    out.sha256 = sha256_hex(digest_input.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn parses_file_and_weight_specs() {
        let s: DataSource = "a.jsonl:0.25".parse().unwrap();
        assert_eq!((s.path.as_path(), s.weight), (Path::new("a.jsonl"), 0.25));
        let s: DataSource = "dir:x/a.jsonl".parse().unwrap();
        assert_eq!(
            (s.path.as_path(), s.weight),
            (Path::new("dir:x/a.jsonl"), 1.0)
        );
        for bad in ["", "a.jsonl:-1", "a.jsonl:inf", ":2"] {
            assert!(bad.parse::<DataSource>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn several_files_multiply_weights_and_record_each_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        std::fs::write(&a, b"{\"text\":\"x\",\"label\":\"pro\",\"weight\":2}\n").unwrap();
        std::fs::write(
            &b,
            b"{\"text\":\"y\",\"label\":\"anti\"}\n{\"text\":\"x\",\"label\":\"pro\"}\n",
        )
        .unwrap();
        let d = read_sources(&[
            DataSource {
                path: a.clone(),
                weight: 1.0,
            },
            DataSource {
                path: b.clone(),
                weight: 0.5,
            },
        ])
        .unwrap();
        let w: Vec<f64> = d.examples.iter().map(|e| e.weight).collect();
        assert_eq!(w, [2.0, 0.5, 0.5]);
        assert_eq!(d.sources.len(), 2);
        assert_eq!((d.sources[1].weight, d.sources[1].n_examples), (0.5, 2));
        assert!(d.path.display().to_string().ends_with("b.jsonl:0.5"));
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("b.jsonl:2: duplicate text")),
            "{:?}",
            d.warnings
        );
        let again = read_sources(&[
            DataSource {
                path: a.clone(),
                weight: 1.0,
            },
            DataSource {
                path: b.clone(),
                weight: 0.25,
            },
        ])
        .unwrap();
        assert_ne!(d.sha256, again.sha256, "the digest covers the weights");
        let one = read_sources(&[DataSource {
            path: a.clone(),
            weight: 1.0,
        }])
        .unwrap();
        assert_eq!(one.sha256, read_labeled(&a).unwrap().sha256);
        let twice = read_sources(&[
            DataSource {
                path: a.clone(),
                weight: 1.0,
            },
            DataSource {
                path: a.clone(),
                weight: 0.5,
            },
        ]);
        assert!(
            twice
                .unwrap_err()
                .to_string()
                .contains("given more than once"),
            "a file given twice is refused"
        );
    }
}

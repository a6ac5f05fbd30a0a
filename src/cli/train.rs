//! `stance train`: labeled file -> cross-validation report -> model file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::dataset::DataSource;
use crate::model::ClassWeight;
use crate::train::{train, Progress, TrainParams};

/// Class weighting choices on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClassWeightArg {
    /// Every example counts once.
    None,
    /// Weight classes inversely to their frequency.
    Balanced,
}

/// Arguments of `stance train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labeled training file: JSONL (`text`, `label`) or CSV with a header,
    /// optionally .gz/.zst. Repeat for several files; `FILE:WEIGHT`
    /// multiplies the weight of every example of that file (default 1).
    #[arg(long, required = true, value_name = "FILE[:WEIGHT]")]
    pub data: Vec<DataSource>,
    /// Where to write the model (default: `<first data file's stem>.model.json`
    /// beside it); the report goes beside the model as `<stem>.report.json`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing model file.
    #[arg(long)]
    pub force: bool,
    /// Also write an HTML report to this file: cross-validated metrics,
    /// confusion heatmap and reliability diagram (out-of-fold predictions),
    /// strongest terms and the model's provenance.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Cross-validation folds (0 skips cross-validation).
    #[arg(long, default_value_t = crate::train::DEFAULT_CV_FOLDS)]
    pub cv: usize,
    /// Inverse L2 regularisation strength.
    #[arg(long = "c", default_value_t = crate::train::DEFAULT_C)]
    pub c: f64,
    /// Word n-gram range, `A..B` (inclusive).
    #[arg(long, default_value = "1..2")]
    pub ngrams: String,
    /// Mark this many tokens after a negation cue (not, no, never, without,
    /// n't...) as negated, within the clause; 0 marks none.
    #[arg(long, default_value_t = crate::train::DEFAULT_NEGATION_SCOPE)]
    pub negation_scope: usize,
    /// Minimum document frequency of a term.
    #[arg(long, default_value_t = crate::train::DEFAULT_MIN_DF)]
    pub min_df: usize,
    /// Maximum document frequency of a term, as a fraction of documents.
    #[arg(long, default_value_t = 1.0)]
    pub max_df: f64,
    /// Keep only the N most frequent terms.
    #[arg(long)]
    pub max_features: Option<usize>,
    /// Class weighting.
    #[arg(long, value_enum, default_value_t = ClassWeightArg::None)]
    pub class_weight: ClassWeightArg,
    /// Store the temperature fitted on the out-of-fold predictions (it is
    /// fitted and reported either way; off by default, README "Calibration").
    #[arg(long)]
    pub calibrate: bool,
    /// Seed for cross-validation folds.
    #[arg(long, default_value_t = crate::train::DEFAULT_SEED)]
    pub seed: u64,
    /// Maximum optimiser iterations.
    #[arg(long, default_value_t = crate::train::DEFAULT_MAX_ITER)]
    pub max_iter: u64,
    /// Model name recorded in the file (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Model semantic version recorded in the file.
    #[arg(
        long = "version",
        visible_alias = "model-version",
        default_value = "0.1.0"
    )]
    pub model_version: String,
}

/// Parses `A..B` (or `A..=B`, or `A`) into an inclusive range.
pub(crate) fn parse_ngrams(s: &str) -> anyhow::Result<(usize, usize)> {
    let parse = |x: &str| {
        x.trim()
            .parse::<usize>()
            .with_context(|| format!("invalid --ngrams {s:?}: expected A..B, e.g. 1..2"))
    };
    match s.split_once("..") {
        Some((a, b)) => Ok((parse(a)?, parse(b.trim_start_matches('='))?)),
        None => {
            let n = parse(s)?;
            Ok((n, n))
        }
    }
}

impl TrainArgs {
    /// Where the model goes: `--out`, or `<stem>.model.json` beside the
    /// first data file.
    pub fn out_path(&self) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        let first = self.data.first().map(|d| d.path.as_path());
        let first = first.unwrap_or(std::path::Path::new("model"));
        let mut stem = first
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        for ext in [".gz", ".zst", ".zstd", ".jsonl", ".ndjson", ".json", ".csv"] {
            if let Some(s) = stem.strip_suffix(ext) {
                stem = s.to_string();
            }
        }
        first.with_file_name(format!("{stem}.model.json"))
    }

    /// The model name: `--name`, or the output file's stem without `.model`.
    pub fn model_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let out = self.out_path();
        let stem = out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = stem.strip_suffix(".model").unwrap_or(&stem).to_string();
        if stem.is_empty() {
            "model".into()
        } else {
            stem
        }
    }

    /// The training parameters these arguments describe.
    pub fn params(&self) -> anyhow::Result<TrainParams> {
        let mut p = TrainParams {
            name: self.model_name(),
            version: self.model_version.clone(),
            cv_folds: self.cv,
            seed: self.seed,
            calibrate: self.calibrate,
            ..TrainParams::default()
        };
        (p.analyzer.ngram_min, p.analyzer.ngram_max) = parse_ngrams(&self.ngrams)?;
        p.analyzer.negation_scope = self.negation_scope;
        p.tfidf.min_df = self.min_df;
        p.tfidf.max_df = self.max_df;
        p.tfidf.max_features = self.max_features;
        p.logreg.c = self.c;
        p.logreg.max_iter = self.max_iter;
        p.logreg.class_weight = match self.class_weight {
            ClassWeightArg::None => ClassWeight::None,
            ClassWeightArg::Balanced => ClassWeight::Balanced,
        };
        Ok(p)
    }
}

/// Path of the report written beside a model.
pub fn report_path(model: &std::path::Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    model.with_file_name(format!("{stem}.report.json"))
}

pub(super) fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let params = args.params()?;
    params.check().context("invalid training parameters")?;
    let out_path = args.out_path();
    if out_path.is_dir() {
        bail!(
            "--out {} is a directory; give a file path",
            out_path.display()
        );
    }
    if out_path.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it, or choose another --out",
            out_path.display()
        );
    }
    let data = crate::dataset::read_sources(&args.data).context("cannot read training data")?;
    for w in &data.warnings {
        eprintln!("warning: {w}");
    }
    for s in data.sources.iter().filter(|s| s.weight == 0.0) {
        eprintln!(
            "warning: {} has weight 0: its {} examples do not count",
            s.path, s.n_examples
        );
    }
    eprintln!(
        "training on {} examples from {}",
        data.examples.len(),
        data.path.display()
    );
    let started = std::time::Instant::now();
    let trained = train(&params, &data, |p| match p {
        Progress::Fold {
            fold,
            folds,
            macro_f1,
        } => eprintln!("  fold {fold}/{folds}: macro-F1 {macro_f1:.3}"),
        Progress::FinalFit => eprintln!("  fitting on all data"),
    })
    .context("training failed")?;
    let info = trained.model.logreg().fit_info().clone();
    if !info.converged {
        eprintln!(
            "warning: optimiser stopped after {} iterations without converging (raise --max-iter)",
            info.iterations
        );
    }
    let checksum =
        crate::artifact::save(&trained.model, &out_path).context("cannot write model")?;

    let mut out = std::io::stdout().lock();
    if let Some(cv) = &trained.cv {
        writeln!(
            out,
            "{}-fold cross-validation: macro-F1 {:.3} ± {:.3}",
            cv.folds, cv.macro_f1_mean, cv.macro_f1_std
        )?;
        write!(out, "{}", cv.pooled.to_table())?;
    }
    if let Some(c) = &trained.calibration_check {
        writeln!(
            out,
            "calibration on the out-of-fold predictions: temperature {:.3}{}; ECE {:.4} -> {:.4}, Brier {:.4} -> {:.4}, log loss {:.4} -> {:.4}",
            c.temperature,
            if params.calibrate { "" } else { " (not applied: pass --calibrate)" },
            c.uncalibrated.ece,
            c.calibrated.ece,
            c.uncalibrated.brier,
            c.calibrated.brier,
            c.uncalibrated.log_loss,
            c.calibrated.log_loss
        )?;
    }
    let report = serde_json::json!({
        "model": out_path.display().to_string(),
        "model_id": trained.model.id(),
        "checksum": checksum,
        "training_file": data.path.display().to_string(),
        "training_files": data.sources,
        "n_examples": data.examples.len(),
        "features": trained.model.tfidf().n_features(),
        "fit": info,
        "cv": trained.cv,
        "calibration": trained.model.calibration(),
        "calibration_check": trained.calibration_check,
        "params": params,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(path) = &args.html {
        let model = crate::artifact::load(&out_path).context("cannot reload the model written")?;
        let reliability = trained.calibration_check.as_ref().map(|c| {
            if params.calibrate {
                &c.calibrated
            } else {
                &c.uncalibrated
            }
        });
        let source = match &trained.cv {
            Some(cv) => format!(
                "{} ({} examples), {}-fold cross-validation: out-of-fold predictions",
                data.path.display(),
                data.examples.len(),
                cv.folds
            ),
            None => format!("{} ({} examples)", data.path.display(), data.examples.len()),
        };
        let page = crate::report::render_model_report(&crate::report::ModelReport {
            title: "Training report".into(),
            model: &model,
            source,
            metrics: trained.cv.as_ref().map(|cv| &cv.pooled),
            reliability,
            errors: None,
        })?;
        crate::report::output::write_files(&[(path.clone(), page.into_bytes())])
            .context("cannot write the HTML report")?;
    }
    let rp = report_path(&out_path);
    std::fs::write(&rp, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write report {}", rp.display()))?;
    writeln!(
        out,
        "wrote {} ({}, {} features, {} iterations{}) and {}",
        out_path.display(),
        trained.model.id(),
        trained.model.tfidf().n_features(),
        info.iterations,
        if info.converged {
            ""
        } else {
            ", not converged"
        },
        rp.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: TrainArgs,
        }
        let t = T::try_parse_from(["t", "--data", "x.jsonl"]).unwrap();
        let mut from_cli = t.a.params().unwrap();
        let lib = TrainParams::default();
        from_cli.name = lib.name.clone();
        assert_eq!(from_cli, lib);
    }

    #[test]
    fn model_path_and_name_default_to_the_data_file_never_the_shipped_model() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: TrainArgs,
        }
        let parse = |args: &[&str]| T::try_parse_from(args).unwrap().a;
        let a = parse(&["t", "--data", "dir/mine.jsonl.gz", "--data", "b.csv:0.5"]);
        assert_eq!(a.out_path(), PathBuf::from("dir/mine.model.json"));
        assert_eq!(a.model_name(), "mine");
        assert_eq!(a.data[1].weight, 0.5);
        let a = parse(&[
            "t",
            "--data",
            "x.jsonl",
            "--out",
            "m/v9.json",
            "--version",
            "9.1.0",
        ]);
        assert_eq!(
            (a.model_name().as_str(), a.model_version.as_str()),
            ("v9", "9.1.0")
        );
        let a = parse(&[
            "t",
            "--data",
            "x.jsonl",
            "--name",
            "n",
            "--model-version",
            "2.0.0",
        ]);
        assert_eq!(a.params().unwrap().name, "n");
        assert_eq!(a.params().unwrap().version, "2.0.0");
        assert!(T::try_parse_from(["t"]).is_err(), "--data is required");
    }

    #[test]
    fn parses_ngram_ranges() {
        assert_eq!(parse_ngrams("1..2").unwrap(), (1, 2));
        assert_eq!(parse_ngrams("1..=3").unwrap(), (1, 3));
        assert_eq!(parse_ngrams("2").unwrap(), (2, 2));
        assert!(parse_ngrams("a..b").is_err());
    }
}

//! `stance report`'s numbers: the checked parameters, one streaming pass
//! over the scored records that keeps only a small summary per document
//! (grouped by the `--by` fields and the date's period), then the per-group
//! statistics with bootstrap intervals and the histograms of document
//! stance index.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::bootstrap::{bootstrap, BootstrapParams, DocSummary, GroupStats};
use super::error::ReportError;
use super::input::for_each_record;
use super::period::PeriodKind;
use super::scored::{ModelStamp, Outcome, Unit, Wanted};

/// Error records listed by name in a report (all are counted).
pub const MAX_LISTED_ERRORS: usize = 200;
/// Bins of the document stance index histograms, over [-1, 1].
pub const HISTOGRAM_BINS: usize = 20;
/// Columns of `groups.csv` other than the group fields: a `--by` field may
/// not take one of these names.
pub const STAT_COLUMNS: &[&str] = &[
    "period",
    "documents",
    "units",
    "errors",
    "share_pro",
    "share_pro_low",
    "share_pro_high",
    "share_anti",
    "share_anti_low",
    "share_anti_high",
    "share_neutral",
    "share_neutral_low",
    "share_neutral_high",
    "mean_index",
    "mean_index_low",
    "mean_index_high",
];

/// What `stance report` aggregates and how; checked by [`ReportParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReportParams {
    /// Outputs of `stance score` (JSONL or CSV, optionally .gz/.zst).
    pub inputs: Vec<PathBuf>,
    /// Group fields (at least one).
    pub by: Vec<String>,
    /// Date field for the over-time statistics (default none).
    pub time_field: Option<String>,
    /// Period of the over-time statistics (default month).
    pub period: PeriodKind,
    /// What is counted (default documents).
    pub unit: Unit,
    /// Resamples and seed (default 1,000 resamples, seed 42).
    pub bootstrap: BootstrapParams,
}

impl ReportParams {
    /// Parameters with the defaults above.
    pub fn new(inputs: Vec<PathBuf>, by: Vec<String>) -> Self {
        Self {
            inputs,
            by,
            time_field: None,
            period: PeriodKind::Month,
            unit: Unit::Document,
            bootstrap: BootstrapParams::default(),
        }
    }

    /// Checks: at least one input and one group field; field names not
    /// empty, not given twice, not a `groups.csv` column.
    pub fn check(self) -> Result<ValidReportParams, ReportError> {
        let bad = |m: String| Err(ReportError::Params(m));
        if self.inputs.is_empty() {
            return bad("no input given".into());
        }
        if self.by.is_empty() {
            return bad("give at least one field to group by".into());
        }
        for (i, f) in self.by.iter().enumerate() {
            if f.trim().is_empty() {
                return bad("an empty group field name".into());
            }
            if self.by[..i].contains(f) {
                return bad(format!("group field {f:?} given twice"));
            }
            if STAT_COLUMNS.contains(&f.as_str()) {
                return bad(format!(
                    "group field {f:?} clashes with a column of groups.csv ({})",
                    STAT_COLUMNS.join(", ")
                ));
            }
        }
        if self
            .time_field
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return bad("an empty time field name".into());
        }
        Ok(ValidReportParams(self))
    }
}

/// Checked [`ReportParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReportParams(ReportParams);

impl std::ops::Deref for ValidReportParams {
    type Target = ReportParams;
    fn deref(&self) -> &ReportParams {
        &self.0
    }
}

/// The period a document is counted in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// A dated period, e.g. `2019-03`.
    Dated(String),
    /// The date field is missing or not an ISO date.
    Undated,
    /// All documents of the group (also the only period without `--time-field`).
    All,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dated(p) => f.write_str(p),
            Self::Undated => f.write_str("(undated)"),
            Self::All => f.write_str("all"),
        }
    }
}

/// One error record of the inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorEntry {
    /// `file:line` of the error record in the report's input.
    pub at: String,
    /// The record's id.
    pub id: String,
    /// The record's `source` in the scored archive.
    pub source: String,
    /// Its message.
    pub message: String,
}

/// One row of the group table: a group in one period, or in all.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// Group values, one per `--by` field.
    pub group: Vec<String>,
    /// The period.
    pub period: Period,
    /// Error records of this group and period.
    pub errors: u64,
    /// Statistics (`None` when only error records fell here).
    pub stats: Option<GroupStats>,
}

/// Documents of one group per bin of their stance index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Group values.
    pub group: Vec<String>,
    /// Counts of [`HISTOGRAM_BINS`] equal bins over [-1, 1].
    pub counts: Vec<u64>,
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// The parameters.
    pub params: ValidReportParams,
    /// The model every record was scored by.
    pub model: ModelStamp,
    /// Scored documents.
    pub documents: u64,
    /// Units (documents or paragraphs).
    pub units: u64,
    /// Error records.
    pub error_records: u64,
    /// The first [`MAX_LISTED_ERRORS`] error records.
    pub errors: Vec<ErrorEntry>,
    /// Documents (and error records) without a usable date, with `--time-field`.
    pub undated: u64,
    /// Rows: groups in key order, each its `all` row then its periods.
    pub rows: Vec<GroupRow>,
    /// One histogram per group, in key order.
    pub histograms: Vec<Histogram>,
    /// Findings that did not stop the report.
    pub warnings: Vec<String>,
}

#[derive(Default)]
struct Cell {
    docs: Vec<DocSummary>,
    errors: u64,
}

/// Reads every input once and computes the report's numbers.
pub fn aggregate(params: ValidReportParams) -> Result<Aggregate, ReportError> {
    let wanted = Wanted {
        by: params.by.clone(),
        time: params.time_field.clone(),
        unit: params.unit,
    };
    let mut cells: HashMap<Vec<String>, BTreeMap<Period, Cell>> = HashMap::new();
    let mut first: Option<(ModelStamp, String)> = None;
    let (mut documents, mut units, mut error_records, mut undated) = (0u64, 0u64, 0u64, 0u64);
    let mut errors = Vec::new();
    let mut present = vec![false; params.by.len()];
    for path in &params.inputs {
        for_each_record(path, &wanted, |line, rec| {
            let at = || format!("{}:{line}", path.display());
            match &first {
                None => first = Some((rec.model.clone(), at())),
                Some((m, first_at)) if m.checksum != rec.model.checksum => {
                    return Err(ReportError::MixedModels {
                        at: at(),
                        found: rec.model.checksum.clone(),
                        first_at: first_at.clone(),
                        first: m.checksum.clone(),
                    })
                }
                Some(_) => {}
            }
            for (p, v) in present.iter_mut().zip(&rec.group) {
                *p |= v != super::scored::MISSING;
            }
            let period = match (&params.time_field, &rec.date) {
                (None, _) => Period::All,
                (Some(_), Some(d)) => params.period.of(d).map_or(Period::Undated, Period::Dated),
                (Some(_), None) => Period::Undated,
            };
            if period == Period::Undated {
                undated += 1;
            }
            let cell = cells
                .entry(rec.group)
                .or_default()
                .entry(period)
                .or_default();
            match rec.outcome {
                Outcome::Scored(d) => {
                    documents += 1;
                    units += d.units();
                    cell.docs.push(d);
                }
                Outcome::Error { id, message } => {
                    error_records += 1;
                    cell.errors += 1;
                    if errors.len() < MAX_LISTED_ERRORS {
                        errors.push(ErrorEntry {
                            at: at(),
                            id,
                            source: rec.source,
                            message,
                        });
                    }
                }
            }
            Ok(())
        })?;
    }
    let Some((model, _)) = first else {
        return Err(ReportError::Empty);
    };
    let mut warnings = Vec::new();
    for (f, seen) in params.by.iter().zip(&present) {
        if !seen {
            warnings.push(format!(
                "no record has a value for group field {f:?}: every record is in group \"(missing)\" (was it kept with stance score --keep-fields?)"
            ));
        }
    }
    if params.time_field.is_some() && undated > 0 {
        warnings.push(format!(
            "{undated} records have no usable date in {:?} (missing or not an ISO date): counted in period \"(undated)\"",
            params.time_field.as_deref().unwrap_or_default()
        ));
    }
    let (rows, histograms) = group_rows(cells, &params);
    Ok(Aggregate {
        params,
        model,
        documents,
        units,
        error_records,
        errors,
        undated,
        rows,
        histograms,
        warnings,
    })
}

/// The bin of a stance index in [-1, 1].
fn bin_of(index: f64) -> usize {
    let b = ((index + 1.0) / 2.0 * HISTOGRAM_BINS as f64).floor();
    (b.max(0.0) as usize).min(HISTOGRAM_BINS - 1)
}

/// Rows and histograms, groups in key order; each row's bootstrap gets its
/// row number as its random stream.
fn group_rows(
    cells: HashMap<Vec<String>, BTreeMap<Period, Cell>>,
    params: &ReportParams,
) -> (Vec<GroupRow>, Vec<Histogram>) {
    let mut groups: Vec<_> = cells.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows = Vec::new();
    let mut histograms = Vec::new();
    for (group, periods) in groups {
        let all: Vec<DocSummary> = periods
            .values()
            .flat_map(|c| c.docs.iter().copied())
            .collect();
        let mut counts = vec![0u64; HISTOGRAM_BINS];
        for d in &all {
            counts[bin_of(d.mean_index())] += 1;
        }
        histograms.push(Histogram {
            group: group.clone(),
            counts,
        });
        rows.push(GroupRow {
            group: group.clone(),
            period: Period::All,
            errors: periods.values().map(|c| c.errors).sum(),
            stats: bootstrap(&all, &params.bootstrap, rows.len() as u64),
        });
        drop(all);
        if params.time_field.is_some() {
            for (period, cell) in periods {
                rows.push(GroupRow {
                    group: group.clone(),
                    period,
                    errors: cell.errors,
                    stats: bootstrap(&cell.docs, &params.bootstrap, rows.len() as u64),
                });
            }
        }
    }
    (rows, histograms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_parameters_one_rule_each() {
        let p = |by: &[&str]| {
            ReportParams::new(
                vec!["a.jsonl".into()],
                by.iter().map(|s| s.to_string()).collect(),
            )
        };
        assert!(p(&["outlet"]).check().is_ok());
        for (by, want) in [
            (&[][..], "at least one"),
            (&["outlet", "outlet"][..], "twice"),
            (&[" "][..], "empty"),
            (&["period"][..], "clashes"),
        ] {
            let err = p(by).check().unwrap_err().to_string();
            assert!(err.contains(want), "{by:?}: {err}");
        }
        let mut q = p(&["outlet"]);
        q.inputs.clear();
        assert!(q.check().is_err());
    }

    #[test]
    fn histogram_bins_cover_the_closed_interval() {
        assert_eq!(bin_of(-1.0), 0);
        assert_eq!(bin_of(1.0), HISTOGRAM_BINS - 1);
        assert_eq!(bin_of(0.0), HISTOGRAM_BINS / 2);
        assert_eq!(bin_of(-0.01), HISTOGRAM_BINS / 2 - 1);
    }

    #[test]
    fn periods_sort_dated_then_undated_then_all() {
        let mut v = [
            Period::All,
            Period::Undated,
            Period::Dated("2019-02".into()),
            Period::Dated("2019-01".into()),
        ];
        v.sort();
        let names: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["2019-01", "2019-02", "(undated)", "all"]);
    }
}

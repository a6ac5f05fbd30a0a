//! The group table as files: `groups.csv` (one row per group and period,
//! the columns in [`STAT_COLUMNS`](super::aggregate::STAT_COLUMNS) after the
//! group fields) and `groups.json` (the same rows plus the run's metadata
//! and the listed error records).

use serde_json::{json, Map, Value};

use super::aggregate::{Aggregate, GroupRow, STAT_COLUMNS};
use super::bootstrap::{Estimate, LEVEL};
use super::error::ReportError;

/// The statistics of a row as CSV cells (empty without units).
fn stat_cells(row: &GroupRow) -> Vec<String> {
    let mut cells = vec![
        row.period.to_string(),
        row.stats.map_or(0, |s| s.documents).to_string(),
        row.stats.map_or(0, |s| s.units).to_string(),
        row.errors.to_string(),
    ];
    match &row.stats {
        Some(s) => {
            for e in [s.pro, s.anti, s.neutral, s.mean_index] {
                cells.extend([e.value, e.low, e.high].map(|x| x.to_string()));
            }
        }
        None => cells.extend(std::iter::repeat_n(String::new(), 12)),
    }
    cells
}

/// `groups.csv`: header, then one line per row.
pub fn to_csv(agg: &Aggregate) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| ReportError::Output {
        path: "groups.csv".into(),
        source: std::io::Error::other(e.to_string()),
    };
    let header: Vec<&str> = agg
        .params
        .by
        .iter()
        .map(String::as_str)
        .chain(STAT_COLUMNS.iter().copied())
        .collect();
    w.write_record(&header).map_err(io)?;
    for row in &agg.rows {
        let cells: Vec<String> = row.group.iter().cloned().chain(stat_cells(row)).collect();
        w.write_record(&cells).map_err(io)?;
    }
    w.into_inner().map_err(|e| ReportError::Output {
        path: "groups.csv".into(),
        source: std::io::Error::other(e.to_string()),
    })
}

fn estimate(e: &Estimate) -> Value {
    json!({"value": e.value, "low": e.low, "high": e.high})
}

/// One row as JSON: `group` (field -> value), `period`, counts, `share`
/// (`pro`, `anti`, `neutral`) and `mean_index`, each `{value, low, high}`
/// (`null` without units).
fn row_json(agg: &Aggregate, row: &GroupRow) -> Value {
    let group: Map<String, Value> = agg
        .params
        .by
        .iter()
        .zip(&row.group)
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let (share, mean) = match &row.stats {
        Some(s) => (
            json!({"pro": estimate(&s.pro), "anti": estimate(&s.anti), "neutral": estimate(&s.neutral)}),
            estimate(&s.mean_index),
        ),
        None => (Value::Null, Value::Null),
    };
    json!({
        "group": group,
        "period": row.period.to_string(),
        "documents": row.stats.map_or(0, |s| s.documents),
        "units": row.stats.map_or(0, |s| s.units),
        "errors": row.errors,
        "share": share,
        "mean_index": mean,
    })
}

/// `groups.json`, pretty-printed.
pub fn to_json(agg: &Aggregate) -> Result<Vec<u8>, ReportError> {
    let p = &agg.params;
    let v = json!({
        "model": agg.model,
        "inputs": p.inputs.iter().map(|i| i.display().to_string()).collect::<Vec<_>>(),
        "by": p.by,
        "time_field": p.time_field,
        "period": p.time_field.as_ref().map(|_| p.period),
        "unit": p.unit,
        "bootstrap": {"resamples": p.bootstrap.resamples(), "seed": p.bootstrap.seed(), "level": LEVEL},
        "documents": agg.documents,
        "units": agg.units,
        "error_records": agg.error_records,
        "undated": agg.undated,
        "warnings": agg.warnings,
        "groups": agg.rows.iter().map(|r| row_json(agg, r)).collect::<Vec<_>>(),
        "errors": agg.errors,
    });
    let mut out = serde_json::to_vec_pretty(&v).map_err(|e| ReportError::Output {
        path: "groups.json".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    out.push(b'\n');
    Ok(out)
}

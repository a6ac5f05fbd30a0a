//! `report.html` of `stance report`: summary, charts (mean stance index per
//! group, over time when dated, label shares, distribution of document
//! stance index), the group table, the error records and the method.

use super::aggregate::{Aggregate, GroupRow, Period, MAX_LISTED_ERRORS};
use super::bootstrap::{Estimate, LEVEL};
use super::charts::{self, Interval, Series};
use super::error::ReportError;
use super::html::{definitions, figure, paragraph, table, Cell, Page};

/// Groups drawn in the charts (the largest by documents); the table has all.
pub const MAX_CHART_GROUPS: usize = 12;

fn interval(e: &Estimate) -> Interval {
    Interval {
        value: e.value,
        low: e.low,
        high: e.high,
    }
}

fn fmt_estimate(e: &Estimate) -> String {
    format!("{:.3} [{:.3}, {:.3}]", e.value, e.low, e.high)
}

/// The `all` rows of the groups drawn in charts: the largest groups by
/// documents, then in key order.
fn chart_groups(agg: &Aggregate) -> Vec<&GroupRow> {
    let mut all: Vec<&GroupRow> = agg
        .rows
        .iter()
        .filter(|r| r.period == Period::All && r.stats.is_some())
        .collect();
    all.sort_by_key(|r| std::cmp::Reverse(r.stats.map_or(0, |s| s.documents)));
    all.truncate(MAX_CHART_GROUPS);
    all.sort_by(|a, b| a.group.cmp(&b.group));
    all
}

fn group_name(group: &[String]) -> String {
    group.join(" / ")
}

/// The charts, in page order.
fn charts(agg: &Aggregate, shown: &[&GroupRow]) -> Result<Vec<String>, ReportError> {
    let unit = agg.params.unit;
    let mut out = Vec::new();
    let rows: Vec<(String, Interval)> = shown
        .iter()
        .filter_map(|r| Some((group_name(&r.group), interval(&r.stats?.mean_index))))
        .collect();
    out.push(charts::intervals(
        &format!(
            "Mean stance index per group ({unit}s), {:.0}% intervals",
            LEVEL * 100.0
        ),
        "mean stance index (P(pro) - P(anti))",
        &rows,
        -1.0..1.0,
    )?);
    if agg.params.time_field.is_some() {
        let mut periods: Vec<Period> = agg
            .rows
            .iter()
            .filter(|r| matches!(r.period, Period::Dated(_)))
            .map(|r| r.period.clone())
            .collect();
        periods.sort();
        periods.dedup();
        let series: Vec<Series> = shown
            .iter()
            .map(|g| Series {
                name: group_name(&g.group),
                points: periods
                    .iter()
                    .map(|p| {
                        agg.rows
                            .iter()
                            .find(|r| r.group == g.group && &r.period == p)
                            .and_then(|r| r.stats)
                            .map(|s| interval(&s.mean_index))
                    })
                    .collect(),
            })
            .collect();
        let names: Vec<String> = periods.iter().map(ToString::to_string).collect();
        out.push(charts::bands_over_time(
            &format!(
                "Mean stance index per {} with {:.0}% bands",
                agg.params.period,
                LEVEL * 100.0
            ),
            "mean stance index",
            &names,
            &series,
            -1.0..1.0,
        )?);
    }
    let shares: Vec<(String, [f64; 3])> = shown
        .iter()
        .filter_map(|r| {
            let s = r.stats?;
            Some((
                group_name(&r.group),
                [s.pro.value, s.anti.value, s.neutral.value],
            ))
        })
        .collect();
    out.push(charts::stacked_shares(
        &format!("Label shares per group ({unit}s)"),
        ["pro", "anti", "neutral"],
        &shares,
    )?);
    let panels: Vec<(String, Vec<u64>)> = shown
        .iter()
        .filter_map(|r| {
            let h = agg.histograms.iter().find(|h| h.group == r.group)?;
            Some((group_name(&r.group), h.counts.clone()))
        })
        .collect();
    out.push(charts::histograms(
        "Distribution of document stance index per group",
        -1.0..1.0,
        &panels,
    )?);
    Ok(out)
}

fn group_table(agg: &Aggregate) -> String {
    let mut head: Vec<&str> = agg.params.by.iter().map(String::as_str).collect();
    head.extend([
        "period",
        "documents",
        "units",
        "errors",
        "pro",
        "anti",
        "neutral",
        "mean stance index",
    ]);
    let rows: Vec<Vec<Cell>> = agg
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<Cell> = r.group.iter().map(Cell::text).collect();
            cells.push(Cell::text(r.period.to_string()));
            cells.push(Cell::num(r.stats.map_or(0, |s| s.documents)));
            cells.push(Cell::num(r.stats.map_or(0, |s| s.units)));
            cells.push(Cell::num(r.errors));
            match &r.stats {
                Some(s) => cells.extend(
                    [s.pro, s.anti, s.neutral, s.mean_index]
                        .iter()
                        .map(|e| Cell::num(fmt_estimate(e))),
                ),
                None => cells.extend((0..4).map(|_| Cell::num("-"))),
            }
            cells
        })
        .collect();
    table("groups", &head, &rows)
}

fn errors_section(agg: &Aggregate) -> String {
    if agg.error_records == 0 {
        return paragraph("No error records: every record of the inputs was scored.");
    }
    let rows: Vec<Vec<Cell>> = agg
        .errors
        .iter()
        .map(|e| {
            vec![
                Cell::text(&e.at),
                Cell::text(&e.id),
                Cell::text(&e.source),
                Cell::text(&e.message),
            ]
        })
        .collect();
    let mut s = paragraph(&format!(
        "{} records of the inputs are error records of stance score (not scored). They are counted per group in the table's errors column and are not part of any share or mean.{}",
        agg.error_records,
        if agg.error_records as usize > agg.errors.len() {
            format!(" The first {MAX_LISTED_ERRORS} are listed.")
        } else {
            String::new()
        }
    ));
    s.push_str("<div class=\"scroll\">");
    s.push_str(&table("errors", &["at", "id", "source", "error"], &rows));
    s.push_str("</div>");
    s
}

fn method(agg: &Aggregate) -> String {
    let p = &agg.params;
    let unit = p.unit;
    let mut s = paragraph(&format!(
        "Units are {unit}s. A unit's stance index is P(pro) - P(anti) as stance score wrote it (a document's from its paragraph probabilities averaged with paragraph length as weight; a paragraph's from its own), in [-1, 1]. A group's share of a label is the share of its units with that label (the most probable one); its mean stance index is the mean over its units."
    ));
    s.push_str(&paragraph(&format!(
        "Intervals: percentile bootstrap over documents ({} resamples, seed {}): each resample draws the group's documents with replacement, keeping each document's units together, and recomputes the statistic; the interval runs from the 2.5th to the 97.5th percentile of the resampled values.",
        p.bootstrap.resamples(),
        p.bootstrap.seed()
    )));
    s.push_str(&paragraph(
        "Records without a value for a group field (absent, null or empty) are in group \"(missing)\". With a time field, records whose date is absent or not an ISO date (YYYY, YYYY-MM, YYYY-MM-DD, optionally followed by a time) are counted in period \"(undated)\": in the table, not in the chart over time.",
    ));
    s
}

/// The whole `report.html`.
pub fn render(agg: &Aggregate) -> Result<String, ReportError> {
    let p = &agg.params;
    let shown = chart_groups(agg);
    let n_groups = agg.rows.iter().filter(|r| r.period == Period::All).count();
    let mut page = Page::new("Stance report");
    let mut summary = vec![
        (
            "inputs",
            p.inputs
                .iter()
                .map(|i| i.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("model", format!("{}@{}", agg.model.name, agg.model.version)),
        ("model checksum", agg.model.checksum.clone()),
        ("grouped by", p.by.join(", ")),
        ("unit", p.unit.to_string()),
        ("documents scored", agg.documents.to_string()),
        ("units", agg.units.to_string()),
        ("error records", agg.error_records.to_string()),
        ("groups", n_groups.to_string()),
        (
            "bootstrap",
            format!(
                "{} resamples, seed {}",
                p.bootstrap.resamples(),
                p.bootstrap.seed()
            ),
        ),
    ];
    if let Some(t) = &p.time_field {
        summary.push((
            "time",
            format!("{t}, per {} ({} undated)", p.period, agg.undated),
        ));
    }
    page.section("summary", "Summary", &definitions(&summary));
    for w in &agg.warnings {
        page.note(&format!("warning: {w}"));
    }
    let mut figs = String::new();
    if n_groups > shown.len() {
        figs.push_str(&paragraph(&format!(
            "Charts show the {} largest of {n_groups} groups; the table has all.",
            shown.len()
        )));
    }
    for c in charts(agg, &shown)? {
        figs.push_str(&figure(&c));
    }
    page.section("charts", "Charts", &figs);
    page.section(
        "groups-table",
        "Groups",
        &format!("<div class=\"scroll\">{}</div>", group_table(agg)),
    );
    page.section("error-records", "Error records", &errors_section(agg));
    page.section("method", "Method", &method(agg));
    Ok(page.finish())
}

//! Charts as inline SVG strings, drawn with `plotters` (SVG backend only,
//! no fonts, so nothing is fetched or embedded): intervals per group,
//! series over time with interval bands, stacked label shares, small
//! multiples of histograms, a confusion heatmap and a reliability diagram.
//! Text from data (group names) is escaped by the SVG backend.

use std::ops::Range;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::error::ReportError;

/// Chart width in pixels.
pub const WIDTH: u32 = 960;
const FONT: &str = "sans-serif";
/// Colours of `pro`, `anti`, `neutral`.
pub const LABEL_COLORS: [RGBColor; 3] = [
    RGBColor(43, 131, 186),
    RGBColor(215, 25, 28),
    RGBColor(150, 150, 150),
];

/// A value with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The estimate.
    pub value: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// One group's series over the periods (`None` where it has no data).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// One point per period.
    pub points: Vec<Option<Interval>>,
}

/// Shortens a label to `max` chars (with an ellipsis) so axes stay readable.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Draws into an SVG string; `draw` errors become [`ReportError::Chart`].
fn svg<F>(title: &str, size: (u32, u32), draw: F) -> Result<String, ReportError>
where
    F: FnOnce(
        &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error>>,
{
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let res = root
            .fill(&WHITE)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            .and_then(|()| draw(&root))
            .and_then(|()| {
                root.present()
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            });
        res.map_err(|e| ReportError::Chart {
            chart: title.to_string(),
            detail: e.to_string(),
        })?;
    }
    Ok(out)
}

/// Draws the legend of `chart`'s labelled series at `position`.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

fn seg_index(v: &SegmentValue<usize>) -> Option<usize> {
    match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => Some(*i),
        SegmentValue::Last => None,
    }
}

/// The chart both row charts share: one labelled row per name, top to
/// bottom in the order given, over `x` (labelled `x_desc`), mesh drawn.
type RowChart<'a> = ChartContext<
    'a,
    SVGBackend<'a>,
    Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordusize>,
    >,
>;

fn row_chart<'a>(
    root: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    title: &str,
    x: Range<f64>,
    x_desc: &str,
    names: &[String],
) -> Result<RowChart<'a>, Box<dyn std::error::Error>> {
    let n = names.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(220)
        .build_cartesian_2d(x, (0..n - 1).into_segmented())?;
    let labels: Vec<String> = names.iter().map(|s| short(s, 32)).collect();
    chart
        .configure_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| {
            seg_index(v)
                .and_then(|i| labels.get(n - 1 - i))
                .cloned()
                .unwrap_or_default()
        })
        .x_desc(x_desc)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(chart)
}

/// Horizontal dot-and-whisker chart: one row per `(name, interval)`, top to
/// bottom in the order given, over `x` (labelled `x_desc`).
pub fn intervals(
    title: &str,
    x_desc: &str,
    rows: &[(String, Interval)],
    x: Range<f64>,
) -> Result<String, ReportError> {
    let n = rows.len().max(1);
    let height = 90 + 28 * n as u32;
    let names: Vec<String> = rows.iter().map(|(s, _)| s.clone()).collect();
    svg(title, (WIDTH, height), |root| {
        let mut chart = row_chart(root, title, x.clone(), x_desc, &names)?;
        let row = |i: usize| SegmentValue::CenterOf(n - 1 - i);
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, iv))| {
            PathElement::new(
                vec![(iv.low, row(i)), (iv.high, row(i))],
                BLACK.stroke_width(2),
            )
        }))?;
        chart.draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, (_, iv))| Circle::new((iv.value, row(i)), 5, LABEL_COLORS[0].filled())),
        )?;
        if x.start < 0.0 && x.end > 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n))],
                BLACK.mix(0.4),
            )))?;
        }
        Ok(())
    })
}

/// Lines over `periods` with a shaded interval band per series, on `y`.
pub fn bands_over_time(
    title: &str,
    y_desc: &str,
    periods: &[String],
    series: &[Series],
    y: Range<f64>,
) -> Result<String, ReportError> {
    let n = periods.len().max(1);
    svg(title, (WIDTH, 460), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y.clone())?;
        let every = n.div_ceil(12).max(1);
        chart
            .configure_mesh()
            .x_labels(n.min(24))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() > 1e-6 || i < 0.0 || (i as usize) % every != 0 {
                    return String::new();
                }
                periods.get(i as usize).cloned().unwrap_or_default()
            })
            .y_desc(y_desc)
            .draw()?;
        for (k, s) in series.iter().enumerate() {
            let c = color(k);
            // Bands and lines break where a period has no data.
            let mut runs: Vec<Vec<(f64, Interval)>> = vec![Vec::new()];
            for (i, p) in s.points.iter().enumerate() {
                match p {
                    Some(iv) => runs
                        .last_mut()
                        .into_iter()
                        .for_each(|r| r.push((i as f64, *iv))),
                    None => runs.push(Vec::new()),
                }
            }
            for run in runs.iter().filter(|r| !r.is_empty()) {
                let mut poly: Vec<(f64, f64)> = run.iter().map(|(x, iv)| (*x, iv.high)).collect();
                poly.extend(run.iter().rev().map(|(x, iv)| (*x, iv.low)));
                if run.len() == 1 {
                    let (x, iv) = run[0];
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, iv.low), (x, iv.high)],
                        c.mix(0.5).stroke_width(6),
                    )))?;
                } else {
                    chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18))))?;
                }
                chart.draw_series(
                    run.iter()
                        .map(|(x, iv)| Circle::new((*x, iv.value), 3, c.filled())),
                )?;
            }
            let name = short(&s.name, 30);
            chart
                .draw_series(runs.into_iter().filter(|r| !r.is_empty()).map(|r| {
                    PathElement::new(
                        r.into_iter()
                            .map(|(x, iv)| (x, iv.value))
                            .collect::<Vec<_>>(),
                        c.stroke_width(2),
                    )
                }))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// One horizontal bar per `(name, shares)` stacked in the order of `names`
/// (shares sum to 1), top to bottom in the order given.
pub fn stacked_shares(
    title: &str,
    names: [&str; 3],
    rows: &[(String, [f64; 3])],
) -> Result<String, ReportError> {
    let n = rows.len().max(1);
    let height = 110 + 28 * n as u32;
    let labels: Vec<String> = rows.iter().map(|(s, _)| s.clone()).collect();
    svg(title, (WIDTH, height), |root| {
        let mut chart = row_chart(root, title, 0f64..1f64, "share of units", &labels)?;
        for (k, name) in names.iter().enumerate() {
            let c = LABEL_COLORS[k];
            chart
                .draw_series(rows.iter().enumerate().map(|(i, (_, s))| {
                    let start: f64 = s[..k].iter().sum();
                    let r = n - 1 - i;
                    Rectangle::new(
                        [
                            (start, SegmentValue::Exact(r)),
                            (start + s[k], SegmentValue::Exact(r + 1)),
                        ],
                        c.filled(),
                    )
                }))?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// Small multiples: one histogram per `(name, counts)`, the bins equal
/// slices of `x`, three panels a row.
pub fn histograms(
    title: &str,
    x: Range<f64>,
    panels: &[(String, Vec<u64>)],
) -> Result<String, ReportError> {
    let cols = 3usize;
    let rows = panels.len().div_ceil(cols).max(1);
    svg(title, (WIDTH, 40 + 200 * rows as u32), |root| {
        let body = root.titled(title, (FONT, 18))?;
        let areas = body.split_evenly((rows, cols));
        for ((name, counts), area) in panels.iter().zip(areas.iter()) {
            let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(short(name, 36), (FONT, 14))
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(40)
                .build_cartesian_2d(x.clone(), 0f64..max * 1.05)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(4)
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            let width = (x.end - x.start) / counts.len().max(1) as f64;
            chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = x.start + i as f64 * width;
                let mid = x0 + width / 2.0;
                let k = if mid > 0.05 {
                    0
                } else if mid < -0.05 {
                    1
                } else {
                    2
                };
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, c as f64)],
                    LABEL_COLORS[k].mix(0.8).filled(),
                )
            }))?;
        }
        Ok(())
    })
}

/// A heatmap of `matrix` (rows = truth, columns = predicted) with the
/// counts written in the cells.
pub fn heatmap(title: &str, labels: &[&str], matrix: &[Vec<usize>]) -> Result<String, ReportError> {
    let n = labels.len().max(1);
    let max = matrix.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    svg(title, (560, 480), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(90)
            .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&|v| {
                seg_index(v)
                    .and_then(|i| labels.get(i))
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            })
            .y_label_formatter(&|v| {
                seg_index(v)
                    .and_then(|i| labels.get(n - 1 - i))
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            })
            .x_desc("predicted")
            .y_desc("true")
            .draw()?;
        let cells = matrix
            .iter()
            .enumerate()
            .flat_map(|(i, row)| row.iter().enumerate().map(move |(j, &v)| (i, j, v)));
        for (i, j, v) in cells {
            let t = v as f64 / max;
            let shade = |c: u8| (255.0 - t * (255.0 - f64::from(c))).round() as u8;
            let fill = RGBColor(shade(33), shade(102), shade(172));
            let r = n - 1 - i;
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(j), SegmentValue::Exact(r)),
                    (SegmentValue::Exact(j + 1), SegmentValue::Exact(r + 1)),
                ],
                fill.filled(),
            )))?;
            let ink = if t > 0.5 { WHITE } else { BLACK };
            let style = TextStyle::from((FONT, 20).into_font())
                .color(&ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(
                v.to_string(),
                (SegmentValue::CenterOf(j), SegmentValue::CenterOf(r)),
                style,
            )))?;
        }
        Ok(())
    })
}

/// One bin of a reliability diagram: `[lower, upper)`, its size, mean
/// confidence and accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityPoint {
    /// Lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Predictions in the bin.
    pub n: usize,
    /// Mean confidence.
    pub confidence: f64,
    /// Accuracy.
    pub accuracy: f64,
}

/// Reliability diagram: accuracy bars per confidence bin, the mean
/// confidence of each non-empty bin as a point, and the diagonal of
/// perfect calibration.
pub fn reliability(title: &str, bins: &[ReliabilityPoint]) -> Result<String, ReportError> {
    svg(title, (560, 480), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
        chart
            .configure_mesh()
            .x_desc("confidence (top probability)")
            .y_desc("accuracy")
            .draw()?;
        chart
            .draw_series(bins.iter().filter(|b| b.n > 0).map(|b| {
                Rectangle::new(
                    [(b.lower, 0.0), (b.upper, b.accuracy)],
                    LABEL_COLORS[0].mix(0.45).filled(),
                )
            }))?
            .label("accuracy per bin")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 12, y + 5)],
                    LABEL_COLORS[0].mix(0.45).filled(),
                )
            });
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.5),
            )))?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5)));
        chart
            .draw_series(
                bins.iter()
                    .filter(|b| b.n > 0)
                    .map(|b| Circle::new((b.confidence, b.accuracy), 4, LABEL_COLORS[1].filled())),
            )?
            .label("mean confidence, accuracy")
            .legend(|(x, y)| Circle::new((x + 6, y), 4, LABEL_COLORS[1].filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(v: f64) -> Interval {
        Interval {
            value: v,
            low: v - 0.1,
            high: v + 0.1,
        }
    }

    #[test]
    fn every_chart_is_one_svg_element_with_escaped_names() {
        let name = "<b>A & B</b>".to_string();
        let charts = [
            intervals(
                "t",
                "x",
                &[(name.clone(), iv(0.2)), ("b".into(), iv(-0.3))],
                -1.0..1.0,
            )
            .unwrap(),
            bands_over_time(
                "t",
                "y",
                &["2019-01".into(), "2019-02".into(), "2019-03".into()],
                &[Series {
                    name: name.clone(),
                    points: vec![Some(iv(0.1)), None, Some(iv(0.3))],
                }],
                -1.0..1.0,
            )
            .unwrap(),
            stacked_shares(
                "t",
                ["pro", "anti", "neutral"],
                &[(name.clone(), [0.2, 0.3, 0.5])],
            )
            .unwrap(),
            histograms("t", -1.0..1.0, &[(name.clone(), vec![1, 2, 3, 0])]).unwrap(),
            heatmap(
                "t",
                &["anti", "neutral", "pro"],
                &[vec![5, 1, 0], vec![2, 7, 1], vec![0, 0, 9]],
            )
            .unwrap(),
            reliability(
                "t",
                &[ReliabilityPoint {
                    lower: 0.6,
                    upper: 0.7,
                    n: 3,
                    confidence: 0.65,
                    accuracy: 0.5,
                }],
            )
            .unwrap(),
        ];
        for (k, c) in charts.iter().enumerate() {
            assert_eq!(c.matches("<svg").count(), 1, "chart {k}");
            assert!(!c.contains("<b>"), "chart {k} escapes names");
            assert!(!c.contains("href"), "chart {k} links nothing");
        }
        assert!(charts[0].contains("&lt;b&gt;A &amp; B&lt;/b&gt;"));
    }

    #[test]
    fn shortens_long_labels() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("abc", 4), "abc");
    }
}

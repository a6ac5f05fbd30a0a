//! Reports for people: `stance report` aggregates scored archives per group
//! (and period) with bootstrap intervals into `report.html`, `groups.csv`
//! and `groups.json`; `stance train --html` and `stance eval --html` write a
//! model's metrics, charts and provenance as one HTML page. Pages are
//! self-contained (inline CSS and SVG, no scripts, fonts or fetches) and
//! every text that comes from data is escaped ([`html`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod aggregate;
mod archive_page;
pub mod bootstrap;
pub mod charts;
pub mod error;
pub mod groups;
pub mod html;
mod input;
pub mod model_page;
pub mod output;
pub mod period;
pub mod scored;
pub mod terms;

pub use aggregate::{aggregate, Aggregate, ReportParams, ValidReportParams};
pub use bootstrap::BootstrapParams;
pub use error::ReportError;
pub use model_page::{confident_errors, render_model_report, ConfidentError, ModelReport};
pub use output::write_archive_report;
pub use period::PeriodKind;
pub use scored::Unit;

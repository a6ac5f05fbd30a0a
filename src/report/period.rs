//! Time periods of `stance report --time-field`: ISO dates (`2019-03-04`,
//! `2019-03-04T10:00:00Z`, `2019-03`, `2019`) cut to a month, quarter or
//! year. A value that is not such a date has no period ("undated").

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// `2019-03`.
    Month,
    /// `2019-Q1`.
    Quarter,
    /// `2019`.
    Year,
}

/// A period name that is not `month`, `quarter` or `year`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown period {0:?} (expected month, quarter or year)")]
pub struct UnknownPeriod(pub String);

impl FromStr for PeriodKind {
    type Err = UnknownPeriod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "month" => Ok(Self::Month),
            "quarter" => Ok(Self::Quarter),
            "year" => Ok(Self::Year),
            other => Err(UnknownPeriod(other.to_string())),
        }
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        })
    }
}

/// Parses the leading `YYYY[-MM[-DD]]` of `s`, followed by nothing, `T` or a
/// space (a time). Returns year and month (when given); `None` when `s` is
/// not such a date or the month or day is out of range.
fn parse_date(s: &str) -> Option<(u32, Option<u32>)> {
    let s = s.trim();
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let year = digits(0..4)?;
    let end_ok = |i: usize| matches!(b.get(i), None | Some(b'T') | Some(b' '));
    if end_ok(4) {
        return Some((year, None));
    }
    if b.get(4) != Some(&b'-') {
        return None;
    }
    let month = digits(5..7).filter(|m| (1..=12).contains(m))?;
    if end_ok(7) {
        return Some((year, Some(month)));
    }
    if b.get(7) != Some(&b'-') {
        return None;
    }
    digits(8..10).filter(|d| (1..=31).contains(d))?;
    end_ok(10).then_some((year, Some(month)))
}

impl PeriodKind {
    /// The period `date` falls in (`2019-03`, `2019-Q1`, `2019`), or `None`
    /// when `date` is not an ISO date precise enough for this period (a bare
    /// year has no month).
    pub fn of(self, date: &str) -> Option<String> {
        let (year, month) = parse_date(date)?;
        match self {
            Self::Year => Some(format!("{year:04}")),
            Self::Month => month.map(|m| format!("{year:04}-{m:02}")),
            Self::Quarter => month.map(|m| format!("{year:04}-Q{}", (m - 1) / 3 + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_iso_dates_to_periods() {
        let cases = [
            ("2019-03-04", Some("2019-03"), Some("2019-Q1"), Some("2019")),
            (
                "2020-12-31T23:59:59Z",
                Some("2020-12"),
                Some("2020-Q4"),
                Some("2020"),
            ),
            ("2021-07", Some("2021-07"), Some("2021-Q3"), Some("2021")),
            ("2018", None, None, Some("2018")),
            (
                " 2019-10-01 08:00",
                Some("2019-10"),
                Some("2019-Q4"),
                Some("2019"),
            ),
            ("2019-13-01", None, None, None),
            ("2019-02-40", None, None, None),
            ("March 2019", None, None, None),
            ("20190304", None, None, None),
            ("", None, None, None),
        ];
        for (date, m, q, y) in cases {
            assert_eq!(PeriodKind::Month.of(date).as_deref(), m, "{date:?} month");
            assert_eq!(
                PeriodKind::Quarter.of(date).as_deref(),
                q,
                "{date:?} quarter"
            );
            assert_eq!(PeriodKind::Year.of(date).as_deref(), y, "{date:?} year");
        }
    }

    #[test]
    fn parses_period_names() {
        assert_eq!("quarter".parse::<PeriodKind>(), Ok(PeriodKind::Quarter));
        assert!("week".parse::<PeriodKind>().is_err());
    }
}

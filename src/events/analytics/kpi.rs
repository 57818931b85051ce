//! The command centre's figures for one area (the big screen's KPI cards and the live
//! stream's `kpi` messages).
//!
//! Each figure is computed by the statistics code from a filter parsed exactly as the
//! statistics API parses its query, so a screen and `/api/stats/areas` cannot disagree:
//! - `today`: events reported today (Beijing) = `/api/stats/areas?parent=A&from=<today>` → total.count;
//! - `open`, `overdue`: every event = `…&from=1970-01-01` → total.open, total.overdue;
//! - `month`: events reported since the 1st of this month = `…&from=<YYYY-MM-01>` → total.

use super::AreaNames;
use super::filter::parse_with;
use super::stats::{self, AreaStats};
use super::view::ViewSnapshot;
use crate::events::filter::{FilterError, FilterOptions};
use crate::model::Level;
use crate::time::{date_of_day, format_day, format_time, local_day};
use chrono::Datelike;
use serde::Serialize;
use std::collections::HashMap;

/// The figures of one area.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Kpi {
    /// The area code (`None`: every event, assigned or not).
    pub area: Option<String>,
    /// When the figures were computed, Beijing time.
    pub as_of: Option<String>,
    /// Events reported today.
    pub today: u64,
    /// Events not closed or rejected.
    pub open: u64,
    /// Open events past their deadline.
    pub overdue: u64,
    /// Events reported this month.
    pub month: MonthKpi,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MonthKpi {
    pub count: u64,
    pub closed: u64,
    pub closure_rate: f64,
    pub avg_handling_hours: Option<f64>,
}

/// The first day of the windows, as `from` parameters: today, the 1st of this month, and the
/// start of the record.
pub fn windows(now: i64) -> [String; 3] {
    let today = local_day(now);
    let month = date_of_day(today)
        .and_then(|d| d.with_day(1))
        .map(|d| d.to_string())
        .unwrap_or_else(|| format_day(today));
    [format_day(today), month, "1970-01-01".to_string()]
}

/// The figures of `area` (any level; `None` for every event) at `now`. Fails only for an
/// unknown area code.
pub fn compute(
    view: &ViewSnapshot,
    names: &AreaNames,
    area: Option<&str>,
    now: i64,
) -> Result<Kpi, FilterError> {
    let [today, month, all] = windows(now);
    let total = |from: &str| -> Result<AreaStats, FilterError> {
        let mut q = HashMap::from([("from".to_string(), from.to_string())]);
        if let Some(code) = area {
            q.insert("parent".to_string(), code.to_string());
        }
        let f = parse_with(&q, &FilterOptions::AREA_STATS, view, names)?;
        Ok(stats::areas(view, names, &f, Level::District, None, now).total)
    };
    let (t, m, a) = (total(&today)?, total(&month)?, total(&all)?);
    Ok(Kpi {
        area: area.map(str::to_string),
        as_of: format_time(now),
        today: t.count,
        open: a.open,
        overdue: a.overdue,
        month: MonthKpi {
            count: m.count,
            closed: m.closed,
            closure_rate: m.closure_rate,
            avg_handling_hours: m.avg_handling_hours,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_today_and_on_the_first() {
        // 2026-12-02 01:00 Beijing = 2026-12-01 17:00 UTC.
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T17:00:00Z")
            .unwrap()
            .timestamp_micros();
        assert_eq!(windows(now), ["2026-12-02", "2026-12-01", "1970-01-01"]);
    }

    #[test]
    fn empty_view_has_zero_figures_and_unknown_areas_fail() {
        let view = ViewSnapshot::default();
        let names = HashMap::new();
        let k = compute(&view, &names, None, 0).unwrap();
        assert_eq!((k.today, k.open, k.overdue, k.month.count), (0, 0, 0, 0));
        assert!(compute(&view, &names, Some("nowhere"), 0).is_err());
    }
}

//! The figures of a profile page, in one answer: events per month for a year, categories, the
//! closure rate against the parent's, and the hotspots. Computed from the in-memory event view
//! with the same functions as `/api/stats/*` and `/api/hotspots`, so the numbers agree.

use crate::events::analytics::AreaNames;
use crate::events::analytics::filter::{Filter, Window, parse_with};
use crate::events::analytics::hotspots::{self, Hotspot};
use crate::events::analytics::stats::{self, Interval};
use crate::events::analytics::view::ViewSnapshot;
use crate::events::filter::{FilterError, FilterOptions};
use crate::index::Snapshot;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub code: String,
    pub window: Window,
    /// Twelve calendar months (Beijing time), oldest first, the current one last.
    pub months: Vec<Month>,
    pub categories: Vec<CategoryCount>,
    pub closure: Closure,
    pub hotspots: Vec<HotspotBrief>,
    pub total: u64,
    pub open: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    pub count: u64,
    pub closed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryCount {
    pub code: String,
    pub name: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Closure {
    /// Closed / all events of the window in this area.
    pub rate: f64,
    /// The same for the parent (the town of a village, the district of a town).
    pub parent_rate: Option<f64>,
    pub parent: Option<AreaRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaRef {
    pub code: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HotspotBrief {
    pub lon: f64,
    pub lat: f64,
    pub count: usize,
    pub open: usize,
    pub category: Option<&'static str>,
    pub category_name: Option<&'static str>,
    pub radius_m: f64,
    pub spread_m: f64,
    pub last_reported_at: Option<String>,
    pub sample_ids: Vec<i64>,
}

/// The hotspot radius and least size the profile uses (as `/api/hotspots`' defaults).
pub const HOTSPOT_RADIUS_M: f64 = 100.0;
pub const HOTSPOT_MIN_COUNT: usize = 5;

/// The first day of the month `months_back` months before the month of `day`.
fn month_start(day: NaiveDate, months_back: i32) -> NaiveDate {
    let m0 = day.year() * 12 + day.month0() as i32 - months_back;
    NaiveDate::from_ymd_opt(m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1, 1).unwrap_or(day)
}

/// The filter of the events of `code` since `from` (a Beijing date).
fn area_filter(
    view: &ViewSnapshot,
    names: &AreaNames,
    code: &str,
    from: NaiveDate,
) -> Result<Filter, FilterError> {
    let q: HashMap<String, String> = [
        ("area".to_string(), code.to_string()),
        ("from".to_string(), from.format("%Y-%m-%d").to_string()),
    ]
    .into();
    parse_with(&q, &FilterOptions::ANALYTICS, view, names)
}

/// The figures of `code` (a town or village) with `parent` its parent, at `now` (µs).
pub fn figures(
    view: &ViewSnapshot,
    names: &AreaNames,
    index: &Snapshot,
    code: &str,
    parent: Option<&str>,
    now: i64,
) -> Result<Figures, FilterError> {
    let today = crate::time::date_of_day(crate::time::local_day(now)).unwrap_or_default();
    let from = window_start(now);
    let f = area_filter(view, names, code, from)?;
    let trend = stats::trend(view, &f, Interval::Day, now)?;
    let mut months: Vec<Month> = (0..12)
        .rev()
        .map(|k| Month {
            month: month_start(today, k).format("%Y-%m").to_string(),
            count: 0,
            closed: 0,
        })
        .collect();
    for b in &trend.buckets {
        if let Some(m) = months.iter_mut().find(|m| b.start.starts_with(&m.month)) {
            m.count += b.count;
            m.closed += b.closed;
        }
    }
    let level = names
        .get(code)
        .map(|n| n.level)
        .unwrap_or(crate::model::Level::Village);
    let top = stats::top(view, names, &f, level, 20, now);
    let categories = top
        .categories
        .iter()
        .map(|c| CategoryCount {
            code: c.code.clone(),
            name: c.name.clone(),
            count: c.count,
        })
        .collect();
    let (total, open, closed) = top
        .areas
        .iter()
        .find(|a| a.code == code)
        .map(|a| (a.count, a.open, a.closed))
        .unwrap_or((top.total, 0, 0));
    let rate = |closed: u64, count: u64| {
        if count == 0 {
            0.0
        } else {
            (closed as f64 / count as f64 * 10_000.0).round() / 10_000.0
        }
    };
    let parent_rate = match parent {
        Some(p) if names.get(p).is_some() => {
            let pf = area_filter(view, names, p, from)?;
            let plevel = names.get(p).map(|n| n.level).unwrap_or(level);
            let pt = stats::top(view, names, &pf, plevel, 1, now);
            Some(
                pt.areas
                    .first()
                    .map(|a| rate(a.closed, a.count))
                    .unwrap_or(0.0),
            )
        }
        _ => None,
    };
    let q = hotspots::Query {
        filter: f.clone(),
        radius_m: HOTSPOT_RADIUS_M,
        min_count: HOTSPOT_MIN_COUNT,
    };
    let hs = hotspots::hotspots(view, &q, 10, false, index);
    Ok(Figures {
        code: code.to_string(),
        window: f.window(),
        months,
        categories,
        closure: Closure {
            rate: rate(closed, total),
            parent_rate,
            parent: parent.map(|p| AreaRef {
                code: p.to_string(),
                name: names.get(p).map(|n| n.name.to_string()),
            }),
        },
        hotspots: hs
            .hotspots
            .iter()
            .map(|h| brief(h, HOTSPOT_RADIUS_M))
            .collect(),
        total,
        open,
    })
}

fn brief(h: &Hotspot, radius_m: f64) -> HotspotBrief {
    HotspotBrief {
        lon: h.center.lon,
        lat: h.center.lat,
        count: h.count,
        open: h.open,
        category: h.category,
        category_name: h.category_name,
        radius_m,
        spread_m: h.spread_m,
        last_reported_at: h.last_reported_at.clone(),
        sample_ids: h.sample_ids.clone(),
    }
}

/// The first day of the figures' window: the first of the month eleven months back, so the
/// window holds twelve calendar months (Beijing time), the current one included.
pub fn window_start(now: i64) -> NaiveDate {
    let today = crate::time::date_of_day(crate::time::local_day(now)).unwrap_or_default();
    month_start(today, 11)
}

/// The hotspot of the figures' window (`window_start`) in `code` whose centre is nearest to (`lon`, `lat`) and
/// within `radius_m` of it, with all its members: what "promote a hotspot to a problem" files.
pub fn hotspot_at(
    view: &ViewSnapshot,
    names: &AreaNames,
    index: &Snapshot,
    code: &str,
    (lon, lat): (f64, f64),
    radius_m: f64,
    now: i64,
) -> Result<Option<Hotspot>, FilterError> {
    let f = area_filter(view, names, code, window_start(now))?;
    let q = hotspots::Query {
        filter: f,
        radius_m: HOTSPOT_RADIUS_M,
        min_count: HOTSPOT_MIN_COUNT,
    };
    let hs = hotspots::hotspots(view, &q, 1000, true, index);
    let dist =
        |h: &Hotspot| crate::geom::metric::sphere_distance_m(lon, lat, h.center.lon, h.center.lat);
    Ok(hs
        .hotspots
        .into_iter()
        .map(|h| (dist(&h), h))
        .filter(|(d, _)| *d <= radius_m)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, h)| h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_starts_cross_years() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 17).unwrap();
        assert_eq!(
            month_start(d, 0),
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 11),
            NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 2),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
    }
}

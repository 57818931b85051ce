//! The one event filter: what `/api/events`, its CSV, the statistics, the hotspots and the
//! event tiles select, parsed once from a query map.
//!
//! Parameters (all optional, combined with AND; a blank value counts as absent):
//! - `from`, `to`: `YYYY-MM-DD` or RFC 3339 (`2026-11-01T08:00:00+08:00`). The window is
//!   `from <= reported_at < to`. A bare date is a day in Beijing time (UTC+8): in `from` its
//!   local midnight, in `to` **the whole day** (up to the next local midnight, exclusive), so
//!   `from=2026-10-15&to=2026-10-17` is three days. `from` must be before `to`.
//! - `category`, `source`, `status`: one value or a list (`,` or `，`), codes or zh-CN labels;
//!   `status` also takes `open` (未办结: every status but closed and rejected).
//! - `area` (`parent` for `/api/stats/areas`): an area code at any level, matched against the
//!   chain frozen at report time; the city's code means every event with a chain (assigned).
//! - list only (`/api/events` and its CSV): `bbox=minlon,minlat,maxlon,maxlat` (WGS84),
//!   `overdue=true` (open and past its deadline now), `unassigned=true`.
//!
//! What differs per endpoint is explicit in [`FilterOptions`]: the default window (the list
//! has none; statistics, hotspots and event tiles default to the last 30 Beijing days, today
//! included), the area parameter's name, whether the list-only parameters are read, and the
//! error codes each endpoint has always answered ([`Dialect`]).
//!
//! The same [`EventFilter`] is translated to SQL by `store::events` (the list and the CSV) and
//! compiled against the in-memory view by `analytics::filter` (statistics, hotspots, tiles).

use crate::events::model::{Category, Source, Status, UnknownValue};
use crate::model::Level;
use crate::time;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Which endpoint family's error codes and statuses a filter answers with (kept as they were
/// before the two filters became one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `/api/events` and its CSV: `unknown_category|source|status`, `invalid_time` for a window
    /// that is not in order, 400 `unknown_area`.
    List,
    /// Statistics, hotspots and event tiles: `unknown_value`, `invalid_window`, 404
    /// `unknown_area`.
    Analytics,
}

/// What a filter's parsing depends on per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterOptions {
    pub dialect: Dialect,
    /// The query parameter that names the area: `area`, or `parent` for `/api/stats/areas`.
    pub area_param: &'static str,
    /// Without `from`: the window starts this many Beijing days back, today included (from
    /// the local midnight `days - 1` days ago); `None`: no lower bound. (Without `to` the
    /// window is open at the end either way.)
    pub default_days: Option<u32>,
    /// Read `bbox`, `overdue` and `unassigned` (the list); otherwise they are ignored.
    pub list_params: bool,
}

impl FilterOptions {
    /// `/api/events` and `/api/events.csv`: no default window, the list-only parameters.
    pub const LIST: FilterOptions = FilterOptions {
        dialect: Dialect::List,
        area_param: "area",
        default_days: None,
        list_params: true,
    };
    /// `/api/stats/top`, `/api/stats/trend`, `/api/hotspots`, `/tiles/events/…`: the last
    /// 30 days by default.
    pub const ANALYTICS: FilterOptions = FilterOptions {
        dialect: Dialect::Analytics,
        area_param: "area",
        default_days: Some(DEFAULT_DAYS),
        list_params: false,
    };
    /// `/api/stats/areas`: as [`Self::ANALYTICS`], the area named by `parent`.
    pub const AREA_STATS: FilterOptions = FilterOptions {
        area_param: "parent",
        ..FilterOptions::ANALYTICS
    };
}

/// Length of the analytics endpoints' default window, days.
pub const DEFAULT_DAYS: u32 = 30;

/// How a bad filter is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterErrorKind {
    /// The request is wrong (400).
    BadRequest,
    /// The area it names does not exist (404 in the analytics dialect).
    NotFound,
}

/// A parameter that cannot be used, with a stable code and a zh-CN message that names the fix
/// (an English gloss in parentheses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FilterError {
    pub kind: FilterErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl FilterError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> FilterError {
        FilterError {
            kind: FilterErrorKind::BadRequest,
            code,
            message: message.into(),
        }
    }
}

/// The area a filter selects: its code and level (looked up when parsing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaScope {
    pub code: String,
    pub level: Level,
}

/// A parsed filter. Empty lists select everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// `reported_at >= from`, µs since the epoch.
    pub from: Option<i64>,
    /// `reported_at < to`, µs since the epoch.
    pub to: Option<i64>,
    /// Sorted, without repeats.
    pub categories: Vec<Category>,
    pub sources: Vec<Source>,
    pub statuses: Vec<Status>,
    pub area: Option<AreaScope>,
    /// List only: [min lon, min lat, max lon, max lat], WGS84.
    pub bbox: Option<[f64; 4]>,
    /// List only: open and `deadline < now`.
    pub overdue: bool,
    /// List only: not assigned to a unit.
    pub unassigned: bool,
}

impl EventFilter {
    /// A canonical text of the filter (equal filters, equal text; labels and codes alike), for
    /// cache keys.
    pub fn canonical(&self) -> String {
        let opt = |v: Option<i64>| v.map(|t| t.to_string()).unwrap_or_default();
        let join = |v: Vec<&str>| v.join(",");
        let mut s = format!(
            "{}|{}|{}|{}|{}|{}",
            opt(self.from),
            opt(self.to),
            join(self.categories.iter().map(|c| c.code()).collect()),
            join(self.sources.iter().map(|c| c.code()).collect()),
            join(self.statuses.iter().map(|c| c.code()).collect()),
            self.area.as_ref().map_or("", |a| a.code.as_str()),
        );
        if let Some(b) = self.bbox {
            let _ = write!(s, "|bbox:{},{},{},{}", b[0], b[1], b[2], b[3]);
        }
        if self.overdue {
            s.push_str("|overdue");
        }
        if self.unassigned {
            s.push_str("|unassigned");
        }
        s
    }
}

/// The value of a parameter, `None` when absent or blank.
fn get<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name)
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The area code a query names for `opts` (trimmed), so its level can be looked up before
/// [`parse`] (the list looks it up in the database).
pub fn area_code<'a>(q: &'a HashMap<String, String>, opts: &FilterOptions) -> Option<&'a str> {
    get(q, opts.area_param).map(str::trim)
}

/// Parses a time parameter: `YYYY-MM-DD` (a Beijing day: its local midnight for `from`, the
/// next local midnight for `to`, so `to` takes the whole day) or RFC 3339. µs since the epoch.
pub fn parse_time(name: &str, s: &str, end: bool) -> Result<i64, FilterError> {
    let s = s.trim();
    if let Some(day) = time::parse_day(s) {
        return Ok(time::day_start(if end { day + 1 } else { day }));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            FilterError::bad(
                "invalid_time",
                format!(
                    "参数 {name} 不是有效的日期或时间：'{}'，请用 YYYY-MM-DD（北京时间）或 RFC 3339，如 2026-12-01T08:00:00+08:00 ({name} must be a date YYYY-MM-DD or an RFC 3339 time)",
                    clip(s, 60)
                ),
            )
        })
}

/// One vocabulary list (`category`, `source`, `status`): sorted, without repeats.
fn parse_list<T: Copy + Ord>(
    q: &HashMap<String, String>,
    name: &str,
    dialect: Dialect,
    parse: impl Fn(&str) -> Option<Vec<T>>,
    what: &'static str,
    allowed: String,
) -> Result<Vec<T>, FilterError> {
    let Some(s) = get(q, name) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for part in s
        .split([',', '，'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        let vals = parse(part).ok_or_else(|| {
            let value = clip(part, 60);
            match dialect {
                Dialect::List => {
                    let code = match name {
                        "category" => "unknown_category",
                        "source" => "unknown_source",
                        _ => "unknown_status",
                    };
                    let e = UnknownValue {
                        what,
                        value: value.clone(),
                        allowed: allowed.clone(),
                    };
                    FilterError::bad(code, format!("{e} (unknown value '{value}' in {name})"))
                }
                Dialect::Analytics => FilterError::bad(
                    "unknown_value",
                    format!("未知的{what} '{value}'；可用：{allowed} (unknown {name})"),
                ),
            }
        })?;
        out.extend(vals);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn parse_bbox(q: &HashMap<String, String>) -> Result<Option<[f64; 4]>, FilterError> {
    let Some(s) = get(q, "bbox") else {
        return Ok(None);
    };
    let bad = |why: &str| {
        FilterError::bad(
            "invalid_bbox",
            format!(
                "bbox 应为 minlon,minlat,maxlon,maxlat (bbox must be minlon,minlat,maxlon,maxlat: {why})"
            ),
        )
    };
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != 4 {
        return Err(bad(&format!("got {} numbers", parts.len())));
    }
    let mut v = [0.0; 4];
    for (slot, p) in v.iter_mut().zip(&parts) {
        *slot = p
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(&format!("'{}' is not a number", clip(p, 40))))?;
    }
    if !(-180.0..=180.0).contains(&v[0])
        || !(-180.0..=180.0).contains(&v[2])
        || !(-90.0..=90.0).contains(&v[1])
        || !(-90.0..=90.0).contains(&v[3])
    {
        return Err(bad("out of range"));
    }
    if v[0] > v[2] || v[1] > v[3] {
        return Err(bad("min is greater than max"));
    }
    Ok(Some(v))
}

fn parse_flag(q: &HashMap<String, String>, name: &str) -> Result<bool, FilterError> {
    match get(q, name).map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(s) if s == "true" || s == "1" || s == "yes" => Ok(true),
        Some(s) if s == "false" || s == "0" || s == "no" => Ok(false),
        Some(s) => Err(FilterError::bad(
            "invalid_parameter",
            format!(
                "参数 {name} 应为 true 或 false ({name} must be true or false, got '{}')",
                clip(&s, 40)
            ),
        )),
    }
}

fn parse_status(s: &str) -> Option<Vec<Status>> {
    if s == "open" || s == "未办结" {
        Some(
            Status::ALL
                .iter()
                .copied()
                .filter(|s| s.is_open())
                .collect(),
        )
    } else {
        Status::parse(s).map(|v| vec![v])
    }
}

/// Parses the filter of a query map for an endpoint (`opts`), at the time `now_us` (for the
/// default window). `area_level` gives the level of an area code, `None` if there is no such
/// area. The one parser of every event endpoint.
pub fn parse_at(
    q: &HashMap<String, String>,
    opts: &FilterOptions,
    area_level: &dyn Fn(&str) -> Option<Level>,
    now_us: i64,
) -> Result<EventFilter, FilterError> {
    let from = match get(q, "from") {
        Some(s) => Some(parse_time("from", s, false)?),
        None => opts
            .default_days
            .map(|days| time::day_start(time::local_day(now_us) - (i64::from(days.max(1)) - 1))),
    };
    let to = get(q, "to")
        .map(|s| parse_time("to", s, true))
        .transpose()?;
    if let (Some(a), Some(b)) = (from, to)
        && a >= b
    {
        return Err(match opts.dialect {
            Dialect::List => {
                FilterError::bad("invalid_time", "from 应早于 to (from must be before to)")
            }
            Dialect::Analytics => FilterError::bad(
                "invalid_window",
                "参数 from 应早于 to (from must be before to)",
            ),
        });
    }
    let categories = parse_list(
        q,
        "category",
        opts.dialect,
        |s| Category::parse(s).map(|c| vec![c]),
        Category::WHAT,
        Category::codes_list(),
    )?;
    let sources = parse_list(
        q,
        "source",
        opts.dialect,
        |s| Source::parse(s).map(|c| vec![c]),
        Source::WHAT,
        Source::codes_list(),
    )?;
    let statuses = parse_list(
        q,
        "status",
        opts.dialect,
        parse_status,
        Status::WHAT,
        format!("open (未办结), {}", Status::codes_list()),
    )?;
    let area = match area_code(q, opts) {
        None => None,
        Some(code) => {
            let level = area_level(code).ok_or_else(|| {
                let c = clip(code, 40);
                FilterError {
                    kind: match opts.dialect {
                        Dialect::List => FilterErrorKind::BadRequest,
                        Dialect::Analytics => FilterErrorKind::NotFound,
                    },
                    code: "unknown_area",
                    message: format!(
                        "没有编码为 {c} 的区域：请检查参数 {} (no area with code '{c}')",
                        opts.area_param
                    ),
                }
            })?;
            Some(AreaScope {
                code: code.to_string(),
                level,
            })
        }
    };
    let (bbox, overdue, unassigned) = if opts.list_params {
        (
            parse_bbox(q)?,
            parse_flag(q, "overdue")?,
            parse_flag(q, "unassigned")?,
        )
    } else {
        (None, false, false)
    };
    Ok(EventFilter {
        from,
        to,
        categories,
        sources,
        statuses,
        area,
        bbox,
        overdue,
        unassigned,
    })
}

/// [`parse_at`] now.
pub fn parse(
    q: &HashMap<String, String>,
    opts: &FilterOptions,
    area_level: &dyn Fn(&str) -> Option<Level>,
) -> Result<EventFilter, FilterError> {
    parse_at(q, opts, area_level, time::now_us())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> HashMap<String, String> {
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    fn levels(code: &str) -> Option<Level> {
        match code {
            "city" => Some(Level::City),
            "d1" => Some(Level::District),
            "v1" => Some(Level::Village),
            _ => None,
        }
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn a_bare_to_takes_the_whole_beijing_day_everywhere() {
        for opts in [FilterOptions::LIST, FilterOptions::ANALYTICS] {
            let f = parse(&q("from=2026-10-15&to=2026-10-17"), &opts, &levels).unwrap();
            assert_eq!(f.from, Some(at("2026-10-15T00:00:00+08:00")));
            assert_eq!(f.to, Some(at("2026-10-18T00:00:00+08:00")));
            // One day.
            let f = parse(&q("from=2026-10-15&to=2026-10-15"), &opts, &levels).unwrap();
            assert_eq!(f.to.unwrap() - f.from.unwrap(), time::DAY_US);
            // RFC 3339 with offsets is taken as written.
            let f = parse(
                &q("from=2026-10-15T06:30:00+08:00&to=2026-10-15T00:00:00Z"),
                &opts,
                &levels,
            )
            .unwrap();
            assert_eq!(f.from, Some(at("2026-10-14T22:30:00Z")));
            assert_eq!(f.to, Some(at("2026-10-15T00:00:00Z")));
        }
    }

    #[test]
    fn defaults_differ_per_endpoint_as_declared() {
        let now = at("2026-11-30T20:00:00Z"); // 2026-12-01 04:00 in Beijing
        let list = parse_at(&q(""), &FilterOptions::LIST, &levels, now).unwrap();
        assert_eq!(list, EventFilter::default());
        let stats = parse_at(
            &q("bbox=x&overdue=maybe"),
            &FilterOptions::ANALYTICS,
            &levels,
            now,
        )
        .unwrap();
        assert_eq!(stats.from, Some(at("2026-11-02T00:00:00+08:00")));
        assert_eq!((stats.to, stats.bbox, stats.overdue), (None, None, false));
        let e = parse_at(&q("bbox=x"), &FilterOptions::LIST, &levels, now).unwrap_err();
        assert_eq!(e.code, "invalid_bbox");
    }

    #[test]
    fn lists_areas_and_errors() {
        let f = parse(
            &q("category=traffic，食品安全,traffic&status=open&source=12345热线&area=v1"),
            &FilterOptions::LIST,
            &levels,
        )
        .unwrap();
        assert_eq!(f.categories, vec![Category::FoodSafety, Category::Traffic]);
        assert_eq!(f.sources, vec![Source::Hotline]);
        assert!(f.statuses.iter().all(|s| s.is_open()) && f.statuses.len() == 6);
        assert_eq!(
            f.area,
            Some(AreaScope {
                code: "v1".into(),
                level: Level::Village
            })
        );
        assert_eq!(
            f.canonical(),
            "||food_safety,traffic|hotline|reported,accepted,dispatched,in_progress,resolved,verified|v1"
        );
        for (query, list_code, stats_code) in [
            ("category=fire", "unknown_category", "unknown_value"),
            ("source=email", "unknown_source", "unknown_value"),
            ("status=done", "unknown_status", "unknown_value"),
            ("from=last-week", "invalid_time", "invalid_time"),
            ("to=2026-02-30", "invalid_time", "invalid_time"),
            (
                "from=2026-11-20&to=2026-11-10",
                "invalid_time",
                "invalid_window",
            ),
            ("area=nowhere", "unknown_area", "unknown_area"),
        ] {
            let e = parse(&q(query), &FilterOptions::LIST, &levels).unwrap_err();
            assert_eq!(e.code, list_code, "{query}");
            assert!(e.message.contains('('), "{}", e.message);
            let e = parse(&q(query), &FilterOptions::ANALYTICS, &levels).unwrap_err();
            assert_eq!(e.code, stats_code, "{query}");
        }
        let e = parse(&q("parent=x"), &FilterOptions::AREA_STATS, &levels).unwrap_err();
        assert_eq!(e.kind, FilterErrorKind::NotFound);
        assert!(e.message.contains("parent"));
    }
}

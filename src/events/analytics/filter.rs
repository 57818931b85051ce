//! Query parameters shared by the statistics, hotspot and tile endpoints, parsed into one
//! `Filter` at the edge with zh-CN messages.
//!
//! - `from`, `to`: `YYYY-MM-DD` (a day in Asia/Shanghai; `to` includes that whole day) or
//!   RFC 3339 (`2026-11-01T08:00:00+08:00`). The window is `from <= reported_at < to`.
//!   Default: the last 30 days in Asia/Shanghai, today included (from the local midnight 29
//!   days ago, no upper bound), so the default window only moves once a day.
//! - `category`, `source`, `status`: one value or a comma-separated list, codes or zh-CN
//!   labels; `status` also accepts `open` (every status but closed/rejected).
//! - `area`: an area code at any level (the events' chain frozen at report time).

use super::AreaName;
use super::view::{self, Columns, NONE, area_column};
use crate::api::error::{ApiError, Params};
use crate::events::model::{Category, Source, Status};
use crate::model::Level;
use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use std::collections::HashMap;

/// Asia/Shanghai has been UTC+8 without daylight saving since 1991.
pub const SHANGHAI_OFFSET_S: i32 = 8 * 3600;
pub const DAY_US: i64 = 86_400_000_000;
/// Length of the default window, days.
pub const DEFAULT_DAYS: i64 = 30;

pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(SHANGHAI_OFFSET_S).expect("UTC+8 is a valid offset")
}

/// Local (Asia/Shanghai) day number of a time, days since 1970-01-01.
pub fn local_day(t_us: i64) -> i64 {
    (t_us + SHANGHAI_OFFSET_S as i64 * 1_000_000).div_euclid(DAY_US)
}

/// Start (µs since the epoch) of a local day number.
pub fn day_start(day: i64) -> i64 {
    day * DAY_US - SHANGHAI_OFFSET_S as i64 * 1_000_000
}

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// An RFC 3339 string in Asia/Shanghai time.
pub fn format_time(t_us: i64) -> Option<String> {
    DateTime::from_timestamp_micros(t_us).map(|t| {
        t.with_timezone(&shanghai())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    })
}

/// `YYYY-MM-DD` of a local day number.
pub fn format_day(day: i64) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(day)))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// Bit set of vocabulary indices; `u32::MAX` = everything.
pub type Mask = u32;
pub const ALL: Mask = u32::MAX;

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    pub from: i64,
    /// Exclusive; `i64::MAX` when open.
    pub to: i64,
    pub category: Mask,
    pub source: Mask,
    pub status: Mask,
    /// (column in `Columns::area`, interned code id) — `NONE` id when no event has the code.
    pub area: Option<(usize, u32)>,
    /// The parameters as given, canonical, for cache keys and echoing back.
    pub canonical: String,
}

impl Filter {
    /// True if row `i` passes everything but the time window (the scan applies that).
    #[inline]
    pub fn matches(&self, c: &Columns, i: usize) -> bool {
        (self.category == ALL || bit(self.category, c.category[i]))
            && (self.source == ALL || bit(self.source, c.source[i]))
            && (self.status == ALL || bit(self.status, c.status[i]))
            && self
                .area
                .is_none_or(|(k, id)| id != NONE && c.area[k][i] == id)
    }

    /// The window as JSON: from/to in Asia/Shanghai time (to null when open).
    pub fn window_json(&self) -> serde_json::Value {
        serde_json::json!({
            "from": format_time(self.from),
            "to": if self.to == i64::MAX { None } else { format_time(self.to) },
        })
    }
}

#[inline]
fn bit(mask: Mask, v: u8) -> bool {
    v < 32 && mask & (1 << v) != 0
}

fn bad_time(name: &str, s: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_time",
        format!(
            "参数 {name} 不是有效的日期或时间：'{}'，请用 YYYY-MM-DD 或 RFC 3339 ({name} must be YYYY-MM-DD or an RFC 3339 time)",
            s.chars().take(60).collect::<String>()
        ),
    )
}

/// Parses a `from`/`to` value; a bare date is its local midnight (plus a day for `to`).
fn parse_time(name: &str, s: &str, end: bool) -> Result<i64, ApiError> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = if end {
            d.succ_opt().ok_or_else(|| bad_time(name, s))?
        } else {
            d
        };
        let local = d.and_hms_opt(0, 0, 0).ok_or_else(|| bad_time(name, s))?;
        return shanghai()
            .from_local_datetime(&local)
            .single()
            .map(|t| t.timestamp_micros())
            .ok_or_else(|| bad_time(name, s));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .map_err(|_| bad_time(name, s))
}

fn parse_list<T: Copy>(
    p: &Params,
    name: &str,
    parse: impl Fn(&str) -> Option<Vec<T>>,
    index: impl Fn(T) -> u8,
    what: &str,
    allowed: String,
) -> Result<(Mask, String), ApiError> {
    let Some(s) = p.get(name) else {
        return Ok((ALL, String::new()));
    };
    let mut mask = 0;
    let mut canon = Vec::new();
    for part in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let vals = parse(part).ok_or_else(|| {
            ApiError::bad_request(
                "unknown_value",
                format!(
                    "未知的{what} '{}'；可用：{allowed} (unknown {name})",
                    part.chars().take(60).collect::<String>()
                ),
            )
        })?;
        for v in vals {
            mask |= 1 << index(v);
        }
        canon.push(part.to_string());
    }
    canon.sort();
    Ok((mask, canon.join(",")))
}

/// Resolves an area code to its level via the names of the area table.
pub fn area_level<'a>(
    names: &'a HashMap<String, AreaName>,
    name: &str,
    code: &str,
) -> Result<&'a AreaName, ApiError> {
    names.get(code.trim()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_area",
            format!(
                "没有这个区域：参数 {name}='{}' (no area with this code)",
                code.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// Parses the filter parameters (`area_param` names the area parameter: `area` or `parent`).
pub fn parse(
    p: &Params,
    codes: &view::Codes,
    names: &HashMap<String, AreaName>,
    area_param: Option<&str>,
    with_status: bool,
) -> Result<Filter, ApiError> {
    let today = local_day(now_us());
    let from = match p.get("from") {
        Some(s) => parse_time("from", s, false)?,
        None => day_start(today - (DEFAULT_DAYS - 1)),
    };
    let to = match p.get("to") {
        Some(s) => parse_time("to", s, true)?,
        None => i64::MAX,
    };
    if from >= to {
        return Err(ApiError::bad_request(
            "invalid_window",
            "参数 from 应早于 to (from must be before to)",
        ));
    }
    let (category, c1) = parse_list(
        p,
        "category",
        |s| Category::parse(s).map(|c| vec![c]),
        |c| view::category_idx(c.code()),
        Category::WHAT,
        Category::codes_list(),
    )?;
    let (source, c2) = parse_list(
        p,
        "source",
        |s| Source::parse(s).map(|c| vec![c]),
        |c| view::source_idx(c.code()),
        Source::WHAT,
        Source::codes_list(),
    )?;
    let (status, c3) = if with_status {
        parse_list(
            p,
            "status",
            |s| {
                if s == "open" || s == "未办结" {
                    Some(
                        Status::ALL
                            .iter()
                            .copied()
                            .filter(|s| s.is_open())
                            .collect(),
                    )
                } else {
                    Status::parse(s).map(|c| vec![c])
                }
            },
            |c| view::status_idx(c.code()),
            Status::WHAT,
            format!("open (未办结), {}", Status::codes_list()),
        )?
    } else {
        (ALL, String::new())
    };
    let mut area = None;
    let mut c4 = String::new();
    if let Some(param) = area_param
        && let Some(code) = p.get(param)
    {
        let code = code.trim();
        let a = area_level(names, param, code)?;
        c4 = code.to_string();
        if a.level != Level::City {
            let k = area_column(a.level).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_area",
                    "不支持该层级的区域 (unsupported area level)",
                )
            })?;
            area = Some((k, codes.get(code).unwrap_or(NONE)));
        }
    }
    Ok(Filter {
        from,
        to,
        category,
        source,
        status,
        area,
        canonical: format!("{from}|{to}|{c1}|{c2}|{c3}|{c4}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_shanghai_days() {
        let t = parse_time("from", "2026-11-01", false).unwrap();
        assert_eq!(format_time(t).unwrap(), "2026-11-01T00:00:00+08:00");
        let e = parse_time("to", "2026-11-01", true).unwrap();
        assert_eq!(e - t, DAY_US);
        assert_eq!(local_day(t), local_day(e - 1));
        assert_eq!(day_start(local_day(t)), t);
        assert_eq!(format_day(local_day(t)), "2026-11-01");
        assert!(parse_time("from", "2026-13-01", false).is_err());
        assert_eq!(
            parse_time("from", "2026-11-01T00:00:00Z", false).unwrap() - t,
            8 * 3_600_000_000
        );
    }
}

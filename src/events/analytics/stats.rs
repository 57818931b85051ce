//! Statistics over the event view: per area, top areas and categories, trends.
//!
//! Each answer is one scan of the time window with dense accumulators indexed by interned
//! area code (no hashing in the loop). Definitions follow docs/EVENTS.md: open = not
//! closed/rejected; overdue = open and `deadline < now`; closure rate = closed / all;
//! handling time = `closed_at - reported_at` over closed events that have `closed_at`.

use super::AreaNames;
use super::filter::{Filter, Window};
use super::view::{AREA_LEVELS, NONE, ViewSnapshot, area_column, closed_idx, status_open};
use crate::events::filter::FilterError;
use crate::events::model::{Category, Source};
use crate::model::Level;
use crate::time::{day_start, format_day, format_time, local_day};
use serde::Serialize;

/// Counters of one group of events.
#[derive(Debug, Clone, Copy, Default)]
pub struct Acc {
    pub count: u64,
    pub open: u64,
    pub closed: u64,
    pub overdue: u64,
    handled: u64,
    handling_us: i128,
}

impl Acc {
    #[inline]
    fn add(&mut self, c: &super::view::Columns, i: usize, now: i64, closed: u8) {
        self.count += 1;
        let s = c.status[i];
        if status_open(s) {
            self.open += 1;
            if c.deadline[i] < now {
                self.overdue += 1;
            }
        }
        if s == closed {
            self.closed += 1;
            if c.closed_at[i] != super::view::NO_TIME {
                self.handled += 1;
                self.handling_us += (c.closed_at[i] - c.t[i]) as i128;
            }
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.count += o.count;
        self.open += o.open;
        self.closed += o.closed;
        self.overdue += o.overdue;
        self.handled += o.handled;
        self.handling_us += o.handling_us;
    }
}

/// One area's figures.
#[derive(Debug, Clone, Serialize)]
pub struct AreaStats {
    pub code: String,
    pub name: Option<String>,
    pub count: u64,
    pub open: u64,
    pub closed: u64,
    pub closure_rate: f64,
    pub overdue: u64,
    pub avg_handling_hours: Option<f64>,
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn area_stats(code: &str, name: Option<String>, a: &Acc) -> AreaStats {
    AreaStats {
        code: code.to_string(),
        name,
        count: a.count,
        open: a.open,
        closed: a.closed,
        closure_rate: if a.count == 0 {
            0.0
        } else {
            round(a.closed as f64 / a.count as f64, 4)
        },
        overdue: a.overdue,
        avg_handling_hours: (a.handled > 0)
            .then(|| round(a.handling_us as f64 / a.handled as f64 / 3.6e9, 2)),
    }
}

/// Accumulators per interned code at one level, plus the events with no code there.
pub fn by_area(view: &ViewSnapshot, f: &Filter, column: usize, now: i64) -> (Vec<Acc>, Acc) {
    let closed = closed_idx();
    let mut accs = vec![Acc::default(); view.codes.len()];
    let mut none = Acc::default();
    view.scan(f.from, f.to, |c, i| {
        if f.matches(c, i) {
            let id = c.area[column][i];
            if id == NONE {
                none.add(c, i, now, closed);
            } else {
                accs[id as usize].add(c, i, now, closed);
            }
        }
    });
    (accs, none)
}

/// `/api/stats/areas`: per area at one level.
#[derive(Debug, Clone, Serialize)]
pub struct AreasAnswer {
    pub level: Level,
    /// The `parent` parameter as given.
    pub parent: Option<String>,
    pub window: Window,
    pub total: AreaStats,
    /// Events with no area at this level (counted in `total`).
    pub unassigned: u64,
    /// Areas with at least one event, by code.
    pub areas: Vec<AreaStats>,
}

/// Figures per area at `level` (a level with a chain column) of the events passing `f`.
pub fn areas(
    view: &ViewSnapshot,
    names: &AreaNames,
    f: &Filter,
    level: Level,
    parent: Option<String>,
    now: i64,
) -> AreasAnswer {
    let column = area_column(level).unwrap_or(2);
    let (accs, none) = by_area(view, f, column, now);
    let mut total = none;
    let mut out: Vec<AreaStats> = accs
        .iter()
        .enumerate()
        .filter(|(_, a)| a.count > 0)
        .map(|(id, acc)| {
            total.merge(acc);
            let code = view.codes.code(id as u32);
            area_stats(code, names.get(code).map(|n| n.name.to_string()), acc)
        })
        .collect();
    out.sort_by(|a, b| a.code.cmp(&b.code));
    AreasAnswer {
        level,
        parent,
        window: f.window(),
        total: area_stats("", None, &total),
        unassigned: none.count,
        areas: out,
    }
}

/// `/api/stats/top`: the areas and categories with the most events.
#[derive(Debug, Clone, Serialize)]
pub struct TopAnswer {
    pub level: Level,
    pub window: Window,
    pub total: u64,
    pub areas: Vec<AreaStats>,
    /// `code` and `name` are the category's code and zh-CN label.
    pub categories: Vec<AreaStats>,
    /// Every source with events, most first (`code` and `name` its code and zh-CN label): the
    /// channels events came through, from the same scan.
    pub sources: Vec<AreaStats>,
}

/// The `limit` areas at `level` and the `limit` categories with the most events passing `f`,
/// and every source's count.
pub fn top(
    view: &ViewSnapshot,
    names: &AreaNames,
    f: &Filter,
    level: Level,
    limit: usize,
    now: i64,
) -> TopAnswer {
    let column = area_column(level).unwrap_or(2);
    let closed = closed_idx();
    let mut accs = vec![Acc::default(); view.codes.len()];
    let mut cats = vec![Acc::default(); Category::ALL.len()];
    let mut sources = vec![Acc::default(); Source::ALL.len()];
    let mut total = Acc::default();
    view.scan(f.from, f.to, |c, i| {
        if f.matches(c, i) {
            total.add(c, i, now, closed);
            let id = c.area[column][i];
            if id != NONE {
                accs[id as usize].add(c, i, now, closed);
            }
            if let Some(a) = cats.get_mut(c.category[i] as usize) {
                a.add(c, i, now, closed);
            }
            if let Some(a) = sources.get_mut(c.source[i] as usize) {
                a.add(c, i, now, closed);
            }
        }
    });
    let mut areas: Vec<(&str, Acc)> = accs
        .iter()
        .enumerate()
        .filter(|(_, a)| a.count > 0)
        .map(|(id, a)| (view.codes.code(id as u32), *a))
        .collect();
    areas.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    areas.truncate(limit);
    TopAnswer {
        level,
        window: f.window(),
        total: total.count,
        areas: areas
            .iter()
            .map(|(code, acc)| area_stats(code, names.get(*code).map(|n| n.name.to_string()), acc))
            .collect(),
        categories: ranked(Category::ALL, cats, limit, |c| (c.code(), c.label())),
        sources: ranked(Source::ALL, sources, usize::MAX, |s| (s.code(), s.label())),
    }
}

/// The values of a vocabulary that have events, most first (ties in the vocabulary's order), at
/// most `limit`, as answer rows with the value's code and zh-CN label.
fn ranked<T: Copy + Ord>(
    all: &[T],
    accs: Vec<Acc>,
    limit: usize,
    code_label: impl Fn(T) -> (&'static str, &'static str),
) -> Vec<AreaStats> {
    let mut rows: Vec<(T, Acc)> = all
        .iter()
        .copied()
        .zip(accs)
        .filter(|(_, a)| a.count > 0)
        .collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    rows.truncate(limit);
    rows.iter()
        .map(|(v, a)| {
            let (code, label) = code_label(*v);
            area_stats(code, Some(label.to_string()), a)
        })
        .collect()
}

/// Buckets of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// Beijing days.
    Day,
    /// Weeks starting on Monday (Beijing days).
    Week,
}

/// One bucket of a trend.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// The bucket's first day, `YYYY-MM-DD`.
    pub start: String,
    /// Its local midnight, RFC 3339 +08:00.
    pub start_time: Option<String>,
    pub count: u64,
    /// Events reported in the bucket that are closed now.
    pub closed: u64,
}

/// `/api/stats/trend`.
#[derive(Debug, Clone, Serialize)]
pub struct TrendAnswer {
    pub interval: Interval,
    pub timezone: &'static str,
    pub window: Window,
    pub total: u64,
    pub buckets: Vec<Bucket>,
}

/// The most buckets a trend may have (the window may touch one more, partly).
pub const MAX_BUCKETS: i64 = 5000;

/// Events passing `f` per bucket, from the window's start to its end (to today when open),
/// empty buckets included.
pub fn trend(
    view: &ViewSnapshot,
    f: &Filter,
    interval: Interval,
    now: i64,
) -> Result<TrendAnswer, FilterError> {
    let week = interval == Interval::Week;
    let last_t = if f.to == i64::MAX { now } else { f.to - 1 };
    let first_day = local_day(f.from);
    let last_day = local_day(last_t.max(f.from));
    // Weeks start on Monday; 1970-01-01 was a Thursday.
    let bucket_of = move |day: i64| if week { (day + 3).div_euclid(7) } else { day };
    let (b0, b1) = (bucket_of(first_day), bucket_of(last_day));
    if b1 - b0 > MAX_BUCKETS {
        return Err(FilterError::bad(
            "window_too_long",
            "时间范围内的分桶过多（最多 5000 个），请缩短 from 到 to 的范围或用 interval=week (too many buckets in the window; at most 5000)",
        ));
    }
    let closed = closed_idx();
    let mut counts = vec![(0u64, 0u64); (b1 - b0 + 1) as usize];
    view.scan(f.from, f.to, |c, i| {
        if f.matches(c, i) {
            let b = bucket_of(local_day(c.t[i])) - b0;
            if let Some(slot) = counts.get_mut(b as usize) {
                slot.0 += 1;
                if c.status[i] == closed {
                    slot.1 += 1;
                }
            }
        }
    });
    let buckets: Vec<Bucket> = counts
        .iter()
        .enumerate()
        .map(|(k, &(count, closed))| {
            let b = b0 + k as i64;
            let start_day = if week { b * 7 - 3 } else { b };
            Bucket {
                start: format_day(start_day),
                start_time: format_time(day_start(start_day)),
                count,
                closed,
            }
        })
        .collect();
    Ok(TrendAnswer {
        interval,
        timezone: "Asia/Shanghai",
        window: f.window(),
        total: counts.iter().map(|c| c.0).sum(),
        buckets,
    })
}

/// The levels statistics can be grouped by.
pub fn levels() -> Vec<&'static str> {
    AREA_LEVELS[..4].iter().map(|l| l.as_str()).collect()
}

//! Statistics over the event view: per area, top areas and categories, trends.
//!
//! Each answer is one scan of the time window with dense accumulators indexed by interned
//! area code (no hashing in the loop). Definitions follow docs/EVENTS.md: open = not
//! closed/rejected; overdue = open and `deadline < now`; closure rate = closed / all;
//! handling time = `closed_at - reported_at` over closed events that have `closed_at`.

use super::filter::{self, Filter, day_start, format_day, local_day};
use super::view::{AREA_LEVELS, NONE, ViewSnapshot, area_column, closed_idx, status_open};
use super::{EventAnalytics, not_ready};
use crate::api::AppState;
use crate::api::error::{ApiError, Params};
use crate::events::model::Category;
use crate::model::Level;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

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

fn parse_level(p: &Params, default: Level) -> Result<Level, ApiError> {
    let level = match p.get("level") {
        None => default,
        Some(s) => s.trim().parse::<Level>().map_err(|_| bad_level(s))?,
    };
    area_column(level).ok_or_else(|| bad_level(level.as_str()))?;
    if level == Level::Unit {
        return Err(bad_level("unit"));
    }
    Ok(level)
}

fn bad_level(s: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_level",
        format!(
            "参数 level 应为 district、town、village 或 grid，收到 '{}' (level must be district, town, village or grid)",
            s.chars().take(40).collect::<String>()
        ),
    )
}

fn ready(a: &EventAnalytics) -> Result<std::sync::Arc<ViewSnapshot>, ApiError> {
    if !a.is_loaded() {
        return Err(not_ready());
    }
    Ok(a.snapshot())
}

/// `GET /api/stats/areas?level=&parent=&category=&source=&from=&to=`
pub async fn areas(State(state): State<AppState>, p: Params) -> Result<Json<Value>, ApiError> {
    let a = &state.analytics;
    let view = ready(a)?;
    let names = a.names();
    let level = parse_level(&p, Level::Village)?;
    let f = filter::parse(&p, &view.codes, &names, Some("parent"), true)?;
    let column = area_column(level).unwrap_or(2);
    let now = filter::now_us();
    let (accs, none, f) = tokio::task::spawn_blocking(move || {
        let (accs, none) = by_area(&view, &f, column, now);
        let rows: Vec<(String, Acc)> = accs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.count > 0)
            .map(|(id, a)| (view.codes.code(id as u32).to_string(), *a))
            .collect();
        (rows, none, f)
    })
    .await
    .map_err(ApiError::internal)?;
    let mut total = none;
    let mut out: Vec<AreaStats> = accs
        .iter()
        .map(|(code, acc)| {
            total.merge(acc);
            area_stats(code, names.get(code).map(|n| n.name.clone()), acc)
        })
        .collect();
    out.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Json(json!({
        "level": level,
        "parent": p.get("parent"),
        "window": f.window_json(),
        "total": area_stats("", None, &total),
        "unassigned": none.count,
        "areas": out,
    })))
}

/// `GET /api/stats/top?level=&category=&source=&area=&from=&to=&limit=`
pub async fn top(State(state): State<AppState>, p: Params) -> Result<Json<Value>, ApiError> {
    let a = &state.analytics;
    let view = ready(a)?;
    let names = a.names();
    let level = parse_level(&p, Level::Village)?;
    let limit = p.integer_in("limit", 1..=1000, 10)? as usize;
    let f = filter::parse(&p, &view.codes, &names, Some("area"), true)?;
    let column = area_column(level).unwrap_or(2);
    let now = filter::now_us();
    let (areas, cats, total, f) = tokio::task::spawn_blocking(move || {
        let closed = closed_idx();
        let mut accs = vec![Acc::default(); view.codes.len()];
        let mut cats = vec![Acc::default(); Category::ALL.len()];
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
            }
        });
        let mut areas: Vec<(String, Acc)> = accs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.count > 0)
            .map(|(id, a)| (view.codes.code(id as u32).to_string(), *a))
            .collect();
        areas.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
        areas.truncate(limit);
        (areas, cats, total, f)
    })
    .await
    .map_err(ApiError::internal)?;
    let top_areas: Vec<AreaStats> = areas
        .iter()
        .map(|(code, acc)| area_stats(code, names.get(code).map(|n| n.name.clone()), acc))
        .collect();
    let mut top_cats: Vec<(Category, Acc)> = Category::ALL
        .iter()
        .zip(cats)
        .filter(|(_, a)| a.count > 0)
        .map(|(c, a)| (*c, a))
        .collect();
    top_cats.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    top_cats.truncate(limit);
    let top_cats: Vec<Value> = top_cats
        .iter()
        .map(|(c, a)| {
            let s = area_stats(c.code(), Some(c.label().to_string()), a);
            json!({
                "code": c.code(), "name": c.label(), "count": s.count, "open": s.open,
                "closed": s.closed, "closure_rate": s.closure_rate, "overdue": s.overdue,
                "avg_handling_hours": s.avg_handling_hours,
            })
        })
        .collect();
    Ok(Json(json!({
        "level": level,
        "window": f.window_json(),
        "total": total.count,
        "areas": top_areas,
        "categories": top_cats,
    })))
}

/// `GET /api/stats/trend?interval=day|week&category=&source=&area=&from=&to=`
pub async fn trend(State(state): State<AppState>, p: Params) -> Result<Json<Value>, ApiError> {
    let a = &state.analytics;
    let view = ready(a)?;
    let names = a.names();
    let week = match p.get("interval").map(str::trim) {
        None | Some("day") => false,
        Some("week") => true,
        Some(s) => {
            return Err(ApiError::bad_request(
                "invalid_interval",
                format!(
                    "参数 interval 应为 day 或 week，收到 '{}' (interval must be day or week)",
                    s.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    let f = filter::parse(&p, &view.codes, &names, Some("area"), true)?;
    let now = filter::now_us();
    // Buckets run from the window's start to its end, or to today when it is open.
    let last_t = if f.to == i64::MAX { now } else { f.to - 1 };
    let first_day = local_day(f.from);
    let last_day = local_day(last_t.max(f.from));
    // Weeks start on Monday; 1970-01-01 was a Thursday.
    let bucket_of = move |day: i64| if week { (day + 3).div_euclid(7) } else { day };
    let (b0, b1) = (bucket_of(first_day), bucket_of(last_day));
    if b1 - b0 > 5000 {
        return Err(ApiError::bad_request(
            "window_too_long",
            "时间范围内的分桶过多（最多 5000 个） (too many buckets in the window; at most 5000)",
        ));
    }
    let (counts, f) = tokio::task::spawn_blocking(move || {
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
        (counts, f)
    })
    .await
    .map_err(ApiError::internal)?;
    let buckets: Vec<Value> = counts
        .iter()
        .enumerate()
        .map(|(k, (n, closed))| {
            let b = b0 + k as i64;
            let start_day = if week { b * 7 - 3 } else { b };
            json!({
                "start": format_day(start_day),
                "start_time": filter::format_time(day_start(start_day)),
                "count": n,
                "closed": closed,
            })
        })
        .collect();
    Ok(Json(json!({
        "interval": if week { "week" } else { "day" },
        "timezone": "Asia/Shanghai",
        "window": f.window_json(),
        "total": counts.iter().map(|c| c.0).sum::<u64>(),
        "buckets": buckets,
    })))
}

/// The levels statistics can be grouped by.
pub fn levels() -> Vec<&'static str> {
    AREA_LEVELS[..4].iter().map(|l| l.as_str()).collect()
}

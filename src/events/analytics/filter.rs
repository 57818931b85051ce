//! The event filter (`crate::events::filter`) compiled against the in-memory view: vocabulary
//! lists as bit masks, the area as an interned code in its level's column. Statistics,
//! hotspots and event tiles scan the window `[from, to)` and test each row with
//! [`Filter::matches`].

use super::AreaNames;
use super::view::{self, Codes, Columns, NONE, ViewSnapshot, area_column};
use crate::events::filter::{self as domain, EventFilter, FilterError, FilterOptions};
use crate::model::Level;
use serde::Serialize;
use std::collections::HashMap;

/// Beijing-time RFC 3339 (the event tiles' `reported_at`); the one helper is `crate::time`.
pub use crate::time::format_time;

/// Bit set of vocabulary indices; `u32::MAX` = everything.
pub type Mask = u32;
pub const ALL: Mask = u32::MAX;

/// How the area part of a filter tests a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaMatch {
    Any,
    /// The city: every event with a chain (it has a district).
    Assigned,
    /// (column in `Columns::area`, interned code id; `NONE` when no event has the code).
    Code(usize, u32),
}

/// A filter compiled against one view.
#[derive(Debug, Clone)]
pub struct Filter {
    pub from: i64,
    /// Exclusive; `i64::MAX` when open.
    pub to: i64,
    pub category: Mask,
    pub source: Mask,
    pub status: Mask,
    pub area: AreaMatch,
    /// `EventFilter::canonical` of the filter, for cache keys.
    pub canonical: String,
}

/// The window of an answer: from/to in Beijing time, RFC 3339 (`null` when open).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Window {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn mask<T: Copy>(values: &[T], index: impl Fn(T) -> u8) -> Mask {
    if values.is_empty() {
        return ALL;
    }
    values
        .iter()
        .map(|&v| index(v))
        .filter(|&i| i < 32)
        .fold(0, |m, i| m | (1 << i))
}

/// Compiles `f` against the interned codes of a view (the list-only parts are not used).
pub fn compile(f: &EventFilter, codes: &Codes) -> Filter {
    let area = match &f.area {
        None => AreaMatch::Any,
        Some(a) if a.level == Level::City => AreaMatch::Assigned,
        Some(a) => match area_column(a.level) {
            Some(k) => AreaMatch::Code(k, codes.get(&a.code).unwrap_or(NONE)),
            None => AreaMatch::Code(0, NONE),
        },
    };
    Filter {
        from: f.from.unwrap_or(i64::MIN),
        to: f.to.unwrap_or(i64::MAX),
        category: mask(&f.categories, |c| view::category_idx(c.code())),
        source: mask(&f.sources, |c| view::source_idx(c.code())),
        status: mask(&f.statuses, |c| view::status_idx(c.code())),
        area,
        canonical: f.canonical(),
    }
}

impl Filter {
    /// True if row `i` passes everything but the time window (the scan applies that).
    #[inline]
    pub fn matches(&self, c: &Columns, i: usize) -> bool {
        (self.category == ALL || bit(self.category, c.category[i]))
            && (self.source == ALL || bit(self.source, c.source[i]))
            && (self.status == ALL || bit(self.status, c.status[i]))
            && match self.area {
                AreaMatch::Any => true,
                AreaMatch::Assigned => c.area[0][i] != NONE,
                AreaMatch::Code(k, id) => id != NONE && c.area[k][i] == id,
            }
    }

    /// The window in Beijing time.
    pub fn window(&self) -> Window {
        Window {
            from: crate::time::format_time(self.from),
            to: if self.to == i64::MAX {
                None
            } else {
                crate::time::format_time(self.to)
            },
        }
    }
}

#[inline]
fn bit(mask: Mask, v: u8) -> bool {
    v < 32 && mask & (1 << v) != 0
}

/// The level of an area code from the area names.
pub fn level_in(names: &AreaNames) -> impl Fn(&str) -> Option<Level> + '_ {
    |code: &str| names.get(code).map(|n| n.level)
}

/// Parses a query map with `opts` and compiles it against `view`: the one entry point of the
/// statistics, the hotspots and the event tiles.
pub fn parse_with(
    q: &HashMap<String, String>,
    opts: &FilterOptions,
    view: &ViewSnapshot,
    names: &AreaNames,
) -> Result<Filter, FilterError> {
    let f = domain::parse(q, opts, &level_in(names))?;
    Ok(compile(&f, &view.codes))
}

/// The event tiles' filter: `category`, `source`, `status`, `area`, `from`, `to` of a query map
/// (default window: the last 30 days), compiled against `view`; `Filter::canonical` is the
/// filter part of a cache key.
pub fn parse_query(
    q: &HashMap<String, String>,
    view: &ViewSnapshot,
    names: &AreaNames,
) -> Result<Filter, FilterError> {
    parse_with(q, &FilterOptions::ANALYTICS, view, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::filter::AreaScope;
    use crate::events::model::{Category, Status};

    #[test]
    fn compiled_masks_and_areas_select_rows() {
        let mut cols = Columns::default();
        let mut codes = Codes::default();
        let row = |id: i64, cat: Category, st: Status, village: Option<&str>| view::EventRow {
            id,
            lon: 119.0,
            lat: 25.4,
            t: id,
            category: view::category_idx(cat.code()),
            source: 0,
            status: view::status_idx(st.code()),
            priority: 0,
            deadline: 0,
            closed_at: view::NO_TIME,
            area: [
                village.map(|_| "d".to_string()),
                None,
                village.map(str::to_string),
                None,
                None,
            ],
        };
        for r in [
            row(1, Category::Traffic, Status::Closed, Some("v1")),
            row(2, Category::Traffic, Status::Reported, Some("v2")),
            row(3, Category::Dispute, Status::Accepted, None),
        ] {
            cols.push_row(&r, &mut codes, false);
        }
        let pass = |f: &EventFilter| -> Vec<i64> {
            let c = compile(f, &codes);
            (0..cols.len())
                .filter(|&i| c.matches(&cols, i))
                .map(|i| cols.id[i])
                .collect()
        };
        let area = |code: &str, level| {
            Some(AreaScope {
                code: code.into(),
                level,
            })
        };
        let open: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(pass(&EventFilter::default()), vec![1, 2, 3]);
        let f = EventFilter {
            statuses: open.clone(),
            ..Default::default()
        };
        assert_eq!(pass(&f), vec![2, 3]);
        let f = EventFilter {
            categories: vec![Category::Traffic],
            statuses: open,
            ..Default::default()
        };
        assert_eq!(pass(&f), vec![2]);
        let f = EventFilter {
            area: area("v1", Level::Village),
            ..Default::default()
        };
        assert_eq!(pass(&f), vec![1]);
        let f = EventFilter {
            area: area("nobody", Level::Village),
            ..Default::default()
        };
        assert_eq!(pass(&f), Vec::<i64>::new());
        let f = EventFilter {
            area: area("city", Level::City),
            ..Default::default()
        };
        assert_eq!(pass(&f), vec![1, 2], "the city: events with a chain");
        let w = compile(
            &EventFilter {
                from: Some(crate::time::day_start(
                    crate::time::parse_day("2026-11-01").unwrap(),
                )),
                ..Default::default()
            },
            &codes,
        )
        .window();
        assert_eq!(w.from.as_deref(), Some("2026-11-01T00:00:00+08:00"));
        assert_eq!(w.to, None);
    }
}

//! The in-memory event view: every event as columns, ordered for time-window scans.
//!
//! A `ViewSnapshot` is immutable and shared behind an `ArcSwap`. It holds a large *base*
//! (columns sorted by `reported_at`, then id) and a small *delta* (same layout) of rows that
//! were inserted or changed since the base was built; base rows superseded by the delta or
//! removed (the event was deleted) are flagged dead in a bitset. An upsert or a removal
//! therefore copies only the delta and the bitset (a few hundred KiB), never the base; when
//! the delta or the dead rows pass `MERGE_AT` the live rows are merged into a new base off the
//! async runtime. Invariants: both parts are sorted by `(t, id)`; an id is live in at most one
//! place (the delta wins); a removed id is live nowhere.
//!
//! Times are microseconds since the Unix epoch (as PostgreSQL stores them), so window
//! filters agree exactly with SQL on `timestamptz`.

use crate::events::model::{Category, Priority, Source, Status};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// No area at this level / no code.
pub const NONE: u32 = u32::MAX;
/// A missing time (`closed_at` of an open event).
pub const NO_TIME: i64 = i64::MIN;
/// Resolution of the H3 cell kept per event; tiles use its parents.
pub const CELL_RES: u8 = 9;
/// Above this many delta rows, the delta is merged into the base.
pub const MERGE_AT: usize = 50_000;

/// The area levels an event carries codes for, in column order.
pub const AREA_LEVELS: [crate::model::Level; 5] = [
    crate::model::Level::District,
    crate::model::Level::Town,
    crate::model::Level::Village,
    crate::model::Level::Grid,
    crate::model::Level::Unit,
];

/// Column index of a level in `Columns::area`, if events carry it.
pub fn area_column(level: crate::model::Level) -> Option<usize> {
    AREA_LEVELS.iter().position(|l| *l == level)
}

/// One event as read from the database (codes not yet interned).
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub t: i64,
    pub category: u8,
    pub source: u8,
    pub status: u8,
    pub priority: u8,
    pub deadline: i64,
    pub closed_at: i64,
    /// district, town, village, grid, unit
    pub area: [Option<String>; 5],
}

/// Position of a vocabulary value, or `u8::MAX` for a code this build does not know.
pub fn category_idx(code: &str) -> u8 {
    Category::ALL
        .iter()
        .position(|c| c.code() == code)
        .map_or(u8::MAX, |i| i as u8)
}
pub fn source_idx(code: &str) -> u8 {
    Source::ALL
        .iter()
        .position(|c| c.code() == code)
        .map_or(u8::MAX, |i| i as u8)
}
pub fn status_idx(code: &str) -> u8 {
    Status::ALL
        .iter()
        .position(|c| c.code() == code)
        .map_or(u8::MAX, |i| i as u8)
}
pub fn priority_idx(code: &str) -> u8 {
    Priority::ALL
        .iter()
        .position(|c| c.code() == code)
        .map_or(u8::MAX, |i| i as u8)
}

/// True if the status at this index is open (not closed, not rejected).
pub fn status_open(s: u8) -> bool {
    Status::ALL.get(s as usize).is_none_or(|s| s.is_open())
}

/// Index of `Status::Closed`.
pub fn closed_idx() -> u8 {
    status_idx(Status::Closed.code())
}

/// Area codes interned as dense u32 ids (append-only, shared by base and delta).
#[derive(Debug, Clone, Default)]
pub struct Codes {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Codes {
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    pub fn get(&self, code: &str) -> Option<u32> {
        self.ids.get(code).copied()
    }
    pub fn code(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }
    pub(crate) fn intern(&mut self, code: &str) -> u32 {
        if let Some(&i) = self.ids.get(code) {
            return i;
        }
        let s: Arc<str> = Arc::from(code);
        let i = self.names.len() as u32;
        self.names.push(s.clone());
        self.ids.insert(s, i);
        i
    }
    fn bytes(&self) -> usize {
        self.names.iter().map(|s| s.len() + 48).sum::<usize>()
    }
}

/// Events as columns.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub id: Vec<i64>,
    /// `reported_at`, µs since the epoch.
    pub t: Vec<i64>,
    pub lon: Vec<f64>,
    pub lat: Vec<f64>,
    /// H3 cell at `CELL_RES` (0 if the coordinate is not valid for H3).
    pub cell: Vec<u64>,
    pub category: Vec<u8>,
    pub source: Vec<u8>,
    pub status: Vec<u8>,
    pub priority: Vec<u8>,
    /// µs since the epoch.
    pub deadline: Vec<i64>,
    /// µs since the epoch, or `NO_TIME`.
    pub closed_at: Vec<i64>,
    /// Interned codes by `AREA_LEVELS`, `NONE` when absent.
    pub area: [Vec<u32>; 5],
}

fn cell_of(lon: f64, lat: f64) -> u64 {
    let res = h3o::Resolution::try_from(CELL_RES).unwrap_or(h3o::Resolution::Nine);
    h3o::LatLng::new(lat, lon)
        .map(|ll| u64::from(ll.to_cell(res)))
        .unwrap_or(0)
}

impl Columns {
    pub fn len(&self) -> usize {
        self.id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Appends a row; the cell is computed later by `fill_cells` (or here if `cell` is true).
    pub fn push_row(&mut self, r: &EventRow, codes: &mut Codes, cell: bool) {
        self.id.push(r.id);
        self.t.push(r.t);
        self.lon.push(r.lon);
        self.lat.push(r.lat);
        self.cell.push(if cell { cell_of(r.lon, r.lat) } else { 0 });
        self.category.push(r.category);
        self.source.push(r.source);
        self.status.push(r.status);
        self.priority.push(r.priority);
        self.deadline.push(r.deadline);
        self.closed_at.push(r.closed_at);
        for (k, c) in r.area.iter().enumerate() {
            self.area[k].push(c.as_deref().map_or(NONE, |c| codes.intern(c)));
        }
    }

    /// Appends a row whose codes are all in `codes` (checked by the caller).
    fn push_known_row(&mut self, r: &EventRow, codes: &Codes) {
        let ids: [u32; 5] = std::array::from_fn(|k| {
            r.area[k]
                .as_deref()
                .and_then(|c| codes.get(c))
                .unwrap_or(NONE)
        });
        self.id.push(r.id);
        self.t.push(r.t);
        self.lon.push(r.lon);
        self.lat.push(r.lat);
        self.cell.push(cell_of(r.lon, r.lat));
        self.category.push(r.category);
        self.source.push(r.source);
        self.status.push(r.status);
        self.priority.push(r.priority);
        self.deadline.push(r.deadline);
        self.closed_at.push(r.closed_at);
        for (k, id) in ids.into_iter().enumerate() {
            self.area[k].push(id);
        }
    }

    fn push_from(&mut self, o: &Columns, i: usize) {
        self.id.push(o.id[i]);
        self.t.push(o.t[i]);
        self.lon.push(o.lon[i]);
        self.lat.push(o.lat[i]);
        self.cell.push(o.cell[i]);
        self.category.push(o.category[i]);
        self.source.push(o.source[i]);
        self.status.push(o.status[i]);
        self.priority.push(o.priority[i]);
        self.deadline.push(o.deadline[i]);
        self.closed_at.push(o.closed_at[i]);
        for k in 0..5 {
            self.area[k].push(o.area[k][i]);
        }
    }

    /// Computes every row's H3 cell, in parallel.
    pub fn fill_cells(&mut self) {
        self.cell = self
            .lon
            .par_iter()
            .zip(self.lat.par_iter())
            .map(|(&lon, &lat)| cell_of(lon, lat))
            .collect();
    }

    /// These columns sorted by (t, id).
    pub fn sorted(self) -> Columns {
        let mut perm: Vec<u32> = (0..self.len() as u32).collect();
        perm.par_sort_unstable_by_key(|&i| (self.t[i as usize], self.id[i as usize]));
        let mut out = Columns::with_capacity(self.len());
        for &i in &perm {
            out.push_from(&self, i as usize);
        }
        out
    }

    fn with_capacity(n: usize) -> Columns {
        Columns {
            id: Vec::with_capacity(n),
            t: Vec::with_capacity(n),
            lon: Vec::with_capacity(n),
            lat: Vec::with_capacity(n),
            cell: Vec::with_capacity(n),
            category: Vec::with_capacity(n),
            source: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            priority: Vec::with_capacity(n),
            deadline: Vec::with_capacity(n),
            closed_at: Vec::with_capacity(n),
            area: std::array::from_fn(|_| Vec::with_capacity(n)),
        }
    }

    /// Row range with `from <= t < to` (the columns are sorted by t).
    pub fn window(&self, from: i64, to: i64) -> std::ops::Range<usize> {
        let lo = self.t.partition_point(|&t| t < from);
        let hi = self.t.partition_point(|&t| t < to).max(lo);
        lo..hi
    }

    fn bytes(&self) -> usize {
        self.len() * (8 * 7 + 4 + 4 * 5)
    }
}

/// Size and timing figures of the view, for /readyz and the benchmark.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ViewStats {
    pub events: usize,
    pub base_rows: usize,
    pub delta_rows: usize,
    pub area_codes: usize,
    /// Approximate heap memory, bytes.
    pub memory_bytes: usize,
    /// Time of the last full load (fetch + build), ms.
    pub load_ms: u64,
    /// Number of changes (upserts and removals) applied since the last full load.
    pub upserts: u64,
    /// Bumped by every change: a cache key part.
    pub generation: u64,
}

/// One immutable version of the view.
#[derive(Clone, Default)]
pub struct ViewSnapshot {
    pub codes: Arc<Codes>,
    base: Arc<Columns>,
    /// (id, row) of the base, sorted by id.
    /// Base rows ordered by id (row numbers only: the id is read from the base, 4 bytes an
    /// event instead of 16 for (id, row) pairs).
    base_by_id: Arc<Vec<u32>>,
    /// Bit per base row: superseded by the delta.
    dead: Arc<Vec<u64>>,
    delta: Arc<Columns>,
    pub stats: ViewStats,
}

impl ViewSnapshot {
    /// A snapshot over `cols` (any order; cells may be unset).
    pub fn build(mut cols: Columns, codes: Codes, load_ms: u64, generation: u64) -> ViewSnapshot {
        cols.fill_cells();
        Self::from_sorted(cols.sorted(), codes, load_ms, generation)
    }

    fn from_sorted(base: Columns, codes: Codes, load_ms: u64, generation: u64) -> ViewSnapshot {
        let mut by_id: Vec<u32> = (0..base.len() as u32).collect();
        by_id.par_sort_unstable_by_key(|&i| base.id[i as usize]);
        let dead = vec![0u64; base.len().div_ceil(64)];
        let mut s = ViewSnapshot {
            codes: Arc::new(codes),
            base: Arc::new(base),
            base_by_id: Arc::new(by_id),
            dead: Arc::new(dead),
            delta: Arc::new(Columns::default()),
            stats: ViewStats {
                load_ms,
                generation,
                ..Default::default()
            },
        };
        s.refresh_stats();
        s
    }

    fn refresh_stats(&mut self) {
        let dead: usize = self.dead.iter().map(|w| w.count_ones() as usize).sum();
        self.stats.base_rows = self.base.len();
        self.stats.delta_rows = self.delta.len();
        self.stats.events = self.base.len() - dead + self.delta.len();
        self.stats.area_codes = self.codes.len();
        self.stats.memory_bytes = self.base.bytes()
            + self.delta.bytes()
            + self.base_by_id.len() * 4
            + self.dead.len() * 8
            + self.codes.bytes();
    }

    pub fn len(&self) -> usize {
        self.stats.events
    }
    pub fn is_empty(&self) -> bool {
        self.stats.events == 0
    }

    fn is_dead(&self, i: usize) -> bool {
        self.dead[i / 64] & (1 << (i % 64)) != 0
    }

    /// Calls `f(columns, row)` for every live event with `from <= t < to`, in time order
    /// within each part (base, then delta).
    #[inline]
    pub fn scan(&self, from: i64, to: i64, mut f: impl FnMut(&Columns, usize)) {
        let base = &*self.base;
        let any_dead = self.stats.base_rows + self.stats.delta_rows != self.stats.events;
        for i in base.window(from, to) {
            if any_dead && self.is_dead(i) {
                continue;
            }
            f(base, i);
        }
        let delta = &*self.delta;
        for i in delta.window(from, to) {
            f(delta, i);
        }
    }

    /// The whole time span of the data, (min t, max t), if any.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let firsts = [self.base.t.first(), self.delta.t.first()];
        let lasts = [self.base.t.last(), self.delta.t.last()];
        let lo = firsts.into_iter().flatten().min()?;
        let hi = lasts.into_iter().flatten().max()?;
        Some((*lo, *hi))
    }

    /// The ids of the live events with `lo <= id <= hi`, ascending.
    pub fn ids_in(&self, lo: i64, hi: i64) -> Vec<i64> {
        let by_id = &*self.base_by_id;
        let id = |row: &u32| self.base.id[*row as usize];
        let a = by_id.partition_point(|r| id(r) < lo);
        let b = by_id.partition_point(|r| id(r) <= hi);
        let mut out: Vec<i64> = by_id[a..b]
            .iter()
            .filter(|&&r| !self.is_dead(r as usize))
            .map(id)
            .collect();
        out.extend(self.delta.id.iter().filter(|&&id| lo <= id && id <= hi));
        out.sort_unstable();
        out
    }

    /// A new version with `rows` inserted or replacing the rows of the same id. Returns the
    /// new snapshot; merges the delta into the base when it has grown large.
    pub fn upserted(&self, rows: &[EventRow]) -> ViewSnapshot {
        self.changed(rows, &[])
    }

    /// A new version without the events `gone` (ids the view does not hold are ignored).
    pub fn removed(&self, gone: &[i64]) -> ViewSnapshot {
        self.changed(&[], gone)
    }

    /// A new version with the events `gone` removed, then `rows` inserted or replacing the
    /// rows of the same id (so an id in both ends up as its row). One generation per call.
    ///
    /// Both keep the invariants: a base row of a touched id is flagged dead (never edited), a
    /// delta row of a touched id is dropped, and the rows are pushed into a re-sorted delta.
    /// When the delta or the dead rows pass `MERGE_AT`, everything live is merged into a new
    /// base, so deletions cannot make the base grow stale without bound.
    pub fn changed(&self, rows: &[EventRow], gone: &[i64]) -> ViewSnapshot {
        // The interner is shared unless a row brings a code never seen (rare after the load).
        let known = rows
            .iter()
            .all(|r| r.area.iter().flatten().all(|c| self.codes.get(c).is_some()));
        let mut codes = if known {
            None
        } else {
            Some((*self.codes).clone())
        };
        let touched: HashSet<i64> = rows
            .iter()
            .map(|r| r.id)
            .chain(gone.iter().copied())
            .collect();
        let mut dead = (*self.dead).clone();
        for id in &touched {
            if let Ok(k) = self
                .base_by_id
                .binary_search_by_key(id, |&r| self.base.id[r as usize])
            {
                let i = self.base_by_id[k] as usize;
                dead[i / 64] |= 1 << (i % 64);
            }
        }
        let mut delta = Columns::with_capacity(self.delta.len() + rows.len());
        for i in 0..self.delta.len() {
            if !touched.contains(&self.delta.id[i]) {
                delta.push_from(&self.delta, i);
            }
        }
        // Last write wins when a batch names one id twice.
        let mut latest: HashMap<i64, &EventRow> = HashMap::new();
        for r in rows {
            latest.insert(r.id, r);
        }
        let mut fresh: Vec<&EventRow> = latest.into_values().collect();
        fresh.sort_unstable_by_key(|r| r.id);
        for r in fresh {
            match codes.as_mut() {
                Some(c) => delta.push_row(r, c, true),
                None => delta.push_known_row(r, &self.codes),
            }
        }
        let codes = codes.map_or_else(|| self.codes.clone(), Arc::new);
        let delta = delta.sorted();
        let generation = self.stats.generation + 1;
        let dead_rows: usize = dead.iter().map(|w| w.count_ones() as usize).sum();
        if delta.len() > MERGE_AT || dead_rows > MERGE_AT {
            let mut merged = Columns::with_capacity(self.base.len() - dead_rows + delta.len());
            for i in 0..self.base.len() {
                if dead[i / 64] & (1 << (i % 64)) == 0 {
                    merged.push_from(&self.base, i);
                }
            }
            for i in 0..delta.len() {
                merged.push_from(&delta, i);
            }
            let codes = Arc::try_unwrap(codes).unwrap_or_else(|c| (*c).clone());
            let mut s = Self::from_sorted(merged.sorted(), codes, self.stats.load_ms, generation);
            s.stats.upserts = self.stats.upserts + 1;
            return s;
        }
        let mut s = ViewSnapshot {
            codes,
            base: self.base.clone(),
            base_by_id: self.base_by_id.clone(),
            dead: Arc::new(dead),
            delta: Arc::new(delta),
            stats: self.stats.clone(),
        };
        s.stats.generation = generation;
        s.stats.upserts += 1;
        s.refresh_stats();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, t: i64, status: &str, village: &str) -> EventRow {
        EventRow {
            id,
            lon: 119.0 + id as f64 * 1e-3,
            lat: 25.4,
            t,
            category: 0,
            source: 0,
            status: status_idx(status),
            priority: 1,
            deadline: t + 10,
            closed_at: NO_TIME,
            area: [Some("d".into()), None, Some(village.into()), None, None],
        }
    }

    fn ids(s: &ViewSnapshot, from: i64, to: i64) -> Vec<i64> {
        let mut v = Vec::new();
        s.scan(from, to, |c, i| v.push(c.id[i]));
        v
    }

    #[test]
    fn upserts_replace_rows_and_windows_follow_time() {
        let mut cols = Columns::default();
        let mut codes = Codes::default();
        for (id, t) in [(1, 30), (2, 10), (3, 20)] {
            cols.push_row(&row(id, t, "reported", "v1"), &mut codes, false);
        }
        let s = ViewSnapshot::build(cols, codes, 0, 0);
        assert_eq!(ids(&s, 0, 100), vec![2, 3, 1]);
        assert_eq!(ids(&s, 10, 30), vec![2, 3]);
        // Event 3 moves in time and changes status; event 4 is new.
        let s2 = s.upserted(&[row(3, 40, "closed", "v2"), row(4, 15, "reported", "v1")]);
        assert_eq!(s2.len(), 4);
        let mut all = ids(&s2, 0, 100);
        all.sort();
        assert_eq!(all, vec![1, 2, 3, 4]);
        assert_eq!(ids(&s2, 20, 30), Vec::<i64>::new());
        assert_eq!(ids(&s2, 40, 41), vec![3]);
        assert_eq!(s2.stats.generation, 1);
        // The old version is untouched.
        assert_eq!(ids(&s, 20, 21), vec![3]);
        // Upserting the same id again keeps one row.
        let s3 = s2.upserted(&[row(3, 40, "closed", "v2")]);
        assert_eq!(s3.len(), 4);
        assert!(s3.codes.get("v2").is_some());
    }

    fn live(s: &ViewSnapshot) -> Vec<i64> {
        let mut v = ids(s, i64::MIN, i64::MAX);
        v.sort_unstable();
        v
    }

    #[test]
    fn removals_leave_every_part_and_keep_the_old_version() {
        let mut cols = Columns::default();
        let mut codes = Codes::default();
        for id in 1..=6 {
            cols.push_row(&row(id, id * 10, "reported", "v1"), &mut codes, false);
        }
        let s = ViewSnapshot::build(cols, codes, 0, 7);
        // 3 moves to the delta; 7 is new (delta only).
        let s1 = s.upserted(&[row(3, 35, "closed", "v1"), row(7, 5, "reported", "v2")]);
        // A base row (2), a superseded base row now in the delta (3), a delta-only row (7) and
        // an id the view never held (99).
        let s2 = s1.removed(&[2, 3, 7, 99]);
        assert_eq!(live(&s2), vec![1, 4, 5, 6]);
        assert_eq!(s2.len(), 4);
        assert_eq!((s2.stats.base_rows, s2.stats.delta_rows), (6, 0));
        assert_eq!(s2.stats.generation, s1.stats.generation + 1);
        assert_eq!(s2.ids_in(0, 100), vec![1, 4, 5, 6]);
        assert_eq!(s2.ids_in(2, 4), vec![4]);
        assert_eq!(s1.ids_in(2, 7), vec![2, 3, 4, 5, 6, 7]);
        // The old versions are untouched.
        assert_eq!(
            ids(&s1, 0, 100),
            vec![1, 2, 4, 5, 6, 7, 3],
            "base, then delta"
        );
        assert_eq!(s1.len(), 7);
        // Removing again is a no-op but still a new generation (a cache key part).
        let s3 = s2.removed(&[2]);
        assert_eq!(live(&s3), vec![1, 4, 5, 6]);
        // A removed id can come back (inserted again with the same id).
        let s4 = s3.upserted(&[row(2, 20, "accepted", "v1")]);
        assert_eq!(live(&s4), vec![1, 2, 4, 5, 6]);
        // In one change, the row wins over the removal of its id.
        let s5 = s4.changed(&[row(5, 50, "closed", "v1")], &[5, 6]);
        assert_eq!(live(&s5), vec![1, 2, 4, 5]);
        assert_eq!(s5.len(), 4);
        // Everything removed.
        let s6 = s5.removed(&[1, 2, 4, 5]);
        assert!(s6.is_empty());
        assert_eq!(ids(&s6, i64::MIN, i64::MAX), Vec::<i64>::new());
        assert!(s6.ids_in(i64::MIN, i64::MAX).is_empty());
    }

    #[test]
    fn many_removals_merge_into_a_new_base() {
        let n = MERGE_AT as i64 + 10;
        let mut cols = Columns::default();
        let mut codes = Codes::default();
        for id in 1..=n {
            cols.push_row(&row(id, id, "reported", "v1"), &mut codes, false);
        }
        let s = ViewSnapshot::build(cols, codes, 0, 0);
        let s1 = s.removed(&(1..=MERGE_AT as i64 / 2).collect::<Vec<_>>());
        assert_eq!(
            s1.stats.base_rows, n as usize,
            "below MERGE_AT: flagged, not merged"
        );
        assert_eq!(s1.len(), n as usize - MERGE_AT / 2);
        let s2 = s1.removed(&(1..=MERGE_AT as i64 + 1).collect::<Vec<_>>());
        assert_eq!(s2.stats.base_rows, 9, "past MERGE_AT dead rows: a new base");
        assert_eq!(s2.len(), 9);
        assert_eq!(
            ids(&s2, 0, n + 1),
            (MERGE_AT as i64 + 2..=n).collect::<Vec<_>>()
        );
        assert_eq!(s2.stats.generation, 2);
    }
}

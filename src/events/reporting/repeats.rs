//! Repeat detection: which open original a new report repeats — a stored event (candidates read
//! from the database in the same transaction, `store::events::open_originals`) or an earlier row of
//! the same batch. One rule and one distance for both, computed here, so every server links a
//! report the same way for the same stored state.
//!
//! Rule: same category, great-circle distance within the category's radius, and the original
//! reported no later than the repeat and at most the category's window before it. A stored
//! original wins over a row of the batch; among stored ones the nearest wins, then the
//! earliest reported, then the lowest id; among batch rows the nearest, then the earliest
//! reported, then the first in the batch. A row that repeats something is never itself an
//! original.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use crate::geom::metric::sphere_distance_m;

/// A new row of a batch.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub category: &'static str,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
}

/// A stored open original (not closed, not rejected, not itself a repeat).
pub use crate::store::events::OpenOriginal as Stored;

/// A category's repeat rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub radius_m: f64,
    pub window_h: f64,
}

impl Rule {
    fn active(self) -> bool {
        self.radius_m > 0.0 && self.window_h > 0.0
    }

    fn window(self) -> chrono::Duration {
        chrono::Duration::milliseconds((self.window_h * 3_600_000.0) as i64)
    }
}

/// What a new row repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A stored event, by id.
    Stored(i64),
    /// An earlier row of the batch, by position.
    InBatch(usize),
}

/// Points bucketed by category and cell, cells at least one radius wide at every latitude up
/// to `max_lat`, so every match of a point lies in the 3×3 block around its cell.
struct Cells<'a> {
    max_lat_cos: f64,
    buckets: HashMap<(&'a str, i64, i64), Vec<usize>>,
}

impl<'a> Cells<'a> {
    fn new(max_lat: f64) -> Cells<'a> {
        Cells {
            max_lat_cos: max_lat.abs().min(89.0).to_radians().cos(),
            buckets: HashMap::new(),
        }
    }

    fn cell(&self, rule: Rule, lon: f64, lat: f64) -> (i64, i64) {
        let cy = rule.radius_m / 110_000.0;
        let cx = rule.radius_m / (111_320.0 * self.max_lat_cos) * 1.01;
        ((lon / cx).floor() as i64, (lat / cy).floor() as i64)
    }

    fn insert(&mut self, category: &'a str, rule: Rule, lon: f64, lat: f64, i: usize) {
        let (kx, ky) = self.cell(rule, lon, lat);
        self.buckets.entry((category, kx, ky)).or_default().push(i);
    }

    /// Every bucketed item near `(lon, lat)` in `category`.
    fn near(
        &self,
        category: &'a str,
        rule: Rule,
        lon: f64,
        lat: f64,
    ) -> impl Iterator<Item = usize> + '_ {
        let (kx, ky) = self.cell(rule, lon, lat);
        (-1..=1)
            .flat_map(move |dx| (-1..=1).map(move |dy| (kx + dx, ky + dy)))
            .filter_map(move |(x, y)| self.buckets.get(&(category, x, y)))
            .flatten()
            .copied()
    }
}

/// For each row, the original it repeats, if any: stored originals first, then earlier rows.
pub fn link(
    rows: &[Candidate],
    stored: &[Stored],
    rule: impl Fn(&str) -> Option<Rule>,
) -> Vec<Option<Link>> {
    let max_lat = rows
        .iter()
        .map(|r| r.lat.abs())
        .chain(stored.iter().map(|s| s.lat.abs()))
        .fold(0.0_f64, f64::max);
    let mut stored_cells = Cells::new(max_lat);
    for (i, s) in stored.iter().enumerate() {
        if let Some(k) = rule(&s.category).filter(|k| k.active()) {
            stored_cells.insert(&s.category, k, s.lon, s.lat, i);
        }
    }
    let mut batch_cells = Cells::new(max_lat);
    let mut out = vec![None; rows.len()];
    for (i, r) in rows.iter().enumerate() {
        let Some(k) = rule(r.category).filter(|k| k.active()) else {
            continue;
        };
        let earliest = r.reported_at - k.window();
        let in_reach = |lon: f64, lat: f64, at: DateTime<Utc>| -> Option<f64> {
            if at > r.reported_at || at < earliest {
                return None;
            }
            let d = sphere_distance_m(lon, lat, r.lon, r.lat);
            (d <= k.radius_m).then_some(d)
        };
        let best_stored = stored_cells
            .near(r.category, k, r.lon, r.lat)
            .filter_map(|j| {
                let s = &stored[j];
                in_reach(s.lon, s.lat, s.reported_at).map(|d| (d, s.reported_at, s.id))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        if let Some((_, _, id)) = best_stored {
            out[i] = Some(Link::Stored(id));
            continue;
        }
        let best_in_batch = batch_cells
            .near(r.category, k, r.lon, r.lat)
            .filter_map(|j| {
                let o = &rows[j];
                in_reach(o.lon, o.lat, o.reported_at).map(|d| (d, o.reported_at, j))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        match best_in_batch {
            Some((_, _, j)) => out[i] = Some(Link::InBatch(j)),
            None => batch_cells.insert(r.category, k, r.lon, r.lat, i),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + h * 3600, 0).unwrap()
    }

    fn c(category: &'static str, lon: f64, lat: f64, h: i64) -> Candidate {
        Candidate {
            category,
            lon,
            lat,
            reported_at: at(h),
        }
    }

    #[test]
    fn nearest_earlier_original_of_the_same_category_wins() {
        let rule = |_: &str| {
            Some(Rule {
                radius_m: 50.0,
                window_h: 24.0,
            })
        };
        // 1e-4 degree of latitude is about 11 m.
        let rows = [
            c("traffic", 119.0, 25.4, 0),
            c("traffic", 119.0, 25.4003, 1), // 33 m from 0: repeat of 0
            c("traffic", 119.0, 25.4006, 2), // 33 m from 1 (a repeat), 66 m from 0: original
            c("dispute", 119.0, 25.4, 3),    // other category: original
            c("traffic", 119.0, 25.4001, 30), // beyond the window of 0, 28 h after 2: original
            c("traffic", 119.0, 25.4005, 2), // 11 m from 2, 55 m from 0: repeat of 2
        ];
        let got = link(&rows, &[], rule);
        let b = |j| Some(Link::InBatch(j));
        assert_eq!(got, vec![None, b(0), None, None, None, b(2)]);
    }

    #[test]
    fn distance_matches_postgis_sphere() {
        // ST_DistanceSphere('POINT(119 25.4)', 'POINT(119.001 25.401)') in PostGIS 3.3.
        // PostGIS 3.3 prints 149.84575213 (its float8 output, 15 significant digits).
        let d = sphere_distance_m(119.0, 25.4, 119.001, 25.401);
        assert!((d - 149.84575213).abs() < 5e-9, "{d}");
    }

    #[test]
    fn a_stored_original_wins_over_the_batch_and_ties_go_to_the_lowest_id() {
        let rule = |_: &str| {
            Some(Rule {
                radius_m: 50.0,
                window_h: 24.0,
            })
        };
        let stored = |id, lat, h| Stored {
            id,
            category: "traffic".into(),
            lon: 119.0,
            lat,
            reported_at: at(h),
        };
        let rows = [
            c("traffic", 119.0, 25.4, 5), // 11 m from 8 and 7 (one place, one time): id 7
            c("traffic", 119.0, 25.4004, 6), // 33 m from 7 and 8: a stored original
            c("traffic", 119.0, 25.4100, 6), // 1 km away: original
            c("traffic", 119.0, 25.40985, 7), // 17 m from row 2: repeat of it
            c("dispute", 119.0, 25.4, 6), // other category: original
        ];
        let got = link(
            &rows,
            &[
                stored(8, 25.4001, 1),
                stored(7, 25.4001, 1),
                stored(9, 25.4, 30), // reported after every row: never an original for them
            ],
            rule,
        );
        assert_eq!(
            got,
            vec![
                Some(Link::Stored(7)),
                Some(Link::Stored(7)),
                None,
                Some(Link::InBatch(2)),
                None
            ]
        );
    }
}

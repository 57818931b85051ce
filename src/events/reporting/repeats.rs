//! Repeat detection inside one batch: which earlier row of the same batch a new report
//! repeats. Stored originals are found in SQL (`store::events::find_originals`); this covers
//! the rows that are not committed yet.
//!
//! Rule (the same as the SQL side): same category, great-circle distance within the
//! category's radius, and the original reported no later than the repeat and at most the
//! category's window before it. The nearest original wins, then the earliest reported, then
//! the first in the batch. A row that repeats something is never itself an original.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The sphere radius `ST_DistanceSphere` uses, so both sides measure alike.
const SPHERE_RADIUS_M: f64 = 6_370_986.0;

/// Great-circle distance in metres (haversine on PostGIS's sphere).
pub fn sphere_distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * SPHERE_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// A new row of a batch, for in-batch repeat detection.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub category: &'static str,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
    /// Already a repeat of a stored event: not an original for later rows.
    pub repeats_stored: bool,
}

/// A category's repeat rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub radius_m: f64,
    pub window_h: f64,
}

/// For each row, the index of the earlier row of the batch it repeats, if any.
pub fn in_batch(rows: &[Candidate], rule: impl Fn(&str) -> Option<Rule>) -> Vec<Option<usize>> {
    let mut out = vec![None; rows.len()];
    // Cells at least one radius wide in both directions at every latitude of the batch, so a
    // match is always in the 3×3 block around a row's cell.
    let max_lat = rows
        .iter()
        .map(|r| r.lat.abs())
        .fold(0.0_f64, f64::max)
        .min(89.0);
    let mut cells: HashMap<(&'static str, i64, i64), Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let Some(rule) = rule(r.category).filter(|k| k.radius_m > 0.0 && k.window_h > 0.0) else {
            continue;
        };
        let cy = rule.radius_m / 110_000.0;
        let cx = rule.radius_m / (111_320.0 * max_lat.to_radians().cos()) * 1.01;
        let (kx, ky) = ((r.lon / cx).floor() as i64, (r.lat / cy).floor() as i64);
        if r.repeats_stored {
            continue;
        }
        let window = chrono::Duration::milliseconds((rule.window_h * 3_600_000.0) as i64);
        let mut best: Option<(f64, DateTime<Utc>, usize)> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                let Some(list) = cells.get(&(r.category, kx + dx, ky + dy)) else {
                    continue;
                };
                for &j in list {
                    let o = &rows[j];
                    if o.reported_at > r.reported_at || o.reported_at < r.reported_at - window {
                        continue;
                    }
                    let d = sphere_distance_m(o.lon, o.lat, r.lon, r.lat);
                    if d > rule.radius_m {
                        continue;
                    }
                    let key = (d, o.reported_at, j);
                    if best.is_none_or(|b| {
                        (key.0, key.1, key.2)
                            .partial_cmp(&(b.0, b.1, b.2))
                            .is_some_and(|o| o.is_lt())
                    }) {
                        best = Some(key);
                    }
                }
            }
        }
        match best {
            Some((_, _, j)) => out[i] = Some(j),
            None => cells.entry((r.category, kx, ky)).or_default().push(i),
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
            repeats_stored: false,
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
        let got = in_batch(&rows, rule);
        assert_eq!(got, vec![None, Some(0), None, None, None, Some(2)]);
    }

    #[test]
    fn distance_matches_postgis_sphere() {
        // ST_DistanceSphere('POINT(119 25.4)', 'POINT(119.001 25.401)') = 150.26 m.
        let d = sphere_distance_m(119.0, 25.4, 119.001, 25.401);
        assert!((d - 150.26).abs() < 0.05, "{d}");
    }
}

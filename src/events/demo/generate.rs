//! Drawing the demo events: where, when, what, and how far through the loop each has got.
//!
//! Everything comes from one seeded ChaCha stream, so the same seed, count, span and end time
//! give the same events. The events are returned sorted by report time (ids then rise with
//! time, as they would in production).

use crate::events::model::{Category, Priority, Source, Status};
use crate::geom::flat::FlatShape;
use crate::model::Level;
use crate::store::areas::AreaShape;
use crate::time;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoEventParams {
    pub seed: u64,
    pub count: usize,
    /// The end of the span ("now" of the demo); events are reported before it.
    pub until: DateTime<Utc>,
    /// Length of the span in days.
    pub days: u32,
}

impl Default for DemoEventParams {
    fn default() -> DemoEventParams {
        let now = Utc::now();
        DemoEventParams {
            seed: 3503,
            count: 100_000,
            until: Utc
                .timestamp_opt(now.timestamp() - now.timestamp() % 3600, 0)
                .single()
                .unwrap_or(now),
            days: 730,
        }
    }
}

/// A generated event, before assignment (the loader assigns it with the index).
#[derive(Debug, Clone)]
pub struct DemoEvent {
    pub category: Category,
    /// Index into `text::subcategories(category)`.
    pub sub: u8,
    pub source: Source,
    pub priority: Priority,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
    /// Every status change after `reported`, in order, with its time (all ≤ `until`).
    pub steps: Vec<(Status, DateTime<Utc>)>,
    /// Index of the original event this one repeats.
    pub duplicate_of: Option<u32>,
    pub repeat_count: u32,
    /// Seed for the reporter's name.
    pub pick: u64,
    /// The planted hotspot this report belongs to, if any.
    pub spot: Option<u16>,
}

impl DemoEvent {
    pub fn status(&self) -> Status {
        self.steps.last().map(|s| s.0).unwrap_or(Status::Reported)
    }
    /// When it was last resolved, if it was.
    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.0 == Status::Resolved)
            .map(|s| s.1)
    }
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        (self.status() == Status::Closed).then(|| self.steps.last().map(|s| s.1))?
    }
}

/// A unit events can be reported in.
struct Site {
    bbox: [f64; 4],
    geom: FlatShape,
}

/// Where events happen: units of urban streets (街道) and of rural towns, drawn uniformly by
/// unit, so dense neighbourhoods (many small units) report more per km², as they do.
pub struct Places {
    urban: Vec<Site>,
    rural: Vec<Site>,
}

impl Places {
    /// From the index rows of the loaded city (units with geometry, towns with names).
    pub fn from_rows(rows: &[AreaShape]) -> Places {
        let street: HashMap<&str, bool> = rows
            .iter()
            .filter(|r| r.level == Level::Town)
            .map(|r| (&*r.code, r.name.ends_with("街道")))
            .collect();
        let (mut urban, mut rural) = (Vec::new(), Vec::new());
        let mut units: Vec<&AreaShape> = rows.iter().filter(|r| r.level == Level::Unit).collect();
        units.sort_by(|a, b| a.code.cmp(&b.code));
        for r in units {
            let Some(geom) = &r.geom else { continue };
            let b = geom.bbox();
            if !b.iter().all(|v| v.is_finite()) {
                continue;
            }
            // Unit code = town (9) + village (3) + grid (3) + unit (4) digits.
            let is_street = r
                .code
                .get(..9)
                .and_then(|t| street.get(t))
                .copied()
                .unwrap_or(false);
            let site = Site {
                bbox: b,
                geom: geom.clone(),
            };
            if is_street {
                urban.push(site)
            } else {
                rural.push(site)
            }
        }
        Places { urban, rural }
    }

    pub fn is_empty(&self) -> bool {
        self.urban.is_empty() && self.rural.is_empty()
    }

    /// A random point inside a random unit (urban with probability `urban`).
    fn point(&self, rng: &mut ChaCha8Rng, urban: f64) -> (f64, f64) {
        let pool =
            if (rng.random::<f64>() < urban && !self.urban.is_empty()) || self.rural.is_empty() {
                &self.urban
            } else {
                &self.rural
            };
        let site = &pool[rng.random_range(0..pool.len())];
        let [x0, y0, x1, y1] = site.bbox;
        for _ in 0..40 {
            let p = (rng.random_range(x0..=x1), rng.random_range(y0..=y1));
            if site.geom.covers(Coord { x: p.0, y: p.1 }) {
                return p;
            }
        }
        let c = Coord {
            x: (x0 + x1) / 2.0,
            y: (y0 + y1) / 2.0,
        };
        (c.x, c.y)
    }

    /// Like `point`, but one report in 300 is displaced by 30–300 m, as phones do near the
    /// coast: some of those fall in no unit and are stored unassigned.
    fn report_point(&self, rng: &mut ChaCha8Rng, urban: f64) -> (f64, f64) {
        let (x, y) = self.point(rng, urban);
        if rng.random::<f64>() >= 1.0 / 300.0 {
            return (x, y);
        }
        let d = rng.random_range(30.0..300.0);
        let a = rng.random::<f64>() * std::f64::consts::TAU;
        (
            x + d * a.cos() / (111_320.0 * y.to_radians().cos()),
            y + d * a.sin() / 110_574.0,
        )
    }
}

/// Share of each category, and how urban it is.
const MIX: &[(Category, f64, f64)] = &[
    (Category::CityManagement, 0.28, 0.8),
    (Category::Environment, 0.11, 0.35),
    (Category::SafetyHazard, 0.10, 0.55),
    (Category::Dispute, 0.10, 0.5),
    (Category::PublicService, 0.12, 0.5),
    (Category::PublicOrder, 0.06, 0.6),
    (Category::Traffic, 0.08, 0.65),
    (Category::FoodSafety, 0.05, 0.75),
    (Category::ForestFire, 0.03, 0.0),
    (Category::Other, 0.07, 0.5),
];

const SOURCES: &[(Source, f64)] = &[
    (Source::GridWorker, 0.44),
    (Source::Hotline, 0.20),
    (Source::Patrol, 0.12),
    (Source::UnitHead, 0.08),
    (Source::QrScan, 0.09),
    (Source::Police, 0.05),
    (Source::Petition, 0.02),
];

const PRIORITIES: &[(Priority, f64)] = &[
    (Priority::Normal, 0.80),
    (Priority::High, 0.12),
    (Priority::Low, 0.05),
    (Priority::Urgent, 0.03),
];

/// Reports per local hour of day (China Standard Time), relative.
const HOURLY: [f64; 24] = [
    0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.8, 1.5, 1.9, 1.9, 1.6, 1.0, 1.0, 1.5, 1.7, 1.7,
    1.4, 1.0, 0.9, 0.8, 0.6, 0.4, 0.25,
];

/// Share of all events that come from planted repeat hotspots and from rain bursts.
const HOTSPOT_SHARE: f64 = 0.04;
const BURST_SHARE: f64 = 0.03;
const HOTSPOTS: usize = 30;

fn pick<T: Copy>(rng: &mut ChaCha8Rng, table: &[(T, f64)]) -> T {
    let total: f64 = table.iter().map(|t| t.1).sum();
    let mut r = rng.random::<f64>() * total;
    for &(v, w) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    table[table.len() - 1].0
}

fn exp_hours(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -(1.0 - rng.random::<f64>()).ln() * mean
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0).max(60.0) as i64)
}

/// The time of a report on `day` (0 = first day of the span) at a diurnal hour.
fn time_on_day(rng: &mut ChaCha8Rng, start: DateTime<Utc>, day: u32) -> DateTime<Utc> {
    let hour = {
        let total: f64 = HOURLY.iter().sum();
        let mut r = rng.random::<f64>() * total;
        let mut h = 23;
        for (i, w) in HOURLY.iter().enumerate() {
            if r < *w {
                h = i;
                break;
            }
            r -= w;
        }
        h as i64
    };
    // `start` is local midnight; local hour h is h hours after it.
    start + Duration::days(day as i64) + Duration::seconds(hour * 3600 + rng.random_range(0..3600))
}

/// A report time on `day`, moved a day back if the last day's hour is still to come.
fn time_before(
    rng: &mut ChaCha8Rng,
    start: DateTime<Utc>,
    day: u32,
    until: DateTime<Utc>,
) -> DateTime<Utc> {
    let t = time_on_day(rng, start, day);
    if t <= until { t } else { t - Duration::days(1) }
}

/// Day weights: weekly rhythm (quieter weekends), slow growth over the span, a little season.
fn day_weights(start: DateTime<Utc>, days: u32) -> Vec<f64> {
    (0..days)
        .map(|d| {
            let local = start + Duration::days(d as i64) + Duration::hours(12);
            let weekly = match local.weekday().num_days_from_monday() {
                5 => 0.75,
                6 => 0.65,
                _ => 1.0,
            };
            let trend = 0.85 + 0.3 * d as f64 / days.max(1) as f64;
            let season =
                1.0 + 0.12 * (local.ordinal() as f64 / 365.25 * std::f64::consts::TAU).sin();
            weekly * trend * season
        })
        .collect()
}

fn pick_day(rng: &mut ChaCha8Rng, cumulative: &[f64]) -> u32 {
    let total = *cumulative.last().unwrap_or(&1.0);
    let r = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= r)
        .min(cumulative.len() - 1) as u32
}

/// Walks an event through the loop from its report, cut at `until`. Durations are drawn per
/// step; handling time scales with the category's deadline so a few run late (overdue).
fn walk_loop(
    rng: &mut ChaCha8Rng,
    reported: DateTime<Utc>,
    deadline_h: f64,
    until: DateTime<Utc>,
) -> Vec<(Status, DateTime<Utc>)> {
    let mut steps = Vec::with_capacity(8);
    let mut t = reported;
    let push = |s: Status, t: DateTime<Utc>, steps: &mut Vec<_>| {
        if t <= until {
            steps.push((s, t));
            true
        } else {
            false
        }
    };
    // 1.5 % are not accepted (outside the platform's remit).
    if rng.random::<f64>() < 0.015 {
        t += hours(0.5 + exp_hours(rng, 3.0));
        push(Status::Rejected, t, &mut steps);
        return steps;
    }
    // 0.3 % stall with a department and never get closed.
    let stalls = rng.random::<f64>() < 0.003;
    t += hours(exp_hours(rng, 0.8));
    if !push(Status::Accepted, t, &mut steps) {
        return steps;
    }
    t += hours(exp_hours(rng, 1.5));
    if !push(Status::Dispatched, t, &mut steps) {
        return steps;
    }
    t += hours(exp_hours(rng, 3.0));
    if !push(Status::InProgress, t, &mut steps) || stalls {
        return steps;
    }
    // Handling: log-normal around 40 % of the deadline (~6 % run past it).
    let handling = deadline_h * 0.4 * (0.7 * normal(rng)).exp();
    t += hours(handling);
    if !push(Status::Resolved, t, &mut steps) {
        return steps;
    }
    // 3 % fail verification and go back to work once.
    if rng.random::<f64>() < 0.03 {
        t += hours(exp_hours(rng, 6.0));
        if !push(Status::InProgress, t, &mut steps) {
            return steps;
        }
        t += hours(deadline_h * 0.3 * (0.5 * normal(rng)).exp());
        if !push(Status::Resolved, t, &mut steps) {
            return steps;
        }
    }
    t += hours(exp_hours(rng, 8.0));
    if !push(Status::Verified, t, &mut steps) {
        return steps;
    }
    t += hours(exp_hours(rng, 6.0));
    push(Status::Closed, t, &mut steps);
    steps
}

/// A planted place where one problem is reported again and again for a while.
struct Hotspot {
    lon: f64,
    lat: f64,
    category: Category,
    sub: u8,
    first_day: u32,
    span_days: u32,
}

/// Generates the events. `deadline_hours(category)` is the category's deadline for priority
/// normal; `repeat(category)` its repeat radius (m) and window (h), as in `event_category`.
pub fn generate(
    params: &DemoEventParams,
    places: &Places,
    deadline_hours: &dyn Fn(Category) -> f64,
    repeat: &dyn Fn(Category) -> (f64, f64),
    progress: &dyn Fn(u64),
) -> Vec<DemoEvent> {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let days = params.days.max(1);
    // Beijing midnight `days - 1` days before the day of `until`.
    let first_day = time::local_day(params.until.timestamp_micros()) - (days as i64 - 1);
    let start = time::utc(time::day_start(first_day)).unwrap_or(params.until);
    let weights = day_weights(start, days);
    let cumulative: Vec<f64> = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect();

    let n = params.count;
    let n_hot = ((n as f64) * HOTSPOT_SHARE) as usize;
    let n_burst = ((n as f64) * BURST_SHARE) as usize;
    let n_base = n.saturating_sub(n_hot + n_burst);
    let mut out: Vec<DemoEvent> = Vec::with_capacity(n);

    let new_event = |rng: &mut ChaCha8Rng,
                     category: Category,
                     sub: u8,
                     lon: f64,
                     lat: f64,
                     at: DateTime<Utc>| {
        DemoEvent {
            category,
            sub,
            source: pick(rng, SOURCES),
            priority: pick(rng, PRIORITIES),
            lon,
            lat,
            reported_at: at,
            steps: Vec::new(),
            duplicate_of: None,
            repeat_count: 0,
            pick: rng.random(),
            spot: None,
        }
    };
    let subs = |c: Category| super::text::subcategories(c).len() as u32;

    // Everyday reports.
    let mix: Vec<(Category, f64)> = MIX.iter().map(|m| (m.0, m.1)).collect();
    let urbanity: HashMap<Category, f64> = MIX.iter().map(|m| (m.0, m.2)).collect();
    for i in 0..n_base {
        let category = pick(&mut rng, &mix);
        let mut day = pick_day(&mut rng, &cumulative);
        if category == Category::ForestFire {
            // Dry season (Nov–Apr, Qingming above all) carries most fire reports.
            for _ in 0..8 {
                let m = (start + Duration::days(day as i64) + Duration::hours(12)).month();
                if matches!(m, 11 | 12 | 1 | 2 | 3 | 4) || rng.random::<f64>() < 0.25 {
                    break;
                }
                day = pick_day(&mut rng, &cumulative);
            }
        }
        let at = time_before(&mut rng, start, day, params.until);
        let (lon, lat) = places.report_point(&mut rng, urbanity[&category]);
        let sub = rng.random_range(0..subs(category)) as u8;
        out.push(new_event(&mut rng, category, sub, lon, lat, at));
        if i % 50_000 == 0 {
            progress(i as u64);
        }
    }

    // Heavy-rain bursts: a few summer days a year when waterlogging reports pour in.
    let rain_days: Vec<u32> = (0..days)
        .filter(|&d| {
            let m = (start + Duration::days(d as i64) + Duration::hours(12)).month();
            (5..=9).contains(&m)
        })
        .filter(|_| rng.random::<f64>() < 0.055)
        .collect();
    let waterlogging = super::text::subcategories(Category::CityManagement)
        .iter()
        .position(|s| s.0 == "积水内涝")
        .unwrap_or(0) as u8;
    if !rain_days.is_empty() {
        for _ in 0..n_burst {
            let day = rain_days[rng.random_range(0..rain_days.len())];
            let at = time_before(&mut rng, start, day, params.until);
            let (lon, lat) = places.point(&mut rng, 0.85);
            out.push(new_event(
                &mut rng,
                Category::CityManagement,
                waterlogging,
                lon,
                lat,
                at,
            ));
        }
    }

    // Planted hotspots: one place, one problem, reported again and again.
    let hot_cats = [
        Category::CityManagement,
        Category::CityManagement,
        Category::Environment,
        Category::Traffic,
        Category::SafetyHazard,
        Category::FoodSafety,
    ];
    let hotspots: Vec<Hotspot> = (0..HOTSPOTS)
        .map(|_| {
            let category = hot_cats[rng.random_range(0..hot_cats.len())];
            let (lon, lat) = places.point(&mut rng, 0.7);
            let span_days = rng.random_range(60..=240).min(days);
            Hotspot {
                lon,
                lat,
                category,
                sub: rng.random_range(0..subs(category)) as u8,
                first_day: rng.random_range(0..=days - span_days),
                span_days,
            }
        })
        .collect();
    for k in 0..n_hot {
        let h = &hotspots[k % hotspots.len()];
        let day = h.first_day + rng.random_range(0..h.span_days);
        let at = time_before(&mut rng, start, day, params.until);
        // Within a third of the repeat radius of the spot, metres → degrees.
        let (radius, _) = repeat(h.category);
        let r = radius / 3.0 * rng.random::<f64>().sqrt();
        let a = rng.random::<f64>() * std::f64::consts::TAU;
        let lon = h.lon + r * a.cos() / (111_320.0 * h.lat.to_radians().cos());
        let lat = h.lat + r * a.sin() / 110_574.0;
        let mut e = new_event(&mut rng, h.category, h.sub, lon, lat, at);
        e.spot = Some((k % hotspots.len()) as u16);
        out.push(e);
    }

    // Time order (stable on equal times: generation order), then the loop for each.
    out.sort_by_key(|e| e.reported_at);
    let mut loop_rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x9e37_79b9_7f4a_7c15);
    for e in out.iter_mut() {
        let d = e
            .priority
            .deadline_hours(deadline_hours(e.category).round() as u32);
        e.steps = walk_loop(&mut loop_rng, e.reported_at, d, params.until);
    }

    // Repeats at the hotspots: a report within the category's radius and window of an open
    // original is linked to it (the same rule as live ingest, restricted to planted places).
    let mut originals: HashMap<u16, u32> = HashMap::new();
    for i in 0..out.len() {
        let Some(spot) = out[i].spot else { continue };
        let (_, window_h) = repeat(out[i].category);
        let at = out[i].reported_at;
        if let Some(&o) = originals.get(&spot) {
            let orig = &out[o as usize];
            let open_then = orig
                .steps
                .iter()
                .find(|s| !s.0.is_open())
                .is_none_or(|s| s.1 > at);
            if open_then && at - orig.reported_at <= hours(window_h) {
                out[i].duplicate_of = Some(o);
                out[o as usize].repeat_count += 1;
                continue;
            }
        }
        originals.insert(spot, i as u32);
    }
    progress(out.len() as u64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn places() -> Places {
        let square = |x: f64, y: f64| {
            FlatShape::from_multipolygon(&geo_types::MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01)
            ]]))
        };
        let row = |code: &str, name: &str, level, geom| AreaShape {
            code: code.into(),
            name: name.into(),
            level,
            parent: None,
            geom,
        };
        Places::from_rows(&[
            row("350302001", "东海街道", Level::Town, None),
            row("350302002", "西山镇", Level::Town, None),
            row(
                "3503020010010010001",
                "u1",
                Level::Unit,
                Some(square(119.0, 25.4)),
            ),
            row(
                "3503020020010010001",
                "u2",
                Level::Unit,
                Some(square(119.1, 25.5)),
            ),
        ])
    }

    fn run(seed: u64) -> Vec<DemoEvent> {
        let params = DemoEventParams {
            seed,
            count: 5_000,
            until: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            days: 730,
        };
        generate(&params, &places(), &|_| 48.0, &|_| (50.0, 72.0), &|_| {})
    }

    #[test]
    fn same_seed_same_events_and_every_path_follows_the_loop() {
        let a = run(7);
        let b = run(7);
        assert_eq!(a.len(), 5_000);
        assert_eq!(
            a.iter()
                .map(|e| (e.reported_at, e.lon.to_bits(), e.status()))
                .collect::<Vec<_>>(),
            b.iter()
                .map(|e| (e.reported_at, e.lon.to_bits(), e.status()))
                .collect::<Vec<_>>()
        );
        let until = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        for w in a.windows(2) {
            assert!(w[0].reported_at <= w[1].reported_at, "sorted by time");
        }
        for e in &a {
            assert!(e.reported_at <= until);
            let mut from = Status::Reported;
            let mut t = e.reported_at;
            for &(to, at) in &e.steps {
                assert!(from.can_move_to(to), "{from:?} → {to:?}");
                assert!(at >= t && at <= until);
                (from, t) = (to, at);
            }
            if let Some(o) = e.duplicate_of {
                let orig = &a[o as usize];
                assert_eq!(orig.category, e.category);
                assert!(orig.reported_at <= e.reported_at);
            }
        }
        let closed = a.iter().filter(|e| e.status() == Status::Closed).count();
        assert!(closed > 4_500, "most events are closed ({closed})");
        assert!(
            a.iter().any(|e| e.duplicate_of.is_some()),
            "hotspots repeat"
        );
        assert!(
            a.iter()
                .all(|e| e.category != Category::ForestFire || e.lon > 119.05),
            "fire reports are rural"
        );
        assert_ne!(run(8)[0].reported_at, a[0].reported_at);
    }
}

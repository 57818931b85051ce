//! Hotspots: places where the same category was reported at least `min_count` times within
//! `radius` metres in the window. Cluster, then describe.
//!
//! Clustering is DBSCAN with PostGIS's semantics (`ST_ClusterDBSCAN`): eps = radius,
//! minPts = min_count counting the point itself, neighbours at distance ≤ eps; core points
//! within eps of each other share a cluster, a border point joins its nearest core point's
//! cluster, the rest is noise. Points are projected to metres with an equirectangular
//! projection around one reference latitude per request (`x = R·λ·cos φ₀`, `y = R·φ`,
//! R = 6,378,137 m; under 0.5 % scale error across a city) — the answer states φ₀, so the same
//! projection can be written in SQL. Neighbours come from a grid hash of cells eps/√2 wide:
//! all points of one cell are within eps of each other, so a cell holding ≥ minPts points is
//! all core, and the core points of one cell are one cluster without distance tests.

use super::filter::{Filter, Window};
use super::view::ViewSnapshot;
use crate::events::model::{Category, Source, Status};
use crate::index::Assignment;
use crate::time::format_time;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

pub const EARTH_RADIUS_M: f64 = 6_378_137.0;
const NOISE: u32 = u32::MAX;

/// Projects lon/lat (degrees) to metres around `ref_lat`.
pub fn project(lon: f64, lat: f64, ref_lat: f64) -> (f64, f64) {
    (
        lon.to_radians() * EARTH_RADIUS_M * ref_lat.to_radians().cos(),
        lat.to_radians() * EARTH_RADIUS_M,
    )
}

/// DBSCAN over points in metres. Returns a cluster number per point (`u32::MAX` = noise);
/// clusters are numbered in order of their first point.
pub fn dbscan(xs: &[f64], ys: &[f64], eps: f64, min_pts: usize) -> Vec<u32> {
    let n = xs.len();
    if n == 0 || eps <= 0.0 {
        return vec![NOISE; n];
    }
    let side = eps / std::f64::consts::SQRT_2;
    let key = |i: usize| ((xs[i] / side).floor() as i64, (ys[i] / side).floor() as i64);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| key(i as usize));
    // Cells: (key, start, end) into `order`.
    let mut cells: Vec<((i64, i64), usize, usize)> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let kk = key(i as usize);
        match cells.last_mut() {
            Some(c) if c.0 == kk => c.2 = k + 1,
            _ => cells.push((kk, k, k + 1)),
        }
    }
    let cell_of: HashMap<(i64, i64), usize> =
        cells.iter().enumerate().map(|(c, e)| (e.0, c)).collect();
    let eps2 = eps * eps;
    let near = |i: usize, j: usize| {
        let (dx, dy) = (xs[i] - xs[j], ys[i] - ys[j]);
        dx * dx + dy * dy <= eps2
    };
    // Squared distance from point i to cell c's square: neighbours further than eps are
    // skipped whole (most cells two apart, and most of a dense cell's far side).
    let rect_d2 = |i: usize, c: usize| {
        let (cx, cy) = cells[c].0;
        let (x0, y0) = (cx as f64 * side, cy as f64 * side);
        let dx = (x0 - xs[i]).max(xs[i] - (x0 + side)).max(0.0);
        let dy = (y0 - ys[i]).max(ys[i] - (y0 + side)).max(0.0);
        dx * dx + dy * dy
    };
    let neighbour_cells = |c: usize| {
        let (cx, cy) = cells[c].0;
        let mut out = Vec::with_capacity(21);
        for dx in -2i64..=2 {
            for dy in -2i64..=2 {
                // Cells two apart on both axes are at least eps/√2·√2 = eps away; only their
                // corners could touch at exactly eps, so keep them.
                if let Some(&o) = cell_of.get(&(cx + dx, cy + dy)) {
                    out.push(o);
                }
            }
        }
        out
    };
    // 1. Core points.
    let core_by_cell: Vec<Vec<u32>> = (0..cells.len())
        .into_par_iter()
        .map(|c| {
            let (_, s, e) = cells[c];
            let members = &order[s..e];
            if e - s >= min_pts {
                return members.to_vec();
            }
            let around = neighbour_cells(c);
            members
                .iter()
                .copied()
                .filter(|&p| {
                    let mut count = 0;
                    for &o in &around {
                        if rect_d2(p as usize, o) > eps2 {
                            continue;
                        }
                        let (_, s2, e2) = cells[o];
                        for &q in &order[s2..e2] {
                            if near(p as usize, q as usize) {
                                count += 1;
                                if count >= min_pts {
                                    return true;
                                }
                            }
                        }
                    }
                    false
                })
                .collect()
        })
        .collect();
    // 2. Union the cells whose core points are within eps of each other.
    let mut parent: Vec<usize> = (0..cells.len()).collect();
    fn find(parent: &mut [usize], mut a: usize) -> usize {
        while parent[a] != a {
            parent[a] = parent[parent[a]];
            a = parent[a];
        }
        a
    }
    for c in 0..cells.len() {
        if core_by_cell[c].is_empty() {
            continue;
        }
        for o in neighbour_cells(c) {
            if o <= c || core_by_cell[o].is_empty() {
                continue;
            }
            if find(&mut parent, c) == find(&mut parent, o) {
                continue;
            }
            let near_o: Vec<u32> = core_by_cell[c]
                .iter()
                .copied()
                .filter(|&p| rect_d2(p as usize, o) <= eps2)
                .collect();
            if near_o.is_empty() {
                continue;
            }
            let near_c: Vec<u32> = core_by_cell[o]
                .iter()
                .copied()
                .filter(|&q| rect_d2(q as usize, c) <= eps2)
                .collect();
            let linked = near_o
                .iter()
                .any(|&p| near_c.iter().any(|&q| near(p as usize, q as usize)));
            if linked {
                let (a, b) = (find(&mut parent, c), find(&mut parent, o));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    // 3. Labels: core points by their cell's root; border points by the nearest core point.
    let mut root_of_point = vec![usize::MAX; n];
    for (c, core) in core_by_cell.iter().enumerate() {
        let r = find(&mut parent, c);
        for &p in core {
            root_of_point[p as usize] = r;
        }
    }
    let point_cell: Vec<usize> = {
        let mut v = vec![0; n];
        for (c, &(_, s, e)) in cells.iter().enumerate() {
            for &p in &order[s..e] {
                v[p as usize] = c;
            }
        }
        v
    };
    let border: Vec<(usize, usize)> = (0..n)
        .into_par_iter()
        .filter(|&p| root_of_point[p] == usize::MAX)
        .filter_map(|p| {
            let mut best: Option<(f64, u32)> = None;
            for o in neighbour_cells(point_cell[p]) {
                if rect_d2(p, o) > eps2 {
                    continue;
                }
                for &q in &core_by_cell[o] {
                    let (dx, dy) = (xs[p] - xs[q as usize], ys[p] - ys[q as usize]);
                    let d2 = dx * dx + dy * dy;
                    if d2 <= eps2 && best.is_none_or(|b| (d2, q) < b) {
                        best = Some((d2, q));
                    }
                }
            }
            best.map(|(_, q)| (p, root_of_point[q as usize]))
        })
        .collect();
    for (p, r) in border {
        root_of_point[p] = r;
    }
    let mut number: HashMap<usize, u32> = HashMap::new();
    root_of_point
        .iter()
        .map(|&r| {
            if r == usize::MAX {
                NOISE
            } else {
                let next = number.len() as u32;
                *number.entry(r).or_insert(next)
            }
        })
        .collect()
}

/// One cluster's members (rows of the window, in time order) and category.
struct Cluster {
    category: u8,
    members: Vec<Member>,
}

#[derive(Clone, Copy)]
struct Member {
    id: i64,
    lon: f64,
    lat: f64,
    t: i64,
    source: u8,
    status: u8,
}

pub struct Query {
    pub filter: Filter,
    pub radius_m: f64,
    pub min_count: usize,
}

/// Clusters per category; returns clusters (members in time order) and the reference
/// latitude of the projection.
fn clusters(view: &ViewSnapshot, q: &Query) -> (Vec<Cluster>, f64) {
    let mut per_cat: HashMap<u8, Vec<Member>> = HashMap::new();
    let (mut lat_min, mut lat_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let f = &q.filter;
    view.scan(f.from, f.to, |c, i| {
        if f.matches(c, i) {
            lat_min = lat_min.min(c.lat[i]);
            lat_max = lat_max.max(c.lat[i]);
            per_cat.entry(c.category[i]).or_default().push(Member {
                id: c.id[i],
                lon: c.lon[i],
                lat: c.lat[i],
                t: c.t[i],
                source: c.source[i],
                status: c.status[i],
            });
        }
    });
    if per_cat.is_empty() {
        return (Vec::new(), 0.0);
    }
    let ref_lat = ((lat_min + lat_max) / 2.0 * 100.0).round() / 100.0;
    let mut cats: Vec<(u8, Vec<Member>)> = per_cat.into_iter().collect();
    cats.sort_unstable_by_key(|c| c.0);
    let out: Vec<Cluster> = cats
        .into_par_iter()
        .flat_map_iter(|(cat, members)| {
            let (xs, ys): (Vec<f64>, Vec<f64>) = members
                .iter()
                .map(|m| project(m.lon, m.lat, ref_lat))
                .unzip();
            let labels = dbscan(&xs, &ys, q.radius_m, q.min_count);
            let k = labels
                .iter()
                .filter(|&&l| l != NOISE)
                .max()
                .map_or(0, |m| *m as usize + 1);
            let mut groups: Vec<Vec<Member>> = vec![Vec::new(); k];
            for (m, l) in members.iter().zip(labels) {
                if l != NOISE {
                    groups[l as usize].push(*m);
                }
            }
            groups.into_iter().map(move |members| Cluster {
                category: cat,
                members,
            })
        })
        .collect();
    (out, ref_lat)
}

/// `/api/hotspots`.
#[derive(Debug, Clone, Serialize)]
pub struct HotspotsAnswer {
    pub window: Window,
    pub radius_m: f64,
    pub min_count: usize,
    pub projection: Projection,
    /// Clusters found (before `limit`).
    pub clusters: usize,
    pub cluster_ms: f64,
    pub hotspots: Vec<Hotspot>,
}

/// The projection the clusters were computed in.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Projection {
    pub ref_lat: f64,
    pub earth_radius_m: f64,
}

/// A code with its zh-CN name and a count.
#[derive(Debug, Clone, Serialize)]
pub struct CodeCount {
    pub code: Option<&'static str>,
    pub name: Option<&'static str>,
    pub count: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// One hotspot.
#[derive(Debug, Clone, Serialize)]
pub struct Hotspot {
    pub category: Option<&'static str>,
    pub category_name: Option<&'static str>,
    pub count: usize,
    pub open: usize,
    /// The centroid (rounded to 1e-6°).
    pub center: LonLat,
    /// The farthest member from the centre, metres.
    pub spread_m: f64,
    pub categories: Vec<CodeCount>,
    pub sources: Vec<CodeCount>,
    pub statuses_open: usize,
    pub closed: usize,
    pub first_reported_at: Option<String>,
    pub last_reported_at: Option<String>,
    /// The assignment index's answer at the centre.
    pub area: Assignment,
    /// The 10 most recent members.
    pub sample_ids: Vec<i64>,
    /// Every member, ascending (with `members=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<i64>>,
}

/// The `limit` largest hotspots of the events passing `q.filter` in `view`, each described
/// (its area from `index`; all member ids when `with_members`).
pub fn hotspots(
    view: &ViewSnapshot,
    q: &Query,
    limit: usize,
    with_members: bool,
    index: &crate::index::Snapshot,
) -> HotspotsAnswer {
    let started = std::time::Instant::now();
    let (mut found, ref_lat) = clusters(view, q);
    let cluster_ms = started.elapsed().as_secs_f64() * 1000.0;
    let total = found.len();
    found.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].t.cmp(&b.members[0].t))
            .then(a.members[0].id.cmp(&b.members[0].id))
    });
    found.truncate(limit);
    HotspotsAnswer {
        window: q.filter.window(),
        radius_m: q.radius_m,
        min_count: q.min_count,
        projection: Projection {
            ref_lat,
            earth_radius_m: EARTH_RADIUS_M,
        },
        clusters: total,
        cluster_ms: (cluster_ms * 100.0).round() / 100.0,
        hotspots: found
            .iter()
            .map(|c| describe(c, ref_lat, index, with_members))
            .collect(),
    }
}

fn describe(c: &Cluster, ref_lat: f64, index: &crate::index::Snapshot, members: bool) -> Hotspot {
    let n = c.members.len() as f64;
    let lon = c.members.iter().map(|m| m.lon).sum::<f64>() / n;
    let lat = c.members.iter().map(|m| m.lat).sum::<f64>() / n;
    let (cx, cy) = project(lon, lat, ref_lat);
    let spread = c
        .members
        .iter()
        .map(|m| {
            let (x, y) = project(m.lon, m.lat, ref_lat);
            ((x - cx).powi(2) + (y - cy).powi(2)).sqrt()
        })
        .fold(0.0, f64::max);
    let first = c.members.iter().map(|m| m.t).min().unwrap_or(0);
    let last = c.members.iter().map(|m| m.t).max().unwrap_or(0);
    let open = c
        .members
        .iter()
        .filter(|m| super::view::status_open(m.status))
        .count();
    let mut sources: Vec<(u8, usize)> = Vec::new();
    for m in &c.members {
        match sources.iter_mut().find(|s| s.0 == m.source) {
            Some(s) => s.1 += 1,
            None => sources.push((m.source, 1)),
        }
    }
    sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let cat = Category::ALL.get(c.category as usize);
    let mut recent: Vec<&Member> = c.members.iter().collect();
    recent.sort_by(|a, b| b.t.cmp(&a.t).then(b.id.cmp(&a.id)));
    Hotspot {
        category: cat.map(|c| c.code()),
        category_name: cat.map(|c| c.label()),
        count: c.members.len(),
        open,
        center: LonLat {
            lon: (lon * 1e6).round() / 1e6,
            lat: (lat * 1e6).round() / 1e6,
        },
        spread_m: (spread * 10.0).round() / 10.0,
        categories: vec![CodeCount {
            code: cat.map(|c| c.code()),
            name: cat.map(|c| c.label()),
            count: c.members.len(),
        }],
        sources: sources
            .iter()
            .map(|(s, k)| {
                let src = Source::ALL.get(*s as usize);
                CodeCount {
                    code: src.map(|s| s.code()),
                    name: src.map(|s| s.label()),
                    count: *k,
                }
            })
            .collect(),
        statuses_open: open,
        closed: c
            .members
            .iter()
            .filter(|m| Status::ALL.get(m.status as usize) == Some(&Status::Closed))
            .count(),
        first_reported_at: format_time(first),
        last_reported_at: format_time(last),
        area: index.assign(lon, lat, crate::index::DEFAULT_TOLERANCE_M),
        sample_ids: recent.iter().take(10).map(|m| m.id).collect(),
        ids: members.then(|| {
            let mut ids: Vec<i64> = c.members.iter().map(|m| m.id).collect();
            ids.sort_unstable();
            ids
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force DBSCAN core sets, for comparison.
    fn brute_core(xs: &[f64], ys: &[f64], eps: f64, min_pts: usize) -> Vec<bool> {
        (0..xs.len())
            .map(|i| {
                (0..xs.len())
                    .filter(|&j| (xs[i] - xs[j]).powi(2) + (ys[i] - ys[j]).powi(2) <= eps * eps)
                    .count()
                    >= min_pts
            })
            .collect()
    }

    #[test]
    fn finds_planted_clusters_and_leaves_noise() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        // Two tight clusters 1 km apart, and sparse noise.
        for (cx, cy) in [(0.0, 0.0), (1000.0, 0.0)] {
            for _ in 0..30 {
                xs.push(cx + rng.random_range(-20.0..20.0));
                ys.push(cy + rng.random_range(-20.0..20.0));
            }
        }
        for k in 0..20 {
            xs.push(5000.0 + k as f64 * 300.0);
            ys.push(3000.0);
        }
        let labels = dbscan(&xs, &ys, 50.0, 5);
        assert!(labels[..30].iter().all(|&l| l == 0));
        assert!(labels[30..60].iter().all(|&l| l == 1));
        assert!(labels[60..].iter().all(|&l| l == NOISE));
        // Core membership equals brute force on random data.
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..800 {
            xs.push(rng.random_range(0.0..2000.0));
            ys.push(rng.random_range(0.0..2000.0));
        }
        let labels = dbscan(&xs, &ys, 80.0, 4);
        let core = brute_core(&xs, &ys, 80.0, 4);
        for i in 0..xs.len() {
            if core[i] {
                assert_ne!(labels[i], NOISE);
            }
        }
        // Two core points within eps share a cluster.
        for i in 0..xs.len() {
            for j in 0..xs.len() {
                if core[i] && core[j] && (xs[i] - xs[j]).powi(2) + (ys[i] - ys[j]).powi(2) <= 6400.0
                {
                    assert_eq!(labels[i], labels[j]);
                }
            }
        }
    }
}

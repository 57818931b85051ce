//! Hydrant coverage (GB 50974: an outdoor hydrant protects at most 150 m around it, hydrants
//! stand at most 120 m apart):
//! - each heritage site: its nearest in-service hydrant and whether it is within the radius;
//! - each village: how much of its built-up area (its units, whose union is the village) lies
//!   within the radius of an in-service hydrant, and the uncovered part as geometry;
//! - hydrants whose nearest in-service neighbour is farther than the spacing.
//!
//! Areas are computed in a local metric plane per village: east and north metres from the
//! village's centre, scaled by the WGS84 ellipsoid's radii of curvature there (within 0.05 %
//! of the ellipsoidal area over a village's few kilometres). Hydrant circles are polygons of
//! `CIRCLE_SEGMENTS` sides, as PostGIS `ST_Buffer(…, 'quad_segs=8')` makes them.
//!
//! `Coverage::compute` does every village (in parallel); `Coverage::patched` redoes only what
//! a moved, added, removed or switched hydrant can touch.

use super::model::AssetKind;
use super::nearest::{self, Hit};
use super::set::AssetSet;
use crate::geom::flat::FlatShape;
use geo::{Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::float::single::SingleFloatOverlay;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The radius of protection of one hydrant (GB 50974), the default.
pub const DEFAULT_RADIUS_M: f64 = 150.0;
/// The largest spacing of hydrants (GB 50974).
pub const SPACING_M: f64 = 120.0;
/// Sides of a hydrant's circle.
pub const CIRCLE_SEGMENTS: usize = 32;

const A: f64 = 6_378_137.0;
const E2: f64 = 6.694_379_990_14e-3;

/// Metres per degree east and north at latitude `lat` on the WGS84 ellipsoid.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let s = lat.to_radians().sin();
    let w = 1.0 - E2 * s * s;
    let n = A / w.sqrt();
    let m = A * (1.0 - E2) / (w * w.sqrt());
    let k = std::f64::consts::PI / 180.0;
    (n * lat.to_radians().cos() * k, m * k)
}

/// A village's geometry, for coverage.
#[derive(Debug, Clone)]
pub struct Village {
    pub code: Arc<str>,
    pub name: Arc<str>,
    /// town, district
    pub parents: [Option<Arc<str>>; 2],
    pub shape: FlatShape,
}

/// The villages, with an index of their boxes.
#[derive(Default)]
pub struct Villages {
    pub by_code: HashMap<Arc<str>, Village>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, Arc<str>>>,
}

impl Villages {
    pub fn new(list: Vec<Village>) -> Villages {
        let boxes = RTree::bulk_load(
            list.iter()
                .map(|v| {
                    let b = v.shape.bbox();
                    GeomWithData::new(
                        Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                        v.code.clone(),
                    )
                })
                .collect(),
        );
        Villages {
            by_code: list.into_iter().map(|v| (v.code.clone(), v)).collect(),
            boxes,
        }
    }

    /// Codes of the villages whose box comes within `radius_m` of (lon, lat).
    pub fn near(&self, lon: f64, lat: f64, radius_m: f64) -> Vec<Arc<str>> {
        let (kx, ky) = metres_per_degree(lat);
        let (dx, dy) = (radius_m / kx * 1.01, radius_m / ky * 1.01);
        let env = AABB::from_corners([lon - dx, lat - dy], [lon + dx, lat + dy]);
        self.boxes
            .locate_in_envelope_intersecting(&env)
            .map(|g| g.data.clone())
            .collect()
    }
}

/// A local metric plane around a point.
#[derive(Debug, Clone, Copy)]
struct Plane {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl Plane {
    fn at(lon0: f64, lat0: f64) -> Plane {
        let (kx, ky) = metres_per_degree(lat0);
        Plane { lon0, lat0, kx, ky }
    }
    fn to_m(self, lon: f64, lat: f64) -> Coord<f64> {
        Coord {
            x: (lon - self.lon0) * self.kx,
            y: (lat - self.lat0) * self.ky,
        }
    }
    fn to_deg(self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: c.x / self.kx + self.lon0,
            y: c.y / self.ky + self.lat0,
        }
    }
}

type Ring = Vec<[f64; 2]>;

/// Twice the signed area of a ring (positive: counter-clockwise).
fn area2(r: &[[f64; 2]]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// The village shape as rings in the plane: exteriors counter-clockwise, holes clockwise (so
/// the non-zero fill rule reads it as the shape), open.
fn shape_in(plane: &Plane, shape: &FlatShape) -> Vec<Ring> {
    shape
        .rings()
        .filter_map(|(ring, hole)| {
            let mut r: Ring = ring
                .iter()
                .map(|p| {
                    let c = plane.to_m(p[0], p[1]);
                    [c.x, c.y]
                })
                .collect();
            if r.len() > 1 && r.first() == r.last() {
                r.pop();
            }
            if r.len() < 3 {
                return None;
            }
            if (area2(&r) > 0.0) == hole {
                r.reverse();
            }
            Some(r)
        })
        .collect()
}

/// A circle of `r` metres around `c`, counter-clockwise, open.
fn circle(c: Coord<f64>, r: f64) -> Ring {
    let step = std::f64::consts::TAU / CIRCLE_SEGMENTS as f64;
    (0..CIRCLE_SEGMENTS)
        .map(|i| {
            let a = i as f64 * step;
            [c.x + r * a.cos(), c.y + r * a.sin()]
        })
        .collect()
}

/// The coverage of one village.
#[derive(Debug, Clone)]
pub struct VillageCover {
    pub code: Arc<str>,
    pub built_m2: f64,
    pub uncovered_m2: f64,
    /// The uncovered part, in degrees.
    pub uncovered: Arc<MultiPolygon<f64>>,
    /// In-service hydrants whose circle reaches the village.
    pub hydrants: usize,
}

impl VillageCover {
    pub fn covered_m2(&self) -> f64 {
        (self.built_m2 - self.uncovered_m2).max(0.0)
    }
    /// Covered share of the built-up area, 0..=1.
    pub fn share(&self) -> f64 {
        if self.built_m2 > 0.0 {
            self.covered_m2() / self.built_m2
        } else {
            0.0
        }
    }
}

/// Covers one village with the in-service hydrants of `set`.
pub fn village_cover(set: &AssetSet, v: &Village, radius_m: f64) -> VillageCover {
    let b = v.shape.bbox();
    let plane = Plane::at((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let built = shape_in(&plane, &v.shape);
    let built_m2: f64 = built.iter().map(|r| area2(r)).sum::<f64>() / 2.0;
    let (kx, ky) = metres_per_degree(b[1].abs().min(b[3].abs()));
    let (dx, dy) = (radius_m / kx * 1.01, radius_m / ky * 1.01);
    let env = AABB::from_corners([b[0] - dx, b[1] - dy], [b[2] + dx, b[3] + dy]);
    let circles: Vec<Ring> = set
        .hydrants_deg
        .locate_in_envelope(&env)
        .map(|p| circle(plane.to_m(p.geom()[0], p.geom()[1]), radius_m))
        .collect();
    let hydrants = circles.len();
    // One overlay: the village minus every circle, overlapping circles filled by the non-zero
    // rule (no separate union of the circles).
    let shapes: Vec<Vec<Ring>> = if circles.is_empty() {
        vec![built]
    } else {
        built.overlay(&circles, OverlayRule::Difference, FillRule::NonZero)
    };
    let mut uncovered_m2 = 0.0;
    let polygons: Vec<Polygon<f64>> = shapes
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|contours| {
            let mut rings = contours.into_iter().map(|r| {
                uncovered_m2 += area2(&r) / 2.0;
                let mut pts: Vec<Coord<f64>> = r
                    .iter()
                    .map(|p| plane.to_deg(Coord { x: p[0], y: p[1] }))
                    .collect();
                if let Some(&f) = pts.first() {
                    pts.push(f);
                }
                LineString::from(pts)
            });
            let outer = rings
                .next()
                .unwrap_or_else(|| LineString::from(Vec::<Coord<f64>>::new()));
            Polygon::new(outer, rings.collect())
        })
        .collect();
    let uncovered_m2 = uncovered_m2.abs().min(built_m2);
    let uncovered = MultiPolygon(polygons);
    VillageCover {
        code: v.code.clone(),
        built_m2,
        uncovered_m2,
        uncovered: Arc::new(uncovered),
        hydrants,
    }
}

/// A heritage site's nearest in-service hydrant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteCover {
    pub id: i64,
    pub nearest: Option<Hit>,
    pub covered: bool,
}

pub fn site_cover(set: &AssetSet, id: i64, radius_m: f64) -> Option<SiteCover> {
    let a = set.get(id)?;
    let pos = |h: i64| set.get(h).map(|a| (a.lon, a.lat));
    let nearest = nearest::k_nearest(&set.hydrants, a.lon, a.lat, 1, None, pos)
        .first()
        .copied();
    Some(SiteCover {
        id,
        nearest,
        covered: nearest.is_some_and(|h| h.distance_m <= radius_m),
    })
}

/// Whether hydrant `id` stands farther than `SPACING_M` from every other in-service hydrant,
/// with the geodesic distance to its nearest one (None: it has none); `None` when it is not
/// isolated. The nearest neighbour on the sphere settles most hydrants without a geodesic
/// computation: the ellipsoid's distances differ from the sphere's by less than 0.6 %.
fn isolation(set: &AssetSet, id: i64) -> Option<Option<f64>> {
    let a = set.get(id)?;
    let q = super::set::to_sphere(a.lon, a.lat);
    let mut near = set.hydrants.nearest_neighbor_iter_with_distance_2(&q);
    let first = near.find(|(p, _)| p.data != id);
    let Some((_, chord2)) = first else {
        return Some(None);
    };
    let spherical = nearest::chord_to_m(chord2);
    if spherical * 1.006 < SPACING_M {
        return None;
    }
    let pos = |h: i64| set.get(h).map(|a| (a.lon, a.lat));
    let d = nearest::k_nearest(&set.hydrants, a.lon, a.lat, 1, Some(id), pos)
        .first()
        .map(|h| h.distance_m);
    d.is_none_or(|d| d > SPACING_M).then_some(d)
}

/// Coverage of the whole city at one radius.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub radius_m: f64,
    pub sites: BTreeMap<i64, SiteCover>,
    pub villages: BTreeMap<Arc<str>, VillageCover>,
    /// In-service hydrants farther than `SPACING_M` from every other one: id → the distance
    /// to the nearest (None when it is the only one).
    pub isolated: BTreeMap<i64, Option<f64>>,
}

impl Coverage {
    /// Everything from scratch.
    pub fn compute(set: &AssetSet, villages: &Villages, radius_m: f64) -> Coverage {
        let list: Vec<&Village> = villages.by_code.values().collect();
        let covers: Vec<VillageCover> = list
            .par_iter()
            .map(|v| village_cover(set, v, radius_m))
            .collect();
        let sites = set
            .of_kind(AssetKind::Heritage)
            .par_iter()
            .filter_map(|a| site_cover(set, a.id, radius_m))
            .map(|s| (s.id, s))
            .collect();
        let isolated = set
            .hydrants
            .iter()
            .collect::<Vec<_>>()
            .par_iter()
            .filter_map(|p| isolation(set, p.data).map(|d| (p.data, d)))
            .collect();
        Coverage {
            radius_m,
            sites,
            villages: covers.into_iter().map(|c| (c.code.clone(), c)).collect(),
            isolated,
        }
    }

    /// The coverage after hydrants or heritage sites changed at `places` (each changed
    /// asset's old and new positions): the villages, sites and hydrants within reach are
    /// redone, the rest kept.
    pub fn patched(&self, set: &AssetSet, villages: &Villages, places: &[(f64, f64)]) -> Coverage {
        let mut next = self.clone();
        let radius = self.radius_m;
        let mut codes = BTreeSet::new();
        for &(lon, lat) in places {
            codes.extend(villages.near(lon, lat, radius));
        }
        let redone: Vec<VillageCover> = codes
            .par_iter()
            .filter_map(|c| villages.by_code.get(c))
            .map(|v| village_cover(set, v, radius))
            .collect();
        for c in redone {
            next.villages.insert(c.code.clone(), c);
        }
        // A site's nearest hydrant can change only if a changed hydrant is (or was) closer
        // than its current nearest; redoing all sites is cheap enough (a tree probe each).
        next.sites.clear();
        for a in set.of_kind(AssetKind::Heritage) {
            if let Some(s) = site_cover(set, a.id, radius) {
                next.sites.insert(a.id, s);
            }
        }
        // Spacing: a hydrant's nearest neighbour changes only within the spacing of a change.
        let pos = |h: i64| set.get(h).map(|a| (a.lon, a.lat));
        let mut touched = BTreeSet::new();
        for &(lon, lat) in places {
            for h in nearest::within(&set.all_hydrants, lon, lat, SPACING_M * 1.5, pos) {
                touched.insert(h.id);
            }
        }
        for id in touched {
            next.isolated.remove(&id);
            if set.get(id).is_some_and(|a| a.is_working_hydrant())
                && let Some(d) = isolation(set, id)
            {
                next.isolated.insert(id, d);
            }
        }
        next.isolated
            .retain(|id, _| set.get(*id).is_some_and(|a| a.is_working_hydrant()));
        next
    }
}

/// Sum over some villages: (built m², uncovered m²).
pub fn totals<'a>(covers: impl Iterator<Item = &'a VillageCover>) -> (f64, f64) {
    covers.fold((0.0, 0.0), |(b, u), c| (b + c.built_m2, u + c.uncovered_m2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ellipsoid_scales_match_known_values() {
        let (kx, ky) = metres_per_degree(0.0);
        assert!((kx - 111_319.5).abs() < 1.0 && (ky - 110_574.3).abs() < 1.0);
        let (kx, ky) = metres_per_degree(25.4);
        assert!((kx - 100_621.0).abs() < 50.0, "{kx}");
        assert!((ky - 110_784.0).abs() < 50.0, "{ky}");
    }

    #[test]
    fn a_circle_covers_its_share_of_a_square() {
        // A 1 km square village with one hydrant in the middle.
        let (kx, ky) = metres_per_degree(25.4);
        let (w, h) = (1000.0 / kx, 1000.0 / ky);
        let sq = Polygon::new(
            LineString::from(vec![
                (119.0, 25.4),
                (119.0 + w, 25.4),
                (119.0 + w, 25.4 + h),
                (119.0, 25.4 + h),
                (119.0, 25.4),
            ]),
            vec![],
        );
        let v = Village {
            code: Arc::from("v"),
            name: Arc::from("v"),
            parents: [None, None],
            shape: FlatShape::from_multipolygon(&MultiPolygon(vec![sq])),
        };
        let row = |id: i64, lon: f64, lat: f64| crate::store::assets::AssetRow {
            id,
            kind: "hydrant".into(),
            name: "h".into(),
            lon,
            lat,
            geojson: String::new(),
            props: serde_json::json!({"type": "pillar", "flow_lps": 15.0, "pressure_mpa": 0.3}),
            in_service: true,
            chain: Default::default(),
            version: 1,
            updated_at: chrono::Utc::now(),
            retired_at: None,
            alarm_event_id: None,
        };
        let set = AssetSet::from_rows(&[row(1, 119.0 + w / 2.0, 25.4 + h / 2.0)]);
        let c = village_cover(&set, &v, 150.0);
        assert!((c.built_m2 - 1e6).abs() < 1e3, "{}", c.built_m2);
        let polygon = 0.5
            * CIRCLE_SEGMENTS as f64
            * (std::f64::consts::TAU / CIRCLE_SEGMENTS as f64).sin()
            * 150.0
            * 150.0;
        assert!(
            (c.covered_m2() - polygon).abs() < 50.0,
            "{} vs {polygon}",
            c.covered_m2()
        );
        // Moved to a corner: a quarter.
        let set2 = set.patched(&[row(1, 119.0, 25.4)], &[]);
        let c2 = village_cover(&set2, &v, 150.0);
        assert!(
            (c2.covered_m2() - polygon / 4.0).abs() < 50.0,
            "{}",
            c2.covered_m2()
        );
    }
}

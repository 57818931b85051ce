//! The demo fleet, from a seed, over the loaded city:
//! - harbours on the city's real coastline: each named harbour's rough place is snapped to the
//!   nearest point of the outer boundary of the districts (the echarts outline), and its
//!   fairway is found by looking out to sea (east to south-west, the Taiwan Strait side) for
//!   a bearing whose points 3, 6 and 10 km out are all outside the city; two anchorages lie
//!   off the busiest fairways;
//! - Huangshi's (黄石镇) 320 boats, managed by its villages, berthed in the harbours nearest
//!   to it, then 30 to 60 boats for each other coastal town; about one in five is class B;
//! - one restricted zone on Huangshi's fishing grounds.
//!
//! Names, numbers and owners are made up (synthetic people, made-up phones).

use crate::index::Snapshot;
use crate::model::Level;
use crate::store::areas::AreaShape;
use crate::store::vessels::{HarbourRow, VesselWrite};
use geo::{BooleanOps, ClosestPoint, Contains, Coord, LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The town whose fleet the demo centres on.
pub const HUANGSHI: &str = "350304101";
/// Boats of Huangshi.
pub const HUANGSHI_BOATS: usize = 320;
/// Harbours and anchorages keep at least this far apart (twice the 4 km exit radius would
/// be ideal; the coast is not that generous).
const MIN_APART_M: f64 = 7000.0;

/// Named harbours and where they roughly are (snapped to the coastline).
const HARBOURS: &[(&str, f64, f64)] = &[
    ("黄石渔港", 119.10, 25.40),
    ("三江口渔港", 119.14, 25.43),
    ("北高渔港", 119.21, 25.36),
    ("东峤汀港渔港", 119.26, 25.30),
    ("埭头石城渔港", 119.30, 25.26),
    ("平海渔港", 119.27, 25.19),
    ("南日岛渔港", 119.48, 25.22),
    ("忠门渔港", 119.13, 25.17),
    ("湄洲岛渔港", 119.12, 25.08),
    ("秀屿渔港", 119.08, 25.22),
    ("枫亭渔港", 118.86, 25.25),
];

/// The demo fleet's rows. Harbour ids in `vessels` are positions in `harbours` plus one (the
/// ids of an empty table); `store` maps them to the ids given.
pub struct DemoFleet {
    pub harbours: Vec<HarbourRow>,
    pub vessels: Vec<VesselWrite>,
    pub zone: Option<(String, Polygon<f64>)>,
}

/// The city as one (multi)polygon: the union of the districts.
fn city(rows: &[AreaShape]) -> MultiPolygon<f64> {
    let mut city = MultiPolygon::<f64>(Vec::new());
    for r in rows.iter().filter(|r| r.level == Level::District) {
        let Some(g) = &r.geom else { continue };
        let mut polys: Vec<Polygon<f64>> = Vec::new();
        for (ring, hole) in g.rings() {
            let ls = LineString::from(
                ring.iter()
                    .map(|c| Coord { x: c[0], y: c[1] })
                    .collect::<Vec<_>>(),
            );
            if hole {
                if let Some(p) = polys.last_mut() {
                    p.interiors_push(ls);
                }
            } else {
                polys.push(Polygon::new(ls, vec![]));
            }
        }
        city = city.union(&MultiPolygon(polys));
    }
    city
}

/// A point `m` metres from (lon, lat) on `bearing` (degrees clockwise from north).
pub fn offset(lon: f64, lat: f64, bearing: f64, m: f64) -> (f64, f64) {
    let b = bearing.to_radians();
    let dlat = m * b.cos() / 111_320.0;
    let dlon = m * b.sin() / (111_320.0 * lat.to_radians().cos());
    (lon + dlon, lat + dlat)
}

/// The nearest point of the city's outer boundary to (lon, lat).
fn snap(city: &MultiPolygon<f64>, lon: f64, lat: f64) -> Option<(f64, f64)> {
    let p = Point::new(lon, lat);
    let mut best: Option<(f64, Point<f64>)> = None;
    for poly in &city.0 {
        let c = match poly.exterior().closest_point(&p) {
            geo::Closest::Intersection(q) | geo::Closest::SinglePoint(q) => q,
            geo::Closest::Indeterminate => continue,
        };
        let d = (c.x() - lon).hypot(c.y() - lat);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, q)| (q.x(), q.y()))
}

/// The bearing out to sea from a coastal point, nearest to `prefer`: east to south-west,
/// with points 3, 6 and 10 km out all outside the city.
fn seaward(city: &MultiPolygon<f64>, lon: f64, lat: f64, prefer: f64) -> Option<f64> {
    let mut ok: Vec<f64> = (3..=22)
        .map(|i| i as f64 * 10.0)
        .filter(|b| {
            [3000.0, 6000.0, 10_000.0].iter().all(|m| {
                let (x, y) = offset(lon, lat, *b, *m);
                !city.contains(&Point::new(x, y))
            })
        })
        .collect();
    ok.sort_by(|a, b| {
        let da = (a - prefer).abs();
        let db = (b - prefer).abs();
        da.total_cmp(&db)
    });
    ok.first().copied()
}

const SURNAMES: &[&str] = &[
    "林", "陈", "黄", "郑", "吴", "李", "王", "张", "蔡", "方", "许", "翁",
];
const GIVEN: &[&str] = &[
    "金", "水", "海", "福", "春", "明", "国", "建", "清", "文", "志", "永", "德", "荣",
];

/// Generates the demo fleet over `rows` (the loaded city).
pub fn generate(rows: &[AreaShape], seed: u64) -> DemoFleet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let city = city(rows);
    let snapshot = Snapshot::from_rows(rows);
    let centre = (119.05, 25.42);
    let mut harbours: Vec<HarbourRow> = Vec::new();
    for (name, lon, lat) in HARBOURS {
        let Some((x, y)) = snap(&city, *lon, *lat) else {
            continue;
        };
        let prefer = {
            let (dx, dy) = (x - centre.0, y - centre.1);
            dx.atan2(dy).to_degrees().rem_euclid(360.0)
        };
        let Some(bearing) = seaward(&city, x, y, prefer) else {
            tracing::warn!(harbour = name, "no way out to sea found; left out");
            continue;
        };
        // Harbours closer than `MIN_APART_M` would share their waters: the first one stays.
        if harbours
            .iter()
            .any(|h| super::port::distance_m(h.lon, h.lat, x, y) < MIN_APART_M)
        {
            tracing::info!(harbour = name, "too close to another harbour; left out");
            continue;
        }
        let fairway = offset(x, y, bearing, 4000.0);
        let town = snapshot
            .assign(x, y, 3000.0)
            .chain
            .town
            .map(|t| t.code.to_string())
            .or_else(|| {
                let n = snapshot.nearest_grid(x, y, 5000.0)?;
                Some(n.chain.town?.code.to_string())
            });
        harbours.push(HarbourRow {
            id: 0,
            name: name.to_string(),
            kind: "harbour".into(),
            lon: x,
            lat: y,
            fairway: Some(fairway),
            town_code: town,
        });
    }
    // Anchorages off the first two fairways.
    for (i, name) in [(0usize, "兴化湾锚地"), (9, "湄洲湾锚地")] {
        let Some(h) = HARBOURS
            .get(i)
            .and_then(|(n, _, _)| harbours.iter().find(|h| h.name == *n))
        else {
            continue;
        };
        let Some((fx, fy)) = h.fairway else { continue };
        let (x, y) = offset(fx, fy, 0.0, 0.0);
        let (x, y) = (x + (fx - h.lon) * 0.8, y + (fy - h.lat) * 0.8);
        let fairway = (x + (fx - h.lon), y + (fy - h.lat));
        harbours.push(HarbourRow {
            id: 0,
            name: name.into(),
            kind: "anchorage".into(),
            lon: x,
            lat: y,
            fairway: Some(fairway),
            town_code: h.town_code.clone(),
        });
    }
    let villages_of = |town: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.level == Level::Village && r.parent.as_deref() == Some(town))
            .map(|r| r.code.to_string())
            .collect()
    };
    let harbour_ids: Vec<(i32, &HarbourRow)> = harbours
        .iter()
        .enumerate()
        .filter(|(_, h)| h.kind == "harbour")
        .map(|(i, h)| (i as i32 + 1, h))
        .collect();
    let mut vessels = Vec::new();
    let mut serial = 10_001u32;
    let mut boat = |rng: &mut ChaCha8Rng, village: Option<String>, harbour: i32| {
        let class_b = rng.random_bool(0.2);
        let length: f32 = if class_b {
            rng.random_range(9.0..16.0)
        } else {
            rng.random_range(18.0..45.0)
        };
        let owner = format!(
            "{}{}{}",
            SURNAMES[rng.random_range(0..SURNAMES.len())],
            GIVEN[rng.random_range(0..GIVEN.len())],
            GIVEN[rng.random_range(0..GIVEN.len())]
        );
        let w = VesselWrite {
            mmsi: 412_400_000 + serial as i32,
            name: Some(format!("闽莆渔{serial:05}")),
            call_sign: Some(format!("BZ{}", 3000 + serial % 7000)),
            ship_type: Some(30),
            class: Some(if class_b { "B" } else { "A" }),
            length_m: Some((length * 10.0).round() / 10.0),
            harbour_id: Some(harbour),
            owner_name: Some(owner),
            owner_phone: Some(format!(
                "13{}{:08}",
                rng.random_range(5..10),
                rng.random_range(0..100_000_000u32)
            )),
            village_code: village,
        };
        serial += 1;
        w
    };
    // Huangshi's boats in the three harbours nearest to it.
    let huangshi: Vec<String> = villages_of(HUANGSHI);
    let hs_centre = rows
        .iter()
        .find(|r| r.code.as_ref() == HUANGSHI)
        .and_then(|r| r.geom.as_ref())
        .map(|g| {
            let b = g.bbox();
            ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
        })
        .unwrap_or(centre);
    let mut near: Vec<(i32, f64)> = harbour_ids
        .iter()
        .map(|(id, h)| (*id, (h.lon - hs_centre.0).hypot(h.lat - hs_centre.1)))
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1));
    let home: Vec<i32> = near.iter().take(3).map(|(id, _)| *id).collect();
    for i in 0..HUANGSHI_BOATS {
        let village = (!huangshi.is_empty()).then(|| huangshi[i % huangshi.len()].clone());
        let harbour = if home.is_empty() {
            1
        } else {
            home[if i % 10 < 6 { 0 } else { 1 + i % 2 } % home.len()]
        };
        vessels.push(boat(&mut rng, village, harbour));
    }
    // Other coastal towns: their own harbour's boats.
    for (id, h) in &harbour_ids {
        let Some(town) = h.town_code.as_deref() else {
            continue;
        };
        if town == HUANGSHI {
            continue;
        }
        let villages = villages_of(town);
        let n = rng.random_range(30..=60);
        for i in 0..n {
            let village = (!villages.is_empty()).then(|| villages[i % villages.len()].clone());
            vessels.push(boat(&mut rng, village, *id));
        }
    }
    // The zone: a 3 km × 2 km box 14 km beyond Huangshi's first harbour's fairway.
    let zone = home
        .first()
        .and_then(|id| harbours.get(*id as usize - 1))
        .and_then(|h| {
            let (fx, fy) = h.fairway?;
            let bearing = (fx - h.lon).atan2(fy - h.lat).to_degrees();
            let (cx, cy) = offset(fx, fy, bearing, 14_000.0);
            let (dx, dy) = (
                1500.0 / (111_320.0 * cy.to_radians().cos()),
                1000.0 / 111_320.0,
            );
            let ring = vec![
                (cx - dx, cy - dy),
                (cx + dx, cy - dy),
                (cx + dx, cy + dy),
                (cx - dx, cy + dy),
                (cx - dx, cy - dy),
            ];
            Some((
                "兴化湾军事管理区（禁航）".to_string(),
                Polygon::new(LineString::from(ring), vec![]),
            ))
        });
    DemoFleet {
        harbours,
        vessels,
        zone,
    }
}

/// Stores the demo fleet: harbours first (their ids replace the positions), then boats and
/// the zone. The number of boats.
pub async fn store_all(
    store: &crate::store::Store,
    fleet: DemoFleet,
) -> Result<usize, crate::store::StoreError> {
    let ids = store.insert_harbours(&fleet.harbours).await?;
    let vessels: Vec<VesselWrite> = fleet
        .vessels
        .into_iter()
        .map(|mut v| {
            v.harbour_id = v.harbour_id.and_then(|h| ids.get(h as usize - 1).copied());
            v
        })
        .collect();
    store.upsert_vessels(&vessels).await?;
    if let Some((name, polygon)) = &fleet.zone {
        store.insert_zone(name, polygon).await?;
    }
    Ok(vessels.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_go_the_right_way() {
        let (x, y) = offset(119.0, 25.0, 90.0, 1000.0);
        assert!(x > 119.0 && (y - 25.0).abs() < 1e-9);
        let (x, y) = offset(119.0, 25.0, 180.0, 1000.0);
        assert!(y < 25.0 && (x - 119.0).abs() < 1e-9);
    }
}

//! Demo fire-protection assets, from a seed, over the loaded city:
//! - hydrants on a jittered 110 m lattice over the built-up units (those under
//!   `BUILT_UP_M2`, the dense parts around the towns), with gaps (`GAP_SHARE` left out),
//!   some out of service and some overdue for inspection; flows of 5–20 L/s;
//! - Dongyang village (东阳村, 拱辰街道): its 19 heritage units, three of them beyond every
//!   hydrant's 150 m and one beside a hydrant out of service, with smoke and electrical
//!   sensors (temperature on the oldest);
//! - a heritage site in one village of six elsewhere, ponds and reservoirs (water-level
//!   sensors on some), river access points, a professional station per district and a
//!   volunteer station per town, free-standing temperature sensors in the hills of Xianyou.
//!
//! Names are made up; the caretakers are synthetic people with made-up phone numbers.

use super::model::*;
use crate::geom::flat::FlatShape;
use crate::index::{DEFAULT_TOLERANCE_M, Snapshot};
use crate::model::Level;
use crate::store::areas::AreaShape;
use crate::store::assets::AssetWrite;
use geo::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};

pub const DONGYANG: &str = "350304002205";
/// Units smaller than this are built-up.
pub const BUILT_UP_M2: f64 = 10_000.0;
const SPACING_M: f64 = 110.0;
const GAP_SHARE: f64 = 0.08;

/// One generated asset before it is placed.
struct Gen {
    name: String,
    spec: Spec,
    lon: f64,
    lat: f64,
    in_service: bool,
}

/// The planar area (m²) of a shape.
pub fn area_m2(s: &FlatShape) -> f64 {
    let b = s.bbox();
    let (kx, ky) = super::coverage::metres_per_degree((b[1] + b[3]) / 2.0);
    s.rings()
        .map(|(r, hole)| {
            let mut a = 0.0;
            for w in r.windows(2) {
                a += (w[0][0] * kx) * (w[1][1] * ky) - (w[1][0] * kx) * (w[0][1] * ky);
            }
            if let (Some(f), Some(l)) = (r.first(), r.last()) {
                a += (l[0] * kx) * (f[1] * ky) - (f[0] * kx) * (l[1] * ky);
            }
            if hole { -a.abs() / 2.0 } else { a.abs() / 2.0 }
        })
        .sum()
}

/// A point inside `s`: its box centre if inside, else a random covered point.
fn point_in(s: &FlatShape, rng: &mut ChaCha8Rng) -> Option<(f64, f64)> {
    let b = s.bbox();
    let c = Coord {
        x: (b[0] + b[2]) / 2.0,
        y: (b[1] + b[3]) / 2.0,
    };
    if s.covers(c) {
        return Some((c.x, c.y));
    }
    (0..200).find_map(|_| {
        let p = Coord {
            x: rng.random_range(b[0]..=b[2]),
            y: rng.random_range(b[1]..=b[3]),
        };
        s.covers(p).then_some((p.x, p.y))
    })
}

const SURNAMES: &[&str] = &["林", "陈", "黄", "郑", "吴", "李", "王", "张", "方", "余"];
const HERITAGE_NAMES: &[&str] = &[
    "古民居",
    "宗祠",
    "祖厝",
    "书院",
    "古戏台",
    "文昌阁",
    "古石桥",
    "古井亭",
    "家庙",
    "旧宅",
    "节孝坊",
    "古厝群",
    "大夫第",
    "进士第",
    "古寺",
    "学堂旧址",
    "炮楼",
    "古渡口",
    "石塔",
];

fn phone(rng: &mut ChaCha8Rng) -> String {
    // 190 numbers are the synthetic range this project uses for made-up people.
    format!("190{:08}", rng.random_range(0..100_000_000u32))
}

fn caretaker(rng: &mut ChaCha8Rng) -> Caretaker {
    let s = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let given = ["某", "晓", "建", "志", "秀", "国"][rng.random_range(0..6)];
    Caretaker {
        name: format!("{s}{given}某"),
        phone: phone(rng),
    }
}

fn hydrant(rng: &mut ChaCha8Rng, today: chrono::NaiveDate) -> HydrantProps {
    let flow = match rng.random_range(0..100) {
        0..=64 => 15.0,
        65..=84 => 10.0,
        85..=94 => 20.0,
        _ => rng.random_range(5.0..9.0f64).round(),
    };
    let overdue = rng.random_bool(0.08);
    let days = if overdue {
        rng.random_range(400..900)
    } else {
        rng.random_range(10..330)
    };
    HydrantProps {
        kind: if rng.random_bool(0.7) {
            HydrantType::Pillar
        } else {
            HydrantType::Underground
        },
        flow_lps: flow,
        pressure_mpa: (rng.random_range(0.14..0.45f64) * 100.0).round() / 100.0,
        last_inspection: Some(today - chrono::Duration::days(days)),
    }
}

/// Generates the demo assets over `rows` (every area), placed with the index. Sensors name
/// their sites by position in the list (`site_id` is set to `-(index + 1)` and resolved when
/// the sites have ids: see `resolve_sites`).
pub fn generate(rows: &[AreaShape], seed: u64, today: chrono::NaiveDate) -> Vec<AssetWrite> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let snapshot = Snapshot::from_rows(rows);
    let mut gens: Vec<Gen> = Vec::new();
    let units: Vec<&AreaShape> = rows
        .iter()
        .filter(|r| r.level == Level::Unit && r.geom.is_some())
        .collect();
    let parent: HashMap<&str, &str> = rows
        .iter()
        .filter_map(|r| Some((r.code.as_ref(), r.parent.as_deref()?)))
        .collect();
    let village_of = |unit: &str| parent.get(unit).and_then(|g| parent.get(g)).copied();
    // Built-up units (Dongyang's all count: its heritage lies among them).
    let built: HashSet<&str> = units
        .iter()
        .filter(|u| {
            village_of(&u.code) == Some(DONGYANG)
                || u.geom.as_ref().is_some_and(|g| area_m2(g) < BUILT_UP_M2)
        })
        .map(|u| u.code.as_ref())
        .collect();
    // Hydrants: a jittered lattice over the built-up units.
    if let Some(b) = snapshot.units_bbox() {
        let (kx, ky) = super::coverage::metres_per_degree((b[1] + b[3]) / 2.0);
        let (dx, dy) = (SPACING_M / kx, SPACING_M / ky);
        let mut n = 0usize;
        let mut y = b[1];
        while y < b[3] {
            let mut x = b[0];
            while x < b[2] {
                let (px, py) = (
                    x + rng.random_range(-0.2..0.2) * dx,
                    y + rng.random_range(-0.2..0.2) * dy,
                );
                let keep = !rng.random_bool(GAP_SHARE);
                if keep
                    && let Some(u) = snapshot.locate_unit(px, py)
                    && built.contains(snapshot.unit_code(u))
                {
                    n += 1;
                    gens.push(Gen {
                        name: format!("消火栓 {n:05}"),
                        spec: Spec::Hydrant(hydrant(&mut rng, today)),
                        lon: px,
                        lat: py,
                        in_service: !rng.random_bool(0.04),
                    });
                }
                x += dx;
            }
            y += dy;
        }
    }
    // Dongyang's heritage units.
    let dongyang_units: Vec<&&AreaShape> = units
        .iter()
        .filter(|u| village_of(&u.code) == Some(DONGYANG))
        .collect();
    let mut sites: Vec<usize> = Vec::new();
    if !dongyang_units.is_empty() {
        for (i, base) in HERITAGE_NAMES.iter().enumerate() {
            let u = dongyang_units[(i * 7919 + 13) % dongyang_units.len()];
            let Some((lon, lat)) = u.geom.as_ref().and_then(|g| point_in(g, &mut rng)) else {
                continue;
            };
            let level = match i {
                0 => HeritageLevel::Provincial,
                1 | 2 => HeritageLevel::Municipal,
                _ => HeritageLevel::County,
            };
            let s = SURNAMES[i % SURNAMES.len()];
            let name = match *base {
                "宗祠" | "祖厝" | "家庙" | "旧宅" | "古民居" | "大夫第" | "进士第" =>
                {
                    format!("东阳{s}氏{base}")
                }
                _ => format!("东阳{base}"),
            };
            sites.push(gens.len());
            gens.push(Gen {
                name,
                spec: Spec::Heritage(HeritageProps {
                    level,
                    structure: [
                        Structure::Wood,
                        Structure::Brick,
                        Structure::Wood,
                        Structure::Stone,
                    ][i % 4],
                    year: Some(1450 + (i as i32 * 23) % 450),
                    caretaker: Some(caretaker(&mut rng)),
                }),
                lon,
                lat,
                in_service: true,
            });
        }
    }
    // Gaps at three sites (no working hydrant within 150 m) and a broken one at a fourth.
    let (kx, ky) = super::coverage::metres_per_degree(25.4);
    let near =
        |g: &Gen, lon: f64, lat: f64, m: f64| ((g.lon - lon) * kx).hypot((g.lat - lat) * ky) < m;
    let gap_sites: Vec<(f64, f64)> = sites
        .iter()
        .skip(4)
        .step_by(5)
        .take(3)
        .map(|&i| (gens[i].lon, gens[i].lat))
        .collect();
    gens.retain(|g| {
        !(matches!(g.spec, Spec::Hydrant(_))
            && gap_sites.iter().any(|&(x, y)| near(g, x, y, 175.0)))
    });
    let sites: Vec<usize> = gens
        .iter()
        .enumerate()
        .filter(|(_, g)| matches!(g.spec, Spec::Heritage(_)))
        .map(|(i, _)| i)
        .collect();
    if let Some(&s3) = sites.get(3) {
        let (x, y) = (gens[s3].lon, gens[s3].lat);
        if let Some(h) = gens
            .iter_mut()
            .find(|g| matches!(g.spec, Spec::Hydrant(_)) && near(g, x, y, 150.0))
        {
            h.in_service = false;
        }
    }
    // Sensors on Dongyang's sites: smoke and electrical on each, temperature on the first three.
    for (n, &s) in sites.iter().enumerate() {
        let (lon, lat, name) = (gens[s].lon, gens[s].lat, gens[s].name.clone());
        let mut types = vec![SensorType::Smoke, SensorType::Current];
        if n < 3 {
            types.push(SensorType::Temperature);
        }
        for (k, t) in types.into_iter().enumerate() {
            gens.push(Gen {
                name: format!("{name}{}", t.label()),
                spec: Spec::Sensor(SensorProps {
                    kind: t,
                    site_id: Some(-(s as i64 + 1)),
                    threshold: None,
                    debounce: None,
                    silence_s: None,
                }),
                lon: lon + 0.00004 * (k as f64 + 1.0),
                lat: lat + 0.00003,
                in_service: true,
            });
        }
    }
    // Elsewhere: heritage in one village of six, ponds, reservoirs, river access, stations.
    let villages: Vec<&AreaShape> = rows
        .iter()
        .filter(|r| r.level == Level::Village && r.geom.is_some())
        .collect();
    let mut reservoirs = 0;
    for (i, v) in villages.iter().enumerate() {
        let g = v.geom.as_ref().expect("filtered");
        if v.code.as_ref() != DONGYANG
            && i % 6 == 0
            && let Some((lon, lat)) = point_in(g, &mut rng)
        {
            let base = HERITAGE_NAMES[rng.random_range(0..HERITAGE_NAMES.len())];
            gens.push(Gen {
                name: format!(
                    "{}{base}",
                    v.name.trim_end_matches(['村', '居', '社', '区'])
                ),
                spec: Spec::Heritage(HeritageProps {
                    level: [
                        HeritageLevel::County,
                        HeritageLevel::County,
                        HeritageLevel::Municipal,
                        HeritageLevel::Provincial,
                    ][rng.random_range(0..4)],
                    structure: [
                        Structure::Wood,
                        Structure::Brick,
                        Structure::Stone,
                        Structure::Mixed,
                    ][rng.random_range(0..4)],
                    year: Some(rng.random_range(1100..1930)),
                    caretaker: Some(caretaker(&mut rng)),
                }),
                lon,
                lat,
                in_service: true,
            });
        }
        for k in 0..2 {
            let Some((lon, lat)) = point_in(g, &mut rng).map(|(x, y)| {
                (
                    x + rng.random_range(-0.002..0.002),
                    y + rng.random_range(-0.002..0.002),
                )
            }) else {
                continue;
            };
            if !g.covers(Coord { x: lon, y: lat }) {
                continue;
            }
            let kind = match (k, rng.random_range(0..10)) {
                (0, _) => WaterType::Pond,
                (_, 0) => WaterType::Reservoir,
                _ => WaterType::River,
            };
            let name = format!(
                "{}{}",
                v.name,
                match kind {
                    WaterType::Pond => "池塘",
                    WaterType::Reservoir => "水库",
                    WaterType::River => "河道取水点",
                }
            );
            let capacity = match kind {
                WaterType::Pond => Some(rng.random_range(500.0..5000.0f64).round()),
                WaterType::Reservoir => Some(rng.random_range(1e5..5e6f64).round()),
                WaterType::River => None,
            };
            gens.push(Gen {
                name: name.clone(),
                spec: Spec::Water(WaterProps {
                    kind,
                    capacity_m3: capacity,
                }),
                lon,
                lat,
                in_service: true,
            });
            if kind == WaterType::Reservoir && reservoirs < 12 {
                reservoirs += 1;
                gens.push(Gen {
                    name: format!("{name}水位"),
                    spec: Spec::Sensor(SensorProps {
                        kind: SensorType::WaterLevel,
                        site_id: None,
                        threshold: None,
                        debounce: None,
                        silence_s: None,
                    }),
                    lon: lon + 0.0001,
                    lat,
                    in_service: true,
                });
            }
        }
        // Hills of Xianyou: free-standing temperature sensors watch for forest fire.
        if v.code.starts_with("350322")
            && i % 40 == 0
            && let Some((lon, lat)) = point_in(g, &mut rng)
        {
            gens.push(Gen {
                name: format!("{}山林温感", v.name),
                spec: Spec::Sensor(SensorProps {
                    kind: SensorType::Temperature,
                    site_id: None,
                    threshold: None,
                    debounce: None,
                    silence_s: None,
                }),
                lon,
                lat,
                in_service: true,
            });
        }
    }
    for r in rows
        .iter()
        .filter(|r| matches!(r.level, Level::District | Level::Town))
    {
        let Some(g) = r.geom.as_ref() else { continue };
        let Some((lon, lat)) = point_in(g, &mut rng) else {
            continue;
        };
        let (kind, name) = if r.level == Level::District {
            (StationType::Professional, format!("{}消防救援站", r.name))
        } else {
            (StationType::Volunteer, format!("{}微型消防站", r.name))
        };
        gens.push(Gen {
            name,
            spec: Spec::Station(StationProps { kind }),
            lon,
            lat,
            in_service: true,
        });
    }
    gens.into_iter()
        .map(|g| {
            let a = snapshot.assign(g.lon, g.lat, DEFAULT_TOLERANCE_M);
            let chain = if a.assigned {
                a.chain
            } else {
                a.nearest.map(|n| n.chain).unwrap_or_default()
            };
            let code = |r: &Option<crate::model::AreaRef>| r.as_ref().map(|r| r.code.to_string());
            AssetWrite {
                kind: g.spec.kind().code(),
                name: g.name,
                lon: g.lon,
                lat: g.lat,
                geojson: format!(r#"{{"type":"Point","coordinates":[{},{}]}}"#, g.lon, g.lat),
                props: g.spec.to_json(),
                in_service: g.in_service,
                chain: [
                    code(&chain.unit),
                    code(&chain.grid),
                    code(&chain.village),
                    code(&chain.town),
                    code(&chain.district),
                ],
            }
        })
        .collect()
}

/// Writes the demo assets: sites first, then the sensors with the ids their sites were
/// stored under (a generated sensor names its site as `-(position + 1)` in the list).
pub async fn store_all(
    store: &crate::store::Store,
    writes: Vec<AssetWrite>,
) -> Result<usize, crate::store::StoreError> {
    type Numbered = Vec<(usize, AssetWrite)>;
    let (sensors, others): (Numbered, Numbered) = writes
        .into_iter()
        .enumerate()
        .partition(|(_, w)| w.kind == AssetKind::Sensor.code());
    let list: Vec<AssetWrite> = others.iter().map(|(_, w)| w.clone()).collect();
    let ids = store.insert_assets(&list).await?;
    let id_at: HashMap<usize, i64> = others.iter().map(|(i, _)| *i).zip(ids).collect();
    let mut sensors: Vec<AssetWrite> = sensors.into_iter().map(|(_, w)| w).collect();
    for w in sensors.iter_mut() {
        if let Some(s) = w.props.get("site_id").and_then(|v| v.as_i64())
            && s < 0
        {
            let site = id_at.get(&((-s - 1) as usize)).copied();
            match site {
                Some(id) => w.props["site_id"] = id.into(),
                None => {
                    if let Some(o) = w.props.as_object_mut() {
                        o.remove("site_id");
                    }
                }
            }
        }
    }
    store.insert_assets(&sensors).await?;
    Ok(list.len() + sensors.len())
}

//! Builds the whole demo city: the five real districts, their real towns and villages by name
//! and code, and generated geometry below district level, as a partition at every level.

use super::districts;
use super::grouping::balanced_clusters;
use super::lattice::{Shape, to_multipolygon};
use super::ops;
use super::partition::{self, UnitCell};
use super::seeds::{self, Core, Projector};
use super::shape_index::ShapeIndex;
use super::source::{self, TownSource, VillageSource};
use crate::model::{Area, AreaCode, Level};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::json;

/// Knobs of the generator. The defaults give Putian's real counts of districts, towns and
/// villages and about 10,000 grids and 130,000 units.
#[derive(Debug, Clone, Copy)]
pub struct DemoParams {
    pub seed: u64,
    pub units: usize,
    pub units_per_grid: usize,
}

impl Default for DemoParams {
    fn default() -> Self {
        DemoParams {
            seed: 3503,
            units: 130_000,
            units_per_grid: 13,
        }
    }
}

/// The generated city, parents before children.
pub struct DemoCity {
    pub areas: Vec<Area>,
}

impl DemoCity {
    pub fn count(&self, level: Level) -> usize {
        self.areas.iter().filter(|a| a.level == level).count()
    }
}

/// A node of the tree being built: its shapes on the lattice and its members.
struct Node {
    code: String,
    name: String,
    level: Level,
    parent: Option<String>,
    shapes: Vec<Shape>,
    props: serde_json::Value,
}

/// Generates the demo city. `progress` is told the name of each step as it starts.
pub fn generate(params: DemoParams, progress: &dyn Fn(&str)) -> DemoCity {
    let divisions = source::divisions();
    progress("cleaning district boundaries");
    let districts = districts::clean(&source::districts());
    let proj = Projector::at_latitude(25.4);
    let shapes: Vec<Vec<Shape>> = districts.iter().map(|d| d.shapes.clone()).collect();
    let index = ShapeIndex::new(&shapes, 2048);

    progress("placing units");
    let cores: Vec<Core> = districts
        .iter()
        .map(|d| {
            let p = super::lattice::to_lattice(d.seat.0, d.seat.1);
            let (x, y) = proj.metres(p.x as f64, p.y as f64);
            // Three urban districts share one large core; the county and Xiuyu are smaller.
            let (sigma_m, boost) = match d.code.as_str() {
                "350302" | "350303" | "350304" => (3_000.0, 14.0),
                _ => (2_500.0, 9.0),
            };
            Core {
                x,
                y,
                sigma_m,
                boost,
            }
        })
        .collect();
    let seeds = seeds::generate(&shapes, &index, proj, &cores, params.units, params.seed);
    // Urban names go to the densest part; a smooth wobble keeps that edge from being a circle.
    let urbanness = |x: f64, y: f64| {
        let wobble = 1.0
            + 0.35 * ((x / 1_700.0).sin() * (y / 2_300.0).cos())
            + 0.25 * ((x / 900.0 + y / 1_300.0).sin());
        seeds::density_factor(&cores, x, y) * wobble
    };

    progress(&format!(
        "cutting {} units (Voronoi cells sliced by district boundaries)",
        seeds.len()
    ));
    let cells = partition::cut(&shapes, &index, &seeds, proj);

    progress("grouping units into towns, villages and grids");
    let mut nodes: Vec<Node> = Vec::new();
    let mut unit_nodes: Vec<Node> = Vec::new();
    let mut grid_nodes: Vec<Node> = Vec::new();
    let mut village_nodes: Vec<Node> = Vec::new();
    let mut town_nodes: Vec<Node> = Vec::new();
    for (di, district) in districts.iter().enumerate() {
        let members: Vec<&UnitCell> = cells.iter().filter(|c| c.district == di).collect();
        let towns: Vec<&TownSource> = divisions
            .towns
            .iter()
            .filter(|t| t.district == district.code)
            .collect();
        let town_of = group_named(
            &members,
            &towns,
            |t| villages_of(&divisions.villages, &t.code).len().max(1) as f64,
            |t| is_urban_town(&t.name),
            &urbanness,
            params.seed ^ hash(&district.code),
        );
        for (ti, town) in towns.iter().enumerate() {
            let t_members: Vec<&UnitCell> = members
                .iter()
                .zip(&town_of)
                .filter(|(_, t)| **t == ti)
                .map(|(u, _)| *u)
                .collect();
            let villages = villages_of(&divisions.villages, &town.code);
            let village_of = group_named(
                &t_members,
                &villages,
                |_| 1.0,
                |v| is_urban_village(&v.name),
                &urbanness,
                params.seed ^ hash(&town.code),
            );
            for (vi, village) in villages.iter().enumerate() {
                let v_members: Vec<&UnitCell> = t_members
                    .iter()
                    .zip(&village_of)
                    .filter(|(_, v)| **v == vi)
                    .map(|(u, _)| *u)
                    .collect();
                let urban = is_urban_village(&village.name);
                let (grids, units, population) = build_village(
                    village,
                    &v_members,
                    urban,
                    params,
                    &mut grid_nodes,
                    &mut unit_nodes,
                );
                village_nodes.push(Node {
                    code: village.code.clone(),
                    name: village.name.clone(),
                    level: Level::Village,
                    parent: Some(town.code.clone()),
                    shapes: Vec::new(),
                    props: json!({
                        "official_name": village.official_name,
                        "kind": if urban { "社区" } else { "村" },
                        "population": population,
                        "households": (population as f64 / 2.9).round() as u64,
                        "grid_count": grids,
                        "unit_count": units,
                    }),
                });
            }
            town_nodes.push(Node {
                code: town.code.clone(),
                name: town.name.clone(),
                level: Level::Town,
                parent: Some(district.code.clone()),
                shapes: Vec::new(),
                props: json!({ "kind": town_kind(&town.name), "village_count": villages.len() }),
            });
        }
        nodes.push(Node {
            code: district.code.clone(),
            name: district.name.clone(),
            level: Level::District,
            parent: Some(divisions.city.code.clone()),
            shapes: Vec::new(),
            props: json!({ "seat": [district.seat.0, district.seat.1] }),
        });
    }

    progress("merging geometry upwards (unit → grid → village → town → district → city)");
    union_children(&mut grid_nodes, &unit_nodes);
    union_children(&mut village_nodes, &grid_nodes);
    union_children(&mut town_nodes, &village_nodes);
    union_children(&mut nodes, &town_nodes);
    let all_districts: Vec<Shape> = nodes.iter().flat_map(|n| n.shapes.clone()).collect();
    let mut city = vec![Node {
        code: divisions.city.code.clone(),
        name: divisions.city.name.clone(),
        level: Level::City,
        parent: None,
        shapes: ops::union(&all_districts),
        props: json!({ "province": "福建省" }),
    }];
    city.append(&mut nodes);

    progress("converting to degrees");
    let areas = city
        .into_iter()
        .chain(town_nodes)
        .chain(village_nodes)
        .chain(grid_nodes)
        .chain(unit_nodes)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|n| Area {
            code: AreaCode::from_trusted(n.code),
            name: n.name,
            level: n.level,
            parent: n.parent.map(AreaCode::from_trusted),
            geom: to_multipolygon(&n.shapes),
            props: n.props,
        })
        .collect();
    DemoCity { areas }
}

/// Splits `members` into one cluster per named child, sized by `target`. Children flagged
/// `urban` (街道, 社区) share the most urban part of the members (by `urbanness`), the others the
/// rest, so urban names land on the dense core. Returns, for each member, its child's index.
fn group_named<T>(
    members: &[&UnitCell],
    children: &[&T],
    target: impl Fn(&T) -> f64,
    urban: impl Fn(&T) -> bool,
    urbanness: &dyn Fn(f64, f64) -> f64,
    seed: u64,
) -> Vec<usize> {
    let mut result = vec![0usize; members.len()];
    if children.is_empty() || members.is_empty() {
        return result;
    }
    let (urban_kids, rural_kids): (Vec<usize>, Vec<usize>) =
        (0..children.len()).partition(|&i| urban(children[i]));
    let mut order: Vec<usize> = (0..members.len()).collect();
    let pools: Vec<(Vec<usize>, Vec<usize>)> = if urban_kids.is_empty() || rural_kids.is_empty() {
        vec![(order, (0..children.len()).collect())]
    } else {
        let total: f64 = (0..children.len()).map(|i| target(children[i])).sum();
        let urban_total: f64 = urban_kids.iter().map(|&i| target(children[i])).sum();
        let n_urban = ((urban_total / total * members.len() as f64).round() as usize).clamp(
            urban_kids.len().min(members.len()),
            members.len().saturating_sub(rural_kids.len()),
        );
        order.sort_by(|&a, &b| {
            urbanness(members[b].x, members[b].y).total_cmp(&urbanness(members[a].x, members[a].y))
        });
        let rural_members = order.split_off(n_urban);
        vec![(order, urban_kids), (rural_members, rural_kids)]
    };
    for (pool, kids) in pools {
        let points: Vec<(f64, f64)> = pool.iter().map(|&i| (members[i].x, members[i].y)).collect();
        let targets: Vec<f64> = kids.iter().map(|&k| target(children[k])).collect();
        let clusters = balanced_clusters(&points, &targets, seed);
        for (&m, c) in pool.iter().zip(clusters) {
            result[m] = kids[c];
        }
    }
    result
}

fn villages_of<'a>(villages: &'a [VillageSource], town: &str) -> Vec<&'a VillageSource> {
    villages.iter().filter(|v| v.town == town).collect()
}

fn is_urban_town(name: &str) -> bool {
    name.ends_with("街道")
}

fn is_urban_village(name: &str) -> bool {
    name.contains("社区") || name.contains("生活区")
}

fn town_kind(name: &str) -> &'static str {
    if name.ends_with("街道") {
        "街道"
    } else if name.ends_with('镇') {
        "镇"
    } else if name.ends_with('乡') {
        "乡"
    } else {
        "其他"
    }
}

/// Splits one village's units into grids and records both; returns (grids, units, population).
fn build_village(
    village: &VillageSource,
    members: &[&UnitCell],
    urban: bool,
    params: DemoParams,
    grid_nodes: &mut Vec<Node>,
    unit_nodes: &mut Vec<Node>,
) -> (usize, usize, u64) {
    let g = ((members.len() as f64 / params.units_per_grid as f64).round() as usize).clamp(1, 999);
    let points: Vec<(f64, f64)> = members.iter().map(|u| (u.x, u.y)).collect();
    let grid_of = balanced_clusters(&points, &vec![1.0; g], params.seed ^ hash(&village.code));
    // Number grids in reading order (north to south, west to east) of their centroids.
    let mut centroids = vec![(0.0, 0.0, 0usize); g];
    for (p, &c) in points.iter().zip(&grid_of) {
        centroids[c].0 += p.0;
        centroids[c].1 += p.1;
        centroids[c].2 += 1;
    }
    let mut grid_order: Vec<usize> = (0..g).filter(|&c| centroids[c].2 > 0).collect();
    grid_order.sort_by(|&a, &b| reading_order(centroid(centroids[a]), centroid(centroids[b])));
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ hash(&village.code) ^ 0x9e37);
    let mut population = 0u64;
    let mut unit_total = 0;
    for (gi, &c) in grid_order.iter().enumerate() {
        let grid_code = format!("{}{:03}", village.code, gi + 1);
        let mut units: Vec<&UnitCell> = members
            .iter()
            .zip(&grid_of)
            .filter(|(_, k)| **k == c)
            .map(|(u, _)| *u)
            .collect();
        units.sort_by(|a, b| reading_order((a.x, a.y), (b.x, b.y)));
        let mut grid_pop = 0u64;
        for (ui, unit) in units.iter().enumerate() {
            let (kind, floors, residents) = unit_profile(urban, &mut rng);
            grid_pop += residents;
            unit_nodes.push(Node {
                code: format!("{grid_code}{:04}", ui + 1),
                name: if urban {
                    format!("{}号楼", ui + 1)
                } else {
                    format!("{}号", ui + 1)
                },
                level: Level::Unit,
                parent: Some(grid_code.clone()),
                shapes: unit.faces.clone(),
                props: json!({ "kind": kind, "floors": floors, "residents": residents }),
            });
        }
        population += grid_pop;
        unit_total += units.len();
        grid_nodes.push(Node {
            code: grid_code,
            name: format!("{}第{}网格", village.name, gi + 1),
            level: Level::Grid,
            parent: Some(village.code.clone()),
            shapes: Vec::new(),
            props: json!({ "unit_count": units.len(), "population": grid_pop }),
        });
    }
    (grid_order.len(), unit_total, population)
}

fn unit_profile(urban: bool, rng: &mut ChaCha8Rng) -> (&'static str, u32, u64) {
    let r: f64 = rng.random();
    if urban {
        match r {
            r if r < 0.70 => (
                "住宅楼",
                rng.random_range(6..=33),
                rng.random_range(40..=260),
            ),
            r if r < 0.85 => (
                "商住楼",
                rng.random_range(4..=24),
                rng.random_range(20..=120),
            ),
            r if r < 0.95 => ("商业楼宇", rng.random_range(2..=20), 0),
            _ => ("公共服务设施", rng.random_range(1..=6), 0),
        }
    } else {
        match r {
            r if r < 0.80 => ("农房", rng.random_range(1..=4), rng.random_range(2..=9)),
            r if r < 0.90 => ("厂房", rng.random_range(1..=3), 0),
            r if r < 0.97 => ("农用地块", 0, 0),
            _ => ("公共服务设施", rng.random_range(1..=3), 0),
        }
    }
}

fn centroid(c: (f64, f64, usize)) -> (f64, f64) {
    (c.0 / c.2 as f64, c.1 / c.2 as f64)
}

/// North to south in bands of 300 m, then west to east.
fn reading_order(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    let (ba, bb) = ((-a.1 / 300.0).floor(), (-b.1 / 300.0).floor());
    ba.total_cmp(&bb).then(a.0.total_cmp(&b.0))
}

/// Sets each parent's shapes to the exact union of its children's.
fn union_children(parents: &mut [Node], children: &[Node]) {
    let mut by_parent: std::collections::HashMap<&str, Vec<Shape>> =
        std::collections::HashMap::new();
    for c in children {
        if let Some(p) = &c.parent {
            by_parent
                .entry(p.as_str())
                .or_default()
                .extend(c.shapes.iter().cloned());
        }
    }
    parents.par_iter_mut().for_each(|p| {
        if let Some(shapes) = by_parent.get(p.code.as_str()) {
            p.shapes = ops::union(shapes);
        }
    });
}

/// A stable 64-bit hash (FNV-1a) for deriving per-area random seeds.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

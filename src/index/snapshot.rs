//! One immutable version of the assignment index.

use super::cover::{CellCover, UnitShape};
use crate::geom::metric::{degrees_for_metres, distance_to_boundary_m};
use crate::model::{AreaRef, Level};
use crate::store::areas::IndexRow;
use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

const NO_PARENT: u32 = u32::MAX;

/// Cell size of the unit cover, in degrees of latitude (about 110 m).
pub const COVER_CELL_DEG: f64 = 0.001;

/// An area of the tree as the index keeps it.
#[derive(Debug, Clone)]
struct Node {
    code: String,
    name: String,
    level: Level,
    parent: u32,
}

/// The chain of areas above (and including) a unit or grid, top-level names as in the API.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Chain {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<AreaRef>,
    pub grid: Option<AreaRef>,
    pub village: Option<AreaRef>,
    pub town: Option<AreaRef>,
    pub district: Option<AreaRef>,
    pub city: Option<AreaRef>,
}

/// The nearest grid to a point that no unit covers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Nearest {
    pub distance_m: f64,
    #[serde(flatten)]
    pub chain: Chain,
}

/// The answer for one point.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Assignment {
    pub assigned: bool,
    #[serde(flatten)]
    pub chain: Chain,
    /// For a point outside every unit: the nearest grid within the tolerance, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest: Option<Nearest>,
}

/// Size and timing figures of a snapshot, reported by /readyz and the benchmark.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnapshotStats {
    pub areas: usize,
    pub units: usize,
    pub grids: usize,
    pub cover_full_cells: usize,
    pub cover_list_cells: usize,
    /// Approximate heap memory of the index, in bytes.
    pub memory_bytes: usize,
    pub build_ms: f64,
}

type GridEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// An immutable index version.
pub struct Snapshot {
    nodes: Vec<Node>,
    by_code: HashMap<String, u32>,
    /// Node index of each unit, in code order (the cover's unit numbering).
    unit_nodes: Vec<u32>,
    unit_bbox: Vec<[f64; 4]>,
    unit_geom: Vec<Arc<MultiPolygon<f64>>>,
    cover: CellCover,
    grid_tree: RTree<GridEntry>,
    grid_geom: HashMap<u32, Arc<MultiPolygon<f64>>>,
    /// The rows this snapshot was built from, for patching.
    rows: HashMap<String, Arc<IndexRow>>,
    pub stats: SnapshotStats,
}

impl Snapshot {
    pub fn empty() -> Snapshot {
        Snapshot::build(HashMap::new())
    }

    /// Builds a snapshot from every area row.
    pub fn from_rows(rows: Vec<IndexRow>) -> Snapshot {
        Snapshot::build(rows.into_iter().map(|r| (r.code.clone(), Arc::new(r))).collect())
    }

    /// A new snapshot with `changed` codes replaced by `fresh` rows (codes absent from `fresh`
    /// were deleted).
    pub fn patched(&self, changed: &[String], fresh: Vec<IndexRow>) -> Snapshot {
        let mut rows = self.rows.clone();
        for code in changed {
            rows.remove(code);
        }
        for r in fresh {
            rows.insert(r.code.clone(), Arc::new(r));
        }
        Snapshot::build(rows)
    }

    fn build(rows: HashMap<String, Arc<IndexRow>>) -> Snapshot {
        let started = Instant::now();
        let mut sorted: Vec<&Arc<IndexRow>> = rows.values().collect();
        sorted.sort_by(|a, b| (a.level, &a.code).cmp(&(b.level, &b.code)));
        let by_code: HashMap<String, u32> =
            sorted.iter().enumerate().map(|(i, r)| (r.code.clone(), i as u32)).collect();
        let nodes: Vec<Node> = sorted
            .iter()
            .map(|r| Node {
                code: r.code.clone(),
                name: r.name.clone(),
                level: r.level,
                parent: r.parent.as_ref().and_then(|p| by_code.get(p)).copied().unwrap_or(NO_PARENT),
            })
            .collect();

        let mut unit_nodes = Vec::new();
        let mut unit_bbox = Vec::new();
        let mut unit_geom = Vec::new();
        let mut grid_entries = Vec::new();
        let mut grid_geom = HashMap::new();
        for (i, r) in sorted.iter().enumerate() {
            let Some(geom) = &r.geom else { continue };
            let Some(rect) = geom.bounding_rect() else { continue };
            let bbox = [rect.min().x, rect.min().y, rect.max().x, rect.max().y];
            match r.level {
                Level::Unit => {
                    unit_nodes.push(i as u32);
                    unit_bbox.push(bbox);
                    unit_geom.push(Arc::clone(geom));
                }
                Level::Grid => {
                    grid_entries.push(GridEntry::new(Rectangle::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]), i as u32));
                    grid_geom.insert(i as u32, Arc::clone(geom));
                }
                _ => {}
            }
        }
        let shapes: Vec<UnitShape<'_>> =
            unit_bbox.iter().zip(&unit_geom).map(|(b, g)| UnitShape { bbox: *b, geom: g }).collect();
        let cover = CellCover::build(&shapes, COVER_CELL_DEG);
        drop(shapes);
        let grid_tree = RTree::bulk_load(grid_entries);

        let vertices: usize = unit_geom
            .iter()
            .chain(grid_geom.values())
            .map(|g| g.0.iter().map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()).sum::<usize>())
            .sum();
        let stats = SnapshotStats {
            areas: nodes.len(),
            units: unit_nodes.len(),
            grids: grid_geom.len(),
            cover_full_cells: cover.full_cells,
            cover_list_cells: cover.list_cells,
            memory_bytes: cover.memory_bytes()
                + vertices * 16
                + (unit_nodes.len() + grid_geom.len()) * 96
                + nodes.iter().map(|n| n.code.len() + n.name.len() + 64).sum::<usize>()
                + by_code.len() * 48,
            build_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        Snapshot { nodes, by_code, unit_nodes, unit_bbox, unit_geom, cover, grid_tree, grid_geom, rows, stats }
    }

    fn area_ref(&self, node: u32) -> AreaRef {
        let n = &self.nodes[node as usize];
        AreaRef { code: n.code.clone(), name: n.name.clone() }
    }

    /// The chain from `node` up to the city.
    fn chain(&self, mut node: u32) -> Chain {
        let mut chain = Chain::default();
        while node != NO_PARENT {
            let n = &self.nodes[node as usize];
            let r = Some(self.area_ref(node));
            match n.level {
                Level::Unit => chain.unit = r,
                Level::Grid => chain.grid = r,
                Level::Village => chain.village = r,
                Level::Town => chain.town = r,
                Level::District => chain.district = r,
                Level::City => chain.city = r,
            }
            node = n.parent;
        }
        chain
    }

    /// The unit covering (lon, lat), as its position in code order: the hot path, no allocation.
    #[inline]
    pub fn locate_unit(&self, lon: f64, lat: f64) -> Option<u32> {
        let shapes = UnitSlice { bbox: &self.unit_bbox, geom: &self.unit_geom };
        shapes.locate(&self.cover, Coord { x: lon, y: lat })
    }

    /// Code of the unit at position `u` of `locate_unit`.
    pub fn unit_code(&self, u: u32) -> &str {
        &self.nodes[self.unit_nodes[u as usize] as usize].code
    }

    /// Assigns a point (WGS84 lon/lat) to its unit and chain, or finds the nearest grid within
    /// `tolerance_m` metres.
    pub fn assign(&self, lon: f64, lat: f64, tolerance_m: f64) -> Assignment {
        if let Some(u) = self.locate_unit(lon, lat) {
            return Assignment { assigned: true, chain: self.chain(self.unit_nodes[u as usize]), nearest: None };
        }
        Assignment { assigned: false, chain: Chain::default(), nearest: self.nearest_grid(lon, lat, tolerance_m) }
    }

    /// The grid whose boundary is nearest to the point, within `tolerance_m`.
    pub fn nearest_grid(&self, lon: f64, lat: f64, tolerance_m: f64) -> Option<Nearest> {
        if tolerance_m <= 0.0 {
            return None;
        }
        let (dx, dy) = degrees_for_metres(tolerance_m, lat);
        let env = AABB::from_corners([lon - dx, lat - dy], [lon + dx, lat + dy]);
        let p = Coord { x: lon, y: lat };
        self.grid_tree
            .locate_in_envelope_intersecting(&env)
            .filter_map(|e| {
                let geom = self.grid_geom.get(&e.data)?;
                let d = if geom.0.iter().any(|poly| crate::geom::covers::covers(poly, p)) {
                    0.0
                } else {
                    distance_to_boundary_m(p, geom)
                };
                (d <= tolerance_m).then_some((d, e.data))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(self.nodes[a.1 as usize].code.cmp(&self.nodes[b.1 as usize].code)))
            .map(|(d, node)| Nearest { distance_m: (d * 100.0).round() / 100.0, chain: self.chain(node) })
    }

    /// Looks an area up by code.
    pub fn contains_code(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    /// Bounding box of all units: [min lon, min lat, max lon, max lat].
    pub fn units_bbox(&self) -> Option<[f64; 4]> {
        self.unit_bbox.iter().copied().reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
    }
}

/// Borrowed view of the unit arrays in the shape the cover expects.
struct UnitSlice<'a> {
    bbox: &'a [[f64; 4]],
    geom: &'a [Arc<MultiPolygon<f64>>],
}

impl UnitSlice<'_> {
    #[inline]
    fn locate(&self, cover: &CellCover, p: Coord<f64>) -> Option<u32> {
        cover.locate_with(
            |u| {
            let b = &self.bbox[u as usize];
            p.x >= b[0]
                && p.x <= b[2]
                && p.y >= b[1]
                && p.y <= b[3]
                && self.geom[u as usize].0.iter().any(|poly| crate::geom::covers::covers(poly, p))
        }, p)
    }
}

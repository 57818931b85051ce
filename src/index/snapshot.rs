//! One immutable version of the assignment index.
//!
//! Areas keep stable slots: an edit updates slots in place in a copy (deleted areas become
//! tombstones, new ones are appended), so a patched snapshot shares the untouched parts of the
//! unit cover with its predecessor and is ready in milliseconds.

use super::cover::{CellCover, Units};
use crate::geom::flat::FlatShape;
use crate::geom::metric::degrees_for_metres;
use crate::model::{AreaRef, Level};
use crate::store::areas::AreaShape;
use geo_types::Coord;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

const NONE: u32 = u32::MAX;

/// Cell size of the unit cover, in degrees of latitude (about 33 m).
pub const COVER_CELL_DEG: f64 = 0.0003;

/// An area of the tree as the index keeps it.
#[derive(Debug, Clone)]
struct Node {
    code: Arc<str>,
    name: Arc<str>,
    level: Level,
    parent_code: Option<Arc<str>>,
    parent: u32,
    /// Slot in the unit arrays, for units.
    unit: u32,
    alive: bool,
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

impl Assignment {
    /// The finest area the answer names: its unit (or finer level reached), else the nearest
    /// grid's chain.
    pub fn finest_code(&self) -> Option<&str> {
        fn finest(c: &Chain) -> Option<&str> {
            [&c.unit, &c.grid, &c.village, &c.town, &c.district, &c.city]
                .into_iter()
                .flatten()
                .next()
                .map(|r| r.code.as_str())
        }
        finest(&self.chain).or_else(|| self.nearest.as_ref().and_then(|n| finest(&n.chain)))
    }
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
    /// Time to build this version (a full build, or a patch).
    pub build_ms: f64,
    /// True if this version was patched from the previous one rather than built anew.
    pub patched: bool,
}

type GridEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The unit arrays, by slot.
#[derive(Clone, Default)]
struct UnitTable {
    node: Vec<u32>,
    bbox: Vec<Option<[f64; 4]>>,
    shape: Vec<FlatShape>,
    codes: Vec<Arc<str>>,
}

impl Units for UnitTable {
    fn len(&self) -> usize {
        self.node.len()
    }
    fn bbox(&self, u: u32) -> Option<[f64; 4]> {
        self.bbox[u as usize]
    }
    fn shape(&self, u: u32) -> &FlatShape {
        &self.shape[u as usize]
    }
    fn code_cmp(&self, a: u32, b: u32) -> std::cmp::Ordering {
        self.codes[a as usize].cmp(&self.codes[b as usize])
    }
}

/// An immutable index version.
pub struct Snapshot {
    nodes: Vec<Node>,
    by_code: HashMap<Arc<str>, u32>,
    units: UnitTable,
    cover: CellCover,
    /// The cover's extent; a patch reaching outside it forces a full rebuild.
    extent: Option<[f64; 4]>,
    grid_tree: RTree<GridEntry>,
    grid_geom: HashMap<u32, FlatShape>,
    unit_extent: Option<[f64; 4]>,
    pub stats: SnapshotStats,
}

/// The shape's box, `None` for an empty shape.
fn bbox_of(g: &FlatShape) -> Option<[f64; 4]> {
    let b = g.bbox();
    b.iter().all(|v| v.is_finite()).then_some(b)
}

fn union_box(a: Option<[f64; 4]>, b: [f64; 4]) -> [f64; 4] {
    match a {
        None => b,
        Some(a) => [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ],
    }
}

impl Snapshot {
    pub fn empty() -> Snapshot {
        Snapshot::from_rows(&[])
    }

    /// Builds a snapshot from every area row.
    pub fn from_rows(rows: &[AreaShape]) -> Snapshot {
        let started = Instant::now();
        let mut rows: Vec<&AreaShape> = rows.iter().collect();
        rows.sort_by(|a, b| (a.level, &a.code).cmp(&(b.level, &b.code)));
        let mut snap = Snapshot {
            nodes: Vec::with_capacity(rows.len()),
            by_code: HashMap::with_capacity(rows.len()),
            units: UnitTable::default(),
            cover: CellCover::empty(),
            extent: None,
            grid_tree: RTree::new(),
            grid_geom: HashMap::new(),
            unit_extent: None,
            stats: SnapshotStats::default(),
        };
        let mut grid_entries = Vec::new();
        for r in rows {
            let slot = snap.upsert_node(r);
            if let Some(e) = snap.place_geometry(slot, r) {
                grid_entries.push(e);
            }
        }
        snap.link_parents(None);
        snap.extent = snap
            .units
            .bbox
            .iter()
            .flatten()
            .fold(None, |acc, b| Some(union_box(acc, *b)));
        if let Some(extent) = snap.extent {
            // Margin so small later growth at the edge can be patched in place.
            let m = 0.01;
            let extent = [extent[0] - m, extent[1] - m, extent[2] + m, extent[3] + m];
            snap.extent = Some(extent);
            snap.cover = CellCover::build(&snap.units, extent, COVER_CELL_DEG);
        }
        snap.grid_tree = RTree::bulk_load(grid_entries);
        snap.finish_stats(started);
        snap
    }

    /// A new snapshot with the `changed` codes replaced by `fresh` rows (codes absent from
    /// `fresh` were deleted).
    pub fn patched(&self, changed: &[String], fresh: &[AreaShape]) -> Snapshot {
        let started = Instant::now();
        let mut snap = Snapshot {
            nodes: self.nodes.clone(),
            by_code: self.by_code.clone(),
            units: self.units.clone(),
            cover: CellCover::empty(),
            extent: self.extent,
            grid_tree: self.grid_tree.clone(),
            grid_geom: self.grid_geom.clone(),
            unit_extent: None,
            stats: SnapshotStats::default(),
        };
        let mut dirty: Vec<[f64; 4]> = Vec::new();
        let mut changed_units: Vec<u32> = Vec::new();
        // Retire every changed code first (deleted ones stay retired).
        for code in changed {
            let Some(&slot) = snap.by_code.get(code.as_str()) else {
                continue;
            };
            snap.retire(slot, &mut dirty, &mut changed_units);
        }
        let mut new_grids = Vec::new();
        let mut slots = Vec::with_capacity(fresh.len());
        for r in fresh {
            let slot = snap.upsert_node(r);
            slots.push(slot);
            if let Some(e) = snap.place_geometry(slot, r) {
                new_grids.push(e);
            }
            let node = &snap.nodes[slot as usize];
            if node.unit != NONE {
                changed_units.push(node.unit);
                if let Some(b) = snap.units.bbox[node.unit as usize] {
                    dirty.push(b);
                }
            }
        }
        for e in new_grids {
            snap.grid_tree.insert(e);
        }
        snap.link_parents(Some(&slots));
        changed_units.sort_unstable();
        changed_units.dedup();
        let fits = snap
            .extent
            .is_some_and(|_| dirty.iter().all(|b| self.cover.contains_extent(*b)));
        let mut was_patched = false;
        if fits {
            was_patched = true;
            snap.cover = self.cover.patched(&snap.units, &changed_units, &dirty);
        } else {
            // The change reaches outside the cover (or there was none): build it anew.
            let extent = snap
                .units
                .bbox
                .iter()
                .flatten()
                .fold(None, |acc, b| Some(union_box(acc, *b)));
            snap.extent = extent.map(|e| [e[0] - 0.01, e[1] - 0.01, e[2] + 0.01, e[3] + 0.01]);
            if let Some(e) = snap.extent {
                snap.cover = CellCover::build(&snap.units, e, COVER_CELL_DEG);
            }
        }
        snap.finish_stats(started);
        snap.stats.patched = was_patched;
        snap
    }

    /// Inserts or revives the node for `r`, returning its slot.
    fn upsert_node(&mut self, r: &AreaShape) -> u32 {
        let node = Node {
            code: r.code.clone(),
            name: r.name.clone(),
            level: r.level,
            parent_code: r.parent.clone(),
            parent: NONE,
            unit: NONE,
            alive: true,
        };
        match self.by_code.get(&*r.code) {
            Some(&slot) => {
                let unit = self.nodes[slot as usize].unit;
                self.nodes[slot as usize] = Node { unit, ..node };
                slot
            }
            None => {
                let slot = self.nodes.len() as u32;
                self.by_code.insert(node.code.clone(), slot);
                self.nodes.push(node);
                slot
            }
        }
    }

    /// Records the geometry of a unit or grid at `slot`; returns a grid's R-tree entry.
    fn place_geometry(&mut self, slot: u32, r: &AreaShape) -> Option<GridEntry> {
        let geom = r.geom.as_ref()?;
        let bbox = bbox_of(geom)?;
        match r.level {
            Level::Unit => {
                let node = &mut self.nodes[slot as usize];
                if node.unit == NONE {
                    node.unit = self.units.node.len() as u32;
                    self.units.node.push(slot);
                    self.units.bbox.push(Some(bbox));
                    self.units.shape.push(geom.clone());
                    self.units.codes.push(node.code.clone());
                } else {
                    let u = node.unit as usize;
                    self.units.bbox[u] = Some(bbox);
                    self.units.shape[u] = geom.clone();
                }
                None
            }
            Level::Grid => {
                self.grid_geom.insert(slot, geom.clone());
                Some(GridEntry::new(
                    Rectangle::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]),
                    slot,
                ))
            }
            _ => None,
        }
    }

    /// Takes the area at `slot` out of every lookup structure.
    fn retire(&mut self, slot: u32, dirty: &mut Vec<[f64; 4]>, changed_units: &mut Vec<u32>) {
        let node = &mut self.nodes[slot as usize];
        node.alive = false;
        if node.unit != NONE {
            let u = node.unit as usize;
            if let Some(b) = self.units.bbox[u].take() {
                dirty.push(b);
            }
            changed_units.push(node.unit);
        }
        if let Some(g) = self.grid_geom.remove(&slot)
            && let Some(b) = bbox_of(&g)
        {
            self.grid_tree.remove(&GridEntry::new(
                Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                slot,
            ));
        }
    }

    /// Resolves parent slots of `slots` (all nodes if `None`). Slots are stable, so children of
    /// an edited area keep pointing at it.
    fn link_parents(&mut self, slots: Option<&[u32]>) {
        let all: Vec<u32>;
        let slots = match slots {
            Some(s) => s,
            None => {
                all = (0..self.nodes.len() as u32).collect();
                &all
            }
        };
        for &i in slots {
            let i = i as usize;
            let parent = match &self.nodes[i].parent_code {
                Some(p) => self
                    .by_code
                    .get(p)
                    .copied()
                    .filter(|&s| self.nodes[s as usize].alive)
                    .unwrap_or(NONE),
                None => NONE,
            };
            self.nodes[i].parent = parent;
        }
    }

    fn finish_stats(&mut self, started: Instant) {
        self.unit_extent = self
            .units
            .bbox
            .iter()
            .flatten()
            .fold(None, |acc, b| Some(union_box(acc, *b)));
        let counts = self.cover.counts();
        self.stats = SnapshotStats {
            areas: self.nodes.iter().filter(|n| n.alive).count(),
            units: self.units.bbox.iter().filter(|b| b.is_some()).count(),
            grids: self.grid_geom.len(),
            cover_full_cells: counts.full,
            cover_list_cells: counts.list,
            // The geometry and the code and name strings are shared with the tile model
            // (`AreaShape`): they are counted once, as the area geometry and catalog.
            memory_bytes: counts.memory_bytes
                + self.units.node.len() * (4 + 40 + 8 + 16)
                + self.grid_geom.len() * 40
                + self.nodes.capacity() * std::mem::size_of::<Node>()
                + self.by_code.capacity() * 25,
            build_ms: started.elapsed().as_secs_f64() * 1000.0,
            patched: false,
        };
    }

    fn area_ref(&self, node: u32) -> AreaRef {
        let n = &self.nodes[node as usize];
        AreaRef {
            code: n.code.to_string(),
            name: n.name.to_string(),
        }
    }

    /// The chain from `node` up to the city.
    fn chain(&self, mut node: u32) -> Chain {
        let mut chain = Chain::default();
        let mut steps = 0;
        while node != NONE && steps < 8 {
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
            steps += 1;
        }
        chain
    }

    /// The unit covering (lon, lat), as its slot: the hot path, no allocation.
    #[inline]
    pub fn locate_unit(&self, lon: f64, lat: f64) -> Option<u32> {
        let p = Coord { x: lon, y: lat };
        let units = &self.units;
        self.cover.locate_with(
            // Deleted units are never in the cover's lists, so the shape alone decides.
            |u| units.shape[u as usize].covers(p),
            p,
        )
    }

    /// Diagnostics for benchmarks: the kind of cover cell under a point and its list length.
    pub fn cover_cell_kind(&self, lon: f64, lat: f64) -> (u8, usize) {
        self.cover.cell_kind(Coord { x: lon, y: lat })
    }

    /// Code of the unit in slot `u` (as returned by `locate_unit`).
    pub fn unit_code(&self, u: u32) -> &str {
        &self.units.codes[u as usize]
    }

    /// Assigns a point (WGS84 lon/lat) to its unit and chain, or finds the nearest grid within
    /// `tolerance_m` metres.
    pub fn assign(&self, lon: f64, lat: f64, tolerance_m: f64) -> Assignment {
        if let Some(u) = self.locate_unit(lon, lat) {
            return Assignment {
                assigned: true,
                chain: self.chain(self.units.node[u as usize]),
                nearest: None,
            };
        }
        Assignment {
            assigned: false,
            chain: Chain::default(),
            nearest: self.nearest_grid(lon, lat, tolerance_m),
        }
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
                let d = if geom.covers(p) {
                    0.0
                } else {
                    geom.distance_to_boundary_m(p)
                };
                (d <= tolerance_m).then_some((d, e.data))
            })
            .min_by(|a, b| {
                a.0.total_cmp(&b.0).then(
                    self.nodes[a.1 as usize]
                        .code
                        .cmp(&self.nodes[b.1 as usize].code),
                )
            })
            .map(|(d, node)| Nearest {
                distance_m: (d * 100.0).round() / 100.0,
                chain: self.chain(node),
            })
    }

    /// True if an area with this code is loaded.
    pub fn contains_code(&self, code: &str) -> bool {
        self.by_code
            .get(code)
            .is_some_and(|&s| self.nodes[s as usize].alive)
    }

    /// Bounding box of all units: [min lon, min lat, max lon, max lat].
    pub fn units_bbox(&self) -> Option<[f64; 4]> {
        self.unit_extent
    }
}

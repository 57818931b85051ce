//! The in-memory tile geometry: every area of levels district..unit in Web Mercator, with its
//! ancestors' codes, its label point and per-vertex simplification thresholds, indexed per
//! level in an R-tree of bounding boxes.
//!
//! Built whole from the `area` table at start (and on a reload), then patched in place for each
//! change: the changed areas are replaced, the junction status of every vertex they had or have
//! is recomputed from the rings that pass through it, and the neighbours whose arcs changed are
//! re-simplified. `patch` reports the Mercator boxes whose tiles must be dropped from the cache.
//! Invariant: a level's junction set is always the one `topology::junctions` would compute from
//! all of its rings, so shared edges simplify the same way on both sides.

use super::polylabel::polylabel;
use super::tile_id::to_mercator;
use super::topology::{self, JunctionSet, Pt, VKey};
use crate::geom::flat::FlatShape;
use crate::model::Level;
use crate::store::areas::AreaShape;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// An area as tiles need it: its geometry is the shared `FlatShape` (degrees, the same
/// allocation the assignment index holds), projected to Web Mercator as tiles are drawn; the
/// model adds a keep threshold per vertex, the Mercator box and the label point.
#[derive(Debug, Clone)]
pub struct AreaGeom {
    pub code: Arc<str>,
    /// The code as a number, used as the MVT feature id (codes have at most 19 digits).
    pub id: Option<u64>,
    pub name: Arc<str>,
    pub level: Level,
    pub parent: Option<Arc<str>>,
    /// Codes of the ancestors from the city down to the parent, paired with their level; one
    /// allocation shared by the children of a parent.
    pub ancestors: Ancestors,
    /// The area's rings in degrees, shared with the assignment index.
    pub shape: FlatShape,
    /// Keep threshold (Mercator metres) of every vertex of every ring, rings taken open (the
    /// closing point has none), in ring order.
    keep: Box<[f32]>,
    /// Bit `i`: ring `i` runs counter-clockwise (rings past the 64th are measured when asked).
    ccw: u64,
    /// [min x, min y, max x, max y] in Mercator metres.
    pub bbox: [f64; 4],
    /// Pole of inaccessibility of the largest polygon, Mercator metres.
    pub label: Option<Pt>,
}

/// The chain of ancestors of an area (city first), shared by siblings.
pub type Ancestors = Arc<[(Level, Arc<str>)]>;

/// One ring of an area as drawing needs it: open (no closing point), in degrees, with its
/// keep thresholds.
pub struct RingRef<'a> {
    pub pts: &'a [Pt],
    pub keep: &'a [f32],
    /// The ring starts a polygon (else it is a hole of the last one).
    pub exterior: bool,
    /// The unsimplified ring runs counter-clockwise (in degrees as in Mercator, which keeps
    /// orientation). A simplified ring whose orientation differs has folded over: see `clip`.
    pub ccw: bool,
}

/// Web Mercator metres of a point in degrees.
#[inline]
pub fn merc(p: Pt) -> Pt {
    let (x, y) = to_mercator(p[0], p[1]);
    [x, y]
}

impl AreaGeom {
    /// The open rings (degrees) of every ring that can be drawn, exterior rings first in each
    /// polygon. A ring of fewer than three points is skipped, and with an exterior ring its
    /// holes.
    pub fn ring_refs(&self) -> impl Iterator<Item = RingRef<'_>> {
        let mut offset = 0usize;
        let mut skip_holes = false;
        self.shape
            .rings()
            .enumerate()
            .filter_map(move |(i, (ring, hole))| {
                let open = &ring[..ring.len().saturating_sub(1)];
                let keep = &self.keep[offset..offset + open.len()];
                offset += open.len();
                if !hole {
                    skip_holes = open.len() < 3;
                }
                if open.len() < 3 || (hole && skip_holes) {
                    return None;
                }
                let ccw = if i < 64 {
                    self.ccw & (1 << i) != 0
                } else {
                    ring_area(open) > 0.0
                };
                Some(RingRef {
                    pts: open,
                    keep,
                    exterior: !hole,
                    ccw,
                })
            })
    }

    /// Every open ring (degrees), drawable or not: what the topology sees.
    fn rings(&self) -> impl Iterator<Item = &[Pt]> {
        self.shape
            .rings()
            .map(|(r, _)| &r[..r.len().saturating_sub(1)])
    }

    /// True if the (unsimplified) area meets the closed box `env` (Mercator metres).
    pub fn intersects(&self, env: [f64; 4]) -> bool {
        let b = self.bbox;
        if b[2] < env[0] || b[0] > env[2] || b[3] < env[1] || b[1] > env[3] {
            return false;
        }
        if b[0] >= env[0] && b[2] <= env[2] && b[1] >= env[1] && b[3] <= env[3] {
            return true;
        }
        let inside = |p: Pt| p[0] >= env[0] && p[0] <= env[2] && p[1] >= env[1] && p[1] <= env[3];
        for r in self.ring_refs() {
            // Each vertex projected once; the closing edge ends at the first.
            let first = merc(r.pts[0]);
            let mut prev = first;
            for &p in &r.pts[1..] {
                let cur = merc(p);
                if inside(prev) || segment_meets_box(prev, cur, env) {
                    return true;
                }
                prev = cur;
            }
            if inside(prev) || segment_meets_box(prev, first, env) {
                return true;
            }
        }
        // No boundary in the box: either the box is inside a polygon or they are apart. The
        // test point goes back to degrees (Mercator keeps the order of x and of y).
        let (cx, cy) = super::tile_id::to_4326((env[0] + env[2]) / 2.0, (env[1] + env[3]) / 2.0);
        self.shape.covers(geo_types::Coord { x: cx, y: cy })
    }
}

/// Liang–Barsky: does the segment a–b meet the closed box?
fn segment_meets_box(a: Pt, b: Pt, env: [f64; 4]) -> bool {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a[0] - env[0]),
        (dx, env[2] - a[0]),
        (-dy, a[1] - env[1]),
        (dy, env[3] - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn entry(bbox: [f64; 4], slot: usize) -> Entry {
    GeomWithData::new(
        Rectangle::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]),
        slot,
    )
}

/// The areas of one level.
pub struct LevelIndex {
    pub level: Level,
    slots: Vec<Option<AreaGeom>>,
    free: Vec<usize>,
    by_code: HashMap<Arc<str>, usize>,
    rtree: RTree<Entry>,
    junctions: JunctionSet,
}

impl LevelIndex {
    fn build(level: Level, mut areas: Vec<AreaGeom>) -> LevelIndex {
        let junctions = topology::junctions(areas.iter().flat_map(|a| a.rings()));
        areas.par_iter_mut().for_each(|a| {
            simplify_area(a, &junctions);
            a.label = label_point(a);
        });
        let rtree = RTree::bulk_load(
            areas
                .iter()
                .enumerate()
                .map(|(i, a)| entry(a.bbox, i))
                .collect(),
        );
        let by_code = areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.clone(), i))
            .collect();
        LevelIndex {
            level,
            slots: areas.into_iter().map(Some).collect(),
            free: Vec::new(),
            by_code,
            rtree,
            junctions,
        }
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Areas whose bounding box meets `env` (Mercator metres).
    pub fn query(&self, env: [f64; 4]) -> impl Iterator<Item = &AreaGeom> {
        let aabb = AABB::from_corners([env[0], env[1]], [env[2], env[3]]);
        self.rtree
            .locate_in_envelope_intersecting(&aabb)
            .filter_map(|e| self.slots[e.data].as_ref())
    }

    pub fn get(&self, code: &str) -> Option<&AreaGeom> {
        self.by_code.get(code).and_then(|&i| self.slots[i].as_ref())
    }

    fn remove(&mut self, code: &str) -> Option<AreaGeom> {
        let slot = self.by_code.remove(code)?;
        let area = self.slots[slot].take()?;
        self.rtree.remove(&entry(area.bbox, slot));
        self.free.push(slot);
        Some(area)
    }

    fn insert(&mut self, area: AreaGeom) -> usize {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.rtree.insert(entry(area.bbox, slot));
        self.by_code.insert(area.code.clone(), slot);
        self.slots[slot] = Some(area);
        slot
    }

    /// Slots of the areas that have vertex `v` (degrees).
    fn slots_at(&self, v: Pt) -> Vec<usize> {
        let kv = topology::key(v);
        self.rtree
            .locate_in_envelope_intersecting(&AABB::from_point(merc(v)))
            .map(|e| e.data)
            .filter(|&s| {
                self.slots[s]
                    .as_ref()
                    .is_some_and(|a| a.rings().any(|r| r.iter().any(|p| topology::key(*p) == kv)))
            })
            .collect()
    }

    /// Recomputes the junction status of `touched` vertices and re-simplifies the areas whose
    /// arcs changed (and those in `fresh`). Returns the boxes of the re-simplified areas.
    fn retopologize(&mut self, touched: HashMap<VKey, Pt>, fresh: HashSet<usize>) -> Vec<[f64; 4]> {
        let mut redo = fresh;
        for (k, v) in touched {
            let slots = self.slots_at(v);
            let now = topology::is_junction(
                v,
                slots
                    .iter()
                    .filter_map(|&s| self.slots[s].as_ref())
                    .flat_map(|a| a.rings()),
            );
            let was = self.junctions.contains(&k);
            if now != was {
                if now {
                    self.junctions.insert(k);
                } else {
                    self.junctions.remove(&k);
                }
                redo.extend(slots);
            }
        }
        let mut boxes = Vec::with_capacity(redo.len());
        for s in redo {
            if let Some(a) = self.slots[s].as_mut() {
                simplify_area(a, &self.junctions);
                boxes.push(a.bbox);
            }
        }
        boxes
    }
}

fn simplify_area(a: &mut AreaGeom, junctions: &JunctionSet) {
    let mut keep: Vec<f32> = Vec::with_capacity(a.keep.len());
    for ring in a.rings() {
        // f32 is ample for a threshold in metres, and both sides of a shared arc round alike.
        keep.extend(
            topology::thresholds(ring, junctions, merc)
                .into_iter()
                .map(|t| t as f32),
        );
    }
    a.keep = keep.into_boxed_slice();
}

/// The label point: the pole of inaccessibility of the largest polygon, to within 1/100 of
/// its size (at least 0.5 m).
fn label_point(a: &AreaGeom) -> Option<Pt> {
    let mut polygons: Vec<Vec<Vec<Pt>>> = Vec::new();
    for r in a.ring_refs() {
        let ring: Vec<Pt> = r.pts.iter().map(|&p| merc(p)).collect();
        if r.exterior {
            polygons.push(vec![ring]);
        } else if let Some(p) = polygons.last_mut() {
            p.push(ring);
        }
    }
    let rings = polygons
        .into_iter()
        .max_by(|p, q| ring_area(&p[0]).abs().total_cmp(&ring_area(&q[0]).abs()))?;
    let (x0, y0, x1, y1) = rings[0]
        .iter()
        .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |b, p| {
            (b.0.min(p[0]), b.1.min(p[1]), b.2.max(p[0]), b.3.max(p[1]))
        });
    let precision = ((x1 - x0).min(y1 - y0) / 100.0).max(0.5);
    polylabel(&rings, precision, 20_000)
}

fn ring_area(r: &[Pt]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| r[i][0] * r[(i + 1) % n][1] - r[(i + 1) % n][0] * r[i][1])
        .sum::<f64>()
        / 2.0
}

/// A node of the area tree (every level, the city included).
#[derive(Debug, Clone)]
struct Node {
    level: Level,
    parent: Option<Arc<str>>,
}

/// What a build took.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BuildStats {
    /// Estimated heap bytes of the model (`Model::memory_bytes`): what it holds of its own.
    pub memory_bytes: usize,
    /// Bytes of the areas' geometry, held once and shared with the assignment index.
    pub geometry_bytes: usize,
    /// Bytes of the areas' code and name strings, shared with the index and the area names.
    pub strings_bytes: usize,
    pub areas: usize,
    pub vertices: usize,
    pub junctions: usize,
    pub build_ms: u64,
}

/// All levels.
pub struct Model {
    levels: Vec<LevelIndex>,
    tree: HashMap<Arc<str>, Node>,
    /// Extent of the districts in degrees, [west, south, east, north].
    pub bounds_4326: Option<[f64; 4]>,
    pub stats: BuildStats,
}

/// What a patch changed.
#[derive(Debug, Default)]
pub struct PatchOutcome {
    /// Levels and Mercator boxes whose tiles are stale.
    pub dirty: Vec<(Level, [f64; 4])>,
    /// Something changed that every tile may show (a parent was moved): drop all tiles.
    pub everything: bool,
}

/// Heap bytes of a hash table with `n` entries of `entry` bytes (hashbrown: one control byte
/// per bucket, buckets a power of two at most 7/8 full).
fn table_bytes(n: usize, entry: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let buckets = (n * 8 / 7 + 1).next_power_of_two();
    buckets * (entry + 1)
}

impl AreaGeom {
    /// Bytes this area holds on the heap of its own: its keep thresholds. The geometry, the
    /// code and the name are the rows' (shared with the index: counted as the area
    /// geometry), the ancestor chains are counted once per chain by the model.
    fn heap_bytes(&self) -> usize {
        self.keep.len() * std::mem::size_of::<f32>()
    }
}

impl LevelIndex {
    /// Bytes held by this level: its areas, code table, R-tree and junction set.
    fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Option<AreaGeom>>()
            + self
                .slots
                .iter()
                .flatten()
                .map(AreaGeom::heap_bytes)
                .sum::<usize>()
            + table_bytes(self.by_code.len(), std::mem::size_of::<(Arc<str>, usize)>())
            // An R-tree leaf is an entry; inner nodes add about a tenth.
            + self.rtree.size() * std::mem::size_of::<Entry>() * 11 / 10
            + table_bytes(self.junctions.len(), std::mem::size_of::<VKey>())
            // Each chain once: its bytes shared out among the areas holding it.
            + self
                .slots
                .iter()
                .flatten()
                .map(|a| {
                    (16 + a.ancestors.len() * std::mem::size_of::<(Level, Arc<str>)>())
                        / Arc::strong_count(&a.ancestors)
                })
                .sum::<usize>()
    }
}

impl Model {
    /// Estimated bytes the model holds (areas, indexes, the area tree).
    pub fn memory_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(LevelIndex::memory_bytes)
            .sum::<usize>()
            + table_bytes(self.tree.len(), std::mem::size_of::<(Arc<str>, Node)>())
    }

    pub fn empty() -> Model {
        Model {
            levels: Vec::new(),
            tree: HashMap::new(),
            bounds_4326: None,
            stats: BuildStats::default(),
        }
    }

    pub fn level(&self, level: Level) -> Option<&LevelIndex> {
        self.levels.iter().find(|l| l.level == level)
    }

    /// Builds every level from the rows of the `area` table.
    pub fn build(rows: &[AreaShape]) -> Model {
        let started = Instant::now();
        let tree: HashMap<Arc<str>, Node> = rows
            .iter()
            .map(|r| {
                (
                    r.code.clone(),
                    Node {
                        level: r.level,
                        parent: r.parent.clone(),
                    },
                )
            })
            .collect();
        let chains = Chains::new(&tree);
        let mut by_level: HashMap<Level, Vec<&AreaShape>> = HashMap::new();
        for r in rows {
            if r.level != Level::City && r.geom.is_some() {
                by_level.entry(r.level).or_default().push(r);
            }
        }
        let mut levels: Vec<LevelIndex> = super::layers::POLYGON_LEVELS
            .par_iter()
            .map(|&level| {
                let rows = by_level.get(&level).map(Vec::as_slice).unwrap_or(&[]);
                let areas: Vec<AreaGeom> = rows
                    .par_iter()
                    .filter_map(|r| area_geom(r, chains.of(r.parent.as_deref(), &tree)))
                    .collect();
                LevelIndex::build(level, areas)
            })
            .collect();
        levels.sort_by_key(|l| l.level);
        let mut model = Model {
            levels,
            tree,
            bounds_4326: None,
            stats: BuildStats::default(),
        };
        model.bounds_4326 = model.compute_bounds();
        model.stats = BuildStats {
            areas: model.levels.iter().map(LevelIndex::len).sum(),
            vertices: model
                .levels
                .iter()
                .flat_map(|l| l.slots.iter().flatten())
                .flat_map(|a| a.rings())
                .map(<[Pt]>::len)
                .sum(),
            junctions: model.levels.iter().map(|l| l.junctions.len()).sum(),
            build_ms: started.elapsed().as_millis() as u64,
            memory_bytes: 0,
            geometry_bytes: model
                .levels
                .iter()
                .flat_map(|l| l.slots.iter().flatten())
                .map(|a| a.shape.heap_bytes())
                .sum(),
            strings_bytes: rows.iter().map(|r| r.code.len() + r.name.len() + 32).sum(),
        };
        model.stats.memory_bytes = model.memory_bytes();
        model
    }

    fn compute_bounds(&self) -> Option<[f64; 4]> {
        let top = self.levels.iter().find(|l| !l.is_empty())?;
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for a in top.slots.iter().flatten() {
            b = [
                b[0].min(a.bbox[0]),
                b[1].min(a.bbox[1]),
                b[2].max(a.bbox[2]),
                b[3].max(a.bbox[3]),
            ];
        }
        let (w, s) = super::tile_id::to_4326(b[0], b[1]);
        let (e, n) = super::tile_id::to_4326(b[2], b[3]);
        Some([w, s, e, n])
    }

    /// Replaces the areas `codes` with `rows` (their current rows; a code without a row was
    /// deleted) and repairs the topology around them.
    pub fn patch(&mut self, codes: &[String], rows: &[AreaShape]) -> PatchOutcome {
        let mut out = PatchOutcome::default();
        let mut fresh: HashMap<&str, &AreaShape> = rows.iter().map(|r| (&*r.code, r)).collect();
        let mut touched: HashMap<Level, HashMap<VKey, Pt>> = HashMap::new();
        let mut new_areas: Vec<AreaGeom> = Vec::new();
        for code in codes {
            let row = fresh.remove(code.as_str());
            let old = self.tree.get(code.as_str()).cloned();
            if let (Some(o), Some(r)) = (&old, &row)
                && o.parent.as_deref() != r.parent.as_deref()
                && r.level != Level::Unit
            {
                out.everything = true;
            }
            match &row {
                Some(r) => {
                    self.tree.insert(
                        r.code.clone(),
                        Node {
                            level: r.level,
                            parent: r.parent.clone(),
                        },
                    );
                }
                None => {
                    self.tree.remove(code.as_str());
                }
            }
            if let Some(o) = old
                && let Some(level) = self.levels.iter_mut().find(|l| l.level == o.level)
                && let Some(a) = level.remove(code)
            {
                let t = touched.entry(o.level).or_default();
                a.rings().flatten().for_each(|p| {
                    t.insert(topology::key(*p), *p);
                });
                out.dirty.push((o.level, a.bbox));
            }
            if let Some(r) = row.filter(|r| r.level != Level::City)
                && let Some(a) = area_geom(r, ancestors(r.parent.as_deref(), &self.tree))
            {
                new_areas.push(a);
            }
        }
        let mut fresh_slots: HashMap<Level, HashSet<usize>> = HashMap::new();
        for mut a in new_areas {
            a.label = label_point(&a);
            let level = a.level;
            let t = touched.entry(level).or_default();
            a.rings().flatten().for_each(|p| {
                t.insert(topology::key(*p), *p);
            });
            out.dirty.push((level, a.bbox));
            if let Some(l) = self.levels.iter_mut().find(|l| l.level == level) {
                fresh_slots.entry(level).or_default().insert(l.insert(a));
            }
        }
        for (level, t) in touched {
            if let Some(l) = self.levels.iter_mut().find(|l| l.level == level) {
                let boxes = l.retopologize(t, fresh_slots.remove(&level).unwrap_or_default());
                out.dirty.extend(boxes.into_iter().map(|b| (level, b)));
            }
        }
        if out.everything {
            self.refresh_ancestors();
        }
        self.bounds_4326 = self.compute_bounds();
        out
    }

    fn refresh_ancestors(&mut self) {
        let tree = &self.tree;
        let chains = Chains::new(tree);
        for l in &mut self.levels {
            for a in l.slots.iter_mut().flatten() {
                a.ancestors = chains.of(a.parent.as_deref(), tree);
            }
        }
    }
}

/// The ancestor chain of every area that has children, built once so siblings share it.
struct Chains(HashMap<Arc<str>, Ancestors>);

impl Chains {
    fn new(tree: &HashMap<Arc<str>, Node>) -> Chains {
        let mut parents: HashSet<&Arc<str>> = HashSet::new();
        for node in tree.values() {
            if let Some(p) = node.parent.as_ref().and_then(|p| tree.get_key_value(p)) {
                parents.insert(p.0);
            }
        }
        Chains(
            parents
                .into_iter()
                .map(|p| (p.clone(), ancestors(Some(p), tree)))
                .collect(),
        )
    }

    /// The chain above a child of `parent`.
    fn of(&self, parent: Option<&str>, tree: &HashMap<Arc<str>, Node>) -> Ancestors {
        match parent.and_then(|p| self.0.get(p)) {
            Some(c) => c.clone(),
            None => ancestors(parent, tree),
        }
    }
}

fn ancestors(parent: Option<&str>, tree: &HashMap<Arc<str>, Node>) -> Ancestors {
    let mut chain = Vec::new();
    let mut cur = parent.and_then(|p| tree.get_key_value(p));
    // The tree has at most six levels; the bound guards against a cycle in bad data.
    while let Some((code, node)) = cur {
        chain.push((node.level, code.clone()));
        if chain.len() > 8 {
            break;
        }
        cur = node.parent.as_deref().and_then(|p| tree.get_key_value(p));
    }
    chain.reverse();
    chain.into()
}

/// The tile view of a row (thresholds come later, with the level's junctions); `None` for a
/// row without geometry or with nothing to draw.
fn area_geom(r: &AreaShape, ancestors: Ancestors) -> Option<AreaGeom> {
    let shape = r.geom.clone()?;
    let mut ccw = 0u64;
    let mut vertices = 0usize;
    for (i, (ring, _)) in shape.rings().enumerate() {
        let open = &ring[..ring.len().saturating_sub(1)];
        vertices += open.len();
        if i < 64 && ring_area(open) > 0.0 {
            ccw |= 1 << i;
        }
    }
    // Mercator keeps the order of x and of y: the box's corners are the projected corners.
    let [w, s, e, n] = shape.bbox();
    if !(w.is_finite() && s.is_finite() && e.is_finite() && n.is_finite()) {
        return None;
    }
    let (lo, hi) = (merc([w, s]), merc([e, n]));
    let a = AreaGeom {
        code: r.code.clone(),
        id: r.code.parse().ok(),
        name: r.name.clone(),
        level: r.level,
        parent: r.parent.clone(),
        ancestors,
        shape,
        keep: vec![f32::INFINITY; vertices].into_boxed_slice(),
        ccw,
        bbox: [lo[0], lo[1], hi[0], hi[1]],
        label: None,
    };
    a.ring_refs().next()?;
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, Polygon};

    fn row(code: &str, level: Level, parent: Option<&str>, coords: &[(f64, f64)]) -> AreaShape {
        let ring: LineString<f64> = coords
            .iter()
            .copied()
            .chain(std::iter::once(coords[0]))
            .collect::<Vec<_>>()
            .into();
        AreaShape {
            code: code.into(),
            name: code.into(),
            level,
            parent: parent.map(Arc::from),
            geom: Some(FlatShape::from_multipolygon(&geo_types::MultiPolygon(
                vec![Polygon::new(ring, vec![])],
            ))),
        }
    }

    /// Two units side by side sharing the edge x = 119.01, in one grid.
    fn city() -> Vec<AreaShape> {
        vec![
            AreaShape {
                code: "3503".into(),
                name: "c".into(),
                level: Level::City,
                parent: None,
                geom: None,
            },
            row(
                "350304",
                Level::District,
                Some("3503"),
                &[
                    (119.0, 25.0),
                    (119.02, 25.0),
                    (119.02, 25.01),
                    (119.0, 25.01),
                ],
            ),
            row(
                "3503041000010011001",
                Level::Unit,
                Some("350304100001001"),
                &[
                    (119.0, 25.0),
                    (119.01, 25.0),
                    (119.01, 25.005),
                    (119.01, 25.01),
                    (119.0, 25.01),
                ],
            ),
            row(
                "3503041000010011002",
                Level::Unit,
                Some("350304100001001"),
                &[
                    (119.01, 25.0),
                    (119.02, 25.0),
                    (119.02, 25.01),
                    (119.01, 25.01),
                    (119.01, 25.005),
                ],
            ),
        ]
    }

    #[test]
    fn builds_levels_with_ancestors_labels_and_junctions() {
        let m = Model::build(&city());
        let units = m.level(Level::Unit).unwrap();
        assert_eq!(units.len(), 2);
        let a = units.get("3503041000010011001").unwrap();
        // The unit's parent grid is not loaded in this tiny tree: its chain stops there.
        assert_eq!(a.ancestors.len(), 0);
        let d = m.level(Level::District).unwrap().get("350304").unwrap();
        assert_eq!(&*d.ancestors, &[(Level::City, Arc::from("3503"))]);
        assert!(d.label.is_some());
        // (119.01, 25.005) lies on the shared edge only: not a junction; the edge's ends are.
        assert_eq!(units.junctions.len(), 2);
        let b = m.bounds_4326.unwrap();
        assert!((b[0] - 119.0).abs() < 1e-9 && (b[3] - 25.01).abs() < 1e-9);
    }

    #[test]
    fn patch_moves_junctions_and_reports_dirty_boxes() {
        let mut m = Model::build(&city());
        let code2 = "3503041000010011002".to_string();
        let unit2 = city().pop().unwrap();
        // Deleting unit 2 leaves unit 1 alone: the shared edge's ends stop being junctions, so
        // unit 1 is re-simplified and its box is dirty too.
        let out = m.patch(std::slice::from_ref(&code2), &[]);
        assert!(!out.everything);
        assert!(out.dirty.iter().all(|(l, _)| *l == Level::Unit));
        let units = m.level(Level::Unit).unwrap();
        assert!(units.get(&code2).is_none());
        assert!(units.junctions.is_empty());
        let b1 = units.get("3503041000010011001").unwrap().bbox;
        assert!(out.dirty.iter().any(|(_, b)| *b == b1));
        // Putting it back restores the junctions, equal to a from-scratch computation.
        let out = m.patch(std::slice::from_ref(&code2), &[unit2]);
        let units = m.level(Level::Unit).unwrap();
        let fresh = topology::junctions(units.slots.iter().flatten().flat_map(|a| a.rings()));
        assert_eq!(units.junctions.len(), 2);
        assert_eq!(units.junctions, fresh);
        assert!(out.dirty.iter().any(|(_, b)| *b == b1));
    }

    #[test]
    fn intersects_is_exact_not_by_bbox() {
        let m = Model::build(&city());
        let d = m.level(Level::District).unwrap().get("350304").unwrap();
        let (x, y) = to_mercator(119.01, 25.005);
        assert!(
            d.intersects([x - 1.0, y - 1.0, x + 1.0, y + 1.0]),
            "inside, no boundary in the box"
        );
        let (x, y) = to_mercator(119.03, 25.005);
        assert!(!d.intersects([x - 1.0, y - 1.0, x + 1.0, y + 1.0]));
        let (x, y) = to_mercator(119.02, 25.005);
        assert!(
            d.intersects([x - 1.0, y - 1.0, x + 1.0, y + 1.0]),
            "box across the edge"
        );
    }
}

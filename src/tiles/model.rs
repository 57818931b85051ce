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
use crate::model::Level;
use crate::store::areas::AreaShape;
use geo_types::MultiPolygon;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// One ring (open: no repeated closing vertex) in Mercator metres with its keep thresholds.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    pub pts: Vec<Pt>,
    pub keep: Vec<f64>,
    /// The unsimplified ring runs counter-clockwise in Mercator (positive area). A simplified
    /// ring whose orientation differs has folded over: see `clip`.
    pub ccw: bool,
}

/// An area as tiles need it.
#[derive(Debug, Clone)]
pub struct AreaGeom {
    pub code: Arc<str>,
    /// The code as a number, used as the MVT feature id (codes have at most 19 digits).
    pub id: Option<u64>,
    pub name: Arc<str>,
    pub level: Level,
    pub parent: Option<Arc<str>>,
    /// Codes of the ancestors from the city down to the parent, paired with their level.
    pub ancestors: Vec<(Level, Arc<str>)>,
    /// Polygons, each an outer ring then holes.
    pub polygons: Vec<Vec<Ring>>,
    /// [min x, min y, max x, max y] in Mercator metres.
    pub bbox: [f64; 4],
    /// Pole of inaccessibility of the largest polygon, Mercator metres.
    pub label: Option<Pt>,
}

impl AreaGeom {
    fn rings(&self) -> impl Iterator<Item = &[Pt]> {
        self.polygons.iter().flatten().map(|r| r.pts.as_slice())
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
        for ring in self.rings() {
            let n = ring.len();
            for i in 0..n {
                if inside(ring[i]) || segment_meets_box(ring[i], ring[(i + 1) % n], env) {
                    return true;
                }
            }
        }
        // No boundary in the box: either the box is inside a polygon or they are apart.
        let c = [(env[0] + env[2]) / 2.0, (env[1] + env[3]) / 2.0];
        self.polygons.iter().any(|poly| {
            let mut odd = false;
            for ring in poly {
                let n = ring.pts.len();
                for i in 0..n {
                    let (a, b) = (ring.pts[i], ring.pts[(i + 1) % n]);
                    if (a[1] > c[1]) != (b[1] > c[1])
                        && c[0] < (b[0] - a[0]) * (c[1] - a[1]) / (b[1] - a[1]) + a[0]
                    {
                        odd = !odd;
                    }
                }
            }
            odd
        })
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

    /// Slots of the areas that have vertex `v`.
    fn slots_at(&self, v: Pt) -> Vec<usize> {
        let kv = topology::key(v);
        self.rtree
            .locate_in_envelope_intersecting(&AABB::from_point(v))
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
    for ring in a.polygons.iter_mut().flatten() {
        ring.keep = topology::thresholds(&ring.pts, junctions);
    }
}

/// The label point: the pole of inaccessibility of the largest polygon, to within 1/100 of
/// its size (at least 0.5 m).
fn label_point(a: &AreaGeom) -> Option<Pt> {
    let largest = a.polygons.iter().max_by(|p, q| {
        ring_area(&p[0].pts)
            .abs()
            .total_cmp(&ring_area(&q[0].pts).abs())
    })?;
    let rings: Vec<Vec<Pt>> = largest.iter().map(|r| r.pts.clone()).collect();
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
    /// Estimated heap bytes of the model (`Model::memory_bytes`).
    pub memory_bytes: usize,
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
    /// Bytes this area holds on the heap (its strings counted whole, though an `Arc` may be
    /// shared).
    fn heap_bytes(&self) -> usize {
        let rings: usize = self
            .polygons
            .iter()
            .map(|p| {
                p.capacity() * std::mem::size_of::<Ring>()
                    + p.iter()
                        .map(|r| {
                            r.pts.capacity() * std::mem::size_of::<Pt>()
                                + r.keep.capacity() * std::mem::size_of::<f64>()
                        })
                        .sum::<usize>()
            })
            .sum();
        self.code.len()
            + self.name.len()
            + 32
            + self.ancestors.capacity() * std::mem::size_of::<(Level, Arc<str>)>()
            + self.polygons.capacity() * std::mem::size_of::<Vec<Ring>>()
            + rings
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
            + self.tree.keys().map(|k| k.len() + 16).sum::<usize>()
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
                    Arc::from(r.code.as_str()),
                    Node {
                        level: r.level,
                        parent: r.parent.as_deref().map(Arc::from),
                    },
                )
            })
            .collect();
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
                    .filter_map(|r| area_geom(r, &tree))
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
        let mut fresh: HashMap<&str, &AreaShape> =
            rows.iter().map(|r| (r.code.as_str(), r)).collect();
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
                        Arc::from(code.as_str()),
                        Node {
                            level: r.level,
                            parent: r.parent.as_deref().map(Arc::from),
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
                && let Some(a) = area_geom(r, &self.tree)
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
        for l in &mut self.levels {
            for a in l.slots.iter_mut().flatten() {
                a.ancestors = ancestors(a.parent.as_deref(), tree);
            }
        }
    }
}

fn ancestors(parent: Option<&str>, tree: &HashMap<Arc<str>, Node>) -> Vec<(Level, Arc<str>)> {
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
    chain
}

/// Projects a row's geometry and drops repeated vertices; `None` for a row without geometry.
fn area_geom(r: &AreaShape, tree: &HashMap<Arc<str>, Node>) -> Option<AreaGeom> {
    let geom: &MultiPolygon<f64> = r.geom.as_deref()?;
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut polygons = Vec::with_capacity(geom.0.len());
    for poly in &geom.0 {
        let mut rings = Vec::with_capacity(1 + poly.interiors().len());
        for ls in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let mut pts: Vec<Pt> = Vec::with_capacity(ls.0.len());
            for c in &ls.0 {
                let (x, y) = to_mercator(c.x, c.y);
                if pts.last() != Some(&[x, y]) {
                    pts.push([x, y]);
                }
            }
            while pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            if pts.len() < 3 {
                continue;
            }
            for p in &pts {
                bbox = [
                    bbox[0].min(p[0]),
                    bbox[1].min(p[1]),
                    bbox[2].max(p[0]),
                    bbox[3].max(p[1]),
                ];
            }
            let ccw = ring_area(&pts) > 0.0;
            rings.push(Ring {
                pts,
                keep: Vec::new(),
                ccw,
            });
        }
        // A polygon whose outer ring degenerated has nothing to draw.
        if !rings.is_empty() && poly.exterior().0.len() >= 4 {
            polygons.push(rings);
        }
    }
    if polygons.is_empty() {
        return None;
    }
    Some(AreaGeom {
        code: Arc::from(r.code.as_str()),
        id: r.code.parse().ok(),
        name: Arc::from(r.name.as_str()),
        level: r.level,
        parent: r.parent.as_deref().map(Arc::from),
        ancestors: ancestors(r.parent.as_deref(), tree),
        polygons,
        bbox,
        label: None,
    })
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
            parent: parent.map(str::to_string),
            geom: Some(Arc::new(MultiPolygon(vec![Polygon::new(ring, vec![])]))),
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
        assert_eq!(d.ancestors, vec![(Level::City, Arc::from("3503"))]);
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

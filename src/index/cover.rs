//! A uniform cell cover of the unit polygons.
//!
//! Each cell lists, in code order, the units whose bounding box meets it. A cell that no unit
//! edge touches lies wholly inside one unit (or outside all): it keeps just that unit, marked
//! "full", and answers without any geometric test. Because candidates are in code order and the
//! first unit that covers the point wins, a point on a shared edge or vertex goes to the lowest
//! code, the documented tie rule.
//!
//! Cells are stored in blocks of 32×32 behind `Arc`s, so a patched cover (after an edit) shares
//! every block the edit did not touch with the previous version and is built in milliseconds.

use crate::geom::flat::FlatShape;
use geo_types::Coord;
use std::sync::Arc;

/// Marks a list entry as "the whole cell is inside this unit".
const FULL: u32 = 1 << 31;
/// Cells per block side.
const B: usize = 32;

/// What the cover needs to know about units: bounding box, geometry and code order.
pub trait Units {
    fn len(&self) -> usize;
    /// [min x, min y, max x, max y]; `None` for a deleted unit.
    fn bbox(&self, u: u32) -> Option<[f64; 4]>;
    fn shape(&self, u: u32) -> &FlatShape;
    /// Orders two units by code.
    fn code_cmp(&self, a: u32, b: u32) -> std::cmp::Ordering;
}

/// 32×32 cells. A cell word is `EMPTY`, `FULL | unit`, or an offset into `lists` where a
/// length-prefixed list of candidates starts: a full cell answers with a single load.
#[derive(Clone)]
struct Block {
    cells: Vec<u32>,
    lists: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

impl Block {
    fn empty() -> Block {
        Block {
            cells: vec![EMPTY; B * B],
            lists: Vec::new(),
        }
    }

    /// The cell's entries as build and patch see them (full cells as one `FULL | unit`).
    fn entries(&self, i: usize) -> Vec<u32> {
        match self.cells[i] {
            EMPTY => Vec::new(),
            w if w & FULL != 0 => vec![w],
            w => {
                let start = w as usize + 1;
                self.lists[start..start + self.lists[w as usize] as usize].to_vec()
            }
        }
    }

    fn from_lists(lists: Vec<Vec<u32>>) -> Block {
        let mut b = Block {
            cells: Vec::with_capacity(B * B),
            lists: Vec::new(),
        };
        for l in lists {
            b.cells.push(match l.as_slice() {
                [] => EMPTY,
                [one] if one & FULL != 0 => *one,
                many => {
                    let at = b.lists.len() as u32;
                    b.lists.push(many.len() as u32);
                    b.lists.extend_from_slice(many);
                    at
                }
            });
        }
        b
    }
}

#[derive(Clone)]
pub struct CellCover {
    x0: f64,
    y0: f64,
    cw: f64,
    ch: f64,
    nx: usize,
    ny: usize,
    bx: usize,
    blocks: Vec<Arc<Block>>,
}

/// Counts of cell kinds, for the statistics.
#[derive(Debug, Default, Clone, Copy)]
pub struct CoverCounts {
    pub full: usize,
    pub list: usize,
    pub memory_bytes: usize,
}

impl CellCover {
    /// Builds the cover of `units` over `extent` ([min x, min y, max x, max y]) with cells of
    /// about `cell_deg` degrees of latitude.
    ///
    /// Pairs are gathered unit by unit in slot order and kept in that order, so for a fresh
    /// build (slots in code order) the lists come out sorted by code. A cell's candidates are the units whose edges meet it and the units that contain it
    /// whole (found by testing the centres of the untouched cells of each unit's bounding box).
    /// A cell whose only candidate contains it is "full".
    pub fn build(units: &dyn Units, extent: [f64; 4], cell_deg: f64) -> CellCover {
        let [x0, y0, x1, y1] = extent;
        let ch = cell_deg;
        // A little wider than tall at this latitude, so cells are about square in metres.
        let cw = cell_deg / ((y0 + y1) / 2.0).to_radians().cos();
        let nx = (((x1 - x0) / cw).ceil() as usize).max(1);
        let ny = (((y1 - y0) / ch).ceil() as usize).max(1);
        let bx = nx.div_ceil(B);
        let by = ny.div_ceil(B);
        let mut cover = CellCover {
            x0,
            y0,
            cw,
            ch,
            nx,
            ny,
            bx,
            blocks: Vec::new(),
        };

        // (cell, unit | FULL-if-contains) pairs, gathered unit by unit.
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(units.len() * 12);
        let mut touched: Vec<u32> = Vec::new();
        for u in 0..units.len() as u32 {
            let Some(bbox) = units.bbox(u) else { continue };
            touched.clear();
            units
                .shape(u)
                .for_each_segment(|a, b| cover.segment_cells(a, b, &mut touched));
            touched.sort_unstable();
            touched.dedup();
            pairs.extend(touched.iter().map(|&c| (c, u)));
            let (cx0, cy0, cx1, cy1) = cover.cell_range(bbox);
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    let cell = (cy * nx + cx) as u32;
                    if touched.binary_search(&cell).is_err()
                        && covers_point(units, u, cover.cell_centre(cell as usize))
                    {
                        pairs.push((cell, u | FULL));
                    }
                }
            }
        }
        let empty = Arc::new(Block::empty());
        cover.blocks = vec![empty; bx * by];
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); B * B];
        // Group pairs by block.
        let mut by_block: Vec<Vec<(u32, u32)>> = vec![Vec::new(); bx * by];
        for &(cell, u) in &pairs {
            let (cx, cy) = (cell as usize % nx, cell as usize / nx);
            by_block[(cy / B) * bx + cx / B].push((cell, u));
        }
        drop(pairs);
        for (bi, block_pairs) in by_block.into_iter().enumerate() {
            if block_pairs.is_empty() {
                continue;
            }
            for l in lists.iter_mut() {
                l.clear();
            }
            for (cell, u) in block_pairs {
                let (cx, cy) = (cell as usize % nx, cell as usize / nx);
                lists[(cy % B) * B + cx % B].push(u);
            }
            let block_lists: Vec<Vec<u32>> = lists
                .iter_mut()
                .map(|l| finish_cell(units, std::mem::take(l)))
                .collect();
            cover.blocks[bi] = Arc::new(Block::from_lists(block_lists));
        }
        cover
    }

    /// A cover for an empty set of units.
    pub fn empty() -> CellCover {
        CellCover {
            x0: 0.0,
            y0: 0.0,
            cw: 1.0,
            ch: 1.0,
            nx: 0,
            ny: 0,
            bx: 0,
            blocks: Vec::new(),
        }
    }

    /// True if `bbox` lies within the cover's extent (a patch cannot grow the extent).
    pub fn contains_extent(&self, bbox: [f64; 4]) -> bool {
        self.nx > 0
            && bbox[0] >= self.x0
            && bbox[1] >= self.y0
            && bbox[2] <= self.x0 + self.nx as f64 * self.cw
            && bbox[3] <= self.y0 + self.ny as f64 * self.ch
    }

    /// A new cover in which the cells under `dirty` boxes (old and new bboxes of the changed
    /// units) are recomputed; `changed` lists the changed unit ids. Other blocks are shared.
    pub fn patched(&self, units: &dyn Units, changed: &[u32], dirty: &[[f64; 4]]) -> CellCover {
        let mut cover = self.clone();
        let mut cells: Vec<usize> = Vec::new();
        for &bbox in dirty {
            let (cx0, cy0, cx1, cy1) = self.cell_range(bbox);
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    cells.push(cy * self.nx + cx);
                }
            }
        }
        cells.sort_unstable();
        cells.dedup();
        let mut by_block: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for cell in cells {
            let (cx, cy) = (cell % self.nx, cell / self.nx);
            by_block
                .entry((cy / B) * self.bx + cx / B)
                .or_default()
                .push(cell);
        }
        for (bi, cells) in by_block {
            let old = &self.blocks[bi];
            let mut lists: Vec<Vec<u32>> = (0..B * B).map(|i| old.entries(i)).collect();
            for cell in cells {
                let (cx, cy) = (cell % self.nx, cell / self.nx);
                let local = (cy % B) * B + cx % B;
                let mut cands: Vec<u32> = lists[local]
                    .iter()
                    .copied()
                    .filter(|&e| !changed.contains(&(e & !FULL)))
                    .collect();
                let rect = self.cell_rect(cx, cy);
                let centre = self.cell_centre(cell);
                for &u in changed {
                    let Some(b) = units.bbox(u) else { continue };
                    if !(b[0] <= rect[2] && b[2] >= rect[0] && b[1] <= rect[3] && b[3] >= rect[1]) {
                        continue;
                    }
                    let mut hit = false;
                    units
                        .shape(u)
                        .for_each_segment(|a, b| hit = hit || segment_meets_rect(a, b, rect));
                    if hit {
                        cands.push(u);
                    } else if covers_point(units, u, centre) {
                        cands.push(u | FULL);
                    }
                }
                lists[local] = finish_cell(units, cands);
            }
            cover.blocks[bi] = Arc::new(Block::from_lists(lists));
        }
        cover
    }

    fn cell_range(&self, b: [f64; 4]) -> (usize, usize, usize, usize) {
        let (cx0, cy0) = self.cell_of(b[0], b[1]);
        let (cx1, cy1) = self.cell_of(b[2], b[3]);
        (cx0, cy0, cx1, cy1)
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let cx = ((x - self.x0) / self.cw)
            .floor()
            .clamp(0.0, (self.nx.max(1) - 1) as f64) as usize;
        let cy = ((y - self.y0) / self.ch)
            .floor()
            .clamp(0.0, (self.ny.max(1) - 1) as f64) as usize;
        (cx, cy)
    }

    fn cell_centre(&self, cell: usize) -> Coord<f64> {
        let (cx, cy) = (cell % self.nx, cell / self.nx);
        Coord {
            x: self.x0 + (cx as f64 + 0.5) * self.cw,
            y: self.y0 + (cy as f64 + 0.5) * self.ch,
        }
    }

    /// The cell's rectangle grown by a hair (0.1 mm), so edges that only graze it count.
    fn cell_rect(&self, cx: usize, cy: usize) -> [f64; 4] {
        let eps = 1e-9;
        let x = self.x0 + cx as f64 * self.cw;
        let y = self.y0 + cy as f64 * self.ch;
        [x - eps, y - eps, x + self.cw + eps, y + self.ch + eps]
    }

    /// Pushes every cell the segment meets (with a hair of margin), so a cell not pushed is
    /// certainly free of this unit's edges. Pushing too many only costs speed.
    fn segment_cells(&self, a: Coord<f64>, b: Coord<f64>, out: &mut Vec<u32>) {
        let (cx0, cy0) = self.cell_of(a.x.min(b.x), a.y.min(b.y));
        let (cx1, cy1) = self.cell_of(a.x.max(b.x), a.y.max(b.y));
        let (cx0, cy0) = (cx0.saturating_sub(1), cy0.saturating_sub(1));
        let (cx1, cy1) = ((cx1 + 1).min(self.nx - 1), (cy1 + 1).min(self.ny - 1));
        for cy in cy0..=cy1 {
            for cx in cx0..=cx1 {
                if segment_meets_rect(a, b, self.cell_rect(cx, cy)) {
                    out.push((cy * self.nx + cx) as u32);
                }
            }
        }
    }

    /// The first unit (in code order) that covers `p`, where `covers(u)` is the exact test;
    /// full cells answer without calling it.
    #[inline]
    pub fn locate_with(&self, covers: impl Fn(u32) -> bool, p: Coord<f64>) -> Option<u32> {
        if self.nx == 0 {
            return None;
        }
        let fx = (p.x - self.x0) / self.cw;
        let fy = (p.y - self.y0) / self.ch;
        // NaN fails every comparison and lands here too.
        if !(fx >= 0.0 && fy >= 0.0 && fx <= self.nx as f64 && fy <= self.ny as f64) {
            return None;
        }
        // Points on the far edge of the last cell belong to it.
        let (cx, cy) = (
            (fx as usize).min(self.nx - 1),
            (fy as usize).min(self.ny - 1),
        );
        let block = &self.blocks[(cy / B) * self.bx + cx / B];
        match block.cells[(cy % B) * B + cx % B] {
            EMPTY => None,
            // The closed cell lies strictly inside this unit and no other unit's edge meets it.
            w if w & FULL != 0 => Some(w & !FULL),
            w => {
                let start = w as usize + 1;
                let list = &block.lists[start..start + block.lists[w as usize] as usize];
                list.iter().copied().find(|&u| covers(u))
            }
        }
    }

    pub fn counts(&self) -> CoverCounts {
        let mut c = CoverCounts::default();
        let mut seen = std::collections::HashSet::new();
        for b in &self.blocks {
            // Empty blocks share one allocation.
            if seen.insert(Arc::as_ptr(b)) {
                c.memory_bytes += b.cells.capacity() * 4 + b.lists.capacity() * 4 + 48;
            }
            for &w in &b.cells {
                match w {
                    EMPTY => {}
                    w if w & FULL != 0 => c.full += 1,
                    _ => c.list += 1,
                }
            }
        }
        c
    }
}

/// Orders a cell's candidates by code and decides its kind: a single unit that contains the
/// cell makes it full; a unit containing it among others (overlapping data) is just a candidate.
fn finish_cell(units: &dyn Units, mut cands: Vec<u32>) -> Vec<u32> {
    if cands.len() == 1 {
        return cands;
    }
    for c in cands.iter_mut() {
        *c &= !FULL;
    }
    if !cands.is_sorted_by(|&a, &b| units.code_cmp(a, b).is_le()) {
        cands.sort_by(|&a, &b| units.code_cmp(a, b));
    }
    cands.dedup();
    cands
}

#[inline]
fn covers_point(units: &dyn Units, u: u32, p: Coord<f64>) -> bool {
    units
        .bbox(u)
        .is_some_and(|b| p.x >= b[0] && p.x <= b[2] && p.y >= b[1] && p.y <= b[3])
        && units.shape(u).covers(p)
}

/// Does segment ab meet the closed rectangle [x0, y0, x1, y1]? (Liang–Barsky clipping.)
fn segment_meets_rect(a: Coord<f64>, b: Coord<f64>, r: [f64; 4]) -> bool {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.x - r[0]),
        (dx, r[2] - a.x),
        (-dy, a.y - r[1]),
        (dy, r[3] - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

impl CellCover {
    /// Diagnostics: (kind, list length) of the cell under `p`: 0 empty, 1 full, 2 list.
    pub fn cell_kind(&self, p: Coord<f64>) -> (u8, usize) {
        let fx = (p.x - self.x0) / self.cw;
        let fy = (p.y - self.y0) / self.ch;
        if self.nx == 0 || !(fx >= 0.0 && fy >= 0.0 && fx <= self.nx as f64 && fy <= self.ny as f64)
        {
            return (0, 0);
        }
        let (cx, cy) = (
            (fx as usize).min(self.nx - 1),
            (fy as usize).min(self.ny - 1),
        );
        let block = &self.blocks[(cy / B) * self.bx + cx / B];
        match block.cells[(cy % B) * B + cx % B] {
            EMPTY => (0, 0),
            w if w & FULL != 0 => (1, 1),
            w => (2, block.lists[w as usize] as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    use geo_types::MultiPolygon;

    struct Squares(Vec<(String, Option<[f64; 4]>, FlatShape)>);
    impl Units for Squares {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn bbox(&self, u: u32) -> Option<[f64; 4]> {
            self.0[u as usize].1
        }
        fn shape(&self, u: u32) -> &FlatShape {
            &self.0[u as usize].2
        }
        fn code_cmp(&self, a: u32, b: u32) -> std::cmp::Ordering {
            self.0[a as usize].0.cmp(&self.0[b as usize].0)
        }
    }

    fn square(code: &str, x: f64, w: f64) -> (String, Option<[f64; 4]>, FlatShape) {
        let mp = MultiPolygon(vec![
            polygon![(x: x, y: 0.0), (x: x + w, y: 0.0), (x: x + w, y: 1.0), (x: x, y: 1.0)],
        ]);
        (
            code.to_string(),
            Some([x, 0.0, x + w, 1.0]),
            FlatShape::from_multipolygon(&mp),
        )
    }

    #[test]
    fn segments_and_rectangles() {
        let c = |x, y| Coord { x, y };
        let r = [0.0, 0.0, 1.0, 1.0];
        assert!(segment_meets_rect(c(-1.0, 0.5), c(2.0, 0.5), r));
        assert!(!segment_meets_rect(c(-1.0, 2.0), c(2.0, 2.0), r));
        assert!(segment_meets_rect(c(0.2, 0.2), c(0.3, 0.3), r));
        assert!(segment_meets_rect(c(1.0, -1.0), c(1.0, 3.0), r));
        assert!(!segment_meets_rect(c(1.5, 0.0), c(3.0, 1.5), r));
    }

    #[test]
    fn shared_edges_go_to_the_lower_code_and_patches_match_a_rebuild() {
        let mut units = Squares(vec![square("a", 0.0, 1.0), square("b", 1.0, 1.0)]);
        let extent = [0.0, 0.0, 3.0, 1.0];
        let cover = CellCover::build(&units, extent, 0.1);
        assert!(cover.counts().full > 0);
        let at = |c: &CellCover, u: &Squares, x, y| {
            c.locate_with(|i| covers_point(u, i, Coord { x, y }), Coord { x, y })
        };
        assert_eq!(at(&cover, &units, 0.5, 0.5), Some(0));
        assert_eq!(at(&cover, &units, 1.5, 0.5), Some(1));
        assert_eq!(at(&cover, &units, 1.0, 0.5), Some(0)); // shared edge
        assert_eq!(at(&cover, &units, 1.0, 1.0), Some(0)); // shared vertex
        assert_eq!(at(&cover, &units, 2.0, 1.0), Some(1)); // far corner
        assert_eq!(at(&cover, &units, 2.0 + 1e-12, 0.5), None);
        assert_eq!(at(&cover, &units, -0.5, 0.5), None);

        // Unit "b" grows to x = 3 and a new unit "0" (lowest code) takes [0, 0.5].
        let old_b = units.0[1].1.unwrap();
        units.0[1] = square("b", 1.0, 2.0);
        units.0.push(square("0", 0.0, 0.5));
        let patched = cover.patched(
            &units,
            &[1, 2],
            &[old_b, units.0[1].1.unwrap(), units.0[2].1.unwrap()],
        );
        let rebuilt = CellCover::build(&units, extent, 0.1);
        for i in 0..=300 {
            for j in 0..=10 {
                let (x, y) = (i as f64 * 0.01, j as f64 * 0.1);
                assert_eq!(
                    at(&patched, &units, x, y),
                    at(&rebuilt, &units, x, y),
                    "({x},{y})"
                );
            }
        }
        assert_eq!(at(&patched, &units, 0.25, 0.5), Some(2));
        assert_eq!(at(&patched, &units, 0.5, 0.5), Some(2)); // shared edge of "0" and "a": "0" wins
        assert_eq!(at(&patched, &units, 2.5, 0.5), Some(1));
    }
}

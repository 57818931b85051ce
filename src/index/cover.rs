//! A uniform cell cover of the unit polygons.
//!
//! Each cell lists, in code order, the units whose bounding box meets it. A cell that no unit
//! edge touches lies wholly inside one unit (or outside all): it is marked "full" and answers
//! without any geometric test. Because candidates are in code order and the first unit that
//! covers the point wins, a point on a shared edge or vertex goes to the lowest code, the
//! documented tie rule.

use crate::geom::covers::covers;
use geo_types::{Coord, MultiPolygon};

/// Marks a list entry as "the whole cell is inside this unit".
const FULL: u32 = 1 << 31;

pub struct CellCover {
    x0: f64,
    y0: f64,
    cw: f64,
    ch: f64,
    nx: usize,
    ny: usize,
    /// CSR offsets: cell i's entries are `entries[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    entries: Vec<u32>,
    pub full_cells: usize,
    pub list_cells: usize,
}

/// A unit as the cover sees it: its bounding box and polygons.
pub struct UnitShape<'a> {
    pub bbox: [f64; 4],
    pub geom: &'a MultiPolygon<f64>,
}

impl CellCover {
    /// Builds the cover over `units` (indexed in code order) with cells of about `cell_deg`.
    pub fn build(units: &[UnitShape<'_>], cell_deg: f64) -> CellCover {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for u in units {
            (x0, y0, x1, y1) = (x0.min(u.bbox[0]), y0.min(u.bbox[1]), x1.max(u.bbox[2]), y1.max(u.bbox[3]));
        }
        if units.is_empty() {
            return CellCover::empty();
        }
        // Cells are a little wider than tall at this latitude so they are about square in metres.
        let ch = cell_deg;
        let cw = cell_deg / ((y0 + y1) / 2.0).to_radians().cos();
        let nx = (((x1 - x0) / cw).ceil() as usize).max(1);
        let ny = (((y1 - y0) / ch).ceil() as usize).max(1);
        let mut cover = CellCover {
            x0,
            y0,
            cw,
            ch,
            nx,
            ny,
            offsets: Vec::new(),
            entries: Vec::new(),
            full_cells: 0,
            list_cells: 0,
        };

        // Pass 1: candidates per cell (by bbox), and which cells an edge touches.
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); nx * ny];
        let mut touched = vec![false; nx * ny];
        for (i, u) in units.iter().enumerate() {
            let (cx0, cy0) = cover.cell_of(u.bbox[0], u.bbox[1]);
            let (cx1, cy1) = cover.cell_of(u.bbox[2], u.bbox[3]);
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    lists[cy * nx + cx].push(i as u32);
                }
            }
            for poly in &u.geom.0 {
                for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                    for seg in ring.0.windows(2) {
                        cover.mark_segment(seg[0], seg[1], &mut touched);
                    }
                }
            }
        }

        // Pass 2: untouched cells are wholly inside one unit or outside all.
        cover.offsets.reserve(nx * ny + 1);
        cover.offsets.push(0);
        for (cell, list) in lists.into_iter().enumerate() {
            if list.is_empty() {
            } else if !touched[cell] {
                let centre = cover.cell_centre(cell);
                if let Some(&u) = list.iter().find(|&&u| covers_point(&units[u as usize], centre)) {
                    cover.entries.push(u | FULL);
                    cover.full_cells += 1;
                }
            } else {
                cover.entries.extend_from_slice(&list);
                cover.list_cells += 1;
            }
            cover.offsets.push(cover.entries.len() as u32);
        }
        cover
    }

    fn empty() -> CellCover {
        CellCover { x0: 0.0, y0: 0.0, cw: 1.0, ch: 1.0, nx: 0, ny: 0, offsets: vec![0], entries: vec![], full_cells: 0, list_cells: 0 }
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let cx = ((x - self.x0) / self.cw).floor().clamp(0.0, (self.nx - 1) as f64) as usize;
        let cy = ((y - self.y0) / self.ch).floor().clamp(0.0, (self.ny - 1) as f64) as usize;
        (cx, cy)
    }

    fn cell_centre(&self, cell: usize) -> Coord<f64> {
        let (cx, cy) = (cell % self.nx, cell / self.nx);
        Coord { x: self.x0 + (cx as f64 + 0.5) * self.cw, y: self.y0 + (cy as f64 + 0.5) * self.ch }
    }

    /// Marks every cell the segment may touch: those of its bounding box that the segment's line
    /// passes within a hair of. Conservative: marking too many only costs speed.
    fn mark_segment(&self, a: Coord<f64>, b: Coord<f64>, touched: &mut [bool]) {
        let (cx0, cy0) = self.cell_of(a.x.min(b.x), a.y.min(b.y));
        let (cx1, cy1) = self.cell_of(a.x.max(b.x), a.y.max(b.y));
        // Also mark neighbours when an endpoint sits on a cell border.
        let (cx0, cy0) = (cx0.saturating_sub(1), cy0.saturating_sub(1));
        let (cx1, cy1) = ((cx1 + 1).min(self.nx - 1), (cy1 + 1).min(self.ny - 1));
        let eps = 1e-9;
        for cy in cy0..=cy1 {
            for cx in cx0..=cx1 {
                let rx0 = self.x0 + cx as f64 * self.cw - eps;
                let ry0 = self.y0 + cy as f64 * self.ch - eps;
                let (rx1, ry1) = (rx0 + self.cw + 2.0 * eps, ry0 + self.ch + 2.0 * eps);
                if segment_meets_rect(a, b, rx0, ry0, rx1, ry1) {
                    touched[cy * self.nx + cx] = true;
                }
            }
        }
    }

    /// The first unit (in code order) that covers `p`, where `covers(u, p)` is the exact test;
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
        let cell = (fy as usize).min(self.ny - 1) * self.nx + (fx as usize).min(self.nx - 1);
        let (s, e) = (self.offsets[cell] as usize, self.offsets[cell + 1] as usize);
        let list = &self.entries[s..e];
        match list.first() {
            None => None,
            // The closed cell lies strictly inside this unit and no other unit's edge meets it.
            Some(&first) if first & FULL != 0 => Some(first & !FULL),
            Some(_) => list.iter().copied().find(|&u| covers(u)),
        }
    }

    /// `locate_with` over unit shapes.
    #[cfg(test)]
    pub fn locate(&self, units: &[UnitShape<'_>], p: Coord<f64>) -> Option<u32> {
        self.locate_with(|u| covers_point(&units[u as usize], p), p)
    }

    /// Memory used by the cover, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.entries.capacity() * 4
    }
}

#[inline]
fn covers_point(u: &UnitShape<'_>, p: Coord<f64>) -> bool {
    p.x >= u.bbox[0]
        && p.x <= u.bbox[2]
        && p.y >= u.bbox[1]
        && p.y <= u.bbox[3]
        && u.geom.0.iter().any(|poly| covers(poly, p))
}

/// Does segment ab meet the closed rectangle? (Liang–Barsky clipping.)
fn segment_meets_rect(a: Coord<f64>, b: Coord<f64>, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a.x - x0), (dx, x1 - a.x), (-dy, a.y - y0), (dy, y1 - a.y)] {
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

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn segments_and_rectangles() {
        let c = |x, y| Coord { x, y };
        assert!(segment_meets_rect(c(-1.0, 0.5), c(2.0, 0.5), 0.0, 0.0, 1.0, 1.0));
        assert!(!segment_meets_rect(c(-1.0, 2.0), c(2.0, 2.0), 0.0, 0.0, 1.0, 1.0));
        assert!(segment_meets_rect(c(0.2, 0.2), c(0.3, 0.3), 0.0, 0.0, 1.0, 1.0)); // inside
        assert!(segment_meets_rect(c(1.0, -1.0), c(1.0, 3.0), 0.0, 0.0, 1.0, 1.0)); // on the border
        assert!(!segment_meets_rect(c(1.5, 0.0), c(3.0, 1.5), 0.0, 0.0, 1.0, 1.0));
    }

    #[test]
    fn shared_edges_go_to_the_lower_code_and_interiors_are_exact() {
        // Two squares side by side sharing the edge x = 1; unit 0 has the lower code.
        let a = MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)]]);
        let b = MultiPolygon(vec![polygon![(x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0)]]);
        let units = [UnitShape { bbox: [0.0, 0.0, 1.0, 1.0], geom: &a }, UnitShape { bbox: [1.0, 0.0, 2.0, 1.0], geom: &b }];
        let cover = CellCover::build(&units, 0.1);
        assert!(cover.full_cells > 0);
        let at = |x, y| cover.locate(&units, Coord { x, y });
        assert_eq!(at(0.5, 0.5), Some(0));
        assert_eq!(at(1.5, 0.5), Some(1));
        assert_eq!(at(1.0, 0.5), Some(0)); // shared edge
        assert_eq!(at(1.0, 1.0), Some(0)); // shared vertex
        assert_eq!(at(2.0, 1.0), Some(1)); // far corner
        assert_eq!(at(2.0 + 1e-12, 0.5), None);
        assert_eq!(at(-0.5, 0.5), None);
    }
}

//! Pole of inaccessibility ("polylabel", after Mapbox's algorithm): the point inside a polygon
//! farthest from its edges, where a label fits best. geo 0.33 has no such algorithm.
//!
//! Grid search with a priority queue of square cells ordered by the best distance a point in
//! the cell could reach; a cell is split only while it could beat the best point by more than
//! `precision`. The answer is always inside the polygon (or on it, for degenerate input).

use super::topology::Pt;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Signed distance from `p` to the polygon `rings` (outer first, then holes; open rings):
/// positive inside.
fn signed_distance(p: Pt, rings: &[Vec<Pt>]) -> f64 {
    let mut inside = false;
    let mut min_d2 = f64::INFINITY;
    for ring in rings {
        let n = ring.len();
        let mut j = n.wrapping_sub(1);
        for i in 0..n {
            let (a, b) = (ring[i], ring[j]);
            if (a[1] > p[1]) != (b[1] > p[1])
                && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
            {
                inside = !inside;
            }
            min_d2 = min_d2.min(seg_dist2(p, a, b));
            j = i;
        }
    }
    let d = min_d2.sqrt();
    if inside { d } else { -d }
}

fn seg_dist2(p: Pt, a: Pt, b: Pt) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    qx * qx + qy * qy
}

struct Cell {
    c: Pt,
    h: f64,
    d: f64,
    max: f64,
}

impl Cell {
    fn new(c: Pt, h: f64, rings: &[Vec<Pt>]) -> Cell {
        let d = signed_distance(c, rings);
        Cell {
            c,
            h,
            d,
            max: d + h * std::f64::consts::SQRT_2,
        }
    }
}

impl PartialEq for Cell {
    fn eq(&self, o: &Self) -> bool {
        self.max == o.max
    }
}
impl Eq for Cell {}
impl PartialOrd for Cell {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cell {
    fn cmp(&self, o: &Self) -> Ordering {
        self.max.total_cmp(&o.max)
    }
}

/// The pole of inaccessibility of `rings` (outer ring first), to within `precision` (same units
/// as the coordinates). Gives up refining after `max_cells` cells, keeping the best so far.
pub fn polylabel(rings: &[Vec<Pt>], precision: f64, max_cells: usize) -> Option<Pt> {
    let outer = rings.first().filter(|r| r.len() >= 3)?;
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for p in outer {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let (w, h) = (x1 - x0, y1 - y0);
    let size = w.min(h);
    if size <= 0.0 {
        return Some(outer[0]);
    }
    let half = size / 2.0;
    let mut heap = BinaryHeap::new();
    let mut x = x0;
    while x < x1 {
        let mut y = y0;
        while y < y1 {
            heap.push(Cell::new([x + half, y + half], half, rings));
            y += size;
        }
        x += size;
    }
    // Start from the centroid of the outer ring if inside, else the bbox centre.
    let mut best = Cell::new(
        centroid(outer).unwrap_or([x0 + w / 2.0, y0 + h / 2.0]),
        0.0,
        rings,
    );
    let bbox_centre = Cell::new([x0 + w / 2.0, y0 + h / 2.0], 0.0, rings);
    if bbox_centre.d > best.d {
        best = bbox_centre;
    }
    let mut probed = heap.len();
    while let Some(cell) = heap.pop() {
        if cell.d > best.d {
            best = Cell {
                c: cell.c,
                h: 0.0,
                d: cell.d,
                max: cell.d,
            };
        }
        if cell.max - best.d <= precision || probed >= max_cells {
            continue;
        }
        let h = cell.h / 2.0;
        for (dx, dy) in [(-h, -h), (h, -h), (-h, h), (h, h)] {
            heap.push(Cell::new([cell.c[0] + dx, cell.c[1] + dy], h, rings));
        }
        probed += 4;
    }
    if best.d < 0.0 {
        // Nothing inside was found (a sliver thinner than the search): a vertex is on it.
        return Some(outer[0]);
    }
    Some(best.c)
}

fn centroid(ring: &[Pt]) -> Option<Pt> {
    let n = ring.len();
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    // Relative to the first vertex, for precision with Mercator-sized numbers.
    let o = ring[0];
    for i in 0..n {
        let (p, q) = (ring[i], ring[(i + 1) % n]);
        let (px, py, qx, qy) = (p[0] - o[0], p[1] - o[1], q[0] - o[0], q[1] - o[1]);
        let f = px * qy - qx * py;
        a += f;
        cx += (px + qx) * f;
        cy += (py + qy) * f;
    }
    (a != 0.0).then(|| [o[0] + cx / (3.0 * a), o[1] + cy / (3.0 * a)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_of_a_u_shape_is_inside_not_at_the_centroid() {
        // A "U": its centroid and bbox centre fall in the notch, outside the shape.
        let u = vec![
            [0.0, 0.0],
            [30.0, 0.0],
            [30.0, 30.0],
            [20.0, 30.0],
            [20.0, 10.0],
            [10.0, 10.0],
            [10.0, 30.0],
            [0.0, 30.0],
        ];
        let rings = vec![u];
        let p = polylabel(&rings, 0.1, 10_000).unwrap();
        assert!(signed_distance(p, &rings) > 4.5, "{p:?} is deep inside");
        let c = centroid(&rings[0]).unwrap();
        assert!(
            signed_distance(c, &rings) < 0.0,
            "the centroid {c:?} is outside"
        );
    }

    #[test]
    fn label_of_a_square_with_a_hole_avoids_the_hole() {
        let outer = vec![[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]];
        let hole = vec![[30.0, 30.0], [30.0, 70.0], [70.0, 70.0], [70.0, 30.0]];
        let rings = vec![outer, hole];
        let p = polylabel(&rings, 0.5, 10_000).unwrap();
        assert!(signed_distance(p, &rings) > 10.0, "{p:?}");
        assert_eq!(polylabel(&[vec![[0.0, 0.0], [1.0, 0.0]]], 0.1, 100), None);
    }
}

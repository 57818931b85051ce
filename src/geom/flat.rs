//! A polygon set packed into one allocation, for the assignment hot path.
//!
//! `geo`'s MultiPolygon is a tree of vectors (polygons → rings → points): testing one point
//! chases three or four pointers, each a likely cache miss when points arrive at random. A
//! `FlatShape` keeps the bounding box, the ring table and all coordinates in one `Arc<[f64]>`,
//! so a test touches one pointer and a few adjacent cache lines. The test itself is the same
//! exact one as `covers`: adaptive-precision orientation, boundary included.

use geo_types::{Coord, MultiPolygon};
use robust::{Coord as RCoord, orient2d};
use std::sync::Arc;

/// Layout, in pairs of f64: `[xmin, ymin], [xmax, ymax], [n_rings, 0], (end, kind) × n_rings,
/// [x0, y0], [x1, y1], …` where `end` is the ring's end (exclusive) in points, `kind` is 0 for an
/// exterior ring that starts a new polygon and 1 for a hole of the current polygon. Rings are
/// closed (first point repeated) and hold no consecutive repeated point (dropped on
/// construction: the point set is the same).
///
/// This is the one copy of an area's geometry in the server: the assignment index and the tile
/// model hold clones of the same `Arc` (`crate::store::areas::AreaShape::geom`).
#[derive(Clone, Debug)]
pub struct FlatShape(Arc<[[f64; 2]]>);

const HEADER: usize = 3;

impl FlatShape {
    pub fn from_multipolygon(mp: &MultiPolygon<f64>) -> FlatShape {
        let rings: Vec<(&[Coord<f64>], bool)> =
            mp.0.iter()
                .flat_map(|p| {
                    std::iter::once((p.exterior().0.as_slice(), false))
                        .chain(p.interiors().iter().map(|r| (r.0.as_slice(), true)))
                })
                .collect();
        // Consecutive repeated points add nothing to the point set: drop them.
        let rings: Vec<(Vec<[f64; 2]>, bool)> = rings
            .into_iter()
            .map(|(r, hole)| {
                let mut pts: Vec<[f64; 2]> = Vec::with_capacity(r.len());
                for c in r {
                    if pts.last() != Some(&[c.x, c.y]) {
                        pts.push([c.x, c.y]);
                    }
                }
                (pts, hole)
            })
            .collect();
        let points: usize = rings.iter().map(|(r, _)| r.len()).sum();
        let mut v = Vec::with_capacity(HEADER + rings.len() + points);
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for c in rings.iter().flat_map(|(r, _)| r.iter()) {
            (x0, y0, x1, y1) = (x0.min(c[0]), y0.min(c[1]), x1.max(c[0]), y1.max(c[1]));
        }
        v.extend([[x0, y0], [x1, y1], [rings.len() as f64, 0.0]]);
        let mut end = 0usize;
        for (r, hole) in &rings {
            end += r.len();
            v.push([end as f64, if *hole { 1.0 } else { 0.0 }]);
        }
        for (r, _) in &rings {
            v.extend_from_slice(r);
        }
        FlatShape(v.into())
    }

    /// Heap bytes of this shape (its one allocation, with the `Arc`'s counts).
    pub fn heap_bytes(&self) -> usize {
        self.0.len() * 16 + 16
    }

    /// True if two handles share one allocation.
    pub fn ptr_eq(a: &FlatShape, b: &FlatShape) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// Number of rings.
    pub fn ring_count(&self) -> usize {
        self.0[2][0] as usize
    }

    /// Distance in metres (local equirectangular at `p`, as `metric::distance_to_boundary_m`)
    /// from `p` to the nearest edge.
    pub fn distance_to_boundary_m(&self, p: Coord<f64>) -> f64 {
        let (kx, ky) = crate::geom::metric::metres_per_degree(p.y);
        let mut best = f64::INFINITY;
        self.for_each_segment(|a, b| {
            let d = crate::geom::metric::point_segment_distance(
                (a.x - p.x) * kx,
                (a.y - p.y) * ky,
                (b.x - p.x) * kx,
                (b.y - p.y) * ky,
            );
            best = best.min(d);
        });
        best
    }

    /// [min x, min y, max x, max y]; infinite for an empty shape.
    pub fn bbox(&self) -> [f64; 4] {
        [self.0[0][0], self.0[0][1], self.0[1][0], self.0[1][1]]
    }

    /// The rings as (closed ring of points; is a hole), in order: each exterior ring
    /// is followed by its holes.
    pub fn rings(&self) -> impl Iterator<Item = (&[[f64; 2]], bool)> {
        let n = self.ring_count();
        let coords = &self.0[HEADER + n..];
        let mut start = 0usize;
        (0..n).map(move |i| {
            let [end, kind] = self.0[HEADER + i];
            let end = end as usize;
            let ring = &coords[start..end];
            start = end;
            (ring, kind != 0.0)
        })
    }

    /// Calls `f` with every edge.
    pub fn for_each_segment(&self, mut f: impl FnMut(Coord<f64>, Coord<f64>)) {
        for (ring, _) in self.rings() {
            for w in ring.windows(2) {
                f(
                    Coord {
                        x: w[0][0],
                        y: w[0][1],
                    },
                    Coord {
                        x: w[1][0],
                        y: w[1][1],
                    },
                );
            }
        }
    }

    /// True if `p` is inside one of the polygons or on any boundary (as `ST_Covers`).
    #[inline]
    pub fn covers(&self, p: Coord<f64>) -> bool {
        let [[x0, y0], [x1, y1]] = [self.0[0], self.0[1]];
        if !(p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1) {
            return false;
        }
        // Per polygon: inside its exterior and outside all its holes.
        let mut in_polygon = false;
        for (ring, hole) in self.rings() {
            if !hole {
                if in_polygon {
                    return true;
                }
                match ring_position(ring, p) {
                    Some(true) => in_polygon = true,
                    Some(false) => in_polygon = false,
                    None => return true, // on the boundary
                }
            } else if in_polygon {
                match ring_position(ring, p) {
                    Some(true) => in_polygon = false,
                    Some(false) => {}
                    None => return true,
                }
            }
        }
        in_polygon
    }
}

/// Winding-number position of `p` in a closed ring: `Some(inside)`, or
/// `None` when `p` lies on the ring.
#[inline]
fn ring_position(ring: &[[f64; 2]], p: Coord<f64>) -> Option<bool> {
    let rp = RCoord { x: p.x, y: p.y };
    let mut winding = 0i32;
    for w in ring.windows(2) {
        let ([ax, ay], [bx, by]) = (w[0], w[1]);
        if (ay > p.y && by > p.y) || (ay < p.y && by < p.y) || (ax < p.x && bx < p.x) {
            continue;
        }
        let o = orient2d(RCoord { x: ax, y: ay }, RCoord { x: bx, y: by }, rp);
        if o == 0.0
            && p.x >= ax.min(bx)
            && p.x <= ax.max(bx)
            && p.y >= ay.min(by)
            && p.y <= ay.max(by)
        {
            return None;
        }
        if ay <= p.y {
            if by > p.y && o > 0.0 {
                winding += 1;
            }
        } else if by <= p.y && o < 0.0 {
            winding -= 1;
        }
    }
    Some(winding != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::covers::covers;
    use geo_types::polygon;
    use rand::{Rng, SeedableRng};

    #[test]
    fn agrees_with_the_tree_shaped_test_everywhere_including_boundaries() {
        let mp = MultiPolygon(vec![
            polygon!(
                exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
                interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 2.0, y: 2.0), (x: 2.0, y: 1.0)]],
            ),
            polygon![(x: 5.0, y: 0.0), (x: 7.0, y: 1.0), (x: 5.0, y: 2.0)],
        ]);
        let flat = FlatShape::from_multipolygon(&mp);
        assert_eq!(flat.bbox(), [0.0, 0.0, 7.0, 4.0]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut pts: Vec<Coord<f64>> = (0..20_000)
            .map(|_| Coord {
                x: rng.random_range(-1.0..8.0),
                y: rng.random_range(-1.0..5.0),
            })
            .collect();
        for i in 0..=32 {
            for j in 0..=20 {
                pts.push(Coord {
                    x: -1.0 + i as f64 * 0.25,
                    y: -1.0 + j as f64 * 0.25,
                }); // hits vertices and edges
            }
        }
        pts.push(Coord { x: 6.0, y: 0.5 }); // on the slanted edge
        for p in pts {
            let want = mp.0.iter().any(|poly| covers(poly, p));
            assert_eq!(flat.covers(p), want, "{p:?}");
        }
        let mut n = 0;
        flat.for_each_segment(|_, _| n += 1);
        assert_eq!(n, 4 + 4 + 3);
    }

    #[test]
    fn distance_to_boundary_agrees_with_the_tree_shaped_one() {
        let mp = MultiPolygon(vec![polygon!(
            exterior: [(x: 119.0, y: 25.0), (x: 119.01, y: 25.0), (x: 119.01, y: 25.01), (x: 119.0, y: 25.0)],
            interiors: [[(x: 119.006, y: 25.001), (x: 119.009, y: 25.001), (x: 119.009, y: 25.004)]],
        )]);
        let flat = FlatShape::from_multipolygon(&mp);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2_000 {
            let p = Coord {
                x: rng.random_range(118.99..119.02),
                y: rng.random_range(24.99..25.02),
            };
            let want = crate::geom::metric::distance_to_boundary_m(p, &mp);
            assert_eq!(flat.distance_to_boundary_m(p), want, "{p:?}");
        }
    }
}

//! Exact "polygon covers point" (interior or boundary), as PostGIS `ST_Covers` decides it:
//! orientation signs come from the `robust` crate's adaptive-precision predicate, so a point
//! exactly on an edge or a vertex is always found on it.

use geo_types::{Coord, LineString, Polygon};
use robust::{Coord as RCoord, orient2d};

/// Where a point lies relative to a polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Inside,
    OnBoundary,
    Outside,
}

/// Locates `p` in `poly` (holes respected).
pub fn locate(poly: &Polygon<f64>, p: Coord<f64>) -> Position {
    match ring_position(poly.exterior(), p) {
        Position::Outside => return Position::Outside,
        Position::OnBoundary => return Position::OnBoundary,
        Position::Inside => {}
    }
    for hole in poly.interiors() {
        match ring_position(hole, p) {
            Position::Inside => return Position::Outside,
            Position::OnBoundary => return Position::OnBoundary,
            Position::Outside => {}
        }
    }
    Position::Inside
}

/// True if `p` is inside `poly` or on its boundary.
pub fn covers(poly: &Polygon<f64>, p: Coord<f64>) -> bool {
    locate(poly, p) != Position::Outside
}

/// Winding-number test with exact orientation; closed rings (first point repeated).
fn ring_position(ring: &LineString<f64>, p: Coord<f64>) -> Position {
    let pts = &ring.0;
    if pts.len() < 4 {
        return Position::Outside;
    }
    let rp = RCoord { x: p.x, y: p.y };
    let mut winding = 0i32;
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        // Quick reject: edge entirely on one side of the point's horizontal or to its left.
        if (a.y > p.y && b.y > p.y) || (a.y < p.y && b.y < p.y) || (a.x < p.x && b.x < p.x) {
            continue;
        }
        let o = orient2d(RCoord { x: a.x, y: a.y }, RCoord { x: b.x, y: b.y }, rp);
        if o == 0.0
            && p.x >= a.x.min(b.x)
            && p.x <= a.x.max(b.x)
            && p.y >= a.y.min(b.y)
            && p.y <= a.y.max(b.y)
        {
            return Position::OnBoundary;
        }
        if a.y <= p.y {
            if b.y > p.y && o > 0.0 {
                winding += 1;
            }
        } else if b.y <= p.y && o < 0.0 {
            winding -= 1;
        }
    }
    if winding != 0 {
        Position::Inside
    } else {
        Position::Outside
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn square_with_hole() -> Polygon<f64> {
        polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 2.0, y: 2.0), (x: 2.0, y: 1.0)]],
        )
    }

    #[test]
    fn inside_outside_edges_vertices_and_holes() {
        let sq = square_with_hole();
        let at = |x, y| locate(&sq, Coord { x, y });
        assert_eq!(at(3.0, 3.0), Position::Inside);
        assert_eq!(at(5.0, 3.0), Position::Outside);
        assert_eq!(at(4.0, 2.5), Position::OnBoundary); // edge
        assert_eq!(at(0.0, 0.0), Position::OnBoundary); // vertex
        assert_eq!(at(1.5, 1.5), Position::Outside); // in the hole
        assert_eq!(at(1.0, 1.5), Position::OnBoundary); // on the hole's edge
        // Left of the square on the same row as a vertex: not confused by the vertex.
        assert_eq!(at(-1.0, 4.0), Position::Outside);
        assert_eq!(at(-1.0, 0.0), Position::Outside);
    }

    #[test]
    fn points_on_a_slanted_edge_are_found_exactly() {
        let tri = polygon![(x: 0.0, y: 0.0), (x: 3.0, y: 1.0), (x: 0.0, y: 2.0)];
        assert_eq!(locate(&tri, Coord { x: 1.5, y: 0.5 }), Position::OnBoundary);
        assert_eq!(
            locate(
                &tri,
                Coord {
                    x: 1.5,
                    y: 0.5 + 1e-15
                }
            ),
            Position::Inside
        );
        assert_eq!(
            locate(
                &tri,
                Coord {
                    x: 1.5,
                    y: 0.5 - 1e-15
                }
            ),
            Position::Outside
        );
    }
}

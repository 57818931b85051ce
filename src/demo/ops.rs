//! Exact polygon operations on the lattice, through i_overlay's 64-bit integer engine.

use super::lattice::{Ring, Shape};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{IntOverlayOptions, Overlay, ShapeType};
use i_overlay::core::overlay_rule::OverlayRule;

/// Output options: OGC-valid polygons (outer rings counter-clockwise, holes clockwise), and
/// every vertex kept, so that two neighbours keep the same vertices along their shared edge.
fn options() -> IntOverlayOptions<u128> {
    IntOverlayOptions {
        preserve_input_collinear: true,
        preserve_output_collinear: true,
        ..IntOverlayOptions::ogc()
    }
}

fn edge_count(shapes: &[Shape]) -> usize {
    shapes.iter().flatten().map(Vec::len).sum()
}

/// Union of shapes whose rings are oriented (outer counter-clockwise, holes clockwise).
pub fn union(shapes: &[Shape]) -> Vec<Shape> {
    let mut ov = Overlay::<i64>::new_custom(edge_count(shapes), options(), Default::default());
    ov.add_source(shapes, ShapeType::Subject);
    ov.overlay(OverlayRule::Subject, FillRule::NonZero)
}

/// Repairs rings of any orientation that may touch or cross themselves, reading them with the
/// even-odd rule (as GeoJSON readers do), into valid oriented shapes.
pub fn make_valid(rings: &[Ring]) -> Vec<Shape> {
    let mut ov = Overlay::<i64>::new_custom(
        rings.iter().map(Vec::len).sum(),
        options(),
        Default::default(),
    );
    ov.add_source(rings, ShapeType::Subject);
    ov.overlay(OverlayRule::Subject, FillRule::EvenOdd)
}

/// `a` minus `b`.
pub fn difference(a: &[Shape], b: &[Shape]) -> Vec<Shape> {
    let mut ov =
        Overlay::<i64>::new_custom(edge_count(a) + edge_count(b), options(), Default::default());
    ov.add_source(a, ShapeType::Subject);
    ov.add_source(b, ShapeType::Clip);
    ov.overlay(OverlayRule::Difference, FillRule::NonZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::lattice::{P, shape_area};

    fn square(x: i64, y: i64, s: i64) -> Shape {
        vec![vec![
            P::new(x, y),
            P::new(x + s, y),
            P::new(x + s, y + s),
            P::new(x, y + s),
        ]]
    }

    #[test]
    fn union_and_difference_are_exact() {
        let u = union(&[square(0, 0, 10), square(10, 0, 10)]);
        assert_eq!(u.len(), 1);
        assert_eq!(shape_area(&u[0]), 200.0);
        let d = difference(&[square(0, 0, 10)], &[square(5, 5, 10)]);
        assert_eq!(d.iter().map(|s| shape_area(s)).sum::<f64>(), 75.0);
    }

    #[test]
    fn make_valid_reads_rings_even_odd_whatever_their_direction() {
        let mut outer = square(0, 0, 10).remove(0);
        outer.reverse(); // clockwise outer ring
        let hole = square(2, 2, 2).remove(0); // counter-clockwise hole
        let v = make_valid(&[outer, hole]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].len(), 2);
        assert_eq!(shape_area(&v[0]), 96.0);
    }
}

//! The integer lattice the demo city is built on.
//!
//! Every coordinate of the generated city is a multiple of 2^-30 degree (about 0.1 mm), held
//! as an `i64`. Overlay operations on integers are exact, so two neighbours built from one
//! arrangement share bit-identical edges, and converting back to degrees is exact too
//! (an `i64` below 2^53 divided by a power of two).

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use i_overlay::i_float::int::point::IntPoint;

/// Lattice steps per degree.
pub const SCALE: f64 = (1u64 << 30) as f64;

pub type P = IntPoint<i64>;
/// A closed ring without its repeated first point.
pub type Ring = Vec<P>;
/// An outer ring followed by its holes.
pub type Shape = Vec<Ring>;

pub fn to_lattice(lon: f64, lat: f64) -> P {
    P::new((lon * SCALE).round() as i64, (lat * SCALE).round() as i64)
}

pub fn to_degrees(p: P) -> (f64, f64) {
    (p.x as f64 / SCALE, p.y as f64 / SCALE)
}

/// Converts shapes on the lattice to a MultiPolygon in degrees, closing each ring.
pub fn to_multipolygon(shapes: &[Shape]) -> MultiPolygon<f64> {
    MultiPolygon(
        shapes
            .iter()
            .filter(|s| !s.is_empty())
            .map(|shape| {
                let mut rings = shape.iter().map(|ring| {
                    let mut coords: Vec<Coord<f64>> = ring
                        .iter()
                        .map(|&p| {
                            let (x, y) = to_degrees(p);
                            Coord { x, y }
                        })
                        .collect();
                    if let Some(&first) = coords.first() {
                        coords.push(first);
                    }
                    LineString(coords)
                });
                let exterior = rings.next().unwrap_or_else(|| LineString(vec![]));
                Polygon::new(exterior, rings.collect())
            })
            .collect(),
    )
}

/// Twice the signed area of a ring, in lattice units squared (positive when counter-clockwise).
pub fn ring_area2(ring: &[P]) -> i128 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.x as i128 * b.y as i128 - b.x as i128 * a.y as i128
        })
        .sum()
}

/// Area of a shape (outer minus holes) in lattice units squared.
pub fn shape_area(shape: &[Ring]) -> f64 {
    shape
        .iter()
        .map(|r| ring_area2(r) as f64 / 2.0)
        .sum::<f64>()
        .abs()
}

/// Even-odd point-in-shape test on f64 coordinates in lattice units.
/// Points exactly on an edge may go either way; callers use interior points.
pub fn shape_contains(shape: &[Ring], x: f64, y: f64) -> bool {
    let mut inside = false;
    for ring in shape {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            let (ax, ay, bx, by) = (a.x as f64, a.y as f64, b.x as f64, b.y as f64);
            if (ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay) {
                inside = !inside;
            }
        }
    }
    inside
}

/// A point strictly inside a shape: the middle of the widest span of a horizontal line through
/// the middle of the outer ring's bounding box. The line runs half a lattice step off the grid,
/// so it never passes through a vertex.
pub fn interior_point(shape: &[Ring]) -> (f64, f64) {
    let outer = &shape[0];
    let (ymin, ymax) = outer.iter().fold((i64::MAX, i64::MIN), |(lo, hi), p| {
        (lo.min(p.y), hi.max(p.y))
    });
    let y = ((ymin + ymax) / 2) as f64 + 0.5;
    let mut xs: Vec<f64> = Vec::new();
    for ring in shape {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            let (ay, by) = (a.y as f64, b.y as f64);
            if (ay > y) != (by > y) {
                xs.push(a.x as f64 + (y - ay) * (b.x - a.x) as f64 / (by - ay));
            }
        }
    }
    xs.sort_by(f64::total_cmp);
    let best = xs
        .chunks_exact(2)
        .max_by(|a, b| (a[1] - a[0]).total_cmp(&(b[1] - b[0])));
    match best {
        Some(span) => ((span[0] + span[1]) / 2.0, y),
        // Degenerate (zero-height) shape: fall back to its first vertex.
        None => (outer[0].x as f64, outer[0].y as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_round_trip_is_exact_for_echarts_coordinates() {
        // ECharts coordinates are multiples of 1/1024 degree.
        let (lon, lat) = (121843.0 / 1024.0, 25878.0 / 1024.0);
        let p = to_lattice(lon, lat);
        assert_eq!(to_degrees(p), (lon, lat));
    }

    #[test]
    fn interior_point_of_a_concave_ring() {
        // A "U" shape: the bbox centre lies in the notch, outside the shape.
        let u: Ring = [
            (0, 0),
            (30, 0),
            (30, 30),
            (20, 30),
            (20, 10),
            (10, 10),
            (10, 30),
            (0, 30),
        ]
        .into_iter()
        .map(|(x, y)| P::new(x, y))
        .collect();
        let shape = vec![u];
        let (x, y) = interior_point(&shape);
        assert!(shape_contains(&shape, x, y), "({x},{y})");
        assert_eq!(shape_area(&shape), 700.0);
    }
}

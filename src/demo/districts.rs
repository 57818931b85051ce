//! Turns the five decoded ECharts districts into a clean partition on the lattice.
//!
//! As decoded, each district is an invalid polygon (self-touching rings from the 1/1024-degree
//! quantisation), neighbours overlap by about 0.01 km² and leave about 0.06 km² of gaps.
//! Cleaning: (1) read each polygon even-odd into valid shapes; (2) give every overlap to the
//! district that comes first by code; (3) give every hole of the city's union (a gap between
//! districts) to the district that shares most of its boundary.

use super::lattice::{Ring, Shape, to_lattice, P};
use super::ops;
use super::source::DistrictSource;
use std::collections::HashSet;

/// One district of the clean partition.
#[derive(Debug, Clone)]
pub struct District {
    pub code: String,
    pub name: String,
    pub seat: (f64, f64),
    pub shapes: Vec<Shape>,
}

/// Cleans decoded districts into a partition: valid, no overlaps, no interior gaps.
pub fn clean(sources: &[DistrictSource]) -> Vec<District> {
    let mut sorted: Vec<&DistrictSource> = sources.iter().collect();
    sorted.sort_by(|a, b| a.code.cmp(&b.code));

    // (1) valid shapes per district
    let mut shapes: Vec<Vec<Shape>> = sorted
        .iter()
        .map(|d| {
            let parts: Vec<Shape> = d
                .polygons
                .iter()
                .flat_map(|poly| {
                    let rings: Vec<Ring> = poly.iter().map(|r| ring_to_lattice(r)).collect();
                    ops::make_valid(&rings)
                })
                .collect();
            ops::union(&parts)
        })
        .collect();

    // (2) overlaps go to the earlier district
    for i in 1..shapes.len() {
        let earlier: Vec<Shape> = shapes[..i].iter().flatten().cloned().collect();
        shapes[i] = ops::difference(&shapes[i], &earlier);
    }

    // (3) gaps: holes of the union, each to the district with most boundary vertices in common
    let all: Vec<Shape> = shapes.iter().flatten().cloned().collect();
    let city = ops::union(&all);
    let vertex_sets: Vec<HashSet<P>> = shapes
        .iter()
        .map(|s| s.iter().flatten().flatten().copied().collect())
        .collect();
    for shape in &city {
        for hole in &shape[1..] {
            let best = (0..shapes.len())
                .max_by_key(|&i| hole.iter().filter(|p| vertex_sets[i].contains(p)).count())
                .unwrap_or(0);
            let mut filler = hole.clone();
            filler.reverse(); // a hole is clockwise; as a shape of its own it must be counter-clockwise
            let mut with_gap = shapes[best].clone();
            with_gap.push(vec![filler]);
            shapes[best] = ops::union(&with_gap);
        }
    }

    sorted
        .iter()
        .zip(shapes)
        .map(|(d, shapes)| District {
            code: d.code.clone(),
            name: d.name.clone(),
            seat: d.seat,
            shapes,
        })
        .collect()
}

fn ring_to_lattice(ring: &[(f64, f64)]) -> Ring {
    let mut out: Ring = ring.iter().map(|&(x, y)| to_lattice(x, y)).collect();
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out.dedup();
    out
}

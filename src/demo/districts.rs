//! Turns the five decoded ECharts districts into a clean partition on the lattice.
//!
//! As decoded, each district is an invalid polygon (self-touching rings from the 1/1024-degree
//! quantisation), neighbours overlap by about 0.01 km² and leave about 0.06 km² of gaps.
//! Cleaning: (1) read each polygon even-odd into valid shapes; (2) give every overlap to the
//! district that comes first by code; (3) give every hole of the city's union (a gap between
//! districts) to the district that shares most of its boundary.

use super::lattice::{P, Ring, SCALE, Shape, shape_area, to_lattice};
use super::ops;
use super::source::DistrictSource;
use std::collections::HashSet;

/// Parts smaller than about 2 km² (in lattice units: degrees² × SCALE²) are checked for being
/// crumbs of the cleaning rather than islands.
const CRUMB_LATTICE_AREA: f64 = 2.0e6 / (111_000.0 * 100_000.0) * SCALE * SCALE;

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

    // (4) crumbs: small parts that cleaning cut off a district but that still touch another
    // district (not islands) join the neighbour they share most boundary with.
    let vertex_sets: Vec<HashSet<P>> = shapes
        .iter()
        .map(|s| s.iter().flatten().flatten().copied().collect())
        .collect();
    let mut moves: Vec<(usize, usize, usize)> = Vec::new(); // (from, part, to)
    for (i, parts) in shapes.iter().enumerate() {
        if parts.len() < 2 {
            continue;
        }
        for (k, part) in parts.iter().enumerate() {
            if shape_area(part) >= CRUMB_LATTICE_AREA {
                continue;
            }
            let best = (0..shapes.len())
                .filter(|&j| j != i)
                .map(|j| {
                    (
                        part[0]
                            .iter()
                            .filter(|p| vertex_sets[j].contains(p))
                            .count(),
                        j,
                    )
                })
                .max();
            if let Some((shared, j)) = best
                && shared >= 2
            {
                moves.push((i, k, j));
            }
        }
    }
    let mut taken: Vec<Vec<bool>> = shapes.iter().map(|p| vec![false; p.len()]).collect();
    let mut gained: Vec<Vec<Shape>> = vec![Vec::new(); shapes.len()];
    for &(i, k, j) in &moves {
        taken[i][k] = true;
        gained[j].push(shapes[i][k].clone());
    }
    for i in 0..shapes.len() {
        let kept: Vec<Shape> = shapes[i]
            .iter()
            .zip(&taken[i])
            .filter(|(_, t)| !**t)
            .map(|(s, _)| s.clone())
            .collect();
        shapes[i] = if gained[i].is_empty() {
            kept
        } else {
            let mut all = kept;
            all.append(&mut gained[i]);
            ops::union(&all)
        };
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

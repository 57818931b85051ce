//! Cuts the city into units: the Voronoi cells of the seeds, sliced by the district boundaries,
//! all in one exact arrangement, so neighbouring units share bit-identical edges.

use super::lattice::{P, Shape, interior_point, shape_area};
use super::seeds::{Projector, Seed};
use super::shape_index::ShapeIndex;
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::IntOverlayOptions;
use i_overlay::string::overlay::StringOverlay;
use i_overlay::string::rule::StringRule;
use rayon::prelude::*;
use spade::{DelaunayTriangulation, HasPosition, Point2, Triangulation};
use std::collections::HashMap;

/// A unit of the generated city before it is grouped into grids.
#[derive(Debug, Clone)]
pub struct UnitCell {
    pub district: usize,
    /// The unit's shapes: faces of the arrangement, merged where they touch.
    pub faces: Vec<Shape>,
    /// Representative point in metres (the seed, or an interior point for fragments).
    pub x: f64,
    pub y: f64,
    /// Area in square metres.
    pub area_m2: f64,
}

struct Site {
    pos: Point2<f64>,
    id: u32,
}

impl HasPosition for Site {
    type Scalar = f64;
    fn position(&self) -> Point2<f64> {
        self.pos
    }
}

const FRAME: u32 = u32::MAX;

/// Slices `districts` by the Voronoi diagram of `seeds` and by each other's boundaries.
pub fn cut(
    districts: &[Vec<Shape>],
    index: &ShapeIndex,
    seeds: &[Seed],
    proj: Projector,
) -> Vec<UnitCell> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for s in seeds {
        (x0, y0, x1, y1) = (x0.min(s.x), y0.min(s.y), x1.max(s.x), y1.max(s.y));
    }
    let pad = (x1 - x0).max(y1 - y0);
    let mut sites: Vec<Site> = seeds
        .iter()
        .enumerate()
        .map(|(i, s)| Site {
            pos: Point2::new(s.x, s.y),
            id: i as u32,
        })
        .collect();
    // A frame far outside the city, so every real seed's cell is bounded.
    for (x, y) in [
        (x0 - pad, y0 - pad),
        (x1 + pad, y0 - pad),
        (x1 + pad, y1 + pad),
        (x0 - pad, y1 + pad),
    ] {
        sites.push(Site {
            pos: Point2::new(x, y),
            id: FRAME,
        });
    }
    let dt: DelaunayTriangulation<Site> =
        DelaunayTriangulation::bulk_load(sites).expect("seed coordinates are finite");

    // Voronoi edges (between the circumcentres of the two triangles beside each Delaunay edge),
    // rounded onto the lattice.
    let mut lines: Vec<[P; 2]> = Vec::with_capacity(dt.num_undirected_edges());
    for edge in dt.undirected_edges() {
        let d = edge.as_directed();
        let [a, b] = d.vertices();
        if a.data().id == FRAME && b.data().id == FRAME {
            continue;
        }
        let (Some(f1), Some(f2)) = (d.face().as_inner(), d.rev().face().as_inner()) else {
            continue;
        };
        let (c1, c2) = (f1.circumcenter(), f2.circumcenter());
        let (p1, p2) = (proj.lattice(c1.x, c1.y), proj.lattice(c2.x, c2.y));
        if p1 != p2 {
            lines.push([p1, p2]);
        }
    }

    let opts = IntOverlayOptions {
        preserve_input_collinear: true,
        preserve_output_collinear: true,
        ..Default::default()
    };
    let mut overlay = StringOverlay::<i64>::with_options(lines.len() * 2, opts);
    for shape in districts.iter().flatten() {
        overlay.add_shape_source(shape);
        for ring in shape {
            overlay.add_string_contour(ring); // district boundaries cut too
        }
    }
    overlay.add_string_lines(&lines);
    let faces = overlay
        .build_graph_view(FillRule::NonZero)
        .map(|g| g.extract_shapes_custom(StringRule::Slice, opts))
        .unwrap_or_default();

    tracing::debug!(faces = faces.len(), lines = lines.len(), "sliced the city");
    // Each face belongs to one district and one seed's cell: group faces by (district, seed).
    // (An R-tree answers nearest-seed queries faster than walking the triangulation.)
    let nearest_seed: rstar::RTree<rstar::primitives::GeomWithData<[f64; 2], u32>> =
        rstar::RTree::bulk_load(
            seeds
                .iter()
                .enumerate()
                .map(|(i, s)| rstar::primitives::GeomWithData::new([s.x, s.y], i as u32))
                .collect(),
        );
    let mut units: HashMap<(usize, u32), UnitCell> = HashMap::new();
    for face in faces {
        let (ix, iy) = interior_point(&face);
        let (mx, my) = proj.metres(ix, iy);
        let site = nearest_seed
            .nearest_neighbor(&[mx, my])
            .map(|e| e.data)
            .unwrap_or(FRAME);
        let district = index
            .locate(ix, iy)
            .or_else(|| seeds.get(site as usize).map(|s| s.district))
            .unwrap_or(0);
        let area_m2 = shape_area(&face) * proj.kx * proj.ky;
        let unit = units.entry((district, site)).or_insert_with(|| {
            let own_seed = seeds.get(site as usize).filter(|s| s.district == district);
            let (x, y) = own_seed.map(|s| (s.x, s.y)).unwrap_or((mx, my));
            UnitCell {
                district,
                faces: Vec::new(),
                x,
                y,
                area_m2: 0.0,
            }
        });
        unit.faces.push(face);
        unit.area_m2 += area_m2;
    }
    let mut units: Vec<((usize, u32), UnitCell)> = units.into_iter().collect();
    // Deterministic order, whatever the hash map did.
    units.sort_by_key(|(k, _)| *k);
    let units: Vec<(bool, UnitCell)> = units
        .into_iter()
        .map(|((district, site), u)| {
            let own = seeds
                .get(site as usize)
                .is_some_and(|s| s.district == district);
            (own, u)
        })
        .collect();
    merge_slivers(units)
}

/// Fragments smaller than this (pieces of a neighbouring district's cell, or lattice-rounding
/// crumbs at Voronoi vertices) are not units of their own.
const SLIVER_M2: f64 = 200.0;

/// Merges each small fragment without a seed of its own into the neighbouring unit of the same
/// district with which it shares most vertices (a proxy for the longest common edge).
fn merge_slivers(units: Vec<(bool, UnitCell)>) -> Vec<UnitCell> {
    let mut by_vertex: HashMap<P, Vec<u32>> = HashMap::new();
    for (i, (_, u)) in units.iter().enumerate() {
        for p in u.faces.iter().flatten().flatten() {
            let list = by_vertex.entry(*p).or_default();
            if list.last() != Some(&(i as u32)) {
                list.push(i as u32);
            }
        }
    }
    let mut target: Vec<usize> = (0..units.len()).collect();
    for (i, (own, u)) in units.iter().enumerate() {
        if *own || u.area_m2 >= SLIVER_M2 {
            continue;
        }
        let mut shared: HashMap<u32, usize> = HashMap::new();
        for p in u.faces.iter().flatten().flatten() {
            for &j in &by_vertex[p] {
                let (j_own, j_unit) = &units[j as usize];
                if j as usize != i
                    && j_unit.district == u.district
                    && (*j_own || j_unit.area_m2 >= SLIVER_M2)
                {
                    *shared.entry(j).or_default() += 1;
                }
            }
        }
        if let Some((&j, _)) = shared
            .iter()
            .max_by_key(|&(&j, &n)| (n, std::cmp::Reverse(j)))
        {
            target[i] = j as usize;
        }
    }
    let mut merged: Vec<Option<UnitCell>> = units.into_iter().map(|(_, u)| Some(u)).collect();
    for i in 0..merged.len() {
        if target[i] != i {
            let sliver = merged[i].take().expect("each sliver is merged once");
            let host = merged[target[i]]
                .as_mut()
                .expect("hosts are never slivers themselves");
            host.area_m2 += sliver.area_m2;
            host.faces.extend(sliver.faces);
        }
    }
    merged
        .into_par_iter()
        .flatten()
        .map(|mut u| {
            if u.faces.len() > 1 {
                u.faces = super::ops::union(&u.faces);
            }
            u
        })
        .collect()
}

//! In-process assignment speed on the demo city's ~131,000 units: the cell cover + exact test
//! (what the server runs) against a plain R-tree probe + `geo` point-in-polygon, on the same
//! 100,000 random points (fixed seed), one core.
//!
//! Run: `cargo bench --bench assign` (scripts/bench-assign runs it with the HTTP and PostGIS
//! comparisons).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::Intersects;
use geo_types::{Coord, MultiPolygon};
use onemap::index::Snapshot;
use onemap::model::Level;
use onemap::store::areas::AreaShape;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// Each unit's code and geometry, for the reference.
type UnitGeoms = Vec<(String, Arc<MultiPolygon<f64>>)>;

/// The demo city as index rows, and its units' geometry for the reference.
fn demo_rows() -> (Vec<AreaShape>, UnitGeoms) {
    let city = onemap::demo::generate(Default::default(), &|_| {});
    let rows = city.areas.iter().map(AreaShape::from_area).collect();
    let units = city
        .areas
        .into_iter()
        .filter(|a| a.level == Level::Unit)
        .map(|a| (a.code.to_string(), Arc::new(a.geom)))
        .collect();
    (rows, units)
}

fn bench(c: &mut Criterion) {
    let (rows, units) = demo_rows();
    let t = Instant::now();
    let snap = Snapshot::from_rows(&rows);
    eprintln!(
        "index: {} units, build {:.0} ms (this process), ~{:.0} MiB, cover {} full / {} list cells",
        snap.stats.units,
        t.elapsed().as_secs_f64() * 1000.0,
        snap.stats.memory_bytes as f64 / (1 << 20) as f64,
        snap.stats.cover_full_cells,
        snap.stats.cover_list_cells
    );
    let bbox = snap.units_bbox().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let pts: Vec<(f64, f64)> = (0..100_000)
        .map(|_| {
            (
                rng.random_range(bbox[0]..bbox[2]),
                rng.random_range(bbox[1]..bbox[3]),
            )
        })
        .collect();
    // Points on land only: the harder half (the sea answers from empty cells).
    let land: Vec<(f64, f64)> = pts
        .iter()
        .copied()
        .filter(|&(x, y)| snap.locate_unit(x, y).is_some())
        .collect();

    // The reference: an R-tree over unit bounding boxes, then geo's point-in-polygon.
    type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;
    let tree: RTree<Entry> = RTree::bulk_load(
        units
            .iter()
            .enumerate()
            .map(|(i, (_, g))| {
                let r = geo::BoundingRect::bounding_rect(g.as_ref()).unwrap();
                Entry::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                )
            })
            .collect(),
    );
    let rtree_locate = |x: f64, y: f64| -> Option<usize> {
        let p = Coord { x, y };
        tree.locate_in_envelope_intersecting(&AABB::from_point([x, y]))
            .filter(|e| units[e.data].1.intersects(&p))
            .map(|e| e.data)
            .min_by(|a, b| units[*a].0.cmp(&units[*b].0))
    };
    // Both give the same answers.
    for &(x, y) in pts.iter().step_by(13) {
        let a = snap
            .locate_unit(x, y)
            .map(|u| snap.unit_code(u).to_string());
        let b = rtree_locate(x, y).map(|i| units[i].0.clone());
        assert_eq!(a, b, "({x},{y})");
    }

    let mut g = c.benchmark_group("assign_100k_random_points");
    g.throughput(Throughput::Elements(pts.len() as u64));
    g.sample_size(20);
    g.bench_function("cell_cover_exact (onemap)", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|&&(x, y)| black_box(snap.locate_unit(x, y)).is_some())
                .count()
        })
    });
    g.bench_function("rtree_then_geo_intersects (reference)", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|&&(x, y)| black_box(rtree_locate(x, y)).is_some())
                .count()
        })
    });
    g.bench_function("full_assignment_with_chain (onemap)", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|&&(x, y)| black_box(snap.assign(x, y, 50.0)).assigned)
                .count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("assign_land_points_only");
    g.throughput(Throughput::Elements(land.len() as u64));
    g.sample_size(20);
    g.bench_function("cell_cover_exact (onemap)", |b| {
        b.iter(|| {
            land.iter()
                .filter(|&&(x, y)| black_box(snap.locate_unit(x, y)).is_some())
                .count()
        })
    });
    g.bench_function("rtree_then_geo_intersects (reference)", |b| {
        b.iter(|| {
            land.iter()
                .filter(|&&(x, y)| black_box(rtree_locate(x, y)).is_some())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

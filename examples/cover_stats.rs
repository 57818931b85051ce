use onemap::index::Snapshot;
use onemap::store::areas::AreaShape;
use rand::{Rng, SeedableRng};
use std::time::Instant;
fn main() {
    let city = onemap::demo::generate(Default::default(), &|_| {});
    let rows: Vec<AreaShape> = city.areas.iter().map(AreaShape::from_area).collect();
    let snap = Snapshot::from_rows(&rows);
    let b = snap.units_bbox().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let pts: Vec<(f64, f64)> = (0..1_000_000)
        .map(|_| (rng.random_range(b[0]..b[2]), rng.random_range(b[1]..b[3])))
        .collect();
    for _ in 0..3 {
        let t = Instant::now();
        let n = pts
            .iter()
            .filter(|&&(x, y)| snap.locate_unit(x, y).is_some())
            .count();
        let dt = t.elapsed().as_secs_f64();
        println!(
            "{n} on land, {:.0} ns/point, {:.2} M points/s",
            dt * 1e9 / pts.len() as f64,
            pts.len() as f64 / dt / 1e6
        );
    }
    let land: Vec<(f64, f64)> = pts
        .iter()
        .copied()
        .filter(|&(x, y)| snap.locate_unit(x, y).is_some())
        .collect();
    let mut kinds = [0usize; 3];
    let mut lens = 0usize;
    for &(x, y) in &land {
        let (k, n) = snap.cover_cell_kind(x, y);
        kinds[k as usize] += 1;
        if k == 2 {
            lens += n;
        }
    }
    println!(
        "land points: empty {} full {} list {} (mean list length {:.2})",
        kinds[0],
        kinds[1],
        kinds[2],
        lens as f64 / kinds[2] as f64
    );
    for _ in 0..10 {
        let t = Instant::now();
        let n = land
            .iter()
            .filter(|&&(x, y)| snap.locate_unit(x, y).is_some())
            .count();
        let dt = t.elapsed().as_secs_f64();
        println!("land {n}: {:.0} ns/point", dt * 1e9 / land.len() as f64);
    }
    println!("{:?}", snap.stats);
}

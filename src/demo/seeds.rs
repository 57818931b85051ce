//! Where the demo city's units are: one seed point per unit, denser in the urban cores.
//!
//! Seeds come from a quadtree whose leaves are about as large as the wanted spacing at their
//! centre (dithered, so density changes smoothly), one jittered seed per leaf. The spacing is
//! calibrated so the city gets about the requested number of units. Every island gets at least
//! one seed, so no unit spans the sea.

use super::lattice::{P, Shape, interior_point, shape_contains};
use super::shape_index::ShapeIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Converts lattice coordinates to local metres (equirectangular about the city's latitude),
/// so that distances and Voronoi cells are not stretched east-west.
#[derive(Debug, Clone, Copy)]
pub struct Projector {
    /// metres per lattice step, east-west and north-south
    pub kx: f64,
    pub ky: f64,
}

impl Projector {
    pub fn at_latitude(lat_deg: f64) -> Projector {
        let scale = super::lattice::SCALE;
        Projector {
            kx: 111_320.0 * lat_deg.to_radians().cos() / scale,
            ky: 110_574.0 / scale,
        }
    }
    pub fn metres(self, x: f64, y: f64) -> (f64, f64) {
        (x * self.kx, y * self.ky)
    }
    pub fn lattice(self, x: f64, y: f64) -> P {
        P::new((x / self.kx).round() as i64, (y / self.ky).round() as i64)
    }
}

/// A seed: position in metres and the district it lies in.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    pub x: f64,
    pub y: f64,
    pub district: usize,
}

/// Urban cores: density is multiplied by `1 + boost * exp(-d² / 2σ²)` around each.
#[derive(Debug, Clone, Copy)]
pub struct Core {
    pub x: f64,
    pub y: f64,
    pub sigma_m: f64,
    pub boost: f64,
}

pub fn density_factor(cores: &[Core], x: f64, y: f64) -> f64 {
    1.0 + cores
        .iter()
        .map(|c| {
            let d2 = (x - c.x).powi(2) + (y - c.y).powi(2);
            c.boost * (-d2 / (2.0 * c.sigma_m * c.sigma_m)).exp()
        })
        .sum::<f64>()
}

/// Generates about `target` seeds inside the districts (`districts[i]` are district i's shapes).
pub fn generate(
    districts: &[Vec<Shape>],
    index: &ShapeIndex,
    proj: Projector,
    cores: &[Core],
    target: usize,
    rng_seed: u64,
) -> Vec<Seed> {
    let all = districts.iter().flatten().flatten().flatten();
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for p in all {
        (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
    }
    let (mx0, my0) = proj.metres(x0 as f64, y0 as f64);
    let (mx1, my1) = proj.metres(x1 as f64, y1 as f64);
    let side = (mx1 - mx0).max(my1 - my0);
    let inside = |x: f64, y: f64| index.locate(x / proj.kx, y / proj.ky);

    // Calibrate the rural spacing s0 so that sum(area * factor) / s0² = target.
    let n = 200;
    let (cw, ch) = ((mx1 - mx0) / n as f64, (my1 - my0) / n as f64);
    let mut weighted_area = 0.0;
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (mx0 + (i as f64 + 0.5) * cw, my0 + (j as f64 + 0.5) * ch);
            if inside(x, y).is_some() {
                weighted_area += cw * ch * density_factor(cores, x, y);
            }
        }
    }
    // The quadtree's leaves are on average smaller than the spacing that stops subdivision,
    // so correct s0 by what one pass actually yields, then place the seeds for real.
    let mut s0 = (weighted_area / target as f64).sqrt();
    let quadtree = |s0: f64| {
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let mut seeds = Vec::with_capacity(target + target / 4);
        let mut stack = vec![(mx0, my0, side)];
        while let Some((x, y, s)) = stack.pop() {
            let (cx, cy) = (x + s / 2.0, y + s / 2.0);
            let spacing = s0 / density_factor(cores, cx, cy).sqrt();
            // Dither the threshold so the quadtree's factor-4 density steps do not show.
            let threshold = spacing * rng.random_range(0.75..1.5);
            if s > threshold {
                let h = s / 2.0;
                stack.extend([(x, y, h), (x + h, y, h), (x, y + h, h), (x + h, y + h, h)]);
                continue;
            }
            let sx = cx + rng.random_range(-0.3..0.3) * s;
            let sy = cy + rng.random_range(-0.3..0.3) * s;
            if let Some(district) = inside(sx, sy) {
                seeds.push(Seed {
                    x: sx,
                    y: sy,
                    district,
                });
            }
        }
        seeds
    };
    for _ in 0..2 {
        let n = quadtree(s0).len();
        s0 *= (n as f64 / target as f64).sqrt();
    }
    let mut seeds = quadtree(s0);

    // Islands and other parts without a seed get one at an interior point.
    for (district, shapes) in districts.iter().enumerate() {
        for shape in shapes {
            let (bx0, by0, bx1, by1) = shape[0].iter().fold(
                (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
                |(a, b, c, d), p| {
                    (
                        a.min(p.x as f64),
                        b.min(p.y as f64),
                        c.max(p.x as f64),
                        d.max(p.y as f64),
                    )
                },
            );
            let has_seed = seeds.iter().any(|s| {
                let (lx, ly) = (s.x / proj.kx, s.y / proj.ky);
                s.district == district
                    && (bx0..=bx1).contains(&lx)
                    && (by0..=by1).contains(&ly)
                    && shape_contains(shape, lx, ly)
            });
            if !has_seed {
                let (ix, iy) = interior_point(shape);
                let (x, y) = proj.metres(ix, iy);
                seeds.push(Seed { x, y, district });
            }
        }
    }
    seeds
}

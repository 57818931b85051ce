//! Fast point-in-shape queries against a few large shapes (the city's districts), by bucketing
//! edges into horizontal stripes.

use super::lattice::Shape;

/// Answers "which of these shapes contains this point" in time proportional to the edges of
/// one stripe, not of the whole shape.
pub struct ShapeIndex {
    ymin: f64,
    stripe_h: f64,
    /// For each stripe: (shape id, edge endpoints ax, ay, bx, by).
    stripes: Vec<Vec<(u32, [f64; 4])>>,
    shapes: usize,
}

impl ShapeIndex {
    /// Indexes `shapes`, each a list of shapes (one entry per district, say).
    pub fn new(groups: &[Vec<Shape>], stripes: usize) -> ShapeIndex {
        let ys = groups.iter().flatten().flatten().flatten().map(|p| p.y);
        let (lo, hi) = ys.fold((i64::MAX, i64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let ymin = lo as f64;
        let stripe_h = ((hi - lo) as f64 / stripes as f64).max(1.0);
        let mut index = ShapeIndex {
            ymin,
            stripe_h,
            stripes: vec![Vec::new(); stripes],
            shapes: groups.len(),
        };
        for (id, group) in groups.iter().enumerate() {
            for ring in group.iter().flatten() {
                let n = ring.len();
                for i in 0..n {
                    let (a, b) = (ring[i], ring[(i + 1) % n]);
                    if a.y == b.y {
                        continue; // horizontal edges never cross a horizontal ray
                    }
                    let edge = [a.x as f64, a.y as f64, b.x as f64, b.y as f64];
                    let (s0, s1) = (
                        index.stripe(a.y.min(b.y) as f64),
                        index.stripe(a.y.max(b.y) as f64),
                    );
                    for s in s0..=s1 {
                        index.stripes[s].push((id as u32, edge));
                    }
                }
            }
        }
        index
    }

    fn stripe(&self, y: f64) -> usize {
        (((y - self.ymin) / self.stripe_h).floor().max(0.0) as usize).min(self.stripes.len() - 1)
    }

    /// Index of the first group containing (x, y) under the even-odd rule, if any.
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        let mut crossings = vec![false; self.shapes];
        for &(id, [ax, ay, bx, by]) in &self.stripes[self.stripe(y)] {
            if (ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay) {
                crossings[id as usize] = !crossings[id as usize];
            }
        }
        crossings.iter().position(|&inside| inside)
    }
}

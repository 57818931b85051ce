//! Groups points into compact clusters of chosen sizes: towns from units, villages from a
//! town's units, grids from a village's units.
//!
//! A power diagram (nearest centre after subtracting a per-cluster weight) is iterated with
//! Lloyd steps on the centres and proportional steps on the weights until each cluster holds
//! about its target share. Cells of a power diagram are convex, so clusters come out compact.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Assigns each of `points` to one of `targets.len()` clusters, cluster `c` getting about
/// `targets[c]` (relative) of the points. Every cluster gets at least one point when there are
/// at least as many points as clusters.
pub fn balanced_clusters(points: &[(f64, f64)], targets: &[f64], seed: u64) -> Vec<usize> {
    let k = targets.len();
    let n = points.len();
    if k <= 1 || n == 0 {
        return vec![0; n];
    }
    let total: f64 = targets.iter().sum();
    let want: Vec<f64> = targets.iter().map(|t| t / total * n as f64).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres = kmeans_pp(points, k, &mut rng);
    let mut weights = vec![0.0f64; k];
    let mut assign = vec![0usize; n];
    let spread = mean_sq_spread(points) / k as f64;

    for round in 0..60 {
        assign_power(points, &centres, &weights, &mut assign);
        let mut sums = vec![(0.0, 0.0, 0usize); k];
        for (p, &c) in points.iter().zip(&assign) {
            sums[c].0 += p.0;
            sums[c].1 += p.1;
            sums[c].2 += 1;
        }
        let rate = 0.6 * (1.0 - round as f64 / 80.0);
        for c in 0..k {
            let (sx, sy, m) = sums[c];
            if m > 0 {
                centres[c] = (sx / m as f64, sy / m as f64);
            }
            let miss = (want[c] - m as f64) / want[c].max(1.0);
            weights[c] += rate * miss.clamp(-1.0, 1.0) * spread;
        }
    }
    assign_power(points, &centres, &weights, &mut assign);
    fill_empty(points, &centres, &mut assign, k);
    assign
}

fn assign_power(
    points: &[(f64, f64)],
    centres: &[(f64, f64)],
    weights: &[f64],
    assign: &mut [usize],
) {
    for (p, a) in points.iter().zip(assign.iter_mut()) {
        let mut best = (f64::MAX, 0);
        for (c, (&(cx, cy), &w)) in centres.iter().zip(weights).enumerate() {
            let d = (p.0 - cx).powi(2) + (p.1 - cy).powi(2) - w;
            if d < best.0 {
                best = (d, c);
            }
        }
        *a = best.1;
    }
}

/// A cluster left empty takes the point nearest its centre from a cluster that has more than one.
fn fill_empty(points: &[(f64, f64)], centres: &[(f64, f64)], assign: &mut [usize], k: usize) {
    let mut counts = vec![0usize; k];
    for &c in assign.iter() {
        counts[c] += 1;
    }
    for c in 0..k {
        if counts[c] > 0 {
            continue;
        }
        let (cx, cy) = centres[c];
        let donor = (0..points.len())
            .filter(|&i| counts[assign[i]] > 1)
            .min_by(|&i, &j| {
                let di = (points[i].0 - cx).powi(2) + (points[i].1 - cy).powi(2);
                let dj = (points[j].0 - cx).powi(2) + (points[j].1 - cy).powi(2);
                di.total_cmp(&dj)
            });
        if let Some(i) = donor {
            counts[assign[i]] -= 1;
            assign[i] = c;
            counts[c] = 1;
        }
    }
}

fn mean_sq_spread(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    points
        .iter()
        .map(|p| (p.0 - mx).powi(2) + (p.1 - my).powi(2))
        .sum::<f64>()
        / n
}

/// k-means++ seeding: each new centre drawn with probability proportional to squared distance.
fn kmeans_pp(points: &[(f64, f64)], k: usize, rng: &mut ChaCha8Rng) -> Vec<(f64, f64)> {
    let mut centres = vec![points[rng.random_range(0..points.len())]];
    let mut d2: Vec<f64> = points
        .iter()
        .map(|p| (p.0 - centres[0].0).powi(2) + (p.1 - centres[0].1).powi(2))
        .collect();
    while centres.len() < k {
        let total: f64 = d2.iter().sum();
        let next = if total > 0.0 {
            let mut r = rng.random_range(0.0..total);
            let mut chosen = points.len() - 1;
            for (i, d) in d2.iter().enumerate() {
                if r < *d {
                    chosen = i;
                    break;
                }
                r -= d;
            }
            points[chosen]
        } else {
            points[rng.random_range(0..points.len())]
        };
        centres.push(next);
        for (p, d) in points.iter().zip(d2.iter_mut()) {
            *d = d.min((p.0 - next.0).powi(2) + (p.1 - next.1).powi(2));
        }
    }
    centres
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_reach_their_targets_roughly_and_none_is_empty() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let points: Vec<(f64, f64)> = (0..3000)
            .map(|_| (rng.random_range(0.0..1000.0), rng.random_range(0.0..1000.0)))
            .collect();
        let targets = [1.0, 2.0, 1.0, 4.0];
        let a = balanced_clusters(&points, &targets, 1);
        let mut counts = [0usize; 4];
        for c in a {
            counts[c] += 1;
        }
        for (c, t) in counts.iter().zip(targets) {
            let want = t / 8.0 * 3000.0;
            assert!((*c as f64 - want).abs() < want * 0.25, "{counts:?}");
        }
    }

    #[test]
    fn more_clusters_than_points_leaves_no_panic() {
        let a = balanced_clusters(&[(0.0, 0.0), (1.0, 1.0)], &[1.0; 3], 1);
        assert_eq!(a.len(), 2);
    }
}

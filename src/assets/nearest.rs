//! Nearest neighbours by geodesic distance on the WGS84 ellipsoid.
//!
//! The trees hold points on the unit sphere, where chord order is great-circle order. The
//! great-circle distance on a sphere of radius `SPHERE_R` and the geodesic distance differ by
//! less than the flattening (0.34 %), so candidates are taken in chord order while their
//! spherical distance, shrunk by `SLACK`, can still beat the k-th geodesic distance found: the
//! answer is exact, not an approximation of the sphere.

use super::set::{SpherePoint, to_sphere};
use geo::{Bearing, Distance, Geodesic, Point};
use rstar::RTree;

/// Mean earth radius (m) of the sphere the trees approximate.
const SPHERE_R: f64 = 6_371_008.8;
/// Spherical distance × SLACK is below the geodesic distance for any pair of points.
const SLACK: f64 = 0.99;

/// Geodesic distance (m) between two points in degrees.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Geodesic.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

/// Geodesic bearing from `a` to `b`, degrees clockwise from north in 0..360.
pub fn bearing_deg(a: (f64, f64), b: (f64, f64)) -> f64 {
    let d = Geodesic.bearing(Point::new(a.0, a.1), Point::new(b.0, b.1));
    (d + 360.0) % 360.0
}

/// Great-circle metres of a squared chord on the unit sphere.
pub fn chord_to_m(chord2: f64) -> f64 {
    let c = chord2.sqrt().min(2.0);
    2.0 * (c / 2.0).asin() * SPHERE_R
}

fn m_to_chord2(m: f64) -> f64 {
    let c = 2.0 * (m / SPHERE_R / 2.0).min(std::f64::consts::FRAC_PI_2).sin();
    c * c
}

/// One neighbour: an asset id and its geodesic distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub distance_m: f64,
}

/// The `k` points of `tree` nearest to (lon, lat), nearest first, skipping `except`;
/// `position` gives a point's (lon, lat).
pub fn k_nearest(
    tree: &RTree<SpherePoint>,
    lon: f64,
    lat: f64,
    k: usize,
    except: Option<i64>,
    position: impl Fn(i64) -> Option<(f64, f64)>,
) -> Vec<Hit> {
    let mut best: Vec<Hit> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    let q = to_sphere(lon, lat);
    for (p, chord2) in tree.nearest_neighbor_iter_with_distance_2(&q) {
        if best.len() == k && chord_to_m(chord2) * SLACK > best[k - 1].distance_m {
            break;
        }
        if Some(p.data) == except {
            continue;
        }
        let Some(at) = position(p.data) else { continue };
        let d = distance_m((lon, lat), at);
        let pos = best.partition_point(|h| (h.distance_m, h.id) <= (d, p.data));
        if pos < k {
            best.insert(
                pos,
                Hit {
                    id: p.data,
                    distance_m: d,
                },
            );
            best.truncate(k);
        }
    }
    best
}

/// Every point of `tree` within `radius_m` (geodesic) of (lon, lat), nearest first.
pub fn within(
    tree: &RTree<SpherePoint>,
    lon: f64,
    lat: f64,
    radius_m: f64,
    position: impl Fn(i64) -> Option<(f64, f64)>,
) -> Vec<Hit> {
    let q = to_sphere(lon, lat);
    let mut hits: Vec<Hit> = tree
        .locate_within_distance(q, m_to_chord2(radius_m / SLACK))
        .filter_map(|p| {
            let d = distance_m((lon, lat), position(p.data)?);
            (d <= radius_m).then_some(Hit {
                id: p.data,
                distance_m: d,
            })
        })
        .collect();
    hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn k_nearest_equals_brute_force_over_geodesic_distances() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let pts: Vec<(i64, f64, f64)> = (0..3000)
            .map(|i| {
                (
                    i,
                    rng.random_range(118.9..119.4),
                    rng.random_range(25.2..25.6),
                )
            })
            .collect();
        let tree = RTree::bulk_load(
            pts.iter()
                .map(|&(i, lon, lat)| SpherePoint::new(to_sphere(lon, lat), i))
                .collect(),
        );
        let pos = |id: i64| pts.get(id as usize).map(|p| (p.1, p.2));
        for _ in 0..50 {
            let (lon, lat) = (rng.random_range(118.9..119.4), rng.random_range(25.2..25.6));
            let got = k_nearest(&tree, lon, lat, 7, None, pos);
            let mut all: Vec<Hit> = pts
                .iter()
                .map(|&(id, x, y)| Hit {
                    id,
                    distance_m: distance_m((lon, lat), (x, y)),
                })
                .collect();
            all.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
            assert_eq!(got, all[..7].to_vec());
            let r = all[12].distance_m;
            let near = within(&tree, lon, lat, r, pos);
            assert_eq!(near, all[..13].to_vec());
        }
    }

    #[test]
    fn bearings_point_the_right_way() {
        let o = (119.0, 25.4);
        assert!((bearing_deg(o, (119.0, 25.5)) - 0.0).abs() < 0.01);
        assert!((bearing_deg(o, (119.1, 25.4)) - 90.0).abs() < 0.1);
        assert!((bearing_deg(o, (119.0, 25.3)) - 180.0).abs() < 0.01);
        assert!((bearing_deg(o, (118.9, 25.4)) - 270.0).abs() < 0.1);
        // One degree of latitude at 25° N is about 110.8 km on the ellipsoid.
        let d = distance_m((119.0, 25.0), (119.0, 26.0));
        assert!((d - 110_800.0).abs() < 300.0, "{d}");
    }
}

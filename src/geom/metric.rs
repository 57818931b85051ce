//! Distances in metres: the one place the project measures the earth.
//!
//! - Between two points: `sphere_distance_m`, PostGIS's `ST_DistanceSphere` reproduced
//!   operation for operation (repeat detection must link a report exactly as SQL would).
//! - From a point to nearby geometry: a local equirectangular projection about the point
//!   (`metres_per_degree`); within the tolerances used (tens to hundreds of metres) its error
//!   is far below a metre.

use geo_types::{Coord, MultiPolygon};

/// The sphere `ST_DistanceSphere` uses in PostGIS 3: radius (2a + b) / 3 of WGS 84.
const SPHERE_RADIUS_M: f64 = (2.0 * 6_378_137.0 + 6_356_752.314_245_179) / 3.0;

fn radians(deg: f64) -> f64 {
    // PostGIS's deg2rad, operation for operation, so both sides round alike.
    std::f64::consts::PI * deg / 180.0
}

/// PostGIS rounds geography distances to 10 nm (`INVMINDIST` with PROJ's geodesics).
const ROUND_PER_M: f64 = 1.0e8;

/// Great-circle distance in metres from `(lon1, lat1)` to `(lon2, lat2)`, computed as
/// PostGIS's `ST_DistanceSphere` does (Vincenty's formula on its sphere, in the same order of
/// operations, rounded to 10 nm), so a report at the edge of a radius is linked the same way
/// by SQL and here.
pub fn sphere_distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (s_lat, e_lat) = (radians(lat1), radians(lat2));
    let d_lon = radians(lon2) - radians(lon1);
    let cos_d_lon = d_lon.cos();
    let (cos_lat_e, sin_lat_e) = (e_lat.cos(), e_lat.sin());
    let (cos_lat_s, sin_lat_s) = (s_lat.cos(), s_lat.sin());
    let a1 = (cos_lat_e * d_lon.sin()).powi(2);
    let a2 = (cos_lat_s * sin_lat_e - sin_lat_s * cos_lat_e * cos_d_lon).powi(2);
    let a = (a1 + a2).sqrt();
    let b = sin_lat_s * sin_lat_e + cos_lat_s * cos_lat_e * cos_d_lon;
    (SPHERE_RADIUS_M * a.atan2(b) * ROUND_PER_M).round() / ROUND_PER_M
}

/// Metres per degree of latitude (WGS84 mean) and of longitude at the equator.
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON_EQ: f64 = 111_320.0;

/// Scale factors (metres per degree east, metres per degree north) at latitude `lat`.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    (M_PER_DEG_LON_EQ * lat.to_radians().cos(), M_PER_DEG_LAT)
}

/// Converts a distance in metres to a half-width in degrees (lon, lat) at latitude `lat`.
pub fn degrees_for_metres(metres: f64, lat: f64) -> (f64, f64) {
    let (kx, ky) = metres_per_degree(lat);
    (metres / kx, metres / ky)
}

/// Distance in metres from `p` to the boundary of `mp` (0 if `p` is on it).
pub fn distance_to_boundary_m(p: Coord<f64>, mp: &MultiPolygon<f64>) -> f64 {
    let (kx, ky) = metres_per_degree(p.y);
    let mut best = f64::INFINITY;
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for seg in ring.0.windows(2) {
                let (ax, ay) = ((seg[0].x - p.x) * kx, (seg[0].y - p.y) * ky);
                let (bx, by) = ((seg[1].x - p.x) * kx, (seg[1].y - p.y) * ky);
                best = best.min(point_segment_distance(ax, ay, bx, by));
            }
        }
    }
    best
}

/// Distance from the origin to segment (a, b).
pub(crate) fn point_segment_distance(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (ax + t * dx, ay + t * dy);
    (x * x + y * y).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn distance_to_a_square_in_metres() {
        // A square of 0.01° at Putian's latitude; a point 0.001° (about 110 m) north of it.
        let sq = MultiPolygon(vec![
            polygon![(x: 119.0, y: 25.4), (x: 119.01, y: 25.4), (x: 119.01, y: 25.41), (x: 119.0, y: 25.41)],
        ]);
        let d = distance_to_boundary_m(
            Coord {
                x: 119.005,
                y: 25.411,
            },
            &sq,
        );
        assert!((d - 110.574).abs() < 0.01, "{d}");
        assert_eq!(
            distance_to_boundary_m(
                Coord {
                    x: 119.0,
                    y: 25.405
                },
                &sq
            ),
            0.0
        );
    }
}

//! Coordinates from Chinese map apps: GCJ-02 (the offset every Chinese phone map uses) and
//! BD-09 (Baidu's), converted to WGS84 before assignment. CGCS2000 is treated as WGS84 (they
//! differ by centimetres).
//!
//! The forward GCJ-02 transform is the published "Mars" formula; its inverse has no closed form,
//! so it is solved by fixed-point iteration to below 1e-10 degree (about 0.01 mm), far inside
//! the 0.1 m the city asks for. Outside China the offset is not applied, as the apps do.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

/// A coordinate reference system clients may send points in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    #[default]
    Wgs84,
    Cgcs2000,
    Gcj02,
    Bd09,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown crs '{0}': use wgs84, cgcs2000, gcj02 or bd09")]
pub struct CrsError(pub String);

impl FromStr for Crs {
    type Err = CrsError;
    fn from_str(s: &str) -> Result<Crs, CrsError> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "wgs84" | "epsg4326" | "4326" => Ok(Crs::Wgs84),
            "cgcs2000" | "epsg4490" | "4490" => Ok(Crs::Cgcs2000),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" => Ok(Crs::Bd09),
            _ => Err(CrsError(s.to_string())),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Crs::Wgs84 => "wgs84",
            Crs::Cgcs2000 => "cgcs2000",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        })
    }
}

impl Crs {
    /// Converts (lon, lat) in this CRS to WGS84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => (lon, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => {
                let (x, y) = bd09_to_gcj02(lon, lat);
                gcj02_to_wgs84(x, y)
            }
        }
    }

    /// Converts WGS84 (lon, lat) into this CRS.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => (lon, lat),
            Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
            Crs::Bd09 => {
                let (x, y) = wgs84_to_gcj02(lon, lat);
                gcj02_to_bd09(x, y)
            }
        }
    }
}

// Krasovsky 1940, as the GCJ-02 formula uses it.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// The rough rectangle in which the apps apply the offset.
pub fn in_china(lon: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 to GCJ-02 (the published forward formula).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    let dlat = offset_lat(lon - 105.0, lat - 35.0);
    let dlon = offset_lon(lon - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 to WGS84: the WGS84 point whose forward transform is (lon, lat), to about 1e-10°.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    invert(lon, lat, wgs84_to_gcj02)
}

/// GCJ-02 to BD-09 (Baidu's published forward formula).
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 to GCJ-02, inverted exactly like GCJ-02 (the usual one-step formula is off by up
/// to a few decimetres).
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    invert(lon, lat, gcj02_to_bd09)
}

/// Solves forward(p) = target by fixed-point iteration; the transforms are the identity
/// plus a small, slowly varying offset, so this converges in a few steps.
fn invert(lon: f64, lat: f64, forward: fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut x, mut y) = (lon, lat);
    for _ in 0..30 {
        let (fx, fy) = forward(x, y);
        let (dx, dy) = (lon - fx, lat - fy);
        x += dx;
        y += dy;
        if dx.abs() < 1e-11 && dy.abs() < 1e-11 {
            break;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::metric::metres_per_degree;

    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (kx, ky) = metres_per_degree(a.1);
        (((a.0 - b.0) * kx).powi(2) + ((a.1 - b.1) * ky).powi(2)).sqrt()
    }

    // Reference pairs published with the widely used `coordtransform` package (test/app.js).
    const WGS_IN: (f64, f64) = (116.404, 39.915);
    const GCJ_OF_WGS_IN: (f64, f64) = (116.41024449916938, 39.91640428150164);
    const BD_OF_GCJ_IN: (f64, f64) = (116.41036949371029, 39.92133699351021);
    const GCJ_OF_BD_IN: (f64, f64) = (116.39762729119315, 39.90865673957631);

    #[test]
    fn forward_transforms_match_the_reference_pairs() {
        let g = wgs84_to_gcj02(WGS_IN.0, WGS_IN.1);
        assert!(metres(g, GCJ_OF_WGS_IN) < 1e-6, "{g:?}");
        let b = gcj02_to_bd09(116.404, 39.915);
        assert!(metres(b, BD_OF_GCJ_IN) < 1e-6, "{b:?}");
    }

    #[test]
    fn inverse_gcj02_recovers_the_reference_wgs84_point_within_a_millimetre() {
        let w = gcj02_to_wgs84(GCJ_OF_WGS_IN.0, GCJ_OF_WGS_IN.1);
        assert!(metres(w, WGS_IN) < 0.001, "{} m", metres(w, WGS_IN));
    }

    #[test]
    fn inverse_bd09_is_at_least_as_good_as_the_published_one_step_inverse() {
        // The reference value came from the approximate one-step formula; ours is exact, so it
        // may differ from it by up to a few decimetres, and round-trips to the millimetre.
        let g = bd09_to_gcj02(116.404, 39.915);
        assert!(
            metres(g, GCJ_OF_BD_IN) < 0.5,
            "{} m",
            metres(g, GCJ_OF_BD_IN)
        );
        let back = gcj02_to_bd09(g.0, g.1);
        assert!(metres(back, (116.404, 39.915)) < 0.001);
    }

    #[test]
    fn round_trips_across_china_are_far_below_a_decimetre() {
        let mut worst: f64 = 0.0;
        for i in 0..=60 {
            for j in 0..=45 {
                let p = (73.0 + i as f64, 18.0 + j as f64 * 0.8);
                for crs in [Crs::Gcj02, Crs::Bd09] {
                    let (x, y) = crs.from_wgs84(p.0, p.1);
                    let back = crs.to_wgs84(x, y);
                    worst = worst.max(metres(back, p));
                }
            }
        }
        assert!(worst < 0.01, "worst round trip {worst} m");
    }

    #[test]
    fn outside_china_nothing_moves_and_names_parse() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!("GCJ-02".parse::<Crs>().unwrap(), Crs::Gcj02);
        assert_eq!("bd09".parse::<Crs>().unwrap(), Crs::Bd09);
        assert!("utm50n".parse::<Crs>().is_err());
    }
}

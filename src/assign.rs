//! Checking reported coordinates before assignment, shared by the HTTP API and the CLI.

use crate::crs::Crs;
use serde::Serialize;

/// Why a point cannot be assigned.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PointError {
    pub code: &'static str,
    pub message: String,
}

impl PointError {
    fn new(code: &'static str, message: String) -> PointError {
        PointError { code, message }
    }
}

/// Checks a point given in `crs` and returns it in WGS84.
///
/// `city_bbox` (the units' extent) lets us recognise swapped coordinates: a point far outside
/// the city whose swap lands inside it is reported as swapped instead of silently unassigned.
pub fn check_point(
    lon: f64,
    lat: f64,
    crs: Crs,
    city_bbox: Option<[f64; 4]>,
) -> Result<(f64, f64), PointError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(PointError::new(
            "invalid_coordinate",
            format!(
                "经纬度必须是有限数值 (lon and lat must be finite numbers, got lon={lon}, lat={lat})"
            ),
        ));
    }
    let in_city = |x: f64, y: f64, margin: f64| {
        city_bbox.is_some_and(|b| {
            x >= b[0] - margin && x <= b[2] + margin && y >= b[1] - margin && y <= b[3] + margin
        })
    };
    let swapped_hint = in_city(lat, lon, 0.05) && !in_city(lon, lat, 1.0);
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        if swapped_hint {
            return Err(swapped(lon, lat));
        }
        return Err(PointError::new(
            "out_of_range",
            format!(
                "经度应在 -180 到 180 之间、纬度应在 -90 到 90 之间 (lon must be within -180..180 and lat within -90..90, got lon={lon}, lat={lat})"
            ),
        ));
    }
    if swapped_hint {
        return Err(swapped(lon, lat));
    }
    Ok(crs.to_wgs84(lon, lat))
}

fn swapped(lon: f64, lat: f64) -> PointError {
    PointError::new(
        "lon_lat_swapped",
        format!(
            "经纬度可能填反了：({lon}, {lat}) 远在本市之外，而 ({lat}, {lon}) 落在市内，请检查 lon 与 lat 的顺序 \
             (lon and lat look swapped: lon={lon}, lat={lat} is far outside the city but lon={lat}, lat={lon} is inside it)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUTIAN: Option<[f64; 4]> = Some([118.45, 24.95, 119.65, 25.78]);

    #[test]
    fn accepts_converts_and_rejects() {
        assert_eq!(
            check_point(119.0, 25.4, Crs::Wgs84, PUTIAN),
            Ok((119.0, 25.4))
        );
        assert_eq!(
            check_point(f64::NAN, 25.4, Crs::Wgs84, PUTIAN)
                .unwrap_err()
                .code,
            "invalid_coordinate"
        );
        assert_eq!(
            check_point(119.0, f64::INFINITY, Crs::Wgs84, PUTIAN)
                .unwrap_err()
                .code,
            "invalid_coordinate"
        );
        assert_eq!(
            check_point(190.0, 25.4, Crs::Wgs84, PUTIAN)
                .unwrap_err()
                .code,
            "out_of_range"
        );
        assert_eq!(
            check_point(25.4, 119.0, Crs::Wgs84, PUTIAN)
                .unwrap_err()
                .code,
            "lon_lat_swapped"
        );
        // Far away but not a swap of a Putian point: accepted (it will simply be unassigned).
        assert!(check_point(2.35, 48.85, Crs::Wgs84, PUTIAN).is_ok());
        let (x, y) = check_point(119.0, 25.4, Crs::Gcj02, PUTIAN).unwrap();
        assert!((x - 119.0).abs() > 1e-4 && (y - 25.4).abs() > 1e-5);
    }
}

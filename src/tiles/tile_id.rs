//! Tile addresses and the Web Mercator (EPSG:3857) math around them.
//!
//! A `TileId` is only ever built by `TileId::new` or `TileId::parse`, so `z <= MAX_ZOOM` and
//! `x, y < 2^z` hold for every value: the rest of the module relies on it. Tiles follow the
//! XYZ scheme (y = 0 at the north edge), as MapLibre, QGIS and `ST_TileEnvelope` do.

use std::fmt;

/// Earth radius of the spherical Mercator projection, metres.
pub const EARTH_RADIUS_M: f64 = 6_378_137.0;
/// Half the width of the Mercator world, metres (x and y run from -this to +this).
pub const HALF_WORLD_M: f64 = std::f64::consts::PI * EARTH_RADIUS_M;
/// Deepest zoom served; clients overzoom beyond it.
pub const MAX_ZOOM: u8 = 16;
/// Latitude where the square Mercator world ends.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Why a tile address is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TileIdError {
    #[error("{what} '{got}' is not a whole number")]
    NotANumber { what: &'static str, got: String },
    #[error("zoom {0} is outside 0..={MAX_ZOOM}")]
    Zoom(u64),
    #[error("{what} {got} is outside 0..{limit} at zoom {z}")]
    OutOfRange {
        what: &'static str,
        got: u64,
        limit: u64,
        z: u8,
    },
}

/// A validated tile address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// Bounds `[min x, min y, max x, max y]` in Mercator metres.
pub type BoundsM = [f64; 4];

impl TileId {
    /// A tile address, checked against the pyramid.
    pub fn new(z: u64, x: u64, y: u64) -> Result<TileId, TileIdError> {
        if z > MAX_ZOOM as u64 {
            return Err(TileIdError::Zoom(z));
        }
        let z8 = z as u8;
        let limit = 1u64 << z;
        if x >= limit {
            return Err(TileIdError::OutOfRange {
                what: "x",
                got: x,
                limit,
                z: z8,
            });
        }
        if y >= limit {
            return Err(TileIdError::OutOfRange {
                what: "y",
                got: y,
                limit,
                z: z8,
            });
        }
        Ok(TileId {
            z: z8,
            x: x as u32,
            y: y as u32,
        })
    }

    /// Parses the three path parts (an extension on y must already be stripped).
    pub fn parse(z: &str, x: &str, y: &str) -> Result<TileId, TileIdError> {
        let num = |what: &'static str, s: &str| -> Result<u64, TileIdError> {
            // Digits only: "+1", " 1" and "1e3" are not tile numbers.
            if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TileIdError::NotANumber {
                    what,
                    got: s.chars().take(40).collect(),
                });
            }
            s.parse().map_err(|_| TileIdError::NotANumber {
                what,
                got: s.to_string(),
            })
        };
        TileId::new(num("z", z)?, num("x", x)?, num("y", y)?)
    }

    /// Width of this tile in Mercator metres.
    pub fn size_m(self) -> f64 {
        2.0 * HALF_WORLD_M / (1u64 << self.z) as f64
    }

    /// The tile's square in Mercator metres, grown on each side by `buffer` of `extent` units.
    pub fn bounds_m(self, extent: u32, buffer: u32) -> BoundsM {
        let s = self.size_m();
        let b = s * buffer as f64 / extent as f64;
        let min_x = -HALF_WORLD_M + self.x as f64 * s;
        let max_y = HALF_WORLD_M - self.y as f64 * s;
        [min_x - b, max_y - s - b, min_x + s + b, max_y + b]
    }

    /// The tile's bounds in degrees `[west, south, east, north]` (no buffer).
    pub fn bounds_4326(self) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.bounds_m(4096, 0);
        let (w, s) = to_4326(x0, y0);
        let (e, n) = to_4326(x1, y1);
        [w, s, e, n]
    }
}

/// Longitude and latitude in degrees to Mercator metres (latitude clamped to the square world).
pub fn to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT);
    let x = EARTH_RADIUS_M * lon.to_radians();
    let y = EARTH_RADIUS_M
        * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln();
    (x, y)
}

/// Mercator metres to longitude and latitude in degrees.
pub fn to_4326(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / EARTH_RADIUS_M).to_degrees();
    let lat = (2.0 * (y / EARTH_RADIUS_M).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

/// The inclusive ranges of x and y at zoom `z` of the tiles whose square, grown by `buffer`
/// of `extent` units, meets `bbox` (Mercator metres). `None` if the bbox is empty or off the
/// world.
pub fn tiles_covering(
    bbox: BoundsM,
    z: u8,
    extent: u32,
    buffer: u32,
) -> Option<([u32; 2], [u32; 2])> {
    if !(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]) {
        return None;
    }
    let n = (1u64 << z) as f64;
    let s = 2.0 * HALF_WORLD_M / n;
    let b = s * buffer as f64 / extent as f64;
    let col = |x: f64| ((x + HALF_WORLD_M) / s).floor();
    let row = |y: f64| ((HALF_WORLD_M - y) / s).floor();
    let clamp = |v: f64| v.clamp(0.0, n - 1.0) as u32;
    let (x0, x1) = (col(bbox[0] - b), col(bbox[2] + b));
    let (y0, y1) = (row(bbox[3] + b), row(bbox[1] - b));
    if x1 < 0.0 || y1 < 0.0 || x0 >= n || y0 >= n {
        return None;
    }
    Some(([clamp(x0), clamp(x1)], [clamp(y0), clamp(y1)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        assert_eq!(
            TileId::parse("14", "13727", "7010").unwrap(),
            TileId {
                z: 14,
                x: 13727,
                y: 7010
            }
        );
        assert_eq!(
            TileId::parse("0", "0", "0").unwrap(),
            TileId { z: 0, x: 0, y: 0 }
        );
        assert!(matches!(
            TileId::parse("17", "0", "0"),
            Err(TileIdError::Zoom(17))
        ));
        assert!(matches!(
            TileId::parse("1", "2", "0"),
            Err(TileIdError::OutOfRange { what: "x", .. })
        ));
        assert!(matches!(
            TileId::parse("1", "0", "2"),
            Err(TileIdError::OutOfRange { what: "y", .. })
        ));
        for bad in ["", "-1", "+1", "1.5", "a", "1e3", "99999999999999999999"] {
            assert!(
                matches!(
                    TileId::parse(bad, "0", "0"),
                    Err(TileIdError::NotANumber { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn bounds_match_st_tile_envelope() {
        // SELECT ST_AsText(ST_TileEnvelope(1, 1, 0)) → POLYGON((0 0,0 20037508.34,20037508.34 ...))
        let b = TileId::new(1, 1, 0).unwrap().bounds_m(4096, 0);
        assert_eq!(b[0], 0.0);
        assert!((b[3] - 20_037_508.342_789_244).abs() < 1e-6);
        assert!((b[1]).abs() < 1e-6);
        // A buffer of 64/4096 grows each side by 1/64 of the tile.
        let t = TileId::new(3, 2, 5).unwrap();
        let (a, g) = (t.bounds_m(4096, 0), t.bounds_m(4096, 64));
        assert!((a[0] - g[0] - t.size_m() / 64.0).abs() < 1e-6);
    }

    #[test]
    fn mercator_round_trip_and_putian() {
        let (x, y) = to_mercator(119.0, 25.4);
        let (lon, lat) = to_4326(x, y);
        assert!((lon - 119.0).abs() < 1e-12 && (lat - 25.4).abs() < 1e-12);
        // (119°E, 25.4°N) lies in tile 14/13607/6996: x = (119 + 180) / 360 · 2^14 = 13607.8,
        // y = (1 − asinh(tan 25.4°) / π) / 2 · 2^14 = 6996.2 (the slippy-map formulas).
        let ([x0, x1], [y0, y1]) = tiles_covering([x, y, x, y], 14, 4096, 0).unwrap();
        assert_eq!((x0, x1, y0, y1), (13607, 13607, 6996, 6996));
    }

    #[test]
    fn covering_includes_buffered_neighbours() {
        let t = TileId::new(10, 500, 400).unwrap();
        let b = t.bounds_m(4096, 0);
        // A point just inside the tile's west edge is within the buffer of the tile to the west.
        let mid = (b[1] + b[3]) / 2.0;
        let p = [b[0] + 1.0, mid, b[0] + 1.0, mid];
        assert_eq!(
            tiles_covering(p, 10, 4096, 0).unwrap(),
            ([500, 500], [400, 400])
        );
        assert_eq!(
            tiles_covering(p, 10, 4096, 64).unwrap(),
            ([499, 500], [400, 400])
        );
        assert!(tiles_covering([1.0, 1.0, 0.0, 0.0], 10, 4096, 64).is_none());
    }
}

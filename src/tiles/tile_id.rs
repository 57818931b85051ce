//! Tile addresses and the Web Mercator (EPSG:3857) math around them.
//!
//! A `TileId` is only ever built by `TileId::new` or `TileId::parse`, so `z <= MAX_ZOOM` and
//! `x, y < 2^z` hold for every value: the rest of the module relies on it. Tiles follow the
//! XYZ scheme (y = 0 at the north edge), as MapLibre, QGIS and `ST_TileEnvelope` do.
//!
//! Which tile a point is in is decided by index, never by comparing with edges computed in
//! metres or degrees: `WorldFraction` is the point's position on the Mercator square (0..1
//! from the west and from the north edge), and the point is in tile (z, x, y) iff
//! `floor(fx · 2^z) = x` and `floor(fy · 2^z) = y`. Scaling by 2^z is exact in floating point,
//! so the rule is half-open (west and north edges in), the same at every zoom, neighbours can
//! never both claim or both miss a point, and a point in a tile at z + 1 is in its parent at z.

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

    /// The tile's bounds in degrees `[west, south, east, north]` (no buffer), computed through
    /// Mercator metres: for display. Not for deciding membership — two neighbours compute
    /// their shared edge differently here; use `TileId::containing` / `TileId::contains`.
    pub fn bounds_4326(self) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.bounds_m(4096, 0);
        let (w, s) = to_4326(x0, y0);
        let (e, n) = to_4326(x1, y1);
        [w, s, e, n]
    }
}

impl TileId {
    /// The tile at zoom `z` holding the point (lon, lat in degrees, latitude clamped to the
    /// square world, longitude outside ±180° clamped to the first or last column). `None` for
    /// a zoom above `MAX_ZOOM` or a coordinate that is not finite.
    ///
    /// ```
    /// use onemap::tiles::tile_id::TileId;
    /// // Putian's old town (119.0°E, 25.43°N) at zoom 14.
    /// let t = TileId::containing(14, 119.0, 25.43).unwrap();
    /// assert_eq!((t.x, t.y), (13607, 6994));
    /// // A point on a shared edge belongs to the tile east of it (west edges are in).
    /// assert_eq!(TileId::containing(10, 119.1796875, 25.3).unwrap().x, 851);
    /// ```
    pub fn containing(z: u8, lon: f64, lat: f64) -> Option<TileId> {
        WorldFraction::from_lon_lat(lon, lat).tile(z)
    }

    /// True if the point at `p` is in this tile (see the module header for the rule).
    #[inline]
    pub fn contains(self, p: WorldFraction) -> bool {
        p.index(self.z) == Some((self.x, self.y))
    }

    /// The tile's north-west corner in degrees as the rule sees it: the smallest longitude in
    /// this column and the largest latitude in this row, so one f64 further west
    /// (`lon.next_down()`) or north (`lat.next_up()`) is in the neighbour. Both are within
    /// ~1e-13° (nanometres: the resolution of a fraction of the world in an f64) of the exact
    /// edges; the exact west edge `x · 360 / 2^z − 180` is itself in this column. Column 0
    /// starts at −180° and row 0 at `MAX_LAT` (everything beyond clamps into them).
    pub fn north_west_4326(self) -> (f64, f64) {
        let n = (1u64 << self.z) as f64;
        let at = |lon: f64, lat: f64| WorldFraction::from_lon_lat(lon, lat).index(self.z);
        let lon = self.x as f64 * 360.0 / n - 180.0;
        let lon = if self.x == 0 {
            -180.0
        } else {
            let west = |l: f64| at(l, 0.0).is_some_and(|i| i.0 < self.x);
            last_true(lon - 1e-9, lon, west).1
        };
        let lat = if self.y == 0 {
            MAX_LAT
        } else {
            let edge = (std::f64::consts::PI * (1.0 - 2.0 * self.y as f64 / n))
                .sinh()
                .atan()
                .to_degrees();
            let south = |l: f64| at(0.0, l).is_some_and(|i| i.1 >= self.y);
            last_true(edge - 1e-9, edge + 1e-9, south).0
        };
        (lon, lat)
    }
}

/// Given `pred(lo)` and not `pred(hi)` with `lo < hi`, two adjacent f64s `(a, b)` in between
/// with `pred(a)` and not `pred(b)`, by bisection (at most a few hundred steps).
fn last_true(mut lo: f64, mut hi: f64, pred: impl Fn(f64) -> bool) -> (f64, f64) {
    debug_assert!(pred(lo) && !pred(hi), "bisection needs a change of sign");
    while lo.next_up() < hi {
        let mut mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            mid = lo.next_up();
        }
        if pred(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo, hi)
}

/// A position on the Web Mercator square, as fractions of its side: `x` from 0 at 180°W to 1
/// at 180°E, `y` from 0 at the north edge (`MAX_LAT`) to 1 at the south edge. Computed once
/// per point, it answers "which tile" at every zoom with two multiplications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldFraction {
    pub x: f64,
    pub y: f64,
}

impl WorldFraction {
    /// The position of (lon, lat) in degrees; latitude clamped to ±`MAX_LAT`.
    #[inline]
    pub fn from_lon_lat(lon: f64, lat: f64) -> WorldFraction {
        let phi = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
        WorldFraction {
            x: (lon + 180.0) / 360.0,
            y: (1.0 - phi.tan().asinh() / std::f64::consts::PI) / 2.0,
        }
    }

    /// Column and row at zoom `z` (any z up to 31, beyond `MAX_ZOOM` too), clamped into the
    /// pyramid (so 180°E is in the last column and the poles in the first or last row).
    /// `None` if the position is not finite.
    #[inline]
    pub fn index(self, z: u8) -> Option<(u32, u32)> {
        if z > 31 || !(self.x.is_finite() && self.y.is_finite()) {
            return None;
        }
        let n = (1u64 << z) as f64;
        let at = |f: f64| (f * n).floor().clamp(0.0, n - 1.0) as u32;
        Some((at(self.x), at(self.y)))
    }

    /// The tile holding this position at zoom `z`; `None` above `MAX_ZOOM` or if not finite.
    #[inline]
    pub fn tile(self, z: u8) -> Option<TileId> {
        if z > MAX_ZOOM {
            return None;
        }
        let (x, y) = self.index(z)?;
        Some(TileId { z, x, y })
    }

    /// This position in the tile coordinates of `tile` (0 at its west/north edge, `extent` at
    /// its east/south edge; outside that range for points outside the tile).
    #[inline]
    pub fn in_tile(self, tile: TileId, extent: u32) -> [f64; 2] {
        let n = (1u64 << tile.z) as f64;
        let e = extent as f64;
        [
            (self.x * n - tile.x as f64) * e,
            (self.y * n - tile.y as f64) * e,
        ]
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

    /// The two events of issue #15 that the metre-based edges counted twice or lost.
    #[test]
    fn issue_edge_events_are_in_exactly_one_tile() {
        for (lon, x10) in [(119.1796875, 851u32), (118.4765625, 849)] {
            for z in 10..=16u8 {
                let x = x10 << (z - 10);
                let t = TileId::containing(z, lon, 25.3).unwrap();
                assert_eq!(t.x, x, "z{z} lon {lon}");
                let p = WorldFraction::from_lon_lat(lon, 25.3);
                let west = TileId { x: x - 1, ..t };
                assert!(t.contains(p) && !west.contains(p), "z{z} lon {lon}");
            }
        }
        assert_eq!(TileId::containing(10, 119.1796875, 25.3).unwrap().y, 437);
    }

    #[test]
    fn edges_and_corners_belong_to_the_tile_south_east_of_them() {
        for z in 1..=MAX_ZOOM {
            let n = 1u32 << z;
            for (x, y) in [
                (1, 1),
                (n / 2, n / 2),
                (n - 1, n - 1),
                (n / 3 + 1, n / 5 + 1),
            ] {
                let t = TileId::new(z as u64, x as u64, y as u64).unwrap();
                let (lon, lat) = t.north_west_4326();
                assert_eq!(TileId::containing(z, lon, lat), Some(t), "corner of {t}");
                // The exact west edge is in the tile too.
                let exact = x as f64 * 360.0 / n as f64 - 180.0;
                assert_eq!(TileId::containing(z, exact, lat), Some(t), "edge of {t}");
                // One bit north or west of the corner is in the neighbour.
                let north = TileId::containing(z, lon, lat.next_up()).unwrap();
                let west = TileId::containing(z, lon.next_down(), lat).unwrap();
                assert_eq!((north.x, north.y), (x, y - 1), "north of {t}");
                assert_eq!((west.x, west.y), (x - 1, y), "west of {t}");
                // Within nanometres of the corner computed through metres.
                let b = t.bounds_4326();
                assert!(
                    (b[0] - lon).abs() < 1e-12 && (b[3] - lat).abs() < 1e-12,
                    "{t}"
                );
                assert!(exact - lon < 1e-12, "{t}");
                // The corner is in the north-west child at every deeper zoom.
                for dz in 1..=(MAX_ZOOM - z).min(4) {
                    let c = TileId::containing(z + dz, lon, lat).unwrap();
                    assert_eq!((c.x, c.y), (x << dz, y << dz), "z+{dz} of {t}");
                }
            }
        }
    }

    #[test]
    fn the_rule_nests_across_zooms() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        for k in 0..20_000 {
            let (lon, lat) = if k % 2 == 0 {
                (
                    rng.random_range(-180.0..180.0),
                    rng.random_range(-86.0..86.0),
                )
            } else {
                // On an edge of some zoom: where the rule matters.
                let ze: u32 = rng.random_range(0..=20);
                let ne = (1u64 << ze) as f64;
                let x = rng.random_range(0..1u64 << ze) as f64;
                let y = rng.random_range(0..1u64 << ze);
                let lat = (std::f64::consts::PI * (1.0 - 2.0 * y as f64 / ne))
                    .sinh()
                    .atan()
                    .to_degrees();
                (x * 360.0 / ne - 180.0, lat)
            };
            let p = WorldFraction::from_lon_lat(lon, lat);
            for z in 0..20u8 {
                let (x, y) = p.index(z).unwrap();
                let (cx, cy) = p.index(z + 1).unwrap();
                assert_eq!((cx >> 1, cy >> 1), (x, y), "({lon}, {lat}) at z{z}");
            }
        }
    }

    #[test]
    fn poles_and_the_antimeridian_clamp_into_the_pyramid() {
        for z in [0u8, 1, 10, 16] {
            let last = (1u32 << z) - 1;
            let at = |lon: f64, lat: f64| TileId::containing(z, lon, lat).map(|t| (t.x, t.y));
            assert_eq!(at(-180.0, 90.0), Some((0, 0)));
            assert_eq!(at(-180.0, MAX_LAT), Some((0, 0)));
            assert_eq!(at(180.0, -90.0), Some((last, last)));
            assert_eq!(at(180.0, -MAX_LAT), Some((last, last)));
            assert_eq!(at(200.0, 0.0).map(|i| i.0), Some(last));
            assert_eq!(at(-200.0, 0.0).map(|i| i.0), Some(0));
            // The equator and the prime meridian are edges from z1 on: south-east wins.
            let mid = if z == 0 { 0 } else { 1 << (z - 1) };
            assert_eq!(at(0.0, 0.0), Some((mid, mid)));
            assert_eq!(at(f64::NAN, 0.0), None);
            assert_eq!(at(0.0, f64::INFINITY), Some((mid, 0)));
        }
        assert_eq!(TileId::containing(17, 119.0, 25.0), None);
        assert_eq!(
            WorldFraction::from_lon_lat(0.0, 0.0).index(31),
            Some((1 << 30, 1 << 30))
        );
    }

    #[test]
    fn the_rule_agrees_with_mercator_metres_off_the_edges() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        for _ in 0..10_000 {
            let (lon, lat) = (rng.random_range(118.0..120.0), rng.random_range(24.5..26.0));
            let (mx, my) = to_mercator(lon, lat);
            let z = rng.random_range(0..=MAX_ZOOM);
            let t = TileId::containing(z, lon, lat).unwrap();
            let ([x0, x1], [y0, y1]) = tiles_covering([mx, my, mx, my], z, 4096, 0).unwrap();
            let p = WorldFraction::from_lon_lat(lon, lat).in_tile(t, 4096);
            // Away from an edge (1/1000 of a tile) both ways must agree.
            if p.iter().all(|v| (4.0..4092.0).contains(v)) {
                assert_eq!(
                    (x0, x1, y0, y1),
                    (t.x, t.x, t.y, t.y),
                    "({lon}, {lat}) z{z}"
                );
            }
            assert!(p.iter().all(|v| (0.0..4096.0).contains(v)), "{p:?}");
        }
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

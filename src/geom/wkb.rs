//! (E)WKB to and from geo types, via geozero.

use geo_types::{Geometry, MultiPolygon};
use geozero::wkb::{Ewkb, Wkb};
use geozero::{CoordDimensions, ToGeo, ToWkb};

/// Decodes WKB (as `ST_AsBinary` returns it) or EWKB into a MultiPolygon. A Polygon is
/// promoted.
pub fn multipolygon_from_wkb(bytes: &[u8]) -> Result<MultiPolygon<f64>, String> {
    let geometry = match Wkb(bytes.to_vec()).to_geo() {
        Ok(g) => g,
        Err(_) => Ewkb(bytes.to_vec()).to_geo().map_err(|e| e.to_string())?,
    };
    match geometry {
        Geometry::MultiPolygon(mp) => Ok(mp),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(format!(
            "expected a (multi)polygon, got {}",
            geometry_type(&other)
        )),
    }
}

/// Encodes a MultiPolygon as EWKB with SRID 4326.
pub fn multipolygon_to_ewkb(mp: &MultiPolygon<f64>) -> Vec<u8> {
    Geometry::MultiPolygon(mp.clone())
        .to_ewkb(CoordDimensions::xy(), Some(4326))
        .unwrap_or_default()
}

/// Hex-encoded EWKB, the text form PostGIS accepts for geometry input (e.g. in COPY).
pub fn multipolygon_to_hex_ewkb(mp: &MultiPolygon<f64>) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = multipolygon_to_ewkb(mp);
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

pub fn geometry_type(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn ewkb_round_trip() {
        let mp = MultiPolygon(vec![
            polygon![(x: 119.0, y: 25.4), (x: 119.1, y: 25.4), (x: 119.0, y: 25.5)],
        ]);
        let bytes = multipolygon_to_ewkb(&mp);
        assert_eq!(multipolygon_from_wkb(&bytes).unwrap(), mp);
        assert!(multipolygon_to_hex_ewkb(&mp).starts_with("0106000020E6100000"));
    }
}

//! Harbours, anchorages and restricted zones as the state machine asks about them: the
//! nearest harbour to a point, the distance to one harbour, the zone a point is in.

use geo::{BoundingRect, Contains, Point, Polygon, Rect};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarbourKind {
    Harbour,
    Anchorage,
}

impl HarbourKind {
    pub fn code(self) -> &'static str {
        match self {
            HarbourKind::Harbour => "harbour",
            HarbourKind::Anchorage => "anchorage",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HarbourKind::Harbour => "渔港",
            HarbourKind::Anchorage => "锚地",
        }
    }

    pub fn parse(s: &str) -> Option<HarbourKind> {
        match s {
            "harbour" => Some(HarbourKind::Harbour),
            "anchorage" => Some(HarbourKind::Anchorage),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Harbour {
    pub id: i32,
    pub name: String,
    pub kind: HarbourKind,
    pub lon: f64,
    pub lat: f64,
    /// Where its approach channel meets open water.
    pub fairway: Option<(f64, f64)>,
    pub town_code: Option<String>,
}

/// Great-circle distance on the mean Earth sphere, metres (plenty for 3 and 4 km rules).
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().min(1.0).asin()
}

/// The harbours of the city (a few dozen: a scan with a cheap box test is fastest).
#[derive(Debug, Clone, Default)]
pub struct Harbours {
    list: Vec<Harbour>,
    by_id: HashMap<i32, usize>,
}

/// Degrees of latitude that surely hold `PORT_OUT_M` and more (box test before the distance).
const BOX_DEG: f64 = 0.06;

impl Harbours {
    pub fn new(list: Vec<Harbour>) -> Harbours {
        let by_id = list.iter().enumerate().map(|(i, h)| (h.id, i)).collect();
        Harbours { list, by_id }
    }

    pub fn list(&self) -> &[Harbour] {
        &self.list
    }

    pub fn get(&self, id: i32) -> Option<&Harbour> {
        self.by_id.get(&id).map(|i| &self.list[*i])
    }

    pub fn distance_to(&self, id: i32, lon: f64, lat: f64) -> Option<f64> {
        self.get(id).map(|h| distance_m(h.lon, h.lat, lon, lat))
    }

    /// The nearest harbour within about 6 km, and its distance.
    pub fn nearest(&self, lon: f64, lat: f64) -> Option<(i32, f64)> {
        let box_lon = BOX_DEG / lat.to_radians().cos().max(0.1);
        self.list
            .iter()
            .filter(|h| (h.lat - lat).abs() < BOX_DEG && (h.lon - lon).abs() < box_lon)
            .map(|h| (h.id, distance_m(h.lon, h.lat, lon, lat)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub id: i32,
    pub name: String,
    pub polygon: Polygon<f64>,
    bbox: Rect<f64>,
}

impl Zone {
    pub fn new(id: i32, name: String, polygon: Polygon<f64>) -> Option<Zone> {
        let bbox = polygon.bounding_rect()?;
        Some(Zone {
            id,
            name,
            polygon,
            bbox,
        })
    }
}

/// The restricted zones.
#[derive(Debug, Clone, Default)]
pub struct Zones {
    pub list: Vec<Zone>,
}

impl Zones {
    /// The zone holding the point, if any.
    pub fn containing(&self, lon: f64, lat: f64) -> Option<&Zone> {
        let p = Point::new(lon, lat);
        self.list.iter().find(|z| {
            let (min, max) = (z.bbox.min(), z.bbox.max());
            lon >= min.x && lon <= max.x && lat >= min.y && lat <= max.y && z.polygon.contains(&p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_agree_with_the_ellipsoid_to_a_fraction_of_a_percent() {
        use geo::{Distance, Geodesic};
        let (a, b) = (Point::new(119.0, 25.0), Point::new(119.03, 25.02));
        let g = Geodesic.distance(a, b);
        let s = distance_m(119.0, 25.0, 119.03, 25.02);
        assert!((g - s).abs() / g < 0.005, "{g} {s}");
    }
}

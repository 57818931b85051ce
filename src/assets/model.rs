//! What an asset is: its kind, the typed properties of each kind, and the checks a submitted
//! asset passes (every problem collected with its path, as profiles do).

use crate::profiles::{Checker, FieldError};
use geo::{Geometry, InteriorPoint, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::model::vocabulary;

vocabulary! {
    /// What an asset is.
    AssetKind, "设施类型" {
        Heritage = "heritage", "文物保护单位";
        Hydrant = "hydrant", "消火栓";
        Water = "water", "天然水源";
        Station = "station", "消防站";
        Sensor = "sensor", "传感器";
    }
}

vocabulary! {
    /// Protection level of a heritage site.
    HeritageLevel, "保护级别" {
        National = "national", "全国重点";
        Provincial = "provincial", "省级";
        Municipal = "municipal", "市级";
        County = "county", "县级";
    }
}

vocabulary! {
    Structure, "结构" {
        Wood = "wood", "木构";
        Brick = "brick", "砖木";
        Stone = "stone", "石构";
        Mixed = "mixed", "混合";
    }
}

vocabulary! {
    HydrantType, "消火栓类型" {
        Pillar = "pillar", "地上式";
        Underground = "underground", "地下式";
    }
}

vocabulary! {
    WaterType, "水源类型" {
        Pond = "pond", "池塘";
        Reservoir = "reservoir", "水库";
        River = "river", "河流取水点";
    }
}

vocabulary! {
    StationType, "消防站类型" {
        Professional = "professional", "专职消防站";
        Volunteer = "volunteer", "志愿/微型消防站";
    }
}

vocabulary! {
    SensorType, "传感器类型" {
        Smoke = "smoke", "烟感";
        Temperature = "temperature", "温感";
        Current = "current", "电气火灾";
        WaterLevel = "water_level", "水位";
    }
}

impl SensorType {
    /// The threshold used when a sensor sets none: smoke alarm state 1, 57 °C (the common
    /// rating of heat detectors), 300 mA of residual current, 2.5 m of water.
    pub fn default_threshold(self) -> f64 {
        match self {
            SensorType::Smoke => 1.0,
            SensorType::Temperature => 57.0,
            SensorType::Current => 300.0,
            SensorType::WaterLevel => 2.5,
        }
    }
}

/// A person responsible for a site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caretaker {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeritageProps {
    pub level: HeritageLevel,
    pub structure: Structure,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caretaker: Option<Caretaker>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HydrantProps {
    #[serde(rename = "type")]
    pub kind: HydrantType,
    pub flow_lps: f64,
    pub pressure_mpa: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inspection: Option<chrono::NaiveDate>,
}

/// Flow classes of hydrants as the map colours them.
pub fn flow_class(flow_lps: f64) -> &'static str {
    if flow_lps >= 15.0 {
        "high"
    } else if flow_lps >= 10.0 {
        "medium"
    } else {
        "low"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaterProps {
    #[serde(rename = "type")]
    pub kind: WaterType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_m3: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationProps {
    #[serde(rename = "type")]
    pub kind: StationType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorProps {
    #[serde(rename = "type")]
    pub kind: SensorType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_s: Option<u32>,
}

pub const DEFAULT_DEBOUNCE: u32 = 3;
pub const DEFAULT_SILENCE_S: u32 = 1800;

impl SensorProps {
    pub fn threshold(&self) -> f64 {
        self.threshold
            .unwrap_or_else(|| self.kind.default_threshold())
    }
    pub fn debounce(&self) -> u32 {
        self.debounce.unwrap_or(DEFAULT_DEBOUNCE)
    }
    pub fn silence_s(&self) -> u32 {
        self.silence_s.unwrap_or(DEFAULT_SILENCE_S)
    }
}

/// The properties of an asset, typed by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Heritage(HeritageProps),
    Hydrant(HydrantProps),
    Water(WaterProps),
    Station(StationProps),
    Sensor(SensorProps),
}

impl Spec {
    pub fn kind(&self) -> AssetKind {
        match self {
            Spec::Heritage(_) => AssetKind::Heritage,
            Spec::Hydrant(_) => AssetKind::Hydrant,
            Spec::Water(_) => AssetKind::Water,
            Spec::Station(_) => AssetKind::Station,
            Spec::Sensor(_) => AssetKind::Sensor,
        }
    }

    /// Reads the properties of a `kind` from JSON.
    pub fn from_json(kind: AssetKind, props: Value) -> Result<Spec, serde_json::Error> {
        Ok(match kind {
            AssetKind::Heritage => Spec::Heritage(serde_json::from_value(props)?),
            AssetKind::Hydrant => Spec::Hydrant(serde_json::from_value(props)?),
            AssetKind::Water => Spec::Water(serde_json::from_value(props)?),
            AssetKind::Station => Spec::Station(serde_json::from_value(props)?),
            AssetKind::Sensor => Spec::Sensor(serde_json::from_value(props)?),
        })
    }

    /// The properties as stored (and answered, before masking).
    pub fn to_json(&self) -> Value {
        let v = match self {
            Spec::Heritage(p) => serde_json::to_value(p),
            Spec::Hydrant(p) => serde_json::to_value(p),
            Spec::Water(p) => serde_json::to_value(p),
            Spec::Station(p) => serde_json::to_value(p),
            Spec::Sensor(p) => serde_json::to_value(p),
        };
        v.unwrap_or(Value::Null)
    }

    fn check(&self, c: &mut Checker) {
        match self {
            Spec::Heritage(p) => {
                if let Some(y) = p.year
                    && !(-3000..=2100).contains(&y)
                {
                    c.fail(
                        "props.year",
                        "年代应在 -3000 到 2100 之间 (year must be -3000..=2100)",
                    );
                }
                if let Some(t) = &p.caretaker {
                    c.text("props.caretaker.name", &t.name, crate::profiles::MAX_NAME);
                    if !t.phone.is_empty() && !crate::profiles::mask::valid_phone(&t.phone) {
                        c.fail(
                            "props.caretaker.phone",
                            "电话号码格式不正确 (not a phone number)",
                        );
                    }
                }
            }
            Spec::Hydrant(p) => {
                if !p.flow_lps.is_finite() || !(0.0..=200.0).contains(&p.flow_lps) {
                    c.fail(
                        "props.flow_lps",
                        "流量应在 0 到 200 L/s 之间 (flow must be 0..=200 L/s)",
                    );
                }
                if !p.pressure_mpa.is_finite() || !(0.0..=2.0).contains(&p.pressure_mpa) {
                    c.fail(
                        "props.pressure_mpa",
                        "压力应在 0 到 2 MPa 之间 (pressure must be 0..=2 MPa)",
                    );
                }
                if let Some(d) = p.last_inspection
                    && (d.year() < 1990 || d > chrono::Utc::now().date_naive())
                {
                    c.fail("props.last_inspection", "检查日期应在 1990 年之后且不晚于今天 (inspection date must be 1990..today)");
                }
            }
            Spec::Water(p) => {
                if let Some(v) = p.capacity_m3
                    && (!v.is_finite() || !(0.0..=1e10).contains(&v))
                {
                    c.fail(
                        "props.capacity_m3",
                        "容量应为 0 到 1e10 的数 (capacity must be 0..=1e10 m³)",
                    );
                }
            }
            Spec::Station(_) => {}
            Spec::Sensor(p) => {
                if let Some(t) = p.threshold
                    && (!t.is_finite() || t.abs() > 1e6)
                {
                    c.fail(
                        "props.threshold",
                        "阈值应为有限数值 (threshold must be a finite number)",
                    );
                }
                if let Some(n) = p.debounce
                    && !(1..=20).contains(&n)
                {
                    c.fail(
                        "props.debounce",
                        "连续超限次数应在 1 到 20 之间 (debounce must be 1..=20)",
                    );
                }
                if let Some(s) = p.silence_s
                    && !(60..=604_800).contains(&s)
                {
                    c.fail(
                        "props.silence_s",
                        "失联时限应在 60 到 604800 秒之间 (silence_s must be 60..=604800)",
                    );
                }
            }
        }
    }
}

use chrono::Datelike;

/// An asset as a client submits it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetBody {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub geometry: Option<Value>,
    #[serde(default)]
    pub crs: Option<String>,
    #[serde(default)]
    pub in_service: Option<bool>,
    #[serde(default)]
    pub props: Value,
    #[serde(default)]
    pub allow_outside: bool,
    #[serde(default)]
    pub version: Option<i32>,
}

/// A checked asset, before it is placed in the area tree.
#[derive(Debug, Clone)]
pub struct AssetDraft {
    pub name: String,
    pub spec: Spec,
    /// WGS84: the point, or a polygon's interior point.
    pub lon: f64,
    pub lat: f64,
    /// The geometry as GeoJSON text (a point or a polygon), WGS84.
    pub geojson: String,
    pub in_service: bool,
    pub allow_outside: bool,
}

/// Why a submitted asset is refused.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(
        "未知的设施类型 \"{0}\"；可用：heritage, hydrant, water, station, sensor (unknown kind)"
    )]
    UnknownKind(String),
    #[error("设施数据有 {} 处问题 (the asset has {} problems)", .0.len(), .0.len())]
    Invalid(Vec<FieldError>),
}

const MAX_VERTICES: usize = 50_000;

impl AssetBody {
    /// Checks every field; `kind` is the asset's kind when it is fixed (an edit).
    pub fn check(self, crs_default: crate::crs::Crs) -> Result<AssetDraft, DraftError> {
        let kind = AssetKind::parse(&self.kind)
            .ok_or_else(|| DraftError::UnknownKind(self.kind.chars().take(40).collect()))?;
        let mut c = Checker::default();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            c.fail(
                "name",
                "名称应为 1 到 200 个字符 (name must be 1–200 characters)",
            );
        }
        c.text("name", &name, 200);
        let props = if self.props.is_null() {
            Value::Object(Default::default())
        } else {
            self.props
        };
        let spec = match Spec::from_json(kind, props) {
            Ok(s) => {
                s.check(&mut c);
                Some(s)
            }
            Err(e) => {
                c.fail(
                    "props",
                    format!(
                        "属性不符合 {} 的要求 (props do not fit kind '{}'): {e}",
                        kind.label(),
                        kind.code()
                    ),
                );
                None
            }
        };
        let crs = match self.crs.as_deref() {
            None => Some(crs_default),
            Some(s) => match s.parse::<crate::crs::Crs>() {
                Ok(c) => Some(c),
                Err(e) => {
                    c.fail("crs", e.to_string());
                    None
                }
            },
        };
        let place = match (self.geometry, self.lon, self.lat) {
            (Some(g), None, None) => geometry_place(g, &mut c),
            (None, Some(lon), Some(lat)) => {
                c.lon_lat("lon", lon, lat);
                Some((lon, lat, None))
            }
            _ => {
                c.fail("geometry", "请给出 lon 和 lat，或一个 GeoJSON geometry (give lon and lat, or a GeoJSON geometry)");
                None
            }
        };
        let result = c.finish();
        let (Some(spec), Some(crs), Some((lon, lat, geom))) = (spec, crs, place) else {
            return Err(DraftError::Invalid(result.err().unwrap_or_default()));
        };
        result.map_err(DraftError::Invalid)?;
        let (lon, lat) = crs.to_wgs84(lon, lat);
        let geojson = match geom {
            None => format!(r#"{{"type":"Point","coordinates":[{lon},{lat}]}}"#),
            Some(g) => {
                let g = to_wgs84(g, crs);
                geojson::Geometry::new(geojson::Value::from(&g)).to_string()
            }
        };
        Ok(AssetDraft {
            name,
            spec,
            lon,
            lat,
            geojson,
            in_service: self.in_service.unwrap_or(true),
            allow_outside: self.allow_outside,
        })
    }
}

fn to_wgs84(mut g: Geometry<f64>, crs: crate::crs::Crs) -> Geometry<f64> {
    use geo::MapCoordsInPlace;
    g.map_coords_in_place(|c| {
        let (x, y) = crs.to_wgs84(c.x, c.y);
        geo::Coord { x, y }
    });
    g
}

/// A GeoJSON geometry as a place: its interior point and the geometry (points give none).
fn geometry_place(v: Value, c: &mut Checker) -> Option<(f64, f64, Option<Geometry<f64>>)> {
    let g: geojson::Geometry = match serde_json::from_value(v) {
        Ok(g) => g,
        Err(e) => {
            c.fail(
                "geometry",
                format!("不是合法的 GeoJSON 几何 (not a GeoJSON geometry): {e}"),
            );
            return None;
        }
    };
    let g: Geometry<f64> = match Geometry::try_from(g) {
        Ok(g) => g,
        Err(e) => {
            c.fail(
                "geometry",
                format!("无法读取几何 (unreadable geometry): {e}"),
            );
            return None;
        }
    };
    use geo::CoordsIter;
    if g.coords_count() > MAX_VERTICES {
        c.fail(
            "geometry",
            format!("顶点过多，最多 {MAX_VERTICES} 个 (at most {MAX_VERTICES} vertices)"),
        );
        return None;
    }
    if g.coords_iter().any(|p| {
        !p.x.is_finite()
            || !p.y.is_finite()
            || !(-180.0..=180.0).contains(&p.x)
            || !(-90.0..=90.0).contains(&p.y)
    }) {
        c.fail(
            "geometry",
            "坐标无效 (coordinates must be lon -180..180, lat -90..90)",
        );
        return None;
    }
    match &g {
        Geometry::Point(p) => Some((p.x(), p.y(), None)),
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => {
            if let Err(e) = g.check_validation() {
                let why = e.to_string();
                c.fail("geometry", format!("多边形无效 (invalid polygon): {why}"));
                return None;
            }
            let p = g.interior_point()?;
            Some((p.x(), p.y(), Some(g)))
        }
        _ => {
            c.fail(
                "geometry",
                "只接受 Point、Polygon 或 MultiPolygon (only Point, Polygon or MultiPolygon)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::Crs;
    use serde_json::json;

    fn body(v: Value) -> AssetBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_hydrant_passes_and_every_problem_is_named() {
        let ok = body(
            json!({"kind": "hydrant", "name": "1号栓", "lon": 119.0, "lat": 25.4,
            "props": {"type": "pillar", "flow_lps": 15.0, "pressure_mpa": 0.3}}),
        );
        let d = ok.check(Crs::Wgs84).unwrap();
        assert_eq!(d.spec.kind(), AssetKind::Hydrant);
        let bad = body(
            json!({"kind": "消火栓", "name": " ", "lon": 119.0, "lat": 95.0,
            "props": {"type": "pillar", "flow_lps": -1.0, "pressure_mpa": 9.0}}),
        );
        let Err(DraftError::Invalid(errs)) = bad.check(Crs::Wgs84) else {
            panic!()
        };
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        for p in ["name", "props.flow_lps", "props.pressure_mpa", "lon"] {
            assert!(paths.contains(&p), "{p} in {paths:?}");
        }
    }

    #[test]
    fn unknown_kinds_fields_and_bad_polygons_are_refused() {
        assert!(matches!(
            body(json!({"kind": "tower", "name": "x", "lon": 1.0, "lat": 1.0})).check(Crs::Wgs84),
            Err(DraftError::UnknownKind(_))
        ));
        let extra = body(
            json!({"kind": "station", "name": "x", "lon": 119.0, "lat": 25.4,
            "props": {"type": "volunteer", "colour": "red"}}),
        );
        assert!(matches!(
            extra.check(Crs::Wgs84),
            Err(DraftError::Invalid(_))
        ));
        // A bow tie.
        let bow = body(json!({"kind": "heritage", "name": "x",
            "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]},
            "props": {"level": "county", "structure": "wood"}}));
        let Err(DraftError::Invalid(errs)) = bow.check(Crs::Wgs84) else {
            panic!()
        };
        assert_eq!(errs[0].path, "geometry");
        let square = body(json!({"kind": "heritage", "name": "x",
            "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]},
            "props": {"level": "county", "structure": "wood"}}));
        let d = square.check(Crs::Wgs84).unwrap();
        assert!((d.lon - 0.5).abs() < 0.5 && d.geojson.contains("Polygon"));
    }
}

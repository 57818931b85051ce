//! New layouts and single edits of areas: GeoJSON in, checked, applied in one transaction or
//! rejected whole with a report. Used by `onemap import areas FILE` and `PUT /api/areas/{code}`.

use crate::model::{AreaCode, Level};
use crate::store::edit::AreaDraft;
use geo_types::{Geometry, MultiPolygon};
use serde::Serialize;

/// A problem found in the input before anything touches the database.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputProblem {
    /// Which feature (0-based) of the file, if the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub kind: &'static str,
    pub message: String,
}

fn problem(
    feature: Option<usize>,
    code: Option<&str>,
    kind: &'static str,
    message: String,
) -> InputProblem {
    InputProblem {
        feature,
        code: code.map(str::to_string),
        kind,
        message,
    }
}

/// Reads a GeoJSON document (FeatureCollection, or one Feature) into area drafts.
pub fn drafts_from_geojson(text: &str) -> Result<Vec<AreaDraft>, Vec<InputProblem>> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        vec![problem(
            None,
            None,
            "malformed_json",
            format!("文件不是合法的 JSON (not valid JSON): {e}"),
        )]
    })?;
    check_crs_member(&value).map_err(|p| vec![p])?;
    let features: Vec<serde_json::Value> = match value.get("type").and_then(|t| t.as_str()) {
        Some("FeatureCollection") => value
            .get("features")
            .and_then(|f| f.as_array())
            .cloned()
            .unwrap_or_default(),
        Some("Feature") => vec![value.clone()],
        _ => {
            return Err(vec![problem(
                None,
                None,
                "not_geojson",
                "应为 GeoJSON FeatureCollection 或 Feature (expected a GeoJSON FeatureCollection or Feature)".into(),
            )]);
        }
    };
    let mut drafts = Vec::new();
    let mut problems = Vec::new();
    for (i, f) in features.iter().enumerate() {
        match draft_from_feature(f, None, Some(i)) {
            Ok(d) => drafts.push(d),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if drafts.is_empty() && problems.is_empty() {
        problems.push(problem(
            None,
            None,
            "empty",
            "文件中没有要素 (the file has no features)".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for d in &drafts {
        if !seen.insert(d.code.as_str().to_string()) {
            problems.push(problem(
                None,
                Some(d.code.as_str()),
                "duplicate_code",
                format!("编码 {} 出现了多次 (code appears more than once)", d.code),
            ));
        }
    }
    if problems.is_empty() {
        Ok(drafts)
    } else {
        Err(problems)
    }
}

/// The legacy GeoJSON `crs` member: only WGS84 / CGCS2000 lon/lat are accepted.
fn check_crs_member(v: &serde_json::Value) -> Result<(), InputProblem> {
    let Some(name) = v.pointer("/crs/properties/name").and_then(|n| n.as_str()) else {
        return Ok(());
    };
    let n = name.to_ascii_uppercase();
    if [
        "CRS84",
        "EPSG::4326",
        "EPSG:4326",
        "EPSG::4490",
        "EPSG:4490",
    ]
    .iter()
    .any(|ok| n.ends_with(ok))
    {
        return Ok(());
    }
    Err(problem(
        None,
        None,
        "wrong_srid",
        format!(
            "坐标系 {name} 不受支持，请使用 WGS84/CGCS2000 经纬度 (EPSG:4326) (unsupported CRS {name}: use lon/lat in EPSG:4326)"
        ),
    ))
}

/// Reads one GeoJSON Feature. `code` overrides the feature's own (for `PUT /api/areas/{code}`).
pub fn draft_from_feature(
    f: &serde_json::Value,
    code: Option<&str>,
    index: Option<usize>,
) -> Result<AreaDraft, Vec<InputProblem>> {
    let mut problems = Vec::new();
    if f.get("type").and_then(|t| t.as_str()) != Some("Feature") {
        return Err(vec![problem(
            index,
            code,
            "not_a_feature",
            "应为 GeoJSON Feature (expected a GeoJSON Feature)".into(),
        )]);
    }
    if let Err(p) = check_crs_member(f) {
        problems.push(p);
    }
    let props = f
        .get("properties")
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let code_text = code.map(str::to_string).or_else(|| {
        props.get("code").and_then(|c| {
            c.as_str()
                .map(str::to_string)
                .or_else(|| c.as_u64().map(|n| n.to_string()))
        })
    });
    let Some(code_text) = code_text else {
        problems.push(problem(
            index,
            None,
            "missing_code",
            "要素缺少 properties.code (feature has no properties.code)".into(),
        ));
        return Err(problems);
    };
    let code = match AreaCode::parse(&code_text) {
        Ok(c) => c,
        Err(e) => {
            problems.push(problem(
                index,
                Some(&code_text),
                "bad_code",
                format!("编码无效 (invalid code): {e}"),
            ));
            return Err(problems);
        }
    };
    let level = match props.get("level").and_then(|l| l.as_str()) {
        Some(l) => match l.parse::<Level>() {
            Ok(l) => Some(l),
            Err(e) => {
                problems.push(problem(
                    index,
                    Some(code.as_str()),
                    "bad_level",
                    e.to_string(),
                ));
                None
            }
        },
        None => code.implied_level(),
    };
    let parent = match props.get("parent").and_then(|p| p.as_str()) {
        Some(p) => match AreaCode::parse(p) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(problem(
                    index,
                    Some(code.as_str()),
                    "bad_parent",
                    format!("上级编码无效 (invalid parent code): {e}"),
                ));
                None
            }
        },
        None => code.implied_parent(),
    };
    let name = props
        .get("name")
        .and_then(|n| n.as_str())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        problems.push(problem(
            index,
            Some(code.as_str()),
            "bad_name",
            "名称不能超过 200 个字符 (name longer than 200 characters)".into(),
        ));
    }
    let geom = match f.get("geometry") {
        None | Some(serde_json::Value::Null) => None,
        Some(g) => match geometry_from_geojson(g) {
            Ok(mp) => Some(mp),
            Err((kind, msg)) => {
                problems.push(problem(index, Some(code.as_str()), kind, msg));
                None
            }
        },
    };
    let mut extra = props;
    for k in ["code", "name", "level", "parent"] {
        extra.remove(k);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AreaDraft {
        code,
        level,
        parent,
        name,
        geom,
        props: extra,
    })
}

/// Reads a Polygon or MultiPolygon, checking coordinates are lon/lat degrees.
fn geometry_from_geojson(
    g: &serde_json::Value,
) -> Result<MultiPolygon<f64>, (&'static str, String)> {
    let geometry = geojson::Geometry::from_json_value(g.clone()).map_err(|e| {
        (
            "bad_geometry",
            format!("几何无法解析 (cannot read the geometry): {e}"),
        )
    })?;
    let geo: Geometry<f64> = geometry.try_into().map_err(|e: geojson::Error| {
        (
            "bad_geometry",
            format!("几何无法解析 (cannot read the geometry): {e}"),
        )
    })?;
    let mp = match geo {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(mp) => mp,
        other => {
            return Err((
                "wrong_geometry_type",
                format!(
                    "几何类型应为 Polygon 或 MultiPolygon，实际为 {} (geometry must be a Polygon or MultiPolygon)",
                    crate::geom::wkb::geometry_type(&other)
                ),
            ));
        }
    };
    let bad =
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.iter())
            .find(|c| {
                !c.x.is_finite()
                    || !c.y.is_finite()
                    || !(-180.0..=180.0).contains(&c.x)
                    || !(-90.0..=90.0).contains(&c.y)
            });
    if let Some(c) = bad {
        return Err((
            "wrong_srid",
            format!(
                "坐标 ({}, {}) 不是经纬度，请使用 WGS84/CGCS2000 经纬度 (EPSG:4326) (coordinates are not lon/lat degrees; projected data must be reprojected to EPSG:4326)",
                c.x, c.y
            ),
        ));
    }
    if mp.0.is_empty() {
        return Err(("empty_geometry", "几何为空 (the geometry is empty)".into()));
    }
    Ok(mp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(props: serde_json::Value, coords: serde_json::Value) -> String {
        serde_json::json!({"type":"FeatureCollection","features":[{"type":"Feature","properties":props,"geometry":{"type":"Polygon","coordinates":coords}}]}).to_string()
    }

    #[test]
    fn reads_a_grid_and_implies_level_and_parent_from_the_code() {
        let doc = feature(
            serde_json::json!({"code":"350304100001001","name":"一网格","worker":"张"}),
            serde_json::json!([[
                [119.0, 25.4],
                [119.01, 25.4],
                [119.01, 25.41],
                [119.0, 25.4]
            ]]),
        );
        let d = drafts_from_geojson(&doc).unwrap();
        assert_eq!(d[0].level, Some(Level::Grid));
        assert_eq!(d[0].parent.as_ref().unwrap().as_str(), "350304100001");
        assert_eq!(d[0].props.get("worker").unwrap(), "张");
    }

    #[test]
    fn rejects_projected_coordinates_and_other_crs() {
        let doc = feature(
            serde_json::json!({"code":"350304100001001"}),
            serde_json::json!([[
                [13247000.0, 2920000.0],
                [13248000.0, 2920000.0],
                [13248000.0, 2921000.0],
                [13247000.0, 2920000.0]
            ]]),
        );
        assert_eq!(drafts_from_geojson(&doc).unwrap_err()[0].kind, "wrong_srid");
        let doc = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}"#;
        assert_eq!(drafts_from_geojson(doc).unwrap_err()[0].kind, "wrong_srid");
        assert_eq!(
            drafts_from_geojson("{nope").unwrap_err()[0].kind,
            "malformed_json"
        );
    }
}

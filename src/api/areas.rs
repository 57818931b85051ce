//! `GET /api/areas`, `GET /api/areas/{code}` and `PUT /api/areas/{code}`.

use super::AppState;
use super::access::Who;
use super::error::{ApiError, Json, Params};
use crate::import::draft_from_feature;
use crate::model::{AreaCode, Level};
use crate::store::areas::AreaFilter;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn parse_code(code: &str) -> Result<AreaCode, ApiError> {
    AreaCode::parse(code).map_err(|e| {
        ApiError::bad_request("bad_code", format!("区域编码无效 (invalid area code): {e}"))
    })
}

/// `GET /api/areas?level=&parent=&q=&limit=&offset=`
pub async fn list(
    State(state): State<AppState>,
    who: Who,
    params: Params,
) -> Result<Response, ApiError> {
    let level = params
        .get("level")
        .map(|l| {
            l.parse::<Level>()
                .map_err(|e| ApiError::bad_request("bad_level", e.to_string()))
        })
        .transpose()?;
    let parent = params
        .get("parent")
        .map(parse_code)
        .transpose()?
        .map(|c| c.to_string());
    let q = params.get("q").map(|q| q.trim().to_string());
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "out_of_range",
            "搜索词不能超过 100 个字符 (q longer than 100 characters)",
        ));
    }
    let filter = AreaFilter {
        level,
        parent,
        q,
        within: (!who.sees_city()).then(|| who.0.scope.code().to_string()),
        limit: params.integer_in("limit", 1..=1000, 50)?,
        offset: params.integer_in("offset", 0..=10_000_000, 0)?,
    };
    let areas = state.store.list_areas(&filter).await?;
    Ok(axum::Json(json!({ "count": areas.len(), "areas": areas })).into_response())
}

/// `GET /api/areas/{code}?geometry=true`
pub async fn detail(
    State(state): State<AppState>,
    Path(code): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let code = parse_code(&code)?;
    let with_geometry = params.flag("geometry")?;
    Ok(axum::Json(area_json(&state, code.as_str(), with_geometry).await?).into_response())
}

async fn area_json(state: &AppState, code: &str, with_geometry: bool) -> Result<Value, ApiError> {
    let Some(area) = state.store.area(code).await? else {
        return Err(ApiError::not_found(format!(
            "没有编码为 {code} 的区域 (no area with code {code})"
        )));
    };
    let chain = state.store.ancestors(code).await?;
    let counts = state.store.descendant_counts(code).await?;
    let (km2, bbox, geometry) = state
        .store
        .area_measures(code, with_geometry)
        .await?
        .unwrap_or((0.0, [0.0; 4], None));
    let child_counts: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(l, n)| (l.as_str().to_string(), json!(n)))
        .collect();
    let children = area
        .level
        .child()
        .and_then(|c| counts.iter().find(|(l, _)| *l == c))
        .map(|(_, n)| *n)
        .unwrap_or(0);
    let mut v = json!({
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "level_name": area.level.label_zh(),
        "parent": area.parent,
        "chain": chain.iter().map(|a| json!({"code": a.code, "name": a.name, "level": a.level})).collect::<Vec<_>>(),
        "children": children,
        "child_counts": child_counts,
        "area_km2": (km2 * 1e4).round() / 1e4,
        "bbox": bbox,
        "properties": area.props,
        "version": area.version,
        "updated_at": area.updated_at,
    });
    if let Some(g) = geometry {
        v["geometry"] = g;
    }
    Ok(v)
}

/// `PUT /api/areas/{code}` with a GeoJSON Feature (geometry and/or properties; `name` and
/// `parent` among the properties). Creates the area if it does not exist. Validated first and
/// applied in one transaction; refused whole (422) with a report of what is wrong.
pub async fn put(
    State(state): State<AppState>,
    Path(code): Path<String>,
    params: Params,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let code = parse_code(&code)?;
    let allow_gaps = params.flag("allow_gaps")?;
    if let Some(other) = body.pointer("/properties/code").and_then(|c| c.as_str())
        && other != code.as_str()
    {
        return Err(ApiError::bad_request(
            "code_mismatch",
            format!(
                "路径中的编码 {code} 与 properties.code {other} 不一致 (the code in the path and in properties differ)"
            ),
        ));
    }
    let draft = draft_from_feature(&body, Some(code.as_str()), None).map_err(|problems| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_area",
            "区域数据有误，未作任何修改 (the area is invalid; nothing was changed)",
        )
        .with_details(json!({ "problems": problems }))
    })?;
    let report = state.store.apply_drafts(&[draft], allow_gaps).await?;
    if !report.applied {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("修改未通过校验，未作任何修改 (the change failed validation; nothing was changed): {}", report.problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("；")),
        )
        .with_details(json!({ "problems": report.problems })));
    }
    let status = if report.created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut v = area_json(&state, code.as_str(), false).await?;
    v["warnings"] = json!(report.warnings);
    Ok((status, axum::Json(v)).into_response())
}

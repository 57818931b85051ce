//! `/api/enterprises` (一企一档): list, create, read and change enterprises, each assigned to
//! its unit by the index when it is placed.

use super::AppState;
use super::access::Who;
use super::error::{ApiError, Json, Params};
use super::profiles::author;
use crate::profiles::mask::{mask_phone, valid_phone};
use crate::store::enterprises::{EnterpriseRow, EnterpriseWrite};
use crate::store::profiles::Write;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseBody {
    pub name: String,
    #[serde(default)]
    pub credit_code: Option<String>,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub scale: String,
    #[serde(default)]
    pub employees: i64,
    #[serde(default)]
    pub legal_person: String,
    #[serde(default)]
    pub phone: String,
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub version: Option<i32>,
}

fn bad(msg: &str) -> ApiError {
    ApiError::bad_request("invalid_enterprise", msg.to_string())
}

fn enterprise_json(state: &AppState, r: &EnterpriseRow) -> Value {
    let names = state.analytics.names();
    let name = |c: &Option<String>| {
        c.as_deref()
            .and_then(|c| names.get(c))
            .map(|n| n.name.to_string())
    };
    let masked = !r.phone.is_empty();
    json!({
        "id": r.id, "name": r.name, "credit_code": r.credit_code, "industry": r.industry, "scale": r.scale,
        "employees": r.employees, "legal_person": r.legal_person, "phone": mask_phone(&r.phone),
        "lon": r.lon, "lat": r.lat,
        "unit_code": r.unit_code, "grid_code": r.grid_code, "village_code": r.village_code,
        "town_code": r.town_code, "district_code": r.district_code,
        "unit_name": name(&r.unit_code), "grid_name": name(&r.grid_code), "village_name": name(&r.village_code),
        "town_name": name(&r.town_code), "district_name": name(&r.district_code),
        "version": r.version, "updated_at": r.updated_at,
        "masked": if masked { vec!["phone"] } else { Vec::new() },
    })
}

/// Checks a body and places its point: the write, or a 400 that names the field.
fn check(
    state: &AppState,
    b: EnterpriseBody,
    stored_phone: Option<&str>,
) -> Result<EnterpriseWrite, ApiError> {
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad(
            "name 应为 1 到 200 个字符 (name must be 1–200 characters)",
        ));
    }
    let credit_code = b
        .credit_code
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    if let Some(c) = &credit_code
        && (c.len() != 18
            || !c
                .chars()
                .all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase()))
    {
        return Err(bad(
            "credit_code 应为 18 位数字或大写字母 (credit_code must be 18 digits or capital letters)",
        ));
    }
    if b.industry.chars().count() > 50 || b.legal_person.chars().count() > 50 {
        return Err(bad(
            "industry 和 legal_person 最多 50 个字符 (at most 50 characters)",
        ));
    }
    if !b.scale.is_empty() && !crate::ledgers::catalog::SCALES.contains(&b.scale.as_str()) {
        return Err(bad(
            "scale 应为 微型、小型、中型 或 大型 (scale must be one of 微型, 小型, 中型, 大型)",
        ));
    }
    if !(0..=10_000_000).contains(&b.employees) {
        return Err(bad(
            "employees 应为 0 到 10000000 的整数 (employees must be 0..=10000000)",
        ));
    }
    // A phone sent back masked keeps the stored one.
    let phone = match stored_phone {
        Some(s) if b.phone.contains('*') && mask_phone(s) == b.phone => s.to_string(),
        _ => b.phone.trim().to_string(),
    };
    if !phone.is_empty() && !valid_phone(&phone) {
        return Err(bad(
            "phone 应为 5–20 位数字（可含 +、-、空格） (phone must be 5–20 digits)",
        ));
    }
    if !b.lon.is_finite()
        || !b.lat.is_finite()
        || !(-180.0..=180.0).contains(&b.lon)
        || !(-90.0..=90.0).contains(&b.lat)
    {
        return Err(ApiError::bad_request(
            "invalid_coordinates",
            "lon 应在 -180 到 180、lat 在 -90 到 90 之间 (invalid coordinates)",
        ));
    }
    if !state.index.is_loaded() {
        return Err(ApiError::unavailable(
            "空间索引正在加载，请稍后重试 (the index is still loading)",
        ));
    }
    let a = state.index.snapshot().assign(b.lon, b.lat, 0.0);
    if !a.assigned {
        return Err(ApiError::bad_request(
            "outside_city",
            "该位置不在任何单元内，请检查坐标 (the point is in no unit of the city; check lon/lat, WGS-84)",
        ));
    }
    let c = &a.chain;
    let code = |r: &Option<crate::model::AreaRef>| r.as_ref().map(|r| r.code.to_string());
    Ok(EnterpriseWrite {
        name,
        credit_code,
        industry: b.industry.trim().to_string(),
        scale: b.scale,
        employees: b.employees as i32,
        legal_person: b.legal_person.trim().to_string(),
        phone,
        lon: b.lon,
        lat: b.lat,
        chain: [
            code(&c.unit),
            code(&c.grid),
            code(&c.village),
            code(&c.town),
            code(&c.district),
        ],
    })
}

/// `GET /api/enterprises?area=&q=&limit=&offset=`
pub async fn list(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    let limit = p.integer_in("limit", 1..=1000, 50)?;
    let offset = p.integer_in("offset", 0..=10_000_000, 0)?;
    let names = state.analytics.names();
    let area = match p.get("area") {
        None => None,
        Some(code) => {
            let level = names.get(code.trim()).map(|n| n.level).ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_area",
                    format!(
                        "没有编码为 {} 的区域 (no such area)",
                        code.chars().take(40).collect::<String>()
                    ),
                )
            })?;
            Some((level, code.trim()))
        }
    };
    let q = p.get("q").map(str::trim);
    if q.is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "q 最多 100 个字符 (q is at most 100 characters)",
        ));
    }
    let (rows, total) = state.store.enterprises(area, q, limit, offset).await?;
    Ok(axum::Json(json!({"items": rows.iter().map(|r| enterprise_json(&state, r)).collect::<Vec<_>>(), "total": total})).into_response())
}

/// `POST /api/enterprises`
pub async fn create(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    Json(body): Json<EnterpriseBody>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    let w = check(&state, body, None)?;
    who.require_chain(&w.chain)?;
    let row = state.store.insert_enterprise(&w).await?;
    tracing::info!(id = row.id, by = %by, "enterprise added");
    Ok((
        StatusCode::CREATED,
        axum::Json(enterprise_json(&state, &row)),
    )
        .into_response())
}

fn id_of(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| {
        ApiError::not_found(format!(
            "没有编号为 {} 的企业 (no such enterprise)",
            id.chars().take(20).collect::<String>()
        ))
    })
}

/// `GET /api/enterprises/{id}`
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let row = state.store.enterprise(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("没有编号为 {id} 的企业 (no such enterprise)"))
    })?;
    Ok(axum::Json(enterprise_json(&state, &row)).into_response())
}

/// `PUT /api/enterprises/{id}` (carries `version`)
pub async fn put(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<EnterpriseBody>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    let id = id_of(&id)?;
    let stored = state.store.enterprise(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("没有编号为 {id} 的企业 (no such enterprise)"))
    })?;
    let version = body
        .version
        .ok_or_else(|| bad("修改企业须带上 version (give the version you edited)"))?;
    let w = check(&state, body, Some(&stored.phone))?;
    who.require_chain(&w.chain)?;
    match state.store.update_enterprise(id, version, &w).await? {
        Write::Stored(row) => {
            tracing::info!(id, by = %by, "enterprise changed");
            Ok(axum::Json(enterprise_json(&state, &row)).into_response())
        }
        Write::Conflict(c) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "version_conflict",
            format!("企业信息已被他人修改（当前版本 {c}），请刷新后重试 (changed by someone else: the current version is {c})"),
        )
        .with_details(json!({"current_version": c}))),
        Write::Missing => Err(ApiError::not_found("企业不存在 (no such enterprise)")),
    }
}

//! `/api/assets`: heritage sites, hydrants, natural water, fire stations and sensors on the
//! map (docs/FIRE.md). Checked by `assets::model`, placed by `Fire::place`, stored by
//! `store::assets`; the fire engine hears of every write through the change feed.

use super::AppState;
use super::access::Who;
use super::error::{ApiError, Json, Params};
use super::profiles::author;
use crate::assets::model::{AssetBody, AssetKind, DraftError};
use crate::assets::{Fire, PlaceError};
use crate::profiles::mask::mask_phone;
use crate::store::assets::AssetRow;
use crate::store::profiles::Write;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

impl From<DraftError> for ApiError {
    fn from(e: DraftError) -> ApiError {
        let text = e.to_string();
        match e {
            DraftError::UnknownKind(_) => ApiError::bad_request("unknown_kind", text),
            DraftError::Invalid(errors) => {
                let first = errors
                    .first()
                    .map(|e| format!("：{} {}", e.path, e.message))
                    .unwrap_or_default();
                ApiError::bad_request("invalid_asset", format!("{text}{first}"))
                    .with_details(json!({"details": errors}))
            }
        }
    }
}

impl From<PlaceError> for ApiError {
    fn from(e: PlaceError) -> ApiError {
        match e {
            PlaceError::IndexLoading => ApiError::unavailable(e.to_string()),
            PlaceError::OutsideCity { .. } => ApiError::bad_request("outside_city", e.to_string()),
            PlaceError::NoSuchSite(_) => ApiError::bad_request("invalid_asset", e.to_string()),
        }
    }
}

/// An asset row as answered: names of its areas, the caretaker's phone masked.
pub fn asset_json(state: &AppState, r: &AssetRow) -> Value {
    let names = state.analytics.names();
    let area = |c: &Option<String>| {
        c.as_deref()
            .map(|code| json!({"code": code, "name": names.get(code).map(|n| n.name.to_string())}))
    };
    let mut props = r.props.clone();
    let mut masked = Vec::new();
    if let Some(p) = props.pointer_mut("/caretaker/phone")
        && let Some(s) = p.as_str()
        && !s.is_empty()
    {
        *p = Value::String(mask_phone(s));
        masked.push("props.caretaker.phone");
    }
    let kind = AssetKind::parse(&r.kind);
    let geometry: Value = serde_json::from_str(&r.geojson).unwrap_or(Value::Null);
    json!({
        "id": r.id, "kind": r.kind, "kind_name": kind.map(|k| k.label()), "name": r.name,
        "lon": r.lon, "lat": r.lat, "geometry": geometry, "in_service": r.in_service, "props": props,
        "unit": area(&r.chain[0]), "grid": area(&r.chain[1]), "village": area(&r.chain[2]),
        "town": area(&r.chain[3]), "district": area(&r.chain[4]),
        "version": r.version, "updated_at": r.updated_at, "retired_at": r.retired_at,
        "masked": masked,
    })
}

fn ready(fire: &Fire) -> Result<(), ApiError> {
    if fire.is_loaded() {
        Ok(())
    } else {
        Err(ApiError::unavailable(
            "设施数据正在加载，请稍后重试 (the assets are still loading)",
        ))
    }
}

fn id_of(id: &str) -> Result<i64, ApiError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "asset_not_found",
                format!(
                    "没有编号为 {} 的设施 (no such asset)",
                    id.chars().take(20).collect::<String>()
                ),
            )
        })
}

fn missing(id: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "asset_not_found",
        format!("没有编号为 {id} 的设施 (no such asset)"),
    )
}

/// The area code parameter `area`, checked.
pub fn area_param(state: &AppState, p: &Params) -> Result<Option<String>, ApiError> {
    match p.get("area").map(str::trim) {
        None => Ok(None),
        Some(code) if state.analytics.names().contains_key(code) => Ok(Some(code.to_string())),
        Some(code) => Err(ApiError::bad_request(
            "unknown_area",
            format!(
                "没有编码为 {} 的区域 (no such area)",
                code.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// The subtree an `area` parameter limits answers to: None for none or the whole city.
pub fn subtree(state: &AppState, area: Option<&str>) -> Option<String> {
    let a = area?;
    let city = state
        .analytics
        .names()
        .get(a)
        .is_some_and(|n| n.level == crate::model::Level::City);
    (!city).then(|| a.to_string())
}

/// Whether an area chain (any codes, any order) lies in `subtree` (None: everything).
pub fn in_subtree(subtree: Option<&str>, chain: &[Option<std::sync::Arc<str>>]) -> bool {
    subtree.is_none_or(|a| chain.iter().flatten().any(|c| c.as_ref() == a))
}

/// `GET /api/assets?kind=&area=&bbox=&limit=`
pub async fn list(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    ready(&state.fire)?;
    let kind = match p.get("kind") {
        None => None,
        Some(k) => Some(AssetKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(
                "unknown_kind",
                format!(
                    "未知的设施类型 \"{}\"；可用：{} (unknown kind)",
                    k.chars().take(40).collect::<String>(),
                    AssetKind::codes_list()
                ),
            )
        })?),
    };
    let area = area_param(&state, &p)?;
    let bbox = bbox_param(&p)?;
    let limit = p.integer_in("limit", 1..=10_000, 1000)? as usize;
    let within = subtree(&state, area.as_deref());
    let view = state.fire.view();
    let mut hits: Vec<_> = view
        .set
        .by_id
        .values()
        .filter(|a| kind.is_none_or(|k| a.kind() == k))
        .filter(|a| in_subtree(within.as_deref(), &a.chain))
        .filter(|a| {
            bbox.is_none_or(|b| a.lon >= b[0] && a.lon <= b[2] && a.lat >= b[1] && a.lat <= b[3])
        })
        .map(|a| a.id)
        .collect();
    hits.sort_unstable();
    let count = hits.len();
    hits.truncate(limit);
    let rows = state.store.assets_by_id(&hits).await?;
    let list: Vec<Value> = rows
        .iter()
        .filter(|r| r.retired_at.is_none())
        .map(|r| asset_json(&state, r))
        .collect();
    Ok(axum::Json(json!({"assets": list, "count": count})).into_response())
}

/// The `bbox` parameter (west,south,east,north in degrees), checked.
pub fn bbox_param(p: &Params) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(s) = p.get("bbox") else {
        return Ok(None);
    };
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad_bbox())?;
    if v.len() != 4 || v.iter().any(|x| !x.is_finite()) || v[0] > v[2] || v[1] > v[3] {
        return Err(bad_bbox());
    }
    Ok(Some([v[0], v[1], v[2], v[3]]))
}

fn bad_bbox() -> ApiError {
    ApiError::bad_request(
        "invalid_bbox",
        "bbox 应为 west,south,east,north 四个数 (bbox must be west,south,east,north)",
    )
}

/// The caretaker's phone sent back masked keeps the stored one.
fn restore_phone(body: &mut AssetBody, stored: &AssetRow) {
    let Some(old) = stored
        .props
        .pointer("/caretaker/phone")
        .and_then(Value::as_str)
    else {
        return;
    };
    if let Some(p) = body.props.pointer_mut("/caretaker/phone")
        && p.as_str()
            .is_some_and(|s| s.contains('*') && mask_phone(old) == s)
    {
        *p = Value::String(old.to_string());
    }
}

/// `POST /api/assets`
pub async fn create(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    Json(body): Json<AssetBody>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    ready(&state.fire)?;
    let draft = body.check(crate::crs::Crs::Wgs84)?;
    let w = state.fire.place(draft)?;
    who.require_chain(&w.chain)?;
    let row = state.store.insert_asset(&w).await?;
    tracing::info!(id = row.id, kind = row.kind, by = %by, "asset added");
    Ok((StatusCode::CREATED, axum::Json(asset_json(&state, &row))).into_response())
}

/// `GET /api/assets/{id}`
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let row = state
        .store
        .assets_by_id(&[id])
        .await?
        .pop()
        .ok_or_else(|| missing(id))?;
    Ok(axum::Json(asset_json(&state, &row)).into_response())
}

/// `PUT /api/assets/{id}` (the whole asset, with `version`; the kind stays)
pub async fn put(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(mut body): Json<AssetBody>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    ready(&state.fire)?;
    let id = id_of(&id)?;
    let stored = state
        .store
        .assets_by_id(&[id])
        .await?
        .pop()
        .filter(|r| r.retired_at.is_none())
        .ok_or_else(|| missing(id))?;
    let version = body.version.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_asset",
            "修改设施须带上 version (give the version you edited)",
        )
    })?;
    if AssetKind::parse(&body.kind).is_some_and(|k| k.code() != stored.kind) {
        return Err(ApiError::bad_request(
            "invalid_asset",
            format!(
                "设施类型不能修改（原为 {}）；请停用后新建 (the kind of an asset cannot change)",
                stored.kind
            ),
        ));
    }
    restore_phone(&mut body, &stored);
    let draft = body.check(crate::crs::Crs::Wgs84)?;
    let w = state.fire.place(draft)?;
    who.require_chain(&w.chain)?;
    match state.store.update_asset(id, version, &w).await? {
        Write::Stored(row) => {
            tracing::info!(id, by = %by, "asset changed");
            Ok(axum::Json(asset_json(&state, &row)).into_response())
        }
        Write::Conflict(c) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "version_conflict",
            format!("设施已被他人修改（当前版本 {c}），请刷新后重试 (changed by someone else: the current version is {c})"),
        )
        .with_details(json!({"current_version": c}))),
        Write::Missing => Err(missing(id)),
    }
}

/// `DELETE /api/assets/{id}`: retires the asset.
pub async fn retire(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    let id = id_of(&id)?;
    let row = state
        .store
        .retire_asset(id)
        .await?
        .ok_or_else(|| missing(id))?;
    tracing::info!(id, by = %by, "asset retired");
    Ok(axum::Json(asset_json(&state, &row)).into_response())
}

//! `/api/areas/{code}/profile` (with `/history`, `/diff`, `/figures`) and the three lists
//! `/api/areas/{code}/development|problems|tasks`: the HTTP side of `crate::profiles`.

use super::AppState;
use super::error::{ApiError, Json, Params};
use crate::events::analytics::ready;
use crate::model::Level;
use crate::profiles::diff::diff;
use crate::profiles::figures::{self, Figures};
use crate::profiles::intro::Introduction;
use crate::profiles::items::{Development, List, Problem, Task, check_item};
use crate::profiles::{FieldError, MAX_TEXT};
use crate::store::areas::AreaRow;
use crate::store::profiles::{Chain, ItemRow, ItemWrite, ProfileRow, Write};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// Who made a change: the `X-Onemap-User` header until access control (#14) signs people in.
pub fn author(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers.get("x-onemap-user") {
        None => Ok("匿名".to_string()),
        Some(v) => {
            // Header values are bytes; names are UTF-8 (percent-decoding is not attempted).
            let s = std::str::from_utf8(v.as_bytes()).unwrap_or("").trim();
            if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
                Err(ApiError::bad_request(
                    "invalid_user",
                    "X-Onemap-User 应为 1 到 100 个字符的 UTF-8 名称 (X-Onemap-User must be a 1–100 character name)",
                ))
            } else {
                Ok(s.to_string())
            }
        }
    }
}

/// A town or village, or a 404 that says what the code is.
async fn profiled_area(state: &AppState, code: &str) -> Result<AreaRow, ApiError> {
    let clipped: String = code.chars().take(40).collect();
    match state.store.area(code).await? {
        Some(a) if matches!(a.level, Level::Town | Level::Village) => Ok(a),
        Some(a) => Err(ApiError::not_found(format!(
            "{clipped} 是{}，只有乡镇街道和村社区有档案 (only towns and villages have profiles; this is a {})",
            a.level.label_zh(),
            a.level.as_str()
        ))),
        None => Err(ApiError::not_found(format!(
            "没有编码为 {clipped} 的区域 (no area with code '{clipped}')"
        ))),
    }
}

async fn chain_of(state: &AppState, area: &AreaRow) -> Result<Chain, ApiError> {
    let mut chain = Chain::default();
    let mut all = state.store.ancestors(&area.code).await?;
    all.push(area.clone());
    for a in all {
        match a.level {
            Level::District => chain.district = Some(a.code),
            Level::Town => chain.town = Some(a.code),
            Level::Village => chain.village = Some(a.code),
            _ => {}
        }
    }
    Ok(chain)
}

fn invalid(errors: Vec<FieldError>, what: &str) -> ApiError {
    let first = errors
        .first()
        .map(|e| format!("{}: {}", e.path, e.message))
        .unwrap_or_default();
    ApiError::bad_request(
        "invalid_profile",
        format!(
            "{what}有 {} 处不符合要求，第一处：{first} ({} problem(s))",
            errors.len(),
            errors.len()
        ),
    )
    .with_details(json!({"errors": errors}))
}

fn errors_has(errors: &[FieldError], path: &str) -> bool {
    errors.iter().any(|e| e.path == path)
}

fn conflict(current: i32) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "version_conflict",
        format!("档案已被他人修改（当前版本 {current}），请刷新后重试 (changed by someone else: the current version is {current}; reload and try again)"),
    )
    .with_details(json!({"current_version": current}))
}

/// The stored introduction with phones masked (and whether any was).
fn shown_intro(doc: &Value) -> (Value, bool) {
    match serde_json::from_value::<Introduction>(doc.clone()) {
        Ok(mut i) => {
            let masked = i.mask_phones();
            (serde_json::to_value(i).unwrap_or(Value::Null), masked)
        }
        // A document written by hand that no longer parses: shown as stored, minus phones.
        Err(_) => (doc.clone(), false),
    }
}

async fn profile_json(
    state: &AppState,
    area: &AreaRow,
    row: Option<&ProfileRow>,
) -> Result<Value, ApiError> {
    let parent = state.store.ancestors(&area.code).await?.pop();
    let (mut intro, masked) = match row {
        Some(r) => shown_intro(&r.doc),
        None => (
            serde_json::to_value(Introduction::default()).unwrap_or(Value::Null),
            false,
        ),
    };
    let km2 = state.store.area_km2(&area.code).await?;
    intro["area_km2"] = json!(km2.map(|v| (v * 10_000.0).round() / 10_000.0));
    let counts = state.store.item_counts(&area.code).await?;
    let count = |l: &str| {
        counts
            .iter()
            .find(|(k, _)| k == l)
            .map(|c| c.1)
            .unwrap_or(0)
    };
    Ok(json!({
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "parent": parent.map(|p| json!({"code": p.code, "name": p.name})),
        "version": row.map(|r| r.version).unwrap_or(0),
        "updated_at": row.map(|r| r.updated_at),
        "updated_by": row.map(|r| r.updated_by.clone()),
        "note": row.map(|r| r.note.clone()),
        "introduction": intro,
        "counts": {"development": count("development"), "problems": count("problems"), "tasks": count("tasks")},
        "masked": if masked { vec!["phone"] } else { Vec::new() },
    }))
}

fn version_param(p: &Params, name: &str) -> Result<Option<i32>, ApiError> {
    p.get(name)
        .map(|s| {
            s.trim()
                .parse::<i32>()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_version",
                        format!("参数 {name} 应为正整数 ({name} must be a positive integer)"),
                    )
                })
        })
        .transpose()
}

/// `GET /api/areas/{code}/profile[?version=N]`
pub async fn get_profile(
    State(state): State<AppState>,
    Path(code): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let area = profiled_area(&state, &code).await?;
    let version = version_param(&p, "version")?;
    let row = state.store.profile(&code, version).await?;
    if version.is_some() && row.is_none() {
        return Err(ApiError::not_found(format!(
            "档案没有版本 {} (no such version)",
            version.unwrap_or(0)
        )));
    }
    Ok(axum::Json(profile_json(&state, &area, row.as_ref()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePut {
    /// The version the editor started from (0 for a profile that does not exist yet).
    pub version: i32,
    pub introduction: Introduction,
    #[serde(default)]
    pub note: String,
}

/// `PUT /api/areas/{code}/profile`
pub async fn put_profile(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ProfilePut>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    let area = profiled_area(&state, &code).await?;
    if body.note.chars().count() > 500 {
        return Err(invalid(
            vec![FieldError::new(
                "note",
                "最多 500 个字符 (at most 500 characters)",
            )],
            "档案",
        ));
    }
    let stored = state.store.profile(&code, None).await?;
    let stored_intro = stored
        .as_ref()
        .and_then(|r| serde_json::from_value::<Introduction>(r.doc.clone()).ok());
    let mut intro = body.introduction;
    let mut errors = intro
        .restore_masked_phones(stored_intro.as_ref())
        .err()
        .unwrap_or_default();
    let grids = state.store.grid_codes(&code).await?;
    let checked = intro
        .check(&|g| grids.iter().any(|c| c == g))
        .err()
        .unwrap_or_default();
    // A masked phone that could not be restored is reported once, not again as malformed.
    let fresh: Vec<FieldError> = checked
        .into_iter()
        .filter(|e| !errors_has(&errors, &e.path))
        .collect();
    errors.extend(fresh);
    if !errors.is_empty() {
        return Err(invalid(errors, "档案"));
    }
    let mut doc = serde_json::to_value(&intro).map_err(ApiError::internal)?;
    if let Some(o) = doc.as_object_mut() {
        o.remove("area_km2");
    }
    match state
        .store
        .put_profile(&code, body.version, &doc, &by, body.note.trim())
        .await?
    {
        Write::Stored(row) => {
            tracing::info!(code = %code, version = row.version, by = %by, "profile stored");
            Ok(axum::Json(profile_json(&state, &area, Some(&row)).await?).into_response())
        }
        Write::Conflict(current) => Err(conflict(current)),
        Write::Missing => Err(ApiError::not_found("档案不存在 (no such profile)")),
    }
}

/// `GET /api/areas/{code}/profile/history`
pub async fn history(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    profiled_area(&state, &code).await?;
    let rows = state.store.profile_history(&code).await?;
    let versions: Vec<Value> = rows
        .iter()
        .map(|r| json!({"version": r.version, "updated_at": r.updated_at, "updated_by": r.updated_by, "note": r.note}))
        .collect();
    Ok(axum::Json(json!({"code": code, "versions": versions})).into_response())
}

/// `GET /api/areas/{code}/profile/diff?from=&to=`
pub async fn profile_diff(
    State(state): State<AppState>,
    Path(code): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    profiled_area(&state, &code).await?;
    let from = version_param(&p, "from")?.ok_or_else(|| {
        ApiError::bad_request("missing_parameter", "缺少参数 from (missing 'from')")
    })?;
    let to = version_param(&p, "to")?
        .ok_or_else(|| ApiError::bad_request("missing_parameter", "缺少参数 to (missing 'to')"))?;
    let mut docs = Vec::new();
    for v in [from, to] {
        let row = state
            .store
            .profile(&code, Some(v))
            .await?
            .ok_or_else(|| ApiError::not_found(format!("档案没有版本 {v} (no version {v})")))?;
        docs.push(shown_intro(&row.doc).0);
    }
    let changes = diff(&docs[0], &docs[1], "introduction");
    Ok(
        axum::Json(json!({"code": code, "from": from, "to": to, "changes": changes}))
            .into_response(),
    )
}

/// `GET /api/areas/{code}/profile/figures`
pub async fn get_figures(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<axum::Json<Figures>, ApiError> {
    let area = profiled_area(&state, &code).await?;
    let view = ready(&state.analytics)?;
    let names = state.analytics.names();
    let index = state.index.snapshot();
    let now = crate::time::now_us();
    let parent = area.parent.clone();
    let answer = tokio::task::spawn_blocking(move || {
        figures::figures(&view, &names, &index, &area.code, parent.as_deref(), now)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(answer))
}

fn item_json(r: &ItemRow) -> Value {
    let mut v = json!({
        "id": r.id,
        "list": r.list,
        "area_code": r.area_code,
        "title": r.title,
        "state": r.state,
        "owner": r.owner,
        "version": r.version,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "origin": r.origin.as_ref().map(|(l, id)| json!({"list": l, "id": id})),
    });
    if let (Some(o), Some(d)) = (v.as_object_mut(), r.doc.as_object()) {
        for (k, val) in d {
            o.entry(k.clone()).or_insert(val.clone());
        }
    }
    v
}

fn list_of(s: &str) -> Result<List, ApiError> {
    List::parse(s).ok_or_else(|| {
        ApiError::not_found(format!(
            "没有清单 {} (lists are development, problems, tasks)",
            s.chars().take(40).collect::<String>()
        ))
    })
}

async fn categories(state: &AppState) -> Result<Vec<String>, ApiError> {
    Ok(state.store.event_category_codes().await?)
}

/// `GET /api/areas/{code}/{list}`
pub async fn list_items(
    State(state): State<AppState>,
    Path((code, list)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let list = list_of(&list)?;
    profiled_area(&state, &code).await?;
    let rows = state.store.items(&code, list.as_str()).await?;
    Ok(
        axum::Json(json!({"items": rows.iter().map(item_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

/// `POST /api/areas/{code}/{list}`
pub async fn create_item(
    State(state): State<AppState>,
    Path((code, list)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let list = list_of(&list)?;
    let by = author(&headers)?;
    let area = profiled_area(&state, &code).await?;
    let cats = categories(&state).await?;
    let draft = check_item(list, &body, &|c| cats.iter().any(|k| k == c))
        .map_err(|e| invalid(e, list.label()))?;
    let chain = chain_of(&state, &area).await?;
    let w = ItemWrite {
        title: draft.title,
        state: draft.state,
        owner: draft.owner,
        doc: draft.doc,
    };
    let row = state
        .store
        .insert_item(&code, list.as_str(), &chain, &w, None, &by)
        .await?;
    tracing::info!(code = %code, list = list.as_str(), id = row.id, by = %by, "list item added");
    Ok((StatusCode::CREATED, axum::Json(item_json(&row))).into_response())
}

async fn item_of(state: &AppState, code: &str, list: List, id: &str) -> Result<ItemRow, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "{}中没有编号为 {} 的条目 (no such item)",
            list.label(),
            id.chars().take(20).collect::<String>()
        ))
    };
    let id: i64 = id.parse().map_err(|_| missing())?;
    match state.store.item(id).await? {
        Some(r) if r.area_code == code && r.list == list.as_str() => Ok(r),
        _ => Err(missing()),
    }
}

/// `GET /api/areas/{code}/{list}/{id}`
pub async fn get_item(
    State(state): State<AppState>,
    Path((code, list, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let list = list_of(&list)?;
    let row = item_of(&state, &code, list, &id).await?;
    Ok(axum::Json(item_json(&row)).into_response())
}

/// `PUT /api/areas/{code}/{list}/{id}` (carries the item's `version`)
pub async fn put_item(
    State(state): State<AppState>,
    Path((code, list, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let list = list_of(&list)?;
    let by = author(&headers)?;
    let row = item_of(&state, &code, list, &id).await?;
    let cats = categories(&state).await?;
    let draft = check_item(list, &body, &|c| cats.iter().any(|k| k == c))
        .map_err(|e| invalid(e, list.label()))?;
    let Some(version) = draft.version else {
        return Err(invalid(
            vec![FieldError::new(
                "version",
                "修改条目须带上 version (give the version you edited)",
            )],
            list.label(),
        ));
    };
    let w = ItemWrite {
        title: draft.title,
        state: draft.state,
        owner: draft.owner,
        doc: draft.doc,
    };
    match state.store.update_item(row.id, version, &w).await? {
        Write::Stored(r) => {
            tracing::info!(code = %code, list = list.as_str(), id = r.id, by = %by, "list item changed");
            Ok(axum::Json(item_json(&r)).into_response())
        }
        Write::Conflict(c) => Err(conflict(c)),
        Write::Missing => Err(ApiError::not_found("条目不存在 (no such item)")),
    }
}

/// `DELETE /api/areas/{code}/{list}/{id}`
pub async fn delete_item(
    State(state): State<AppState>,
    Path((code, list, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let list = list_of(&list)?;
    let by = author(&headers)?;
    let row = item_of(&state, &code, list, &id).await?;
    state.store.delete_item(row.id).await?;
    tracing::info!(code = %code, list = list.as_str(), id = row.id, by = %by, "list item deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromHotspot {
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub radius_m: Option<f64>,
    #[serde(default)]
    pub title: Option<String>,
}

/// `POST /api/areas/{code}/problems/from-hotspot`
pub async fn problem_from_hotspot(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(body): Json<FromHotspot>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    let area = profiled_area(&state, &code).await?;
    let radius = body.radius_m.unwrap_or(100.0);
    if !body.lon.is_finite()
        || !body.lat.is_finite()
        || !(-180.0..=180.0).contains(&body.lon)
        || !(-90.0..=90.0).contains(&body.lat)
    {
        return Err(ApiError::bad_request(
            "invalid_coordinates",
            "lon 应在 -180 到 180、lat 在 -90 到 90 之间 (invalid coordinates)",
        ));
    }
    if !(1.0..=5000.0).contains(&radius) {
        return Err(ApiError::bad_request(
            "out_of_range",
            "radius_m 应在 1 到 5000 之间 (radius_m must be 1..=5000)",
        ));
    }
    let view = ready(&state.analytics)?;
    let names = state.analytics.names();
    let index = state.index.snapshot();
    let now = crate::time::now_us();
    let c = code.clone();
    let found = tokio::task::spawn_blocking(move || {
        figures::hotspot_at(&view, &names, &index, &c, (body.lon, body.lat), radius, now)
    })
    .await
    .map_err(ApiError::internal)??;
    let Some(h) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_hotspot",
            format!(
                "该点 {radius} 米内没有近十二个月的事件热点 (no event hotspot of the last twelve months within {radius} m of this point)"
            ),
        ));
    };
    let category_name = h.category_name.unwrap_or("事件");
    let title = body
        .title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}{}问题反复（近一年{}件）",
                area.name, category_name, h.count
            )
        });
    if title.chars().count() > 200 {
        return Err(invalid(
            vec![FieldError::new(
                "title",
                "最多 200 个字符 (at most 200 characters)",
            )],
            "问题清单",
        ));
    }
    let mut ids = h.ids.clone().unwrap_or_default();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.truncate(crate::profiles::items::MAX_EVENT_IDS);
    let doc = Problem {
        description: format!(
            "由事件热点转入：近一年同一地点 {} 件，其中未办结 {} 件。",
            h.count, h.open
        ),
        category: h.category.map(str::to_string),
        event_count: h.count as i64,
        event_ids: ids,
        place: Some(crate::profiles::items::LonLat {
            lon: h.center.lon,
            lat: h.center.lat,
        }),
        promoted_to: None,
    };
    let chain = chain_of(&state, &area).await?;
    let w = ItemWrite {
        title,
        state: "open".into(),
        owner: String::new(),
        doc: serde_json::to_value(doc).map_err(ApiError::internal)?,
    };
    let row = state
        .store
        .insert_item(&code, "problems", &chain, &w, None, &by)
        .await?;
    tracing::info!(code = %code, id = row.id, events = h.count, by = %by, "hotspot filed as a problem");
    Ok((StatusCode::CREATED, axum::Json(item_json(&row))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    pub to: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// `POST /api/areas/{code}/problems/{id}/promote`
pub async fn promote(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Promote>,
) -> Result<Response, ApiError> {
    let by = author(&headers)?;
    let area = profiled_area(&state, &code).await?;
    let problem = item_of(&state, &code, List::Problems, &id).await?;
    let to = match List::parse(body.to.trim()) {
        Some(l @ (List::Development | List::Tasks)) => l,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_target",
                "to 应为 development（发展清单）或 tasks（任务清单） (to must be development or tasks)",
            ));
        }
    };
    let title = body
        .title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| problem.title.clone());
    if title.chars().count() > 200 {
        return Err(invalid(
            vec![FieldError::new(
                "title",
                "最多 200 个字符 (at most 200 characters)",
            )],
            to.label(),
        ));
    }
    let description = problem
        .doc
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(MAX_TEXT)
        .collect::<String>();
    let doc = match to {
        List::Development => {
            let places = problem
                .doc
                .get("place")
                .and_then(|p| {
                    Some(crate::profiles::items::Place {
                        lon: p.get("lon")?.as_f64()?,
                        lat: p.get("lat")?.as_f64()?,
                        label: "问题地点".into(),
                    })
                })
                .into_iter()
                .collect();
            serde_json::to_value(Development {
                kind: "问题转化".into(),
                places,
                ..Default::default()
            })
        }
        _ => serde_json::to_value(Task {
            description,
            ..Default::default()
        }),
    }
    .map_err(ApiError::internal)?;
    let chain = chain_of(&state, &area).await?;
    let w = ItemWrite {
        title,
        state: to.states()[0].to_string(),
        owner: problem.owner.clone(),
        doc,
    };
    match state
        .store
        .promote_problem(problem.id, to.as_str(), &chain, &w, &by)
        .await?
    {
        Write::Stored(row) => {
            tracing::info!(code = %code, problem = problem.id, to = to.as_str(), id = row.id, by = %by, "problem promoted");
            Ok((StatusCode::CREATED, axum::Json(item_json(&row))).into_response())
        }
        Write::Conflict(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_promoted",
            "该问题已经转入其他清单 (this problem has already been promoted)",
        )),
        Write::Missing => Err(ApiError::not_found("问题不存在 (no such problem)")),
    }
}

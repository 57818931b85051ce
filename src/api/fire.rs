//! `/api/fire/*` and `/api/sensors/readings`: coverage, the nearest water, sensors and their
//! readings, alerts (docs/FIRE.md). The work is the fire engine's (`crate::assets`).

use super::AppState;
use super::access::Who;
use super::assets::{area_param, in_subtree, subtree};
use super::error::{ApiError, Json, Params, parse_finite};
use crate::assets::coverage::{self, Coverage, DEFAULT_RADIUS_M};
use crate::assets::model::{AssetKind, Spec};
use crate::assets::sensors::ReadingsError;
use crate::assets::{IngestFailure, alerts, nearest};
use crate::crs::Crs;
use crate::model::Level;
use crate::store::assets::{Ack, AlertQuery};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

fn loading() -> ApiError {
    ApiError::unavailable("设施数据正在加载，请稍后重试 (the assets are still loading)")
}

/// `GET /api/fire/coverage?area=&radius=&format=json|csv|geojson`
pub async fn coverage(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    if !state.fire.is_loaded() {
        return Err(loading());
    }
    let area = area_param(&state, &p)?;
    let within = subtree(&state, area.as_deref());
    let radius = p.number_in("radius", 10.0..=1000.0, DEFAULT_RADIUS_M)?;
    let format = p
        .get("format")
        .unwrap_or("json")
        .trim()
        .to_ascii_lowercase();
    if !["json", "csv", "geojson"].contains(&format.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_format",
            "format 应为 json、csv 或 geojson (format must be json, csv or geojson)",
        ));
    }
    let view = state.fire.view();
    let codes: Vec<Arc<str>> = {
        let mut v: Vec<Arc<str>> = view
            .villages
            .by_code
            .values()
            .filter(|v| {
                let chain = [
                    Some(v.code.clone()),
                    v.parents[0].clone(),
                    v.parents[1].clone(),
                ];
                in_subtree(within.as_deref(), &chain)
            })
            .map(|v| v.code.clone())
            .collect();
        v.sort();
        v
    };
    // The kept coverage at the default radius; another radius is computed off the runtime.
    let cov: Arc<Coverage> = {
        let fire = state.fire.clone();
        let codes = codes.clone();
        tokio::task::spawn_blocking(move || fire.coverage_at(radius, Some(&codes)))
            .await
            .map_err(ApiError::internal)?
    };
    let names = state.analytics.names();
    let name_of = |c: &str| names.get(c).map(|n| n.name.to_string()).unwrap_or_default();
    let covers: Vec<&coverage::VillageCover> =
        codes.iter().filter_map(|c| cov.villages.get(c)).collect();
    match format.as_str() {
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header_row = [
                "村（社区）编码",
                "村（社区）名称",
                "建成区面积（平方米）",
                "已覆盖面积（平方米）",
                "未覆盖面积（平方米）",
                "覆盖率",
            ];
            w.write_record(header_row).map_err(ApiError::internal)?;
            for c in &covers {
                w.write_record([
                    c.code.to_string(),
                    name_of(&c.code),
                    format!("{:.0}", c.built_m2),
                    format!("{:.0}", c.covered_m2()),
                    format!("{:.0}", c.uncovered_m2),
                    format!("{:.4}", c.share()),
                ])
                .map_err(ApiError::internal)?;
            }
            let mut body = "\u{feff}".as_bytes().to_vec();
            body.extend(w.into_inner().map_err(ApiError::internal)?);
            let mut r = body.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            r.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"fire-coverage.csv\""),
            );
            Ok(r)
        }
        "geojson" => {
            let features: Vec<Value> = covers
                .iter()
                .filter(|c| c.uncovered_m2 > 0.0)
                .map(|c| {
                    let g = geojson::Geometry::new(geojson::Value::from(c.uncovered.as_ref()));
                    json!({"type": "Feature", "geometry": g, "properties": {
                        "code": c.code.as_ref(), "name": name_of(&c.code), "uncovered_m2": c.uncovered_m2.round(),
                        "built_m2": c.built_m2.round(), "share": c.share(),
                    }})
                })
                .collect();
            let mut r = axum::Json(json!({"type": "FeatureCollection", "features": features}))
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            );
            Ok(r)
        }
        _ => {
            let sites: Vec<Value> = cov
                .sites
                .values()
                .filter_map(|s| {
                    let a = view.asset(s.id)?;
                    if !in_subtree(within.as_deref(), &a.chain) {
                        return None;
                    }
                    let Spec::Heritage(h) = &a.spec else { return None };
                    let nearest = s.nearest.and_then(|n| {
                        let h = view.asset(n.id)?;
                        Some(json!({"id": n.id, "name": h.name.as_ref(), "distance_m": (n.distance_m * 10.0).round() / 10.0}))
                    });
                    Some(json!({
                        "id": a.id, "name": a.name.as_ref(), "level": h.level.code(), "level_name": h.level.label(),
                        "structure": h.structure.code(), "lon": a.lon, "lat": a.lat,
                        "village": a.village(), "nearest": nearest, "covered": s.covered,
                    }))
                })
                .collect();
            let isolated: Vec<Value> = cov
                .isolated
                .iter()
                .filter_map(|(id, d)| {
                    let a = view.asset(*id)?;
                    in_subtree(within.as_deref(), &a.chain).then(|| {
                        json!({
                            "id": id, "name": a.name.as_ref(), "lon": a.lon, "lat": a.lat,
                            "nearest_m": d.map(|d| (d * 10.0).round() / 10.0),
                        })
                    })
                })
                .collect();
            let villages: Vec<Value> = covers
                .iter()
                .map(|c| json!({
                    "code": c.code.as_ref(), "name": name_of(&c.code), "built_m2": c.built_m2.round(),
                    "covered_m2": c.covered_m2().round(), "uncovered_m2": c.uncovered_m2.round(),
                    "share": (c.share() * 10_000.0).round() / 10_000.0, "hydrants": c.hydrants,
                }))
                .collect();
            let (built, uncovered) = coverage::totals(covers.iter().copied());
            let covered_sites = sites.iter().filter(|s| s["covered"] == true).count();
            let area_json = area
                .as_deref()
                .map(|c| json!({"code": c, "name": name_of(c)}));
            Ok(axum::Json(json!({
                "radius_m": radius, "area": area_json, "sites": sites, "villages": villages,
                "isolated_hydrants": isolated,
                "totals": {"sites": sites.len(), "covered_sites": covered_sites, "built_m2": built.round(),
                           "uncovered_m2": uncovered.round(),
                           "share": if built > 0.0 { ((built - uncovered) / built * 10_000.0).round() / 10_000.0 } else { 0.0 }},
            }))
            .into_response())
        }
    }
}

/// `GET /api/fire/nearest?lon=&lat=&k=&crs=`
pub async fn nearest_water(
    State(state): State<AppState>,
    who: Who,
    p: Params,
) -> Result<Response, ApiError> {
    if !state.fire.is_loaded() {
        return Err(loading());
    }
    let crs = match p.get("crs") {
        None => Crs::Wgs84,
        Some(s) => s
            .parse::<Crs>()
            .map_err(|e| ApiError::bad_request("invalid_crs", e.to_string()))?,
    };
    let lon = parse_finite("lon", p.require("lon")?)?;
    let lat = parse_finite("lat", p.require("lat")?)?;
    let (lon, lat) = crate::assign::check_point(lon, lat, crs, state.index.snapshot().units_bbox())
        .map_err(|e| ApiError::bad_request(e.code, e.message))?;
    let k = p.integer_in("k", 1..=50, 5)? as usize;
    let view = state.fire.view();
    // Only water in the caller's scope: the walk goes on past the rest.
    let pos = |id: i64| {
        view.asset(id)
            .filter(|a| who.sees_chain(&a.chain))
            .map(|a| (a.lon, a.lat))
    };
    let hits = nearest::k_nearest(&view.set.water, lon, lat, k, None, pos);
    let water: Vec<Value> = hits
        .iter()
        .filter_map(|h| {
            let a = view.asset(h.id)?;
            let bearing = nearest::bearing_deg((lon, lat), (a.lon, a.lat));
            let (x, y) = crs.from_wgs84(a.lon, a.lat);
            Some(json!({
                "id": a.id, "kind": a.kind().code(), "kind_name": a.kind().label(), "name": a.name.as_ref(),
                "lon": x, "lat": y, "distance_m": (h.distance_m * 10.0).round() / 10.0,
                "bearing_deg": (bearing * 10.0).round() / 10.0, "direction": alerts::compass(bearing),
                "props": a.spec.to_json(),
            }))
        })
        .collect();
    let (x, y) = crs.from_wgs84(lon, lat);
    Ok(
        axum::Json(json!({"point": {"lon": x, "lat": y}, "crs": crs.to_string(), "water": water}))
            .into_response(),
    )
}

/// `GET /api/fire/sensors?area=`
pub async fn sensors(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    if !state.fire.is_loaded() {
        return Err(loading());
    }
    let area = area_param(&state, &p)?;
    let within = subtree(&state, area.as_deref());
    let view = state.fire.view();
    let states = state.fire.sensor_states();
    let list: Vec<Value> = view
        .set
        .of_kind(AssetKind::Sensor)
        .into_iter()
        .filter(|a| in_subtree(within.as_deref(), &a.chain))
        .filter_map(|a| {
            let Spec::Sensor(s) = &a.spec else { return None };
            let st = states.get(&a.id).copied().unwrap_or_default();
            let cond = st.condition();
            Some(json!({
                "id": a.id, "name": a.name.as_ref(), "type": s.kind.code(), "type_name": s.kind.label(),
                "site_id": s.site_id, "lon": a.lon, "lat": a.lat, "in_service": a.in_service,
                "state": cond, "state_name": cond.label(), "last_value": st.last_at.map(|_| st.last_value),
                "last_at": st.last_at, "threshold": s.threshold(), "debounce": s.debounce(),
                "silence_s": s.silence_s(), "event_id": a.alarm_event_id,
            }))
        })
        .collect();
    Ok(axum::Json(json!({"sensors": list})).into_response())
}

/// `POST /api/sensors/readings`
pub async fn readings(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    match state.fire.ingest_readings(&body).await {
        Ok(o) => {
            let errors: Vec<Value> = o
                .errors
                .iter()
                .map(|e| json!({"index": e.index, "code": e.code, "message": e.message}))
                .collect();
            Ok(axum::Json(json!({
                "stored": o.stored, "duplicates": o.duplicates, "late": o.late, "alarms": o.alarms,
                "refused": errors.len(), "errors": errors,
            }))
            .into_response())
        }
        Err(IngestFailure::Store(e)) => Err(ApiError::internal(e)),
        Err(IngestFailure::Refused(e)) => Err(match &e {
            ReadingsError::Loading => ApiError::unavailable(e.to_string()),
            ReadingsError::Malformed(_) => ApiError::bad_request("malformed_json", e.to_string()),
            ReadingsError::TooMany(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_readings",
                e.to_string(),
            ),
            ReadingsError::Empty => ApiError::bad_request("empty_batch", e.to_string()),
            ReadingsError::NoValid(rows) => {
                let errors: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"index": r.index, "code": r.code, "message": r.message}))
                    .collect();
                ApiError::bad_request("no_valid_readings", e.to_string())
                    .with_details(json!({"errors": errors}))
            }
        }),
    }
}

/// `GET /api/fire/alerts?state=open|acknowledged|all&area=&kind=&limit=`
pub async fn list_alerts(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    alerts_of(&state, &p, alerts::KINDS).await
}

/// The alerts of one domain (its `kinds`: code and label), filtered by the query.
pub async fn alerts_of(
    state: &AppState,
    p: &Params,
    kinds: &'static [(&'static str, &'static str)],
) -> Result<Response, ApiError> {
    let open = match p.get("state").map(str::trim).unwrap_or("open") {
        "open" => Some(true),
        "acknowledged" => Some(false),
        "all" => None,
        other => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "state 应为 open、acknowledged 或 all (state must be open, acknowledged or all, got '{}')",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    };
    let kind = match p.get("kind") {
        None => None,
        Some(k) => Some(alerts::kind_code(kinds, k).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "未知的告警类型 \"{}\"；可用：{} (unknown alert kind)",
                    k.chars().take(40).collect::<String>(),
                    kinds.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                ),
            )
        })?),
    };
    let area = match area_param(state, p)? {
        None => None,
        Some(code) => {
            let level = state.analytics.names().get(code.as_str()).map(|n| n.level);
            match level {
                Some(Level::Village) => Some(("village_code", code)),
                Some(Level::Town) => Some(("town_code", code)),
                Some(Level::District) => Some(("district_code", code)),
                Some(Level::City) => None,
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_parameter",
                        "告警按区、镇街、村居筛选，area 不能是网格或单元 (alerts are filed by district, town or village)",
                    ));
                }
            }
        }
    };
    let limit = p.integer_in("limit", 1..=5000, 200)?;
    let rows = state
        .store
        .alerts(&AlertQuery {
            open,
            area,
            kind,
            kinds: kinds.iter().map(|(c, _)| *c).collect(),
            limit,
        })
        .await?;
    let names = state.analytics.names();
    let list: Vec<Value> = rows.iter().map(|a| alerts::alert_json(a, &names)).collect();
    Ok(axum::Json(json!({"alerts": list})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Who acknowledges, as the client names them: checked, but the acknowledgement is
    /// recorded under the signed-in caller's account.
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    note: String,
}

/// `POST /api/fire/alerts/{id}/ack`
pub async fn ack(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    Json(b): Json<AckBody>,
) -> Result<Response, ApiError> {
    let no_such = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "alert_not_found",
            format!(
                "没有编号为 {} 的告警 (no such alert)",
                id.chars().take(20).collect::<String>()
            ),
        )
    };
    let n: i64 = id
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(no_such)?;
    let named = b.by.as_deref().map(str::trim);
    if named.is_some_and(|by| {
        by.is_empty() || by.chars().count() > 100 || by.chars().any(char::is_control)
    }) {
        return Err(ApiError::bad_request(
            "invalid_ack",
            "by 应为 1 到 100 个字符的确认人姓名 (by must name who acknowledges, 1–100 characters)",
        ));
    }
    if b.note.chars().count() > 2000 || b.note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::bad_request(
            "invalid_ack",
            "note 最多 2000 个字符，且不能含控制字符 (note is at most 2000 characters)",
        ));
    }
    let names = state.analytics.names();
    let by = who.0.name.as_str();
    match state.store.acknowledge_alert(n, by, b.note.trim()).await? {
        Ack::Done(row) => {
            tracing::info!(id = n, by, "alert acknowledged");
            Ok(axum::Json(alerts::alert_json(&row, &names)).into_response())
        }
        Ack::Already(row) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_acknowledged",
            format!(
                "该告警已由 {} 确认 (already acknowledged)",
                row.acked_by.as_deref().unwrap_or("")
            ),
        )
        .with_details(json!({"alert": alerts::alert_json(&row, &names)}))),
        Ack::Missing => Err(no_such()),
    }
}

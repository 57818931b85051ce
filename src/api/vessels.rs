//! `/api/vessels/*` and `/api/harbours` (docs/VESSELS.md): the registry, the live list, a
//! boat's card, track and trips, vessel events, statistics, the two ingest endpoints,
//! closures, zones and alerts. The work is the fleet's (`crate::vessels`).

use super::AppState;
use super::access::Who;
use super::assets::{area_param, bbox_param, subtree};
use super::error::{ApiError, Json, Params};
use crate::events::filter::parse_time;
use crate::store::vessels::{VesselEventQuery, VesselWrite, VesselWriteOutcome};
use crate::vessels::model::{
    Class, EventType, Fix, Problem, Source, State as BoatState, VesselBody, mask_phone, valid_mmsi,
};
use crate::vessels::nmea::{Decoded, Feed};
use crate::vessels::{Fleet, IngestError, Registry, rules};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use geo::{Simplify, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Lines of one `POST /api/vessels/nmea` at most.
pub const MAX_NMEA_LINES: usize = 100_000;
/// Rows of one `POST /api/vessels/positions` at most.
pub const MAX_POSITIONS: usize = 50_000;
/// Bad lines listed in an answer at most (all are counted).
const BAD_LINES_LISTED: usize = 100;

fn loading() -> ApiError {
    ApiError::unavailable("船舶数据正在加载，请稍后重试 (the vessel registry is still loading)")
}

fn ready(fleet: &Fleet) -> Result<(), ApiError> {
    if fleet.is_loaded() {
        Ok(())
    } else {
        Err(loading())
    }
}

fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Loading => loading(),
        IngestError::Closed => ApiError::unavailable(e.to_string()),
        IngestError::Store(_) => ApiError::internal(e),
    }
}

fn no_vessel(mmsi: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "vessel_not_found",
        format!(
            "没有 MMSI 为 {} 的船舶 (no such vessel)",
            mmsi.chars().take(20).collect::<String>()
        ),
    )
}

fn mmsi_of(s: &str) -> Result<u32, ApiError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|m| valid_mmsi(*m))
        .map(|m| m as u32)
        .ok_or_else(|| no_vessel(s))
}

/// Whether a boat's managing village lies in `within` (None: everything).
fn in_area(reg: &Registry, village: Option<&str>, within: Option<&str>) -> bool {
    within.is_none_or(|a| reg.chain(village).iter().flatten().any(|c| c == a))
}

/// `GET /api/vessels?bbox=&state=&harbour=&area=&limit=`
pub async fn list(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let bbox = bbox_param(&p)?;
    let wanted = match p.get("state") {
        None => None,
        Some(s) => Some(BoatState::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "未知的状态 \"{}\"；可用：{} (unknown state)",
                    s.chars().take(20).collect::<String>(),
                    BoatState::ALL.map(BoatState::code).join(", ")
                ),
            )
        })?),
    };
    let reg = fleet.registry();
    let harbour = match p.get("harbour") {
        None => None,
        Some(h) => Some(
            h.trim()
                .parse::<i32>()
                .ok()
                .filter(|id| reg.harbours.get(*id).is_some())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "unknown_harbour",
                        format!(
                            "没有编号为 {} 的港口 (no such harbour)",
                            h.chars().take(20).collect::<String>()
                        ),
                    )
                })?,
        ),
    };
    let area = area_param(&state, &p)?;
    let within = subtree(&state, area.as_deref());
    let limit = p.integer_in("limit", 1..=100_000, 1000)? as usize;
    let tracks = fleet.tracks();
    let now = fleet.now_ms();
    let mut mmsis: Vec<u32> = reg.vessels.keys().copied().collect();
    mmsis.extend(tracks.keys().filter(|m| !reg.vessels.contains_key(m)));
    mmsis.sort_unstable();
    let mut counts: HashMap<&str, usize> = BoatState::ALL.iter().map(|s| (s.code(), 0)).collect();
    let mut out = Vec::new();
    let mut count = 0;
    for m in mmsis {
        let v = reg.vessels.get(&m);
        let t = tracks.get(&m);
        if harbour.is_some() && v.and_then(|v| v.harbour_id) != harbour {
            continue;
        }
        if !in_area(
            &reg,
            v.and_then(|v| v.village_code.as_deref()),
            within.as_deref(),
        ) {
            continue;
        }
        if let Some(b) = bbox {
            let Some(f) = t.and_then(|t| t.last) else {
                continue;
            };
            if f.lon < b[0] || f.lon > b[2] || f.lat < b[1] || f.lat > b[3] {
                continue;
            }
        }
        let st = t.map_or(BoatState::Unknown, |t| t.state());
        *counts.entry(st.code()).or_default() += 1;
        if wanted.is_some_and(|w| w != st) {
            continue;
        }
        count += 1;
        if out.len() < limit {
            out.push(fleet.vessel_json(&reg, m, t, now));
        }
    }
    Ok(axum::Json(json!({"vessels": out, "count": count, "counts": counts})).into_response())
}

/// `GET /api/vessels/{mmsi}`
pub async fn get(
    State(state): State<AppState>,
    Path(mmsi): Path<String>,
) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let m = mmsi_of(&mmsi)?;
    let reg = fleet.registry();
    let track = fleet.track(m);
    let Some(v) = reg.vessels.get(&m).cloned() else {
        if track.is_none() {
            return Err(no_vessel(&mmsi));
        }
        return Ok(
            axum::Json(fleet.vessel_json(&reg, m, track.as_ref(), fleet.now_ms())).into_response(),
        );
    };
    Ok(axum::Json(card(&state, &reg, &v, track.as_ref())).into_response())
}

/// A boat's whole card.
fn card(
    state: &AppState,
    reg: &Registry,
    v: &crate::store::vessels::VesselRow,
    t: Option<&crate::vessels::track::Track>,
) -> Value {
    let fleet = &state.fleet;
    let now = fleet.now_ms();
    let m = v.mmsi as u32;
    let mut out = fleet.vessel_json_of(reg, Some(v), m, t, now);
    let names = state.analytics.names();
    let area = |c: &Option<String>| {
        c.as_deref()
            .map(|code| json!({"code": code, "name": names.get(code).map(|n| n.name.to_string())}))
    };
    let chain = reg.chain(v.village_code.as_deref());
    let last = t.and_then(|t| t.last).map(|f| {
        json!({
            "at": DateTime::<Utc>::from_timestamp_millis(f.at_ms), "age_s": ((now - f.at_ms) / 1000).max(0),
            "lon": f.lon, "lat": f.lat, "speed_kn": f.speed_kn, "course": f.course,
            "heading": f.heading, "source": f.source.code(),
        })
    });
    let trip = t.and_then(|t| t.trip).map(|(h, at)| {
        json!({
            "departed_at": DateTime::<Utc>::from_timestamp_millis(at),
            "from": reg.harbours.get(h).map(|h| json!({"id": h.id, "name": h.name})),
        })
    });
    let ais = fleet.ais_static(m).map(|s| {
        json!({"name": s.name, "call_sign": s.call_sign, "ship_type": s.ship_type, "length_m": s.length_m})
    });
    let extra = json!({
        "call_sign": v.call_sign,
        "length_m": v.length_m,
        "owner": (v.owner_name.is_some() || v.owner_phone.is_some()).then(|| json!({
            "name": v.owner_name, "phone": v.owner_phone.as_deref().map(mask_phone),
        })),
        "masked": ["owner.phone"],
        "town": area(&chain[1]),
        "district": area(&chain[0]),
        "version": v.version,
        "updated_at": v.updated_at,
        "last": last,
        "trip": trip,
        "ais": ais,
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut out, extra) {
        o.extend(e);
    }
    out
}

/// The checks only the server can make: the harbour and the village exist.
fn known_check(state: &AppState) -> impl Fn(Option<i32>, Option<&str>) -> Vec<Problem> + '_ {
    move |harbour, village| {
        let mut p = Vec::new();
        if let Some(h) = harbour
            && state.fleet.registry().harbours.get(h).is_none()
        {
            p.push(Problem {
                path: "harbour".into(),
                message: format!("没有编号为 {h} 的港口 (no such harbour)"),
            });
        }
        if let Some(v) = village {
            let level = state.analytics.names().get(v).map(|n| n.level);
            if level != Some(crate::model::Level::Village) {
                p.push(Problem {
                    path: "village".into(),
                    message: format!("{v} 不是村（社区）编码 (not a village code)"),
                });
            }
        }
        p
    }
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::bad_request(
        "invalid_vessel",
        format!(
            "船舶信息有 {} 处错误：{} (the record is invalid)",
            problems.len(),
            problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect::<Vec<_>>()
                .join("；")
        ),
    )
    .with_details(json!({"details": problems}))
}

fn write_of(d: crate::vessels::model::VesselDraft) -> VesselWrite {
    VesselWrite {
        mmsi: d.mmsi,
        name: d.name,
        call_sign: d.call_sign,
        ship_type: d.ship_type,
        class: d.class.map(Class::code),
        length_m: d.length_m,
        harbour_id: d.harbour_id,
        owner_name: d.owner_name,
        owner_phone: d.owner_phone,
        village_code: d.village_code,
    }
}

/// `POST /api/vessels`
pub async fn create(
    State(state): State<AppState>,
    who: Who,
    Json(body): Json<VesselBody>,
) -> Result<Response, ApiError> {
    ready(&state.fleet)?;
    let draft = body.check(None, &known_check(&state)).map_err(invalid)?;
    who.require_chain(&[draft.village_code.as_deref().or(Some(""))])?;
    if draft
        .owner_phone
        .as_deref()
        .is_some_and(|p| p.contains('*'))
    {
        return Err(invalid(vec![Problem {
            path: "owner.phone".into(),
            message: "不能提交脱敏后的电话 (a masked phone cannot be stored)".into(),
        }]));
    }
    match state.store.insert_vessel(&write_of(draft)).await? {
        VesselWriteOutcome::Done(row) => {
            tracing::info!(mmsi = row.mmsi, "vessel registered");
            let reg = state.fleet.registry();
            let t = state.fleet.track(row.mmsi as u32);
            Ok((
                StatusCode::CREATED,
                axum::Json(card(&state, &reg, &row, t.as_ref())),
            )
                .into_response())
        }
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "vessel_exists",
            "该 MMSI 已登记；修改请用 PUT /api/vessels/{mmsi} (already registered; use PUT)",
        )),
    }
}

/// `PUT /api/vessels/{mmsi}` (the whole record with the `version` read)
pub async fn put(
    State(state): State<AppState>,
    who: Who,
    Path(mmsi): Path<String>,
    Json(body): Json<VesselBody>,
) -> Result<Response, ApiError> {
    ready(&state.fleet)?;
    let m = mmsi_of(&mmsi)?;
    let Some(version) = body.version else {
        return Err(invalid(vec![Problem {
            path: "version".into(),
            message: "必填：读取时的 version (required: the version read)".into(),
        }]));
    };
    let mut draft = body
        .check(Some(m as i32), &known_check(&state))
        .map_err(invalid)?;
    who.require_chain(&[draft.village_code.as_deref().or(Some(""))])?;
    // A masked phone sent back keeps the stored one.
    if draft
        .owner_phone
        .as_deref()
        .is_some_and(|p| p.contains('*'))
    {
        let stored = state.store.vessel(m as i32).await?;
        let keep = stored
            .and_then(|s| s.owner_phone)
            .filter(|s| Some(mask_phone(s)) == draft.owner_phone);
        match keep {
            Some(p) => draft.owner_phone = Some(p),
            None => {
                return Err(invalid(vec![Problem {
                    path: "owner.phone".into(),
                    message: "不能提交脱敏后的电话 (a masked phone cannot be stored)".into(),
                }]));
            }
        }
    }
    match state.store.update_vessel(&write_of(draft), version).await? {
        VesselWriteOutcome::Done(row) => {
            tracing::info!(mmsi = row.mmsi, version = row.version, "vessel updated");
            let reg = state.fleet.registry();
            let t = state.fleet.track(m);
            Ok(axum::Json(card(&state, &reg, &row, t.as_ref())).into_response())
        }
        VesselWriteOutcome::Stale(now) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "version_conflict",
            format!(
                "记录已被他人修改（当前版本 {now}），请重新读取 (stale version; read it again)"
            ),
        )
        .with_details(json!({"version": now}))),
        VesselWriteOutcome::Missing | VesselWriteOutcome::Exists => Err(no_vessel(&mmsi)),
    }
}

/// A time parameter in Unix milliseconds.
fn time_param(p: &Params, name: &str, end: bool) -> Result<Option<i64>, ApiError> {
    p.get(name)
        .map(|s| parse_time(name, s, end).map(|us| us / 1000))
        .transpose()
        .map_err(|e| ApiError::bad_request(e.code, e.message))
}

/// `GET /api/vessels/{mmsi}/track?from=&to=&zoom=`
pub async fn track(
    State(state): State<AppState>,
    Path(mmsi): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let m = mmsi_of(&mmsi)?;
    if !fleet.registry().vessels.contains_key(&m) && fleet.track(m).is_none() {
        return Err(no_vessel(&mmsi));
    }
    let now = fleet.now_ms().max(crate::time::now_us() / 1000);
    let to = time_param(&p, "to", true)?.unwrap_or(now);
    let from = time_param(&p, "from", false)?.unwrap_or(to - 86_400_000);
    if from >= to || to - from > 31 * 86_400_000 {
        return Err(ApiError::bad_request(
            "invalid_range",
            "from 应早于 to，且跨度不超过 31 天 (from must precede to, at most 31 days apart)",
        ));
    }
    let zoom = p.integer_in("zoom", 0..=22, 12)?;
    let at = |ms| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let points = state.store.track(m as i32, at(from), at(to)).await?;
    // Half a pixel at the zoom asked, in degrees.
    let epsilon = 360.0 / (512.0 * 2f64.powi(zoom as i32));
    let line = geo::LineString::from(points.iter().map(|(_, x, y)| (*x, *y)).collect::<Vec<_>>());
    let kept_line = line.simplify(epsilon);
    // The times of the vertices kept (simplification keeps a subsequence).
    let mut times = Vec::with_capacity(kept_line.0.len());
    let mut i = 0;
    for c in &kept_line.0 {
        while i < points.len() && (points[i].1, points[i].2) != (c.x, c.y) {
            i += 1;
        }
        if let Some(p) = points.get(i) {
            times.push(p.0);
            i += 1;
        }
    }
    let coords: Vec<[f64; 2]> = kept_line.0.iter().map(|c| [c.x, c.y]).collect();
    Ok(axum::Json(json!({
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {
            "mmsi": m, "from": at(from), "to": at(to), "points": points.len(),
            "kept": coords.len(), "zoom": zoom, "times": times,
        },
    }))
    .into_response())
}

/// `GET /api/vessels/{mmsi}/trips?from=&to=`
pub async fn trips(
    State(state): State<AppState>,
    Path(mmsi): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let m = mmsi_of(&mmsi)?;
    let reg = fleet.registry();
    if !reg.vessels.contains_key(&m) && fleet.track(m).is_none() {
        return Err(no_vessel(&mmsi));
    }
    let at = |ms| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let now = fleet.now_ms().max(crate::time::now_us() / 1000);
    let to = time_param(&p, "to", true)?.unwrap_or(now);
    let from = time_param(&p, "from", false)?.unwrap_or(to - 31 * 86_400_000);
    let events = state
        .store
        .vessel_events(&VesselEventQuery {
            kinds: vec![EventType::PortExit.code(), EventType::PortEntry.code()],
            mmsi: vec![m as i32],
            from: Some(at(from)),
            to: Some(at(to)),
            ascending: true,
            limit: 10_000,
        })
        .await?;
    let harbour = |id: Option<i32>| {
        id.and_then(|h| reg.harbours.get(h))
            .map(|h| json!({"id": h.id, "name": h.name}))
    };
    let mut trips: Vec<Value> = Vec::new();
    let mut open: Option<&crate::store::vessels::VesselEventRow> = None;
    for e in &events {
        if e.kind == "port_exit" {
            open = Some(e);
        } else if let Some(x) = open.take() {
            trips.push(json!({
                "departed_at": x.at, "from": harbour(x.harbour_id), "returned_at": e.at,
                "to": harbour(e.harbour_id), "duration_s": (e.at - x.at).num_seconds(),
            }));
        }
    }
    if let Some(x) = open {
        trips.push(json!({
            "departed_at": x.at, "from": harbour(x.harbour_id), "returned_at": null, "to": null,
            "duration_s": (at(now) - x.at).num_seconds().max(0),
        }));
    }
    trips.reverse();
    Ok(axum::Json(json!({"mmsi": m, "trips": trips})).into_response())
}

/// `GET /api/vessels/events?type=&from=&to=&area=&mmsi=&limit=`
pub async fn events(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let kinds = match p.get("type") {
        None => Vec::new(),
        Some(s) => s
            .split(',')
            .map(|t| {
                EventType::parse(t).map(EventType::code).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_parameter",
                        format!(
                            "未知的事件类型 \"{}\"；可用：{} (unknown type)",
                            t.chars().take(20).collect::<String>(),
                            EventType::ALL.map(EventType::code).join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let reg = fleet.registry();
    let area = area_param(&state, &p)?;
    let within = subtree(&state, area.as_deref());
    let mut mmsi: Vec<i32> = match p.get("mmsi") {
        None => Vec::new(),
        Some(s) => vec![mmsi_of(s)? as i32],
    };
    if within.is_some() {
        let in_it: Vec<i32> = reg
            .vessels
            .values()
            .filter(|v| in_area(&reg, v.village_code.as_deref(), within.as_deref()))
            .map(|v| v.mmsi)
            .collect();
        mmsi = if mmsi.is_empty() {
            in_it
        } else {
            mmsi.into_iter().filter(|m| in_it.contains(m)).collect()
        };
        if mmsi.is_empty() {
            return Ok(axum::Json(json!({"events": []})).into_response());
        }
    }
    let at = |ms| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let rows = state
        .store
        .vessel_events(&VesselEventQuery {
            kinds,
            mmsi,
            from: time_param(&p, "from", false)?.map(at),
            to: time_param(&p, "to", true)?.map(at),
            ascending: false,
            limit: p.integer_in("limit", 1..=5000, 200)?,
        })
        .await?;
    let list: Vec<Value> = rows.iter().map(|e| fleet.event_json(&reg, e)).collect();
    Ok(axum::Json(json!({"events": list})).into_response())
}

/// `GET /api/vessels/stats?level=town|village&area=`
pub async fn stats(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let by_town = match p.get("level").unwrap_or("town").trim() {
        "town" => true,
        "village" => false,
        other => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "level 应为 town 或 village (level must be town or village, got '{}')",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    };
    let area = area_param(&state, &p)?;
    let within = subtree(&state, area.as_deref());
    let reg = fleet.registry();
    let tracks = fleet.tracks();
    let names = state.analytics.names();
    let mut rows: HashMap<String, HashMap<&'static str, usize>> = HashMap::new();
    for v in reg.vessels.values() {
        let chain = reg.chain(v.village_code.as_deref());
        if !in_area(&reg, v.village_code.as_deref(), within.as_deref()) {
            continue;
        }
        let Some(code) = (if by_town {
            chain[1].clone()
        } else {
            chain[2].clone()
        }) else {
            continue;
        };
        let st = tracks
            .get(&(v.mmsi as u32))
            .map_or(BoatState::Unknown, |t| t.state());
        let row = rows.entry(code).or_default();
        *row.entry("vessels").or_default() += 1;
        *row.entry(st.code()).or_default() += 1;
    }
    let mut out: Vec<Value> = rows
        .into_iter()
        .map(|(code, r)| {
            let mut o =
                json!({"code": code, "name": names.get(code.as_str()).map(|n| n.name.to_string())});
            for k in ["vessels"]
                .into_iter()
                .chain(BoatState::ALL.map(BoatState::code))
            {
                o[k] = json!(r.get(k).copied().unwrap_or(0));
            }
            o
        })
        .collect();
    out.sort_by(|a, b| a["code"].as_str().cmp(&b["code"].as_str()));
    Ok(
        axum::Json(json!({"level": if by_town { "town" } else { "village" }, "rows": out}))
            .into_response(),
    )
}

/// `GET /api/harbours`
pub async fn harbours(State(state): State<AppState>, who: Who) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let reg = fleet.registry();
    let tracks = fleet.tracks();
    let names = state.analytics.names();
    // A scoped caller counts only the boats its villages manage.
    let mine = |mmsi: u32| {
        who.sees_city()
            || reg
                .vessels
                .get(&mmsi)
                .and_then(|v| v.village_code.as_deref())
                .is_some_and(|c| who.0.scope.contains(c))
    };
    let mut in_port: HashMap<i32, usize> = HashMap::new();
    for (mmsi, t) in tracks.iter() {
        if !mine(*mmsi) {
            continue;
        }
        if let Some(h) = t.port {
            *in_port.entry(h).or_default() += 1;
        }
    }
    let mut home: HashMap<i32, (usize, usize)> = HashMap::new();
    for v in reg.vessels.values() {
        let Some(h) = v.harbour_id else { continue };
        if !mine(v.mmsi as u32) {
            continue;
        }
        let e = home.entry(h).or_default();
        e.0 += 1;
        let t = tracks.get(&(v.mmsi as u32));
        if t.is_some_and(|t| t.last.is_some() && t.port.is_none()) {
            e.1 += 1;
        }
    }
    let list: Vec<Value> = reg
        .harbours
        .list()
        .iter()
        .filter(|h| {
            // The harbours of the scope, and those where its boats are or belong.
            who.sees_city()
                || h.town_code.as_deref().is_some_and(|t| who.0.scope.related(t))
                || in_port.contains_key(&h.id)
                || home.contains_key(&h.id)
        })
        .map(|h| {
            let (n_home, at_sea) = home.get(&h.id).copied().unwrap_or_default();
            let town = h
                .town_code
                .as_deref()
                .filter(|t| who.sees_city() || who.0.scope.related(t));
            json!({
                "id": h.id, "name": h.name, "kind": h.kind.code(), "kind_name": h.kind.label(),
                "lon": h.lon, "lat": h.lat,
                "fairway": h.fairway.map(|(x, y)| json!({"lon": x, "lat": y})),
                "town": town.map(|c| json!({"code": c, "name": names.get(c).map(|n| n.name.to_string())})),
                "in_port": in_port.get(&h.id).copied().unwrap_or(0),
                "home": n_home, "at_sea": at_sea,
            })
        })
        .collect();
    Ok(axum::Json(json!({"harbours": list})).into_response())
}

/// `GET /api/vessels/ingest`: the counters of every feed.
pub async fn ingest_stats(State(state): State<AppState>) -> Response {
    axum::Json(state.fleet.stats()).into_response()
}

/// A position time is usable: not older than the retention, not more than ten minutes ahead.
fn time_ok(fleet: &Fleet, at_ms: i64) -> bool {
    at_ms >= fleet.oldest_ms()
        && at_ms <= crate::time::now_us() / 1000 + crate::vessels::MAX_AHEAD_MS
}

/// `POST /api/vessels/nmea` (text/plain lines)
pub async fn nmea(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let text = String::from_utf8_lossy(&body);
    let lines = text.lines().count();
    if lines > MAX_NMEA_LINES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_lines",
            format!(
                "一次最多 {MAX_NMEA_LINES} 行，本次 {lines} 行：请分批提交 (at most {MAX_NMEA_LINES} lines per request)"
            ),
        ));
    }
    let now = crate::time::now_us() / 1000;
    let mut feed = Feed::default();
    let mut fixes: Vec<Fix> = Vec::new();
    let mut statics = Vec::new();
    let mut bad = Vec::new();
    let mut bad_count = 0usize;
    let mut ignored = 0usize;
    let mut errors: HashMap<&'static str, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            ignored += 1;
            continue;
        }
        // Lines are numbered as in the body (1-based), blank ones included.
        let n = i as u64 + 1;
        match feed.line(line, now) {
            Ok(Decoded::Position(f)) if !time_ok(fleet, f.at_ms) => {
                bad_count += 1;
                *errors.entry("invalid_time").or_default() += 1;
                if bad.len() < BAD_LINES_LISTED {
                    bad.push(json!({"line": n, "code": "invalid_time",
                        "message": "标签块时间早于保留期或超前 10 分钟以上 (time outside the retention or ahead)"}));
                }
            }
            Ok(Decoded::Position(f)) => fixes.push(f),
            Ok(Decoded::Static(s)) => statics.push(s),
            Ok(Decoded::Nothing) => {}
            Err(mut b) => {
                bad_count += 1;
                *errors.entry(b.code).or_default() += 1;
                if bad.len() < BAD_LINES_LISTED {
                    b.line = n;
                    bad.push(json!(b));
                }
            }
        }
    }
    let counts = feed.counts;
    fleet.count_lines(&counts);
    let n_statics = statics.len();
    fleet.statics(statics);
    let positions = fixes.len();
    let outcome = fleet.ingest(fixes, true).await.map_err(ingest_error)?;
    let pending_fragments = counts.sentences
        - counts.positions
        - counts.statics
        - counts.no_position
        - counts.unsupported
        - counts.fragments_dropped.min(counts.sentences);
    Ok(axum::Json(json!({
        "lines": counts.lines, "sentences": counts.sentences, "positions": positions,
        "statics": n_statics, "stored": outcome.stored, "flagged": outcome.flagged,
        "out_of_order": outcome.out_of_order, "registered": outcome.registered,
        "ignored": ignored, "no_position": counts.no_position,
        "fragments_dropped": counts.fragments_dropped, "fragments_pending": pending_fragments,
        "bad": bad_count, "errors": errors, "bad_lines": bad,
    }))
    .into_response())
}

/// One row of `POST /api/vessels/positions`, checked.
fn position_row(fleet: &Fleet, v: &Value) -> Result<Fix, (&'static str, String)> {
    let o = v.as_object().ok_or((
        "malformed_row",
        "每行应为一个对象 (each row must be an object)".to_string(),
    ))?;
    for k in o.keys() {
        if ![
            "mmsi", "time", "lon", "lat", "speed", "course", "heading", "source",
        ]
        .contains(&k.as_str())
        {
            return Err(("malformed_row", format!("未知字段 {k} (unknown field)")));
        }
    }
    let num = |k: &str| -> Result<Option<f64>, (&'static str, String)> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_f64().filter(|x| x.is_finite()).map(Some).ok_or((
                "invalid_value",
                format!("{k} 不是有限的数 ({k} is not a finite number)"),
            )),
            Some(_) => Err((
                "invalid_value",
                format!("{k} 应为数字 ({k} must be a number)"),
            )),
        }
    };
    let mmsi = match o.get("mmsi") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|m| valid_mmsi(*m))
    .ok_or((
        "invalid_mmsi",
        "mmsi 应为九位数字 (mmsi must be nine digits)".to_string(),
    ))?;
    let at_ms = o
        .get("time")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|t| t.timestamp_millis())
        .ok_or((
            "invalid_time",
            "time 应为 RFC 3339 时间，如 2026-12-03T08:00:00+08:00 (time must be RFC 3339)"
                .to_string(),
        ))?;
    if !time_ok(fleet, at_ms) {
        return Err((
            "invalid_time",
            format!(
                "time 早于保留期（{} 天）或超前 10 分钟以上 (time is older than the retention or ahead of the server)",
                fleet.config().retention_days
            ),
        ));
    }
    let lon = num("lon").map_err(|_| {
        (
            "invalid_position",
            "lon 应为 -180 到 180 的数 (lon must be -180…180)".to_string(),
        )
    })?;
    let lat = num("lat").map_err(|_| {
        (
            "invalid_position",
            "lat 应为 -90 到 90 的数 (lat must be -90…90)".to_string(),
        )
    })?;
    let (Some(lon), Some(lat)) = (lon, lat) else {
        return Err((
            "invalid_position",
            "缺少 lon 或 lat (lon and lat are required)".to_string(),
        ));
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err((
            "invalid_position",
            format!("坐标 ({lon}, {lat}) 超出范围 (out of range)"),
        ));
    }
    let speed = num("speed")?;
    if speed.is_some_and(|s| !(0.0..=102.2).contains(&s)) {
        return Err((
            "invalid_value",
            "speed 应为 0 到 102.2 节 (speed must be 0–102.2 kn)".to_string(),
        ));
    }
    let course = num("course")?;
    if course.is_some_and(|c| !(0.0..360.0).contains(&c)) {
        return Err((
            "invalid_value",
            "course 应为 0 到 360 度 (course must be 0–360)".to_string(),
        ));
    }
    let heading = num("heading")?;
    if heading.is_some_and(|h| !(0.0..360.0).contains(&h)) {
        return Err((
            "invalid_value",
            "heading 应为 0 到 360 度 (heading must be 0–360)".to_string(),
        ));
    }
    let source = match o.get("source") {
        None | Some(Value::Null) => Source::Beidou,
        Some(Value::String(s)) => Source::parse(s).ok_or((
            "invalid_value",
            "source 应为 beidou、ais 或 manual (source must be beidou, ais or manual)".to_string(),
        ))?,
        Some(_) => {
            return Err((
                "invalid_value",
                "source 应为字符串 (source must be a string)".to_string(),
            ));
        }
    };
    Ok(Fix {
        mmsi: mmsi as u32,
        at_ms,
        lon,
        lat,
        speed_kn: speed.map(|s| s as f32),
        course: course.map(|c| c as f32),
        heading: heading.map(|h| h as u16),
        status: None,
        class: None,
        source,
    })
}

/// `POST /api/vessels/positions` (a JSON array, or `{"positions": [...]}`)
pub async fn positions(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("请求体不是有效的 JSON：{e} (the body is not valid JSON)"),
        )
    })?;
    let rows = match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("positions") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(ApiError::bad_request(
                    "malformed_json",
                    "请求体应为位置数组，或 {\"positions\": [...]} (a JSON array of positions)",
                ));
            }
        },
        _ => {
            return Err(ApiError::bad_request(
                "malformed_json",
                "请求体应为位置数组 (a JSON array of positions)",
            ));
        }
    };
    if rows.len() > MAX_POSITIONS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_positions",
            format!(
                "一次最多 {MAX_POSITIONS} 条位置，本次 {} 条：请分批提交 (at most {MAX_POSITIONS} per request)",
                rows.len()
            ),
        ));
    }
    if rows.is_empty() {
        return Err(ApiError::bad_request(
            "empty_batch",
            "没有位置 (no positions)",
        ));
    }
    let mut fixes = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match position_row(fleet, r) {
            Ok(f) => fixes.push(f),
            Err((code, message)) => {
                errors.push(json!({"index": i, "code": code, "message": message}))
            }
        }
    }
    fleet.count_refused(errors.len());
    if fixes.is_empty() {
        return Err(ApiError::bad_request(
            "no_valid_positions",
            format!(
                "{} 条位置全部有误，未存储 (no row is valid; nothing stored)",
                rows.len()
            ),
        )
        .with_details(json!({"errors": errors})));
    }
    let outcome = fleet.ingest(fixes, true).await.map_err(ingest_error)?;
    Ok(axum::Json(json!({
        "stored": outcome.stored, "flagged": outcome.flagged, "out_of_order": outcome.out_of_order,
        "registered": outcome.registered, "transitions": outcome.transitions,
        "refused": errors.len(), "errors": errors,
    }))
    .into_response())
}

/// `GET /api/vessels/closures`
pub async fn closures(State(state): State<AppState>) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let now = DateTime::<Utc>::from_timestamp_millis(fleet.now_ms()).unwrap_or_default();
    let reg = fleet.registry();
    let list: Vec<Value> = reg
        .closures_at(now)
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "name": c.name, "harbours": c.harbours, "from": c.from, "to": c.to,
                "reason": c.reason, "active": c.active(now), "moratorium": c.moratorium,
            })
        })
        .collect();
    Ok(axum::Json(json!({"closures": list})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureBody {
    name: String,
    #[serde(default)]
    harbours: Vec<i32>,
    from: String,
    to: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/vessels/closures`
pub async fn create_closure(
    State(state): State<AppState>,
    Json(b): Json<ClosureBody>,
) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let bad = |m: String| ApiError::bad_request("invalid_closure", m);
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad(
            "name 应为 1 到 100 个字符 (name must be 1–100 characters)".into(),
        ));
    }
    if b.reason.chars().count() > 500 {
        return Err(bad(
            "reason 最多 500 个字符 (reason is at most 500 characters)".into(),
        ));
    }
    let reg = fleet.registry();
    if let Some(h) = b.harbours.iter().find(|h| reg.harbours.get(**h).is_none()) {
        return Err(bad(format!("没有编号为 {h} 的港口 (no such harbour)")));
    }
    let t = |s: &str, what: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                bad(format!(
                    "{what} 应为 RFC 3339 时间 ({what} must be an RFC 3339 time)"
                ))
            })
    };
    let (from, to) = (t(&b.from, "from")?, t(&b.to, "to")?);
    if from >= to || (to - from).num_days() > 366 {
        return Err(bad(
            "from 应早于 to，且不超过一年 (from must precede to, at most a year)".into(),
        ));
    }
    let id = state
        .store
        .insert_closure(name, &b.harbours, from, to, b.reason.trim())
        .await?;
    tracing::info!(id, name, "closure declared");
    Ok((
        StatusCode::CREATED,
        axum::Json(
            json!({"id": id.to_string(), "name": name, "harbours": b.harbours, "from": from,
            "to": to, "reason": b.reason.trim()}),
        ),
    )
        .into_response())
}

/// `GET /api/vessels/zones` (GeoJSON)
pub async fn zones(State(state): State<AppState>) -> Result<Response, ApiError> {
    let fleet = &state.fleet;
    ready(fleet)?;
    let reg = fleet.registry();
    let features: Vec<Value> = reg
        .zones
        .list
        .iter()
        .map(|z| {
            let ring: Vec<[f64; 2]> = z.polygon.exterior().coords().map(|c| [c.x, c.y]).collect();
            json!({"type": "Feature", "id": z.id, "properties": {"id": z.id, "name": z.name},
                   "geometry": {"type": "Polygon", "coordinates": [ring]}})
        })
        .collect();
    Ok(axum::Json(json!({"type": "FeatureCollection", "features": features})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneBody {
    name: String,
    geometry: Value,
}

/// `POST /api/vessels/zones` (`{name, geometry}`, a GeoJSON Polygon)
pub async fn create_zone(
    State(state): State<AppState>,
    Json(b): Json<ZoneBody>,
) -> Result<Response, ApiError> {
    ready(&state.fleet)?;
    let bad = |m: &str| ApiError::bad_request("invalid_zone", m.to_string());
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad(
            "name 应为 1 到 100 个字符 (name must be 1–100 characters)",
        ));
    }
    if b.geometry.get("type").and_then(Value::as_str) != Some("Polygon") {
        return Err(bad(
            "geometry 应为 GeoJSON Polygon (geometry must be a GeoJSON Polygon)",
        ));
    }
    let ring: Option<Vec<(f64, f64)>> = b.geometry["coordinates"]
        .get(0)
        .and_then(Value::as_array)
        .and_then(|r| {
            r.iter()
                .map(|c| Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?)))
                .collect()
        });
    let Some(ring) = ring.filter(|r| r.len() >= 4 && r.len() <= 10_000) else {
        return Err(bad(
            "coordinates 应为一个至少 4 个点的闭合环 (coordinates must hold one closed ring of at least 4 points)",
        ));
    };
    if ring
        .iter()
        .any(|(x, y)| !(-180.0..=180.0).contains(x) || !(-90.0..=90.0).contains(y))
    {
        return Err(bad("坐标超出经纬度范围 (a coordinate is out of range)"));
    }
    let polygon = geo::Polygon::new(geo::LineString::from(ring), vec![]);
    if !polygon.is_valid() {
        return Err(bad(
            "多边形无效（自相交或退化） (the polygon is invalid: self-intersecting or degenerate)",
        ));
    }
    let id = state.store.insert_zone(name, &polygon).await?;
    tracing::info!(id, name, "restricted zone added");
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "name": name})),
    )
        .into_response())
}

/// `GET /api/vessels/alerts?state=&area=&kind=&limit=`
pub async fn alerts(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    super::fire::alerts_of(&state, &p, rules::KINDS).await
}

//! `GET /api/assign` (one point) and `POST /api/assign` (a batch as JSON or CSV).

use super::AppState;
use super::access::{Who, out_of_scope};
use super::error::{ApiError, Params, body_rejection, parse_finite};
use crate::access::Scope;
use crate::assign::{PointError, check_point};
use crate::crs::Crs;
use crate::index::{Assignment, DEFAULT_TOLERANCE_M, Snapshot};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

/// Most points one request may carry.
pub const MAX_BATCH_POINTS: usize = 100_000;

#[derive(Serialize)]
struct OneAnswer<'a> {
    #[serde(flatten)]
    assignment: Assignment,
    input: Input<'a>,
}

#[derive(Serialize)]
struct Input<'a> {
    lon: f64,
    lat: f64,
    crs: &'a str,
    /// The point in WGS84, as assigned.
    wgs84: [f64; 2],
}

/// Options shared by both forms: the input CRS and the near-miss tolerance.
struct Options {
    crs: Crs,
    tolerance_m: f64,
}

fn options(params: &Params) -> Result<Options, ApiError> {
    let crs = match params.get("crs") {
        None => Crs::Wgs84,
        Some(s) => s.parse().map_err(|e: crate::crs::CrsError| {
            ApiError::bad_request("unknown_crs", e.to_string())
        })?,
    };
    let tolerance_m = params.number_in("tolerance_m", 0.0..=5_000.0, DEFAULT_TOLERANCE_M)?;
    Ok(Options { crs, tolerance_m })
}

fn ready_snapshot(state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
    if !state.index.is_loaded() {
        return Err(ApiError::unavailable(
            "分配索引正在加载，请稍候 (the assignment index is still loading)",
        ));
    }
    Ok(state.index.snapshot())
}

/// `GET /api/assign?lon=&lat=&crs=&tolerance_m=`
pub async fn get_one(
    State(state): State<AppState>,
    who: Who,
    params: Params,
) -> Result<Response, ApiError> {
    let opts = options(&params)?;
    let lon = parse_finite("lon", params.require("lon")?)?;
    let lat = parse_finite("lat", params.require("lat")?)?;
    let snapshot = ready_snapshot(&state)?;
    let (x, y) = check_point(lon, lat, opts.crs, snapshot.units_bbox())
        .map_err(|e| ApiError::bad_request(e.code, e.message))?;
    let assignment = snapshot.assign(x, y, opts.tolerance_m);
    let scope = scope_of(&who);
    if !visible(&assignment, scope.as_ref()) {
        return Err(out_of_scope(&who.0, &format!("{lon},{lat}")));
    }
    let crs = opts.crs.to_string();
    Ok(Json(OneAnswer {
        assignment,
        input: Input {
            lon,
            lat,
            crs: &crs,
            wgs84: [x, y],
        },
    })
    .into_response())
}

/// A point of a batch as the client sent it: fields are checked one by one so that each bad
/// row gets its own error.
#[derive(Deserialize)]
struct RawPoint<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    lon: Option<&'a RawValue>,
    #[serde(borrow, default)]
    lat: Option<&'a RawValue>,
}

/// One parsed row: its id (raw JSON) and coordinates, or why it is unusable.
struct Row {
    id: Option<Box<RawValue>>,
    point: Result<(f64, f64), PointError>,
}

#[derive(Serialize)]
struct RowAnswer {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<Box<RawValue>>,
    #[serde(flatten)]
    outcome: Outcome,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Assigned(Box<Assignment>),
    Failed { error: PointError },
}

#[derive(Serialize)]
struct BatchAnswer {
    count: usize,
    assigned: usize,
    unassigned: usize,
    errors: usize,
    crs: String,
    results: Vec<RowAnswer>,
}

/// `POST /api/assign` with a JSON array of `{"id"?, "lon", "lat"}` or CSV with lon,lat columns.
pub async fn post_batch(
    State(state): State<AppState>,
    who: Who,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let opts = options(&params)?;
    let body = body.map_err(|e| body_rejection(e.status(), e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let snapshot = ready_snapshot(&state)?;
    let crs = opts.crs;
    let tolerance_m = opts.tolerance_m;
    let scope = scope_of(&who);
    let answer = tokio::task::spawn_blocking(move || -> Result<BatchAnswer, ApiError> {
        let rows = match content_type.as_str() {
            "application/json" | "" => parse_json(&body)?,
            "text/csv" | "application/csv" => parse_csv(&body)?,
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("不支持的 Content-Type {other}，请使用 application/json 或 text/csv (use application/json or text/csv)"),
                ));
            }
        };
        Ok(assign_rows(&snapshot, rows, crs, tolerance_m, scope.as_ref()))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(answer).into_response())
}

fn too_many(n: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_points",
        format!(
            "一次最多提交 {MAX_BATCH_POINTS} 个点，本次 {n} 个，请分批提交 (at most {MAX_BATCH_POINTS} points per request, got {n})"
        ),
    )
}

fn parse_json(body: &[u8]) -> Result<Vec<Row>, ApiError> {
    let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::bad_request("invalid_body", format!("请求体应为点的数组 [{{\"lon\":…,\"lat\":…}}] (body must be a JSON array of points): {e}"))
        } else {
            ApiError::bad_request("malformed_json", format!("请求体不是合法的 JSON (malformed JSON): {e}"))
        }
    })?;
    if items.len() > MAX_BATCH_POINTS {
        return Err(too_many(items.len()));
    }
    Ok(items.into_iter().map(parse_json_point).collect())
}

fn parse_json_point(item: &RawValue) -> Row {
    let Ok(p) = serde_json::from_str::<RawPoint<'_>>(item.get()) else {
        return Row {
            id: None,
            point: Err(PointError {
                code: "invalid_point",
                message: format!(
                    "每个点应为对象 {{\"id\"?, \"lon\", \"lat\"}} (each point must be an object with lon and lat, got {})",
                    clip(item.get())
                ),
            }),
        };
    };
    let id = p.id.map(|v| v.to_owned());
    let field = |name: &str, v: Option<&RawValue>| -> Result<f64, PointError> {
        let v = v.ok_or_else(|| PointError {
            code: "missing_field",
            message: format!("缺少字段 {name} (missing field '{name}')"),
        })?;
        serde_json::from_str::<f64>(v.get()).map_err(|_| PointError {
            code: "wrong_type",
            message: format!(
                "字段 {name} 应为数字 ({name} must be a number, got {})",
                clip(v.get())
            ),
        })
    };
    let point = field("lon", p.lon).and_then(|lon| Ok((lon, field("lat", p.lat)?)));
    Row { id, point }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// CSV with a header row naming lon and lat columns (also lng/longitude/x, latitude/y) and
/// optionally id.
fn parse_csv(body: &[u8]) -> Result<Vec<Row>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| {
            ApiError::bad_request(
                "malformed_csv",
                format!("CSV 表头无法读取 (cannot read the CSV header): {e}"),
            )
        })?
        .clone();
    let find = |names: &[&str]| {
        headers.iter().position(|h| {
            names
                .iter()
                .any(|n| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(n))
        })
    };
    let lon_col = find(&["lon", "lng", "longitude", "x", "经度"]);
    let lat_col = find(&["lat", "latitude", "y", "纬度"]);
    let id_col = find(&["id"]);
    let (Some(lon_col), Some(lat_col)) = (lon_col, lat_col) else {
        return Err(ApiError::bad_request(
            "missing_column",
            format!(
                "CSV 表头需包含 lon 和 lat 列 (the CSV header must name lon and lat columns; found: {})",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if rows.len() >= MAX_BATCH_POINTS {
            return Err(too_many(MAX_BATCH_POINTS + 1));
        }
        let row = match record {
            Err(e) => Row {
                id: None,
                point: Err(PointError {
                    code: "malformed_row",
                    message: format!("第 {} 行无法解析 (row {} is malformed): {e}", i + 2, i + 2),
                }),
            },
            Ok(r) => {
                let id = id_col.and_then(|c| r.get(c)).map(json_string);
                let cell = |c: usize, name: &str| -> Result<f64, PointError> {
                    let s = r
                        .get(c)
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| PointError {
                            code: "missing_field",
                            message: format!(
                                "第 {} 行缺少 {name} (row {} has no {name})",
                                i + 2,
                                i + 2
                            ),
                        })?;
                    s.parse::<f64>().map_err(|_| PointError {
                        code: "wrong_type",
                        message: format!(
                            "第 {} 行的 {name} 不是数字 (row {}: {name} '{}' is not a number)",
                            i + 2,
                            i + 2,
                            clip(s)
                        ),
                    })
                };
                Row {
                    id,
                    point: cell(lon_col, "lon").and_then(|lon| Ok((lon, cell(lat_col, "lat")?))),
                }
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

fn json_string(s: &str) -> Box<RawValue> {
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
    RawValue::from_string(quoted)
        .unwrap_or_else(|_| RawValue::from_string("null".to_string()).expect("null is JSON"))
}

/// The caller's scope when it is narrower than the city.
fn scope_of(who: &Who) -> Option<Scope> {
    (!who.sees_city()).then(|| who.0.scope.clone())
}

/// Whether an answer may be shown in `scope` (None: everywhere): the finest area it names
/// lies in the scope.
fn visible(a: &Assignment, scope: Option<&Scope>) -> bool {
    scope.is_none_or(|s| a.finest_code().is_some_and(|c| s.contains(c)))
}

fn assign_rows(
    snapshot: &Snapshot,
    rows: Vec<Row>,
    crs: Crs,
    tolerance_m: f64,
    scope: Option<&Scope>,
) -> BatchAnswer {
    let bbox = snapshot.units_bbox();
    let results: Vec<RowAnswer> = rows
        .into_par_iter()
        .enumerate()
        .with_min_len(2048)
        .map(|(index, row)| {
            let outcome = match row
                .point
                .and_then(|(lon, lat)| check_point(lon, lat, crs, bbox))
            {
                Ok((x, y)) => {
                    let a = snapshot.assign(x, y, tolerance_m);
                    if visible(&a, scope) {
                        Outcome::Assigned(Box::new(a))
                    } else {
                        Outcome::Failed {
                            error: PointError {
                                code: "out_of_scope",
                                message:
                                    "此点不在您的管辖范围内 (the point lies outside your scope)"
                                        .into(),
                            },
                        }
                    }
                }
                Err(error) => Outcome::Failed { error },
            };
            RowAnswer {
                index,
                id: row.id,
                outcome,
            }
        })
        .collect();
    let (mut assigned, mut unassigned, mut errors) = (0, 0, 0);
    for r in &results {
        match &r.outcome {
            Outcome::Assigned(a) if a.assigned => assigned += 1,
            Outcome::Assigned(_) => unassigned += 1,
            Outcome::Failed { .. } => errors += 1,
        }
    }
    BatchAnswer {
        count: results.len(),
        assigned,
        unassigned,
        errors,
        crs: crs.to_string(),
        results,
    }
}

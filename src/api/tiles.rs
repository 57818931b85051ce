//! The one tile handler, for every source in the registry (`crate::tiles::TileSources`):
//!
//! - `GET /tiles` — the catalog, generated from the registry;
//! - `GET /tiles/stats` — load and cache counters;
//! - `GET /tiles/{source}` (or `{source}.json`) — TileJSON 3.0.0, with absolute tile URLs built
//!   from the request's Host (and `X-Forwarded-Proto`); a source with parameters gets the
//!   query string carried into its tile URL;
//! - `GET /tiles/{source}/{z}/{x}/{y}[.mvt|.pbf]` — the tile: 200 with the MVT bytes in the
//!   best coding the client accepts (br, gzip, identity, by q-value), 204 when nothing falls in
//!   the tile, 304 when `If-None-Match` holds its ETag or `*`. HEAD answers the same headers.
//!
//! Every refusal is a 4xx in the API's error format (`From<TileError>` and `From<SourceError>`
//! below); CORS comes from the router's layer.

use super::AppState;
use super::access::Who;
use super::error::{ApiError, Params};
use crate::tiles::cache::Coding;
use crate::tiles::source::{SourceError, SourceInfo, TileError, TileSource, parse_address};
use crate::tiles::tile_id::{MAX_ZOOM, TileIdError};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub const CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
/// Tiles change when their data does: clients revalidate (cheap, with the ETag) every time.
const CACHE_CONTROL: &str = "private, no-cache";

impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> ApiError {
        match e {
            SourceError::Invalid { code, message } => ApiError::bad_request(code, message),
            SourceError::NotFound { code, message } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message)
            }
        }
    }
}

impl From<TileError> for ApiError {
    fn from(e: TileError) -> ApiError {
        match e {
            TileError::UnknownSource { id, known } => {
                let known = known.join(", ");
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_layer",
                    format!(
                        "没有这个图层: '{id}'，可用: {known} (unknown tile layer; available: {known})"
                    ),
                )
            }
            TileError::Address(e) => address_error(e),
            TileError::Format(ext) => ApiError::bad_request(
                "unsupported_format",
                format!(
                    "不支持的瓦片格式 '.{ext}'，请用 .mvt 或 .pbf (unsupported tile format; use .mvt, .pbf or none)"
                ),
            ),
            TileError::NotReady(id) => ApiError::unavailable(format!(
                "瓦片数据正在加载，请稍后重试 (the data of tile source '{id}' is still loading; retry shortly)"
            )),
            TileError::Query(e) => e.into(),
            TileError::OutOfScope(area) => ApiError::new(
                StatusCode::FORBIDDEN,
                "out_of_scope",
                format!("超出您的管辖范围：{area} (area '{area}' is outside your scope)"),
            ),
            e @ (TileError::Render { .. } | TileError::DuplicateSource(_)) => ApiError::internal(e),
        }
    }
}

fn address_error(e: TileIdError) -> ApiError {
    match e {
        TileIdError::NotANumber { what, got } => ApiError::bad_request(
            "invalid_tile",
            format!(
                "瓦片坐标 {what} 应为非负整数 (tile {what} must be a whole number, got '{got}')"
            ),
        ),
        TileIdError::Zoom(z) => ApiError::bad_request(
            "zoom_out_of_range",
            format!(
                "缩放级别 {z} 超出范围 0–{MAX_ZOOM} (zoom must be 0..={MAX_ZOOM}; clients overzoom beyond it)"
            ),
        ),
        TileIdError::OutOfRange {
            what,
            got,
            limit,
            z,
        } => ApiError::bad_request(
            "tile_out_of_range",
            format!(
                "瓦片坐标 {what}={got} 超出范围，缩放级别 {z} 时应小于 {limit} ({what} must be below {limit} at zoom {z})"
            ),
        ),
    }
}

/// The coding the client prefers by q-value (RFC 9110 §12.5.3), ties going to br, then gzip,
/// then identity. `*` stands for every coding not named. Identity is acceptable unless refused
/// (`identity;q=0`, or `*;q=0` without naming it), but when not named it ranks below every
/// coding the client names (a client that lists gzip wants it); if nothing is acceptable,
/// identity.
fn coding(headers: &HeaderMap) -> Coding {
    let Some(v) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Coding::Identity;
    };
    let (mut br, mut gz, mut id, mut any) = (None, None, None, None);
    for item in v.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = Some(1.0f32);
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q));
            }
        }
        // A malformed q-value makes the item void.
        let Some(q) = q else { continue };
        let slot = match name.as_str() {
            "br" => &mut br,
            "gzip" | "x-gzip" => &mut gz,
            "identity" => &mut id,
            "*" => &mut any,
            _ => continue,
        };
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    let ranked = [
        (Coding::Br, br.or(any).unwrap_or(0.0)),
        (Coding::Gzip, gz.or(any).unwrap_or(0.0)),
        // Below the smallest q-value a client can write (0.001).
        (Coding::Identity, id.or(any).unwrap_or(0.0001)),
    ];
    let mut best = (Coding::Identity, 0.0);
    for (c, q) in ranked {
        if q > best.1 {
            best = (c, q);
        }
    }
    best.0
}

/// True if `If-None-Match` lists `etag` (weak or strong) or is `*`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

pub(super) async fn tile(
    State(state): State<AppState>,
    Path((source, z, x, y)): Path<(String, String, String, String)>,
    Params(query): Params,
    headers: HeaderMap,
    who: Who,
) -> Result<Response, ApiError> {
    let sources = &state.tile_sources;
    let source = sources.get(&source)?;
    let t = parse_address(&z, &x, &y)?;
    let coding = coding(&headers);
    let encoded = sources
        .tile(source, t, &query, coding, Some(&who.0.scope))
        .await?;
    let cache = HeaderValue::from_static(CACHE_CONTROL);
    let vary = HeaderValue::from_static("accept-encoding");
    if encoded.is_empty() {
        return Ok((
            StatusCode::NO_CONTENT,
            [(header::CACHE_CONTROL, cache), (header::VARY, vary)],
        )
            .into_response());
    }
    let etag = encoded.etag(coding);
    let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    if not_modified(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag_value),
                (header::CACHE_CONTROL, cache),
                (header::VARY, vary),
            ],
        )
            .into_response());
    }
    let mut resp = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
            (header::VARY, vary),
        ],
        encoded.body(coding),
    )
        .into_response();
    if let Some(enc) = coding.header() {
        resp.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    Ok(resp)
}

/// `http(s)://host` of the request, for absolute URLs.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        })
        .unwrap_or("localhost");
    let proto = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{proto}://{host}")
}

/// `?query` if it is one to repeat in a URL as it is (plain parameters only), else nothing.
fn safe_query(q: Option<String>) -> String {
    q.filter(|q| {
        !q.is_empty()
            && q.chars()
                .all(|c| c.is_ascii_alphanumeric() || "=&,%-_.:+".contains(c))
    })
    .map(|q| format!("?{q}"))
    .unwrap_or_default()
}

fn tiles_url(base: &str, id: &str, query: &str) -> String {
    format!("{base}/tiles/{id}/{{z}}/{{x}}/{{y}}.mvt{query}")
}

fn tilejson_of(
    source: &dyn TileSource,
    info: SourceInfo,
    base: &str,
    query: &str,
    bounds: [f64; 4],
) -> Value {
    let vector_layers: Vec<Value> = info
        .vector_layers
        .into_iter()
        .map(|l| {
            let fields: Map<String, Value> = l
                .fields
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
            json!({
                "id": l.id,
                "description": l.description,
                "minzoom": l.minzoom,
                "maxzoom": l.maxzoom,
                "fields": fields,
            })
        })
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": info.name,
        "description": info.description,
        "version": "1.0.0",
        "attribution": "onemap",
        "scheme": "xyz",
        "format": "pbf",
        "tiles": [tiles_url(base, source.id(), query)],
        "minzoom": info.minzoom,
        "maxzoom": info.maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, info.center_zoom],
        "vector_layers": vector_layers,
        "extent": info.extent,
        "loaded": source.is_ready(),
    })
}

pub(super) async fn tilejson(
    State(state): State<AppState>,
    Path(source): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let source = state
        .tile_sources
        .get(source.strip_suffix(".json").unwrap_or(&source))?;
    let info = source.info();
    let bounds = info.bounds.ok_or(TileError::NotReady(source.id()))?;
    let query = if info.parameters.is_empty() {
        String::new()
    } else {
        safe_query(query)
    };
    let body = tilejson_of(source.as_ref(), info, &base_url(&headers), &query, bounds);
    Ok(axum::Json(body).into_response())
}

pub(super) async fn catalog(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let layers: Vec<Value> = state
        .tile_sources
        .iter()
        .map(|s: &Arc<dyn TileSource>| {
            let info = s.info();
            json!({
                "id": s.id(),
                "description": info.description,
                "minzoom": info.minzoom,
                "maxzoom": info.maxzoom,
                "tilejson": format!("{base}/tiles/{}", s.id()),
                "tiles": tiles_url(&base, s.id(), ""),
                "layers": info.vector_layers.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
                "parameters": info.parameters,
                "loaded": s.is_ready(),
            })
        })
        .collect();
    axum::Json(json!({ "loaded": state.tile_sources.all_ready(), "layers": layers }))
        .into_response()
}

pub(super) async fn stats(State(state): State<AppState>) -> Response {
    axum::Json(state.tiles.stats()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: header::HeaderName, v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn picks_the_coding_by_q_value() {
        let c = |v: &str| coding(&h(header::ACCEPT_ENCODING, v));
        assert_eq!(coding(&HeaderMap::new()), Coding::Identity);
        assert_eq!(c("gzip, deflate, br, zstd"), Coding::Br);
        assert_eq!(c("gzip"), Coding::Gzip);
        assert_eq!(c("x-gzip"), Coding::Gzip);
        assert_eq!(c("br;q=0, gzip;q=0.5"), Coding::Gzip);
        assert_eq!(c("br;q=0, gzip;q=1"), Coding::Gzip);
        assert_eq!(c("gzip;q=1, br;q=0.5"), Coding::Gzip);
        assert_eq!(c("BR;Q=0.9, gzip;q=0.8"), Coding::Br);
        assert_eq!(c("deflate"), Coding::Identity);
        assert_eq!(c("*"), Coding::Br);
        assert_eq!(c("*;q=0, identity"), Coding::Identity);
        assert_eq!(c("*;q=0.5, br;q=0"), Coding::Gzip);
        assert_eq!(c("identity;q=1, gzip;q=0.5"), Coding::Identity);
        assert_eq!(c("identity;q=0, gzip;q=0.5"), Coding::Gzip);
        assert_eq!(c("br;q=abc, gzip"), Coding::Gzip);
        assert_eq!(c("br;q=0.0, gzip;q=0"), Coding::Identity);
        assert_eq!(c("gzip;q=0.001"), Coding::Gzip);
        assert_eq!(c("identity;q=0, *;q=0"), Coding::Identity);
    }

    #[test]
    fn etags_and_urls() {
        assert!(not_modified(
            &h(header::IF_NONE_MATCH, "\"a\", \"b\""),
            "\"b\""
        ));
        assert!(not_modified(&h(header::IF_NONE_MATCH, "W/\"b\""), "\"b\""));
        assert!(not_modified(&h(header::IF_NONE_MATCH, "*"), "\"b\""));
        assert!(!not_modified(&h(header::IF_NONE_MATCH, "\"a\""), "\"b\""));
        assert_eq!(
            base_url(&h(header::HOST, "example.org:8080")),
            "http://example.org:8080"
        );
        assert_eq!(base_url(&h(header::HOST, "bad\"host")), "http://localhost");
        assert_eq!(
            safe_query(Some("category=dispute".into())),
            "?category=dispute"
        );
        assert_eq!(safe_query(Some("a=<script>".into())), "");
        assert_eq!(safe_query(None), "");
    }

    #[test]
    fn errors_keep_their_codes() {
        let e: ApiError = parse_address("3", "0", "0.png").unwrap_err().into();
        assert_eq!((e.status.as_u16(), e.code), (400, "unsupported_format"));
        let e: ApiError = parse_address("a", "0", "0").unwrap_err().into();
        assert_eq!((e.status.as_u16(), e.code), (400, "invalid_tile"));
        let e: ApiError = TileError::NotReady("unit").into();
        assert_eq!((e.status.as_u16(), e.code), (503, "unavailable"));
        let e: ApiError = SourceError::NotFound {
            code: "unknown_area",
            message: "m".into(),
        }
        .into();
        assert_eq!((e.status.as_u16(), e.code), (404, "unknown_area"));
    }
}

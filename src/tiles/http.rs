//! HTTP endpoints of the tiles:
//!
//! - `GET /tiles` — catalog of the sources;
//! - `GET /tiles/stats` — load and cache counters;
//! - `GET /tiles/{layer}` (or `{layer}.json`) — TileJSON 3.0.0, with absolute tile URLs built
//!   from the request's Host (and `X-Forwarded-Proto`);
//! - `GET /tiles/{layer}/{z}/{x}/{y}[.mvt|.pbf]` — the tile: 200 with the MVT bytes, 204 when
//!   nothing falls in the tile, 304 when `If-None-Match` holds its ETag. Every malformed
//!   address is a 4xx in the API's error format.

use super::TileError;
use super::cache::Coding;
use super::layers::{EXTENT, Layer};
use super::tile_id::{TileId, TileIdError};
use crate::api::AppState;
use crate::api::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub const CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
/// Tiles change when areas are edited: clients revalidate (cheap, with the ETag) every time.
const CACHE_CONTROL: &str = "no-cache";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tiles", get(catalog))
        .route("/tiles/stats", get(stats))
        .route("/tiles/{layer}", get(tilejson))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tile))
}

fn layer_of(s: &str) -> Result<Layer, ApiError> {
    s.parse().map_err(|_| {
        let known: Vec<&str> = Layer::all().iter().map(|l| l.id()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_layer",
            format!(
                "没有这个图层: '{}'，可用: {} (unknown tile layer; available: {})",
                s.chars().take(40).collect::<String>(),
                known.join(", "),
                known.join(", ")
            ),
        )
    })
}

/// Parses a tile address from the path ("{z}/{x}/{y}" with an optional .mvt/.pbf), with the
/// API's errors; shared by every tile endpoint (areas here, events in `events::analytics`).
pub(crate) fn parse_tile_address(z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
    TileId::parse(z, x, strip_extension(y)?).map_err(tile_error)
}

fn tile_error(e: TileIdError) -> ApiError {
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
                "缩放级别 {z} 超出范围 0–{} (zoom must be 0..={}; clients overzoom beyond it)",
                super::tile_id::MAX_ZOOM,
                super::tile_id::MAX_ZOOM
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

/// Splits "123.mvt" into 123 and checks the extension.
fn strip_extension(y: &str) -> Result<&str, ApiError> {
    match y.split_once('.') {
        None => Ok(y),
        Some((n, "mvt" | "pbf")) => Ok(n),
        Some((_, ext)) => Err(ApiError::bad_request(
            "unsupported_format",
            format!(
                "不支持的瓦片格式 '.{}'，请用 .mvt 或 .pbf (unsupported tile format; use .mvt, .pbf or none)",
                ext.chars().take(20).collect::<String>()
            ),
        )),
    }
}

/// The best coding the client accepts: br, then gzip, else identity.
fn coding(headers: &HeaderMap) -> Coding {
    let Some(v) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Coding::Identity;
    };
    let (mut br, mut gz) = (false, false);
    for item in v.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        match name.as_str() {
            "br" => br = true,
            "gzip" | "x-gzip" => gz = true,
            "*" => {
                br = true;
                gz = true;
            }
            _ => {}
        }
    }
    if br {
        Coding::Br
    } else if gz {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn unavailable() -> ApiError {
    ApiError::unavailable(
        "瓦片数据正在加载，请稍后重试 (tile geometry is still loading; retry shortly)",
    )
}

async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = layer_of(&layer)?;
    let t = parse_tile_address(&z, &x, &y)?;
    let coding = coding(&headers);
    let encoded = state
        .tiles
        .tile(layer, t, coding)
        .await
        .map_err(|e| match e {
            TileError::NotReady => unavailable(),
            other => ApiError::internal(other),
        })?;
    let vary = HeaderValue::from_static("accept-encoding");
    if encoded.is_empty() {
        return Ok((
            StatusCode::NO_CONTENT,
            [
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(CACHE_CONTROL),
                ),
                (header::VARY, vary),
            ],
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
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(CACHE_CONTROL),
                ),
                (header::VARY, vary),
            ],
        )
            .into_response());
    }
    let mut resp = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::ETAG, etag_value),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
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

fn tilejson_of(layer: Layer, base: &str, bounds: [f64; 4]) -> Value {
    let vector_layers: Vec<Value> = layer
        .vector_layers()
        .into_iter()
        .map(|p| {
            let fields: serde_json::Map<String, Value> =
                p.fields().into_iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect();
            json!({
                "id": p.name(),
                "description": match p { super::layers::Part::Polygons(l) => Layer::Polygons(l).description(), _ => Layer::Label.description() },
                "minzoom": p.minzoom(),
                "maxzoom": layer.maxzoom(),
                "fields": fields,
            })
        })
        .collect();
    let center_zoom = layer.minzoom().max(9);
    json!({
        "tilejson": "3.0.0",
        "name": format!("onemap {}", layer.id()),
        "description": layer.description(),
        "version": "1.0.0",
        "attribution": "onemap",
        "scheme": "xyz",
        "format": "pbf",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", layer.id())],
        "minzoom": layer.minzoom(),
        "maxzoom": layer.maxzoom(),
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, center_zoom],
        "vector_layers": vector_layers,
        "extent": EXTENT,
    })
}

async fn tilejson(
    State(state): State<AppState>,
    Path(layer): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = layer_of(layer.strip_suffix(".json").unwrap_or(&layer))?;
    let bounds = state
        .tiles
        .bounds_4326()
        .filter(|_| state.tiles.is_loaded())
        .ok_or_else(unavailable)?;
    Ok(axum::Json(tilejson_of(layer, &base_url(&headers), bounds)).into_response())
}

async fn catalog(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let layers: Vec<Value> = Layer::all()
        .into_iter()
        .map(|l| {
            json!({
                "id": l.id(),
                "description": l.description(),
                "minzoom": l.minzoom(),
                "maxzoom": l.maxzoom(),
                "tilejson": format!("{base}/tiles/{}", l.id()),
                "tiles": format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", l.id()),
                "layers": l.vector_layers().iter().map(|p| p.name()).collect::<Vec<_>>(),
            })
        })
        .chain(std::iter::once(json!({
            // Served by the events module (src/events/analytics/tiles.rs); filters go in the
            // query string of its TileJSON URL.
            "id": "events",
            "description": "事件分布：z≤13 为 H3 六边形聚合点（count），z≥14 为单个事件 (events)",
            "minzoom": 0,
            "maxzoom": super::tile_id::MAX_ZOOM,
            "tilejson": format!("{base}/tiles/events"),
            "tiles": format!("{base}/tiles/events/{{z}}/{{x}}/{{y}}.mvt"),
            "layers": ["events"],
        })))
        .collect();
    axum::Json(json!({ "loaded": state.tiles.is_loaded(), "layers": layers })).into_response()
}

async fn stats(State(state): State<AppState>) -> Response {
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
    fn picks_the_coding() {
        assert_eq!(coding(&HeaderMap::new()), Coding::Identity);
        assert_eq!(
            coding(&h(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd")),
            Coding::Br
        );
        assert_eq!(coding(&h(header::ACCEPT_ENCODING, "gzip")), Coding::Gzip);
        assert_eq!(
            coding(&h(header::ACCEPT_ENCODING, "br;q=0, gzip;q=0.5")),
            Coding::Gzip
        );
        assert_eq!(
            coding(&h(header::ACCEPT_ENCODING, "deflate")),
            Coding::Identity
        );
    }

    #[test]
    fn extensions_and_etags() {
        assert_eq!(strip_extension("12.mvt").unwrap(), "12");
        assert_eq!(strip_extension("12.pbf").unwrap(), "12");
        assert_eq!(strip_extension("12").unwrap(), "12");
        assert_eq!(
            strip_extension("12.png").unwrap_err().code,
            "unsupported_format"
        );
        assert!(not_modified(
            &h(header::IF_NONE_MATCH, "\"a\", \"b\""),
            "\"b\""
        ));
        assert!(!not_modified(&h(header::IF_NONE_MATCH, "\"a\""), "\"b\""));
        assert_eq!(
            base_url(&h(header::HOST, "example.org:8080")),
            "http://example.org:8080"
        );
        assert_eq!(base_url(&h(header::HOST, "bad\"host")), "http://localhost");
    }
}

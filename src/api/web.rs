//! The map client and its static assets: `web/dist` (built by npm) at `/`, the styles at
//! `/styles/{name}.json` and the glyphs at `/fonts/{fontstack}/{range}.pbf`. Everything the
//! client needs comes from this server: a command centre has no internet.
//!
//! The big screen (`web/dist/screen.html`) answers `/screen` and `/screen/{code}`.
//!
//! Invariants: nothing outside `web/dist/assets/`, `web/dist/fonts/`, `web/dist/index.html`,
//! `web/dist/screen.html` and `styles/*.json` is ever read; a missing file, a refused path (`..`, raw or percent-encoded)
//! and an unknown path all answer the API's JSON 404 (`not_found`), whether the client is built
//! or not. The client's index page answers only GET/HEAD of a [`is_client_route`] path, and only
//! when the client is built.

use crate::api::AppState;
use crate::api::error::ApiError;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::path::PathBuf;
use tower_http::services::ServeDir;

/// First path segments the server owns: never a client route, whatever follows them.
const SERVER_SEGMENTS: [&str; 5] = ["api", "tiles", "styles", "fonts", "assets"];

/// Where the static files are.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The built client (web/dist).
    pub dist: PathBuf,
    /// MapLibre style JSON files (styles/).
    pub styles: PathBuf,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            dist: PathBuf::from("web/dist"),
            styles: PathBuf::from("styles"),
        }
    }
}

pub fn routes(web: &WebConfig) -> Router<AppState> {
    // `ServeDir` refuses `..` (raw or percent-encoded) and sends such paths, like missing files,
    // to the fallback. Directories get no index.html and no trailing-slash redirect (nested under
    // a prefix, the redirect would drop it): they are "no such file" too. Other methods than
    // GET/HEAD go to the fallback as well, so every answer here is in the API's format.
    let files = |dir: PathBuf| {
        ServeDir::new(dir)
            .append_index_html_on_directories(false)
            .redirect_to_trailing_slash(false)
            .call_fallback_on_method_not_allowed(true)
            .fallback(no_such_file.into_service())
    };
    Router::new()
        .route("/styles/{name}", get(style))
        .route("/login.html", get(login_page))
        .nest_service("/assets", files(web.dist.join("assets")))
        .nest_service("/fonts", files(web.dist.join("fonts")))
}

/// `GET /login.html`: the sign-in page (public, like every page; the API behind it is not).
async fn login_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    match tokio::fs::read(state.web.dist.join("login.html")).await {
        Ok(html) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response()),
        Err(_) => Err(ApiError::not_found(
            "登录页尚未构建（在 web/ 下运行 npm run build）(the client is not built)",
        )),
    }
}

/// What `/assets` and `/fonts` answer when they have no file for the request.
async fn no_such_file(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::method_not_allowed();
    }
    ApiError::not_found(format!("没有这个文件 (no such file): {}", uri.path()))
}

/// `GET /styles/{name}.json`
async fn style(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    // A name outside [A-Za-z0-9_-] (a decoded `..%2F..%2Fetc%2Fpasswd` among them) names no
    // style there could be: 404 like any other missing style, and no file is opened for it.
    if stem.is_empty()
        || !stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::not_found(format!(
            "没有名为 {name} 的样式 (no style named '{name}')"
        )));
    }
    let path = state.web.styles.join(format!("{stem}.json"));
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            bytes,
        )
            .into_response()),
        Err(_) => Err(ApiError::not_found(format!(
            "没有名为 {stem} 的样式 (no style named '{stem}')"
        ))),
    }
}

/// Whether `path` (as sent, still percent-encoded) is one of the client's own routes, which the
/// client's index page answers: a path whose first segment is none of the server's
/// (`api`, `tiles`, `styles`, `fonts`, `assets`), with no `.` or `..` segment (raw or encoded as
/// `%2e`), no encoded `/` or `\`, no malformed escape, and no extension on its last segment.
/// `/` is one. Anything else that no route answers is a file or an endpoint that does not
/// exist: a 404, never the page.
pub fn is_client_route(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        let Some(segment) = percent_decode(raw) else {
            return false;
        };
        if segment == b"."
            || segment == b".."
            || segment.contains(&b'/')
            || segment.contains(&b'\\')
        {
            return false;
        }
        segments.push(segment);
    }
    let first = segments.first().map(Vec::as_slice).unwrap_or_default();
    if SERVER_SEGMENTS.iter().any(|s| s.as_bytes() == first) {
        return false;
    }
    let last = segments.last().map(Vec::as_slice).unwrap_or_default();
    !last.contains(&b'.')
}

/// The bytes a path segment stands for, or `None` if an escape is malformed.
fn percent_decode(segment: &str) -> Option<Vec<u8>> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The page of a client route: the command centre's big screen (`screen.html`) under
/// `/screen` and `/screen/{code}`, a profile (`profile.html`) under `/profile/{code}`, the
/// one-table ledger (`ledger.html`) at `/ledger`, the map client (`index.html`) everywhere else.
pub fn client_page(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "screen" => "screen.html",
        "profile" => "profile.html",
        "ledger" => "ledger.html",
        _ => "index.html",
    }
}

/// The client page of a client route (`client_page`), if it has been built.
pub async fn index_page(web: &WebConfig, path: &str) -> Option<Response> {
    let html = tokio::fs::read(web.dist.join(client_page(path)))
        .await
        .ok()?;
    Some(
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::{client_page, is_client_route};

    #[test]
    fn screen_routes_get_the_screen_page() {
        assert_eq!(client_page("/screen"), "screen.html");
        assert_eq!(client_page("/screen/350304"), "screen.html");
        assert_eq!(client_page("/screens"), "index.html");
        assert_eq!(client_page("/"), "index.html");
        assert_eq!(client_page("/village/350304100001"), "index.html");
    }

    #[test]
    fn client_routes() {
        for path in [
            "/",
            "/village/350302001001",
            "/area/3503/",
            "/%E8%8E%86%E7%94%B0",
            "/a.b/c",
        ] {
            assert!(is_client_route(path), "{path} is a client route");
        }
    }

    #[test]
    fn not_client_routes() {
        for path in [
            "",
            "*",
            "/api",
            "/api/nothing",
            "/tiles/nothing/1/2/3",
            "/styles/x",
            "/fonts/",
            "/assets/app",
            "/index.html",
            "/favicon.ico",
            "/village/x.json",
            "/..",
            "/../Cargo.toml",
            "/a/../b",
            "/a/./b",
            "/%2e%2e/Cargo.toml",
            "/%2E%2e/x",
            "/a/%2e/b",
            "/a%2fb",
            "/a%2Fb",
            "/a%5cb",
            "/a%zz",
            "/a%2",
            "/x/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/index.html/../../Cargo.toml",
        ] {
            assert!(!is_client_route(path), "{path} is not a client route");
        }
    }
}

//! The map client and its static assets: `web/dist` (built by npm) at `/`, the styles at
//! `/styles/{name}.json` and the glyphs at `/fonts/{fontstack}/{range}.pbf`. Everything the
//! client needs comes from this server: a command centre has no internet.

use crate::api::AppState;
use crate::api::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::path::PathBuf;
use tower_http::services::ServeDir;

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
    Router::new()
        .route("/styles/{name}", get(style))
        .nest_service("/assets", ServeDir::new(web.dist.join("assets")))
        .nest_service("/fonts", ServeDir::new(web.dist.join("fonts")))
}

/// `GET /styles/{name}.json`
async fn style(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    if stem.is_empty()
        || !stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::bad_request(
            "bad_style_name",
            format!("样式名无效 (invalid style name '{name}')"),
        ));
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

/// The client's index.html, if it has been built.
pub async fn index_page(web: &WebConfig) -> Option<Response> {
    let html = tokio::fs::read(web.dist.join("index.html")).await.ok()?;
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

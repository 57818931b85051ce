//! Events: reporting (see ../mod.rs).

use crate::api::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}

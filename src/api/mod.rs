//! The HTTP API (axum): one file per resource, merged here. `error.rs` is the only place that
//! turns errors into responses.

mod areas;
mod assets;
mod assign;
mod enterprises;
pub mod error;
mod event_query;
pub mod event_view;
mod events;
mod fire;
mod health;
mod ledgers;
mod profiles;
mod stats;
mod stream;
mod tiles;
mod validate;
mod vessels;
mod web;

pub use assign::MAX_BATCH_POINTS;
pub use web::{WebConfig, is_client_route};

use crate::index::AssignIndex;
use crate::store::Store;
use crate::tiles::{TileService, TileSources};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::ApiError;
use std::sync::Arc;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (a batch of 100,000 points fits with room to spare).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub index: Arc<AssignIndex>,
    /// The area geometry behind the area tile sources (readiness and /tiles/stats).
    pub tiles: Arc<TileService>,
    /// Every tile source and the cache they share, served by `tiles::routes`.
    pub tile_sources: Arc<TileSources>,
    pub web: Arc<WebConfig>,
    /// The in-memory event view behind statistics, hotspots and event tiles.
    pub analytics: Arc<crate::events::analytics::EventAnalytics>,
    /// The live stream's hub.
    pub live: Arc<crate::live::LiveHub>,
    /// Fire protection: assets, coverage, sensors, alerts.
    pub fire: Arc<crate::assets::Fire>,
    /// Vessel monitoring: registry, states, ingest.
    pub fleet: Arc<crate::vessels::Fleet>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/assign", get(assign::get_one).post(assign::post_batch))
        .route("/api/areas", get(areas::list))
        .route("/api/areas/{code}", get(areas::detail).put(areas::put))
        .route(
            "/api/areas/{code}/profile",
            get(profiles::get_profile).put(profiles::put_profile),
        )
        .route("/api/areas/{code}/profile/history", get(profiles::history))
        .route(
            "/api/areas/{code}/profile/diff",
            get(profiles::profile_diff),
        )
        .route(
            "/api/areas/{code}/profile/figures",
            get(profiles::get_figures),
        )
        .route(
            "/api/areas/{code}/problems/from-hotspot",
            post(profiles::problem_from_hotspot),
        )
        .route(
            "/api/areas/{code}/problems/{id}/promote",
            post(profiles::promote),
        )
        .route(
            "/api/areas/{code}/{list}",
            get(profiles::list_items).post(profiles::create_item),
        )
        .route(
            "/api/areas/{code}/{list}/{id}",
            get(profiles::get_item)
                .put(profiles::put_item)
                .delete(profiles::delete_item),
        )
        .route(
            "/api/enterprises",
            get(enterprises::list).post(enterprises::create),
        )
        .route(
            "/api/enterprises/{id}",
            get(enterprises::get).put(enterprises::put),
        )
        .route("/api/assets", get(assets::list).post(assets::create))
        .route(
            "/api/assets/{id}",
            get(assets::get).put(assets::put).delete(assets::retire),
        )
        .route("/api/fire/coverage", get(fire::coverage))
        .route("/api/fire/nearest", get(fire::nearest_water))
        .route("/api/fire/sensors", get(fire::sensors))
        .route("/api/fire/alerts", get(fire::list_alerts))
        .route("/api/fire/alerts/{id}/ack", post(fire::ack))
        .route("/api/sensors/readings", post(fire::readings))
        .route("/api/vessels", get(vessels::list).post(vessels::create))
        .route("/api/vessels/nmea", post(vessels::nmea))
        .route("/api/vessels/positions", post(vessels::positions))
        .route("/api/vessels/ingest", get(vessels::ingest_stats))
        .route("/api/vessels/events", get(vessels::events))
        .route("/api/vessels/stats", get(vessels::stats))
        .route(
            "/api/vessels/closures",
            get(vessels::closures).post(vessels::create_closure),
        )
        .route(
            "/api/vessels/zones",
            get(vessels::zones).post(vessels::create_zone),
        )
        .route("/api/vessels/alerts", get(vessels::alerts))
        .route("/api/vessels/alerts/{id}/ack", post(fire::ack))
        .route("/api/vessels/{mmsi}", get(vessels::get).put(vessels::put))
        .route("/api/vessels/{mmsi}/track", get(vessels::track))
        .route("/api/vessels/{mmsi}/trips", get(vessels::trips))
        .route("/api/harbours", get(vessels::harbours))
        .route("/api/ledgers", get(ledgers::catalog))
        .route("/api/ledgers/{name}/query", post(ledgers::query))
        .route("/api/validate", get(validate::validate))
        .route(
            "/api/events",
            get(event_query::list_events).post(events::post_events),
        )
        .route("/api/events.csv", get(event_query::export_csv))
        .route("/api/events/{id}", get(events::get_event))
        .route(
            "/api/events/{id}/transitions",
            post(events::post_transition),
        )
        .route("/api/stats/areas", get(stats::areas))
        .route("/api/stats/top", get(stats::top))
        .route("/api/stats/trend", get(stats::trend))
        .route("/api/hotspots", get(stats::hotspots))
        .route("/api/stream", get(stream::stream))
        .merge(tiles::routes())
        .merge(web::routes(&state.web))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// What no route answers: the client's index page for GET/HEAD of one of its routes when it is
/// built (`web::is_client_route`), else a JSON 404.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: Method,
    uri: Uri,
) -> Response {
    if (method == Method::GET || method == Method::HEAD)
        && web::is_client_route(uri.path())
        && let Some(page) = web::index_page(&state.web, uri.path()).await
    {
        return page;
    }
    ApiError::not_found(format!("没有这个地址 (no such endpoint): {}", uri.path())).into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

//! The HTTP API (axum): one file per resource, merged here. `error.rs` is the only place that
//! turns errors into responses.

pub mod access;
mod areas;
mod assets;
mod assign;
mod auth;
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
    /// Access control: the login limiter, resolved callers, demo accounts.
    pub access: Arc<access::Access>,
}

/// Every declared route with its access rule ([`access::Routes`]): the table the guard checks
/// and the tests walk.
pub fn routes() -> access::Routes {
    use crate::access::Action::*;
    use crate::store::access::OwnerKind;
    use access::Scoping::*;
    access::Routes::default()
        .get("/healthz", Public, Unscoped, health::healthz)
        .get("/readyz", Public, Unscoped, health::readyz)
        .post("/api/auth/login", Public, Unscoped, auth::login)
        .get(
            "/api/auth/demo-accounts",
            Public,
            Unscoped,
            auth::demo_accounts,
        )
        .post("/api/auth/logout", Read, Unscoped, auth::logout)
        .get("/api/auth/me", Read, Unscoped, auth::me)
        .get("/api/auth/tokens", Read, Handler, auth::tokens)
        .post("/api/auth/tokens", Read, Handler, auth::create_token)
        .delete("/api/auth/tokens/{id}", Read, Handler, auth::revoke_token)
        .get("/api/users", Configure, City, auth::users)
        .post("/api/users", Configure, City, auth::add_user)
        .put("/api/users/{name}", Configure, City, auth::put_user)
        .get("/api/audit", Configure, City, auth::audit)
        .get("/api/assign", Read, Handler, assign::get_one)
        .post("/api/assign", Read, Handler, assign::post_batch)
        .get("/api/areas", Read, Handler, areas::list)
        .get("/api/areas/{code}", Read, PathCode, areas::detail)
        .put("/api/areas/{code}", Configure, PathCode, areas::put)
        .get(
            "/api/areas/{code}/profile",
            Read,
            PathCode,
            profiles::get_profile,
        )
        .put(
            "/api/areas/{code}/profile",
            EditProfiles,
            PathCode,
            profiles::put_profile,
        )
        .get(
            "/api/areas/{code}/profile/history",
            Read,
            PathCode,
            profiles::history,
        )
        .get(
            "/api/areas/{code}/profile/diff",
            Read,
            PathCode,
            profiles::profile_diff,
        )
        .get(
            "/api/areas/{code}/profile/figures",
            Read,
            PathCode,
            profiles::get_figures,
        )
        .post(
            "/api/areas/{code}/problems/from-hotspot",
            EditProfiles,
            PathCode,
            profiles::problem_from_hotspot,
        )
        .post(
            "/api/areas/{code}/problems/{id}/promote",
            EditProfiles,
            PathCode,
            profiles::promote,
        )
        .get(
            "/api/areas/{code}/{list}",
            Read,
            PathCode,
            profiles::list_items,
        )
        .post(
            "/api/areas/{code}/{list}",
            EditProfiles,
            PathCode,
            profiles::create_item,
        )
        .get(
            "/api/areas/{code}/{list}/{id}",
            Read,
            PathCode,
            profiles::get_item,
        )
        .put(
            "/api/areas/{code}/{list}/{id}",
            EditProfiles,
            PathCode,
            profiles::put_item,
        )
        .delete(
            "/api/areas/{code}/{list}/{id}",
            EditProfiles,
            PathCode,
            profiles::delete_item,
        )
        .get("/api/enterprises", Read, Param("area"), enterprises::list)
        .post("/api/enterprises", Manage, Handler, enterprises::create)
        .get(
            "/api/enterprises/{id}",
            Read,
            Owner(OwnerKind::Enterprise),
            enterprises::get,
        )
        .put(
            "/api/enterprises/{id}",
            Manage,
            Owner(OwnerKind::Enterprise),
            enterprises::put,
        )
        .get("/api/assets", Read, Param("area"), assets::list)
        .post("/api/assets", Manage, Handler, assets::create)
        .get(
            "/api/assets/{id}",
            Read,
            Owner(OwnerKind::Asset),
            assets::get,
        )
        .put(
            "/api/assets/{id}",
            Manage,
            Owner(OwnerKind::Asset),
            assets::put,
        )
        .delete(
            "/api/assets/{id}",
            Manage,
            Owner(OwnerKind::Asset),
            assets::retire,
        )
        .get("/api/fire/coverage", Read, Param("area"), fire::coverage)
        .get("/api/fire/nearest", Read, Handler, fire::nearest_water)
        .get("/api/fire/sensors", Read, Param("area"), fire::sensors)
        .get("/api/fire/alerts", Read, Param("area"), fire::list_alerts)
        .post(
            "/api/fire/alerts/{id}/ack",
            Acknowledge,
            Owner(OwnerKind::Alert),
            fire::ack,
        )
        .post("/api/sensors/readings", Configure, City, fire::readings)
        .get("/api/vessels", Read, Param("area"), vessels::list)
        .post("/api/vessels", Manage, Handler, vessels::create)
        .post("/api/vessels/nmea", Configure, City, vessels::nmea)
        .post(
            "/api/vessels/positions",
            Configure,
            City,
            vessels::positions,
        )
        .get("/api/vessels/ingest", Read, City, vessels::ingest_stats)
        .get("/api/vessels/events", Read, Param("area"), vessels::events)
        .get("/api/vessels/stats", Read, Param("area"), vessels::stats)
        .get("/api/vessels/closures", Read, Unscoped, vessels::closures)
        .post(
            "/api/vessels/closures",
            Configure,
            City,
            vessels::create_closure,
        )
        .get("/api/vessels/zones", Read, Unscoped, vessels::zones)
        .post("/api/vessels/zones", Configure, City, vessels::create_zone)
        .get("/api/vessels/alerts", Read, Param("area"), vessels::alerts)
        .post(
            "/api/vessels/alerts/{id}/ack",
            Acknowledge,
            Owner(OwnerKind::Alert),
            fire::ack,
        )
        .get(
            "/api/vessels/{mmsi}",
            Read,
            Owner(OwnerKind::Vessel),
            vessels::get,
        )
        .put(
            "/api/vessels/{mmsi}",
            Manage,
            Owner(OwnerKind::Vessel),
            vessels::put,
        )
        .get(
            "/api/vessels/{mmsi}/track",
            Read,
            Owner(OwnerKind::Vessel),
            vessels::track,
        )
        .get(
            "/api/vessels/{mmsi}/trips",
            Read,
            Owner(OwnerKind::Vessel),
            vessels::trips,
        )
        .get("/api/harbours", Read, Handler, vessels::harbours)
        .get("/api/ledgers", Read, Unscoped, ledgers::catalog)
        .post("/api/ledgers/{name}/query", Export, Handler, ledgers::query)
        .get("/api/validate", Configure, City, validate::validate)
        .get("/api/events", Read, Param("area"), event_query::list_events)
        .post("/api/events", ReportEvents, Handler, events::post_events)
        .get(
            "/api/events.csv",
            Export,
            Param("area"),
            event_query::export_csv,
        )
        .get(
            "/api/events/{id}",
            Read,
            Owner(OwnerKind::Event),
            events::get_event,
        )
        .post(
            "/api/events/{id}/transitions",
            HandleEvents,
            Owner(OwnerKind::Event),
            events::post_transition,
        )
        .get("/api/stats/areas", Read, Param("parent"), stats::areas)
        .get("/api/stats/top", Read, Param("area"), stats::top)
        .get("/api/stats/trend", Read, Param("area"), stats::trend)
        .get("/api/hotspots", Read, Param("area"), stats::hotspots)
        .get("/api/stream", Read, Param("area"), stream::stream)
        .get("/tiles", Read, Unscoped, tiles::catalog)
        .get("/tiles/stats", Read, City, tiles::stats)
        .get("/tiles/{source}", Read, Unscoped, tiles::tilejson)
        .get("/tiles/{source}/{z}/{x}/{y}", Read, Handler, tiles::tile)
}

/// The whole HTTP surface: the declared routes behind the access guard, the web client's
/// files, and the API-format fallbacks.
pub fn router(state: AppState) -> Router {
    let (api, _) = routes().finish(&state);
    api.merge(web::routes(&state.web))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(access::uri_limit))
        .layer(axum::middleware::from_fn(access::security_headers))
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

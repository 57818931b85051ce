//! The application builder, the one composition root: configuration in, router and background
//! tasks out. `onemap serve`, the test harness and the benchmarks all start the server here.
//!
//! It builds the derived views (assignment index, tile model, event view), registers them as
//! sinks of the one change feed (`crate::feed`) with the live hub following them, spawns the
//! feed, the hub's figures and the change-log pruning, and hands the views to the HTTP layer
//! (`crate::api::router`).

use crate::api::{AppState, WebConfig, router};
use crate::assets::Fire;
use crate::assets::tiles::FireTiles;
use crate::events::analytics::EventAnalytics;
use crate::events::analytics::tiles::EventTiles;
use crate::feed::{ChangeFeed, ChangeSink};
use crate::index::AssignIndex;
use crate::live::{LiveConfig, LiveHub};
use crate::store::Store;
use crate::tiles::cache::TileCache;
use crate::tiles::{TileError, TileService, TileSources};
use crate::vessels::tiles::VesselTiles;
use crate::vessels::{Fleet, FleetConfig};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the server is built from.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Byte budget of the one tile cache every source shares.
    pub tile_cache_bytes: usize,
    /// Where the map client and styles are.
    pub web: WebConfig,
    /// The live stream's limits.
    pub live: LiveConfig,
    /// Vessel monitoring's settings.
    pub fleet: FleetConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            tile_cache_bytes: 64 << 20,
            web: WebConfig::default(),
            live: LiveConfig::default(),
            fleet: FleetConfig::default(),
        }
    }
}

/// A built server: its state (the views, for readiness and tests), the router, and the
/// background tasks that keep the views current.
pub struct App {
    pub state: AppState,
    pub router: axum::Router,
    pub tasks: Vec<JoinHandle<()>>,
}

/// How long the area change log is kept: it only has to outlive the notices pointing into it.
const CHANGE_LOG_HOURS: i32 = 24;

impl App {
    /// Builds the views and the router and starts the background tasks (on the current tokio
    /// runtime). The views load in the background; `/readyz` says when they are in. Fails
    /// only if two tile sources share an id.
    pub fn build(store: Store, config: AppConfig) -> Result<App, TileError> {
        let index = Arc::new(AssignIndex::default());
        let tile_cache = Arc::new(TileCache::new(config.tile_cache_bytes));
        let tiles = Arc::new(TileService::new(tile_cache.clone()));
        let analytics = Arc::new(EventAnalytics::new(store.clone()));
        // Every map layer is a tile source; the registry lists them in catalog order.
        let mut sources = tiles.sources();
        sources.push(Arc::new(EventTiles::new(analytics.clone(), index.clone())));
        let live = Arc::new(LiveHub::new(analytics.clone(), config.live));
        let fire = Arc::new(Fire::new(
            store.clone(),
            index.clone(),
            analytics.clone(),
            live.clone(),
        ));
        sources.extend(FireTiles::all(&fire));
        let fleet = Arc::new(Fleet::new(
            store.clone(),
            analytics.clone(),
            live.clone(),
            config.fleet.clone(),
        ));
        sources.extend(VesselTiles::all(&fleet));
        let tile_sources = Arc::new(TileSources::new(tile_cache, sources)?);
        let sinks: Vec<Arc<dyn ChangeSink>> = vec![index.clone(), tiles.clone(), analytics.clone()];
        // The live stream and the fire engine follow the views: what they announce is already
        // in them, and the fire engine places and names with the index and the area names.
        let followers: Vec<Arc<dyn ChangeSink>> = vec![live.clone(), fire.clone(), fleet.clone()];
        let feed = ChangeFeed::new(store.clone(), sinks).with_followers(followers);
        let tasks = vec![
            tokio::spawn(feed.run()),
            tokio::spawn(live.clone().run_figures()),
            tokio::spawn(prune_change_log(store.clone())),
            tokio::spawn(fire.clone().run_watch()),
            tokio::spawn(fleet.clone().run_writer()),
            tokio::spawn(fleet.clone().run_clock()),
        ];
        let state = AppState {
            store,
            index,
            tiles,
            tile_sources,
            web: Arc::new(config.web),
            analytics,
            live,
            fire,
            fleet,
            access: Arc::new(crate::api::access::Access::default()),
        };
        Ok(App {
            router: router(state.clone()),
            state,
            tasks,
        })
    }

    /// True once every view has loaded.
    pub fn is_ready(&self) -> bool {
        self.state.index.is_loaded()
            && self.state.tiles.is_loaded()
            && self.state.analytics.is_loaded()
            && self.state.fire.is_loaded()
            && self.state.fleet.is_loaded()
    }

    /// Waits until every view has loaded, at most `limit`; true if they did.
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let started = Instant::now();
        while !self.is_ready() {
            if started.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Serves on `listener` until `shutdown` completes, then stops the background tasks.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Live streams never end by themselves: close them when the shutdown starts, so the
        // graceful shutdown can finish.
        let live = self.state.live.clone();
        let shutdown = async move {
            shutdown.await;
            live.close();
        };
        let result = axum::serve(listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        for t in &self.tasks {
            t.abort();
        }
        result
    }
}

async fn prune_change_log(store: Store) {
    loop {
        match store.prune_area_changes(CHANGE_LOG_HOURS).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "pruned the area change log"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning the area change log failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

//! `onemap serve`: migrate, (optionally) load the demo city, keep the index in sync, serve HTTP.

use crate::api::{AppState, router};
use crate::events::analytics::EventAnalytics;
use crate::events::analytics::tiles::EventTiles;
use crate::index::{AssignIndex, sync};
use crate::store::Store;
use crate::tiles::cache::TileCache;
use crate::tiles::{TileService, TileSources};
use crate::web::WebConfig;
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ONEMAP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Load the demo city first if the database holds no areas, and demo events if it holds
    /// no events.
    #[arg(long)]
    pub import_demo_if_empty: bool,
    /// How many demo events --import-demo-if-empty loads (the full two-year demo is
    /// `onemap import demo-events --count 1000000`).
    #[arg(long, env = "ONEMAP_DEMO_EVENTS", default_value_t = 100_000)]
    pub demo_events: usize,
    /// Size of the in-memory tile cache in MiB, one budget for every tile source (0 turns it
    /// off).
    #[arg(long, env = "ONEMAP_TILE_CACHE_MB", default_value_t = 256)]
    pub tile_cache_mb: usize,
    /// The built map client (index.html, assets/, fonts/).
    #[arg(long, env = "ONEMAP_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// Folder of MapLibre style JSON files served at /styles/{name}.json.
    #[arg(long, env = "ONEMAP_STYLES_DIR", default_value = "styles")]
    pub styles_dir: PathBuf,
}

pub async fn run(store: Store, args: ServeArgs) -> anyhow::Result<()> {
    if args.import_demo_if_empty && store.area_count().await? == 0 {
        tracing::info!("the database holds no areas: loading the demo city");
        super::import::demo(&store, Default::default()).await?;
    }
    if args.import_demo_if_empty
        && args.demo_events > 0
        && crate::events::demo::load::event_count(&store).await? == 0
    {
        tracing::info!(
            count = args.demo_events,
            "the database holds no events: loading demo events"
        );
        let params = crate::events::demo::DemoEventParams {
            count: args.demo_events,
            ..Default::default()
        };
        super::import::demo_events(&store, params, super::import::Existing::Append).await?;
    }
    let index = Arc::new(AssignIndex::default());
    // One tile cache for every tile source; the registry lists them in catalog order.
    let tile_cache = Arc::new(TileCache::new(args.tile_cache_mb << 20));
    let tiles = Arc::new(TileService::new(store.clone(), tile_cache.clone()));
    let analytics = Arc::new(EventAnalytics::new(store.clone()));
    let mut sources = tiles.sources();
    sources.push(Arc::new(EventTiles::new(analytics.clone(), index.clone())));
    let tile_sources = Arc::new(TileSources::new(tile_cache, sources)?);
    tokio::spawn(sync::run(
        store.clone(),
        index.clone(),
        vec![tiles.clone(), analytics.clone()],
    ));
    // Loads the event view, then follows `onemap_event_changed`.
    tokio::spawn(crate::events::analytics::run(analytics.clone()));
    tokio::spawn(prune_change_log(store.clone()));

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server running there? use --addr)",
                args.addr
            )
        })?;
    let addr = listener.local_addr()?;
    let city = store.city_code().await?.unwrap_or_default();
    // The one line scripts and people look for: where to point the browser.
    println!("onemap is serving city {city} at http://{addr}/");
    tracing::info!(%addr, "listening");
    if !args.web_dir.join("index.html").exists() {
        tracing::warn!(dir = %args.web_dir.display(), "the map client is not built (run `npm run build` in web/); serving the API only");
    }
    let web = Arc::new(WebConfig {
        dist: args.web_dir,
        styles: args.styles_dir,
    });
    let app = router(AppState {
        store,
        index,
        tiles,
        tile_sources,
        web,
        analytics,
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// The change log only has to outlive the notifications that point into it.
async fn prune_change_log(store: Store) {
    loop {
        match store.prune_area_changes(24).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "pruned the area change log"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning the area change log failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

//! `onemap serve`: migrate, (optionally) load the demo city, then build the application
//! (`crate::app`) and serve HTTP until SIGINT/SIGTERM.

use crate::api::WebConfig;
use crate::app::{App, AppConfig};
use crate::live::LiveConfig;
use crate::store::Store;
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ONEMAP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Load the demo city first if the database holds no areas, and demo events if it holds
    /// no events.
    #[arg(long)]
    pub import_demo_if_empty: bool,
    /// Create the demo accounts (one per level: city, district, town, village, grid worker; an
    /// analyst and a screen), print how to sign in, and list them on the login page.
    #[arg(long, env = "ONEMAP_DEMO_ACCOUNTS")]
    pub demo_accounts: bool,
    /// How many demo events --import-demo-if-empty loads (the full two-year demo is
    /// `onemap import demo-events --count 1000000`).
    #[arg(long, env = "ONEMAP_DEMO_EVENTS", default_value_t = 100_000)]
    pub demo_events: usize,
    /// How many people rows --import-demo-if-empty puts in the ledgers beside the demo profiles,
    /// lists, houses, enterprises and cadres (0: no profiles at all).
    #[arg(long, env = "ONEMAP_DEMO_PEOPLE", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(0..=5_000_000))]
    pub demo_people: u64,
    /// Run the demo sensor feed inside the server (readings every --sensor-interval seconds,
    /// an alarm now and then), as `onemap simulate sensors` would send them.
    #[arg(long, env = "ONEMAP_SIMULATE_SENSORS")]
    pub simulate_sensors: bool,
    /// Seconds between the simulated sensor readings.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sensor_interval: u64,
    /// Listen for AIS NMEA sentences over TCP here (conventionally port 10110), as AIS
    /// receivers and AIS-catcher forward them.
    #[arg(long, env = "ONEMAP_AIS_TCP")]
    pub ais_tcp: Option<SocketAddr>,
    /// Listen for AIS NMEA datagrams over UDP here.
    #[arg(long, env = "ONEMAP_AIS_UDP")]
    pub ais_udp: Option<SocketAddr>,
    /// Run the demo fishing fleet inside the server: a day of AIS sentences replayed at
    /// --vessel-speed times real time until it reaches the present, then in real time.
    #[arg(long, env = "ONEMAP_SIMULATE_VESSELS")]
    pub simulate_vessels: bool,
    /// How much faster than real time the simulated fleet's day is replayed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub vessel_speed: u64,
    /// Days of vessel positions kept (older days are dropped, hourly).
    #[arg(long, env = "ONEMAP_VESSEL_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub vessel_retention_days: u32,
    /// Size of the in-memory tile cache in MiB, one budget for every tile source (0 turns it
    /// off).
    /// The default keeps the server's memory in bounds (issue #16): ten minutes of random
    /// tiles over the whole city at every zoom filled 122 MiB.
    #[arg(long, env = "ONEMAP_TILE_CACHE_MB", default_value_t = 64)]
    pub tile_cache_mb: usize,
    /// The built map client (index.html, assets/, fonts/).
    #[arg(long, env = "ONEMAP_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// Folder of MapLibre style JSON files served at /styles/{name}.json.
    #[arg(long, env = "ONEMAP_STYLES_DIR", default_value = "styles")]
    pub styles_dir: PathBuf,
    /// Open live streams (/api/stream) at most; more are answered 503 too_many_streams.
    #[arg(long, env = "ONEMAP_MAX_STREAMS", default_value_t = 2000)]
    pub max_streams: usize,
    /// Seconds between the heartbeats of an idle live stream.
    #[arg(long, env = "ONEMAP_STREAM_HEARTBEAT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub stream_heartbeat: u64,
    /// Frames buffered per live stream; a client that lets this many pile up is dropped.
    #[arg(long, env = "ONEMAP_STREAM_BUFFER", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub stream_buffer: u64,
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
    if args.import_demo_if_empty && args.demo_people > 0 && store.profile_count().await? == 0 {
        tracing::info!(
            people = args.demo_people,
            "the database holds no profiles: loading demo profiles and ledgers"
        );
        let params = crate::profiles::demo::DemoProfileParams {
            people: args.demo_people as usize,
            ..Default::default()
        };
        super::import::demo_profiles(&store, params).await?;
    }
    if args.import_demo_if_empty && store.asset_count().await? == 0 {
        tracing::info!("the database holds no fire-protection assets: loading the demo assets");
        super::fire::demo_assets(&store, 3503, false).await?;
    }
    if args.import_demo_if_empty && store.vessel_count().await? == 0 {
        tracing::info!("the database holds no vessels: loading the demo fleet");
        super::vessels::demo_vessels(&store, 3503, false).await?;
    }
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
    let web = WebConfig {
        dist: args.web_dir,
        styles: args.styles_dir,
    };
    let app = App::build(
        store,
        AppConfig {
            tile_cache_bytes: args.tile_cache_mb << 20,
            web,
            live: LiveConfig {
                max_streams: args.max_streams,
                heartbeat: std::time::Duration::from_secs(args.stream_heartbeat),
                buffer_frames: args.stream_buffer as usize,
                ..LiveConfig::default()
            },
            fleet: crate::vessels::FleetConfig {
                retention_days: args.vessel_retention_days,
            },
        },
    )?;
    if args.demo_accounts {
        let accounts = super::user::demo_accounts(&app.state.store, &city).await?;
        println!("demo accounts (sign in at http://{addr}/login.html):");
        for a in &accounts {
            println!(
                "  {:<9} password {:<14} {} · {} ({})",
                a.name, a.password, a.role_name, a.scope_name, a.scope
            );
        }
        if let Ok(mut l) = app.state.access.demo_accounts.write() {
            *l = accounts;
        }
    } else if app.state.store.users().await?.is_empty() {
        tracing::warn!(
            "no accounts yet: add one with `onemap user add NAME --role admin --scope {city}`, or run with --demo-accounts"
        );
    }
    if args.simulate_sensors {
        let fire = app.state.fire.clone();
        let every = std::time::Duration::from_secs(args.sensor_interval);
        tokio::spawn(super::fire::simulate_in_process(fire, 3503, every));
    }
    if let Some(a) = args.ais_tcp {
        let l = tokio::net::TcpListener::bind(a)
            .await
            .with_context(|| format!("cannot listen for AIS on TCP {a} (--ais-tcp)"))?;
        tracing::info!(addr = %l.local_addr()?, "listening for AIS over TCP");
        tokio::spawn(crate::vessels::listen::serve_tcp(
            app.state.fleet.clone(),
            l,
        ));
    }
    if let Some(a) = args.ais_udp {
        let s = tokio::net::UdpSocket::bind(a)
            .await
            .with_context(|| format!("cannot listen for AIS on UDP {a} (--ais-udp)"))?;
        tracing::info!(addr = %s.local_addr()?, "listening for AIS over UDP");
        tokio::spawn(crate::vessels::listen::serve_udp(
            app.state.fleet.clone(),
            s,
        ));
    }
    if args.simulate_vessels {
        tokio::spawn(super::vessels::simulate_in_process(
            app.state.fleet.clone(),
            app.state.store.clone(),
            crate::vessels::demo::HUANGSHI_BOATS,
            args.vessel_speed,
            3503,
        ));
    }
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
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

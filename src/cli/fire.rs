//! `onemap import assets FILE --kind K`, `onemap import demo-assets` and
//! `onemap simulate sensors`.

use super::progress;
use crate::assets::demo;
use crate::assets::model::{AssetBody, AssetKind};
use crate::assets::simulate::{Feed, SimSensor};
use crate::assets::{Fire, PlaceError, place};
use crate::index::Snapshot;
use crate::store::Store;
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generates the demo assets (replacing none: refuses when assets exist unless `replace`).
pub async fn demo_assets(store: &Store, seed: u64, replace: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let existing = store.asset_count().await?;
    if existing > 0 && !replace {
        bail!("the database already holds {existing} assets; use --replace to delete them first");
    }
    let rows = store.area_shapes().await?;
    if !rows.iter().any(|r| r.level == crate::model::Level::Unit) {
        bail!("no units are loaded: run `onemap import demo` (or import areas) first");
    }
    let spinner = progress::spinner("generating demo fire-protection assets");
    let today = chrono::Utc::now().date_naive();
    let writes = tokio::task::spawn_blocking(move || demo::generate(&rows, seed, today)).await?;
    spinner.set_message(format!("storing {} assets", writes.len()));
    if replace {
        store.delete_assets().await?;
    }
    let n = demo::store_all(store, writes).await?;
    spinner.finish_and_clear();
    eprintln!(
        "loaded {n} demo fire-protection assets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One input row as the API's asset body (props from the remaining fields).
fn body_from(
    kind: AssetKind,
    name: String,
    lon: Option<f64>,
    lat: Option<f64>,
    geometry: Option<Value>,
    mut props: Map<String, Value>,
) -> AssetBody {
    let in_service = props.remove("in_service").and_then(|v| match v {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.trim() {
            "true" | "1" | "是" => Some(true),
            "false" | "0" | "否" => Some(false),
            _ => None,
        },
        _ => None,
    });
    let allow_outside = props
        .remove("allow_outside")
        .is_some_and(|v| v == json!(true));
    AssetBody {
        kind: kind.code().to_string(),
        name,
        lon,
        lat,
        geometry,
        crs: None,
        in_service,
        props: Value::Object(props),
        allow_outside,
        version: None,
    }
}

/// A CSV cell as JSON: a number when it reads as one (except fields that are text), else text.
fn cell(key: &str, v: &str) -> Option<Value> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    const TEXT: &[&str] = &["type", "level", "structure", "last_inspection"];
    if !TEXT.contains(&key)
        && let Ok(n) = v.parse::<f64>()
    {
        return Some(json!(n));
    }
    Some(Value::String(v.to_string()))
}

/// Reads the rows of a GeoJSON FeatureCollection or a CSV file (`lon,lat,name,…`).
fn read_rows(file: &Path, kind: AssetKind) -> anyhow::Result<Vec<Result<AssetBody, String>>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        let fc: geojson::FeatureCollection = trimmed
            .parse::<geojson::GeoJson>()
            .context("not a GeoJSON file")?
            .try_into()
            .context("the GeoJSON is not a FeatureCollection")?;
        return Ok(fc
            .features
            .into_iter()
            .map(|f| {
                let mut props = f.properties.unwrap_or_default();
                let name = props
                    .remove("name")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .ok_or("缺少 name (no name property)")?;
                let geometry = f
                    .geometry
                    .map(|g| serde_json::to_value(g).unwrap_or(Value::Null));
                Ok(body_from(kind, name, None, None, geometry, props))
            })
            .collect());
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(trimmed.as_bytes());
    let headers: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    for need in ["lon", "lat", "name"] {
        if !headers.iter().any(|h| h == need) {
            bail!(
                "the CSV has no '{need}' column (needed: lon, lat, name; the other columns are the kind's properties)"
            );
        }
    }
    Ok(reader
        .records()
        .map(|r| {
            let r = r.map_err(|e| e.to_string())?;
            let mut props = Map::new();
            let (mut lon, mut lat, mut name) = (None, None, String::new());
            for (h, v) in headers.iter().zip(r.iter()) {
                match h.as_str() {
                    "lon" => {
                        lon =
                            Some(v.trim().parse::<f64>().map_err(|_| {
                                format!("lon 不是数字 (lon is not a number: '{v}')")
                            })?)
                    }
                    "lat" => {
                        lat =
                            Some(v.trim().parse::<f64>().map_err(|_| {
                                format!("lat 不是数字 (lat is not a number: '{v}')")
                            })?)
                    }
                    "name" => name = v.trim().to_string(),
                    key => {
                        if let Some(c) = cell(key, v) {
                            props.insert(key.to_string(), c);
                        }
                    }
                }
            }
            Ok(body_from(kind, name, lon, lat, None, props))
        })
        .collect())
}

/// Imports assets of one kind from a file: every row checked and placed, the good ones
/// stored in one transaction, the bad ones listed.
pub async fn import_assets(store: &Store, file: &Path, kind: &str) -> anyhow::Result<()> {
    let kind = AssetKind::parse(kind).with_context(|| {
        format!(
            "unknown kind '{kind}' (use one of {})",
            AssetKind::codes_list()
        )
    })?;
    let started = Instant::now();
    let rows = read_rows(file, kind)?;
    let areas = store.area_shapes().await?;
    let snapshot = tokio::task::spawn_blocking(move || Snapshot::from_rows(&areas)).await?;
    let sites: std::collections::HashSet<i64> = store
        .assets()
        .await?
        .into_iter()
        .filter(|r| r.kind == "heritage")
        .map(|r| r.id)
        .collect();
    let bar = progress::bar(rows.len() as u64, "checking", false);
    let mut good = Vec::new();
    let mut bad: Vec<(usize, String)> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        bar.inc(1);
        let checked = row.and_then(|b| {
            b.check(crate::crs::Crs::Wgs84).map_err(|e| match e {
                crate::assets::model::DraftError::Invalid(errs) => errs
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            })
        });
        match checked.and_then(|d| {
            place(&snapshot, d, |s| sites.contains(&s)).map_err(|e: PlaceError| e.to_string())
        }) {
            Ok(w) => good.push(w),
            Err(e) => bad.push((i + 1, e)),
        }
    }
    bar.finish_and_clear();
    for (n, e) in bad.iter().take(50) {
        eprintln!("row {n}: {e}");
    }
    if bad.len() > 50 {
        eprintln!("… and {} more refused rows", bad.len() - 50);
    }
    if good.is_empty() {
        bail!("no valid rows in {}: nothing was stored", file.display());
    }
    store.insert_assets(&good).await?;
    eprintln!(
        "imported {} {} assets from {} ({} refused) in {:.1} s",
        good.len(),
        kind.code(),
        file.display(),
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct SimulateSensorsArgs {
    /// The server to send readings to.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API token of a city administrator (`onemap user token NAME`).
    #[arg(long, env = "ONEMAP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Seconds between ticks (one reading per sensor each).
    #[arg(long, default_value_t = 30.0)]
    pub interval: f64,
    /// Speed-up: ticks come `speed` times as often.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Excursions over a threshold (alarms) per 100 ticks, on average.
    #[arg(long, default_value_t = 3.0)]
    pub alarms: f64,
    /// Random seed.
    #[arg(long, default_value_t = 3503)]
    pub seed: u64,
    /// Stop after this many ticks (default: run until stopped).
    #[arg(long)]
    pub ticks: Option<u64>,
}

/// The demo sensors as the feed needs them.
fn sim_sensors(list: impl Iterator<Item = (i64, Value)>) -> Vec<SimSensor> {
    list.filter_map(|(id, props)| {
        Some(SimSensor {
            id,
            props: serde_json::from_value(props).ok()?,
        })
    })
    .collect()
}

/// `onemap simulate sensors`: reads the sensors from the server and sends ticks to it.
pub async fn simulate_sensors(args: SimulateSensorsArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_string();
    let (status, body) = http(
        &base,
        args.token.as_deref(),
        "GET",
        "/api/assets?kind=sensor&limit=10000",
        None,
    )
    .await?;
    if status != 200 {
        bail!("{base} answered {status} to the sensor list: {body}");
    }
    let v: Value = serde_json::from_str(&body)?;
    let sensors = sim_sensors(
        v["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Some((a["id"].as_i64()?, a["props"].clone()))),
    );
    if sensors.is_empty() {
        bail!("{base} has no sensors (load the demo with `onemap import demo-assets`)");
    }
    eprintln!("simulating {} sensors against {base}", sensors.len());
    let mut feed = Feed::new(args.seed, sensors, args.alarms);
    let every = Duration::from_secs_f64((args.interval / args.speed.max(1e-3)).max(0.01));
    let mut n = 0u64;
    loop {
        let batch = feed.tick(chrono::Utc::now());
        match http(
            &base,
            args.token.as_deref(),
            "POST",
            "/api/sensors/readings",
            Some(&batch.to_string()),
        )
        .await
        {
            Ok((200, b)) => {
                let r: Value = serde_json::from_str(&b).unwrap_or_default();
                tracing::info!(stored = %r["stored"], refused = %r["refused"], alarms = %r["alarms"], "readings sent");
            }
            Ok((s, b)) => {
                tracing::warn!(status = s, body = %b.chars().take(300).collect::<String>(), "readings refused")
            }
            Err(e) => tracing::warn!(error = %e, "sending readings failed; retrying next tick"),
        }
        n += 1;
        if args.ticks.is_some_and(|t| n >= t) {
            return Ok(());
        }
        tokio::time::sleep(every).await;
    }
}

/// Runs the feed inside the server (`serve --simulate-sensors`), straight into the engine.
pub async fn simulate_in_process(fire: Arc<Fire>, seed: u64, interval: Duration) {
    while !fire.is_loaded() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let view = fire.view();
    let sensors = sim_sensors(
        view.set
            .of_kind(AssetKind::Sensor)
            .into_iter()
            .filter(|a| a.in_service)
            .map(|a| (a.id, a.spec.to_json())),
    );
    drop(view);
    if sensors.is_empty() {
        return;
    }
    tracing::info!(sensors = sensors.len(), "simulating the demo sensor feed");
    let mut feed = Feed::new(seed, sensors, 3.0);
    loop {
        let batch = feed.tick(chrono::Utc::now()).to_string();
        match fire.ingest_readings(batch.as_bytes()).await {
            Ok(o) if o.alarms > 0 => {
                tracing::info!(alarms = o.alarms, "simulated sensors raised alarms")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "simulated readings refused"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// A minimal HTTP/1.1 exchange (no TLS: the server is on this machine or the local network).
pub(crate) async fn http(
    base: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base
        .strip_prefix("http://")
        .context("only http:// URLs are supported")?;
    let host = host.split('/').next().unwrap_or(host);
    let mut s = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(host),
    )
    .await
    .context("connecting timed out")?
    .with_context(|| format!("cannot connect to {host}"))?;
    let body = body.unwrap_or("");
    let auth = token
        .map(|t| format!("Authorization: Bearer {}\r\n", t.trim()))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut out))
        .await
        .context("the server did not answer")??;
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let rest = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, rest))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(len.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

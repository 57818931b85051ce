//! `onemap import demo-vessels`, `onemap import vessels FILE`, `onemap simulate vessels` and
//! the in-process fleet of `serve --simulate-vessels`.

use super::fire::http;
use super::progress;
use crate::store::Store;
use crate::store::vessels::VesselWrite;
use crate::vessels::Fleet;
use crate::vessels::model::{Class, VesselBody};
use crate::vessels::nmea::{Decoded, Feed};
use crate::vessels::simulate::{ClosurePlan, SimBoat, Simulator};
use crate::vessels::{demo, model};
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Loads the demo fleet (harbours, boats, a zone) over the loaded city.
pub async fn demo_vessels(store: &Store, seed: u64, replace: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let existing = store.vessel_count().await?;
    if existing > 0 && !replace {
        bail!(
            "the database already holds {existing} vessels; use --replace to delete the vessel data first"
        );
    }
    let rows = store.area_shapes().await?;
    if !rows
        .iter()
        .any(|r| r.level == crate::model::Level::District)
    {
        bail!("no districts are loaded: run `onemap import demo` (or import areas) first");
    }
    let spinner = progress::spinner("generating the demo fleet");
    let fleet = tokio::task::spawn_blocking(move || demo::generate(&rows, seed)).await?;
    let harbours = fleet.harbours.len();
    if replace {
        store.delete_vessels().await?;
    }
    spinner.set_message(format!("storing {} boats", fleet.vessels.len()));
    let n = demo::store_all(store, fleet).await?;
    spinner.finish_and_clear();
    eprintln!(
        "loaded the demo fleet: {harbours} harbours and anchorages, {n} boats in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The rows of a CSV or GeoJSON registry file, each a record or why not.
fn read_records(file: &Path) -> anyhow::Result<Vec<Result<VesselBody, String>>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let body = |mut o: Map<String, Value>| -> Result<VesselBody, String> {
        let owner_name = o.remove("owner_name");
        let owner_phone = o.remove("owner_phone");
        if owner_name.is_some() || owner_phone.is_some() {
            o.insert(
                "owner".into(),
                json!({"name": owner_name, "phone": owner_phone.map(|p| match p {
                    Value::Number(n) => Value::String(n.to_string()),
                    p => p,
                })}),
            );
        }
        for k in ["name", "call_sign", "class", "village"] {
            if let Some(Value::Number(n)) = o.get(k) {
                let s = n.to_string();
                o.insert(k.into(), Value::String(s));
            }
        }
        o.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
        serde_json::from_value(Value::Object(o)).map_err(|e| e.to_string())
    };
    if trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(trimmed).context("not a JSON file")?;
        let features = v["features"]
            .as_array()
            .context("the GeoJSON is not a FeatureCollection")?;
        return Ok(features
            .iter()
            .map(|f| body(f["properties"].as_object().cloned().unwrap_or_default()))
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
    if !headers.iter().any(|h| h == "mmsi") {
        bail!(
            "the CSV has no 'mmsi' column (columns: mmsi,name,call_sign,ship_type,class,length_m,harbour,owner_name,owner_phone,village)"
        );
    }
    Ok(reader
        .records()
        .map(|r| {
            let r = r.map_err(|e| e.to_string())?;
            let mut o = Map::new();
            for (h, v) in headers.iter().zip(r.iter()) {
                let v = v.trim();
                if v.is_empty() {
                    continue;
                }
                let value = match h.as_str() {
                    "mmsi" | "ship_type" | "length_m" | "harbour" => v
                        .parse::<f64>()
                        .map(|n| json!(n))
                        .unwrap_or_else(|_| json!(v)),
                    _ => json!(v),
                };
                o.insert(h.clone(), value);
            }
            body(o)
        })
        .collect())
}

/// Registers boats from a file: every row checked, the good ones stored, the bad listed.
pub async fn import_vessels(store: &Store, file: &Path) -> anyhow::Result<()> {
    let records = read_records(file)?;
    let harbours: Vec<i32> = store.harbours().await?.iter().map(|h| h.id).collect();
    let villages: std::collections::HashSet<String> = store
        .area_shapes()
        .await?
        .into_iter()
        .filter(|r| r.level == crate::model::Level::Village)
        .map(|r| r.code.to_string())
        .collect();
    let known = |h: Option<i32>, v: Option<&str>| {
        let mut p = Vec::new();
        if let Some(h) = h
            && !harbours.contains(&h)
        {
            p.push(model::Problem {
                path: "harbour".into(),
                message: format!("没有编号为 {h} 的港口 (no such harbour)"),
            });
        }
        if let Some(v) = v
            && !villages.contains(v)
        {
            p.push(model::Problem {
                path: "village".into(),
                message: format!("{v} 不是村（社区）编码 (not a village code)"),
            });
        }
        p
    };
    let bar = progress::bar(records.len() as u64, "checking", false);
    let mut good: Vec<VesselWrite> = Vec::new();
    let mut bad = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        bar.inc(1);
        let checked = r.and_then(|b| {
            b.check(None, &known).map_err(|p| {
                p.iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
        match checked {
            Ok(d) => good.push(VesselWrite {
                mmsi: d.mmsi,
                name: d.name,
                call_sign: d.call_sign,
                ship_type: d.ship_type,
                class: d.class.map(Class::code),
                length_m: d.length_m,
                harbour_id: d.harbour_id,
                owner_name: d.owner_name,
                owner_phone: d.owner_phone,
                village_code: d.village_code,
            }),
            Err(e) => bad.push((i + 1, e)),
        }
    }
    bar.finish_and_clear();
    let n = if good.is_empty() {
        0
    } else {
        store.upsert_vessels(&good).await?
    };
    for (row, e) in bad.iter().take(50) {
        eprintln!("  row {row}: {e}");
    }
    if bad.len() > 50 {
        eprintln!("  … and {} more bad rows", bad.len() - 50);
    }
    eprintln!("registered {n} vessels; {} rows refused", bad.len());
    if n == 0 && !bad.is_empty() {
        bail!("no row of {} could be used", file.display());
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct SimulateVesselsArgs {
    /// The server whose boats and harbours are simulated (and where the closure is declared).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API token of a city administrator (`onemap user token NAME`).
    #[arg(long, env = "ONEMAP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The AIS TCP listener to send the sentences to (`serve --ais-tcp`).
    #[arg(long, default_value = "127.0.0.1:10110")]
    pub to: String,
    /// How many boats (Huangshi's first).
    #[arg(long, default_value_t = 320, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub count: u64,
    /// How much faster than real time the day is replayed (until it reaches the present).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub speed: u64,
    /// Random seed.
    #[arg(long, default_value_t = 3503)]
    pub seed: u64,
    /// Do not declare the typhoon closure the day plays against.
    #[arg(long)]
    pub no_closure: bool,
}

/// The boats of a vessel list and a harbour list (the API's JSON), Huangshi's first.
fn sim_boats(vessels: &Value, harbours: &Value, count: usize) -> Vec<SimBoat> {
    let harbour = |id: i64| {
        harbours["harbours"]
            .as_array()?
            .iter()
            .find(|h| h["id"].as_i64() == Some(id))
            .and_then(|h| {
                Some((
                    (h["lon"].as_f64()?, h["lat"].as_f64()?),
                    (h["fairway"]["lon"].as_f64()?, h["fairway"]["lat"].as_f64()?),
                ))
            })
    };
    let mut boats: Vec<(bool, SimBoat)> = vessels["vessels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let hid = v["harbour"]["id"].as_i64()?;
            let (h, f) = harbour(hid)?;
            let mmsi = v["mmsi"].as_u64()? as u32;
            let huangshi = v["village"]["code"]
                .as_str()
                .is_some_and(|c| c.starts_with(demo::HUANGSHI));
            Some((
                !huangshi,
                SimBoat {
                    mmsi,
                    class_b: v["class"].as_str() == Some("B"),
                    name: format!("MIN PU YU {:05}", mmsi % 100_000),
                    call_sign: format!("BZ{}", mmsi % 10_000),
                    length_m: 30,
                    harbour_id: hid as i32,
                    harbour: h,
                    fairway: f,
                },
            ))
        })
        .collect();
    boats.sort_by_key(|(other, b)| (*other, b.mmsi));
    boats.into_iter().take(count).map(|(_, b)| b).collect()
}

/// The closure the day plays against, as the API takes it.
fn closure_body(c: &ClosurePlan) -> Value {
    let at = |ms| chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
    json!({"name": "台风“海燕”封港（演示）", "harbours": [c.harbour_id], "from": at(c.from_ms),
           "to": at(c.to_ms), "reason": "台风预警，渔船回港避风（模拟）"})
}

/// `onemap simulate vessels`: replays a day of the server's fleet into its TCP listener.
pub async fn simulate_vessels(args: SimulateVesselsArgs) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let base = args.url.trim_end_matches('/').to_string();
    let token = args.token.clone();
    let get = |path: &'static str| {
        let base = base.clone();
        let token = token.clone();
        async move {
            let (status, body) = http(&base, token.as_deref(), "GET", path, None).await?;
            if status != 200 {
                bail!("{base} answered {status} to {path}: {body}");
            }
            Ok::<Value, anyhow::Error>(serde_json::from_str(&body)?)
        }
    };
    let vessels = get("/api/vessels?limit=100000").await?;
    let harbours = get("/api/harbours").await?;
    let boats = sim_boats(&vessels, &harbours, args.count as usize);
    if boats.is_empty() {
        bail!(
            "{base} has no boats with a harbour (load the demo with `onemap import demo-vessels`)"
        );
    }
    let wall = crate::time::now_us() / 1000;
    let start = wall - 86_400_000;
    let mut sim = Simulator::new(boats, args.seed, start);
    if let Some(c) = sim.closure_plan().filter(|_| !args.no_closure) {
        let (status, body) = http(
            &base,
            args.token.as_deref(),
            "POST",
            "/api/vessels/closures",
            Some(&closure_body(&c).to_string()),
        )
        .await?;
        tracing::info!(status, body = %body.chars().take(200).collect::<String>(), "closure declared");
    }
    let mut out = tokio::net::TcpStream::connect(&args.to)
        .await
        .with_context(|| {
            format!(
                "cannot connect to the AIS listener at {} (serve --ais-tcp)",
                args.to
            )
        })?;
    eprintln!(
        "replaying a day of {} boats at {}× into {}",
        sim.boats(),
        args.speed,
        args.to
    );
    let began = Instant::now();
    loop {
        let now = (start + began.elapsed().as_millis() as i64 * args.speed as i64)
            .min(crate::time::now_us() / 1000);
        let lines = sim.step(now);
        if !lines.is_empty() {
            let mut text = lines.join("\r\n");
            text.push_str("\r\n");
            out.write_all(text.as_bytes())
                .await
                .context("the AIS listener hung up")?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the demo fleet inside the server (`serve --simulate-vessels`): real AIVDM sentences,
/// decoded and ingested as a TCP feed's would be.
pub async fn simulate_in_process(
    fleet: Arc<Fleet>,
    store: Store,
    count: usize,
    speed: u64,
    seed: u64,
) {
    while !fleet.is_loaded() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reg = fleet.registry();
    let list: Vec<Value> = reg
        .vessels
        .values()
        .map(|v| {
            json!({"mmsi": v.mmsi, "class": v.class, "harbour": {"id": v.harbour_id},
                   "village": {"code": v.village_code}})
        })
        .collect();
    let vessels = json!({"vessels": list});
    let harbours = json!({"harbours": reg.harbours.list().iter().map(|h| json!({
        "id": h.id, "lon": h.lon, "lat": h.lat,
        "fairway": h.fairway.map(|(x, y)| json!({"lon": x, "lat": y})),
    })).collect::<Vec<_>>()});
    drop(reg);
    let boats = sim_boats(&vessels, &harbours, count);
    if boats.is_empty() {
        tracing::warn!("no boats with a harbour to simulate");
        return;
    }
    let wall = crate::time::now_us() / 1000;
    // Go on from where the positions stored stop (a restart does not replay the same day).
    let start = fleet
        .data_clock_ms()
        .map_or(wall - 86_400_000, |c| c.clamp(wall - 86_400_000, wall));
    let mut sim = Simulator::new(boats, seed, start);
    if let Some(c) = sim.closure_plan() {
        let name = closure_body(&c)["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let exists = fleet
            .registry()
            .closures
            .iter()
            .any(|k| k.name == name && k.to.timestamp_millis() > start);
        if !exists {
            let at =
                |ms| chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
            if let Err(e) = store
                .insert_closure(
                    &name,
                    &[c.harbour_id],
                    at(c.from_ms),
                    at(c.to_ms),
                    "台风预警，渔船回港避风（模拟）",
                )
                .await
            {
                tracing::warn!(error = %e, "declaring the simulated closure failed");
            }
        }
    }
    tracing::info!(boats = sim.boats(), speed, "simulated fleet running");
    let began = Instant::now();
    let mut feed = Feed::default();
    loop {
        let now = (start + began.elapsed().as_millis() as i64 * speed as i64)
            .min(crate::time::now_us() / 1000);
        let mut fixes = Vec::new();
        let mut statics = Vec::new();
        for line in sim.step(now) {
            match feed.line(&line, now) {
                Ok(Decoded::Position(f)) => fixes.push(f),
                Ok(Decoded::Static(s)) => statics.push(s),
                _ => {}
            }
        }
        fleet.count_lines(&std::mem::take(&mut feed.counts));
        fleet.statics(statics);
        if !fixes.is_empty()
            && let Err(e) = fleet.ingest(fixes, false).await
        {
            tracing::warn!(error = %e, "simulated positions dropped");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

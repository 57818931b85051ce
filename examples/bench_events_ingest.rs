//! Event ingest benchmark, side by side in one run on the demo city:
//!
//! 1. `POST /api/events` to a real `onemap serve` over loopback, batches of 1,000 and 10,000,
//!    two concurrent clients: validation, assignment with the in-memory index, repeat
//!    detection, first transition, one transaction per batch, 201 after COMMIT (durable).
//! 2. The plain PostGIS way an analyst would load the same batches: COPY the points into a
//!    staging table, then one `INSERT INTO event … SELECT … JOIN area u ON u.level = 5 AND
//!    ST_Covers(u.geom, p.geom)` (plus the parents for the chain), one transaction per batch,
//!    two concurrent connections, with PostgreSQL's JIT off and on. No repeats, no
//!    transitions, no idempotency.
//!
//! The state is the one a city reaches: the database of `DATABASE_URL` holds the demo history
//! (1,000,000 events over two years, loaded by the script), the points are on land (inside a
//! unit, sampled uniformly over the units' extent) and reported within the last hour. What the
//! run adds is deleted afterwards, so the history stays as it was. With `BENCH_EMPTY_URL` the
//! same run is repeated on a second database whose event table is emptied first (the figure
//! earlier benchmarks reported).
//!
//! Prints a markdown table (events/s, median batch latency). Run through
//! `scripts/bench-events-ingest`, which sets the databases and the server binary.

#[path = "support/auth.rs"]
mod auth;

mod support;

use support::{CATEGORIES, land_points, restore_history, serve};

use chrono::{Duration as Dur, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SOURCES: [&str; 7] = [
    "grid_worker",
    "unit_head",
    "patrol",
    "hotline",
    "police",
    "petition",
    "qr_scan",
];
const PRIORITIES: [&str; 4] = ["low", "normal", "normal", "high"];

#[derive(Clone)]
struct Ev {
    category: &'static str,
    source: &'static str,
    priority: &'static str,
    lon: f64,
    lat: f64,
    reported_at: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Run {
    state: &'static str,
    method: &'static str,
    batch: usize,
    events: usize,
    secs: f64,
    latencies_ms: Vec<f64>,
}

/// Sends `batches` from two concurrent workers; returns total seconds and per-batch latencies.
async fn run_two<F, Fut>(batches: Vec<Vec<Ev>>, send: F) -> anyhow::Result<(f64, Vec<f64>)>
where
    F: Fn(Vec<Ev>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let send = Arc::new(send);
    let queue = Arc::new(std::sync::Mutex::new(batches));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (send, queue) = (send.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(b) = queue.lock().unwrap().pop() else {
                    break;
                };
                let t = Instant::now();
                send(b).await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await??);
    }
    Ok((started.elapsed().as_secs_f64(), all))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let history_db = std::env::var("DATABASE_URL")?;
    let empty_db = std::env::var("BENCH_EMPTY_URL").ok();
    let bin = std::env::var("ONEMAP_BIN").unwrap_or_else(|_| "target/release/onemap".into());
    let per_size: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let http = auth::client(Some(Duration::from_secs(600)))?;
    let mut states = vec![("history", history_db)];
    if let Some(e) = empty_db {
        states.push(("empty", e));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut runs = Vec::new();
    let mut notes = Vec::new();
    for (state, db) in states {
        let store = onemap::store::Store::connect(&db, 4).await?;
        // SQL of the benchmark itself (the PostGIS side, setup): its own pool of the same size.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&db)
            .await?;
        store.migrate().await?;
        if store.area_count().await? == 0 {
            eprintln!("loading the demo city into the {state} database…");
            let city =
                tokio::task::spawn_blocking(|| onemap::demo::generate(Default::default(), &|_| {}))
                    .await?;
            store.replace_all_areas(&city.areas, &|_| {}).await?;
        }
        if state == "empty" {
            sqlx::query("TRUNCATE event_transition, event_request, event")
                .execute(&pool)
                .await?;
        }
        let (before, max_id): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*), max(id) FROM event")
                .fetch_one(&pool)
                .await?;
        let index = onemap::index::AssignIndex::default();
        index
            .load(std::sync::Arc::new(store.area_shapes().await?))
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let snapshot = index.snapshot();
        auth::install(&db).await?;
        let server = serve(&bin, &db, &["--tile-cache-mb", "0"], &http).await?;
        let now = Utc::now();
        let mut gen_events = |n: usize| -> Vec<Ev> {
            land_points(&snapshot, n, &mut rng)
                .into_iter()
                .map(|(lon, lat)| Ev {
                    category: CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                    source: SOURCES[rng.random_range(0..SOURCES.len())],
                    priority: PRIORITIES[rng.random_range(0..PRIORITIES.len())],
                    lon,
                    lat,
                    reported_at: (now - Dur::milliseconds(rng.random_range(0..3_600_000)))
                        .to_rfc3339(),
                })
                .collect()
        };
        for batch in [1_000usize, 10_000] {
            let n = per_size / batch * batch;
            for method in ["onemap", "postgis-jit-off", "postgis-jit-on"] {
                let events = gen_events(n);
                let batches: Vec<Vec<Ev>> = events.chunks(batch).map(|c| c.to_vec()).collect();
                let (secs, latencies_ms) = if method == "onemap" {
                    // Bodies are serialised before the clock starts, as for COPY below.
                    let url = format!("{}/api/events", server.base);
                    let http = http.clone();
                    run_two(batches, move |b| {
                        let body: Vec<Value> = b
                            .iter()
                            .map(|e| {
                                json!({"category": e.category, "source": e.source, "priority": e.priority,
                                       "lon": e.lon, "lat": e.lat, "reported_at": e.reported_at})
                            })
                            .collect();
                        let body = serde_json::to_vec(&body).unwrap_or_default();
                        let (http, url) = (http.clone(), url.clone());
                        async move {
                            let r = http
                                .post(url)
                                .header("content-type", "application/json")
                                .body(body)
                                .send()
                                .await?;
                            anyhow::ensure!(r.status() == 201, "ingest answered {}", r.status());
                            Ok(())
                        }
                    })
                    .await?
                } else {
                    let pool = pool.clone();
                    let jit = method == "postgis-jit-on";
                    run_two(batches, move |b| {
                        let mut csv = String::with_capacity(b.len() * 100);
                        for (i, e) in b.iter().enumerate() {
                            csv.push_str(&format!(
                                "{i},{},{},{},{},{},{}\n",
                                e.category, e.source, e.priority, e.lon, e.lat, e.reported_at
                            ));
                        }
                        let pool = pool.clone();
                        async move { postgis_batch(&pool, csv, jit).await }
                    })
                    .await?
                };
                eprintln!(
                    "{state}: {method} batch {batch}: {:.0} events/s",
                    n as f64 / secs
                );
                runs.push(Run {
                    state,
                    method,
                    batch,
                    events: n,
                    secs,
                    latencies_ms,
                });
            }
        }
        drop(server);
        let (after,): (i64,) = sqlx::query_as("SELECT count(*) FROM event")
            .fetch_one(&pool)
            .await?;
        notes.push(format!(
            "{state}: event table {before} rows before the run, {after} after"
        ));
        if state == "history" {
            restore_history(&pool, max_id).await?;
            sqlx::query("VACUUM ANALYZE event, event_transition")
                .execute(&pool)
                .await?;
        }
    }

    println!(
        "2 concurrent clients; synchronous_commit on; points on land, reported in the last hour"
    );
    for n in &notes {
        println!("- {n}");
    }
    println!();
    println!("| state | method | batch | events | events/s | median batch latency |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.0} ms |",
            r.state,
            match r.method {
                "onemap" => "onemap POST /api/events (index, repeats, log, 201 = committed)",
                "postgis-jit-off" => "PostGIS COPY + INSERT … JOIN area ST_Covers, JIT off",
                _ => "PostGIS COPY + INSERT … JOIN area ST_Covers, JIT on",
            },
            r.batch,
            r.events,
            r.events as f64 / r.secs,
            median(r.latencies_ms.clone())
        );
    }
    Ok(())
}

/// The analyst's way for one batch: COPY into a temporary staging table, then one INSERT …
/// SELECT that assigns by `ST_Covers` on the GiST index and joins the parents for the chain.
async fn postgis_batch(pool: &sqlx::PgPool, csv: String, jit: bool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(if jit {
        "SET LOCAL jit = on"
    } else {
        "SET LOCAL jit = off"
    })
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS stage (ord int, category text, source text,
           priority text, lon float8, lat float8, reported_at timestamptz) ON COMMIT DELETE ROWS",
    )
    .execute(&mut *tx)
    .await?;
    let mut copy = tx
        .copy_in_raw("COPY stage FROM STDIN WITH (FORMAT csv)")
        .await?;
    copy.send(csv.into_bytes()).await?;
    copy.finish().await?;
    sqlx::query(
        "INSERT INTO event (category, source, priority, geom, reported_at, assigned, unit_code,
                grid_code, village_code, town_code, district_code, deadline)
         SELECT p.category, p.source, p.priority, p.geom, p.reported_at, u.code IS NOT NULL,
                u.code, g.code, v.code, t.code, t.parent_code,
                p.reported_at + make_interval(hours => c.deadline_hours) *
                  CASE p.priority WHEN 'low' THEN 2 WHEN 'high' THEN 0.5 WHEN 'urgent' THEN 0.25 ELSE 1 END
           FROM (SELECT s.*, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS geom FROM stage s) p
           JOIN event_category c ON c.code = p.category
           LEFT JOIN LATERAL (SELECT code, parent_code FROM area u
                               WHERE u.level = 5 AND ST_Covers(u.geom, p.geom)
                               ORDER BY code LIMIT 1) u ON true
           LEFT JOIN area g ON g.code = u.parent_code
           LEFT JOIN area v ON v.code = g.parent_code
           LEFT JOIN area t ON t.code = v.parent_code",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

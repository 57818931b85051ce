//! Fire-protection benchmark (issue #12), side by side in one run with the PostGIS an analyst
//! would write, on the state a real city reaches: the demo city with its events, 100,000
//! hydrants (the demo's over the built-up parts, the rest spread over the city's units), the
//! demo's heritage, water and sensors, 1,000 extra temperature sensors, and a history of
//! 2,000,000 readings.
//!
//! 1. k nearest water (k = 5) to random points in the city: `GET /api/fire/nearest` from a real
//!    `onemap serve` over loopback (sequential, p50/p99; and wrk throughput), against PostGIS
//!    `ORDER BY point <-> pt LIMIT 5` on the GiST index with geography distances.
//! 2. Whole-city coverage from scratch (`Coverage::compute`, in-process) against PostGIS
//!    `ST_Difference` of each village with the `ST_Union` of its hydrants' 150 m buffers; and
//!    the incremental update after one hydrant moves (`AssetSet::patched` +
//!    `Coverage::patched`), in-process and end to end (PUT, then the coverage answers the move).
//! 3. Sensor readings through `POST /api/sensors/readings` with thresholds, debounce and the
//!    alarms they raise (events opened through the event loop), 4 connections, against
//!    `COPY sensor_reading FROM STDIN` of as many rows.
//!
//! Needs DATABASE_URL with the demo city (`scripts/bench-fire` prepares it).

#[path = "support/auth.rs"]
mod auth;

mod support;

use onemap::assets::coverage::Coverage;
use onemap::assets::set::AssetSet;
use onemap::store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::serve;

const HYDRANTS: i64 = 100_000;
const EXTRA_SENSORS: i64 = 1000;
const HISTORY: i64 = 2_000_000;

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Brings the database to the benchmark's state (idempotent).
async fn prepare(store: &Store, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    if store.asset_count().await? == 0 {
        eprintln!("bench-fire: loading the demo assets");
        onemap::cli::fire::demo_assets(store, 3503, false).await?;
    }
    let rows = store.area_shapes().await?;
    let snapshot = onemap::index::Snapshot::from_rows(&rows);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let hydrants: i64 = sqlx::query_scalar("SELECT count(*) FROM asset WHERE kind = 'hydrant'")
        .fetch_one(pool)
        .await?;
    if hydrants < HYDRANTS {
        eprintln!("bench-fire: adding {} hydrants", HYDRANTS - hydrants);
        let pts = support::land_points(&snapshot, (HYDRANTS - hydrants) as usize, &mut rng);
        let writes: Vec<_> = pts
            .iter()
            .enumerate()
            .filter_map(|(i, &(lon, lat))| {
                let body: onemap::assets::model::AssetBody = serde_json::from_value(json!({
                    "kind": "hydrant", "name": format!("基准消火栓 {i:06}"), "lon": lon, "lat": lat,
                    "props": {"type": "pillar", "flow_lps": 15, "pressure_mpa": 0.3, "last_inspection": "2026-06-01"}
                }))
                .ok()?;
                let d = body.check(onemap::crs::Crs::Wgs84).ok()?;
                onemap::assets::place(&snapshot, d, |_| false).ok()
            })
            .collect();
        for chunk in writes.chunks(20_000) {
            store.insert_assets(chunk).await?;
        }
    }
    let extra: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM asset WHERE kind = 'sensor' AND name LIKE '基准温感%'",
    )
    .fetch_one(pool)
    .await?;
    if extra < EXTRA_SENSORS {
        let pts = support::land_points(&snapshot, (EXTRA_SENSORS - extra) as usize, &mut rng);
        let writes: Vec<_> = pts
            .iter()
            .enumerate()
            .filter_map(|(i, &(lon, lat))| {
                let body: onemap::assets::model::AssetBody = serde_json::from_value(json!({
                    "kind": "sensor", "name": format!("基准温感 {i:04}"), "lon": lon, "lat": lat,
                    "props": {"type": "temperature", "debounce": 3}
                }))
                .ok()?;
                let d = body.check(onemap::crs::Crs::Wgs84).ok()?;
                onemap::assets::place(&snapshot, d, |_| false).ok()
            })
            .collect();
        store.insert_assets(&writes).await?;
    }
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM sensor_reading")
        .fetch_one(pool)
        .await?;
    if history < HISTORY * 9 / 10 {
        eprintln!("bench-fire: writing a history of {HISTORY} readings");
        sqlx::query(
            "INSERT INTO sensor_reading (sensor_id, at, value, received_at)
             SELECT s.id, now() - interval '40 days' + make_interval(mins => g), 20 + random() * 10, now() - interval '40 days'
               FROM (SELECT id FROM asset WHERE kind = 'sensor') s,
                    generate_series(1, ($1 / (SELECT count(*) FROM asset WHERE kind = 'sensor'))::int) g
             ON CONFLICT DO NOTHING",
        )
        .bind(HISTORY)
        .execute(pool)
        .await?;
    }
    sqlx::query("VACUUM ANALYZE asset").execute(pool).await?;
    sqlx::query("VACUUM ANALYZE sensor_reading")
        .execute(pool)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::var("DATABASE_URL")?;
    let bin = std::env::var("ONEMAP_BIN").unwrap_or_else(|_| "target/release/onemap".into());
    let store = Store::connect(&db, 4).await?;
    store.migrate().await?;
    let pool = sqlx::PgPool::connect(&db).await?;
    prepare(&store, &pool).await?;
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await }
    };
    let hydrants =
        count("SELECT count(*) FROM asset WHERE kind = 'hydrant' AND retired_at IS NULL").await?;
    let water = count("SELECT count(*) FROM asset WHERE kind IN ('hydrant', 'water') AND in_service AND retired_at IS NULL").await?;
    let sensors = count("SELECT count(*) FROM asset WHERE kind = 'sensor'").await?;
    let readings = count("SELECT count(*) FROM sensor_reading").await?;
    let events = count("SELECT count(*) FROM event").await?;
    let max_event: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM event")
        .fetch_one(&pool)
        .await?;
    let max_alert: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM fire_alert")
        .fetch_one(&pool)
        .await?;
    let run_start: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT now()").fetch_one(&pool).await?;
    println!("## Fire protection (issue #12)\n");
    println!(
        "State: {hydrants} hydrants ({water} in-service water points), {sensors} sensors, {readings} stored readings, {events} events, 979 villages.\n"
    );

    // 2 first, in-process, while nothing else runs.
    let rows = store.assets().await?;
    let areas = store.area_shapes().await?;
    let villages = onemap::assets::villages_from(&areas);
    let set = AssetSet::from_rows(&rows);
    let mut scratch = Vec::new();
    let mut cov = Coverage::default();
    for _ in 0..3 {
        let t = Instant::now();
        cov = Coverage::compute(&set, &villages, 150.0);
        scratch.push(t.elapsed().as_secs_f64());
    }
    let uncovered: f64 = cov.villages.values().map(|c| c.uncovered_m2).sum();
    let timeout_s: u64 = std::env::var("BENCH_PG_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(900);
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!("SET statement_timeout = '{timeout_s}s'"))
        .execute(&mut *conn)
        .await?;
    let t = Instant::now();
    let pg: Result<Vec<(String, f64)>, _> = sqlx::query_as(
        "SELECT v.code, COALESCE(ST_Area(ST_Difference(v.geom, ST_Union(ST_Buffer(h.point::geography, 150, 'quad_segs=8')::geometry))::geography),
                               ST_Area(v.geom::geography))
           FROM area v LEFT JOIN asset h ON h.kind = 'hydrant' AND h.in_service AND h.retired_at IS NULL
                AND h.point && ST_Expand(v.geom, 0.0025) AND ST_DWithin(h.point::geography, v.geom::geography, 150)
          WHERE v.level = 3 AND ($1::text[] IS NULL OR v.code = ANY($1)) GROUP BY v.code, v.geom",
    )
    .bind(None::<Vec<String>>)
    .fetch_all(&mut *conn)
    .await;
    let pg_s = t.elapsed().as_secs_f64();
    sqlx::query("RESET statement_timeout")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    let pg_text = match pg {
        Ok(rows) => format!(
            "{pg_s:.1} s (uncovered {:.2} km²)",
            rows.iter().map(|r| r.1).sum::<f64>() / 1e6
        ),
        Err(e) => format!("stopped after {pg_s:.0} s ({e})"),
    };
    let hydrant_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "hydrant" && r.in_service)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // As the server does it: two copies of the set (left-right), each change applied in place
    // to the copy not in use, which then serves; the coverage patched from the new set.
    let (mut patch, mut patch_set) = (Vec::new(), Vec::new());
    let mut live = AssetSet::from_rows(&rows);
    let mut spare = AssetSet::from_rows(&rows);
    let mut owed: Vec<onemap::store::assets::AssetRow> = Vec::new();
    let mut current = cov.clone();
    for _ in 0..40 {
        let r = hydrant_rows[rng.random_range(0..hydrant_rows.len())];
        let now = live
            .get(r.id)
            .map(|a| (a.lon, a.lat))
            .unwrap_or((r.lon, r.lat));
        let mut moved = r.clone();
        moved.lon = now.0 + 0.0005;
        moved.lat = now.1;
        let t = Instant::now();
        spare.apply(&owed, &[]);
        spare.apply(std::slice::from_ref(&moved), &[]);
        patch_set.push(t.elapsed().as_secs_f64() * 1000.0);
        current = current.patched(&spare, &villages, &[now, (moved.lon, moved.lat)]);
        patch.push(t.elapsed().as_secs_f64() * 1000.0);
        std::mem::swap(&mut live, &mut spare);
        owed = vec![moved];
    }
    drop(spare);
    drop(current);
    println!("### Coverage (radius 150 m)\n");
    println!("| | onemap | PostGIS | goal |\n|---|---|---|---|");
    println!(
        "| whole city, from scratch (979 villages) | {:.2} s (median of 3; uncovered {:.2} km²) | {pg_text} | ≤ 2 s |",
        pct(scratch, 0.5),
        uncovered / 1e6
    );
    println!(
        "| one hydrant moved, in-process (the spare asset set edited in place, then the villages, sites and spacing it touches) | p50 {:.1} ms (set {:.2} ms), p99 {:.1} ms (40 moves) | — | ≤ 50 ms |",
        pct(patch.clone(), 0.5),
        pct(patch_set, 0.5),
        pct(patch, 0.99)
    );
    if std::env::var("BENCH_COVERAGE_ONLY").is_ok() {
        return Ok(());
    }
    drop(set);
    drop(cov);

    auth::install(&db).await?;
    let http = auth::client(None)?;
    let server = serve(&bin, &db, &["--tile-cache-mb", "64"], &http).await?;
    let base = server.base.clone();
    // End to end: PUT a hydrant 60 m away, until the engine's view has it there (the nearest
    // water at its new place is itself; the coverage is patched in the same swap).
    let mut e2e = Vec::new();
    for i in 0..10 {
        let r = hydrant_rows[(i * 7919) % hydrant_rows.len()];
        let asset: Value = http
            .get(format!("{base}/api/assets/{}", r.id))
            .send()
            .await?
            .json()
            .await?;
        let (lon, lat) = (r.lon + 0.0006, r.lat);
        let body = json!({"kind": "hydrant", "name": asset["name"], "lon": lon, "lat": lat,
                          "props": asset["props"], "version": asset["version"]});
        let t = Instant::now();
        let resp = http
            .put(format!("{base}/api/assets/{}", r.id))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "PUT failed: {}", resp.text().await?);
        loop {
            let now: Value = http
                .get(format!("{base}/api/fire/nearest?lon={lon}&lat={lat}&k=1"))
                .send()
                .await?
                .json()
                .await?;
            if now["water"][0]["id"].as_i64() == Some(r.id)
                && now["water"][0]["distance_m"].as_f64() < Some(0.5)
            {
                break;
            }
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(10),
                "the move never reached the view"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        e2e.push(t.elapsed().as_secs_f64() * 1000.0);
        // Put it back.
        let asset: Value = http
            .get(format!("{base}/api/assets/{}", r.id))
            .send()
            .await?
            .json()
            .await?;
        let back = json!({"kind": "hydrant", "name": asset["name"], "lon": r.lon, "lat": r.lat, "props": asset["props"], "version": asset["version"]});
        http.put(format!("{base}/api/assets/{}", r.id))
            .json(&back)
            .send()
            .await?;
    }
    println!(
        "| one hydrant moved, end to end (PUT → change feed → set and coverage patched → answered) | p50 {:.0} ms, max {:.0} ms (10 moves) | — | — |\n",
        pct(e2e.clone(), 0.5),
        pct(e2e, 1.0)
    );

    // 1. Nearest water.
    let snapshot = onemap::index::Snapshot::from_rows(&areas);
    let pts = support::land_points(&snapshot, 2000, &mut ChaCha8Rng::seed_from_u64(9));
    for &(lon, lat) in pts.iter().take(50) {
        http.get(format!("{base}/api/fire/nearest?lon={lon}&lat={lat}&k=5"))
            .send()
            .await?
            .bytes()
            .await?;
    }
    let mut ours = Vec::new();
    for &(lon, lat) in &pts {
        let t = Instant::now();
        let r = http
            .get(format!("{base}/api/fire/nearest?lon={lon}&lat={lat}&k=5"))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200);
        r.bytes().await?;
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut conn = pool.acquire().await?;
    let mut theirs = Vec::new();
    for &(lon, lat) in &pts {
        let t = Instant::now();
        let _: Vec<(i64, f64)> = sqlx::query_as(
            "SELECT id, ST_Distance(point::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography)
               FROM asset WHERE kind IN ('hydrant', 'water') AND in_service AND retired_at IS NULL
              ORDER BY point <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT 5",
        )
        .bind(lon)
        .bind(lat)
        .fetch_all(&mut *conn)
        .await?;
        theirs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(conn);
    let paths: String = pts
        .iter()
        .map(|(x, y)| format!("/api/fire/nearest?lon={x}&lat={y}&k=5\n"))
        .collect();
    let paths_file = std::env::temp_dir().join("onemap-bench-nearest.paths");
    std::fs::write(&paths_file, paths)?;
    let wrk = std::process::Command::new("wrk")
        .env("ONEMAP_TOKEN", auth::token())
        .args([
            "-t2",
            "-c4",
            "-d10s",
            "-s",
            "scripts/bench-tiles.lua",
            &base,
            "--",
        ])
        .arg(&paths_file)
        .output();
    let wrk_line = wrk
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RESULT"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "wrk not available".into());
    println!("### k = 5 nearest water over {water} points (2,000 random points in the city)\n");
    println!("| | p50 | p99 | goal |\n|---|---|---|---|");
    println!(
        "| onemap `GET /api/fire/nearest` (HTTP, sequential, keep-alive) | {:.3} ms | {:.3} ms | p50 ≤ 1 ms |",
        pct(ours.clone(), 0.5),
        pct(ours, 0.99)
    );
    println!(
        "| PostGIS `ORDER BY point <-> pt LIMIT 5` + geography distances (one connection) | {:.3} ms | {:.3} ms | — |",
        pct(theirs.clone(), 0.5),
        pct(theirs, 0.99)
    );
    println!("\nonemap under wrk -t2 -c4 for 10 s: `{wrk_line}`\n");

    // 3. Readings.
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM asset WHERE kind = 'sensor' AND name LIKE '基准温感%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await?;
    let batch_size = 5000usize;
    let per_sensor = batch_size / ids.len().max(1);
    let t0 = chrono::Utc::now() - chrono::Duration::hours(2);
    let mut bodies = Vec::new();
    let mut copy_rows = String::new();
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    for b in 0..400usize {
        let mut rows = Vec::with_capacity(batch_size);
        // One sensor per batch runs hot for its three readings: an alarm.
        let hot = ids[rng.random_range(0..ids.len())];
        for k in 0..per_sensor {
            for &s in &ids {
                let at = t0 + chrono::Duration::milliseconds((b * per_sensor + k) as i64 * 1000);
                let v = if s == hot {
                    80.0
                } else {
                    20.0 + rng.random_range(0.0..8.0f64)
                };
                rows.push(json!({"sensor": s, "at": at.to_rfc3339(), "value": (v * 10.0f64).round() / 10.0}));
                if b < 40 {
                    copy_rows.push_str(&format!(
                        "{}\t{}\t{}\n",
                        s + 1_000_000_000,
                        at.to_rfc3339(),
                        v
                    ));
                }
            }
        }
        bodies.push(serde_json::to_string(&rows)?);
    }
    let bodies = std::sync::Arc::new(bodies);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, base, bodies, next) = (http.clone(), base.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut stored, mut alarms) = (0u64, 0u64);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= bodies.len() {
                    return (stored, alarms);
                }
                let r = http
                    .post(format!("{base}/api/sensors/readings"))
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await
                    .unwrap();
                let v: Value = r.json().await.unwrap_or_default();
                stored += v["stored"].as_u64().unwrap_or(0);
                alarms += v["alarms"].as_u64().unwrap_or(0);
            }
        }));
    }
    let (mut stored, mut alarms) = (0u64, 0u64);
    for task in tasks {
        let (s, a) = task.await?;
        stored += s;
        alarms += a;
    }
    let secs = t.elapsed().as_secs_f64();
    let n_copy = copy_rows.lines().count();
    let mut conn = pool.acquire().await?;
    let t = Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY sensor_reading (sensor_id, at, value) FROM STDIN")
        .await?;
    copy.send(copy_rows.as_bytes()).await?;
    copy.finish().await?;
    let copy_s = t.elapsed().as_secs_f64();
    drop(conn);
    println!(
        "### Sensor readings ({} sensors sending, batches of {batch_size}, 4 connections)\n",
        ids.len()
    );
    println!("| | readings/s | goal |\n|---|---|---|");
    println!(
        "| onemap `POST /api/sensors/readings` (checked, stored, deduplicated, states moved; {alarms} alarms → events) | {:.0} ({stored} in {secs:.1} s) | ≥ 50,000 |",
        stored as f64 / secs
    );
    println!(
        "| PostgreSQL `COPY sensor_reading FROM STDIN` (same table, no checks) | {:.0} ({n_copy} in {copy_s:.2} s) | — |\n",
        n_copy as f64 / copy_s
    );
    let rss = server.rss_mib();
    println!("Server resident memory after the run: {rss:.0} MiB.\n");

    // Leave the state as it was.
    drop(server);
    sqlx::query("DELETE FROM sensor_reading WHERE received_at >= $1 OR sensor_id >= 1000000000")
        .bind(run_start)
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM fire_alert WHERE id > $1")
        .bind(max_alert.unwrap_or(0))
        .execute(&pool)
        .await?;
    sqlx::query("UPDATE asset SET alarm_event_id = NULL WHERE alarm_event_id > $1")
        .bind(max_event.unwrap_or(0))
        .execute(&pool)
        .await?;
    support::restore_history(&pool, max_event).await?;
    Ok(())
}

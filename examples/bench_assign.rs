//! End-to-end assignment benchmark, side by side in one run on the demo city's units:
//!
//! 1. one `POST /api/assign` of 100,000 random points to a real `onemap serve` over loopback;
//! 2. the best PostGIS can do for the same points: one set-based `ST_Covers` join on the GiST
//!    index (points pre-loaded into a table; the query returns every point's unit code);
//! 3. a per-point prepared `ST_Covers` query, as a client would send it, one connection;
//!
//! plus the server's start-up (process start to ready, index build) and index memory.
//! Run through `scripts/bench-assign`, which passes DATABASE_URL and the server binary.

#[path = "support/auth.rs"]
mod auth;

mod support;

use support::serve;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::var("DATABASE_URL")?;
    let bin = std::env::var("ONEMAP_BIN").unwrap_or_else(|_| "target/release/onemap".into());
    let store = onemap::store::Store::connect(&db, 4).await?;
    // SQL of the benchmark itself (the PostGIS side, setup): its own pool of the same size.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&db)
        .await?;
    store.migrate().await?;
    if store.area_count().await? == 0 {
        eprintln!("loading the demo city…");
        let city =
            tokio::task::spawn_blocking(|| onemap::demo::generate(Default::default(), &|_| {}))
                .await?;
        store.replace_all_areas(&city.areas, &|_| {}).await?;
    }

    // The server, as in production, in its own process.
    let started = Instant::now();
    auth::install(&db).await?;
    let http = auth::client(Some(Duration::from_secs(300)))?;
    let server = serve(&bin, &db, &["--tile-cache-mb", "0"], &http).await?;
    let (base, ready) = (server.base.clone(), server.ready.clone());
    let startup = started.elapsed().as_secs_f64();

    let bbox: Vec<f64> =
        sqlx::query_scalar("SELECT area_bbox(ST_Extent(geom)::geometry) FROM area WHERE level = 5")
            .fetch_one(&pool)
            .await?;
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let pts: Vec<(f64, f64)> = (0..100_000)
        .map(|_| {
            (
                rng.random_range(bbox[0]..bbox[2]),
                rng.random_range(bbox[1]..bbox[3]),
            )
        })
        .collect();

    // 1. HTTP batch.
    let body = serde_json::to_vec(
        &pts.iter()
            .enumerate()
            .map(|(i, p)| json!({"id": i, "lon": p.0, "lat": p.1}))
            .collect::<Vec<_>>(),
    )?;
    let mut http_s = Vec::new();
    let mut http_assigned = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let r = http
            .post(format!("{base}/api/assign"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let v: Value = r.json().await?;
        http_s.push(t.elapsed().as_secs_f64());
        http_assigned = v["assigned"].as_u64().unwrap_or(0);
    }
    drop(server);

    // 2. PostGIS set-based join.
    let mut conn = pool.acquire().await?;
    sqlx::query("CREATE TEMP TABLE bench_pts (i int PRIMARY KEY, geom geometry(Point, 4326))")
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO bench_pts SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY t(x, y, i)")
        .bind(pts.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(pts.iter().map(|p| p.1).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    sqlx::query("ANALYZE bench_pts").execute(&mut *conn).await?;
    let mut join_s = Vec::new();
    let mut join_assigned = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let rows: Vec<(i32, String)> = sqlx::query_as(
            "SELECT DISTINCT ON (p.i) p.i, a.code FROM bench_pts p JOIN area a
               ON a.level = 5 AND ST_Covers(a.geom, p.geom) ORDER BY p.i, a.code",
        )
        .fetch_all(&mut *conn)
        .await?;
        join_s.push(t.elapsed().as_secs_f64());
        join_assigned = rows.len() as u64;
    }

    // 3. Per-point prepared query, first 10,000 points.
    let n3 = 10_000;
    let t = Instant::now();
    let mut per_point_assigned = 0;
    for &(x, y) in &pts[..n3] {
        let code: Option<String> = sqlx::query_scalar(
            "SELECT code FROM area WHERE level = 5 AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY code LIMIT 1",
        )
        .bind(x)
        .bind(y)
        .fetch_optional(&mut *conn)
        .await?;
        per_point_assigned += code.is_some() as u64;
    }
    let per_point_s = t.elapsed().as_secs_f64();

    let (h, j) = (median(http_s.clone()), median(join_s.clone()));
    let stats = &ready["index"];
    println!(
        "| method (100,000 random points over the city's bbox) | median wall time | points/s | assigned |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| onemap `POST /api/assign` over loopback (JSON in, full chain out), 5 runs | {:.0} ms | {:.0} | {http_assigned} |",
        h * 1e3,
        1e5 / h
    );
    println!(
        "| PostGIS set-based `ST_Covers` join on GiST (points pre-loaded), 3 runs | {:.0} ms | {:.0} | {join_assigned} |",
        j * 1e3,
        1e5 / j
    );
    println!(
        "| PostGIS per-point prepared `ST_Covers`, one connection (first {n3} points) | {:.0} ms for {n3} ({:.0} µs/point) | {:.0} | {per_point_assigned} of {n3} |",
        per_point_s * 1e3,
        per_point_s * 1e6 / n3 as f64,
        n3 as f64 / per_point_s
    );
    println!();
    println!("HTTP batch vs set-based join: {:.1}× faster", j / h);
    println!("all HTTP runs (s): {http_s:.3?}; all join runs (s): {join_s:.3?}");
    println!(
        "server start-up to ready: {startup:.2} s (index build {:.0} ms); index: {} units, {} grids, ~{:.0} MiB; cover {} full / {} list cells",
        stats["build_ms"].as_f64().unwrap_or(0.0),
        stats["units"],
        stats["grids"],
        stats["memory_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
        stats["cover_full_cells"],
        stats["cover_list_cells"]
    );
    Ok(())
}

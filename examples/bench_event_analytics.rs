//! Event analytics benchmark, side by side in one run: each answer from a real `onemap serve`
//! (over loopback HTTP, JSON or MVT bytes included) and from the plain PostGIS query a GIS
//! analyst would write for the same answer, on the same database.
//!
//! - stats: per-village figures over the last 30 days vs `GROUP BY village_code`;
//! - event tiles at z10, cold (first render) and warm (cached) vs `ST_AsMVT` with
//!   `ST_HexagonGrid` and with `ST_SnapToGrid` aggregation;
//! - hotspots over a year of one category vs `ST_ClusterDBSCAN`;
//! - the view's load time and memory, and how long an insert takes to show.
//!
//! Needs DATABASE_URL; loads the demo city if the database has no areas and, if the `event`
//! table holds fewer than ONEMAP_BENCH_EVENTS (default 1,000,000) events, fills it with SQL
//! (`generate_series`, a year of synthetic events). The script loads the demo events
//! (`onemap import demo-events`) first, so the SQL fill is only a fallback. Run through `scripts/bench-events-analytics`.

#[path = "support/auth.rs"]
mod auth;

mod support;

use support::serve;

use serde_json::Value;
use std::time::{Duration, Instant};

const FILL_SQL: &str = "
WITH g AS (
  SELECT g.code AS grid, v.code AS village, t.code AS town, t.parent_code AS district,
         ST_PointOnSurface(g.geom) AS p, row_number() OVER (ORDER BY g.code) AS k
    FROM area g JOIN area v ON v.code = g.parent_code JOIN area t ON t.code = v.parent_code
   WHERE g.level = 4),
n AS (SELECT count(*) AS n FROM g),
s AS (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
             random() AS r5, random() AS r6, random() AS r7
        FROM generate_series(1, $1) i),
e AS (
  SELECT s.*, g.grid, g.village, g.town, g.district, g.p,
         now() - make_interval(secs => s.r1 * $2 * 86400) AS at,
         (ARRAY['reported','accepted','dispatched','in_progress','resolved','closed','closed',
                'closed','rejected'])[1 + floor(s.r4 * 9)::int] AS status
    FROM s JOIN g ON g.k = 1 + floor(power(s.r2, 2) * (SELECT n FROM n))::int)
INSERT INTO event (category, source, geom, reported_at, assigned, grid_code, village_code,
                   town_code, district_code, status, deadline, closed_at)
SELECT (ARRAY['dispute','city_management','safety_hazard','food_safety','environment',
              'forest_fire','public_service','public_order','traffic','other'])[1 + floor(r3 * 10)::int],
       (ARRAY['grid_worker','unit_head','patrol','hotline','police','petition','qr_scan'])[1 + floor(r5 * 7)::int],
       ST_Translate(p, (r6 - 0.5) * 0.004, (r7 - 0.5) * 0.004), at, true, grid, village, town,
       district, status, at + interval '48 hours',
       CASE WHEN status = 'closed' THEN at + r6 * interval '96 hours' END
  FROM e";

const SQL_STATS: &str = "
SELECT village_code, count(*) AS n,
       count(*) FILTER (WHERE status NOT IN ('closed', 'rejected')) AS open,
       count(*) FILTER (WHERE status = 'closed') AS closed,
       count(*) FILTER (WHERE status NOT IN ('closed', 'rejected') AND deadline < now()) AS overdue,
       avg(extract(epoch FROM closed_at - reported_at) / 3600)
           FILTER (WHERE status = 'closed')::float8 AS hours
  FROM event
 WHERE reported_at >= $1::timestamptz AND village_code IS NOT NULL
 GROUP BY 1";

const SQL_TILE_HEX: &str = "
WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env),
pts AS (SELECT ST_Transform(e.geom, 3857) AS g FROM event e, b
         WHERE e.geom && ST_Transform(b.env, 4326) AND e.reported_at >= $4::timestamptz),
hex AS (SELECT h.geom FROM b, ST_HexagonGrid($5, b.env) h),
agg AS (SELECT count(*) AS count, ST_Centroid(hex.geom) AS c
          FROM hex JOIN pts ON ST_Intersects(hex.geom, pts.g) GROUP BY hex.geom)
SELECT ST_AsMVT(q, 'events') FROM
  (SELECT count, ST_AsMVTGeom(c, (SELECT env FROM b)) AS geom FROM agg) q";

const SQL_TILE_SNAP: &str = "
WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env),
agg AS (SELECT count(*) AS count, ST_SnapToGrid(ST_Transform(e.geom, 3857), $5) AS c
          FROM event e, b
         WHERE e.geom && ST_Transform(b.env, 4326) AND e.reported_at >= $4::timestamptz
         GROUP BY 2)
SELECT ST_AsMVT(q, 'events') FROM
  (SELECT count, ST_AsMVTGeom(c, (SELECT env FROM b)) AS geom FROM agg) q";

const SQL_DBSCAN: &str = "
SELECT count(DISTINCT k) FROM (
  SELECT ST_ClusterDBSCAN(ST_MakePoint(radians(ST_X(geom)) * 6378137 * cos(radians($1)),
                                       radians(ST_Y(geom)) * 6378137), $2, $3) OVER () AS k
    FROM event WHERE category = $4 AND reported_at >= $5::timestamptz) q
 WHERE k IS NOT NULL";

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

struct Table(Vec<String>);
impl Table {
    fn row(&mut self, what: &str, method: &str, v: &[f64], note: &str) {
        self.0.push(format!(
            "| {what} | {method} | {:.2} | {:.2} | {} | {note} |",
            pct(v.to_vec(), 0.5),
            pct(v.to_vec(), 0.99),
            v.len()
        ));
    }
}

async fn time<F, Fut, T>(n: usize, mut f: F) -> anyhow::Result<(Vec<f64>, T)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut out = Vec::with_capacity(n);
    let mut last = None;
    for i in 0..n {
        let t = Instant::now();
        last = Some(f(i).await?);
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((out, last.ok_or_else(|| anyhow::anyhow!("no runs"))?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::var("DATABASE_URL")?;
    let bin = std::env::var("ONEMAP_BIN").unwrap_or_else(|_| "target/release/onemap".into());
    let want: i64 = std::env::var("ONEMAP_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
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
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM event")
        .fetch_one(&pool)
        .await?;
    let mut source = "existing rows".to_string();
    if have < want {
        eprintln!(
            "filling the event table with {} synthetic events (SQL)…",
            want - have
        );
        let t = Instant::now();
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT setseed(0.2026)")
            .execute(&mut *conn)
            .await?;
        sqlx::query(FILL_SQL)
            .bind(want - have)
            .bind(365.0f64)
            .execute(&mut *conn)
            .await?;
        sqlx::query("VACUUM ANALYZE event")
            .execute(&mut *conn)
            .await?;
        eprintln!("filled in {:.0} s", t.elapsed().as_secs_f64());
        source = "SQL generate_series fill (365 days)".into();
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM event")
        .fetch_one(&pool)
        .await?;
    let span: (String, String) =
        sqlx::query_as("SELECT min(reported_at)::text, max(reported_at)::text FROM event")
            .fetch_one(&pool)
            .await?;

    // The server, in its own process.
    let started = Instant::now();
    auth::install(&db).await?;
    let http = auth::client(Some(Duration::from_secs(300)))?;
    let server = serve(&bin, &db, &["--tile-cache-mb", "256"], &http).await?;
    let (base, ready) = (server.base.clone(), server.ready.clone());
    let startup = started.elapsed().as_secs_f64();
    let ev = &ready["events"];

    let from30: String = sqlx::query_scalar(
        "SELECT (((now() AT TIME ZONE 'Asia/Shanghai')::date - 29)::timestamp AT TIME ZONE 'Asia/Shanghai')::text",
    )
    .fetch_one(&pool)
    .await?;
    let from365: String = sqlx::query_scalar("SELECT (now() - interval '365 days')::text")
        .fetch_one(&pool)
        .await?;
    let in_window: i64 =
        sqlx::query_scalar("SELECT count(*) FROM event WHERE reported_at >= $1::timestamptz")
            .bind(&from30)
            .fetch_one(&pool)
            .await?;
    let mut table = Table(vec![
        "| answer | method | p50 ms | p99 ms | runs | note |".into(),
        "|---|---|---|---|---|---|".into(),
    ]);

    // Statistics.
    let get = |url: String| {
        let http = http.clone();
        async move {
            let r = http.get(url).send().await?;
            anyhow::ensure!(r.status().is_success(), "HTTP {}", r.status());
            Ok::<_, anyhow::Error>(r.bytes().await?)
        }
    };
    let (v, body) = time(40, |_| get(format!("{base}/api/stats/areas?level=village"))).await?;
    let body: Value = serde_json::from_slice(&body)?;
    table.row(
        "stats per village, 30 days",
        "onemap /api/stats/areas",
        &v,
        &format!(
            "{} villages, {} events",
            body["areas"].as_array().map_or(0, Vec::len),
            body["total"]["count"]
        ),
    );
    let (v, rows) = time(15, |_| {
        let pool = pool.clone();
        let from = from30.clone();
        async move {
            Ok(sqlx::query(SQL_STATS)
                .bind(from)
                .fetch_all(&pool)
                .await?
                .len())
        }
    })
    .await?;
    table.row(
        "stats per village, 30 days",
        "PostGIS GROUP BY village_code",
        &v,
        &format!("{rows} villages"),
    );

    // Event tiles at z10 over the city.
    let bbox: Vec<f64> =
        sqlx::query_scalar("SELECT area_bbox(ST_Extent(geom)::geometry) FROM area WHERE level = 1")
            .fetch_one(&pool)
            .await?;
    let z = 10u8;
    use onemap::tiles::tile_id::{TileId, tiles_covering, to_mercator};
    let (x0, y0) = to_mercator(bbox[0], bbox[1]);
    let (x1, y1) = to_mercator(bbox[2], bbox[3]);
    let ([c0, c1], [r0, r1]) = tiles_covering([x0, y0, x1, y1], z, 4096, 0)
        .ok_or_else(|| anyhow::anyhow!("no tiles cover the city"))?;
    let mut tiles: Vec<TileId> = Vec::new();
    for x in c0..=c1 {
        for y in r0..=r1 {
            tiles.push(TileId::new(z as u64, x as u64, y as u64)?);
        }
    }
    let from_base: chrono::DateTime<chrono::FixedOffset> =
        chrono::DateTime::parse_from_str(&from30, "%Y-%m-%d %H:%M:%S%#z")?;
    // Cold: each request a cache key never seen (the window start moved by 1 µs).
    let (v, _) = time(tiles.len() * 4, |i| {
        let t = tiles[i % tiles.len()];
        let from = (from_base + chrono::Duration::microseconds(i as i64 + 1))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            .replace('+', "%2B");
        get(format!(
            "{base}/tiles/events/{}/{}/{}.mvt?from={from}",
            t.z, t.x, t.y
        ))
    })
    .await?;
    table.row(
        &format!("event tiles z{z} ({} tiles)", tiles.len()),
        "onemap cold (rendered)",
        &v,
        "H3 res 7 counts",
    );
    for t in &tiles {
        get(format!("{base}/tiles/events/{}/{}/{}.mvt", t.z, t.x, t.y)).await?;
    }
    let (v, _) = time(tiles.len() * 10, |i| {
        let t = tiles[i % tiles.len()];
        get(format!("{base}/tiles/events/{}/{}/{}.mvt", t.z, t.x, t.y))
    })
    .await?;
    table.row(&format!("event tiles z{z}"), "onemap warm (cache)", &v, "");
    for (name, sql, size) in [
        ("PostGIS ST_AsMVT + ST_HexagonGrid", SQL_TILE_HEX, 1300.0f64),
        ("PostGIS ST_AsMVT + ST_SnapToGrid", SQL_TILE_SNAP, 2000.0f64),
    ] {
        let (v, _) = time(tiles.len() * 2, |i| {
            let t = tiles[i % tiles.len()];
            let pool = pool.clone();
            let from = from30.clone();
            async move {
                let b: Option<Vec<u8>> = sqlx::query_scalar(sql)
                    .bind(t.z as i32)
                    .bind(t.x as i32)
                    .bind(t.y as i32)
                    .bind(from)
                    .bind(size)
                    .fetch_one(&pool)
                    .await?;
                Ok(b.map_or(0, |b| b.len()))
            }
        })
        .await?;
        table.row(&format!("event tiles z{z}"), name, &v, "");
    }

    // Hotspots: a year of one category.
    let cat_n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event WHERE category = 'dispute' AND reported_at >= $1::timestamptz",
    )
    .bind(&from365)
    .fetch_one(&pool)
    .await?;
    let from365_q = chrono::DateTime::parse_from_str(&from365, "%Y-%m-%d %H:%M:%S%.f%#z")?
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
        .replace('+', "%2B");
    let (v, body) = time(10, |_| {
        get(format!(
            "{base}/api/hotspots?category=dispute&from={from365_q}&radius=100&min_count=10&limit=50"
        ))
    })
    .await?;
    let body: Value = serde_json::from_slice(&body)?;
    let ref_lat = body["projection"]["ref_lat"].as_f64().unwrap_or(25.4);
    table.row(
        "hotspots, 1 category, 365 days",
        "onemap /api/hotspots (DBSCAN + describe)",
        &v,
        &format!(
            "{cat_n} events, {} clusters, clustering {} ms",
            body["clusters"], body["cluster_ms"]
        ),
    );
    let (v, k) = time(3, |_| {
        let pool = pool.clone();
        let from = from365.clone();
        async move {
            Ok(sqlx::query_scalar::<_, i64>(SQL_DBSCAN)
                .bind(ref_lat)
                .bind(100.0f64)
                .bind(10i32)
                .bind("dispute")
                .bind(from)
                .fetch_one(&pool)
                .await?)
        }
    })
    .await?;
    table.row(
        "hotspots, 1 category, 365 days",
        "PostGIS ST_ClusterDBSCAN",
        &v,
        &format!("{k} clusters"),
    );

    // Live update: an insert by plain SQL, until the stats show it.
    let mut lags = Vec::new();
    let mut probes: Vec<i64> = Vec::new();
    for _ in 0..5 {
        let url = format!("{base}/readyz");
        let before: Value = http.get(&url).send().await?.json().await?;
        let n0 = before["events"]["events"].as_u64().unwrap_or(0);
        let t = Instant::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO event (category, source, geom, reported_at, assigned, deadline)
             VALUES ('traffic', 'patrol', ST_SetSRID(ST_MakePoint(119.0, 25.45), 4326), now(), false, now())
             RETURNING id",
        )
        .fetch_one(&pool)
        .await?;
        probes.push(id);
        loop {
            let r: Value = http.get(&url).send().await?.json().await?;
            if r["events"]["events"].as_u64().unwrap_or(0) > n0 {
                break;
            }
            anyhow::ensure!(t.elapsed() < Duration::from_secs(10), "insert never showed");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lags.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    table.row(
        "insert → visible in the view",
        "LISTEN/NOTIFY + upsert",
        &lags,
        "SQL INSERT to /readyz count",
    );

    drop(server);
    // The probes go again, so the next run finds exactly the events it was given.
    sqlx::query("DELETE FROM event WHERE id = ANY($1)")
        .bind(&probes)
        .execute(&pool)
        .await?;

    println!(
        "events: {total} ({source}), reported {} … {}; 30-day window: {in_window}",
        span.0, span.1
    );
    println!(
        "server start to ready: {startup:.1} s; event view: load {} ms, {} MiB, {} area codes",
        ev["load_ms"],
        ev["memory_bytes"].as_u64().unwrap_or(0) >> 20,
        ev["area_codes"]
    );
    println!();
    for l in &table.0 {
        println!("{l}");
    }
    Ok(())
}

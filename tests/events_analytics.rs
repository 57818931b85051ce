//! Event analytics against PostGIS: statistics equal the plain SQL GROUP BY, event tiles hold
//! the SQL count of their envelope (events exactly on tile edges and corners counted once at
//! every zoom), hotspots equal `ST_ClusterDBSCAN`, and the view follows inserts, updates,
//! deletes and TRUNCATE made by plain SQL.

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app};
use geozero::mvt::{Message, Tile};
use onemap::tiles::tile_id::TileId;
use serde_json::Value;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Inserts `n` synthetic events over the last `days` days, spread over the demo city's
/// grids (skewed towards some), with the chain codes of their grid.
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

async fn fill(app: &TestApp, n: i64, days: f64) {
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SELECT setseed(0.42)")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(FILL_SQL)
        .bind(n)
        .bind(days)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn event_count(app: &TestApp) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM event")
        .fetch_one(&app.pool)
        .await
        .unwrap() as usize
}

/// Waits until the view holds exactly what the table holds; returns how long it took.
async fn caught_up(app: &TestApp, generation_above: u64) -> Duration {
    let want = event_count(app).await;
    let started = Instant::now();
    loop {
        let s = app.analytics.stats();
        if s.events == want && s.generation > generation_above {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the view never caught up: {} of {want} events",
            s.events
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A filled demo database with a server whose view has loaded it.
async fn filled_app(n: i64) -> TestApp {
    let app = spawn_app(demo_db().await).await;
    let before = app.analytics.stats().generation;
    fill(&app, n, 60.0).await;
    caught_up(&app, before).await;
    app
}

type Row5 = (i64, i64, i64, i64, Option<f64>);

/// The SQL a GIS analyst would write: per-area figures over a window with filters.
async fn sql_by_area(
    app: &TestApp,
    column: &str,
    from: &str,
    to: &str,
    extra: &str,
) -> BTreeMap<String, Row5> {
    // The column name and the extra predicate are ours (constants in this file).
    let sql = format!(
        "SELECT {column} AS code, count(*) AS n,
                count(*) FILTER (WHERE status NOT IN ('closed', 'rejected')) AS open,
                count(*) FILTER (WHERE status = 'closed') AS closed,
                count(*) FILTER (WHERE status NOT IN ('closed', 'rejected') AND deadline < now()) AS overdue,
                avg(extract(epoch FROM closed_at - reported_at) / 3600)
                    FILTER (WHERE status = 'closed' AND closed_at IS NOT NULL)::float8 AS hours
           FROM event
          WHERE reported_at >= $1::timestamptz AND reported_at < $2::timestamptz
                AND {column} IS NOT NULL {extra}
          GROUP BY 1"
    );
    sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.get::<String, _>("code"),
                (
                    r.get("n"),
                    r.get("open"),
                    r.get("closed"),
                    r.get("overdue"),
                    r.get("hours"),
                ),
            )
        })
        .collect()
}

fn ours_by_area(body: &Value) -> BTreeMap<String, Row5> {
    body["areas"]
        .as_array()
        .unwrap_or_else(|| panic!("no areas in {body}"))
        .iter()
        .map(|a| {
            (
                a["code"].as_str().unwrap().to_string(),
                (
                    a["count"].as_i64().unwrap(),
                    a["open"].as_i64().unwrap(),
                    a["closed"].as_i64().unwrap(),
                    a["overdue"].as_i64().unwrap(),
                    a["avg_handling_hours"].as_f64(),
                ),
            )
        })
        .collect()
}

fn assert_same(ours: &BTreeMap<String, Row5>, sql: &BTreeMap<String, Row5>, what: &str) {
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        sql.keys().collect::<Vec<_>>(),
        "{what}: areas"
    );
    for (code, a) in ours {
        let b = &sql[code];
        assert_eq!((a.0, a.1, a.2, a.3), (b.0, b.1, b.2, b.3), "{what}: {code}");
        match (a.4, b.4) {
            (Some(x), Some(y)) => assert!((x - y).abs() < 0.006, "{what}: {code} hours {x} vs {y}"),
            (x, y) => assert_eq!(x.is_some(), y.is_some(), "{what}: {code} hours"),
        }
    }
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_equal_the_sql_group_by() {
    let app = filled_app(20_000).await;
    let (from, to) = ("2026-01-01T00:00:00+08:00", "2100-01-01T00:00:00+08:00");
    let recent_from = chrono::Utc::now() - chrono::Duration::days(20);
    let recent_from = recent_from.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let town: String =
        sqlx::query_scalar("SELECT town_code FROM event GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let cases: Vec<(&str, String, String, &str, String)> = vec![
        (
            "village_code",
            "level=village".into(),
            from.into(),
            "",
            String::new(),
        ),
        (
            "town_code",
            "level=town&category=dispute".into(),
            from.into(),
            "AND category = 'dispute'",
            String::new(),
        ),
        (
            "grid_code",
            "level=grid&source=12345热线".into(),
            recent_from.clone(),
            "AND source = 'hotline'",
            String::new(),
        ),
        (
            "district_code",
            "level=district&category=forest_fire,traffic".into(),
            from.into(),
            "AND category IN ('forest_fire', 'traffic')",
            String::new(),
        ),
        (
            "village_code",
            format!("level=village&parent={town}"),
            from.into(),
            "AND town_code = $3",
            town.clone(),
        ),
    ];
    for (column, q, f, extra, bind) in cases {
        let (status, body) = app
            .get_json(&format!(
                "/api/stats/areas?{q}&from={}&to={}",
                enc(&f),
                enc(to)
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let sql = if bind.is_empty() {
            sql_by_area(&app, column, &f, to, extra).await
        } else {
            // The parent case binds the town as $3.
            let sql = format!(
                "SELECT {column} AS code, count(*) AS n,
                        count(*) FILTER (WHERE status NOT IN ('closed', 'rejected')) AS open,
                        count(*) FILTER (WHERE status = 'closed') AS closed,
                        count(*) FILTER (WHERE status NOT IN ('closed', 'rejected') AND deadline < now()) AS overdue,
                        avg(extract(epoch FROM closed_at - reported_at) / 3600)
                            FILTER (WHERE status = 'closed' AND closed_at IS NOT NULL)::float8 AS hours
                   FROM event
                  WHERE reported_at >= $1::timestamptz AND reported_at < $2::timestamptz
                        AND {column} IS NOT NULL {extra}
                  GROUP BY 1"
            );
            sqlx::query(&sql)
                .bind(&f)
                .bind(to)
                .bind(&bind)
                .fetch_all(&app.pool)
                .await
                .unwrap()
                .into_iter()
                .map(|r| {
                    (
                        r.get::<String, _>("code"),
                        (
                            r.get("n"),
                            r.get("open"),
                            r.get("closed"),
                            r.get("overdue"),
                            r.get("hours"),
                        ),
                    )
                })
                .collect()
        };
        assert!(!sql.is_empty(), "{q}: the case should have data");
        assert_same(&ours_by_area(&body), &sql, &q);
        // Names come from the area table.
        assert!(
            body["areas"][0]["name"]
                .as_str()
                .is_some_and(|n| !n.is_empty()),
            "{body}"
        );
    }

    // The default window: the last 30 days in Asia/Shanghai, today included.
    let (_, body) = app.get_json("/api/stats/areas?level=district").await;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event WHERE reported_at >=
            ((now() AT TIME ZONE 'Asia/Shanghai')::date - 29)::timestamp AT TIME ZONE 'Asia/Shanghai'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(body["total"]["count"].as_i64(), Some(n), "{body}");

    // Trend: counts per Asia/Shanghai day.
    let (status, body) = app
        .get_json("/api/stats/trend?interval=day&category=dispute&from=2026-10-15&to=2026-11-20")
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = sqlx::query(
        "SELECT ((reported_at AT TIME ZONE 'Asia/Shanghai')::date)::text AS d, count(*) AS n,
                count(*) FILTER (WHERE status = 'closed') AS c
           FROM event
          WHERE category = 'dispute'
            AND reported_at >= '2026-10-15T00:00:00+08:00' AND reported_at < '2026-11-21T00:00:00+08:00'
          GROUP BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let sql: BTreeMap<String, (i64, i64)> = rows
        .iter()
        .map(|r| (r.get("d"), (r.get("n"), r.get("c"))))
        .collect();
    let buckets = body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 37, "one bucket per day, empty days included");
    for b in buckets {
        let d = b["start"].as_str().unwrap();
        let want = sql.get(d).copied().unwrap_or((0, 0));
        assert_eq!(
            (b["count"].as_i64().unwrap(), b["closed"].as_i64().unwrap()),
            want,
            "{d}"
        );
    }
    let (status, body) = app
        .get_json("/api/stats/trend?interval=week&from=2026-10-05&to=2026-11-29")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["buckets"][0]["start"], "2026-10-05",
        "weeks start on Monday"
    );
    assert_eq!(body["buckets"].as_array().unwrap().len(), 8);

    // Top: categories with zh names, in order of count, equal to SQL.
    let (status, body) = app
        .get_json(&format!(
            "/api/stats/top?level=town&limit=3&from={}",
            enc(from)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let sql_cats: Vec<(String, i64)> = sqlx::query(
        "SELECT category, count(*) AS n FROM event WHERE reported_at >= $1::timestamptz
          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
    )
    .bind(from)
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("category"), r.get("n")))
    .collect();
    let ours = code_counts(&body["categories"]);
    // Ties may order differently; counts must match position by position.
    assert_eq!(
        ours.iter().map(|c| c.1).collect::<Vec<_>>(),
        sql_cats.iter().map(|c| c.1).collect::<Vec<_>>()
    );
    assert!(body["categories"][0]["name"].as_str().is_some());
    assert_eq!(body["areas"].as_array().unwrap().len(), 3);
    // Every source with its count, equal to SQL (the big screen's sources chart).
    let sql_sources: std::collections::BTreeMap<String, i64> = sqlx::query(
        "SELECT source, count(*) AS n FROM event WHERE reported_at >= $1::timestamptz GROUP BY 1",
    )
    .bind(from)
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("source"), r.get("n")))
    .collect();
    let our_sources = code_counts(&body["sources"]);
    assert_eq!(
        our_sources
            .iter()
            .cloned()
            .collect::<std::collections::BTreeMap<_, _>>(),
        sql_sources
    );
    let counts: Vec<i64> = our_sources.iter().map(|c| c.1).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "sources most first: {counts:?}"
    );

    // Bad input: 4xx in our format.
    for (q, code) in [
        ("/api/stats/areas?level=planet", "invalid_level"),
        ("/api/stats/areas?category=food", "unknown_value"),
        ("/api/stats/areas?from=yesterday", "invalid_time"),
        (
            "/api/stats/areas?from=2026-11-02&to=2026-11-01",
            "invalid_window",
        ),
        ("/api/stats/trend?interval=month", "invalid_interval"),
        ("/api/stats/top?limit=0", "out_of_range"),
    ] {
        let (status, body) = app.get_json(q).await;
        assert_error(status, &body, 400, code);
    }
    let (status, body) = app.get_json("/api/stats/areas?parent=999999").await;
    assert_error(status, &body, 404, "unknown_area");
}

fn decode_tile(bytes: &[u8]) -> Vec<BTreeMap<String, Value>> {
    let tile = Tile::decode(bytes).unwrap();
    assert_eq!(tile.layers.len(), 1);
    let layer = &tile.layers[0];
    assert_eq!(layer.name, "events");
    layer
        .features
        .iter()
        .map(|f| {
            f.tags
                .chunks(2)
                .map(|kv| {
                    let v = &layer.values[kv[1] as usize];
                    let v = if let Some(s) = &v.string_value {
                        Value::from(s.clone())
                    } else {
                        Value::from(v.uint_value.unwrap())
                    };
                    (layer.keys[kv[0] as usize].clone(), v)
                })
                .collect()
        })
        .collect()
}

async fn tile_total(app: &TestApp, t: TileId, q: &str) -> (u64, usize) {
    let r = app
        .get(&format!("/tiles/events/{}/{}/{}.mvt?{q}", t.z, t.x, t.y))
        .await;
    if r.status() == 204 {
        return (0, 0);
    }
    assert_eq!(r.status(), 200);
    let feats = decode_tile(&r.bytes().await.unwrap());
    (
        feats.iter().map(|f| f["count"].as_u64().unwrap()).sum(),
        feats.len(),
    )
}

/// The events of a tile by SQL: half-open on the envelope in float8 metres (west and north
/// edges in). Not `&&`: it compares float4 boxes rounded outwards, so points up to a metre
/// outside the envelope count (seen at z14: 283 against the 280 really inside).
async fn sql_tile_count(app: &TestApp, t: TileId, extra: &str) -> u64 {
    let sql = format!(
        "SELECT count(*)
           FROM event, ST_TileEnvelope($1, $2, $3) AS env,
                LATERAL ST_Transform(geom, 3857) AS p
          WHERE ST_X(p) >= ST_XMin(env) AND ST_X(p) < ST_XMax(env)
            AND ST_Y(p) > ST_YMin(env) AND ST_Y(p) <= ST_YMax(env)
            AND reported_at >= ((now() AT TIME ZONE 'Asia/Shanghai')::date - 29)::timestamp
                               AT TIME ZONE 'Asia/Shanghai' {extra}"
    );
    sqlx::query_scalar::<_, i64>(&sql)
        .bind(t.z as i32)
        .bind(t.x as i32)
        .bind(t.y as i32)
        .fetch_one(&app.pool)
        .await
        .unwrap() as u64
}

fn tile_of(lon: f64, lat: f64, z: u8) -> TileId {
    TileId::containing(z, lon, lat).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_tiles_hold_the_sql_count_and_follow_changes() {
    let app = filled_app(20_000).await;
    let pts: Vec<(f64, f64)> = sqlx::query("SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM event")
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("x"), r.get("y")))
        .collect();
    for z in [8u8, 10, 12] {
        let tiles: BTreeSet<TileId> = pts.iter().map(|&(x, y)| tile_of(x, y, z)).collect();
        let mut sum = 0;
        for &t in tiles.iter().take(12) {
            let (ours, features) = tile_total(&app, t, "").await;
            let sql = sql_tile_count(&app, t, "").await;
            assert_eq!(ours, sql, "tile {t}");
            assert!(features as u64 <= ours);
            let (ours, _) = tile_total(&app, t, "category=dispute&status=open").await;
            let sql = sql_tile_count(
                &app,
                t,
                "AND category = 'dispute' AND status NOT IN ('closed', 'rejected')",
            )
            .await;
            assert_eq!(ours, sql, "filtered tile {t}");
            sum += ours;
        }
        assert!(sum > 0, "z{z}: some tiles hold events");
    }
    // z10 over the whole city aggregates: far fewer features than events.
    let t10: BTreeSet<TileId> = pts.iter().map(|&(x, y)| tile_of(x, y, 10)).collect();
    let (mut events, mut features) = (0, 0);
    for &t in &t10 {
        let (n, f) = tile_total(&app, t, "").await;
        events += n;
        features += f;
    }
    assert!(
        features * 5 < events as usize,
        "{features} features for {events} events"
    );

    // z15: single events with their properties.
    let (lon, lat) = pts[0];
    let t = tile_of(lon, lat, 15);
    let r = app
        .get(&format!("/tiles/events/{}/{}/{}", t.z, t.x, t.y))
        .await;
    assert_eq!(r.status(), 200);
    let feats = decode_tile(&r.bytes().await.unwrap());
    assert_eq!(feats.len() as u64, sql_tile_count(&app, t, "").await);
    for f in &feats {
        for k in ["id", "category", "status", "source", "reported_at", "count"] {
            assert!(f.contains_key(k), "{k} missing in {f:?}");
        }
        assert_eq!(f["count"], 1);
    }

    // A new event (plain SQL) shows in the view and in its tiles; so does a status change.
    let t10 = tile_of(120.5, 24.5, 10);
    let before = tile_total(&app, t10, "").await.0;
    let g = app.analytics.stats().generation;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO event (category, source, geom, reported_at, assigned, deadline, village_code)
         VALUES ('traffic', 'patrol', ST_SetSRID(ST_MakePoint(120.5, 24.5), 4326), now(), false,
                 now() + interval '1 day', NULL) RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let took = caught_up(&app, g).await;
    eprintln!("insert reflected in {took:?}");
    assert_eq!(tile_total(&app, t10, "").await.0, before + 1);
    let t16 = tile_of(120.5, 24.5, 16);
    let r = app
        .get(&format!(
            "/tiles/events/16/{}/{}?status=closed",
            t16.x, t16.y
        ))
        .await;
    assert_eq!(r.status(), 204, "nothing closed there yet");
    let g = app.analytics.stats().generation;
    sqlx::query("UPDATE event SET status = 'closed', closed_at = now() WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let took = caught_up(&app, g).await;
    eprintln!("update reflected in {took:?}");
    let r = app
        .get(&format!(
            "/tiles/events/16/{}/{}?status=closed",
            t16.x, t16.y
        ))
        .await;
    assert_eq!(r.status(), 200);
    let feats = decode_tile(&r.bytes().await.unwrap());
    assert_eq!(feats.len(), 1);
    assert_eq!(feats[0]["id"], id);
    assert_eq!(feats[0]["status"], "closed");

    // ETag revalidation.
    let r = app
        .get(&format!("/tiles/events/10/{}/{}", t10.x, t10.y))
        .await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = app
        .http
        .get(app.url(&format!("/tiles/events/10/{}/{}", t10.x, t10.y)))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // TileJSON.
    let (status, body) = app.get_json("/tiles/events?category=dispute").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tilejson"], "3.0.0");
    assert!(
        body["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/events/{z}/{x}/{y}.mvt?category=dispute")
    );

    // Bad addresses and filters.
    for (path, status, code) in [
        ("/tiles/events/17/0/0", 400, "zoom_out_of_range"),
        ("/tiles/events/10/x/0", 400, "invalid_tile"),
        ("/tiles/events/2/4/0", 400, "tile_out_of_range"),
        ("/tiles/events/10/0/0.png", 400, "unsupported_format"),
        ("/tiles/events/10/0/0?category=nope", 400, "unknown_value"),
        ("/tiles/events/10/0/0?status=done", 400, "unknown_value"),
        ("/tiles/events/10/0/0?from=2026-02-30", 400, "invalid_time"),
    ] {
        let (s, body) = app.get_json(path).await;
        assert_error(s, &body, status, code);
    }
}

/// `ST_ClusterDBSCAN` over the same projection as /api/hotspots: the clusters' ids.
async fn postgis_clusters(
    app: &TestApp,
    ref_lat: f64,
    eps: f64,
    min: i32,
    window: (&str, &str),
    category: &str,
) -> BTreeSet<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id, ST_ClusterDBSCAN(
                    ST_MakePoint(radians(ST_X(geom)) * 6378137 * cos(radians($1)),
                                 radians(ST_Y(geom)) * 6378137), $2, $3) OVER () AS k
           FROM event
          WHERE category = $4 AND reported_at >= $5::timestamptz AND reported_at < $6::timestamptz",
    )
    .bind(ref_lat)
    .bind(eps)
    .bind(min)
    .bind(category)
    .bind(window.0)
    .bind(window.1)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut by: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in rows {
        if let Some(k) = r.get::<Option<i32>, _>("k") {
            by.entry(k).or_default().push(r.get("id"));
        }
    }
    by.into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect()
}

/// The member ids of each hotspot in an answer with `members=true`.
fn hotspot_members(body: &Value) -> BTreeSet<Vec<i64>> {
    body["hotspots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        })
        .collect()
}

/// Three tight groups of forest fires in 2025 (12, 8 and 6 events, outside the filled window),
/// planted for the hotspot tests.
const FIRE_GROUPS: &str = "INSERT INTO event (category, source, geom, reported_at, assigned, deadline)
         SELECT 'forest_fire', 'patrol',
                ST_SetSRID(ST_MakePoint(c.lon + (random() - 0.5) * 0.0006,
                                        c.lat + (random() - 0.5) * 0.0006), 4326),
                '2025-03-01T00:00:00+08:00'::timestamptz + make_interval(hours => i),
                false, now()
           FROM (VALUES (118.90, 25.50, 12), (119.05, 25.45, 8), (119.10, 25.30, 6)) AS c(lon, lat, n),
                generate_series(1, c.n) i";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotspots_equal_st_cluster_dbscan() {
    let app = filled_app(20_000).await;
    // Planted: three tight groups of forest fires in 2025 (outside the filled window), plus
    // scattered ones that must stay noise.
    let g = app.analytics.stats().generation;
    sqlx::query(&format!(
        "{FIRE_GROUPS}
         UNION ALL
         SELECT 'forest_fire', 'hotline', ST_SetSRID(ST_MakePoint(118.8 + i * 0.01, 25.2), 4326),
                '2025-04-01T00:00:00+08:00'::timestamptz, false, now()
           FROM generate_series(1, 20) i"
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    caught_up(&app, g).await;
    let (status, body) = app
        .get_json("/api/hotspots?category=forest_fire&from=2025-01-01&to=2025-12-31&radius=100&min_count=5&members=true")
        .await;
    assert_eq!(status, 200, "{body}");
    let hs = body["hotspots"].as_array().unwrap();
    assert_eq!(
        hs.iter()
            .map(|h| h["count"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![12, 8, 6],
        "ranked by count"
    );
    assert_eq!(hs[0]["category_name"], "森林防火");
    assert!(hs[0]["area"]["assigned"].is_boolean(), "{}", hs[0]);
    assert!(
        hs[0]["first_reported_at"].as_str().unwrap() < hs[0]["last_reported_at"].as_str().unwrap()
    );

    let ref_lat = body["projection"]["ref_lat"].as_f64().unwrap();
    let sql = postgis_clusters(
        &app,
        ref_lat,
        100.0,
        5,
        ("2025-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00"),
        "forest_fire",
    )
    .await;
    assert_eq!(hotspot_members(&body), sql, "planted clusters");

    // The filled data: dense, irregular clusters. Border points next to two clusters may go
    // either way, so compare the clustered events and the number of clusters.
    for (cat, radius, min) in [("dispute", 150.0, 6), ("traffic", 80.0, 4)] {
        let from = "2026-01-01T00:00:00+08:00";
        let (status, body) = app
            .get_json(&format!(
                "/api/hotspots?category={cat}&from={}&radius={radius}&min_count={min}&members=true&limit=1000",
                enc(from)
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let ref_lat = body["projection"]["ref_lat"].as_f64().unwrap();
        let sql = postgis_clusters(
            &app,
            ref_lat,
            radius,
            min,
            (from, "2100-01-01T00:00:00Z"),
            cat,
        )
        .await;
        let ours = hotspot_members(&body);
        assert!(!sql.is_empty(), "{cat}: expected clusters");
        assert_eq!(ours.len(), sql.len(), "{cat}: number of clusters");
        let flat = |s: &BTreeSet<Vec<i64>>| s.iter().flatten().copied().collect::<BTreeSet<i64>>();
        assert_eq!(flat(&ours), flat(&sql), "{cat}: clustered events");
        assert_eq!(body["clusters"].as_u64().unwrap() as usize, ours.len());
    }

    for (q, code) in [
        ("/api/hotspots?radius=0", "out_of_range"),
        ("/api/hotspots?min_count=1", "out_of_range"),
        ("/api/hotspots?category=fire", "unknown_value"),
    ] {
        let (status, body) = app.get_json(q).await;
        assert_error(status, &body, 400, code);
    }
}

/// Inserts one event by plain SQL and returns its id.
async fn plant(app: &TestApp, lon: f64, lat: f64, at: &str, category: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO event (category, source, geom, reported_at, assigned, deadline)
         VALUES ($1, 'patrol', ST_SetSRID(ST_MakePoint($2, $3), 4326), $4::timestamptz, false,
                 $4::timestamptz + interval '1 day')
         RETURNING id",
    )
    .bind(category)
    .bind(lon)
    .bind(lat)
    .bind(at)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// The features of a tile (none for 204).
async fn tile_features(app: &TestApp, t: TileId, q: &str) -> Vec<BTreeMap<String, Value>> {
    let r = app
        .get(&format!("/tiles/events/{}/{}/{}.mvt?{q}", t.z, t.x, t.y))
        .await;
    if r.status() == 204 {
        return Vec::new();
    }
    assert_eq!(r.status(), 200, "tile {t}");
    decode_tile(&r.bytes().await.unwrap())
}

/// The two events of issue #15: on the edge between two z10 columns (and so between two
/// columns at every deeper zoom). Counted in both tiles, or in neither, before the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_edge_events_are_counted_once() {
    let app = spawn_app(demo_db().await).await;
    let g = app.analytics.stats().generation;
    let cases = [
        (119.1796875, "2019-03-03", 851u32),
        (118.4765625, "2019-03-04", 849),
    ];
    for (lon, day, _) in cases {
        plant(&app, lon, 25.3, &format!("{day}T12:00:00+08:00"), "other").await;
    }
    caught_up(&app, g).await;
    for (lon, day, x10) in cases {
        let q = format!("category=other&from={day}&to={day}");
        for z in 10..=16u8 {
            let x = x10 << (z - 10);
            let y = tile_of(lon, 25.3, z).y;
            if z == 10 {
                assert_eq!(y, 437);
            }
            let west = TileId::new(z as u64, x as u64 - 1, y as u64).unwrap();
            let east = TileId::new(z as u64, x as u64, y as u64).unwrap();
            let counts = (
                tile_total(&app, west, &q).await.0,
                tile_total(&app, east, &q).await.0,
            );
            assert_eq!(
                counts,
                (0, 1),
                "lon {lon} at z{z}: (west {west}, east {east})"
            );
        }
    }
}

/// Events planted exactly on the interior edges and the centre corner of a parent tile's four
/// children, at every zoom: each is counted in exactly one child (the one south-east of the
/// edge: west and north edges are in), and the children add up to the parent's SQL count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_tile_edges_are_counted_once_at_every_zoom() {
    let app = spawn_app(demo_db().await).await;
    // Putian's old town; at z1 the parent is the world and its centre (0°, 0°).
    let (lon0, lat0) = (119.0, 25.43);
    // Exact edges of the parent (the rule's edges: see `TileId::north_west_4326`).
    let edge_lat = |z: u8, y: u32| -> f64 {
        let n = (1u64 << z) as f64;
        if y as f64 >= n {
            return -onemap::tiles::tile_id::MAX_LAT;
        }
        TileId::new(z as u64, 0, y as u64)
            .unwrap()
            .north_west_4326()
            .1
    };
    let g = app.analytics.stats().generation;
    /// A zoom's parent tile and its planted events with the child each belongs to.
    struct Plan {
        z: u8,
        parent: TileId,
        ids: Vec<(i64, TileId)>,
    }
    let mut plan: Vec<Plan> = Vec::new();
    for z in 1..=16u8 {
        let parent = tile_of(lon0, lat0, z - 1);
        let child = |dx: u32, dy: u32| TileId {
            z,
            x: 2 * parent.x + dx,
            y: 2 * parent.y + dy,
        };
        // The centre corner: the exact west edge of the east children (x · 360 / 2^z − 180),
        // the first longitude of their column and the last latitude of the south children's
        // row as the rule sees them (see `TileId::north_west_4326`).
        let lon_x = (2 * parent.x + 1) as f64 * 360.0 / (1u64 << z) as f64 - 180.0;
        let (lon_r, lat_c) = child(1, 1).north_west_4326();
        let (lon_w, lat_n) = parent.north_west_4326();
        let lon_e = (parent.x + 1) as f64 * 360.0 / (1u64 << parent.z) as f64 - 180.0;
        let lat_s = edge_lat(parent.z, parent.y + 1);
        // The edge latitude as the inverse Mercator formula gives it (which side of the rule's
        // edge it falls on is the rule's to say; it must be counted once either way).
        let lat_f = (std::f64::consts::PI
            * (1.0 - 2.0 * (2 * parent.y + 1) as f64 / (1u64 << z) as f64))
            .sinh()
            .atan()
            .to_degrees();
        let points = [
            // The centre corner, and one bit north, west, north-west of it.
            (lon_x, lat_c, child(1, 1)),
            (lon_x, lat_c.next_up(), child(1, 0)),
            (lon_r.next_down(), lat_c, child(0, 1)),
            (lon_r.next_down(), lat_c.next_up(), child(0, 0)),
            // On the vertical edge, in the north and south halves.
            (lon_x, (lat_n + lat_c) / 2.0, child(1, 0)),
            (lon_x, (lat_c + lat_s) / 2.0, child(1, 1)),
            // On the horizontal edge, in the west and east halves.
            ((lon_w + lon_x) / 2.0, lat_c, child(0, 1)),
            ((lon_x + lon_e) / 2.0, lat_c, child(1, 1)),
            (lon_x, lat_f, tile_of(lon_x, lat_f, z)),
        ];
        let at = format!("{}T12:00:00+08:00", edge_day(z));
        let mut ids = Vec::new();
        for (lon, lat, c) in points {
            ids.push((plant(&app, lon, lat, &at, "forest_fire").await, c));
        }
        plan.push(Plan { z, parent, ids });
    }
    caught_up(&app, g).await;
    for Plan { z, parent, ids } in &plan {
        let day = edge_day(*z);
        let q = format!("category=forest_fire&from={day}&to={day}");
        let sql: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event
              WHERE ST_Contains(ST_TileEnvelope($1, $2, $3), ST_Transform(geom, 3857))
                AND category = 'forest_fire'
                AND reported_at >= $4::timestamptz AND reported_at < $4::timestamptz + interval '1 day'",
        )
        .bind(parent.z as i32)
        .bind(parent.x as i32)
        .bind(parent.y as i32)
        .bind(format!("{day}T00:00:00+08:00"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            sql,
            ids.len() as i64,
            "z{z}: the planted events are inside {parent}"
        );
        let mut sum = 0;
        let mut seen: BTreeMap<i64, Vec<TileId>> = BTreeMap::new();
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let c = TileId {
                z: *z,
                x: 2 * parent.x + dx,
                y: 2 * parent.y + dy,
            };
            let feats = tile_features(&app, c, &q).await;
            let count: u64 = feats.iter().map(|f| f["count"].as_u64().unwrap()).sum();
            let want = ids.iter().filter(|(_, t)| *t == c).count() as u64;
            assert_eq!(count, want, "z{z}: events in child {c}");
            sum += count;
            if *z > 13 {
                for f in &feats {
                    seen.entry(f["id"].as_i64().unwrap()).or_default().push(c);
                }
            }
        }
        assert_eq!(
            sum as i64, sql,
            "z{z}: the children of {parent} add up to it"
        );
        if *z > 13 {
            for (id, c) in ids {
                assert_eq!(seen.get(id), Some(&vec![*c]), "z{z}: event {id}");
            }
        }
    }
}

/// The Asia/Shanghai day the edge events of zoom `z` are planted on (a window nobody else uses).
fn edge_day(z: u8) -> String {
    format!("2019-04-{:02}", z + 1)
}

/// Waits until the view holds exactly the table's events, then checks that statistics, the
/// planted hotspots and the event tiles `tiles` agree with SQL again. Returns the wait.
async fn agrees_with_sql(app: &TestApp, generation_above: u64, tiles: &[TileId]) -> Duration {
    let took = caught_up(app, generation_above).await;
    let (from, to) = ("2000-01-01T00:00:00+08:00", "2100-01-01T00:00:00+08:00");
    let (status, body) = app
        .get_json(&format!(
            "/api/stats/areas?level=village&from={}&to={}",
            enc(from),
            enc(to)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let sql = sql_by_area(app, "village_code", from, to, "").await;
    assert_same(&ours_by_area(&body), &sql, "stats per village");
    assert_eq!(
        body["total"]["count"].as_u64(),
        Some(event_count(app).await as u64),
        "{}",
        body["total"]
    );
    let (status, body) = app
        .get_json("/api/hotspots?category=forest_fire&from=2025-01-01&to=2025-12-31&radius=100&min_count=5&members=true")
        .await;
    assert_eq!(status, 200, "{body}");
    let sql = postgis_clusters(
        app,
        body["projection"]["ref_lat"].as_f64().unwrap_or(25.4),
        100.0,
        5,
        ("2025-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00"),
        "forest_fire",
    )
    .await;
    assert_eq!(hotspot_members(&body), sql, "hotspots");
    for &t in tiles {
        assert_eq!(
            tile_total(app, t, "").await.0,
            sql_tile_count(app, t, "").await,
            "tile {t}"
        );
    }
    took
}

/// Deletes events by plain SQL, as a clean-up would: their log and repeat links first.
async fn delete_events(app: &TestApp, condition: &str, bind: &[i64]) -> u64 {
    let mut tx = app.pool.begin().await.unwrap();
    // The condition is ours (constants in this file); values are bound.
    for sql in [
        format!(
            "DELETE FROM event_transition WHERE event_id IN (SELECT id FROM event WHERE {condition})"
        ),
        format!(
            "UPDATE event SET duplicate_of = NULL WHERE duplicate_of IN (SELECT id FROM event WHERE {condition})"
        ),
    ] {
        sqlx::query(&sql)
            .bind(bind)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let n = sqlx::query(&format!("DELETE FROM event WHERE {condition}"))
        .bind(bind)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.commit().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_events_leave_statistics_hotspots_and_tiles() {
    let app = filled_app(20_000).await;
    // Three groups of forest fires in 2025 (12, 8 and 6 events) for the hotspots.
    let g = app.analytics.stats().generation;
    sqlx::query(FIRE_GROUPS).execute(&app.pool).await.unwrap();
    // Some events with a log and a repeat link, as the API writes them.
    sqlx::query(
        "INSERT INTO event_transition (event_id, from_status, to_status, actor)
         SELECT id, NULL, 'reported', 'test' FROM event WHERE id % 97 = 0",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE event SET duplicate_of = id - 1 WHERE id % 89 = 0")
        .execute(&app.pool)
        .await
        .unwrap();
    let pts: Vec<(f64, f64)> = sqlx::query("SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM event")
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("x"), r.get("y")))
        .collect();
    let mut tiles: BTreeSet<TileId> = pts.iter().map(|&(x, y)| tile_of(x, y, 10)).collect();
    tiles.extend(pts.iter().take(2000).map(|&(x, y)| tile_of(x, y, 14)));
    let tiles: Vec<TileId> = tiles.into_iter().collect();
    agrees_with_sql(&app, g, &tiles).await;
    let (_, body) = app
        .get_json("/api/hotspots?category=forest_fire&from=2025-01-01&to=2025-12-31&radius=100&min_count=5")
        .await;
    assert_eq!(body["clusters"], 3, "{body}");

    // 1. A few ids (≤ 400: one "deleted:…" notice): 5 of the 12-event hotspot (7 are
    //    still a hotspot), the 6-event one entirely (gone), and 40 filled events.
    let mut doomed: Vec<i64> = sqlx::query_scalar(
        "(SELECT id FROM event WHERE category = 'forest_fire' AND reported_at < '2026-01-01'
           AND ST_X(geom) < 118.95 ORDER BY id LIMIT 5)
         UNION ALL
         (SELECT id FROM event WHERE category = 'forest_fire' AND reported_at < '2026-01-01'
           AND ST_X(geom) > 119.07)
         UNION ALL
         (SELECT id FROM event WHERE reported_at > '2026-01-01' ORDER BY md5(id::text) LIMIT 40)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    doomed.sort_unstable();
    assert_eq!(doomed.len(), 51);
    let g = app.analytics.stats().generation;
    let n = delete_events(&app, "id = ANY($1)", &doomed).await;
    assert_eq!(n, 51);
    let took = agrees_with_sql(&app, g, &tiles).await;
    eprintln!("delete of {n} events by id reflected in {took:?}");
    let (_, body) = app
        .get_json("/api/hotspots?category=forest_fire&from=2025-01-01&to=2025-12-31&radius=100&min_count=5")
        .await;
    assert_eq!(
        body["hotspots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["count"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![8, 7]
    );

    // 2. A large batch over a range with gaps (> 400: one "deleted-range:lo:hi" notice whose
    //    range also spans events that stay, and ids deleted in step 1).
    let (lo, hi): (i64, i64) = sqlx::query_as("SELECT min(id), min(id) + 3000 FROM event")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let g = app.analytics.stats().generation;
    let before = event_count(&app).await;
    let n = delete_events(
        &app,
        "id BETWEEN ($1::bigint[])[1] AND ($1::bigint[])[2] AND id % 3 <> 0",
        &[lo, hi],
    )
    .await;
    assert!(n > 1500, "{n} deleted");
    let took = agrees_with_sql(&app, g, &tiles).await;
    eprintln!("delete of {n} events over a range with gaps reflected in {took:?}");
    assert_eq!(app.analytics.stats().events, before - n as usize);
    let kept = app.analytics.snapshot().ids_in(lo, hi);
    assert!(
        !kept.is_empty() && kept.iter().all(|id| id % 3 == 0),
        "the gaps stay"
    );

    // 3. Deleted and inserted again with the same id in one transaction: the new row stays.
    let id = kept[0];
    let g = app.analytics.stats().generation;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("CREATE TEMP TABLE moved ON COMMIT DROP AS SELECT * FROM event WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    for sql in [
        "DELETE FROM event_transition WHERE event_id = $1",
        "UPDATE event SET duplicate_of = NULL WHERE duplicate_of = $1",
        "DELETE FROM event WHERE id = $1",
        "UPDATE moved SET status = 'rejected', duplicate_of = NULL WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    }
    sqlx::query("INSERT INTO event OVERRIDING SYSTEM VALUE SELECT * FROM moved")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    agrees_with_sql(&app, g, &tiles).await;
    let (_, body) = app
        .get_json("/api/stats/areas?level=district&from=2000-01-01&status=rejected")
        .await;
    let sql: i64 = sqlx::query_scalar("SELECT count(*) FROM event WHERE status = 'rejected'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        body["total"]["count"].as_i64(),
        Some(sql),
        "{}",
        body["total"]
    );
    assert_eq!(app.analytics.snapshot().ids_in(id, id), vec![id]);

    // 4. TRUNCATE: a "reload"; the view is empty, tiles are 204, and it follows the table after.
    let t = tiles[0];
    assert!(tile_total(&app, t, "").await.1 > 0, "{t} had events");
    let g = app.analytics.stats().generation;
    sqlx::query("TRUNCATE event CASCADE")
        .execute(&app.pool)
        .await
        .unwrap();
    let took = agrees_with_sql(&app, g, &tiles).await;
    eprintln!("TRUNCATE reflected in {took:?}");
    assert_eq!(app.analytics.stats().events, 0);
    let r = app
        .get(&format!("/tiles/events/{}/{}/{}", t.z, t.x, t.y))
        .await;
    assert_eq!(r.status(), 204);
    let (_, body) = app.get_json("/api/stats/trend?interval=day").await;
    assert!(
        body["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["count"] == 0),
        "{body}"
    );
    let g = app.analytics.stats().generation;
    fill(&app, 500, 30.0).await;
    agrees_with_sql(&app, g, &tiles).await;
}

/// (code, count) of each row of a ranking in an answer, in its order.
fn code_counts(rows: &serde_json::Value) -> Vec<(String, i64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap().into(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

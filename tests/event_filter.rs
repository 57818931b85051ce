//! One event filter, one count (issue #9): with demo events loaded, every event endpoint —
//! the list (paged with its cursor), the CSV export, `/api/stats/areas` (its total),
//! `/api/stats/trend` (the sum of its days) and the event tiles (the `count`s of the tiles
//! covering every event at a low zoom) — gives the count of plain SQL written here as the
//! oracle, for the same query string. A bare date in `to` takes its whole Beijing day
//! everywhere (before, the list and its CSV stopped at its midnight).

mod common;

use common::{TestApp, demo_db, spawn_app};
use geozero::mvt::{Message, Tile};
use onemap::tiles::tile_id::TileId;
use std::collections::BTreeSet;

/// Demo events: 90 days up to 2026-11-30 (Beijing), fixed seed.
async fn demo_app() -> TestApp {
    let app = spawn_app(demo_db().await).await;
    let until = chrono::DateTime::parse_from_rfc3339("2026-11-30T00:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    onemap::cli::import::demo_events(
        &app.store,
        onemap::events::demo::DemoEventParams {
            seed: 909,
            count: 20_000,
            until,
            days: 90,
        },
        onemap::cli::import::Existing::Append,
    )
    .await
    .unwrap();
    // The view holds exactly the table (loaded again rather than waiting for the notices).
    app.analytics.reload().await.unwrap();
    let want = sql_count(&app, "true").await as usize;
    assert!(want > 15_000, "{want} demo events");
    assert_eq!(app.analytics.stats().events, want);
    app
}

/// The oracle: events matching a WHERE clause of this file.
async fn sql_count(app: &TestApp, where_: &str) -> u64 {
    sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM event WHERE {where_}"))
        .fetch_one(&app.pool)
        .await
        .unwrap() as u64
}

/// `/api/events`, every page through the cursor: the number of distinct events.
async fn list_count(app: &TestApp, q: &str) -> u64 {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/events?limit=1000&{q}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, page) = app.get_json(&path).await;
        assert_eq!(s, 200, "{path}: {page}");
        for e in page["events"].as_array().unwrap() {
            assert!(ids.insert(e["id"].as_i64().unwrap()), "{q}: an event twice");
        }
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => return ids.len() as u64,
        }
    }
}

/// `/api/events.csv`: data rows.
async fn csv_count(app: &TestApp, q: &str) -> u64 {
    let r = app.get(&format!("/api/events.csv?{q}")).await;
    assert_eq!(r.status(), 200, "csv {q}");
    let bytes = r.bytes().await.unwrap();
    let mut rd = csv::Reader::from_reader(&bytes[3..]);
    let ids: Vec<i64> = rd
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "csv {q}: an event twice");
    ids.len() as u64
}

/// `/api/stats/areas`: the total (the area is named `parent` there).
async fn areas_total(app: &TestApp, q: &str) -> u64 {
    let q = q.replace("area=", "parent=");
    let (s, body) = app
        .get_json(&format!("/api/stats/areas?level=district&{q}"))
        .await;
    assert_eq!(s, 200, "stats {q}: {body}");
    body["total"]["count"].as_u64().unwrap()
}

/// `/api/stats/trend`: the sum of its days.
async fn trend_sum(app: &TestApp, q: &str) -> u64 {
    let (s, body) = app
        .get_json(&format!("/api/stats/trend?interval=day&{q}"))
        .await;
    assert_eq!(s, 200, "trend {q}: {body}");
    let days: u64 = body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(body["total"].as_u64(), Some(days), "trend {q}");
    days
}

/// The event tiles at `z` over `tiles`: the sum of the `count` of every feature.
async fn tiles_sum(app: &TestApp, tiles: &[TileId], q: &str) -> u64 {
    let mut sum = 0;
    for t in tiles {
        let r = app
            .get(&format!("/tiles/events/{}/{}/{}.mvt?{q}", t.z, t.x, t.y))
            .await;
        if r.status() == 204 {
            continue;
        }
        assert_eq!(r.status(), 200, "tile {t} {q}");
        let tile = Tile::decode(r.bytes().await.unwrap().as_ref()).unwrap();
        for layer in &tile.layers {
            let count = layer.keys.iter().position(|k| k == "count").unwrap() as u32;
            for f in &layer.features {
                let v = f
                    .tags
                    .chunks(2)
                    .find(|kv| kv[0] == count)
                    .map(|kv| layer.values[kv[1] as usize].uint_value.unwrap())
                    .unwrap();
                sum += v;
            }
        }
    }
    sum
}

/// The tiles at zoom `z` covering every event.
async fn covering_tiles(app: &TestApp, z: u8) -> Vec<TileId> {
    let (w, s, e, n): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT min(ST_X(geom)), min(ST_Y(geom)), max(ST_X(geom)), max(ST_Y(geom)) FROM event",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let nw = TileId::containing(z, w, n).unwrap();
    let se = TileId::containing(z, e, s).unwrap();
    let mut out = Vec::new();
    for x in nw.x..=se.x {
        for y in nw.y..=se.y {
            out.push(TileId { z, x, y });
        }
    }
    out
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_filter_gives_one_count_on_every_endpoint() {
    let app = demo_app().await;
    let tiles = covering_tiles(&app, 8).await;
    assert!(
        !tiles.is_empty() && tiles.len() <= 16,
        "{} tiles",
        tiles.len()
    );
    let code = |sql: &'static str| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_one(&app.pool)
                .await
                .unwrap()
        }
    };
    let district = code(
        "SELECT district_code FROM event WHERE district_code IS NOT NULL
          GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .await;
    let village = code(
        "SELECT village_code FROM event WHERE village_code IS NOT NULL
          GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .await;
    let city = code("SELECT code FROM area WHERE level = 0").await;
    let beijing = |d: &str| format!("'{d}T00:00:00+08:00'::timestamptz");
    let open = "status NOT IN ('closed', 'rejected')";
    let cases: Vec<(String, String)> = vec![
        // The case: bare dates, `to` the whole day (three days).
        (
            "category=dispute&from=2026-10-15&to=2026-10-17".into(),
            format!(
                "category = 'dispute' AND reported_at >= {} AND reported_at < {}",
                beijing("2026-10-15"),
                beijing("2026-10-18")
            ),
        ),
        // One bare day.
        (
            "from=2026-11-01&to=2026-11-01".into(),
            format!(
                "reported_at >= {} AND reported_at < {}",
                beijing("2026-11-01"),
                beijing("2026-11-02")
            ),
        ),
        // RFC 3339 with offsets, taken as written.
        (
            format!(
                "from={}&to={}",
                enc("2026-10-01T06:30:00+08:00"),
                enc("2026-10-20T12:00:00Z")
            ),
            "reported_at >= '2026-09-30T22:30:00Z' AND reported_at < '2026-10-20T12:00:00Z'".into(),
        ),
        // A category list of codes and labels.
        (
            "category=traffic,食品安全&from=2026-09-01&to=2026-11-30".into(),
            format!(
                "category IN ('traffic', 'food_safety') AND reported_at >= {} AND reported_at < {}",
                beijing("2026-09-01"),
                beijing("2026-12-01")
            ),
        ),
        // Every open status; no end.
        (
            "status=open&from=2026-10-01".into(),
            format!("{open} AND reported_at >= {}", beijing("2026-10-01")),
        ),
        // An area at district level, at village level, and the city (every event with a chain).
        (
            format!("area={district}&from=2026-10-01&to=2026-10-31"),
            format!(
                "district_code = '{district}' AND reported_at >= {} AND reported_at < {}",
                beijing("2026-10-01"),
                beijing("2026-11-01")
            ),
        ),
        (
            format!("area={village}&from=2026-09-01"),
            format!(
                "village_code = '{village}' AND reported_at >= {}",
                beijing("2026-09-01")
            ),
        ),
        (
            format!("area={city}&from=2026-11-15&to=2026-11-21"),
            format!(
                "district_code IS NOT NULL AND reported_at >= {} AND reported_at < {}",
                beijing("2026-11-15"),
                beijing("2026-11-22")
            ),
        ),
        // Combined.
        (
            format!(
                "category=dispute,traffic,city_management&status=open&source=hotline,grid_worker,网格员&area={district}&from=2026-10-10&to={}",
                enc("2026-11-20T00:00:00+08:00")
            ),
            format!(
                "category IN ('dispute', 'traffic', 'city_management') AND {open}
                 AND source IN ('hotline', 'grid_worker') AND district_code = '{district}'
                 AND reported_at >= {} AND reported_at < {}",
                beijing("2026-10-10"),
                beijing("2026-11-20")
            ),
        ),
    ];
    for (q, where_) in &cases {
        let want = sql_count(&app, where_).await;
        assert!(want > 0, "the case {q} should match something");
        let got = [
            ("list", list_count(&app, q).await),
            ("csv", csv_count(&app, q).await),
            ("stats/areas", areas_total(&app, q).await),
            ("stats/trend", trend_sum(&app, q).await),
            ("tiles", tiles_sum(&app, &tiles, q).await),
        ];
        for (what, n) in got {
            assert_eq!(n, want, "{what} for {q} (SQL: {want})");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_refused_alike_with_each_endpoints_code() {
    let app = spawn_app(demo_db().await).await;
    for (q, list_code, stats_code) in [
        ("from=2026-13-01", "invalid_time", "invalid_time"),
        ("to=yesterday", "invalid_time", "invalid_time"),
        (
            "from=2026-11-02&to=2026-11-01",
            "invalid_time",
            "invalid_window",
        ),
        ("category=fire", "unknown_category", "unknown_value"),
        ("status=done", "unknown_status", "unknown_value"),
        ("source=email", "unknown_source", "unknown_value"),
    ] {
        for path in ["/api/events", "/api/events.csv"] {
            let (s, body) = app.get_json(&format!("{path}?{q}")).await;
            common::assert_error(s, &body, 400, list_code);
        }
        for path in [
            "/api/stats/areas",
            "/api/stats/top",
            "/api/stats/trend",
            "/api/hotspots",
            "/tiles/events/8/213/110",
        ] {
            let (s, body) = app.get_json(&format!("{path}?{q}")).await;
            common::assert_error(s, &body, 400, stats_code);
        }
    }
    // An unknown area: 400 on the list (as always), 404 on the analytics endpoints.
    let (s, body) = app.get_json("/api/events?area=nowhere").await;
    common::assert_error(s, &body, 400, "unknown_area");
    let (s, body) = app.get_json("/api/stats/areas?parent=nowhere").await;
    common::assert_error(s, &body, 404, "unknown_area");
    let (s, body) = app.get_json("/api/stats/trend?area=nowhere").await;
    common::assert_error(s, &body, 404, "unknown_area");
}

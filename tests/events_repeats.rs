//! Repeat detection against PostGIS as the oracle: the ingest reads the open originals once per
//! batch and links in memory; the answer must be the one the per-report SQL probe gives on the
//! same stored state (`ST_DistanceSphere` within the category's radius and window, nearest
//! first, then earliest, then lowest id), including reports placed on the edge of a radius.

mod common;

use common::{TestApp, demo_db, spawn_app};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const CATEGORIES: [&str; 4] = ["dispute", "traffic", "environment", "forest_fire"];

/// The original a report repeats, by the SQL probe the ingest used to run per report.
async fn oracle(app: &TestApp, category: &str, lon: f64, lat: f64, at: &str) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT e.id FROM event e JOIN event_category c ON c.code = e.category
          WHERE e.status NOT IN ('closed', 'rejected') AND e.duplicate_of IS NULL
            AND e.category = $1 AND c.repeat_radius_m > 0 AND c.repeat_window_h > 0
            AND ST_DistanceSphere(e.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) <= c.repeat_radius_m
            AND e.reported_at <= $4::timestamptz
            AND e.reported_at >= $4::timestamptz - make_interval(secs => c.repeat_window_h * 3600.0)
          ORDER BY ST_DistanceSphere(e.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)),
                   e.reported_at, e.id
          LIMIT 1",
    )
    .bind(category)
    .bind(lon)
    .bind(lat)
    .bind(at)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_distance_is_postgis_st_distance_sphere() {
    let app = spawn_app(demo_db().await).await;
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let pairs: Vec<[f64; 4]> = (0..5_000)
        .map(|_| {
            let (lon, lat) = (rng.random_range(118.6..119.4), rng.random_range(25.0..25.7));
            let d = rng.random_range(0.0..0.01);
            let a = rng.random_range(0.0..std::f64::consts::TAU);
            [lon, lat, lon + d * a.cos(), lat + d * a.sin()]
        })
        .collect();
    let col = |k: usize| pairs.iter().map(|p| p[k]).collect::<Vec<f64>>();
    let want: Vec<f64> = sqlx::query_scalar(
        "SELECT ST_DistanceSphere(ST_SetSRID(ST_MakePoint(a, b), 4326),
                                  ST_SetSRID(ST_MakePoint(c, d), 4326))
           FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[])
                WITH ORDINALITY AS p(a, b, c, d, i) ORDER BY i",
    )
    .bind(col(0))
    .bind(col(1))
    .bind(col(2))
    .bind(col(3))
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut worst = 0.0_f64;
    for (p, w) in pairs.iter().zip(&want) {
        let got = onemap::geom::metric::sphere_distance_m(p[0], p[1], p[2], p[3]);
        worst = worst.max((got - w).abs());
    }
    assert_eq!(worst, 0.0, "largest difference from PostGIS: {worst} m");
}

#[tokio::test]
async fn reports_link_to_the_original_the_sql_probe_finds() {
    let app = spawn_app(demo_db().await).await;
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    // A neighbourhood's history: 3,000 events in a 4 km box over the last ten days, most open,
    // some closed, some of them repeats themselves.
    let (lon0, lat0) = (119.0, 25.43);
    let now = chrono::Utc::now();
    let mut lons = Vec::new();
    let mut lats = Vec::new();
    let mut cats = Vec::new();
    let mut ats = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..3_000 {
        lons.push(lon0 + rng.random_range(-0.02..0.02));
        lats.push(lat0 + rng.random_range(-0.02..0.02));
        cats.push(CATEGORIES[rng.random_range(0..CATEGORIES.len())]);
        ats.push(now - chrono::Duration::seconds(rng.random_range(3_600..10 * 86_400)));
        statuses.push(
            ["reported", "in_progress", "closed", "rejected", "accepted"][rng.random_range(0..5)],
        );
    }
    sqlx::query(
        "INSERT INTO event (category, source, geom, reported_at, assigned, status, deadline)
         SELECT c, 'patrol', ST_SetSRID(ST_MakePoint(x, y), 4326), t, false, s, t + interval '3 days'
           FROM unnest($1::float8[], $2::float8[], $3::text[], $4::timestamptz[], $5::text[])
                AS u(x, y, c, t, s)",
    )
    .bind(&lons)
    .bind(&lats)
    .bind(&cats)
    .bind(&ats)
    .bind(&statuses)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE event SET duplicate_of = (SELECT min(id) FROM event)
          WHERE id % 7 = 0 AND id <> (SELECT min(id) FROM event)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let stored: Vec<(f64, f64, String, f32)> = sqlx::query_as(
        "SELECT ST_X(e.geom), ST_Y(e.geom), e.category, c.repeat_radius_m FROM event e
           JOIN event_category c ON c.code = e.category
          WHERE e.status NOT IN ('closed', 'rejected') AND e.duplicate_of IS NULL",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();

    // Reports one at a time, so each sees the ones before it as stored: near a stored event,
    // and every fourth exactly on the edge of its category's radius (due north, by the
    // sphere's arc), where a distance computed differently would link differently.
    let sphere_r = (2.0 * 6_378_137.0 + 6_356_752.314_245_179) / 3.0;
    let (mut linked, mut edge_cases) = (0, 0);
    for k in 0..400 {
        let (x, y, category, radius) = &stored[rng.random_range(0..stored.len())];
        let category = if k % 5 == 4 {
            CATEGORIES[rng.random_range(0..CATEGORIES.len())].to_string()
        } else {
            category.clone()
        };
        let (lon, lat) = if k % 4 == 0 {
            edge_cases += 1;
            (*x, y + (*radius as f64 / sphere_r).to_degrees())
        } else {
            let d = rng.random_range(0.0..0.006);
            let a = rng.random_range(0.0..std::f64::consts::TAU);
            (x + d * a.cos(), y + d * a.sin())
        };
        let at = (now - chrono::Duration::seconds(rng.random_range(0..3_600))).to_rfc3339();
        let want = oracle(&app, &category, lon, lat, &at).await;
        let r = app
            .http
            .post(app.url("/api/events"))
            .json(&json!({"category": category, "source": "grid_worker",
                          "lon": lon, "lat": lat, "reported_at": at}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let b: Value = r.json().await.unwrap();
        assert_eq!(
            b["repeat_of"].as_i64(),
            want,
            "report {k} ({category} at {lon},{lat}, {at}): {b}"
        );
        linked += want.is_some() as usize;
    }
    assert!(
        linked > 100 && linked < 380,
        "the sample must mix repeats and originals: {linked} of 400 linked"
    );
    assert_eq!(edge_cases, 100);

    // The same in one batch of reports far apart (no in-batch links): every row's link is the
    // SQL probe's on the state before the batch.
    let mut batch = Vec::new();
    let mut wants = Vec::new();
    for k in 0..60 {
        let (x, y, category, _) = &stored[(k * 37) % stored.len()];
        let (lon, lat) = (x + 0.0001, *y);
        let at = (now - chrono::Duration::seconds(60 + k as i64)).to_rfc3339();
        wants.push(oracle(&app, category, lon, lat, &at).await);
        batch.push(
            json!({"category": category, "source": "hotline", "lon": lon, "lat": lat,
                          "reported_at": at}),
        );
    }
    let r = app
        .http
        .post(app.url("/api/events"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    for (k, want) in wants.iter().enumerate() {
        let got = b["events"][k]["repeat_of"].as_i64();
        // A row may instead repeat an earlier row of the batch only if no stored one matched.
        match want {
            Some(_) => assert_eq!(got, *want, "batch row {k}: {}", b["events"][k]),
            None => {
                if let Some(id) = got {
                    let in_batch = b["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["id"].as_i64() == Some(id));
                    assert!(
                        in_batch,
                        "batch row {k} linked to stored {id}, SQL found none"
                    );
                }
            }
        }
    }
}

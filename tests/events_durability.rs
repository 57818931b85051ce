//! 201 means committed: clients stream reports (single objects and small batches) to a real
//! `onemap serve`, the server is SIGKILLed mid-stream and restarted, and every acknowledged
//! event is there (by id and by client id); a batch whose answer never arrived is either
//! wholly stored or wholly absent.

mod common;

use common::demo_db;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client signed in as a city administrator of the database at `url`.
async fn authed_client(url: &str) -> reqwest::Client {
    let token = common::admin_token_at(url).await;
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(h)
        .build()
        .unwrap()
}

fn start_server(database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["serve", "--addr", "127.0.0.1:0", "--tile-cache-mb", "0"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "onemap=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start onemap serve");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "first line: {line}");
    Server { child, base }
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server {base} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the clients saw: acknowledged (id, client id) pairs, and batches sent without answer.
#[derive(Default)]
struct Ledger {
    acked: Vec<(i64, String)>,
    unanswered: Vec<Vec<String>>,
}

#[tokio::test]
async fn every_acknowledged_report_survives_a_server_kill() {
    let db = demo_db().await;
    let store = sqlx::PgPool::connect(&db.url).await.unwrap();
    let pts: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM area
          WHERE level = 5 ORDER BY code LIMIT 200) s",
    )
    .fetch_all(&store)
    .await
    .unwrap();
    let pts = Arc::new(pts);
    let mut server = start_server(&db.url);
    let http = authed_client(&db.url).await;
    wait_ready(&http, &server.base).await;

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut clients = Vec::new();
    for c in 0..3usize {
        let (http, base, ledger, pts) = (
            http.clone(),
            server.base.clone(),
            ledger.clone(),
            pts.clone(),
        );
        clients.push(tokio::spawn(async move {
            for n in 0usize.. {
                // Client 0 sends single objects, the others batches of 1 to 8.
                let size = if c == 0 { 1 } else { 1 + n % 8 };
                let rows: Vec<Value> = (0..size)
                    .map(|k| {
                        let (x, y) = pts[(n * 7 + k * 13 + c) % pts.len()];
                        json!({"id": format!("dur-{c}-{n}-{k}"), "category": "dispute",
                               "source": "hotline", "lon": x, "lat": y})
                    })
                    .collect();
                let cids: Vec<String> = rows
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_string())
                    .collect();
                let body = if c == 0 { rows[0].clone() } else { json!(rows) };
                let answer = http
                    .post(format!("{base}/api/events"))
                    .json(&body)
                    .send()
                    .await;
                let ok = match answer {
                    Ok(r) if r.status() == 201 => r.json::<Value>().await.ok(),
                    _ => None,
                };
                let mut l = ledger.lock().unwrap();
                match ok {
                    Some(v) if c == 0 => l.acked.push((v["id"].as_i64().unwrap(), cids[0].clone())),
                    Some(v) => {
                        for (e, cid) in v["events"].as_array().unwrap().iter().zip(&cids) {
                            assert_eq!(e["client_id"].as_str(), Some(cid.as_str()));
                            l.acked.push((e["id"].as_i64().unwrap(), cid.clone()));
                        }
                    }
                    None => {
                        // The server is gone: this request's fate is unknown; stop.
                        l.unanswered.push(cids);
                        return;
                    }
                }
            }
        }));
    }
    // Let the clients get going, then kill the server without warning (SIGKILL).
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if ledger.lock().unwrap().acked.len() >= 300 {
            break;
        }
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    assert!(ledger.acked.len() >= 300);

    // Restart on the same database; every acknowledged event is there, by id and client id.
    let server = start_server(&db.url);
    wait_ready(&http, &server.base).await;
    let ids: Vec<i64> = ledger.acked.iter().map(|a| a.0).collect();
    let stored: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, client_id FROM event WHERE id = ANY($1) ORDER BY id")
            .bind(&ids)
            .fetch_all(&store)
            .await
            .unwrap();
    let mut want = ledger.acked.clone();
    want.sort();
    assert_eq!(stored, want, "every acknowledged event was committed");
    for (id, cid) in ledger.acked.iter().step_by(25) {
        let r = http
            .get(format!("{}/api/events/{id}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["client_id"], cid.as_str());
        assert_eq!(v["transitions"][0]["to"], "reported");
    }
    // A request that was in flight is all or nothing; resending it creates nothing twice.
    for cids in &ledger.unanswered {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM event WHERE client_id = ANY($1)")
            .bind(cids)
            .fetch_one(&store)
            .await
            .unwrap();
        assert!(
            n == 0 || n == cids.len() as i64,
            "partial batch: {n} of {}",
            cids.len()
        );
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM event")
        .fetch_one(&store)
        .await
        .unwrap();
    let log: i64 = sqlx::query_scalar("SELECT count(*) FROM event_transition")
        .fetch_one(&store)
        .await
        .unwrap();
    assert_eq!(total, log, "each event has its first transition");
    eprintln!(
        "acknowledged {} events before the kill; {} requests in flight; {} stored",
        ledger.acked.len(),
        ledger.unanswered.len(),
        total
    );
}

/// The same for sensor readings (issue #12): a client streams batches of readings, the server
/// is SIGKILLed, and every reading of an answered batch is stored.
#[tokio::test]
async fn every_acknowledged_sensor_reading_survives_a_server_kill() {
    let db = demo_db().await;
    {
        let store = onemap::store::Store::connect(&db.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        onemap::cli::fire::demo_assets(&store, 3503, false)
            .await
            .unwrap();
        store.close().await;
    }
    let store = sqlx::PgPool::connect(&db.url).await.unwrap();
    let sensors: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM asset WHERE kind = 'sensor' ORDER BY id")
            .fetch_all(&store)
            .await
            .unwrap();
    assert!(sensors.len() > 10);
    let mut server = start_server(&db.url);
    let http = authed_client(&db.url).await;
    wait_ready(&http, &server.base).await;
    let acked = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    let client = {
        let (http, base, acked, sensors) = (
            http.clone(),
            server.base.clone(),
            acked.clone(),
            sensors.clone(),
        );
        tokio::spawn(async move {
            let t0 = chrono::Utc::now().timestamp_millis() - 3_600_000;
            for n in 0i64.. {
                // 200 readings per batch, each (sensor, time) new.
                let rows: Vec<(i64, i64)> = (0..200)
                    .map(|k| {
                        (
                            sensors[(k as usize) % sensors.len()],
                            t0 + n * 1000 + k / 50,
                        )
                    })
                    .collect();
                let body: Vec<Value> = rows
                    .iter()
                    .map(|(s, ms)| {
                        let at = chrono::DateTime::from_timestamp_millis(*ms).unwrap();
                        json!({"sensor": s, "at": at.to_rfc3339(), "value": 20.0})
                    })
                    .collect();
                let r = http
                    .post(format!("{base}/api/sensors/readings"))
                    .json(&body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        let v: Value = r.json().await.unwrap_or_default();
                        assert_eq!(v["refused"], 0, "{v}");
                        acked.lock().unwrap().extend(rows);
                    }
                    _ => return,
                }
            }
        })
    };
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acked.lock().unwrap().len() >= 4000 {
            break;
        }
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    client.await.unwrap();
    let mut acked = Arc::try_unwrap(acked).unwrap().into_inner().unwrap();
    acked.sort_unstable();
    acked.dedup();
    let (ids, ms): (Vec<i64>, Vec<i64>) = acked.iter().copied().unzip();
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sensor_reading r
           JOIN unnest($1::bigint[], $2::bigint[]) AS a(sensor_id, ms)
             ON r.sensor_id = a.sensor_id AND r.at = to_timestamp(a.ms / 1000.0)",
    )
    .bind(&ids)
    .bind(&ms)
    .fetch_one(&store)
    .await
    .unwrap();
    assert_eq!(
        found,
        acked.len() as i64,
        "every acknowledged reading was committed"
    );
}

/// The same for vessel positions (issue #11): a client streams batches of positions, the
/// server is SIGKILLed, and every position of an answered batch is stored.
#[tokio::test]
async fn every_acknowledged_vessel_position_survives_a_server_kill() {
    let db = demo_db().await;
    {
        let store = onemap::store::Store::connect(&db.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        onemap::cli::vessels::demo_vessels(&store, 3503, false)
            .await
            .unwrap();
        store.close().await;
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut server = start_server(&db.url);
    let http = authed_client(&db.url).await;
    wait_ready(&http, &server.base).await;
    let acked = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    let client = {
        let (http, base, acked) = (http.clone(), server.base.clone(), acked.clone());
        tokio::spawn(async move {
            let t0 = chrono::Utc::now().timestamp_millis() - 3_600_000;
            for n in 0i64.. {
                // 500 positions per batch: 500 boats (some unknown, registered on sight), each
                // a step further east.
                let rows: Vec<(i64, i64)> = (0..500)
                    .map(|k| (412_410_001 + k * 3, t0 + n * 1000))
                    .collect();
                let body: Vec<Value> = rows
                    .iter()
                    .map(|(m, ms)| {
                        let at = chrono::DateTime::from_timestamp_millis(*ms).unwrap();
                        json!({"mmsi": m, "time": at.to_rfc3339(), "lon": 119.4 + *ms as f64 % 1e6 * 1e-8,
                               "lat": 25.1 + (*m % 1000) as f64 * 1e-4, "speed": 5.0})
                    })
                    .collect();
                let r = http
                    .post(format!("{base}/api/vessels/positions"))
                    .json(&body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        let v: Value = r.json().await.unwrap_or_default();
                        assert_eq!(v["refused"], 0, "{v}");
                        acked.lock().unwrap().extend(rows);
                    }
                    _ => return,
                }
            }
        })
    };
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acked.lock().unwrap().len() >= 10_000 {
            break;
        }
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    client.await.unwrap();
    let mut acked = Arc::try_unwrap(acked).unwrap().into_inner().unwrap();
    acked.sort_unstable();
    acked.dedup();
    let (mmsi, ms): (Vec<i64>, Vec<i64>) = acked.iter().copied().unzip();
    let found: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT (p.mmsi, p.at)) FROM vessel_position p
           JOIN unnest($1::bigint[], $2::bigint[]) AS a(mmsi, ms)
             ON p.mmsi = a.mmsi AND p.at = to_timestamp(a.ms / 1000.0)",
    )
    .bind(&mmsi)
    .bind(&ms)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        found,
        acked.len() as i64,
        "every acknowledged position was committed"
    );
}

//! Live sync: two server processes on one database both reflect a change made through the API
//! of one of them, or by plain SQL from another tool, without restart.

mod common;

use common::demo_db;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `onemap serve`, killed when dropped.
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

fn start_server(database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["serve", "--addr", "127.0.0.1:0", "--tile-cache-mb", "16"])
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
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line}"
    );
    Server { child, base }
}

async fn wait_ready(http: &reqwest::Client, s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", s.base)).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server {} never became ready",
            s.base
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn unit_at(http: &reqwest::Client, s: &Server, x: f64, y: f64) -> Value {
    http.get(format!("{}/api/assign?lon={x}&lat={y}", s.base))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["unit"]
        .clone()
}

/// Polls both servers until `check` holds for each; returns how long that took.
async fn until_both(
    http: &reqwest::Client,
    servers: &[&Server],
    x: f64,
    y: f64,
    check: impl Fn(&Value) -> bool,
) -> Duration {
    let started = Instant::now();
    for s in servers {
        loop {
            if check(&unit_at(http, s, x, y).await) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} never reflected the change",
                s.base
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    started.elapsed()
}

#[tokio::test]
async fn two_servers_follow_sql_and_api_edits() {
    let db = demo_db().await;
    let (a, b) = (start_server(&db.url), start_server(&db.url));
    let http = common::client_with_token(&common::admin_token_at(&db.url).await);
    wait_ready(&http, &a).await;
    wait_ready(&http, &b).await;
    let store = sqlx::PgPool::connect(&db.url).await.unwrap();

    // Two neighbouring units of one grid, and a point inside the second.
    let row = sqlx::query_as::<_, (String, String, f64, f64)>(
        "SELECT a.code, b.code, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom))
         FROM area a JOIN area b ON b.parent_code = a.parent_code AND b.code > a.code AND ST_Touches(a.geom, b.geom)
         WHERE a.level = 5 ORDER BY a.code LIMIT 1 OFFSET 30000",
    )
    .fetch_one(&store)
    .await
    .unwrap();
    let (keep, gone, x, y) = row;
    assert_eq!(unit_at(&http, &a, x, y).await["code"], gone.as_str());
    assert_eq!(unit_at(&http, &b, x, y).await["code"], gone.as_str());

    // Another tool merges the two units with plain SQL.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE area SET geom = ST_Multi(ST_Union(geom, (SELECT geom FROM area WHERE code = $2))) WHERE code = $1")
        .bind(&keep)
        .bind(&gone)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM area WHERE code = $1")
        .bind(&gone)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let took = until_both(&http, &[&a, &b], x, y, |u| u["code"] == keep.as_str()).await;
    eprintln!("SQL edit reflected by both servers after {took:?}");

    // An edit through one server's API shows on the other.
    let r = http
        .put(format!("{}/api/areas/{keep}", a.base))
        .json(&json!({"type": "Feature", "properties": {"name": "合并楼"}, "geometry": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let took = until_both(&http, &[&a, &b], x, y, |u| u["name"] == "合并楼").await;
    eprintln!("API edit reflected by both servers after {took:?}");
}

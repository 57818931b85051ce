//! What the HTTP benchmark drivers share: a real `onemap serve` child process on loopback, and
//! points on land. Included by the drivers with `mod support;`.

#![allow(dead_code)]

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The event categories' codes (src/events/model.rs).
pub const CATEGORIES: [&str; 10] = [
    "dispute",
    "city_management",
    "safety_hazard",
    "food_safety",
    "environment",
    "forest_fire",
    "public_service",
    "public_order",
    "traffic",
    "other",
];

/// A running `onemap serve`, killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    /// `/readyz` as it answered when the server became ready.
    pub ready: serde_json::Value,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Resident memory of the server process, MiB (from /proc).
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// Starts `onemap serve` on `db` with `extra` arguments, on a free loopback port, and waits
/// until it is ready. The server's log level is `BENCH_SERVER_LOG` (default warnings).
pub async fn serve(
    bin: &str,
    db: &str,
    extra: &[&str],
    http: &reqwest::Client,
) -> anyhow::Result<Server> {
    let mut child = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .env("DATABASE_URL", db)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "onemap=warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let ready = loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break r.json().await?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Ok(Server { child, base, ready })
}

/// Points on land: uniform over the units' extent, kept when a unit covers them.
pub fn land_points(
    index: &onemap::index::Snapshot,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<(f64, f64)> {
    let bbox = index.units_bbox().expect("the demo city has units");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (x, y) = (
            rng.random_range(bbox[0]..bbox[2]),
            rng.random_range(bbox[1]..bbox[3]),
        );
        if index.locate_unit(x, y).is_some() {
            out.push((x, y));
        }
    }
    out
}

/// Deletes the events a run added after `max_id` (and their transitions), so the history stays
/// as it was and the next run measures the same state.
pub async fn restore_history(pool: &sqlx::PgPool, max_id: Option<i64>) -> anyhow::Result<()> {
    let max_id = max_id.unwrap_or(0);
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM event_transition WHERE event_id > $1")
        .bind(max_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM event WHERE id > $1")
        .bind(max_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

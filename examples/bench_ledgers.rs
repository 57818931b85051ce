//! Ledger and profile benchmark, side by side in one run, on the state a real city reaches (the
//! demo city, its events, and 1,000,000 synthetic people):
//!
//! - a ledger query of five fields and two filters over the largest district: the first page
//!   (JSON, with its count) and the whole result as CSV, from a real `onemap serve` over
//!   loopback HTTP, against the plain SQL a DBA would write (a `SELECT … LIMIT 50` and a
//!   `COPY (SELECT …) TO STDOUT CSV`) on the same database;
//! - the profile page of one village: the five API answers the page asks for at once
//!   (profile, figures, and the three lists), over 60 villages.
//!
//! Needs DATABASE_URL with the demo profiles loaded (`onemap import demo-profiles`). Run
//! through `scripts/bench-ledgers`.

#[path = "support/auth.rs"]
mod auth;

mod support;

use serde_json::{Value, json};
use std::time::Instant;
use support::serve;

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

const PAGE_SQL: &str = "
SELECT p.name, p.id_number, p.sex, date_part('year', age(current_date, p.birth_date))::int AS age, a.name AS address
  FROM person p JOIN area a ON a.code = p.unit_code
 WHERE p.district_code = $1 AND p.tags && ARRAY['独居老人', '残疾人', '低保户']
   AND p.birth_date <= current_date - interval '60 years'
 ORDER BY p.id LIMIT 50";

const PAGE_COUNT_SQL: &str = "
SELECT count(*) FROM person p
 WHERE p.district_code = $1 AND p.tags && ARRAY['独居老人', '残疾人', '低保户']
   AND p.birth_date <= current_date - interval '60 years'";

fn csv_sql(district: &str) -> String {
    format!(
        "COPY (SELECT p.name, overlay(p.id_number placing '********' from 7 for 8) AS id_number, p.sex,
                     date_part('year', age(current_date, p.birth_date))::int AS age, a.name AS address
                FROM person p JOIN area a ON a.code = p.unit_code
               WHERE p.district_code = '{district}' AND p.sex = '女' AND p.residence = ANY(ARRAY['户籍常住', '外来常住'])
               ORDER BY p.id) TO STDOUT WITH (FORMAT csv, HEADER)"
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::var("DATABASE_URL")?;
    let bin = std::env::var("ONEMAP_BIN").unwrap_or_else(|_| "target/release/onemap".into());
    let pool = sqlx::PgPool::connect(&db).await?;
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM person")
        .fetch_one(&pool)
        .await?;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM event")
        .fetch_one(&pool)
        .await?;
    let (district, in_district): (String, i64) = sqlx::query_as(
        "SELECT district_code, count(*) FROM person GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    println!("## Ledgers and profiles (issue #10)\n");
    println!(
        "State: {people} people rows, {events} events; district {district} holds {in_district} people.\n"
    );

    auth::install(&db).await?;
    let http = auth::client(None)?;
    let server = serve(&bin, &db, &[], &http).await?;
    let base = server.base.clone();
    // 1. First page: five fields, two filters (tags, age) over the district, with its count.
    let page_body = json!({
        "fields": ["name", "id_number", "sex", "age", "address"],
        "filters": {"area": district, "tags": {"any": ["独居老人", "残疾人", "低保户"]}, "ranges": {"age": {"min": 60}}},
        "page": {"size": 50, "offset": 0},
        "count": true
    });
    let mut ours = Vec::new();
    let mut total = 0;
    for i in 0..33 {
        let t = Instant::now();
        let r: Value = http
            .post(format!("{base}/api/ledgers/people/query"))
            .json(&page_body)
            .send()
            .await?
            .json()
            .await?;
        if i >= 3 {
            ours.push(t.elapsed().as_secs_f64() * 1e3);
        }
        total = r["total"].as_i64().unwrap_or(0);
    }
    let mut theirs = Vec::new();
    for i in 0..33 {
        let t = Instant::now();
        let rows: Vec<(String, String, String, i32, String)> = sqlx::query_as(PAGE_SQL)
            .bind(&district)
            .fetch_all(&pool)
            .await?;
        let n: i64 = sqlx::query_scalar(PAGE_COUNT_SQL)
            .bind(&district)
            .fetch_one(&pool)
            .await?;
        if i >= 3 {
            theirs.push(t.elapsed().as_secs_f64() * 1e3);
        }
        assert_eq!(n, total, "the count agrees with SQL");
        assert_eq!(rows.len(), 50);
    }
    println!("### First page (50 rows + count; {total} matching rows)\n");
    println!("| | p50 ms | p90 ms | max ms |\n|---|---:|---:|---:|");
    println!(
        "| onemap `POST /api/ledgers/people/query` (HTTP, JSON, masked) | {:.1} | {:.1} | {:.1} |",
        pct(ours.clone(), 0.5),
        pct(ours.clone(), 0.9),
        pct(ours, 1.0)
    );
    println!(
        "| plain SQL (`SELECT … LIMIT 50` + `count(*)`, sqlx) | {:.1} | {:.1} | {:.1} |\n",
        pct(theirs.clone(), 0.5),
        pct(theirs.clone(), 0.9),
        pct(theirs, 1.0)
    );

    // 2. The whole result as CSV: five fields, two filters (sex, residence) over the district.
    let csv_body = json!({
        "fields": ["name", "id_number", "sex", "age", "address"],
        "filters": {"area": district, "in": {"sex": ["女"], "residence": ["户籍常住", "外来常住"]}},
        "format": "csv"
    });
    let mut ours = Vec::new();
    let mut ours_bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let b = http
            .post(format!("{base}/api/ledgers/people/query"))
            .json(&csv_body)
            .send()
            .await?
            .bytes()
            .await?;
        ours.push(t.elapsed().as_secs_f64());
        ours_bytes = b.len();
    }
    let rows_csv: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM person WHERE district_code = $1 AND sex = '女' AND residence = ANY(ARRAY['户籍常住', '外来常住'])",
    )
    .bind(&district)
    .fetch_one(&pool)
    .await?;
    let mut theirs = Vec::new();
    let mut their_bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let mut conn = pool.acquire().await?;
        let mut s = conn.copy_out_raw(&csv_sql(&district)).await?;
        let mut n = 0;
        use futures_util::StreamExt;
        while let Some(chunk) = s.next().await {
            n += chunk?.len();
        }
        theirs.push(t.elapsed().as_secs_f64());
        their_bytes = n;
    }
    println!("### Whole district as CSV ({rows_csv} rows)\n");
    println!("| | median s | max s | bytes |\n|---|---:|---:|---:|");
    println!(
        "| onemap CSV download (HTTP, streamed, masked, names) | {:.2} | {:.2} | {ours_bytes} |",
        pct(ours.clone(), 0.5),
        pct(ours, 1.0)
    );
    println!(
        "| plain SQL `COPY (SELECT … JOIN area) TO STDOUT CSV` | {:.2} | {:.2} | {their_bytes} |\n",
        pct(theirs.clone(), 0.5),
        pct(theirs, 1.0)
    );

    // 3. Profile pages: the five answers at once, as the page asks for them.
    let villages: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM profile WHERE length(code) = 12 ORDER BY md5(code) LIMIT 60",
    )
    .fetch_all(&pool)
    .await?;
    let mut pages = Vec::new();
    let mut figures = Vec::new();
    for (i, v) in villages.iter().enumerate() {
        let get = |p: String| {
            let http = http.clone();
            async move {
                let t = Instant::now();
                let r = http.get(p).send().await?;
                anyhow::ensure!(r.status() == 200, "{} answered {}", r.url(), r.status());
                r.bytes().await?;
                Ok::<f64, anyhow::Error>(t.elapsed().as_secs_f64() * 1e3)
            }
        };
        let t = Instant::now();
        let (a, f, d, p, k) = tokio::join!(
            get(format!("{base}/api/areas/{v}/profile")),
            get(format!("{base}/api/areas/{v}/profile/figures")),
            get(format!("{base}/api/areas/{v}/development")),
            get(format!("{base}/api/areas/{v}/problems")),
            get(format!("{base}/api/areas/{v}/tasks")),
        );
        let page = t.elapsed().as_secs_f64() * 1e3;
        let f = f?;
        a?;
        d?;
        p?;
        k?;
        if i >= 5 {
            pages.push(page);
            figures.push(f);
        }
    }
    println!(
        "### Profile page of a village (five answers at once; {} villages)\n",
        pages.len()
    );
    println!("| | p50 ms | p90 ms | max ms |\n|---|---:|---:|---:|");
    println!(
        "| whole page (profile + figures + three lists) | {:.1} | {:.1} | {:.1} |",
        pct(pages.clone(), 0.5),
        pct(pages.clone(), 0.9),
        pct(pages, 1.0)
    );
    println!(
        "| of which `profile/figures` (12 months, categories, closure, hotspots) | {:.1} | {:.1} | {:.1} |",
        pct(figures.clone(), 0.5),
        pct(figures.clone(), 0.9),
        pct(figures, 1.0)
    );
    println!(
        "\nServer resident memory after the run: {:.0} MiB",
        server.rss_mib()
    );
    Ok(())
}

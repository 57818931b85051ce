//! The one-table ledgers (一张表) against a real PostGIS: every answer checked against the plain
//! SQL a DBA would write over the same rows; masking; bad queries; a streamed CSV; an
//! abandoned download that stops its query.

mod common;

use common::{TestApp, assert_error};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn query(app: &TestApp, ledger: &str, body: &Value) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/ledgers/{ledger}/query")))
        .json(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn ledger_queries_agree_with_sql_mask_personal_fields_and_refuse_bad_queries() {
    let mut app = common::profiled_app(5_000, 40_000).await;
    // Read as an analyst: the masked view (roles that see personal data get it unmasked, as
    // tests/access.rs checks).
    app.token = common::account(&app.store, "ledger-analyst", "analyst", "3503").await;
    app.http = common::client_with_token(&app.token);
    let district: String = sqlx::query_scalar(
        "SELECT district_code FROM person GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    // Catalog.
    let (s, cat) = app.get_json("/api/ledgers").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = cat["ledgers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "people",
            "enterprises",
            "houses",
            "projects",
            "cadres",
            "events"
        ]
    );

    // Five fields, two filters, one district: the page and the count against SQL.
    let body = json!({
        "fields": ["id", "name", "id_number", "age", "tags"],
        "filters": {"area": district, "tags": {"any": ["独居老人", "低保户"]}, "ranges": {"age": {"min": 60}}},
        "sort": [{"field": "age", "dir": "desc"}],
        "page": {"size": 100, "offset": 0},
        "count": true
    });
    let (s, page) = query(&app, "people", &body).await;
    assert_eq!(s, 200, "{page}");
    let want: Vec<(i64, String, i32)> = sqlx::query_as(
        "SELECT id, name, date_part('year', age(current_date, birth_date))::int AS age FROM person
          WHERE district_code = $1 AND tags && ARRAY['独居老人', '低保户']
            AND date_part('year', age(current_date, birth_date)) >= 60
          ORDER BY age DESC, id LIMIT 100",
    )
    .bind(&district)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM person WHERE district_code = $1 AND tags && ARRAY['独居老人', '低保户']
            AND date_part('year', age(current_date, birth_date)) >= 60",
    )
    .bind(&district)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(total > 0, "the demo must have such people");
    assert_eq!(page["total"], total);
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), want.len());
    for (r, w) in rows.iter().zip(&want) {
        assert_eq!(r[0], json!(w.0));
        assert_eq!(r[1], json!(w.1));
        assert_eq!(r[3], json!(w.2));
        let id = r[2].as_str().unwrap();
        assert!(
            id.len() == 18 && id[6..14].chars().all(|c| c == '*'),
            "masked: {id}"
        );
        assert!(
            r[4].as_array()
                .unwrap()
                .iter()
                .any(|t| t == "独居老人" || t == "低保户")
        );
    }
    assert_eq!(page["masked"], json!(["id_number"]));

    // The second page follows the first.
    let mut second = body.clone();
    second["page"] = json!({"size": 50, "offset": 50});
    let (_, p2) = query(&app, "people", &second).await;
    assert_eq!(p2["rows"][0], page["rows"][50]);

    // Area at every level, `in`, `contains`, `all`, updated_since: counts against SQL.
    let village: String =
        sqlx::query_scalar("SELECT village_code FROM person WHERE district_code = $1 LIMIT 1")
            .bind(&district)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"area": village, "in": {"sex": ["女"]}}),
            "village_code = $1 AND sex = '女'",
        ),
        (
            json!({"area": village, "contains": {"name": "林"}}),
            "village_code = $1 AND name LIKE '%林%'",
        ),
        (
            json!({"area": village, "tags": {"all": ["党员"]}, "in": {"age_band": ["35-59", "60-79"]}}),
            "village_code = $1 AND tags @> ARRAY['党员'] AND birth_date <= current_date - interval '35 years' AND birth_date > current_date - interval '80 years'",
        ),
        (
            json!({"area": village, "updated_since": "2000-01-01", "ranges": {"birth_date": {"min": "1960-01-01", "max": "1979-12-31"}}}),
            "village_code = $1 AND birth_date BETWEEN '1960-01-01' AND '1979-12-31'",
        ),
    ];
    for (filters, sql) in cases {
        let (s, a) = query(
            &app,
            "people",
            &json!({"fields": ["id"], "filters": filters, "count": true, "page": {"size": 1000}}),
        )
        .await;
        assert_eq!(s, 200, "{a}");
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM person WHERE {sql}"))
            .bind(&village)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(a["total"], n, "{filters}");
    }

    // The other ledgers answer from their tables.
    for (ledger, table) in [
        ("enterprises", "enterprise"),
        ("houses", "house"),
        ("cadres", "cadre"),
    ] {
        let (s, a) = query(
            &app,
            ledger,
            &json!({"filters": {"area": district}, "count": true}),
        )
        .await;
        assert_eq!(s, 200, "{ledger}: {a}");
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE district_code = $1"
        ))
        .bind(&district)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(a["total"], n, "{ledger}");
    }
    let (_, a) = query(
        &app,
        "projects",
        &json!({"filters": {"area": district}, "count": true}),
    )
    .await;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM profile_item WHERE list = 'development' AND district_code = $1",
    )
    .bind(&district)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(a["total"], n);
    let (_, a) = query(&app, "events", &json!({"fields": ["id", "category"], "filters": {"area": district, "in": {"category": ["城市管理"]}}, "count": true})).await;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event WHERE district_code = $1 AND category = 'city_management'",
    )
    .bind(&district)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(a["total"], n);

    let (_, a) = query(&app, "events", &json!({"fields": ["id", "status"], "filters": {"area": district, "in": {"status": ["已结案"]}}, "count": true, "page": {"size": 1}})).await;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event WHERE district_code = $1 AND status = 'closed'",
    )
    .bind(&district)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(a["total"], n, "{a}");
    assert_eq!(a["rows"][0][1], "已结案");

    // Bad queries: 4xx with the known names.
    let (s, e) = query(&app, "people", &json!({"fields": ["name", "salary"]})).await;
    let m = assert_error(s, &e, 400, "unknown_field");
    assert!(m.contains("id_number"), "{m}");
    let (s, e) = query(&app, "people", &json!({"filters": {"colour": "red"}})).await;
    assert_error(s, &e, 400, "invalid_query");
    let (s, e) = query(
        &app,
        "people",
        &json!({"filters": {"in": {"id_number": ["1"]}}}),
    )
    .await;
    assert_error(s, &e, 400, "invalid_filter");
    let (s, e) = query(
        &app,
        "people",
        &json!({"filters": {"ranges": {"age": {"min": "old"}}}}),
    )
    .await;
    assert_error(s, &e, 400, "invalid_filter");
    let (s, e) = query(&app, "people", &json!({"filters": {"area": "123"}})).await;
    assert_error(s, &e, 400, "unknown_area");
    let (s, e) = query(&app, "people", &json!({"page": {"size": 100000}})).await;
    assert_error(s, &e, 400, "invalid_page");
    let (s, e) = query(&app, "villagers", &json!({})).await;
    assert_error(s, &e, 404, "not_found");
    let r = app
        .http
        .post(app.url("/api/ledgers/people/query"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 400, "malformed_json");
}

#[tokio::test]
async fn a_csv_export_streams_every_row_and_an_abandoned_one_stops_its_query() {
    let mut app = common::profiled_app(1_000, 60_000).await;
    // Read as an analyst: the masked view (roles that see personal data get it unmasked, as
    // tests/access.rs checks).
    app.token = common::account(&app.store, "ledger-analyst", "analyst", "3503").await;
    app.http = common::client_with_token(&app.token);
    let district: String = sqlx::query_scalar(
        "SELECT district_code FROM person GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let body = json!({"fields": ["id", "name", "phone", "sex", "address", "tags"], "filters": {"area": district}, "format": "csv"});
    let r = app
        .http
        .post(app.url("/api/ledgers/people/query"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["x-onemap-masked"], "phone");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        header,
        [
            "编号",
            "姓名",
            "联系电话（已脱敏）",
            "性别",
            "住址（单元）",
            "人群标签"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let want: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT p.id, p.name, a.name FROM person p JOIN area a ON a.code = p.unit_code WHERE p.district_code = $1 ORDER BY p.id",
    )
    .bind(&district)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        want.len() > onemap::store::ledgers::FETCH_ROWS,
        "more than one cursor fetch"
    );
    assert_eq!(rows.len(), want.len());
    for (r, w) in rows.iter().zip(&want) {
        assert_eq!(r[0].parse::<i64>().unwrap(), w.0);
        assert_eq!(&r[1], w.1.as_str());
        assert!(r[2].is_empty() || r[2].contains("****"), "{:?}", &r[2]);
        assert_eq!(&r[4], w.2.as_str());
    }

    // The same rows as an Excel workbook: one sheet, a header row and a row per person, the ID
    // column masked.
    let mut xbody = body.clone();
    xbody["format"] = json!("xlsx");
    xbody["fields"] = json!(["id", "name", "id_number", "address"]);
    let r = app
        .http
        .post(app.url("/api/ledgers/people/query"))
        .json(&xbody)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(r.headers()["x-onemap-masked"], "id_number");
    let bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert_eq!(sheet.matches("<row ").count(), want.len() + 1);
    assert!(sheet.contains(&want[0].1) && sheet.contains(&want.last().unwrap().2));
    assert!(
        sheet.contains("********"),
        "masked ID numbers in the workbook"
    );

    // A client that reads the first bytes and goes away: its cursor is closed and the server's
    // connection returns to idle (no query left running).
    let all = json!({"fields": ["id", "name", "id_number", "address", "village", "tags"], "format": "csv"});
    let mut r = app
        .http
        .post(app.url("/api/ledgers/people/query"))
        .json(&all)
        .send()
        .await
        .unwrap();
    let first = r.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(r);
    let started = Instant::now();
    loop {
        // The server's connections to this database that are doing anything (a query, or a
        // transaction holding the cursor open).
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'onemap' AND state <> 'idle'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if busy == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the abandoned export is still running ({busy} busy connections)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! Access control (#14) against a real PostGIS: every route of the router walked with every
//! role over a seeded random set of scopes, checked against SQL over the same rows; sign-in,
//! CSRF, rate limits, tokens (expiry, revocation), masking per role, and the audit log.

mod common;

use common::{TestApp, account, client_with_token, profiled_app};
use onemap::access::{Action, Role, Scope};
use onemap::api::access::Scoping;
use rand::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// A city with events, profiles (with their ledgers and enterprises), assets and vessels.
async fn full_app() -> TestApp {
    let app = profiled_app(4_000, 3_000).await;
    onemap::cli::fire::demo_assets(&app.store, 3503, false)
        .await
        .unwrap();
    onemap::cli::vessels::demo_vessels(&app.store, 3503, false)
        .await
        .unwrap();
    // The views follow the change feed.
    for _ in 0..300 {
        if !app.fleet.registry().vessels.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app
}

/// Every string in `v` that looks like an area code (digits, 6 to 19 long, not an 18-digit
/// ID number).
fn area_codes(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s)
            if s.starts_with("3503")
                && (6..=19).contains(&s.len())
                && s.len() != 18
                && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| area_codes(x, out)),
        Value::Object(o) => o.values().for_each(|x| area_codes(x, out)),
        _ => {}
    }
}

async fn one(app: &TestApp, sql: &str, scope: &str, inside: bool) -> Option<String> {
    let like = format!("{scope}%");
    let sql = sql.replace("{OP}", if inside { "LIKE" } else { "NOT LIKE" });
    sqlx::query_scalar::<_, String>(&sql)
        .bind(like)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
}

/// Path parameter values for a caller of `scope`: inside it, or outside it.
async fn fill(app: &TestApp, path: &str, scope: &str, inside: bool) -> Option<String> {
    let mut out = path.to_string();
    let area_of = "coalesce(unit_code, grid_code, village_code, town_code, district_code, '')";
    let id_sql = |table: &str| {
        format!("SELECT id::text FROM {table} WHERE {area_of} {{OP}} $1 ORDER BY id LIMIT 1")
    };
    let code = one(
        app,
        "SELECT code FROM area WHERE level = 3 AND code {OP} $1 ORDER BY code LIMIT 1",
        scope,
        inside,
    )
    .await
    .or_else(|| inside.then(|| scope.to_string()));
    for (param, value) in [
        ("{code}", code.clone()),
        ("{list}", Some("problems".to_string())),
        ("{mmsi}", {
            one(
                app,
                "SELECT mmsi::text FROM vessel WHERE coalesce(village_code, '') {OP} $1 ORDER BY mmsi LIMIT 1",
                scope,
                inside,
            )
            .await
        }),
        ("{source}", Some("village".into())),
        ("{z}", Some("0".into())),
        ("{x}", Some("0".into())),
        ("{y}", Some("0".into())),
    ] {
        if out.contains(param) {
            out = out.replace(param, &value?);
        }
    }
    if out.contains("{name}") {
        let name = if out.starts_with("/api/ledgers") {
            "people"
        } else {
            "test-admin"
        };
        out = out.replace("{name}", name);
    }
    if out.contains("{id}") {
        let id = if out.starts_with("/api/events/") {
            one(app, &id_sql("event"), scope, inside).await
        } else if out.starts_with("/api/assets/") {
            one(app, &id_sql("asset"), scope, inside).await
        } else if out.starts_with("/api/enterprises/") {
            one(app, &id_sql("enterprise"), scope, inside).await
        } else if out.starts_with("/api/areas/") && out.contains("/problems/") {
            let code = code?;
            sqlx::query_scalar::<_, String>(
                "SELECT id::text FROM profile_item WHERE area_code = $1 AND list = 'problems' ORDER BY id LIMIT 1",
            )
            .bind(&code)
            .fetch_optional(&app.pool)
            .await
            .unwrap()
            .or(Some("999999999".into()))
        } else {
            // Alerts and tokens: none in scope are needed for the guard's answer.
            (inside).then(|| "999999999".to_string())
        };
        out = out.replace("{id}", &id?);
    }
    Some(out)
}

struct Caller {
    name: String,
    role: Role,
    scope: Scope,
    http: reqwest::Client,
}

#[tokio::test]
async fn every_route_with_every_role_stays_in_its_scope() {
    let app = full_app().await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    // A random set of scopes: the city, and a district, town, village and grid drawn at random
    // among those that hold events.
    let mut scopes = vec!["3503".to_string()];
    for col in ["district_code", "town_code", "village_code", "grid_code"] {
        let codes: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT {col} FROM event WHERE {col} IS NOT NULL ORDER BY 1"
        ))
        .fetch_all(&app.pool)
        .await
        .unwrap();
        scopes.push(codes.choose(&mut rng).unwrap().clone());
    }
    // The town of the demo fleet, so vessels are in some scope.
    scopes.push(onemap::vessels::demo::HUANGSHI.to_string());
    let mut callers = Vec::new();
    for (i, scope) in scopes.iter().enumerate() {
        for role in Role::ALL {
            let name = format!("walk-{}-{i}", role.as_str());
            let token = account(&app.store, &name, role.as_str(), scope).await;
            callers.push(Caller {
                name,
                role,
                scope: Scope::new(scope.clone()),
                http: client_with_token(&token),
            });
        }
    }
    let routes = onemap::api::routes();
    let rules = routes.rules();
    assert!(
        rules.len() > 70,
        "the table lists every route: {}",
        rules.len()
    );
    let anonymous = reqwest::Client::new();
    let mut writes: HashMap<(String, String, i16), i64> = HashMap::new();
    let mut checked = 0usize;
    for rule in rules {
        // Nobody signed in: public routes answer, the others 401.
        let path = fill(&app, rule.path, "3503", true).await.unwrap();
        let r = anonymous
            .request(rule.method.clone(), app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if rule.action == Action::Public {
            assert!(status < 500, "{} {path}: {status}", rule.method);
        } else {
            assert_eq!(status, 401, "{} {path} without an account", rule.method);
        }
        if rule.action == Action::Public {
            continue;
        }
        for c in &callers {
            for inside in [true, false] {
                if c.scope.is_city() && !inside {
                    continue;
                }
                let Some(path) = fill(&app, rule.path, c.scope.code(), inside).await else {
                    continue;
                };
                // Only routes naming an area or object in their path have an outside case.
                let names_object = matches!(rule.scoping, Scoping::PathCode | Scoping::Owner(_));
                if !inside && !names_object {
                    continue;
                }
                if rule.path == "/api/auth/logout" {
                    continue; // a token has no session to end
                }
                let r = c
                    .http
                    .request(rule.method.clone(), app.url(&path))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let is_tile = path.starts_with("/tiles/village/");
                let ctype = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                // The stream never ends: its status is the answer (its frames are scoped by the
                // same area parameter; tests/stream.rs checks them).
                let bytes = if path.starts_with("/api/stream") {
                    Default::default()
                } else {
                    r.bytes().await.unwrap()
                };
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let what = format!(
                    "{} {path} as {} ({} over {})",
                    rule.method,
                    c.name,
                    c.role.as_str(),
                    c.scope.code()
                );
                assert!(status < 500, "{what}: {status} {body}");
                checked += 1;
                if rule.method != reqwest::Method::GET {
                    let action = if rule.action == Action::Export {
                        format!("export {}", rule.path)
                    } else {
                        format!("{} {}", rule.method, rule.path)
                    };
                    *writes
                        .entry((c.name.clone(), action, status as i16))
                        .or_default() += 1;
                }
                if !c.role.may(rule.action) {
                    assert_eq!(status, 403, "{what}: the role may not; {body}");
                    assert_eq!(body["error"]["code"], "forbidden", "{what}");
                    continue;
                }
                if !c.scope.is_city() && rule.scoping == Scoping::City {
                    assert_eq!(status, 403, "{what}: city-wide route; {body}");
                    assert_eq!(body["error"]["code"], "out_of_scope", "{what}");
                    continue;
                }
                if !inside {
                    assert_eq!(status, 403, "{what}: outside the scope; {body}");
                    assert_eq!(body["error"]["code"], "out_of_scope", "{what}");
                    continue;
                }
                assert!(
                    status != 401 && !(status == 403 && body["error"]["code"] != "out_of_scope"),
                    "{what}: allowed, got {status} {body}"
                );
                assert_ne!(
                    body["error"]["code"], "out_of_scope",
                    "{what}: inside the scope"
                );
                if is_tile && status == 200 {
                    assert_tile_in_scope(&bytes, &c.scope, &what);
                }
                if ctype.starts_with("application/json") && status == 200 {
                    let mut codes = BTreeSet::new();
                    area_codes(&body, &mut codes);
                    for code in codes {
                        assert!(
                            c.scope.related(&code),
                            "{what}: answered area {code}, outside the scope"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 2_000, "{checked} requests checked");
    // Every write, allowed or refused, left one audit row with its answer's status.
    let rows: Vec<(String, String, i16, i64)> = sqlx::query_as(
        "SELECT user_name, action, status, count(*) FROM audit_log
          WHERE user_name LIKE 'walk-%' GROUP BY 1, 2, 3",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let logged: HashMap<(String, String, i16), i64> = rows
        .into_iter()
        // GET exports (the CSV) are audited too when they carry personal data; the walk
        // tallies the writes.
        .filter(|(_, a, _, _)| a != "export /api/events.csv")
        .map(|(u, a, s, n)| ((u, a, s), n))
        .collect();
    assert_eq!(logged, writes, "the audit log holds every write");
}

fn assert_tile_in_scope(bytes: &[u8], scope: &Scope, what: &str) {
    use geozero::mvt::{Message, Tile};
    let tile = Tile::decode(bytes).unwrap();
    for l in &tile.layers {
        let code_key = l.keys.iter().position(|k| k == "code").unwrap() as u32;
        for f in &l.features {
            let v = f
                .tags
                .chunks(2)
                .find(|kv| kv[0] == code_key)
                .map(|kv| l.values[kv[1] as usize].string_value.clone().unwrap())
                .unwrap();
            assert!(scope.contains(&v), "{what}: tile feature {v}");
        }
    }
}

/// Lists against SQL over the same rows, for a town, a village and a grid.
#[tokio::test]
async fn lists_tiles_and_statistics_match_sql_in_the_scope() {
    let app = full_app().await;
    let town = onemap::vessels::demo::HUANGSHI.to_string();
    let village: String = sqlx::query_scalar(
        "SELECT village_code FROM event WHERE village_code LIKE $1 || '%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .bind(&town)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for scope in [town.clone(), village.clone()] {
        let token = account(&app.store, &format!("lists-{scope}"), "leader", &scope).await;
        let http = client_with_token(&token);
        let get = |path: String| {
            let http = http.clone();
            let url = app.url(&path);
            async move {
                let r = http.get(url).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path}");
                r.json::<Value>().await.unwrap()
            }
        };
        let like = format!("{scope}%");
        let sql = |q: &'static str| {
            let pool = app.pool.clone();
            let like = like.clone();
            async move {
                sqlx::query_scalar::<_, i64>(q)
                    .bind(like)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        // Events: every page of the list.
        let mut ids = BTreeSet::new();
        let mut next = String::new();
        loop {
            let v = get(format!("/api/events?limit=1000{next}")).await;
            for e in v["events"].as_array().unwrap() {
                ids.insert(e["id"].as_i64().unwrap());
            }
            match v["next"].as_str() {
                Some(c) => next = format!("&cursor={c}"),
                None => break,
            }
        }
        let want = sql("SELECT count(*) FROM event WHERE coalesce(unit_code, grid_code, village_code, nearest_grid_code, '') LIKE $1").await;
        assert_eq!(ids.len() as i64, want, "events of {scope}");
        let v = get("/api/assets?limit=10000".into()).await;
        let want = sql("SELECT count(*) FROM asset WHERE retired_at IS NULL AND coalesce(unit_code, grid_code, village_code, '') LIKE $1").await;
        assert_eq!(v["count"].as_i64().unwrap(), want, "assets of {scope}");
        let v = get("/api/vessels?limit=100000".into()).await;
        let want = sql("SELECT count(*) FROM vessel WHERE village_code LIKE $1").await;
        assert_eq!(v["count"].as_i64().unwrap(), want, "vessels of {scope}");
        let v = get("/api/enterprises?limit=1".into()).await;
        let want = sql("SELECT count(*) FROM enterprise WHERE coalesce(unit_code, grid_code, village_code, '') LIKE $1").await;
        assert_eq!(v["total"].as_i64().unwrap(), want, "enterprises of {scope}");
        // The event tile of the whole world counts only the scope's events (30 days).
        let r = http
            .get(app.url("/tiles/events/0/0/0"))
            .send()
            .await
            .unwrap();
        let counted = if r.status() == 204 {
            0
        } else {
            use geozero::mvt::{Message, Tile};
            let t = Tile::decode(&r.bytes().await.unwrap()[..]).unwrap();
            let l = &t.layers[0];
            let k = l.keys.iter().position(|k| k == "count").unwrap() as u32;
            l.features
                .iter()
                .map(|f| {
                    let kv = f.tags.chunks(2).find(|kv| kv[0] == k).unwrap();
                    let v = &l.values[kv[1] as usize];
                    v.double_value
                        .or(v.int_value.map(|i| i as f64))
                        .or(v.uint_value.map(|i| i as f64))
                        .or(v.float_value.map(|f| f as f64))
                        .or(v.sint_value.map(|i| i as f64))
                        .unwrap() as i64
                })
                .sum::<i64>()
        };
        // The statistics of the scope over the same window, and SQL over it.
        let stats = get("/api/stats/areas".into()).await;
        let total =
            stats["total"]["count"].as_i64().unwrap() + stats["unassigned"].as_i64().unwrap_or(0);
        assert_eq!(
            counted, total,
            "tile counts and statistics of {scope} agree: {stats}"
        );
        let from = stats["window"]["from"].as_str().unwrap().to_string();
        let want: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event WHERE coalesce(unit_code, grid_code, village_code, nearest_grid_code, '') LIKE $1
               AND reported_at >= $2::timestamptz",
        )
        .bind(&like)
        .bind(&from)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            counted, want,
            "event tile of {scope} against SQL since {from}"
        );
        // Out of scope: an event list of a neighbour is refused.
        let r = http
            .get(app.url("/api/events?area=350305"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
}

#[tokio::test]
async fn sign_in_csrf_rate_limits_tokens_masking_and_audit() {
    let app = full_app().await;

    let village: String = sqlx::query_scalar(
        "SELECT village_code FROM event WHERE village_code IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // An account made through the API by the city administrator.
    let r = app
        .http
        .post(app.url("/api/users"))
        .json(&json!({"name": "sec", "password": "村支书的登录密码2026", "role": "leader", "scope": village}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .http
        .post(app.url("/api/users"))
        .json(&json!({"name": "bad name", "password": "short", "role": "king", "scope": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["problems"].as_array().unwrap().len(), 4, "{v}");

    // Sign in: a session cookie and the CSRF token.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = browser
        .post(app.url("/api/auth/login"))
        .json(&json!({"name": "sec", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = browser
        .post(app.url("/api/auth/login"))
        .json(&json!({"name": "sec", "password": "村支书的登录密码2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("onemap_session=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Strict")));
    let v: Value = r.json().await.unwrap();
    let csrf = v["csrf"].as_str().unwrap().to_string();
    assert_eq!(v["user"]["scope"], village.as_str());
    let me: Value = browser
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["name"], "sec");

    // CSRF: a write with the cookie but without the token is refused, with it it passes the
    // gate (and fails on its empty body).
    let event: i64 = sqlx::query_scalar("SELECT id FROM event WHERE village_code = $1 LIMIT 1")
        .bind(&village)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = app.url(&format!("/api/events/{event}/transitions"));
    let r = browser.post(&path).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "csrf");
    let r = browser
        .post(&path)
        .header("x-csrf-token", "not the token")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = browser
        .post(&path)
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 400 || r.status() == 422, "{}", r.status());
    // A report outside the village is refused row by row; inside it is stored.
    let (inside, outside): ((f64, f64), (f64, f64)) = (
        sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area WHERE level = 5 AND code LIKE $1 || '%' LIMIT 1")
            .bind(&village).fetch_one(&app.pool).await.unwrap(),
        sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area WHERE level = 5 AND code NOT LIKE $1 || '%' LIMIT 1")
            .bind(&village).fetch_one(&app.pool).await.unwrap(),
    );
    let report = |p: (f64, f64)| json!({"category": "public_service", "source": "grid_worker", "lon": p.0, "lat": p.1, "description": "测试"});
    let r = browser
        .post(app.url("/api/events"))
        .header("x-csrf-token", &csrf)
        .json(&json!([report(inside), report(outside)]))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["errors"][0]["code"], "out_of_scope", "{v}");
    assert_eq!(v["errors"][0]["index"], 1, "{v}");
    // Writes of registers outside the scope are refused.
    let r = browser
        .post(app.url("/api/assets"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"kind": "hydrant", "name": "越界消火栓", "lon": outside.0, "lat": outside.1,
                      "props": {"type": "pillar", "flow_lps": 15, "pressure_mpa": 0.3, "last_inspection": "2026-06-01"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "{}", r.text().await.unwrap());

    // Masking per role: the leader sees phones in the people ledger, the analyst does not.
    let q = json!({"fields": ["name", "phone"], "page": {"size": 5}});
    let leader: Value = browser
        .post(app.url("/api/ledgers/people/query"))
        .header("x-csrf-token", &csrf)
        .json(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let analyst = client_with_token(&account(&app.store, "ana", "analyst", &village).await);
    let masked: Value = analyst
        .post(app.url("/api/ledgers/people/query"))
        .json(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!leader["rows"].as_array().unwrap().is_empty(), "{leader}");
    assert!(leader["masked"].as_array().unwrap().is_empty(), "{leader}");
    assert_eq!(masked["masked"], json!(["phone"]), "{masked}");
    assert!(masked["rows"][0][1].as_str().unwrap().contains('*'));
    assert!(!leader["rows"][0][1].as_str().unwrap().contains('*'));

    // Logout ends the session.
    let r = browser
        .post(app.url("/api/auth/logout"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = browser.get(app.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Rate limits: five failures lock the account (even with the right password next).
    let other = reqwest::Client::new();
    for _ in 0..5 {
        let r = other
            .post(app.url("/api/auth/login"))
            .json(&json!({"name": "sec", "password": "guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = other
        .post(app.url("/api/auth/login"))
        .json(&json!({"name": "sec", "password": "村支书的登录密码2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too_many_attempts"
    );

    // Tokens: created, used, revoked (at once); an expired one is refused.
    let r = app
        .http
        .post(app.url("/api/auth/tokens"))
        .json(&json!({"label": "大屏", "days": 30, "user": "sec"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    let token = t["token"].as_str().unwrap().to_string();
    let screen = client_with_token(&token);
    assert_eq!(
        screen
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = app
        .http
        .delete(app.url(&format!("/api/auth/tokens/{}", t["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        screen
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let expired = account(&app.store, "old", "screen", "3503").await;
    sqlx::query("UPDATE api_token SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM app_user WHERE name = 'old')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        client_with_token(&expired)
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Disabling an account stops its tokens at once.
    let t2 = account(&app.store, "gone", "screen", "3503").await;
    let r = app
        .http
        .put(app.url("/api/users/gone"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        client_with_token(&t2)
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // The audit log: sign-ins (good and bad), writes, the ledger export with personal data.
    let audit: Value = app
        .http
        .get(app.url("/api/audit?limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    let has = |user: &str, action: &str, status: i64| {
        entries.iter().any(|e| {
            e["user_name"] == user && e["action"] == action && e["status"].as_i64() == Some(status)
        })
    };
    assert!(has("sec", "login", 200));
    assert!(has("sec", "login_failed", 401));
    assert!(has("sec", "login_failed", 429));
    assert!(has("sec", "POST /api/events", 201));
    assert!(has("sec", "POST /api/assets", 403));
    assert!(has("sec", "POST /api/events/{id}/transitions", 403));
    assert!(has("sec", "export /api/ledgers/{name}/query", 200));
    assert!(has("test-admin", "POST /api/users", 201));
    assert!(has("ana", "export /api/ledgers/{name}/query", 200));
    // Append-only: the database refuses to change or remove a row.
    assert!(
        sqlx::query("UPDATE audit_log SET status = 0")
            .execute(&app.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&app.pool)
            .await
            .is_err()
    );
    // Security headers on pages and API answers.
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    // Oversized query strings are refused.
    let r = app
        .http
        .get(app.url(&format!("/api/events?q={}", "x".repeat(9000))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
}

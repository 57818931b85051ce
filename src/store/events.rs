//! SQL of event reporting: set-based ingest (one transaction per request), repeat candidates,
//! idempotency keys, the closed loop's transitions, and the filtered event queries.
//!
//! Every function takes a connection (usually a transaction) so the reporting module can run
//! several steps atomically; none of them commits on its own.

use super::{Op, Store, StoreError};
use crate::events::filter::EventFilter;
use crate::model::Level;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::{PgConnection, Postgres, QueryBuilder};

/// A row of `event_category`: per-theme deadline and repeat rule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRow {
    pub code: String,
    pub name: String,
    pub deadline_hours: i32,
    pub repeat_radius_m: f32,
    pub repeat_window_h: f32,
}

/// An event ready to be inserted: validated, assigned, its id allocated.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: i64,
    pub client_id: Option<String>,
    pub category: &'static str,
    pub subcategory: Option<String>,
    pub source: &'static str,
    pub priority: &'static str,
    pub description: String,
    pub reporter: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
    pub assigned: bool,
    /// unit, grid, village, town, district codes.
    pub chain: [Option<String>; 5],
    pub nearest_grid_code: Option<String>,
    pub nearest_grid_m: Option<f32>,
    pub deadline: DateTime<Utc>,
    pub duplicate_of: Option<i64>,
    pub repeat_count: i32,
    /// Who the first transition is logged for (the reporter, else the source).
    pub actor: String,
}

/// Where and when a stored original could be one for a report: its category, the box its
/// category's radius can reach (degrees, generous) and its category's window.
#[derive(Debug, Clone)]
pub struct OriginalProbe<'a> {
    pub category: &'a str,
    /// west, south, east, north in degrees.
    pub bbox: [f64; 4],
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A stored open original (not closed, not rejected, not itself a repeat).
#[derive(Debug, Clone)]
pub struct OpenOriginal {
    pub id: i64,
    pub category: String,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
}

/// A stored answer to an idempotent request.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub body_hash: Vec<u8>,
    pub status: i16,
    pub response: serde_json::Value,
}

/// One event as the API shows it, with the current names of its frozen chain.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub client_id: Option<String>,
    pub category: String,
    pub subcategory: Option<String>,
    pub source: String,
    pub priority: String,
    pub description: String,
    pub reporter: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub assigned: bool,
    pub unit_code: Option<String>,
    pub unit_name: Option<String>,
    pub grid_code: Option<String>,
    pub grid_name: Option<String>,
    pub village_code: Option<String>,
    pub village_name: Option<String>,
    pub town_code: Option<String>,
    pub town_name: Option<String>,
    pub district_code: Option<String>,
    pub district_name: Option<String>,
    pub nearest_grid_code: Option<String>,
    pub nearest_grid_name: Option<String>,
    pub nearest_grid_m: Option<f32>,
    pub status: String,
    pub deadline: DateTime<Utc>,
    pub overdue: bool,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duplicate_of: Option<i64>,
    pub repeat_count: i32,
    pub updated_at: DateTime<Utc>,
}

/// One row of the closed loop's log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransitionRow {
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

const EVENT_SELECT: &str =
    "SELECT e.id, e.client_id, e.category, e.subcategory, e.source, e.priority,
    e.description, e.reporter, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.reported_at,
    e.received_at, e.assigned, e.unit_code, u.name AS unit_name, e.grid_code, g.name AS grid_name,
    e.village_code, v.name AS village_name, e.town_code, t.name AS town_name, e.district_code,
    d.name AS district_name, e.nearest_grid_code, ng.name AS nearest_grid_name, e.nearest_grid_m,
    e.status, e.deadline,
    (e.status NOT IN ('closed', 'rejected') AND e.deadline < now()) AS overdue,
    e.resolved_at, e.closed_at, e.duplicate_of, e.repeat_count, e.updated_at
  FROM event e
  LEFT JOIN area u ON u.code = e.unit_code
  LEFT JOIN area g ON g.code = e.grid_code
  LEFT JOIN area v ON v.code = e.village_code
  LEFT JOIN area t ON t.code = e.town_code
  LEFT JOIN area d ON d.code = e.district_code
  LEFT JOIN area ng ON ng.code = e.nearest_grid_code";

/// The SQLSTATE of a database error, if that is what `e` is.
pub fn sqlstate(e: &StoreError) -> Option<String> {
    match e {
        StoreError::Db {
            source: sqlx::Error::Database(d),
            ..
        } => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The categories with their deadline and repeat rule (read in the ingest transaction, so a
/// plain-SQL retune applies to the next request).
pub async fn categories(conn: &mut PgConnection) -> Result<Vec<CategoryRow>, StoreError> {
    sqlx::query_as(
        "SELECT code, name, deadline_hours, repeat_radius_m, repeat_window_h
           FROM event_category ORDER BY sort",
    )
    .fetch_all(conn)
    .await
    .op("reading event categories")
}

/// The stored answer for an idempotency key, if any.
pub async fn stored_answer(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<StoredAnswer>, StoreError> {
    let row: Option<(Vec<u8>, i16, serde_json::Value)> =
        sqlx::query_as("SELECT body_hash, status, response FROM event_request WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await
            .op("reading an idempotency key")?;
    Ok(row.map(|(body_hash, status, response)| StoredAnswer {
        body_hash,
        status,
        response,
    }))
}

/// Records the answer to an idempotent request; false if the key was taken meanwhile (a
/// concurrent request with the same key committed first: the caller rolls back and replays).
pub async fn save_answer(
    conn: &mut PgConnection,
    key: &str,
    body_hash: &[u8],
    status: i16,
    response: &serde_json::Value,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "INSERT INTO event_request (key, body_hash, status, response) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(body_hash)
    .bind(status)
    .bind(response)
    .execute(conn)
    .await
    .op("saving an idempotency key")?
    .rows_affected();
    Ok(n == 1)
}

/// Ids of stored events carrying these client ids.
pub async fn ids_by_client_id(
    conn: &mut PgConnection,
    client_ids: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    if client_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT client_id, id FROM event WHERE client_id = ANY($1) AND client_id IS NOT NULL",
    )
    .bind(client_ids)
    .fetch_all(conn)
    .await
    .op("looking up client ids")
}

/// Reserves `n` event ids from the identity sequence, so a batch can link repeats to rows of
/// the same batch in one INSERT.
pub async fn allocate_ids(conn: &mut PgConnection, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('event', 'id')) FROM generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(conn)
    .await
    .op("allocating event ids")
}

/// The open originals (not closed, not rejected, not themselves repeats) that could be one for
/// any of the probes: same category, inside its box, reported in its window. Each probe is one
/// look-up in the partial index `event_open_original_gist`, which holds only open originals, so
/// the cost follows the batch, not the history; the exact rule is applied by the caller.
pub async fn open_originals(
    conn: &mut PgConnection,
    probes: &[OriginalProbe<'_>],
) -> Result<Vec<OpenOriginal>, StoreError> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let col = |k: usize| probes.iter().map(|p| p.bbox[k]).collect::<Vec<f64>>();
    let categories: Vec<&str> = probes.iter().map(|p| p.category).collect();
    let froms: Vec<DateTime<Utc>> = probes.iter().map(|p| p.from).collect();
    let tos: Vec<DateTime<Utc>> = probes.iter().map(|p| p.to).collect();
    let rows: Vec<(i64, String, f64, f64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT DISTINCT e.id, e.category, ST_X(e.geom), ST_Y(e.geom), e.reported_at
           FROM UNNEST($1::float8[], $2::float8[], $3::float8[], $4::float8[], $5::text[],
                       $6::timestamptz[], $7::timestamptz[])
                AS p(w, s, e, n, category, lo, hi)
           JOIN event e ON e.geom && ST_MakeEnvelope(p.w, p.s, p.e, p.n, 4326)
          WHERE e.status NOT IN ('closed', 'rejected') AND e.duplicate_of IS NULL
            AND e.category = p.category AND e.reported_at BETWEEN p.lo AND p.hi",
    )
    .bind(col(0))
    .bind(col(1))
    .bind(col(2))
    .bind(col(3))
    .bind(&categories)
    .bind(&froms)
    .bind(&tos)
    .fetch_all(conn)
    .await
    .op("reading open originals")?;
    Ok(rows
        .into_iter()
        .map(|(id, category, lon, lat, reported_at)| OpenOriginal {
            id,
            category,
            lon,
            lat,
            reported_at,
        })
        .collect())
}

/// Inserts events and their first transition (NULL → reported) in one statement. Rows whose
/// client id is already stored (a concurrent request got there first) are skipped; the ids
/// actually inserted are returned.
pub async fn insert_events(
    conn: &mut PgConnection,
    rows: &[NewEvent],
) -> Result<Vec<i64>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let col = |f: &dyn Fn(&NewEvent) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(f).collect()
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let client_ids = col(&|r| r.client_id.clone());
    let categories: Vec<&str> = rows.iter().map(|r| r.category).collect();
    let subcategories = col(&|r| r.subcategory.clone());
    let sources: Vec<&str> = rows.iter().map(|r| r.source).collect();
    let priorities: Vec<&str> = rows.iter().map(|r| r.priority).collect();
    let descriptions: Vec<&str> = rows.iter().map(|r| r.description.as_str()).collect();
    let reporters = col(&|r| r.reporter.clone());
    let lons: Vec<f64> = rows.iter().map(|r| r.lon).collect();
    let lats: Vec<f64> = rows.iter().map(|r| r.lat).collect();
    let reported: Vec<DateTime<Utc>> = rows.iter().map(|r| r.reported_at).collect();
    let assigned: Vec<bool> = rows.iter().map(|r| r.assigned).collect();
    let chain = |i: usize| col(&move |r| r.chain[i].clone());
    let nearest_code = col(&|r| r.nearest_grid_code.clone());
    let nearest_m: Vec<Option<f32>> = rows.iter().map(|r| r.nearest_grid_m).collect();
    let deadlines: Vec<DateTime<Utc>> = rows.iter().map(|r| r.deadline).collect();
    let dups: Vec<Option<i64>> = rows.iter().map(|r| r.duplicate_of).collect();
    let counts: Vec<i32> = rows.iter().map(|r| r.repeat_count).collect();
    let actors: Vec<&str> = rows.iter().map(|r| r.actor.as_str()).collect();
    sqlx::query_scalar(
        "WITH r AS (
           SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],
                  $6::text[], $7::text[], $8::text[], $9::float8[], $10::float8[],
                  $11::timestamptz[], $12::bool[], $13::text[], $14::text[], $15::text[],
                  $16::text[], $17::text[], $18::text[], $19::float4[], $20::timestamptz[],
                  $21::int8[], $22::int4[], $23::text[])
             AS r(id, client_id, category, subcategory, source, priority, description, reporter,
                  lon, lat, reported_at, assigned, unit_code, grid_code, village_code, town_code,
                  district_code, nearest_grid_code, nearest_grid_m, deadline, duplicate_of,
                  repeat_count, actor)
         ), ins AS (
           INSERT INTO event (id, client_id, category, subcategory, source, priority, description,
                  reporter, geom, reported_at, assigned, unit_code, grid_code, village_code,
                  town_code, district_code, nearest_grid_code, nearest_grid_m, deadline,
                  duplicate_of, repeat_count)
           OVERRIDING SYSTEM VALUE
           SELECT id, client_id, category, subcategory, source, priority, description, reporter,
                  ST_SetSRID(ST_MakePoint(lon, lat), 4326), reported_at, assigned, unit_code,
                  grid_code, village_code, town_code, district_code, nearest_grid_code,
                  nearest_grid_m, deadline, duplicate_of, repeat_count
             FROM r
           ON CONFLICT (client_id) WHERE client_id IS NOT NULL DO NOTHING
           RETURNING id
         )
         INSERT INTO event_transition (event_id, from_status, to_status, actor, at)
         SELECT r.id, NULL, 'reported', r.actor, r.reported_at FROM ins JOIN r USING (id)
         RETURNING event_id",
    )
    .bind(&ids)
    .bind(&client_ids)
    .bind(&categories)
    .bind(&subcategories)
    .bind(&sources)
    .bind(&priorities)
    .bind(&descriptions)
    .bind(&reporters)
    .bind(&lons)
    .bind(&lats)
    .bind(&reported)
    .bind(&assigned)
    .bind(chain(0))
    .bind(chain(1))
    .bind(chain(2))
    .bind(chain(3))
    .bind(chain(4))
    .bind(&nearest_code)
    .bind(&nearest_m)
    .bind(&deadlines)
    .bind(&dups)
    .bind(&counts)
    .bind(&actors)
    .fetch_all(conn)
    .await
    .op("inserting events")
}

/// Raises stored originals' repeat counts by the number of new repeats each got.
pub async fn bump_repeat_counts(
    conn: &mut PgConnection,
    bumps: &[(i64, i32)],
) -> Result<(), StoreError> {
    if bumps.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = bumps.iter().map(|b| b.0).collect();
    let ns: Vec<i32> = bumps.iter().map(|b| b.1).collect();
    sqlx::query(
        "UPDATE event e SET repeat_count = e.repeat_count + c.n, updated_at = now()
           FROM UNNEST($1::int8[], $2::int4[]) AS c(id, n) WHERE e.id = c.id",
    )
    .bind(&ids)
    .bind(&ns)
    .execute(conn)
    .await
    .op("counting repeats")?;
    Ok(())
}

/// Events by id, in any order.
pub async fn events_by_ids(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<EventRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(&format!("{EVENT_SELECT} WHERE e.id = ANY($1)"))
        .bind(ids)
        .fetch_all(conn)
        .await
        .op("reading events")
}

/// One event, its transitions (oldest first) and the ids of its repeats.
pub async fn event_detail(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<(EventRow, Vec<TransitionRow>, Vec<i64>)>, StoreError> {
    let Some(event) = sqlx::query_as::<_, EventRow>(&format!("{EVENT_SELECT} WHERE e.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .op("reading an event")?
    else {
        return Ok(None);
    };
    let transitions = sqlx::query_as(
        "SELECT from_status, to_status, actor, at, note FROM event_transition
          WHERE event_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .op("reading transitions")?;
    let repeats = sqlx::query_scalar("SELECT id FROM event WHERE duplicate_of = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .op("reading repeats")?;
    Ok(Some((event, transitions, repeats)))
}

/// Locks an event for a status change and returns its status (`None`: no such event).
pub async fn lock_status(conn: &mut PgConnection, id: i64) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT status FROM event WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
        .op("locking an event")
}

/// Moves a locked event to `to`, keeping resolved_at/closed_at true to the loop: set on
/// reaching resolved/closed, cleared when the event goes back to work, and logs the change.
pub async fn apply_transition(
    conn: &mut PgConnection,
    id: i64,
    from: &str,
    to: &str,
    actor: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE event SET status = $2,
                resolved_at = CASE WHEN $2 = 'resolved' THEN now()
                                   WHEN $2 IN ('in_progress', 'accepted', 'dispatched') THEN NULL
                                   ELSE resolved_at END,
                closed_at = CASE WHEN $2 = 'closed' THEN now() END,
                updated_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(to)
    .execute(&mut *conn)
    .await
    .op("changing an event's status")?;
    sqlx::query(
        "INSERT INTO event_transition (event_id, from_status, to_status, actor, note)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(actor)
    .bind(note)
    .execute(&mut *conn)
    .await
    .op("logging a transition")?;
    Ok(())
}

/// The level of an area code, if the code exists.
pub async fn area_level(store: &Store, code: &str) -> Result<Option<Level>, StoreError> {
    let rank: Option<i16> = sqlx::query_scalar("SELECT level FROM area WHERE code = $1")
        .bind(code)
        .fetch_optional(&store.pool)
        .await
        .op("looking up an area")?;
    Ok(rank.and_then(Level::from_rank))
}

/// The chain column of an area level (`None` for the city: every row with a chain). Events,
/// enterprises and the ledgers' tables name their frozen chains alike.
pub(super) fn chain_column(level: Level) -> Option<&'static str> {
    match level {
        Level::City => None,
        Level::District => Some("district_code"),
        Level::Town => Some("town_code"),
        Level::Village => Some("village_code"),
        Level::Grid => Some("grid_code"),
        Level::Unit => Some("unit_code"),
    }
}

/// The event filter in SQL (the in-memory view compiles the same filter in
/// `events::analytics::filter`; the two must select the same rows), newest first. `after` is
/// the keyset position: rows strictly older than (reported_at, id).
fn filtered(
    filter: &EventFilter,
    after: Option<(DateTime<Utc>, i64)>,
) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new(EVENT_SELECT);
    q.push(" WHERE true");
    if let Some([x0, y0, x1, y1]) = filter.bbox {
        q.push(" AND e.geom && ST_MakeEnvelope(");
        q.push_bind(x0);
        q.push(", ");
        q.push_bind(y0);
        q.push(", ");
        q.push_bind(x1);
        q.push(", ");
        q.push_bind(y1);
        q.push(", 4326)");
    }
    if let Some(area) = &filter.area {
        match chain_column(area.level) {
            Some(column) => {
                // `column` is one of our five fixed names, never user input.
                q.push(format!(" AND e.{column} = "));
                q.push_bind(area.code.clone());
            }
            None => {
                q.push(" AND e.district_code IS NOT NULL");
            }
        }
    }
    let codes = |v: Vec<&'static str>| v.into_iter().map(String::from).collect::<Vec<_>>();
    for (column, values) in [
        (
            "category",
            codes(filter.categories.iter().map(|c| c.code()).collect()),
        ),
        (
            "status",
            codes(filter.statuses.iter().map(|c| c.code()).collect()),
        ),
        (
            "source",
            codes(filter.sources.iter().map(|c| c.code()).collect()),
        ),
    ] {
        if !values.is_empty() {
            q.push(format!(" AND e.{column} = ANY("));
            q.push_bind(values);
            q.push(")");
        }
    }
    // Out-of-range instants (beyond year 262143) cannot be in the table: clamp to its ends.
    let instant = |t: i64| {
        DateTime::from_timestamp_micros(t).unwrap_or(if t < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
    };
    if let Some(from) = filter.from {
        q.push(" AND e.reported_at >= ");
        q.push_bind(instant(from));
    }
    if let Some(to) = filter.to {
        q.push(" AND e.reported_at < ");
        q.push_bind(instant(to));
    }
    if filter.overdue {
        q.push(" AND e.status NOT IN ('closed', 'rejected') AND e.deadline < now()");
    }
    if filter.unassigned {
        q.push(" AND NOT e.assigned");
    }
    if let Some((at, id)) = after {
        q.push(" AND (e.reported_at, e.id) < (");
        q.push_bind(at);
        q.push(", ");
        q.push_bind(id);
        q.push(")");
    }
    q.push(" ORDER BY e.reported_at DESC, e.id DESC");
    q
}

/// One page of events matching `filter` older than `after`, newest first: at most `limit` rows.
pub async fn list_events(
    store: &Store,
    filter: &EventFilter,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let mut q = filtered(filter, after);
    q.push(" LIMIT ");
    q.push_bind(limit);
    q.build_query_as::<EventRow>()
        .fetch_all(&store.pool)
        .await
        .op("listing events")
}

/// Every event matching `filter`, newest first, sent row by row into `tx` (the CSV export);
/// stops early when the receiver is dropped (the client went away).
pub async fn stream_events(
    store: &Store,
    filter: &EventFilter,
    tx: tokio::sync::mpsc::Sender<EventRow>,
) -> Result<(), StoreError> {
    let mut conn = store.pool.acquire().await.op("connecting for the export")?;
    let mut q = filtered(filter, None);
    let mut rows = q.build_query_as::<EventRow>().fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.op("streaming events")? {
        if tx.send(row).await.is_err() {
            break;
        }
    }
    Ok(())
}

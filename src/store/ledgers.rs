//! The SQL of the ledgers (基层一张表): each catalog field's expression, the statement a
//! checked `LedgerQuery` becomes, a page of it, and a cursor that streams all of it.
//!
//! Every value is bound; the only text put into a statement comes from the tables below.

use super::areas::escape_like;
use super::events::chain_column;
use super::{Op, Store, StoreError};
use crate::events::model::{Category, Priority, Source, Status};
use crate::ledgers::RawRow;
use crate::ledgers::catalog::{Field, FieldType};
use crate::ledgers::query::{LedgerQuery, TagMode};
use crate::model::Level;
use futures_util::Stream;
use sqlx::{Postgres, QueryBuilder, Row};

/// How many rows one FETCH of a streamed export reads.
pub const FETCH_ROWS: usize = 5000;

const AGE: &str = "date_part('year', age(current_date, p.birth_date))::int";
const AGE_BAND: &str = "CASE WHEN p.birth_date > current_date - interval '18 years' THEN '0-17' \
    WHEN p.birth_date > current_date - interval '35 years' THEN '18-34' \
    WHEN p.birth_date > current_date - interval '60 years' THEN '35-59' \
    WHEN p.birth_date > current_date - interval '80 years' THEN '60-79' ELSE '80+' END";

/// `CASE col WHEN code THEN label … END` over a vocabulary of our own (no input in it).
fn labels(col: &str, pairs: impl Iterator<Item = (&'static str, &'static str)>) -> String {
    let mut out = format!("CASE {col}");
    for (code, label) in pairs {
        out.push_str(&format!(" WHEN '{code}' THEN '{label}'"));
    }
    out.push_str(&format!(" ELSE {col} END"));
    out
}

/// The table (with alias) and the extra condition of each ledger.
fn table(ledger: &str) -> (&'static str, &'static str) {
    match ledger {
        "people" => ("person p", "TRUE"),
        "enterprises" => ("enterprise p", "TRUE"),
        "houses" => ("house p", "TRUE"),
        "projects" => ("profile_item p", "p.list = 'development'"),
        "cadres" => ("cadre p", "TRUE"),
        _ => ("event e", "TRUE"),
    }
}

/// The expression a field is filtered and sorted by.
fn raw(ledger: &str, f: &Field) -> String {
    let a = if ledger == "events" { "e" } else { "p" };
    match (ledger, f.name) {
        (_, _) if f.ty == FieldType::Area => {
            let level = f.area_level.unwrap_or(Level::Unit);
            format!("{a}.{}", chain_column(level).unwrap_or("unit_code"))
        }
        ("people", "age") => AGE.to_string(),
        ("people", "age_band") => AGE_BAND.to_string(),
        ("cadres", "age") => "(date_part('year', current_date)::int - p.birth_year)".to_string(),
        ("projects", "kind" | "funding") => format!("(p.doc->>'{}')", f.name),
        ("projects", "budget_wan" | "progress") => format!("(p.doc->>'{}')::float8", f.name),
        ("events", "category") => labels(
            "e.category",
            Category::ALL.iter().map(|c| (c.code(), c.label())),
        ),
        ("events", "status") => labels(
            "e.status",
            Status::ALL.iter().map(|c| (c.code(), c.label())),
        ),
        ("events", "source") => labels(
            "e.source",
            Source::ALL.iter().map(|c| (c.code(), c.label())),
        ),
        ("events", "priority") => labels(
            "e.priority",
            Priority::ALL.iter().map(|c| (c.code(), c.label())),
        ),
        ("projects", "state") => labels(
            "p.state",
            crate::profiles::items::List::Development
                .states()
                .iter()
                .copied()
                .zip(crate::ledgers::catalog::PROJECT_STATES.iter().copied()),
        ),
        (_, name) => format!("{a}.{name}"),
    }
}

/// The expression a field is read by, as text.
fn select(ledger: &str, f: &Field) -> String {
    let r = raw(ledger, f);
    match f.ty {
        FieldType::Time => {
            format!("to_char({r} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')")
        }
        FieldType::Tags => format!("array_to_string({r}, ',')"),
        _ => format!("({r})::text"),
    }
}

/// The column holding the row's area at `level`, if the ledger has one.
/// Projects and cadres belong to towns and villages: they have no grid or unit column.
fn area_column(ledger: &str, level: Level) -> Option<&'static str> {
    let has_grid = !matches!(ledger, "projects" | "cadres");
    match level {
        Level::Grid | Level::Unit if !has_grid => None,
        _ => chain_column(level),
    }
}

fn cast(f: &Field) -> &'static str {
    match f.ty {
        FieldType::Date => "date",
        FieldType::Time => "timestamptz",
        _ => "float8",
    }
}

fn push_from_where(qb: &mut QueryBuilder<'_, Postgres>, q: &LedgerQuery) {
    let l = q.ledger.name;
    let (tab, cond) = table(l);
    let a = if l == "events" { "e" } else { "p" };
    qb.push(" FROM ").push(tab).push(" WHERE ").push(cond);
    if let Some((level, code)) = &q.area {
        match area_column(l, *level) {
            Some(col) => {
                qb.push(format!(" AND {a}.{col} = "))
                    .push_bind(code.clone());
            }
            None => {
                qb.push(" AND FALSE");
            }
        }
    }
    if let (Some((mode, tags)), Some(tf)) = (&q.tags, q.ledger.tags_field()) {
        let op = if *mode == TagMode::Any { "&&" } else { "@>" };
        qb.push(format!(" AND {} {op} ", raw(l, tf)))
            .push_bind(tags.clone())
            .push("::text[]");
    }
    for (f, min, max) in &q.ranges {
        let e = raw(l, f);
        if let Some(b) = min {
            qb.push(format!(" AND {e} >= "))
                .push_bind(b.0.clone())
                .push(format!("::{}", cast(f)));
        }
        if let Some(b) = max {
            qb.push(format!(" AND {e} <= "))
                .push_bind(b.0.clone())
                .push(format!("::{}", cast(f)));
        }
    }
    for (f, vals) in &q.within {
        qb.push(format!(" AND ({})::text = ANY(", raw(l, f)))
            .push_bind(vals.clone())
            .push("::text[])");
    }
    for (f, s) in &q.contains {
        qb.push(format!(" AND ({})::text ILIKE ", raw(l, f)))
            .push_bind(format!("%{}%", escape_like(s)));
    }
    if let Some(t) = q.updated_since {
        qb.push(format!(" AND {a}.updated_at >= ")).push_bind(t);
    }
}

fn select_sql(q: &LedgerQuery, prefix: &str) -> QueryBuilder<'static, Postgres> {
    let l = q.ledger.name;
    let a = if l == "events" { "e" } else { "p" };
    let cols: Vec<String> = q.fields.iter().map(|f| select(l, f)).collect();
    let mut qb = QueryBuilder::new(format!("{prefix}SELECT {}", cols.join(", ")));
    push_from_where(&mut qb, q);
    let mut order: Vec<String> = q
        .sort
        .iter()
        .map(|(f, desc)| {
            format!(
                "{} {} NULLS LAST",
                raw(l, f),
                if *desc { "DESC" } else { "ASC" }
            )
        })
        .collect();
    order.push(format!("{a}.id"));
    qb.push(" ORDER BY ").push(order.join(", "));
    qb
}

fn raw_row(row: &sqlx::postgres::PgRow, n: usize) -> Result<RawRow, StoreError> {
    (0..n)
        .map(|i| {
            row.try_get::<Option<String>, _>(i)
                .op("reading a ledger row")
        })
        .collect()
}

/// A page of a ledger query, and the total when asked.
pub struct LedgerPage {
    pub rows: Vec<RawRow>,
    pub total: Option<i64>,
}

impl Store {
    /// One page (`q.size` rows from `q.offset`), and the number of matching rows if `q.count`.
    pub async fn ledger_page(&self, q: &LedgerQuery) -> Result<LedgerPage, StoreError> {
        let mut qb = select_sql(q, "");
        qb.push(" LIMIT ")
            .push_bind(q.size)
            .push(" OFFSET ")
            .push_bind(q.offset);
        let n = q.fields.len();
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .op("querying a ledger")?;
        let rows = rows
            .iter()
            .map(|r| raw_row(r, n))
            .collect::<Result<Vec<_>, _>>()?;
        let total = if q.count {
            let mut cb = QueryBuilder::new("SELECT count(*)");
            push_from_where(&mut cb, q);
            Some(
                cb.build_query_scalar::<i64>()
                    .fetch_one(&self.pool)
                    .await
                    .op("counting a ledger")?,
            )
        } else {
            None
        };
        Ok(LedgerPage { rows, total })
    }

    /// Every matching row, `FETCH_ROWS` at a time through a cursor in a read-only transaction.
    /// Dropping the stream (a client that goes away) ends the transaction, which closes the
    /// cursor and stops the query.
    pub fn ledger_stream(
        &self,
        q: &LedgerQuery,
    ) -> impl Stream<Item = Result<Vec<RawRow>, StoreError>> + Send + 'static {
        enum State {
            Start(sqlx::PgPool, Box<LedgerQuery>),
            Open(sqlx::Transaction<'static, Postgres>),
            Done,
        }
        let n = q.fields.len();
        let start = State::Start(self.pool.clone(), Box::new(q.clone()));
        futures_util::stream::unfold(start, move |state| async move {
            let mut tx = match state {
                State::Done => return None,
                State::Open(tx) => tx,
                State::Start(pool, q) => match open_cursor(&pool, &q).await {
                    Ok(tx) => tx,
                    Err(e) => return Some((Err(e), State::Done)),
                },
            };
            let fetched = sqlx::query(&format!("FETCH {FETCH_ROWS} FROM ledger_export"))
                .fetch_all(&mut *tx)
                .await
                .op("reading a ledger cursor");
            match fetched {
                Err(e) => Some((Err(e), State::Done)),
                Ok(rows) if rows.is_empty() => {
                    let _ = tx.commit().await;
                    None
                }
                Ok(rows) => {
                    let chunk = rows
                        .iter()
                        .map(|r| raw_row(r, n))
                        .collect::<Result<Vec<_>, _>>();
                    Some((chunk, State::Open(tx)))
                }
            }
        })
    }
}

async fn open_cursor(
    pool: &sqlx::PgPool,
    q: &LedgerQuery,
) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
    let mut tx = pool.begin().await.op("starting a ledger export")?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await
        .op("starting a ledger export")?;
    select_sql(q, "DECLARE ledger_export NO SCROLL CURSOR FOR ")
        .build()
        .execute(&mut *tx)
        .await
        .op("opening a ledger cursor")?;
    Ok(tx)
}

//! The SQL of enterprises (一企一档): each a point on the map with its assigned chain.

use super::areas::escape_like;
use super::events::chain_column;
use super::{Op, Store, StoreError};
use crate::model::Level;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgRow;

#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseRow {
    pub id: i64,
    pub name: String,
    pub credit_code: Option<String>,
    pub industry: String,
    pub scale: String,
    pub employees: i32,
    pub legal_person: String,
    pub phone: String,
    pub lon: f64,
    pub lat: f64,
    pub unit_code: Option<String>,
    pub grid_code: Option<String>,
    pub village_code: Option<String>,
    pub town_code: Option<String>,
    pub district_code: Option<String>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// A new or changed enterprise, with the chain its point was assigned to.
#[derive(Debug, Clone)]
pub struct EnterpriseWrite {
    pub name: String,
    pub credit_code: Option<String>,
    pub industry: String,
    pub scale: String,
    pub employees: i32,
    pub legal_person: String,
    pub phone: String,
    pub lon: f64,
    pub lat: f64,
    /// unit, grid, village, town, district
    pub chain: [Option<String>; 5],
}

const COLUMNS: &str = "id, name, credit_code, industry, scale, employees, legal_person, phone, ST_X(geom) AS lon, ST_Y(geom) AS lat,
    unit_code, grid_code, village_code, town_code, district_code, version, updated_at";

/// Binds `$1`…`$14` of an insert or update: the fields of `w` in `WRITE_COLUMNS` order.
fn bind_write<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    w: &'q EnterpriseWrite,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(&w.name)
        .bind(&w.credit_code)
        .bind(&w.industry)
        .bind(&w.scale)
        .bind(w.employees)
        .bind(&w.legal_person)
        .bind(&w.phone)
        .bind(w.lon)
        .bind(w.lat)
        .bind(&w.chain[0])
        .bind(&w.chain[1])
        .bind(&w.chain[2])
        .bind(&w.chain[3])
        .bind(&w.chain[4])
}

/// The written columns, and their values as `bind_write` binds them.
const WRITE_COLUMNS: &str =
    "(name, credit_code, industry, scale, employees, legal_person, phone, geom,
    unit_code, grid_code, village_code, town_code, district_code)";
const WRITE_VALUES: &str =
    "($1, $2, $3, $4, $5, $6, $7, ST_SetSRID(ST_MakePoint($8, $9), 4326), $10, $11, $12, $13, $14)";

fn row(r: &PgRow) -> Result<EnterpriseRow, StoreError> {
    let op = "reading an enterprise";
    Ok(EnterpriseRow {
        id: r.try_get("id").op(op)?,
        name: r.try_get("name").op(op)?,
        credit_code: r.try_get("credit_code").op(op)?,
        industry: r.try_get("industry").op(op)?,
        scale: r.try_get("scale").op(op)?,
        employees: r.try_get("employees").op(op)?,
        legal_person: r.try_get("legal_person").op(op)?,
        phone: r.try_get("phone").op(op)?,
        lon: r.try_get("lon").op(op)?,
        lat: r.try_get("lat").op(op)?,
        unit_code: r.try_get("unit_code").op(op)?,
        grid_code: r.try_get("grid_code").op(op)?,
        village_code: r.try_get("village_code").op(op)?,
        town_code: r.try_get("town_code").op(op)?,
        district_code: r.try_get("district_code").op(op)?,
        version: r.try_get("version").op(op)?,
        updated_at: r.try_get("updated_at").op(op)?,
    })
}

impl Store {
    /// Enterprises in the subtree of `area` (an area of the given level; the city is every
    /// enterprise) whose name contains `q`, by id, with the total.
    pub async fn enterprises(
        &self,
        area: Option<(Level, &str)>,
        q: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<EnterpriseRow>, i64), StoreError> {
        let op = "listing enterprises";
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
            "SELECT {COLUMNS}, count(*) OVER () AS total FROM enterprise WHERE TRUE"
        ));
        if let Some((col, code)) = area.and_then(|(level, code)| Some((chain_column(level)?, code)))
        {
            qb.push(format!(" AND {col} = "))
                .push_bind(code.to_string());
        }
        if let Some(q) = q {
            qb.push(" AND name ILIKE ")
                .push_bind(format!("%{}%", escape_like(q)));
        }
        qb.push(" ORDER BY id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = qb.build().fetch_all(&self.pool).await.op(op)?;
        let total = rows
            .first()
            .map(|r| r.try_get::<i64, _>("total"))
            .transpose()
            .op(op)?
            .unwrap_or(0);
        Ok((rows.iter().map(row).collect::<Result<_, _>>()?, total))
    }

    pub async fn enterprise(&self, id: i64) -> Result<Option<EnterpriseRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM enterprise WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .op("reading an enterprise")?;
        r.as_ref().map(row).transpose()
    }

    pub async fn insert_enterprise(
        &self,
        w: &EnterpriseWrite,
    ) -> Result<EnterpriseRow, StoreError> {
        let sql = format!(
            "INSERT INTO enterprise {WRITE_COLUMNS} VALUES {WRITE_VALUES} RETURNING {COLUMNS}"
        );
        let r = bind_write(sqlx::query(&sql), w)
            .fetch_one(&self.pool)
            .await
            .op("adding an enterprise")?;
        row(&r)
    }

    /// Changes enterprise `id` if its version is `expected`.
    pub async fn update_enterprise(
        &self,
        id: i64,
        expected: i32,
        w: &EnterpriseWrite,
    ) -> Result<super::profiles::Write<EnterpriseRow>, StoreError> {
        use super::profiles::Write;
        let op = "changing an enterprise";
        let mut tx = self.pool.begin().await.op(op)?;
        match super::profiles::locked_version(&mut tx, "enterprise", id).await? {
            None => return Ok(Write::Missing),
            Some(v) if v != expected => return Ok(Write::Conflict(v)),
            Some(_) => {}
        }
        // `$15` is the id; the columns are set as an insert writes them.
        let sql = format!(
            "UPDATE enterprise SET {WRITE_COLUMNS} = {WRITE_VALUES}, version = version + 1, updated_at = now()
              WHERE id = $15 RETURNING {COLUMNS}"
        );
        let r = bind_write(sqlx::query(&sql), w)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .op(op)?;
        tx.commit().await.op(op)?;
        Ok(Write::Stored(row(&r)?))
    }
}

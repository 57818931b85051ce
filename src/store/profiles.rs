//! The SQL of profiles (一村一档): the versioned introduction, the three lists, enterprises.

use super::{Op, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// A stored version of a profile's introduction.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    pub code: String,
    pub version: i32,
    pub doc: Value,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub note: String,
}

/// What a versioned write did.
#[derive(Debug)]
pub enum Write<T> {
    Stored(T),
    /// The row has moved on: its current version.
    Conflict(i32),
    /// No such row.
    Missing,
}

/// A stored list item.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub area_code: String,
    pub list: String,
    pub title: String,
    pub state: String,
    pub owner: String,
    pub doc: Value,
    pub origin: Option<(String, i64)>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new or changed item.
#[derive(Debug, Clone)]
pub struct ItemWrite {
    pub title: String,
    pub state: String,
    pub owner: String,
    pub doc: Value,
}

/// The frozen chain of a town or village (for the projects ledger).
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub village: Option<String>,
    pub town: Option<String>,
    pub district: Option<String>,
}

fn profile_row(r: &PgRow) -> Result<ProfileRow, StoreError> {
    let op = "reading a profile";
    Ok(ProfileRow {
        code: r.try_get("code").op(op)?,
        version: r.try_get("version").op(op)?,
        doc: r.try_get("doc").op(op)?,
        updated_by: r.try_get("updated_by").op(op)?,
        updated_at: r.try_get("updated_at").op(op)?,
        note: r.try_get("note").op(op)?,
    })
}

const ITEM_COLUMNS: &str = "id, area_code, list, title, state, owner, doc, origin_list, origin_id, version, created_by, created_at, updated_at";

fn item_row(r: &PgRow) -> Result<ItemRow, StoreError> {
    let op = "reading a list item";
    let origin_list: Option<String> = r.try_get("origin_list").op(op)?;
    let origin_id: Option<i64> = r.try_get("origin_id").op(op)?;
    Ok(ItemRow {
        id: r.try_get("id").op(op)?,
        area_code: r.try_get("area_code").op(op)?,
        list: r.try_get("list").op(op)?,
        title: r.try_get("title").op(op)?,
        state: r.try_get("state").op(op)?,
        owner: r.try_get("owner").op(op)?,
        doc: r.try_get("doc").op(op)?,
        origin: origin_list.zip(origin_id),
        version: r.try_get("version").op(op)?,
        created_by: r.try_get("created_by").op(op)?,
        created_at: r.try_get("created_at").op(op)?,
        updated_at: r.try_get("updated_at").op(op)?,
    })
}

/// The version of row `id` of `table` (`profile_item` or `enterprise`), locked until the
/// transaction ends; None if there is no such row.
pub(super) async fn locked_version(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    table: &'static str,
    id: i64,
) -> Result<Option<i32>, StoreError> {
    sqlx::query_scalar(&format!(
        "SELECT version FROM {table} WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
    .op("locking a row")
}

impl Store {
    /// The current profile of `code`, or version `version` of it.
    pub async fn profile(
        &self,
        code: &str,
        version: Option<i32>,
    ) -> Result<Option<ProfileRow>, StoreError> {
        let row = match version {
            None => sqlx::query("SELECT code, version, doc, updated_by, updated_at, note FROM profile WHERE code = $1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await,
            Some(v) => sqlx::query(
                "SELECT code, version, doc, updated_by, updated_at, note FROM profile_version WHERE code = $1 AND version = $2",
            )
            .bind(code)
            .bind(v)
            .fetch_optional(&self.pool)
            .await,
        }
        .op("reading a profile")?;
        row.as_ref().map(profile_row).transpose()
    }

    /// Stores `doc` as the next version of `code`'s profile if its current version is
    /// `expected` (0: the profile must not exist yet). Row-locked, so of two concurrent edits
    /// from the same version exactly one is stored.
    pub async fn put_profile(
        &self,
        code: &str,
        expected: i32,
        doc: &Value,
        by: &str,
        note: &str,
    ) -> Result<Write<ProfileRow>, StoreError> {
        let op = "storing a profile";
        let mut tx = self.pool.begin().await.op(op)?;
        let current: Option<i32> =
            sqlx::query_scalar("SELECT version FROM profile WHERE code = $1 FOR UPDATE")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await
                .op(op)?;
        let now = current.unwrap_or(0);
        if now != expected {
            return Ok(Write::Conflict(now));
        }
        let row = sqlx::query(
            "INSERT INTO profile (code, version, doc, updated_by, updated_at, note) VALUES ($1, $2, $3, $4, now(), $5)
             ON CONFLICT (code) DO UPDATE SET version = EXCLUDED.version, doc = EXCLUDED.doc,
                 updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at, note = EXCLUDED.note
             RETURNING code, version, doc, updated_by, updated_at, note",
        )
        .bind(code)
        .bind(now + 1)
        .bind(doc)
        .bind(by)
        .bind(note)
        .fetch_one(&mut *tx)
        .await
        .op(op)?;
        let row = profile_row(&row)?;
        sqlx::query(
            "INSERT INTO profile_version (code, version, doc, updated_by, updated_at, note) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.code)
        .bind(row.version)
        .bind(&row.doc)
        .bind(&row.updated_by)
        .bind(row.updated_at)
        .bind(&row.note)
        .execute(&mut *tx)
        .await
        .op(op)?;
        tx.commit().await.op(op)?;
        Ok(Write::Stored(row))
    }

    /// Every version of `code`'s profile, newest first (documents left out).
    pub async fn profile_history(&self, code: &str) -> Result<Vec<ProfileRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT code, version, '{}'::jsonb AS doc, updated_by, updated_at, note FROM profile_version
              WHERE code = $1 ORDER BY version DESC",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .op("reading a profile's history")?;
        rows.iter().map(profile_row).collect()
    }

    /// The area of `code` on the ellipsoid, km².
    pub async fn area_km2(&self, code: &str) -> Result<Option<f64>, StoreError> {
        sqlx::query_scalar("SELECT ST_Area(geom::geography) / 1e6 FROM area WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .op("measuring an area")
    }

    /// The codes of the grids directly under `code`.
    pub async fn grid_codes(&self, code: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT code FROM area WHERE parent_code = $1 AND level = 4 ORDER BY code",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .op("listing grids")
    }

    /// The items of one list of `code`, newest first.
    pub async fn items(&self, code: &str, list: &str) -> Result<Vec<ItemRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM profile_item WHERE area_code = $1 AND list = $2 ORDER BY id DESC"
        ))
        .bind(code)
        .bind(list)
        .fetch_all(&self.pool)
        .await
        .op("listing items")?;
        rows.iter().map(item_row).collect()
    }

    /// How many items each list of `code` has.
    pub async fn item_counts(&self, code: &str) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as("SELECT list, count(*) FROM profile_item WHERE area_code = $1 GROUP BY list")
            .bind(code)
            .fetch_all(&self.pool)
            .await
            .op("counting items")
    }

    pub async fn item(&self, id: i64) -> Result<Option<ItemRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM profile_item WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .op("reading an item")?;
        row.as_ref().map(item_row).transpose()
    }

    pub async fn insert_item(
        &self,
        code: &str,
        list: &str,
        chain: &Chain,
        w: &ItemWrite,
        origin: Option<(&str, i64)>,
        by: &str,
    ) -> Result<ItemRow, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO profile_item (area_code, list, title, state, owner, doc, origin_list, origin_id, created_by,
                                       village_code, town_code, district_code)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {ITEM_COLUMNS}"
        ))
        .bind(code)
        .bind(list)
        .bind(&w.title)
        .bind(&w.state)
        .bind(&w.owner)
        .bind(&w.doc)
        .bind(origin.map(|o| o.0))
        .bind(origin.map(|o| o.1))
        .bind(by)
        .bind(&chain.village)
        .bind(&chain.town)
        .bind(&chain.district)
        .fetch_one(&self.pool)
        .await
        .op("adding an item")?;
        item_row(&row)
    }

    /// Changes item `id` if its version is `expected`.
    pub async fn update_item(
        &self,
        id: i64,
        expected: i32,
        w: &ItemWrite,
    ) -> Result<Write<ItemRow>, StoreError> {
        let op = "changing an item";
        let mut tx = self.pool.begin().await.op(op)?;
        let current = locked_version(&mut tx, "profile_item", id).await?;
        match current {
            None => return Ok(Write::Missing),
            Some(v) if v != expected => return Ok(Write::Conflict(v)),
            Some(_) => {}
        }
        let row = sqlx::query(&format!(
            "UPDATE profile_item SET title = $2, state = $3, owner = $4,
                    doc = $5 || jsonb_strip_nulls(jsonb_build_object('promoted_to', doc->'promoted_to')),
                    version = version + 1, updated_at = now()
              WHERE id = $1 RETURNING {ITEM_COLUMNS}"
        ))
        .bind(id)
        .bind(&w.title)
        .bind(&w.state)
        .bind(&w.owner)
        .bind(&w.doc)
        .fetch_one(&mut *tx)
        .await
        .op(op)?;
        tx.commit().await.op(op)?;
        Ok(Write::Stored(item_row(&row)?))
    }

    pub async fn delete_item(&self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM profile_item WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .op("deleting an item")?
            .rows_affected();
        Ok(n > 0)
    }

    /// Promotes problem `id` (of `code`) to a new item of `to`: the new item points back at the
    /// problem, the problem becomes `promoted` and points at it. None if the problem is missing
    /// or already promoted (`Err(Some(existing))`).
    pub async fn promote_problem(
        &self,
        id: i64,
        to: &str,
        chain: &Chain,
        w: &ItemWrite,
        by: &str,
    ) -> Result<Write<ItemRow>, StoreError> {
        let op = "promoting a problem";
        let mut tx = self.pool.begin().await.op(op)?;
        let problem = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM profile_item WHERE id = $1 AND list = 'problems' FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .op(op)?;
        let Some(problem) = problem.as_ref().map(item_row).transpose()? else {
            return Ok(Write::Missing);
        };
        if problem.state == "promoted" {
            return Ok(Write::Conflict(problem.version));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO profile_item (area_code, list, title, state, owner, doc, origin_list, origin_id, created_by,
                                       village_code, town_code, district_code)
             VALUES ($1, $2, $3, $4, $5, $6, 'problems', $7, $8, $9, $10, $11) RETURNING {ITEM_COLUMNS}"
        ))
        .bind(&problem.area_code)
        .bind(to)
        .bind(&w.title)
        .bind(&w.state)
        .bind(&w.owner)
        .bind(&w.doc)
        .bind(id)
        .bind(by)
        .bind(&chain.village)
        .bind(&chain.town)
        .bind(&chain.district)
        .fetch_one(&mut *tx)
        .await
        .op(op)?;
        let created = item_row(&row)?;
        sqlx::query(
            "UPDATE profile_item SET state = 'promoted', version = version + 1, updated_at = now(),
                    doc = doc || jsonb_build_object('promoted_to', jsonb_build_object('list', $2::text, 'id', $3::bigint))
              WHERE id = $1",
        )
        .bind(id)
        .bind(to)
        .bind(created.id)
        .execute(&mut *tx)
        .await
        .op(op)?;
        tx.commit().await.op(op)?;
        Ok(Write::Stored(created))
    }

    /// The names of the event categories (to check a problem's category).
    pub async fn event_category_codes(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT code FROM event_category ORDER BY sort")
            .fetch_all(&self.pool)
            .await
            .op("reading event categories")
    }
}

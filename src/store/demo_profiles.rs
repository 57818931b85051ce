//! Writing the demo profiles, lists and ledgers in bulk: one transaction that empties the
//! tables, COPYs the rows and commits. What the rows say is `crate::profiles::demo`'s business.

use super::{Op, Store, StoreError};
use sqlx::{Postgres, Transaction};

/// The tables the demo fills, emptied first.
const TABLES: &str = "profile, profile_version, profile_item, enterprise, person, house, cadre";

/// A repeated problem spot of the demo events: events of one category in one ~100 m cell of a
/// village in the last 365 days.
#[derive(Debug, Clone)]
pub struct EventCell {
    pub village: String,
    pub category: String,
    pub count: i64,
    pub lon: f64,
    pub lat: f64,
    pub ids: Vec<i64>,
}

/// The transaction of a bulk load. Dropped without `commit`, it rolls back.
pub struct ProfileLoad {
    tx: Transaction<'static, Postgres>,
}

impl Store {
    /// How many profiles are stored.
    pub async fn profile_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM profile")
            .fetch_one(&self.pool)
            .await
            .op("counting profiles")
    }

    /// The cells with at least `min_count` events of one category in the last 365 days, per
    /// village, largest first.
    pub async fn event_cells(&self, min_count: i64) -> Result<Vec<EventCell>, StoreError> {
        let rows: Vec<(String, String, i64, f64, f64, Vec<i64>)> = sqlx::query_as(
            "SELECT village_code, category, count(*), avg(ST_X(geom)), avg(ST_Y(geom)),
                    (array_agg(id ORDER BY id DESC))[1:200]
               FROM event
              WHERE village_code IS NOT NULL AND reported_at > now() - interval '365 days'
              GROUP BY village_code, category, ST_SnapToGrid(geom, 0.001)
             HAVING count(*) >= $1
              ORDER BY village_code, count(*) DESC",
        )
        .bind(min_count)
        .fetch_all(&self.pool)
        .await
        .op("finding repeated event spots")?;
        Ok(rows
            .into_iter()
            .map(|(village, category, count, lon, lat, ids)| EventCell {
                village,
                category,
                count,
                lon,
                lat,
                ids,
            })
            .collect())
    }

    /// Starts a load: empties the demo tables in a transaction.
    pub async fn begin_profile_load(&self) -> Result<ProfileLoad, StoreError> {
        let mut tx = self.pool.begin().await.op("starting the profile load")?;
        sqlx::query(&format!("TRUNCATE {TABLES} RESTART IDENTITY"))
            .execute(&mut *tx)
            .await
            .op("emptying the profile tables")?;
        Ok(ProfileLoad { tx })
    }
}

/// Column lists of the COPYs, in the order `profiles::demo` writes them.
pub const COPY_PROFILE: &str =
    "COPY profile (code, version, doc, updated_by, updated_at, note) FROM STDIN";
pub const COPY_PROFILE_VERSION: &str =
    "COPY profile_version (code, version, doc, updated_by, updated_at, note) FROM STDIN";
pub const COPY_ITEM: &str = "COPY profile_item (id, area_code, list, title, state, owner, doc, origin_list, origin_id, \
     created_by, village_code, town_code, district_code) FROM STDIN";
pub const COPY_PERSON: &str = "COPY person (name, id_number, phone, sex, birth_date, household, relation, residence, tags, \
     unit_code, grid_code, village_code, town_code, district_code) FROM STDIN";
pub const COPY_HOUSE: &str = "COPY house (name, use, floors, floor_area_m2, built_year, owner, owner_phone, unit_code, \
     grid_code, village_code, town_code, district_code) FROM STDIN";
pub const COPY_ENTERPRISE: &str = "COPY enterprise (name, credit_code, industry, scale, employees, legal_person, phone, geom, \
     unit_code, grid_code, village_code, town_code, district_code) FROM STDIN";
pub const COPY_CADRE: &str = "COPY cadre (name, kind, role, sex, birth_year, education, phone, area_code, village_code, \
     town_code, district_code) FROM STDIN";

impl ProfileLoad {
    /// COPYs `chunks` of rows in COPY text format with `statement` (one of the `COPY_*`).
    pub async fn copy(
        &mut self,
        statement: &'static str,
        chunks: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<u64, StoreError> {
        let mut c = self.tx.copy_in_raw(statement).await.op("starting a COPY")?;
        for chunk in chunks {
            c.send(chunk).await.op("copying demo rows")?;
        }
        c.finish().await.op("finishing a COPY")
    }

    /// Moves the item id sequence past the copied ids, commits, and refreshes statistics.
    pub async fn commit(mut self, store: &Store) -> Result<(), StoreError> {
        sqlx::query("SELECT setval(pg_get_serial_sequence('profile_item', 'id'), greatest((SELECT max(id) FROM profile_item), 1))")
            .execute(&mut *self.tx)
            .await
            .op("moving the item ids on")?;
        self.tx.commit().await.op("committing the profiles")?;
        for t in TABLES.split(", ") {
            sqlx::query(&format!("ANALYZE {t}"))
                .execute(&store.pool)
                .await
                .op("analyzing")?;
        }
        Ok(())
    }
}

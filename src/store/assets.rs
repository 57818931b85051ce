//! The SQL of fire protection (issue #12): assets, sensor readings and fire alerts.

use super::profiles::{Write, locked_version};
use super::{Op, Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// An asset as stored.
#[derive(Debug, Clone)]
pub struct AssetRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    /// GeoJSON of the geometry.
    pub geojson: String,
    pub props: Value,
    pub in_service: bool,
    /// unit, grid, village, town, district
    pub chain: [Option<String>; 5],
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub alarm_event_id: Option<i64>,
}

/// A new or changed asset, with the chain its point was assigned to.
#[derive(Debug, Clone)]
pub struct AssetWrite {
    pub kind: &'static str,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub geojson: String,
    pub props: Value,
    pub in_service: bool,
    pub chain: [Option<String>; 5],
}

const COLUMNS: &str = "id, kind, name, ST_X(point) AS lon, ST_Y(point) AS lat, ST_AsGeoJSON(geom, 9) AS geojson,
    props, in_service, unit_code, grid_code, village_code, town_code, district_code, version, updated_at,
    retired_at, alarm_event_id";
const WRITE_COLUMNS: &str = "(kind, name, point, geom, props, in_service,
    unit_code, grid_code, village_code, town_code, district_code)";
const WRITE_VALUES: &str =
    "($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326), ST_SetSRID(ST_GeomFromGeoJSON($5), 4326),
    $6, $7, $8, $9, $10, $11, $12)";

fn bind_write<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    w: &'q AssetWrite,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(w.kind)
        .bind(&w.name)
        .bind(w.lon)
        .bind(w.lat)
        .bind(&w.geojson)
        .bind(&w.props)
        .bind(w.in_service)
        .bind(&w.chain[0])
        .bind(&w.chain[1])
        .bind(&w.chain[2])
        .bind(&w.chain[3])
        .bind(&w.chain[4])
}

fn asset_row(r: &PgRow) -> Result<AssetRow, StoreError> {
    let op = "reading an asset";
    Ok(AssetRow {
        id: r.try_get("id").op(op)?,
        kind: r.try_get("kind").op(op)?,
        name: r.try_get("name").op(op)?,
        lon: r.try_get("lon").op(op)?,
        lat: r.try_get("lat").op(op)?,
        geojson: r.try_get("geojson").op(op)?,
        props: r.try_get("props").op(op)?,
        in_service: r.try_get("in_service").op(op)?,
        chain: [
            r.try_get("unit_code").op(op)?,
            r.try_get("grid_code").op(op)?,
            r.try_get("village_code").op(op)?,
            r.try_get("town_code").op(op)?,
            r.try_get("district_code").op(op)?,
        ],
        version: r.try_get("version").op(op)?,
        updated_at: r.try_get("updated_at").op(op)?,
        retired_at: r.try_get("retired_at").op(op)?,
        alarm_event_id: r.try_get("alarm_event_id").op(op)?,
    })
}

/// A fire alert as stored.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub message: String,
    pub asset_id: Option<i64>,
    pub event_id: Option<i64>,
    /// The vessel of a vessel alert.
    pub mmsi: Option<i32>,
    /// village, town, district
    pub chain: [Option<String>; 3],
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub detail: Value,
    pub raised_at: DateTime<Utc>,
    pub acked_at: Option<DateTime<Utc>>,
    pub acked_by: Option<String>,
    pub note: Option<String>,
}

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: &'static str,
    pub subject: String,
    pub message: String,
    pub asset_id: Option<i64>,
    pub event_id: Option<i64>,
    pub mmsi: Option<i32>,
    pub chain: [Option<String>; 3],
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub detail: Value,
}

const ALERT_COLUMNS: &str =
    "id, kind, subject, message, asset_id, event_id, mmsi, village_code, town_code,
    district_code, lon, lat, detail, raised_at, acked_at, acked_by, note";

fn alert_row(r: &PgRow) -> Result<AlertRow, StoreError> {
    let op = "reading an alert";
    Ok(AlertRow {
        id: r.try_get("id").op(op)?,
        kind: r.try_get("kind").op(op)?,
        subject: r.try_get("subject").op(op)?,
        message: r.try_get("message").op(op)?,
        asset_id: r.try_get("asset_id").op(op)?,
        event_id: r.try_get("event_id").op(op)?,
        mmsi: r.try_get("mmsi").op(op)?,
        chain: [
            r.try_get("village_code").op(op)?,
            r.try_get("town_code").op(op)?,
            r.try_get("district_code").op(op)?,
        ],
        lon: r.try_get("lon").op(op)?,
        lat: r.try_get("lat").op(op)?,
        detail: r.try_get("detail").op(op)?,
        raised_at: r.try_get("raised_at").op(op)?,
        acked_at: r.try_get("acked_at").op(op)?,
        acked_by: r.try_get("acked_by").op(op)?,
        note: r.try_get("note").op(op)?,
    })
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// None: all; Some(true): open only; Some(false): acknowledged only.
    pub open: Option<bool>,
    /// (chain column, code): `village_code`, `town_code` or `district_code`.
    pub area: Option<(&'static str, String)>,
    pub kind: Option<&'static str>,
    /// The kinds of one domain (fire, vessels); empty: every kind.
    pub kinds: Vec<&'static str>,
    pub limit: i64,
}

/// How an acknowledgement ended.
pub enum Ack {
    Done(AlertRow),
    Already(AlertRow),
    Missing,
}

impl Store {
    /// Every asset in service or out, retired ones excluded.
    pub async fn assets(&self) -> Result<Vec<AssetRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM asset WHERE retired_at IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .op("reading assets")?;
        rows.iter().map(asset_row).collect()
    }

    /// The assets with these ids, retired ones included.
    pub async fn assets_by_id(&self, ids: &[i64]) -> Result<Vec<AssetRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM asset WHERE id = ANY($1) ORDER BY id"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .op("reading assets")?;
        rows.iter().map(asset_row).collect()
    }

    pub async fn insert_asset(&self, w: &AssetWrite) -> Result<AssetRow, StoreError> {
        let sql =
            format!("INSERT INTO asset {WRITE_COLUMNS} VALUES {WRITE_VALUES} RETURNING {COLUMNS}");
        let r = bind_write(sqlx::query(&sql), w)
            .fetch_one(&self.pool)
            .await
            .op("adding an asset")?;
        asset_row(&r)
    }

    /// Adds many assets in one statement (imports and the demo): ids in the order given.
    pub async fn insert_assets(&self, ws: &[AssetWrite]) -> Result<Vec<i64>, StoreError> {
        let op = "adding assets";
        if ws.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.op(op)?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('asset', 'id')) FROM generate_series(1, $1)",
        )
        .bind(ws.len() as i64)
        .fetch_all(&mut *tx)
        .await
        .op(op)?;
        let col = |f: &dyn Fn(&AssetWrite) -> Option<String>| ws.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO asset (id, kind, name, point, geom, props, in_service,
                    unit_code, grid_code, village_code, town_code, district_code)
             SELECT id, kind, name, ST_SetSRID(ST_MakePoint(lon, lat), 4326),
                    ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326), props, in_service, u, g, v, t, d
               FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[],
                           $7::jsonb[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
                 AS x(id, kind, name, lon, lat, geojson, props, in_service, u, g, v, t, d)",
        )
        .bind(&ids)
        .bind(col(&|w| Some(w.kind.to_string())))
        .bind(col(&|w| Some(w.name.clone())))
        .bind(ws.iter().map(|w| w.lon).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| w.lat).collect::<Vec<_>>())
        .bind(col(&|w| Some(w.geojson.clone())))
        .bind(ws.iter().map(|w| w.props.clone()).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| w.in_service).collect::<Vec<_>>())
        .bind(col(&|w| w.chain[0].clone()))
        .bind(col(&|w| w.chain[1].clone()))
        .bind(col(&|w| w.chain[2].clone()))
        .bind(col(&|w| w.chain[3].clone()))
        .bind(col(&|w| w.chain[4].clone()))
        .execute(&mut *tx)
        .await
        .op(op)?;
        tx.commit().await.op(op)?;
        Ok(ids)
    }

    /// Changes asset `id` if its version is `expected` (its kind stays).
    pub async fn update_asset(
        &self,
        id: i64,
        expected: i32,
        w: &AssetWrite,
    ) -> Result<Write<AssetRow>, StoreError> {
        let op = "changing an asset";
        let mut tx = self.pool.begin().await.op(op)?;
        match locked_version(&mut tx, "asset", id).await? {
            None => return Ok(Write::Missing),
            Some(v) if v != expected => return Ok(Write::Conflict(v)),
            Some(_) => {}
        }
        let sql = format!(
            "UPDATE asset SET {WRITE_COLUMNS} = {WRITE_VALUES}, version = version + 1, updated_at = now()
              WHERE id = $13 AND retired_at IS NULL RETURNING {COLUMNS}"
        );
        let r = bind_write(sqlx::query(&sql), w)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .op(op)?;
        tx.commit().await.op(op)?;
        match r {
            Some(r) => Ok(Write::Stored(asset_row(&r)?)),
            None => Ok(Write::Missing),
        }
    }

    /// Retires asset `id`; None if there is no such asset in service.
    pub async fn retire_asset(&self, id: i64) -> Result<Option<AssetRow>, StoreError> {
        let r = sqlx::query(&format!(
            "UPDATE asset SET retired_at = now(), version = version + 1, updated_at = now()
              WHERE id = $1 AND retired_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .op("retiring an asset")?;
        r.as_ref().map(asset_row).transpose()
    }

    /// Records the event a sensor's alarm opened (or none).
    pub async fn set_alarm_event(&self, sensor: i64, event: Option<i64>) -> Result<(), StoreError> {
        // Not a change of the asset itself: the version stays, but the feed hears of it.
        sqlx::query("UPDATE asset SET alarm_event_id = $2 WHERE id = $1")
            .bind(sensor)
            .bind(event)
            .execute(&self.pool)
            .await
            .op("recording a sensor's alarm event")?;
        Ok(())
    }

    /// Stores readings (parallel arrays); a reading whose sensor and time are stored already
    /// is skipped. Answers, per row, whether it was new. Committed when this returns.
    pub async fn insert_readings(
        &self,
        sensors: &[i64],
        ats: &[DateTime<Utc>],
        values: &[f64],
    ) -> Result<Vec<bool>, StoreError> {
        let op = "storing sensor readings";
        let rows = sqlx::query(
            "WITH input AS (
                 SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[]) WITH ORDINALITY
                     AS t(sensor_id, at, value, n)),
             ins AS (
                 INSERT INTO sensor_reading (sensor_id, at, value)
                 SELECT DISTINCT ON (sensor_id, at) sensor_id, at, value FROM input ORDER BY sensor_id, at, n
                 ON CONFLICT DO NOTHING RETURNING sensor_id, at)
             SELECT min(input.n) AS n FROM ins JOIN input USING (sensor_id, at) GROUP BY sensor_id, at",
        )
        .bind(sensors)
        .bind(ats)
        .bind(values)
        .fetch_all(&self.pool)
        .await
        .op(op)?;
        let mut fresh = vec![false; sensors.len()];
        for r in rows {
            let n: i64 = r.try_get("n").op(op)?;
            if let Some(f) = fresh.get_mut((n - 1) as usize) {
                *f = true;
            }
        }
        Ok(fresh)
    }

    /// The latest reading time and value of every sensor that has one.
    pub async fn latest_readings(&self) -> Result<Vec<(i64, DateTime<Utc>, f64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT ON (sensor_id) sensor_id, at, value FROM sensor_reading
              ORDER BY sensor_id, at DESC",
        )
        .fetch_all(&self.pool)
        .await
        .op("reading the latest sensor readings")?;
        rows.iter()
            .map(|r| {
                let op = "reading the latest sensor readings";
                Ok((
                    r.try_get("sensor_id").op(op)?,
                    r.try_get("at").op(op)?,
                    r.try_get("value").op(op)?,
                ))
            })
            .collect()
    }

    /// Whether event `id` is open (None: no such event).
    pub async fn event_is_open(&self, id: i64) -> Result<Option<bool>, StoreError> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM event WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .op("reading an event's status")?;
        Ok(status.map(|s| !matches!(s.as_str(), "closed" | "rejected")))
    }

    /// Raises an alert unless one of its kind and subject is open: the new row, or None.
    pub async fn raise_alert(&self, a: &NewAlert) -> Result<Option<AlertRow>, StoreError> {
        let r = sqlx::query(&format!(
            "INSERT INTO fire_alert (kind, subject, message, asset_id, event_id, village_code, town_code,
                    district_code, lon, lat, detail, mmsi)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (kind, subject) WHERE acked_at IS NULL DO NOTHING
             RETURNING {ALERT_COLUMNS}"
        ))
        .bind(a.kind)
        .bind(&a.subject)
        .bind(&a.message)
        .bind(a.asset_id)
        .bind(a.event_id)
        .bind(&a.chain[0])
        .bind(&a.chain[1])
        .bind(&a.chain[2])
        .bind(a.lon)
        .bind(a.lat)
        .bind(&a.detail)
        .bind(a.mmsi)
        .fetch_optional(&self.pool)
        .await
        .op("raising an alert")?;
        r.as_ref().map(alert_row).transpose()
    }

    pub async fn alerts(&self, q: &AlertQuery) -> Result<Vec<AlertRow>, StoreError> {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
            "SELECT {ALERT_COLUMNS} FROM fire_alert WHERE TRUE"
        ));
        match q.open {
            Some(true) => {
                qb.push(" AND acked_at IS NULL");
            }
            Some(false) => {
                qb.push(" AND acked_at IS NOT NULL");
            }
            None => {}
        }
        if let Some((col, code)) = &q.area {
            qb.push(format!(" AND {col} = ")).push_bind(code.clone());
        }
        if let Some(k) = q.kind {
            qb.push(" AND kind = ").push_bind(k);
        }
        if !q.kinds.is_empty() {
            qb.push(" AND kind = ANY(")
                .push_bind(q.kinds.clone())
                .push(")");
        }
        qb.push(" ORDER BY raised_at DESC, id DESC LIMIT ")
            .push_bind(q.limit);
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .op("listing alerts")?;
        rows.iter().map(alert_row).collect()
    }

    pub async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
    ) -> Result<Ack, StoreError> {
        let op = "acknowledging an alert";
        let r = sqlx::query(&format!(
            "UPDATE fire_alert SET acked_at = now(), acked_by = $2, note = $3
              WHERE id = $1 AND acked_at IS NULL RETURNING {ALERT_COLUMNS}"
        ))
        .bind(id)
        .bind(by)
        .bind(note)
        .fetch_optional(&self.pool)
        .await
        .op(op)?;
        if let Some(r) = r {
            return Ok(Ack::Done(alert_row(&r)?));
        }
        let r = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM fire_alert WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .op(op)?;
        Ok(match r {
            Some(r) => Ack::Already(alert_row(&r)?),
            None => Ack::Missing,
        })
    }

    /// Deletes every asset, reading and alert (`import demo-assets --replace`).
    pub async fn delete_assets(&self) -> Result<(), StoreError> {
        sqlx::query("TRUNCATE asset, sensor_reading, fire_alert")
            .execute(&self.pool)
            .await
            .op("deleting assets")?;
        Ok(())
    }

    /// How many assets are stored (the demo import's emptiness test).
    pub async fn asset_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM asset")
            .fetch_one(&self.pool)
            .await
            .op("counting assets")
    }
}

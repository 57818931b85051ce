//! The SQL of vessel monitoring (issue #11): the registry, harbours, closures, zones, positions
//! (partitioned by day, written by COPY) and vessel events.

use super::{Op, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use geo::{LineString, Polygon};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use std::fmt::Write as _;

/// A registry row.
#[derive(Debug, Clone, PartialEq)]
pub struct VesselRow {
    pub mmsi: i32,
    pub name: Option<String>,
    pub call_sign: Option<String>,
    pub ship_type: Option<i16>,
    pub class: Option<String>,
    pub length_m: Option<f32>,
    pub harbour_id: Option<i32>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub village_code: Option<String>,
    pub registered: bool,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// What a boat's AIS static messages said: MMSI, name, call sign, ship type, length.
pub type StaticFill = (
    i32,
    Option<String>,
    Option<String>,
    Option<i16>,
    Option<f32>,
);

/// A registry row to write.
#[derive(Debug, Clone)]
pub struct VesselWrite {
    pub mmsi: i32,
    pub name: Option<String>,
    pub call_sign: Option<String>,
    pub ship_type: Option<i16>,
    pub class: Option<&'static str>,
    pub length_m: Option<f32>,
    pub harbour_id: Option<i32>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub village_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HarbourRow {
    pub id: i32,
    pub name: String,
    pub kind: String,
    pub lon: f64,
    pub lat: f64,
    pub fairway: Option<(f64, f64)>,
    pub town_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ClosureRow {
    pub id: i32,
    pub name: String,
    pub harbour_ids: Vec<i32>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct ZoneRow {
    pub id: i32,
    pub name: String,
    pub polygon: Polygon<f64>,
}

/// A position to store.
#[derive(Debug, Clone, Copy)]
pub struct PositionRow {
    pub mmsi: u32,
    pub at_ms: i64,
    pub lon: f64,
    pub lat: f64,
    pub speed_kn: Option<f32>,
    pub course: Option<f32>,
    pub heading: Option<u16>,
    pub source: &'static str,
    pub flagged: bool,
}

/// A vessel event to store.
#[derive(Debug, Clone)]
pub struct NewVesselEvent {
    pub mmsi: i32,
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub lon: f64,
    pub lat: f64,
    pub harbour_id: Option<i32>,
    pub detail: Value,
}

/// A vessel event as stored.
#[derive(Debug, Clone)]
pub struct VesselEventRow {
    pub id: i64,
    pub mmsi: i32,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub harbour_id: Option<i32>,
    pub detail: Value,
}

/// Which vessel events to list.
#[derive(Debug, Clone, Default)]
pub struct VesselEventQuery {
    pub kinds: Vec<&'static str>,
    pub mmsi: Vec<i32>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub ascending: bool,
    pub limit: i64,
}

/// A boat's latest stored position (the state after a restart starts from it).
#[derive(Debug, Clone)]
pub struct LatestRow {
    pub mmsi: i32,
    pub at: DateTime<Utc>,
    pub lon: f64,
    pub lat: f64,
    pub speed_kn: Option<f32>,
    pub course: Option<f32>,
    pub heading: Option<i16>,
    pub source: String,
}

const VESSEL_COLUMNS: &str = "mmsi, name, call_sign, ship_type, class, length_m, harbour_id,
    owner_name, owner_phone, village_code, registered, version, updated_at";

fn vessel_row(r: &PgRow) -> Result<VesselRow, StoreError> {
    let op = "reading a vessel";
    Ok(VesselRow {
        mmsi: r.try_get("mmsi").op(op)?,
        name: r.try_get("name").op(op)?,
        call_sign: r.try_get("call_sign").op(op)?,
        ship_type: r.try_get("ship_type").op(op)?,
        class: r.try_get("class").op(op)?,
        length_m: r.try_get("length_m").op(op)?,
        harbour_id: r.try_get("harbour_id").op(op)?,
        owner_name: r.try_get("owner_name").op(op)?,
        owner_phone: r.try_get("owner_phone").op(op)?,
        village_code: r.try_get("village_code").op(op)?,
        registered: r.try_get("registered").op(op)?,
        version: r.try_get("version").op(op)?,
        updated_at: r.try_get("updated_at").op(op)?,
    })
}

fn event_row(r: &PgRow) -> Result<VesselEventRow, StoreError> {
    let op = "reading a vessel event";
    Ok(VesselEventRow {
        id: r.try_get("id").op(op)?,
        mmsi: r.try_get("mmsi").op(op)?,
        kind: r.try_get("type").op(op)?,
        at: r.try_get("at").op(op)?,
        lon: r.try_get("lon").op(op)?,
        lat: r.try_get("lat").op(op)?,
        harbour_id: r.try_get("harbour_id").op(op)?,
        detail: r.try_get("detail").op(op)?,
    })
}

/// How a registry write ended.
pub enum VesselWriteOutcome {
    Done(VesselRow),
    Exists,
    Missing,
    Stale(i32),
}

/// The name of the partition of `day`.
fn partition(day: NaiveDate) -> String {
    format!("vessel_position_{}", day.format("%Y%m%d"))
}

fn copy_field(out: &mut String, v: Option<impl std::fmt::Display>) {
    match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push_str("\\N"),
    }
}

impl Store {
    pub async fn harbours(&self) -> Result<Vec<HarbourRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, kind, ST_X(point) AS lon, ST_Y(point) AS lat, town_code,
                    ST_X(fairway) AS fx, ST_Y(fairway) AS fy
               FROM harbour ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .op("reading harbours")?;
        let op = "reading a harbour";
        rows.iter()
            .map(|r| {
                Ok(HarbourRow {
                    id: r.try_get("id").op(op)?,
                    name: r.try_get("name").op(op)?,
                    kind: r.try_get("kind").op(op)?,
                    lon: r.try_get("lon").op(op)?,
                    lat: r.try_get("lat").op(op)?,
                    fairway: {
                        let x: Option<f64> = r.try_get("fx").op(op)?;
                        let y: Option<f64> = r.try_get("fy").op(op)?;
                        x.zip(y)
                    },
                    town_code: r.try_get("town_code").op(op)?,
                })
            })
            .collect()
    }

    /// Inserts harbours (ids assigned); their new ids in order.
    pub async fn insert_harbours(&self, rows: &[HarbourRow]) -> Result<Vec<i32>, StoreError> {
        let names: Vec<&str> = rows.iter().map(|h| h.name.as_str()).collect();
        let kinds: Vec<&str> = rows.iter().map(|h| h.kind.as_str()).collect();
        let lons: Vec<f64> = rows.iter().map(|h| h.lon).collect();
        let lats: Vec<f64> = rows.iter().map(|h| h.lat).collect();
        let towns: Vec<Option<String>> = rows.iter().map(|h| h.town_code.clone()).collect();
        let fx: Vec<Option<f64>> = rows.iter().map(|h| h.fairway.map(|f| f.0)).collect();
        let fy: Vec<Option<f64>> = rows.iter().map(|h| h.fairway.map(|f| f.1)).collect();
        sqlx::query_scalar(
            "INSERT INTO harbour (name, kind, point, town_code, fairway)
             SELECT n, k, ST_SetSRID(ST_MakePoint(x, y), 4326), t,
                    CASE WHEN fx IS NOT NULL THEN ST_SetSRID(ST_MakePoint(fx, fy), 4326) END
               FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[],
                           $6::float8[], $7::float8[])
                    WITH ORDINALITY AS u(n, k, x, y, t, fx, fy, o)
              ORDER BY o
             RETURNING id",
        )
        .bind(names)
        .bind(kinds)
        .bind(lons)
        .bind(lats)
        .bind(towns)
        .bind(fx)
        .bind(fy)
        .fetch_all(&self.pool)
        .await
        .op("inserting harbours")
    }

    pub async fn vessels(&self) -> Result<Vec<VesselRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VESSEL_COLUMNS} FROM vessel ORDER BY mmsi"
        ))
        .fetch_all(&self.pool)
        .await
        .op("reading vessels")?;
        rows.iter().map(vessel_row).collect()
    }

    pub async fn vessels_by_mmsi(&self, mmsi: &[i32]) -> Result<Vec<VesselRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VESSEL_COLUMNS} FROM vessel WHERE mmsi = ANY($1)"
        ))
        .bind(mmsi)
        .fetch_all(&self.pool)
        .await
        .op("reading vessels")?;
        rows.iter().map(vessel_row).collect()
    }

    pub async fn vessel(&self, mmsi: i32) -> Result<Option<VesselRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {VESSEL_COLUMNS} FROM vessel WHERE mmsi = $1"
        ))
        .bind(mmsi)
        .fetch_optional(&self.pool)
        .await
        .op("reading a vessel")?;
        r.as_ref().map(vessel_row).transpose()
    }

    /// Registers a boat (a registered boat replaces the record of an unregistered one).
    pub async fn insert_vessel(&self, v: &VesselWrite) -> Result<VesselWriteOutcome, StoreError> {
        let r = sqlx::query(&format!(
            "INSERT INTO vessel (mmsi, name, call_sign, ship_type, class, length_m, harbour_id,
                    owner_name, owner_phone, village_code, registered)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
             ON CONFLICT (mmsi) DO UPDATE SET name = EXCLUDED.name, call_sign = EXCLUDED.call_sign,
                    ship_type = EXCLUDED.ship_type, class = EXCLUDED.class, length_m = EXCLUDED.length_m,
                    harbour_id = EXCLUDED.harbour_id, owner_name = EXCLUDED.owner_name,
                    owner_phone = EXCLUDED.owner_phone, village_code = EXCLUDED.village_code,
                    registered = true, version = vessel.version + 1, updated_at = now()
              WHERE NOT vessel.registered
             RETURNING {VESSEL_COLUMNS}"
        ))
        .bind(v.mmsi)
        .bind(&v.name)
        .bind(&v.call_sign)
        .bind(v.ship_type)
        .bind(v.class)
        .bind(v.length_m)
        .bind(v.harbour_id)
        .bind(&v.owner_name)
        .bind(&v.owner_phone)
        .bind(&v.village_code)
        .fetch_optional(&self.pool)
        .await
        .op("registering a vessel")?;
        Ok(match r {
            Some(r) => VesselWriteOutcome::Done(vessel_row(&r)?),
            None => VesselWriteOutcome::Exists,
        })
    }

    /// Replaces a record read at `version`.
    pub async fn update_vessel(
        &self,
        v: &VesselWrite,
        version: i32,
    ) -> Result<VesselWriteOutcome, StoreError> {
        let r = sqlx::query(&format!(
            "UPDATE vessel SET name = $2, call_sign = $3, ship_type = $4, class = $5, length_m = $6,
                    harbour_id = $7, owner_name = $8, owner_phone = $9, village_code = $10,
                    registered = true, version = version + 1, updated_at = now()
              WHERE mmsi = $1 AND version = $11
             RETURNING {VESSEL_COLUMNS}"
        ))
        .bind(v.mmsi)
        .bind(&v.name)
        .bind(&v.call_sign)
        .bind(v.ship_type)
        .bind(v.class)
        .bind(v.length_m)
        .bind(v.harbour_id)
        .bind(&v.owner_name)
        .bind(&v.owner_phone)
        .bind(&v.village_code)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .op("updating a vessel")?;
        if let Some(r) = r {
            return Ok(VesselWriteOutcome::Done(vessel_row(&r)?));
        }
        Ok(match self.vessel(v.mmsi).await? {
            Some(now) => VesselWriteOutcome::Stale(now.version),
            None => VesselWriteOutcome::Missing,
        })
    }

    /// Registers many boats at once (imports, the demo); existing ones are replaced. The
    /// number written.
    pub async fn upsert_vessels(&self, rows: &[VesselWrite]) -> Result<u64, StoreError> {
        let col = |f: &dyn Fn(&VesselWrite) -> Option<String>| -> Vec<Option<String>> {
            rows.iter().map(f).collect()
        };
        let r = sqlx::query(
            "INSERT INTO vessel (mmsi, name, call_sign, ship_type, class, length_m, harbour_id,
                    owner_name, owner_phone, village_code, registered)
             SELECT m, n, c, t, k, l, h, o, p, v, true
               FROM unnest($1::int[], $2::text[], $3::text[], $4::int2[], $5::text[], $6::real[],
                           $7::int[], $8::text[], $9::text[], $10::text[]) AS u(m, n, c, t, k, l, h, o, p, v)
             ON CONFLICT (mmsi) DO UPDATE SET name = EXCLUDED.name, call_sign = EXCLUDED.call_sign,
                    ship_type = EXCLUDED.ship_type, class = EXCLUDED.class, length_m = EXCLUDED.length_m,
                    harbour_id = EXCLUDED.harbour_id, owner_name = EXCLUDED.owner_name,
                    owner_phone = EXCLUDED.owner_phone, village_code = EXCLUDED.village_code,
                    registered = true, version = vessel.version + 1, updated_at = now()",
        )
        .bind(rows.iter().map(|v| v.mmsi).collect::<Vec<_>>())
        .bind(col(&|v| v.name.clone()))
        .bind(col(&|v| v.call_sign.clone()))
        .bind(rows.iter().map(|v| v.ship_type).collect::<Vec<_>>())
        .bind(col(&|v| v.class.map(str::to_string)))
        .bind(rows.iter().map(|v| v.length_m).collect::<Vec<_>>())
        .bind(rows.iter().map(|v| v.harbour_id).collect::<Vec<_>>())
        .bind(col(&|v| v.owner_name.clone()))
        .bind(col(&|v| v.owner_phone.clone()))
        .bind(col(&|v| v.village_code.clone()))
        .execute(&self.pool)
        .await
        .op("registering vessels")?;
        Ok(r.rows_affected())
    }

    pub async fn vessel_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM vessel")
            .fetch_one(&self.pool)
            .await
            .op("counting vessels")
    }

    pub async fn closures(&self) -> Result<Vec<ClosureRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, harbour_ids, starts_at, ends_at, reason FROM vessel_closure ORDER BY starts_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .op("reading closures")?;
        let op = "reading a closure";
        rows.iter()
            .map(|r| {
                Ok(ClosureRow {
                    id: r.try_get("id").op(op)?,
                    name: r.try_get("name").op(op)?,
                    harbour_ids: r.try_get("harbour_ids").op(op)?,
                    starts_at: r.try_get("starts_at").op(op)?,
                    ends_at: r.try_get("ends_at").op(op)?,
                    reason: r.try_get("reason").op(op)?,
                })
            })
            .collect()
    }

    pub async fn insert_closure(
        &self,
        name: &str,
        harbour_ids: &[i32],
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<i32, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO vessel_closure (name, harbour_ids, starts_at, ends_at, reason)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(harbour_ids)
        .bind(starts_at)
        .bind(ends_at)
        .bind(reason)
        .fetch_one(&self.pool)
        .await
        .op("adding a closure")
    }

    pub async fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name,
                    ARRAY(SELECT ST_X((d).geom) FROM ST_DumpPoints(ST_ExteriorRing(geom)) d) AS xs,
                    ARRAY(SELECT ST_Y((d).geom) FROM ST_DumpPoints(ST_ExteriorRing(geom)) d) AS ys
               FROM vessel_zone ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .op("reading zones")?;
        let op = "reading a zone";
        rows.iter()
            .map(|r| {
                let xs: Vec<f64> = r.try_get("xs").op(op)?;
                let ys: Vec<f64> = r.try_get("ys").op(op)?;
                let ring: Vec<(f64, f64)> = xs.into_iter().zip(ys).collect();
                let polygon = Polygon::new(LineString::from(ring), vec![]);
                Ok(ZoneRow {
                    id: r.try_get("id").op(op)?,
                    name: r.try_get("name").op(op)?,
                    polygon,
                })
            })
            .collect()
    }

    pub async fn insert_zone(&self, name: &str, polygon: &Polygon<f64>) -> Result<i32, StoreError> {
        let ring: Vec<[f64; 2]> = polygon.exterior().coords().map(|c| [c.x, c.y]).collect();
        let geojson = serde_json::json!({"type": "Polygon", "coordinates": [ring]}).to_string();
        sqlx::query_scalar(
            "INSERT INTO vessel_zone (name, geom)
             VALUES ($1, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) RETURNING id",
        )
        .bind(name)
        .bind(geojson)
        .fetch_one(&self.pool)
        .await
        .op("adding a zone")
    }

    /// Creates the day partitions of the positions table that do not exist yet.
    pub async fn ensure_position_days(&self, days: &[NaiveDate]) -> Result<(), StoreError> {
        for day in days {
            let next = *day + chrono::Days::new(1);
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF vessel_position FOR VALUES FROM ('{day}') TO ('{next}')",
                partition(*day)
            );
            match sqlx::query(&sql).execute(&self.pool).await {
                Ok(_) => {}
                // Two writers creating the same day at once.
                Err(sqlx::Error::Database(e))
                    if matches!(e.code().as_deref(), Some("42P07") | Some("23505")) => {}
                Err(e) => {
                    return Err(StoreError::Db {
                        op: "creating a day of positions",
                        source: e,
                    });
                }
            }
        }
        Ok(())
    }

    /// Drops the day partitions older than `keep_from`; the days dropped.
    pub async fn drop_position_days_before(
        &self,
        keep_from: NaiveDate,
    ) -> Result<Vec<String>, StoreError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'vessel_position'::regclass ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .op("listing days of positions")?;
        let cutoff = partition(keep_from);
        let mut dropped = Vec::new();
        for n in names {
            // Names sort as their days do (vessel_position_YYYYMMDD).
            if n.len() == cutoff.len() && n < cutoff {
                sqlx::query(&format!("DROP TABLE IF EXISTS {n}"))
                    .execute(&self.pool)
                    .await
                    .op("dropping a day of positions")?;
                dropped.push(n);
            }
        }
        Ok(dropped)
    }

    /// Writes positions and vessel events in one transaction (positions by COPY); the events'
    /// ids in order. Registers the unknown boats named first.
    pub async fn write_positions(
        &self,
        unknown: &[(i32, Option<&'static str>)],
        positions: &[PositionRow],
        events: &[NewVesselEvent],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await.op("starting a positions write")?;
        if !unknown.is_empty() {
            sqlx::query(
                "INSERT INTO vessel (mmsi, class, registered)
                 SELECT m, c, false FROM unnest($1::int[], $2::text[]) AS u(m, c)
                 ON CONFLICT (mmsi) DO NOTHING",
            )
            .bind(unknown.iter().map(|u| u.0).collect::<Vec<_>>())
            .bind(unknown.iter().map(|u| u.1).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .op("registering unknown vessels")?;
        }
        if !positions.is_empty() {
            let mut text = String::with_capacity(positions.len() * 80);
            for p in positions {
                let at = DateTime::<Utc>::from_timestamp_millis(p.at_ms).unwrap_or_default();
                let _ = write!(
                    text,
                    "{}\t{}\t{}\t{}\t",
                    p.mmsi,
                    at.format("%Y-%m-%d %H:%M:%S%.3f+00"),
                    p.lon,
                    p.lat
                );
                copy_field(&mut text, p.speed_kn);
                text.push('\t');
                copy_field(&mut text, p.course);
                text.push('\t');
                copy_field(&mut text, p.heading);
                let _ = writeln!(
                    text,
                    "\t{}\t{}",
                    p.source,
                    if p.flagged { 't' } else { 'f' }
                );
            }
            let mut copy = tx
                .copy_in_raw(
                    "COPY vessel_position (mmsi, at, lon, lat, speed_kn, course, heading, source, flagged) FROM STDIN",
                )
                .await
                .op("copying positions")?;
            copy.send(text.into_bytes()).await.op("copying positions")?;
            copy.finish().await.op("copying positions")?;
        }
        let mut ids = Vec::new();
        if !events.is_empty() {
            ids = sqlx::query_scalar(
                "INSERT INTO vessel_event (mmsi, type, at, lon, lat, harbour_id, detail)
                 SELECT m, t, a, x, y, h, d
                   FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::float8[], $5::float8[],
                               $6::int[], $7::jsonb[]) WITH ORDINALITY AS u(m, t, a, x, y, h, d, o)
                  ORDER BY o
                 RETURNING id",
            )
            .bind(events.iter().map(|e| e.mmsi).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.kind).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.at).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.lon).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.lat).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.harbour_id).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.detail.clone()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await
            .op("storing vessel events")?;
        }
        tx.commit().await.op("committing positions")?;
        Ok(ids)
    }

    /// Fills the empty fields of boats from what their AIS static messages say.
    pub async fn fill_vessel_statics(&self, rows: &[StaticFill]) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE vessel v SET name = COALESCE(v.name, u.n), call_sign = COALESCE(v.call_sign, u.c),
                    ship_type = COALESCE(v.ship_type, u.t), length_m = COALESCE(v.length_m, u.l)
               FROM unnest($1::int[], $2::text[], $3::text[], $4::int2[], $5::real[]) AS u(m, n, c, t, l)
              WHERE v.mmsi = u.m AND (v.name IS NULL OR v.call_sign IS NULL OR v.ship_type IS NULL OR v.length_m IS NULL)",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.3).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.4).collect::<Vec<_>>())
        .execute(&self.pool)
        .await
        .op("filling vessels from AIS")?;
        Ok(())
    }

    /// Each boat's latest position since `since`.
    pub async fn latest_positions(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<LatestRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT ON (mmsi) mmsi, at, lon, lat, speed_kn, course, heading, source
               FROM vessel_position WHERE at >= $1 AND NOT flagged
              ORDER BY mmsi, at DESC",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .op("reading the latest positions")?;
        let op = "reading a position";
        rows.iter()
            .map(|r| {
                Ok(LatestRow {
                    mmsi: r.try_get("mmsi").op(op)?,
                    at: r.try_get("at").op(op)?,
                    lon: r.try_get("lon").op(op)?,
                    lat: r.try_get("lat").op(op)?,
                    speed_kn: r.try_get("speed_kn").op(op)?,
                    course: r.try_get("course").op(op)?,
                    heading: r.try_get("heading").op(op)?,
                    source: r.try_get("source").op(op)?,
                })
            })
            .collect()
    }

    /// A boat's positions between two times, oldest first (flagged ones left out).
    pub async fn track(
        &self,
        mmsi: i32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64, f64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, lon, lat FROM vessel_position
              WHERE mmsi = $1 AND at >= $2 AND at <= $3 AND NOT flagged ORDER BY at",
        )
        .bind(mmsi)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .op("reading a track")?;
        let op = "reading a track";
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("at").op(op)?,
                    r.try_get("lon").op(op)?,
                    r.try_get("lat").op(op)?,
                ))
            })
            .collect()
    }

    pub async fn vessel_events(
        &self,
        q: &VesselEventQuery,
    ) -> Result<Vec<VesselEventRow>, StoreError> {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT id, mmsi, type, at, lon, lat, harbour_id, detail FROM vessel_event WHERE TRUE",
        );
        if !q.kinds.is_empty() {
            qb.push(" AND type = ANY(")
                .push_bind(q.kinds.clone())
                .push(")");
        }
        if !q.mmsi.is_empty() {
            qb.push(" AND mmsi = ANY(")
                .push_bind(q.mmsi.clone())
                .push(")");
        }
        if let Some(f) = q.from {
            qb.push(" AND at >= ").push_bind(f);
        }
        if let Some(t) = q.to {
            qb.push(" AND at <= ").push_bind(t);
        }
        qb.push(if q.ascending {
            " ORDER BY at, id LIMIT "
        } else {
            " ORDER BY at DESC, id DESC LIMIT "
        })
        .push_bind(q.limit);
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .op("listing vessel events")?;
        rows.iter().map(event_row).collect()
    }

    /// Each boat's last port event (entry or exit): in port or out after a restart.
    pub async fn last_port_events(&self) -> Result<Vec<VesselEventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT ON (mmsi) id, mmsi, type, at, lon, lat, harbour_id, detail
               FROM vessel_event WHERE type IN ('port_entry', 'port_exit')
              ORDER BY mmsi, at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .op("reading the last port events")?;
        rows.iter().map(event_row).collect()
    }

    /// Deletes the whole vessel side (`import demo-vessels --replace`).
    pub async fn delete_vessels(&self) -> Result<(), StoreError> {
        sqlx::query(
            "TRUNCATE vessel, harbour, vessel_closure, vessel_zone, vessel_event, vessel_position RESTART IDENTITY",
        )
        .execute(&self.pool)
        .await
        .op("deleting vessels")?;
        sqlx::query("DELETE FROM fire_alert WHERE mmsi IS NOT NULL")
            .execute(&self.pool)
            .await
            .op("deleting vessel alerts")?;
        Ok(())
    }
}

//! Reading and writing the `area` table.

use super::{Op, Store, StoreError};
use crate::geom::flat::FlatShape;
use crate::geom::wkb::{multipolygon_from_wkb, multipolygon_to_hex_ewkb};
use crate::model::{Area, Level};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgRow;
use std::sync::Arc;

/// An area without its geometry.
#[derive(Debug, Clone, Serialize)]
pub struct AreaRow {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent: Option<String>,
    pub props: serde_json::Value,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// An area with its geometry (every level below the city), as the derived views read it: the
/// assignment index (grids and units), the tile model (districts down to units) and the area
/// names. The change feed reads these rows once and hands the same rows to every view, and
/// every field is shared, not copied: the views clone the `Arc`s of the code, the name and the
/// geometry, so each area's geometry and strings are held once however many views use them.
/// In a full load, `parent` is the parent's own `code` allocation.
#[derive(Debug, Clone)]
pub struct AreaShape {
    pub code: Arc<str>,
    pub name: Arc<str>,
    pub level: Level,
    pub parent: Option<Arc<str>>,
    pub geom: Option<FlatShape>,
}

impl AreaShape {
    /// A row from an area record (demo generators, benchmarks and tests).
    pub fn from_area(a: &Area) -> AreaShape {
        AreaShape {
            code: Arc::from(a.code.as_str()),
            name: Arc::from(a.name.as_str()),
            level: a.level,
            parent: a.parent.as_ref().map(|p| Arc::from(p.as_str())),
            geom: (a.level != Level::City).then(|| FlatShape::from_multipolygon(&a.geom)),
        }
    }
}

/// Filters of `GET /api/areas`.
#[derive(Debug, Default, Clone)]
pub struct AreaFilter {
    pub level: Option<Level>,
    pub parent: Option<String>,
    /// Substring of the name, or prefix of the code.
    pub q: Option<String>,
    /// Only this area and those under it (the caller's scope).
    pub within: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// One entry of an area listing.
#[derive(Debug, Clone, Serialize)]
pub struct AreaSummary {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent: Option<String>,
    /// Names from the district down to the parent, for telling apart areas of the same name.
    pub path: String,
    /// [min lon, min lat, max lon, max lat]
    pub bbox: [f64; 4],
}

fn level_of(row: &PgRow) -> Result<Level, StoreError> {
    let rank: i16 = row.try_get("level").op("reading an area's level")?;
    Level::from_rank(rank)
        .ok_or_else(|| StoreError::Geometry(format!("level rank {rank} out of range")))
}

fn area_row(row: &PgRow) -> Result<AreaRow, StoreError> {
    Ok(AreaRow {
        code: row.try_get("code").op("reading an area")?,
        name: row.try_get("name").op("reading an area")?,
        level: level_of(row)?,
        parent: row.try_get("parent_code").op("reading an area")?,
        props: row.try_get("props").op("reading an area")?,
        version: row.try_get("version").op("reading an area")?,
        updated_at: row.try_get("updated_at").op("reading an area")?,
    })
}

fn area_shape(row: &PgRow) -> Result<AreaShape, StoreError> {
    let wkb: Option<&[u8]> = row.try_get("wkb").op("reading geometry")?;
    let code: &str = row.try_get("code").op("reading an area")?;
    let name: &str = row.try_get("name").op("reading an area")?;
    let parent: Option<&str> = row.try_get("parent_code").op("reading an area")?;
    Ok(AreaShape {
        code: Arc::from(code),
        name: Arc::from(name),
        level: level_of(row)?,
        parent: parent.map(Arc::from),
        geom: wkb
            .map(|b| multipolygon_from_wkb(b).map(|mp| FlatShape::from_multipolygon(&mp)))
            .transpose()
            .map_err(StoreError::Geometry)?,
    })
}

/// Points each row's parent at its parent's own code (rows come parents first), so a code is
/// one allocation however many children name it.
fn share_parent_codes(rows: &mut [AreaShape]) {
    let mut codes: std::collections::HashSet<Arc<str>> =
        std::collections::HashSet::with_capacity(rows.len());
    for r in rows.iter_mut() {
        if let Some(shared) = r.parent.as_ref().and_then(|p| codes.get(p)) {
            r.parent = Some(shared.clone());
        }
        codes.insert(r.code.clone());
    }
}

const SHAPE_COLUMNS: &str = "code, name, level, parent_code, \
     CASE WHEN level > 0 THEN ST_AsBinary(geom) END AS wkb";

impl Store {
    /// Every area, with geometry below the city.
    pub async fn area_shapes(&self) -> Result<Vec<AreaShape>, StoreError> {
        use futures_util::TryStreamExt;
        let sql = format!("SELECT {SHAPE_COLUMNS} FROM area ORDER BY level, code");
        // Streamed: each row's WKB is decoded and dropped before the next arrives.
        let mut stream = sqlx::query(&sql).fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = stream.try_next().await.op("loading areas")? {
            out.push(area_shape(&row)?);
        }
        share_parent_codes(&mut out);
        Ok(out)
    }

    /// The current rows of the given codes (absent ones were deleted).
    pub async fn area_shapes_by_code(
        &self,
        codes: &[String],
    ) -> Result<Vec<AreaShape>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SHAPE_COLUMNS} FROM area WHERE code = ANY($1)"
        ))
        .bind(codes)
        .fetch_all(&self.pool)
        .await
        .op("loading changed areas")?;
        rows.iter().map(area_shape).collect()
    }

    pub async fn area_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM area")
            .fetch_one(&self.pool)
            .await
            .op("counting areas")
    }

    pub async fn area(&self, code: &str) -> Result<Option<AreaRow>, StoreError> {
        let row = sqlx::query(
            "SELECT code, name, level, parent_code, props, version, updated_at FROM area WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .op("reading an area")?;
        row.as_ref().map(area_row).transpose()
    }

    /// Ancestors of `code` from the city down to its parent.
    pub async fn ancestors(&self, code: &str) -> Result<Vec<AreaRow>, StoreError> {
        let rows = sqlx::query(
            "WITH RECURSIVE up AS (
                 SELECT a.* FROM area a WHERE a.code = (SELECT parent_code FROM area WHERE code = $1)
                 UNION ALL
                 SELECT p.* FROM area p JOIN up ON p.code = up.parent_code)
             SELECT code, name, level, parent_code, props, version, updated_at FROM up ORDER BY level",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .op("reading an area's ancestors")?;
        rows.iter().map(area_row).collect()
    }

    /// Number of descendants of `code` at each level below it.
    pub async fn descendant_counts(&self, code: &str) -> Result<Vec<(Level, i64)>, StoreError> {
        let rows = sqlx::query(
            "WITH RECURSIVE down AS (
                 SELECT code, level FROM area WHERE parent_code = $1
                 UNION ALL
                 SELECT c.code, c.level FROM area c JOIN down ON c.parent_code = down.code)
             SELECT level, count(*) AS n FROM down GROUP BY level ORDER BY level",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .op("counting descendants")?;
        rows.iter()
            .map(|r| {
                Ok((
                    level_of(r)?,
                    r.try_get::<i64, _>("n").op("counting descendants")?,
                ))
            })
            .collect()
    }

    /// Area in km² (on the spheroid), bbox and, if asked, the geometry as a GeoJSON object.
    pub async fn area_measures(
        &self,
        code: &str,
        with_geometry: bool,
    ) -> Result<Option<(f64, [f64; 4], Option<serde_json::Value>)>, StoreError> {
        let row = sqlx::query(
            "SELECT ST_Area(geom::geography) / 1e6 AS km2, area_bbox(geom) AS bbox,
                    CASE WHEN $2 THEN ST_AsGeoJSON(geom, 7)::jsonb END AS geojson
             FROM area WHERE code = $1",
        )
        .bind(code)
        .bind(with_geometry)
        .fetch_optional(&self.pool)
        .await
        .op("measuring an area")?;
        let Some(row) = row else { return Ok(None) };
        let bbox: Vec<f64> = row.try_get("bbox").op("measuring an area")?;
        Ok(Some((
            row.try_get("km2").op("measuring an area")?,
            [bbox[0], bbox[1], bbox[2], bbox[3]],
            row.try_get("geojson").op("measuring an area")?,
        )))
    }

    /// Lists areas by level, parent and a name or code search.
    pub async fn list_areas(&self, f: &AreaFilter) -> Result<Vec<AreaSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.code, a.name, a.level, a.parent_code, area_bbox(a.geom) AS bbox,
                    (WITH RECURSIVE up AS (
                         SELECT p.name, p.level, p.parent_code FROM area p WHERE p.code = a.parent_code
                         UNION ALL
                         SELECT q.name, q.level, q.parent_code FROM area q JOIN up ON q.code = up.parent_code)
                     SELECT coalesce(string_agg(name, ' ' ORDER BY level), '') FROM up WHERE level >= 1) AS path
             FROM area a
             WHERE ($1::smallint IS NULL OR a.level = $1)
               AND ($2::text IS NULL OR a.parent_code = $2)
               AND ($3::text IS NULL OR a.name LIKE '%' || $3 || '%' OR a.code LIKE $3 || '%')
               AND ($6::text IS NULL OR a.code LIKE $6 || '%')
             ORDER BY (a.name = $3) DESC, a.level, a.code
             LIMIT $4 OFFSET $5",
        )
        .bind(f.level.map(Level::rank))
        .bind(&f.parent)
        .bind(f.q.as_deref().map(escape_like))
        .bind(f.limit)
        .bind(f.offset)
        .bind(&f.within)
        .fetch_all(&self.pool)
        .await
        .op("listing areas")?;
        rows.iter()
            .map(|r| {
                let bbox: Vec<f64> = r.try_get("bbox").op("listing areas")?;
                Ok(AreaSummary {
                    code: r.try_get("code").op("listing areas")?,
                    name: r.try_get("name").op("listing areas")?,
                    level: level_of(r)?,
                    parent: r.try_get("parent_code").op("listing areas")?,
                    path: r.try_get("path").op("listing areas")?,
                    bbox: [bbox[0], bbox[1], bbox[2], bbox[3]],
                })
            })
            .collect()
    }

    /// Replaces every area with `areas` (parents before children) in one transaction, by COPY.
    /// `progress` is called with the number of rows sent so far.
    pub async fn replace_all_areas(
        &self,
        areas: &[Area],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.op("starting the import")?;
        sqlx::query("TRUNCATE area")
            .execute(&mut *tx)
            .await
            .op("emptying the area table")?;
        // A bulk load is announced once as a reload, not logged row by row. DDL is
        // transactional: the trigger is back on for everyone when this commits or rolls back.
        sqlx::query("ALTER TABLE area DISABLE TRIGGER area_log_insert")
            .execute(&mut *tx)
            .await
            .op("pausing the change log")?;
        let mut copy = tx
            .copy_in_raw("COPY area (code, name, level, parent_code, geom, props) FROM STDIN")
            .await
            .op("starting COPY")?;
        let mut buf = String::with_capacity(1 << 20);
        for (i, a) in areas.iter().enumerate() {
            buf.push_str(&copy_text(a.code.as_str()));
            buf.push('\t');
            buf.push_str(&copy_text(&a.name));
            buf.push('\t');
            buf.push_str(&a.level.rank().to_string());
            buf.push('\t');
            match &a.parent {
                Some(p) => buf.push_str(&copy_text(p.as_str())),
                None => buf.push_str("\\N"),
            }
            buf.push('\t');
            buf.push_str(&multipolygon_to_hex_ewkb(&a.geom));
            buf.push('\t');
            buf.push_str(&copy_text(&a.props.to_string()));
            buf.push('\n');
            if buf.len() > (1 << 20) {
                copy.send(buf.as_bytes()).await.op("sending rows")?;
                buf.clear();
                progress(i as u64 + 1);
            }
        }
        copy.send(buf.as_bytes()).await.op("sending rows")?;
        copy.finish().await.op("finishing COPY")?;
        progress(areas.len() as u64);
        sqlx::query("ALTER TABLE area ENABLE TRIGGER area_log_insert")
            .execute(&mut *tx)
            .await
            .op("resuming the change log")?;
        sqlx::query("SELECT pg_notify('onemap_area_changed', 'reload')")
            .execute(&mut *tx)
            .await
            .op("announcing the import")?;
        tx.commit().await.op("committing the import")?;
        sqlx::query("ANALYZE area")
            .execute(&self.pool)
            .await
            .op("analyzing")?;
        Ok(())
    }
}

/// Escapes a value for COPY's text format.
fn copy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes LIKE wildcards so a search for "100%" finds that text.
pub(super) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// Code of the city (the root of the tree), if any area is loaded.
    pub async fn city_code(&self) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT code FROM area WHERE level = 0 ORDER BY code LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .op("finding the city")
    }
}

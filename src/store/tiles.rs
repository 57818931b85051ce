//! What the tile service reads from the `area` table: every area with its geometry, once at
//! start, then the changed ones.

use super::{Op, Store, StoreError};
use crate::geom::wkb::multipolygon_from_wkb;
use crate::model::Level;
use geo_types::MultiPolygon;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// An area as the tile service loads it (the city's geometry is not needed, only its code).
#[derive(Debug, Clone)]
pub struct TileRow {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent: Option<String>,
    pub geom: Option<MultiPolygon<f64>>,
}

const COLUMNS: &str =
    "code, name, level, parent_code, CASE WHEN level > 0 THEN ST_AsBinary(geom) END AS wkb";

fn tile_row(row: &PgRow) -> Result<TileRow, StoreError> {
    let rank: i16 = row.try_get("level").op("reading an area for tiles")?;
    let wkb: Option<Vec<u8>> = row.try_get("wkb").op("reading an area for tiles")?;
    Ok(TileRow {
        code: row.try_get("code").op("reading an area for tiles")?,
        name: row.try_get("name").op("reading an area for tiles")?,
        level: Level::from_rank(rank)
            .ok_or_else(|| StoreError::Geometry(format!("level rank {rank} out of range")))?,
        parent: row.try_get("parent_code").op("reading an area for tiles")?,
        geom: wkb
            .map(|b| multipolygon_from_wkb(&b))
            .transpose()
            .map_err(StoreError::Geometry)?,
    })
}

impl Store {
    /// Every area, with geometry below the city.
    pub async fn tile_rows(&self) -> Result<Vec<TileRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM area ORDER BY level, code"))
            .fetch_all(&self.pool)
            .await
            .op("loading areas for tiles")?;
        rows.iter().map(tile_row).collect()
    }

    /// The current rows of `codes` (a code without a row was deleted).
    pub async fn tile_rows_by_code(&self, codes: &[String]) -> Result<Vec<TileRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM area WHERE code = ANY($1)"))
            .bind(codes)
            .fetch_all(&self.pool)
            .await
            .op("loading changed areas for tiles")?;
        rows.iter().map(tile_row).collect()
    }
}

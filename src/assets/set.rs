//! The assets in memory: every asset not retired, by id, with the spatial indexes the fire
//! engine asks (in-service water for the nearest-water tool, in-service hydrants for coverage
//! and spacing, heritage sites). A snapshot is immutable; a change builds the next one.

use super::model::{AssetKind, Spec};
use crate::store::assets::AssetRow;
use chrono::{DateTime, Utc};
use rstar::RTree;
use rstar::primitives::GeomWithData;
use std::collections::HashMap;
use std::sync::Arc;

/// One asset.
#[derive(Debug, Clone)]
pub struct Asset {
    pub id: i64,
    pub name: Arc<str>,
    pub spec: Spec,
    pub lon: f64,
    pub lat: f64,
    pub geojson: Arc<str>,
    pub in_service: bool,
    /// unit, grid, village, town, district
    pub chain: [Option<Arc<str>>; 5],
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub alarm_event_id: Option<i64>,
}

impl Asset {
    /// None (and a warning) for a row whose kind or properties this build cannot read (a
    /// hand edit in SQL): it stays out of the map rather than failing the whole load.
    pub fn from_row(r: &AssetRow) -> Option<Asset> {
        let kind = AssetKind::parse(&r.kind)?;
        let spec = match Spec::from_json(kind, r.props.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(id = r.id, error = %e, "asset with unreadable properties skipped");
                return None;
            }
        };
        Some(Asset {
            id: r.id,
            name: Arc::from(r.name.as_str()),
            spec,
            lon: r.lon,
            lat: r.lat,
            geojson: Arc::from(r.geojson.as_str()),
            in_service: r.in_service,
            chain: r.chain.clone().map(|c| c.map(|c| Arc::from(c.as_str()))),
            version: r.version,
            updated_at: r.updated_at,
            alarm_event_id: r.alarm_event_id,
        })
    }

    pub fn kind(&self) -> AssetKind {
        self.spec.kind()
    }

    pub fn village(&self) -> Option<&str> {
        self.chain[2].as_deref()
    }

    /// True for water a fire crew can draw from now: in-service hydrants and natural water.
    pub fn is_water(&self) -> bool {
        self.in_service && matches!(self.kind(), AssetKind::Hydrant | AssetKind::Water)
    }

    pub fn is_working_hydrant(&self) -> bool {
        self.in_service && self.kind() == AssetKind::Hydrant
    }
}

/// A point on the unit sphere (x, y, z) with an asset id: chord order is great-circle order.
pub type SpherePoint = GeomWithData<[f64; 3], i64>;
/// A point in degrees with an asset id.
pub type DegreePoint = GeomWithData<[f64; 2], i64>;

pub fn to_sphere(lon: f64, lat: f64) -> [f64; 3] {
    let (lo, la) = (lon.to_radians(), lat.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

/// Every asset not retired, and the indexes over them.
#[derive(Default)]
pub struct AssetSet {
    pub by_id: HashMap<i64, Arc<Asset>>,
    /// In-service hydrants and natural water.
    pub water: RTree<SpherePoint>,
    /// In-service hydrants (sphere, for nearest and spacing).
    pub hydrants: RTree<SpherePoint>,
    /// In-service hydrants (degrees, for the hydrants near a village).
    pub hydrants_deg: RTree<DegreePoint>,
    /// Heritage sites (sphere).
    pub heritage: RTree<SpherePoint>,
    /// Every hydrant, in service or not (sphere): hydrants near a heritage site.
    pub all_hydrants: RTree<SpherePoint>,
}

impl AssetSet {
    pub fn from_assets(assets: impl IntoIterator<Item = Arc<Asset>>) -> AssetSet {
        let by_id: HashMap<i64, Arc<Asset>> = assets.into_iter().map(|a| (a.id, a)).collect();
        let pick = |f: &dyn Fn(&Asset) -> bool| {
            RTree::bulk_load(
                by_id
                    .values()
                    .filter(|a| f(a))
                    .map(|a| SpherePoint::new(to_sphere(a.lon, a.lat), a.id))
                    .collect(),
            )
        };
        AssetSet {
            water: pick(&|a| a.is_water()),
            hydrants: pick(&|a| a.is_working_hydrant()),
            heritage: pick(&|a| a.kind() == AssetKind::Heritage),
            all_hydrants: pick(&|a| a.kind() == AssetKind::Hydrant),
            hydrants_deg: RTree::bulk_load(
                by_id
                    .values()
                    .filter(|a| a.is_working_hydrant())
                    .map(|a| DegreePoint::new([a.lon, a.lat], a.id))
                    .collect(),
            ),
            by_id,
        }
    }

    pub fn from_rows(rows: &[AssetRow]) -> AssetSet {
        AssetSet::from_assets(
            rows.iter()
                .filter(|r| r.retired_at.is_none())
                .filter_map(Asset::from_row)
                .map(Arc::new),
        )
    }

    /// The set with `rows` applied (retired rows and `deleted` ids removed): the indexes are
    /// copied and patched, not rebuilt.
    pub fn patched(&self, rows: &[AssetRow], deleted: &[i64]) -> AssetSet {
        let mut next = AssetSet {
            by_id: self.by_id.clone(),
            water: self.water.clone(),
            hydrants: self.hydrants.clone(),
            hydrants_deg: self.hydrants_deg.clone(),
            heritage: self.heritage.clone(),
            all_hydrants: self.all_hydrants.clone(),
        };
        next.apply(rows, deleted);
        next
    }

    /// Applies `rows` (retired rows and `deleted` ids removed) in place.
    pub fn apply(&mut self, rows: &[AssetRow], deleted: &[i64]) {
        let gone = deleted.iter().copied().chain(rows.iter().map(|r| r.id));
        for id in gone.collect::<Vec<_>>() {
            if let Some(old) = self.by_id.remove(&id) {
                self.index(&old, false);
            }
        }
        for r in rows {
            if r.retired_at.is_none()
                && let Some(a) = Asset::from_row(r)
            {
                let a = Arc::new(a);
                self.index(&a, true);
                self.by_id.insert(a.id, a);
            }
        }
    }

    /// Adds `a` to (or removes it from) the indexes it belongs in.
    fn index(&mut self, a: &Asset, add: bool) {
        let s = SpherePoint::new(to_sphere(a.lon, a.lat), a.id);
        let d = DegreePoint::new([a.lon, a.lat], a.id);
        fn put<T: rstar::RTreeObject + PartialEq>(t: &mut RTree<T>, v: T, add: bool) {
            if add {
                t.insert(v);
            } else {
                t.remove(&v);
            }
        }
        if a.is_water() {
            put(&mut self.water, s, add);
        }
        if a.is_working_hydrant() {
            put(&mut self.hydrants, s, add);
            put(&mut self.hydrants_deg, d, add);
        }
        match a.kind() {
            AssetKind::Heritage => put(&mut self.heritage, s, add),
            AssetKind::Hydrant => put(&mut self.all_hydrants, s, add),
            _ => {}
        }
    }

    pub fn get(&self, id: i64) -> Option<&Arc<Asset>> {
        self.by_id.get(&id)
    }

    /// Assets of a kind, by id.
    pub fn of_kind(&self, kind: AssetKind) -> Vec<&Arc<Asset>> {
        let mut v: Vec<_> = self.by_id.values().filter(|a| a.kind() == kind).collect();
        v.sort_by_key(|a| a.id);
        v
    }
}

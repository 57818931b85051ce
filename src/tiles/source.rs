//! The one tile-source abstraction, and the registry that serves every source through one cache.
//!
//! Every map layer served at `/tiles/{source}/{z}/{x}/{y}` is a `TileSource`: each area layer
//! (`crate::tiles::AreaSource`, one per `Layer`), the event heat (`events::analytics::tiles`),
//! and every later one (vessels, hydrants, heritage sites). A source says what it is (`id`,
//! `info` for TileJSON and the catalog), whether it can answer yet (`is_ready`), what a query
//! string means (`normalise`: the canonical key, or a typed `SourceError`), and how a tile is
//! rendered to raw MVT bytes (`renderer`). It knows nothing of HTTP, caching or compression.
//!
//! `TileSources` is the registry, built once at start: the sources in catalog order, looked up
//! by id, and the one byte-bounded `TileCache` keyed by (source, epoch, z/x/y, normalised
//! query). `TileSources::tile` is the whole tile path: readiness, query, cache, render.
//!
//! Freshness, for every source: a tile is stored in the cache while the source's `Renderer` is
//! alive, and a renderer pins the data it renders from. A source invalidates its tiles either
//! by dropping them from the cache while no renderer can exist (the area layers: patch and
//! invalidation under the model's write lock, renderers hold the read lock), or by moving to a
//! new `epoch`, which is part of the key and taken from the renderer that made the tile (the
//! event heat: the view's generation), so a tile from older data is never found under the
//! current epoch.
//!
//! Where a tile renders: `light_renderer` offers a renderer cheap enough to run on the async
//! thread (the area layers do for tiles with a handful of areas, where handing the work to the
//! blocking pool costs more than the work); otherwise `renderer` runs on the blocking pool.

use super::cache::{Coding, Encoded, Key, TileCache};
use super::tile_id::{TileId, TileIdError};
use crate::access::Scope;
use std::collections::HashMap;
use std::sync::Arc;

/// Query parameters of a tile request, as given (name → value).
pub type Query = HashMap<String, String>;

/// A source's canonical form of a query: equal for every query that gives the same tiles, so
/// it can key the cache. `QueryKey::NONE` for sources without parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueryKey(Option<Arc<str>>);

impl QueryKey {
    /// The key of a source that takes no parameters.
    pub const NONE: QueryKey = QueryKey(None);

    pub fn new(canonical: &str) -> QueryKey {
        QueryKey(Some(Arc::from(canonical)))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

/// Why a source refuses a query. The message is for people (zh-CN with English).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// A parameter is malformed or out of range.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A parameter names something that does not exist (e.g. an unknown area code).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
}

/// Failures on the tile path.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("unknown tile source '{id}'")]
    UnknownSource {
        id: String,
        known: Vec<&'static str>,
    },
    #[error("bad tile address: {0}")]
    Address(#[from] TileIdError),
    /// The address asks for a format other than MVT (e.g. `.png`).
    #[error("unsupported tile format '.{0}'")]
    Format(String),
    #[error("tile source '{0}' is still loading")]
    NotReady(&'static str),
    #[error(transparent)]
    Query(#[from] SourceError),
    #[error("rendering tile {id}/{tile} failed: {cause}")]
    Render {
        id: &'static str,
        tile: TileId,
        cause: String,
    },
    #[error("two tile sources are called '{0}'")]
    DuplicateSource(&'static str),
    /// The `area` asked for lies outside the caller's scope.
    #[error("area '{0}' is outside the caller's scope")]
    OutOfScope(String),
}

/// One MVT layer of a source's tiles, as TileJSON `vector_layers` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorLayer {
    pub id: String,
    pub description: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Attribute name and its type or description.
    pub fields: Vec<(String, String)>,
}

/// What TileJSON and the catalog say about a source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub name: String,
    pub description: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Extent of the data in degrees (west, south, east, north); `None` while unknown, when
    /// the source has no TileJSON to give yet.
    pub bounds: Option<[f64; 4]>,
    /// The zoom of TileJSON `center`.
    pub center_zoom: u8,
    /// MVT extent of the tiles (coordinates run 0..extent).
    pub extent: u32,
    pub vector_layers: Vec<VectorLayer>,
    /// The query parameters the source takes (carried into the tile URLs of its TileJSON).
    pub parameters: &'static [&'static str],
}

/// Renders tiles from the data it pins (a read lock, a snapshot) for as long as it lives.
pub trait Renderer {
    /// The epoch of the pinned data (see the module docs); 0 for sources that never move on.
    fn epoch(&self) -> u64 {
        0
    }

    /// The tile as raw MVT bytes; empty when nothing falls in it.
    fn render(&self, tile: TileId) -> Vec<u8>;
}

/// A map layer served as vector tiles. See the module docs for the contract.
pub trait TileSource: Send + Sync + 'static {
    /// The id in URLs (`/tiles/{id}/…`): unique among the sources.
    fn id(&self) -> &'static str;

    /// TileJSON metadata.
    fn info(&self) -> SourceInfo;

    /// False while the data is loading (tiles are then refused with `TileError::NotReady`).
    fn is_ready(&self) -> bool;

    /// Parses and normalises a query; `QueryKey::NONE` for a source without parameters
    /// (which ignores whatever it is given).
    fn normalise(&self, query: &Query) -> Result<QueryKey, SourceError>;

    /// The epoch of the data in force now (see the module docs); 0 by default.
    fn epoch(&self) -> u64 {
        0
    }

    /// A renderer for `tile` cheap enough to use on the async thread, if one can be had
    /// without waiting; `None` sends the work to the blocking pool. None by default.
    fn light_renderer(
        &self,
        _query: &Query,
        _tile: TileId,
    ) -> Result<Option<Box<dyn Renderer + '_>>, SourceError> {
        Ok(None)
    }

    /// A renderer of the data in force now, for `query`. May block (called on the blocking
    /// pool).
    fn renderer(&self, query: &Query) -> Result<Box<dyn Renderer + '_>, SourceError>;

    /// How a caller's scope (an area and everything under it) limits this source's tiles. No
    /// default: every source says what of it belongs to an area.
    fn scoping(&self) -> TileScoping;
}

/// How a source's tiles are limited to a caller's scope (see `TileSources::tile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileScoping {
    /// Every feature carries area codes in these string properties; a scoped tile keeps the
    /// features with one of them in the scope and drops the rest (a feature without any is
    /// dropped too).
    Features(&'static [&'static str]),
    /// The source filters by area itself: the scope is its `area` query parameter (a narrower
    /// area inside the scope is kept).
    AreaParam,
    /// Nothing of the source belongs to an area (reference layers): the same for everyone.
    Shared,
}

/// The tile sources, in catalog order, and the cache they share.
pub struct TileSources {
    sources: Vec<Arc<dyn TileSource>>,
    cache: Arc<TileCache>,
}

impl TileSources {
    /// The registry of `sources` (catalog order) over `cache`; refuses two sources of one id.
    pub fn new(
        cache: Arc<TileCache>,
        sources: Vec<Arc<dyn TileSource>>,
    ) -> Result<TileSources, TileError> {
        for (i, s) in sources.iter().enumerate() {
            if sources[..i].iter().any(|o| o.id() == s.id()) {
                return Err(TileError::DuplicateSource(s.id()));
            }
        }
        Ok(TileSources { sources, cache })
    }

    /// Every source, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn TileSource>> {
        self.sources.iter()
    }

    /// The source called `id`.
    pub fn get(&self, id: &str) -> Result<&Arc<dyn TileSource>, TileError> {
        self.sources
            .iter()
            .find(|s| s.id() == id)
            .ok_or_else(|| TileError::UnknownSource {
                id: id.chars().take(40).collect(),
                known: self.sources.iter().map(|s| s.id()).collect(),
            })
    }

    /// True when every source is ready.
    pub fn all_ready(&self) -> bool {
        self.sources.iter().all(|s| s.is_ready())
    }

    /// The shared cache.
    pub fn cache(&self) -> &TileCache {
        &self.cache
    }

    /// The tile `tile` of `source` for `query`, from the cache or rendered, with its body in
    /// `coding` ready. Empty when nothing falls in the tile.
    pub async fn tile(
        &self,
        source: &Arc<dyn TileSource>,
        tile: TileId,
        query: &Query,
        coding: Coding,
        scope: Option<&Scope>,
    ) -> Result<Arc<Encoded>, TileError> {
        let Some(scope) = scope.filter(|s| !s.is_city()) else {
            return self.tile_of(source, tile, query, coding).await;
        };
        match source.scoping() {
            TileScoping::Shared => self.tile_of(source, tile, query, coding).await,
            TileScoping::AreaParam => {
                let mut q = query.clone();
                match q.get("area").map(|a| a.trim()).filter(|a| !a.is_empty()) {
                    Some(a) if scope.contains(a) => {}
                    Some(a) => return Err(TileError::OutOfScope(a.chars().take(40).collect())),
                    None => {
                        q.insert("area".into(), scope.code().into());
                    }
                }
                self.tile_of(source, tile, &q, coding).await
            }
            TileScoping::Features(keys) => {
                // The epoch before the whole tile: a newer whole under an older key is only
                // rendered again.
                let epoch = source.epoch();
                let whole = self.tile_of(source, tile, query, Coding::Identity).await?;
                let key = Key {
                    source: source.id(),
                    epoch,
                    tile,
                    query: QueryKey::new(&format!(
                        "{}\u{1}scope={}",
                        source.normalise(query)?.as_str(),
                        scope.code()
                    )),
                };
                let raw = whole.raw.clone();
                let scoped = self
                    .cache
                    .get_or_render(key, || super::scope::keep_in_scope(&raw, keys, scope));
                if !scoped.is_empty() {
                    scoped.body(coding);
                }
                Ok(scoped)
            }
        }
    }

    /// The tile of `source` for everyone (no scope).
    async fn tile_of(
        &self,
        source: &Arc<dyn TileSource>,
        tile: TileId,
        query: &Query,
        coding: Coding,
    ) -> Result<Arc<Encoded>, TileError> {
        if !source.is_ready() {
            return Err(TileError::NotReady(source.id()));
        }
        let key = Key {
            source: source.id(),
            epoch: source.epoch(),
            tile,
            query: source.normalise(query)?,
        };
        if let Some(e) = self.cache.get(&key)
            && (e.has(coding) || e.is_empty())
        {
            return Ok(e);
        }
        if let Some(r) = source.light_renderer(query, tile)? {
            let key = Key {
                epoch: r.epoch(),
                ..key
            };
            let encoded = self.cache.get_or_render(key, || r.render(tile));
            drop(r);
            if !encoded.is_empty() {
                encoded.body(coding);
            }
            return Ok(encoded);
        }
        let (src, cache, query) = (source.clone(), self.cache.clone(), query.clone());
        tokio::task::spawn_blocking(move || -> Result<Arc<Encoded>, TileError> {
            let encoded = {
                // Alive while the tile is stored: see the module docs.
                let r = src.renderer(&query)?;
                let key = Key {
                    epoch: r.epoch(),
                    ..key
                };
                cache.get_or_render(key, || r.render(tile))
            };
            if !encoded.is_empty() {
                encoded.body(coding);
            }
            Ok(encoded)
        })
        .await
        .map_err(|e| TileError::Render {
            id: source.id(),
            tile,
            cause: e.to_string(),
        })?
    }
}

/// A tile address from its path parts: `y` may end in `.mvt` or `.pbf`.
pub fn parse_address(z: &str, x: &str, y: &str) -> Result<TileId, TileError> {
    let y = match y.split_once('.') {
        None => y,
        Some((n, "mvt" | "pbf")) => n,
        Some((_, ext)) => return Err(TileError::Format(ext.chars().take(20).collect())),
    };
    Ok(TileId::parse(z, x, y)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::tile_id::MAX_ZOOM;

    /// A source of one layer that holds a byte per tile, its epoch moved by hand.
    struct Counter {
        epoch: std::sync::atomic::AtomicU64,
        renders: std::sync::atomic::AtomicU64,
    }

    struct CounterRenderer<'a>(&'a Counter, u64);

    impl Renderer for CounterRenderer<'_> {
        fn epoch(&self) -> u64 {
            self.1
        }
        fn render(&self, tile: TileId) -> Vec<u8> {
            use std::sync::atomic::Ordering;
            self.0.renders.fetch_add(1, Ordering::Relaxed);
            if tile.z == 0 {
                Vec::new()
            } else {
                vec![tile.z, self.1 as u8]
            }
        }
    }

    impl TileSource for Counter {
        fn id(&self) -> &'static str {
            "counter"
        }
        fn info(&self) -> SourceInfo {
            SourceInfo {
                name: "counter".into(),
                description: String::new(),
                minzoom: 0,
                maxzoom: MAX_ZOOM,
                bounds: None,
                center_zoom: 0,
                extent: 4096,
                vector_layers: vec![],
                parameters: &["n"],
            }
        }
        fn is_ready(&self) -> bool {
            true
        }
        fn normalise(&self, query: &Query) -> Result<QueryKey, SourceError> {
            match query.get("n").map(|s| s.trim()) {
                None | Some("") => Ok(QueryKey::NONE),
                Some(n) => n
                    .parse::<u32>()
                    .map(|n| QueryKey::new(&n.to_string()))
                    .map_err(|_| SourceError::Invalid {
                        code: "invalid_number",
                        message: "n".into(),
                    }),
            }
        }
        fn epoch(&self) -> u64 {
            self.epoch.load(std::sync::atomic::Ordering::Relaxed)
        }
        fn renderer(&self, _query: &Query) -> Result<Box<dyn Renderer + '_>, SourceError> {
            Ok(Box::new(CounterRenderer(self, self.epoch())))
        }
        fn scoping(&self) -> TileScoping {
            TileScoping::Shared
        }
    }

    #[tokio::test]
    async fn one_cache_for_every_query_and_epoch() {
        let src = Arc::new(Counter {
            epoch: 0.into(),
            renders: 0.into(),
        });
        let sources = TileSources::new(
            Arc::new(TileCache::new(1 << 20)),
            vec![src.clone() as Arc<dyn TileSource>],
        )
        .unwrap();
        let s = sources.get("counter").unwrap().clone();
        let t = TileId::new(3, 1, 1).unwrap();
        let q = |n: &str| Query::from([("n".to_string(), n.to_string())]);
        let renders = || src.renders.load(std::sync::atomic::Ordering::Relaxed);
        let a = sources
            .tile(&s, t, &q("07"), Coding::Gzip, None)
            .await
            .unwrap();
        let b = sources
            .tile(&s, t, &q(" 7"), Coding::Gzip, None)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one normalised query, one entry");
        assert_eq!(renders(), 1);
        sources
            .tile(&s, t, &q("8"), Coding::Identity, None)
            .await
            .unwrap();
        assert_eq!(renders(), 2);
        // A new epoch: never the old tile.
        src.epoch.store(5, std::sync::atomic::Ordering::Relaxed);
        let c = sources
            .tile(&s, t, &q("7"), Coding::Identity, None)
            .await
            .unwrap();
        assert_eq!(&c.raw[..], &[3, 5]);
        assert!(matches!(
            sources.tile(&s, t, &q("x"), Coding::Identity, None).await,
            Err(TileError::Query(SourceError::Invalid { .. }))
        ));
        let empty = TileId::new(0, 0, 0).unwrap();
        assert!(
            sources
                .tile(&s, empty, &q(""), Coding::Br, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            sources.get("nope"),
            Err(TileError::UnknownSource { .. })
        ));
        assert!(matches!(
            TileSources::new(
                Arc::new(TileCache::new(0)),
                vec![
                    src.clone() as Arc<dyn TileSource>,
                    src as Arc<dyn TileSource>
                ]
            ),
            Err(TileError::DuplicateSource("counter"))
        ));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("3", "1", "2.mvt").unwrap(),
            TileId::new(3, 1, 2).unwrap()
        );
        assert_eq!(
            parse_address("3", "1", "2.pbf").unwrap(),
            TileId::new(3, 1, 2).unwrap()
        );
        assert_eq!(
            parse_address("3", "1", "2").unwrap(),
            TileId::new(3, 1, 2).unwrap()
        );
        assert!(
            matches!(parse_address("3", "1", "2.png"), Err(TileError::Format(e)) if e == "png")
        );
        assert!(matches!(
            parse_address("3", "1", "2.mvt.gz"),
            Err(TileError::Format(_))
        ));
        assert!(matches!(
            parse_address("17", "0", "0"),
            Err(TileError::Address(TileIdError::Zoom(17)))
        ));
    }
}

//! The one tile cache: encoded tiles of every source by (source, epoch, z/x/y, normalised
//! query), bounded in bytes by one budget, with their gzip form made once at insertion (brotli
//! on the first request that wants it), so a warm hit only copies a reference-counted buffer.
//! Invalidation is per source: `invalidate_ranges` drops exactly the tiles of some sources in
//! ranges of tile indices (the area layers: the tiles over a changed area's box),
//! `invalidate_sources` every tile of some sources; a source may also move to a new epoch
//! instead (see `source.rs`).

use super::source::QueryKey;
use super::tile_id::TileId;
use bytes::Bytes;
use moka::sync::Cache;
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// What a tile is cached under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The source's id.
    pub source: &'static str,
    /// The epoch of the data the tile was rendered from (0 for sources without epochs).
    pub epoch: u64,
    pub tile: TileId,
    pub query: QueryKey,
}

/// The tiles of one source at zoom `z` with `x` in `xs` and `y` in `ys` (inclusive ranges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileRange {
    pub source: &'static str,
    pub z: u8,
    pub xs: [u32; 2],
    pub ys: [u32; 2],
}

impl TileRange {
    fn len(&self) -> u64 {
        (self.xs[1] - self.xs[0] + 1) as u64 * (self.ys[1] - self.ys[0] + 1) as u64
    }

    fn contains(&self, k: &Key) -> bool {
        k.source == self.source
            && k.tile.z == self.z
            && (self.xs[0]..=self.xs[1]).contains(&k.tile.x)
            && (self.ys[0]..=self.ys[1]).contains(&k.tile.y)
    }
}

/// A content coding of the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Br,
}

impl Coding {
    pub fn header(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Br => Some("br"),
        }
    }
}

/// One encoded tile and its compressed forms.
pub struct Encoded {
    pub raw: Bytes,
    /// xxh3 of the raw bytes: the strong ETag (with a suffix per coding).
    pub hash: u64,
    gzip: OnceLock<Bytes>,
    br: OnceLock<Bytes>,
}

impl Encoded {
    pub fn new(raw: Vec<u8>) -> Encoded {
        let hash = xxhash_rust::xxh3::xxh3_64(&raw);
        Encoded {
            raw: Bytes::from(raw),
            hash,
            gzip: OnceLock::new(),
            br: OnceLock::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True if the body in `coding` is ready (no compression work left).
    pub fn has(&self, coding: Coding) -> bool {
        match coding {
            Coding::Identity => true,
            Coding::Gzip => self.gzip.get().is_some(),
            Coding::Br => self.br.get().is_some(),
        }
    }

    /// The body in `coding`, compressing on first use.
    pub fn body(&self, coding: Coding) -> Bytes {
        match coding {
            Coding::Identity => self.raw.clone(),
            Coding::Gzip => self.gzip.get_or_init(|| gzip(&self.raw)).clone(),
            Coding::Br => self.br.get_or_init(|| brotli(&self.raw)).clone(),
        }
    }

    /// The strong ETag of the body in `coding` (each coding is its own representation).
    pub fn etag(&self, coding: Coding) -> String {
        match coding {
            Coding::Identity => format!("\"{:016x}\"", self.hash),
            Coding::Gzip => format!("\"{:016x}-gz\"", self.hash),
            Coding::Br => format!("\"{:016x}-br\"", self.hash),
        }
    }

    /// Bytes this entry holds, counting the brotli form it may grow (about the gzip size).
    fn weight(&self) -> u32 {
        let gz = self.gzip.get().map_or(self.raw.len(), Bytes::len);
        (self.raw.len() + 2 * gz + 128).min(u32::MAX as usize) as u32
    }
}

/// The gzip level. Level 1 (zlib-rs's quick deflate) made the tiles under 3,000 unit points at
/// z15 about 17 % larger than level 6 (6.3 against 5.4 KiB on average) and served them 35–40 %
/// faster with the cache off (compression was 30 % of a cold tile's CPU time at level 6). A
/// city's server has two cores and its clients sit on the LAN: CPU is the scarce resource.
/// Clients that accept brotli get quality 5, which is smaller than either.
const GZIP_LEVEL: u32 = 1;

/// gzip (RFC 1952) around raw deflate from a compressor kept per thread: building one zeroes
/// a few hundred KiB, which cost more than compressing a small tile.
fn gzip(raw: &[u8]) -> Bytes {
    use flate2::{Compress, Compression, Crc, FlushCompress, Status};
    thread_local! {
        static DEFLATE: std::cell::RefCell<Compress> = std::cell::RefCell::new(Compress::new(Compression::new(GZIP_LEVEL), false));
    }
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    // ID1 ID2, deflate, no flags, no mtime, no extra flags, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    let ok = DEFLATE.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut consumed = 0usize;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(1024));
            }
            let before = c.total_in();
            match c.compress_vec(&raw[consumed..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return true,
                Ok(_) => consumed += (c.total_in() - before) as usize,
                Err(_) => return false,
            }
        }
    });
    if !ok {
        // Not reachable with in-memory buffers; fall back to the plain encoder all the same.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(GZIP_LEVEL));
        let _ = e.write_all(raw);
        return Bytes::from(e.finish().unwrap_or_default());
    }
    let mut crc = Crc::new();
    crc.update(raw);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    Bytes::from(out)
}

fn brotli(raw: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        lgwin: 22,
        ..Default::default()
    };
    // Reading from a slice and writing to a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut &raw[..], &mut out, &params);
    Bytes::from(out)
}

/// Counters, for /tiles/stats and tests.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    pub enabled: bool,
    pub capacity_bytes: u64,
    pub entries: u64,
    pub bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub invalidated: u64,
    pub cleared: u64,
}

/// The cache (or none, when built with 0 bytes).
pub struct TileCache {
    inner: Option<Cache<Key, Arc<Encoded>>>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidated: AtomicU64,
    cleared: AtomicU64,
}

impl TileCache {
    pub fn new(bytes: usize) -> TileCache {
        let inner = (bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(bytes as u64)
                .weigher(|_: &Key, v: &Arc<Encoded>| v.weight())
                .build()
        });
        TileCache {
            inner,
            capacity: bytes as u64,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidated: AtomicU64::new(0),
            cleared: AtomicU64::new(0),
        }
    }

    /// A cached tile, if any (counts a hit).
    pub fn get(&self, key: &Key) -> Option<Arc<Encoded>> {
        let v = self.inner.as_ref()?.get(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(v)
    }

    /// The cached tile, or `render`'s, stored with its gzip form. Concurrent misses of one key
    /// render it once. The caller keeps the source's renderer alive until this returns (see
    /// `source.rs`: that is what keeps a stale tile out).
    pub fn get_or_render(&self, key: Key, render: impl FnOnce() -> Vec<u8>) -> Arc<Encoded> {
        let Some(cache) = &self.inner else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return Arc::new(Encoded::new(render()));
        };
        let entry = cache.entry(key).or_insert_with(|| {
            let e = Encoded::new(render());
            if !e.is_empty() {
                e.body(Coding::Gzip);
            }
            Arc::new(e)
        });
        if entry.is_fresh() {
            self.misses.fetch_add(1, Ordering::Relaxed);
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        entry.into_value()
    }

    /// Drops every tile of every source (counted in `cleared`).
    pub fn clear(&self) {
        if let Some(c) = &self.inner {
            c.invalidate_all();
            self.cleared.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops every tile of the sources `ids` (counted once in `cleared`); returns how many.
    pub fn invalidate_sources(&self, ids: &[&str]) -> u64 {
        let Some(cache) = &self.inner else { return 0 };
        cache.run_pending_tasks();
        let stale: Vec<Key> = cache
            .iter()
            .map(|(k, _)| Key::clone(&k))
            .filter(|k| ids.contains(&k.source))
            .collect();
        for k in &stale {
            cache.invalidate(k);
        }
        self.cleared.fetch_add(1, Ordering::Relaxed);
        stale.len() as u64
    }

    /// Drops the tiles in `ranges` (counted in `invalidated`); returns how many. For sources
    /// without parameters or epochs (every key has epoch 0 and `QueryKey::NONE`): a small
    /// range is dropped key by key, and only a range larger than the cache walks the cache.
    pub fn invalidate_ranges(&self, ranges: &[TileRange]) -> u64 {
        let Some(cache) = &self.inner else { return 0 };
        if ranges.is_empty() {
            return 0;
        }
        cache.run_pending_tasks();
        // Walk whichever is smaller: the cache, or the tile ranges.
        let candidates: u64 = ranges.iter().map(TileRange::len).sum();
        let mut dropped = 0;
        if candidates <= cache.entry_count() {
            for r in ranges {
                for x in r.xs[0]..=r.xs[1] {
                    for y in r.ys[0]..=r.ys[1] {
                        let key = Key {
                            source: r.source,
                            epoch: 0,
                            tile: TileId { z: r.z, x, y },
                            query: QueryKey::NONE,
                        };
                        if cache.contains_key(&key) {
                            cache.invalidate(&key);
                            dropped += 1;
                        }
                    }
                }
            }
        } else {
            let stale: Vec<Key> = cache
                .iter()
                .map(|(k, _)| Key::clone(&k))
                .filter(|k| ranges.iter().any(|r| r.contains(k)))
                .collect();
            for k in &stale {
                cache.invalidate(k);
            }
            dropped = stale.len() as u64;
        }
        self.invalidated.fetch_add(dropped, Ordering::Relaxed);
        dropped
    }

    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = match &self.inner {
            Some(c) => {
                c.run_pending_tasks();
                (c.entry_count(), c.weighted_size())
            }
            None => (0, 0),
        };
        CacheStats {
            enabled: self.inner.is_some(),
            capacity_bytes: self.capacity,
            entries,
            bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidated: self.invalidated.load(Ordering::Relaxed),
            cleared: self.cleared.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(source: &'static str, z: u8, x: u32, y: u32) -> Key {
        Key {
            source,
            epoch: 0,
            tile: TileId { z, x, y },
            query: QueryKey::NONE,
        }
    }

    #[test]
    fn invalidates_only_tiles_in_the_ranges() {
        let cache = TileCache::new(1 << 20);
        let near = key("unit", 14, 13607, 6996);
        let far = key("unit", 14, 13600, 6990);
        let grid_near = key("grid", 14, 13607, 6996);
        for k in [&near, &far, &grid_near] {
            cache.get_or_render(k.clone(), || vec![1, 2, 3]);
        }
        let range = TileRange {
            source: "unit",
            z: 14,
            xs: [13606, 13608],
            ys: [6995, 6997],
        };
        assert_eq!(cache.invalidate_ranges(&[range]), 1);
        assert!(cache.get(&near).is_none());
        assert!(cache.get(&far).is_some());
        assert!(
            cache.get(&grid_near).is_some(),
            "other sources are untouched"
        );
        let s = cache.stats();
        assert_eq!((s.misses, s.invalidated), (3, 1));
        // A range larger than the cache walks the cache instead: the same answer.
        let wide = TileRange {
            xs: [0, 16383],
            ys: [0, 16383],
            ..range
        };
        assert_eq!(cache.invalidate_ranges(&[wide]), 1);
        assert!(cache.get(&far).is_none());
        assert!(cache.get(&grid_near).is_some());
        // Whole sources.
        let mut other = key("events", 3, 1, 1);
        other.query = QueryKey::new("a");
        cache.get_or_render(other.clone(), || vec![1]);
        assert_eq!(cache.invalidate_sources(&["grid", "unit"]), 1);
        assert!(cache.get(&grid_near).is_none());
        assert!(cache.get(&other).is_some());
    }

    #[test]
    fn compressed_forms_round_trip() {
        let raw: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let e = Encoded::new(raw.clone());
        let gz = e.body(Coding::Gzip);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap();
        assert_eq!(back, raw);
        let br = e.body(Coding::Br);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, raw);
        assert_ne!(e.etag(Coding::Gzip), e.etag(Coding::Identity));
    }

    #[test]
    fn zero_bytes_means_no_cache() {
        let cache = TileCache::new(0);
        let k = key("label", 3, 1, 1);
        cache.get_or_render(k.clone(), || vec![1]);
        assert!(cache.get(&k).is_none());
        assert!(!cache.stats().enabled);
    }
}

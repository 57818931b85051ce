//! The process's memory as `/readyz` reports it: resident bytes from the kernel, and what the
//! allocator holds (jemalloc is the global allocator: it returns freed pages to the system,
//! where glibc's malloc kept the buffers of the start-up loads resident). Its options are set
//! at build time in `.cargo/config.toml`: background threads return freed pages within a
//! second, where jemalloc alone purges an arena only when that arena is used again.

/// The global allocator of every binary built from this crate.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Resident memory of this process (`VmRSS`), if the kernel says.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// What the allocator says: bytes the program has allocated and bytes of the allocator's
/// pages that are resident (allocated, plus its own metadata and not yet returned free pages).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct AllocatorStats {
    pub allocated_bytes: u64,
    pub resident_bytes: u64,
    /// True if background threads return freed pages (the build's allocator options).
    pub background_purge: bool,
}

pub fn allocator() -> Option<AllocatorStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(AllocatorStats {
        allocated_bytes: stats::allocated::read().ok()? as u64,
        resident_bytes: stats::resident::read().ok()? as u64,
        background_purge: tikv_jemalloc_ctl::opt::background_thread::read().unwrap_or(false),
    })
}

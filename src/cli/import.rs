//! `onemap import demo` and `onemap import areas FILE`.

use super::progress;
use crate::demo::{DemoParams, generate};
use crate::import::drafts_from_geojson;
use crate::store::Store;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Generate and load the demo city (Putian: 5 districts, 57 towns, 979 villages, ~10,000
    /// grids, ~130,000 units). Replaces all areas; the same seed always gives the same city.
    Demo {
        /// Random seed of the generated geometry below district level.
        #[arg(long, default_value_t = DemoParams::default().seed)]
        seed: u64,
        /// About how many units to generate.
        #[arg(long, default_value_t = 130_000, value_parser = clap::value_parser!(u64).range(1_000..=2_000_000))]
        units: u64,
    },
    /// Load or change areas from a GeoJSON file (FeatureCollection; properties: code, name,
    /// parent, level and any others). Validated first and applied in one transaction, or
    /// rejected whole with a report. Convert GeoPackage or Shapefile first with
    /// `ogr2ogr -f GeoJSON -t_srs EPSG:4326 out.geojson in.gpkg`.
    Areas {
        /// The GeoJSON file.
        file: PathBuf,
        /// Accept the change even if it leaves gaps (reported as warnings).
        #[arg(long)]
        allow_gaps: bool,
    },
    /// Generate and load demo events over the loaded city: two years of reports with a
    /// realistic mix of categories and sources, daily and weekly rhythm, heavy-rain bursts,
    /// planted repeat hotspots, and most events closed through the full loop. The same seed,
    /// count, days and --until give the same events.
    DemoEvents {
        /// How many events.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=20_000_000))]
        count: u64,
        /// Random seed.
        #[arg(long, default_value_t = 3503)]
        seed: u64,
        /// Length of the span in days, ending at --until.
        #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
        /// End of the span (RFC 3339, e.g. 2026-12-01T00:00:00Z); default: now, to the hour.
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Delete all existing events (and their logs) first.
        #[arg(long, conflicts_with = "append")]
        replace: bool,
        /// Add to the existing events.
        #[arg(long)]
        append: bool,
    },
    /// Generate and load demo profiles (一村一档) for every town and village with their
    /// development, problem and task lists (problems from the events' repeated spots), and the
    /// ledgers' people, houses, enterprises and cadres: all synthetic, never real persons.
    /// Replaces any profiles and ledger rows; the same seed and count give the same rows.
    /// Load fire-protection assets of one kind from a GeoJSON FeatureCollection (property
    /// `name` and the kind's properties) or a CSV (`lon,lat,name` and the properties as
    /// columns). Every row is checked and placed; bad rows are listed, good ones stored.
    Assets {
        /// The GeoJSON or CSV file.
        file: PathBuf,
        /// heritage, hydrant, water, station or sensor.
        #[arg(long)]
        kind: String,
    },
    /// Generate and load the demo fire-protection assets (Dongyang village's 19 heritage
    /// units, hydrants over the built-up parts, water, stations, sensors).
    DemoAssets {
        /// Random seed.
        #[arg(long, default_value_t = 3503)]
        seed: u64,
        /// Delete existing assets, readings and alerts first.
        #[arg(long)]
        replace: bool,
    },
    /// Register fishing boats from a CSV (columns mmsi,name,call_sign,ship_type,class,
    /// length_m,harbour,owner_name,owner_phone,village) or a GeoJSON FeatureCollection with
    /// those properties. Every row is checked; bad rows are listed, good ones stored (a boat
    /// already registered is replaced).
    Vessels {
        /// The CSV or GeoJSON file.
        file: PathBuf,
    },
    /// Generate and load the demo fleet: harbours and anchorages on the city's coastline,
    /// Huangshi's 320 boats and the other coastal towns' boats, a restricted zone.
    DemoVessels {
        /// Random seed.
        #[arg(long, default_value_t = 3503)]
        seed: u64,
        /// Delete the vessel data (registry, harbours, positions, events, closures, zones,
        /// vessel alerts) first.
        #[arg(long)]
        replace: bool,
    },
    DemoProfiles {
        /// How many people rows (Putian has about 3.2 million residents).
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(0..=5_000_000))]
        people: u64,
        /// Random seed.
        #[arg(long, default_value_t = 3503)]
        seed: u64,
    },
}

/// How `import demo-events` treats events already in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Refuse,
    Replace,
    Append,
}

/// Generates demo events over the loaded city and loads them with COPY.
pub async fn demo_events(
    store: &Store,
    params: crate::events::demo::DemoEventParams,
    existing: Existing,
) -> anyhow::Result<()> {
    use crate::events::demo;
    let started = Instant::now();
    let already = demo::load::event_count(store).await?;
    if already > 0 && existing == Existing::Refuse {
        bail!(
            "the database already holds {already} events; use --replace to delete them first or --append to add to them"
        );
    }
    let rows = store.area_shapes().await?;
    if !rows.iter().any(|r| r.level == crate::model::Level::Unit) {
        bail!("no units are loaded: run `onemap import demo` (or import areas) first");
    }
    let settings = demo::load::category_settings(store).await?;
    let spinner = progress::spinner("indexing the city for demo events");
    let (snapshot, events) = tokio::task::spawn_blocking({
        let params = params.clone();
        let settings = settings.clone();
        let sp = spinner.clone();
        move || {
            let places = demo::Places::from_rows(&rows);
            let snapshot = crate::index::Snapshot::from_rows(&rows);
            sp.set_message(format!("generating {} demo events", params.count));
            let events = demo::generate(
                &params,
                &places,
                &|c| settings.get(&c).map(|s| s.0).unwrap_or(72.0),
                &|c| settings.get(&c).map(|s| (s.1, s.2)).unwrap_or((50.0, 72.0)),
                &|_| {},
            );
            (snapshot, events)
        }
    })
    .await?;
    spinner.finish_and_clear();
    tracing::info!(
        events = events.len(),
        seconds = started.elapsed().as_secs_f64(),
        "demo events generated"
    );
    let bar = progress::bar(events.len() as u64 * 2, "loading", false);
    let b = bar.clone();
    let loaded = demo::load(
        store,
        &snapshot,
        &events,
        &|c| settings.get(&c).map(|s| s.0).unwrap_or(72.0),
        existing == Existing::Replace,
        &move |done| b.set_position(done),
    )
    .await?;
    bar.finish_and_clear();
    let closed = events
        .iter()
        .filter(|e| e.status() == crate::events::model::Status::Closed)
        .count();
    let repeats = events.iter().filter(|e| e.duplicate_of.is_some()).count();
    tracing::info!(
        events = loaded.events,
        transitions = loaded.transitions,
        unassigned = loaded.unassigned,
        closed,
        repeats,
        seconds = started.elapsed().as_secs_f64(),
        "demo events loaded"
    );
    eprintln!(
        "loaded {} demo events ({} closed, {} repeats, {} off the map) and {} transitions in {:.1} s",
        loaded.events,
        closed,
        repeats,
        loaded.unassigned,
        loaded.transitions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Generates the demo city and replaces all areas with it.
pub async fn demo(store: &Store, params: DemoParams) -> anyhow::Result<()> {
    let started = Instant::now();
    let spinner = progress::spinner("generating the demo city");
    let sp = spinner.clone();
    let city = tokio::task::spawn_blocking(move || {
        generate(params, &|step| {
            tracing::info!("demo city: {step}");
            sp.set_message(format!("demo city: {step}"));
        })
    })
    .await?;
    spinner.finish_and_clear();
    let n = city.areas.len() as u64;
    tracing::info!(
        units = city.count(crate::model::Level::Unit),
        grids = city.count(crate::model::Level::Grid),
        villages = city.count(crate::model::Level::Village),
        seconds = started.elapsed().as_secs_f64(),
        "demo city generated"
    );
    let bar = progress::bar(n, "loading", false);
    let b = bar.clone();
    store
        .replace_all_areas(&city.areas, &move |done| b.set_position(done))
        .await?;
    bar.finish_and_clear();
    tracing::info!(
        areas = n,
        seconds = started.elapsed().as_secs_f64(),
        "demo city loaded"
    );
    eprintln!(
        "loaded the demo city: {n} areas in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Applies a GeoJSON file of areas, or explains why not.
pub async fn areas(store: &Store, file: &PathBuf, allow_gaps: bool) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let drafts = match drafts_from_geojson(&text) {
        Ok(d) => d,
        Err(problems) => {
            eprintln!(
                "{} problem(s) in {}; nothing was changed:",
                problems.len(),
                file.display()
            );
            for p in &problems {
                eprintln!(
                    "  [{}] {}{}",
                    p.kind,
                    p.code
                        .as_ref()
                        .map(|c| format!("{c}: "))
                        .unwrap_or_default(),
                    p.message
                );
            }
            bail!("the file was rejected");
        }
    };
    let spinner = progress::spinner(&format!("validating and applying {} areas", drafts.len()));
    let report = store.apply_drafts(&drafts, allow_gaps).await?;
    spinner.finish_and_clear();
    for w in &report.warnings {
        eprintln!("  warning [{}] {}", w.kind, w.message);
    }
    if !report.applied {
        eprintln!("{} problem(s); nothing was changed:", report.problems.len());
        for p in &report.problems {
            eprintln!("  [{}] {}", p.kind, p.message);
        }
        bail!("the change was rejected");
    }
    eprintln!(
        "applied: {} created, {} updated",
        report.created.len(),
        report.updated.len()
    );
    Ok(())
}

/// Generates and loads the demo profiles, lists and ledgers (replacing any), over the loaded
/// city and its events.
pub async fn demo_profiles(
    store: &Store,
    params: crate::profiles::demo::DemoProfileParams,
) -> anyhow::Result<()> {
    use crate::model::Level;
    use crate::profiles::demo::{self, Tree, VillageCounts};
    use crate::store::demo_profiles::*;
    use std::collections::HashMap;
    let started = Instant::now();
    let rows = store.area_shapes().await?;
    if !rows.iter().any(|r| r.level == Level::Unit) {
        bail!("no units are loaded: run `onemap import demo` (or import areas) first");
    }
    let tree = Tree::new(rows);
    let villages: Vec<_> = tree.of_level(Level::Village).cloned().collect();
    let units = tree.of_level(Level::Unit).count();
    let per_unit = demo::per_unit(params.people, units);
    let cells = store.event_cells(8).await?;
    let mut cells_by_village: HashMap<&str, Vec<&EventCell>> = HashMap::new();
    for c in &cells {
        cells_by_village
            .entry(c.village.as_str())
            .or_default()
            .push(c);
    }
    let mut load = store.begin_profile_load().await?;
    let bar = progress::bar(villages.len() as u64, "people", false);
    let mut counts: HashMap<String, VillageCounts> = HashMap::new();
    let mut people = 0u64;
    {
        // People in chunks of about 4 MB, generated as they are sent.
        let mut chunks = Vec::new();
        let mut buf = Vec::with_capacity(4 << 20);
        for v in &villages {
            let c = demo::people_of_village(&tree, v, per_unit, &params, &mut buf);
            counts.insert(v.code.to_string(), c);
            bar.inc(1);
            if buf.len() >= 4 << 20 {
                chunks.push(std::mem::replace(&mut buf, Vec::with_capacity(4 << 20)));
                if chunks.len() >= 4 {
                    people += load.copy(COPY_PERSON, chunks.drain(..)).await?;
                }
            }
        }
        chunks.push(buf);
        people += load.copy(COPY_PERSON, chunks).await?;
    }
    bar.finish_and_clear();
    let spinner = progress::spinner("houses, enterprises, cadres and profiles");
    let mut buf = Vec::new();
    for v in &villages {
        demo::houses_of_village(&tree, v, &params, &mut buf);
    }
    let houses = load.copy(COPY_HOUSE, [std::mem::take(&mut buf)]).await?;
    for v in &villages {
        demo::enterprises_of_village(&tree, v, &params, &mut buf);
    }
    let enterprises = load
        .copy(COPY_ENTERPRISE, [std::mem::take(&mut buf)])
        .await?;
    demo::cadres(&tree, &params, &mut buf);
    let cadres = load.copy(COPY_CADRE, [std::mem::take(&mut buf)]).await?;
    // Towns add up their villages.
    let mut town_counts: HashMap<String, VillageCounts> = HashMap::new();
    for v in &villages {
        if let (Some(t), Some(c)) = (v.parent.as_deref(), counts.get(&*v.code)) {
            let e = town_counts.entry(t.to_string()).or_default();
            e.registered += c.registered;
            e.resident += c.resident;
            e.households += c.households;
            e.party += c.party;
        }
    }
    let scale = demo::CITY_POPULATION / (people.max(1) as f64);
    let at = chrono::Utc::now().to_rfc3339();
    let mut next_id = 0i64;
    let mut items = Vec::new();
    let mut profiles = Vec::new();
    for area in tree
        .of_level(Level::Town)
        .chain(tree.of_level(Level::Village))
    {
        let empty = VillageCounts::default();
        let c = counts
            .get(&*area.code)
            .or_else(|| town_counts.get(&*area.code))
            .unwrap_or(&empty);
        let doc = demo::introduction(&tree, area, c, scale, &params);
        demo::profile_row(&area.code, &doc, &at, &mut profiles);
        let cells = cells_by_village
            .get(&*area.code)
            .cloned()
            .unwrap_or_default();
        items.extend(demo::items(&tree, area, &cells, &params, &mut next_id));
    }
    let n_profiles = load.copy(COPY_PROFILE, [profiles.clone()]).await?;
    load.copy(COPY_PROFILE_VERSION, [profiles]).await?;
    demo::item_rows(&tree, &items, &mut buf);
    let n_items = load.copy(COPY_ITEM, [buf]).await?;
    spinner.set_message("committing and analyzing");
    load.commit(store).await?;
    spinner.finish_and_clear();
    tracing::info!(
        people,
        houses,
        enterprises,
        cadres,
        profiles = n_profiles,
        items = n_items,
        seconds = started.elapsed().as_secs_f64(),
        "demo profiles loaded"
    );
    eprintln!(
        "loaded {n_profiles} profiles with {n_items} list items, {people} people, {houses} houses, {enterprises} enterprises and {cadres} cadres in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

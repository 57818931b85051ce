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

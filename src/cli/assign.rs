//! `onemap assign --input in.csv --output out.csv`: the same file back with the assignment
//! columns added. Streams in batches (constant memory for files of millions of rows), assigns
//! each batch on all cores, keeps the input's columns, order and BOM.

use super::progress;
use crate::assign::check_point;
use crate::crs::Crs;
use crate::index::{Assignment, DEFAULT_TOLERANCE_M, Snapshot};
use crate::store::Store;
use anyhow::{Context, bail};
use clap::Args;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Input CSV with a header row (UTF-8, with or without BOM).
    #[arg(long, short)]
    pub input: PathBuf,
    /// Output CSV: the input's columns plus the assignment columns.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Coordinate system of the input: wgs84, cgcs2000, gcj02 (Amap, Tencent) or bd09 (Baidu).
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
    /// Column holding longitude (default: the first of lon, lng, longitude, x, 经度).
    #[arg(long)]
    pub lon_col: Option<String>,
    /// Column holding latitude (default: the first of lat, latitude, y, 纬度).
    #[arg(long)]
    pub lat_col: Option<String>,
    /// Metres within which a point outside every unit is matched to its nearest grid.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE_M)]
    pub tolerance_m: f64,
}

/// Columns appended to every row.
pub const OUTPUT_COLUMNS: [&str; 15] = [
    "assigned",
    "unit_code",
    "unit_name",
    "grid_code",
    "grid_name",
    "village_code",
    "village_name",
    "town_code",
    "town_name",
    "district_code",
    "district_name",
    "nearest_grid_code",
    "nearest_grid_name",
    "nearest_distance_m",
    "assign_error",
];

const BATCH: usize = 50_000;

pub async fn run(store: &Store, args: AssignArgs) -> anyhow::Result<()> {
    if !(0.0..=5_000.0).contains(&args.tolerance_m) {
        bail!("--tolerance-m must be between 0 and 5000");
    }
    let started = Instant::now();
    let spinner = progress::spinner("loading the assignment index");
    let rows = store.area_shapes().await?;
    let snapshot = tokio::task::spawn_blocking(move || Snapshot::from_rows(&rows)).await?;
    spinner.finish_and_clear();
    if snapshot.stats.units == 0 {
        bail!("no units loaded: run `onemap import demo` or import a layout first");
    }
    tracing::info!(
        units = snapshot.stats.units,
        seconds = started.elapsed().as_secs_f64(),
        "index ready"
    );
    let (n, assigned) =
        tokio::task::spawn_blocking(move || assign_file(&snapshot, &args)).await??;
    eprintln!(
        "assigned {assigned} of {n} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn assign_file(snapshot: &Snapshot, args: &AssignArgs) -> anyhow::Result<(u64, u64)> {
    let file =
        File::open(&args.input).with_context(|| format!("cannot open {}", args.input.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress::bar(size, "assigning", true);
    let mut reader = BufReader::with_capacity(1 << 20, bar.wrap_read(file));
    let mut bom = [0u8; 3];
    let mut head = Vec::new();
    let n = reader.by_ref().take(3).read_to_end(&mut head)?;
    let has_bom = n == 3 && head == [0xEF, 0xBB, 0xBF];
    bom.copy_from_slice(&[0xEF, 0xBB, 0xBF]);
    let prefix: &[u8] = if has_bom { &[] } else { &head };
    let mut csv_in = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(prefix.chain(reader));
    let headers = csv_in
        .headers()
        .context("cannot read the CSV header")?
        .clone();
    let find = |wanted: &Option<String>, names: &[&str]| -> Option<usize> {
        match wanted {
            Some(w) => headers.iter().position(|h| h == w),
            None => headers
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n))),
        }
    };
    let lon_col = find(&args.lon_col, &["lon", "lng", "longitude", "x", "经度"]);
    let lat_col = find(&args.lat_col, &["lat", "latitude", "y", "纬度"]);
    let (Some(lon_col), Some(lat_col)) = (lon_col, lat_col) else {
        bail!(
            "the input has no longitude/latitude columns (found: {}); name them with --lon-col and --lat-col",
            headers.iter().collect::<Vec<_>>().join(",")
        );
    };

    let out = File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    if has_bom {
        out.write_all(&bom)?;
    }
    let mut csv_out = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let mut header_out = headers.clone();
    for c in OUTPUT_COLUMNS {
        header_out.push_field(c);
    }
    csv_out.write_record(&header_out)?;

    let bbox = snapshot.units_bbox();
    let (mut total, mut assigned) = (0u64, 0u64);
    let mut batch: Vec<csv::StringRecord> = Vec::with_capacity(BATCH);
    let mut records = csv_in.records();
    loop {
        batch.clear();
        for rec in records.by_ref().take(BATCH) {
            // A row the CSV reader cannot decode is kept (empty) with its error, not dropped.
            batch.push(rec.unwrap_or_else(|e| {
                let mut r = csv::StringRecord::new();
                r.push_field(&format!("#malformed row: {e}"));
                r
            }));
        }
        if batch.is_empty() {
            break;
        }
        let answers: Vec<Vec<String>> = batch
            .par_iter()
            .map(|r| {
                let parse = |c: usize, name: &str| -> Result<f64, String> {
                    let s = r
                        .get(c)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .ok_or(format!("missing {name}"))?;
                    s.parse::<f64>()
                        .map_err(|_| format!("{name} '{s}' is not a number"))
                };
                match parse(lon_col, "lon").and_then(|lon| Ok((lon, parse(lat_col, "lat")?))) {
                    Err(e) => error_columns(&e),
                    Ok((lon, lat)) => match check_point(lon, lat, args.crs, bbox) {
                        Err(e) => error_columns(&e.message),
                        Ok((x, y)) => columns(&snapshot.assign(x, y, args.tolerance_m)),
                    },
                }
            })
            .collect();
        for (mut rec, extra) in batch.drain(..).zip(answers) {
            total += 1;
            if extra[0] == "true" {
                assigned += 1;
            }
            for f in extra {
                rec.push_field(&f);
            }
            csv_out.write_record(&rec)?;
        }
    }
    csv_out.flush()?;
    bar.finish_and_clear();
    Ok((total, assigned))
}

fn error_columns(message: &str) -> Vec<String> {
    let mut v = vec![String::new(); OUTPUT_COLUMNS.len()];
    v[0] = "false".into();
    v[OUTPUT_COLUMNS.len() - 1] = message.to_string();
    v
}

fn columns(a: &Assignment) -> Vec<String> {
    let pair = |r: &Option<crate::model::AreaRef>| match r {
        Some(r) => [r.code.clone(), r.name.clone()],
        None => [String::new(), String::new()],
    };
    let mut v = vec![a.assigned.to_string()];
    for r in [
        &a.chain.unit,
        &a.chain.grid,
        &a.chain.village,
        &a.chain.town,
        &a.chain.district,
    ] {
        v.extend(pair(r));
    }
    match &a.nearest {
        Some(n) => {
            v.extend(pair(&n.chain.grid));
            v.push(format!("{:.1}", n.distance_m));
        }
        None => v.extend([String::new(), String::new(), String::new()]),
    }
    v.push(String::new());
    v
}

//! `onemap validate [--root CODE]`

use super::progress;
use crate::store::Store;
use crate::store::edit::DUST_M2;
use anyhow::bail;
use clap::Args;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check this area and everything below it (default: the whole city).
    #[arg(long)]
    pub root: Option<String>,
    /// Ignore gaps and overlaps smaller than this many square metres.
    #[arg(long, default_value_t = DUST_M2)]
    pub min_area_m2: f64,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show at most this many issues in text output.
    #[arg(long, default_value_t = 50)]
    pub max_issues: usize,
}

/// Validates and prints a report; fails (exit status 1) if anything is wrong.
pub async fn run(store: &Store, args: ValidateArgs) -> anyhow::Result<()> {
    let root = match args.root {
        Some(r) => crate::model::AreaCode::parse(&r)?.to_string(),
        None => match store.city_code().await? {
            Some(c) => c,
            None => {
                bail!("no areas loaded yet: run `onemap import demo` or `onemap import areas FILE`")
            }
        },
    };
    let bar = progress::bar(0, "validating", false);
    let b = bar.clone();
    let report = store
        .validate(&root, args.min_area_m2, &move |done, total| {
            b.set_length(total);
            b.set_position(done);
        })
        .await?;
    bar.finish_and_clear();
    let Some(report) = report else {
        bail!("no area with code {root}")
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "checked {} areas ({} parents) under {}: {}",
            report.areas_checked,
            report.parents_checked,
            report.root,
            if report.ok {
                "no gaps, no overlaps, nothing outside its parent, all geometry valid".to_string()
            } else {
                format!("{} issue(s)", report.issues.len())
            }
        );
        for i in report.issues.iter().take(args.max_issues) {
            let loc = i
                .location
                .map(|[x, y]| format!(" at {x:.6},{y:.6}"))
                .unwrap_or_default();
            println!(
                "  {:<15} {:>12.1} m²  {}{}  {}",
                format!("{:?}", i.kind),
                i.area_m2,
                i.codes.join(" "),
                loc,
                i.message
            );
        }
        if report.issues.len() > args.max_issues {
            println!(
                "  … {} more (use --json for all)",
                report.issues.len() - args.max_issues
            );
        }
    }
    if !report.ok {
        bail!("validation found {} issue(s)", report.issues.len());
    }
    Ok(())
}

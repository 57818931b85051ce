//! What each in-memory part of the server really holds: builds the parts one after the other
//! from the database of `DATABASE_URL` and reads the allocator's `allocated` counter around
//! each, so the figures include every allocation (and none of another part's), unlike the
//! structural estimates `/readyz` reports. Run by `scripts/bench-memory`.

use onemap::events::analytics::view::ViewSnapshot;
use onemap::index::Snapshot;
use onemap::store::Store;
use onemap::tiles::TileModel as Model;

fn allocated() -> i64 {
    onemap::memory::allocator().map_or(0, |a| a.allocated_bytes as i64)
}

fn mib(b: i64) -> String {
    format!("{:.1}", b as f64 / (1u64 << 20) as f64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let store = Store::connect(&url, 2).await?;
    let base = allocated();
    let mut last = base;
    let mut step = |what: &str| {
        let now = allocated();
        println!("| {what} | {} | {} |", mib(now - last), mib(now - base));
        last = now;
    };
    println!("| step | Δ MiB | total MiB |\n|---|---:|---:|");
    let rows = store.area_shapes().await?;
    step("area rows read (AreaShape)");
    let index = Snapshot::from_rows(&rows);
    step("assignment index built");
    let model = Model::build(&rows);
    step("tile model built");
    let names: std::collections::HashMap<
        std::sync::Arc<str>,
        (std::sync::Arc<str>, onemap::model::Level),
    > = rows
        .iter()
        .map(|r| (r.code.clone(), (r.name.clone(), r.level)))
        .collect();
    step("area names map");
    drop(rows);
    step("area rows dropped");
    let (cols, codes) = onemap::store::event_view::load_all(&store).await?;
    step("events read into columns");
    let view = ViewSnapshot::build(cols, codes, 0, 1);
    step("event view built (columns sorted, cells filled)");
    println!(
        "\nestimates: index {} MiB, tile model {} MiB, event view {} MiB ({} events)",
        mib(index.stats.memory_bytes as i64),
        mib(model.stats.memory_bytes as i64),
        mib(view.stats.memory_bytes as i64),
        view.stats.events
    );
    println!("index: {}", serde_json::to_string(&index.stats)?);
    println!("tiles: {}", serde_json::to_string(&model.stats)?);
    println!(
        "resident: {:?} MiB",
        onemap::memory::resident_bytes().map(|b| b >> 20)
    );
    drop((index, model, names, view));
    Ok(())
}

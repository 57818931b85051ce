//! `/readyz` against a real PostGIS: readiness and the memory breakdown by component (issue
//! #16), whose figures come from each part's own structures and must be plausible against what
//! the allocator says is allocated.

mod common;

use common::{demo_db, spawn_app};

#[tokio::test]
async fn readyz_reports_memory_by_component() {
    let app = spawn_app(demo_db().await).await;
    let (s, body) = app.get_json("/readyz").await;
    assert_eq!(s, 200, "{body}");
    let memory = &body["memory"];
    let c = &memory["components"];
    let bytes = |k: &str| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("no figure for {k}: {memory}"))
    };
    for loaded in [
        "assignment_index",
        "tile_model",
        "area_names",
        "area_geometry",
        "area_strings",
    ] {
        assert!(bytes(loaded) > 0, "{loaded} holds nothing: {memory}");
    }
    // The demo template holds no events; the cache and the backlog start empty.
    for other in ["event_view", "tile_cache", "live_backlog"] {
        bytes(other);
    }
    let resident = memory["resident_bytes"].as_u64().expect("resident bytes");
    let allocated = memory["allocator"]["allocated_bytes"]
        .as_u64()
        .expect("allocator figures");
    // The estimates are of live structures: together they cannot exceed what is allocated,
    // and what is allocated is (nearly all) resident.
    let sum: u64 = [
        "assignment_index",
        "tile_model",
        "area_geometry",
        "area_strings",
        "event_view",
        "area_names",
        "tile_cache",
        "live_backlog",
    ]
    .iter()
    .map(|k| bytes(k))
    .sum();
    assert!(
        sum <= allocated,
        "components {sum} > allocated {allocated}: {memory}"
    );
    assert!(
        allocated <= resident * 2,
        "allocated {allocated} vs resident {resident}"
    );
    // The index and the tile model hold the same areas: a tile model estimate of the right
    // order (more vertices than the index's cells would be a wrong unit).
    assert!(bytes("tile_model") < 1 << 30 && bytes("assignment_index") < 1 << 30);
    // The geometry is held once, as 16-byte points: the demo city's vertices, not a multiple.
    let vertices = body["tiles"]["model"]["vertices"]
        .as_u64()
        .expect("vertex count");
    assert!(
        bytes("area_geometry") >= vertices * 16 && bytes("area_geometry") < vertices * 16 * 2,
        "geometry {} for {vertices} vertices",
        bytes("area_geometry")
    );
}

//! Fire-protection alerts: their kinds, the rules that raise them from assets and events, and
//! their JSON (the same in the list, the acknowledgement and the live stream).

use super::coverage::DEFAULT_RADIUS_M;
use super::model::Spec;
use super::nearest;
use super::set::AssetSet;
use crate::events::analytics::AreaNames;
use crate::store::assets::{AlertRow, NewAlert};
use chrono::NaiveDate;
use serde_json::{Value, json};

/// Events this close to a heritage site raise `fire_near_heritage`.
pub const FIRE_NEAR_HERITAGE_M: f64 = 500.0;
/// A hydrant not inspected for this many days is overdue.
pub const INSPECTION_DAYS: i64 = 365;

pub const KINDS: &[(&str, &str)] = &[
    ("fire_near_heritage", "文物周边火情"),
    ("sensor_alarm", "传感器报警"),
    ("sensor_silent", "传感器失联"),
    ("water_level", "水位超警"),
    ("hydrant_unavailable", "文物周边消火栓不可用"),
];

/// The code of a kind of `kinds` given by its code or its label.
pub fn kind_code(kinds: &[(&'static str, &'static str)], s: &str) -> Option<&'static str> {
    kinds
        .iter()
        .find(|(c, l)| *c == s.trim() || *l == s.trim())
        .map(|(c, _)| *c)
}

/// The label of any alert kind (fire or vessels).
pub fn kind_label(code: &str) -> &'static str {
    KINDS
        .iter()
        .chain(crate::vessels::rules::KINDS)
        .find(|(c, _)| *c == code)
        .map_or("告警", |(_, l)| *l)
}

/// The alert as answered and streamed.
pub fn alert_json(a: &AlertRow, names: &AreaNames) -> Value {
    let area = |c: &Option<String>| {
        c.as_deref()
            .map(|code| json!({"code": code, "name": names.get(code).map(|n| n.name.to_string())}))
    };
    json!({
        "id": a.id, "kind": a.kind, "kind_name": kind_label(&a.kind), "message": a.message,
        "asset_id": a.asset_id, "event_id": a.event_id, "mmsi": a.mmsi,
        "village": area(&a.chain[0]), "town": area(&a.chain[1]), "district": area(&a.chain[2]),
        "lon": a.lon, "lat": a.lat, "raised_at": a.raised_at, "acked_at": a.acked_at,
        "acked_by": a.acked_by, "note": a.note, "detail": a.detail,
    })
}

/// The chain of an alert as the live stream scopes it: district, town, village, grid, unit.
pub fn stream_chain(a: &AlertRow) -> [Option<String>; 5] {
    [
        a.chain[2].clone(),
        a.chain[1].clone(),
        a.chain[0].clone(),
        None,
        None,
    ]
}

/// Why a hydrant cannot be counted on, at `today`; None when it can.
pub fn hydrant_problem(spec: &Spec, in_service: bool, today: NaiveDate) -> Option<String> {
    let Spec::Hydrant(h) = spec else { return None };
    if !in_service {
        return Some("停用 (out of service)".into());
    }
    match h.last_inspection {
        None => Some("无检查记录 (never inspected)".into()),
        Some(d) if (today - d).num_days() > INSPECTION_DAYS => {
            Some(format!("超期未检（上次 {d}） (inspection overdue)"))
        }
        Some(_) => None,
    }
}

/// `hydrant_unavailable` alerts for the given hydrants (every hydrant when `only` is None):
/// one per hydrant that is within the radius of a heritage site and cannot be counted on.
pub fn hydrants_unavailable(
    set: &AssetSet,
    only: Option<&[i64]>,
    today: NaiveDate,
) -> Vec<NewAlert> {
    let pos = |id: i64| set.get(id).map(|a| (a.lon, a.lat));
    let ids: Vec<i64> = match only {
        Some(ids) => ids.to_vec(),
        None => set.all_hydrants.iter().map(|p| p.data).collect(),
    };
    let mut out = Vec::new();
    for id in ids {
        let Some(h) = set.get(id) else { continue };
        let Some(problem) = hydrant_problem(&h.spec, h.in_service, today) else {
            continue;
        };
        let sites = nearest::within(&set.heritage, h.lon, h.lat, DEFAULT_RADIUS_M, pos);
        let Some(first) = sites.first().and_then(|s| set.get(s.id)) else {
            continue;
        };
        let names = sites_json(set, &sites);
        out.push(NewAlert {
            kind: "hydrant_unavailable",
            subject: format!("hydrant:{id}"),
            message: format!("{}旁的消火栓「{}」{}", first.name, h.name, problem),
            asset_id: Some(id),
            event_id: None,
            mmsi: None,
            chain: [h.chain[2].clone(), h.chain[3].clone(), h.chain[4].clone()]
                .map(|c| c.map(|c| c.to_string())),
            lon: Some(h.lon),
            lat: Some(h.lat),
            detail: json!({"sites": names, "problem": problem}),
        });
    }
    out
}

/// A `fire_near_heritage` alert for a fire event at (lon, lat), if a heritage site is near.
pub fn fire_near_heritage(
    set: &AssetSet,
    event_id: i64,
    lon: f64,
    lat: f64,
    chain: [Option<String>; 3],
) -> Option<NewAlert> {
    let pos = |id: i64| set.get(id).map(|a| (a.lon, a.lat));
    let sites = nearest::within(&set.heritage, lon, lat, FIRE_NEAR_HERITAGE_M, pos);
    let first = set.get(sites.first()?.id)?;
    let water = nearest_water_json(set, lon, lat, 3);
    Some(NewAlert {
        kind: "fire_near_heritage",
        subject: format!("event:{event_id}"),
        message: format!(
            "事件 {event_id} 火情距文物「{}」{:.0} 米",
            first.name, sites[0].distance_m
        ),
        asset_id: Some(first.id),
        event_id: Some(event_id),
        mmsi: None,
        chain,
        lon: Some(lon),
        lat: Some(lat),
        detail: json!({
            "sites": sites_json(set, &sites),
            "water": water,
        }),
    })
}

/// Heritage sites found near something, as alert detail.
fn sites_json(set: &AssetSet, sites: &[nearest::Hit]) -> Vec<Value> {
    sites
        .iter()
        .filter_map(|s| {
            let a = set.get(s.id)?;
            Some(json!({"id": a.id, "name": a.name.as_ref(), "distance_m": s.distance_m.round()}))
        })
        .collect()
}

/// The `k` nearest water sources to a point, as JSON (for alerts and event descriptions).
pub fn nearest_water_json(set: &AssetSet, lon: f64, lat: f64, k: usize) -> Vec<Value> {
    let pos = |id: i64| set.get(id).map(|a| (a.lon, a.lat));
    nearest::k_nearest(&set.water, lon, lat, k, None, pos)
        .into_iter()
        .filter_map(|h| {
            let a = set.get(h.id)?;
            Some(json!({
                "id": a.id, "kind": a.kind().code(), "kind_name": a.kind().label(), "name": a.name.as_ref(),
                "distance_m": (h.distance_m * 10.0).round() / 10.0,
                "bearing_deg": (nearest::bearing_deg((lon, lat), (a.lon, a.lat)) * 10.0).round() / 10.0,
            }))
        })
        .collect()
}

/// "东北" for a bearing in degrees.
pub fn compass(bearing: f64) -> &'static str {
    const NAMES: [&str; 8] = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
    NAMES[(((bearing + 22.5) % 360.0) / 45.0) as usize % 8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compass_points() {
        assert_eq!(compass(0.0), "北");
        assert_eq!(compass(44.0), "东北");
        assert_eq!(compass(350.0), "北");
        assert_eq!(compass(180.0), "南");
        assert_eq!(compass(290.0), "西");
        assert_eq!(kind_code(KINDS, "传感器报警"), Some("sensor_alarm"));
        assert_eq!(kind_code(KINDS, "x"), None);
    }
}

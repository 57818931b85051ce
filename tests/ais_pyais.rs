//! The AIS decoder against an independent one: `tests/data/ais/pyais.nmea` holds sentences
//! encoded by pyais (scripts/ais-fixture.py) and `pyais.jsonl` what pyais decodes from them,
//! one message per line; every message decoded here must say the same.

use onemap::vessels::ais::{Message, Reassembler, decode, parse_sentence};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ais")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn close(a: Option<f64>, b: &Value, tol: f64) -> bool {
    match (a, b.as_f64()) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        _ => false,
    }
}

#[test]
fn every_message_decodes_as_pyais_decodes_it() {
    let expected: Vec<Value> = fixture("pyais.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut r = Reassembler::default();
    let mut decoded = Vec::new();
    for (i, line) in fixture("pyais.nmea").lines().enumerate() {
        let s = parse_sentence(line).unwrap_or_else(|e| panic!("line {}: {e}: {line}", i + 1));
        if let Some((payload, fill)) = r.push(s, i as u64) {
            decoded.push(decode(&payload, fill).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)));
        }
    }
    assert_eq!(decoded.len(), expected.len(), "messages");
    assert_eq!(r.evicted, 0);
    let mut by_type = std::collections::BTreeMap::new();
    for (i, (ours, theirs)) in decoded.iter().zip(&expected).enumerate() {
        let t = theirs["type"].as_u64().unwrap();
        *by_type.entry(t).or_insert(0) += 1;
        let ctx = format!("message {i}: {theirs} vs {ours:?}");
        match ours {
            Message::Position(p) => {
                assert_eq!(p.msg_type as u64, t, "{ctx}");
                assert_eq!(p.mmsi as u64, theirs["mmsi"].as_u64().unwrap(), "{ctx}");
                assert!(close(p.lon, &theirs["lon"], 2e-6), "lon {ctx}");
                assert!(close(p.lat, &theirs["lat"], 2e-6), "lat {ctx}");
                assert!(close(p.speed_kn, &theirs["speed_kn"], 1e-9), "speed {ctx}");
                assert!(close(p.course, &theirs["course"], 1e-9), "course {ctx}");
                assert_eq!(
                    p.heading.map(u64::from),
                    theirs["heading"].as_u64(),
                    "heading {ctx}"
                );
                if t <= 3 {
                    assert_eq!(
                        p.status.map(u64::from),
                        theirs["status"].as_u64(),
                        "status {ctx}"
                    );
                }
            }
            Message::Static(s) => {
                assert!(t == 5 || t == 24, "{ctx}");
                assert_eq!(s.mmsi as u64, theirs["mmsi"].as_u64().unwrap(), "{ctx}");
                assert_eq!(s.name.as_deref(), theirs["name"].as_str(), "name {ctx}");
                assert_eq!(
                    s.call_sign.as_deref(),
                    theirs["call_sign"].as_str(),
                    "call sign {ctx}"
                );
                assert_eq!(
                    s.ship_type.map(u64::from),
                    theirs["ship_type"].as_u64(),
                    "type {ctx}"
                );
                assert_eq!(
                    s.length_m.map(u64::from),
                    theirs["length_m"].as_u64(),
                    "length {ctx}"
                );
            }
        }
    }
    // Every kind the issue names is in the fixture.
    for t in [1, 2, 3, 5, 18, 19, 24] {
        assert!(
            by_type.get(&t).copied().unwrap_or(0) >= 5,
            "type {t}: {by_type:?}"
        );
    }
}

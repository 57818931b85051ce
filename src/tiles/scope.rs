//! A tile cut to a caller's scope: the features whose area properties lie in the scope, the
//! rest dropped. Works on any MVT (keys and values are kept as they are; only the feature lists
//! shrink), so every source whose features name their area is scoped the same way.

use crate::access::Scope;
use geozero::mvt::{Message, Tile};

/// `raw` with only the features having one of `keys` (a string value) inside `scope`. Empty
/// when nothing is left; `raw` as is when it does not decode (it is our own encoder's output).
pub fn keep_in_scope(raw: &[u8], keys: &[&str], scope: &Scope) -> Vec<u8> {
    if raw.is_empty() {
        return Vec::new();
    }
    let Ok(mut tile) = Tile::decode(raw) else {
        tracing::error!("a tile of our own did not decode; scoping leaves it empty");
        return Vec::new();
    };
    for layer in &mut tile.layers {
        let key_ids: Vec<u32> = layer
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| keys.contains(&k.as_str()))
            .map(|(i, _)| i as u32)
            .collect();
        let inside: Vec<bool> = layer
            .values
            .iter()
            .map(|v| v.string_value.as_deref().is_some_and(|s| scope.contains(s)))
            .collect();
        layer.features.retain(|f| {
            f.tags.chunks_exact(2).any(|kv| {
                key_ids.contains(&kv[0]) && inside.get(kv[1] as usize).copied().unwrap_or(false)
            })
        });
    }
    tile.layers.retain(|l| !l.features.is_empty());
    if tile.layers.is_empty() {
        return Vec::new();
    }
    tile.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::layer_out::{LayerOut, Val};

    #[test]
    fn keeps_only_features_in_scope() {
        let mut out = LayerOut::new("things");
        out.point(1, &[("area", Val::Str("350304101001".into()))], [10, 10]);
        out.point(2, &[("area", Val::Str("350304102001".into()))], [20, 20]);
        out.point(3, &[("name", Val::Str("350304101".into()))], [30, 30]);
        let raw = out.encode();
        let town = Scope::new("350304101");
        let kept = Tile::decode(&keep_in_scope(&raw, &["area"], &town)[..]).unwrap();
        let ids: Vec<u64> = kept.layers[0]
            .features
            .iter()
            .filter_map(|f| f.id)
            .collect();
        assert_eq!(ids, vec![1]);
        assert!(keep_in_scope(&raw, &["area"], &Scope::new("350305")).is_empty());
        assert!(keep_in_scope(&[], &["area"], &town).is_empty());
    }
}

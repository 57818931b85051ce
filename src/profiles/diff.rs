//! The difference between two versions of a profile, as a list of changed JSON paths.

use serde::Serialize;
use serde_json::Value;

/// One changed value: `from` is null for an added value, `to` null for a removed one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub path: String,
    pub from: Value,
    pub to: Value,
}

/// Every leaf that differs between `a` and `b`, objects' keys in sorted order. Objects are compared key by
/// key, arrays element by element; a value whose type changed is one change.
pub fn diff(a: &Value, b: &Value, path: &str) -> Vec<Change> {
    let mut out = Vec::new();
    walk(a, b, path, &mut out);
    out
}

fn walk(a: &Value, b: &Value, path: &str, out: &mut Vec<Change>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = join(path, k);
                match y.get(k) {
                    Some(vb) => walk(va, vb, &p, out),
                    None => out.push(Change {
                        path: p,
                        from: va.clone(),
                        to: Value::Null,
                    }),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    out.push(Change {
                        path: join(path, k),
                        from: Value::Null,
                        to: vb.clone(),
                    });
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => walk(va, vb, &p, out),
                    (Some(va), None) => out.push(Change {
                        path: p,
                        from: va.clone(),
                        to: Value::Null,
                    }),
                    (None, Some(vb)) => out.push(Change {
                        path: p,
                        from: Value::Null,
                        to: vb.clone(),
                    }),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(Change {
            path: path.to_string(),
            from: a.clone(),
            to: b.clone(),
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_changed_added_and_removed_leaves() {
        let a = json!({"population": {"resident": 2800}, "committee": [{"name": "林一"}], "x": 1});
        let b = json!({"population": {"resident": 2850}, "committee": [{"name": "林一"}, {"name": "陈二"}], "y": 2});
        let d = diff(&a, &b, "introduction");
        assert_eq!(
            d,
            vec![
                Change {
                    path: "introduction.committee[1]".into(),
                    from: Value::Null,
                    to: json!({"name": "陈二"})
                },
                Change {
                    path: "introduction.population.resident".into(),
                    from: json!(2800),
                    to: json!(2850)
                },
                Change {
                    path: "introduction.x".into(),
                    from: json!(1),
                    to: Value::Null
                },
                Change {
                    path: "introduction.y".into(),
                    from: Value::Null,
                    to: json!(2)
                },
            ]
        );
        assert!(diff(&a, &a, "").is_empty());
    }
}

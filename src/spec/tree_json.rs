//! Converting a spanned tree to JSON (for top-level `x-*` extensions and tests).

use serde_json::{Map as JsonMap, Number, Value as Json};

use super::node::{Node, Value};

pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::UInt(u) => Json::Number((*u).into()),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Json::Number((*f as i64).into()),
        Value::Float(f) => Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(node.scalar_string().unwrap_or_default())),
        Value::String(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => {
            // Go maps print sorted by key.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = JsonMap::new();
            for k in keys {
                out.insert(k.clone(), to_json(&m[k].value));
            }
            Json::Object(out)
        }
    }
}

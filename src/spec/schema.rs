//! The JSON Schema of the compose file format, generated from our typed model.
//!
//! `schemars` describes the model (with the short forms declared on its fields, see
//! `model/schema_types.rs`); this module adds the parts of the file format that are resolved
//! before binding and so are not model fields: `version`, `include`, `extends`, and `x-*`
//! extensions on every object. `schema/compose-spec.json` is this output; a test keeps it
//! up to date.

use serde_json::{json, Value};

use super::model::schema_types::{Extends, Include};
use super::model::Project;

/// The schema as pretty-printed JSON with a trailing newline (the committed file's content).
pub fn compose_schema_text() -> String {
    serde_json::to_string_pretty(&compose_schema()).unwrap_or_default() + "\n"
}

pub fn compose_schema() -> Value {
    let mut root = serde_json::to_value(schemars::schema_for!(Project)).unwrap_or(Value::Null);
    let mut gen = schemars::SchemaGenerator::default();
    let extends = serde_json::to_value(gen.subschema_for::<Extends>()).unwrap_or(Value::Null);
    let include = serde_json::to_value(gen.subschema_for::<Include>()).unwrap_or(Value::Null);
    let extra_defs = serde_json::to_value(gen.take_definitions(true)).unwrap_or(Value::Null);

    if let Some(obj) = root.as_object_mut() {
        obj.insert(
            "$id".into(),
            json!("https://github.com/rcompose/rcompose/schema/compose-spec.json"),
        );
        obj.insert("title".into(), json!("Compose file (rcompose)"));
        obj.insert(
            "description".into(),
            json!("The Compose file format as rcompose reads it; generated from rcompose's typed model."),
        );
        if let Some(Value::Object(defs)) = obj.get_mut("$defs") {
            if let Value::Object(extra) = extra_defs {
                for (k, v) in extra {
                    defs.entry(k).or_insert(v);
                }
            }
            if let Some(Value::Object(props)) = defs
                .get_mut("Service")
                .and_then(|s| s.get_mut("properties"))
            {
                props.insert("extends".into(), extends);
            }
        }
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            props.insert(
                "version".into(),
                json!({"type": "string", "description": "Obsolete; ignored with a warning."}),
            );
            props.insert("include".into(), json!({"type": "array", "items": include}));
            // Top-level resources may be declared empty (`volumes: {data:}`).
            for key in ["networks", "volumes", "secrets", "configs", "models"] {
                if let Some(add) = props
                    .get_mut(key)
                    .and_then(|p| p.get_mut("additionalProperties"))
                {
                    let inner = add.take();
                    *add = json!({"anyOf": [inner, {"type": "null"}]});
                }
            }
        }
    }
    allow_extensions(&mut root);
    root
}

/// Every closed object also accepts `x-*` keys.
fn allow_extensions(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.insert("patternProperties".into(), json!({"^x-": {}}));
            }
            for (_, child) in map.iter_mut() {
                allow_extensions(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(allow_extensions),
        _ => {}
    }
}

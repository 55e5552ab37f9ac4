//! `schema/compose-spec.json` must be what the model generates (run with `UPDATE_SCHEMA=1`
//! to rewrite it after changing the model).

use std::path::Path;

#[test]
fn committed_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/compose-spec.json");
    let generated = rcompose::spec::schema::compose_schema_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/compose-spec.json is stale: run `UPDATE_SCHEMA=1 cargo test --test schema`"
    );
}

#[test]
fn schema_describes_short_and_long_forms() {
    let s = rcompose::spec::schema::compose_schema();
    let service = &s["$defs"]["Service"]["properties"];
    for key in [
        "image",
        "ports",
        "volumes",
        "environment",
        "depends_on",
        "extends",
        "healthcheck",
    ] {
        assert!(service.get(key).is_some(), "Service schema lacks {key}");
    }
    assert_eq!(
        s["$defs"]["Service"]["additionalProperties"],
        serde_json::json!(false)
    );
    assert!(s["$defs"]["Service"]["patternProperties"]
        .get("^x-")
        .is_some());
    assert!(s["properties"].get("include").is_some());
}

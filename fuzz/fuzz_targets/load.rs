//! The whole loader (`spec::load`) on one compose file held in memory: the input is given as
//! standard input (`-f -`, `LoadOptions::stdin`), so nothing is written to disk. The working
//! directory is an empty temporary directory (never written to) and the OS environment is a
//! small fixed map, so runs are reproducible.
//!
//! Invariants:
//! * no panic (and, through libFuzzer's `-timeout` / `-rss_limit_mb`, no hang or blow-up);
//! * the JSON text `config --format json` writes straight from the model
//!   (`render::json_pretty_escaped`) equals `to_string_pretty` of the escaped `to_json` value;
//! * when loading succeeds, the round trip `load ∘ print ∘ load = load` holds for both outputs
//!   of `rcompose config`: `--format json` (compared on `Project::to_json`) and the default YAML
//!   (compared on `Project::to_yaml_value`, which also carries service `x-*` extensions and
//!   `models`). "print" is exactly what `render_output` in `src/cli/config.rs` does: every `$`
//!   re-escaped as `$$`, via `render::json_pretty_escaped` for JSON, or `escape_dollars` +
//!   `yaml_view` + `to_yaml` for YAML. Keep the two in step.
//!
//! Three documented departures from exact equality, all inherited from Docker Compose:
//! * `blkio_config` device entries (`weight_device`, `device_read_bps`, ...) are printed in JSON
//!   with Go's field names (`Path`, `Weight`, `Rate`), because compose-go's `WeightDevice` and
//!   `ThrottleDevice` only have yaml tags; Docker Compose's JSON output does the same and so
//!   does not load back either. The JSON that is reloaded has those keys lowercased, the
//!   rename `yaml_view` applies for the YAML output (`print_json_loadable`).
//! * `escape_dollars` (like Docker Compose's `config`, which replaces `$` by `$$` in the
//!   marshalled bytes) escapes mapping *keys* too, but the loader never interpolates keys
//!   (compose-go neither). A key containing `$` therefore comes back with its `$` doubled.
//! * `extra_hosts` is printed as a list of `host=ip` strings, and list entries are split at
//!   `,` when loaded (compose-go's `NewHostsList`), while the map form (`host: "a,b"`) is not
//!   split: such an entry comes back as one entry per comma-separated part. Docker Compose
//!   v2.40.3 does exactly the same (checked with its `config` on its own output).
//!
//! So the JSON that is reloaded is `print_json_loadable`, and the reloaded value is compared
//! with `expected_after_reload(first)`, which applies the last two changes (and nothing else)
//! to the first value.
//!
//! Sandboxing: the file may name other files (`env_file`, `label_file`, `include`,
//! `extends.file`); relative ones resolve inside the empty working directory. To keep special
//! files (`/dev/zero`, `/dev/stdin`, FIFOs under `/run`, `/proc/self/fd/0`) from turning into
//! spurious hangs or OOMs, the path prefixes `/dev`, `/proc`, `/sys` and `/run` are rewritten
//! (same length) before loading; see `sandbox`. Everything else is loaded as given.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use indexmap::IndexMap;
use libfuzzer_sys::fuzz_target;
use rcompose::cli::render;
use rcompose::spec::loader::MAX_FILE_BYTES;
use rcompose::spec::model::Project;
use rcompose::spec::{load, LoadOptions};
use serde_json::Value;

/// An empty directory, created once per process (never written to).
fn cwd() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("rcompose-fuzz-load");
        std::fs::create_dir_all(&dir).expect("create the fuzz working directory");
        dir
    })
}

fn os_env() -> IndexMap<String, String> {
    let mut env = IndexMap::new();
    env.insert("HOME".to_string(), "/home/fuzz".to_string());
    env.insert(
        "PATH".to_string(),
        "/usr/local/bin:/usr/bin:/bin".to_string(),
    );
    env.insert("A".to_string(), "a".to_string());
    env.insert("EMPTY".to_string(), String::new());
    env
}

fn options(text: String) -> LoadOptions {
    LoadOptions {
        files: vec!["-".into()],
        stdin: Some(text),
        cwd: cwd().clone(),
        os_env: os_env(),
        // What `rcompose config` sets (no service named: the whole project).
        select_services: true,
        ..Default::default()
    }
}

/// Rewrites the roots of special file systems so that no input can make the loader read a
/// device, a FIFO or a `/proc` file (same length, so spans in messages stay meaningful).
fn sandbox(text: &str) -> String {
    text.replace("/dev", "/d_v")
        .replace("/proc", "/pr_c")
        .replace("/sys", "/s_s")
        .replace("/run", "/r_n")
}

/// `config --format json`: `render_output` in `src/cli/config.rs`, which writes the text
/// straight from the model (`render::json_pretty_escaped`, top-level extensions sorted).
fn print_json(p: &Project) -> String {
    let mut ext: Vec<(&String, &Value)> = p.extensions.iter().collect();
    ext.sort_by(|a, b| a.0.cmp(b.0));
    render::json_pretty_escaped(p, &ext).expect("config --format json serialises")
}

/// The reference that `json_pretty_escaped` claims to equal: `to_json`, `escape_dollars`,
/// `serde_json::to_string_pretty`, a final newline.
fn print_json_reference(p: &Project) -> String {
    let mut v = p.to_json();
    render::escape_dollars(&mut v);
    serde_json::to_string_pretty(&v).expect("serialise the escaped JSON") + "\n"
}

/// `config` (YAML, the default): `render_output` in `src/cli/config.rs`.
fn print_yaml(p: &Project) -> String {
    let mut v = p.to_yaml_value();
    render::escape_dollars(&mut v);
    render::yaml_view(&mut v);
    render::to_yaml(&v)
}

/// `print_json` with the one change its output needs to be loadable (see the module docs):
/// the keys of `blkio_config` device entries lowercased, as `render::yaml_view` does. Made
/// from the value rather than by re-parsing the printed text, whose floats serde_json would
/// not read back exactly (no `float_roundtrip` feature).
fn print_json_loadable(p: &Project) -> String {
    let mut v = p.to_json();
    render::escape_dollars(&mut v);
    if let Some(Value::Object(services)) = v.get_mut("services") {
        for svc in services.values_mut() {
            if let Some(Value::Object(blkio)) = svc.get_mut("blkio_config") {
                for list in blkio.values_mut() {
                    for dev in list.as_array_mut().into_iter().flatten() {
                        if let Some(o) = dev.as_object_mut() {
                            *o = std::mem::take(o)
                                .into_iter()
                                .map(|(k, x)| (k.to_lowercase(), x))
                                .collect();
                        }
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&v).expect("serialise the escaped JSON") + "\n"
}

/// What a reload of the printed output must give (see the module docs): `v` with `$` doubled
/// in every mapping key, and `extra_hosts` entries split at `,`.
fn expected_after_reload(v: &Value) -> Value {
    let mut v = escape_keys(v);
    if let Some(Value::Object(services)) = v.get_mut("services") {
        for svc in services.values_mut() {
            split_extra_hosts(svc.get_mut("extra_hosts"));
            split_extra_hosts(svc.get_mut("build").and_then(|b| b.get_mut("extra_hosts")));
        }
    }
    v
}

fn escape_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.replace('$', "$$"), escape_keys(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(escape_keys).collect()),
        other => other.clone(),
    }
}

fn split_extra_hosts(list: Option<&mut Value>) {
    let Some(Value::Array(items)) = list else {
        return;
    };
    *items = std::mem::take(items)
        .into_iter()
        .flat_map(|item| match item.as_str().and_then(|s| s.split_once('=')) {
            Some((host, ips)) => ips
                .split(',')
                .map(|ip| Value::String(format!("{host}={ip}")))
                .collect(),
            None => vec![item],
        })
        .collect();
}

/// JSON pointer of the first difference between `a` and `b` (for the failure message).
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        if let Some(p) = first_difference(va, vb, format!("{at}/{k}")) {
                            return Some(p);
                        }
                    }
                    None => return Some(format!("{at}/{k} (missing after the round trip)")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}/{k} (added by the round trip)"))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if let Some(p) = first_difference(va, vb, format!("{at}/{i}")) {
                    return Some(p);
                }
            }
            (x.len() != y.len()).then(|| format!("{at} (length {} vs {})", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

/// Loads `printed` again and checks that `view` of the result equals `expected`.
fn check_round_trip(
    format: &str,
    input: &str,
    printed: &str,
    expected: &Value,
    view: fn(&Project) -> Value,
) {
    if printed.len() > MAX_FILE_BYTES {
        // Alias expansion can make the output larger than any file the loader accepts.
        return;
    }
    let again = match load(&options(printed.to_string())) {
        Ok(l) => view(&l.project),
        Err(e) => panic!(
            "{format} round trip: the printed config does not load again\n\
             --- input\n{input}\n--- printed\n{printed}\n--- error\n{e}"
        ),
    };
    let expected = expected_after_reload(expected);
    if again != expected {
        let diff = first_difference(&expected, &again, String::new()).unwrap_or_default();
        panic!(
            "{format} round trip: load(print(load(x))) != load(x) at {diff}\n\
             --- input\n{input}\n--- printed\n{printed}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    // `LoadOptions::stdin` is a `String`: invalid UTF-8 is replaced (U+FFFD), so every input
    // reaches the parser.
    let text = sandbox(&String::from_utf8_lossy(data));
    let Ok(loaded) = load(&options(text.clone())) else {
        return;
    };
    let p = &loaded.project;

    // `config --format json` writes its text straight from the model; it must be the text of
    // the escaped `to_json` value. The text that is reloaded differs from it only in the blkio
    // keys (see the module docs).
    let direct = print_json(p);
    let reference = print_json_reference(p);
    assert!(
        direct == reference,
        "config --format json differs from to_string_pretty(escape_dollars(to_json))\n\
         --- input\n{text}\n--- direct\n{direct}\n--- reference\n{reference}"
    );
    let json = print_json_loadable(p);
    check_round_trip("json", &text, &json, &p.to_json(), Project::to_json);

    let yaml = print_yaml(p);
    check_round_trip(
        "yaml",
        &text,
        &yaml,
        &p.to_yaml_value(),
        Project::to_yaml_value,
    );
});

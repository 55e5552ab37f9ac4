//! Short syntax → long syntax, per file, before merging.
//!
//! compose-go's `transform/canonical.go` rewrites the tree after merging; we do it per file
//! (after interpolation) so that merge, `extends`, `include` and path resolution all see one
//! shape. Each attribute with a short form has one rule here; values that are wrong in a way
//! the typed phase can report better (wrong kinds) are left alone for it.

use super::error::{LoadError, Problem};
use super::node::{Entry, Map, Node, Tag, Value};
use super::source::Span;
use super::{ports, shellwords, volume_spec};

/// Canonicalizes a whole compose file in place. Errors are pushed, not returned, so that every
/// bad value in the file is reported at once.
pub fn file(root: &mut Node, errors: &mut Vec<LoadError>) {
    let Some(map) = root.as_map_mut() else { return };
    if let Some(e) = map.get_mut("services") {
        if let Some(services) = e.value.as_map_mut() {
            for (name, entry) in services.iter_mut() {
                service(&mut entry.value, &format!("services.{name}"), errors);
            }
        }
    }
    for kind in ["networks", "volumes", "secrets", "configs", "models"] {
        if let Some(e) = map.get_mut(kind) {
            if let Some(items) = e.value.as_map_mut() {
                for (name, entry) in items.iter_mut() {
                    resource(kind, &mut entry.value, &format!("{kind}.{name}"));
                }
            }
        }
    }
}

fn skip(node: &Node) -> bool {
    node.tag == Tag::Reset
}

/// Top-level resource: `null` → `{}`; legacy `external: {name: x}`; option maps to strings.
fn resource(kind: &str, node: &mut Node, _path: &str) {
    if skip(node) {
        return;
    }
    if node.is_null() {
        let span = node.span;
        *node = Node::map(span);
        return;
    }
    let Some(map) = node.as_map_mut() else { return };
    if let Some(ext) = map.get("external").map(|e| e.value.clone()) {
        if let Some(name) = ext.get("name").and_then(|n| n.scalar_string()) {
            let span = ext.span;
            map.insert(
                "external".into(),
                Entry {
                    key_span: span,
                    value: Node::new(Value::Bool(true), span),
                },
            );
            if !map.contains_key("name") {
                map.insert(
                    "name".into(),
                    Entry {
                        key_span: span,
                        value: Node::string(name, span),
                    },
                );
            }
        }
    }
    for key in ["driver_opts", "labels"] {
        if let Some(e) = map.get_mut(key) {
            to_mapping(&mut e.value, NullAs::Empty);
        }
    }
    if kind == "networks" {
        if let Some(ipam) = map.get_mut("ipam").and_then(|e| e.value.as_map_mut()) {
            if let Some(e) = ipam.get_mut("options") {
                to_mapping(&mut e.value, NullAs::Empty);
            }
            if let Some(cfg) = ipam.get_mut("config").and_then(|e| e.value.as_seq_mut()) {
                for pool in cfg.iter_mut() {
                    if let Some(aux) = pool.get_mut("aux_addresses") {
                        to_mapping(aux, NullAs::Empty);
                    }
                }
            }
        }
    }
}

fn service(node: &mut Node, path: &str, errors: &mut Vec<LoadError>) {
    if skip(node) {
        return;
    }
    let Some(map) = node.as_map_mut() else { return };
    for (key, entry) in map.iter_mut() {
        let value = &mut entry.value;
        if skip(value) {
            continue;
        }
        // The attribute's path, for errors only: building it for every key costs more than
        // most rules.
        let p = || format!("{path}.{key}");
        match key.as_str() {
            "build" => build(value, &p(), errors),
            "command" | "entrypoint" => shell_command(value, &p, errors),
            "environment" => to_mapping(value, NullAs::Null),
            "labels" | "annotations" | "sysctls" | "storage_opt" | "log_opt" => {
                to_mapping(value, NullAs::Empty)
            }
            "env_file" => env_files(value),
            "label_file"
            | "dns"
            | "dns_search"
            | "dns_opt"
            | "tmpfs"
            | "cap_add"
            | "cap_drop"
            | "profiles"
            | "external_links"
            | "links"
            | "security_opt"
            | "volumes_from"
            | "group_add"
            | "device_cgroup_rules" => string_list(value, key == "dns" || key == "dns_search"),
            "depends_on" => depends_on(value),
            "networks" => service_networks(value),
            "ports" => ports_rule(value, &p, errors),
            "expose" => expose(value),
            "volumes" => volumes(value, &p, errors),
            "secrets" | "configs" => file_refs(value),
            "extra_hosts" => extra_hosts(value),
            "healthcheck" => healthcheck(value),
            "devices" => devices(value),
            "gpus" => gpus(value),
            "models" => models(value),
            "post_start" | "pre_stop" => hooks(value, &p(), errors),
            "develop" => develop(value, &p(), errors),
            "provider" => provider(value),
            "deploy" => deploy(value),
            "logging" => {
                if let Some(o) = value.get_mut("options") {
                    to_mapping(o, NullAs::Empty);
                }
            }
            _ => {}
        }
    }
}

/// How a `KEY` without value (or `KEY: null`) is represented.
#[derive(Clone, Copy, PartialEq)]
pub enum NullAs {
    /// `environment`, `build.args`: kept as null (resolved from the environment later).
    Null,
    /// `labels`, `sysctls`, options: the empty string.
    Empty,
}

/// List (`KEY=VALUE` items) or map → map with string (or null) values.
pub fn to_mapping(node: &mut Node, null_as: NullAs) {
    if skip(node) {
        return;
    }
    let span = node.span;
    match &mut node.value {
        Value::Seq(items) => {
            let mut map = Map::default();
            for item in items.iter() {
                let Some(text) = item.scalar_string() else {
                    continue;
                };
                let (k, v) = match text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Node::string(v, item.span)),
                    None if null_as == NullAs::Null => (text.clone(), Node::null(item.span)),
                    None => (text.clone(), Node::string("", item.span)),
                };
                map.insert(
                    k,
                    Entry {
                        key_span: item.span,
                        value: v,
                    },
                );
            }
            *node = Node::new(Value::Map(map), span);
        }
        Value::Map(map) => {
            for entry in map.values_mut() {
                let v = &mut entry.value;
                if skip(v) {
                    continue;
                }
                match &v.value {
                    Value::Null if null_as == NullAs::Empty => {
                        v.value = Value::String(String::new())
                    }
                    Value::Null => {}
                    Value::Seq(_) | Value::Map(_) => {} // reported by the typed phase
                    _ => {
                        let s = v.scalar_string().unwrap_or_default();
                        v.value = Value::String(s);
                    }
                }
            }
        }
        _ => {}
    }
}

/// A string → one-item list; scalars in lists → strings. `drop_empty`: `dns: ""` is omitted.
fn string_list(node: &mut Node, drop_empty: bool) {
    let span = node.span;
    match &node.value {
        Value::String(s) if drop_empty && s.is_empty() => *node = Node::seq(vec![], span),
        Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::UInt(_) => {
            let s = node.scalar_string().unwrap_or_default();
            *node = Node::seq(vec![Node::string(s, span)], span);
        }
        Value::Seq(_) => stringify_items(node),
        _ => {}
    }
}

fn stringify_items(node: &mut Node) {
    if let Some(items) = node.as_seq_mut() {
        for item in items.iter_mut() {
            if matches!(
                item.value,
                Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_)
            ) {
                item.value = Value::String(item.scalar_string().unwrap_or_default());
            }
        }
    }
}

/// `path` builds the dotted path of `node` (only called for an error).
fn shell_command(node: &mut Node, path: &dyn Fn() -> String, errors: &mut Vec<LoadError>) {
    let span = node.span;
    if let Value::String(s) = &node.value {
        match shellwords::split(s) {
            Ok(words) => {
                *node = Node::seq(
                    words.into_iter().map(|w| Node::string(w, span)).collect(),
                    span,
                )
            }
            Err(e) => {
                let path = path();
                errors.push(
                    LoadError::new(Problem::Invalid, format!("{path}: {e}"))
                        .at(span)
                        .path(&path),
                )
            }
        }
    } else {
        stringify_items(node);
    }
}

fn build(node: &mut Node, path: &str, errors: &mut Vec<LoadError>) {
    let span = node.span;
    if let Value::String(s) = &node.value {
        let mut map = Map::default();
        map.insert(
            "context".into(),
            Entry {
                key_span: span,
                value: Node::string(s.clone(), span),
            },
        );
        *node = Node::new(Value::Map(map), span);
    }
    let Some(map) = node.as_map_mut() else { return };
    for (key, entry) in map.iter_mut() {
        let v = &mut entry.value;
        match key.as_str() {
            "args" => to_mapping(v, NullAs::Null),
            "labels" | "additional_contexts" => to_mapping(v, NullAs::Empty),
            "secrets" => file_refs(v),
            "extra_hosts" => extra_hosts(v),
            "cache_from" | "cache_to" | "tags" | "platforms" | "no_cache_filter"
            | "entitlements" => string_list(v, false),
            "ssh" => ssh(v),
            _ => {}
        }
    }
    let _ = (path, errors);
}

fn ssh(node: &mut Node) {
    let span = node.span;
    match &node.value {
        Value::String(s) => *node = Node::seq(vec![Node::string(s.clone(), span)], span),
        Value::Map(m) => {
            let items = m
                .iter()
                .map(|(k, e)| {
                    let v = e.value.scalar_string().unwrap_or_default();
                    let text = if v.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}={v}")
                    };
                    Node::string(text, e.key_span)
                })
                .collect();
            *node = Node::seq(items, span);
        }
        _ => {}
    }
}

fn env_files(node: &mut Node) {
    let span = node.span;
    if let Value::String(_) = node.value {
        let item = node.clone();
        *node = Node::seq(vec![item], span);
    }
    if let Some(items) = node.as_seq_mut() {
        for item in items.iter_mut() {
            if let Value::String(s) = &item.value {
                let mut map = Map::default();
                map.insert(
                    "path".into(),
                    Entry {
                        key_span: item.span,
                        value: Node::string(s.clone(), item.span),
                    },
                );
                *item = Node::new(Value::Map(map), item.span);
            }
        }
    }
}

fn depends_on(node: &mut Node) {
    let span = node.span;
    if let Value::Seq(items) = &node.value {
        let mut map = Map::default();
        for item in items {
            if let Some(name) = item.scalar_string() {
                map.insert(
                    name,
                    Entry {
                        key_span: item.span,
                        value: Node::null(item.span),
                    },
                );
            }
        }
        *node = Node::new(Value::Map(map), span);
    }
    if let Some(map) = node.as_map_mut() {
        for entry in map.values_mut() {
            if entry.value.is_null() && entry.value.tag != Tag::Reset {
                entry.value = Node::map(entry.key_span);
            }
            let key_span = entry.key_span;
            if let Some(m) = entry.value.as_map_mut() {
                if !m.contains_key("condition") {
                    m.insert(
                        "condition".into(),
                        Entry {
                            key_span,
                            value: Node::string("service_started", key_span),
                        },
                    );
                }
                if !m.contains_key("required") {
                    m.insert(
                        "required".into(),
                        Entry {
                            key_span,
                            value: Node::new(Value::Bool(true), key_span),
                        },
                    );
                }
            }
        }
    }
}

fn service_networks(node: &mut Node) {
    let span = node.span;
    if let Value::Seq(items) = &node.value {
        let mut map = Map::default();
        for item in items {
            if let Some(name) = item.scalar_string() {
                map.insert(
                    name,
                    Entry {
                        key_span: item.span,
                        value: Node::null(item.span),
                    },
                );
            }
        }
        *node = Node::new(Value::Map(map), span);
    }
    if let Some(map) = node.as_map_mut() {
        for entry in map.values_mut() {
            if let Some(o) = entry.value.get_mut("driver_opts") {
                to_mapping(o, NullAs::Empty);
            }
            if let Some(a) = entry.value.get_mut("aliases") {
                string_list(a, false);
            }
        }
    }
}

fn ports_rule(node: &mut Node, path: &dyn Fn() -> String, errors: &mut Vec<LoadError>) {
    let Some(items) = node.as_seq_mut() else {
        return;
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.drain(..).enumerate() {
        let span = item.span;
        match &item.value {
            Value::String(_) | Value::Int(_) | Value::UInt(_) => {
                let spec = item.scalar_string().unwrap_or_default();
                match ports::parse(&spec) {
                    Ok(list) => {
                        for p in list {
                            let mut m = Map::default();
                            put(&mut m, "mode", Node::string("ingress", span));
                            if let Some(ip) = p.host_ip {
                                put(&mut m, "host_ip", Node::string(ip, span));
                            }
                            put(
                                &mut m,
                                "target",
                                Node::new(Value::Int(p.target as i64), span),
                            );
                            if let Some(pubd) = p.published {
                                put(&mut m, "published", Node::string(pubd, span));
                            }
                            put(&mut m, "protocol", Node::string(p.protocol, span));
                            out.push(Node::new(Value::Map(m), span));
                        }
                    }
                    Err(msg) => {
                        errors.push(
                            LoadError::new(Problem::Invalid, msg)
                                .at(span)
                                .path(&format!("{}[{i}]", path())),
                        );
                    }
                }
            }
            Value::Map(_) => {
                let mut item = item;
                if let Some(m) = item.as_map_mut() {
                    if let Some(e) = m.get_mut("published") {
                        if let Some(s) = e.value.scalar_string() {
                            if !e.value.is_null() {
                                e.value.value = Value::String(s);
                            }
                        }
                    }
                    if !m.contains_key("mode") {
                        put(m, "mode", Node::string("ingress", span));
                    }
                    if !m.contains_key("protocol") {
                        put(m, "protocol", Node::string("tcp", span));
                    }
                }
                out.push(item);
            }
            _ => out.push(item),
        }
    }
    *items = out;
}

fn put(m: &mut Map, key: &str, value: Node) {
    let span = value.span;
    m.insert(
        key.to_string(),
        Entry {
            key_span: span,
            value,
        },
    );
}

fn expose(node: &mut Node) {
    string_list(node, false);
}

fn volumes(node: &mut Node, path: &dyn Fn() -> String, errors: &mut Vec<LoadError>) {
    let Some(items) = node.as_seq_mut() else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        let span = item.span;
        let Value::String(spec) = &item.value else {
            continue;
        };
        match volume_spec::parse(spec) {
            Ok(v) => {
                let mut m = Map::default();
                let kind = match v.kind {
                    Some(volume_spec::VolumeKind::Bind) => "bind",
                    _ => "volume",
                };
                put(&mut m, "type", Node::string(kind, span));
                if let Some(src) = &v.source {
                    put(&mut m, "source", Node::string(src.clone(), span));
                }
                put(&mut m, "target", Node::string(v.target.clone(), span));
                if v.read_only {
                    put(&mut m, "read_only", Node::new(Value::Bool(true), span));
                }
                if v.has_bind_section() {
                    let mut b = Map::default();
                    if let Some(p) = &v.propagation {
                        put(&mut b, "propagation", Node::string(p.clone(), span));
                    }
                    if v.kind == Some(volume_spec::VolumeKind::Bind) {
                        put(
                            &mut b,
                            "create_host_path",
                            Node::new(Value::Bool(true), span),
                        );
                    }
                    if let Some(z) = &v.selinux {
                        put(&mut b, "selinux", Node::string(z.clone(), span));
                    }
                    put(&mut m, "bind", Node::new(Value::Map(b), span));
                }
                if v.has_volume_section() {
                    let mut vm = Map::default();
                    if v.nocopy {
                        put(&mut vm, "nocopy", Node::new(Value::Bool(true), span));
                    }
                    put(&mut m, "volume", Node::new(Value::Map(vm), span));
                }
                *item = Node::new(Value::Map(m), span);
            }
            Err(msg) => errors.push(
                LoadError::new(Problem::Invalid, msg)
                    .at(span)
                    .path(&format!("{}[{i}]", path())),
            ),
        }
    }
}

fn file_refs(node: &mut Node) {
    let Some(items) = node.as_seq_mut() else {
        return;
    };
    for item in items.iter_mut() {
        if let Some(s) = item.as_str().map(str::to_string) {
            let mut m = Map::default();
            put(&mut m, "source", Node::string(s, item.span));
            *item = Node::new(Value::Map(m), item.span);
        }
    }
}

fn extra_hosts(node: &mut Node) {
    let span = node.span;
    let mut out = Vec::new();
    match &node.value {
        Value::Map(m) => {
            for (host, e) in m {
                match &e.value.value {
                    Value::Seq(ips) => {
                        for ip in ips {
                            // A non-scalar stays as it is, for binding to report where it is.
                            out.push(match ip.scalar_string() {
                                Some(ip_s) => Node::string(format!("{host}={ip_s}"), ip.span),
                                None => ip.clone(),
                            });
                        }
                    }
                    _ => out.push(match e.value.scalar_string() {
                        Some(ip) => Node::string(format!("{host}={ip}"), e.key_span),
                        None => e.value.clone(),
                    }),
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                let Some(text) = item.scalar_string() else {
                    out.push(item.clone());
                    continue;
                };
                let (host, ips) = match text.split_once('=') {
                    Some((h, ips)) => (h.to_string(), ips.to_string()),
                    None => match text.split_once(':') {
                        Some((h, ip)) => (h.to_string(), ip.to_string()),
                        None => (text.clone(), String::new()),
                    },
                };
                for ip in ips.split(',') {
                    out.push(Node::string(format!("{host}={ip}"), item.span));
                }
            }
        }
        _ => return,
    }
    *node = Node::seq(out, span);
}

fn healthcheck(node: &mut Node) {
    if let Some(test) = node.get_mut("test") {
        let span = test.span;
        if let Value::String(s) = &test.value {
            let s = s.clone();
            *test = Node::seq(
                vec![Node::string("CMD-SHELL", span), Node::string(s, span)],
                span,
            );
        }
    }
}

fn devices(node: &mut Node) {
    let Some(items) = node.as_seq_mut() else {
        return;
    };
    for item in items.iter_mut() {
        let Some(s) = item.as_str().map(str::to_string) else {
            continue;
        };
        let parts: Vec<&str> = s.split(':').collect();
        let (src, dst, perm) = match parts.as_slice() {
            [a] => (*a, *a, "rwm"),
            [a, b] => (*a, *b, "rwm"),
            [a, b, c, ..] => (*a, *b, *c),
            [] => continue,
        };
        let mut m = Map::default();
        put(&mut m, "source", Node::string(src, item.span));
        put(&mut m, "target", Node::string(dst, item.span));
        put(&mut m, "permissions", Node::string(perm, item.span));
        *item = Node::new(Value::Map(m), item.span);
    }
}

fn device_requests(node: &mut Node, default_all: bool) {
    let Some(items) = node.as_seq_mut() else {
        return;
    };
    for item in items.iter_mut() {
        let Some(m) = item.as_map_mut() else { continue };
        if let Some(e) = m.get_mut("count") {
            if e.value.as_str() == Some("all") {
                e.value.value = Value::Int(-1);
            }
        } else if default_all && !m.contains_key("device_ids") {
            let span = item.span;
            if let Some(m) = item.as_map_mut() {
                put(m, "count", Node::new(Value::Int(-1), span));
            }
        }
        if let Some(o) = item.get_mut("options") {
            to_mapping(o, NullAs::Empty);
        }
        for key in ["capabilities", "device_ids"] {
            if let Some(v) = item.get_mut(key) {
                stringify_items(v);
            }
        }
    }
}

fn gpus(node: &mut Node) {
    let span = node.span;
    if node.as_str() == Some("all") {
        let mut m = Map::default();
        put(&mut m, "count", Node::new(Value::Int(-1), span));
        *node = Node::seq(vec![Node::new(Value::Map(m), span)], span);
        return;
    }
    device_requests(node, true);
}

fn deploy(node: &mut Node) {
    let Some(map) = node.as_map_mut() else { return };
    if let Some(e) = map.get_mut("labels") {
        to_mapping(&mut e.value, NullAs::Empty);
    }
    if let Some(res) = map.get_mut("resources").and_then(|e| e.value.as_map_mut()) {
        for kind in ["limits", "reservations"] {
            if let Some(r) = res.get_mut(kind) {
                if let Some(d) = r.value.get_mut("devices") {
                    device_requests(d, false);
                }
            }
        }
    }
    if let Some(p) = map.get_mut("placement") {
        if let Some(c) = p.value.get_mut("constraints") {
            string_list(c, false);
        }
    }
}

fn models(node: &mut Node) {
    let span = node.span;
    if let Value::Seq(items) = &node.value {
        let mut map = Map::default();
        for item in items {
            if let Some(name) = item.scalar_string() {
                map.insert(
                    name,
                    Entry {
                        key_span: item.span,
                        value: Node::null(item.span),
                    },
                );
            }
        }
        *node = Node::new(Value::Map(map), span);
    }
}

fn hooks(node: &mut Node, path: &str, errors: &mut Vec<LoadError>) {
    let Some(items) = node.as_seq_mut() else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if let Some(c) = item.get_mut("command") {
            shell_command(c, &|| format!("{path}[{i}].command"), errors);
        }
        if let Some(e) = item.get_mut("environment") {
            to_mapping(e, NullAs::Null);
        }
    }
}

fn develop(node: &mut Node, path: &str, errors: &mut Vec<LoadError>) {
    let Some(watch) = node.get_mut("watch").and_then(|w| w.as_seq_mut()) else {
        return;
    };
    for (i, item) in watch.iter_mut().enumerate() {
        let span = item.span;
        let Some(m) = item.as_map_mut() else { continue };
        match m.get_mut("exec") {
            Some(e) => {
                if let Some(c) = e.value.get_mut("command") {
                    shell_command(c, &|| format!("{path}.watch[{i}].exec.command"), errors);
                }
            }
            None => {
                let mut exec = Map::default();
                put(&mut exec, "command", Node::null(span));
                put(m, "exec", Node::new(Value::Map(exec), span));
            }
        }
        if let Some(ig) = m.get_mut("ignore") {
            string_list(&mut ig.value, false);
        }
    }
}

fn provider(node: &mut Node) {
    let Some(opts) = node.get_mut("options").and_then(|o| o.as_map_mut()) else {
        return;
    };
    for entry in opts.values_mut() {
        let span = entry.value.span;
        match &entry.value.value {
            Value::Seq(_) => stringify_items(&mut entry.value),
            Value::Map(_) => {}
            _ => {
                let s = entry.value.scalar_string().unwrap_or_default();
                entry.value = Node::seq(vec![Node::string(s, span)], span);
            }
        }
    }
}

/// Span helper for rules that synthesize nodes.
#[allow(dead_code)]
fn synthetic() -> Span {
    Span::SYNTHETIC
}

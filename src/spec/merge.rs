//! Merging two canonical trees: `-f` override files, `extends`, multi-document files.
//!
//! The rules follow compose-go's `override/merge.go` table, keyed by path: mappings merge
//! recursively, scalars are replaced, sequences are appended, except where an attribute has
//! a unique key (ports, volumes, secrets...) or must be replaced (`command`, `entrypoint`,
//! `healthcheck.test`). `!reset` removes an inherited value, `!override` replaces it.

use super::node::{Map, Node, Tag, Value};

/// How a sequence at a given path is merged.
enum SeqRule {
    Append,
    Replace,
    /// Entries with the same key replace earlier ones (in place); others are appended.
    UniqueBy(fn(&Node) -> String),
}

fn scalar(n: &Node) -> String {
    n.scalar_string()
        .unwrap_or_else(|| format!("{:?}", n.value))
}

fn field(n: &Node, key: &str) -> String {
    n.get(key)
        .and_then(|v| v.scalar_string())
        .unwrap_or_default()
}

fn port_key(n: &Node) -> String {
    format!(
        "{}|{}|{}|{}",
        field(n, "host_ip"),
        field(n, "target"),
        field(n, "published"),
        field(n, "protocol")
    )
}

fn target_key(n: &Node) -> String {
    field(n, "target")
}

fn secret_key(n: &Node) -> String {
    let t = field(n, "target");
    if t.is_empty() {
        format!("/run/secrets/{}", field(n, "source"))
    } else {
        t
    }
}

fn config_key(n: &Node) -> String {
    let t = field(n, "target");
    if t.is_empty() {
        format!("/{}", field(n, "source"))
    } else {
        t
    }
}

fn path_key(n: &Node) -> String {
    match n.get("path") {
        Some(p) => scalar(p),
        None => scalar(n),
    }
}

fn subnet_key(n: &Node) -> String {
    field(n, "subnet")
}

/// The sequence rule for a path like `["services", "*", "ports"]`.
fn seq_rule(path: &[&str]) -> SeqRule {
    match path {
        ["services", _, "command"]
        | ["services", _, "entrypoint"]
        | ["services", _, "healthcheck", "test"] => SeqRule::Replace,
        ["services", _, "ports"] => SeqRule::UniqueBy(port_key),
        ["services", _, "volumes"] | ["services", _, "devices"] => SeqRule::UniqueBy(target_key),
        ["services", _, "secrets"] | ["services", _, "build", "secrets"] => {
            SeqRule::UniqueBy(secret_key)
        }
        ["services", _, "configs"] => SeqRule::UniqueBy(config_key),
        ["services", _, "env_file"] | ["services", _, "label_file"] => SeqRule::UniqueBy(path_key),
        ["services", _, "extra_hosts"] | ["services", _, "build", "extra_hosts"] => {
            SeqRule::UniqueBy(scalar)
        }
        ["services", _, "expose"]
        | ["services", _, "cap_add"]
        | ["services", _, "cap_drop"]
        | ["services", _, "dns"]
        | ["services", _, "dns_opt"]
        | ["services", _, "dns_search"]
        | ["services", _, "tmpfs"]
        | ["services", _, "links"]
        | ["services", _, "profiles"]
        | ["services", _, "external_links"]
        | ["services", _, "security_opt"]
        | ["services", _, "build", "tags"]
        | ["services", _, "build", "platforms"]
        | ["services", _, "build", "cache_from"]
        | ["services", _, "networks", _, "aliases"]
        | ["services", _, "networks", _, "link_local_ips"] => SeqRule::UniqueBy(scalar),
        ["networks", _, "ipam", "config"] => SeqRule::UniqueBy(subnet_key),
        _ => SeqRule::Append,
    }
}

/// Whether a mapping at this path is replaced as a whole instead of merged.
fn map_replaced(path: &[String], base: &Node, over: &Node) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["services", _, "ulimits", _] => true,
        ["services", _, "logging"] => {
            let b = field(base, "driver");
            let o = field(over, "driver");
            !b.is_empty() && !o.is_empty() && b != o
        }
        _ => false,
    }
}

/// Merges `over` into `base` (in place), following the rule table. `path` is the key path of
/// `base` (e.g. `["services", "web"]`).
pub fn merge(base: &mut Node, over: Node, path: &mut Vec<String>) {
    if over.tag == Tag::Override {
        let mut o = over;
        o.tag = Tag::None;
        *base = o;
        return;
    }
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => merge_maps(b, o, path),
        (Value::Seq(b), Value::Seq(o)) => match seq_rule(&refs) {
            SeqRule::Append => b.extend(o),
            SeqRule::Replace => *b = o,
            SeqRule::UniqueBy(key) => {
                for item in o {
                    let k = key(&item);
                    match b.iter().position(|x| key(x) == k) {
                        Some(i) => b[i] = item,
                        None => b.push(item),
                    }
                }
            }
        },
        (_, value) => {
            base.value = value;
            base.span = over.span;
            base.tag = over.tag;
            base.quoted = over.quoted;
        }
    }
}

fn merge_maps(base: &mut Map, over: Map, path: &mut Vec<String>) {
    for (k, entry) in over {
        if entry.value.tag == Tag::Reset {
            base.shift_remove(&k);
            continue;
        }
        match base.get_mut(&k) {
            Some(existing) => {
                path.push(k.clone());
                if map_replaced(path, &existing.value, &entry.value) {
                    existing.value = entry.value;
                } else {
                    merge(&mut existing.value, entry.value, path);
                }
                path.pop();
            }
            None => {
                base.insert(k, entry);
            }
        }
    }
}

/// Removes `!reset` nodes that had nothing to reset and clears `!override` tags.
pub fn strip_tags(node: &mut Node) {
    node.tag = Tag::None;
    match &mut node.value {
        Value::Map(m) => {
            m.retain(|_, e| e.value.tag != Tag::Reset);
            for e in m.values_mut() {
                strip_tags(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|n| n.tag != Tag::Reset);
            for n in items.iter_mut() {
                strip_tags(n);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::source::FileId;
    use crate::spec::yaml;

    fn parse(s: &str) -> Node {
        yaml::parse(s, FileId(0), &Default::default())
            .unwrap()
            .remove(0)
    }

    fn merged(a: &str, b: &str) -> Node {
        let mut base = parse(a);
        let mut over = parse(b);
        let mut e = Vec::new();
        crate::spec::canonical::file(&mut base, &mut e);
        crate::spec::canonical::file(&mut over, &mut e);
        merge(&mut base, over, &mut Vec::new());
        strip_tags(&mut base);
        base
    }

    fn json(n: &Node) -> String {
        serde_json::to_string(&crate::spec::tree_json::to_json(n)).unwrap()
    }

    #[test]
    fn command_is_replaced_and_ports_deduplicated() {
        let n = merged(
            "services: {a: {command: [x, y], ports: ['80:80', '90:90']}}",
            "services: {a: {command: z, ports: ['80:80', '91:91']}}",
        );
        let a = n.get("services").unwrap().get("a").unwrap();
        assert_eq!(json(a.get("command").unwrap()), r#"["z"]"#);
        assert_eq!(a.get("ports").unwrap().as_seq().unwrap().len(), 3);
    }

    #[test]
    fn reset_and_override() {
        let n = merged(
            "services: {a: {labels: {x: '1'}, environment: {A: '1', B: '2'}}}",
            "services: {a: {labels: !reset {}, environment: !override {C: '3'}}}",
        );
        let a = n.get("services").unwrap().get("a").unwrap();
        assert!(a.get("labels").is_none());
        assert_eq!(json(a.get("environment").unwrap()), r#"{"C":"3"}"#);
    }

    #[test]
    fn logging_options_merge_only_with_same_driver() {
        let n = merged(
            "services: {a: {logging: {driver: json-file, options: {max-size: 1m}}}}",
            "services: {a: {logging: {driver: syslog, options: {tag: x}}}}",
        );
        let l = n
            .get("services")
            .unwrap()
            .get("a")
            .unwrap()
            .get("logging")
            .unwrap();
        assert_eq!(json(l), r#"{"driver":"syslog","options":{"tag":"x"}}"#);
    }
}

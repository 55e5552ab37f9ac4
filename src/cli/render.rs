//! Rendering the canonical model: `$` re-escaping, YAML in yaml.v3's style, and Go's
//! `encoding/json` compact form (for the service hash).
//!
//! Pure functions of a `serde_json::Value`; only the commands write the result.

use std::io;

use serde::Serialize;
use serde_json::Value;

/// Re-escapes `$` as `$$` in every string and key, so the output loads back to the same
/// model (Compose does this for `config`).
pub fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) => {
            if s.contains('$') {
                *s = s.replace('$', "$$");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(escape_dollars),
        Value::Object(map) => {
            // Rebuilding a map rehashes every key: only do it when a key must change.
            if map.keys().any(|k| k.contains('$')) {
                let old = std::mem::take(map);
                for (k, val) in old {
                    let k = if k.contains('$') {
                        k.replace('$', "$$")
                    } else {
                        k
                    };
                    map.insert(k, val);
                }
            }
            map.values_mut().for_each(escape_dollars);
        }
        _ => {}
    }
}

/// `serde_json`'s pretty printer that writes every `$` of a string or key as `$$`: the
/// `config --format json` text straight from the typed model, equal to serializing it to a
/// [`Value`], [`escape_dollars`] and `to_string_pretty`, without building that `Value`.
struct DollarFormatter(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for DollarFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // `$` is never JSON-escaped, so it can only occur inside fragments. Fragments are
        // short: a plain byte loop beats `str::find` here.
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, &c) in bytes.iter().enumerate() {
            if c == b'$' {
                w.write_all(&bytes[start..=i])?;
                start = i;
            }
        }
        w.write_all(&bytes[start..])
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

fn write_dollar_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> serde_json::Result<()> {
    let fmt = DollarFormatter(serde_json::ser::PrettyFormatter::new());
    v.serialize(&mut serde_json::Serializer::with_formatter(out, fmt))
}

/// Pretty JSON of a value that serializes to an object, with `extra` entries appended to that
/// object (they must not repeat its keys), every `$` written as `$$` and a final newline.
/// `config --format json` uses this on the typed model: the same text as
/// `to_string_pretty` of the escaped [`Value`], at a fraction of the time and memory.
pub fn json_pretty_escaped<T: Serialize + ?Sized>(
    v: &T,
    extra: &[(&String, &Value)],
) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(1 << 16);
    write_dollar_json(&mut out, v)?;
    if !extra.is_empty() && out.last() == Some(&b'}') {
        // Reopen the object: an empty one is `{}`, a non-empty one ends with `\n}`.
        out.pop();
        let empty = out.last() == Some(&b'{');
        if !empty {
            out.pop();
        }
        let mut first = empty;
        let mut value = Vec::new();
        for (k, x) in extra {
            out.extend_from_slice(if first { b"\n  " } else { b",\n  " });
            first = false;
            write_dollar_json(&mut out, k.as_str())?;
            out.extend_from_slice(b": ");
            // One level deeper: JSON strings hold no raw line breaks, so every `\n` is layout.
            value.clear();
            write_dollar_json(&mut value, *x)?;
            for &b in &value {
                out.push(b);
                if b == b'\n' {
                    out.extend_from_slice(b"  ");
                }
            }
        }
        out.extend_from_slice(b"\n}");
    }
    out.push(b'\n');
    // The formatter only writes `str` fragments and ASCII punctuation.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Drops what Compose's YAML output omits but its JSON output prints (`omitempty` only on the
/// yaml tags): null `command`/`entrypoint`, empty `ipam`, empty `deploy.resources` and
/// `deploy.placement`, empty watch `exec`.
pub fn yaml_view(v: &mut Value) {
    let Some(root) = v.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(services)) = root.get_mut("services") {
        for svc in services.values_mut() {
            let Some(s) = svc.as_object_mut() else {
                continue;
            };
            // Go field names in JSON, yaml tags (lowercase) in YAML.
            if let Some(Value::Object(blkio)) = s.get_mut("blkio_config") {
                for (_, list) in blkio.iter_mut() {
                    for dev in list.as_array_mut().into_iter().flatten() {
                        if let Some(o) = dev.as_object_mut() {
                            let old = std::mem::take(o);
                            for (k, v) in old {
                                o.insert(k.to_lowercase(), v);
                            }
                        }
                    }
                }
            }
            for k in ["command", "entrypoint"] {
                if s.get(k).is_some_and(Value::is_null) {
                    s.shift_remove(k);
                }
            }
            if let Some(Value::Object(d)) = s.get_mut("deploy") {
                for k in ["resources", "placement"] {
                    if d.get(k).is_some_and(is_empty_obj) {
                        d.shift_remove(k);
                    }
                }
            }
            if let Some(Value::Array(watch)) = s.get_mut("develop").and_then(|d| d.get_mut("watch"))
            {
                for w in watch.iter_mut() {
                    if let Some(o) = w.as_object_mut() {
                        let empty_exec = o
                            .get("exec")
                            .and_then(Value::as_object)
                            .is_some_and(|e| e.iter().all(|(_, x)| x.is_null() || is_empty_obj(x)));
                        if empty_exec {
                            o.shift_remove("exec");
                        }
                    }
                }
            }
        }
    }
    if let Some(Value::Object(nets)) = root.get_mut("networks") {
        for n in nets.values_mut() {
            if let Some(o) = n.as_object_mut() {
                if o.get("ipam").is_some_and(is_empty_obj) {
                    o.shift_remove("ipam");
                }
            }
        }
    }
}

fn is_empty_obj(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty())
}

/// YAML text of a value, 2-space indented, sequences indented under their key.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, level: usize) {
    for (k, v) in m {
        indent(out, level);
        write_entry(out, k, v, level);
    }
}

/// One `key: value` entry at `level`, its indentation already written.
fn write_entry(out: &mut String, k: &str, v: &Value, level: usize) {
    if needs_explicit_key(k) {
        // yaml.v3's form for keys that cannot be simple: `? key` then `: value`, the value
        // laid out like a sequence item.
        out.push_str("? ");
        write_scalar_inline(out, &Value::String(k.to_owned()), level + 2);
        indent(out, level);
        out.push(':');
        write_item(out, v, level);
    } else {
        out.push_str(&quote(k));
        out.push(':');
        write_value(out, v, level);
    }
}

/// yaml.v3 writes a key as a simple key only when it is one line of at most 128 bytes.
fn needs_explicit_key(k: &str) -> bool {
    k.len() > 128 || k.contains('\n')
}

fn write_seq(out: &mut String, a: &[Value], level: usize) {
    for v in a {
        indent(out, level);
        out.push('-');
        write_item(out, v, level);
    }
}

/// After a `-` (or the `:` of an explicit key) at `level`: a collection starts on the same
/// line and goes on aligned under its first entry, as yaml.v3 lays it out.
fn write_item(out: &mut String, v: &Value, level: usize) {
    out.push(' ');
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    indent(out, level + 2);
                }
                write_entry(out, k, val, level + 2);
            }
        }
        Value::Array(inner) if !inner.is_empty() => {
            for (i, item) in inner.iter().enumerate() {
                if i > 0 {
                    indent(out, level + 2);
                }
                out.push('-');
                write_item(out, item, level + 2);
            }
        }
        other => write_scalar_inline(out, other, level + 2),
    }
}

/// After `key:` — nested collections go on the next lines.
fn write_value(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, level + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, level + 2);
        }
        other => {
            out.push(' ');
            write_scalar_inline(out, other, level + 2);
        }
    }
}

fn write_scalar_inline(out: &mut String, v: &Value, level: usize) {
    if let Value::String(s) = v {
        if s.contains('\n') && block_safe(s) {
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.len() == 1 || s[..s.len() - 1].ends_with('\n') {
                "+"
            } else {
                ""
            };
            out.push('|');
            if s.starts_with(' ') || s.starts_with('\n') {
                out.push('2');
            }
            out.push_str(chomp);
            out.push('\n');
            let body = s.strip_suffix('\n').unwrap_or(s);
            for line in body.split('\n') {
                if !line.is_empty() {
                    indent(out, level);
                    out.push_str(line);
                }
                out.push('\n');
            }
            return;
        }
    }
    out.push_str(&scalar(v));
    out.push('\n');
}

fn block_safe(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && c != '\n') && !s.lines().any(|l| l.ends_with(' '))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a YAML scalar, the way yaml.v3 encodes it: double-quoted when it would read
/// back as another type (numbers, booleans including YAML 1.1's `yes`/`on`, null, empty);
/// otherwise plain when the emitter allows it, else single-quoted (double-quoted when it
/// holds characters single quotes cannot).
pub fn quote(s: &str) -> String {
    if s.is_empty() || resolves_to_non_string(s) {
        return serde_json::to_string(s).unwrap_or_default();
    }
    if plain_ok(s) {
        return s.to_string();
    }
    if s.chars().any(|c| c.is_control()) {
        return serde_json::to_string(s).unwrap_or_default();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn resolves_to_non_string(s: &str) -> bool {
    matches!(
        s,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "null" | "Null" | "NULL" | "~"
            | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
            | ".nan" | ".NaN" | ".NAN"
            // yaml.v3's isOldBool
            | "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO"
            | "on" | "On" | "ON" | "off" | "Off" | "OFF"
    ) || looks_numeric(s)
        || looks_like_timestamp(s)
}

fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`~".contains(first)
        && !(first == '-' && s.len() > 1 && !s.starts_with("- ") && !looks_numeric(s))
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
    {
        return false;
    }
    if matches!(
        s.to_ascii_lowercase().as_str(),
        "true"
            | "false"
            | "null"
            | "~"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
    ) {
        return false;
    }
    !looks_numeric(s) && !looks_like_timestamp(s)
}

/// Whether yaml.v3 would resolve the plain scalar to a number (Go `ParseInt` with base
/// prefixes after dropping `_`, or its YAML-style float pattern).
fn looks_numeric(s: &str) -> bool {
    let t = s.replace('_', "");
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(&t);
    if unsigned.is_empty() {
        return false;
    }
    let radix = |p: &str, r: u32| {
        unsigned
            .strip_prefix(p)
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_digit(r)))
    };
    if radix("0x", 16)
        || radix("0X", 16)
        || radix("0o", 8)
        || radix("0O", 8)
        || radix("0b", 2)
        || radix("0B", 2)
    {
        return true;
    }
    if unsigned.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let (mantissa, exp) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() && !b.is_empty() || !a.is_empty())
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Go `encoding/json` compact output: like serde_json's, with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped.
pub fn go_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_nested_sequences_and_long_keys_like_yaml_v3() {
        // Checked against Docker Compose 2.40.3's `config` output.
        let v = json!({"x": [["b", ["c", "d"]], [], {}, [{"a": 1}]]});
        assert_eq!(
            to_yaml(&v),
            "x:\n  - - b\n    - - c\n      - d\n  - []\n  - {}\n  - - a: 1\n"
        );
        let long = "k".repeat(129);
        let v = json!({ "m": { long.clone(): "v", "s": 1 }, long.clone(): {"a": 1, "b": [1, 2]} });
        let out = to_yaml(&v);
        assert!(
            out.contains(&format!("  ? {long}\n  : v\n  s: 1\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("? {long}\n: a: 1\n  b:\n    - 1\n    - 2\n")),
            "{out}"
        );
        // 128 bytes is still a simple key.
        let key = "k".repeat(128);
        assert_eq!(to_yaml(&json!({ key.clone(): 1 })), format!("{key}: 1\n"));
    }

    #[test]
    fn yaml_shapes() {
        let v =
            json!({"a": {"b": ["x", {"c": 1, "d": null}], "e": {}}, "f": "8080", "g": "yes: no"});
        assert_eq!(
            to_yaml(&v),
            "a:\n  b:\n    - x\n    - c: 1\n      d: null\n  e: {}\nf: \"8080\"\ng: 'yes: no'\n"
        );
    }

    #[test]
    fn dollars_are_escaped() {
        let mut v = json!({"a$": "x$y"});
        escape_dollars(&mut v);
        assert_eq!(v, json!({"a$$": "x$$y"}));
    }

    #[test]
    fn direct_json_equals_the_escaped_value() {
        let cases = [
            json!({"a$": "x$y$$", "n": [1, {"b": null, "c": []}], "e": {}, "f": 1.5, "$": "$"}),
            json!({}),
        ];
        let ext = json!({"x-$": {"k": ["$", {"z": {}}]}, "x-b": 2});
        for v in cases {
            for extra in [vec![], ext.as_object().unwrap().iter().collect::<Vec<_>>()] {
                let mut expect = v.clone();
                for (k, x) in &extra {
                    expect
                        .as_object_mut()
                        .unwrap()
                        .insert((*k).clone(), (*x).clone());
                }
                escape_dollars(&mut expect);
                let want = serde_json::to_string_pretty(&expect).unwrap() + "\n";
                assert_eq!(json_pretty_escaped(&v, &extra).unwrap(), want);
            }
        }
    }

    #[test]
    fn go_json_escapes_html() {
        assert_eq!(go_json(&json!(["a>b"])), r#"["a\u003eb"]"#);
    }
}

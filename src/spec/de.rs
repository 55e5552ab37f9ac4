//! Typed deserialization of the spanned tree, with errors that carry a dotted path and a span.
//!
//! This is the last loading phase: the canonical tree is bound to the typed model with serde.
//! Serde's own errors are location-free; the first wrapper that sees one stamps it with its
//! dotted path (`services.web.ports[0]`) and span, so every type or unknown-key error can be
//! rendered like a compiler diagnostic. Messages follow compose-go's schema wording
//! (`services.web additional properties 'imagee' not allowed`, `... must be a list`).

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::node::{Map, Node, Value};
use super::source::Span;

/// A typed-binding error.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub path: Option<String>,
    pub span: Option<Span>,
    pub message: String,
    /// True when the message already starts with the path (`<path> must be ...`).
    path_in_message: bool,
    /// For an error about a mapping key (an unknown property): that key. `path` is then the
    /// path of the mapping.
    pub key: Option<String>,
}

impl DeError {
    fn msg(message: String) -> Self {
        DeError {
            path: None,
            span: None,
            message,
            path_in_message: false,
            key: None,
        }
    }

    fn located(mut self, path: &Path<'_>, span: Span) -> Self {
        if self.path.is_none() {
            self.path = Some(path.render());
            self.span = Some(span);
        }
        self
    }

    /// The message with its dotted path, as compose-go words it.
    pub fn describe(&self) -> String {
        match (&self.path, self.path_in_message) {
            (Some(p), true) if p.is_empty() => self.message.trim_start().to_string(),
            (Some(p), true) => format!("{p} {}", self.message.trim_start()),
            (Some(p), false) if !p.is_empty() => format!("{p}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::msg(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let _ = unexp;
        let mut e = DeError::msg(format!("must be {}", friendly_expected(&exp.to_string())));
        e.path_in_message = true;
        e
    }

    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let mut e = DeError::msg(format!(
            "{} is invalid: must be {}",
            describe_unexpected(&unexp),
            friendly_expected(&exp.to_string())
        ));
        e.path_in_message = true;
        e
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        let mut e = DeError::msg(format!("additional properties '{field}' not allowed"));
        e.path_in_message = true;
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::msg(format!(
            "must be one of the following: {}",
            expected
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let _ = variant;
        e.path_in_message = true;
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = DeError::msg(format!("missing property '{field}'"));
        e.path_in_message = true;
        e
    }
}

fn describe_unexpected(u: &de::Unexpected) -> String {
    match u {
        de::Unexpected::Str(s) => format!("'{s}'"),
        de::Unexpected::Signed(i) => i.to_string(),
        de::Unexpected::Unsigned(i) => i.to_string(),
        other => other.to_string(),
    }
}

/// Serde's "expected" phrases in compose-go's schema vocabulary.
fn friendly_expected(exp: &str) -> String {
    let e = exp.trim();
    if e == crate::spec::model::LIST_OR_DICT_VALUE || e.starts_with("an integer or ") {
        return e.to_string();
    }
    if e.starts_with("struct ") || e.starts_with("a map") || e == "map" || e.contains("mapping") {
        return "a mapping".into();
    }
    if e.contains("sequence") || e.starts_with("a list") {
        return "a list".into();
    }
    if e.contains("string") {
        return "a string".into();
    }
    if e.contains("bool") {
        return "a boolean".into();
    }
    if e.contains("i64")
        || e.contains("u32")
        || e.contains("u64")
        || e.contains("i32")
        || e.contains("integer")
    {
        return "an integer".into();
    }
    if e.contains("f64") || e.contains("f32") || e.contains("number") {
        return "a number".into();
    }
    e.to_string()
}

thread_local! {
    /// Warnings of the current binding (YAML 1.1 booleans), taken by [`take_warnings`].
    static BOOL_WARNINGS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The warnings of the bindings done on this thread since the last call, each once.
pub fn take_warnings() -> Vec<String> {
    let mut w = BOOL_WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()));
    let mut seen = std::collections::HashSet::new();
    w.retain(|m| seen.insert(m.clone()));
    w
}

/// YAML 1.1's other spellings of booleans, which compose-go still reads.
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Deserializes `T` from a node; `root_path` is the dotted path of the node (may be empty).
pub fn from_node<'a, T: de::Deserialize<'a>>(
    node: &'a Node,
    root_path: &str,
) -> Result<T, DeError> {
    T::deserialize(NodeDe {
        node,
        path: Path::Root(root_path),
    })
}

/// Most binding errors reported for one load; each costs one more pass over the tree.
pub const MAX_ERRORS: usize = 20;

/// Like [`from_node`], but on failure keeps going to report every independent error (up to
/// [`MAX_ERRORS`]), as compose-go's schema validation does.
///
/// Serde stops at the first error, so after each one the offending value is removed from a
/// copy of the tree and binding is retried: an unknown key is dropped, a bad value loses its
/// mapping entry (a bad list item loses its whole list, so that the indexes of later errors
/// stay those of the file). An error at or above a value already removed is a consequence of
/// the removal (`missing property`) and is not reported.
pub fn from_node_all<'a, T: de::DeserializeOwned>(
    node: &'a Node,
    root_path: &str,
) -> Result<T, Vec<DeError>> {
    let first = match from_node::<T>(node, root_path) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut errors = vec![first.clone()];
    let mut work = node.clone();
    let mut removed: Vec<String> = Vec::new();
    let mut last = first;
    for _ in 0..MAX_ERRORS * 4 {
        let Some(target) = prune_target(&last) else {
            break;
        };
        if !prune(&mut work, root_path, &target) {
            break;
        }
        removed.push(target);
        match from_node::<T>(&work, root_path) {
            Ok(_) => break,
            Err(e) => {
                let at = e.path.clone().unwrap_or_default();
                let cascade =
                    e.key.is_none() && removed.iter().any(|r| is_path_prefix(&at, r) || *r == at);
                if !cascade {
                    if errors.iter().any(|x| x == &e) {
                        break;
                    }
                    errors.push(e.clone());
                    if errors.len() >= MAX_ERRORS {
                        break;
                    }
                }
                last = e;
            }
        }
    }
    Err(errors)
}

/// The dotted path of the value to remove for `e`.
fn prune_target(e: &DeError) -> Option<String> {
    let path = e.path.as_deref()?;
    match &e.key {
        Some(k) => Some(child_path(path, k)),
        None if path.is_empty() => None,
        None => Some(path.to_string()),
    }
}

/// Whether `prefix` is `path` or one of its ancestors (`a.b` for `a.b.c` and `a.b[0]`).
fn is_path_prefix(prefix: &str, path: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    path == prefix
        || (path.starts_with(prefix) && matches!(path.as_bytes()[prefix.len()], b'.' | b'['))
}

enum Pruned {
    No,
    Done,
    /// The target is an item of this list: remove the list.
    RemoveMe,
}

/// Removes the value at the dotted `target` path (see [`from_node_all`]). Keys may contain
/// dots, so every child whose path is a prefix of the target is tried.
fn prune(node: &mut Node, root_path: &str, target: &str) -> bool {
    fn walk(node: &mut Node, cur: &str, target: &str) -> Pruned {
        match &mut node.value {
            Value::Map(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let cp = child_path(cur, &k);
                    if cp == target {
                        m.shift_remove(&k);
                        return Pruned::Done;
                    }
                    if !is_path_prefix(&cp, target) {
                        continue;
                    }
                    let Some(e) = m.get_mut(&k) else { continue };
                    match walk(&mut e.value, &cp, target) {
                        Pruned::No => continue,
                        Pruned::Done => return Pruned::Done,
                        Pruned::RemoveMe => {
                            m.shift_remove(&k);
                            return Pruned::Done;
                        }
                    }
                }
                Pruned::No
            }
            Value::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let cp = format!("{cur}[{i}]");
                    if cp == target {
                        return Pruned::RemoveMe;
                    }
                    if !is_path_prefix(&cp, target) {
                        continue;
                    }
                    match walk(item, &cp, target) {
                        Pruned::No => continue,
                        other => return other,
                    }
                }
                Pruned::No
            }
            _ => Pruned::No,
        }
    }
    matches!(walk(node, root_path, target), Pruned::Done)
}

/// Serde deserializer over one node.
pub struct NodeDe<'a, 'p> {
    pub node: &'a Node,
    pub path: Path<'p>,
}

/// The dotted path of a node as a chain of borrowed steps. Binding visits every node of the
/// project and almost never fails, so the path text is only built for an error
/// ([`Path::render`]).
#[derive(Clone, Copy, Debug)]
pub enum Path<'p> {
    Root(&'p str),
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    /// The dotted text: `services.web.ports[0]`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root(r) => out.push_str(r),
            Path::Key(parent, k) => {
                parent.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Path::Index(parent, i) => {
                use std::fmt::Write;
                parent.render_into(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'a> NodeDe<'a, '_> {
    fn stamp<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.located(&self.path, self.node.span))
    }

    fn string_like(&self) -> Option<String> {
        match &self.node.value {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
}

macro_rules! forward_int {
    ($($m:ident => $v:ident : $t:ty),*) => {$(
        fn $m<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
            // compose-go casts interpolated strings to numbers at typed paths; do the same.
            let r = match &self.node.value {
                Value::Int(i) => <$t>::try_from(*i).map_err(|_| de::Error::invalid_value(de::Unexpected::Signed(*i), &visitor)).and_then(|x| visitor.$v(x)),
                Value::UInt(u) => <$t>::try_from(*u).map_err(|_| de::Error::invalid_value(de::Unexpected::Unsigned(*u), &visitor)).and_then(|x| visitor.$v(x)),
                Value::String(s) => match s.trim().parse::<$t>() {
                    Ok(x) => visitor.$v(x),
                    Err(_) => Err(de::Error::invalid_type(de::Unexpected::Str(s), &visitor)),
                },
                Value::Float(f) if f.fract() == 0.0 && f.is_finite() => visitor.$v(*f as $t),
                _ => return self.deserialize_any(visitor),
            };
            self.stamp(r)
        }
    )*};
}

impl<'a> Deserializer<'a> for NodeDe<'a, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(NodeSeq {
                items,
                idx: 0,
                path: &self.path,
            }),
            Value::Map(map) => visitor.visit_map(NodeMap::new(map, &self.path)),
        };
        self.stamp(r)
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) => match s.as_str() {
                "true" | "True" | "TRUE" => visitor.visit_bool(true),
                "false" | "False" | "FALSE" => visitor.visit_bool(false),
                other => match yaml11_bool(other) {
                    // compose-go still takes YAML 1.1's booleans, with a warning.
                    Some(b) => {
                        BOOL_WARNINGS.with(|w| {
                            w.borrow_mut().push(format!(
                                "{other:?} for boolean is not supported by YAML 1.2, please use `{b}`"
                            ))
                        });
                        visitor.visit_bool(b)
                    }
                    None => Err(de::Error::invalid_type(de::Unexpected::Str(s), &visitor)),
                },
            },
            _ => return self.deserialize_any(visitor),
        };
        self.stamp(r)
    }

    forward_int!(deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64);

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::UInt(u) => visitor.visit_f64(*u as f64),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(x) => visitor.visit_f64(x),
                Err(_) => Err(de::Error::invalid_type(de::Unexpected::Str(s), &visitor)),
            },
            _ => return self.deserialize_any(visitor),
        };
        self.stamp(r)
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Scalars land in string fields as Go would print them.
        let r = match &self.node.value {
            Value::String(s) => visitor.visit_str(s),
            _ => return self.deserialize_any(visitor),
        };
        self.stamp(r)
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Seq(items) => visitor.visit_seq(NodeSeq {
                items,
                idx: 0,
                path: &self.path,
            }),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other(self.node.kind_name()),
                &visitor,
            )),
        };
        self.stamp(r)
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Map(map) => visitor.visit_map(NodeMap::new(map, &self.path)),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other(self.node.kind_name()),
                &visitor,
            )),
        };
        self.stamp(r)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // `x-*` extension keys are allowed on every object of the format and are not fields.
        let r = match &self.node.value {
            Value::Map(map) => {
                let mut access = NodeMap::new(map, &self.path);
                access.skip_extensions = true;
                visitor.visit_map(access)
            }
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other(self.node.kind_name()),
                &visitor,
            )),
        };
        self.stamp(r)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match self.string_like() {
            Some(s) => visitor.visit_enum(s.into_deserializer()),
            None => Err(de::Error::invalid_type(
                de::Unexpected::Other(self.node.kind_name()),
                &"a string",
            )),
        };
        self.stamp(r)
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct NodeSeq<'a, 'p> {
    items: &'a [Node],
    idx: usize,
    path: &'p Path<'p>,
}

impl<'a> SeqAccess<'a> for NodeSeq<'a, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.idx) else {
            return Ok(None);
        };
        let path = Path::Index(self.path, self.idx);
        self.idx += 1;
        seed.deserialize(NodeDe { node, path }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.idx)
    }
}

struct NodeMap<'a, 'p> {
    iter: indexmap::map::Iter<'a, String, super::node::Entry>,
    current: Option<(&'a String, &'a super::node::Entry)>,
    path: &'p Path<'p>,
    skip_extensions: bool,
}

impl<'a, 'p> NodeMap<'a, 'p> {
    fn new(map: &'a Map, path: &'p Path<'p>) -> Self {
        NodeMap {
            iter: map.iter(),
            current: None,
            path,
            skip_extensions: false,
        }
    }
}

impl<'a> MapAccess<'a> for NodeMap<'a, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, entry)) = self
            .iter
            .by_ref()
            .find(|(k, _)| !(self.skip_extensions && k.starts_with("x-")))
        else {
            return Ok(None);
        };
        self.current = Some((k, entry));
        let key_de: de::value::StrDeserializer<'_, DeError> = k.as_str().into_deserializer();
        seed.deserialize(key_de).map(Some).map_err(|mut e| {
            if e.path.is_none() {
                e.key = Some(k.clone());
            }
            e.located(self.path, entry.key_span)
        })
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((k, entry)) = self.current.take() else {
            return Err(DeError::msg("value without key".into()));
        };
        seed.deserialize(NodeDe {
            node: &entry.value,
            path: Path::Key(self.path, k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::node::{Entry, Map};
    use serde::Deserialize;

    fn sp(line: u32) -> Span {
        Span::new(crate::spec::source::FileId(0), line, 1)
    }

    fn map(entries: Vec<(&str, Node)>) -> Node {
        let mut m = Map::default();
        for (i, (k, v)) in entries.into_iter().enumerate() {
            m.insert(
                k.to_string(),
                Entry {
                    key_span: sp(i as u32 + 10),
                    value: v,
                },
            );
        }
        Node::new(Value::Map(m), sp(1))
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct S {
        #[allow(dead_code)]
        ports: Vec<u32>,
    }

    #[test]
    fn unknown_key_names_parent_and_key_span() {
        let n = map(vec![
            ("ports", Node::seq(vec![], sp(2))),
            ("imagee", Node::string("x", sp(3))),
        ]);
        let err = from_node::<S>(&n, "services.web").unwrap_err();
        assert_eq!(
            err.describe(),
            "services.web additional properties 'imagee' not allowed"
        );
        assert_eq!(err.span, Some(sp(11)));
    }

    #[test]
    fn type_error_names_the_path() {
        let n = map(vec![("ports", Node::new(Value::Int(80), sp(5)))]);
        let err = from_node::<S>(&n, "services.web").unwrap_err();
        assert_eq!(err.describe(), "services.web.ports must be a list");
        assert_eq!(err.span, Some(sp(5)));
    }

    #[test]
    fn nested_element_path() {
        let n = map(vec![(
            "ports",
            Node::seq(vec![Node::string("x", sp(7))], sp(6)),
        )]);
        let err = from_node::<S>(&n, "services.web").unwrap_err();
        assert_eq!(err.path.as_deref(), Some("services.web.ports[0]"));
        assert_eq!(err.span, Some(sp(7)));
    }

    #[test]
    fn strings_are_not_taken_from_other_scalars() {
        // `container_name: 1` is an error in Compose (`must be a string`), not "1".
        let n = Node::new(Value::Int(1), sp(4));
        let err = from_node::<String>(&n, "services.web.container_name").unwrap_err();
        assert_eq!(
            err.describe(),
            "services.web.container_name must be a string"
        );
        assert_eq!(err.span, Some(sp(4)));
        assert_eq!(
            from_node::<String>(&Node::string("1", sp(4)), "x").unwrap(),
            "1"
        );
    }

    #[test]
    fn yaml_1_1_booleans_are_read_with_a_warning() {
        take_warnings();
        for (text, want) in [("yes", true), ("Off", false), ("y", true), ("NO", false)] {
            let b = from_node::<bool>(&Node::string(text, sp(1)), "services.web.tty").unwrap();
            assert_eq!(b, want, "{text}");
        }
        from_node::<bool>(&Node::string("yes", sp(1)), "x").unwrap();
        let w = take_warnings();
        assert_eq!(w.len(), 4, "{w:?}");
        assert_eq!(
            w[0],
            "\"yes\" for boolean is not supported by YAML 1.2, please use `true`"
        );
        assert!(from_node::<bool>(&Node::string("1", sp(1)), "x").is_err());
    }
}

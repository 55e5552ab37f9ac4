//! The spanned, untyped document tree that every loading phase works on.
//!
//! Like compose-go, the loader keeps the tree untyped until the last phase (interpolation,
//! `extends`, `include`, merge and the short→long rewrite are generic tree rules), but unlike
//! compose-go every node keeps the [`Span`] it came from, so later phases and the typed model
//! can still point at `file:line:col`. Scalars are already resolved the way Go's yaml.v3
//! resolves them (so `0755` is the integer 493 and `yes` is a string), because that is what
//! Docker Compose's output is built from.

use indexmap::IndexMap;

use super::source::Span;

/// The YAML tags the loader gives meaning to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tag {
    #[default]
    None,
    /// `!reset`: remove the value inherited from earlier files / `extends`.
    Reset,
    /// `!override`: replace the inherited value instead of merging it.
    Override,
}

/// A scalar or collection value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers above `i64::MAX` (yaml.v3 resolves them to uint64).
    UInt(u64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Map),
}

/// A mapping key with its own position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

/// A mapping: insertion-ordered, string keys (keys are stringified like compose-go does).
///
/// Hashed with foldhash rather than SipHash: every key of every file is hashed several times
/// while loading, and foldhash is several times faster on short keys while still seeded per
/// process (hostile files cannot choose colliding keys in advance). Build one with
/// `Map::default()` (`IndexMap::new` only exists for the standard hasher).
pub type Map = IndexMap<String, Entry, foldhash::fast::RandomState>;

/// One `key: value` pair of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key_span: Span,
    pub value: Node,
}

/// A value with its position and tag.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub tag: Tag,
    /// True for scalars written quoted or as block scalars in YAML (never resolved as
    /// numbers/bools); false for plain scalars and for values created by the loader.
    pub quoted: bool,
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node {
            value,
            span,
            tag: Tag::None,
            quoted: false,
        }
    }

    pub fn null(span: Span) -> Self {
        Node::new(Value::Null, span)
    }

    pub fn string(s: impl Into<String>, span: Span) -> Self {
        Node::new(Value::String(s.into()), span)
    }

    pub fn map(span: Span) -> Self {
        Node::new(Value::Map(Map::default()), span)
    }

    pub fn seq(items: Vec<Node>, span: Span) -> Self {
        Node::new(Value::Seq(items), span)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Child of a mapping by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key)).map(|e| &e.value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()
            .and_then(|m| m.get_mut(key))
            .map(|e| &mut e.value)
    }

    /// The scalar as the string Go's `fmt.Sprint` would print for it (what compose-go does
    /// when a number or bool lands in a string field). `None` for collections.
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            Value::Float(f) => Some(format_go_float(*f)),
            Value::String(s) => Some(s.clone()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "mapping",
        }
    }
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'g', -1, 64)` / `fmt.Sprint(f)`:
/// shortest representation, exponent form for very large or small magnitudes.
pub fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits from Rust's formatter, in exponent form.
    let e = format!("{:e}", f);
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= 21 {
        let sign = if exp < 0 { '-' } else { '+' };
        let digits = exp.unsigned_abs();
        if digits < 10 {
            format!("{mantissa}e{sign}0{digits}")
        } else {
            format!("{mantissa}e{sign}{digits}")
        }
    } else {
        format!("{}", f)
    }
}

#[cfg(test)]
mod tests {
    use super::format_go_float;

    #[test]
    fn go_float_formatting() {
        assert_eq!(format_go_float(1.5), "1.5");
        assert_eq!(format_go_float(2.0), "2");
        assert_eq!(format_go_float(0.0001), "0.0001");
        assert_eq!(format_go_float(0.00001), "1e-05");
        assert_eq!(format_go_float(1e21), "1e+21");
        assert_eq!(format_go_float(123456789.0), "123456789");
    }
}

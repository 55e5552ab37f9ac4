//! Scalar types with Compose's exact input and output formats.
//!
//! Byte sizes are read as `512m` or integers and printed as decimal strings; durations are
//! read with go-str2duration rules and printed like Go's `Duration.String()`; file modes are
//! printed as octal strings. Keeping these as types (not strings) lets the engine use the
//! numbers directly.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::spec::units;

/// `KEY: value` string maps (labels, sysctls, driver options): sorted like Go maps.
pub type Mapping = BTreeMap<String, String>;
/// `KEY: value` maps whose values may be null (environment, build args).
pub type MappingWithEquals = BTreeMap<String, Option<String>>;

/// A size in bytes (`mem_limit`, `shm_size`, ...). Printed as a decimal string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
#[schemars(with = "StringOrNumber")]
pub struct Bytes(pub i64);

/// Schema helper: a string or a number.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum StringOrNumber {
    S(String),
    N(f64),
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
                Ok(Bytes(i64::try_from(v).unwrap_or(i64::MIN)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Bytes, E> {
                Ok(Bytes(v as i64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                units::parse_bytes(v).map(Bytes).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in nanoseconds, printed like Go (`1m30s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
#[schemars(with = "String")]
pub struct Duration(pub i64);

impl Duration {
    pub fn as_std(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.max(0) as u64)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&units::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                units::parse_compose_duration(v)
                    .map(Duration)
                    .map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A file mode, printed as an octal string (`0440`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
#[schemars(with = "StringOrNumber")]
pub struct FileMode(pub u32);

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0{:o}", self.0))
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FileMode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or an octal string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FileMode, E> {
                u32::try_from(v)
                    .map(FileMode)
                    .map_err(|_| E::custom(format!("invalid file mode {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FileMode, E> {
                u32::try_from(v)
                    .map(FileMode)
                    .map_err(|_| E::custom(format!("invalid file mode {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileMode, E> {
                u32::from_str_radix(v.trim(), 8)
                    .map(FileMode)
                    .map_err(|_| E::custom(format!("invalid file mode {v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A float that compose-go keeps as `float32` (`cpus`): printed with float32 precision.
#[derive(Clone, Copy, Debug, PartialEq, Default, JsonSchema)]
#[schemars(with = "StringOrNumber")]
pub struct F32(pub f32);

impl Serialize for F32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Go prints float32 with the shortest float32 representation, and integral values
        // without a fraction (`50`, not `50.0`).
        let text = format!("{}", self.0);
        let v = text.parse::<f64>().unwrap_or(self.0 as f64);
        serialize_go_float(v, s)
    }
}

impl<'de> Deserialize<'de> for F32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(|v| F32(v as f32))
    }
}

/// Serializes a float the way Go's encoders print it: integral values without a fraction.
pub fn serialize_go_float<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(v as i64)
    } else {
        s.serialize_f64(v)
    }
}

pub fn is_false(b: &bool) -> bool {
    !*b
}

pub fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

pub fn is_zero_f32(v: &F32) -> bool {
    v.0 == 0.0
}

pub fn is_zero_bytes(v: &Bytes) -> bool {
    v.0 == 0
}

/// A value of a list-or-dict map (`environment`, `labels`, build `args`, ...): a scalar of any
/// type, read as the string Compose makes of it. Its own type only so that a mapping or a list
/// in its place gets the schema's wording (`... must be a boolean, null, number or string`).
struct ListOrDictValue(String);

impl<'de> Deserialize<'de> for ListOrDictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ListOrDictValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(LIST_OR_DICT_VALUE)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ListOrDictValue, E> {
                Ok(ListOrDictValue(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ListOrDictValue, E> {
                Ok(ListOrDictValue(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ListOrDictValue, E> {
                Ok(ListOrDictValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ListOrDictValue, E> {
                Ok(ListOrDictValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ListOrDictValue, E> {
                Ok(ListOrDictValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ListOrDictValue, E> {
                Ok(ListOrDictValue(crate::spec::node::format_go_float(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// What a list-or-dict value may be, worded as compose-go's schema errors.
pub const LIST_OR_DICT_VALUE: &str = "a boolean, null, number or string";

/// `deserialize_with` for list-or-dict [`Mapping`]s.
pub fn list_or_dict<'de, D: Deserializer<'de>>(d: D) -> Result<Mapping, D::Error> {
    let m = BTreeMap::<String, ListOrDictValue>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// `deserialize_with` for list-or-dict [`MappingWithEquals`]s (values may be null).
pub fn list_or_dict_with_equals<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<MappingWithEquals, D::Error> {
    let m = BTreeMap::<String, Option<ListOrDictValue>>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.map(|v| v.0))).collect())
}

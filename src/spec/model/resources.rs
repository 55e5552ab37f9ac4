//! Top-level networks, volumes, secrets, configs and models.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scalars::*;

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub driver_opts: Mapping,
    /// Always printed (`{}` when empty), like compose-go.
    #[serde(default)]
    pub ipam: Ipam,
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(with = "Option<super::schema_types::External>")]
    pub external: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(with = "Option<super::schema_types::ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub labels: Mapping,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ipam {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub options: Mapping,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpamPool {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub subnet: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub gateway: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub ip_range: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub aux_addresses: Mapping,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub driver_opts: Mapping,
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(with = "Option<super::schema_types::External>")]
    pub external: bool,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(with = "Option<super::schema_types::ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub labels: Mapping,
}

/// A top-level secret or config: its content comes from a file, an environment variable or
/// inline text, or it already exists (`external`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileObject {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub file: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(with = "Option<super::schema_types::External>")]
    pub external: bool,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(with = "Option<super::schema_types::ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub labels: Mapping,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub driver_opts: Mapping,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub template_driver: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Model {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub model: String,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub context_size: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_flags: Vec<String>,
}

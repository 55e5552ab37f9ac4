//! `services.*.build`: how an image is built.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scalars::*;
use super::schema_types::*;
use super::service::{FileReference, Ulimit};

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub context: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub dockerfile: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub dockerfile_inline: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict_with_equals")]
    pub args: MappingWithEquals,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub provenance: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub sbom: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<StringOrList>")]
    pub ssh: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub labels: Mapping,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_to: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_cache: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_cache_filter: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub additional_contexts: Mapping,
    #[serde(default, skip_serializing_if = "is_false")]
    pub pull: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub isolation: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub network: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub target: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<FileRefItem>")]
    pub secrets: Vec<FileReference>,
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub shm_size: Bytes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
}

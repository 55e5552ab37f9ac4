//! The typed, canonical compose model that every later layer consumes.
//!
//! Built from the canonical tree by `spec::de` at the end of loading. Serializing a
//! [`Project`] gives exactly Docker Compose's `config --format json` document.

pub mod build;
pub mod depends_on;
pub mod deploy;
pub mod hash_view;
pub mod resources;
pub mod scalars;
pub mod schema_types;
pub mod service;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use build::BuildConfig;
pub use depends_on::{Condition, DependsOn};
pub use deploy::*;
pub use resources::*;
pub use scalars::*;
pub use service::*;

/// A loaded project.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
    /// Docker Compose v2.40.3 does not print top-level models in `config`.
    #[serde(default, skip_serializing)]
    pub models: BTreeMap<String, Model>,
    /// Top-level `x-*` extensions, kept as written (after interpolation); printed by
    /// [`Project::to_json`].
    #[serde(skip)]
    pub extensions: IndexMap<String, serde_json::Value>,
}

impl Project {
    /// The canonical document, as `config --format json` prints it (before `$` escaping).
    pub fn to_json(&self) -> serde_json::Value {
        self.to_value(false)
    }

    /// The document `config --format yaml` prints: like the JSON one, plus service-level
    /// `x-*` extensions and top-level `models`, which Docker Compose only prints in YAML.
    pub fn to_yaml_value(&self) -> serde_json::Value {
        self.to_value(true)
    }

    fn to_value(&self, yaml: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            if yaml {
                if let Some(serde_json::Value::Object(services)) = map.get_mut("services") {
                    for (name, svc) in &self.services {
                        if let Some(serde_json::Value::Object(s)) = services.get_mut(name) {
                            for (k, x) in &svc.extensions {
                                s.insert(k.clone(), x.clone());
                            }
                        }
                    }
                }
                if !self.models.is_empty() {
                    map.insert(
                        "models".into(),
                        serde_json::to_value(&self.models).unwrap_or_default(),
                    );
                }
            }
            // Go maps print sorted by key.
            let mut ext: Vec<_> = self.extensions.iter().collect();
            ext.sort_by(|a, b| a.0.cmp(b.0));
            for (k, x) in ext {
                map.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

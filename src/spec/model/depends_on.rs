//! `depends_on` entries: the edges of the dependency graph and their start gates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scalars::is_false;

/// What a dependent waits for before it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's container is running.
    #[default]
    ServiceStarted,
    /// The dependency's healthcheck reports healthy.
    ServiceHealthy,
    /// The dependency ran to completion with exit code 0.
    ServiceCompletedSuccessfully,
}

impl Condition {
    pub fn as_str(&self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependsOn {
    #[serde(default)]
    pub condition: Condition,
    /// Restart this service when the dependency is restarted/recreated.
    #[serde(default, skip_serializing_if = "is_false")]
    pub restart: bool,
    /// `false`: a missing or disabled dependency is only a warning.
    #[serde(default = "default_true")]
    pub required: bool,
}

fn default_true() -> bool {
    true
}

impl Default for DependsOn {
    fn default() -> Self {
        DependsOn {
            condition: Condition::ServiceStarted,
            restart: false,
            required: true,
        }
    }
}

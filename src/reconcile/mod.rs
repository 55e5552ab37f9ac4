//! The reconciler: observe what the engine has, plan the difference with the project (pure),
//! execute the plan. Only the executor talks to an engine, through the [`crate::engine`]
//! trait; the planner and the container-spec builder are pure.

pub mod container_spec;
pub mod executor;
pub mod files;
pub mod hash;
pub mod planner;
pub mod pull_policy;
pub mod tty_progress;
pub mod watch;
pub mod wide_ports;

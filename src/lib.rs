//! rcompose: a daemonless, exact Docker Compose equivalent.
//!
//! Layers (see `ARCHITECTURE.md`): [`spec`] turns files into a typed project, [`graph`] holds
//! the one dependency graph, [`reconcile`] plans and executes (the config hash so far), `engine`
//! drives containers (not written yet), [`cli`] is the thin imperative shell.

pub mod cli;
pub mod engine;
pub mod graph;
pub mod human;
pub mod paths;
pub mod reconcile;
pub mod spec;

//! `rcompose ls`: the Compose projects found on the engine, from their containers'
//! `com.docker.compose.project` labels, like `docker compose ls` (no compose file needed).
//!
//! Status is every state with its count, states sorted (`exited(1), running(2)`); without
//! `-a` only running containers count (and only projects with one are listed). Config files
//! are the distinct `com.docker.compose.project.config_files` labels, joined by commas.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::engine::{ContainerState, Engine};
use crate::reconcile::container_spec::labels;

use super::{lifecycle, top::tabwrite, GlobalArgs};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LsFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Only display project names
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Format the output
    #[arg(long, value_enum, default_value = "table")]
    pub format: LsFormat,
}

#[derive(Default)]
struct ProjectRow {
    states: BTreeMap<&'static str, usize>,
    config_files: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &LsArgs) -> ExitCode {
    lifecycle::with_engine(global, async |engine| {
        let list = match engine.list_containers(&[labels::PROJECT.to_string()]).await {
            Ok(l) => l,
            Err(e) => return super::targets::engine_error(e),
        };
        let mut projects: BTreeMap<String, ProjectRow> = BTreeMap::new();
        for c in &list {
            if !args.all && c.state != ContainerState::Running {
                continue;
            }
            let Some(name) = c.labels.get(labels::PROJECT) else {
                continue;
            };
            let row = projects.entry(name.clone()).or_default();
            *row.states.entry(c.state.as_str()).or_default() += 1;
            if let Some(files) = c.labels.get(labels::CONFIG_FILES) {
                if !files.is_empty() && !row.config_files.contains(files) {
                    row.config_files.push(files.clone());
                }
            }
        }
        let status = |r: &ProjectRow| {
            r.states
                .iter()
                .map(|(s, n)| format!("{s}({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if args.quiet {
            for name in projects.keys() {
                println!("{name}");
            }
            return ExitCode::SUCCESS;
        }
        match args.format {
            LsFormat::Json => {
                let rows: Vec<serde_json::Value> = projects
                    .iter()
                    .map(|(name, r)| {
                        serde_json::json!({
                            "Name": name,
                            "Status": status(r),
                            "ConfigFiles": r.config_files.join(","),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            }
            LsFormat::Table => {
                let mut table = vec![vec![
                    "NAME".to_string(),
                    "STATUS".to_string(),
                    "CONFIG FILES".to_string(),
                ]];
                for (name, r) in &projects {
                    table.push(vec![name.clone(), status(r), r.config_files.join(",")]);
                }
                print!("{}", tabwrite(&table, 20, 3));
            }
        }
        ExitCode::SUCCESS
    })
}

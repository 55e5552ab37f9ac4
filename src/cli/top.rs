//! `rcompose top`: the processes of the project's running containers, as Docker Compose
//! v2.40 prints them: one table whose first columns are `SERVICE` and `#` (container number),
//! then the `ps` columns (Go's tabwriter: min width 4, padding 2).

use std::process::ExitCode;

use crate::engine::{ContainerState, Engine};
use crate::reconcile::planner::{number_of, service_of};

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// Services (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &TopArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |c| c.state == ContainerState::Running,
        async |_session, engine, list| {
            let mut list = list;
            list.sort_by(|a, b| a.name.cmp(&b.name));
            let mut titles: Vec<String> = vec!["SERVICE".into(), "#".into()];
            let mut rows: Vec<Vec<(usize, String)>> = Vec::new();
            for c in &list {
                let top = match engine.top(&c.id).await {
                    Ok(t) => t,
                    Err(e) => return targets::engine_error(e),
                };
                let cols: Vec<usize> = top
                    .titles
                    .iter()
                    .map(|t| match titles.iter().position(|x| x == t) {
                        Some(i) => i,
                        None => {
                            titles.push(t.clone());
                            titles.len() - 1
                        }
                    })
                    .collect();
                for p in top.processes {
                    let mut row = vec![
                        (0, service_of(c).to_string()),
                        (1, number_of(c).to_string()),
                    ];
                    row.extend(cols.iter().copied().zip(p));
                    rows.push(row);
                }
            }
            if rows.is_empty() {
                return ExitCode::SUCCESS;
            }
            let table: Vec<Vec<String>> = std::iter::once(titles.clone())
                .chain(rows.into_iter().map(|r| {
                    let mut cells = vec![String::new(); titles.len()];
                    for (i, v) in r {
                        if let Some(cell) = cells.get_mut(i) {
                            *cell = v;
                        }
                    }
                    cells
                }))
                .collect();
            print!("{}", tabwrite(&table, 4, 2));
            ExitCode::SUCCESS
        },
    )
}

/// Go's `text/tabwriter` for cells separated by tabs with no trailing tab: every column but
/// the last is padded to `max(min_width, widest + padding)`.
pub fn tabwrite(rows: &[Vec<String>], min_width: usize, padding: usize) -> String {
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; ncols];
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count() + padding);
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let w = widths[i].max(min_width);
                line.push_str(cell);
                line.push_str(&" ".repeat(w.saturating_sub(cell.chars().count())));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

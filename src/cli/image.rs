//! `rcompose image rm|prune`: Docker's `docker image rm` and `docker image prune` for the
//! engine in use (the embedded engine has no `docker` CLI beside it).
//!
//! `rm [-f] IMAGE...` removes names or images (`Untagged:`/`Deleted:` lines; an image a
//! container uses is refused with Docker's conflict message and exit code 1). `prune`
//! removes dangling images (no name) by default, with `-a` every image no container uses;
//! the layers only they held go with them. It asks for confirmation unless `-f`, and prints
//! what it removed and `Total reclaimed space: X` as Docker does.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use crate::engine::{Engine, EngineError, ImageDeleted, PruneImages};

use super::{human, lifecycle, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Remove one or more images
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove unused images
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Force removal of the image
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

pub fn run(global: &GlobalArgs, args: &ImageArgs) -> ExitCode {
    match &args.command {
        ImageCommand::Rm(r) => remove(global, r),
        ImageCommand::Prune(p) => prune(global, p),
    }
}

/// Each image in turn; a failure is reported and the others still go (exit 1 at the end).
fn remove(global: &GlobalArgs, args: &RmArgs) -> ExitCode {
    lifecycle::with_engine(global, async |engine| {
        let mut code = ExitCode::SUCCESS;
        for image in &args.images {
            match engine.remove_image(image, args.force).await {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                }
                Err(e) => {
                    eprintln!("Error response from daemon: {}", daemon_words(&e));
                    code = ExitCode::from(1);
                }
            }
        }
        code
    })
}

/// The error as dockerd words it (`No such image: x`, `conflict: ...`: dockerd's own
/// conflict messages start with the word already).
fn daemon_words(e: &EngineError) -> String {
    match e {
        EngineError::ImageNotFound { image } => format!("No such image: {image}"),
        EngineError::Conflict { message } if message.starts_with("conflict: ") => message.clone(),
        other => other.to_string(),
    }
}

fn prune(global: &GlobalArgs, args: &PruneArgs) -> ExitCode {
    let which = if args.all {
        PruneImages::Unused
    } else {
        PruneImages::Dangling
    };
    if !args.force && !confirm(which) {
        return ExitCode::SUCCESS;
    }
    lifecycle::with_engine(global, async |engine| {
        match engine.prune_images(which).await {
            Ok(report) => {
                print!("{}", report_text(&report.deleted, report.reclaimed));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("Error response from daemon: {}", daemon_words(&e));
                ExitCode::from(1)
            }
        }
    })
}

/// Docker's question; only `y`/`Y` goes on.
fn confirm(which: PruneImages) -> bool {
    let warning = match which {
        PruneImages::Dangling => "WARNING! This will remove all dangling images.",
        PruneImages::Unused => {
            "WARNING! This will remove all images without at least one container associated to them."
        }
    };
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y")
}

/// `Deleted Images:` with one `untagged:`/`deleted:` line each and a blank line (when
/// anything went), then `Total reclaimed space: X`.
fn report_text(deleted: &[ImageDeleted], reclaimed: u64) -> String {
    let mut out = String::new();
    if !deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for d in deleted {
            match d {
                ImageDeleted::Untagged(n) => out.push_str(&format!("untagged: {n}\n")),
                ImageDeleted::Deleted(id) => out.push_str(&format!("deleted: {id}\n")),
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human::size(reclaimed as f64)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_like_dockers() {
        assert_eq!(report_text(&[], 0), "Total reclaimed space: 0B\n");
        let d = vec![
            ImageDeleted::Untagged("busybox:1".into()),
            ImageDeleted::Deleted("sha256:ab".into()),
        ];
        assert_eq!(
            report_text(&d, 1_980_000),
            "Deleted Images:\nuntagged: busybox:1\ndeleted: sha256:ab\n\nTotal reclaimed space: 1.98MB\n"
        );
    }
}

//! `rcompose version`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Format the output. Values: [pretty | json]
    #[arg(short, long, default_value = "pretty")]
    pub format: String,
    /// Shows only the version number
    #[arg(long)]
    pub short: bool,
}

pub fn run(args: &VersionArgs) -> ExitCode {
    let v = env!("CARGO_PKG_VERSION");
    if args.short {
        println!("{v}");
    } else if args.format == "json" {
        println!("{{\"version\":\"{v}\"}}");
    } else {
        println!("rcompose version v{v}");
    }
    ExitCode::SUCCESS
}

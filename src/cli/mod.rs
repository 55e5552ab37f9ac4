//! The command-line shell: clap definitions, global settings, and dispatch.
//!
//! Global flags and `COMPOSE_*` variables match Docker Compose v2. Settings are resolved
//! once (flags > `COMPOSE_*` environment > `.env`, the latter inside the loader) into a
//! [`LoadOptions`]; each subcommand lives in its own file.

pub mod attach;
pub mod build;
pub mod config;
pub mod cp;
pub mod create;
pub mod dockerignore;
pub mod down;
pub mod events;
pub mod exec;
pub mod from_engine;
pub use crate::human;
pub mod image;
pub mod images;
pub mod kill;
pub mod lifecycle;
pub mod lines;
pub mod logs;
pub mod ls;
pub mod pause;
pub mod port;
pub mod ps;
pub mod pull;
pub mod pulling;
pub mod render;
pub mod restart;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod stop;
pub mod tarfs;
pub mod targets;
pub mod timefmt;
pub mod top;
pub mod unpause;
pub mod up;
pub mod version;
pub mod wait;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indexmap::IndexMap;

use crate::spec::{LoadErrors, LoadOptions};

pub use crate::engine::EngineKind;

/// `--ansi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Ansi {
    Never,
    Always,
    #[default]
    Auto,
}

/// `--progress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Progress {
    #[default]
    Auto,
    Tty,
    Plain,
    Json,
    Quiet,
}

#[derive(Debug, Parser)]
#[command(
    name = "rcompose",
    version,
    about = "Define and run multi-container applications, exactly like Docker Compose, without a daemon"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Compose configuration files (`-` for standard input)
    #[arg(short = 'f', long = "file", global = true)]
    pub file: Vec<String>,
    /// Project name
    #[arg(short = 'p', long = "project-name", global = true)]
    pub project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the first Compose file)
    #[arg(long = "project-directory", global = true)]
    pub project_directory: Option<PathBuf>,
    /// Specify an alternate environment file
    #[arg(long = "env-file", global = true)]
    pub env_file: Vec<PathBuf>,
    /// Specify a profile to enable
    #[arg(long = "profile", global = true)]
    pub profile: Vec<String>,
    /// Control when to print ANSI control characters
    #[arg(
        long,
        value_enum,
        global = true,
        env = "COMPOSE_ANSI",
        default_value = "auto"
    )]
    pub ansi: Ansi,
    /// Set type of progress output
    #[arg(
        long,
        value_enum,
        global = true,
        env = "COMPOSE_PROGRESS",
        default_value = "auto"
    )]
    pub progress: Progress,
    /// Control max parallelism, -1 for unlimited
    #[arg(long, global = true, env = "COMPOSE_PARALLEL_LIMIT", default_value_t = -1, allow_negative_numbers = true)]
    pub parallel: i64,
    /// Execute command in dry run mode
    #[arg(long = "dry-run", global = true)]
    pub dry_run: bool,
    /// Run compose in backward compatibility mode
    #[arg(long, global = true, env = "COMPOSE_COMPATIBILITY")]
    pub compatibility: bool,
    /// Container engine: the embedded daemonless engine or a Docker Engine
    #[arg(
        long,
        value_enum,
        global = true,
        env = "RCOMPOSE_ENGINE",
        default_value = "embedded"
    )]
    pub engine: EngineKind,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, resolve and render compose file in canonical format
    Config(config::ConfigArgs),
    /// Create and start containers
    Up(up::UpArgs),
    /// Stop and remove containers, networks
    Down(down::DownArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Creates containers for a service
    Create(create::CreateArgs),
    /// Pull service images
    Pull(pull::PullArgs),
    /// Block until containers of all (or specified) services stop
    Wait(wait::WaitArgs),
    /// Show the rcompose version information
    Version(version::VersionArgs),
    /// View output from containers
    Logs(logs::LogsArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Display the running processes
    Top(top::TopArgs),
    /// Pause services
    Pause(pause::PauseArgs),
    /// Unpause services
    Unpause(unpause::UnpauseArgs),
    /// Stop services
    Stop(stop::StopArgs),
    /// Start services
    Start(start::StartArgs),
    /// Restart service containers
    Restart(restart::RestartArgs),
    /// Force stop service containers
    Kill(kill::KillArgs),
    /// Removes stopped service containers
    Rm(rm::RmArgs),
    /// Print the public port for a port binding
    Port(port::PortArgs),
    /// List running compose projects
    Ls(ls::LsArgs),
    /// Run a one-off command on a service
    Run(run::RunArgs),
    /// Receive real time events from containers
    Events(events::EventsArgs),
    /// List images used by the created containers
    Images(images::ImagesArgs),
    /// Copy files/folders between a service container and the local filesystem
    Cp(cp::CpArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Build or rebuild services
    Build(build::BuildArgs),
    /// Manage the engine's images (`image rm`, `image prune`)
    Image(image::ImageArgs),
}

impl GlobalArgs {
    /// The loader options these flags and the process environment ask for.
    pub fn load_options(&self) -> Result<LoadOptions, String> {
        let os_env: IndexMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?;
        let stdin = if self.file.iter().any(|f| f == "-") {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Some(s)
        } else {
            None
        };
        Ok(LoadOptions {
            files: self.file.clone(),
            project_name: self.project_name.clone(),
            project_directory: self.project_directory.clone(),
            env_files: self.env_file.clone(),
            profiles: if self.profile.is_empty() {
                None
            } else {
                Some(self.profile.clone())
            },
            os_env,
            cwd,
            stdin,
            ..Default::default()
        })
    }

    /// The progress mode of `--progress`: `auto` is the live block when stderr is a
    /// terminal and colors are not turned off, plain lines otherwise.
    pub fn progress_mode(&self) -> crate::reconcile::executor::ProgressMode {
        use crate::reconcile::executor::ProgressMode;
        use std::io::IsTerminal;
        match self.progress {
            Progress::Json => ProgressMode::Json,
            Progress::Quiet => ProgressMode::Quiet,
            Progress::Plain => ProgressMode::Plain,
            Progress::Tty => ProgressMode::Tty,
            Progress::Auto if std::io::stderr().is_terminal() && self.ansi != Ansi::Never => {
                ProgressMode::Tty
            }
            Progress::Auto => ProgressMode::Plain,
        }
    }

    pub fn colors(&self) -> bool {
        match self.ansi {
            Ansi::Never => false,
            Ansi::Always => true,
            Ansi::Auto => console::Term::stderr().features().colors_supported(),
        }
    }
}

/// Prints load errors like compiler diagnostics; returns exit code 1.
pub fn report(errors: &LoadErrors, colors: bool) -> ExitCode {
    let text = errors.render();
    if colors {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("error:") {
                eprintln!("{}{}", console::style("error:").red().bold(), rest);
            } else {
                eprintln!("{line}");
            }
        }
    } else {
        eprintln!("{text}");
    }
    ExitCode::from(1)
}

pub fn warn(msg: &str, colors: bool) {
    crate::reconcile::tty_progress::freeze();
    if colors {
        eprintln!("{} {msg}", console::style("WARN").yellow());
    } else {
        eprintln!("WARN {msg}");
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    crate::reconcile::executor::set_progress_mode(cli.global.progress_mode());
    match cli.command {
        Command::Config(args) => config::run(&cli.global, &args),
        Command::Up(args) => up::run(&cli.global, &args),
        Command::Down(args) => down::run(&cli.global, &args),
        Command::Ps(args) => ps::run(&cli.global, &args),
        Command::Create(args) => create::run(&cli.global, &args),
        Command::Pull(args) => pull::run(&cli.global, &args),
        Command::Wait(args) => wait::run(&cli.global, &args),
        Command::Version(args) => version::run(&args),
        Command::Logs(args) => logs::run(&cli.global, &args),
        Command::Exec(args) => exec::run(&cli.global, &args),
        Command::Top(args) => top::run(&cli.global, &args),
        Command::Pause(args) => pause::run(&cli.global, &args),
        Command::Unpause(args) => unpause::run(&cli.global, &args),
        Command::Stop(args) => stop::run(&cli.global, &args),
        Command::Start(args) => start::run(&cli.global, &args),
        Command::Restart(args) => restart::run(&cli.global, &args),
        Command::Kill(args) => kill::run(&cli.global, &args),
        Command::Rm(args) => rm::run(&cli.global, &args),
        Command::Port(args) => port::run(&cli.global, &args),
        Command::Ls(args) => ls::run(&cli.global, &args),
        Command::Run(args) => run::run(&cli.global, &args),
        Command::Events(args) => events::run(&cli.global, &args),
        Command::Images(args) => images::run(&cli.global, &args),
        Command::Cp(args) => cp::run(&cli.global, &args),
        Command::Stats(args) => stats::run(&cli.global, &args),
        Command::Build(args) => build::run(&cli.global, &args),
        Command::Image(args) => image::run(&cli.global, &args),
    }
}

//! `rcompose run`: runs a one-off command in a new container of a service, like `docker
//! compose run`.
//!
//! The service's dependencies are converged first through the planner and executor (an `up`
//! of the dependency closure without the service itself, with their health gates; the service
//! stays in the plan without steps, so the executor waits for its `depends_on` gates), unless
//! `--no-deps`. Then one container is created the way Compose creates it: labels
//! `com.docker.compose.oneoff=True` and `com.docker.compose.slug=<64 hex>`, no
//! container-number label, named `<project>-<service>-run-<slug[..12]>` (or `--name`), no
//! restart policy, the service's ports only with `--service-ports` (else those of `-p`), its
//! container name as network alias (plus the service's aliases only with `--use-aliases`),
//! the command replacing the service's, and `--entrypoint` split like a shell (an entrypoint
//! without a command clears the command).
//!
//! Detached (`-d`) prints the container id (as Compose does) and leaves it running (removed by
//! the engine when it ends with `--rm`). Attached, our stdio is connected before it starts,
//! its exit code becomes ours, and `--rm` removes it afterwards, also after an error. Signals
//! are forwarded to the container like Compose does (SIGINT, SIGTERM, SIGHUP, SIGQUIT); unlike
//! Compose, a second Ctrl+C kills it (SIGKILL), so that Ctrl+C always ends a `run` whose
//! command ignores SIGINT. An attached `--rm` container is removed by us rather than the
//! engine's auto-remove, so that its exit code can be read without a race.

use std::process::ExitCode;

use crate::engine::{tty, AttachSpec, Backend, Engine, Mount, MountKind};
use crate::graph::DependencyGraph;
use crate::reconcile::container_spec::{self as cs, labels};
use crate::reconcile::executor::{self, ExecOptions, PlainProgress, Progress};
use crate::reconcile::planner::{self, Recreate, UpOptions};
use crate::spec::loader;
use crate::spec::model::{Port, Service};
use crate::spec::{ports, shellwords, volume_spec};

use super::lifecycle::{self, Session};
use super::GlobalArgs;

/// `com.docker.compose.slug`.
const SLUG_LABEL: &str = "com.docker.compose.slug";

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long = "rm")]
    pub rm: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Assign a name to the container
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Override the entrypoint of the image
    #[arg(long = "entrypoint")]
    pub entrypoint: Option<String>,
    /// Run as specified username or uid
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Run command with all service's ports enabled and mapped to the host
    #[arg(long = "service-ports")]
    pub service_ports: bool,
    /// Use the service's network aliases in the network(s) the container connects to
    #[arg(long = "use-aliases")]
    pub use_aliases: bool,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Disable pseudo-TTY allocation (default: auto-detected)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Keep STDIN open even if not attached
    #[arg(
        short = 'i',
        long = "interactive",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub interactive: bool,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Add or override a label
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long = "pull", default_value = "policy",
          value_parser = ["always", "missing", "never", "policy"])]
    pub pull: String,
    /// Pull without printing progress information
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
    /// Build image before starting container (accepted; building is not supported yet)
    #[arg(long = "build")]
    pub build: bool,
    /// Don't build an image, even if it's policy (accepted)
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans", env = "COMPOSE_REMOVE_ORPHANS")]
    pub remove_orphans: bool,
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// The command and its arguments (default: the service's)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(1)
}

/// Loads the project with `service` targeted (its profile enabled, like Compose's `run`), and
/// reports a missing service as Compose does (`no such service: x`).
fn load(global: &GlobalArgs, service: &str) -> Result<Session, ExitCode> {
    let colors = global.colors();
    let mut opts = global
        .load_options()
        .map_err(|e| fail(format!("error: {e}")))?;
    opts.services = vec![service.to_string()];
    let loaded = loader::load(&opts).map_err(|e| super::report(&e, colors))?;
    for w in &loaded.warnings {
        super::warn(w, colors);
    }
    if !loaded.project.services.contains_key(service) {
        return Err(fail(format!("no such service: {service}")));
    }
    let graph = DependencyGraph::build(&loaded.project)
        .map_err(|cycle| fail(lifecycle::cycle_error(&cycle)))?;
    let ctx = lifecycle::project_context(&loaded);
    Ok(Session {
        project: loaded.project,
        graph,
        ctx,
    })
}

/// 32 random bytes in hex (Compose's `stringid.GenerateRandomID`).
fn random_slug() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !ok {
        // Unlikely; still unique enough for a name: time and pid mixed.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            ^ (u128::from(std::process::id()) << 64);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `-e KEY=VAL` as given; bare `KEY` from our environment, dropped when unset.
fn resolve_env(env: &[String]) -> Vec<(String, String)> {
    env.iter()
        .filter_map(|e| match e.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => std::env::var(e).ok().map(|v| (e.clone(), v)),
        })
        .collect()
}

/// The service as the one-off runs it (Compose's `applyRunOptions` and `options.apply`).
fn one_off_service(
    svc: &Service,
    args: &RunArgs,
    name: &str,
    tty: bool,
    entrypoint: Option<Vec<String>>,
) -> Result<Service, String> {
    let mut s = svc.clone();
    s.tty = tty;
    s.stdin_open = args.interactive;
    s.container_name = name.to_string();
    if !args.command.is_empty() {
        s.command = Some(args.command.clone());
    }
    if let Some(ep) = entrypoint {
        s.entrypoint = Some(ep);
        if args.command.is_empty() {
            s.command = Some(Vec::new());
        }
    }
    if let Some(u) = &args.user {
        s.user = u.clone();
    }
    if let Some(w) = &args.workdir {
        s.working_dir = w.clone();
    }
    for c in &args.cap_add {
        s.cap_drop.retain(|d| d != c);
        s.cap_add.push(c.clone());
    }
    for c in &args.cap_drop {
        s.cap_add.retain(|d| d != c);
        s.cap_drop.push(c.clone());
    }
    for (k, v) in resolve_env(&args.env) {
        s.environment.insert(k, Some(v));
    }
    for l in &args.label {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| "label must be set as KEY=VALUE".to_string())?;
        s.labels.insert(k.to_string(), v.to_string());
    }
    if !args.service_ports {
        s.ports = Vec::new();
        for p in &args.publish {
            for e in ports::parse(p)? {
                s.ports.push(Port {
                    mode: "ingress".into(),
                    host_ip: e.host_ip.unwrap_or_default(),
                    target: e.target,
                    published: e.published.unwrap_or_default(),
                    protocol: e.protocol,
                    ..Default::default()
                });
            }
        }
    }
    s.restart = String::new();
    s.scale = Some(1);
    if let Some(d) = s.deploy.as_mut() {
        d.restart_policy = None;
    }
    Ok(s)
}

/// A `-v` short-syntax volume as a mount: relative bind sources are relative to the project
/// directory; a named volume of the project gets its engine name.
fn volume_mount(
    project_dir: &str,
    project: &crate::spec::model::Project,
    v: &str,
) -> Result<Mount, String> {
    let spec = volume_spec::parse(v)?;
    let bind = spec.kind == Some(volume_spec::VolumeKind::Bind);
    let source = match (&spec.source, bind) {
        (Some(src), true) if !src.starts_with('/') => {
            let rel = src.strip_prefix("./").unwrap_or(src);
            volume_spec::clean_path(&format!("{project_dir}/{rel}"))
        }
        (Some(src), true) => src.clone(),
        (Some(src), false) if project.volumes.contains_key(src) => cs::volume_name(project, src),
        (Some(src), false) => src.clone(),
        (None, _) => String::new(),
    };
    Ok(Mount {
        kind: if bind {
            MountKind::Bind
        } else {
            MountKind::Volume
        },
        source,
        target: spec.target,
        read_only: spec.read_only,
        no_copy: spec.nocopy,
        create_host_path: bind,
        ..Default::default()
    })
}

/// Compose prints no gate lines for the run's own dependencies: those are hidden.
struct RunProgress {
    inner: PlainProgress,
    gated: Vec<String>,
}

impl Progress for RunProgress {
    fn event(&self, kind: &str, name: &str, status: &str) {
        if matches!(status, "Waiting" | "Healthy" | "Exited")
            && self.gated.iter().any(|g| g == name)
        {
            return;
        }
        self.inner.event(kind, name, status);
    }
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> ExitCode {
    if args.service_ports && !args.publish.is_empty() {
        return fail("--service-ports and --publish are incompatible");
    }
    let entrypoint = match &args.entrypoint {
        Some(e) => match shellwords::split(e) {
            Ok(words) => Some(words),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let session = match load(global, &args.service) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let project = &session.project;
    let Some(svc) = project.services.get(&args.service) else {
        return fail(format!("no such service: {}", args.service));
    };
    let tty = !args.no_tty && !args.detach && tty::stdin_is_terminal();
    let slug = random_slug();
    let name = args.name.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-run-{}",
            project.name,
            svc.name,
            &slug[..12.min(slug.len())]
        )
    });
    let one_off = match one_off_service(svc, args, &name, tty, entrypoint) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut mounts = Vec::new();
    for v in &args.volume {
        match volume_mount(&session.ctx.working_dir, project, v) {
            Ok(m) => mounts.push(m),
            Err(e) => return fail(e),
        }
    }
    let mut lock = match lifecycle::lock_project(&project.name) {
        Ok(l) => Some(l),
        Err(code) => return code,
    };
    lifecycle::with_engine(global, async |engine| {
        // Dependencies (or only the networks and volumes with --no-deps).
        let services = if args.no_deps {
            vec![args.service.clone()]
        } else {
            session.graph.closure(std::slice::from_ref(&args.service))
        };
        let opts = UpOptions {
            services,
            no_deps: true,
            recreate: Recreate::Diverged,
            remove_orphans: args.remove_orphans,
            ..Default::default()
        };
        let selected = planner::selection(&session.graph, &opts);
        if !global.dry_run {
            // Compose's pull phase, for the dependencies and the service itself.
            let mut pulled = selected.clone();
            if !pulled.contains(&args.service) {
                pulled.push(args.service.clone());
            }
            let policy = (args.pull != "policy").then_some(args.pull.as_str());
            let parallel = lifecycle::parallel(global);
            if let Err(code) = super::pulling::pull_for_up(
                engine,
                project,
                &pulled,
                policy,
                args.quiet_pull,
                parallel,
            )
            .await
            {
                return code;
            }
        }
        let observed = match executor::observe(engine, project, &selected).await {
            Ok(o) => o,
            Err(e) => return lifecycle::fail(e),
        };
        let mut plan = planner::plan_up(project, &session.graph, &observed, &opts);
        for level in &mut plan.levels {
            if args.no_deps {
                level.retain(|sp| sp.service != args.service);
            } else {
                for sp in level.iter_mut().filter(|sp| sp.service == args.service) {
                    sp.steps.clear();
                }
            }
        }
        if global.dry_run {
            print!("{plan}");
            return ExitCode::SUCCESS;
        }
        for w in crate::reconcile::wide_ports::warnings(project, &plan) {
            super::warn(&w, global.colors());
        }
        let gated = svc
            .depends_on
            .keys()
            .filter_map(|d| project.services.get(d))
            .flat_map(|d| {
                (1..=cs::desired_scale(d).max(1)).map(|n| cs::container_name(project, d, n))
            })
            .collect();
        let progress = RunProgress {
            inner: PlainProgress {
                mode: executor::progress_mode(),
            },
            gated,
        };
        let exec = ExecOptions {
            parallel: lifecycle::parallel(global),
            stop_timeout: None,
            gate_timeout: None,
        };
        if let Err(e) = executor::execute_up(
            engine,
            project,
            &session.ctx,
            &plan,
            &observed,
            &exec,
            &progress,
        )
        .await
        {
            return lifecycle::fail(e);
        }

        // The one-off container.
        let image = cs::service_image(project, &one_off);
        let image_id = match present_image(engine, &image).await {
            Ok(id) => id,
            Err(code) => return code,
        };
        let mut spec =
            match cs::container_spec(project, &one_off, &session.ctx, 1, image_id.as_deref()) {
                Ok((spec, warnings)) => {
                    for w in &warnings {
                        super::warn(w, false);
                    }
                    spec
                }
                Err(e) => return fail(e.to_string()),
            };
        spec.labels.remove(labels::NUMBER);
        spec.labels.insert(labels::ONEOFF.into(), "True".into());
        spec.labels.insert(SLUG_LABEL.into(), slug.clone());
        // Compose's aliases of a one-off: its name, then (`--use-aliases`) the service's.
        for n in &mut spec.networks {
            if !args.use_aliases {
                n.aliases.clear();
            }
            n.aliases.insert(0, spec.name.clone());
        }
        spec.mounts.extend(mounts.iter().cloned());
        spec.stdin_once = args.interactive;
        spec.auto_remove = args.rm && args.detach;
        let id = match engine.create_container(&spec).await {
            Ok(id) => id,
            Err(e) => return fail(format!("Error response from daemon: {e}")),
        };
        // The project is converged; other commands may go on while the one-off runs.
        drop(lock.take());
        if args.detach {
            if let Err(e) = engine.start_container(&id).await {
                if args.rm {
                    let _ = engine.remove_container(&id, true, true).await;
                }
                return fail(format!("Error response from daemon: {e}"));
            }
            println!("{id}");
            return ExitCode::SUCCESS;
        }
        let attach = AttachSpec {
            stdin: args.interactive,
            tty,
        };
        crate::reconcile::tty_progress::freeze();
        let result = tokio::select! {
            r = engine.start_attached(&id, &attach) => r,
            never = forward_signals(engine, &id, tty) => match never {},
        };
        if args.rm {
            let _ = engine.remove_container(&id, true, true).await;
        }
        match result {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(255)),
            Err(e) => fail(format!("Error response from daemon: {e}")),
        }
    })
}

/// The image's id; the pull phase has pulled what `--pull` and the policy asked for, so a
/// missing image is an error here (Docker's words).
async fn present_image(engine: &Backend, image: &str) -> Result<Option<String>, ExitCode> {
    match engine.image_id(image).await {
        Ok(Some(id)) => Ok(Some(id)),
        Ok(None) => Err(fail(format!(
            "Error response from daemon: No such image: {image}"
        ))),
        Err(e) => Err(fail(format!("Error response from daemon: {e}"))),
    }
}

/// Forwards our signals to the container until dropped (Compose forwards them all); a second
/// SIGINT kills it; a SIGWINCH resizes its TTY.
async fn forward_signals(engine: &Backend, id: &str, tty: bool) -> std::convert::Infallible {
    use tokio::signal::unix::{signal, SignalKind};
    let mk = |k: SignalKind| signal(k).ok();
    let mut int = mk(SignalKind::interrupt());
    let mut term = mk(SignalKind::terminate());
    let mut hup = mk(SignalKind::hangup());
    let mut quit = mk(SignalKind::quit());
    let mut winch = mk(SignalKind::window_change());
    let mut interrupts = 0u32;
    async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                if s.recv().await.is_none() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }
    loop {
        let sig = tokio::select! {
            () = next(&mut int) => {
                interrupts += 1;
                if interrupts > 1 { "SIGKILL" } else { "SIGINT" }
            }
            () = next(&mut term) => "SIGTERM",
            () = next(&mut hup) => "SIGHUP",
            () = next(&mut quit) => "SIGQUIT",
            () = next(&mut winch) => {
                if tty {
                    if let Some((rows, cols)) = tty::window_size() {
                        let _ = engine.resize_tty(id, rows, cols).await;
                    }
                }
                continue;
            }
        };
        let _ = engine.kill_container(id, sig).await;
    }
}

//! `rcompose config`: parse, resolve and render the compose model in canonical form.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::Value;

use super::render;
use super::GlobalArgs;
use crate::graph::DependencyGraph;
use crate::spec::interpolate;
use crate::spec::loader::{self, Loaded};
use crate::spec::node::{Node, Value as NodeValue};
use crate::spec::LoadOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Format the output. Values: [yaml | json]
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line
    #[arg(long)]
    pub networks: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Print the image names, one per line
    #[arg(long)]
    pub images: bool,
    /// Print the service config hash, one per line
    #[arg(long)]
    pub hash: Option<String>,
    /// Print model variables and default values
    #[arg(long)]
    pub variables: bool,
    /// Print environment used for interpolation
    #[arg(long)]
    pub environment: bool,
    /// Don't interpolate environment variables
    #[arg(long = "no-interpolate")]
    pub no_interpolate: bool,
    /// Don't normalize compose model
    #[arg(long = "no-normalize")]
    pub no_normalize: bool,
    /// Don't resolve file paths
    #[arg(long = "no-path-resolution")]
    pub no_path_resolution: bool,
    /// Don't check model consistency - warning: may produce invalid Compose output
    #[arg(long = "no-consistency")]
    pub no_consistency: bool,
    /// Save to file (default to stdout)
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    /// Services to show (and their dependencies)
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &ConfigArgs) -> ExitCode {
    let colors = global.colors();
    let mut opts = match global.load_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    opts.services = args.service.clone();
    opts.select_services = true;
    opts.skip_interpolation = args.no_interpolate;
    opts.skip_normalization = args.no_normalize;
    opts.skip_path_resolution = args.no_path_resolution;
    opts.skip_consistency = args.no_consistency;
    opts.listing = args.services
        || args.volumes
        || args.networks
        || args.images
        || args.profiles
        || args.hash.is_some();

    if args.variables {
        return variables(&opts, colors, args);
    }
    if args.profiles {
        opts.profiles = Some(vec!["*".into()]);
    }
    let loaded = match loader::load(&opts) {
        Ok(l) => l,
        Err(e) => return super::report(&e, colors),
    };
    for w in &loaded.warnings {
        super::warn(w, colors);
    }
    if args.quiet {
        return ExitCode::SUCCESS;
    }
    let text = match render_output(&loaded, args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let code = write(args, &text);
    // The process ends here: freeing the (possibly large) model would only cost time.
    std::mem::forget(loaded);
    std::mem::forget(text);
    code
}

fn write(args: &ConfigArgs, text: &str) -> ExitCode {
    match &args.output {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(1)
            }
        },
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn lines<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut s = String::new();
    for i in items {
        s.push_str(&i);
        s.push('\n');
    }
    s
}

fn render_output(loaded: &Loaded, args: &ConfigArgs) -> Result<String, String> {
    let p = &loaded.project;
    if args.services {
        return Ok(match DependencyGraph::build(p) {
            Ok(g) => lines(g.start_order()),
            Err(_) => lines(p.services.keys().cloned()),
        });
    }
    if args.volumes {
        return Ok(lines(p.volumes.keys().cloned()));
    }
    if args.networks {
        return Ok(lines(p.networks.keys().cloned()));
    }
    if args.profiles {
        let mut all: Vec<String> = p
            .services
            .values()
            .flat_map(|s| s.profiles.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        return Ok(lines(all));
    }
    if args.images {
        return Ok(lines(p.services.iter().map(|(n, s)| {
            if s.image.is_empty() {
                format!("{}-{n}", p.name)
            } else {
                s.image.clone()
            }
        })));
    }
    if let Some(sel) = &args.hash {
        let mut out = Vec::new();
        let wanted: Vec<&str> = sel.split(',').map(str::trim).collect();
        for (name, svc) in &p.services {
            if wanted.contains(&"*") || wanted.contains(&name.as_str()) {
                out.push(format!(
                    "{name} {}",
                    crate::reconcile::hash::service_hash(svc)
                ));
            }
        }
        for w in &wanted {
            if *w != "*" && !p.services.contains_key(*w) {
                return Err(format!("no such service: {w}"));
            }
        }
        return Ok(lines(out));
    }
    if args.environment {
        let mut env: Vec<(&String, &String)> = loaded.env.iter().collect();
        env.sort();
        return Ok(lines(env.into_iter().map(|(k, v)| format!("{k}={v}"))));
    }
    if args.format == Format::Json {
        // Straight from the model: the same text as `to_json` + `escape_dollars` +
        // `to_string_pretty`, without a `serde_json::Value` copy of the whole project.
        // Top-level extensions follow the model's keys, sorted (Go prints maps sorted).
        let mut ext: Vec<(&String, &Value)> = p.extensions.iter().collect();
        ext.sort_by(|a, b| a.0.cmp(b.0));
        return render::json_pretty_escaped(p, &ext).map_err(|e| e.to_string());
    }
    let mut v = p.to_yaml_value();
    render::escape_dollars(&mut v);
    render::yaml_view(&mut v);
    let text = render::to_yaml(&v);
    // The process ends soon: freeing the document would only cost time.
    std::mem::forget(v);
    Ok(text)
}

/// `config --variables`: every variable the files use, with required/default/alternate.
fn variables(opts: &LoadOptions, colors: bool, args: &ConfigArgs) -> ExitCode {
    let roots = match loader::raw_files(opts) {
        Ok(r) => r,
        Err(e) => return super::report(&e, colors),
    };
    let mut found: BTreeMap<String, interpolate::VariableUse> = BTreeMap::new();
    for root in &roots {
        collect_vars(root, &mut found);
    }
    let text = match args.format {
        Format::Json => {
            let obj: serde_json::Map<String, Value> = found
                .values()
                .map(|v| {
                    (
                        v.name.clone(),
                        serde_json::json!({
                            "Name": v.name, "DefaultValue": v.default.clone().unwrap_or_default(),
                            "PresenceValue": v.alternate.clone().unwrap_or_default(), "Required": v.required
                        }),
                    )
                })
                .collect();
            serde_json::to_string_pretty(&Value::Object(obj)).unwrap_or_default() + "\n"
        }
        Format::Yaml => {
            let mut s = format!(
                "{:<20}{:<20}{:<20}{}\n",
                "NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"
            );
            for v in found.values() {
                s.push_str(&format!(
                    "{:<20}{:<20}{:<20}{}\n",
                    v.name,
                    v.required,
                    v.default.clone().unwrap_or_default(),
                    v.alternate.clone().unwrap_or_default()
                ));
            }
            s
        }
    };
    write(args, &text)
}

fn collect_vars(node: &Node, found: &mut BTreeMap<String, interpolate::VariableUse>) {
    match &node.value {
        NodeValue::String(s) if s.contains('$') => {
            if let Ok(list) = interpolate::extract_variables(s) {
                for v in list.into_iter().filter(|v| !v.name.is_empty()) {
                    found.insert(v.name.clone(), v);
                }
            }
        }
        NodeValue::Seq(items) => items.iter().for_each(|n| collect_vars(n, found)),
        NodeValue::Map(m) => m.values().for_each(|e| collect_vars(&e.value, found)),
        _ => {}
    }
}

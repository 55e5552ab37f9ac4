//! The build itself: the needed stages' instructions in order, each changing the stage's
//! image config, its layers, or both, with dockerd's classic output (`Step i/N : ...`,
//! ` ---> <id>`, `Successfully built <id>`). Filesystem steps (`RUN`, `COPY`, `ADD`) each add
//! one layer; the others change only the config. No build cache: every step runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc::Sender;

use super::super::record::now_rfc3339;
use super::super::rootfs::RootfsPaths;
use super::super::state::{make_private_dir, random_id, StateRoot};
use super::super::store::images::{familiar_name, normalize_reference, ImageStore};
use super::cache;
use super::context::Context;
use super::copy_step::{self, CopyRequest, SourceRoot};
use super::dockerfile::{
    command_form, json_list, name_values, split_words, CommandForm, Instruction,
};
use super::image::{self, History, ImageConfig, Layers};
use super::layer::{commit_upper, MountPoints};
use super::run_step::{self, RunRequest};
use super::stages::Plan;
use super::substitute::{self, Vars};
use super::BuildError;
use crate::engine::{BuildOutput, BuildSpec, EngineResult};

/// A stage as built so far.
#[derive(Clone)]
struct StageImage {
    config: ImageConfig,
    layers: Layers,
}

/// What one build works with.
pub struct Builder<'a> {
    pub images: &'a ImageStore,
    pub state: &'a StateRoot,
    pub spec: &'a BuildSpec,
    pub context: &'a Context,
    /// The build's private scratch directory.
    pub work: &'a Path,
    pub out: &'a Sender<EngineResult<BuildOutput>>,
    pub escape: char,
}

/// The per-stage variables and settings that are not part of the image config.
struct StageVars {
    /// Declared `ARG`s with their values.
    args: Vars,
    /// `CMD` set in this stage (an `ENTRYPOINT` then keeps it).
    cmd_set: bool,
}

impl Builder<'_> {
    async fn say(&self, text: String) {
        let _ = self.out.send(Ok(BuildOutput::Text(text))).await;
    }

    /// Runs the plan; returns the image id.
    pub async fn run(&self, plan: &Plan) -> Result<String, BuildError> {
        let tag = normalize_reference(&self.spec.tag).ok_or_else(|| {
            BuildError::Context(format!(
                "invalid tag {:?}: invalid reference format",
                self.spec.tag
            ))
        })?;
        let total = plan.total_steps();
        let mut step = 0;
        let mut used: BTreeSet<String> = BTreeSet::new();
        for ins in &plan.meta {
            step += 1;
            self.say(format!("Step {step}/{total} : {ins}\n")).await;
            for (k, _) in name_values(&ins.args, ins.line, "ARG")? {
                used.insert(k);
            }
        }
        let mut built: HashMap<usize, StageImage> = HashMap::new();
        let mut last = None;
        for &i in &plan.needed {
            let stage = &plan.stages[i];
            step += 1;
            self.say(format!("Step {step}/{total} : {}\n", stage.from))
                .await;
            let mut img = match plan.stage_named(&stage.base, stage.index, false) {
                Some(dep) => built.get(&dep).cloned().ok_or_else(|| {
                    BuildError::Internal(format!("stage {dep} is used before it was built"))
                })?,
                None => self.base(&stage.base, &stage.from).await?,
            };
            let mut vars = StageVars {
                args: Vars::new(),
                cmd_set: false,
            };
            self.say(format!(" ---> {}\n", short(&img))).await;
            for ins in &stage.body {
                step += 1;
                self.say(format!("Step {step}/{total} : {ins}\n")).await;
                self.instruction(
                    plan,
                    stage.index,
                    ins,
                    &mut img,
                    &mut vars,
                    &mut used,
                    &built,
                )
                .await?;
                self.say(format!(" ---> {}\n", short(&img))).await;
            }
            built.insert(i, img.clone());
            last = Some(img);
        }
        let mut img = last.expect("at least one stage");
        let unused: Vec<&String> = self
            .spec
            .args
            .keys()
            .filter(|k| !used.contains(*k))
            .collect();
        if !unused.is_empty() {
            let names: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
            self.say(format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                names.join(" ")
            ))
            .await;
        }
        for (k, v) in &self.spec.labels {
            img.config.config.labels.insert(k.clone(), v.clone());
        }
        // Dated by its last step, as the classic builder's image is its last step's.
        img.config.created = Some(
            img.config
                .history
                .last()
                .and_then(|h| h.created.clone())
                .unwrap_or_else(now_rfc3339),
        );
        img.config.rootfs.diff_ids = img.layers.diff_ids.clone();
        let (images, cfg, layers) = (self.images.clone(), img.config.clone(), img.layers.clone());
        let rec =
            tokio::task::spawn_blocking(move || image::commit(&images, &cfg, &layers, &[tag]))
                .await
                .map_err(|e| BuildError::Internal(e.to_string()))?
                .map_err(|e| BuildError::io("the image store", e))?;
        self.say(format!("Successfully built {}\n", short_id(&rec.id)))
            .await;
        let shown = normalize_reference(&self.spec.tag)
            .map(|n| familiar_name(&n))
            .unwrap_or_else(|| self.spec.tag.clone());
        self.say(format!("Successfully tagged {shown}\n")).await;
        Ok(rec.id)
    }

    /// The image a `FROM` starts from: `scratch`, or an image (pulled when
    /// missing or when the build asks to pull).
    async fn base(&self, base: &str, from: &Instruction) -> Result<StageImage, BuildError> {
        for (k, v) in &from.flags {
            match k.as_str() {
                "platform" => {
                    let host = format!("linux/{}", super::super::pull::host_architecture());
                    if v != &host && !v.is_empty() && !v.starts_with("$") {
                        return Err(step_err(
                            from,
                            format!("--platform={v}: the embedded builder builds for {host} only"),
                        ));
                    }
                }
                other => return Err(step_err(from, format!("unknown flag: --{other}"))),
            }
        }
        if base.eq_ignore_ascii_case("scratch") {
            return Ok(StageImage {
                config: ImageConfig::scratch(),
                layers: Layers::default(),
            });
        }
        self.image(base, from).await
    }

    /// A stored image (pulled when missing, or always with `pull`).
    async fn image(&self, reference: &str, ins: &Instruction) -> Result<StageImage, BuildError> {
        let full = normalize_reference(reference)
            .ok_or_else(|| step_err(ins, format!("invalid reference format: {reference}")))?;
        let images = self.images.clone();
        let f2 = full.clone();
        let mut rec = tokio::task::spawn_blocking(move || images.resolve(&f2))
            .await
            .map_err(|e| BuildError::Internal(e.to_string()))?
            .map_err(|e| BuildError::io("the image store", e))?;
        if rec.is_none() || self.spec.pull {
            match super::super::pull::pull(self.images, &full, &|_| {}).await {
                Ok(r) => rec = Some(r),
                Err(e) if rec.is_none() => return Err(step_err(ins, e.to_string())),
                Err(_) => {} // `pull`: keep the stored one when the registry fails
            }
        }
        let rec = rec.expect("resolved or pulled");
        Ok(StageImage {
            config: ImageConfig::of_base(self.images, &rec),
            layers: Layers {
                diff_ids: rec.diff_ids.clone(),
                chain_ids: rec.chain_ids.clone(),
                blobs: rec.layer_blobs.clone(),
                size: rec.size,
            },
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn instruction(
        &self,
        plan: &Plan,
        index: usize,
        ins: &Instruction,
        img: &mut StageImage,
        vars: &mut StageVars,
        used: &mut BTreeSet<String>,
        built: &HashMap<usize, StageImage>,
    ) -> Result<(), BuildError> {
        let scope = self.scope(img, vars);
        let word = |s: &str| {
            substitute::word(s, &scope, self.escape)
                .map_err(|e| step_err(ins, format!("{}: {e}", ins.keyword)))
        };
        let words = |s: &str| {
            substitute::words(s, &scope, self.escape)
                .map_err(|e| step_err(ins, format!("{}: {e}", ins.keyword)))
        };
        if !ins.flags.is_empty()
            && !matches!(ins.keyword.as_str(), "COPY" | "ADD" | "RUN" | "HEALTHCHECK")
        {
            return Err(step_err(ins, format!("{} takes no flags", ins.keyword)));
        }
        let before = full_digest(img);
        let cfg = &mut img.config.config;
        let mut nop = true;
        let mut made_layer = false;
        match ins.keyword.as_str() {
            "ARG" => {
                for (k, v) in name_values(&ins.args, ins.line, "ARG")? {
                    used.insert(k.clone());
                    let value = match self.spec.args.get(&k) {
                        Some(v) => Some(v.clone()),
                        None if has_value(&ins.args, &k) => Some(word(&v)?),
                        None => plan.meta_args.get(&k).cloned(),
                    };
                    match value {
                        Some(v) => vars.args.insert(k, v),
                        None => vars.args.remove(&k),
                    };
                }
            }
            "ENV" => {
                let mut set = Vec::new();
                for (k, v) in name_values(&ins.args, ins.line, "ENV")? {
                    set.push((word(&k)?, word(&v)?));
                }
                for (k, v) in set {
                    cfg.set_env(&k, &v);
                }
            }
            "LABEL" => {
                for (k, v) in name_values(&ins.args, ins.line, "LABEL")? {
                    let (k, v) = (word(&k)?, word(&v)?);
                    cfg.labels.insert(k, v);
                }
            }
            "MAINTAINER" => {}
            "WORKDIR" => {
                let w = word(&ins.args)?;
                let joined = if w.starts_with('/') {
                    w
                } else {
                    format!(
                        "{}/{w}",
                        if cfg.working_dir.is_empty() {
                            "/"
                        } else {
                            &cfg.working_dir
                        }
                    )
                };
                cfg.working_dir =
                    format!("/{}", super::context::clean_components(&joined).join("/"));
                let dir = cfg.working_dir.clone();
                // The directory is made now, as dockerd does; the step stays a `#(nop)` in
                // the history either way.
                if self.workdir_instruction(ins, img, dir).await? {
                    made_layer = true;
                }
            }
            "USER" => cfg.user = word(&ins.args)?,
            "STOPSIGNAL" => cfg.stop_signal = Some(word(&ins.args)?),
            "EXPOSE" => {
                for p in words(&ins.args)? {
                    let p = if p.contains('/') {
                        p.to_ascii_lowercase()
                    } else {
                        format!("{p}/tcp")
                    };
                    cfg.exposed_ports.insert(p, serde_json::json!({}));
                }
            }
            "VOLUME" => {
                let list = match json_list(&ins.args) {
                    Some(l) => l.iter().map(|v| word(v)).collect::<Result<Vec<_>, _>>()?,
                    None => words(&ins.args)?,
                };
                for v in list.into_iter().filter(|v| !v.is_empty()) {
                    cfg.volumes.insert(v, serde_json::json!({}));
                }
            }
            "CMD" => {
                cfg.cmd = Some(self.argv(ins, cfg.shell.as_ref()));
                vars.cmd_set = true;
            }
            "ENTRYPOINT" => {
                cfg.entrypoint = Some(self.argv(ins, cfg.shell.as_ref()));
                if !vars.cmd_set {
                    cfg.cmd = None;
                }
            }
            "SHELL" => {
                let Some(list) = json_list(&ins.args).filter(|l| !l.is_empty()) else {
                    return Err(step_err(
                        ins,
                        "SHELL requires the arguments to be in JSON form".into(),
                    ));
                };
                cfg.shell = Some(list);
            }
            "HEALTHCHECK" => cfg.healthcheck = Some(healthcheck(ins)?),
            "ONBUILD" => return Err(step_err(
                ins,
                "ONBUILD is not supported by the embedded engine's builder; use --engine docker"
                    .into(),
            )),
            "RUN" => {
                nop = false;
                self.run_instruction(ins, img, vars).await?;
            }
            "COPY" | "ADD" => {
                nop = false;
                let req = self
                    .copy_request(ins, img, &word, plan, index, built)
                    .await?;
                self.copy_instruction(ins, img, req).await?;
            }
            other => return Err(step_err(ins, format!("unknown instruction: {other}"))),
        }
        let key = cache::step_key(&before, &ins.original, &img.config.config, &img.layers);
        let now = now_rfc3339();
        let created = match cache::step_time(self.images, &key, &now, self.spec.no_cache) {
            Some(then) => {
                self.say(" ---> Using cache\n".into()).await;
                then
            }
            None => now,
        };
        img.config.history.push(History {
            created: Some(created),
            created_by: if nop {
                format!("/bin/sh -c #(nop)  {}", ins.original)
            } else {
                ins.original.clone()
            },
            empty_layer: nop && !made_layer,
        });
        img.config.rootfs.diff_ids = img.layers.diff_ids.clone();
        Ok(())
    }

    /// The variables instructions see: the stage's `ARG`s, overridden by its `ENV`.
    fn scope(&self, img: &StageImage, vars: &StageVars) -> Vars {
        let mut scope = vars.args.clone();
        for e in &img.config.config.env {
            if let Some((k, v)) = e.split_once('=') {
                scope.insert(k.to_string(), v.to_string());
            }
        }
        scope
    }

    /// `CMD`/`ENTRYPOINT`/`RUN` arguments: the exec form as is, the shell form after the
    /// stage's shell.
    fn argv(&self, ins: &Instruction, shell: Option<&Vec<String>>) -> Vec<String> {
        match command_form(&ins.args) {
            CommandForm::Exec(v) => v,
            CommandForm::Shell(text) => {
                let mut v = shell
                    .cloned()
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                v.push(text);
                v
            }
        }
    }

    async fn run_instruction(
        &self,
        ins: &Instruction,
        img: &mut StageImage,
        vars: &StageVars,
    ) -> Result<(), BuildError> {
        if let Some((k, _)) = ins.flags.first() {
            return Err(step_err(
                ins,
                format!(
                    "RUN --{k} is a BuildKit feature the embedded engine's builder does not have"
                ),
            ));
        }
        if ins.args.trim().is_empty() {
            return Err(step_err(ins, "RUN requires at least one argument".into()));
        }
        let argv = self.argv(ins, img.config.config.shell.as_ref());
        let network = match self.spec.network.as_deref() {
            None | Some("" | "default" | "none") => "none",
            Some("host") => "host",
            Some(other) => {
                return Err(step_err(
                    ins,
                    format!(
                    "build network {other:?} is not supported by the embedded engine (none, host)"
                ),
                ))
            }
        };
        // The build arguments are in the command's environment, below the stage's ENV.
        let mut config = img.config.config.clone();
        for (k, v) in &vars.args {
            if config.env_value(k).is_none() {
                config.env.push(format!("{k}={v}"));
            }
        }
        let parent = img.layers.clone();
        let cached_config = config.clone();
        let key = cache::RunKey {
            parent: &parent,
            config: &cached_config,
            argv: &argv,
            network,
        };
        if !self.spec.no_cache {
            if let Some(entry) = cache::lookup(self.images, &key) {
                img.layers = cache::apply(&parent, &entry);
                return Ok(());
            }
        }
        let lowers = self.lowers(&img.layers)?;
        let req = RunRequest {
            argv: argv.clone(),
            config,
            lowers,
            network: network.to_string(),
            extra_hosts: self.spec.extra_hosts.clone(),
            shm_size: self.spec.shm_size,
        };
        let done = run_step::run(self.state, req, self.out).await?;
        let short_ctr: String = done.id.chars().take(12).collect();
        if done.code != 0 {
            run_step::remove(self.state, &done.id).await;
            return Err(BuildError::Run {
                command: argv.join(" "),
                code: done.code,
            });
        }
        let (images, upper, mut layers) =
            (self.images.clone(), done.upper.clone(), img.layers.clone());
        let committed = tokio::task::spawn_blocking(move || {
            commit_upper(&images, &upper, &mut layers, MountPoints::Skip).map(|()| layers)
        })
        .await
        .map_err(|e| BuildError::Internal(e.to_string()));
        self.say(format!("Removing intermediate container {short_ctr}\n"))
            .await;
        run_step::remove(self.state, &done.id).await;
        img.layers = committed?.map_err(|e| BuildError::io("the new layer", e))?;
        if let Err(e) = cache::store(self.images, &key, &img.layers) {
            // The build stands; the next one runs the step again.
            tracing::warn!("build cache: cannot record the step: {e}");
        }
        Ok(())
    }

    /// The layer directories of `layers`, top first (an empty directory for none).
    fn lowers(&self, layers: &Layers) -> Result<Vec<PathBuf>, BuildError> {
        if layers.chain_ids.is_empty() {
            let empty = self.work.join("empty");
            std::fs::create_dir_all(&empty)
                .map_err(|e| BuildError::io("the build directory", e))?;
            return Ok(vec![empty]);
        }
        Ok(layers
            .chain_ids
            .iter()
            .rev()
            .map(|c| self.images.layer_dir(c))
            .collect())
    }

    async fn copy_request(
        &self,
        ins: &Instruction,
        img: &StageImage,
        word: &(dyn Fn(&str) -> Result<String, BuildError> + Sync),
        plan: &Plan,
        index: usize,
        built: &HashMap<usize, StageImage>,
    ) -> Result<(CopyRequest, SourceRoot), BuildError> {
        let mut chown = None;
        let mut chmod = None;
        let mut from = None;
        for (k, v) in &ins.flags {
            match k.as_str() {
                "chown" => chown = Some(word(v)?),
                "chmod" => {
                    chmod =
                        Some(copy_step::parse_chmod(&word(v)?).ok_or_else(|| {
                            step_err(ins, format!("--chmod={v}: not an octal mode"))
                        })?)
                }
                "from" if ins.keyword == "COPY" => from = Some(word(v)?),
                other => {
                    return Err(step_err(
                        ins,
                        format!(
                            "{} --{other} is not supported by the embedded engine's builder",
                            ins.keyword
                        ),
                    ))
                }
            }
        }
        let raw = match json_list(&ins.args) {
            Some(l) => l,
            None => split_words(&ins.args),
        };
        let mut all = Vec::new();
        for w in &raw {
            all.push(word(w)?);
        }
        if all.len() < 2 {
            return Err(step_err(
                ins,
                format!("{} requires at least two arguments", ins.keyword),
            ));
        }
        let dest_raw = all.pop().expect("two at least");
        if ins.keyword == "ADD" {
            if let Some(url) = all
                .iter()
                .find(|s| s.contains("://") || s.starts_with("git@"))
            {
                return Err(step_err(
                    ins,
                    format!("ADD of a URL ({url}) is not supported by the embedded engine's builder; use RUN wget/curl or --engine docker"),
                ));
            }
        }
        let wd = &img.config.config.working_dir;
        let dest = if dest_raw.starts_with('/') {
            dest_raw
        } else {
            let base = if wd.is_empty() { "/" } else { wd.as_str() };
            format!("{}/{dest_raw}", base.trim_end_matches('/'))
        };
        let source = match from {
            None => SourceRoot::Context(
                self.context
                    .fd
                    .try_clone()
                    .map_err(|e| BuildError::io("the build context", e))?,
            ),
            Some(name) => {
                let layers = match plan.stage_named(&name, index, true) {
                    Some(i) => built
                        .get(&i)
                        .map(|s| s.layers.clone())
                        .ok_or_else(|| BuildError::Internal(format!("stage {i} was not built")))?,
                    None => self.image(&name, ins).await?.layers,
                };
                let dir = self.work.join(format!("from-{}", &random_id()[..12]));
                make_private_dir(&dir).map_err(|e| BuildError::io("the build directory", e))?;
                SourceRoot::Layers {
                    paths: RootfsPaths::in_container_dir(&dir),
                    lowers: self.lowers(&layers)?,
                }
            }
        };
        Ok((
            CopyRequest {
                sources: all,
                dest,
                chown,
                chmod,
                keyword: ins.keyword.clone(),
            },
            source,
        ))
    }

    /// `WORKDIR`'s directory, made in a layer of its own when the stage lacks it. Returns
    /// whether a layer was made.
    async fn workdir_instruction(
        &self,
        ins: &Instruction,
        img: &mut StageImage,
        dir: String,
    ) -> Result<bool, BuildError> {
        let step = self.work.join(format!("step-{}", &random_id()[..12]));
        make_private_dir(&step).map_err(|e| BuildError::io("the build directory", e))?;
        let paths = RootfsPaths::in_container_dir(&step);
        let lowers = self.lowers(&img.layers)?;
        let p2 = paths.clone();
        let made = tokio::task::spawn_blocking(move || copy_step::make_workdir(p2, lowers, dir))
            .await
            .map_err(|e| BuildError::Internal(e.to_string()))?;
        let made = match made {
            Ok(made) => made,
            Err(message) => {
                let _ = std::fs::remove_dir_all(&step);
                return Err(step_err(ins, message));
            }
        };
        let committed = match made {
            true => self.commit_step(&paths, img).await,
            false => Ok(()),
        };
        let _ = std::fs::remove_dir_all(&step);
        committed.map(|()| made)
    }

    async fn copy_instruction(
        &self,
        ins: &Instruction,
        img: &mut StageImage,
        (req, source): (CopyRequest, SourceRoot),
    ) -> Result<(), BuildError> {
        let dir = self.work.join(format!("step-{}", &random_id()[..12]));
        make_private_dir(&dir).map_err(|e| BuildError::io("the build directory", e))?;
        let paths = RootfsPaths::in_container_dir(&dir);
        let lowers = self.lowers(&img.layers)?;
        let scratch = dir.clone();
        let p2 = paths.clone();
        let copied =
            tokio::task::spawn_blocking(move || copy_step::run(p2, lowers, source, req, scratch))
                .await
                .map_err(|e| BuildError::Internal(e.to_string()))?;
        if let Err(message) = copied {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(step_err(ins, message));
        }
        let committed = self.commit_step(&paths, img).await;
        let _ = std::fs::remove_dir_all(&dir);
        committed
    }

    /// A step's upper directory, stored as the stage's new top layer.
    async fn commit_step(
        &self,
        paths: &RootfsPaths,
        img: &mut StageImage,
    ) -> Result<(), BuildError> {
        let (images, upper, mut layers) =
            (self.images.clone(), paths.upper.clone(), img.layers.clone());
        let committed = tokio::task::spawn_blocking(move || {
            commit_upper(&images, &upper, &mut layers, MountPoints::Keep).map(|()| layers)
        })
        .await
        .map_err(|e| BuildError::Internal(e.to_string()))?;
        img.layers = committed.map_err(|e| BuildError::io("the new layer", e))?;
        Ok(())
    }
}

/// Whether `NAME=` is written for `name` in an `ARG` (a default, possibly empty).
fn has_value(args: &str, name: &str) -> bool {
    split_words(args)
        .iter()
        .any(|w| w.split_once('=').is_some_and(|(k, _)| k == name))
}

/// The 12-hex short id of the stage's config as it is now.
fn short(img: &StageImage) -> String {
    short_id(&full_digest(img))
}

/// The digest of the stage's image as it stands (config, history and layers).
fn full_digest(img: &StageImage) -> String {
    let mut c = img.config.clone();
    c.rootfs.diff_ids = img.layers.diff_ids.clone();
    c.digest().1
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn step_err(ins: &Instruction, message: String) -> BuildError {
    BuildError::Step {
        line: ins.line,
        message,
    }
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=..] CMD ...` as the config's `Healthcheck`.
fn healthcheck(ins: &Instruction) -> Result<serde_json::Value, BuildError> {
    if ins.args.trim().eq_ignore_ascii_case("none") {
        if !ins.flags.is_empty() {
            return Err(step_err(ins, "HEALTHCHECK NONE takes no flags".into()));
        }
        return Ok(serde_json::json!({ "Test": ["NONE"] }));
    }
    let mut hc = BTreeMap::new();
    for (k, v) in &ins.flags {
        let key = match k.as_str() {
            "interval" => "Interval",
            "timeout" => "Timeout",
            "start-period" => "StartPeriod",
            "start-interval" => "StartInterval",
            "retries" => {
                let n: u64 = v
                    .parse()
                    .map_err(|_| step_err(ins, format!("--retries={v}: not a number")))?;
                hc.insert("Retries", serde_json::json!(n));
                continue;
            }
            other => {
                return Err(step_err(
                    ins,
                    format!("HEALTHCHECK: unknown flag --{other}"),
                ))
            }
        };
        let d = crate::spec::units::parse_duration(v)
            .map_err(|e| step_err(ins, format!("--{k}={v}: {e}")))?;
        hc.insert(key, serde_json::json!(d));
    }
    let t = ins.args.trim();
    let rest = match t.split_once(char::is_whitespace) {
        Some((c, rest)) if c.eq_ignore_ascii_case("cmd") => rest.trim(),
        _ => return Err(step_err(ins, "HEALTHCHECK requires NONE or CMD".into())),
    };
    let test = match command_form(rest) {
        CommandForm::Exec(v) => {
            let mut t = vec!["CMD".to_string()];
            t.extend(v);
            t
        }
        CommandForm::Shell(s) => vec!["CMD-SHELL".to_string(), s],
    };
    hc.insert("Test", serde_json::json!(test));
    Ok(serde_json::json!(hc))
}

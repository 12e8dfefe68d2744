//! `hull build`: a Dockerfile subset, one image per instruction as Docker's classic builder
//! makes them. Filesystem instructions (RUN, COPY, ADD) add a layer made from what they
//! changed; the others only change the config. A cache keyed by the parent image, the
//! instruction and (for COPY) the files' contents skips steps that would do the same again.

pub mod context;
pub mod copy;
pub mod dockerfile;
mod guard;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::Config;
use sha2::{Digest, Sha256};

use super::error::{EngineError, Result};
use super::record::{self, Record};
use super::scratch::{self, Scratch};
use super::{bundle, cmdline, overlay, Engine};
use context::{Context, Node};
use dockerfile::{Instruction, Line};
use hull_image::ImageInfo;

pub struct BuildArgs {
    pub context: PathBuf,
    pub dockerfile: Option<PathBuf>,
    pub tag: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub no_cache: bool,
    /// `--target`: build up to the end of this stage, which becomes the image.
    pub target: Option<String>,
}

fn fail(line: &Line, msg: impl std::fmt::Display) -> EngineError {
    EngineError::Build {
        line: line.number,
        text: line.text.clone(),
        reason: msg.to_string(),
    }
}

/// A stage already built: its name and its image (None: FROM scratch with nothing added).
struct Stage {
    name: Option<String>,
    image: Option<ImageInfo>,
}

/// Where a `COPY --from=` reads: an earlier stage (by name or index), or an image.
fn from_source(
    engine: &Engine,
    stages: &[Stage],
    from: &str,
    line: &Line,
) -> Result<Option<ImageInfo>> {
    if let Ok(i) = from.parse::<usize>() {
        // Docker's words for a stage that is not an earlier one.
        return match stages.get(i) {
            Some(s) => Ok(s.image.clone()),
            None if i == stages.len() => Err(fail(
                line,
                format!("invalid from flag value {from}: refers to current build stage"),
            )),
            None => Err(fail(
                line,
                format!("invalid from flag value {from}: index out of bounds"),
            )),
        };
    }
    let lower = from.to_ascii_lowercase();
    if let Some(s) = stages.iter().find(|s| s.name.as_deref() == Some(&lower)) {
        return Ok(s.image.clone());
    }
    let image = engine
        .store
        .resolve(from)
        .map_err(|e| fail(line, format!("invalid from flag value {from}: {e}")))?;
    Ok(Some(image))
}

/// The lines to build: all of them, or those up to the end of the `target` stage (Docker's
/// `--target`: an unknown one fails before any step).
fn up_to_target<'l>(lines: &'l [Line], target: Option<&str>) -> Result<&'l [Line]> {
    let Some(target) = target else {
        return Ok(lines);
    };
    let target = target.to_ascii_lowercase();
    let is_from = |l: &Line| matches!(l.instruction, Instruction::From { .. });
    let start = lines
        .iter()
        .position(
            |l| matches!(&l.instruction, Instruction::From { name: Some(n), .. } if *n == target),
        )
        .ok_or_else(|| EngineError::NoBuildTarget(target.clone()))?;
    let end = lines[start + 1..]
        .iter()
        .position(is_from)
        .map_or(lines.len(), |p| start + 1 + p);
    Ok(&lines[..end])
}

/// Build and return the final image; progress goes to `out`.
pub fn build(engine: &Engine, a: &BuildArgs, out: &mut dyn Write) -> Result<ImageInfo> {
    let file = a
        .dockerfile
        .clone()
        .unwrap_or_else(|| a.context.join("Dockerfile"));
    let text = std::fs::read_to_string(&file).map_err(|e| EngineError::Io {
        action: "read Dockerfile",
        path: file.clone(),
        source: e,
    })?;
    let lines = dockerfile::parse(&text).map_err(|source| EngineError::Dockerfile {
        file: file.clone(),
        source,
    })?;
    let lines = up_to_target(&lines, a.target.as_deref())?;
    let context = Context::open(&a.context)?;
    let given: HashMap<String, String> = a.build_args.iter().cloned().collect();
    // ARGs before the first FROM (Docker's global scope: usable in FROM, and as defaults of an
    // ARG of the same name redeclared in a stage).
    let mut meta_args: HashMap<String, String> = HashMap::new();
    let mut args: HashMap<String, String> = HashMap::new();
    let mut used_args = std::collections::HashSet::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage_name: Option<String> = None;
    let mut in_stage = false;
    let mut base: Option<ImageInfo> = None;
    let mut config = Config::default();
    let mut cache = Cache::load(&engine.root);
    let total = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(out, "Step {}/{} : {}", i + 1, total, line.text);
        let mut vars = args.clone();
        for e in config.env().clone().unwrap_or_default() {
            if let Some((k, v)) = e.split_once('=') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        let sub = |s: &str| dockerfile::substitute(s, &vars);
        match &line.instruction {
            Instruction::From { image, name } => {
                if in_stage {
                    stages.push(Stage {
                        name: stage_name.take(),
                        image: base.take(),
                    });
                }
                in_stage = true;
                stage_name = name.clone();
                args.clear();
                let image = dockerfile::substitute(image, &meta_args);
                let earlier = stages
                    .iter()
                    .find(|s| s.name.as_deref() == Some(image.to_ascii_lowercase().as_str()));
                if let Some(stage) = earlier {
                    base = stage.image.clone();
                    config = base
                        .as_ref()
                        .and_then(|b| b.config.config().clone())
                        .unwrap_or_default();
                } else if image == "scratch" {
                    base = None;
                    config = Config::default();
                } else {
                    let img = engine.store.resolve(&image).map_err(|e| fail(line, e))?;
                    config = img.config.config().clone().unwrap_or_default();
                    base = Some(img);
                }
                continue_step(out, base.as_ref());
                continue;
            }
            Instruction::Arg { name, default } => {
                used_args.insert(name.clone());
                let v = given
                    .get(name)
                    .cloned()
                    .or_else(|| default.clone())
                    .or_else(|| meta_args.get(name).cloned().filter(|_| in_stage))
                    .unwrap_or_default();
                if in_stage {
                    args.insert(name.clone(), v);
                } else {
                    meta_args.insert(name.clone(), v);
                }
                continue_step(out, base.as_ref());
                continue;
            }
            _ => {}
        }
        // COPY --from reads an earlier stage or an image: resolved before the cache key, which
        // names that image (ids are content digests).
        let copy_from = match &line.instruction {
            Instruction::Copy {
                from: Some(from), ..
            } => Some(from_source(engine, &stages, &sub(from), line)?),
            _ => None,
        };
        let extra = match (&line.instruction, &copy_from) {
            (Instruction::Copy { srcs, .. }, Some(image)) => format!(
                "from {}\n{}",
                image.as_ref().map_or("scratch", |i| i.id.as_str()),
                srcs.join("\n")
            ),
            (Instruction::Copy { srcs, .. }, None) => content_hash(&context, srcs, line)?,
            (Instruction::Run(_), _) => {
                let mut a: Vec<_> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                a.sort();
                a.join("\n")
            }
            _ => String::new(),
        };
        let parent_id = base
            .as_ref()
            .map(|b| b.id.clone())
            .unwrap_or_else(|| "scratch".into());
        let key = cache_key(&parent_id, &line.text, &extra);
        if !a.no_cache {
            if let Some(hit) = cache
                .get(&key)
                .and_then(|id| engine.store.resolve(&id).ok())
            {
                let _ = writeln!(out, " ---> Using cache");
                config = hit.config.config().clone().unwrap_or_default();
                base = Some(hit);
                continue_step(out, base.as_ref());
                continue;
            }
        }
        let created_by = match &line.instruction {
            Instruction::Run(_) => format!(
                "RUN {}",
                line.text
                    .split_once(char::is_whitespace)
                    .map(|x| x.1)
                    .unwrap_or("")
            ),
            _ => line.text.clone(),
        };
        let next = match &line.instruction {
            Instruction::Run(form) => {
                let mut env = config.env().clone().unwrap_or_default();
                for (k, v) in &args {
                    if !env.iter().any(|e| e.starts_with(&format!("{k}="))) {
                        env.push(format!("{k}={v}"));
                    }
                }
                // `RUN []` runs what the image would run, as Docker's builder does.
                let argv = match form.argv() {
                    argv if argv.is_empty() => cmdline::resolve(
                        &config.entrypoint().clone().unwrap_or_default(),
                        &config.cmd().clone().unwrap_or_default(),
                        None,
                        &[],
                    )
                    .map_err(|e| fail(line, e))?,
                    argv => argv,
                };
                let step = run_step(engine, base.as_ref(), &config, env, argv, line, out)?;
                engine.store.commit(
                    base.as_ref(),
                    Some(&step.path().join("upper")),
                    config.clone(),
                    &created_by,
                )?
            }
            Instruction::Copy {
                srcs, dest, chown, ..
            } => {
                let layer = Scratch::create(&engine.root, "copy", &super::new_id()[..12])?;
                let workdir = config.working_dir().clone().unwrap_or_else(|| "/".into());
                let dest = sub(dest);
                let args = copy::CopyArgs {
                    srcs,
                    dest: &dest,
                    workdir: &workdir,
                    chown: chown.as_deref(),
                };
                match &copy_from {
                    None => copy::copy_into(&context, &args, layer.path()),
                    Some(image) => {
                        copy_from_image(engine, image.as_ref(), &args, layer.path(), line)?
                    }
                }
                .map_err(|e| fail(line, e))?;
                engine.store.commit(
                    base.as_ref(),
                    Some(layer.path()),
                    config.clone(),
                    &created_by,
                )?
            }
            other => {
                apply_metadata(&mut config, other, &sub, &vars, line)?;
                engine
                    .store
                    .commit(base.as_ref(), None, config.clone(), &created_by)?
            }
        };
        cache.put(&key, &next.id);
        config = next.config.config().clone().unwrap_or_default();
        base = Some(next);
        continue_step(out, base.as_ref());
    }
    cache.save(&engine.root);
    let unused: Vec<&String> = given.keys().filter(|k| !used_args.contains(*k)).collect();
    if !unused.is_empty() {
        let _ = writeln!(
            out,
            "[Warning] One or more build-args {unused:?} were not consumed"
        );
    }
    let image = base.ok_or(EngineError::NothingBuilt)?;
    let _ = writeln!(out, "Successfully built {}", short(&image.id));
    if let Some(tag) = &a.tag {
        engine.store.tag(&image, tag)?;
        let name = if tag.contains(':') {
            tag.clone()
        } else {
            format!("{tag}:latest")
        };
        let _ = writeln!(out, "Successfully tagged {name}");
    }
    Ok(image)
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..12.min(hex.len())]
}

fn continue_step(out: &mut dyn Write, base: Option<&ImageInfo>) {
    let _ = writeln!(
        out,
        " ---> {}",
        base.map(|b| short(&b.id)).unwrap_or("scratch")
    );
}

fn apply_metadata(
    config: &mut Config,
    ins: &Instruction,
    sub: &dyn Fn(&str) -> String,
    vars: &HashMap<String, String>,
    line: &Line,
) -> Result<()> {
    // ENV's and LABEL's keys and values are shell words (their quotes close: checked when
    // parsed).
    let word = |w: &str| dockerfile::shell_word(w, vars).unwrap_or_else(|_| w.to_string());
    match ins {
        Instruction::Env(pairs) => {
            let mut env = config.env().clone().unwrap_or_default();
            for (k, v) in pairs {
                let (k, v) = (word(k), word(v));
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
            config.set_env(Some(env));
        }
        Instruction::Label(pairs) => {
            let mut labels = config.labels().clone().unwrap_or_default();
            for (k, v) in pairs {
                labels.insert(word(k), word(v));
            }
            config.set_labels(Some(labels));
        }
        Instruction::Workdir(p) => {
            let p = sub(p);
            let base = config.working_dir().clone().unwrap_or_else(|| "/".into());
            let joined = if p.starts_with('/') {
                PathBuf::from(&p)
            } else {
                Path::new(&base).join(&p)
            };
            config.set_working_dir(Some(joined.display().to_string()));
        }
        Instruction::User(u) => {
            config.set_user(Some(sub(u)));
        }
        Instruction::Expose(ports) => {
            let mut all = config.exposed_ports().clone().unwrap_or_default();
            for p in ports {
                let p = sub(p);
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            config.set_exposed_ports(Some(all));
        }
        Instruction::Cmd(form) => {
            config.set_cmd(Some(form.argv()));
        }
        Instruction::Entrypoint(form) => {
            config.set_entrypoint(Some(form.argv()));
            // Docker: setting ENTRYPOINT resets a CMD inherited from the base image.
            config.set_cmd(None);
        }
        Instruction::StopSignal(s) => {
            let s = sub(s);
            hull_oci::signal::parse(&s)
                .map_err(|_| fail(line, EngineError::InvalidSignal(s.clone())))?;
            config.set_stop_signal(Some(s));
        }
        Instruction::Volume(paths) => {
            let mut all = config.volumes().clone().unwrap_or_default();
            for p in paths {
                let p = sub(p);
                if !p.starts_with('/') {
                    return Err(fail(
                        line,
                        format!("VOLUME {p:?}: the path must be absolute"),
                    ));
                }
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            config.set_volumes(Some(all));
        }
        other => {
            return Err(fail(
                line,
                format!("{other:?} is not a metadata instruction"),
            ))
        }
    }
    Ok(())
}

/// Run one RUN instruction in a throwaway container over the current image; returns its
/// directory under `tmp/` (holding `upper`, what the command changed), removed when dropped.
/// A guard process takes the container down should the build be killed meanwhile.
fn run_step(
    engine: &Engine,
    base: Option<&ImageInfo>,
    config: &Config,
    env: Vec<String>,
    argv: Vec<String>,
    line: &Line,
    out: &mut dyn Write,
) -> Result<Scratch> {
    let Some((program, args)) = argv.split_first() else {
        return Err(fail(line, cmdline::NoCommand));
    };
    let id = super::new_id();
    let dir = Scratch::create(&engine.root, "build", &id)?;
    let _guard = guard::StepGuard::spawn(&engine.root, &id, dir.path())?;
    let dirs = overlay::Dirs::of(dir.path());
    dirs.create()?;
    let mut layers = match base {
        Some(b) => engine.store.layer_links(b)?,
        None => Vec::new(),
    };
    // Mount points for /etc/hosts and friends live in this read-only layer, so they never
    // end up in the layer the step commits.
    layers.push(overlay::init_layer(dir.path())?);
    let _ = out.flush();
    let result = (|| -> Result<i32> {
        overlay::mount(&engine.root, &layers, &dirs)?;
        let files = [
            ("hostname", "hull-build\n".to_string()),
            ("hosts", super::network::hosts::LOCALHOST.to_string()),
            ("resolv.conf", super::network::resolv_conf()),
        ];
        for (f, text) in files {
            std::fs::write(dir.path().join(f), text).map_err(|e| EngineError::Io {
                action: "write",
                path: dir.path().join(f),
                source: e,
            })?;
        }
        // As Docker's classic builder: the image's VOLUMEs are fresh volumes (filled from the
        // image) in a RUN step's container, so what the step writes there is not committed.
        let mut mounts = Vec::new();
        for (i, path) in config
            .volumes()
            .clone()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let source = dir.path().join("volumes").join(i.to_string());
            std::fs::create_dir_all(&source).map_err(|e| EngineError::Io {
                action: "create",
                path: source.clone(),
                source: e,
            })?;
            super::volume::fill_from_image(&dirs.merged, Path::new(path), &source)?;
            mounts.push(record::MountPoint {
                typ: "bind".into(),
                source: source.display().to_string(),
                destination: path.clone(),
                rw: true,
                ..Default::default()
            });
        }
        mounts.sort_by_key(|m| Path::new(&m.destination).components().count());
        let r = Record {
            id: id.clone(),
            path: program.clone(),
            args: args.to_vec(),
            mounts,
            config: record::Config {
                hostname: "hull-build".into(),
                user: config.user().clone().unwrap_or_default(),
                env,
                working_dir: config.working_dir().clone().unwrap_or_default(),
                ..Default::default()
            },
            ..Default::default()
        };
        let spec = bundle::config(&bundle::BundleInputs {
            record: &r,
            rootfs: &dirs.merged,
            container_dir: dir.path(),
            init_script: &engine.root.join("hull-init"),
            // RUN steps get a network namespace of their own with only `lo`.
            netns: bundle::NetNs::New,
        })?;
        std::fs::write(dir.path().join("config.json"), spec.to_string()).map_err(|e| {
            EngineError::Io {
                action: "write",
                path: dir.path().join("config.json"),
                source: e,
            }
        })?;
        let created =
            hull_oci::container::create::create(hull_oci::container::create::CreateOptions {
                root: engine.runtime_root(),
                id: id.clone(),
                bundle: dir.path().to_path_buf(),
                pid_file: None,
                console: None,
                stdio: None,
            })?;
        hull_oci::container::start::start(&engine.runtime_root(), &id)?;
        let code = hull_oci::host::wait_for_exit(created.pid);
        let _ = hull_oci::container::delete::delete(&engine.runtime_root(), &id, true);
        Ok(code)
    })();
    let _ = overlay::unmount(&dirs.merged);
    match result {
        Ok(0) => Ok(dir),
        Ok(code) => Err(EngineError::RunStepFailed {
            line: line.number,
            text: line.text.clone(),
            code,
        }),
        Err(e) => {
            let _ = hull_oci::container::delete::delete(&engine.runtime_root(), &id, true);
            Err(fail(line, e))
        }
    }
}

/// COPY --from: `image`'s filesystem, mounted (its layers, read through overlayfs so that
/// whiteouts hide what later layers deleted) and read as a [`Context`] resolving inside it.
/// The mount is made by a thread in a mount namespace of its own: no other process sees it,
/// and it goes away with that thread — also when hull is killed in the middle of the copy.
/// The outer error is the build's own (mount, temp dir), the inner one the copy's.
fn copy_from_image(
    engine: &Engine,
    image: Option<&ImageInfo>,
    args: &copy::CopyArgs,
    layer: &Path,
    line: &Line,
) -> Result<std::result::Result<(), copy::CopyError>> {
    // Only the (empty) upper and work dirs of the mount are ever on disk, in the engine's
    // work in flight (which the next command removes if this one is killed).
    let dir = Scratch::create(&engine.root, "from", &super::new_id()[..12])?;
    let dirs = overlay::Dirs::of(dir.path());
    dirs.create()?;
    let layers = match image {
        Some(i) => engine.store.layer_links(i)?,
        None => Vec::new(),
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            hull_oci::host::private_mount_namespace().map_err(|e| fail(line, e))?;
            overlay::mount(&engine.root, &layers, &dirs).map_err(|e| fail(line, e))?;
            let copied = Context::open_stage(&dirs.merged)
                .map_err(copy::CopyError::from)
                .and_then(|ctx| copy::copy_into(&ctx, args, layer));
            hull_oci::host::unmount(&dirs.merged).map_err(|e| fail(line, e))?;
            Ok(copied)
        })
        .join()
        .unwrap_or_else(|_| {
            Err(fail(
                line,
                "the thread reading the stage's filesystem panicked",
            ))
        })
    })
}

/// A digest of what COPY would read from the sources: each entry's path, mode and content
/// (or link target), walked exactly as the copy walks them.
fn content_hash(context: &Context, srcs: &[String], line: &Line) -> Result<String> {
    let mut h = Sha256::new();
    for s in srcs {
        h.update(s.as_bytes());
        context
            .walk(s, &mut |e| {
                h.update(e.rel.as_os_str().as_encoded_bytes());
                h.update([0]);
                h.update(e.mode.to_le_bytes());
                match e.node {
                    Node::Dir => h.update(b"d"),
                    Node::Fifo => h.update(b"p"),
                    Node::Symlink(t) => {
                        h.update(b"l");
                        h.update(t.as_os_str().as_encoded_bytes());
                    }
                    Node::File(f, _) => {
                        h.update(b"f");
                        std::io::copy(f, &mut h)?;
                    }
                }
                Ok(())
            })
            .map_err(|e| fail(line, e))?;
    }
    Ok(format!("{:x}", h.finalize()))
}

fn cache_key(parent: &str, text: &str, extra: &str) -> String {
    let mut h = Sha256::new();
    h.update(parent.as_bytes());
    h.update(b"\n");
    h.update(text.as_bytes());
    h.update(b"\n");
    h.update(extra.as_bytes());
    format!("{:x}", h.finalize())
}

/// The build cache: step key → image id, in HULL_ROOT/build-cache.json.
struct Cache(HashMap<String, String>);

impl Cache {
    fn load(root: &Path) -> Cache {
        let map = std::fs::read_to_string(root.join("build-cache.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Cache(map)
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn put(&mut self, key: &str, id: &str) {
        self.0.insert(key.to_string(), id.to_string());
    }

    fn save(&self, root: &Path) {
        if let Ok(json) = serde_json::to_vec_pretty(&self.0) {
            let _ = scratch::write_atomic(root, &root.join("build-cache.json"), &json);
        }
    }
}

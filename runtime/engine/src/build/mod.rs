//! `hull build`: a Dockerfile subset, one image per instruction as Docker's classic builder
//! makes them. Filesystem instructions (RUN, COPY, ADD) add a layer made from what they
//! changed; the others only change the config. A cache keyed by the parent image, the
//! instruction and (for COPY) the files' contents skips steps that would do the same again.

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
use dockerfile::{Instruction, Line};
use hull_image::ImageInfo;

pub struct BuildArgs {
    pub context: PathBuf,
    pub dockerfile: Option<PathBuf>,
    pub tag: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub no_cache: bool,
}

fn fail(line: &Line, msg: impl std::fmt::Display) -> EngineError {
    EngineError::Build {
        line: line.number,
        text: line.text.clone(),
        reason: msg.to_string(),
    }
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
    let context = std::fs::canonicalize(&a.context).map_err(|e| EngineError::Io {
        action: "open build context",
        path: a.context.clone(),
        source: e,
    })?;
    let given: HashMap<String, String> = a.build_args.iter().cloned().collect();
    let mut args: HashMap<String, String> = HashMap::new();
    let mut used_args = std::collections::HashSet::new();
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
            Instruction::From { image } => {
                let image = sub(image);
                if image == "scratch" {
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
                    .unwrap_or_default();
                args.insert(name.clone(), v);
                continue_step(out, base.as_ref());
                continue;
            }
            _ => {}
        }
        let extra = match &line.instruction {
            Instruction::Copy { srcs, .. } => content_hash(&context, srcs, line)?,
            Instruction::Run(_) => {
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
                copy_into(
                    &context,
                    srcs,
                    &sub(dest),
                    &workdir,
                    chown.as_deref(),
                    layer.path(),
                    line,
                )?;
                engine.store.commit(
                    base.as_ref(),
                    Some(layer.path()),
                    config.clone(),
                    &created_by,
                )?
            }
            other => {
                apply_metadata(&mut config, other, &sub, line)?;
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
    line: &Line,
) -> Result<()> {
    match ins {
        Instruction::Env(pairs) => {
            let mut env = config.env().clone().unwrap_or_default();
            for (k, v) in pairs {
                let v = sub(v);
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
            config.set_env(Some(env));
        }
        Instruction::Label(pairs) => {
            let mut labels = config.labels().clone().unwrap_or_default();
            for (k, v) in pairs {
                labels.insert(k.clone(), sub(v));
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
            ("hosts", "127.0.0.1\tlocalhost\n".to_string()),
            ("resolv.conf", super::network::resolv_conf()),
        ];
        for (f, text) in files {
            std::fs::write(dir.path().join(f), text).map_err(|e| EngineError::Io {
                action: "write",
                path: dir.path().join(f),
                source: e,
            })?;
        }
        let r = Record {
            id: id.clone(),
            path: program.clone(),
            args: args.to_vec(),
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
        Ok(code) => Err(fail(
            line,
            format!("the command returned a non-zero code: {code}"),
        )),
        Err(e) => {
            let _ = hull_oci::container::delete::delete(&engine.runtime_root(), &id, true);
            Err(fail(line, e))
        }
    }
}

/// A source path inside the context, or an error: COPY never reads outside it.
fn in_context(context: &Path, src: &str, line: &Line) -> Result<PathBuf> {
    let p = std::fs::canonicalize(context.join(src.trim_start_matches('/')))
        .map_err(|e| fail(line, format!("COPY source {src:?}: {e}")))?;
    if !p.starts_with(context) {
        return Err(fail(
            line,
            format!("COPY source {src:?} is outside the build context"),
        ));
    }
    Ok(p)
}

fn content_hash(context: &Path, srcs: &[String], line: &Line) -> Result<String> {
    let mut h = Sha256::new();
    for s in srcs {
        let p = in_context(context, s, line)?;
        let mut stack = vec![p];
        while let Some(p) = stack.pop() {
            let meta = std::fs::symlink_metadata(&p).map_err(|e| fail(line, e))?;
            h.update(
                p.strip_prefix(context)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .as_bytes(),
            );
            use std::os::unix::fs::MetadataExt;
            h.update(meta.mode().to_le_bytes());
            if meta.is_dir() {
                let mut entries: Vec<_> = std::fs::read_dir(&p)
                    .map_err(|e| fail(line, e))?
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                entries.sort();
                stack.extend(entries);
            } else if meta.is_file() {
                h.update(std::fs::read(&p).map_err(|e| fail(line, e))?);
            } else if meta.file_type().is_symlink() {
                h.update(
                    std::fs::read_link(&p)
                        .map_err(|e| fail(line, e))?
                        .to_string_lossy()
                        .as_bytes(),
                );
            }
        }
    }
    Ok(format!("{:x}", h.finalize()))
}

/// COPY's rules: a directory source copies its contents; several sources or a destination
/// ending in `/` mean a directory; a relative destination is below WORKDIR.
fn copy_into(
    context: &Path,
    srcs: &[String],
    dest: &str,
    workdir: &str,
    chown: Option<&str>,
    layer: &Path,
    line: &Line,
) -> Result<()> {
    let owner = match chown {
        Some(c) => {
            let (u, g) = c.split_once(':').unwrap_or((c, c));
            let u: u32 = u
                .parse()
                .map_err(|_| fail(line, format!("--chown={c}: use numeric UID[:GID]")))?;
            let g: u32 = g
                .parse()
                .map_err(|_| fail(line, format!("--chown={c}: use numeric UID[:GID]")))?;
            Some((u, g))
        }
        None => None,
    };
    let abs = if dest.starts_with('/') {
        PathBuf::from(dest)
    } else {
        Path::new(workdir).join(dest)
    };
    let rel: PathBuf = abs
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    let target = layer.join(&rel);
    let as_dir = dest.ends_with('/') || srcs.len() > 1;
    for s in srcs {
        let src = in_context(context, s, line)?;
        if src.is_dir() {
            copy_tree(&src, &target, owner).map_err(|e| fail(line, e))?;
        } else {
            let to = if as_dir {
                target.join(src.file_name().unwrap_or_default())
            } else {
                target.clone()
            };
            copy_tree(&src, &to, owner).map_err(|e| fail(line, e))?;
        }
    }
    // Parent directories the layer had to create get the usual 0755.
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if meta.file_type().is_symlink() {
        let _ = std::fs::remove_file(dst);
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)?;
    } else if meta.is_dir() {
        std::fs::create_dir_all(dst)?;
        std::fs::set_permissions(dst, meta.permissions())?;
        for e in std::fs::read_dir(src)? {
            let e = e?;
            copy_tree(&e.path(), &dst.join(e.file_name()), owner)?;
        }
    } else {
        std::fs::copy(src, dst)?;
    }
    if let Some((u, g)) = owner {
        std::os::unix::fs::lchown(dst, Some(u), Some(g))?;
    }
    Ok(())
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

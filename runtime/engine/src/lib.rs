//! The engine behind `hull`: images, containers and their lifecycle, in Docker's model.
//!
//! A container's life: `create` writes a record and its directories; `launch` mounts its
//! overlay rootfs, writes an OCI bundle and hands it to the runtime library, then watches the
//! process until it ends (the "monitor", in the foreground for `hull run` and in a detached
//! child for `hull run -d`), recording exit code, OOM kill and times; `rm` takes it all away.
//!
//! A command can be killed at any moment: what it was making lives under `tmp/` until it is
//! complete ([`scratch`]), containers appear and disappear under the records lock
//! ([`record::lock`]), and opening the engine removes what killed commands left ([`recover`]).

pub mod build;
pub mod bundle;
pub mod cmdline;
pub mod disk_usage;
pub mod error;
pub mod monitor;
pub mod names;
pub mod network;
pub mod ops;
pub mod overlay;
pub mod prune;
pub mod record;
mod recover;
pub mod scratch;
pub mod security;
pub mod units;
pub mod views;
pub mod volume;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use error::{EngineError, Result};
use record::Record;

use hull_image::Store;

pub const DEFAULT_ROOT: &str = "/var/lib/hull";

pub struct Engine {
    pub root: PathBuf,
    pub store: Store,
}

/// What `hull run`/`hull create` asked for.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    pub image: String,
    pub args: Vec<String>,
    pub name: Option<String>,
    pub detach: bool,
    pub interactive: bool,
    pub tty: bool,
    pub rm: bool,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    pub env: Vec<String>,
    pub volumes: Vec<units::Volume>,
    pub tmpfs: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<String>,
    pub hostname: Option<String>,
    pub read_only: bool,
    pub init: bool,
    /// `--network`; None: the default (see [`default_network`]).
    pub network: Option<String>,
    pub publish: Vec<units::PortSpec>,
    pub publish_all: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub security_opt: Vec<String>,
    /// `--stop-signal`: checked when the container is made.
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds.
    pub stop_timeout: Option<i64>,
}

/// The network a container joins when `--network` is not given: Docker's "bridge", unless
/// `HULL_BRIDGE=none` — the equivalent of `dockerd --bridge=none` — says hull must not touch
/// the network of the namespace it runs in (tests that run in the machine's own namespace).
pub fn default_network() -> String {
    match std::env::var("HULL_BRIDGE").as_deref() {
        Ok("none") => "none".into(),
        _ => "bridge".into(),
    }
}

impl Engine {
    /// `HULL_ROOT` or /var/lib/hull.
    pub fn open_default() -> Result<Engine> {
        let root = std::env::var_os("HULL_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        Engine::open(&root)
    }

    /// Opens (creating if missing) the engine's directories under `root`, and removes what
    /// killed commands left there.
    pub fn open(root: &Path) -> Result<Engine> {
        // Absolute: records name paths, and overlay mounts are made from the root.
        let root = &std::path::absolute(root).map_err(|e| EngineError::Io {
            action: "resolve",
            path: root.to_path_buf(),
            source: e,
        })?;
        for d in ["containers", "runtime", scratch::DIR] {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(|e| EngineError::Io {
                action: "create",
                path: p.clone(),
                source: e,
            })?;
        }
        let engine = Engine {
            root: root.to_path_buf(),
            store: Store::open(root)?,
        };
        recover::sweep(&engine);
        Ok(engine)
    }

    pub fn networks(&self) -> Result<network::Networks> {
        Ok(network::Networks::open(&self.root)?)
    }

    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    /// The runtime library's state root for hull's containers.
    pub fn runtime_root(&self) -> PathBuf {
        self.root.join("runtime")
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// Every container record, newest first (as `docker ps`). Directories without a readable
    /// record (a create interrupted before its first write) are skipped here and removed by
    /// `rm -f` of their id.
    pub fn list(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let dir = self.containers_dir();
        let entries = fs::read_dir(&dir).map_err(|e| EngineError::Io {
            action: "read",
            path: dir.clone(),
            source: e,
        })?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            match record::load(&e.path()) {
                Ok(r) => out.push(self.refresh(r)),
                // A 64-hex directory without a record: a `hull run` killed before its first
                // write. Show it, so `ps -a` explains it and `rm -f` can clean it up.
                Err(_) if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    out.push(Record {
                        id: name.clone(),
                        name: name[..12].to_string(),
                        state: record::State {
                            status: "dead".into(),
                            dead: true,
                            error: "incomplete: hull stopped while creating this container".into(),
                            ..Default::default()
                        },
                        ..Default::default()
                    });
                }
                Err(_) => {}
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// A record whose monitor died without writing the end is shown as it really is.
    pub fn refresh(&self, mut r: Record) -> Record {
        if r.state.running {
            let monitor_alive = r.hull_monitor.is_some_and(|(pid, start)| {
                hull_oci::state::process_start_time(pid) == Some(start)
            });
            if !monitor_alive {
                let init_alive =
                    r.state.pid > 0 && hull_oci::state::process_start_time(r.state.pid).is_some();
                if !init_alive {
                    r.state.running = false;
                    r.state.status = "exited".into();
                    r.state.dead = false;
                    if r.state.error.is_empty() {
                        r.state.error =
                            "the hull monitor of this container ended unexpectedly".into();
                    }
                    r.state.exit_code = 255;
                }
            }
        }
        r
    }

    /// Find a container by full id, unique id prefix, or name.
    pub fn find(&self, what: &str) -> Result<Record> {
        let all = self.list()?;
        let name = what.trim_start_matches('/');
        if let Some(r) = all.iter().find(|r| r.id == what || r.name == name) {
            return Ok(r.clone());
        }
        let matches: Vec<&Record> = all.iter().filter(|r| r.id.starts_with(what)).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(EngineError::NoSuchContainer(what.to_string())),
            _ => Err(EngineError::AmbiguousId(what.to_string())),
        }
    }

    pub fn save(&self, r: &Record) -> Result<()> {
        record::save(&self.container_dir(&r.id), r)
    }

    /// Takes the records lock (see [`record::lock`]).
    pub fn lock(&self) -> Result<record::Lock> {
        record::lock(&self.root)
    }
}

pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Container names: Docker's alphabet (see [`names::validate`]).
pub fn validate_name(name: &str) -> Result<()> {
    names::validate(name)
}

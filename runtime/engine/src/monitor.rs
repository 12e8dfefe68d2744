//! Creating a container and watching it run.
//!
//! The monitor is the process that owns a running container: it starts it through the runtime
//! library (and, as a child subreaper, becomes the parent of its init), copies its output to
//! the log (and to the terminal for a foreground `hull run`), and when it ends records the exit
//! code, the OOM kill and the time, then tears down the runtime state and the overlay mount.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{ForkResult, Pid};

use super::error::{EngineError, Result};
use super::network::{self, ConnectRequest, NetworkMode};
use super::record::{self, GraphData, GraphDriver, MountPoint, Record};
use super::scratch::Scratch;
use super::{bundle, cmdline, names, overlay, units, volume, Engine, RunArgs};
use hull_oci::container::{create, delete, start};
use hull_oci::host::{self, Chan};
use hull_oci::state::now_rfc3339;

/// Make the container's record and directories; no process yet.
pub fn create(engine: &Engine, a: &RunArgs) -> Result<Record> {
    let image = engine.store.resolve(&a.image)?;
    let cfg = image.config.config().clone().unwrap_or_default();
    let argv = cmdline::resolve(
        &cfg.entrypoint().clone().unwrap_or_default(),
        &cfg.cmd().clone().unwrap_or_default(),
        a.entrypoint.as_deref(),
        &a.args,
    )?;
    if let Some(s) = &a.stop_signal {
        hull_oci::signal::parse(s).map_err(|_| EngineError::InvalidSignal(s.clone()))?;
    }
    let mode_text = a.network.clone().unwrap_or_else(super::default_network);
    let mode = NetworkMode::parse(&mode_text)?;
    let mut publish = a.publish.clone();
    if a.publish_all {
        for p in cfg.exposed_ports().clone().unwrap_or_default() {
            let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
            if let Ok(port) = port.parse() {
                publish.push(units::PortSpec {
                    host_ip: None,
                    host_port: None,
                    container_port: port,
                    proto: proto.to_string(),
                });
            }
        }
    }
    match &mode {
        NetworkMode::Bridge(n) => {
            engine.networks()?.get(n)?;
        }
        NetworkMode::Container(c) => {
            if !publish.is_empty() {
                return Err(EngineError::PublishWithContainerNetwork);
            }
            let other = engine.find(c)?;
            if !other.state.running {
                return Err(EngineError::PeerNotRunning(c.clone()));
            }
        }
        // No --network, and none by default because HULL_BRIDGE=none: say why.
        NetworkMode::None if !publish.is_empty() && a.network.is_none() => {
            return Err(EngineError::PublishWithBridgesOff);
        }
        _ => {}
    }
    // As Docker: with no network of the container's own (`--network none` or `host`) the
    // ports asked for are kept (inspect's HostConfig.PortBindings) but nothing is published
    // (see `plumb_network`), and -P's are no bindings at all.
    let bound = match &mode {
        NetworkMode::Bridge(_) => &publish,
        _ => &a.publish,
    };
    let mut port_bindings: BTreeMap<String, Vec<record::PortBinding>> = BTreeMap::new();
    for p in bound {
        port_bindings
            .entry(format!("{}/{}", p.container_port, p.proto))
            .or_default()
            .push(record::PortBinding {
                host_ip: p.host_ip.clone().unwrap_or_default(),
                host_port: p.host_port.map(|h| h.to_string()).unwrap_or_default(),
            });
    }
    let id = super::new_id();
    if let Some(n) = &a.name {
        super::validate_name(n)?;
    }
    // The name is checked (or made up) when the container appears, under the records lock.
    let name = a.name.clone().unwrap_or_default();
    let hostname = a.hostname.clone().unwrap_or_else(|| id[..12].to_string());
    let env = container_env(
        &hostname,
        a.tty,
        &a.env,
        &cfg.env().clone().unwrap_or_default(),
    );
    let dir = engine.container_dir(&id);
    let dirs = overlay::Dirs::of(&dir);
    let mut tmpfs = BTreeMap::new();
    for t in &a.tmpfs {
        let (dest, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        if !dest.starts_with('/') {
            return Err(EngineError::TmpfsPath(t.clone()));
        }
        tmpfs.insert(dest.to_string(), opts.to_string());
    }
    // Checked before anything exists, as Docker's create does.
    super::security::Security::of(&a.cap_add, &a.cap_drop, a.privileged, &a.security_opt)?;
    let security_opt = super::security::record_security_opts(&a.security_opt)?;
    let security_opt = (!security_opt.is_empty()).then_some(security_opt);
    let (mounts, config_volumes) = plan_mounts(engine, a, &cfg, &tmpfs)?;
    let layers = engine.store.layer_dirs(&image)?;
    let mut r = Record {
        id: id.clone(),
        name,
        created: now_rfc3339(),
        path: argv[0].clone(),
        args: argv[1..].to_vec(),
        image: image.id.clone(),
        state: record::State {
            status: "created".into(),
            ..Default::default()
        },
        config: record::Config {
            hostname: hostname.clone(),
            user: a
                .user
                .clone()
                .or_else(|| cfg.user().clone())
                .unwrap_or_default(),
            env,
            cmd: if a.entrypoint.is_some() || !a.args.is_empty() {
                Some(a.args.clone())
            } else {
                cfg.cmd().clone()
            },
            entrypoint: match a.entrypoint.as_deref() {
                Some("") => None,
                Some(e) => Some(vec![e.to_string()]),
                None => cfg.entrypoint().clone(),
            },
            image: a.image.clone(),
            working_dir: a
                .workdir
                .clone()
                .or_else(|| cfg.working_dir().clone())
                .unwrap_or_default(),
            labels: cfg
                .labels()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            tty: a.tty,
            open_stdin: a.interactive,
            volumes: config_volumes,
            stop_signal: a.stop_signal.clone().or_else(|| cfg.stop_signal().clone()),
            stop_timeout: a.stop_timeout,
        },
        host_config: record::HostConfig {
            memory: a.memory.unwrap_or(0),
            memory_swap: a
                .memory_swap
                .unwrap_or(a.memory.map(|m| m.saturating_mul(2)).unwrap_or(0)),
            nano_cpus: a.nano_cpus.unwrap_or(0),
            pids_limit: a.pids_limit.unwrap_or(0),
            binds: a
                .volumes
                .iter()
                .filter_map(|v| {
                    let source = match &v.source {
                        units::VolumeSource::Host(p) => p.display().to_string(),
                        units::VolumeSource::Named(n) => n.clone(),
                        units::VolumeSource::Anonymous => return None,
                    };
                    let mode = if v.mode.is_empty() {
                        String::new()
                    } else {
                        format!(":{}", v.mode)
                    };
                    Some(format!("{source}:{}{mode}", v.destination.display()))
                })
                .collect(),
            tmpfs,
            readonly_rootfs: a.read_only,
            auto_remove: a.rm,
            init: a.init,
            network_mode: mode.to_string(),
            port_bindings,
            publish_all_ports: a.publish_all,
            cap_add: (!a.cap_add.is_empty()).then(|| a.cap_add.clone()),
            cap_drop: (!a.cap_drop.is_empty()).then(|| a.cap_drop.clone()),
            privileged: a.privileged,
            security_opt,
        },
        mounts,
        graph_driver: GraphDriver {
            name: "overlay2".into(),
            data: GraphData {
                lower_dir: overlay::lowerdir_option(&layers),
                upper_dir: dirs.upper.display().to_string(),
                merged_dir: dirs.merged.display().to_string(),
                work_dir: dirs.work.display().to_string(),
            },
        },
        network_settings: Default::default(),
        log_path: dir.join("container.log").display().to_string(),
        hull_monitor: None,
    };
    // Made complete under tmp/, then renamed into containers/: a command killed half-way
    // leaves work that the next one removes, never a container without its record.
    let staging = Scratch::create(&engine.root, "new", &id)?;
    let work = staging.path();
    overlay::Dirs::of(work).create()?;
    write_file(&work.join("hostname"), &format!("{hostname}\n"))?;
    // Docker's lines for a container without an address; joining a bridge network adds the
    // container's own line.
    write_file(&work.join("hosts"), network::hosts::LOCALHOST)?;
    write_file(&work.join("container.log"), "")?;
    write_file(&work.join("resolv.conf"), &network::resolv_conf())?;
    let _lock = engine.lock()?;
    let all = engine.list()?;
    r.name = match &a.name {
        Some(n) => {
            if let Some(other) = all.iter().find(|r| &r.name == n) {
                return Err(EngineError::NameInUse {
                    name: n.clone(),
                    id: other.id.clone(),
                });
            }
            n.clone()
        }
        None => names::generate(&id[..12], |n| all.iter().any(|r| r.name == n)),
    };
    record::save(work, &r)?;
    with_volumes(engine, &r, || staging.rename_to(&dir))?;
    Ok(r)
}

/// The container's environment in Docker's order: its daemon starts from PATH, HOSTNAME (and
/// TERM with a terminal), then takes the container's Config.Env — the `-e` values, then the
/// image's that they do not override — each replacing a variable of its name or appended.
fn container_env(hostname: &str, tty: bool, flags: &[String], image: &[String]) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
    let mut config_env = flags.to_vec();
    for e in image {
        if !flags.iter().any(|f| key(f) == key(e)) {
            config_env.push(e.clone());
        }
    }
    let mut env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    for e in config_env {
        match env.iter_mut().find(|x| key(x) == key(&e)) {
            Some(x) => *x = e,
            None => env.push(e),
        }
    }
    env
}

/// The container's mounts (binds and volumes, parents before what is mounted below them) and
/// its Config.Volumes: `-v` as given, then each of the image's VOLUMEs that no `-v` or
/// `--tmpfs` covers, as a new anonymous volume. Named volumes' names are checked here, before
/// anything is made; host directories of binds are made as Docker makes them.
fn plan_mounts(
    engine: &Engine,
    a: &RunArgs,
    image: &oci_spec::image::Config,
    tmpfs: &BTreeMap<String, String>,
) -> Result<(Vec<MountPoint>, Option<ConfigVolumes>)> {
    for v in &a.volumes {
        if let units::VolumeSource::Named(n) = &v.source {
            volume::validate_name(n)?;
        }
    }
    let volume_mount = |name: String, dest: String, mode: &str, rw: bool| MountPoint {
        typ: "volume".into(),
        source: engine.volumes().data_of(&name).display().to_string(),
        name,
        destination: dest,
        driver: volume::DRIVER.into(),
        mode: mode.to_string(),
        rw,
        propagation: String::new(),
    };
    let mut mounts = Vec::new();
    let mut anonymous = BTreeMap::new();
    for v in &a.volumes {
        let dest = v.destination.display().to_string();
        match &v.source {
            units::VolumeSource::Host(source) => {
                if !source.exists() {
                    std::fs::create_dir_all(source).map_err(|e| EngineError::Io {
                        action: "create volume directory",
                        path: source.clone(),
                        source: e,
                    })?;
                }
                mounts.push(MountPoint {
                    typ: "bind".into(),
                    source: source.display().to_string(),
                    destination: dest,
                    mode: v.mode.clone(),
                    rw: !v.read_only,
                    propagation: "rprivate".into(),
                    ..Default::default()
                });
            }
            // Docker shows a named volume's empty mode as "z" (its SELinux default).
            units::VolumeSource::Named(n) => {
                let mode = if v.mode.is_empty() { "z" } else { &v.mode };
                mounts.push(volume_mount(n.clone(), dest, mode, !v.read_only));
            }
            units::VolumeSource::Anonymous => {
                anonymous.insert(dest.clone(), serde_json::json!({}));
                mounts.push(volume_mount(super::new_id(), dest, &v.mode, !v.read_only));
            }
        }
    }
    for path in image.volumes().clone().unwrap_or_default() {
        anonymous.insert(path.clone(), serde_json::json!({}));
        let covered = mounts.iter().any(|m| m.destination == path) || tmpfs.contains_key(&path);
        if !covered {
            mounts.push(volume_mount(super::new_id(), path, "", true));
        }
    }
    mounts.sort_by_key(|m| Path::new(&m.destination).components().count());
    Ok((mounts, (!anonymous.is_empty()).then_some(anonymous)))
}

/// Config.Volumes: path → `{}`.
type ConfigVolumes = BTreeMap<String, serde_json::Value>;

/// Makes the volumes the container mounts that do not exist yet, then `appear` (which makes
/// the container appear), under the volumes' lock, so that a `volume rm` never removes a
/// volume between the two; on a failure the volumes made here are removed again.
fn with_volumes(engine: &Engine, r: &Record, appear: impl FnOnce() -> Result<()>) -> Result<()> {
    let names: Vec<&str> = r.volume_names().collect();
    if names.is_empty() {
        return appear();
    }
    let vols = engine.volumes();
    let lock = vols.lock()?;
    let mut made = Vec::new();
    let result = (|| {
        for n in &names {
            if vols.create(Some(n), false, &lock)?.1 {
                made.push(*n);
            }
        }
        appear()
    })();
    if result.is_err() {
        for n in made {
            let _ = vols.remove(n, &lock);
        }
    }
    result
}

/// The `--init` script in HULL_ROOT, (re)written whole when missing or from an older hull:
/// a complete file renamed into place, so a concurrent `run --init` never sees half of it.
fn write_init_script(path: &Path) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == bundle::INIT_SCRIPT) {
        return Ok(());
    }
    let io = |action, e| EngineError::Io {
        action,
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| io("create a temp file for", e))?;
    tmp.write_all(bundle::INIT_SCRIPT.as_bytes())
        .map_err(|e| io("write", e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| io("chmod", e))?;
    tmp.persist(path)
        .map_err(|e| io("rename into place", e.error))?;
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| EngineError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: e,
    })
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| EngineError::from(hull_oci::Error::sys("pipe", e)))
}

/// Mount the rootfs, write the bundle, create and start the container with `stdio`.
/// On failure the record keeps the error (and the exit status Docker would give).
/// How the container's program is connected: three descriptors, or (`-t`) a pseudo-terminal
/// it opens in its own /dev/pts and whose master it sends over this console socket.
enum Io {
    Fds([OwnedFd; 3]),
    Terminal(OwnedFd),
}

fn start_process(engine: &Engine, r: &mut Record, io: Io) -> Result<Pid> {
    let dir = engine.container_dir(&r.id);
    let dirs = overlay::Dirs::of(&dir);
    let attempt = (|| -> Result<Pid> {
        let image = engine.store.resolve(&r.image)?;
        let mut layers = engine.store.layer_links(&image)?;
        layers.push(overlay::init_layer(&dir)?);
        overlay::mount(&engine.root, &layers, &dirs)?;
        // As Docker at each start: an empty volume is filled from the image, unless nocopy;
        // under the volumes' lock, so two containers starting on one volume fill it once.
        if r.volume_names().next().is_some() {
            let _lock = engine.volumes().lock()?;
            for m in r.mounts.iter().filter(|m| m.typ == "volume") {
                if !m.mode.split(',').any(|o| o == "nocopy") {
                    volume::fill_from_image(
                        &dirs.merged,
                        Path::new(&m.destination),
                        Path::new(&m.source),
                    )?;
                }
            }
        }
        let init_script = engine.root.join("hull-init");
        if r.host_config.init {
            write_init_script(&init_script)?;
        }
        let mode = NetworkMode::parse(&r.host_config.network_mode)?;
        let netns = match &mode {
            NetworkMode::Host => bundle::NetNs::Host,
            NetworkMode::Container(c) => {
                let other = engine.find(c)?;
                if !other.state.running {
                    return Err(EngineError::PeerNotRunning(c.clone()));
                }
                bundle::NetNs::Join(format!("/proc/{}/ns/net", other.state.pid).into())
            }
            _ => bundle::NetNs::New,
        };
        if mode == NetworkMode::Host {
            if let Ok(hosts) = std::fs::read_to_string("/etc/hosts") {
                write_file(&dir.join("hosts"), &hosts)?;
            }
        }
        let config = bundle::config(&bundle::BundleInputs {
            record: r,
            rootfs: &dirs.merged,
            container_dir: &dir,
            init_script: &init_script,
            netns,
        })?;
        write_file(
            &dir.join("config.json"),
            &serde_json::to_string_pretty(&config).unwrap_or_default(),
        )?;
        // A stale runtime state of this id (a monitor killed earlier) would block create.
        let _ = delete::delete(&engine.runtime_root(), &r.id, true);
        let created = create::create(create::CreateOptions {
            root: engine.runtime_root(),
            id: r.id.clone(),
            bundle: dir.clone(),
            pid_file: None,
            console: match &io {
                Io::Terminal(socket) => Some(socket.try_clone().map_err(|e| EngineError::Io {
                    action: "dup console socket",
                    path: "/dev/pts".into(),
                    source: e,
                })?),
                Io::Fds(_) => None,
            },
            stdio: match io {
                Io::Fds(fds) => Some(fds),
                Io::Terminal(_) => None,
            },
        })?;
        plumb_network(engine, r, &mode, created.pid.as_raw())?;
        start::start(&engine.runtime_root(), &r.id)?;
        Ok(created.pid)
    })();
    // A record that cannot be saved (the container was removed meanwhile) takes the started
    // container down with it: nothing may run that no record shows.
    let attempt = attempt.and_then(|pid| {
        let created = (r.state.clone(), r.hull_monitor);
        r.state = record::State {
            status: "running".into(),
            running: true,
            pid: pid.as_raw(),
            started_at: now_rfc3339(),
            ..Default::default()
        };
        let me = std::process::id() as i32;
        r.hull_monitor = hull_oci::state::process_start_time(me).map(|s| (me, s));
        engine.save(r).map(|()| pid).inspect_err(|_| {
            (r.state, r.hull_monitor) = created;
        })
    });
    match attempt {
        Ok(pid) => Ok(pid),
        Err(e) => {
            let _ = delete::delete(&engine.runtime_root(), &r.id, true);
            if let Ok(n) = engine.networks() {
                let _ = n.disconnect(&r.id);
            }
            r.network_settings = Default::default();
            let _ = overlay::unmount(&dirs.merged);
            r.state.error = e.to_string();
            r.state.exit_code = e.exit_code();
            let _ = engine.save(r);
            Err(e)
        }
    }
}

/// After the init has ended: record it, tear down, and remove the container for `--rm`.
fn finish(engine: &Engine, r: &mut Record, code: i32) -> Result<()> {
    let oom = hull_oci::container::Container::load(&engine.runtime_root(), &r.id)
        .ok()
        .and_then(|c| {
            hull_cgroups::manager(c.record.cgroup.clone())
                .oom_kill_count()
                .ok()
        })
        .unwrap_or(0);
    let _ = delete::delete(&engine.runtime_root(), &r.id, true);
    // As Docker: a stopped container gives its address and published ports back.
    if let Ok(n) = engine.networks() {
        let _ = n.disconnect(&r.id);
    }
    r.network_settings = Default::default();
    let dir = engine.container_dir(&r.id);
    let _ = overlay::unmount(&overlay::Dirs::of(&dir).merged);
    r.state.status = "exited".into();
    r.state.running = false;
    r.state.pid = 0;
    r.state.exit_code = code;
    r.state.oom_killed = oom > 0;
    r.state.finished_at = now_rfc3339();
    r.hull_monitor = None;
    engine.save(r)?;
    if r.host_config.auto_remove {
        super::ops::remove_with_volumes(engine, r)?;
    }
    Ok(())
}

/// `hull run` in the foreground: the container's output goes to our terminal and its log, our
/// signals go to it, and we return its exit status.
pub fn run_foreground(engine: &Engine, r: &mut Record, interactive: bool) -> Result<i32> {
    host::become_subreaper()?;
    if r.config.tty {
        return run_foreground_tty(engine, r, interactive);
    }
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let stdin = if interactive {
        std::io::stdin().as_fd().try_clone_to_owned()
    } else {
        File::open("/dev/null").map(OwnedFd::from)
    }
    .map_err(|e| EngineError::Io {
        action: "open stdin",
        path: "/dev/null".into(),
        source: e,
    })?;
    let pid = match start_process(engine, r, Io::Fds([stdin, out_w, err_w])) {
        Ok(pid) => pid,
        Err(e) => {
            if r.host_config.auto_remove {
                let _ = super::ops::remove_with_volumes(engine, r);
            }
            return Err(e);
        }
    };
    host::forward_signals_to(pid);
    let log = open_log(r)?;
    relay([out_r, err_r], &log, true);
    let code = host::wait_for_exit(pid);
    host::stop_forwarding_signals();
    finish(engine, r, code)?;
    Ok(code)
}

/// `hull run -t` in the foreground: the program gets a pseudo-terminal; we relay it to ours
/// (in raw mode, with our keystrokes when `-i`) and to the log.
fn run_foreground_tty(engine: &Engine, r: &mut Record, interactive: bool) -> Result<i32> {
    let (ours, theirs) = host::console_pair()?;
    let started = start_process(engine, r, Io::Terminal(theirs))
        .and_then(|pid| Ok((pid, host::receive_terminal(&ours)?)));
    let (pid, master) = match started {
        Ok(started) => started,
        Err(e) => {
            if r.host_config.auto_remove {
                let _ = super::ops::remove_with_volumes(engine, r);
            }
            return Err(e);
        }
    };
    host::forward_signals_to(pid);
    let log = open_log(r)?;
    {
        let _raw = interactive.then(host::raw_terminal);
        relay_terminal(&master, &log, true, interactive);
    }
    let code = host::wait_for_exit(pid);
    host::stop_forwarding_signals();
    finish(engine, r, code)?;
    Ok(code)
}

/// Copy the terminal's output to the log (and our stdout when attached) and, when
/// interactive, our stdin to it, until every holder of the slave side is gone.
fn relay_terminal(master: &OwnedFd, mut log: &File, attached: bool, interactive: bool) {
    let mut out = std::io::stdout();
    host::relay_terminal(master, interactive, &mut |chunk| {
        if attached {
            let _ = out.write_all(chunk).and_then(|_| out.flush());
        }
        let line = serde_json::json!({
            "log": String::from_utf8_lossy(chunk),
            "stream": "stdout",
            "time": now_rfc3339(),
        });
        let _ = writeln!(log, "{line}");
    });
}

/// `hull run -d`: a detached monitor child starts the container and watches it; we return as
/// soon as it reports the container started (or why it could not).
pub fn run_detached(engine: &Engine, r: &mut Record) -> Result<()> {
    let (mut ours, theirs) = Chan::pair()?;
    match host::fork_monitor()? {
        ForkResult::Child => {
            drop(ours);
            let mut chan = theirs;
            let _ = nix::unistd::setsid();
            if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
                for fd in 0..3 {
                    // SAFETY: dup2 onto our stdio numbers.
                    unsafe { libc::dup2(null.as_raw_fd(), fd) };
                }
            }
            let code = monitor_detached(engine, r, &mut chan);
            // SAFETY: leave without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(theirs);
            let reply = ours.recv();
            let _ = nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            match reply {
                Ok(Some((w, _))) if w == "started" => Ok(()),
                Ok(Some((w, text))) if w == "error" => {
                    let (code, msg) = text.split_once(' ').unwrap_or(("125", &text));
                    let code: i32 = code.parse().unwrap_or(125);
                    Err(if code == 126 || code == 127 {
                        EngineError::Runtime(hull_oci::Error::Exec {
                            code,
                            reason: msg.to_string(),
                        })
                    } else {
                        EngineError::Monitor(msg.to_string())
                    })
                }
                _ => Err(EngineError::MonitorVanished),
            }
        }
    }
}

fn monitor_detached(engine: &Engine, r: &mut Record, chan: &mut Chan) -> i32 {
    if host::become_subreaper().is_err() {
        let _ = chan.send("error", "125 cannot become a child subreaper");
        return 1;
    }
    let (Ok((out_r, out_w)), Ok((err_r, err_w)), Ok(null)) =
        (pipe(), pipe(), File::open("/dev/null"))
    else {
        let _ = chan.send("error", "125 cannot create the log pipes");
        return 1;
    };
    // `-dt`: the program gets a terminal (a shell stays interactive and waits), its output
    // goes to the log.
    let console = if r.config.tty {
        match host::console_pair() {
            Ok(pair) => Some(pair),
            Err(e) => {
                let _ = chan.send("error", &format!("125 {e}"));
                return 1;
            }
        }
    } else {
        None
    };
    let (io, ours) = match console {
        Some((ours, theirs)) => (Io::Terminal(theirs), Some(ours)),
        None => (Io::Fds([OwnedFd::from(null), out_w, err_w]), None),
    };
    let started = start_process(engine, r, io).and_then(|pid| {
        let master = ours.as_ref().map(host::receive_terminal).transpose()?;
        Ok((pid, master))
    });
    let (pid, master) = match started {
        Ok(started) => started,
        Err(e) => {
            let _ = chan.send("error", &format!("{} {e}", e.exit_code()));
            if r.host_config.auto_remove {
                let _ = super::ops::remove_with_volumes(engine, r);
            }
            return 1;
        }
    };
    let _ = chan.send("started", &pid.to_string());
    let Ok(log) = open_log(r) else { return 1 };
    match &master {
        Some(m) => relay_terminal(m, &log, false, false),
        None => relay([out_r, err_r], &log, false),
    }
    let code = host::wait_for_exit(pid);
    match finish(engine, r, code) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn open_log(r: &Record) -> Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(&r.log_path)
        .map_err(|e| EngineError::Io {
            action: "open log",
            path: r.log_path.clone().into(),
            source: e,
        })
}

/// Copy the container's stdout and stderr to the log (JSON lines as Docker's json-file
/// driver writes them) and, when attached, to our own stdout and stderr, until both close.
fn relay(pipes: [OwnedFd; 2], mut log: &File, attached: bool) {
    let mut open = [true, true];
    let mut buf = [0u8; 8192];
    while open[0] || open[1] {
        let mut fds: Vec<PollFd> = pipes
            .iter()
            .map(|p| PollFd::new(p.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::from(1000u16)) {
            Ok(0) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        for (i, stream) in ["stdout", "stderr"].iter().enumerate() {
            if !open[i] || !ready[i] {
                continue;
            }
            match nix::unistd::read(&pipes[i], &mut buf) {
                Ok(0) | Err(_) => open[i] = false,
                Ok(n) => {
                    let chunk = &buf[..n];
                    if attached {
                        let _ = if i == 0 {
                            std::io::stdout()
                                .write_all(chunk)
                                .and_then(|_| std::io::stdout().flush())
                        } else {
                            std::io::stderr().write_all(chunk)
                        };
                    }
                    let line = serde_json::json!({
                        "log": String::from_utf8_lossy(chunk),
                        "stream": stream,
                        "time": now_rfc3339(),
                    });
                    let _ = writeln!(log, "{line}");
                }
            }
        }
    }
}

/// Between create and start, while the init waits: `lo` up, and for bridge networks the
/// veth, address, routes and published ports. What it sets is recorded for `inspect`.
fn plumb_network(engine: &Engine, r: &mut Record, mode: &NetworkMode, pid: i32) -> Result<()> {
    match mode {
        NetworkMode::Host | NetworkMode::Container(_) => Ok(()),
        // Ports in HostConfig.PortBindings stay unpublished, as in Docker.
        NetworkMode::None => Ok(network::loopback_up(pid)?),
        NetworkMode::Bridge(name) => {
            network::loopback_up(pid)?;
            let nets = engine.networks()?;
            // A record left "connected" by a monitor that crashed would refuse the connect.
            let _ = nets.disconnect(&r.id);
            let ports: Vec<units::PortSpec> = r
                .host_config
                .port_bindings
                .iter()
                .flat_map(|(key, binds)| {
                    let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
                    let port: u16 = port.parse().unwrap_or(0);
                    binds.iter().map(move |b| units::PortSpec {
                        host_ip: (!b.host_ip.is_empty()).then(|| b.host_ip.clone()),
                        host_port: b.host_port.parse().ok(),
                        container_port: port,
                        proto: proto.to_string(),
                    })
                })
                .collect();
            let hosts_file = engine.container_dir(&r.id).join("hosts");
            let ep = nets.connect(&ConnectRequest {
                network: name,
                container_id: &r.id,
                name: &r.name,
                hostname: &r.config.hostname,
                pid,
                ports: &ports,
                hosts_file: &hosts_file,
            })?;
            let info = nets.get(name)?;
            let mut published: BTreeMap<String, Vec<record::PortBinding>> = BTreeMap::new();
            for p in &ep.ports {
                published
                    .entry(format!("{}/{}", p.container_port, p.proto))
                    .or_default()
                    .push(record::PortBinding {
                        host_ip: p.host_ip.clone(),
                        host_port: p.host_port.to_string(),
                    });
            }
            r.network_settings = record::NetworkSettings {
                ip_address: ep.ip.clone(),
                ip_prefix_len: ep.prefix_len,
                gateway: ep.gateway.clone(),
                mac_address: ep.mac.clone(),
                ports: published,
                networks: [(
                    info.name.clone(),
                    record::EndpointSettings {
                        network_id: info.id.clone(),
                        ip_address: ep.ip.clone(),
                        ip_prefix_len: ep.prefix_len,
                        gateway: ep.gateway.clone(),
                        mac_address: ep.mac.clone(),
                    },
                )]
                .into(),
            };
            Ok(())
        }
    }
}

#[cfg(test)]
mod env_tests {
    use super::container_env;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_environment_is_in_dockers_order() {
        assert_eq!(
            container_env("h", false, &[], &v(&["PATH=/img", "E=1"])),
            v(&["PATH=/img", "HOSTNAME=h", "E=1"])
        );
        assert_eq!(
            container_env(
                "h",
                true,
                &v(&["A=1", "E=flag", "A=2"]),
                &v(&["E=img", "F=img"])
            ),
            v(&[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=h",
                "TERM=xterm",
                "A=2",
                "E=flag",
                "F=img"
            ])
        );
    }
}

//! `create`: set up a container and leave its init waiting for `start`.
//!
//! Order matters for cleanup: state dir (claims the id), cgroup, then processes. A failure at
//! any step undoes the earlier ones, so a failed create leaves no state dir, cgroup, mount or
//! process behind.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, Pid};

use crate::cgroups;
use crate::error::{Error, IoContext, Result, SysContext};
use crate::init::{self, InitContext};
use crate::spec::{load_bundle, Bundle};
use crate::state::{now_rfc3339, process_start_time, Phase, Record, StateDir, Status};
use crate::sys::{chan::Chan, process};

pub struct CreateOptions {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    /// For process.terminal: a connected console socket (a client's `--console-socket`, or
    /// the second end of `host::console_pair`) over which the container's process sends the
    /// master of the pty it opens in its own /dev/pts.
    pub console: Option<OwnedFd>,
    /// stdin, stdout and stderr for the container's program; None: inherit ours.
    pub stdio: Option<[OwnedFd; 3]>,
}

/// A created container: its init pid (in the caller's PID namespace).
pub struct Created {
    pub pid: Pid,
    pub dir: StateDir,
}

pub fn create(opts: CreateOptions) -> Result<Created> {
    let dir = StateDir::new(&opts.root, &opts.id)?;
    let bundle = load_bundle(&opts.bundle)?;
    dir.create()?;
    let mut undo = Undo {
        dir: Some(dir.clone()),
        cgroup: None,
        pids: Vec::new(),
    };
    match build(&opts, &bundle, &dir, &mut undo) {
        Ok(created) => {
            undo.disarm();
            Ok(created)
        }
        Err(e) => {
            let cleanup = undo.run();
            Err(if cleanup.is_empty() {
                e
            } else {
                Error::WithCleanup {
                    error: Box::new(e),
                    cleanup,
                }
            })
        }
    }
}

fn build(
    opts: &CreateOptions,
    bundle: &Bundle,
    dir: &StateDir,
    undo: &mut Undo,
) -> Result<Created> {
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref().expect("validated");
    if spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false)
        && opts.console.is_none()
    {
        return Err(Error::Unsupported(
            "process.terminal is true: use `hullrt run` in a terminal or pass --console-socket"
                .into(),
        ));
    }

    let location = cgroups::resolve(linux.cgroups_path().as_deref(), &opts.id)?;
    // First a record naming every cgroup directory this create may make: a create killed
    // from here on leaves state that `delete --force` of its id cleans up entirely.
    let planned = cgroups::CgroupLocation {
        created: cgroups::missing_dirs(&location),
        ..location.clone()
    };
    let mut record = Record {
        id: opts.id.clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        pid: 0,
        pid_start: 0,
        phase: Phase::Creating,
        created: now_rfc3339(),
        owner: nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default(),
        cgroup: planned,
        annotations: spec.annotations().clone().unwrap_or_default(),
        exit_code: None,
        oom_kill_count: None,
    };
    dir.save(&record)?;
    let mut cgroup = cgroups::manager(location);
    cgroup.create()?;
    // `create` records which directories it made: keep that version, not the planned one.
    let location = cgroup.location().clone();
    undo.cgroup = Some(location.clone());
    record.cgroup = location.clone();
    dir.save(&record)?;
    // Even without linux.resources: the device rules' default is "deny all but the defaults".
    let resources = linux.resources().clone().unwrap_or_default();
    cgroup.apply(&with_default_device_rules(
        &starting_from_deny_all(&resources),
        linux,
    ))?;
    dir.save_config(spec)?;
    nix::unistd::mkfifo(&dir.fifo(), Mode::from_bits_truncate(0o600))
        .ctx(|| format!("mkfifo {}", dir.fifo().display()))?;

    // Orphans come to us, so the init is our child once stage1 has exited and can be waited
    // for (by `run`) or reaped on failure.
    process::become_subreaper()?;
    let (mut ours, theirs) = Chan::pair()?;
    let ctx = InitContext {
        spec: spec.clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        fifo: dir.fifo(),
        report: dir.report(),
        seccomp: linux
            .seccomp()
            .as_ref()
            .map(|s| crate::seccomp::cached_program(s, &crate::seccomp::cache_dir(&opts.root)))
            .transpose()?,
        cgroup: location.clone(),
        console: opts
            .console
            .as_ref()
            .map(|c| c.try_clone())
            .transpose()
            .at("dup console socket", "console")?,
        stdio: match &opts.stdio {
            Some([a, b, c]) => Some([
                a.try_clone().at("dup stdin", "stdio")?,
                b.try_clone().at("dup stdout", "stdio")?,
                c.try_clone().at("dup stderr", "stdio")?,
            ]),
            None => None,
        },
    };
    let stage1 = match process::fork()? {
        ForkResult::Child => {
            drop(ours);
            init::stage1(ctx, theirs)
        }
        ForkResult::Parent { child } => child,
    };
    drop(theirs);
    drop(ctx);
    undo.pids.push(stage1);
    cgroup.add_process(stage1.as_raw())?;
    ours.send("cgroup-ok", "")?;

    // stage1 reports the init's pid after its fork, while the init already runs: the init's
    // "prestart" can come first (seen under load, as "exited before reporting its pid").
    // The hooks get the state with the pid, so a prestart waits for the pid; the init waits
    // for our "go", so "ready" always comes after both.
    let mut init_pid = None;
    let mut prestart_waiting = false;
    loop {
        let Some((word, text)) = ours.recv()? else {
            return Err(Error::Vanished {
                stage: "it was ready",
            });
        };
        match word.as_str() {
            "maps" => {
                write_id_maps(stage1, spec)?;
                ours.send("maps-ok", "")?;
            }
            "pid" => {
                let pid = Pid::from_raw(text.parse().map_err(|_| Error::Protocol {
                    expected: "a pid from stage1".into(),
                    got: text.clone(),
                })?);
                undo.pids.push(pid);
                init_pid = Some(pid);
                let _ = process::wait_exit(stage1);
                record.pid = pid.as_raw();
                record.pid_start = process_start_time(pid.as_raw()).unwrap_or(0);
                dir.save(&record)?;
                if prestart_waiting {
                    prestart(spec, &record, &mut ours)?;
                }
            }
            "prestart" if init_pid.is_none() => prestart_waiting = true,
            "prestart" => prestart(spec, &record, &mut ours)?,
            "ready" => break,
            "error" => return Err(Error::Child(text)),
            "exec-error" => {
                let (code, reason) = text.split_once(' ').unwrap_or((&text, ""));
                return Err(Error::Exec {
                    code: code.parse().unwrap_or(126),
                    reason: reason.to_string(),
                });
            }
            other => {
                return Err(Error::Protocol {
                    expected: "a message from init".into(),
                    got: other.to_string(),
                })
            }
        }
    }
    let pid = init_pid.ok_or(Error::Vanished {
        stage: "reporting its pid",
    })?;
    record.phase = Phase::Created;
    dir.save(&record)?;
    if let Some(path) = &opts.pid_file {
        write_pid_file(path, pid)?;
    }
    crate::log::debug(format!("created container {} with init pid {pid}", opts.id));
    Ok(Created {
        pid,
        dir: dir.clone(),
    })
}

/// The prestart and createRuntime hooks, in the runtime's namespaces, with the state (and its
/// pid); then the init may go on.
fn prestart(spec: &oci_spec::runtime::Spec, record: &Record, ours: &mut Chan) -> Result<()> {
    let state = super::spec_state(record, Status::Creating);
    let state = state.to_string();
    if let Some(hooks) = spec.hooks() {
        #[allow(deprecated)]
        let prestart = hooks.prestart().clone().unwrap_or_default();
        crate::hooks::run_all("prestart", &prestart, &state)?;
        let runtime = hooks.create_runtime().clone().unwrap_or_default();
        crate::hooks::run_all("createRuntime", &runtime, &state)?;
    }
    ours.send("go", &state)
}

/// The config's device rules, led by "deny all" unless they start with a rule for all devices
/// themselves: a new v1 cgroup inherits its parent's list (usually "allow all"), so without it
/// allow-only rules would change nothing. (v2's program starts from "deny all" anyway.)
fn starting_from_deny_all(
    resources: &oci_spec::runtime::LinuxResources,
) -> oci_spec::runtime::LinuxResources {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let rules = resources.devices().clone().unwrap_or_default();
    let for_all = |r: &LinuxDeviceCgroup| {
        matches!(r.typ(), None | Some(LinuxDeviceType::A))
            && r.major().is_none()
            && r.minor().is_none()
    };
    if rules.first().is_some_and(for_all) {
        return resources.clone();
    }
    let mut deny_all = LinuxDeviceCgroup::default();
    deny_all.set_allow(false);
    deny_all.set_access(Some("rwm".to_string()));
    let mut out = resources.clone();
    out.set_devices(Some(std::iter::once(deny_all).chain(rules).collect()));
    out
}

/// After the config's own device rules, allow the default devices and the config's
/// `linux.devices` (runc does the same): a config that starts with "deny all" must still get a
/// working /dev/null and /dev/pts. A config without rules gets these alone, which (rules
/// starting from "deny all") denies every other device, as in runc. `update` adds them after
/// its rules too.
pub(super) fn with_default_device_rules(
    resources: &oci_spec::runtime::LinuxResources,
    linux: &oci_spec::runtime::Linux,
) -> oci_spec::runtime::LinuxResources {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let mut rules = resources.devices().clone().unwrap_or_default();
    let rule = |major: Option<i64>, minor: Option<i64>| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(LinuxDeviceType::C));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some("rwm".to_string()));
        r
    };
    for d in crate::init::rootfs::default_devices() {
        rules.push(rule(Some(d.major()), Some(d.minor())));
    }
    rules.push(rule(Some(5), Some(1))); // /dev/console
    rules.push(rule(Some(5), Some(2))); // /dev/ptmx
    rules.push(rule(Some(136), None)); // /dev/pts/*
    for d in linux.devices().clone().unwrap_or_default() {
        // A FIFO is no device to the cgroup; `u` (unbuffered) is a character device.
        let typ = match d.typ() {
            LinuxDeviceType::P => continue,
            LinuxDeviceType::U => LinuxDeviceType::C,
            t => t,
        };
        let mut r: LinuxDeviceCgroup = (&d).into();
        r.set_typ(Some(typ));
        r.set_access(Some("rwm".to_string()));
        rules.push(r);
    }
    let mut out = resources.clone();
    out.set_devices(Some(rules));
    out
}

fn write_id_maps(pid: Pid, spec: &oci_spec::runtime::Spec) -> Result<()> {
    let linux = spec.linux().as_ref().expect("validated");
    for (file, maps) in [
        ("uid_map", linux.uid_mappings()),
        ("gid_map", linux.gid_mappings()),
    ] {
        let text: String = maps
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect();
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        fs::write(&path, text).at("write id map", &path)?;
    }
    Ok(())
}

pub fn write_pid_file(path: &Path, pid: Pid) -> Result<()> {
    crate::state::write_atomic(path, pid.to_string().as_bytes())
}

/// What a failing create must take back.
struct Undo {
    dir: Option<StateDir>,
    cgroup: Option<cgroups::CgroupLocation>,
    pids: Vec<Pid>,
}

impl Undo {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.pids.clear();
    }

    /// Undo what is armed; what could not be undone, each with its own error.
    fn run(&mut self) -> Vec<Error> {
        let mut problems = Vec::new();
        if let Some(loc) = &self.cgroup {
            let mgr = cgroups::manager(loc.clone());
            for pid in mgr.pids().unwrap_or_default() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        for pid in self.pids.drain(..).rev() {
            let _ = kill(pid, Signal::SIGKILL);
            // Our child (stage1) or, as subreaper, our orphaned grandchild (init).
            let _ = process::wait_exit(pid);
        }
        if let Some(loc) = self.cgroup.take() {
            if let Err(e) = cgroups::manager(loc).destroy() {
                problems.push(Error::from(e));
            }
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.remove() {
                problems.push(e);
            }
        }
        problems
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        let _ = self.run();
    }
}

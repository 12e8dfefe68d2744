//! What `hull` does to existing containers: stop, kill, rm, logs, exec, top, stats, diff.

use std::io::{BufRead, BufReader, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::error::{EngineError, Result};
use super::record::Record;
use super::scratch::Scratch;
use super::{overlay, Engine};

fn not_running(r: &Record) -> EngineError {
    EngineError::NotRunning(r.id.clone())
}

/// Continue as this program re-executed from a binary no container can write, so that a
/// container never writes hull's binary through `/proc/<pid>/exe` (see `hull_oci::host::run_from_protected_binary`).
pub fn run_from_protected_binary() -> Result<()> {
    Ok(hull_oci::host::run_from_protected_binary("hull")?)
}

/// A signal as `hull kill -s` takes it: a name with or without SIG (`TERM`, `SIGKILL`) or a
/// number.
pub fn parse_signal(text: &str) -> Result<Signal> {
    Ok(hull_oci::signal::parse(text)?)
}

/// Send a signal to the container's init through the runtime. SIGKILL returns once the
/// container is recorded as stopped (up to 10 s), as Docker's kill does: a `hull inspect`
/// right after it sees "exited", however slow the machine.
pub fn kill(engine: &Engine, r: &Record, signal: Signal) -> Result<()> {
    if !r.state.running {
        return Err(not_running(r));
    }
    hull_oci::container::kill::kill(&engine.runtime_root(), &r.id, signal, false)?;
    if signal == Signal::SIGKILL {
        wait_stopped(engine, &r.id, Duration::from_secs(10))?;
    }
    Ok(())
}

/// Wait for the monitor to record the end (or for the init to vanish if the monitor is gone).
/// A container removed meanwhile (by its monitor, for `--rm`) has stopped.
fn wait_stopped(engine: &Engine, id: &str, timeout: Duration) -> Result<bool> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let r = match super::record::load(&engine.container_dir(id)) {
            Ok(r) => engine.refresh(r),
            Err(_) if !engine.container_dir(id).exists() => return Ok(true),
            Err(e) => return Err(e),
        };
        if !r.state.running {
            return Ok(true);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `hull stop [-t N]`: the container's stop signal (`--stop-signal`, the image's STOPSIGNAL,
/// else SIGTERM), then SIGKILL after N seconds (`-t`, else `--stop-timeout`, else 10; a
/// negative time waits for ever), as Docker does. Stopping a stopped container is not an
/// error.
pub fn stop(engine: &Engine, r: &Record, timeout_secs: Option<i64>) -> Result<()> {
    if !r.state.running {
        return Ok(());
    }
    let secs = timeout_secs.or(r.config.stop_timeout).unwrap_or(10);
    let _ = kill(engine, r, r.config.stop_signal());
    let wait = u64::try_from(secs).map_or(Duration::MAX, Duration::from_secs);
    if wait_stopped(engine, &r.id, wait)? {
        return Ok(());
    }
    let _ = kill(engine, r, Signal::SIGKILL);
    if wait_stopped(engine, &r.id, Duration::from_secs(10))? {
        return Ok(());
    }
    Err(EngineError::DidNotStop(r.short_id().to_string()))
}

/// `hull rm [-f] [-v]`: with `volumes`, its anonymous volumes too (never named ones).
pub fn remove(engine: &Engine, r: &Record, force: bool, volumes: bool) -> Result<()> {
    if r.state.running {
        if !force {
            return Err(EngineError::RemoveRunning(r.short_id().to_string()));
        }
        let _ = kill(engine, r, Signal::SIGKILL);
        wait_stopped(engine, &r.id, Duration::from_secs(10))?;
    }
    if volumes {
        remove_with_volumes(engine, r)
    } else {
        remove_dirs(engine, r)
    }
}

/// `--rm` and `rm -v`: the container, then its anonymous volumes (as Docker's `--rm` does).
pub fn remove_with_volumes(engine: &Engine, r: &Record) -> Result<()> {
    remove_dirs(engine, r)?;
    engine.remove_anonymous_volumes(r)
}

/// Everything a container owns, whatever state a crash left it in: runtime state (and with it
/// the cgroup and any process), the overlay mount, the directory. The directory leaves
/// `containers/` in one rename under the records lock, so a removal killed half-way leaves
/// either the container (for `rm -f` again) or work under `tmp/` that the next command
/// removes; and of two removals at once (`rm -f` and the monitor of a `--rm` container) one
/// does it and the other finds nothing left to do.
pub fn remove_dirs(engine: &Engine, r: &Record) -> Result<()> {
    let _ = hull_oci::container::delete::delete(&engine.runtime_root(), &r.id, true);
    engine.networks()?.disconnect(&r.id)?;
    let dir = engine.container_dir(&r.id);
    overlay::unmount(&overlay::Dirs::of(&dir).merged)?;
    let claimed = {
        let _lock = engine.lock()?;
        Scratch::claim(&engine.root, "rm", &r.id, &dir)?
    };
    match claimed {
        Some(gone) => gone.remove(),
        None => Ok(()),
    }
}

/// `hull logs [-f]`: replay the log; with `follow`, keep reading until the container stops.
pub fn logs(engine: &Engine, r: &Record, follow: bool) -> Result<()> {
    let path = PathBuf::from(&r.log_path);
    let file = std::fs::File::open(&path).map_err(|e| EngineError::Io {
        action: "open log",
        path: path.clone(),
        source: e,
    })?;
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap_or(0);
        if n > 0 && line.ends_with('\n') {
            print_log_line(&line);
            continue;
        }
        if n > 0 {
            // A partial line: let the writer finish it.
            let back = -(n as i64);
            let _ = reader.seek_relative(back);
        }
        if !follow {
            return Ok(());
        }
        let running = engine
            .refresh(
                super::record::load(&engine.container_dir(&r.id)).unwrap_or_else(|_| r.clone()),
            )
            .state
            .running;
        if !running {
            // One last pass for what was written just before the end.
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                print_log_line(&line);
                line.clear();
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = reader.stream_position();
    }
}

fn print_log_line(line: &str) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    let text = v["log"].as_str().unwrap_or("");
    if v["stream"] == "stderr" {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let mut out = std::io::stdout();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

pub struct ExecArgs {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub detach: bool,
    /// `-t`: the command gets a terminal of the container's own devpts, relayed to ours (a
    /// detached command's terminal would have no reader, so `-dt` runs without one).
    pub tty: bool,
}

/// `hull exec`: returns the command's exit status (126/127 when it cannot run).
pub fn exec(engine: &Engine, r: &Record, a: ExecArgs) -> Result<i32> {
    if !r.state.running {
        return Err(not_running(r));
    }
    // `-u` as `run` resolves it (in the container's own /etc/passwd and /etc/group, read
    // inside its rootfs), supplementary groups included, as Docker's exec does.
    let (user, additional_gids) = match &a.user {
        Some(u) => {
            let merged = overlay::Dirs::of(&engine.container_dir(&r.id)).merged;
            // Docker's exec fails with 126 once the container runs (and 1 before).
            let (uid, gid, groups) =
                super::bundle::resolve_user(u, &merged).map_err(|e| EngineError::ExecFailed {
                    code: 126,
                    reason: e.to_string(),
                })?;
            (Some((uid, Some(gid))), Some(groups))
        }
        None => (None, None),
    };
    let program = a.args.first().cloned().unwrap_or_default();
    let code = hull_oci::container::exec::run_exec(
        &engine.runtime_root(),
        &r.id,
        hull_oci::container::exec::ExecOptions {
            process: None,
            caps: Vec::new(),
            args: a.args,
            env: a.env,
            cwd: a.workdir.map(PathBuf::from),
            user,
            additional_gids,
            detach: a.detach,
            pid_file: None,
            tty: a.tty && !a.detach,
            console_socket: None,
        },
    )
    .map_err(|e| match e {
        hull_oci::Error::Exec { code, reason } => EngineError::ExecFailed {
            code,
            reason: exec_failure(&program, code, &reason),
        },
        other => other.into(),
    })?;
    Ok(code)
}

/// Why a process could not be started in a container, as Docker (with runc) words it: the
/// program not found (127) or not executable (126) as runc's `exec: "PROGRAM": …`, other
/// causes in the runtime's own words, all in Docker's frame.
fn exec_failure(program: &str, code: i32, reason: &str) -> String {
    let frame = "OCI runtime exec failed: exec failed: unable to start container process";
    let cause = match code {
        127 if !program.contains('/') => {
            format!("exec: {program:?}: executable file not found in $PATH")
        }
        127 => format!("exec: {program:?}: stat {program}: no such file or directory"),
        126 if reason.starts_with(&format!("{program}: ")) => {
            // A directory is EACCES to execve too.
            format!("exec: {program:?}: permission denied")
        }
        _ => match chdir_failure(reason) {
            Some((path, errno, text)) => {
                let cause = format!("chdir to cwd ({path:?}) set in config.json failed: {text}");
                if errno == "ENOTDIR" {
                    return format!(
                        "{frame}: {cause}: unknown: Are you trying to mount a directory onto a \
                         file (or vice-versa)? Check if the specified host path exists and is \
                         the expected type"
                    );
                }
                cause
            }
            None => reason.to_string(),
        },
    };
    format!("{frame}: {cause}: unknown")
}

/// The runtime's `process.cwd: chdir PATH: ERRNO: Text` as (PATH, ERRNO, the text as Go
/// writes it: lower-case).
fn chdir_failure(reason: &str) -> Option<(&str, &str, String)> {
    let rest = reason.strip_prefix("process.cwd: chdir ")?;
    let mut parts = rest.rsplitn(3, ": ");
    let (text, errno, path) = (parts.next()?, parts.next()?, parts.next()?);
    if !errno.starts_with('E') || !errno.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut chars = text.chars();
    let text = chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    Some((path, errno, text))
}

/// The processes of a running container, from its cgroup: (pid, user id, command line).
pub fn top(engine: &Engine, r: &Record) -> Result<Vec<(i32, u32, String)>> {
    if !r.state.running {
        return Err(not_running(r));
    }
    let c = hull_oci::container::Container::load(&engine.runtime_root(), &r.id)?;
    let mut pids = hull_cgroups::manager(c.record.cgroup.clone())
        .pids()
        .map_err(hull_oci::Error::from)?;
    pids.sort();
    Ok(pids
        .into_iter()
        .map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    b.split(|c| *c == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("Uid:"))
                        .and_then(|l| l.split_whitespace().nth(1).and_then(|u| u.parse().ok()))
                })
                .unwrap_or(0);
            (pid, uid, cmd)
        })
        .collect())
}

/// Usage figures read straight from the container's cgroup files (v1 or v2).
pub use hull_cgroups::Usage as Stats;

pub fn stats(engine: &Engine, r: &Record) -> Result<Stats> {
    if !r.state.running {
        return Ok(Stats::default());
    }
    let c = hull_oci::container::Container::load(&engine.runtime_root(), &r.id)?;
    Ok(hull_cgroups::usage(&c.record.cgroup.dirs))
}

/// `hull diff`: what the container changed compared with its image.
pub fn diff(engine: &Engine, r: &Record) -> Result<Vec<(char, String)>> {
    let image = engine.store.resolve(&r.image)?;
    let mut lowers = engine.store.layer_dirs(&image)?;
    lowers.push(overlay::init_layer(&engine.container_dir(&r.id))?);
    let upper = overlay::Dirs::of(&engine.container_dir(&r.id)).upper;
    Ok(hull_image::diff_changes(&upper, &lowers)?)
}

/// Which kind of object `hull inspect --type` looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Container,
    Image,
}

/// `hull inspect [--type KIND] TARGET…`: each target as a container, else as an image, in
/// Docker's inspect shape; each target's own result, so that one missing does not hide the
/// others (Docker prints what it found and reports the rest).
pub fn inspect(
    engine: &Engine,
    targets: &[String],
    kind: Option<ObjectKind>,
) -> Vec<Result<serde_json::Value>> {
    targets
        .iter()
        .map(|t| {
            if kind == Some(ObjectKind::Image) {
                return inspect_image(engine, t);
            }
            match engine.find(t) {
                Ok(r) => Ok(crate::views::containers::inspect(&r)),
                Err(err @ EngineError::NoSuchContainer(_)) if kind.is_some() => Err(err),
                Err(EngineError::NoSuchContainer(_)) => engine
                    .store
                    .inspect_json(t)
                    .map_err(|_| EngineError::NoSuchObject(t.clone())),
                Err(err) => Err(err),
            }
        })
        .collect()
}

/// `hull image inspect IMAGE`: the image in Docker's inspect shape.
pub fn inspect_image(engine: &Engine, name: &str) -> Result<serde_json::Value> {
    engine.store.inspect_json(name).map_err(|e| match e {
        hull_image::ImageError::NotFound { .. } => EngineError::NoSuchImage(name.to_string()),
        e => e.into(),
    })
}

/// `hull rmi [-f] IMAGE`: the lines Docker prints (Untagged/Deleted). The store knows nothing
/// of containers, so the rule lives here: an image a container was made from stays unless
/// forced, as Docker refuses it; one of several names of an image is only untagged, which
/// Docker allows whatever uses the image.
pub fn remove_image(engine: &Engine, name: &str, force: bool) -> Result<Vec<String>> {
    let img = engine.store.resolve(name)?;
    let containers = engine.list()?;
    // Removing one of several names only untags, even while containers use the image.
    let by_id = img
        .id
        .trim_start_matches("sha256:")
        .starts_with(name.trim_start_matches("sha256:"));
    let only_untags = img.names.len() > 1 && !by_id;
    if !force && !only_untags {
        if let Some(c) = containers.iter().find(|c| c.image == img.id) {
            return Err(EngineError::ImageInUse {
                image: name.to_string(),
                container: c.short_id().to_string(),
            });
        }
    }
    // The untagged parents it takes along stay while a container uses them.
    let in_use = |id: &str| containers.iter().any(|c| c.image == id);
    Ok(engine.store.remove_image(name, force, &in_use)?.lines)
}

/// `hull ps [-a]`: running containers, or all of them.
pub fn containers(engine: &Engine, all: bool) -> Result<Vec<Record>> {
    Ok(engine
        .list()?
        .into_iter()
        .filter(|r| all || r.state.running)
        .collect())
}

/// `hull stats [CONTAINER…]`: the named containers, or every running one, with their usage.
pub fn stats_of(engine: &Engine, targets: &[String]) -> Result<Vec<(Record, Stats)>> {
    let list = if targets.is_empty() {
        containers(engine, false)?
    } else {
        targets
            .iter()
            .map(|c| engine.find(c))
            .collect::<Result<Vec<_>>>()?
    };
    list.into_iter()
        .map(|r| stats(engine, &r).map(|s| (r, s)))
        .collect()
}

/// `hull network create [--driver D] [--subnet S] NAME`: hull makes bridge networks only.
pub fn create_network(
    engine: &Engine,
    name: &str,
    driver: &str,
    subnet: Option<&str>,
) -> Result<crate::network::NetworkInfo> {
    if driver != "bridge" {
        return Err(EngineError::UnsupportedDriver(driver.to_string()));
    }
    Ok(engine.networks()?.create(name, subnet)?)
}

#[cfg(test)]
mod exec_failure_tests {
    use super::*;

    #[test]
    fn the_runtimes_reasons_in_dockers_words() {
        let frame = "OCI runtime exec failed: exec failed: unable to start container process";
        assert_eq!(
            exec_failure(
                "nosuch",
                127,
                "executable file \"nosuch\" not found in $PATH"
            ),
            format!("{frame}: exec: \"nosuch\": executable file not found in $PATH: unknown")
        );
        assert_eq!(
            exec_failure("/tmp", 126, "/tmp: is a directory"),
            format!("{frame}: exec: \"/tmp\": permission denied: unknown")
        );
        assert_eq!(
            exec_failure("true", 126, "process.cwd: chdir /a: b: ENOENT: No such file or directory"),
            format!("{frame}: chdir to cwd (\"/a: b\") set in config.json failed: no such file or directory: unknown")
        );
        assert!(exec_failure("true", 126, "process.cwd: chdir /f: ENOTDIR: Not a directory")
            .ends_with(": not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"));
        // Anything else in the runtime's own words.
        assert_eq!(
            exec_failure("true", 126, "setgroups: EPERM"),
            format!("{frame}: setgroups: EPERM: unknown")
        );
    }
}

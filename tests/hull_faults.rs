//! Faults (issue 12): a `hull` command killed at any moment leaves nothing that the next
//! command cannot see or remove; names stay unique when commands race; what a user can type
//! never panics; images as deep as Docker allows run.
//!
//! The kill rounds run `HULL_KILL_ROUNDS` rounds per command (default 4, so that this file stays
//! well under a few minutes on two cores); `HULL_KILL_ROUNDS=30 cargo test --test hull_faults
//! killed -- --nocapture` gives the figures of a full run, and `HULL_KILL_SEED` replays one.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use support::*;

/// Live processes whose command line contains `token` (a RUN step's marker).
fn processes_with(token: &str) -> Vec<i32> {
    other_pids()
        .into_iter()
        .filter(|pid| !is_zombie(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(token))
        })
        .collect()
}

/// A marker no other test (or run of the suite) uses, for the RUN steps' command lines.
fn token(h: &Hull) -> String {
    let root = h.root().file_name().unwrap().to_string_lossy().into_owned();
    format!(
        "faults-{}",
        root.replace(|c: char| !c.is_ascii_alphanumeric(), "")
    )
}

/// Ids of the runtime states under the root (container or build step), remembered for the
/// cgroup checks.
fn remember_runtime_ids(h: &Hull) -> Vec<String> {
    let ids = entries(&h.root().join("runtime"));
    for id in &ids {
        h.remember(id);
    }
    ids
}

/// What `hull ps -a` lists: (full id, name, status) of each container, from inspect.
fn containers(h: &Hull) -> Vec<(String, String, String)> {
    let ids = stdout(&h.cmd(&["ps", "-aq"]));
    let mut v = Vec::new();
    for short in ids.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let out = h.cmd(&["inspect", short]);
        if !out.status.success() {
            // Removed in between (a --rm container, a monitor finishing): not listed any more.
            continue;
        }
        let j: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let c = &j[0];
        let id = c["Id"].as_str().unwrap_or_default().to_string();
        h.remember(&id);
        v.push((
            id,
            c["Name"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            c["State"]["Status"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    v
}

/// What a root holds that no container listed by `ps -a` accounts for, each as a line: work
/// in flight, runtime states, mounts and cgroups of no container, containers without a record
/// (`ps -a` would have to show them as "dead"), processes of RUN steps.
fn garbage(h: &Hull, token: &str) -> Vec<String> {
    let listed = containers(h);
    let is_listed = |id: &str| listed.iter().any(|(full, _, _)| full == id);
    let mut g: Vec<String> = staging_entries(h.root())
        .into_iter()
        .map(|s| format!("staging {s}"))
        .collect();
    for (_, name, status) in &listed {
        if status == "dead" {
            g.push(format!(
                "ps -a lists {name}: a dead container without a record"
            ));
        }
    }
    for e in entries(&h.root().join("containers")) {
        if !is_listed(&e)
            && !h
                .root()
                .join("containers")
                .join(&e)
                .join("config.v2.json")
                .exists()
        {
            g.push(format!("containers/{e} (no record)"));
        }
    }
    // Not the runtime's compiled-seccomp cache: shared by all containers, no one's state.
    for id in entries(&h.root().join("runtime"))
        .into_iter()
        .filter(|e| e != "@seccomp-cache")
    {
        h.remember(&id);
        if !is_listed(&id) {
            g.push(format!("runtime state of no container: runtime/{id}"));
        }
    }
    for m in h.mounts() {
        let owner = m
            .strip_prefix(h.root().join("containers"))
            .ok()
            .and_then(|rel| rel.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        if !owner.as_deref().is_some_and(is_listed) {
            g.push(format!("mount of no container: {}", m.display()));
        }
    }
    let names: BTreeSet<String> = h
        .leftovers()
        .cgroups
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for n in names {
        let short = n.trim_start_matches("hull-");
        if !listed.iter().any(|(id, _, _)| id.starts_with(short)) {
            g.push(format!("cgroup of no container: {n}"));
        }
    }
    for pid in processes_with(token) {
        g.push(format!("RUN step process {pid} still running"));
    }
    g
}

/// What a killed command left, seen without running `hull` (which would clean it): work in
/// flight, runtime states and mounts of no container directory, RUN step processes.
fn left_by_kill(h: &Hull, token: &str) -> Vec<String> {
    let containers = entries(&h.root().join("containers"));
    let mut g = staging_entries(h.root());
    for id in entries(&h.root().join("runtime")) {
        if !containers.contains(&id) {
            g.push(format!("runtime/{id}"));
        }
    }
    for m in h.mounts() {
        let owner = m
            .strip_prefix(h.root().join("containers"))
            .ok()
            .and_then(|rel| rel.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        if !owner.is_some_and(|o| containers.contains(&o)) {
            g.push(format!("mount {}", m.display()));
        }
    }
    for pid in processes_with(token) {
        g.push(format!("RUN step process {pid}"));
    }
    g
}

/// `hull ARGS…` started and SIGKILLed after `delay`; whether it was still running then.
fn kill_after(h: &Hull, args: &[&str], delay: Duration) -> bool {
    let mut bg = h.spawn(args);
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline && bg.running() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed = bg.running();
    let _ = bg.child.kill();
    bg.wait(CMD_TIMEOUT);
    killed
}

/// Removes every container `ps -a` shows; each removal must work.
fn remove_all(h: &Hull) {
    for (id, name, _) in containers(h) {
        let out = h.cmd(&["rm", "-f", &id]);
        assert!(
            out.status.success(),
            "rm -f of {name} ({id}), listed by ps -a, failed: {}",
            describe(&out)
        );
    }
}

/// A small xorshift generator: the kill delays, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("HULL_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("kill delays from HULL_KILL_SEED={seed}");
        Rng(seed)
    }

    /// Uniform in [0, max].
    fn upto(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        max.mul_f64((self.0 % 10_001) as f64 / 10_000.0)
    }
}

fn rounds() -> usize {
    std::env::var("HULL_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

/// One command's kill rounds: how many, how many were killed mid-way, and what the next
/// command(s) left (round, lines).
struct Figures {
    command: String,
    rounds: usize,
    killed: usize,
    /// Rounds after which the kill had left something (before the next command ran).
    left_by_kill: usize,
    /// The most `ps -a` runs any round needed before nothing was left.
    commands_needed: usize,
    left: Vec<(usize, Vec<String>)>,
}

/// After a kill: `hull ps -a` (the next command), repeated while something is left, up to a
/// few seconds (a detached monitor may still be finishing what it started). Returns how many
/// commands it took and what was left in the end.
fn settle(h: &Hull, token: &str) -> (usize, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 0;
    loop {
        n += 1;
        let g = garbage(h, token);
        if g.is_empty() || Instant::now() > deadline {
            return (n, g);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn kill_rounds(
    h: &Hull,
    rng: &mut Rng,
    command: &str,
    args: &[&str],
    mut before_each: impl FnMut(),
) -> Figures {
    let token = token(h);
    // Kill delays span the command's whole run, timed after a first run (which may make the
    // busybox image).
    let mut full = Duration::ZERO;
    for _ in 0..2 {
        before_each();
        let t0 = Instant::now();
        let out = h.cmd(args);
        full = t0.elapsed();
        assert!(out.status.success(), "hull {args:?}: {}", describe(&out));
        remove_all(h);
    }
    let mut f = Figures {
        command: command.to_string(),
        rounds: rounds(),
        killed: 0,
        left_by_kill: 0,
        commands_needed: 0,
        left: Vec::new(),
    };
    for round in 0..f.rounds {
        before_each();
        let delay = rng.upto(full.mul_f64(1.1));
        if kill_after(h, args, delay) {
            f.killed += 1;
        }
        remember_runtime_ids(h);
        if !left_by_kill(h, &token).is_empty() {
            f.left_by_kill += 1;
        }
        // A RUN step dies with its build, before any other command runs.
        let deadline = Instant::now() + Duration::from_secs(3);
        while !processes_with(&token).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let outlived: Vec<String> = processes_with(&token)
            .iter()
            .map(|pid| format!("RUN step process {pid} outlived its build by 3 s"))
            .collect();
        let (n, mut left) = settle(h, &token);
        left.extend(outlived);
        f.commands_needed = f.commands_needed.max(n);
        if !left.is_empty() {
            f.left.push((round, left));
        }
        remove_all(h);
    }
    f
}

fn report(all: &[Figures]) -> String {
    let mut s = format!(
        "{:<8} {:>6} {:>7} {:>14} {:>13} {:>22}\n",
        "command", "rounds", "killed", "left by kill", "ps -a needed", "left after next command"
    );
    for f in all {
        s.push_str(&format!(
            "{:<8} {:>6} {:>7} {:>14} {:>13} {:>22}\n",
            f.command,
            f.rounds,
            f.killed,
            f.left_by_kill,
            f.commands_needed,
            f.left.len()
        ));
        for (round, lines) in &f.left {
            s.push_str(&format!("  round {round}: {lines:#?}\n"));
        }
    }
    s
}

/// Every command killed at random moments: after the next command nothing is left that no
/// container accounts for, and `rm -f` of what `ps -a` shows leaves nothing at all.
#[test]
fn killed_commands_leave_nothing_the_next_command_cannot_see_or_remove() {
    let h = Hull::new();
    let mut rng = Rng::new();
    let token = token(&h);
    h.ok(&["run", "--rm", "busybox", "true"]);
    let tarball = h.scratch().join("busybox.tar");
    h.ok(&["save", "-o", tarball.to_str().unwrap(), "busybox"]);
    let ctx = h.dir("ctx");
    write_file(&ctx.join("f"), "a file\n", 0o644);
    write_file(
        &ctx.join("Dockerfile"),
        &format!(
            "FROM busybox\nCOPY f /f\n\
             RUN [\"sh\", \"-c\", \"sleep 0.3; echo one > /one\", \"{token}\"]\n\
             RUN [\"sh\", \"-c\", \"echo two > /two\", \"{token}\"]\n"
        ),
        0o644,
    );
    let ctx = ctx.to_str().unwrap().to_string();
    let mut all = Vec::new();
    all.push(kill_rounds(
        &h,
        &mut rng,
        "build",
        &["build", "--no-cache", "-t", "killed", &ctx],
        || {},
    ));
    all.push(kill_rounds(
        &h,
        &mut rng,
        "load",
        &["load", "-i", tarball.to_str().unwrap()],
        || {
            let _ = h.cmd(&["rmi", "-f", "busybox"]);
            let _ = h.cmd(&["rmi", "-f", "killed"]);
        },
    ));
    all.push(kill_rounds(
        &h,
        &mut rng,
        "run -d",
        &["run", "-d", "busybox", "sleep", "1000"],
        || {},
    ));
    all.push(kill_rounds(
        &h,
        &mut rng,
        "rm -f",
        &["rm", "-f", "victim"],
        || {
            h.detach("victim", &["busybox", "sleep", "1000"]);
        },
    ));
    all.push(kill_rounds(
        &h,
        &mut rng,
        "stop",
        &["stop", "-t", "1", "victim"],
        || {
            h.detach("victim", &["busybox", "sleep", "1000"]);
        },
    ));
    let text = report(&all);
    eprintln!("{text}");
    assert!(
        all.iter().all(|f| f.left.is_empty()),
        "killed commands left things the next command did not clean up:\n{text}"
    );
    remove_all(&h);
    let left = poll(Duration::from_secs(5), "nothing left after rm -f", || {
        let l = h.leftovers();
        (l.is_empty() && processes_with(&token).is_empty()).then_some(l)
    });
    assert!(left.is_empty());
}

/// A RUN step's container dies with its build: no hull command needed.
#[test]
fn a_killed_build_takes_its_run_step_with_it() {
    let h = Hull::new();
    let token = token(&h);
    let ctx = h.dir("ctx");
    write_file(
        &ctx.join("Dockerfile"),
        &format!("FROM busybox\nRUN [\"sh\", \"-c\", \"sleep 300; echo never\", \"{token}\"]\n"),
        0o644,
    );
    let mut build = h.spawn(&["build", "--no-cache", ctx.to_str().unwrap()]);
    poll(Duration::from_secs(30), "the RUN step to run", || {
        (!processes_with(&token).is_empty()).then_some(())
    });
    let ids = remember_runtime_ids(&h);
    assert!(!ids.is_empty(), "a RUN step runs without runtime state");
    let _ = build.child.kill();
    build.wait(CMD_TIMEOUT);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with(&token).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let survivors = processes_with(&token);
    // Clean up before failing, so the guard's own check reports only the first problem.
    for pid in &survivors {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        survivors.is_empty(),
        "the RUN step's processes {survivors:?} outlived the killed build by 5 s"
    );
    // The next command finds nothing of the build: no container, state, mount or cgroup.
    assert_eq!(h.ok(&["ps", "-aq"]), "");
    let left = poll(
        Duration::from_secs(5),
        "the build's leftovers to go",
        || {
            let l = h.leftovers();
            l.is_empty().then_some(l)
        },
    );
    assert!(left.is_empty());
}

/// `hull load` killed while it stages the archive: the next command removes the staging.
#[test]
fn a_killed_load_leaves_no_staging() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let tarball = h.scratch().join("busybox.tar");
    h.ok(&["save", "-o", tarball.to_str().unwrap(), "busybox"]);
    h.ok(&["rmi", "busybox"]);
    let mut load = h.spawn(&["load", "-i", tarball.to_str().unwrap()]);
    let seen = poll(Duration::from_secs(30), "load to stage something", || {
        let s = staging_entries(h.root());
        (!s.is_empty()).then_some(s)
    });
    let _ = load.child.kill();
    load.wait(CMD_TIMEOUT);
    h.ok(&["images"]);
    assert_eq!(
        staging_entries(h.root()),
        Vec::<String>::new(),
        "left after a killed load (it had staged {seen:?}) and the next command"
    );
}

/// The blobs of the store that no image of its index refers to (its manifests, their configs
/// and layers), read from the files as they are.
fn unreferenced_blobs(root: &Path) -> Vec<String> {
    let blobs = root.join("images/blobs/sha256");
    let read = |hex: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(blobs.join(hex)).unwrap_or_default())
            .unwrap_or_default()
    };
    let hex = |d: &serde_json::Value| {
        d["digest"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("sha256:")
            .to_string()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("images/index.json")).unwrap()).unwrap();
    let mut used = BTreeSet::new();
    for m in index["manifests"].as_array().into_iter().flatten() {
        let manifest = hex(m);
        let doc = read(&manifest);
        used.insert(manifest);
        used.insert(hex(&doc["config"]));
        for l in doc["layers"].as_array().into_iter().flatten() {
            used.insert(hex(l));
        }
    }
    entries(&blobs)
        .into_iter()
        .filter(|b| !used.contains(b))
        .collect()
}

/// `hull ARGS…` SIGKILLed as soon as a blob that was not there before appears in the store
/// (written, not yet listed in the index); whether it was caught running.
fn kill_when_a_blob_appears(h: &Hull, args: &[&str]) -> bool {
    let blobs = h.root().join("images/blobs/sha256");
    let before = entries(&blobs);
    let mut bg = h.spawn(args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while bg.running() && Instant::now() < deadline {
        if entries(&blobs).iter().any(|b| !before.contains(b)) {
            break;
        }
    }
    let caught = bg.running();
    let _ = bg.child.kill();
    bg.wait(CMD_TIMEOUT);
    caught
}

/// `hull load` and `hull build` killed between writing a blob and listing it in the index
/// leave blobs no image refers to: the next command removes them.
#[test]
fn killed_load_and_build_leave_no_unreferenced_blobs() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let tarball = h.scratch().join("busybox.tar");
    h.ok(&["save", "-o", path_str(&tarball), "busybox"]);
    let ctx = h.dir("ctx");
    write_file(
        &ctx.join("Dockerfile"),
        "FROM busybox\nRUN echo one > /one\n",
        0o644,
    );
    let mut caught = 0;
    for round in 0..6 {
        let (what, args): (&str, Vec<&str>) = if round % 2 == 0 {
            h.ok(&["rmi", "busybox"]);
            ("load", vec!["load", "-i", path_str(&tarball)])
        } else {
            ("build", vec!["build", "--no-cache", "-q", path_str(&ctx)])
        };
        if kill_when_a_blob_appears(&h, &args) {
            caught += 1;
        }
        h.ok(&["images"]);
        let left = unreferenced_blobs(h.root());
        assert!(
            left.is_empty(),
            "round {round}: a {what} killed as it wrote a blob, then `hull images`: blobs no \
             image refers to are left: {left:?}"
        );
        if round % 2 == 0 {
            // busybox back for the build (the killed load may not have listed it).
            h.ok(&["load", "-i", path_str(&tarball)]);
        }
    }
    assert!(caught > 0, "no round caught a command writing its blobs");
}

/// `hull save -o FILE` killed mid-way leaves its temporary beside FILE: the next command
/// removes it, and only it (a file of the user's that merely looks like one stays).
#[test]
fn a_killed_save_leaves_no_temporary_beside_its_output() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let out = h.dir("out");
    // A user's file named as hull's temporaries are, with an owner tag of no live process.
    let lookalike = out.join(".img.tar.tmp-99999999.1-0-0");
    write_file(&lookalike, "the user's\n", 0o644);
    let target = out.join("img.tar");
    let mut caught = 0;
    for _ in 0..20 {
        let mut save = h.spawn(&["save", "-o", path_str(&target), "busybox"]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while save.running() && Instant::now() < deadline {
            if entries(&out)
                .iter()
                .any(|e| e.starts_with(".img.tar.tmp-") && out.join(e) != lookalike)
            {
                break;
            }
        }
        let running = save.running();
        let _ = save.child.kill();
        save.wait(CMD_TIMEOUT);
        let temporaries: Vec<String> = entries(&out)
            .into_iter()
            .filter(|e| e.starts_with('.') && out.join(e) != lookalike)
            .collect();
        if running && !temporaries.is_empty() {
            caught += 1;
        }
        h.ok(&["images"]);
        let left: Vec<String> = entries(&out)
            .into_iter()
            .filter(|e| e.starts_with('.') && out.join(e) != lookalike)
            .collect();
        assert!(
            left.is_empty(),
            "a save killed mid-way (it had left {temporaries:?}), then `hull images`: {left:?} \
             still beside the output"
        );
        assert!(
            lookalike.exists(),
            "the user's own {lookalike:?} was removed"
        );
        let _ = std::fs::remove_file(&target);
        if caught >= 3 {
            break;
        }
    }
    assert!(caught > 0, "no round caught save writing its temporary");
}

/// Two `run --name X` at once: one container gets the name, the other is refused with
/// Docker's message and status 125.
#[test]
fn two_runs_racing_for_one_name_give_it_to_one() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    for round in 0..8 {
        let name = format!("race{round}");
        let args = ["run", "-d", "--name", &name, "busybox", "sleep", "100"];
        let a = h.spawn(&args);
        let b = h.spawn(&args);
        let outs = [a.finish(CMD_TIMEOUT), b.finish(CMD_TIMEOUT)];
        let won: Vec<&std::process::Output> = outs.iter().filter(|o| o.status.success()).collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: {} runs got the name:\n{}\n{}",
            won.len(),
            describe(&outs[0]),
            describe(&outs[1])
        );
        let id = stdout(won[0]).trim().to_string();
        h.remember(&id);
        let lost = outs.iter().find(|o| !o.status.success()).unwrap();
        assert_eq!(code(lost.status), 125, "{}", describe(lost));
        let want = format!(
            "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". \
             You have to remove (or rename) that container to be able to reuse that name."
        );
        assert!(
            stderr(lost).contains(&want),
            "round {round}: want {want:?} in:\n{}",
            describe(lost)
        );
    }
    let names = stdout(&h.cmd(&["ps", "-a", "--format", "{{.Names}}"]));
    assert_eq!(names.lines().count(), 8, "{names}");
}

/// Names made up by hull: Docker's adjective_surname shape, never one in use, and `rm NAME`
/// removes the container that has it.
#[test]
fn generated_names_are_unique_and_docker_style() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let mut ids = Vec::new();
    // Four at a time: the names are chosen while other commands choose theirs.
    for _ in 0..10 {
        let batch: Vec<Background> = (0..4)
            .map(|_| h.spawn(&["run", "-d", "busybox", "true"]))
            .collect();
        for b in batch {
            let out = must("hull run -d busybox true", b.finish(CMD_TIMEOUT));
            let id = stdout(&out).trim().to_string();
            h.remember(&id);
            ids.push(id);
        }
    }
    let mut names = BTreeSet::new();
    for id in &ids {
        let name = h.inspect(id)["Name"]
            .as_str()
            .unwrap()
            .trim_start_matches('/')
            .to_string();
        let (adjective, surname) = name
            .split_once('_')
            .unwrap_or_else(|| panic!("{name:?} is not adjective_surname"));
        let surname = surname.trim_end_matches(|c: char| c.is_ascii_digit());
        assert!(
            !adjective.is_empty()
                && !surname.is_empty()
                && adjective.bytes().all(|b| b.is_ascii_lowercase())
                && surname.bytes().all(|b| b.is_ascii_lowercase()),
            "{name:?} is not adjective_surname"
        );
        assert!(names.insert(name.clone()), "{name} was given twice");
    }
    // rm NAME takes exactly the container with that name.
    let name = h.inspect(&ids[0])["Name"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    h.ok(&["rm", "-f", &name]);
    let left = stdout(&h.cmd(&["ps", "-aq"]));
    for id in &ids {
        assert_eq!(
            left.contains(&id[..12]),
            *id != ids[0],
            "after rm -f {name} (the name of {}), ps -aq lists:\n{left}",
            ids[0]
        );
    }
}

/// `hull stop` of a `run -d --rm` container: the monitor removes it as it stops; stop still
/// prints the name and succeeds, as Docker does.
#[test]
fn stop_of_a_rm_container_prints_its_name() {
    let h = Hull::new();
    for round in 0..12 {
        let name = format!("gone{round}");
        h.detach(
            &name,
            &[
                "--rm",
                "busybox",
                "sh",
                "-c",
                "trap 'exit 0' TERM; sleep 100 & wait",
            ],
        );
        let out = h.cmd(&["stop", &name]);
        assert!(
            out.status.success() && stdout(&out) == format!("{name}\n"),
            "round {round}: {}",
            describe(&out)
        );
    }
}

/// `RUN []` runs the image's command, as Docker does, and with none it is a build error that
/// names the line; never a panic, never a mount left behind.
#[test]
fn run_with_an_empty_exec_form() {
    let h = Hull::new();
    h.build(
        "runs-cmd",
        "FROM busybox\nCMD [\"sh\", \"-c\", \"echo from-cmd > /ran\"]\nRUN []\n",
        &[],
    );
    assert_eq!(
        h.ok(&["run", "--rm", "runs-cmd", "cat", "/ran"]),
        "from-cmd\n"
    );
    let out = h.build_ctx("nothing", "FROM busybox\nENTRYPOINT []\nRUN []\n", &[]);
    assert_eq!(code(out.status), 1, "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("line 3") && err.to_lowercase().contains("no command"),
        "{err}"
    );
    assert_eq!(h.mounts(), Vec::<std::path::PathBuf>::new());
}

/// Input that made hull panic (exit 101, the container left half made): a memory limit so
/// large that twice it overflows.
#[test]
fn a_huge_memory_limit_is_not_a_panic() {
    let h = Hull::new();
    let huge = "9223372036854775807";
    let runs: [&[&str]; 2] = [
        &["run", "--rm", "-m", huge, "busybox", "true"],
        &[
            "run",
            "--rm",
            "-m",
            "16m",
            "--memory-swap",
            huge,
            "busybox",
            "true",
        ],
    ];
    for args in runs {
        let out = h.cmd(args);
        assert!(
            code(out.status) != 101 && !stderr(&out).contains("panicked"),
            "hull {args:?}: {}",
            describe(&out)
        );
    }
}

/// One layer: a tar with `layer<i>` holding `i`, plus (for the first) busybox and its links.
fn layer_tar(i: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut file = |path: &str, data: &[u8], mode: u32| {
        let mut hd = tar::Header::new_gnu();
        hd.set_size(data.len() as u64);
        hd.set_mode(mode);
        hd.set_uid(0);
        hd.set_gid(0);
        hd.set_mtime(0);
        hd.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut hd, path, data).unwrap();
    };
    if i == 0 {
        let busybox = std::fs::read(hull_image::DEFAULT_PATH)
            .or_else(|_| std::fs::read("/bin/busybox"))
            .expect("a host busybox");
        file("bin/busybox", &busybox, 0o755);
    }
    file(&format!("layer{i}"), format!("{i}\n").as_bytes(), 0o644);
    let mut b = b;
    if i == 0 {
        for name in ["sh", "cat", "ls"] {
            let mut hd = tar::Header::new_gnu();
            hd.set_entry_type(tar::EntryType::Symlink);
            hd.set_size(0);
            hd.set_mode(0o777);
            hd.set_uid(0);
            hd.set_gid(0);
            hd.set_mtime(0);
            b.append_link(&mut hd, format!("bin/{name}"), "busybox")
                .unwrap();
        }
    }
    b.into_inner().unwrap()
}

fn sha256_hex(path: &Path) -> String {
    let out = run_ok("sha256sum", &[path.to_str().unwrap()]);
    out.split_whitespace().next().unwrap().to_string()
}

/// A `docker save` archive of an image of `n` layers named `name`.
fn deep_image(dir: &Path, name: &str, n: usize) -> std::path::PathBuf {
    let mut diff_ids = Vec::new();
    let mut layers = Vec::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..n {
        let bytes = layer_tar(i);
        let p = dir.join(format!("layer{i}.tar"));
        std::fs::write(&p, &bytes).unwrap();
        let hex = sha256_hex(&p);
        diff_ids.push(format!("sha256:{hex}"));
        layers.push(format!("{hex}/layer.tar"));
        files.push((format!("{hex}/layer.tar"), bytes));
    }
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": (0..n).map(|i| serde_json::json!({"created_by": format!("layer {i}")}))
            .collect::<Vec<_>>(),
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let cp = dir.join("config.json");
    std::fs::write(&cp, &config_bytes).unwrap();
    let config_name = format!("{}.json", sha256_hex(&cp));
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [format!("{name}:latest")],
        "Layers": layers,
    }]);
    files.push((config_name, config_bytes));
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut hd = tar::Header::new_gnu();
        hd.set_size(data.len() as u64);
        hd.set_mode(0o644);
        hd.set_uid(0);
        hd.set_gid(0);
        hd.set_mtime(0);
        b.append_data(&mut hd, path, &data[..]).unwrap();
    }
    let out = dir.join(format!("{name}.tar"));
    std::fs::write(&out, b.into_inner().unwrap()).unwrap();
    out
}

/// Docker runs images of up to 125 layers; overlay's mount options must not run out first.
#[test]
fn an_image_of_130_layers_runs_and_builds() {
    let h = Hull::new();
    let n = 130;
    let archive = deep_image(&h.dir("deep"), "deep", n);
    h.ok(&["load", "-i", archive.to_str().unwrap()]);
    let out = h.ok(&[
        "run",
        "--rm",
        "deep",
        "cat",
        "/layer0",
        &format!("/layer{}", n - 1),
    ]);
    assert_eq!(out, format!("0\n{}\n", n - 1));
    h.build(
        "deeper",
        "FROM deep\nRUN [\"sh\", \"-c\", \"cat /layer64 > /copied\"]\n",
        &[],
    );
    assert_eq!(h.ok(&["run", "--rm", "deeper", "cat", "/copied"]), "64\n");
}

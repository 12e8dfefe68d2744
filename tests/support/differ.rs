//! The machinery of the differential suite (tests/docker_diff.rs, whose tables say what is
//! compared): a case's steps run in Docker ([`Docker`]) and in hull at once, with the case's
//! placeholders filled in for each side, and their results compared after normalising ids and
//! times.
//!
//! A case ([`Case`]) is a name, its steps (command lines as a shell would split them, without
//! the program's name) and what to compare: stdout, exit code, and where asked stderr and
//! fields of `inspect {c}` ([`OUT`], [`CODE`], [`ERR`], [`Case::fields`]). Placeholders: `{c}`
//! and `{c2}` are container (or image) names of the case's own, `{dir}` a directory of
//! fixtures and tarballs both sides share, `{self}` and `{peer}` the side's own name and the
//! other's (`docker`, `hull`). A step starting with `- ` is setup: only its exit code is
//! compared. `@wait {c}` waits (in both) for the container to stop. `run` gets `--network
//! none` unless the step names a network (no host network changes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

/// Compare stdout (normalised).
pub const OUT: u8 = 1;
/// Compare the exit code.
pub const CODE: u8 = 1 << 1;
/// Compare stderr, normalised as a message: `docker` and `Docker` read as `hull`, and the
/// prefixes each puts before an error (`docker: `, `Error response from daemon: `, `Error: `,
/// `hull: `) dropped.
pub const ERR: u8 = 1 << 2;
/// Compare stdout as a sorted set of lines (Docker's order is not stable, e.g. `diff`).
pub const SORTED: u8 = 1 << 3;
/// Run alone, before the others (`ps` lists every container of the daemon).
pub const SERIAL: u8 = 1 << 4;
/// stdout is a pipe whose reader has gone (`hull ps | head -1`).
pub const CLOSED_STDOUT: u8 = 1 << 5;
/// stdout is /dev/full (every write fails with ENOSPC).
pub const FULL_STDOUT: u8 = 1 << 6;
/// Docker 20.10 prints this error on stdout (exec's): [`ERR`] compares Docker's stdout with
/// hull's stderr, as messages.
pub const DOCKER_ERR_ON_STDOUT: u8 = 1 << 7;
/// Stdout and exit code: what most cases compare.
pub const STD: u8 = OUT | CODE;

/// An environment variable both clients have (for `-e NAME`), and one neither has.
pub const PASS_VAR: (&str, &str) = ("HULL_DIFF_PASS", "from the client's environment");
pub const UNSET_VAR: &str = "HULL_DIFF_UNSET";
/// How many cases run at once (each runs Docker and hull at once too).
pub const WORKERS: usize = 4;
/// How long `@wait` waits for a container to stop.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(20);

/// One line of the table: see the module documentation.
pub struct Case {
    pub name: &'static str,
    pub steps: &'static [&'static str],
    pub cmp: u8,
    /// JSON pointers into `inspect {c}` compared after the steps (e.g. `/Config/Cmd`).
    pub fields: &'static [&'static str],
}

pub const fn case(name: &'static str, steps: &'static [&'static str], cmp: u8) -> Case {
    Case {
        name,
        steps,
        cmp,
        fields: &[],
    }
}

/// A case that also compares fields of `inspect {c}`.
pub const fn fields(
    name: &'static str,
    steps: &'static [&'static str],
    fields: &'static [&'static str],
) -> Case {
    Case {
        name,
        steps,
        cmp: STD,
        fields,
    }
}

/// An image both sides build from the same Dockerfile (with `--build-arg`s).
pub struct Image {
    pub tag: &'static str,
    pub dockerfile: &'static str,
    pub build_args: &'static [&'static str],
}

pub const fn image(tag: &'static str, dockerfile: &'static str) -> Image {
    Image {
        tag,
        dockerfile,
        build_args: &[],
    }
}

/// Docker or hull.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Docker,
    Hull,
}

pub const SIDES: [Side; 2] = [Side::Docker, Side::Hull];

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Docker => "docker",
            Side::Hull => "hull",
        }
    }

    pub fn peer(self) -> Side {
        match self {
            Side::Docker => Side::Hull,
            Side::Hull => Side::Docker,
        }
    }
}

/// What the cases run against: the two clients and the shared fixtures directory.
pub struct World<'a> {
    pub docker: &'a Docker,
    pub hull_bin: PathBuf,
    pub hull_root: PathBuf,
    pub dir: PathBuf,
}

impl World<'_> {
    pub fn command(&self, side: Side, args: &[String]) -> Command {
        let mut c = match side {
            Side::Docker => {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.docker.command(&refs)
            }
            // As `Hull::command` (which cannot cross threads).
            Side::Hull => {
                let mut c = Command::new(&self.hull_bin);
                c.args(args)
                    .env("HULL_ROOT", &self.hull_root)
                    .env("HULL_BRIDGE", "none")
                    .env_remove("NO_COLOR");
                c
            }
        };
        c.env(PASS_VAR.0, PASS_VAR.1).env_remove(UNSET_VAR);
        c
    }

    /// Runs one command line in both at once (one after the other with `cmp`'s
    /// [`CLOSED_STDOUT`] or [`FULL_STDOUT`]).
    pub fn both(&self, args: [Vec<String>; 2], cmp: u8) -> [Output; 2] {
        if cmp & CLOSED_STDOUT != 0 {
            return [0, 1].map(|i| with_closed_stdout(self.command(SIDES[i], &args[i])));
        }
        if cmp & FULL_STDOUT != 0 {
            return [0, 1].map(|i| with_full_stdout(self.command(SIDES[i], &args[i])));
        }
        let [d, h] = [0, 1].map(|i| Background::spawn(self.command(SIDES[i], &args[i])));
        [d.finish(CMD_TIMEOUT), h.finish(CMD_TIMEOUT)]
    }

    /// `@wait NAME`: polls `inspect` until the container is not running.
    pub fn wait_stopped(&self, side: Side, name: &str) -> Result<(), String> {
        let args = words(&format!("inspect -f '{{{{.State.Running}}}}' {name}"));
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let mut c = self.command(side, &args);
            c.stdin(Stdio::null());
            let out = capture(c, CMD_TIMEOUT);
            if stdout(&out).trim() == "false" {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not stop within {WAIT_TIMEOUT:?}: {}",
                    name,
                    describe(&out)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs `cmd` with stdout a pipe whose read end is already closed; stderr captured.
pub fn with_closed_stdout(cmd: Command) -> Output {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    with_stdout(cmd, Stdio::from(write))
}

/// Runs `cmd` with stdout /dev/full; stderr captured.
pub fn with_full_stdout(cmd: Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    with_stdout(cmd, Stdio::from(full))
}

/// Runs `cmd` with `out` as its stdout; stderr captured.
fn with_stdout(mut cmd: Command, out: Stdio) -> Output {
    let err = tempfile::tempfile().expect("a temp file for stderr");
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err.try_clone().expect("dup the stderr file"));
    let what = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {what}: {e}"));
    let status = wait_child(&mut child, CMD_TIMEOUT, &what);
    let mut stderr = Vec::new();
    use std::io::{Read, Seek};
    let mut err = err;
    err.rewind().expect("rewind the stderr file");
    err.read_to_end(&mut stderr).expect("read the stderr file");
    Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}

/// A command line split as a shell would: whitespace between words, '…' literal, "…" with
/// `\"` and `\\`.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// The placeholders of a step, for `side`.
pub fn expand(line: &str, case: &str, side: Side, dir: &Path) -> Vec<String> {
    let c = format!("dd-{}", case.replace('+', "-"));
    let line = line
        .replace("{c2}", &format!("{c}-2"))
        .replace("{c}", &c)
        .replace("{dir}", path_str(dir))
        .replace("{self}", side.name())
        .replace("{peer}", side.peer().name());
    let mut args = words(&line);
    // The suite's containers have no network in both (no host network changes).
    if args.first().is_some_and(|a| a == "run") && !args.iter().any(|a| a.starts_with("--network"))
    {
        args.insert(1, "--network".into());
        args.insert(2, "none".into());
    }
    args
}

/// Ids and times as placeholders: 64 and 12 hex digits (`sha256:` kept) → `<id>`, RFC 3339
/// times → `<time>`.
pub fn normalise(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let boundary = |j: usize| j >= b.len() || !b[j].is_ascii_alphanumeric();
    while i < b.len() {
        if i == 0 || !b[i - 1].is_ascii_alphanumeric() {
            let hex = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
                .count();
            if (hex == 64 || hex == 12) && boundary(i + hex) {
                out.push_str("<id>");
                i += hex;
                continue;
            }
            if let Some(n) = time_len(&b[i..]) {
                out.push_str("<time>");
                i += n;
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("a char at a char boundary");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The length of an RFC 3339 time at the start of `b` (`2024-01-01T00:00:00[.123][Z|+01:00]`).
pub fn time_len(b: &[u8]) -> Option<usize> {
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < shape.len()
        || !shape.iter().zip(b).all(|(s, c)| match s {
            b'd' => c.is_ascii_digit(),
            s => s == c,
        })
    {
        return None;
    }
    let mut n = shape.len();
    if b.get(n) == Some(&b'.') {
        n += 1;
        while b.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    match b.get(n) {
        Some(b'Z') => n += 1,
        Some(b'+' | b'-') if b.len() >= n + 6 => n += 6,
        _ => {}
    }
    Some(n)
}

/// stderr read as a message (see [`ERR`]).
pub fn message(text: &str) -> String {
    let mut lines: Vec<String> = normalise(text)
        .lines()
        .map(|l| {
            let mut l = l;
            for p in ["docker: ", "hull: "] {
                l = l.strip_prefix(p).unwrap_or(l);
            }
            for p in ["Error response from daemon: ", "Error: "] {
                l = l.strip_prefix(p).unwrap_or(l);
            }
            staging_dir(&l.replace("docker", "hull").replace("Docker", "hull"))
                .trim_end()
                .to_string()
        })
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.join("\n")
}

/// The directory `load` unpacks an archive into, named in its error for an empty one (an
/// absolute path ending in `tmp/NAME/repositories`), as `<staging>/repositories`: dockerd's
/// `<data root>/tmp/docker-import-N`, hull's `<root>/images/tmp/load-…`.
pub fn staging_dir(line: &str) -> String {
    line.split(' ')
        .map(|w| {
            let is_staging = w.starts_with('/')
                && w.rsplit('/').nth(2) == Some("tmp")
                && w.ends_with("/repositories:");
            if is_staging {
                "<staging>/repositories:".to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One difference between Docker and hull.
pub struct Mismatch {
    pub case: &'static str,
    pub step: String,
    pub what: String,
    pub docker: String,
    pub hull: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "case {}: `{}`: {} differs",
            self.case, self.step, self.what
        )?;
        writeln!(f, "  docker: {:?}", self.docker)?;
        write!(f, "  hull:   {:?}", self.hull)
    }
}

/// Runs one case in both; its mismatches.
pub fn run_case(w: &World, case: &Case) -> Vec<Mismatch> {
    let mut found = Vec::new();
    let mut differ = |step: &str, what: &str, d: String, h: String| {
        if d != h {
            found.push(Mismatch {
                case: case.name,
                step: step.to_string(),
                what: what.to_string(),
                docker: d,
                hull: h,
            });
        }
    };
    for step in case.steps {
        let (setup, line) = match step.strip_prefix("- ") {
            Some(l) => (true, l),
            None => (false, *step),
        };
        if let Some(name) = line.strip_prefix("@wait ") {
            let [d, h] = SIDES.map(|s| {
                let name = expand(name, case.name, s, &w.dir).join(" ");
                w.wait_stopped(s, &name).err().unwrap_or_default()
            });
            differ(step, "waiting", d, h);
            continue;
        }
        let args = SIDES.map(|s| expand(line, case.name, s, &w.dir));
        let outs = w.both(args, case.cmp);
        // Names made of {self} and {peer} read back as the placeholders.
        let unexpand = |side: Side, text: String| {
            if line.contains("{self}") || line.contains("{peer}") {
                text.replace(side.peer().name(), "{peer}")
                    .replace(side.name(), "{self}")
            } else {
                text
            }
        };
        let [d, h] = [0, 1].map(|i| {
            let o = &outs[i];
            let out = unexpand(SIDES[i], normalise(&stdout(o)));
            let out = if case.cmp & SORTED != 0 {
                let mut lines: Vec<&str> = out.lines().collect();
                lines.sort();
                lines.join("\n")
            } else {
                out
            };
            let err = match (SIDES[i], case.cmp & DOCKER_ERR_ON_STDOUT != 0) {
                (Side::Docker, true) => message(&stdout(o)),
                _ => message(&stderr(o)),
            };
            (out, code(o.status), err, stderr(o))
        });
        let context = |(_, _, _, err): &(String, i32, String, String)| err.trim().to_string();
        if setup || case.cmp & CODE != 0 {
            let what = if setup {
                "setup's exit code"
            } else {
                "exit code"
            };
            if d.1 != h.1 {
                differ(
                    step,
                    what,
                    format!("{} (stderr: {})", d.1, context(&d)),
                    format!("{} (stderr: {})", h.1, context(&h)),
                );
            }
        }
        if setup {
            continue;
        }
        if case.cmp & OUT != 0 {
            differ(step, "stdout", d.0.clone(), h.0.clone());
        }
        if case.cmp & ERR != 0 {
            differ(step, "stderr", d.2.clone(), h.2.clone());
        }
    }
    if !case.fields.is_empty() {
        let args = SIDES.map(|s| expand("inspect {c}", case.name, s, &w.dir));
        let outs = w.both(args, 0);
        let [d, h] = [0, 1].map(|i| {
            serde_json::from_slice::<Value>(&outs[i].stdout)
                .ok()
                .and_then(|v| v.get(0).cloned())
                .ok_or_else(|| describe(&outs[i]))
        });
        match (d, h) {
            (Ok(d), Ok(h)) => {
                for f in case.fields {
                    let get = |v: &Value| {
                        normalise(&v.pointer(f).cloned().unwrap_or(Value::Null).to_string())
                    };
                    differ("inspect {c}", &format!("field {f}"), get(&d), get(&h));
                }
            }
            (d, h) => differ(
                "inspect {c}",
                "inspect",
                d.map(|_| "an object".into()).unwrap_or_else(|e| e),
                h.map(|_| "an object".into()).unwrap_or_else(|e| e),
            ),
        }
    }
    // The case's containers go (named ones; --rm ones are gone already).
    let args = SIDES.map(|s| expand("rm -f {c} {c2}", case.name, s, &w.dir));
    w.both(args, 0);
    found
}

/// Builds `images` on both sides; the failures, as mismatches.
pub fn build_images(w: &World, images: &[&Image]) -> Vec<Mismatch> {
    let next = AtomicUsize::new(0);
    let found = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let Some(img) = images.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                let ctx = w.dir.join(format!("ctx-{}", img.tag));
                write_file(&ctx.join("Dockerfile"), img.dockerfile, 0o644);
                let mut line = format!("build -q -t {}", img.tag);
                for a in img.build_args {
                    line.push_str(&format!(" --build-arg {a}"));
                }
                line.push_str(&format!(" {}", path_str(&ctx)));
                let outs = w.both([words(&line), words(&line)], 0);
                if outs.iter().any(|o| !o.status.success()) {
                    let [d, h] = outs.map(|o| describe(&o));
                    found.lock().unwrap().push(Mismatch {
                        case: "(images)",
                        step: line,
                        what: "build".into(),
                        docker: d,
                        hull: h,
                    });
                }
            });
        }
    });
    found.into_inner().unwrap()
}

/// Runs `cases`: the SERIAL ones one by one first, then the rest `WORKERS` at a time.
pub fn run_cases(w: &World, cases: &[&Case]) -> Vec<Mismatch> {
    let mut found = Vec::new();
    for c in cases.iter().filter(|c| c.cmp & SERIAL != 0) {
        found.extend(run_case(w, c));
    }
    let rest: Vec<&&Case> = cases.iter().filter(|c| c.cmp & SERIAL == 0).collect();
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let Some(c) = rest.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                let m = run_case(w, c);
                shared.lock().unwrap().extend(m);
            });
        }
    });
    found.extend(shared.into_inner().unwrap());
    found
}

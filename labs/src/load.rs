//! Loading scenarios: YAML → [`Scenario`], then every rule the types cannot say. Each mistake
//! is one line naming the file, its line, the step and the field.

use std::fmt;
use std::path::Path;

use crate::locate::{locate, step_at_line, Seg};
use crate::parse::{is_name, is_slug};
use crate::schema::{Check, Scenario, Truth, FORMAT_VERSION};

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub step: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(step) = &self.step {
            write!(f, "step {step:?}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The scenarios built into the binary.
pub fn embedded() -> Result<Vec<Scenario>, LoadError> {
    EMBEDDED
        .iter()
        .map(|(name, text)| load_str(name, text))
        .collect::<Result<Vec<_>, _>>()
        .map(in_course_order)
}

/// The course's order (`order:`), then the id; labs without an order come last.
fn in_course_order(mut labs: Vec<Scenario>) -> Vec<Scenario> {
    labs.sort_by_key(|s| (if s.order == 0 { u32::MAX } else { s.order }, s.id.clone()));
    labs
}

/// Every `*.yaml` in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, LoadError> {
    let io_err = |e: std::io::Error| LoadError {
        file: dir.display().to_string(),
        line: None,
        column: None,
        step: None,
        field: None,
        message: e.to_string(),
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| load_file(p))
        .collect::<Result<Vec<_>, _>>()
        .map(in_course_order)
}

pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: path.display().to_string(),
        line: None,
        column: None,
        step: None,
        field: None,
        message: e.to_string(),
    })?;
    load_str(&path.display().to_string(), &text)
}

/// Parses and validates one scenario; `file` names it in errors (its stem must be the id).
pub fn load_str(file: &str, text: &str) -> Result<Scenario, LoadError> {
    let scenario: Scenario = serde_yaml::from_str(text).map_err(|e| {
        let loc = e.location();
        let full = strip_location(&e.to_string());
        // serde_yaml starts the message with the path ("steps[1].checks: …").
        let (path, message) = match full.split_once(": ") {
            Some((p, m)) if !p.contains(' ') && p.starts_with(|c: char| c.is_ascii_lowercase()) => {
                (Some(p.to_owned()), m.to_owned())
            }
            _ => (None, full.clone()),
        };
        let mut line = loc.as_ref().map(|l| l.line());
        let mut column = loc.as_ref().map(|l| l.column());
        let mut key = None;
        if let Some(better) = line.and_then(|l| refine_line(text, l, &message)) {
            (line, column) = (Some(better), None);
            key = text.lines().nth(better - 1).and_then(|l| {
                let k = l.trim_start().trim_start_matches("- ").split(':').next()?;
                (!k.is_empty() && !k.contains(' ')).then(|| k.to_owned())
            });
        }
        let step = line
            .and_then(|l| step_at_line(text, l))
            .map(|i| step_name(text, i));
        let field = path.map(|p| {
            let f = match p.strip_prefix("steps[") {
                Some(rest) => rest
                    .split_once("].")
                    .map_or(String::new(), |(_, f)| f.to_owned()),
                None => p,
            };
            match &key {
                Some(k) if !f.is_empty() && !f.ends_with(k.as_str()) => format!("{f}.{k}"),
                _ => f,
            }
        });
        LoadError {
            file: file.to_owned(),
            line: line.map(to_u32),
            column: column.map(to_u32),
            step,
            field: field.filter(|f| !f.is_empty()),
            message,
        }
    })?;
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    validate(&scenario, stem.as_deref()).map_err(|p| {
        let (step, field) = match p.path.as_slice() {
            [Seg::Key(s), Seg::Index(i), rest @ ..] if s == "steps" => {
                (Some(step_name(text, *i)), field_name(rest))
            }
            rest => (None, field_name(rest)),
        };
        LoadError {
            file: file.to_owned(),
            // A missing field is reported at the line of what should hold it.
            line: (1..=p.path.len())
                .rev()
                .find_map(|n| locate(text, &p.path[..n]))
                .map(to_u32),
            column: None,
            step,
            field,
            message: p.message,
        }
    })?;
    Ok(scenario)
}

/// serde reports an error inside a check at the check's first line; the offending key or
/// value is usually a few lines further down.
fn refine_line(text: &str, line: usize, message: &str) -> Option<usize> {
    let needle = if let Some(rest) = message.strip_prefix("unknown field `") {
        format!("{}:", rest.split('`').next()?)
    } else if let Some(rest) = message.strip_prefix('"') {
        rest.split('"').next().filter(|v| !v.is_empty())?.to_owned()
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        format!("{}:", rest.split('`').next()?)
    } else {
        return None;
    };
    text.lines()
        .enumerate()
        .skip(line - 1)
        .take(30)
        .find(|(_, l)| l.trim_start().trim_start_matches("- ").contains(&needle))
        .map(|(i, _)| i + 1)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn strip_location(message: &str) -> String {
    // serde_yaml appends " at line L column C"; the location is printed up front instead.
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The id of step `i` as written, else `#N`.
fn step_name(text: &str, i: usize) -> String {
    let key = [
        Seg::Key("steps".into()),
        Seg::Index(i),
        Seg::Key("id".into()),
    ];
    locate(text, &key)
        .and_then(|l| text.lines().nth(l - 1))
        .and_then(|l| l.split_once("id:"))
        .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("#{}", i + 1))
}

fn field_name(path: &[Seg]) -> Option<String> {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A semantic problem and where it is.
struct Problem {
    path: Vec<Seg>,
    message: String,
}

fn problem(path: &[&dyn ToSeg], message: impl Into<String>) -> Problem {
    Problem {
        path: path.iter().map(|s| s.to_seg()).collect(),
        message: message.into(),
    }
}

trait ToSeg {
    fn to_seg(&self) -> Seg;
}
impl ToSeg for &str {
    fn to_seg(&self) -> Seg {
        Seg::Key((*self).to_owned())
    }
}
impl ToSeg for usize {
    fn to_seg(&self) -> Seg {
        Seg::Index(*self)
    }
}

fn validate(s: &Scenario, stem: Option<&str>) -> Result<(), Problem> {
    if s.version != FORMAT_VERSION {
        return Err(problem(
            &[&"version"],
            format!(
                "this hull-lab reads version {FORMAT_VERSION}, not {}",
                s.version
            ),
        ));
    }
    if !is_slug(&s.id) {
        return Err(problem(&[&"id"], "use lowercase letters, digits and '-'"));
    }
    if let Some(stem) = stem.filter(|st| *st != s.id) {
        return Err(problem(
            &[&"id"],
            format!("{:?} must match the file name {stem:?}", s.id),
        ));
    }
    if s.title.trim().is_empty() {
        return Err(problem(&[&"title"], "must not be empty"));
    }
    if !s.chapter.ends_with(".md") || s.chapter.starts_with('/') || s.chapter.contains("..") {
        return Err(problem(
            &[&"chapter"],
            "a Markdown file relative to book/src, e.g. labs/namespaces.md",
        ));
    }
    if !(1..=240).contains(&s.minutes) {
        return Err(problem(&[&"minutes"], "from 1 to 240"));
    }
    if let Some(i) = s.setup.iter().position(|c| c.trim().is_empty()) {
        return Err(problem(&[&"setup", &i], "an empty command"));
    }
    if s.steps.is_empty() {
        return Err(problem(&[&"steps"], "a scenario needs at least one step"));
    }
    for (i, step) in s.steps.iter().enumerate() {
        let at = |field: &str, msg: String| problem(&[&"steps", &i, &field], msg);
        if !is_slug(&step.id) {
            return Err(at("id", "use lowercase letters, digits and '-'".into()));
        }
        if s.steps[..i].iter().any(|o| o.id == step.id) {
            return Err(at(
                "id",
                format!("{:?} is used by an earlier step", step.id),
            ));
        }
        if step.title.trim().is_empty() || step.task.trim().is_empty() {
            let which = if step.title.trim().is_empty() {
                "title"
            } else {
                "task"
            };
            return Err(at(which, "must not be empty".into()));
        }
        if let Some(h) = step.hints.iter().position(|h| h.trim().is_empty()) {
            return Err(problem(&[&"steps", &i, &"hints", &h], "an empty hint"));
        }
        if step.checks.is_empty() {
            return Err(at("checks", "a step needs at least one check".into()));
        }
        if step.debrief.as_deref().is_none_or(|d| d.trim().is_empty()) {
            return Err(at(
                "debrief",
                "a step needs a debrief: two or three lines of why it works, shown on a pass"
                    .into(),
            ));
        }
        if step.solution.is_empty() || step.solution.iter().any(|c| c.trim().is_empty()) {
            return Err(at(
                "solution",
                "a step needs its solution's commands, none empty".into(),
            ));
        }
        for (w, wrong) in step.wrong.iter().enumerate() {
            if wrong.name.trim().is_empty() || wrong.commands.is_empty() {
                return Err(problem(
                    &[&"steps", &i, &"wrong", &w],
                    "a wrong attempt needs a name and commands",
                ));
            }
        }
        for (c, check) in step.checks.iter().enumerate() {
            validate_check(check).map_err(|(field, msg)| {
                let mut path = vec![&"steps" as &dyn ToSeg, &i, &"checks", &c];
                if !field.is_empty() {
                    path.push(&field);
                }
                problem(&path, msg)
            })?;
        }
    }
    Ok(())
}

type CheckProblem = (&'static str, String);

fn name_ok(field: &'static str, name: &str) -> Result<(), CheckProblem> {
    if is_name(name) {
        Ok(())
    } else {
        Err((field, format!("{name:?} is not a container name")))
    }
}

const STATUSES: [&str; 6] = [
    "created",
    "running",
    "paused",
    "restarting",
    "exited",
    "dead",
];

fn validate_check(check: &Check) -> Result<(), CheckProblem> {
    match check {
        Check::Container(c) => {
            name_ok("name", &c.name)?;
            if let Some(st) = c.status.as_deref().filter(|s| !STATUSES.contains(s)) {
                return Err((
                    "status",
                    format!("{st:?} is not one of {}", STATUSES.join(", ")),
                ));
            }
            let any = c.status.is_some()
                || c.exit_code.is_some()
                || c.oom_killed.is_some()
                || c.image.is_some()
                || c.command.is_some()
                || c.memory.is_some()
                || c.pids_limit.is_some();
            if !any {
                return Err(("", "say what to expect: status, exit_code, oom_killed, image, command, memory or pids_limit".into()));
            }
        }
        Check::Command(c) => {
            if c.run.trim().is_empty() {
                return Err(("run", "an empty command".into()));
            }
            if c.says.as_deref().is_none_or(|t| t.trim().is_empty()) {
                return Err((
                    "says",
                    "a command check needs a sentence in words saying what it wants".into(),
                ));
            }
            if let Some(re) = &c.stdout_matches {
                regex::Regex::new(re).map_err(|e| ("stdout_matches", one_line(&e.to_string())))?;
            }
            if c.exit_code.is_none()
                && c.stdout_contains.is_none()
                && c.stdout_matches.is_none()
                && c.stderr_contains.is_none()
            {
                return Err(("", "say what to expect: exit_code, stdout_contains, stdout_matches or stderr_contains".into()));
            }
        }
        Check::File(c) => {
            let n = [
                c.exists.is_some(),
                c.contains.is_some(),
                c.file_type.is_some(),
            ];
            if !n.contains(&true) {
                return Err(("", "say what to expect: exists, contains or type".into()));
            }
            if c.exists == Some(false) && (c.contains.is_some() || c.file_type.is_some()) {
                return Err((
                    "exists",
                    "a file that must not exist has no contents or type".into(),
                ));
            }
        }
        Check::Http(c) => {
            if !(100..=599).contains(&c.status) {
                return Err(("status", format!("{} is not an HTTP status", c.status)));
            }
        }
        Check::Cgroup(c) => {
            name_ok("container", &c.container)?;
            cgroup_file_ok(&c.file)?;
        }
        Check::Netfilter(c) => {
            if c.port == 0 {
                return Err(("port", "ports go from 1 to 65535".into()));
            }
        }
        Check::Answer(c) => {
            let f = &c.file;
            if f.is_empty() || f.starts_with('/') || f.split('/').any(|p| p == ".." || p.is_empty())
            {
                return Err((
                    "file",
                    format!("{f:?}: a relative path inside the lab directory"),
                ));
            }
            for w in &c.wrong_answers {
                if w.value.is_none() == w.pattern.is_none() || w.diagnosis.trim().is_empty() {
                    return Err((
                        "wrong_answers",
                        "each needs a value or a pattern (one of them) and a diagnosis".into(),
                    ));
                }
                if let Some(p) = &w.pattern {
                    regex::Regex::new(p)
                        .map_err(|e| ("wrong_answers", one_line(&e.to_string())))?;
                }
            }
            match &c.truth {
                Truth::HostPidOf(n) | Truth::ArgvOf(n) | Truth::ExitCodeOf(n) => {
                    name_ok("truth", n)?
                }
                Truth::CgroupValue { container, file } => {
                    name_ok("truth", container)?;
                    cgroup_file_ok(file).map_err(|(_, m)| ("truth", m))?;
                }
                Truth::WhiteoutLayerOf { container, path }
                | Truth::OpaqueLayerOf { container, path }
                | Truth::FileInLayers { container, path } => {
                    name_ok("truth", container)?;
                    if !path.starts_with('/') || path.split('/').any(|p| p == "..") {
                        return Err((
                            "truth",
                            format!("{path:?}: an absolute path in the container"),
                        ));
                    }
                }
                Truth::DnatTargetOf(port) if *port == 0 => {
                    return Err(("truth", "ports go from 1 to 65535".into()))
                }
                Truth::DnatTargetOf(_) => {}
            }
        }
    }
    Ok(())
}

fn cgroup_file_ok(spec: &str) -> Result<(), CheckProblem> {
    let ok = spec.split('|').all(|f| {
        f.contains('.')
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    });
    if ok {
        Ok(())
    } else {
        Err(("file", format!("{spec:?}: cgroup file names like memory.max, or v1|v2 alternatives like memory.limit_in_bytes|memory.max")))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

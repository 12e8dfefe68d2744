//! The scenario file format (`version: 1`), as serde types. Unknown fields are errors; values
//! that have a syntax of their own (durations, sizes, URLs, paths) are parsed by the small
//! functions in [`crate::parse`] when the file is loaded, so a mistake is reported with its line.

use serde::Deserialize;

use crate::parse::{Bytes, Dur, FileOn, PathTemplate, UrlTemplate};

/// The one version of the format this runner reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub version: u32,
    pub id: String,
    pub title: String,
    /// The book chapter, relative to `book/src` (`labs/namespaces.md`).
    pub chapter: String,
    pub level: Level,
    pub minutes: u32,
    /// Where the lab stands in the course (`list` shows labs in this order; 0 sorts last).
    #[serde(default)]
    pub order: u32,
    /// What the sandbox must offer beyond the basics (`network`: `hull run -p`).
    #[serde(default)]
    pub requires: Vec<Feature>,
    /// Shell commands run in a fresh sandbox before the first step (each must succeed).
    #[serde(default)]
    pub setup: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    /// Container networking: `hull run -p`, `--network`.
    Network,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// Markdown shown to the learner.
    pub task: String,
    /// Revealed one at a time by `hull-lab hint`.
    #[serde(default)]
    pub hints: Vec<String>,
    pub checks: Vec<Check>,
    /// Commands a learner could type to solve the step (run by `verify` and `goto`).
    pub solution: Vec<String>,
    /// Plausible mistakes that must not pass.
    #[serde(default)]
    pub wrong: Vec<Wrong>,
    /// Two or three lines of "why it works", printed when the step passes (the loader
    /// requires it of every step).
    pub debrief: Option<String>,
    /// A prediction: the first answers written before the checks pass are kept, and the
    /// lab's recap shows them beside the real ones.
    #[serde(default)]
    pub predict: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wrong {
    pub name: String,
    /// Features this attempt needs to be meaningful; `verify` skips it without them.
    #[serde(default)]
    pub requires: Vec<Feature>,
    pub commands: Vec<String>,
}

/// One observation of the real system. `within` is how long after the last change to the
/// sandbox's containers a check that is not yet true is retried (a world that has been still
/// for longer is not waited for); `look` overrides the default "where to look" advice.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    Container(ContainerCheck),
    Command(CommandCheck),
    File(FileCheck),
    Http(HttpCheck),
    Cgroup(CgroupCheck),
    Netfilter(NetfilterCheck),
    Answer(AnswerCheck),
}

/// A container's record, through `hull inspect --format json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerCheck {
    pub name: String,
    pub status: Option<String>,
    pub exit_code: Option<i64>,
    pub oom_killed: Option<bool>,
    pub image: Option<String>,
    /// The full argv: `Path` followed by `Args`.
    pub command: Option<Vec<String>>,
    pub memory: Option<Bytes>,
    pub pids_limit: Option<i64>,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

/// A shell command run in the sandbox.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    pub run: String,
    pub exit_code: Option<i32>,
    pub stdout_contains: Option<String>,
    /// A regular expression (multi-line: `^` and `$` match at line ends).
    pub stdout_matches: Option<String>,
    pub stderr_contains: Option<String>,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    pub path: PathTemplate,
    #[serde(default)]
    pub on: FileOn,
    pub exists: Option<bool>,
    pub contains: Option<String>,
    /// `regular`, `directory`, `whiteout` (a 0/0 character device: overlayfs's deletion mark).
    #[serde(rename = "type")]
    pub file_type: Option<FileType>,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Regular,
    Directory,
    Whiteout,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// `http://HOST:PORT/PATH`; `{host_ip}` is the sandbox host's address.
    pub url: UrlTemplate,
    #[serde(default = "default_status")]
    pub status: u16,
    pub body_contains: Option<String>,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

fn default_status() -> u16 {
    200
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupCheck {
    pub container: String,
    /// A cgroup file; `a|b` names alternatives (v1|v2), the first that exists is read.
    pub file: String,
    pub equals: String,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetfilterCheck {
    /// A published port: a DNAT rule for it must be in `table ip hull`.
    pub port: u16,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

/// A file the learner writes in the lab directory, compared with a truth the checker computes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerCheck {
    pub file: String,
    pub truth: Truth,
    /// Common mistakes, each with what to tell the learner who wrote it (the first that
    /// matches a wrong answer is shown).
    #[serde(default)]
    pub wrong_answers: Vec<WrongAnswer>,
    pub within: Option<Dur>,
    pub look: Option<String>,
    /// What the check wants, as a sentence in words (required for `command` checks, whose
    /// script is no title for a learner).
    pub says: Option<String>,
}

/// A known wrong answer: a `value` (compared word for word) or a `pattern` (a regular
/// expression over the trimmed answer), and the diagnosis shown for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongAnswer {
    pub value: Option<String>,
    pub pattern: Option<String>,
    pub diagnosis: String,
}

impl WrongAnswer {
    /// Whether `written` (already trimmed) is this mistake.
    pub fn matches(&self, written: &str) -> bool {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(v) = &self.value {
            if words(v) == words(written) {
                return true;
            }
        }
        self.pattern
            .as_deref()
            .is_some_and(|p| regex::Regex::new(p).is_ok_and(|rx| rx.is_match(written)))
    }
}

/// Computations the checker does itself, from the kernel's and hull's observable state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Truth {
    /// The host PID of the container's PID 1 (found in its cgroup, by NSpid).
    HostPidOf(String),
    /// The container's PID 1 argv, read from the host's /proc/PID/cmdline.
    ArgvOf(String),
    /// The exit code of an exited container.
    ExitCodeOf(String),
    /// The value in a cgroup file of the container.
    CgroupValue { container: String, file: String },
    /// The diff id of the image layer holding a whiteout for `path`.
    WhiteoutLayerOf { container: String, path: String },
    /// The diff id of the image layer in which directory `path` is opaque.
    OpaqueLayerOf { container: String, path: String },
    /// The contents of `path` in the topmost image layer that holds it as a regular file.
    FileInLayers { container: String, path: String },
    /// The DNAT target (`IP:PORT`) of a published port.
    DnatTargetOf(u16),
}

impl Check {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Check::Container(_) => "container",
            Check::Command(_) => "command",
            Check::File(_) => "file",
            Check::Http(_) => "http",
            Check::Cgroup(_) => "cgroup",
            Check::Netfilter(_) => "netfilter",
            Check::Answer(_) => "answer",
        }
    }

    /// How long after the last change to the containers a check that is not yet true is
    /// retried.
    pub fn within(&self) -> std::time::Duration {
        use std::time::Duration;
        let (own, default) = match self {
            Check::Container(c) => (&c.within, Duration::from_secs(1)),
            Check::Command(c) => (&c.within, Duration::ZERO),
            Check::File(c) => (&c.within, Duration::ZERO),
            Check::Http(c) => (&c.within, Duration::from_secs(3)),
            Check::Cgroup(c) => (&c.within, Duration::ZERO),
            Check::Netfilter(c) => (&c.within, Duration::from_secs(1)),
            Check::Answer(c) => (&c.within, Duration::ZERO),
        };
        own.as_ref().map_or(default, |d| d.0)
    }

    /// The author's sentence for the check, if any.
    pub fn says(&self) -> Option<&str> {
        match self {
            Check::Container(c) => c.says.as_deref(),
            Check::Command(c) => c.says.as_deref(),
            Check::File(c) => c.says.as_deref(),
            Check::Http(c) => c.says.as_deref(),
            Check::Cgroup(c) => c.says.as_deref(),
            Check::Netfilter(c) => c.says.as_deref(),
            Check::Answer(c) => c.says.as_deref(),
        }
    }

    /// The author's own "where to look", if any.
    pub fn look(&self) -> Option<&str> {
        match self {
            Check::Container(c) => c.look.as_deref(),
            Check::Command(c) => c.look.as_deref(),
            Check::File(c) => c.look.as_deref(),
            Check::Http(c) => c.look.as_deref(),
            Check::Cgroup(c) => c.look.as_deref(),
            Check::Netfilter(c) => c.look.as_deref(),
            Check::Answer(c) => c.look.as_deref(),
        }
    }
}

impl Scenario {
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    pub fn needs_network(&self) -> bool {
        self.requires.contains(&Feature::Network)
    }
}

//! The runtime's error type: every variant names the file, path, field or id involved, so a
//! one-line report tells the user what to fix.

use std::path::PathBuf;

use crate::cgroups::CgroupError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{action}: {source}")]
    Sys {
        action: String,
        #[source]
        source: nix::Error,
    },
    #[error("bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("{file}: {reason}")]
    Config { file: PathBuf, reason: String },
    #[error("{file}: {source}")]
    Spec {
        file: PathBuf,
        #[source]
        source: crate::spec::SpecError,
    },
    #[error("container {id:?} does not exist")]
    NotFound { id: String },
    #[error("container {id:?} already exists")]
    Exists { id: String },
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: String },
    #[error("container {id:?} is {status}: {reason}")]
    BadState {
        id: String,
        status: String,
        reason: String,
    },
    #[error("invalid signal {0:?}: use a name like TERM, SIGKILL or a number 1-64")]
    Signal(String),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("hook {kind} {path}: {reason}")]
    Hook {
        kind: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// The sync socket between hullrt and the processes it forks failed.
    #[error("{action} on the sync socket: {source}")]
    Sync {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// A forked process (stage1, the init, an exec helper) failed and reported why; its error
    /// crossed the fork as text.
    #[error("{0}")]
    Child(String),
    #[error("expected {expected} on the sync socket, got {got:?}")]
    Protocol { expected: String, got: String },
    #[error("the container process exited before {stage}")]
    Vanished { stage: &'static str },
    #[error("process.capabilities.{field}: {reason}")]
    Capability { field: String, reason: String },
    /// A kernel setting the config asks for could not be written (sysctl, domainname, OOM
    /// score).
    #[error("{setting}: {source}")]
    Setting {
        setting: String,
        #[source]
        source: std::io::Error,
    },
    #[error("process.cwd {0}: the working directory is outside the container's root (a possible breakout): refused")]
    CwdOutsideRoot(PathBuf),
    #[error("{0:?} contains a NUL byte")]
    NulByte(String),
    #[error("too many symlinks resolving {path} in {root}")]
    SymlinkLoop { path: PathBuf, root: PathBuf },
    #[error("linux.devices {path}: type \"a\" is only valid in cgroup rules")]
    DeviceTypeA { path: PathBuf },
    #[error("{0}")]
    Unsupported(String),
    /// The program could not be started: `code` is the shell's status for it (127 not found,
    /// 126 found but not executable).
    #[error("{reason}")]
    Exec { code: i32, reason: String },
    #[error("{error}; cleanup also failed: {}", join(cleanup))]
    WithCleanup {
        error: Box<Error>,
        cleanup: Vec<Error>,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

fn join(errors: &[Error]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn sys(action: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            action: action.into(),
            source,
        }
    }
}

/// Shorthand for attaching a path to an `io::Result`.
pub trait IoContext<T> {
    fn at(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}

/// Shorthand for attaching a sentence to a `nix::Result`.
pub trait SysContext<T> {
    fn ctx(self, action: impl FnOnce() -> String) -> Result<T>;
}

impl<T> SysContext<T> for nix::Result<T> {
    fn ctx(self, action: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(action(), e))
    }
}

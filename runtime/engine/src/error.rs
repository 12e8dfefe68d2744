//! The engine's errors; each maps to Docker's exit status for `hull` itself.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("No such object: {0}")]
    NoSuchObject(String),
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("No such network: {0}")]
    NoSuchNetwork(String),
    #[error("conflict: unable to remove image {image}: container {container} is using it (remove the container first, or use -f)")]
    ImageInUse { image: String, container: String },
    #[error("network driver {0:?} is not supported: hull makes bridge networks")]
    UnsupportedDriver(String),
    #[error(transparent)]
    Flag(#[from] crate::units::FlagError),
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    #[error(transparent)]
    Format(#[from] crate::views::FormatError),
    /// Docker's words (the full id).
    #[error("Container {0} is not running")]
    NotRunning(String),
    /// `exec`: the process could not be started (`code` 126 or 127), in Docker's words.
    #[error("{reason}")]
    ExecFailed { code: i32, reason: String },
    #[error("container {0} did not stop after SIGKILL")]
    DidNotStop(String),
    #[error("you cannot remove a running container {0}: stop the container before attempting removal or force remove")]
    RemoveRunning(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("invalid container name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("multiple containers match {0:?}: use more of the id")]
    AmbiguousId(String),
    #[error("{path}: {source}")]
    CorruptRecord {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    NoCommand(#[from] crate::cmdline::NoCommand),
    #[error("conflicting options: port publishing and the container network mode")]
    PublishWithContainerNetwork,
    #[error("published ports need a bridge network, and hull's bridge networking is off here (HULL_BRIDGE=none, like dockerd --bridge=none)")]
    PublishWithBridgesOff,
    #[error("cannot join the network of container {0}: it is not running")]
    PeerNotRunning(String),
    #[error("invalid --tmpfs {0:?}: the path must be absolute")]
    TmpfsPath(String),
    /// `--stop-signal` or STOPSIGNAL: Docker's words.
    #[error("Invalid signal: {0}")]
    InvalidSignal(String),
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
    #[error("{file}: {source}")]
    Dockerfile {
        file: PathBuf,
        #[source]
        source: crate::build::dockerfile::DockerfileError,
    },
    /// A build step failed: the Dockerfile line and why.
    #[error("Dockerfile line {line}: {text}: {reason}")]
    Build {
        line: usize,
        text: String,
        reason: String,
    },
    /// A RUN step's command ended with a non-zero status, which `build` then exits with (as
    /// Docker's does).
    #[error("Dockerfile line {line}: {text}: the command returned a non-zero code: {code}")]
    RunStepFailed {
        line: usize,
        text: String,
        code: i32,
    },
    #[error(transparent)]
    BuildContext(#[from] crate::build::context::ContextError),
    #[error("the build produced no image")]
    NothingBuilt,
    #[error("failed to reach build target {0} in Dockerfile")]
    NoBuildTarget(String),
    /// The detached monitor process could not start the container and said why (its report
    /// crossed a fork as text).
    #[error("{0}")]
    Monitor(String),
    #[error("the container monitor exited before the container started")]
    MonitorVanished,
    #[error(transparent)]
    Network(crate::network::NetworkError),
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    #[error(transparent)]
    Runtime(#[from] hull_oci::Error),
    #[error(transparent)]
    Image(#[from] hull_image::ImageError),
}

impl EngineError {
    /// Docker's codes: 126 the program cannot be executed, 127 it was not found, 125 any
    /// other failure of hull itself.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Runtime(hull_oci::Error::Exec { code, .. }) => *code,
            EngineError::RunStepFailed { code, .. } => *code,
            EngineError::ExecFailed { code, .. } => *code,
            _ => 125,
        }
    }
}

impl EngineError {
    /// The message as Docker words it: a missing image is "No such image: X"; else the
    /// error itself.
    pub fn message(&self) -> String {
        match self {
            EngineError::Image(hull_image::ImageError::NotFound { reference }) => {
                format!("No such image: {reference}")
            }
            other => other.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

//! The network module's errors: each one line that names the network, link, port or rule.

use std::path::PathBuf;

use crate::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    Exists(String),
    #[error("network {0} has active endpoints")]
    InUse(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error("invalid subnet {subnet}: it overlaps with network {other} ({other_subnet})")]
    Overlap {
        subnet: String,
        other: String,
        other_subnet: String,
    },
    #[error("no free subnet left for a new network: give one with --subnet")]
    NoSubnet,
    #[error("no free IPv4 address left in network {network} ({subnet})")]
    NoAddress { network: String, subnet: String },
    #[error("port {port}/{proto} is already allocated")]
    PortAllocated { port: u16, proto: String },
    #[error("no free host port left for {container_port}/{proto} in 32768-60999")]
    NoFreePort { container_port: u16, proto: String },
    #[error("container {container} is already connected to network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("{0}")]
    Invalid(String),
    /// A program (`ip`, `nft`) ran and failed: what was asked and what it said.
    #[error("{what}: {stderr}")]
    Command { what: String, stderr: String },
    /// A program could not be started at all.
    #[error("cannot run {program} ({source}): install {package}")]
    Missing {
        program: &'static str,
        package: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid network record: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T> = std::result::Result<T, NetworkError>;

/// A closure for `map_err` that names the action and the path.
pub(crate) fn io_at(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> NetworkError {
    let path = path.into();
    move |source| NetworkError::Io {
        action,
        path,
        source,
    }
}

/// `hull` reports network errors like any other engine error (exit status 125); conflicts keep
/// their kind so a caller can tell them apart.
impl From<NetworkError> for EngineError {
    fn from(e: NetworkError) -> EngineError {
        match e {
            NetworkError::Io {
                action,
                path,
                source,
            } => EngineError::Io {
                action,
                path,
                source,
            },
            NetworkError::Exists(_)
            | NetworkError::InUse(_)
            | NetworkError::PortAllocated { .. }
            | NetworkError::AlreadyConnected { .. }
            | NetworkError::Overlap { .. } => EngineError::Conflict(e.to_string()),
            other => EngineError::Invalid(other.to_string()),
        }
    }
}

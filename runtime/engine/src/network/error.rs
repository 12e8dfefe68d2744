//! The network module's errors: each one line that names the network, link, port or rule.

use std::path::PathBuf;

use crate::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network {0}: hull's bridge networking is off here (HULL_BRIDGE=none, like dockerd --bridge=none): no bridge network can be made or joined")]
    BridgesOff(String),
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
    #[error("network {0} is ambiguous: use more of the id")]
    Ambiguous(String),
    #[error("invalid network name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at most 64)")]
    Name(String),
    #[error("invalid subnet {text:?}: {why}")]
    Subnet { text: String, why: String },
    #[error("invalid network mode {0:?}: container: needs a container name or id")]
    Mode(String),
    #[error("invalid host address {address:?} for port {port}: only IPv4 is supported")]
    HostAddress { address: String, port: u16 },
    #[error("invalid protocol {proto:?} for port {port}: tcp or udp")]
    Protocol { proto: String, port: u16 },
    #[error("invalid port 0: a port is 1-65535")]
    PortZero,
    #[error("cannot publish {address}:{port}/{proto}: address already in use on the host")]
    HostPortBusy {
        address: String,
        port: u16,
        proto: String,
    },
    #[error("invalid container id {0:?}: letters and digits only")]
    ContainerId(String),
    #[error("a container cannot be connected to network {0}: it is not a bridge network")]
    NotABridge(String),
    #[error("network {network}: bad gateway {gateway}")]
    Gateway { network: String, gateway: String },
    #[error("process {0} is in hull's own network namespace: a bridge network needs a container with a namespace of its own")]
    SharedNamespace(i32),
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
            other => EngineError::Network(other),
        }
    }
}

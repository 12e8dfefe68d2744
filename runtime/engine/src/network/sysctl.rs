//! The kernel switches a bridge network needs, set in OUR network namespace only
//! (`/proc/sys/net` shows the namespace of the process that opens it), and each as narrowly as
//! it can be: `route_localnet` per bridge, never for `all` (with `all`, every interface of the
//! namespace would take packets for 127.0.0.0/8 from its neighbours).

use std::fs;

use super::error::{io_at, Result};

pub const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// The file of `route_localnet` for one interface.
pub fn route_localnet_path(ifname: &str) -> String {
    format!("/proc/sys/net/ipv4/conf/{ifname}/route_localnet")
}

/// Writes `value` to a sysctl file unless it already holds it.
pub fn set(path: &str, value: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    fs::write(path, value).map_err(io_at("write", path))
}

/// Whether this namespace forwards IPv4 already.
pub fn forwarding_on() -> Result<bool> {
    let v = fs::read_to_string(IP_FORWARD).map_err(io_at("read", IP_FORWARD))?;
    Ok(v.trim() == "1")
}

/// Forwarding on (the namespace routes between the bridges and its other links).
pub fn enable_forwarding() -> Result<()> {
    set(IP_FORWARD, "1")
}

/// Lets the host's own 127.0.0.1:PORT be DNATed into a container on `bridge` (the packet
/// leaves through the bridge with a loopback source, and its replies come back), on that
/// bridge only. What else it would let in — packets for 127.0.0.0/8 from a container — the
/// `loopback-guard` rules drop (see [`super::nat`]).
pub fn enable_route_localnet(bridge: &str) -> Result<()> {
    set(&route_localnet_path(bridge), "1")
}

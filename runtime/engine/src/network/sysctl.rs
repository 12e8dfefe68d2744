//! The two kernel switches a bridge network needs, set in OUR network namespace only
//! (`/proc/sys/net` shows the namespace of the process that opens it).

use std::fs;

use super::error::{io_at, Result};

pub const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// Lets packets to 127.0.0.1 be DNATed out of the bridge (and their replies come back).
pub const ROUTE_LOCALNET: &str = "/proc/sys/net/ipv4/conf/all/route_localnet";

/// Writes `value` to a sysctl file unless it already holds it.
pub fn set(path: &str, value: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    fs::write(path, value).map_err(io_at("write", path))
}

/// Forwarding on, and DNAT of loopback traffic allowed.
pub fn enable_routing() -> Result<()> {
    set(IP_FORWARD, "1")?;
    set(ROUTE_LOCALNET, "1")
}

//! Links, addresses and routes, one `ip` command per kernel action: the host side in our own
//! namespace, the container side (`eth0`, `lo`) in the container's.

use super::cmd::{ip, ip_in, is_absent, NetNs};
use super::error::Result;

/// Whether a link of that name exists in our namespace.
pub fn exists(name: &str) -> Result<bool> {
    match ip(&["-o", "link", "show", "dev", name]) {
        Ok(_) => Ok(true),
        Err(e) if is_absent(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `ip link add NAME type bridge`.
pub fn add_bridge(name: &str) -> Result<()> {
    ip(&["link", "add", "name", name, "type", "bridge"]).map(drop)
}

/// A veth pair: `host_name` here, its peer `eth0` with `mac` directly in the namespace `ns`
/// (so no temporary name is ever visible in ours).
pub fn add_veth(host_name: &str, ns: &NetNs, peer: &str, mac: &str) -> Result<()> {
    let pid = ns.pid().to_string();
    ip(&[
        "link", "add", "name", host_name, "type", "veth", "peer", "name", peer, "address", mac,
        "netns", &pid,
    ])
    .map(drop)
}

/// `ip link set DEV master BRIDGE`.
pub fn set_master(dev: &str, bridge: &str) -> Result<()> {
    ip(&["link", "set", "dev", dev, "master", bridge]).map(drop)
}

/// Lets a bridge port send a frame back out the port it came in on (a container reaching its
/// own published port through the host).
pub fn set_hairpin(dev: &str) -> Result<()> {
    ip(&[
        "link",
        "set",
        "dev",
        dev,
        "type",
        "bridge_slave",
        "hairpin",
        "on",
    ])
    .map(drop)
}

/// `ip link set DEV up`.
pub fn up(dev: &str) -> Result<()> {
    ip(&["link", "set", "dev", dev, "up"]).map(drop)
}

/// `ip addr add CIDR dev DEV`; an address that is already there is fine.
pub fn add_addr(dev: &str, cidr: &str) -> Result<()> {
    match ip(&["addr", "add", cidr, "dev", dev]) {
        Err(super::NetworkError::Command { stderr, .. }) if stderr.contains("File exists") => {
            Ok(())
        }
        other => other.map(drop),
    }
}

/// `ip link del NAME`; a link that is already gone is fine.
pub fn delete(name: &str) -> Result<()> {
    match ip(&["link", "del", "dev", name]) {
        Err(e) if is_absent(&e) => Ok(()),
        other => other.map(drop),
    }
}

/// `ip link set DEV up` inside `ns`.
pub fn up_in(ns: &NetNs, dev: &str) -> Result<()> {
    ip_in(ns, &["link", "set", "dev", dev, "up"]).map(drop)
}

/// `ip addr add CIDR dev DEV` inside `ns`.
pub fn add_addr_in(ns: &NetNs, dev: &str, cidr: &str) -> Result<()> {
    ip_in(ns, &["addr", "add", cidr, "dev", dev]).map(drop)
}

/// `ip route add default via GATEWAY dev DEV` inside `ns`.
pub fn add_default_route_in(ns: &NetNs, gateway: &str, dev: &str) -> Result<()> {
    ip_in(ns, &["route", "add", "default", "via", gateway, "dev", dev]).map(drop)
}

/// The IPv4 destinations routed in our namespace (`ip -4 route`), for picking a subnet that
/// does not shadow one of them. `default` is left out.
pub fn routed_subnets() -> Result<Vec<String>> {
    let out = ip(&["-4", "-o", "route", "show", "table", "main"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|d| *d != "default")
        .map(|d| {
            if d.contains('/') {
                d.to_string()
            } else {
                format!("{d}/32")
            }
        })
        .collect())
}

//! Attaching a container to a bridge network and detaching it again.
//!
//! `connect` first decides everything that can be refused (network, ports, address), then
//! records the endpoint (so a crash in the middle leaves something `disconnect` can find),
//! then changes the kernel; when a kernel step fails, `disconnect` undoes all of it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;

use super::cmd::NetNs;
use super::error::{NetworkError, Result};
use super::hosts::{self, Entry};
use super::store::{EndpointRecord, Lock, NetworkRecord};
use super::{bridge, endpoint_of, ipam, link, nat, ports};
use super::{Endpoint, Networks, PortSpec, PublishedPort, DEFAULT_NETWORK};

/// The interface name inside the container.
pub const CONTAINER_IF: &str = "eth0";

/// What [`Networks::connect`] needs to know about a container.
#[derive(Debug, Clone, Copy)]
pub struct ConnectRequest<'a> {
    /// "bridge" or a user network's name (or id).
    pub network: &'a str,
    pub container_id: &'a str,
    pub name: &'a str,
    pub hostname: &'a str,
    /// The container's init process: its network namespace is the container's.
    pub pid: i32,
    pub ports: &'a [PortSpec],
    /// The container's /etc/hosts on the host side (bind-mounted, so rewritten in place).
    pub hosts_file: &'a Path,
}

/// The host side of a container's veth pair: "veth" + the first 7 characters of its id.
pub fn veth_name(container_id: &str) -> String {
    format!("veth{}", &container_id[..container_id.len().min(7)])
}

/// `lo` up in the network namespace of `pid` (every mode needs it, `none` included).
pub fn loopback_up(pid: i32) -> Result<()> {
    link::up_in(&NetNs::of_pid(pid)?, "lo")
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(NetworkError::ContainerId(id.to_string()));
    }
    Ok(())
}

impl Networks {
    /// Attaches the container whose init is `req.pid` to `req.network`: an address, a veth
    /// pair (`eth0` inside with a default route through the bridge), `lo` up, the published
    /// ports, and the hosts files of every container on the network. On an error nothing of
    /// this container is left behind.
    pub fn connect(&self, req: &ConnectRequest) -> Result<Endpoint> {
        check_id(req.container_id)?;
        if !matches!(req.network, "host" | "none") {
            self.bridges_on(req.network)?;
        }
        let lock = self.store.lock()?;
        let all = self.store.load_all(&lock)?;
        if let Some(r) = all
            .iter()
            .find(|r| r.endpoints.contains_key(req.container_id))
        {
            return Err(NetworkError::AlreadyConnected {
                container: req.name.into(),
                network: r.name.clone(),
            });
        }
        let mut rec = match req.network {
            "host" | "none" => return Err(NetworkError::NotABridge(req.network.to_string())),
            DEFAULT_NETWORK => self.default_record(&lock)?,
            other => self.find(&lock, other)?,
        };
        let taken: Vec<PublishedPort> = all
            .iter()
            .flat_map(|r| r.endpoints.values())
            .flat_map(|e| e.ports.iter().cloned())
            .collect();
        let published = ports::resolve(req.ports, &taken, &ports::bindable)?;
        let net = ipam::Ipv4Net::parse(&rec.subnet)?;
        let gateway: Ipv4Addr = rec.gateway.parse().map_err(|_| NetworkError::Gateway {
            network: rec.name.clone(),
            gateway: rec.gateway.clone(),
        })?;
        let used: BTreeSet<Ipv4Addr> = rec
            .endpoints
            .values()
            .filter_map(|e| e.ip.parse().ok())
            .collect();
        let ip =
            ipam::next_address(&net, gateway, &used).ok_or_else(|| NetworkError::NoAddress {
                network: rec.name.clone(),
                subnet: rec.subnet.clone(),
            })?;
        let ns = NetNs::of_pid(req.pid)?;
        if ns.is_ours()? {
            return Err(NetworkError::SharedNamespace(req.pid));
        }
        bridge::ensure(&rec)?;
        let ep = EndpointRecord {
            name: req.name.into(),
            hostname: req.hostname.into(),
            ip: ip.to_string(),
            mac: ipam::mac_for(ip),
            veth: veth_name(req.container_id),
            hosts_file: req.hosts_file.to_path_buf(),
            ports: published,
        };
        // Recorded first: whatever happens next, `disconnect` finds what to undo.
        rec.endpoints.insert(req.container_id.into(), ep.clone());
        self.store.save(&lock, &rec)?;
        if let Err(e) = plumb(&rec, &ep, &ns, net.prefix()) {
            let _ = self.undo(&lock, req.container_id, false);
            return Err(e);
        }
        let rest = nat::add_ports(req.container_id, &ep.ip, &ep.ports)
            .and_then(|()| write_hosts(&rec, Some(req.container_id)));
        if let Err(e) = rest {
            let _ = self.undo(&lock, req.container_id, true);
            return Err(e);
        }
        Ok(endpoint_of(&rec, &ep))
    }

    /// Undoes [`Networks::connect`]: the container's nft rules, its veth, its address, and its
    /// entries in the peers' hosts files. Idempotent: a container that is not connected (or
    /// never was) is fine, and costs no kernel call.
    pub fn disconnect(&self, container_id: &str) -> Result<()> {
        check_id(container_id)?;
        let lock = self.store.lock()?;
        self.undo(&lock, container_id, true)
    }

    /// The kernel state first (the record stays while any of it may be left), then the record,
    /// then the peers' hosts files. `delete_veth` is false when `connect` failed before it made
    /// the veth (or after it had taken it away again).
    fn undo(&self, lock: &Lock, container_id: &str, delete_veth: bool) -> Result<()> {
        let all = self.store.load_all(lock)?;
        let Some(mut rec) = all
            .iter()
            .find(|r| r.endpoints.contains_key(container_id))
            .cloned()
        else {
            return Ok(());
        };
        nat::remove_comment(&nat::container_comment(container_id))?;
        let ep = rec.endpoints.remove(container_id).expect("found above");
        let shared = all
            .iter()
            .flat_map(|r| r.endpoints.iter())
            .any(|(id, e)| id != container_id && e.veth == ep.veth);
        if delete_veth && !shared {
            link::delete(&ep.veth)?;
        }
        self.store.save(lock, &rec)?;
        write_hosts(&rec, None)
    }
}

/// The veth pair and the container side: eth0 with its address, up, a default route, lo up.
/// When a step after the veth's creation fails, the veth is deleted again (which takes its
/// peer, eth0, with it).
fn plumb(rec: &NetworkRecord, ep: &EndpointRecord, ns: &NetNs, prefix: u8) -> Result<()> {
    link::add_veth(&ep.veth, ns, CONTAINER_IF, &ep.mac)?;
    let rest = || -> Result<()> {
        link::set_master(&ep.veth, &rec.bridge)?;
        link::set_hairpin(&ep.veth)?;
        link::up(&ep.veth)?;
        link::add_addr_in(ns, CONTAINER_IF, &format!("{}/{prefix}", ep.ip))?;
        link::up_in(ns, "lo")?;
        link::up_in(ns, CONTAINER_IF)?;
        link::add_default_route_in(ns, &rec.gateway, CONTAINER_IF)
    };
    rest().inspect_err(|_| {
        let _ = link::delete(&ep.veth);
    })
}

/// Rewrites the hosts file of every container on the network: its own address and, on a
/// user-defined network, its peers by name and short id (the default bridge has no name
/// resolution, as in Docker). `created` is the container just connected: its file may be
/// made; a peer's file that is gone is skipped.
fn write_hosts(rec: &NetworkRecord, created: Option<&str>) -> Result<()> {
    let user_network = rec.name != DEFAULT_NETWORK;
    for (id, ep) in &rec.endpoints {
        let mut own_names = vec![ep.hostname.clone()];
        if user_network {
            own_names.push(ep.name.clone());
        }
        let own = Entry {
            ip: ep.ip.clone(),
            names: own_names,
        };
        let peers: Vec<Entry> = rec
            .endpoints
            .iter()
            .filter(|(pid, _)| user_network && *pid != id)
            .map(|(pid, p)| Entry {
                ip: p.ip.clone(),
                names: vec![p.name.clone(), pid[..pid.len().min(12)].to_string()],
            })
            .collect();
        let text = hosts::content(Some(&own), &peers);
        if created == Some(id.as_str()) {
            hosts::write_own(&ep.hosts_file, &text)?;
        } else {
            match hosts::write_in_place(&ep.hosts_file, &text) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(NetworkError::Io {
                        action: "rewrite",
                        path: ep.hosts_file.clone(),
                        source: e,
                    })
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_ifnamsiz() {
        assert_eq!(veth_name(&"a1b2c3d4e5".repeat(6)), "vetha1b2c3d");
        assert!(veth_name(&"f".repeat(64)).len() <= 15);
        assert!(check_id("abc123").is_ok());
        assert!(check_id("abc;rm").is_err());
        assert!(check_id("").is_err());
    }
}

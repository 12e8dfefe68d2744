//! Container networking in Docker's model: bridge networks, a veth pair per container, IPAM,
//! published ports (DNAT) and masquerade, and `/etc/hosts` entries for name resolution.
//!
//! Everything happens in the network namespace of the calling process: that namespace is the
//! "host" of hull, as the machine is Docker's. A sandbox (or a test) gives hull a namespace of
//! its own; nothing here ever reaches outside it. Kernel switches (`net.ipv4.ip_forward`,
//! `net.ipv4.conf.all.route_localnet`) are per namespace and set only there.
//!
//! **Decision: the kernel is driven through the distribution's `ip` and `nft` programs**, one
//! narrow wrapper function per kernel action ([`link`], [`nat`]), each error naming the link,
//! address or rule and carrying the program's stderr. They are the tools a learner uses in the
//! labs to look at the same state (`ip addr`, `ip link`, `nft list table ip hull`), so what
//! hull does can be retraced by hand, and they spare us an async netlink stack. A missing
//! program is reported as such ("install nftables", "install iproute2").
//!
//! The files: [`ipam`] (subnets, addresses, MACs: pure), [`ports`] (published ports: pure but
//! for the bind check), [`store`] (state in `HULL_ROOT/networks/`, under a lock), [`link`]
//! (veth, addresses, routes), [`bridge`] (a network's bridge and rules), [`nat`] (nftables),
//! [`hosts`] (`/etc/hosts`, `/etc/resolv.conf`), [`connect`] (attaching and detaching a
//! container), [`mode`] (`--network`).

pub mod bridge;
pub mod cmd;
pub mod connect;
pub mod error;
pub mod hosts;
pub mod ipam;
pub mod link;
pub mod mode;
pub mod nat;
pub mod ports;
pub mod store;
pub mod sysctl;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub use crate::units::PortSpec;
pub use connect::{loopback_up, ConnectRequest};
pub use error::{NetworkError, Result};
pub use hosts::resolv_conf;
pub use mode::NetworkMode;
use store::{Lock, NetworkRecord, Store};

/// The default network's name, bridge and subnet.
pub const DEFAULT_NETWORK: &str = "bridge";
pub const DEFAULT_BRIDGE: &str = "hull0";
/// Networks that exist without being created and cannot be removed.
pub const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// A network as `hull network ls` shows it. For `host` and `none`, subnet, gateway and bridge
/// are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    pub name: String,
    pub id: String,
    /// "bridge", "host" or "null".
    pub driver: String,
    pub scope: String,
    pub subnet: String,
    pub gateway: String,
    pub bridge: String,
    pub created: String,
    pub internal: bool,
}

/// A container's place on a network, as `inspect` NetworkSettings needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network: String,
    pub ip: String,
    pub prefix_len: u8,
    pub gateway: String,
    pub mac: String,
    pub ports: Vec<PublishedPort>,
}

/// One published port: `host_ip:host_port` → `container_port/proto`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// "0.0.0.0" when no address was given.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: String,
}

/// The networks of one `HULL_ROOT`.
pub struct Networks {
    store: Store,
    /// `HULL_BRIDGE=none`: hull must not touch the network of the namespace it runs in, so no
    /// bridge network is made, looked up to be joined, or joined.
    bridges_off: bool,
}

impl Networks {
    /// The networks of `hull_root`; `HULL_BRIDGE=none` in the environment turns bridges off.
    pub fn open(hull_root: &Path) -> Result<Networks> {
        Ok(Networks {
            store: Store::open(&hull_root.join("networks"))?,
            bridges_off: std::env::var("HULL_BRIDGE").as_deref() == Ok("none"),
        })
    }

    /// Refuses, naming `network`, when bridges are off.
    fn bridges_on(&self, network: &str) -> Result<()> {
        if self.bridges_off {
            return Err(NetworkError::BridgesOff(network.into()));
        }
        Ok(())
    }

    /// A user-defined bridge network. Without `subnet`, the first of 172.18.0.0/16,
    /// 172.19.0.0/16, … that overlaps no network and no route of this namespace.
    pub fn create(&self, name: &str, subnet: Option<&str>) -> Result<NetworkInfo> {
        check_name(name)?;
        self.bridges_on(name)?;
        let lock = self.store.lock()?;
        if PREDEFINED.contains(&name) || self.store.load(&lock, name)?.is_some() {
            return Err(NetworkError::Exists(name.into()));
        }
        let records = self.store.load_all(&lock)?;
        let mut taken: Vec<(String, ipam::Ipv4Net)> = records
            .iter()
            .filter_map(|r| Some((r.name.clone(), ipam::Ipv4Net::parse(&r.subnet).ok()?)))
            .collect();
        if !records.iter().any(|r| r.name == DEFAULT_NETWORK) {
            let default = ipam::Ipv4Net::parse(ipam::DEFAULT_SUBNET).expect("a valid subnet");
            taken.push((DEFAULT_NETWORK.into(), default));
        }
        let net = match subnet {
            Some(text) => {
                let net = ipam::Ipv4Net::parse(text)?;
                if let Some((other, o)) = taken.iter().find(|(_, o)| o.overlaps(&net)) {
                    return Err(NetworkError::Overlap {
                        subnet: net.to_string(),
                        other: other.clone(),
                        other_subnet: o.to_string(),
                    });
                }
                net
            }
            None => {
                let mut avoid: Vec<ipam::Ipv4Net> = taken.iter().map(|(_, n)| *n).collect();
                avoid.extend(
                    link::routed_subnets()?
                        .iter()
                        .filter_map(|r| ipam::Ipv4Net::parse_route(r)),
                );
                ipam::next_subnet(&avoid).ok_or(NetworkError::NoSubnet)?
            }
        };
        let id = crate::new_id();
        let rec = NetworkRecord {
            name: name.into(),
            bridge: format!("hull-{}", &id[..8]),
            id,
            driver: "bridge".into(),
            subnet: net.to_string(),
            gateway: net.gateway().to_string(),
            created: hull_oci::state::now_rfc3339(),
            internal: false,
            endpoints: Default::default(),
        };
        bridge::ensure(&rec)?;
        if let Err(e) = self.store.save(&lock, &rec) {
            let _ = bridge::remove(&rec);
            return Err(e);
        }
        Ok(info(&rec))
    }

    /// The default network "bridge" (bridge hull0, 172.17.0.0/16), made on first use; its
    /// bridge is (re)made when missing from this namespace.
    pub fn ensure_default(&self) -> Result<NetworkInfo> {
        self.bridges_on(DEFAULT_NETWORK)?;
        let lock = self.store.lock()?;
        let rec = self.default_record(&lock)?;
        bridge::ensure(&rec)?;
        Ok(info(&rec))
    }

    /// The stored default network, or a new one (saved).
    fn default_record(&self, lock: &Lock) -> Result<NetworkRecord> {
        if let Some(rec) = self.store.load(lock, DEFAULT_NETWORK)? {
            return Ok(rec);
        }
        let net = ipam::Ipv4Net::parse(ipam::DEFAULT_SUBNET).expect("a valid subnet");
        let rec = NetworkRecord {
            name: DEFAULT_NETWORK.into(),
            id: crate::new_id(),
            driver: "bridge".into(),
            subnet: net.to_string(),
            gateway: net.gateway().to_string(),
            bridge: DEFAULT_BRIDGE.into(),
            created: hull_oci::state::now_rfc3339(),
            internal: false,
            endpoints: Default::default(),
        };
        self.store.save(lock, &rec)?;
        Ok(rec)
    }

    /// A stored network by name or unique id prefix.
    fn find(&self, lock: &Lock, what: &str) -> Result<NetworkRecord> {
        if let Some(rec) = self.store.load(lock, what)? {
            return Ok(rec);
        }
        let mut hits: Vec<NetworkRecord> = self
            .store
            .load_all(lock)?
            .into_iter()
            .filter(|r| !what.is_empty() && r.id.starts_with(what))
            .collect();
        match hits.len() {
            1 => Ok(hits.remove(0)),
            0 => Err(NetworkError::NotFound(what.into())),
            _ => Err(NetworkError::Ambiguous(what.into())),
        }
    }

    /// One network by name or id: a bridge network or "host"/"none" ("bridge" is made here if
    /// it was not yet). Errors "network NAME not found", and for a bridge network when
    /// bridges are off.
    pub fn get(&self, what: &str) -> Result<NetworkInfo> {
        if let Some(p) = pseudo(what) {
            return Ok(p);
        }
        self.bridges_on(what)?;
        let lock = self.store.lock()?;
        if what == DEFAULT_NETWORK {
            return Ok(info(&self.default_record(&lock)?));
        }
        self.find(&lock, what).map(|r| info(&r))
    }

    /// Every network, by name: the bridge ones (with "bridge" once made), "host" and "none".
    pub fn list(&self) -> Result<Vec<NetworkInfo>> {
        let lock = self.store.lock()?;
        let mut all: Vec<NetworkInfo> = self.store.load_all(&lock)?.iter().map(info).collect();
        all.extend(["host", "none"].iter().filter_map(|n| pseudo(n)));
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// `docker network inspect` for one network (the caller wraps it in an array).
    pub fn inspect(&self, what: &str) -> Result<Value> {
        let (info, containers) = match pseudo(what) {
            Some(p) => (p, Map::new()),
            None => {
                let lock = self.store.lock()?;
                let rec = self.find(&lock, what)?;
                let prefix = ipam::Ipv4Net::parse(&rec.subnet).map_or(0, |n| n.prefix());
                let containers = rec
                    .endpoints
                    .iter()
                    .map(|(id, e)| {
                        let v = json!({
                            "Name": e.name,
                            "EndpointID": endpoint_id(&rec.id, id),
                            "MacAddress": e.mac,
                            "IPv4Address": format!("{}/{prefix}", e.ip),
                            "IPv6Address": "",
                        });
                        (id.clone(), v)
                    })
                    .collect();
                (info(&rec), containers)
            }
        };
        let config = if info.subnet.is_empty() {
            json!([])
        } else {
            json!([{ "Subnet": info.subnet, "Gateway": info.gateway }])
        };
        let mut options = Map::new();
        if !info.bridge.is_empty() {
            options.insert("com.docker.network.bridge.name".into(), json!(info.bridge));
        }
        Ok(json!({
            "Name": info.name,
            "Id": info.id,
            "Created": info.created,
            "Scope": info.scope,
            "Driver": info.driver,
            "EnableIPv6": false,
            "IPAM": { "Driver": "default", "Options": {}, "Config": config },
            "Internal": info.internal,
            "Attachable": false,
            "Containers": containers,
            "Options": options,
            "Labels": {},
        }))
    }

    /// Removes a user-defined network: its rules, its bridge, its record.
    pub fn remove(&self, what: &str) -> Result<()> {
        if PREDEFINED.contains(&what) {
            return Err(NetworkError::Predefined(what.into()));
        }
        let lock = self.store.lock()?;
        let rec = self.find(&lock, what)?;
        if rec.name == DEFAULT_NETWORK {
            return Err(NetworkError::Predefined(rec.name));
        }
        if !rec.endpoints.is_empty() {
            return Err(NetworkError::InUse(rec.name));
        }
        bridge::remove(&rec)?;
        self.store.delete(&lock, &rec.name)
    }

    /// Where a container is attached, if anywhere (for `hull port` and `inspect`).
    pub fn endpoint(&self, container_id: &str) -> Result<Option<Endpoint>> {
        let lock = self.store.lock()?;
        for rec in self.store.load_all(&lock)? {
            if let Some(e) = rec.endpoints.get(container_id) {
                return Ok(Some(endpoint_of(&rec, e)));
            }
        }
        Ok(None)
    }
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || name.len() > 64
        || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(NetworkError::Name(name.into()));
    }
    Ok(())
}

fn info(rec: &NetworkRecord) -> NetworkInfo {
    NetworkInfo {
        name: rec.name.clone(),
        id: rec.id.clone(),
        driver: rec.driver.clone(),
        scope: "local".into(),
        subnet: rec.subnet.clone(),
        gateway: rec.gateway.clone(),
        bridge: rec.bridge.clone(),
        created: rec.created.clone(),
        internal: rec.internal,
    }
}

/// "host" and "none": stable ids derived from their names.
fn pseudo(name: &str) -> Option<NetworkInfo> {
    let driver = match name {
        "host" => "host",
        "none" => "null",
        _ => return None,
    };
    Some(NetworkInfo {
        name: name.into(),
        id: hex_sha256(&format!("hull network {name}")),
        driver: driver.into(),
        scope: "local".into(),
        subnet: String::new(),
        gateway: String::new(),
        bridge: String::new(),
        created: String::new(),
        internal: false,
    })
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn endpoint_id(network_id: &str, container_id: &str) -> String {
    hex_sha256(&format!("{network_id}/{container_id}"))
}

fn endpoint_of(rec: &NetworkRecord, e: &store::EndpointRecord) -> Endpoint {
    Endpoint {
        network: rec.name.clone(),
        ip: e.ip.clone(),
        prefix_len: ipam::Ipv4Net::parse(&rec.subnet).map_or(0, |n| n.prefix()),
        gateway: rec.gateway.clone(),
        mac: e.mac.clone(),
        ports: e.ports.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["web", "my-net_1.0", "A"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "a/b", ".hidden", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pseudo_networks() {
        let h = pseudo("host").unwrap();
        assert_eq!(h.driver, "host");
        assert_eq!(h.id.len(), 64);
        assert_eq!(pseudo("none").unwrap().driver, "null");
        assert!(pseudo("bridge").is_none());
    }

    #[test]
    fn predefined_cannot_be_removed_and_unknown_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let n = Networks::open(dir.path()).unwrap();
        for p in PREDEFINED {
            let e = n.remove(p).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("{p} is a pre-defined network and cannot be removed")
            );
        }
        assert_eq!(
            n.remove("nope").unwrap_err().to_string(),
            "network nope not found"
        );
        assert_eq!(
            n.inspect("nope").unwrap_err().to_string(),
            "network nope not found"
        );
        let names: Vec<String> = n.list().unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["host", "none"]);
        assert_eq!(n.inspect("host").unwrap()["Driver"], "host");
    }
}

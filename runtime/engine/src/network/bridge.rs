//! A network's bridge and its nftables rules, made when missing and taken away with it.

use super::error::Result;
use super::store::NetworkRecord;
use super::{ipam, link, nat, sysctl};

/// Makes the bridge (address gateway/prefix, up, `route_localnet` on it) if this namespace
/// lacks it, makes the `hull` table and this network's rules if missing, and turns on
/// forwarding — after the rules, so the namespace never forwards unfiltered. Idempotent; a
/// bridge made here is deleted again when a later step fails.
pub fn ensure(rec: &NetworkRecord) -> Result<()> {
    let prefix = ipam::Ipv4Net::parse(&rec.subnet)?.prefix();
    let made = !link::exists(&rec.bridge)?;
    if made {
        link::add_bridge(&rec.bridge)?;
    }
    let rest = || -> Result<()> {
        if made {
            link::add_addr(&rec.bridge, &format!("{}/{prefix}", rec.gateway))?;
            link::up(&rec.bridge)?;
        }
        sysctl::enable_route_localnet(&rec.bridge)?;
        // As Docker: when hull is the one turning forwarding on, the namespace was no router,
        // and hull's forward chain drops what it does not forward itself.
        let rules = nat::ensure_base(!sysctl::forwarding_on()?)?;
        nat::ensure_network(&rules, &rec.id, &rec.subnet, &rec.bridge)?;
        sysctl::enable_forwarding()
    };
    rest().inspect_err(|_| {
        if made {
            let _ = link::delete(&rec.bridge);
        }
    })
}

/// Deletes the network's rules and its bridge; what is already gone is fine.
pub fn remove(rec: &NetworkRecord) -> Result<()> {
    nat::remove_comment(&nat::network_comment(&rec.id))?;
    link::delete(&rec.bridge)
}

//! Network views: `network ls`.

use serde_json::json;

use super::{Listing, ListingKind};

/// `network ls --format`: the fields of Docker's `networkContext` that hull has, and `Subnet`.
pub const NETWORKS: ListingKind = ListingKind {
    context: "*network.networkContext",
    fields: &[
        ("ID", "NETWORK ID"),
        ("Name", "NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("Subnet", "SUBNET"),
    ],
    checked_first: false,
};
use crate::network::NetworkInfo;

fn short(id: &str) -> String {
    id[..12.min(id.len())].to_string()
}

/// `hull network ls`: Docker's columns; `--format` also sees the subnet.
pub fn networks(list: &[NetworkInfo]) -> Listing {
    Listing {
        headers: &["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
        rows: list
            .iter()
            .map(|n| {
                vec![
                    short(&n.id),
                    n.name.clone(),
                    n.driver.clone(),
                    n.scope.clone(),
                ]
            })
            .collect(),
        values: list
            .iter()
            .map(|n| {
                json!({"ID": short(&n.id), "Name": n.name, "Driver": n.driver,
                       "Scope": n.scope, "Subnet": n.subnet})
            })
            .collect(),
        ids: list.iter().map(|n| short(&n.id)).collect(),
        kind: &NETWORKS,
    }
}

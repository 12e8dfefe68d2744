//! Published ports, masquerade and the forward filter with nftables, in a table of hull's own:
//! `table ip hull`. The filter does what Docker's iptables chains do:
//!
//! ```text
//! chain prerouting  (nat, prerouting, dstnat)  fib daddr type local jump hull-dnat
//! chain output      (nat, output, -100)        fib daddr type local jump hull-dnat
//! chain hull-dnat                              one DNAT rule per published port, comment "hull:<container id>"
//! chain postrouting (nat, postrouting, srcnat) per network, comment "hull-net:<network id>":
//!     ip saddr SUBNET oifname != BRIDGE masquerade                        the containers' outgoing traffic
//!     oifname BRIDGE ip saddr SUBNET ip daddr SUBNET ct status dnat masquerade   hairpin
//!     oifname BRIDGE ip saddr 127.0.0.0/8 masquerade                      the host's 127.0.0.1:PORT
//! chain loopback-guard (filter, prerouting, raw) per network:
//!     iifname BRIDGE ip daddr 127.0.0.0/8 drop                            route_localnet is on for the
//!     iifname BRIDGE ip saddr 127.0.0.0/8 drop                            bridge: nothing from it reaches 127/8
//! chain forward     (filter, forward, filter; policy drop when hull turned forwarding on, as Docker)
//!     jump hull-user                                                      DOCKER-USER: your rules first
//!     jump hull-isolation-1                                               DOCKER-ISOLATION-STAGE-1
//!     per network: oifname BRIDGE ct state established,related accept    replies
//!                  oifname BRIDGE ct status dnat accept                   published ports (DOCKER)
//!                  iifname BRIDGE accept                                  out of the containers
//! chain hull-isolation-1  per network: iifname BRIDGE oifname != BRIDGE jump hull-isolation-2
//! chain hull-isolation-2  per network: oifname BRIDGE drop                no bridge reaches another
//! ```
//!
//! The loopback guard runs at raw priority, before conntrack undoes the masquerade of the host's
//! own 127.0.0.1 connections: their replies still carry the gateway's address there, so only
//! packets a container addressed to 127.0.0.0/8 (or sent from it) are dropped.
//!
//! Rules are found again by their comment (`nft -j -a list table ip hull`) and deleted by handle.
//! Each change is one `nft -f -` transaction, so it applies whole or not at all.

use serde_json::Value;

use super::cmd::{is_absent, nft, nft_script};
use super::error::Result;
use super::PublishedPort;

pub const TABLE: &str = "hull";

/// The chain a network's loopback guard lives in: a network whose rules lack it was made by an
/// older hull, and gets its rules again.
pub const LOOPBACK_GUARD: &str = "loopback-guard";

/// The comment on a container's rules.
pub fn container_comment(container_id: &str) -> String {
    format!("hull:{container_id}")
}

/// The comment on a network's rules.
pub fn network_comment(network_id: &str) -> String {
    format!("hull-net:{network_id}")
}

/// One rule as listed: where it is, its handle and its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    pub comment: Option<String>,
}

/// The rules of a listing (`nft -j -a list …`).
pub fn parse_rules(json: &str) -> Vec<Rule> {
    let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let items = v["nftables"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            let r = item.get("rule")?;
            Some(Rule {
                family: r["family"].as_str()?.to_string(),
                table: r["table"].as_str()?.to_string(),
                chain: r["chain"].as_str()?.to_string(),
                handle: r["handle"].as_u64()?,
                comment: r["comment"].as_str().map(str::to_string),
            })
        })
        .collect()
}

/// The chain names of a listing.
fn chain_names(json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["chain"]["name"].as_str().map(str::to_string))
        .collect()
}

/// The listing of `table ip hull`, or None when the table does not exist.
fn listing() -> Result<Option<String>> {
    match nft(&["-j", "-a", "list", "table", "ip", TABLE]) {
        Ok(out) => Ok(Some(out)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The rules of `table ip hull`, or None when the table does not exist.
pub fn list() -> Result<Option<Vec<Rule>>> {
    Ok(listing()?.map(|out| parse_rules(&out)))
}

/// The chains that are not base chains, and the loopback guard: made again in a table an older
/// hull made without them (`add chain` leaves an existing chain alone).
fn filter_chains_script() -> String {
    format!(
        "add chain ip {TABLE} hull-user
add chain ip {TABLE} hull-isolation-1
add chain ip {TABLE} hull-isolation-2
add chain ip {TABLE} {LOOPBACK_GUARD} {{ type filter hook prerouting priority raw; policy accept; }}
"
    )
}

/// The table and its base chains, as one script. `drop_forward`: the forward chain's policy
/// is drop (Docker's FORWARD policy once it has turned forwarding on itself), so the namespace
/// forwards only what the rules accept, never between its other links.
pub fn base_script(drop_forward: bool) -> String {
    let policy = if drop_forward { "drop" } else { "accept" };
    format!(
        "table ip {TABLE} {{
\tchain hull-dnat {{
\t}}
\tchain prerouting {{
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tfib daddr type local jump hull-dnat
\t}}
\tchain output {{
\t\ttype nat hook output priority -100; policy accept;
\t\tfib daddr type local jump hull-dnat
\t}}
\tchain postrouting {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t}}
\tchain hull-user {{
\t}}
\tchain hull-isolation-1 {{
\t}}
\tchain hull-isolation-2 {{
\t}}
\tchain {LOOPBACK_GUARD} {{
\t\ttype filter hook prerouting priority raw; policy accept;
\t}}
\tchain forward {{
\t\ttype filter hook forward priority filter; policy {policy};
\t\tjump hull-user
\t\tjump hull-isolation-1
\t}}
}}
"
    )
}

/// Makes the table when it is missing (see [`base_script`] for `drop_forward`), and the chains
/// an older hull's table lacks; returns its rules.
pub fn ensure_base(drop_forward: bool) -> Result<Vec<Rule>> {
    let Some(out) = listing()? else {
        nft_script("nft: create table ip hull", &base_script(drop_forward))?;
        return Ok(Vec::new());
    };
    if !chain_names(&out).iter().any(|c| c == "hull-isolation-1") {
        let script = format!(
            "{}insert rule ip {TABLE} forward jump hull-isolation-1\ninsert rule ip {TABLE} forward jump hull-user\n",
            filter_chains_script()
        );
        nft_script("nft: add the filter chains to table ip hull", &script)?;
    }
    Ok(parse_rules(&out))
}

/// A network's masquerade, loopback-guard, forward and isolation rules.
pub fn network_script(network_id: &str, subnet: &str, bridge: &str) -> String {
    let c = network_comment(network_id);
    let t = TABLE;
    let g = LOOPBACK_GUARD;
    format!(
        "add rule ip {t} postrouting ip saddr {subnet} oifname != \"{bridge}\" masquerade comment \"{c}\"
add rule ip {t} postrouting oifname \"{bridge}\" ip saddr {subnet} ip daddr {subnet} ct status dnat masquerade comment \"{c}\"
add rule ip {t} postrouting oifname \"{bridge}\" ip saddr 127.0.0.0/8 masquerade comment \"{c}\"
add rule ip {t} {g} iifname \"{bridge}\" ip daddr 127.0.0.0/8 drop comment \"{c}\"
add rule ip {t} {g} iifname \"{bridge}\" ip saddr 127.0.0.0/8 drop comment \"{c}\"
add rule ip {t} hull-isolation-1 iifname \"{bridge}\" oifname != \"{bridge}\" jump hull-isolation-2 comment \"{c}\"
add rule ip {t} hull-isolation-2 oifname \"{bridge}\" drop comment \"{c}\"
add rule ip {t} forward oifname \"{bridge}\" ct state established,related accept comment \"{c}\"
add rule ip {t} forward oifname \"{bridge}\" ct status dnat accept comment \"{c}\"
add rule ip {t} forward iifname \"{bridge}\" accept comment \"{c}\"
"
    )
}

/// Adds a network's rules unless `rules` already holds them. When the namespace also has an
/// `ip filter FORWARD` chain (iptables-nft) whose policy is drop, our accepts there too: an
/// accept in our own table cannot overrule a drop in another.
pub fn ensure_network(rules: &[Rule], network_id: &str, subnet: &str, bridge: &str) -> Result<()> {
    let c = network_comment(network_id);
    let mine = |r: &&Rule| r.comment.as_deref() == Some(&c);
    if rules.iter().filter(mine).any(|r| r.chain == LOOPBACK_GUARD) {
        return Ok(());
    }
    if rules.iter().any(|r| mine(&r)) {
        // Rules of an older hull, without the guard and the isolation chains: made anew.
        remove_comment(&c)?;
    }
    let mut script = network_script(network_id, subnet, bridge);
    if filter_forward_drops()? {
        for dir in ["iifname", "oifname"] {
            script.push_str(&format!(
                "insert rule ip filter FORWARD {dir} \"{bridge}\" accept comment \"{c}\"\n"
            ));
        }
    }
    nft_script(&format!("nft: add the rules of bridge {bridge}"), &script)
}

/// Whether `ip filter FORWARD` exists with policy drop.
fn filter_forward_drops() -> Result<bool> {
    match nft(&["-j", "list", "chain", "ip", "filter", "FORWARD"]) {
        Ok(out) => {
            let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
            Ok(v["nftables"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|i| i["chain"]["policy"].as_str() == Some("drop")))
        }
        Err(e) if is_absent(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The DNAT rules for a container's published ports.
pub fn ports_script(container_id: &str, ip: &str, ports: &[PublishedPort]) -> String {
    let c = container_comment(container_id);
    ports
        .iter()
        .map(|p| {
            let daddr = if p.host_ip == "0.0.0.0" {
                String::new()
            } else {
                format!("ip daddr {} ", p.host_ip)
            };
            format!(
                "add rule ip {TABLE} hull-dnat {daddr}{proto} dport {hp} dnat to {ip}:{cp} comment \"{c}\"\n",
                proto = p.proto,
                hp = p.host_port,
                cp = p.container_port,
            )
        })
        .collect()
}

/// Publishes a container's ports (one transaction).
pub fn add_ports(container_id: &str, ip: &str, ports: &[PublishedPort]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    nft_script(
        &format!("nft: publish the ports of container {container_id}"),
        &ports_script(container_id, ip, ports),
    )
}

/// The script that deletes `rules` by handle.
pub fn delete_script(rules: &[&Rule]) -> String {
    rules
        .iter()
        .map(|r| {
            format!(
                "delete rule {} {} {} handle {}\n",
                r.family, r.table, r.chain, r.handle
            )
        })
        .collect()
}

/// Deletes every rule carrying `comment` from our table (and from `ip filter FORWARD`, where
/// [`ensure_network`] may have put some). Nothing to delete is fine.
pub fn remove_comment(comment: &str) -> Result<()> {
    let mut rules = list()?.unwrap_or_default();
    if comment.starts_with("hull-net:") {
        match nft(&["-j", "-a", "list", "chain", "ip", "filter", "FORWARD"]) {
            Ok(out) => rules.extend(parse_rules(&out)),
            Err(e) if is_absent(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let mine: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.comment.as_deref() == Some(comment))
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    nft_script(
        &format!("nft: delete the rules with comment {comment:?}"),
        &delete_script(&mine),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_rules() {
        let ports = [
            PublishedPort {
                host_ip: "0.0.0.0".into(),
                host_port: 8080,
                container_port: 80,
                proto: "tcp".into(),
            },
            PublishedPort {
                host_ip: "127.0.0.1".into(),
                host_port: 5353,
                container_port: 53,
                proto: "udp".into(),
            },
        ];
        assert_eq!(
            ports_script("c0ffee", "172.17.0.2", &ports),
            "add rule ip hull hull-dnat tcp dport 8080 dnat to 172.17.0.2:80 comment \"hull:c0ffee\"\n\
             add rule ip hull hull-dnat ip daddr 127.0.0.1 udp dport 5353 dnat to 172.17.0.2:53 comment \"hull:c0ffee\"\n"
        );
    }

    #[test]
    fn forward_policy_and_network_rules_as_docker() {
        assert!(base_script(true).contains("hook forward priority filter; policy drop;"));
        assert!(base_script(false).contains("hook forward priority filter; policy accept;"));
        let n = network_script("n1", "172.18.0.0/16", "hull-n1");
        for rule in [
            "loopback-guard iifname \"hull-n1\" ip daddr 127.0.0.0/8 drop",
            "loopback-guard iifname \"hull-n1\" ip saddr 127.0.0.0/8 drop",
            "hull-isolation-1 iifname \"hull-n1\" oifname != \"hull-n1\" jump hull-isolation-2",
            "hull-isolation-2 oifname \"hull-n1\" drop",
            "forward oifname \"hull-n1\" ct state established,related accept",
            "forward oifname \"hull-n1\" ct status dnat accept",
        ] {
            assert!(n.contains(rule), "{rule} missing from:\n{n}");
        }
        // Nothing is accepted into a bridge unconditionally.
        assert!(!n.contains("forward oifname \"hull-n1\" accept"), "{n}");
    }

    #[test]
    fn parses_a_listing() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "ip", "name": "hull", "handle": 1}},
            {"chain": {"family": "ip", "table": "hull", "name": "hull-dnat", "handle": 1}},
            {"rule": {"family": "ip", "table": "hull", "chain": "hull-dnat", "handle": 7,
                      "comment": "hull:abc", "expr": []}},
            {"rule": {"family": "ip", "table": "hull", "chain": "prerouting", "handle": 3,
                      "expr": []}}]}"#;
        let rules = parse_rules(json);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].chain, "hull-dnat");
        assert_eq!(rules[0].handle, 7);
        assert_eq!(rules[0].comment.as_deref(), Some("hull:abc"));
        assert_eq!(rules[1].comment, None);
        assert_eq!(
            delete_script(&[&rules[0]]),
            "delete rule ip hull hull-dnat handle 7\n"
        );
    }
}

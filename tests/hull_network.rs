//! End-to-end tests of hull's networking, through the `hull` CLI: published ports (`-p`, `-P`),
//! the network modes (`bridge`, a user network, `none`, `host`, `container:NAME`),
//! `hull network`, `hull port`, `inspect`'s NetworkSettings, hull's nftables rules, and that
//! nothing is left behind. They need root.
//!
//! Each test re-runs itself inside a network namespace and a private mount namespace of its own
//! (see tests/support/lab.rs): that namespace is the "host" hull works in, with a LAN link to a
//! "client" machine (another namespace). The machine's own namespaces are never touched, all
//! traffic stays between these namespaces, and every wait is bounded. `HULL_BRIDGE` is unset in
//! there, so the default network is the bridge `hull0` (172.17.0.0/16).
//!
//! Snapshots: `INSTA_UPDATE=always cargo test --test hull_network`, then read the diff of
//! tests/snapshots/.

mod support;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::json;
use support::lab::*;
use support::netns::*;
use support::{
    capture, cgroup_dirs_named_any, code, describe, poll, stderr, stdout, write_file, CMD_TIMEOUT,
};

/// The default network's gateway (its subnet is 172.17.0.0/16).
const BRIDGE_GATEWAY: &str = "172.17.0.1";

/// The test function's own name, for the re-run inside the sandbox.
macro_rules! here {
    () => {{
        fn f() {}
        let name = std::any::type_name_of_val(&f);
        let name = name.strip_suffix("::f").unwrap_or(name);
        name.rsplit("::").next().unwrap_or(name)
    }};
}

/// Whether the address `ip` lies in `net/len`.
fn in_subnet(ip: &str, net: &str, len: u32) -> bool {
    let (Ok(ip), Ok(net)) = (ip.parse::<Ipv4Addr>(), net.parse::<Ipv4Addr>()) else {
        return false;
    };
    let mask = u32::MAX << (32 - len);
    u32::from(ip) & mask == u32::from(net) & mask
}

/// The MAC Docker (and hull) derive from an IPv4 address: 02:42 and the address's bytes.
fn mac_of(ip: &str) -> String {
    let o = ip.parse::<Ipv4Addr>().expect("an IPv4 address").octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// Link names as a container's `ip -o link` prints them (without `@peer`), sorted.
fn link_names(ip_o_link: &str) -> Vec<String> {
    let mut v: Vec<String> = ip_o_link
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

/// The line of `hull ps` (or `ps -a`) that ends with the container's name.
fn ps_line(lab: &Lab, all: bool, name: &str) -> String {
    let out = lab.ok(if all { &["ps", "-a"][..] } else { &["ps"][..] });
    out.lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in hull ps:\n{out}"))
        .to_string()
}

/// The names an /etc/hosts file gives addresses.
fn names_in_hosts(hosts: &str) -> BTreeSet<String> {
    hosts
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split_whitespace().skip(1).map(str::to_string))
        .collect()
}

/// A running container's address, from `hull inspect`.
fn ip_of(lab: &Lab, container: &str) -> String {
    let ip = lab.inspect(container)["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!ip.is_empty(), "{container} has no IPAddress");
    ip
}

/// Runs each batch of commands in a thread of its own, one command after the other; the
/// outputs in the order of the commands.
fn in_threads(batches: Vec<Vec<Command>>) -> Vec<Output> {
    std::thread::scope(|s| {
        let handles: Vec<_> = batches
            .into_iter()
            .map(|batch| {
                s.spawn(move || {
                    batch
                        .into_iter()
                        .map(|c| capture(c, CMD_TIMEOUT))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a command thread panicked"))
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// Published ports
// ---------------------------------------------------------------------------------------------

#[test]
fn published_port_serves_the_lan_and_the_host() {
    in_sandbox(here!(), |lab| {
        lab.web("web", "hello from web\n", &["-p", "8080:80"]);
        let hello = Some("hello from web\n".to_string());
        // Another machine on the host's LAN.
        assert_eq!(lab.client_get(&format!("{HOST_IP}:8080")), hello);
        // The host itself, through its LAN address and through loopback.
        assert_eq!(http_get(&format!("{HOST_IP}:8080"), "/"), hello);
        assert_eq!(http_get("127.0.0.1:8080", "/"), hello);
        // And the container's own address, directly.
        let ip = ip_of(lab, "web");
        assert_eq!(http_get(&format!("{ip}:80"), "/"), hello);
        // Only that port is published.
        assert_eq!(get_once("127.0.0.1:8081", Duration::from_secs(1)), None);
        let line = ps_line(lab, false, "web");
        assert!(line.contains("0.0.0.0:8080->80/tcp"), "PORTS: {line}");
    });
}

#[test]
fn nft_table_holds_the_dnat_rules_with_the_container_comment() {
    in_sandbox(here!(), |lab| {
        let id = lab.web(
            "web",
            "x",
            &["-p", "8080:80", "-p", "127.0.0.1:5353:53/udp"],
        );
        let ip = ip_of(lab, "web");
        let table = hull_table();
        for rule in [
            format!("tcp dport 8080 dnat to {ip}:80 comment \"hull:{id}\""),
            format!("ip daddr 127.0.0.1 udp dport 5353 dnat to {ip}:53 comment \"hull:{id}\""),
        ] {
            assert!(table.contains(&rule), "no {rule:?} in:\n{table}");
        }
        let mine = table.lines().filter(|l| l.contains(&id)).count();
        assert_eq!(mine, 2, "rules of {id}:\n{table}");
        // Traffic the host sends to its own addresses goes through the DNAT chain, too.
        assert!(
            table.contains("fib daddr type local jump hull-dnat"),
            "{table}"
        );
    });
}

#[test]
fn random_host_port_is_reported_and_answers() {
    in_sandbox(here!(), |lab| {
        lab.web("web", "random\n", &["-p", "80"]);
        let port = lab.host_port("web", "80");
        assert!((32768..=60999).contains(&port), "random port {port}");
        assert_eq!(lab.host_port("web", "80/tcp"), port);
        assert_eq!(
            lab.ok(&["port", "web"]),
            format!("80/tcp -> 0.0.0.0:{port}\n")
        );
        let ns = &lab.inspect("web")["NetworkSettings"];
        assert_eq!(
            ns["Ports"],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": port.to_string()}]})
        );
        assert_eq!(
            lab.client_get(&format!("{HOST_IP}:{port}")).as_deref(),
            Some("random\n")
        );
        let line = ps_line(lab, false, "web");
        assert!(line.contains(&format!("0.0.0.0:{port}->80/tcp")), "{line}");
        // A port that is not published is an error that names it.
        let out = lab.cmd(&["port", "web", "81"]);
        assert_ne!(code(out.status), 0);
        let err = stderr(&out);
        assert!(err.contains("81/tcp") && err.contains("web"), "{err}");
        // Two random ports of two containers differ.
        lab.web("web2", "random 2\n", &["-p", "80"]);
        let port2 = lab.host_port("web2", "80");
        assert_ne!(port, port2);
        assert_eq!(
            http_get(&format!("{HOST_IP}:{port2}"), "/").as_deref(),
            Some("random 2\n")
        );
    });
}

#[test]
fn host_address_limits_who_reaches_a_published_port() {
    in_sandbox(here!(), |lab| {
        lab.web("local", "only local\n", &["-p", "127.0.0.1:8081:80"]);
        assert_eq!(lab.host_port("local", "80"), 8081);
        assert_eq!(lab.ok(&["port", "local", "80"]), "127.0.0.1:8081\n");
        assert_eq!(
            http_get("127.0.0.1:8081", "/").as_deref(),
            Some("only local\n")
        );
        // Not published on the LAN address: the client gets nothing there.
        let url = format!("http://{HOST_IP}:8081/");
        let out = lab
            .client
            .sh(&format!("timeout 2 busybox wget -q -O - {url}"));
        assert!(
            !out.status.success(),
            "the client reached {url}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    });
}

#[test]
fn publish_all_publishes_the_exposed_ports() {
    in_sandbox(here!(), |lab| {
        let ctx = lab.hull.dir("ctx");
        write_file(
            &ctx.join("Dockerfile"),
            "FROM busybox\n\
             RUN mkdir /www && echo 'hello from -P' > /www/index.html\n\
             EXPOSE 80 5353/udp\n\
             CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
            0o644,
        );
        lab.ok(&["build", "-t", "exposer", ctx.to_str().unwrap()]);
        let id = lab.detach("exp", &["-P", "exposer"]);
        let tcp = lab.host_port("exp", "80");
        let udp = lab.host_port("exp", "5353/udp");
        for p in [tcp, udp] {
            assert!((32768..=60999).contains(&p), "random port {p}");
        }
        assert_eq!(
            lab.ok(&["port", "exp"]),
            format!("5353/udp -> 0.0.0.0:{udp}\n80/tcp -> 0.0.0.0:{tcp}\n")
        );
        assert_eq!(lab.inspect("exp")["HostConfig"]["PublishAllPorts"], true);
        assert_eq!(
            lab.client_get(&format!("{HOST_IP}:{tcp}")).as_deref(),
            Some("hello from -P\n")
        );
        let table = hull_table();
        assert!(
            table.contains(&format!("udp dport {udp} dnat to"))
                && table.contains(&format!("tcp dport {tcp} dnat to")),
            "rules of {id}:\n{table}"
        );
        // Without -P, EXPOSE publishes nothing.
        lab.detach("quiet", &["exposer"]);
        assert_eq!(lab.ok(&["port", "quiet"]), "");
    });
}

// ---------------------------------------------------------------------------------------------
// Networks and modes
// ---------------------------------------------------------------------------------------------

#[test]
fn user_network_containers_reach_each_other_by_name() {
    in_sandbox(here!(), |lab| {
        let id = lab.ok(&["network", "create", "apps"]).trim().to_string();
        assert!(support::is_hex(&id, 64), "network create printed {id:?}");
        assert!(
            links().contains(&format!("hull-{}", &id[..8])),
            "{:?}",
            links()
        );
        let id_a = lab.web(
            "a",
            "hello from a\n",
            &["--network", "apps", "-p", "8082:80"],
        );
        lab.detach("b", &["--network", "apps", "busybox", "sleep", "100"]);
        for ip in [ip_of(lab, "a"), ip_of(lab, "b")] {
            assert!(in_subnet(&ip, "172.18.0.0", 16), "{ip} not in apps");
        }
        lab.exec("b", "ping -c1 -W5 a");
        lab.exec("a", "ping -c1 -W5 b");
        assert_eq!(
            lab.exec("b", "timeout 5 wget -q -O - http://a/"),
            "hello from a\n"
        );
        // By short id, too.
        lab.exec("b", &format!("ping -c1 -W5 {}", &id_a[..12]));
        // A port published from a user network answers on the LAN and on loopback.
        let hello = Some("hello from a\n".to_string());
        assert_eq!(lab.client_get(&format!("{HOST_IP}:8082")), hello);
        assert_eq!(http_get("127.0.0.1:8082", "/"), hello);
        // The default bridge has no names (as in Docker). (Names are /etc/hosts entries: looking
        // up a missing one would wait for the nameservers, which cannot be reached from here.)
        let hosts = lab.ok(&["run", "--rm", "busybox", "cat", "/etc/hosts"]);
        assert!(!names_in_hosts(&hosts).contains("a"), "{hosts}");
        // Once a is gone, its name is gone from b's /etc/hosts.
        lab.ok(&["rm", "-f", "a"]);
        let hosts = lab.exec("b", "cat /etc/hosts");
        let names = names_in_hosts(&hosts);
        assert!(
            !names.contains("a") && !names.contains(&id_a[..12]) && names.contains("b"),
            "{hosts}"
        );
    });
}

/// Docker isolates bridge networks from each other: a container on one cannot reach a
/// container on another, even by address (`DOCKER-ISOLATION-STAGE-*`).
#[test]
fn bridge_networks_are_isolated_from_each_other() {
    in_sandbox(here!(), |lab| {
        lab.ok(&["network", "create", "apps"]);
        lab.web("a", "hello from a\n", &["--network", "apps"]);
        let ip = ip_of(lab, "a");
        lab.detach("b", &["--network", "apps", "busybox", "sleep", "100"]);
        assert_eq!(
            lab.exec("b", &format!("timeout 5 wget -q -O - http://{ip}/")),
            "hello from a\n"
        );
        // busybox `timeout` execs the program in its own process: as PID 1 of the container,
        // wget would ignore timeout's SIGTERM, so a shell stays in PID 1 here.
        let out = lab.cmd(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            &format!("timeout 3 wget -q -O - http://{ip}/; exit $?"),
        ]);
        assert_ne!(
            code(out.status),
            0,
            "a container on the default bridge reached {ip} on network apps: {}",
            stdout(&out)
        );
    });
}

#[test]
fn network_none_has_only_lo() {
    in_sandbox(here!(), |lab| {
        let before = lab.state();
        let out = lab.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ip",
            "-o",
            "link",
        ]);
        assert_eq!(link_names(&out), ["lo"], "{out}");
        assert!(out.contains("UP"), "lo is not up: {out}");
        let addrs = lab.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ip",
            "-o",
            "-4",
            "addr",
        ]);
        assert_eq!(addrs.lines().count(), 1, "{addrs}");
        assert!(addrs.contains("inet 127.0.0.1/8"), "{addrs}");
        let out = lab.cmd(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ping",
            "-c1",
            "-W1",
            CLIENT_IP,
        ]);
        assert_ne!(code(out.status), 0, "--network none reached the LAN");
        lab.detach("quiet", &["--network", "none", "busybox", "sleep", "100"]);
        let ns = &lab.inspect("quiet")["NetworkSettings"];
        assert_eq!(ns["IPAddress"], "", "{ns}");
        assert_eq!(lab.inspect("quiet")["HostConfig"]["NetworkMode"], "none");
        // No bridge, veth, rule or address was made for any of it.
        assert_eq!(lab.state().net(), before.net());
    });
}

#[test]
fn network_host_sees_the_host_interfaces() {
    in_sandbox(here!(), |lab| {
        // The bridge exists from here on: the host has lo, lan0 and hull0.
        lab.ok(&["run", "--rm", "busybox", "true"]);
        let before = lab.state();
        let out = lab.ok(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "ip",
            "-o",
            "link",
        ]);
        assert_eq!(link_names(&out), before.links, "{out}");
        let addrs = lab.ok(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "ip",
            "-o",
            "-4",
            "addr",
        ]);
        assert!(addrs.contains(&format!("inet {HOST_IP}/24")), "{addrs}");
        assert!(
            addrs.contains(&format!("inet {BRIDGE_GATEWAY}/16")),
            "{addrs}"
        );
        // It is on the host's LAN, and a server in it listens on the host's addresses.
        lab.ok(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "ping",
            "-c1",
            "-W5",
            CLIENT_IP,
        ]);
        lab.web("hostweb", "on the host\n", &["--network", "host"]);
        assert_eq!(
            lab.client_get(&format!("{HOST_IP}:80")).as_deref(),
            Some("on the host\n")
        );
        assert_eq!(lab.inspect("hostweb")["NetworkSettings"]["IPAddress"], "");
        assert_eq!(
            lab.state().net(),
            before.net(),
            "--network host changed the host"
        );
    });
}

#[test]
fn network_container_shares_the_other_eth0() {
    in_sandbox(here!(), |lab| {
        lab.ok(&["run", "--rm", "busybox", "true"]);
        let base = lab.state();
        let web = lab.web("web", "hello from web\n", &["-p", "8080:80"]);
        let ip = ip_of(lab, "web");
        let out = lab.ok(&[
            "run",
            "--rm",
            "--network",
            "container:web",
            "busybox",
            "sh",
            "-c",
            "ip -o -4 addr show eth0; ip link show eth0; wget -q -O - http://127.0.0.1/",
        ]);
        assert!(out.contains(&format!("inet {ip}/16")), "{out}");
        assert!(out.contains(&mac_of(&ip)), "{out}");
        assert!(out.contains("hello from web"), "{out}");
        // A detached sharer adds nothing to the host, and removing it takes nothing of web's.
        let before = lab.state();
        lab.detach(
            "side",
            &["--network", "container:web", "busybox", "sleep", "100"],
        );
        assert!(lab
            .exec("side", "ip -o -4 addr show eth0")
            .contains(&format!("inet {ip}/16")));
        assert_eq!(lab.state().net(), before.clone().net());
        lab.ok(&["rm", "-f", "side"]);
        assert_eq!(lab.state(), before);
        assert_eq!(
            lab.client_get(&format!("{HOST_IP}:8080")).as_deref(),
            Some("hello from web\n")
        );
        // Removing web while a sharer still holds its namespace: web's veth (and with it the
        // sharer's eth0), rules and address go all the same.
        lab.detach(
            "side2",
            &["--network", "container:web", "busybox", "sleep", "100"],
        );
        lab.ok(&["rm", "-f", "web"]);
        assert!(!links().contains(&format!("veth{}", &web[..7])));
        assert_eq!(lab.state().net(), base.net());
        let left = lab.exec("side2", "ip -o link");
        assert_eq!(link_names(&left), ["lo"], "{left}");
    });
}

#[test]
fn inspect_shows_the_network_settings() {
    in_sandbox(here!(), |lab| {
        let id = lab.web("web", "x", &["-p", "8080:80"]);
        let v = lab.inspect("web");
        let ns = &v["NetworkSettings"];
        let ip = ns["IPAddress"].as_str().unwrap_or_default().to_string();
        assert!(in_subnet(&ip, "172.17.0.0", 16), "IPAddress {ip:?}: {ns}");
        assert_ne!(ip, BRIDGE_GATEWAY);
        assert_eq!(ns["IPPrefixLen"], 16, "{ns}");
        assert_eq!(ns["Gateway"], BRIDGE_GATEWAY, "{ns}");
        assert_eq!(ns["MacAddress"], mac_of(&ip), "{ns}");
        assert_eq!(
            ns["Ports"],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]})
        );
        let bridge = lab.network("bridge");
        let ep = &ns["Networks"]["bridge"];
        assert_eq!(ep["IPAddress"], ip.as_str(), "{ns}");
        assert_eq!(ep["Gateway"], BRIDGE_GATEWAY, "{ns}");
        assert_eq!(ep["MacAddress"], mac_of(&ip), "{ns}");
        assert_eq!(ep["NetworkID"], bridge["Id"], "{ns}");
        assert_eq!(v["HostConfig"]["NetworkMode"], "bridge");
        // What inspect says is what the container has, and what the network records.
        let inside = lab.exec(
            "web",
            "ip -o -4 addr show eth0; ip link show eth0; ip route",
        );
        assert!(inside.contains(&format!("inet {ip}/16")), "{inside}");
        assert!(inside.contains(&mac_of(&ip)), "{inside}");
        assert!(
            inside.contains(&format!("default via {BRIDGE_GATEWAY} dev eth0")),
            "{inside}"
        );
        let c = &bridge["Containers"][&id];
        assert_eq!(c["IPv4Address"], format!("{ip}/16"), "{bridge}");
        assert_eq!(c["MacAddress"], mac_of(&ip), "{bridge}");
        assert_eq!(c["Name"], "web", "{bridge}");
        // On a user network with its own subnet.
        lab.ok(&["network", "create", "--subnet", "10.123.0.0/24", "apps"]);
        lab.detach("u", &["--network", "apps", "busybox", "sleep", "100"]);
        let ns = &lab.inspect("u")["NetworkSettings"];
        let uip = ns["IPAddress"].as_str().unwrap_or_default();
        assert!(in_subnet(uip, "10.123.0.0", 24), "{ns}");
        assert_eq!(ns["Gateway"], "10.123.0.1", "{ns}");
        assert_eq!(ns["IPPrefixLen"], 24, "{ns}");
        assert_eq!(ns["Ports"], json!({}), "{ns}");
        assert_eq!(ns["Networks"]["apps"]["IPAddress"], uip, "{ns}");
        assert_eq!(
            ns["Networks"]["apps"]["NetworkID"],
            lab.network("apps")["Id"]
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Nothing left behind, nothing half-made
// ---------------------------------------------------------------------------------------------

#[test]
fn removing_a_container_removes_its_rules_veth_and_address() {
    in_sandbox(here!(), |lab| {
        // The bridge and hull's table exist from here on.
        lab.ok(&["run", "--rm", "busybox", "true"]);
        let before = lab.state();
        assert_eq!(before.ipam["bridge"], Vec::<String>::new());
        let id = lab.web("web", "x", &["-p", "8080:80", "-p", "9090:90/udp"]);
        let veth = format!("veth{}", &id[..7]);
        let during = lab.state();
        let mut want_links = before.links.clone();
        want_links.push(veth.clone());
        want_links.sort();
        assert_eq!(during.links, want_links);
        let new_rules: Vec<&String> = during
            .rules
            .iter()
            .filter(|r| !before.rules.contains(r))
            .collect();
        assert_eq!(new_rules.len(), 2, "{new_rules:?}");
        assert!(new_rules.iter().all(|r| r.contains(&format!("hull:{id}"))));
        assert_eq!(during.rules.len(), before.rules.len() + 2);
        let ip = ip_of(lab, "web");
        assert_eq!(during.ipam["bridge"], [format!("{ip}/16")]);
        assert_eq!(during.addresses, before.addresses);
        assert_eq!(http_get("127.0.0.1:8080", "/").as_deref(), Some("x"));

        lab.ok(&["rm", "-f", "web"]);
        let after = lab.state();
        assert_eq!(
            after,
            before,
            "counts (links, addresses, rules, IPAM, mounts) before {:?}, after {:?}",
            before.counts(),
            after.counts()
        );
        assert!(!hull_table().contains(&id));
        assert_eq!(get_once("127.0.0.1:8080", Duration::from_secs(1)), None);

        // A stopped container gives its address and ports back, too; the address is reused.
        let id2 = lab.web("web2", "y", &["-p", "8080:80"]);
        assert_eq!(ip_of(lab, "web2"), ip);
        lab.ok(&["stop", "-t", "1", "web2"]);
        let v = lab.inspect("web2");
        assert_eq!(v["State"]["Running"], false);
        assert_eq!(v["NetworkSettings"]["IPAddress"], "");
        assert_eq!(v["NetworkSettings"]["Ports"], json!({}));
        assert_eq!(lab.ok(&["port", "web2"]), "");
        let stopped = lab.state();
        assert_eq!(stopped, before, "after stop");
        assert!(!hull_table().contains(&id2));
        lab.ok(&["rm", "web2"]);
        assert_eq!(lab.state(), before);
    });
}

#[test]
fn a_port_already_published_is_refused_and_nothing_is_half_made() {
    in_sandbox(here!(), |lab| {
        lab.web("web", "first\n", &["-p", "8080:80"]);
        let before = lab.state();
        // The first -p is free, the second taken: neither is published.
        let err = lab.fails(
            125,
            &[
                "run", "-d", "--name", "web2", "-p", "9090:80", "-p", "8080:80", "busybox",
                "httpd", "-f", "-p", "80",
            ],
        );
        assert!(
            err.starts_with("hull: ") && err.contains("8080") && err.contains("already"),
            "{err}"
        );
        assert_eq!(lab.state(), before, "a refused run left something");
        assert_eq!(get_once("127.0.0.1:9090", Duration::from_secs(1)), None);
        // As Docker, the container exists but never started, and holds nothing.
        let v = lab.inspect("web2");
        assert_eq!(v["State"]["Running"], false);
        assert_eq!(v["NetworkSettings"]["IPAddress"], "");
        assert!(ps_line(lab, true, "web2").contains("Created"));
        // The same port on a specific address clashes with 0.0.0.0, too; another protocol
        // does not.
        let err = lab.fails(
            125,
            &["run", "--rm", "-p", "127.0.0.1:8080:80", "busybox", "true"],
        );
        assert!(err.contains("8080"), "{err}");
        lab.ok(&["run", "--rm", "-p", "8080:80/udp", "busybox", "true"]);
        // The first container is untouched.
        assert_eq!(
            lab.client_get(&format!("{HOST_IP}:8080")).as_deref(),
            Some("first\n")
        );
        lab.ok(&["rm", "web2"]);
        assert_eq!(lab.state(), before);
    });
}

#[test]
fn bad_port_specs_and_unknown_networks_are_refused() {
    in_sandbox(here!(), |lab| {
        let before = lab.state();
        for spec in [
            "abc",
            "80:99999",
            "0:80",
            "8080:80/sctp",
            "1.2.3:80:80",
            "-1",
        ] {
            let err = lab.fails(
                125,
                &["run", "--rm", &format!("-p={spec}"), "busybox", "true"],
            );
            assert!(
                err.contains(spec),
                "the error does not name {spec:?}: {err}"
            );
        }
        for (flags, what) in [
            (&["--network", "nope"][..], "nope"),
            (&["--network", "container:nope"][..], "nope"),
        ] {
            let mut args = vec!["run", "--rm"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["busybox", "true"]);
            let err = lab.fails(125, &args);
            assert!(err.contains(what), "{args:?}: {err}");
        }
        let err = lab.fails(125, &["run", "-d", "--network", "nope", "busybox", "true"]);
        assert!(err.contains("network nope not found"), "{err}");
        // As Docker: with no network of the container's own, -p is dropped (nothing is
        // published, so the host does not change).
        lab.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-p",
            "80",
            "busybox",
            "true",
        ]);
        lab.ok(&[
            "run",
            "--rm",
            "--network",
            "host",
            "-p",
            "80",
            "busybox",
            "true",
        ]);
        assert_eq!(lab.ok(&["ps", "-aq"]), "", "a refused run made a container");
        assert_eq!(lab.state(), before, "a refused run changed the host");
    });
}

#[test]
fn network_rm_is_refused_while_in_use_and_works_after() {
    in_sandbox(here!(), |lab| {
        // hull's table exists from here on.
        lab.ok(&["run", "--rm", "busybox", "true"]);
        let before = lab.state();
        let id = lab.ok(&["network", "create", "apps"]).trim().to_string();
        let bridge = format!("hull-{}", &id[..8]);
        let comment = format!("hull-net:{id}");
        lab.detach("a", &["--network", "apps", "busybox", "sleep", "100"]);
        assert!(hull_table().contains(&comment), "{}", hull_table());
        let out = lab.cmd(&["network", "rm", "apps"]);
        assert_ne!(
            code(out.status),
            0,
            "network rm of a network in use succeeded"
        );
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("apps") && err.contains("active endpoints"),
            "{err}"
        );
        assert!(links().contains(&bridge));
        assert!(lab.ok(&["network", "ls"]).contains("apps"));
        // Predefined networks cannot be removed at all.
        let out = lab.cmd(&["network", "rm", "bridge"]);
        assert_ne!(code(out.status), 0);
        assert!(stderr(&out).contains("pre-defined"), "{}", stderr(&out));

        lab.ok(&["rm", "-f", "a"]);
        assert_eq!(lab.ok(&["network", "rm", "apps"]), "apps\n");
        assert!(!links().contains(&bridge), "{:?}", links());
        assert!(!hull_table().contains(&comment), "{}", hull_table());
        assert!(!lab.ok(&["network", "ls"]).contains("apps"));
        let out = lab.cmd(&["network", "inspect", "apps"]);
        assert_ne!(code(out.status), 0);
        assert_eq!(
            lab.state(),
            before,
            "the network's bridge, route or rules are left"
        );
    });
}

#[test]
fn fifty_containers_started_and_removed_leave_nothing_behind() {
    in_sandbox(here!(), |lab| {
        const N: usize = 50;
        const THREADS: usize = 5;
        lab.ok(&["run", "--rm", "busybox", "true"]);
        let before = lab.state();
        let names: Vec<String> = (0..N).map(|i| format!("c{i:02}")).collect();
        // Started by five threads at once: hull must hand out addresses and ports under
        // concurrency.
        let batches: Vec<Vec<Command>> = names
            .chunks(N / THREADS)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|name| {
                        let script = format!(
                            "mkdir /w && echo {name} > /w/index.html && exec httpd -f -p 80 -h /w"
                        );
                        lab.command(&[
                            "run", "-d", "--name", name, "-p", "80", "busybox", "sh", "-c", &script,
                        ])
                    })
                    .collect()
            })
            .collect();
        let outputs = in_threads(batches);
        let mut ids = Vec::new();
        for (name, out) in names.iter().zip(&outputs) {
            assert!(out.status.success(), "run {name}: {}", describe(out));
            ids.push(stdout(out).trim().to_string());
            lab.hull.remember(stdout(out).trim());
        }
        let during = lab.state();
        let ips: BTreeSet<&String> = during.ipam["bridge"].iter().collect();
        assert_eq!(ips.len(), N, "addresses: {:?}", during.ipam);
        assert_eq!(during.links.len(), before.links.len() + N);
        assert_eq!(during.rules.len(), before.rules.len() + N);
        let mut ports = BTreeSet::new();
        for name in &names {
            let port = lab.host_port(name, "80");
            assert!(ports.insert(port), "port {port} given twice");
            // Each random port leads to its own container.
            assert_eq!(
                http_get(&format!("{HOST_IP}:{port}"), "/"),
                Some(format!("{name}\n")),
                "{name} on port {port}"
            );
        }
        let batches: Vec<Vec<Command>> = names
            .chunks(N / THREADS)
            .map(|chunk| {
                let mut args = vec!["rm", "-f"];
                args.extend(chunk.iter().map(String::as_str));
                vec![lab.command(&args)]
            })
            .collect();
        for out in in_threads(batches) {
            assert!(out.status.success(), "{}", describe(&out));
        }
        assert_eq!(lab.ok(&["ps", "-aq"]), "");
        let after = lab.state();
        assert_eq!(
            after,
            before,
            "counts (links, addresses, rules, IPAM, mounts) before {:?}, after {:?}",
            before.counts(),
            after.counts()
        );
        let cgroups: BTreeSet<String> =
            ids.iter().map(|id| format!("hull-{}", &id[..12])).collect();
        assert_eq!(cgroup_dirs_named_any(&cgroups), Vec::<PathBuf>::new());
        assert_eq!(lab.hull.mounts(), Vec::<PathBuf>::new());
        poll(Duration::from_secs(5), "the monitors to exit", || {
            lab.hull.hull_processes().is_empty().then_some(())
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Output for people
// ---------------------------------------------------------------------------------------------

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\b[0-9a-f]{64}\b", "[ID]");
    s.add_filter(r"\b[0-9a-f]{12}\b", "[SHORT_ID]");
    s.add_filter(r" {2,}", "   ");
    s
}

/// `$ hull ARGS…`, what it printed and its exit code.
fn shown(lab: &Lab, args: &[&str]) -> String {
    let out = lab.cmd(args);
    let mut text = format!("$ hull {}\n{}", args.join(" "), stdout(&out));
    if !out.stderr.is_empty() {
        text.push_str(&format!("[stderr]\n{}", stderr(&out)));
    }
    text + &format!("[exit {}]\n", code(out.status))
}

#[test]
fn network_ls_and_port_snapshots() {
    in_sandbox(here!(), |lab| {
        lab.ok(&["network", "create", "apps"]);
        lab.ok(&["network", "create", "--subnet", "10.123.0.0/24", "backend"]);
        lab.web(
            "web",
            "x",
            &["-p", "8080:80", "-p", "127.0.0.1:5353:53/udp", "-p", "81"],
        );
        let random = lab.host_port("web", "81").to_string();
        let mut text = String::new();
        for args in [
            &["network", "ls"][..],
            &[
                "network",
                "ls",
                "--format",
                "{{.Name}} {{.Driver}} {{.Subnet}}",
            ][..],
            &["port", "web"][..],
            &["port", "web", "80"][..],
            &["port", "web", "53/udp"][..],
            &["port", "web", "81/tcp"][..],
            &["port", "web", "82"][..],
            &["ps", "--format", "{{.Names}}: {{.Ports}}"][..],
        ] {
            text.push_str(&shown(lab, args));
            text.push('\n');
        }
        let mut s = settings();
        s.add_filter(&format!(r":{random}\b"), ":[RANDOM_PORT]");
        s.bind(|| insta::assert_snapshot!("network_ls_and_port", text));
    });
}

/// The containers' outgoing traffic is masqueraded: a LAN machine with no route to the
/// bridge's subnet answers them.
#[test]
fn containers_reach_the_lan_through_masquerade() {
    in_sandbox(here!(), |lab| {
        lab.client.serve(8000, "hello from the lan\n");
        let out = lab.ok(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            &format!(
                "for i in 1 2 3 4 5; do timeout 3 wget -q -O - http://{CLIENT_IP}:8000/index.html && exit 0; sleep 0.3; done; exit 1"
            ),
        ]);
        assert_eq!(out, "hello from the lan\n");
    });
}

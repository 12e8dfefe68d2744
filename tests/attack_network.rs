//! What hull's networking opens on its host (issue 12), attacked from a container and from the
//! LAN. Docker's rules are the spec: `route_localnet` only on the bridges (never `all`), nothing
//! from a bridge reaches the host's 127.0.0.0/8, forwarded traffic into a bridge only when it
//! is a reply or a published port (the `DOCKER` chain), nothing between two bridges
//! (`DOCKER-ISOLATION`), no routing between the host's other interfaces once hull turned
//! forwarding on (Docker's FORWARD policy drop), and `HULL_BRIDGE=none` (`dockerd
//! --bridge=none`) never makes a bridge.
//!
//! Each test re-runs itself in a network namespace of its own (tests/support/netns.rs), which is
//! the "host"; containers and LAN machines are processes with namespaces of their own. The
//! machine's own namespace is never touched and all traffic stays between these namespaces.

mod support;

use std::fs;

use support::netns::*;
use support::{code, describe, run_ok, stderr, Hull};

fn route_localnet(ifname: &str) -> String {
    let p = format!("/proc/sys/net/ipv4/conf/{ifname}/route_localnet");
    fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .trim()
        .to_string()
}

/// This test's own namespace starts with forwarding off, whatever the machine's is, so that
/// hull is the one that turns it on (as Docker, it then drops what it does not forward itself).
fn forwarding_off() {
    fs::write("/proc/sys/net/ipv4/ip_forward", "0").unwrap();
}

#[test]
fn route_localnet_is_set_on_the_bridges_only() {
    in_own_netns("route_localnet_is_set_on_the_bridges_only", |h| {
        let apps = h.nets.create("apps", None).unwrap();
        let default = h.nets.ensure_default().unwrap();
        assert_eq!(
            route_localnet("all"),
            "0",
            "hull set route_localnet for all"
        );
        assert_eq!(route_localnet("lan0"), "0");
        assert_eq!(route_localnet(&apps.bridge), "1");
        assert_eq!(route_localnet(&default.bridge), "1");
        // The host's own 127.0.0.1 still reaches a published port through the bridge.
        let mut c = Ctr::new("web");
        c.connect(&h.nets, "apps", &[port(Some(8080), 80, "tcp")])
            .unwrap();
        c.proc.serve(80, "published\n");
        assert_eq!(
            http_get("127.0.0.1:8080", "/index.html").as_deref(),
            Some("published\n")
        );
        h.nets.disconnect(&c.id).unwrap();
    });
}

/// A container that routes 127.0.0.0/8 to its gateway (it has CAP_NET_RAW by default and can
/// craft such packets; here it simply owns its namespace) must not get a single packet
/// delivered to the host's loopback addresses: a UDP service bound to 127.0.0.1 would take it.
/// The host counts, in a probe table of the test's own, what arrives for local delivery from
/// the bridge with a 127.0.0.0/8 destination.
#[test]
fn nothing_from_a_bridge_reaches_the_hosts_loopback() {
    in_own_netns("nothing_from_a_bridge_reaches_the_hosts_loopback", |h| {
        let apps = h.nets.create("apps", None).unwrap();
        run_ok("nft", &["add", "table", "ip", "probe"]);
        run_ok(
            "nft",
            &["add chain ip probe input { type filter hook input priority 0; policy accept; }"],
        );
        run_ok(
            "nft",
            &[&format!(
                "add rule ip probe input iifname \"{}\" ip daddr 127.0.0.0/8 counter",
                apps.bridge
            )],
        );
        let c = Ctr::new("evil");
        c.connect(&h.nets, "apps", &[]).unwrap();
        c.proc.sh_ok(&format!(
            "ip route del local 127.0.0.0/8 dev lo table local && \
             ip route del local 127.0.0.1 dev lo table local && \
             echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && \
             echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet && \
             ip route add 127.0.0.0/8 via {gw} dev eth0",
            gw = apps.gateway
        ));
        let _ = c.proc.sh("busybox ping -c2 -W1 127.0.0.1");
        let _ = c
            .proc
            .sh("timeout 3 busybox wget -q -O - http://127.0.0.1:9999/");
        let probe = run_ok("nft", &["list", "chain", "ip", "probe", "input"]);
        assert!(
            probe.contains("counter packets 0 bytes 0"),
            "packets from the bridge were delivered to the host's 127.0.0.0/8:\n{probe}"
        );
        h.nets.disconnect(&c.id).unwrap();
    });
}

/// From the LAN, a container's unpublished port is not reachable even with a route to its
/// subnet, while a published one is; and once hull turned forwarding on, the host does not
/// route between its other interfaces either.
#[test]
fn only_replies_and_published_ports_are_forwarded() {
    in_own_netns("only_replies_and_published_ports_are_forwarded", |h| {
        forwarding_off();
        let apps = h.nets.create("apps", None).unwrap();
        assert_eq!(
            fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .unwrap()
                .trim(),
            "1"
        );
        let mut c = Ctr::new("web");
        let ep = c
            .connect(&h.nets, "apps", &[port(Some(8081), 81, "tcp")])
            .unwrap();
        c.proc.serve(80, "unpublished\n");
        c.proc.serve(81, "published\n");
        h.client
            .sh_ok(&format!("ip route add {} via {HOST_IP}", apps.subnet));
        assert_eq!(
            h.client
                .wget(&format!("http://{HOST_IP}:8081/index.html"))
                .as_deref(),
            Some("published\n")
        );
        let direct = h.client.sh(&format!(
            "timeout 3 busybox wget -q -O - http://{}:80/index.html",
            ep.ip
        ));
        assert_ne!(
            code(direct.status),
            0,
            "the LAN reached an unpublished port of {}: {}",
            ep.ip,
            describe(&direct)
        );
        // The container still reaches the LAN (masquerade), and gets its replies.
        c.proc.sh_ok(&format!("busybox ping -c1 -W5 {CLIENT_IP}"));

        // A second LAN: the client must not be routed to it through the host.
        let other = Proc::spawn();
        let pid = other.pid.to_string();
        run_ok(
            "ip",
            &[
                "link", "add", "lan1", "type", "veth", "peer", "name", "eth0", "netns", &pid,
            ],
        );
        run_ok("ip", &["addr", "add", "10.232.0.1/24", "dev", "lan1"]);
        run_ok("ip", &["link", "set", "lan1", "up"]);
        other.sh_ok(
            "ip addr add 10.232.0.2/24 dev eth0 && ip link set eth0 up && \
             ip route add default via 10.232.0.1",
        );
        h.client
            .sh_ok(&format!("ip route add 10.232.0.0/24 via {HOST_IP}"));
        let routed = h.client.sh("busybox ping -c1 -W2 10.232.0.2");
        assert_ne!(
            code(routed.status),
            0,
            "the host routed between its LANs once hull turned forwarding on: {}",
            describe(&routed)
        );
        h.nets.disconnect(&c.id).unwrap();
    });
}

/// Two bridge networks: nothing crosses from one to the other, in either direction, while
/// each container keeps reaching the LAN.
#[test]
fn bridges_are_isolated_both_ways() {
    in_own_netns("bridges_are_isolated_both_ways", |h| {
        h.nets.create("one", None).unwrap();
        h.nets.create("two", None).unwrap();
        let a = Ctr::new("a");
        let b = Ctr::new("b");
        let ea = a.connect(&h.nets, "one", &[]).unwrap();
        let eb = b.connect(&h.nets, "two", &[]).unwrap();
        for (from, to) in [(&a, &eb.ip), (&b, &ea.ip)] {
            let out = from.proc.sh(&format!("busybox ping -c1 -W2 {to}"));
            assert_ne!(code(out.status), 0, "{} reached {to}", from.name);
            from.proc
                .sh_ok(&format!("busybox ping -c1 -W5 {CLIENT_IP}"));
        }
        let rules = hull_table();
        assert!(
            rules.contains("chain hull-user") && rules.contains("chain hull-isolation-1"),
            "Docker's DOCKER-USER and DOCKER-ISOLATION chains have hull's twins:\n{rules}"
        );
        h.nets.disconnect(&a.id).unwrap();
        h.nets.disconnect(&b.id).unwrap();
    });
}

/// `HULL_BRIDGE=none` is `dockerd --bridge=none`: an explicit `--network bridge` or `network
/// create` fails with one line saying so, and nothing is made in the namespace.
#[test]
fn hull_bridge_none_makes_no_bridge() {
    in_own_netns("hull_bridge_none_makes_no_bridge", |_h| {
        forwarding_off();
        let hull = Hull::new();
        let links_before = links();
        // `run` fails with 125, every other command with 1, as Docker's do.
        for (args, want) in [
            (&["network", "create", "apps"][..], 1),
            (
                &["run", "--rm", "--network", "bridge", "busybox", "true"][..],
                125,
            ),
            (
                &["run", "--rm", "-p", "8080:80", "busybox", "true"][..],
                125,
            ),
        ] {
            let (status, out) = hull.code(args);
            assert_eq!(status, want, "hull {args:?}: {}", describe(&out));
            let err = stderr(&out);
            assert!(
                err.contains("HULL_BRIDGE=none") && err.trim().lines().count() == 1,
                "hull {args:?} must say in one line that bridges are off: {err}"
            );
        }
        assert_eq!(links(), links_before, "a link was made");
        assert_eq!(hull_table(), "", "hull's nftables table was made");
        assert_eq!(
            fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .unwrap()
                .trim(),
            "0",
            "forwarding was turned on"
        );
        assert!(!hull.ok(&["network", "ls"]).contains("apps"));
    });
}

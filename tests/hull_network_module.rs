//! Real-kernel tests of hull's network module (`hull_engine::network`). They need root.
//!
//! Each test re-runs itself (the same test binary, filtered to that one test) inside a network
//! namespace of its own, `ip netns exec hulltest-<pid>-<n>`, which a guard deletes afterwards:
//! that namespace is the "host" hull works in, so the machine's own namespace is never changed.
//! A "container" is an `unshare -n sleep` child with a namespace of its own; a "client" (another
//! machine on the host's LAN) is one more such child, linked to the host by a veth. All traffic
//! stays between these namespaces, and every wait is bounded.

mod support;

use std::fs;

use hull_engine::network::{ConnectRequest, Networks, PortSpec};
use hull_engine::new_id;
use support::netns::*;
use support::run_ok;
// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn default_bridge_connect_publish_and_disconnect() {
    in_own_netns("default_bridge_connect_publish_and_disconnect", |h| {
        let info = h.nets.ensure_default().unwrap();
        assert_eq!(
            (info.bridge.as_str(), info.subnet.as_str()),
            ("hull0", "172.17.0.0/16")
        );
        assert_eq!(
            fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .unwrap()
                .trim(),
            "1"
        );
        let mut c = Ctr::new("web");
        let ep = c
            .connect(
                &h.nets,
                "bridge",
                &[port(Some(8080), 80, "tcp"), port(None, 80, "tcp")],
            )
            .unwrap();
        assert_eq!((ep.ip.as_str(), ep.prefix_len), ("172.17.0.2", 16));
        assert_eq!(
            (ep.gateway.as_str(), ep.mac.as_str()),
            ("172.17.0.1", "02:42:ac:11:00:02")
        );
        let random = ep.ports[1].host_port;
        assert!((32768..=60999).contains(&random), "{random}");

        // Inside: eth0 with the address and MAC, lo up, the default route.
        let addr = c.proc.sh_ok("ip -4 -o addr show");
        assert!(
            addr.contains("eth0    inet 172.17.0.2/16") || addr.contains("eth0 inet 172.17.0.2/16"),
            "{addr}"
        );
        assert!(
            addr.contains("lo    inet 127.0.0.1") || addr.contains("lo inet 127.0.0.1"),
            "{addr}"
        );
        assert!(c
            .proc
            .sh_ok("ip link show eth0")
            .contains("02:42:ac:11:00:02"));
        assert!(c
            .proc
            .sh_ok("ip route")
            .contains("default via 172.17.0.1 dev eth0"));
        assert!(
            c.hosts().contains(&format!("172.17.0.2\t{}", &c.id[..12])),
            "{}",
            c.hosts()
        );
        assert!(links().contains(&c.veth()));

        // The host reaches it directly, by its published ports, and through 127.0.0.1.
        run_ok("busybox", &["ping", "-c1", "-W5", "172.17.0.2"]);
        c.proc.serve(80, "hello from web\n");
        let hello = Some("hello from web\n".to_string());
        assert_eq!(http_get("172.17.0.2:80", "/index.html"), hello);
        assert_eq!(http_get(&format!("{HOST_IP}:8080"), "/index.html"), hello);
        assert_eq!(http_get("127.0.0.1:8080", "/index.html"), hello);
        assert_eq!(
            http_get(&format!("127.0.0.1:{random}"), "/index.html"),
            hello
        );
        // Another machine reaches the published port; the container reaches it (masquerade)
        // and reaches its own published port through the host (hairpin).
        assert_eq!(
            h.client.wget(&format!("http://{HOST_IP}:8080/index.html")),
            hello
        );
        h.client.serve(8000, "hello from the lan\n");
        assert_eq!(
            c.proc
                .wget(&format!("http://{CLIENT_IP}:8000/index.html"))
                .as_deref(),
            Some("hello from the lan\n")
        );
        assert_eq!(
            c.proc.wget(&format!("http://{HOST_IP}:8080/index.html")),
            hello
        );

        let table = hull_table();
        let rule = format!(
            "tcp dport 8080 dnat to 172.17.0.2:80 comment \"hull:{}\"",
            c.id
        );
        assert!(table.contains(&rule), "{table}");
        assert_eq!(h.nets.endpoint(&c.id).unwrap(), Some(ep));
        let inspect = h.nets.inspect("bridge").unwrap();
        assert_eq!(inspect["Containers"][&c.id]["IPv4Address"], "172.17.0.2/16");
        assert_eq!(inspect["IPAM"]["Config"][0]["Gateway"], "172.17.0.1");

        h.nets.disconnect(&c.id).unwrap();
        h.nets.disconnect(&c.id).unwrap();
        assert!(!hull_table().contains(&c.id), "{}", hull_table());
        assert!(!links().contains(&c.veth()));
        assert!(!c.proc.sh_ok("ip -o link").contains("eth0"));
        assert_eq!(h.nets.endpoint(&c.id).unwrap(), None);
        assert!(h.nets.inspect("bridge").unwrap()["Containers"]
            .as_object()
            .unwrap()
            .is_empty());
        assert_eq!(http_get("127.0.0.1:8080", "/index.html"), None);
        // The address is free again.
        let again = Ctr::new("again");
        assert_eq!(
            again.connect(&h.nets, "bridge", &[]).unwrap().ip,
            "172.17.0.2"
        );
        h.nets.disconnect(&again.id).unwrap();
    });
}

#[test]
fn user_network_names_and_rm() {
    in_own_netns("user_network_names_and_rm", |h| {
        let apps = h.nets.create("apps", None).unwrap();
        assert_eq!(
            (apps.subnet.as_str(), apps.gateway.as_str()),
            ("172.18.0.0/16", "172.18.0.1")
        );
        assert_eq!(apps.bridge, format!("hull-{}", &apps.id[..8]));
        assert!(links().contains(&apps.bridge));
        let other = h.nets.create("other", Some("10.77.0.0/24")).unwrap();
        let e = h.nets.create("apps", None).unwrap_err().to_string();
        assert_eq!(e, "network with name apps already exists");
        let e = h
            .nets
            .create("clash", Some("172.18.5.0/24"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlaps with network apps"), "{e}");
        assert!(h.nets.create("bad", Some("10.0.0.1/8")).is_err());
        let names: Vec<String> = h.nets.list().unwrap().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["apps", "host", "none", "other"]);

        let web = Ctr::new("web");
        let db = Ctr::new("db");
        let w = web.connect(&h.nets, "apps", &[]).unwrap();
        let d = db.connect(&h.nets, "apps", &[]).unwrap();
        assert_eq!((w.ip.as_str(), d.ip.as_str()), ("172.18.0.2", "172.18.0.3"));
        assert!(web.hosts().contains("172.18.0.3\tdb "), "{}", web.hosts());
        assert!(db.hosts().contains("172.18.0.2\tweb "), "{}", db.hosts());
        web.proc.sh_ok("busybox ping -c1 -W5 172.18.0.3");
        let e = web.connect(&h.nets, "other", &[]).unwrap_err().to_string();
        assert_eq!(e, "container web is already connected to network apps");

        assert_eq!(
            h.nets.remove("apps").unwrap_err().to_string(),
            "network apps has active endpoints"
        );
        h.nets.disconnect(&db.id).unwrap();
        assert!(!web.hosts().contains("\tdb "), "{}", web.hosts());
        h.nets.disconnect(&web.id).unwrap();
        h.nets.remove("apps").unwrap();
        h.nets.remove(&other.id[..10]).unwrap();
        assert!(!links().contains(&apps.bridge) && !links().contains(&other.bridge));
        assert!(!hull_table().contains(&apps.id), "{}", hull_table());
        assert!(!hull_table().contains("masquerade"), "{}", hull_table());
        assert_eq!(
            h.nets.remove("apps").unwrap_err().to_string(),
            "network apps not found"
        );
        assert!(h.nets.remove("bridge").is_err() && h.nets.remove("host").is_err());
    });
}

#[test]
fn refusals_leave_nothing_and_ipam_survives_reopen() {
    in_own_netns("refusals_leave_nothing_and_ipam_survives_reopen", |h| {
        let a = Ctr::new("a");
        a.connect(&h.nets, "bridge", &[port(Some(8080), 80, "tcp")])
            .unwrap();
        let links_before = links();
        let table_before = hull_table();

        let b = Ctr::new("b");
        let e = b
            .connect(
                &h.nets,
                "bridge",
                &[port(Some(8081), 81, "tcp"), port(Some(8080), 80, "tcp")],
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "port 8080/tcp is already allocated");
        let e = b.connect(&h.nets, "nope", &[]).unwrap_err();
        assert_eq!(e.to_string(), "network nope not found");
        let bad_ip = PortSpec {
            host_ip: Some("::1".into()),
            ..port(Some(9000), 80, "tcp")
        };
        assert!(b.connect(&h.nets, "bridge", &[bad_ip]).is_err());
        assert_eq!(links(), links_before);
        assert_eq!(hull_table(), table_before);
        assert!(!b.proc.sh_ok("ip -o link").contains("eth0"));
        assert_eq!(h.nets.endpoint(&b.id).unwrap(), None);
        assert!(!b.hosts_path().exists());

        // A kernel step that fails half-way (the veth's name is taken) is undone, and the
        // error names the link and carries what `ip` said.
        run_ok("ip", &["link", "add", &b.veth(), "type", "bridge"]);
        let e = b
            .connect(&h.nets, "bridge", &[port(Some(8081), 81, "tcp")])
            .unwrap_err();
        let e = e.to_string();
        assert!(e.contains(&format!("ip link add name {}", b.veth())), "{e}");
        assert!(e.contains("File exists") && !e.contains('\n'), "{e}");
        assert!(links().contains(&b.veth()), "not ours to delete");
        run_ok("ip", &["link", "del", &b.veth()]);
        assert_eq!(links(), links_before);
        assert_eq!(hull_table(), table_before);
        assert_eq!(h.nets.endpoint(&b.id).unwrap(), None);
        // A process in hull's own namespace cannot be given a veth.
        let me = ConnectRequest {
            network: "bridge",
            container_id: "deadbeef",
            name: "me",
            hostname: "me",
            pid: std::process::id() as i32,
            ports: &[],
            hosts_file: &b.hosts_path(),
        };
        let e = h.nets.connect(&me).unwrap_err().to_string();
        assert!(e.contains("hull's own network namespace"), "{e}");
        assert_eq!(links(), links_before);

        // Another hull process (a fresh Networks on the same root) sees a's address in use.
        let reopened = Networks::open(h.root.path()).unwrap();
        assert_eq!(reopened.endpoint(&a.id).unwrap().unwrap().ip, "172.17.0.2");
        assert_eq!(
            b.connect(&reopened, "bridge", &[]).unwrap().ip,
            "172.17.0.3"
        );
        let e = b.connect(&reopened, "bridge", &[]).unwrap_err().to_string();
        assert!(e.contains("already connected"), "{e}");
        // 8080/udp is another port.
        let c = Ctr::new("c");
        c.connect(&reopened, "bridge", &[port(Some(8080), 53, "udp")])
            .unwrap();
        assert!(hull_table().contains("udp dport 8080 dnat to 172.17.0.4:53"));
        for x in [&a, &b, &c] {
            reopened.disconnect(&x.id).unwrap();
        }
        assert_eq!(
            h.nets.inspect("bridge").unwrap()["Containers"]
                .as_object()
                .unwrap()
                .len(),
            0
        );
    });
}

#[test]
fn fifty_cycles_leave_nothing() {
    in_own_netns("fifty_cycles_leave_nothing", |h| {
        h.nets.ensure_default().unwrap();
        let links_before = links();
        let table_before = hull_table();
        let c = Ctr::new("cycler");
        let hosts = c.hosts_path();
        for i in 0..50 {
            let id = new_id();
            let name = format!("cycle{i}");
            let ports = [port(Some(8080), 80, "tcp")];
            let req = ConnectRequest {
                network: "bridge",
                container_id: &id,
                name: &name,
                hostname: &name,
                pid: c.proc.pid,
                ports: &ports,
                hosts_file: &hosts,
            };
            assert_eq!(h.nets.connect(&req).unwrap().ip, "172.17.0.2");
            h.nets.disconnect(&id).unwrap();
        }
        assert_eq!(links(), links_before);
        assert_eq!(hull_table(), table_before);
        assert!(!c.proc.sh_ok("ip -o link").contains("eth0"));
        assert!(h.nets.inspect("bridge").unwrap()["Containers"]
            .as_object()
            .unwrap()
            .is_empty());
    });
}

#[test]
fn forward_policy_drop_is_overruled_for_our_bridges() {
    in_own_netns("forward_policy_drop_is_overruled_for_our_bridges", |h| {
        // iptables-nft's FORWARD chain with policy drop, as Docker or a firewall leaves it.
        run_ok("iptables", &["-P", "FORWARD", "DROP"]);
        let apps = h.nets.create("apps", None).unwrap();
        let forward = || run_ok("nft", &["list", "chain", "ip", "filter", "FORWARD"]);
        let ours = format!(
            "oifname \"{}\" accept comment \"hull-net:{}\"",
            apps.bridge, apps.id
        );
        assert!(forward().contains(&ours), "{}", forward());

        let mut web = Ctr::new("web");
        let db = Ctr::new("db");
        web.connect(&h.nets, "apps", &[port(Some(8080), 80, "tcp")])
            .unwrap();
        db.connect(&h.nets, "apps", &[]).unwrap();
        web.proc.serve(80, "through the drop policy\n");
        assert_eq!(
            h.client
                .wget(&format!("http://{HOST_IP}:8080/index.html"))
                .as_deref(),
            Some("through the drop policy\n")
        );
        db.proc.sh_ok("busybox ping -c1 -W5 172.18.0.2");

        h.nets.disconnect(&web.id).unwrap();
        h.nets.disconnect(&db.id).unwrap();
        h.nets.remove("apps").unwrap();
        assert!(!forward().contains("hull-net:"), "{}", forward());
        assert!(forward().contains("policy drop"));
    });
}

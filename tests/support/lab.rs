//! The `hull` CLI driven end to end, networking included, inside a throwaway "host"
//! (`hull_network.rs`).
//!
//! Each test re-runs itself ([`sandbox`]) in a network namespace and a private mount namespace
//! of its own: that namespace is the host hull works in (its bridge, veths, nftables table,
//! `ip_forward`), and the machine's own namespaces are never touched — the inner run refuses to
//! start hull if it finds itself in them. There a [`Lab`] gives the test:
//! - `lo` up and a LAN: a veth `lan0` with [`HOST_IP`] whose peer `eth0` ([`CLIENT_IP`]) is in a
//!   "client" machine (a process with a network namespace of its own, with no route beyond the
//!   LAN);
//! - a `hull` with its own `HULL_ROOT` ([`Hull`], whose guard removes every container and fails
//!   the test if mounts, cgroups or processes are left), run *without* `HULL_BRIDGE`, so the
//!   default network is the bridge `hull0`;
//! - observations of the host: links, addresses, hull's rules, IPAM, mounts ([`HostState`]).
//!
//! All traffic stays between these namespaces; every wait is bounded. The pieces are those of
//! the network module's tests ([`super::netns`]: the LAN, the client [`Proc`], [`http_get`])
//! and the [`Hull`] guard ([`super::hull`]); the re-execution is [`super::sandbox`].

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use super::netns::{addresses, hull_rules, lan_with_client, links};
pub use super::netns::{get_once, http_get, hull_table, Proc, CLIENT_IP, HOST_IP};
use super::sandbox;
use super::{
    capture, code, describe, is_hex, mount_count, must, require_root, run_ok, stderr, stdout, Hull,
    CMD_TIMEOUT,
};

/// Runs `body` in a sandbox of its own: the outer call re-executes the test named `test`
/// inside new namespaces, where this same call runs `body` with a fresh [`Lab`].
pub fn in_sandbox(test: &str, body: fn(&mut Lab)) {
    if sandbox::is_inner() {
        sandbox::assert_isolated();
        let mut lab = Lab::new();
        body(&mut lab);
        return;
    }
    require_root();
    sandbox::run_isolated(test);
}

/// The test's host: its LAN and client, and its `hull`.
pub struct Lab {
    pub hull: Hull,
    pub client: Proc,
}

impl Lab {
    fn new() -> Lab {
        let client = lan_with_client();
        let hull = Hull::new();
        sandbox::note_dir(hull.root());
        sandbox::note_dir(hull.scratch());
        Lab { hull, client }
    }

    /// `hull ARGS…` for this host: its `HULL_ROOT`, and no `HULL_BRIDGE`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = self.hull.command(args);
        c.env_remove("HULL_BRIDGE");
        c
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        capture(self.command(args), CMD_TIMEOUT)
    }

    /// `hull ARGS…`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout(&must(&format!("hull {args:?}"), self.cmd(args)))
    }

    /// `hull ARGS…`, which must fail with `want`; its stderr, which must be one line.
    pub fn fails(&self, want: i32, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert_eq!(code(out.status), want, "hull {args:?}: {}", describe(&out));
        let err = stderr(&out);
        assert_eq!(
            err.lines().count(),
            1,
            "hull {args:?} should say why in one line: {}",
            describe(&out)
        );
        err
    }

    /// `hull run -d --name NAME ARGS…`; the container's full id.
    pub fn detach(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["run", "-d", "--name", name];
        all.extend_from_slice(args);
        let id = self.ok(&all).trim().to_string();
        assert!(is_hex(&id, 64), "hull run -d printed {id:?}, not an id");
        self.hull.remember(&id);
        id
    }

    /// A detached `busybox httpd` on port 80 of a container, serving `body` as /index.html
    /// from a volume; `flags` go before the image. Returns the id.
    pub fn web(&self, name: &str, body: &str, flags: &[&str]) -> String {
        let www = self.hull.dir(&format!("www-{name}"));
        std::fs::write(www.join("index.html"), body).expect("write index.html");
        let volume = format!("{}:/www", www.display());
        let mut args = vec!["-v", volume.as_str()];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "httpd", "-f", "-p", "80", "-h", "/www"]);
        self.detach(name, &args)
    }

    /// `hull inspect TARGET`, the one element.
    pub fn inspect(&self, target: &str) -> Value {
        let text = self.ok(&["inspect", target]);
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("hull inspect {target}: not JSON ({e}): {text}"));
        v[0].clone()
    }

    /// `hull network inspect NAME`, the one element.
    pub fn network(&self, name: &str) -> Value {
        let text = self.ok(&["network", "inspect", name]);
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("hull network inspect {name}: not JSON ({e}): {text}"));
        v[0].clone()
    }

    /// The host port `hull port C PORT` reports (one line, `0.0.0.0:N` or `IP:N`).
    pub fn host_port(&self, container: &str, port: &str) -> u16 {
        let text = self.ok(&["port", container, port]);
        let line = text.trim();
        assert_eq!(
            text.lines().count(),
            1,
            "hull port {container} {port}: {text}"
        );
        line.rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("hull port {container} {port} printed {text:?}"))
    }

    /// The client machine's GET of `http://ADDR/` (retried for a few seconds): the body.
    pub fn client_get(&self, addr: &str) -> Option<String> {
        self.client.wget(&format!("http://{addr}/"))
    }

    /// `hull exec C sh -c SCRIPT` (must succeed): its stdout.
    pub fn exec(&self, container: &str, script: &str) -> String {
        self.ok(&["exec", container, "sh", "-c", script])
    }

    /// Removes every container of this root (without `HULL_BRIDGE`), and fails if any remains.
    pub fn rm_all(&self) {
        let ids = self.ok(&["ps", "-aq"]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            self.ok(&args);
        }
        assert_eq!(self.ok(&["ps", "-aq"]), "", "containers left after rm -f");
    }

    /// What the host holds now.
    pub fn state(&self) -> HostState {
        HostState::now(self)
    }
}

impl Drop for Lab {
    /// Before the [`Hull`] guard checks for leftovers: every container removed by a `hull`
    /// that sees this host as it is (no `HULL_BRIDGE`).
    fn drop(&mut self) {
        let ids = stdout(&self.cmd(&["ps", "-aq"]));
        for id in ids.split_whitespace() {
            self.hull.remember(id);
            let _ = self.cmd(&["rm", "-f", id]);
        }
    }
}

/// What hull can leave on its host, for before/after comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    pub links: Vec<String>,
    pub addresses: Vec<String>,
    /// Rules of `table ip hull`, with handles.
    pub rules: Vec<String>,
    /// IPAM: the addresses each bridge network has handed out ("network": ["ip/len", …]).
    pub ipam: BTreeMap<String, Vec<String>>,
    pub mounts: usize,
    pub routes: Vec<String>,
}

impl HostState {
    pub fn now(lab: &Lab) -> HostState {
        let mut ipam = BTreeMap::new();
        let names = lab.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
        for line in names.lines() {
            let Some((name, "bridge")) = line.split_once(' ') else {
                continue;
            };
            let v = lab.network(name);
            let mut ips: Vec<String> = v["Containers"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, c)| c["IPv4Address"].as_str().unwrap_or("?").to_string())
                .collect();
            ips.sort();
            ipam.insert(name.to_string(), ips);
        }
        // A bridge's route says "linkdown" while no port of it is up: state, not a leftover.
        let mut routes: Vec<String> = run_ok("ip", &["-4", "route", "show"])
            .lines()
            .map(|l| l.replace(" linkdown", "").trim_end().to_string())
            .collect();
        routes.sort();
        HostState {
            links: links(),
            addresses: addresses(),
            rules: hull_rules(),
            ipam,
            mounts: mount_count(),
            routes,
        }
    }

    /// The network part alone (mounts zeroed), for comparisons while containers run.
    pub fn net(mut self) -> HostState {
        self.mounts = 0;
        self
    }

    /// Counts, for messages: links, addresses, rules, IPAM entries, mounts.
    pub fn counts(&self) -> [usize; 5] {
        [
            self.links.len(),
            self.addresses.len(),
            self.rules.len(),
            self.ipam.values().map(Vec::len).sum(),
            self.mounts,
        ]
    }
}

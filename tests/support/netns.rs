//! Tests inside a network namespace of their own (`hull_network_module.rs`), the "containers"
//! and the "client" (processes with network namespaces of their own) they use, and what a
//! network namespace holds (links, addresses, hull's nftables table).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hull_engine::network::{ConnectRequest, NetworkError, Networks, PortSpec};
use hull_engine::new_id;
use tempfile::TempDir;

use super::{require_root, run, run_ok, stdout};

pub const INNER: &str = "HULL_NETWORK_TEST_INNER";
pub const HOST_IP: &str = "10.231.0.1";
pub const CLIENT_IP: &str = "10.231.0.2";

// ---------------------------------------------------------------------------------------------
// Running a test inside a namespace of its own
// ---------------------------------------------------------------------------------------------

/// A named network namespace (`ip netns add`), deleted with everything in it on drop.
pub struct NetnsGuard {
    pub name: String,
}

impl NetnsGuard {
    pub fn new() -> NetnsGuard {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "hulltest-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        run_ok("ip", &["netns", "add", &name]);
        NetnsGuard { name }
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs `body` in a fresh network namespace: the outer call re-executes this test there.
pub fn in_own_netns(test: &str, body: fn(&mut Host)) {
    if std::env::var_os(INNER).is_some() {
        body(&mut Host::new());
        return;
    }
    require_root();
    let ns = NetnsGuard::new();
    let logs = TempDir::new().unwrap();
    let (out_path, err_path) = (logs.path().join("out"), logs.path().join("err"));
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    // Whatever the inner run leaves (after a timeout, say) dies with its process group.
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
    let out = fs::read_to_string(&out_path).unwrap_or_default();
    let err = fs::read_to_string(&err_path).unwrap_or_default();
    let ok = status.is_some_and(|s| s.success()) && out.contains("test result: ok. 1 passed");
    assert!(
        ok,
        "{test} inside netns {} ended with {status:?}\n--- stdout\n{out}\n--- stderr\n{err}",
        ns.name
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers inside the test's namespace
// ---------------------------------------------------------------------------------------------

/// Names of this namespace's links (`ip -o link`, without `@peer`), sorted.
pub fn links() -> Vec<String> {
    let mut v: Vec<String> = run_ok("ip", &["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

/// This namespace's IPv4 addresses, as "DEV ADDR/LEN", sorted.
pub fn addresses() -> Vec<String> {
    let mut v: Vec<String> = run_ok("ip", &["-o", "-4", "addr", "show"])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(format!("{} {}", f.get(1)?, f.get(3)?))
        })
        .collect();
    v.sort();
    v
}

/// `nft list table ip hull` (empty if there is none).
pub fn hull_table() -> String {
    stdout(&run("nft", &["list", "table", "ip", "hull"]))
}

/// The rules of hull's table, with their handles (`nft -a list table ip hull`).
pub fn hull_rules() -> Vec<String> {
    let out = run("nft", &["-a", "list", "table", "ip", "hull"]);
    stdout(&out)
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("# handle") && !l.starts_with("chain ") && !l.starts_with("table "))
        .map(str::to_string)
        .collect()
}

/// One try at `GET /` on `addr` from this namespace, bounded by `timeout`: the body, if any.
pub fn get_once(addr: &str, timeout: Duration) -> Option<String> {
    let addr: SocketAddr = addr.parse().expect("an IP:PORT");
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    write!(s, "GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// A bounded HTTP/1.0 GET from this namespace; the body, or None after ~3 s of failures.
pub fn http_get(addr: &str, path: &str) -> Option<String> {
    let addr: SocketAddr = addr.parse().unwrap();
    for _ in 0..15 {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
            let mut reply = String::new();
            if s.read_to_string(&mut reply).is_ok() {
                if let Some((_, body)) = reply.split_once("\r\n\r\n") {
                    return Some(body.to_string());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// A process with a network namespace of its own (a container's init, or a client machine),
/// plus the servers started in it; all killed on drop.
pub struct Proc {
    pub child: Child,
    pub pid: i32,
    pub servers: Vec<Child>,
    pub dir: TempDir,
}

impl Proc {
    pub fn spawn() -> Proc {
        let child = Command::new("unshare")
            .args(["-n", "sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let ours = fs::read_link("/proc/self/ns/net").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while fs::read_link(format!("/proc/{pid}/ns/net")).ok() == Some(ours.clone()) {
            assert!(
                Instant::now() < deadline,
                "unshare -n did not make a namespace"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Proc {
            child,
            pid,
            servers: Vec::new(),
            dir: TempDir::new().unwrap(),
        }
    }

    /// `sh -c CMD` in this namespace, bounded by `timeout 10`.
    pub fn sh(&self, cmd: &str) -> Output {
        let pid = self.pid.to_string();
        run(
            "nsenter",
            &["-t", &pid, "-n", "timeout", "10", "sh", "-c", cmd],
        )
    }

    pub fn sh_ok(&self, cmd: &str) -> String {
        let out = self.sh(cmd);
        assert!(
            out.status.success(),
            "{cmd:?} in the namespace of {} failed: {}{}",
            self.pid,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `busybox httpd` on `port` in this namespace, serving `/index.html` = `body`.
    pub fn serve(&mut self, port: u16, body: &str) {
        let www = self.dir.path().join(format!("www{port}"));
        fs::create_dir_all(&www).unwrap();
        fs::write(www.join("index.html"), body).unwrap();
        let pid = self.pid.to_string();
        let p = port.to_string();
        let www = www.to_string_lossy().into_owned();
        let child = Command::new("nsenter")
            .args([
                "-t", &pid, "-n", "busybox", "httpd", "-f", "-p", &p, "-h", &www,
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.servers.push(child);
    }

    /// `busybox wget` from this namespace, retried for ~3 s; the body or None.
    pub fn wget(&self, url: &str) -> Option<String> {
        for _ in 0..10 {
            let out = self.sh(&format!("timeout 3 busybox wget -q -O - {url}"));
            if out.status.success() {
                return Some(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        for s in self
            .servers
            .iter_mut()
            .chain(std::iter::once(&mut self.child))
        {
            let _ = s.kill();
            let _ = s.wait();
        }
    }
}

/// A container: a namespace, an id, a name and a hosts file.
pub struct Ctr {
    pub proc: Proc,
    pub id: String,
    pub name: String,
}

impl Ctr {
    pub fn new(name: &str) -> Ctr {
        Ctr {
            proc: Proc::spawn(),
            id: new_id(),
            name: name.into(),
        }
    }

    pub fn hosts_path(&self) -> std::path::PathBuf {
        self.proc.dir.path().join("hosts")
    }

    pub fn hosts(&self) -> String {
        fs::read_to_string(self.hosts_path()).unwrap_or_default()
    }

    pub fn veth(&self) -> String {
        format!("veth{}", &self.id[..7])
    }

    pub fn connect(
        &self,
        nets: &Networks,
        network: &str,
        ports: &[PortSpec],
    ) -> Result<hull_engine::network::Endpoint, NetworkError> {
        let hosts = self.hosts_path();
        nets.connect(&ConnectRequest {
            network,
            container_id: &self.id,
            name: &self.name,
            hostname: &self.id[..12],
            pid: self.proc.pid,
            ports,
            hosts_file: &hosts,
        })
    }
}

pub fn port(host: Option<u16>, ctr: u16, proto: &str) -> PortSpec {
    PortSpec {
        host_ip: None,
        host_port: host,
        container_port: ctr,
        proto: proto.into(),
    }
}

/// In the current namespace (the test's "host"): `lo` up, and a LAN — a veth `lan0` with
/// [`HOST_IP`] whose peer `eth0` ([`CLIENT_IP`]) is in a "client" machine, returned. The
/// client has no default route: it can answer a container only if hull masquerades.
pub fn lan_with_client() -> Proc {
    run_ok("ip", &["link", "set", "lo", "up"]);
    let client = Proc::spawn();
    let pid = client.pid.to_string();
    run_ok(
        "ip",
        &[
            "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", &pid,
        ],
    );
    run_ok(
        "ip",
        &["addr", "add", &format!("{HOST_IP}/24"), "dev", "lan0"],
    );
    run_ok("ip", &["link", "set", "lan0", "up"]);
    client.sh_ok(&format!(
        "ip addr add {CLIENT_IP}/24 dev eth0 && ip link set eth0 up && ip link set lo up"
    ));
    client
}

/// The test's "host": lo up, a LAN link to a client machine, and hull's networks.
pub struct Host {
    pub root: TempDir,
    pub nets: Networks,
    pub client: Proc,
}

impl Host {
    pub fn new() -> Host {
        let client = lan_with_client();
        let root = TempDir::new().unwrap();
        let nets = Networks::open(root.path()).unwrap();
        Host { root, nets, client }
    }
}

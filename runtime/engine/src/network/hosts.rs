//! `/etc/hosts` and `/etc/resolv.conf` for containers.
//!
//! Docker answers names on user-defined networks with an embedded DNS server; hull writes
//! the peers into each container's `/etc/hosts` instead. That file is bind-mounted into the
//! container, so it is rewritten in place (truncate and write the same inode), never replaced.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::error::{io_at, Result};

/// The lines every container's `/etc/hosts` starts with (Docker's).
pub const LOCALHOST: &str = "127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
";

/// One line of a hosts file: an address and its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub ip: String,
    pub names: Vec<String>,
}

/// A container's `/etc/hosts`: localhost, its own address (`own`) and then its peers.
pub fn content(own: Option<&Entry>, peers: &[Entry]) -> String {
    let mut s = LOCALHOST.to_string();
    for e in own.into_iter().chain(peers) {
        let mut names: Vec<&str> = Vec::new();
        for n in &e.names {
            if !n.is_empty() && !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
        if !names.is_empty() {
            s.push_str(&format!("{}\t{}\n", e.ip, names.join(" ")));
        }
    }
    s
}

/// Rewrites `path` in place; the file must exist (a container that is gone is not recreated:
/// NotFound is passed up for the caller to decide).
pub fn write_in_place(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(text.as_bytes())
}

/// Writes a container's own hosts file in place (creating it if it is not there yet).
pub fn write_own(path: &Path, text: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_at("open", path))?;
    f.write_all(text.as_bytes()).map_err(io_at("write", path))
}

/// A container's `/etc/resolv.conf`: a copy of ours without loopback nameservers (they would
/// point into the container itself).
pub fn resolv_conf() -> String {
    match fs::read_to_string("/etc/resolv.conf") {
        Ok(text) => resolv_conf_from(&text),
        Err(e) => format!("# hull: the host's /etc/resolv.conf could not be read: {e}\n"),
    }
}

/// [`resolv_conf`] for a given host file.
pub fn resolv_conf_from(host: &str) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let addr = words.next().unwrap_or("");
            if addr.starts_with("127.") || addr == "::1" {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        out.push_str(
            "# hull: the host has no nameserver a container can reach (only loopback ones)\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lines() {
        let own = Entry {
            ip: "172.18.0.2".into(),
            names: vec!["web".into(), "web".into()],
        };
        let peer = Entry {
            ip: "172.18.0.3".into(),
            names: vec!["db".into(), "0123456789ab".into()],
        };
        let text = content(Some(&own), &[peer]);
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(
            text.ends_with("172.18.0.2\tweb\n172.18.0.3\tdb 0123456789ab\n"),
            "{text}"
        );
        assert_eq!(content(None, &[]), LOCALHOST);
    }

    #[test]
    fn rewrite_keeps_the_inode() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        write_own(&p, "a long first version\n").unwrap();
        let ino = fs::metadata(&p).unwrap().ino();
        write_in_place(&p, "short\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "short\n");
        assert_eq!(fs::metadata(&p).unwrap().ino(), ino);
        let gone = dir.path().join("gone");
        assert!(write_in_place(&gone, "x").is_err());
        assert!(!gone.exists());
    }

    #[test]
    fn resolv_without_loopback() {
        let host = "search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n";
        assert_eq!(
            resolv_conf_from(host),
            "search lan\nnameserver 10.0.0.1\noptions edns0\n"
        );
        let only_local = resolv_conf_from("nameserver 127.0.0.53\n");
        assert!(only_local.starts_with("# hull:"), "{only_local}");
    }
}

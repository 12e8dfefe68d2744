//! Running `ip` and `nft`: in our own network namespace, or in a container's (entered with
//! `setns` between fork and exec, so the caller's namespace never changes).
//!
//! A failure becomes one line: the command as typed (or what a script was for) and the
//! program's stderr.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::error::{io_at, NetworkError, Result};

/// A program hull drives and the Debian package that ships it.
#[derive(Clone, Copy)]
pub struct Program {
    pub name: &'static str,
    pub package: &'static str,
}

pub const IP: Program = Program {
    name: "ip",
    package: "iproute2",
};
pub const NFT: Program = Program {
    name: "nft",
    package: "nftables",
};

/// The network namespace of a process, held open by a file descriptor.
pub struct NetNs {
    pid: i32,
    file: File,
}

impl NetNs {
    pub fn of_pid(pid: i32) -> Result<NetNs> {
        let path = format!("/proc/{pid}/ns/net");
        let file = File::open(&path).map_err(io_at("open the network namespace", &path))?;
        Ok(NetNs { pid, file })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether this is the namespace hull itself runs in.
    pub fn is_ours(&self) -> Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let mine = "/proc/self/ns/net";
        let ours = std::fs::metadata(mine).map_err(io_at("stat", mine))?;
        let theirs = self
            .file
            .metadata()
            .map_err(io_at("stat", format!("/proc/{}/ns/net", self.pid)))?;
        Ok((ours.dev(), ours.ino()) == (theirs.dev(), theirs.ino()))
    }
}

/// Runs `program args…` (in `netns` when given), feeding `stdin`, and returns its stdout.
/// `what` names the action in errors; by default the command line itself.
pub fn run(
    program: Program,
    args: &[&str],
    netns: Option<&NetNs>,
    stdin: Option<&str>,
    what: Option<&str>,
) -> Result<String> {
    let mut cmd = Command::new(program.name);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C");
    if let Some(ns) = netns {
        let fd = ns.file.as_raw_fd();
        // SAFETY: between fork and exec only the async-signal-safe setns(2) is called.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let describe = || {
        let mut s = what.map(str::to_string).unwrap_or_else(|| {
            std::iter::once(program.name)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" ")
        });
        if let Some(ns) = netns {
            s.push_str(&format!(" (in the network namespace of pid {})", ns.pid));
        }
        s
    };
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            NetworkError::Missing {
                program: program.name,
                package: program.package,
                source: e,
            }
        } else {
            NetworkError::Command {
                what: describe(),
                stderr: e.to_string(),
            }
        }
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A program that exits early closes the pipe; its stderr tells why.
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetworkError::Command {
            what: describe(),
            stderr: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        lines.push("failed");
    }
    Err(NetworkError::Command {
        what: describe(),
        stderr: lines.join("; "),
    })
}

/// `ip ARGS…` in our namespace.
pub fn ip(args: &[&str]) -> Result<String> {
    run(IP, args, None, None, None)
}

/// `ip ARGS…` in the namespace `ns`.
pub fn ip_in(ns: &NetNs, args: &[&str]) -> Result<String> {
    run(IP, args, Some(ns), None, None)
}

/// `nft ARGS…` in our namespace.
pub fn nft(args: &[&str]) -> Result<String> {
    run(NFT, args, None, None, None)
}

/// `nft -f -` with `script` as one transaction: all of it applies or none.
pub fn nft_script(what: &str, script: &str) -> Result<()> {
    run(NFT, &["-f", "-"], None, Some(script), Some(what)).map(drop)
}

/// Whether an error says that the thing asked about does not exist.
pub fn is_absent(e: &NetworkError) -> bool {
    match e {
        NetworkError::Command { stderr, .. } => {
            stderr.contains("does not exist")
                || stderr.contains("Cannot find device")
                || stderr.contains("No such file or directory")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_says_what_to_install() {
        let p = Program {
            name: "hull-no-such-program",
            package: "hull-pkg",
        };
        let e = run(p, &[], None, None, None).unwrap_err().to_string();
        assert!(e.contains("install hull-pkg"), "{e}");
    }

    #[test]
    fn failure_names_the_command_and_stderr() {
        let p = Program {
            name: "sh",
            package: "dash",
        };
        let e = run(p, &["-c", "echo oops >&2; exit 3"], None, None, None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "sh -c echo oops >&2; exit 3: oops");
    }
}

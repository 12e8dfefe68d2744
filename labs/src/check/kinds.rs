//! What each kind of check observes, how it is described, and where it tells the learner to
//! look.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::observe::{self, str_at};
use super::{answer, Verdict};
use crate::parse::{FileOn, Part};
use crate::sandbox::{Sandbox, HOST_IP};
use crate::schema::{
    CgroupCheck, Check, CommandCheck, ContainerCheck, FileCheck, FileType, HttpCheck,
    NetfilterCheck,
};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

pub fn observe(sb: &Sandbox, check: &Check) -> Verdict {
    let r = match check {
        Check::Container(c) => container(sb, c),
        Check::Command(c) => command(sb, c),
        Check::File(c) => file(sb, c),
        Check::Http(c) => http(sb, c),
        Check::Cgroup(c) => cgroup(sb, c),
        Check::Netfilter(c) => netfilter(sb, c),
        Check::Answer(c) => answer::observe(sb, c),
    };
    r.err().unwrap_or(Verdict::Pass)
}

pub fn describe(check: &Check) -> String {
    if let Some(says) = check.says() {
        return says.trim().to_owned();
    }
    match check {
        Check::Container(c) => {
            let mut parts = Vec::new();
            let exit_said = c.exit_code.is_some() && c.status.as_deref() == Some("exited");
            if let Some(s) = c.status.as_ref().filter(|_| !exit_said) {
                parts.push(match s.as_str() {
                    "exited" => "has stopped".to_owned(),
                    "created" => "is created but not started".to_owned(),
                    other => format!("is {other}"),
                });
            }
            if let Some(x) = c.exit_code {
                parts.push(format!("exited with code {x}"));
            }
            match c.oom_killed {
                Some(true) => parts.push("was killed for using too much memory".into()),
                Some(false) => parts.push("was not killed for its memory".into()),
                None => {}
            }
            if let Some(i) = &c.image {
                parts.push(format!("runs image {i}"));
            }
            if let Some(cmd) = &c.command {
                parts.push(format!("runs `{}`", cmd.join(" ")));
            }
            if let Some(m) = c.memory {
                parts.push(format!("has a memory limit of {}", bytes_words(m.0)));
            }
            if let Some(p) = c.pids_limit {
                parts.push(pids_words(p));
            }
            format!("container {} {}", c.name, join_words(&parts))
        }
        Check::Command(c) => {
            let mut lines = c.run.trim().lines();
            let first = lines.next().unwrap_or("");
            if lines.next().is_some() {
                format!("`{first} …`")
            } else {
                format!("`{first}`")
            }
        }
        Check::File(c) => {
            let place = match &c.on {
                FileOn::Host => String::new(),
                FileOn::Container(n) => format!(" in container {n}"),
            };
            let here = format!("{}{place}", c.path.words());
            match (c.exists, &c.contains, c.file_type) {
                (Some(false), _, _) => format!("no file {here}"),
                (_, Some(t), _) => format!("{here} holds {t:?}"),
                (_, _, Some(t)) => format!("{here} is a {}", type_name(t)),
                _ => format!("{here} exists"),
            }
        }
        Check::Http(c) => match (&c.body_contains, c.status) {
            (Some(b), _) => format!("{} answers with a page holding {b:?}", shown_url(c)),
            (None, 200) => format!("{} answers with a page", shown_url(c)),
            (None, st) => format!("{} answers with status {st}", shown_url(c)),
        },
        Check::Cgroup(c) => format!(
            "the cgroup of container {} has {} = {}",
            c.container, c.file, c.equals
        ),
        Check::Netfilter(c) => format!("port {} is forwarded by a DNAT rule", c.port),
        Check::Answer(c) => format!("{} holds {}", c.file, answer::describe(&c.truth)),
    }
}

/// `a, b and c`
fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `32 MiB (33554432 bytes)`
pub fn bytes_words(b: u64) -> String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MiB ({b} bytes)", b >> 20)
    } else {
        format!("{b} bytes")
    }
}

/// hull's PidsLimit: 0 and -1 mean no limit, as Docker's.
fn pids_words(p: i64) -> String {
    if p <= 0 {
        "has no limit on its number of tasks".into()
    } else {
        format!("may run at most {p} tasks")
    }
}

/// A command the learner can paste in the lab shell as it stands.
pub fn default_look(check: &Check) -> String {
    match check {
        Check::Container(c) => format!("hull ps -a; hull inspect {}", c.name),
        Check::Command(c) => c.run.trim().to_owned(),
        Check::File(c) => match &c.on {
            FileOn::Host => format!("ls -la {}", c.path.shell()),
            FileOn::Container(n) => format!("hull exec {n} ls -la {}", c.path.shell()),
        },
        Check::Http(c) => format!("wget -qO- {}; hull ps", shown_url(c)),
        Check::Cgroup(c) => format!(
            "cat /proc/$(hull inspect -f '{{{{.State.Pid}}}}' {})/cgroup",
            c.container
        ),
        Check::Netfilter(_) => "nft list table ip hull".into(),
        Check::Answer(c) => format!("cat $LAB/{}", c.file),
    }
}

/// The URL as the learner can type it in the lab shell, where `$HOST_IP` is set.
fn shown_url(c: &HttpCheck) -> String {
    c.url.to_string().replace("{host_ip}", "$HOST_IP")
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::Regular => "regular file",
        FileType::Directory => "directory",
        FileType::Whiteout => "whiteout (character device 0/0)",
    }
}

fn mismatch(what: &str, expected: impl ToString, seen: impl ToString) -> Verdict {
    Verdict::NotYet {
        expected: format!("{what} {}", expected.to_string()),
        seen: format!("{what} {}", seen.to_string()),
        look: None,
    }
}

fn differs(expected: impl Into<String>, seen: impl Into<String>) -> Verdict {
    Verdict::NotYet {
        expected: expected.into(),
        seen: seen.into(),
        look: None,
    }
}

fn container(sb: &Sandbox, c: &ContainerCheck) -> Result<(), Verdict> {
    let rec = observe::inspect(sb, &c.name)?;
    let status = str_at(&rec, "/State/Status");
    if let Some(want) = &c.status {
        if status != want {
            return Err(mismatch("status", want, status));
        }
    }
    if let Some(want) = c.exit_code {
        if status != "exited" {
            return Err(mismatch(
                "exit code",
                want,
                format!("none yet: it is {status}"),
            ));
        }
        let got = rec
            .pointer("/State/ExitCode")
            .and_then(Value::as_i64)
            .unwrap_or(-1);
        if got != want {
            return Err(mismatch("exit code", want, got));
        }
    }
    if let Some(want) = c.oom_killed {
        let got = rec
            .pointer("/State/OOMKilled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if got != want {
            return Err(mismatch("OOMKilled", want, got));
        }
    }
    if let Some(want) = &c.image {
        let got = str_at(&rec, "/Config/Image");
        if got != want && got.strip_suffix(":latest") != Some(want) {
            return Err(mismatch("image", want, got));
        }
    }
    if let Some(want) = &c.command {
        let mut got = vec![str_at(&rec, "/Path").to_owned()];
        if let Some(args) = rec.pointer("/Args").and_then(Value::as_array) {
            got.extend(args.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if &got != want {
            return Err(mismatch("command", format!("{want:?}"), format!("{got:?}")));
        }
    }
    if let Some(want) = c.memory {
        let got = rec
            .pointer("/HostConfig/Memory")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if got != want.0 {
            let seen = if got == 0 {
                "none (0)".to_owned()
            } else {
                got.to_string()
            };
            return Err(mismatch("memory limit", format!("{} bytes", want.0), seen));
        }
    }
    if let Some(want) = c.pids_limit {
        let got = rec
            .pointer("/HostConfig/PidsLimit")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if got != want && !(got <= 0 && want <= 0) {
            return Err(differs(
                format!("a container that {}", pids_words(want)),
                format!("one that {}", pids_words(got)),
            ));
        }
    }
    Ok(())
}

fn command(sb: &Sandbox, c: &CommandCheck) -> Result<(), Verdict> {
    let out = sb
        .sh(&c.run, COMMAND_TIMEOUT)
        .map_err(|e| Verdict::Env(e.to_string()))?;
    let Some(code) = out.code else {
        return Err(differs(
            format!("`{}` to finish within 30 s", c.run),
            "it was still running",
        ));
    };
    let err = out.stderr.trim();
    if let Some(want) = c.exit_code {
        if code != want {
            let seen = if err.is_empty() {
                code.to_string()
            } else {
                format!("{code} ({})", short(err))
            };
            return Err(mismatch("exit code", want, seen));
        }
    }
    let seen = |what: &str, text: &str| {
        let text = text.trim();
        match (text.is_empty(), err.is_empty() || what == "errors") {
            (true, true) => format!("no {what}"),
            // "no output" alone hides why: a container that does not exist, say.
            (true, false) => format!("no {what}; it said {:?}", short(err)),
            (false, _) => format!("{what} {:?}", short(text)),
        }
    };
    if let Some(want) = &c.stdout_contains {
        if !out.stdout.contains(want.as_str()) {
            return Err(differs(
                format!("output containing {want:?}"),
                seen("output", &out.stdout),
            ));
        }
    }
    if let Some(re) = &c.stdout_matches {
        let rx = regex::RegexBuilder::new(re)
            .multi_line(true)
            .build()
            .map_err(|e| Verdict::Env(format!("bad stdout_matches: {e}")))?;
        if !rx.is_match(&out.stdout) {
            return Err(differs(
                c.says
                    .clone()
                    .unwrap_or_else(|| format!("output matching /{re}/")),
                seen("output", &out.stdout),
            ));
        }
    }
    if let Some(want) = &c.stderr_contains {
        if !out.stderr.contains(want.as_str()) {
            return Err(differs(
                format!("errors containing {want:?}"),
                seen("errors", &out.stderr),
            ));
        }
    }
    Ok(())
}

/// The first line of `s`, at most 120 characters.
pub fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    let cut: String = line.chars().take(120).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

fn resolve(sb: &Sandbox, c: &FileCheck) -> Result<PathBuf, Verdict> {
    let mut out = String::new();
    for part in &c.path.0 {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Lab => out.push_str(&sb.lab_dir().display().to_string()),
            Part::Merged(n) | Part::Upper(n) => {
                let rec = observe::inspect(sb, n)?;
                let key = if matches!(part, Part::Merged(_)) {
                    "MergedDir"
                } else {
                    "UpperDir"
                };
                out.push_str(str_at(&rec, &format!("/GraphDriver/Data/{key}")));
            }
        }
    }
    match &c.on {
        FileOn::Host => Ok(PathBuf::from(out)),
        FileOn::Container(n) => {
            let pid = observe::host_pid(sb, n)?;
            Ok(PathBuf::from(format!("/proc/{pid}/root{out}")))
        }
    }
}

fn file(sb: &Sandbox, c: &FileCheck) -> Result<(), Verdict> {
    let path = resolve(sb, c)?;
    let seen = sb
        .in_ns(
            || -> std::io::Result<Option<(std::fs::Metadata, Option<String>)>> {
                match std::fs::symlink_metadata(&path) {
                    Ok(m) => {
                        let text = m.is_file().then(|| std::fs::read(&path).ok()).flatten();
                        Ok(Some((
                            m,
                            text.map(|b| String::from_utf8_lossy(&b).into_owned()),
                        )))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
        .and_then(|r| r)
        .map_err(|e| Verdict::Env(format!("cannot examine {}: {e}", path.display())))?;
    let here = c.path.words();
    match (seen, c.exists) {
        (Some(_), Some(false)) => Err(differs(format!("{here} absent"), "it exists")),
        (None, Some(false)) => Ok(()),
        (None, _) => {
            let want = match (c.file_type, &c.contains) {
                (Some(t), _) => format!("{here}: a {}", type_name(t)),
                (None, Some(text)) => format!("{here} containing {text:?}"),
                (None, None) => format!("{here} present"),
            };
            Err(differs(want, "no such file"))
        }
        (Some((meta, text)), _) => {
            if let Some(t) = c.file_type {
                let ft = meta.file_type();
                let is = match t {
                    FileType::Regular => ft.is_file(),
                    FileType::Directory => ft.is_dir(),
                    FileType::Whiteout => ft.is_char_device() && meta.rdev() == 0,
                };
                if !is {
                    let got = if ft.is_dir() {
                        "a directory"
                    } else if ft.is_file() {
                        "a regular file"
                    } else if ft.is_char_device() {
                        "a character device"
                    } else {
                        "another kind of file"
                    };
                    return Err(differs(
                        format!("{here}: a {}", type_name(t)),
                        got.to_string(),
                    ));
                }
            }
            if let Some(want) = &c.contains {
                let got = text.unwrap_or_default();
                if !got.contains(want.as_str()) {
                    return Err(differs(
                        format!("{here} containing {want:?}"),
                        format!("it holds {:?}", short(got.trim())),
                    ));
                }
            }
            Ok(())
        }
    }
}

fn http(sb: &Sandbox, c: &HttpCheck) -> Result<(), Verdict> {
    let host = if c.url.host == "{host_ip}" {
        HOST_IP
    } else {
        c.url.host.as_str()
    };
    let (port, path) = (c.url.port, c.url.path.clone());
    let reply = sb
        .in_ns(|| get(host, port, &path))
        .map_err(|e| Verdict::Env(format!("cannot enter the sandbox's network: {e}")))?;
    let url = shown_url(c);
    match reply {
        Err(e) => Err(differs(
            format!("GET {url}: status {}", c.status),
            format!("no answer ({e})"),
        )),
        Ok((status, _)) if status != c.status => Err(differs(
            format!("GET {url}: status {}", c.status),
            format!("status {status}"),
        )),
        Ok((_, body)) => match &c.body_contains {
            Some(want) if !body.contains(want.as_str()) => Err(differs(
                format!("GET {url}: a body containing {want:?}"),
                format!("the body {:?}", short(body.trim())),
            )),
            _ => Ok(()),
        },
    }
}

/// A plain HTTP/1.0 GET: the status code and the body.
fn get(host: &str, port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let addr: std::net::SocketAddr = format!(
        "{}:{port}",
        if host == "localhost" {
            "127.0.0.1"
        } else {
            host
        }
    )
    .parse()
    .map_err(|e| std::io::Error::other(format!("{host}: {e}")))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    s.take(1 << 20).read_to_end(&mut reply)?;
    let text = String::from_utf8_lossy(&reply);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("the reply is not HTTP"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn cgroup(sb: &Sandbox, c: &CgroupCheck) -> Result<(), Verdict> {
    let (path, value) = observe::cgroup_file(sb, &c.container, &c.file)?;
    if value != c.equals {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(Verdict::NotYet {
            expected: format!("{name} = {}", c.equals),
            seen: format!("{name} = {value}"),
            look: Some(format!("cat {}", path.display())),
        });
    }
    Ok(())
}

fn netfilter(sb: &Sandbox, c: &NetfilterCheck) -> Result<(), Verdict> {
    let rules = observe::dnat_rules(sb)?;
    let expected = format!("a DNAT rule for port {}", c.port);
    match rules {
        None => Err(Verdict::NotYet {
            expected,
            seen: "no table ip hull: nothing is published".into(),
            look: None,
        }),
        Some(rules) if rules.iter().any(|r| r.port == u64::from(c.port)) => Ok(()),
        Some(rules) => {
            let ports: Vec<String> = rules.iter().map(|r| r.port.to_string()).collect();
            let seen = if ports.is_empty() {
                "no DNAT rules".to_owned()
            } else {
                format!("DNAT rules for ports {}", ports.join(", "))
            };
            Err(Verdict::NotYet {
                expected,
                seen,
                look: None,
            })
        }
    }
}

//! The small languages of `hull run`'s flags: sizes (`32m`), CPUs (`1.5`), env files,
//! volumes (`/host:/ctr:ro`) and port specs (`127.0.0.1:8080:80/tcp`). Pure functions with
//! errors that quote the input and say what is wrong.

use std::path::PathBuf;

/// A malformed flag value; each kind quotes the input and says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("invalid size {text:?}: {why} (use e.g. 32m, 512k, 1g)")]
    Size { text: String, why: String },
    #[error("invalid memory limit {0:?}: the minimum is 6m")]
    MemoryTooSmall(String),
    #[error("invalid --cpus {text:?}: {why}")]
    Cpus { text: String, why: &'static str },
    #[error("{file}:{line}: invalid variable name {name:?}")]
    EnvFileName {
        file: String,
        line: usize,
        name: String,
    },
    #[error("read env file {file}: {reason}")]
    EnvFileRead { file: String, reason: String },
    #[error("invalid volume {text:?}: {why}")]
    Volume { text: String, why: String },
    #[error("invalid port spec {text:?}: {why}")]
    Port { text: String, why: String },
}

/// Docker's RAMInBytes: a number (fractions allowed) and an optional binary unit
/// b, k, m, g, t, p (with optional "b"/"ib" suffix).
pub fn parse_size(text: &str) -> Result<i64, FlagError> {
    let bad = |why: &str| FlagError::Size {
        text: text.into(),
        why: why.into(),
    };
    let s = text.trim().to_ascii_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(bad("it does not start with a number"));
    }
    let value: f64 = num.parse().map_err(|_| bad("the number is malformed"))?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b').filter(|u| !u.is_empty()))
        .unwrap_or(unit);
    let mult: i64 = match unit {
        "" | "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        other => return Err(bad(&format!("unknown unit {other:?}"))),
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes > i64::MAX as f64 {
        return Err(bad("it is too large"));
    }
    Ok(bytes as i64)
}

/// `--memory`: Docker refuses less than 6 MiB, which could not even start most programs.
pub fn parse_memory(text: &str) -> Result<i64, FlagError> {
    let bytes = parse_size(text)?;
    if bytes < 6 * 1024 * 1024 {
        return Err(FlagError::MemoryTooSmall(text.into()));
    }
    Ok(bytes)
}

/// `--cpus 1.5` → NanoCpus (1.5e9), as Docker stores it.
pub fn parse_cpus(text: &str) -> Result<i64, FlagError> {
    let bad = |why| FlagError::Cpus {
        text: text.into(),
        why,
    };
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| bad("use a number such as 0.5 or 2"))?;
    if !(v > 0.0 && v <= 1024.0) {
        return Err(bad("must be more than 0"));
    }
    Ok((v * 1e9).round() as i64)
}

/// An env file: `KEY=value` lines, `#` comments, blank lines; a bare `KEY` takes the value
/// from hull's own environment (as Docker does) and is dropped when unset.
pub fn parse_env_file(text: &str, file: &str) -> Result<Vec<String>, FlagError> {
    let mut out = Vec::new();
    let bad = |line: usize, name: &str| FlagError::EnvFileName {
        file: file.into(),
        line,
        name: name.into(),
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, _)) if k.is_empty() || k.contains(char::is_whitespace) => {
                return Err(bad(i + 1, k))
            }
            Some(_) => out.push(line.to_string()),
            None => {
                if line.contains(char::is_whitespace) {
                    return Err(bad(i + 1, line));
                }
                if let Ok(v) = std::env::var(line) {
                    out.push(format!("{line}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// The variables of `--env-file` files, in order.
pub fn read_env_files(files: &[String]) -> Result<Vec<String>, FlagError> {
    let mut env = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| FlagError::EnvFileRead {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        env.extend(parse_env_file(&text, file)?);
    }
    Ok(env)
}

/// `-e KEY=value` or `-e KEY` (taken from our environment).
pub fn expand_env_flag(flag: &str) -> Option<String> {
    if flag.contains('=') {
        Some(flag.to_string())
    } else {
        std::env::var(flag).ok().map(|v| format!("{flag}={v}"))
    }
}

/// `--build-arg KEY=value`, or `--build-arg KEY` taken from our environment (skipped, as
/// Docker does, when the environment has no such variable).
pub fn expand_build_arg(flag: &str) -> Option<(String, String)> {
    match flag.split_once('=') {
        Some((k, v)) => Some((k.to_string(), v.to_string())),
        None => std::env::var(flag).ok().map(|v| (flag.to_string(), v)),
    }
}

/// What `-v` mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// `/host/path:…`: a bind mount of a host directory.
    Host(PathBuf),
    /// `NAME:…`: a named volume, made on first use (the name is checked where volumes are).
    Named(String),
    /// `-v /path` alone: a new anonymous volume.
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub source: VolumeSource,
    pub destination: PathBuf,
    pub read_only: bool,
    /// `:nocopy`: a new volume is not filled from the image.
    pub nocopy: bool,
    /// The mode as written (`ro`, `rw,nocopy`…), for inspect's Mounts.Mode.
    pub mode: String,
}

/// `-v /host/path:/container/path[:OPTIONS]`, `-v NAME:/container/path[:OPTIONS]` or
/// `-v /container/path`; OPTIONS is a comma list of `ro`, `rw` and `nocopy`.
pub fn parse_volume(text: &str) -> Result<Volume, FlagError> {
    let bad = |why: String| FlagError::Volume {
        text: text.into(),
        why,
    };
    let parts: Vec<&str> = text.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [d] => (None, *d, ""),
        [s, d] => (Some(*s), *d, ""),
        [s, d, m] => (Some(*s), *d, *m),
        _ => {
            return Err(bad(
                "use SOURCE:/container/path[:ro] or /container/path".into()
            ))
        }
    };
    if !dst.starts_with('/') {
        return Err(bad(format!("the container path {dst:?} must be absolute")));
    }
    let source = match src {
        None => VolumeSource::Anonymous,
        Some("") => return Err(bad("the source is empty".into())),
        Some(s) if s.starts_with('/') => VolumeSource::Host(PathBuf::from(s)),
        Some(s) => VolumeSource::Named(s.to_string()),
    };
    let (mut read_only, mut nocopy) = (false, false);
    for opt in mode.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "rw" => read_only = false,
            "ro" => read_only = true,
            "nocopy" if !matches!(source, VolumeSource::Host(_)) => nocopy = true,
            other => return Err(bad(format!("unknown mode {other:?} (ro, rw or nocopy)"))),
        }
    }
    Ok(Volume {
        source,
        destination: PathBuf::from(dst),
        read_only,
        nocopy,
        mode: mode.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub host_ip: Option<String>,
    /// None: pick a free port.
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: String,
}

/// `-p [IP:][HOSTPORT:]CTRPORT[/tcp|udp]`.
pub fn parse_port(text: &str) -> Result<PortSpec, FlagError> {
    let bad = |why: &str| FlagError::Port {
        text: text.into(),
        why: why.into(),
    };
    let (spec, proto) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(bad("the protocol must be tcp or udp"));
    }
    let port = |p: &str, what: &str| -> Result<u16, FlagError> {
        match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(bad(&format!("{what} {p:?} is not a port number 1-65535"))),
            Ok(n) => Ok(n),
        }
    };
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let (ip, host, ctr) = match parts.as_slice() {
        [c] => (None, None, *c),
        [c, h] => (None, Some(*h), *c),
        [c, h, ip] => (Some(*ip), Some(*h), *c),
        _ => return Err(bad("too many parts")),
    };
    let host_ip = match ip {
        Some(ip) => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            match ip.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => {}
                Ok(std::net::IpAddr::V6(_)) => {
                    return Err(bad(&format!("{ip:?} is IPv6; hull publishes IPv4 only")))
                }
                Err(_) => return Err(bad(&format!("{ip:?} is not an IP address"))),
            }
            Some(ip.to_string())
        }
        None => None,
    };
    let host_port = match host {
        Some("") | None => None,
        Some(h) => Some(port(h, "host port")?),
    };
    Ok(PortSpec {
        host_ip,
        host_port,
        container_port: port(ctr, "container port")?,
        proto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("32m").unwrap(), 32 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("512K").unwrap(), 512 << 10);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("64mb").unwrap(), 64 << 20);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        for bad in ["", "m", "12x", "1..2m", "-5m", "1e9"] {
            let e = parse_size(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
        assert!(parse_memory("1m")
            .unwrap_err()
            .to_string()
            .contains("minimum"));
    }

    #[test]
    fn ports() {
        let p = parse_port("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.proto.as_str()),
            (Some(8080), 80, "tcp")
        );
        let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p.proto, "udp");
        assert_eq!(parse_port("80").unwrap().host_port, None);
        assert_eq!(parse_port("127.0.0.1::80").unwrap().host_port, None);
        for bad in [
            "",
            "0",
            "70000",
            "80/sctp",
            "a:80",
            "1.2.3:80:80",
            "x:1:2:3",
            "[::1]:8091:80",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_and_env() {
        let v = parse_volume("/data:/srv:ro").unwrap();
        assert!(v.read_only);
        assert_eq!(v.source, VolumeSource::Host("/data".into()));
        let v = parse_volume("data:/srv:ro,nocopy").unwrap();
        assert_eq!(v.source, VolumeSource::Named("data".into()));
        assert!(v.read_only && v.nocopy);
        assert_eq!(v.mode, "ro,nocopy");
        let v = parse_volume("/srv").unwrap();
        assert_eq!(v.source, VolumeSource::Anonymous);
        assert!(parse_volume("srv").is_err());
        assert!(parse_volume(":/srv").is_err());
        assert!(parse_volume("/a:b").is_err());
        assert!(parse_volume("/a:/b:rx").is_err());
        assert!(parse_volume("/a:/b:nocopy").is_err());
        let env = parse_env_file("# c\nA=1\n\nB=two words\n", "f").unwrap();
        assert_eq!(env, vec!["A=1", "B=two words"]);
        assert!(parse_env_file("=x", "f")
            .unwrap_err()
            .to_string()
            .starts_with("f:1"));
        assert_eq!(parse_cpus("1.5").unwrap(), 1_500_000_000);
        assert!(parse_cpus("0").is_err());
    }

    proptest! {
        #[test]
        fn sizes_scale_by_their_unit(n in 1i64..100_000, u in 0usize..4) {
            let (suffix, mult) = [("", 1i64), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)][u];
            prop_assert_eq!(parse_size(&format!("{n}{suffix}")).unwrap(), n * mult);
        }

        #[test]
        fn full_port_specs_round_trip(h in 1u16.., c in 1u16.., udp in any::<bool>()) {
            let proto = if udp { "udp" } else { "tcp" };
            let p = parse_port(&format!("10.0.0.1:{h}:{c}/{proto}")).unwrap();
            prop_assert_eq!(p.host_port, Some(h));
            prop_assert_eq!(p.container_port, c);
            prop_assert_eq!(p.proto, proto);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = parse_size(&s);
            let _ = parse_port(&s);
            let _ = parse_volume(&s);
            let _ = parse_cpus(&s);
        }
    }
}

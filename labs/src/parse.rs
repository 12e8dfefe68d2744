//! The small languages inside scenario files: durations (`2s`, `500ms`), sizes (`32m`), where a
//! file lives (`host`, `container web`), path templates (`{merged:web}/etc/hosts`) and URL
//! templates (`http://{host_ip}:8080/`). Pure functions with clear errors; each type
//! deserializes through its parser, so a mistake is reported at its line in the file.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// What is wrong with a value in a scenario file; the message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{0:?} is not a duration (write 500ms, 3s or 1m)")]
    Duration(String),
    #[error("{0:?} is longer than the 10 minutes a check may wait")]
    TooLong(String),
    #[error("{0:?} is not a size (write 33554432, 512k, 32m or 1g)")]
    Size(String),
    #[error("{0:?}: write `host` or `container NAME` (NAME: letters, digits, _ . -)")]
    FileOn(String),
    #[error("{text:?}: {problem}")]
    Path { text: String, problem: PathProblem },
    #[error("{text:?}: {why} (write http://{{host_ip}}:8080/path)")]
    Url { text: String, why: &'static str },
}

/// What is wrong with a path template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    #[error("a '{{' without its '}}'")]
    Unclosed,
    #[error("unknown placeholder {{{0}}} (use {{lab}}, {{merged:NAME}} or {{upper:NAME}})")]
    UnknownPlaceholder(String),
    #[error("a '/' must follow the placeholder")]
    SlashAfterPlaceholder,
    #[error("the path must be absolute or start with {{lab}}")]
    NotAbsolute,
    #[error("a placeholder may only start the path")]
    PlaceholderInside,
    #[error("'..' is not allowed")]
    DotDot,
}

/// A string or a plain number in YAML.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(u64),
    Text(String),
}

/// A duration: `3s`, `500ms`, `1m`, or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Scalar")]
pub struct Dur(pub Duration);

impl TryFrom<Scalar> for Dur {
    type Error = ValueError;
    fn try_from(v: Scalar) -> Result<Self, ValueError> {
        match v {
            Scalar::Int(n) => Ok(Dur(Duration::from_secs(n))),
            Scalar::Text(s) => parse_duration(&s).map(Dur),
        }
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || ValueError::Duration(text.into());
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if d > Duration::from_secs(600) {
        return Err(ValueError::TooLong(text.into()));
    }
    Ok(d)
}

/// A size in bytes: `33554432`, `32m`, `1g`, `512k` (binary units, as Docker's `-m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Scalar")]
pub struct Bytes(pub u64);

impl TryFrom<Scalar> for Bytes {
    type Error = ValueError;
    fn try_from(v: Scalar) -> Result<Self, ValueError> {
        match v {
            Scalar::Int(n) => Ok(Bytes(n)),
            Scalar::Text(s) => parse_size(&s).map(Bytes),
        }
    }
}

pub fn parse_size(text: &str) -> Result<u64, ValueError> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || ValueError::Size(text.into());
    let n: u64 = num.parse().map_err(|_| bad())?;
    let shift = match unit.trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return Err(bad()),
    };
    if unit.len() > 2 {
        return Err(bad());
    }
    n.checked_mul(1u64 << shift).ok_or_else(bad)
}

/// Where a `file` check looks: on the sandbox host, or inside a running container (through
/// `/proc/PID/root` of its PID 1, which shows the container's own mounts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum FileOn {
    #[default]
    Host,
    Container(String),
}

impl TryFrom<String> for FileOn {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        parse_file_on(&s)
    }
}

pub fn parse_file_on(text: &str) -> Result<FileOn, ValueError> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("host"), None, _) => Ok(FileOn::Host),
        (Some("container"), Some(name), None) if is_name(name) => {
            Ok(FileOn::Container(name.to_owned()))
        }
        _ => Err(ValueError::FileOn(text.into())),
    }
}

/// A container name as Docker allows it.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// A slug: step and scenario ids.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// One piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// `{lab}`: the lab directory.
    Lab,
    /// `{merged:NAME}`, `{upper:NAME}`: a container's overlay directories.
    Merged(String),
    Upper(String),
}

/// An absolute path, possibly starting with a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PathTemplate(pub Vec<Part>);

impl TryFrom<String> for PathTemplate {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        parse_path_template(&s)
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                Part::Text(t) => f.write_str(t)?,
                Part::Lab => f.write_str("{lab}")?,
                Part::Merged(n) => write!(f, "{{merged:{n}}}")?,
                Part::Upper(n) => write!(f, "{{upper:{n}}}")?,
            }
        }
        Ok(())
    }
}

impl PathTemplate {
    /// The path in words: `/bin/vi in the upper dir of container lay`.
    pub fn words(&self) -> String {
        let mut rest = String::new();
        let mut place = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => rest.push_str(t),
                Part::Lab => place = " in your lab directory".into(),
                Part::Merged(n) => place = format!(" in container {n}'s merged view"),
                Part::Upper(n) => place = format!(" in container {n}'s upper dir"),
            }
        }
        if rest.is_empty() {
            rest.push('/');
        }
        format!("{rest}{place}")
    }

    /// The path as a shell can take it, pasted as it stands in the lab shell.
    pub fn shell(&self) -> String {
        let dir = |n: &str, key: &str| {
            format!("\"$(hull inspect -f '{{{{.GraphDriver.Data.{key}}}}}' {n})\"")
        };
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Lab => "$LAB".into(),
                Part::Merged(n) => dir(n, "MergedDir"),
                Part::Upper(n) => dir(n, "UpperDir"),
            })
            .collect()
    }
}

pub fn parse_path_template(text: &str) -> Result<PathTemplate, ValueError> {
    let bad = |problem| ValueError::Path {
        text: text.into(),
        problem,
    };
    let mut parts = Vec::new();
    let mut rest = text;
    if let Some(after) = rest.strip_prefix('{') {
        let end = after.find('}').ok_or_else(|| bad(PathProblem::Unclosed))?;
        let inner = &after[..end];
        parts.push(match inner.split_once(':') {
            None if inner == "lab" => Part::Lab,
            Some(("merged", n)) if is_name(n) => Part::Merged(n.to_owned()),
            Some(("upper", n)) if is_name(n) => Part::Upper(n.to_owned()),
            _ => return Err(bad(PathProblem::UnknownPlaceholder(inner.into()))),
        });
        rest = &after[end + 1..];
        if !rest.is_empty() && !rest.starts_with('/') {
            return Err(bad(PathProblem::SlashAfterPlaceholder));
        }
    } else if !rest.starts_with('/') {
        return Err(bad(PathProblem::NotAbsolute));
    }
    if rest.contains(['{', '}']) {
        return Err(bad(PathProblem::PlaceholderInside));
    }
    if rest.split('/').any(|c| c == "..") {
        return Err(bad(PathProblem::DotDot));
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(PathTemplate(parts))
}

/// `http://HOST:PORT/PATH`, HOST being `{host_ip}`, an IPv4 address or `localhost`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct UrlTemplate {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl TryFrom<String> for UrlTemplate {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        parse_url(&s)
    }
}

impl fmt::Display for UrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.path)
    }
}

pub fn parse_url(text: &str) -> Result<UrlTemplate, ValueError> {
    let bad = |why| ValueError::Url {
        text: text.into(),
        why,
    };
    let rest = text
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("the port is missing"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?;
    let host_ok =
        host == "{host_ip}" || host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok();
    if !host_ok {
        return Err(bad(
            "the host must be {host_ip}, localhost or an IPv4 address",
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the path has spaces or control characters"));
    }
    Ok(UrlTemplate {
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2h").is_err());
        assert_eq!(parse_size("32m"), Ok(33_554_432));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert!(parse_size("32 mib").is_err());
        assert_eq!(
            parse_file_on("container web"),
            Ok(FileOn::Container("web".into()))
        );
        assert!(parse_file_on("container").is_err());
        let t = parse_path_template("{merged:web}/etc/hosts").unwrap();
        assert_eq!(t.to_string(), "{merged:web}/etc/hosts");
        assert!(parse_path_template("etc/hosts").is_err());
        assert!(parse_path_template("/a/{lab}").is_err());
        let u = parse_url("http://{host_ip}:8080").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/"));
        assert!(parse_url("https://x:1/").is_err());
    }

    proptest! {
        #[test]
        fn durations_round_trip(n in 0u64..600, unit in prop::sample::select(vec!["ms", "s", ""])) {
            let d = parse_duration(&format!("{n}{unit}")).unwrap();
            let want = if unit == "ms" { Duration::from_millis(n) } else { Duration::from_secs(n) };
            prop_assert_eq!(d, want);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_duration(&s);
            let _ = parse_size(&s);
            let _ = parse_file_on(&s);
            let _ = parse_path_template(&s);
            let _ = parse_url(&s);
        }

        #[test]
        fn sizes_scale(n in 0u64..1_000_000, unit in prop::sample::select(vec![("", 0u32), ("k", 10), ("M", 20), ("gb", 30)])) {
            prop_assert_eq!(parse_size(&format!("{n}{}", unit.0)), Ok(n << unit.1));
        }

        #[test]
        fn path_templates_round_trip(name in "[a-z][a-z0-9_.-]{0,10}", rest in "(/[a-z0-9_-][a-z0-9._-]{0,7}){0,4}",
                                     which in prop::sample::select(vec!["merged", "upper"])) {
            let text = format!("{{{which}:{name}}}{rest}");
            let t = parse_path_template(&text).unwrap();
            prop_assert_eq!(t.to_string(), text);
        }

        #[test]
        fn urls_round_trip(a in any::<[u8; 4]>(), port in 1u16.., path in "(/[a-z0-9._-]{0,8}){1,3}") {
            let text = format!("http://{}.{}.{}.{}:{port}{path}", a[0], a[1], a[2], a[3]);
            let u = parse_url(&text).unwrap();
            prop_assert_eq!(u.to_string(), text);
        }
    }
}

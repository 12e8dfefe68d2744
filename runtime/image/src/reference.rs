//! Image references with Docker's grammar: `[host[:port]/]path[:tag][@sha256:<hex>]`.
//!
//! - path components are lowercase `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`,
//!   and separated by `/`;
//! - the first component is a registry host when it contains `.` or `:`, is `localhost`, or has
//!   an uppercase letter (exactly Docker's rule); a host is `[A-Za-z0-9-]` labels joined by `.`,
//!   with an optional numeric `:port`;
//! - a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, "latest" when absent;
//! - a digest is `sha256:` and 64 lowercase hex digits;
//! - the whole name is at most 255 characters and may not be a 64-hex-digit string (that is an id).
//!
//! Names are kept in Docker's *familiar* form: Docker Hub's host (`docker.io/`,
//! `index.docker.io/`) and its `library/` prefix are dropped, so `docker.io/library/busybox`,
//! `library/busybox` and `busybox` are one name, `busybox` (as `docker images` shows it).
//! The host stays when dropping it would make the first component look like a host
//! (`docker.io/my.org/app`).

use std::fmt;

use super::digest::is_hex;
use super::error::{ImageError, Result};

/// The tag used when a reference names none.
pub const DEFAULT_TAG: &str = "latest";

const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The repository name, with its registry host if one was written (`localhost:5000/app`).
    pub name: String,
    /// The tag: as written, or "latest".
    pub tag: String,
    /// `sha256:<hex>` when the reference pinned a manifest digest with `@`.
    pub digest: Option<String>,
}

impl Reference {
    /// `name:tag`, the form names are stored under.
    pub fn full(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)?;
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Parses `s` with Docker's rules; the error names the reference and the part at fault.
pub fn parse_reference(s: &str) -> Result<Reference> {
    let bad = |reason: String| ImageError::InvalidReference {
        reference: s.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(bad("the reference is empty".into()));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((rest, d)) => {
            let ok = d
                .strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && is_hex(h));
            if !ok {
                return Err(bad(format!(
                    "digest {d:?} must be sha256: followed by 64 lowercase hex digits"
                )));
            }
            (rest, Some(d.to_string()))
        }
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        check_tag(tag).map_err(|p| bad(p.to_string()))?;
    }
    check_name(name).map_err(|p| bad(p.to_string()))?;
    let name = familiar(name);
    if name.len() == 64 && is_hex(name) {
        return Err(bad(NameProblem::NameIsId(name.into()).to_string()));
    }
    Ok(Reference {
        name: name.to_string(),
        tag: tag.unwrap_or(DEFAULT_TAG).to_string(),
        digest,
    })
}

/// Docker Hub names in familiar form (`docker.io/library/x` → `x`); `name` is valid.
fn familiar(name: &str) -> &str {
    let looks_like_host = |first: &str| first.contains(['.', ':']) || first == "localhost";
    let mut rest = name;
    for hub in ["docker.io/", "index.docker.io/"] {
        if let Some(r) = name.strip_prefix(hub) {
            let first = r.split('/').next().unwrap_or(r);
            if !looks_like_host(first) || !r.contains('/') {
                rest = r;
            }
        }
    }
    match rest.strip_prefix("library/") {
        Some(r) if !r.contains('/') => r,
        _ => rest,
    }
}

/// What is wrong with one part of a reference (shown after "invalid reference format REF: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NameProblem {
    #[error("the tag after ':' is empty")]
    EmptyTag,
    #[error("tag {0:?} is longer than {max} characters", max = TAG_MAX)]
    TagTooLong(String),
    #[error("tag {0:?} must start with a letter, digit or '_'")]
    TagStart(String),
    #[error("tag {0:?} may only contain letters, digits, '_', '.' and '-'")]
    TagChars(String),
    #[error("the repository name is empty")]
    EmptyName,
    #[error("repository name is longer than {max} characters", max = NAME_MAX)]
    NameTooLong,
    #[error("repository name {0:?} is a 64-hex-digit string, which is reserved for image ids")]
    NameIsId(String),
    #[error("registry host {host:?} has an invalid port {port:?}")]
    HostPort { host: String, port: String },
    #[error("registry host {host:?} has an invalid label {label:?} (letters, digits and inner '-' only)")]
    HostLabel { host: String, label: String },
    #[error(
        "repository name component {0:?} is empty (check for '//' or a leading or trailing '/')"
    )]
    EmptyComponent(String),
    #[error("repository name component {0:?} must be lowercase")]
    Uppercase(String),
    #[error("repository name component {0:?} must start and end with a lowercase letter or digit")]
    ComponentEdge(String),
    #[error("repository name component {component:?} has an invalid separator {sep:?} (only '.', '_', '__' or dashes may join letters and digits)")]
    Separator { component: String, sep: String },
}

fn check_tag(tag: &str) -> std::result::Result<(), NameProblem> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
    match tag.chars().next() {
        None => Err(NameProblem::EmptyTag),
        Some(_) if tag.len() > TAG_MAX => Err(NameProblem::TagTooLong(tag.into())),
        Some(c) if !(c.is_ascii_alphanumeric() || c == '_') => {
            Err(NameProblem::TagStart(tag.into()))
        }
        Some(_) if !tag.chars().all(ok_char) => Err(NameProblem::TagChars(tag.into())),
        Some(_) => Ok(()),
    }
}

fn check_name(name: &str) -> std::result::Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::EmptyName);
    }
    if name.len() > NAME_MAX {
        return Err(NameProblem::NameTooLong);
    }
    if name.len() == 64 && is_hex(name) {
        return Err(NameProblem::NameIsId(name.into()));
    }
    let mut path = name;
    if let Some((first, rest)) = name.split_once('/') {
        let is_host = first.contains(['.', ':'])
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase());
        if is_host {
            check_host(first)?;
            path = rest;
        }
    }
    for component in path.split('/') {
        check_component(component)?;
    }
    Ok(())
}

fn check_host(host: &str) -> std::result::Result<(), NameProblem> {
    let (domain, port) = match host.split_once(':') {
        Some((d, p)) => (d, Some(p)),
        None => (host, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NameProblem::HostPort {
                host: host.into(),
                port: p.into(),
            });
        }
    }
    for label in domain.split('.') {
        let ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(NameProblem::HostLabel {
                host: host.into(),
                label: label.into(),
            });
        }
    }
    Ok(())
}

/// `[a-z0-9]+` runs joined by exactly one of `.`, `_`, `__` or a run of `-`.
fn check_component(c: &str) -> std::result::Result<(), NameProblem> {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if c.is_empty() {
        return Err(NameProblem::EmptyComponent(c.into()));
    }
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(NameProblem::Uppercase(c.into()));
    }
    let bytes = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return Err(NameProblem::ComponentEdge(c.into()));
        }
        if i == bytes.len() {
            return Ok(());
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return Err(NameProblem::Separator {
                component: c.into(),
                sep: sep.into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> Reference {
        parse_reference(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_examples_parse() {
        assert_eq!(r("busybox").full(), "busybox:latest");
        assert_eq!(r("busybox:1.36").tag, "1.36");
        assert_eq!(r("library/busybox:latest").name, "busybox");
        let x = r("localhost:5000/my-app_x/web__v2:v1.0-rc_1");
        assert_eq!(
            (x.name.as_str(), x.tag.as_str()),
            ("localhost:5000/my-app_x/web__v2", "v1.0-rc_1")
        );
        let d = format!("sha256:{}", "ab".repeat(32));
        let x = r(&format!("Registry.Example.com/a/b@{d}"));
        assert_eq!(x.name, "Registry.Example.com/a/b");
        assert_eq!(x.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r("a---b").name, "a---b");
        for (s, name) in [
            ("docker.io/library/busybox:1", "busybox"),
            ("library/busybox", "busybox"),
            ("index.docker.io/user/app", "user/app"),
            ("docker.io/user/app", "user/app"),
            ("docker.io/my.org/app", "docker.io/my.org/app"),
            ("docker.io/library/a/b", "library/a/b"),
            ("quay.io/library/x", "quay.io/library/x"),
        ] {
            assert_eq!(r(s).name, name, "{s}");
            assert_eq!(r(&r(s).to_string()), r(s), "{s} round trip");
        }
    }

    #[test]
    fn bad_references_name_the_part_at_fault() {
        for (s, part) in [
            ("", "empty"),
            ("Busybox", "\"Busybox\" must be lowercase"),
            ("busybox:", "tag after ':' is empty"),
            ("busybox:-x", "tag \"-x\" must start"),
            ("busy..box", "invalid separator \"..\""),
            ("busy___box", "invalid separator \"___\""),
            ("/busybox", "is empty"),
            ("busybox/", "is empty"),
            ("a//b", "is empty"),
            ("_a", "must start and end"),
            ("a-", "must start and end"),
            ("busybox@sha256:abc", "digest \"sha256:abc\""),
            ("localhost:x/a", "invalid port \"x\""),
            ("my-.host.com/a", "invalid label \"my-\""),
            ("busybox:a b", "tag \"a b\""),
        ] {
            let e = parse_reference(s).expect_err(s).to_string();
            assert!(e.contains(part), "{s:?}: {e}");
            assert!(e.contains(&format!("{s:?}")), "{s:?} not named in: {e}");
        }
        let id = "0".repeat(64);
        assert!(parse_reference(&id)
            .unwrap_err()
            .to_string()
            .contains("reserved for image ids"));
        let long_tag = format!("a:{}", "t".repeat(129));
        assert!(parse_reference(&long_tag).is_err());
        assert!(parse_reference(&"a/".repeat(128)).is_err());
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}(([._]|__|-{1,3})[a-z0-9]{1,6}){0,2}"
    }

    fn name() -> impl Strategy<Value = String> {
        let host = proptest::option::of("[a-z0-9]{1,6}\\.[a-z]{2,4}(:[0-9]{1,5})?")
            .prop_filter("Docker Hub names are familiarized", |h| {
                !matches!(h.as_deref(), Some("docker.io" | "index.docker.io"))
            });
        // Without a host, a first component with a '.' would be taken for one (Docker's rule).
        let first = "[a-z0-9]{1,6}((_|__|-{1,3})[a-z0-9]{1,6}){0,2}";
        (host, first, proptest::collection::vec(component(), 0..3)).prop_map(|(h, f, rest)| {
            let path = std::iter::once(f).chain(rest).collect::<Vec<_>>().join("/");
            h.map_or(path.clone(), |h| format!("{h}/{path}"))
        })
    }

    proptest! {
        #[test]
        fn valid_references_round_trip(
            n in name(),
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            digest in proptest::option::of("[0-9a-f]{64}"),
        ) {
            let mut s = n.clone();
            if let Some(t) = &tag { s = format!("{s}:{t}"); }
            if let Some(d) = &digest { s = format!("{s}@sha256:{d}"); }
            let parsed = parse_reference(&s).unwrap();
            prop_assert_eq!(&parsed.name, &n);
            prop_assert_eq!(parsed.tag.as_str(), tag.as_deref().unwrap_or("latest"));
            prop_assert_eq!(parsed.digest.clone(), digest.map(|d| format!("sha256:{d}")));
            prop_assert_eq!(parse_reference(&parsed.to_string()).unwrap(), parsed);
        }

        #[test]
        fn uppercase_path_components_are_rejected(n in name(), up in "[A-Z]{1,3}") {
            let s = format!("{n}{up}");
            prop_assert!(parse_reference(&s).is_err());
        }

        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse_reference(&s);
        }

        #[test]
        fn never_panics_on_reference_alphabet(s in "[a-zA-Z0-9:/@._-]{0,80}") {
            if let Ok(r) = parse_reference(&s) {
                prop_assert_eq!(parse_reference(&r.to_string()).unwrap(), r);
            }
        }
    }
}

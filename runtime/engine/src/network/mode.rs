//! `--network bridge|none|host|NAME|container:NAME`.

/// What a container's network namespace is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// Its own namespace, attached to a bridge network: "bridge" (the default) or a user one.
    Bridge(String),
    /// Its own namespace with only `lo`.
    None,
    /// The namespace hull runs in.
    Host,
    /// The namespace of another container (name or id).
    Container(String),
}

impl NetworkMode {
    pub fn parse(text: &str) -> Result<NetworkMode, super::error::NetworkError> {
        match text {
            "" | "default" | "bridge" => Ok(NetworkMode::Bridge("bridge".into())),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            t => match t.strip_prefix("container:") {
                Some("") => Err(super::error::NetworkError::Mode(t.to_string())),
                Some(c) => Ok(NetworkMode::Container(c.to_string())),
                None => Ok(NetworkMode::Bridge(t.to_string())),
            },
        }
    }

    /// The network [`super::Networks::connect`] takes, for the bridge modes.
    pub fn network(&self) -> Option<&str> {
        match self {
            NetworkMode::Bridge(n) => Some(n),
            _ => None,
        }
    }
}

impl std::fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkMode::Bridge(n) => f.write_str(n),
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::Container(c) => write!(f, "container:{c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        for (text, shown) in [
            ("bridge", "bridge"),
            ("default", "bridge"),
            ("none", "none"),
            ("host", "host"),
            ("web", "web"),
            ("container:db", "container:db"),
        ] {
            assert_eq!(NetworkMode::parse(text).unwrap().to_string(), shown);
        }
        assert!(NetworkMode::parse("container:").is_err());
        assert_eq!(NetworkMode::parse("web").unwrap().network(), Some("web"));
        assert_eq!(NetworkMode::Host.network(), None);
    }
}

//! Turning `-p` specs into published ports: validate the host address, refuse a host port that
//! another container already publishes, and pick a free one (32768-60999) when none was given.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::ops::RangeInclusive;

use super::error::{NetworkError, Result};
use super::{PortSpec, PublishedPort};

/// Where random host ports come from (Linux's default ephemeral range, as Docker uses).
pub const RANDOM_RANGE: RangeInclusive<u16> = 32768..=60999;

/// Whether two published ports would catch the same packets.
pub fn clash(a: &PublishedPort, b: &PublishedPort) -> bool {
    a.proto == b.proto
        && a.host_port == b.host_port
        && (a.host_ip == b.host_ip || a.host_ip == "0.0.0.0" || b.host_ip == "0.0.0.0")
}

/// The host address of a spec: IPv4 only; unspecified means every address ("0.0.0.0").
fn host_ip(spec: &PortSpec) -> Result<String> {
    match spec.host_ip.as_deref() {
        None | Some("") => Ok("0.0.0.0".into()),
        Some(text) => text
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| NetworkError::HostAddress {
                address: text.to_string(),
                port: spec.container_port,
            }),
    }
}

/// Whether `ip:port` can be bound on this host for `proto`.
pub fn bindable(ip: &str, port: u16, proto: &str) -> bool {
    let addr = format!("{ip}:{port}");
    match proto {
        "udp" => UdpSocket::bind(&addr).is_ok(),
        _ => TcpListener::bind(&addr).is_ok(),
    }
}

/// A starting point in the random range that differs between calls.
fn seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().wrapping_mul(2_654_435_761)
}

/// Resolves `specs` against the ports already `taken` (by every other container). `free`
/// decides whether a candidate random port is usable on the host (normally [`bindable`]).
pub fn resolve(
    specs: &[PortSpec],
    taken: &[PublishedPort],
    free: &dyn Fn(&str, u16, &str) -> bool,
) -> Result<Vec<PublishedPort>> {
    let mut out: Vec<PublishedPort> = Vec::new();
    for spec in specs {
        if spec.proto != "tcp" && spec.proto != "udp" {
            return Err(NetworkError::Protocol {
                proto: spec.proto.clone(),
                port: spec.container_port,
            });
        }
        if spec.container_port == 0 || spec.host_port == Some(0) {
            return Err(NetworkError::PortZero);
        }
        let host_ip = host_ip(spec)?;
        let make = |host_port| PublishedPort {
            host_ip: host_ip.clone(),
            host_port,
            container_port: spec.container_port,
            proto: spec.proto.clone(),
        };
        let in_use = |p: &PublishedPort| taken.iter().chain(out.iter()).any(|t| clash(t, p));
        let port = match spec.host_port {
            Some(hp) => {
                let p = make(hp);
                if in_use(&p) {
                    return Err(NetworkError::PortAllocated {
                        port: hp,
                        proto: spec.proto.clone(),
                    });
                }
                // A program of the host itself listens there (Docker's proxy would fail to
                // bind): the DNAT rule would silently steal its traffic.
                if !free(&p.host_ip, hp, &p.proto) {
                    return Err(NetworkError::HostPortBusy {
                        address: p.host_ip.clone(),
                        port: hp,
                        proto: spec.proto.clone(),
                    });
                }
                p
            }
            None => {
                let (lo, hi) = (*RANDOM_RANGE.start() as u32, *RANDOM_RANGE.end() as u32);
                let n = hi - lo + 1;
                let start = seed() % n;
                (0..n)
                    .map(|i| make((lo + (start + i) % n) as u16))
                    .find(|p| !in_use(p) && free(&p.host_ip, p.host_port, &p.proto))
                    .ok_or_else(|| NetworkError::NoFreePort {
                        container_port: spec.container_port,
                        proto: spec.proto.clone(),
                    })?
            }
        };
        out.push(port);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ip: Option<&str>, hp: Option<u16>, cp: u16, proto: &str) -> PortSpec {
        PortSpec {
            host_ip: ip.map(str::to_string),
            host_port: hp,
            container_port: cp,
            proto: proto.into(),
        }
    }

    fn published(ip: &str, hp: u16, proto: &str) -> PublishedPort {
        PublishedPort {
            host_ip: ip.into(),
            host_port: hp,
            container_port: 80,
            proto: proto.into(),
        }
    }

    const ALWAYS: &dyn Fn(&str, u16, &str) -> bool = &|_, _, _| true;

    #[test]
    fn explicit_ports_and_conflicts() {
        let taken = [published("0.0.0.0", 8080, "tcp")];
        let e = resolve(&[spec(None, Some(8080), 80, "tcp")], &taken, ALWAYS).unwrap_err();
        assert_eq!(e.to_string(), "port 8080/tcp is already allocated");
        let e = resolve(
            &[spec(Some("127.0.0.1"), Some(8080), 80, "tcp")],
            &taken,
            ALWAYS,
        );
        assert!(e.is_err());
        // Another protocol, or two distinct addresses, do not clash.
        let ok = resolve(&[spec(None, Some(8080), 80, "udp")], &taken, ALWAYS).unwrap();
        assert_eq!(ok[0].host_ip, "0.0.0.0");
        let taken = [published("127.0.0.1", 9000, "tcp")];
        assert!(resolve(
            &[spec(Some("127.0.0.2"), Some(9000), 80, "tcp")],
            &taken,
            ALWAYS
        )
        .is_ok());
        // The same port twice in one request.
        let twice = [
            spec(None, Some(81), 80, "tcp"),
            spec(None, Some(81), 81, "tcp"),
        ];
        assert!(resolve(&twice, &[], ALWAYS).is_err());
    }

    #[test]
    fn bad_specs() {
        let e = resolve(&[spec(Some("::1"), Some(1), 1, "tcp")], &[], ALWAYS).unwrap_err();
        assert!(e.to_string().contains("only IPv4"), "{e}");
        assert!(resolve(&[spec(None, Some(1), 1, "sctp")], &[], ALWAYS).is_err());
        assert!(resolve(&[spec(None, None, 0, "tcp")], &[], ALWAYS).is_err());
    }

    #[test]
    fn random_ports_are_in_range_free_and_distinct() {
        let taken = [published("0.0.0.0", 40000, "tcp")];
        let specs: Vec<PortSpec> = (1..=20).map(|p| spec(None, None, p, "tcp")).collect();
        let odd_only: &dyn Fn(&str, u16, &str) -> bool = &|_, p, _| p % 2 == 1;
        let got = resolve(&specs, &taken, odd_only).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for p in &got {
            assert!(RANDOM_RANGE.contains(&p.host_port));
            assert_eq!(p.host_port % 2, 1);
            assert!(seen.insert(p.host_port));
        }
        let never: &dyn Fn(&str, u16, &str) -> bool = &|_, _, _| false;
        let e = resolve(&specs[..1], &[], never).unwrap_err();
        assert!(e.to_string().contains("no free host port"), "{e}");
    }
}

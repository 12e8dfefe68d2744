//! IP address management, as pure functions: IPv4 subnets, the next free subnet for a new
//! network, the next free address in a network, and the MAC address Docker derives from an IP.
//!
//! What is in use comes from the caller (the network records on disk), so the same functions
//! serve a fresh `hull` and one that restarted: nothing here keeps state.

use super::error::NetworkError;
use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

/// The default bridge network's subnet; reserved for it even before it is made.
pub const DEFAULT_SUBNET: &str = "172.17.0.0/16";

/// An IPv4 subnet: a network address (host bits zero) and a prefix length 1-30.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    network: u32,
    prefix: u8,
}

impl Ipv4Net {
    /// `"172.18.0.0/16"`. The host bits must be zero, as Docker insists, and the subnet must
    /// have room for a gateway and at least one container (prefix 1-30).
    pub fn parse(text: &str) -> Result<Ipv4Net, NetworkError> {
        let bad = |why: String| NetworkError::Subnet {
            text: text.into(),
            why,
        };
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| bad("expected ADDRESS/PREFIX, e.g. 172.18.0.0/16".into()))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| bad(format!("{addr:?} is not an IPv4 address")))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (1..=30).contains(p))
            .ok_or_else(|| bad(format!("the prefix length {prefix:?} must be 1-30")))?;
        let net = Ipv4Net::new(addr, prefix);
        if net.network != u32::from(addr) {
            return Err(bad(format!("it should be {net}")));
        }
        Ok(net)
    }

    /// A route's destination, `ADDR/PREFIX` with any prefix 0-32 (host bits ignored).
    pub fn parse_route(text: &str) -> Option<Ipv4Net> {
        let (addr, prefix) = text.split_once('/')?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        Some(Ipv4Net::new(addr.parse().ok()?, prefix))
    }

    /// The subnet of length `prefix` that holds `addr` (host bits cleared).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        let prefix = prefix.min(32);
        Ipv4Net {
            network: u32::from(addr) & mask(prefix),
            prefix,
        }
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network | !mask(self.prefix))
    }

    /// The first host address: Docker's gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.network
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let p = self.prefix.min(other.prefix);
        self.network & mask(p) == other.network & mask(p)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// The pools user-defined networks take their subnets from, in order, like Docker's defaults:
/// 172.18.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20 … 192.168.240.0/20.
pub fn default_pools() -> impl Iterator<Item = Ipv4Net> {
    let big = (18..=31).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16));
    let small = (0..16).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20));
    big.chain(small)
}

/// The first default pool that overlaps none of `taken`.
pub fn next_subnet(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    default_pools().find(|p| taken.iter().all(|t| !t.overlaps(p)))
}

/// The lowest address of `net` that is neither the network, the broadcast, the gateway, nor in
/// `used`.
pub fn next_address(
    net: &Ipv4Net,
    gateway: Ipv4Addr,
    used: &BTreeSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let first = u32::from(net.network()) + 1;
    let last = u32::from(net.broadcast()) - 1;
    (first..=last)
        .map(Ipv4Addr::from)
        .find(|ip| *ip != gateway && !used.contains(ip))
}

/// Docker's MAC for an address: 02:42 followed by the four bytes of the IP
/// (172.17.0.2 → 02:42:ac:11:00:02).
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        Ipv4Net::parse(s).unwrap()
    }

    #[test]
    fn parses_and_refuses() {
        let n = net("172.17.0.0/16");
        assert_eq!(n.gateway(), Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(n.broadcast(), Ipv4Addr::new(172, 17, 255, 255));
        assert_eq!(n.to_string(), "172.17.0.0/16");
        let e = Ipv4Net::parse("172.17.0.1/16").unwrap_err().to_string();
        assert!(e.contains("it should be 172.17.0.0/16"), "{e}");
        assert!(Ipv4Net::parse("172.17.0.0").is_err());
        assert!(Ipv4Net::parse("10.0.0.0/31").is_err());
        assert!(Ipv4Net::parse("10.0.0.0/0").is_err());
        assert!(Ipv4Net::parse("300.0.0.0/8").is_err());
        assert!(Ipv4Net::parse("fd00::/64").is_err());
    }

    #[test]
    fn overlap() {
        assert!(net("172.17.0.0/16").overlaps(&net("172.17.5.0/24")));
        assert!(net("172.17.5.0/24").overlaps(&net("172.17.0.0/16")));
        assert!(!net("172.17.0.0/16").overlaps(&net("172.18.0.0/16")));
        assert!(net("10.0.0.0/8").overlaps(&net("10.200.0.0/30")));
    }

    #[test]
    fn routes() {
        let r = Ipv4Net::parse_route("10.231.0.7/24").unwrap();
        assert_eq!(r.to_string(), "10.231.0.0/24");
        assert!(Ipv4Net::parse_route("172.18.3.4/32")
            .unwrap()
            .overlaps(&net("172.18.0.0/16")));
        assert!(Ipv4Net::parse_route("10.0.0.0/33").is_none());
        assert!(Ipv4Net::parse_route("default").is_none());
    }

    #[test]
    fn subnets_in_order() {
        assert_eq!(next_subnet(&[]).unwrap().to_string(), "172.18.0.0/16");
        let taken = [net("172.17.0.0/16"), net("172.18.0.0/24")];
        assert_eq!(next_subnet(&taken).unwrap().to_string(), "172.19.0.0/16");
        let all: Vec<Ipv4Net> = default_pools().collect();
        assert_eq!(all.len(), 14 + 16);
        assert!(next_subnet(&all).is_none());
        assert_eq!(all[14].to_string(), "192.168.0.0/20");
    }

    #[test]
    fn addresses_skip_gateway_and_used() {
        let n = net("10.1.0.0/29");
        let gw = n.gateway();
        let mut used = BTreeSet::new();
        let mut got = Vec::new();
        while let Some(ip) = next_address(&n, gw, &used) {
            used.insert(ip);
            got.push(ip.to_string());
        }
        assert_eq!(
            got,
            ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]
        );
        used.remove(&Ipv4Addr::new(10, 1, 0, 4));
        assert_eq!(
            next_address(&n, gw, &used),
            Some(Ipv4Addr::new(10, 1, 0, 4))
        );
    }

    #[test]
    fn docker_mac() {
        assert_eq!(mac_for(Ipv4Addr::new(172, 17, 0, 2)), "02:42:ac:11:00:02");
    }

    proptest! {
        #[test]
        fn parse_display_roundtrip(a in any::<u32>(), p in 1u8..=30) {
            let n = Ipv4Net::new(Ipv4Addr::from(a), p);
            prop_assert_eq!(Ipv4Net::parse(&n.to_string()).unwrap(), n);
            prop_assert!(n.contains(Ipv4Addr::from(a)));
            prop_assert!(n.contains(n.gateway()) && n.contains(n.broadcast()));
        }

        #[test]
        fn overlap_is_symmetric_and_matches_containment(
            a in any::<u32>(), pa in 1u8..=30, b in any::<u32>(), pb in 1u8..=30
        ) {
            let x = Ipv4Net::new(Ipv4Addr::from(a), pa);
            let y = Ipv4Net::new(Ipv4Addr::from(b), pb);
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            prop_assert_eq!(x.overlaps(&y), x.contains(y.network()) || y.contains(x.network()));
        }

        #[test]
        fn allocations_are_distinct_hosts(p in 24u8..=30, n in 0usize..300) {
            let net = Ipv4Net::new(Ipv4Addr::new(10, 9, 8, 0), p);
            let gw = net.gateway();
            let mut used = BTreeSet::new();
            for _ in 0..n {
                match next_address(&net, gw, &used) {
                    Some(ip) => {
                        prop_assert!(net.contains(ip));
                        prop_assert!(ip != gw && ip != net.network() && ip != net.broadcast());
                        prop_assert!(used.insert(ip));
                    }
                    None => {
                        let hosts = (1usize << (32 - p)) - 3;
                        prop_assert_eq!(used.len(), hosts);
                        break;
                    }
                }
            }
        }
    }
}

//! `--allow-target`: what an exporter reachable from the network may be asked to probe. Without
//! rules everything may be probed (the loopback default listen address keeps that local).
//!
//! A rule is `HOST[:PORTS]`: HOST is an IP address, a CIDR, a name, `*.suffix` (any name under
//! it) or `*` (anything); PORTS is `N` or `N-M`. A rule without ports allows every port. An IPv6
//! address or CIDR with ports goes in brackets: `[fd00::/8]:443`. CIDR rules match address
//! literals only: a name is allowed by naming it, never by what it happens to resolve to.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::str::FromStr;

use ipnet::IpNet;
use netdiag_common::target::Host;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Net(IpNet),
    Name(String),
    /// `*.example.com`: names strictly under `.example.com`.
    Suffix(String),
}

/// One `--allow-target` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    host: HostPattern,
    ports: Option<RangeInclusive<u16>>,
    text: String,
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn normal_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_ports(text: &str) -> Result<RangeInclusive<u16>, String> {
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("bad port '{p}' (1-65535)")),
    };
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (port(low)?, port(high)?),
        None => (port(text)?, port(text)?),
    };
    if low > high {
        return Err(format!("port range '{text}' runs backwards"));
    }
    Ok(low..=high)
}

fn parse_host(text: &str) -> Result<HostPattern, String> {
    if text == "*" {
        return Ok(HostPattern::Any);
    }
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(HostPattern::Net(net.trunc()));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(HostPattern::Net(IpNet::from(ip)));
    }
    if let Some(suffix) = text.strip_prefix("*.") {
        return match Host::parse(suffix) {
            Ok(Host::Name(_)) => Ok(HostPattern::Suffix(normal_name(suffix))),
            _ => Err(format!("bad name suffix '{suffix}'")),
        };
    }
    match Host::parse(text) {
        Ok(Host::Name(_)) => Ok(HostPattern::Name(normal_name(text))),
        Ok(Host::Ip(ip)) => Ok(HostPattern::Net(IpNet::from(ip))),
        Err(e) => Err(format!("bad host '{text}': {e}")),
    }
}

impl FromStr for AllowRule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty rule".to_owned());
        }
        // An unbracketed IPv6 address or CIDR is full of colons: try the whole text first.
        let whole_address = text.parse::<IpNet>().is_ok() || text.parse::<IpAddr>().is_ok();
        let (host, ports) = if whole_address || !text.contains(':') {
            (parse_host(text)?, None)
        } else if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or("missing ']'")?;
            let ports = match after {
                "" => None,
                _ => Some(parse_ports(after.strip_prefix(':').ok_or("expected ':' after ']'")?)?),
            };
            (parse_host(inside)?, ports)
        } else {
            let (host, ports) = text.rsplit_once(':').ok_or_else(|| format!("bad rule '{text}'"))?;
            (parse_host(host)?, Some(parse_ports(ports)?))
        };
        Ok(Self { host, ports, text: text.to_owned() })
    }
}

impl AllowRule {
    fn host_matches(&self, host: &Host) -> bool {
        match (&self.host, host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Net(net), Host::Ip(ip)) => net.contains(&netdiag_common::classify::canonical(*ip)),
            (HostPattern::Name(name), Host::Name(asked)) => *name == normal_name(&asked.to_string()),
            (HostPattern::Suffix(suffix), Host::Name(asked)) => normal_name(&asked.to_string())
                .strip_suffix(suffix.as_str())
                .is_some_and(|rest| rest.ends_with('.')),
            _ => false,
        }
    }

    fn port_matches(&self, port: Option<u16>) -> bool {
        match (&self.ports, port) {
            (None, _) | (Some(_), None) => true,
            (Some(range), Some(port)) => range.contains(&port),
        }
    }
}

/// Every rule; empty allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    pub rules: Vec<AllowRule>,
}

impl Allowlist {
    pub fn is_open(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `host` may be probed on `port`; `None` (a DNS probe, which connects to no port
    /// of the target) needs only the host to match some rule.
    pub fn allows(&self, host: &Host, port: Option<u16>) -> bool {
        self.is_open() || self.rules.iter().any(|r| r.host_matches(host) && r.port_matches(port))
    }

    /// A DNS server named in the request is a target too: otherwise `dns_server=` would send
    /// UDP anywhere.
    pub fn allows_server(&self, server: SocketAddr) -> bool {
        self.allows(&Host::Ip(server.ip()), Some(server.port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &[&str]) -> Allowlist {
        Allowlist { rules: rules.iter().map(|r| r.parse().unwrap()).collect() }
    }

    fn host(text: &str) -> Host {
        Host::parse(text).unwrap()
    }

    #[test]
    fn rules_match_hosts_and_ports() {
        let allow =
            list(&["127.0.0.0/8", "db.test:1433", "*.vault.test:443", "[::1]:8000-8080", "10.1.2.3:22"]);
        let cases = [
            ("127.0.0.9", Some(1), true),
            ("127.0.0.9", None, true),
            ("128.0.0.1", Some(80), false),
            ("db.test", Some(1433), true),
            ("DB.test.", Some(1433), true),
            ("db.test", Some(1434), false),
            ("other.test", Some(1433), false),
            ("a.vault.test", Some(443), true),
            ("vault.test", Some(443), false),
            ("evilvault.test", Some(443), false),
            ("::1", Some(8080), true),
            ("::1", Some(8081), false),
            ("10.1.2.3", Some(22), true),
            ("10.1.2.3", Some(23), false),
            ("::ffff:127.0.0.1", Some(80), true),
        ];
        for (h, port, want) in cases {
            assert_eq!(allow.allows(&host(h), port), want, "{h} {port:?}");
        }
        assert!(Allowlist::default().allows(&host("anything.test"), Some(1)));
        assert!(list(&["*:443"]).allows(&host("x.test"), Some(443)));
        assert!(!list(&["*:443"]).allows(&host("x.test"), Some(80)));
        assert!(list(&["fd00::/8"]).allows(&host("fd12::1"), Some(80)));
        assert!(allow.allows_server("127.0.0.1:53".parse().unwrap()));
        assert!(!allow.allows_server("10.1.2.3:53".parse().unwrap()));
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in
            ["", "10.0.0.0/33", "host:0", "host:9-1", "host:x", "[::1", "[::1]443", "bad name:80", "*.:80"]
        {
            assert!(bad.parse::<AllowRule>().is_err(), "{bad}");
        }
    }
}

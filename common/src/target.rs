//! `host[:port]` parsing in every form the tools accept, with no I/O: `host`, `host:port`,
//! `host port`, `1.2.3.4:80`, `[v6]:port`, `[v6]`, and a bare IPv6 address whose port, if any,
//! comes as a separate argument.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::name::{DomainName, NameError};

/// A TCP or UDP port; never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port(u16);

impl Port {
    /// `None` for port 0, which no service listens on.
    pub const fn new(port: u16) -> Option<Self> {
        if port == 0 { None } else { Some(Self(port)) }
    }

    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Port {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TargetError::BadPort(s.to_owned());
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u16>().ok().and_then(Port::new).ok_or_else(bad)
    }
}

/// What to connect to or look up: an address literal or a validated name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    Name(DomainName),
}

impl Host {
    pub fn parse(input: &str) -> Result<Self, TargetError> {
        if input.is_empty() {
            return Err(TargetError::EmptyHost);
        }
        // What the OS takes as an address (`127.1`, `0x7f.1`) is one, never a DNS question.
        if let Some(ip) = crate::dns::hosts::parse_os_address(input) {
            return Ok(Host::Ip(ip));
        }
        if input.contains(':') {
            return Err(TargetError::BadIpv6(input.to_owned()));
        }
        Ok(Host::Name(DomainName::parse(input)?))
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(name) => name.fmt(f),
        }
    }
}

/// A parsed `host:port`. `display` keeps the host as the user typed it, because the original
/// tools echo the host as typed and users match on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub host: Host,
    pub port: Port,
    pub display_host: String,
}

impl Target {
    /// Parses a target argument and an optional separate port argument. A port may be given in
    /// one place only.
    pub fn parse(target: &str, port_arg: Option<&str>, default_port: Port) -> Result<Self, TargetError> {
        let target = target.trim();
        let (host_text, embedded_port) = split_host_port(target)?;
        let port = match (embedded_port, port_arg) {
            (Some(_), Some(_)) => return Err(TargetError::PortTwice(target.to_owned())),
            (Some(p), None) | (None, Some(p)) => p.parse()?,
            (None, None) => default_port,
        };
        let host = Host::parse(host_text)?;
        Ok(Self { host, port, display_host: host_text.to_owned() })
    }

    /// `host:port` as typed, with brackets around an IPv6 literal.
    pub fn display(&self) -> String {
        match self.host {
            Host::Ip(IpAddr::V6(_)) => format!("[{}]:{}", self.display_host, self.port),
            _ => format!("{}:{}", self.display_host, self.port),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Parses a list of targets, one per line, as `netdiag check --targets-file` reads it: blank
/// lines and `#` comments are skipped, and each line may carry its own port. The error names
/// the 1-based line number.
pub fn parse_target_list(
    text: &str,
    default_port: Port,
) -> Result<Vec<Target>, (usize, String, TargetError)> {
    let mut targets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match parse_target_line(line, default_port) {
            None => {}
            Some(Ok(target)) => targets.push(target),
            Some(Err((entry, err))) => return Err((index + 1, entry, err)),
        }
    }
    Ok(targets)
}

/// One line of a targets list: `None` for a blank line or a comment, else the target or the
/// entry that is not one.
pub fn parse_target_line(line: &str, default_port: Port) -> Option<Result<Target, (String, TargetError)>> {
    let entry = line.split('#').next().unwrap_or_default().trim();
    if entry.is_empty() {
        return None;
    }
    Some(Target::parse(entry, None, default_port).map_err(|err| (entry.to_owned(), err)))
}

/// Splits `target` into host text and the port text embedded in it, if any.
fn split_host_port(target: &str) -> Result<(&str, Option<&str>), TargetError> {
    if let Some(rest) = target.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return Err(TargetError::Unbalanced(target.to_owned()));
        };
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(TargetError::BadIpv6(inside.to_owned()));
        }
        return match after {
            "" => Ok((inside, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((inside, Some(port))),
                None => Err(TargetError::Unbalanced(target.to_owned())),
            },
        };
    }
    if target.contains(']') {
        return Err(TargetError::Unbalanced(target.to_owned()));
    }
    match target.matches(':').count() {
        0 => Ok((target, None)),
        // One colon: host:port. More: a bare IPv6 address, whose port must come separately.
        1 => {
            let (host, port) = target.split_once(':').expect("one colon");
            Ok((host, Some(port)))
        }
        _ => Ok((target, None)),
    }
}

/// Why a target was rejected. Every message names the offending text.
/// Input as typed, inside an error: escaped and cut.
fn shown(text: &str) -> String {
    crate::sanitize::escape_for_terminal(text, 80)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    #[error("the host is empty")]
    EmptyHost,
    #[error("invalid port '{}': expected a number from 1 to 65535", shown(.0))]
    BadPort(String),
    #[error("'{}' gives a port twice: use host:port or host port, not both", shown(.0))]
    PortTwice(String),
    #[error("unbalanced brackets in '{}': write an IPv6 address with a port as [address]:port", shown(.0))]
    Unbalanced(String),
    #[error("'{}' is not a valid IPv6 address", shown(.0))]
    BadIpv6(String),
    #[error(transparent)]
    Name(#[from] NameError),
}

#[cfg(test)]
mod tests {
    use super::*;

    const P80: Port = Port(80);

    fn parse(t: &str, p: Option<&str>) -> Result<Target, TargetError> {
        Target::parse(t, p, P80)
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("example.com", None, "example.com", 80),
            ("example.com:443", None, "example.com", 443),
            ("example.com", Some("8080"), "example.com", 8080),
            ("127.0.0.1:22", None, "127.0.0.1", 22),
            ("[::1]:443", None, "::1", 443),
            ("[::1]", None, "::1", 80),
            ("[::1]", Some("53"), "::1", 53),
            ("::1", None, "::1", 80),
            ("fe80::1", Some("65535"), "fe80::1", 65535),
            ("  localhost:1 ", None, "localhost", 1),
        ];
        for (t, p, host, port) in cases {
            let target = parse(t, p).unwrap_or_else(|e| panic!("{t:?} {p:?}: {e}"));
            assert_eq!(target.display_host, host, "{t}");
            assert_eq!(target.port.get(), port, "{t}");
        }
    }

    #[test]
    fn target_lists_skip_comments_and_name_the_bad_line() {
        let text = "# dependencies\n127.0.0.1:5432\n\n  [::1]:443   # the API\nlocalhost\n";
        let targets = parse_target_list(text, P80).unwrap();
        let shown: Vec<String> = targets.iter().map(Target::display).collect();
        assert_eq!(shown, ["127.0.0.1:5432", "[::1]:443", "localhost:80"]);
        assert!(parse_target_list("# nothing\n\n", P80).unwrap().is_empty());
        let (line, entry, err) = parse_target_list("127.0.0.1:1\nhost:0\n", P80).unwrap_err();
        assert_eq!((line, entry.as_str()), (2, "host:0"));
        assert!(matches!(err, TargetError::BadPort(_)), "{err}");
    }

    #[test]
    fn display_brackets_ipv6() {
        assert_eq!(parse("::1", Some("80")).unwrap().display(), "[::1]:80");
        assert_eq!(parse("Example.com:80", None).unwrap().display(), "Example.com:80");
    }

    #[test]
    fn rejected_forms() {
        let cases: Vec<(&str, Option<&str>, &str)> = vec![
            ("host:0", None, "invalid port '0'"),
            ("host:65536", None, "invalid port '65536'"),
            ("host:http", None, "invalid port 'http'"),
            ("host:", None, "invalid port ''"),
            ("host", Some("-1"), "invalid port '-1'"),
            ("host:80", Some("80"), "gives a port twice"),
            ("", None, "the host is empty"),
            (":80", None, "the host is empty"),
            ("[::1", None, "unbalanced brackets"),
            ("::1]", None, "unbalanced brackets"),
            ("[::1]x", None, "unbalanced brackets"),
            ("[nothex]:80", None, "not a valid IPv6"),
            ("1:2:3:zz::", None, "not a valid IPv6"),
            ("bad_name!", None, "illegal character '!'"),
        ];
        for (t, p, want) in cases {
            let err = parse(t, p).unwrap_err().to_string();
            assert!(err.contains(want), "{t:?} {p:?}: got {err:?}, want {want:?}");
        }
    }
}

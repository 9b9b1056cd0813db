//! The hosts file, which the operating system consults before any DNS server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where the OS keeps its hosts file.
pub fn default_hosts_path() -> PathBuf {
    #[cfg(windows)]
    {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        PathBuf::from(root).join("System32").join("drivers").join("etc").join("hosts")
    }
    #[cfg(not(windows))]
    {
        PathBuf::from("/etc/hosts")
    }
}

/// One line of a hosts file: an address and the names that map to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsEntry {
    pub address: IpAddr,
    pub names: Vec<String>,
}

/// Parsed hosts file, indexed by name. A line that does not start with an IP address is
/// skipped, as the OS does; a bad line never costs the rest of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    pub entries: Vec<HostsEntry>,
    by_name: HashMap<String, Vec<IpAddr>>,
}

impl Hosts {
    pub fn parse(text: &str) -> Self {
        Self::parse_bytes(text.as_bytes())
    }

    /// Parses line by line from bytes: a line that is not UTF-8 is read lossily (its names
    /// will not match an ASCII name, the other lines are unaffected).
    pub fn parse_bytes(data: &[u8]) -> Self {
        let mut hosts = Self::default();
        for raw in data.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(raw);
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            // Scoped addresses (fe80::1%eth0) are valid in hosts files; the scope does not
            // matter for a lookup.
            let Some(address) = first.split('%').next().and_then(|a| a.parse::<IpAddr>().ok()) else {
                continue;
            };
            let names: Vec<String> = words.map(normalize).collect();
            if names.is_empty() {
                continue;
            }
            for name in &names {
                let found = hosts.by_name.entry(name.clone()).or_default();
                if !found.contains(&address) {
                    found.push(address);
                }
            }
            hosts.entries.push(HostsEntry { address, names });
        }
        hosts
    }

    /// Reads a hosts file; a missing or unreadable file is an empty one, as for the OS.
    pub fn load(path: &Path) -> Self {
        std::fs::read(path).map(|data| Self::parse_bytes(&data)).unwrap_or_default()
    }

    /// The hosts file at `path`, read once per process: a run of thousands of lookups must not
    /// parse a 30,000-line file thousands of times.
    pub fn cached(path: &Path) -> Arc<Self> {
        static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Hosts>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(cache.entry(path.to_owned()).or_insert_with(|| Arc::new(Self::load(path))))
    }

    /// Every address for `name`, in file order, without duplicates.
    pub fn addresses(&self, name: &str) -> Vec<IpAddr> {
        self.by_name.get(&normalize(name)).cloned().unwrap_or_default()
    }

    /// The first (canonical) name for `address`, for reverse lookups.
    pub fn name_for(&self, address: IpAddr) -> Option<&str> {
        self.entries.iter().find(|e| e.address == address).and_then(|e| e.names.first()).map(String::as_str)
    }
}

/// An IPv4 address as the OS's `inet_aton` reads it (what `getaddrinfo` takes as a literal):
/// one to four parts, each decimal, octal (leading `0`) or hex (`0x`), the last filling the
/// remaining bytes: `127.1`, `0x7f.1`, `2130706433`. Such a string is an address, never a name
/// to send to DNS.
pub fn inet_aton(text: &str) -> Option<std::net::Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        // "0x" alone is 0 for glibc.
        let value = if digits.is_empty() { 0 } else { u32::from_str_radix(digits, radix).ok()? };
        if !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        values.push(value);
    }
    let (last, head) = values.split_last()?;
    if head.iter().any(|&v| v > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 32 && *last >= 1u32 << room {
        return None;
    }
    let mut address: u32 = 0;
    for (index, &v) in head.iter().enumerate() {
        address |= v << (24 - 8 * index as u32);
    }
    Some(std::net::Ipv4Addr::from(address | last))
}

/// Any string the OS would take as an address: IPv6 and IPv4 in standard form, or `inet_aton`'s.
pub fn parse_os_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().or_else(|| inet_aton(text).map(IpAddr::V4))
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
127.0.0.1\tlocalhost
::1 localhost ip6-localhost # loopback
# 10.0.0.1 commented.example
10.0.0.7 app.internal App-Alias.internal
10.0.0.8 app.internal
10.0.0.7 app.internal
fe80::1%eth0 linklocal.internal
not-an-ip bogus.internal
192.0.2.1
";

    #[test]
    fn lookups_table() {
        let hosts = Hosts::parse(SAMPLE);
        let cases: [(&str, &[&str]); 7] = [
            ("localhost", &["127.0.0.1", "::1"]),
            ("LOCALHOST.", &["127.0.0.1", "::1"]),
            ("app.internal", &["10.0.0.7", "10.0.0.8"]),
            ("app-alias.internal", &["10.0.0.7"]),
            ("commented.example", &[]),
            ("bogus.internal", &[]),
            ("linklocal.internal", &["fe80::1"]),
        ];
        for (name, want) in cases {
            let want: Vec<IpAddr> = want.iter().map(|s| s.parse().unwrap()).collect();
            assert_eq!(hosts.addresses(name), want, "{name}");
        }
        assert_eq!(hosts.name_for("10.0.0.7".parse().unwrap()), Some("app.internal"));
        assert_eq!(hosts.name_for("192.0.2.1".parse().unwrap()), None);
        assert_eq!(Hosts::load(Path::new("/nonexistent/hosts")), Hosts::default());
    }

    #[test]
    fn inet_aton_table() {
        let cases = [
            ("127.1", Some("127.0.0.1")),
            ("0x7f.1", Some("127.0.0.1")),
            ("0177.0.0.1", Some("127.0.0.1")),
            ("2130706433", Some("127.0.0.1")),
            ("10.1.258", Some("10.1.1.2")),
            ("10.0.0.1", Some("10.0.0.1")),
            ("256.1", None),
            ("1.2.3.4.5", None),
            ("08.1", None),
            ("app.internal", None),
            ("1.2.65536", None),
            ("", None),
            ("1..2", None),
        ];
        for (input, want) in cases {
            assert_eq!(inet_aton(input).map(|a| a.to_string()).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn a_bad_line_costs_only_itself() {
        let hosts = Hosts::parse_bytes(
            b"10.0.0.1 caf\xe9.internal\n10.0.0.2 good.internal\r\n\x00\xff\n10.0.0.3 last.internal",
        );
        assert_eq!(hosts.addresses("good.internal"), ["10.0.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(hosts.addresses("last.internal"), ["10.0.0.3".parse::<IpAddr>().unwrap()]);
        assert_eq!(hosts.entries.len(), 3);
    }
}

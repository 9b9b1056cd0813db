//! The hosts file, which the operating system consults before any DNS server.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

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

/// Parsed hosts file. Lines that do not start with an IP address are skipped, as the OS does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    pub entries: Vec<HostsEntry>,
}

impl Hosts {
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter_map(|line| {
                let line = line.split('#').next().unwrap_or("");
                let mut words = line.split_whitespace();
                // Scoped addresses (fe80::1%eth0) are valid in hosts files; the scope does not
                // matter for a lookup.
                let address = words.next()?.split('%').next()?.parse::<IpAddr>().ok()?;
                let names: Vec<String> = words.map(normalize).collect();
                (!names.is_empty()).then_some(HostsEntry { address, names })
            })
            .collect();
        Self { entries }
    }

    /// Reads a hosts file; a missing or unreadable file is an empty one, as for the OS.
    pub fn load(path: &Path) -> Self {
        std::fs::read_to_string(path).map(|t| Self::parse(&t)).unwrap_or_default()
    }

    /// Every address for `name`, in file order, without duplicates.
    pub fn addresses(&self, name: &str) -> Vec<IpAddr> {
        let wanted = normalize(name);
        let mut found: Vec<IpAddr> = Vec::new();
        for entry in &self.entries {
            if entry.names.contains(&wanted) && !found.contains(&entry.address) {
                found.push(entry.address);
            }
        }
        found
    }

    /// The first (canonical) name for `address`, for reverse lookups.
    pub fn name_for(&self, address: IpAddr) -> Option<&str> {
        self.entries.iter().find(|e| e.address == address).and_then(|e| e.names.first()).map(String::as_str)
    }
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
}

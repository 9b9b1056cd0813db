//! Private endpoint awareness: a public name that CNAMEs into `privatelink.<zone>` should end at
//! a private address; ending at a public one means the private DNS zone is not linked to the
//! network these DNS servers serve (or custom DNS does not forward to 168.63.129.16).

use std::net::IpAddr;

use serde::Serialize;

/// The Azure DNS virtual server every custom DNS must forward private zones to.
pub const AZURE_DNS: &str = "168.63.129.16";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivateLinkStatus {
    /// Every address is private: the private DNS zone answered.
    Private,
    /// At least one public address: the zone is not linked or DNS does not forward to Azure DNS.
    Public,
    /// The chain went through privatelink but produced no address.
    NoAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivateLinkFinding {
    /// The first name in the chain under a `privatelink.` label.
    pub privatelink_name: String,
    pub status: PrivateLinkStatus,
    /// The addresses that are not private (empty unless `status` is `Public`).
    pub public_addresses: Vec<IpAddr>,
}

impl PrivateLinkFinding {
    /// A one-line explanation for humans.
    pub fn explain(&self) -> String {
        match self.status {
            PrivateLinkStatus::Private => {
                format!(
                    "{} resolves to a private address, so the private DNS zone answered",
                    self.privatelink_name
                )
            }
            PrivateLinkStatus::Public => format!(
                "{} resolves to public address {}: the private DNS zone is not linked to the network these DNS servers serve, or custom DNS does not forward to {AZURE_DNS}",
                self.privatelink_name,
                self.public_addresses.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
            PrivateLinkStatus::NoAddress => format!("{} resolves to no address", self.privatelink_name),
        }
    }
}

/// True for a name with a `privatelink` label (any position but the last).
pub fn is_privatelink_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    let mut labels = name.split('.').peekable();
    while let Some(label) = labels.next() {
        if label.eq_ignore_ascii_case("privatelink") && labels.peek().is_some() {
            return true;
        }
    }
    false
}

/// RFC 1918 for IPv4, unique local (fc00::/7) for IPv6: where private endpoints live.
pub fn is_private_address(addr: IpAddr) -> bool {
    use crate::classify::{AddressClass, classify};
    matches!(classify(addr), AddressClass::Rfc1918 | AddressClass::UniqueLocalV6)
}

/// Judges a resolution: `names` is the query name followed by every CNAME target in order,
/// `addresses` what the chain ended at. `None` when no name in the chain is a privatelink name.
pub fn privatelink_finding(names: &[String], addresses: &[IpAddr]) -> Option<PrivateLinkFinding> {
    let privatelink_name = names.iter().find(|n| is_privatelink_name(n))?.trim_end_matches('.').to_owned();
    let public_addresses: Vec<IpAddr> =
        addresses.iter().copied().filter(|a| !is_private_address(*a)).collect();
    let status = if addresses.is_empty() {
        PrivateLinkStatus::NoAddress
    } else if public_addresses.is_empty() {
        PrivateLinkStatus::Private
    } else {
        PrivateLinkStatus::Public
    };
    Some(PrivateLinkFinding { privatelink_name, status, public_addresses })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privatelink_names_table() {
        let cases = [
            ("x.privatelink.blob.core.windows.net", true),
            ("x.privatelink.blob.core.windows.net.", true),
            ("X.PrivateLink.database.windows.net", true),
            ("x.blob.core.windows.net", false),
            ("privatelink", false),
            ("myprivatelink.example.com", false),
            ("x.privatelinks.example.com", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_privatelink_name(name), want, "{name}");
        }
    }

    #[test]
    fn private_addresses_table() {
        let cases = [
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("203.0.113.7", false),
            ("fd00::5", true),
            ("2001:db8::1", false),
            ("::ffff:10.0.0.1", true),
        ];
        for (addr, want) in cases {
            assert_eq!(is_private_address(addr.parse().unwrap()), want, "{addr}");
        }
    }

    #[test]
    fn findings_table() {
        let chain = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ips = |list: &[&str]| list.iter().map(|s| s.parse().unwrap()).collect::<Vec<IpAddr>>();
        let linked = chain(&["x.blob.core.windows.net", "x.privatelink.blob.core.windows.net"]);
        let via = chain(&[
            "x.blob.core.windows.net",
            "x.privatelink.blob.core.windows.net.",
            "blob.public.example.",
        ]);
        let plain = chain(&["www.example.com", "edge.example.net"]);

        type Case<'a> = (&'a [String], Vec<IpAddr>, Option<(PrivateLinkStatus, Vec<IpAddr>)>);
        let cases: [Case<'_>; 6] = [
            (&linked, ips(&["10.1.2.3"]), Some((PrivateLinkStatus::Private, vec![]))),
            (&via, ips(&["203.0.113.7"]), Some((PrivateLinkStatus::Public, ips(&["203.0.113.7"])))),
            (
                &via,
                ips(&["10.1.2.3", "203.0.113.7"]),
                Some((PrivateLinkStatus::Public, ips(&["203.0.113.7"]))),
            ),
            (&linked, vec![], Some((PrivateLinkStatus::NoAddress, vec![]))),
            (&plain, ips(&["203.0.113.7"]), None),
            (&plain, ips(&["10.0.0.1"]), None),
        ];
        for (names, addresses, want) in cases {
            let got = privatelink_finding(names, &addresses);
            match want {
                None => assert_eq!(got, None, "{names:?}"),
                Some((status, public)) => {
                    let got = got.expect("finding");
                    assert_eq!(got.privatelink_name, "x.privatelink.blob.core.windows.net");
                    assert_eq!(
                        (got.status, got.public_addresses),
                        (status, public),
                        "{names:?} {addresses:?}"
                    );
                }
            }
        }
    }
}

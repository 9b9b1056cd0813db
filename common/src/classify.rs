//! What kind of address a name resolved to. The checklist turns on this: regional virtual
//! network integration only sends RFC1918 destinations into the virtual network unless Route All
//! is on, and a private endpoint must resolve to a private address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;

/// The class of a destination address, as far as reachability from an app is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// 10/8, 172.16/12, 192.168/16.
    Rfc1918,
    /// 100.64/10, carrier-grade NAT space: private in practice, but not RFC1918.
    SharedCgnat,
    /// fc00::/7.
    UniqueLocalV6,
    /// 127/8, ::1.
    Loopback,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20: meant for examples,
    /// but a virtual network may still use them as its own address space.
    Documentation,
    /// Other special-purpose space (0/8, 192.0.0/24, 198.18/15, 240/4, 100::/64, fec0::/10, ...).
    Reserved,
    /// Everything else: reachable over the internet.
    Public,
}

impl AddressClass {
    /// Stable snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc1918 => "rfc1918",
            Self::SharedCgnat => "shared_cgnat",
            Self::UniqueLocalV6 => "unique_local_v6",
            Self::Loopback => "loopback",
            Self::LinkLocal => "link_local",
            Self::Unspecified => "unspecified",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
            Self::Public => "public",
        }
    }

    /// A phrase for humans.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Rfc1918 => "private (RFC1918)",
            Self::SharedCgnat => "shared address space 100.64.0.0/10 (not RFC1918)",
            Self::UniqueLocalV6 => "IPv6 unique local (fc00::/7, not RFC1918)",
            Self::Loopback => "loopback",
            Self::LinkLocal => "link-local",
            Self::Unspecified => "unspecified address",
            Self::Multicast => "multicast address",
            Self::Broadcast => "broadcast address",
            Self::Documentation => "documentation range (TEST-NET)",
            Self::Reserved => "reserved special-purpose range",
            Self::Public => "public",
        }
    }

    /// Addresses no TCP connection can go to: a resolved name pointing here is a
    /// misconfiguration ("you had the wrong IP or hostname"). Only these are never connected
    /// to. Every other class is probed: an Azure virtual network may use any address space but
    /// 224.0.0.0/4, 255.255.255.255, 127.0.0.0/8, 169.254.0.0/16 and 168.63.129.16, so public,
    /// documentation and other special-purpose ranges can be real hosts there.
    pub fn is_unusable_destination(self) -> bool {
        matches!(self, Self::Unspecified | Self::Multicast | Self::Broadcast)
    }

    /// Addresses that stay on this machine or this link. Azure forbids both ranges in a virtual
    /// network, so Route All cannot send traffic to them into one.
    pub fn is_local_only(self) -> bool {
        matches!(self, Self::Loopback | Self::LinkLocal)
    }
}

impl std::fmt::Display for AddressClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const RFC1918: [Ipv4Net; 3] = [
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
];

// Checked in order; the first match wins, so more specific ranges come first.
const V4_TABLE: &[(Ipv4Net, AddressClass)] = &[
    (Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 32), AddressClass::Unspecified),
    (Ipv4Net::new_assert(Ipv4Addr::new(255, 255, 255, 255), 32), AddressClass::Broadcast),
    (Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8), AddressClass::Reserved),
    (RFC1918[0], AddressClass::Rfc1918),
    (RFC1918[1], AddressClass::Rfc1918),
    (RFC1918[2], AddressClass::Rfc1918),
    (Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10), AddressClass::SharedCgnat),
    (Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8), AddressClass::Loopback),
    (Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16), AddressClass::LinkLocal),
    (Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24), AddressClass::Documentation),
    (Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24), AddressClass::Documentation),
    (Ipv4Net::new_assert(Ipv4Addr::new(203, 0, 113, 0), 24), AddressClass::Documentation),
    (Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24), AddressClass::Reserved),
    (Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15), AddressClass::Reserved),
    (Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4), AddressClass::Multicast),
    (Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4), AddressClass::Reserved),
];

const V6_TABLE: &[(Ipv6Net, AddressClass)] = &[
    (Ipv6Net::new_assert(Ipv6Addr::UNSPECIFIED, 128), AddressClass::Unspecified),
    (Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128), AddressClass::Loopback),
    (Ipv6Net::new_assert(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), AddressClass::LinkLocal),
    (Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), AddressClass::UniqueLocalV6),
    (Ipv6Net::new_assert(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), AddressClass::Multicast),
    (Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), AddressClass::Documentation),
    (Ipv6Net::new_assert(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), AddressClass::Documentation),
    (Ipv6Net::new_assert(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64), AddressClass::Reserved),
    (Ipv6Net::new_assert(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), AddressClass::Reserved),
    // Only 2000::/3 is allocated as global unicast; anything else left over is special-purpose.
    (Ipv6Net::new_assert(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3), AddressClass::Public),
];

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 host it wraps; everything
/// else is returned as is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Classifies an address; IPv4-mapped IPv6 addresses are classified as the IPv4 address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            V4_TABLE.iter().find(|(net, _)| net.contains(&v4)).map_or(AddressClass::Public, |(_, c)| *c)
        }
        IpAddr::V6(v6) => {
            V6_TABLE.iter().find(|(net, _)| net.contains(&v6)).map_or(AddressClass::Reserved, |(_, c)| *c)
        }
    }
}

/// True for 10/8, 172.16/12 and 192.168/16 (also when IPv4-mapped): the only destinations
/// regional virtual network integration routes into the virtual network without Route All.
pub fn is_rfc1918(ip: IpAddr) -> bool {
    classify(ip) == AddressClass::Rfc1918
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        use AddressClass::*;
        let cases: &[(&str, AddressClass)] = &[
            ("10.0.0.1", Rfc1918),
            ("10.255.255.255", Rfc1918),
            ("172.16.0.1", Rfc1918),
            ("172.31.255.254", Rfc1918),
            ("172.15.255.255", Public),
            ("172.32.0.0", Public),
            ("192.168.1.1", Rfc1918),
            ("192.169.0.1", Public),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("169.254.169.254", LinkLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("255.255.255.255", Broadcast),
            ("224.0.0.251", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.200", Documentation),
            ("192.0.0.8", Reserved),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("168.63.129.16", Public),
            ("20.190.163.18", Public),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fd00::1", UniqueLocalV6),
            ("fc12:3456::1", UniqueLocalV6),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff:0fff::1", Documentation),
            ("100::1", Reserved),
            ("fec0::1", Reserved),
            ("2603:1030::1", Public),
            ("::2", Reserved),
            ("4000::1", Reserved),
            ("::ffff:10.1.2.3", Rfc1918),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:20.1.2.3", Public),
        ];
        for (text, want) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), *want, "{text}");
        }
    }

    #[test]
    fn rfc1918_only_the_three_ranges() {
        let cases = [
            ("10.1.1.1", true),
            ("172.20.0.1", true),
            ("192.168.0.1", true),
            ("::ffff:192.168.0.1", true),
            ("100.64.0.1", false),
            ("fd00::1", false),
            ("127.0.0.1", false),
            ("8.8.8.8", false),
        ];
        for (text, want) in cases {
            assert_eq!(is_rfc1918(text.parse().unwrap()), want, "{text}");
        }
    }

    #[test]
    fn canonical_unwraps_only_mapped() {
        assert_eq!(canonical("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(canonical("::1".parse().unwrap()), "::1".parse::<IpAddr>().unwrap());
        assert_eq!(canonical("1.2.3.4".parse().unwrap()), "1.2.3.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn only_unspecified_multicast_and_broadcast_are_unusable() {
        use AddressClass::*;
        let cases = [
            (Unspecified, true),
            (Multicast, true),
            (Broadcast, true),
            // A virtual network may use any of these as its own address space.
            (Documentation, false),
            (Reserved, false),
            (SharedCgnat, false),
            (Public, false),
            (Rfc1918, false),
            (UniqueLocalV6, false),
            (LinkLocal, false),
            (Loopback, false),
        ];
        for (class, unusable) in cases {
            assert_eq!(class.is_unusable_destination(), unusable, "{class}");
        }
    }
}

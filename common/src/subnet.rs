//! Sizing an integration subnet. Azure keeps 5 addresses of every subnet (the network address,
//! the default gateway, two for Azure DNS, and the broadcast address); each app instance takes
//! one address, and a scale operation briefly needs two per instance (old and new side by side).
//!
//! Rules, as this module applies them (documented in docs/subnet.md):
//! - input is `/N`, `N` or an IPv4 `a.b.c.d/N` whose host bits are zero; IPv6 is rejected,
//!   integration subnets are sized by their IPv4 range;
//! - available = 2^(32-N) - 5 (never below 0), max instances = floor(available / 2);
//! - /29 and longer prefixes are too small: Azure's minimum for integration is /28;
//! - the recommended minimum is /26 for Linux plans and /24 for Windows Premium plans; a
//!   usable prefix longer than that is flagged as below the recommendation.

use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::Serialize;

/// Addresses Azure keeps in every subnet.
pub const AZURE_RESERVED: u64 = 5;
/// The longest prefix Azure accepts for virtual network integration.
pub const MIN_INTEGRATION_PREFIX: u8 = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOs {
    Linux,
    Windows,
}

impl PlanOs {
    /// The recommended minimum prefix for this kind of plan.
    pub fn recommended_prefix(self) -> u8 {
        match self {
            Self::Linux => 26,
            Self::Windows => 24,
        }
    }
}

impl FromStr for PlanOs {
    type Err = SubnetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "linux" => Ok(Self::Linux),
            "windows" => Ok(Self::Windows),
            _ => Err(SubnetError::BadOs(s.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    #[error("'{0}' is not a subnet: expected /N, N or a.b.c.d/N with N from 0 to 32")]
    Malformed(String),
    #[error("'{0}': prefix length {1} is out of range (0 to 32 for IPv4)")]
    PrefixOutOfRange(String, u32),
    #[error("'{0}' is IPv6: integration subnets are sized by their IPv4 range")]
    Ipv6(String),
    #[error("'{input}' has host bits set: the subnet is {network}")]
    HostBitsSet { input: String, network: Ipv4Net },
    #[error("'{0}' is not an operating system: expected linux or windows")]
    BadOs(String),
}

/// The subnet as given: a bare prefix length, or a whole network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetSpec {
    pub prefix: u8,
    pub network: Option<Ipv4Net>,
}

impl FromStr for SubnetSpec {
    type Err = SubnetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim();
        let malformed = || SubnetError::Malformed(input.to_owned());
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((addr, prefix)) => (Some(addr), prefix),
            None => (None, text),
        };
        if prefix_text.is_empty() || prefix_text.len() > 3 || !prefix_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(malformed());
        }
        let prefix: u32 = prefix_text.parse().map_err(|_| malformed())?;
        let addr_text = addr_text.filter(|a| !a.is_empty());
        if let Some(addr) = addr_text
            && addr.contains(':')
        {
            return Err(SubnetError::Ipv6(input.to_owned()));
        }
        if prefix > 32 {
            return Err(SubnetError::PrefixOutOfRange(input.to_owned(), prefix));
        }
        let prefix = prefix as u8;
        let network = match addr_text {
            None if text.starts_with('/') || !text.contains('/') => None,
            None => return Err(malformed()),
            Some(addr) => {
                let ip: Ipv4Addr = addr.parse().map_err(|_| malformed())?;
                let net = Ipv4Net::new(ip, prefix).map_err(|_| malformed())?;
                if net.network() != ip {
                    return Err(SubnetError::HostBitsSet { input: input.to_owned(), network: net.trunc() });
                }
                Some(net)
            }
        };
        Ok(Self { prefix, network })
    }
}

/// How a subnet size fares against Azure's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubnetVerdict {
    /// Longer than /28: integration cannot use it.
    TooSmall,
    /// Usable, but smaller than the recommended minimum for the plan's OS.
    BelowRecommendation,
    /// At least the recommended size.
    Recommended,
}

/// The numbers for one subnet size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubnetPlan {
    pub prefix: u8,
    /// Set when a whole network was given.
    pub network: Option<String>,
    pub total_addresses: u64,
    pub reserved_by_azure: u64,
    pub available_addresses: u64,
    /// Instances that still leave room for a scale operation (two addresses each meanwhile).
    pub max_instances: u64,
    pub os: PlanOs,
    pub recommended_prefix: u8,
    pub verdict: SubnetVerdict,
    /// The five addresses Azure keeps, when a whole network was given.
    pub reserved_addresses: Vec<Ipv4Addr>,
}

impl SubnetPlan {
    pub fn new(spec: SubnetSpec, os: PlanOs) -> Self {
        let total = 1u64 << (32 - u32::from(spec.prefix));
        let available = total.saturating_sub(AZURE_RESERVED);
        let recommended_prefix = os.recommended_prefix();
        let verdict = if spec.prefix > MIN_INTEGRATION_PREFIX {
            SubnetVerdict::TooSmall
        } else if spec.prefix > recommended_prefix {
            SubnetVerdict::BelowRecommendation
        } else {
            SubnetVerdict::Recommended
        };
        let reserved_addresses = match spec.network {
            Some(net) if total >= AZURE_RESERVED => {
                let base = u32::from(net.network());
                let mut kept: Vec<Ipv4Addr> = (0..4).map(|i| Ipv4Addr::from(base + i)).collect();
                kept.push(net.broadcast());
                kept
            }
            _ => Vec::new(),
        };
        Self {
            prefix: spec.prefix,
            network: spec.network.map(|n| n.to_string()),
            total_addresses: total,
            reserved_by_azure: AZURE_RESERVED,
            available_addresses: available,
            max_instances: available / 2,
            os,
            recommended_prefix,
            verdict,
            reserved_addresses,
        }
    }

    /// True when integration cannot use this subnet at all.
    pub fn is_failure(&self) -> bool {
        self.verdict == SubnetVerdict::TooSmall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(input: &str, os: PlanOs) -> SubnetPlan {
        SubnetPlan::new(input.parse().unwrap(), os)
    }

    #[test]
    fn documented_sizes() {
        // (input, available, max instances, verdict for linux, verdict for windows)
        use SubnetVerdict::*;
        let cases = [
            ("/32", 0, 0, TooSmall, TooSmall),
            ("/30", 0, 0, TooSmall, TooSmall),
            ("/29", 3, 1, TooSmall, TooSmall),
            ("/28", 11, 5, BelowRecommendation, BelowRecommendation),
            ("/27", 27, 13, BelowRecommendation, BelowRecommendation),
            ("26", 59, 29, Recommended, BelowRecommendation),
            ("/25", 123, 61, Recommended, BelowRecommendation),
            ("/24", 251, 125, Recommended, Recommended),
            ("10.0.0.0/26", 59, 29, Recommended, BelowRecommendation),
            ("/16", 65531, 32765, Recommended, Recommended),
            ("/0", 4_294_967_291, 2_147_483_645, Recommended, Recommended),
        ];
        for (input, available, instances, linux, windows) in cases {
            let l = plan(input, PlanOs::Linux);
            assert_eq!(l.available_addresses, available, "{input}");
            assert_eq!(l.max_instances, instances, "{input}");
            assert_eq!(l.verdict, linux, "{input} linux");
            assert_eq!(plan(input, PlanOs::Windows).verdict, windows, "{input} windows");
        }
    }

    #[test]
    fn reserved_addresses_when_network_given() {
        let p = plan("10.1.2.64/26", PlanOs::Linux);
        let want: Vec<Ipv4Addr> = ["10.1.2.64", "10.1.2.65", "10.1.2.66", "10.1.2.67", "10.1.2.127"]
            .map(|a| a.parse().unwrap())
            .into();
        assert_eq!(p.reserved_addresses, want);
        assert_eq!(p.network.as_deref(), Some("10.1.2.64/26"));
        assert!(plan("/26", PlanOs::Linux).reserved_addresses.is_empty());
        assert!(plan("10.0.0.0/30", PlanOs::Linux).reserved_addresses.is_empty());
    }

    #[test]
    fn parse_errors() {
        let cases: &[(&str, &str)] = &[
            ("", "malformed"),
            ("/", "malformed"),
            ("abc", "malformed"),
            ("-1", "malformed"),
            ("+26", "malformed"),
            ("/33", "range"),
            ("99", "range"),
            ("1000", "malformed"),
            ("10.0.0.0/", "malformed"),
            ("10.0.0/24", "malformed"),
            ("10.0.0.5/26", "host bits"),
            ("fd00::/64", "ipv6"),
            ("10.0.0.0/26/1", "malformed"),
        ];
        for (input, want) in cases {
            let err = input.parse::<SubnetSpec>().unwrap_err();
            let kind = match err {
                SubnetError::Malformed(_) => "malformed",
                SubnetError::PrefixOutOfRange(..) => "range",
                SubnetError::HostBitsSet { .. } => "host bits",
                SubnetError::Ipv6(_) => "ipv6",
                SubnetError::BadOs(_) => "os",
            };
            assert_eq!(kind, *want, "{input:?}: {err}");
        }
    }

    #[test]
    fn host_bits_message_names_the_network() {
        let err = "10.0.0.5/26".parse::<SubnetSpec>().unwrap_err();
        assert!(err.to_string().contains("10.0.0.0/26"), "{err}");
    }

    #[test]
    fn os_parse() {
        assert_eq!("Linux".parse::<PlanOs>().unwrap(), PlanOs::Linux);
        assert_eq!("windows".parse::<PlanOs>().unwrap(), PlanOs::Windows);
        assert!("mac".parse::<PlanOs>().is_err());
    }
}

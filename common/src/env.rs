//! What the app sees: its App Service settings, its interfaces and addresses, its routes, and
//! which local address and interface the kernel would use to reach a destination.
//!
//! The DNS server list is deliberately absent: the DNS engine owns server selection
//! (`WEBSITE_DNS_SERVER`, `WEBSITE_DNS_ALT_SERVER`, resolv.conf). Only the raw setting text is
//! kept here, for display.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use serde::Serialize;

use crate::classify::canonical;
use crate::connstr;

/// A setting whose value is a connection string. The value holds secrets: it is only reachable
/// through [`ConnectionSetting::raw_value`] and [`ConnectionSetting::redacted`], and `Debug`
/// shows it redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionSetting {
    pub name: String,
    value: String,
}

impl ConnectionSetting {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }

    /// The secret-bearing value, for parsing dependencies. Never print it.
    pub fn raw_value(&self) -> &str {
        &self.value
    }

    pub fn redacted(&self) -> String {
        connstr::redact_setting(&self.name, &self.value)
    }

    /// The host:port dependencies it names.
    pub fn dependencies(&self) -> Result<Vec<connstr::Dependency>, connstr::ConnStrError> {
        connstr::dependencies(&self.name, &self.value)
    }
}

impl std::fmt::Debug for ConnectionSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSetting")
            .field("name", &self.name)
            .field("value", &self.redacted())
            .finish()
    }
}

/// A setting with a value the platform would not understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingWarning {
    pub setting: String,
    pub value: String,
    pub problem: String,
}

/// The App Service settings that matter for networking, as the app sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSettings {
    /// `WEBSITE_PRIVATE_IP`: the app's address in the integration subnet. Set only while
    /// virtual network integration is active.
    pub private_ip: Option<IpAddr>,
    /// True when `WEBSITE_PRIVATE_IP` is set at all, even to something unparsable.
    pub vnet_integration: bool,
    /// `WEBSITE_VNET_ROUTE_ALL=1`. The newer site setting (vnetRouteAllEnabled) is invisible
    /// to the app, so `false` means "not enabled through the app setting".
    pub route_all: bool,
    /// Raw `WEBSITE_DNS_SERVER` text; the DNS engine parses it.
    pub dns_server_setting: Option<String>,
    /// Raw `WEBSITE_DNS_ALT_SERVER` text; the DNS engine parses it.
    pub dns_alt_server_setting: Option<String>,
    /// `WEBSITE_DNS_TIMEOUT`, seconds.
    pub dns_timeout: Option<Duration>,
    /// `WEBSITE_DNS_ATTEMPTS`.
    pub dns_attempts: Option<u32>,
    /// `WEBSITE_CONTENTOVERVNET=1`: the content share is reached through the virtual network.
    pub content_over_vnet: bool,
    pub site_name: Option<String>,
    pub region: Option<String>,
    pub sku: Option<String>,
    /// Every setting that names a dependency or may hold a secret, sorted by name: connection
    /// strings, Key Vault references, identity-based connections (`X__accountName`, ...) and a
    /// `WEBSITE_RUN_FROM_PACKAGE` URL.
    pub connection_strings: Vec<ConnectionSetting>,
    pub warnings: Vec<SettingWarning>,
}

/// Prefixes App Service gives connection strings configured in the portal.
pub const CONNECTION_STRING_PREFIXES: [&str; 11] = [
    "CUSTOMCONNSTR_",
    "SQLAZURECONNSTR_",
    "SQLCONNSTR_",
    "MYSQLCONNSTR_",
    "POSTGRESQLCONNSTR_",
    "SERVICEBUSCONNSTR_",
    "EVENTHUBCONNSTR_",
    "NOTIFICATIONHUBCONNSTR_",
    "DOCDBCONNSTR_",
    "REDISCACHECONNSTR_",
    "APIHUBCONNSTR_",
];

/// True for the settings that name dependencies and are shown redacted: connection strings by
/// name, identity-based connections, Key Vault references and a `WEBSITE_RUN_FROM_PACKAGE`
/// URL (which carries a SAS token).
pub fn is_dependency_setting(name: &str, value: &str) -> bool {
    is_connection_string_setting(name)
        || connstr::identity_suffix(name).is_some()
        || connstr::is_key_vault_reference(value)
        || (name.eq_ignore_ascii_case(connstr::RUN_FROM_PACKAGE) && value.contains("://"))
}

/// True for the settings treated as connection strings (and so as secrets).
pub fn is_connection_string_setting(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name == "AzureWebJobsStorage"
        || name == "AzureWebJobsDashboard"
        || lower.contains("connectionstring")
        || lower.contains("connection_string")
        || CONNECTION_STRING_PREFIXES.iter().any(|p| {
            name.len() > p.len() && name.is_char_boundary(p.len()) && name[..p.len()].eq_ignore_ascii_case(p)
        })
}

impl AppSettings {
    /// Reads the settings through `get`; `names` lists every variable present, so connection
    /// strings under arbitrary names can be found. Never fails: odd values become warnings.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>, names: &[String]) -> Self {
        let mut s = Self::default();
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut warn = |setting: &str, value: &str, problem: &str| {
            s.warnings.push(SettingWarning {
                setting: setting.to_owned(),
                value: value.to_owned(),
                problem: problem.to_owned(),
            })
        };

        let mut private_ip = None;
        let mut vnet_integration = false;
        if let Some(v) = non_empty("WEBSITE_PRIVATE_IP") {
            vnet_integration = true;
            match v.trim().parse::<IpAddr>() {
                Ok(ip) => private_ip = Some(ip),
                Err(_) => warn("WEBSITE_PRIVATE_IP", &v, "not an IP address"),
            }
        }
        let mut route_all = false;
        if let Some(v) = non_empty("WEBSITE_VNET_ROUTE_ALL") {
            match v.trim() {
                "1" => route_all = true,
                "0" => {}
                _ => warn("WEBSITE_VNET_ROUTE_ALL", &v, "only 1 enables Route All; treated as off"),
            }
        }
        let dns_timeout = non_empty("WEBSITE_DNS_TIMEOUT").and_then(|v| match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
            _ => {
                warn("WEBSITE_DNS_TIMEOUT", &v, "not a whole number of seconds above 0; ignored");
                None
            }
        });
        let dns_attempts = non_empty("WEBSITE_DNS_ATTEMPTS").and_then(|v| match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                warn("WEBSITE_DNS_ATTEMPTS", &v, "not a whole number above 0; ignored");
                None
            }
        });
        let mut content_over_vnet = false;
        if let Some(v) = non_empty("WEBSITE_CONTENTOVERVNET") {
            match v.trim() {
                "1" => content_over_vnet = true,
                "0" => {}
                _ => warn("WEBSITE_CONTENTOVERVNET", &v, "only 1 enables it; treated as off"),
            }
        }

        let mut connection_strings: Vec<ConnectionSetting> = names
            .iter()
            .filter_map(|n| non_empty(n).map(|v| (n, v)))
            .filter(|(n, v)| is_dependency_setting(n, v))
            .map(|(n, v)| ConnectionSetting::new(n.clone(), v))
            .collect();
        connection_strings.sort_by(|a, b| a.name.cmp(&b.name));
        connection_strings.dedup_by(|a, b| a.name == b.name);
        for cs in &connection_strings {
            if let Err(e) = cs.dependencies() {
                warn(&cs.name, &cs.redacted(), &e.problem());
            }
        }

        s.private_ip = private_ip;
        s.vnet_integration = vnet_integration;
        s.route_all = route_all;
        s.dns_server_setting = non_empty("WEBSITE_DNS_SERVER");
        s.dns_alt_server_setting = non_empty("WEBSITE_DNS_ALT_SERVER");
        s.dns_timeout = dns_timeout;
        s.dns_attempts = dns_attempts;
        s.content_over_vnet = content_over_vnet;
        s.site_name = non_empty("WEBSITE_SITE_NAME");
        s.region = non_empty("REGION_NAME");
        s.sku = non_empty("WEBSITE_SKU");
        s.connection_strings = connection_strings;
        s
    }

    /// Reads this process's environment. Variables that are not UTF-8 are skipped with a
    /// warning.
    pub fn from_process() -> Self {
        let mut names = Vec::new();
        let mut bad = Vec::new();
        for (key, value) in std::env::vars_os() {
            match (key.into_string(), value.into_string()) {
                (Ok(k), Ok(_)) => names.push(k),
                (Ok(k), Err(_)) => bad.push(k),
                // Shown escaped (`\xff`), as any name that cannot be printed as it is.
                (Err(k), _) => {
                    bad.push(crate::sanitize::escape_bytes_for_terminal(k.as_encoded_bytes(), 200))
                }
            }
        }
        let mut settings = Self::from_env(&|name| std::env::var(name).ok(), &names);
        for name in bad.into_iter().filter(|n| n.starts_with("WEBSITE_") || is_connection_string_setting(n)) {
            settings.warnings.push(SettingWarning {
                setting: name,
                value: String::new(),
                problem: "not valid UTF-8; ignored".into(),
            });
        }
        settings
    }

    /// True when the app runs on App Service / Functions (the platform sets the site name).
    pub fn in_app_service(&self) -> bool {
        self.site_name.is_some()
    }
}

/// One address on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceAddress {
    pub interface: String,
    pub address: IpAddr,
    pub prefix_len: u8,
    pub index: Option<u32>,
    pub is_loopback: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("cannot list network interfaces: {0}")]
    Interfaces(#[source] io::Error),
    #[error("cannot read the route table {path}: {source}")]
    RouteTable { path: String, source: io::Error },
    #[error("cannot read the route table ({call}): {source}")]
    RouteTableCall { call: &'static str, source: io::Error },
    #[error("reading the route table is not supported on this OS")]
    RoutesUnsupported,
    #[error("no route to {destination}: {source}")]
    NoRoute { destination: IpAddr, source: io::Error },
    #[error("cannot ask the kernel for a route to {destination}: {source}")]
    RouteQuery { destination: IpAddr, source: io::Error },
}

/// Every address on every interface, sorted by interface then address.
pub fn interfaces() -> Result<Vec<InterfaceAddress>, EnvError> {
    let mut out = crate::platform::interfaces()?;
    out.sort_by(|a, b| (a.interface.as_str(), a.address).cmp(&(b.interface.as_str(), b.address)));
    Ok(out)
}

/// One entry of the kernel's route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub destination: IpAddr,
    pub prefix_len: u8,
    /// `None` when the destination is on-link.
    pub gateway: Option<IpAddr>,
    pub interface: String,
    pub metric: u32,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.prefix_len == 0
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.destination, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                ipnet::Ipv4Net::new(net, self.prefix_len).is_ok_and(|n| n.contains(&ip))
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                ipnet::Ipv6Net::new(net, self.prefix_len).is_ok_and(|n| n.contains(&ip))
            }
            _ => false,
        }
    }
}

/// The main route table (IPv4 and IPv6), as far as this OS lets us read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteTable {
    pub routes: Vec<Route>,
}

const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;

impl RouteTable {
    /// Parses `/proc/net/route` (IPv4; addresses are the kernel's native-endian hex).
    pub fn parse_proc_ipv4(text: &str) -> Self {
        let routes = text
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 8 {
                    return None;
                }
                let hex = |s: &str| u32::from_str_radix(s, 16).ok();
                let v4 = |s: &str| hex(s).map(|n| Ipv4Addr::from(n.to_ne_bytes()));
                let (dest, gateway, flags, metric, mask) =
                    (v4(f[1])?, v4(f[2])?, hex(f[3])?, f[6], v4(f[7])?);
                if flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
                    return None;
                }
                Some(Route {
                    destination: IpAddr::V4(dest),
                    prefix_len: u32::from(mask).count_ones() as u8,
                    gateway: (flags & RTF_GATEWAY != 0 && !gateway.is_unspecified())
                        .then_some(IpAddr::V4(gateway)),
                    interface: f[0].to_owned(),
                    metric: metric.parse().unwrap_or(0),
                })
            })
            .collect();
        Self { routes }
    }

    /// Parses `/proc/net/ipv6_route` (addresses in network-order hex).
    pub fn parse_proc_ipv6(text: &str) -> Self {
        let v6 = |s: &str| u128::from_str_radix(s, 16).ok().map(Ipv6Addr::from);
        let routes = text
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 10 {
                    return None;
                }
                let dest = v6(f[0])?;
                let prefix_len = u8::from_str_radix(f[1], 16).ok()?;
                let next_hop = v6(f[4])?;
                let metric = u32::from_str_radix(f[5], 16).ok()?;
                let flags = u32::from_str_radix(f[8], 16).ok()?;
                if flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
                    return None;
                }
                Some(Route {
                    destination: IpAddr::V6(dest),
                    prefix_len,
                    gateway: (!next_hop.is_unspecified()).then_some(IpAddr::V6(next_hop)),
                    interface: f[9].to_owned(),
                    metric,
                })
            })
            .collect();
        Self { routes }
    }

    /// The OS's route table (Linux and Windows); elsewhere [`EnvError::RoutesUnsupported`].
    pub fn read() -> Result<Self, EnvError> {
        crate::platform::route_table()
    }

    /// The default routes, lowest metric first.
    pub fn defaults(&self) -> Vec<&Route> {
        let mut d: Vec<&Route> = self.routes.iter().filter(|r| r.is_default()).collect();
        d.sort_by_key(|r| (r.destination.is_ipv6(), r.metric));
        d
    }

    /// Longest-prefix match, then lowest metric. Policy routing is not modelled: the source
    /// address from [`route_to`] is the kernel's real answer, this is a best-effort next hop.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Route> {
        let ip = canonical(ip);
        self.routes
            .iter()
            .filter(|r| r.contains(ip))
            .max_by(|a, b| a.prefix_len.cmp(&b.prefix_len).then(b.metric.cmp(&a.metric)))
    }
}

/// How the kernel would reach a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteInfo {
    pub destination: IpAddr,
    /// The local address the kernel picked.
    pub source: IpAddr,
    /// The interface owning `source`, when found.
    pub interface: Option<String>,
    /// The next hop, when the route goes through a gateway.
    pub via_gateway: Option<IpAddr>,
    /// False when the route table could not be read or has no route for the destination (so
    /// `via_gateway` is unknown, not "on-link").
    pub gateway_known: bool,
}

/// Asks the kernel which local address and interface it would use to reach `destination`,
/// without sending anything: connecting a UDP socket only selects a route.
pub fn route_to(destination: IpAddr) -> Result<RouteInfo, EnvError> {
    let source = kernel_source_for(destination)?;
    Ok(route_via(destination, source, interfaces().ok().as_deref(), RouteTable::read().as_ref().ok()))
}

/// The local address the kernel picks for `destination` (one UDP socket, no packet).
pub fn kernel_source_for(destination: IpAddr) -> Result<IpAddr, EnvError> {
    let destination = canonical(destination);
    let bind: SocketAddr = match destination {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(bind).map_err(|source| EnvError::RouteQuery { destination, source })?;
    // The port is irrelevant to routing; 9 (discard) is a port nothing should expect traffic on.
    socket.connect((destination, 9)).map_err(|source| match source.kind() {
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            EnvError::NoRoute { destination, source }
        }
        _ => EnvError::RouteQuery { destination, source },
    })?;
    Ok(socket.local_addr().map_err(|source| EnvError::RouteQuery { destination, source })?.ip())
}

/// Completes the kernel's `source` for `destination` from interfaces and a route table read
/// earlier, so a run over many destinations reads them once. `None`: could not be read.
pub fn route_via(
    destination: IpAddr,
    source: IpAddr,
    interfaces: Option<&[InterfaceAddress]>,
    table: Option<&RouteTable>,
) -> RouteInfo {
    let destination = canonical(destination);
    let owner = interfaces.and_then(|list| list.iter().find(|i| i.address == source));
    let is_local = destination == source || owner.is_some_and(|i| i.is_loopback);
    // Local and loopback destinations live in the kernel's local table, which
    // /proc/net/route does not show; they never go through a gateway.
    // A destination the table read has no route for was still routed by the kernel (it
    // picked a source): through another table (policy routing, `ip rule`), which is not read.
    // Its gateway is then unknown, not "none": on-link would be a claim we cannot back.
    let (via_gateway, gateway_known) = match table.map(|t| t.lookup(destination)) {
        _ if is_local => (None, true),
        Some(Some(route)) => (route.gateway, true),
        Some(None) | None => (None, false),
    };
    let interface = owner.map(|i| i.interface.clone());
    RouteInfo { destination, source, interface, via_gateway, gateway_known }
}

/// One DNS server the app uses, as the DNS engine will report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsServerEntry {
    pub address: String,
    /// Where the server came from (`WEBSITE_DNS_SERVER`, resolv.conf, Azure DNS default, ...).
    pub source: String,
}

/// Everything `netdiag env` shows.
#[derive(Debug)]
pub struct EnvSnapshot {
    pub settings: AppSettings,
    pub interfaces: Result<Vec<InterfaceAddress>, String>,
    pub routes: Result<RouteTable, String>,
    /// The servers the app uses, in the order it asks them, as the DNS engine selects them
    /// ([`EnvSnapshot::collect_dns_servers`]); `None` when not collected.
    pub dns_servers: Option<Vec<DnsServerEntry>>,
    /// Routes asked for with [`EnvSnapshot::check_routes`].
    pub route_checks: Vec<(IpAddr, Result<RouteInfo, String>)>,
}

impl EnvSnapshot {
    /// Reads settings from this process's environment, and interfaces and routes from the OS.
    /// Sends no traffic.
    pub fn collect() -> Self {
        Self::with_settings(AppSettings::from_process())
    }

    pub fn with_settings(settings: AppSettings) -> Self {
        Self {
            settings,
            interfaces: interfaces().map_err(|e| e.to_string()),
            routes: RouteTable::read().map_err(|e| e.to_string()),
            dns_servers: None,
            route_checks: Vec::new(),
        }
    }

    /// Asks the DNS engine which servers the app uses (explicit none: `WEBSITE_DNS_SERVER` +
    /// `WEBSITE_DNS_ALT_SERVER`, else `resolv_conf`), each labelled with the setting or file it
    /// came from. A broken configuration becomes a warning and an empty list.
    pub fn collect_dns_servers(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
        resolv_conf: &std::path::Path,
    ) {
        use crate::dns::servers::{self, ServerSource};
        match servers::servers_for_app(None, env, resolv_conf) {
            Ok(list) => {
                // WEBSITE_DNS_ALT_SERVER, when set, is always the last one.
                let alt_index = env(servers::ENV_DNS_ALT_SERVER)
                    .filter(|v| !v.trim().is_empty())
                    .map(|_| list.servers.len().saturating_sub(1));
                let entries = list
                    .servers
                    .iter()
                    .enumerate()
                    .map(|(i, addr)| DnsServerEntry {
                        address: addr.to_string(),
                        source: match &list.source {
                            ServerSource::WebsiteDnsServer if Some(i) == alt_index => {
                                servers::ENV_DNS_ALT_SERVER.to_owned()
                            }
                            ServerSource::WebsiteDnsServer => servers::ENV_DNS_SERVER.to_owned(),
                            other => other.to_string(),
                        },
                    })
                    .collect();
                for w in list.warnings {
                    self.settings.warnings.push(SettingWarning {
                        setting: servers::ENV_DNS_SERVER.into(),
                        value: String::new(),
                        problem: w,
                    });
                }
                self.dns_servers = Some(entries);
            }
            Err(e) => {
                self.settings.warnings.push(SettingWarning {
                    setting: "DNS servers".into(),
                    value: String::new(),
                    problem: e.to_string(),
                });
                self.dns_servers = Some(Vec::new());
            }
        }
    }

    /// Looks up how the kernel would reach each destination (no packet is sent).
    pub fn check_routes(&mut self, destinations: &[IpAddr]) {
        self.route_checks =
            destinations.iter().map(|d| (*d, route_to(*d).map_err(|e| e.to_string()))).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> AppSettings {
        let owned: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let names: Vec<String> = owned.iter().map(|(k, _)| k.clone()).collect();
        AppSettings::from_env(&|n| owned.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()), &names)
    }

    #[test]
    fn empty_environment() {
        let s = settings(&[]);
        assert!(!s.vnet_integration && !s.route_all && s.private_ip.is_none());
        assert!(s.connection_strings.is_empty() && s.warnings.is_empty());
        assert!(!s.in_app_service());
    }

    #[test]
    fn full_environment() {
        let s = settings(&[
            ("WEBSITE_PRIVATE_IP", "10.0.1.254"),
            ("WEBSITE_VNET_ROUTE_ALL", "1"),
            ("WEBSITE_DNS_SERVER", "10.0.0.4,10.0.0.5"),
            ("WEBSITE_DNS_ALT_SERVER", "168.63.129.16"),
            ("WEBSITE_DNS_TIMEOUT", "5"),
            ("WEBSITE_DNS_ATTEMPTS", "2"),
            ("WEBSITE_CONTENTOVERVNET", "1"),
            ("WEBSITE_SITE_NAME", "myapp"),
            ("REGION_NAME", "West Europe"),
            ("WEBSITE_SKU", "ElasticPremium"),
            ("AzureWebJobsStorage", "AccountName=a;AccountKey=K"),
            ("SQLAZURECONNSTR_Main", "Server=tcp:h,1433;Password=p"),
            ("MyConnectionString", "Endpoint=https://h"),
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=i;IngestionEndpoint=https://i"),
            ("UNRELATED", "AccountKey=x"),
        ]);
        assert_eq!(s.private_ip, Some("10.0.1.254".parse().unwrap()));
        assert!(s.vnet_integration && s.route_all && s.content_over_vnet && s.in_app_service());
        assert_eq!(s.dns_server_setting.as_deref(), Some("10.0.0.4,10.0.0.5"));
        assert_eq!(s.dns_alt_server_setting.as_deref(), Some("168.63.129.16"));
        assert_eq!(s.dns_timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.dns_attempts, Some(2));
        assert_eq!((s.site_name.as_deref(), s.region.as_deref()), (Some("myapp"), Some("West Europe")));
        assert_eq!(s.sku.as_deref(), Some("ElasticPremium"));
        let names: Vec<&str> = s.connection_strings.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "AzureWebJobsStorage",
                "MyConnectionString",
                "SQLAZURECONNSTR_Main"
            ]
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn invalid_values_become_warnings() {
        let cases = [
            ("WEBSITE_PRIVATE_IP", "not-an-ip"),
            ("WEBSITE_VNET_ROUTE_ALL", "true"),
            ("WEBSITE_DNS_TIMEOUT", "3s"),
            ("WEBSITE_DNS_TIMEOUT", "0"),
            ("WEBSITE_DNS_ATTEMPTS", "-1"),
            ("WEBSITE_CONTENTOVERVNET", "yes"),
            ("AzureWebJobsStorage", "AccountName=bad name;AccountKey=SECRETKEY123"),
        ];
        for (name, value) in cases {
            let s = settings(&[(name, value)]);
            assert_eq!(s.warnings.len(), 1, "{name}={value}: {:?}", s.warnings);
            assert_eq!(s.warnings[0].setting, name);
            assert!(!format!("{:?}", s.warnings).contains("SECRETKEY123"));
        }
        let s = settings(&[("WEBSITE_PRIVATE_IP", "garbage"), ("WEBSITE_VNET_ROUTE_ALL", "true")]);
        assert!(s.vnet_integration, "a set WEBSITE_PRIVATE_IP means integration is on even if unparsable");
        assert!(!s.route_all);
    }

    #[test]
    fn connection_string_names() {
        for (name, want) in [
            ("AzureWebJobsStorage", true),
            ("WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", true),
            ("CUSTOMCONNSTR_x", true),
            ("sqlconnstr_x", true),
            ("SERVICEBUSCONNSTR_bus", true),
            ("EVENTHUBCONNSTR_hub", true),
            ("ServiceBusConnectionString", true),
            ("CUSTOMCONNSTR_", false),
            ("WEBSITE_SITE_NAME", false),
            ("PATH", false),
        ] {
            assert_eq!(is_connection_string_setting(name), want, "{name}");
        }
    }

    #[test]
    fn debug_redacts() {
        let c = ConnectionSetting::new("AzureWebJobsStorage", "AccountName=a;AccountKey=SECRETKEY123");
        assert!(!format!("{c:?}").contains("SECRETKEY123"));
    }

    const PROC_ROUTE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wg0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0
tun0\t0002000A\t0100000A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
dead\t0000000B\t00000000\t0000\t0\t0\t0\t000000FF\t0\t0\t0
";

    const PROC_IPV6_ROUTE: &str = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";

    #[test]
    fn proc_route_ipv4() {
        let t = RouteTable::parse_proc_ipv4(PROC_ROUTE);
        assert_eq!(t.routes.len(), 4, "a route without RTF_UP is skipped");
        let d = t.defaults();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].gateway, Some("192.168.1.1".parse().unwrap()));
        assert_eq!(d[0].interface, "eth0");
        let cases = [
            ("192.168.1.77", "eth0", None),
            ("10.9.9.9", "wg0", None),
            ("10.0.2.5", "tun0", Some("10.0.0.1")),
            ("8.8.4.4", "eth0", Some("192.168.1.1")),
            ("::ffff:10.0.2.5", "tun0", Some("10.0.0.1")),
        ];
        for (ip, iface, gw) in cases {
            let r = t.lookup(ip.parse().unwrap()).unwrap();
            assert_eq!(r.interface, iface, "{ip}");
            assert_eq!(r.gateway, gw.map(|g| g.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn proc_route_ipv6() {
        let t = RouteTable::parse_proc_ipv6(PROC_IPV6_ROUTE);
        assert_eq!(t.routes.len(), 2, "the reject route on lo is skipped");
        let d = t.defaults();
        assert_eq!(d[0].gateway, Some("fe80::1".parse().unwrap()));
        assert_eq!(d[0].metric, 0x400);
        let local = t.lookup("fd00::42".parse().unwrap()).unwrap();
        assert_eq!((local.prefix_len, local.gateway), (64, None));
    }

    #[test]
    fn a_destination_the_table_does_not_route_has_an_unknown_gateway_not_none() {
        let table = RouteTable::parse_proc_ipv4(PROC_ROUTE);
        let routed = "10.1.0.7".parse().unwrap();
        let source = "10.1.0.4".parse().unwrap();
        let known = route_via(routed, source, None, Some(&table));
        assert!(known.gateway_known, "{known:?}");
        // No default route: an address outside every listed prefix.
        let without_default: Vec<&str> =
            PROC_ROUTE.lines().filter(|l| !l.starts_with("eth0\t00000000")).collect();
        let only_onlink = RouteTable::parse_proc_ipv4(&without_default.join("\n"));
        assert!(only_onlink.defaults().is_empty());
        let elsewhere = route_via("192.0.2.9".parse().unwrap(), source, None, Some(&only_onlink));
        assert_eq!((elsewhere.via_gateway, elsewhere.gateway_known), (None, false), "{elsewhere:?}");
        let unreadable = route_via(routed, source, None, None);
        assert!(!unreadable.gateway_known);
    }

    #[test]
    fn garbage_route_tables_give_nothing() {
        assert!(RouteTable::parse_proc_ipv4("").routes.is_empty());
        assert!(RouteTable::parse_proc_ipv4("header\nzz zz zz\n").routes.is_empty());
        assert!(RouteTable::parse_proc_ipv6("not a route\n").routes.is_empty());
    }

    // Connecting a UDP socket to loopback selects a route and sends nothing.
    #[test]
    fn route_to_loopback() {
        let r = route_to("127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(r.source, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(r.via_gateway, None);
        #[cfg(target_os = "linux")]
        {
            assert_eq!(r.interface.as_deref(), Some("lo"));
            assert!(r.gateway_known);
        }
    }

    #[test]
    fn dns_servers_are_labelled_with_their_setting() {
        let vars = [("WEBSITE_DNS_SERVER", "10.0.0.4,10.0.0.5"), ("WEBSITE_DNS_ALT_SERVER", "10.0.0.6")];
        let env = |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string());
        let mut snap = EnvSnapshot::with_settings(AppSettings::default());
        snap.collect_dns_servers(&env, std::path::Path::new("/nonexistent/resolv.conf"));
        let got: Vec<(String, String)> =
            snap.dns_servers.unwrap().into_iter().map(|d| (d.address, d.source)).collect();
        assert_eq!(
            got,
            [
                ("10.0.0.4:53".to_owned(), "WEBSITE_DNS_SERVER".to_owned()),
                ("10.0.0.5:53".to_owned(), "WEBSITE_DNS_SERVER".to_owned()),
                ("10.0.0.6:53".to_owned(), "WEBSITE_DNS_ALT_SERVER".to_owned()),
            ]
        );

        // Windows has no resolv.conf: its servers come from the adapters, whatever the path.
        if cfg!(windows) {
            return;
        }
        let mut snap = EnvSnapshot::with_settings(AppSettings::default());
        snap.collect_dns_servers(&|_| None, std::path::Path::new("/nonexistent/resolv.conf"));
        assert_eq!(snap.dns_servers, Some(vec![]));
        assert!(snap.settings.warnings.iter().any(|w| w.problem.contains("/nonexistent/resolv.conf")));
    }

    #[test]
    fn interfaces_include_loopback() {
        let list = interfaces().unwrap();
        assert!(list.iter().any(|i| i.is_loopback && i.address == "127.0.0.1".parse::<IpAddr>().unwrap()));
    }
}

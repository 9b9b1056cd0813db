//! Evidence in, findings out: the troubleshooting checklist as a pure function.
//!
//! [`Evidence`] is plain data, independent of the TCP and DNS engines; `netdiag check` maps
//! their outcomes into it. [`diagnose`] never does I/O, so every finding is table-tested.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::classify::{AddressClass, classify};

/// What the app's settings say about virtual network integration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsEvidence {
    /// `WEBSITE_PRIVATE_IP` is set.
    pub vnet_integration: bool,
    pub private_ip: Option<IpAddr>,
    /// `WEBSITE_VNET_ROUTE_ALL=1`.
    pub route_all: bool,
    /// Running on App Service / Functions (`WEBSITE_SITE_NAME` is set).
    pub in_app_service: bool,
}

impl From<&crate::env::AppSettings> for SettingsEvidence {
    fn from(s: &crate::env::AppSettings) -> Self {
        Self {
            vnet_integration: s.vnet_integration,
            private_ip: s.private_ip,
            route_all: s.route_all,
            in_app_service: s.in_app_service(),
        }
    }
}

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetEvidence {
    /// As the user typed it.
    pub host: String,
    pub port: u16,
    /// An IP literal skips DNS.
    pub is_ip_literal: bool,
}

/// How one DNS server answered (or did not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOutcome {
    /// A usable answer (addresses, NXDOMAIN or no data).
    Answered {
        elapsed: Duration,
    },
    TimedOut {
        elapsed: Duration,
    },
    Refused,
    ServFail,
    /// Sending or receiving failed locally (unreachable, port closed, ...).
    NetworkError(String),
    Malformed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvidence {
    pub server: String,
    pub outcome: ServerOutcome,
}

/// What resolution concluded, over all servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsResult {
    Addresses(Vec<IpAddr>),
    NxDomain,
    /// The name exists but has no A/AAAA record.
    NoData,
    /// No server gave a usable answer.
    AllFailed,
    /// There was no server to ask (no resolv.conf, or one without `nameserver`), and the
    /// hosts file did not answer.
    NoServers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsEvidence {
    /// Servers in the order they were asked (the app's order).
    pub servers: Vec<ServerEvidence>,
    pub result: DnsResult,
    /// Aliases from the queried name to the canonical name, in order.
    pub cname_chain: Vec<String>,
    /// The hosts file answered, so no server was needed.
    pub hosts_file_answered: bool,
    /// Where the server list came from (`/etc/resolv.conf`, `WEBSITE_DNS_SERVER/...`).
    pub servers_source: String,
}

impl DnsEvidence {
    /// The first `privatelink.` name in the chain, if any: the mark of a private endpoint.
    pub fn privatelink_name(&self) -> Option<&str> {
        self.cname_chain.iter().map(String::as_str).find(|n| is_privatelink_name(n))
    }
}

/// True for names inside a `privatelink.` zone.
pub fn is_privatelink_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("privatelink.") || lower.contains(".privatelink.")
}

/// The route the kernel would take, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteEvidence {
    Route {
        source: IpAddr,
        interface: Option<String>,
        gateway: Option<IpAddr>,
        /// False when the route table could not be read or has no route for the address (the
        /// kernel used another table: policy routing): no gateway then means "unknown",
        /// not "on-link".
        gateway_known: bool,
    },
    NoRoute(String),
    /// Not looked up (the lookup itself failed for a local reason).
    Unknown(String),
}

impl RouteEvidence {
    /// Maps a [`crate::env::route_to`] result: "no route" is evidence, any other error means
    /// the route is unknown.
    pub fn from_lookup(result: &Result<crate::env::RouteInfo, crate::env::EnvError>) -> Self {
        match result {
            Ok(r) => Self::Route {
                source: r.source,
                interface: r.interface.clone(),
                gateway: r.via_gateway,
                gateway_known: r.gateway_known,
            },
            Err(crate::env::EnvError::NoRoute { source, .. }) => Self::NoRoute(source.to_string()),
            Err(e) => Self::Unknown(e.to_string()),
        }
    }
}

/// How the TCP connect ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpEvidence {
    Connected(Duration),
    /// The handshake completed, then the peer reset the connection at once.
    ConnectedThenReset(Duration),
    Refused,
    TimedOut(Duration),
    HostUnreachable,
    NetworkUnreachable,
    AddressNotAvailable,
    Other(String),
}

/// Everything known about one resolved (or literal) address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEvidence {
    pub address: IpAddr,
    /// Normally `classify(address)`; kept here so the renderer shows what diagnosis used.
    pub class: AddressClass,
    pub route: RouteEvidence,
    /// `None` when no connect was attempted.
    pub tcp: Option<TcpEvidence>,
}

impl AddressEvidence {
    pub fn new(address: IpAddr, route: RouteEvidence, tcp: Option<TcpEvidence>) -> Self {
        Self { address, class: classify(address), route, tcp }
    }
}

/// All the evidence for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub settings: SettingsEvidence,
    pub target: TargetEvidence,
    /// `None` for IP literals.
    pub dns: Option<DnsEvidence>,
    pub addresses: Vec<AddressEvidence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Failure,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Failure => "failure",
        }
    }
}

macro_rules! finding_ids {
    ($($variant:ident => $id:literal),* $(,)?) => {
        /// Stable identifiers, documented in docs/findings.md; scripts may match on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FindingId { $($variant),* }

        impl FindingId {
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(FindingId::$variant => $id),* }
            }
        }
    };
}

finding_ids! {
    DnsHostsFile => "dns_hosts_file",
    DnsAllServersTimedOut => "dns_all_servers_timed_out",
    DnsAllServersFailed => "dns_all_servers_failed",
    NoDnsServers => "no_dns_servers",
    DnsServerDead => "dns_server_dead",
    DnsServerError => "dns_server_error",
    DnsNxdomain => "dns_nxdomain",
    DnsNoData => "dns_no_data",
    PrivateEndpointPublicAddress => "private_endpoint_public_address",
    PrivateEndpointOk => "private_endpoint_ok",
    PrivateDestinationWithoutVnetIntegration => "private_destination_without_vnet_integration",
    PublicDestinationWithoutRouteAll => "public_destination_without_route_all",
    UnusableAddress => "unusable_address",
    LoopbackDestination => "loopback_destination",
    Port25Blocked => "port_25_blocked",
    NoRoute => "no_route",
    SourceNotIntegrationAddress => "source_not_integration_address",
    TcpConnected => "tcp_connected",
    TcpConnectedThenReset => "tcp_connected_then_reset",
    TcpRefused => "tcp_refused",
    TcpTimedOut => "tcp_timed_out",
    TcpUnreachable => "tcp_unreachable",
    TcpAddressNotAvailable => "tcp_address_not_available",
    TcpError => "tcp_error",
}

// Serialized by hand so JSON carries exactly the documented id (serde's snake_case would
// turn `Port25Blocked` into `port25_blocked`).
impl Serialize for FindingId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One conclusion, with what it rests on and what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    /// What it is about: a DNS server, an address, or the target.
    pub subject: String,
    pub summary: String,
    pub evidence: Vec<String>,
    pub next_step: String,
}

/// The worst severity among the findings (`Ok` when there are none).
pub fn worst(findings: &[Finding]) -> Severity {
    findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok)
}

/// True when any finding is a failure: `netdiag check` exits 1.
pub fn has_failure(findings: &[Finding]) -> bool {
    worst(findings) == Severity::Failure
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.0} ms") }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn server_line(s: &ServerEvidence) -> String {
    let what = match &s.outcome {
        ServerOutcome::Answered { elapsed } => format!("answered in {}", ms(*elapsed)),
        ServerOutcome::TimedOut { elapsed } => format!("timed out after {}", secs(*elapsed)),
        ServerOutcome::Refused => "refused the query (REFUSED)".into(),
        ServerOutcome::ServFail => "failed the query (SERVFAIL)".into(),
        ServerOutcome::NetworkError(e) => format!("network error: {e}"),
        ServerOutcome::Malformed(e) => format!("malformed reply: {e}"),
    };
    format!("DNS server {}: {what}", s.server)
}

/// The route as one evidence line, built in place: it is made for every address checked.
fn route_line(route: &RouteEvidence) -> String {
    use std::fmt::Write as _;
    let mut line = String::with_capacity(96);
    // Writing into a String cannot fail.
    let _ = match route {
        RouteEvidence::Route { source, interface, gateway, gateway_known } => {
            let _ = write!(line, "route: source {source}");
            if let Some(interface) = interface {
                let _ = write!(line, " on {interface}");
            }
            match (gateway, gateway_known) {
                (Some(g), _) => write!(line, " via gateway {g}"),
                (None, true) => write!(line, " (on-link, no gateway)"),
                (None, false) => {
                    write!(
                        line,
                        " (gateway unknown: the route table read has no route for it, or could not be read)"
                    )
                }
            }
        }
        RouteEvidence::NoRoute(why) => write!(line, "route: none ({why})"),
        RouteEvidence::Unknown(why) => write!(line, "route: unknown ({why})"),
    };
    line
}

struct Ctx<'a> {
    e: &'a Evidence,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    fn push(
        &mut self,
        id: FindingId,
        severity: Severity,
        subject: String,
        summary: String,
        evidence: Vec<String>,
        next: &str,
    ) {
        self.out.push(Finding { id, severity, subject, summary, evidence, next_step: next.to_owned() });
    }
}

const NSG_WHOLE_SUBNET: &str = "NSGs and firewalls must allow the whole integration subnet (or point-to-site range): you don't know which address in it your app actually uses.";

/// Runs the checklist over the evidence. Findings come in stage order: DNS, addresses, route,
/// TCP.
pub fn diagnose(e: &Evidence) -> Vec<Finding> {
    let mut c = Ctx { e, out: Vec::new() };
    if let Some(dns) = &e.dns
        && !e.target.is_ip_literal
    {
        dns_findings(&mut c, dns);
    }
    for a in &e.addresses {
        address_findings(&mut c, a);
    }
    c.out
}

fn dns_findings(c: &mut Ctx<'_>, dns: &DnsEvidence) {
    let host = c.e.target.host.clone();
    if dns.hosts_file_answered {
        c.push(
            FindingId::DnsHostsFile,
            Severity::Info,
            host.clone(),
            format!("{host} was answered by the hosts file; no DNS server was asked."),
            vec![],
            "If the address is stale, fix or remove the hosts file entry; DNS changes do not reach this app while it is there.",
        );
        // The servers were not consulted, so nothing below about them applies.
        if dns.servers.is_empty() {
            return name_result_findings(c, dns);
        }
    }

    if dns.result == DnsResult::NoServers {
        c.push(
            FindingId::NoDnsServers,
            Severity::Failure,
            host.clone(),
            format!("No DNS server is configured, so {host} cannot be resolved (none in {}).", dns.servers_source),
            vec![format!("DNS servers: none (from {})", dns.servers_source)],
            "Set WEBSITE_DNS_SERVER (and WEBSITE_DNS_ALT_SERVER) to the DNS servers the app must use, or fix resolv.conf so it names them (nameserver lines); --dns-server tests a server directly.",
        );
        return;
    }

    let all_lines: Vec<String> = dns.servers.iter().map(server_line).collect();
    let timed_out = |s: &ServerEvidence| matches!(s.outcome, ServerOutcome::TimedOut { .. });
    let answered = |s: &ServerEvidence| matches!(s.outcome, ServerOutcome::Answered { .. });

    if !dns.servers.is_empty() && dns.servers.iter().all(timed_out) {
        let total: Duration = dns
            .servers
            .iter()
            .map(|s| match s.outcome {
                ServerOutcome::TimedOut { elapsed } => elapsed,
                _ => Duration::ZERO,
            })
            .sum();
        c.push(
            FindingId::DnsAllServersTimedOut,
            Severity::Failure,
            host.clone(),
            format!(
                "DNS is not accessible: all {} DNS server(s) timed out ({} in total) resolving {host}.",
                dns.servers.len(),
                secs(total)
            ),
            all_lines,
            "A firewall or NSG may be blocking DNS (UDP and TCP 53) from the integration subnet, or the DNS server is down. Check WEBSITE_DNS_SERVER / WEBSITE_DNS_ALT_SERVER and that the servers are reachable from the virtual network.",
        );
        return;
    }
    if dns.result == DnsResult::AllFailed || (!dns.servers.is_empty() && !dns.servers.iter().any(answered)) {
        c.push(
            FindingId::DnsAllServersFailed,
            Severity::Failure,
            host.clone(),
            format!("No DNS server gave a usable answer for {host}."),
            all_lines,
            "Check that the DNS servers the app uses (WEBSITE_DNS_SERVER, WEBSITE_DNS_ALT_SERVER, or the virtual network's DNS) are up, reachable, and allow queries from the integration subnet.",
        );
        return;
    }

    let first_answer = dns.servers.iter().position(answered);
    for (i, s) in dns.servers.iter().enumerate() {
        let before_answer = first_answer.is_some_and(|f| i < f);
        match &s.outcome {
            ServerOutcome::TimedOut { elapsed } => {
                let summary = if before_answer {
                    format!(
                        "DNS server {} is dead: it timed out after {}, and every lookup the app makes waits that long before the next server answers.",
                        s.server,
                        secs(*elapsed)
                    )
                } else {
                    format!(
                        "DNS server {} timed out after {}; the app has no working fallback behind the server that answered.",
                        s.server,
                        secs(*elapsed)
                    )
                };
                c.push(
                    FindingId::DnsServerDead,
                    Severity::Warning,
                    s.server.clone(),
                    summary,
                    all_lines.clone(),
                    "Fix or remove the dead server from WEBSITE_DNS_SERVER / WEBSITE_DNS_ALT_SERVER (or the virtual network's DNS settings); check that no firewall or NSG blocks DNS to it.",
                );
            }
            ServerOutcome::Refused
            | ServerOutcome::ServFail
            | ServerOutcome::NetworkError(_)
            | ServerOutcome::Malformed(_) => c.push(
                FindingId::DnsServerError,
                Severity::Warning,
                s.server.clone(),
                format!("{} for {host}.", server_line(s)),
                all_lines.clone(),
                "Check this DNS server's configuration: it must recurse (or forward to 168.63.129.16 for private DNS zones) for queries from the integration subnet.",
            ),
            ServerOutcome::Answered { .. } => {}
        }
    }
    name_result_findings(c, dns);
}

fn name_result_findings(c: &mut Ctx<'_>, dns: &DnsEvidence) {
    let host = c.e.target.host.clone();
    let chain = if dns.cname_chain.is_empty() {
        vec![]
    } else {
        vec![format!("aliases: {}", dns.cname_chain.join(" -> "))]
    };
    match &dns.result {
        DnsResult::NxDomain => c.push(
            FindingId::DnsNxdomain,
            Severity::Failure,
            host.clone(),
            format!("{host} does not exist (NXDOMAIN)."),
            chain,
            if dns.privatelink_name().is_some() {
                "The name points into a privatelink zone that has no record for it: add the private endpoint's A record to the private DNS zone and link the zone to the virtual network, or forward that zone from your DNS server to 168.63.129.16."
            } else {
                "Check the hostname for typos; if it is a private name, make sure the DNS server the app uses can resolve it (private DNS zone linked to the virtual network, or conditional forwarding)."
            },
        ),
        DnsResult::NoData => c.push(
            FindingId::DnsNoData,
            Severity::Failure,
            host.clone(),
            format!("{host} exists but has no address record."),
            chain,
            "Add an A (or AAAA) record for the name, or check that you used the right hostname.",
        ),
        DnsResult::Addresses(addrs) => private_endpoint_findings(c, dns, addrs),
        DnsResult::AllFailed | DnsResult::NoServers => {}
    }
}

fn private_endpoint_findings(c: &mut Ctx<'_>, dns: &DnsEvidence, addrs: &[IpAddr]) {
    let Some(pl) = dns.privatelink_name() else { return };
    let host = c.e.target.host.clone();
    // A private endpoint only ever has an RFC1918 or unique-local address; anything else (a
    // public, CGNAT or documentation address) means the private zone did not answer. Same rule
    // as the DNS engine's `privatelink_finding`, so nameresolver and netdiag agree.
    let public: Vec<IpAddr> =
        addrs.iter().copied().filter(|a| !crate::dns::privatelink::is_private_address(*a)).collect();
    let mut evidence = vec![format!("aliases: {}", dns.cname_chain.join(" -> "))];
    evidence.extend(addrs.iter().map(|a| format!("address {a}: {}", classify(*a).describe())));
    if !public.is_empty() {
        let zone =
            pl.split_once(".privatelink.").map(|(_, z)| format!("privatelink.{z}")).unwrap_or(pl.to_owned());
        c.push(
            FindingId::PrivateEndpointPublicAddress,
            Severity::Failure,
            host.clone(),
            format!(
                "{host} goes through the private endpoint name {pl} but resolves to {}, not a private address, so traffic does not use the private endpoint.",
                public
                    .iter()
                    .map(|a| format!("{a} ({})", classify(*a).describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence,
            &format!(
                "Link the private DNS zone {zone} to the app's virtual network, or have your custom DNS server forward that zone to Azure DNS (168.63.129.16); then check again."
            ),
        );
    } else {
        c.push(
            FindingId::PrivateEndpointOk,
            Severity::Ok,
            host.clone(),
            format!("{host} resolves through {pl} to a private address."),
            evidence,
            "Nothing to do for DNS; if the connection still fails, follow the TCP finding.",
        );
    }
}

fn address_findings(c: &mut Ctx<'_>, a: &AddressEvidence) {
    let s = c.e.settings.clone();
    let port = c.e.target.port;
    let subject = format!("{}", std::net::SocketAddr::new(a.address, port));
    let base = vec![format!("address {}: {}", a.address, a.class.describe()), route_line(&a.route)];
    let connected = matches!(a.tcp, Some(TcpEvidence::Connected(_) | TcpEvidence::ConnectedThenReset(_)));

    if a.class.is_unusable_destination() {
        c.push(
            FindingId::UnusableAddress,
            Severity::Failure,
            subject.clone(),
            format!(
                "{} is {}: no TCP connection can go there, so it was not probed.",
                a.address,
                crate::wording::a_or_an(a.class.describe())
            ),
            base.clone(),
            "You have the wrong IP or hostname: fix the DNS record or the address the app is configured with.",
        );
    } else if a.class == AddressClass::Loopback {
        c.push(
            FindingId::LoopbackDestination,
            Severity::Info,
            subject.clone(),
            format!("{} is loopback: this tests this machine, not the network.", a.address),
            base.clone(),
            "If you meant a remote host, check the hostname or the hosts file.",
        );
    } else if s.vnet_integration
        && !s.route_all
        && a.class != AddressClass::Rfc1918
        // Loopback and link-local never leave this machine or link, and Azure forbids both
        // ranges in a virtual network: Route All would change nothing for them.
        && !a.class.is_local_only()
    {
        c.push(
            FindingId::PublicDestinationWithoutRouteAll,
            Severity::Warning,
            subject.clone(),
            format!(
                "{} is not an RFC1918 address and Route All is off as far as the app can see: this traffic does not enter the virtual network, so its NSGs and route tables do not apply and private access will not work.",
                a.address
            ),
            [base.clone(), vec!["WEBSITE_VNET_ROUTE_ALL is not 1".into()]].concat(),
            "Enable Route All (WEBSITE_VNET_ROUTE_ALL=1, or the site's Route All setting, which the app cannot see) if this destination must be reached through the virtual network; for a private endpoint, make DNS resolve to its private address.",
        );
    } else if s.in_app_service && !s.vnet_integration && a.class == AddressClass::Rfc1918 {
        c.push(
            FindingId::PrivateDestinationWithoutVnetIntegration,
            Severity::Warning,
            subject.clone(),
            format!("{} is a private address but virtual network integration is off (WEBSITE_PRIVATE_IP is not set).", a.address),
            base.clone(),
            "Set up virtual network integration for the app (a delegated subnet of at least /28, /26 recommended), or reach the service on a public address.",
        );
    }

    if s.vnet_integration && port == 25 {
        let (severity, summary) = if connected {
            (Severity::Warning, "Connected to port 25, but regional virtual network integration can't use port 25; this may not be the integrated app's path.".to_owned())
        } else {
            (
                Severity::Failure,
                "Port 25 is blocked: regional virtual network integration can't use port 25.".to_owned(),
            )
        };
        c.push(
            FindingId::Port25Blocked,
            severity,
            subject.clone(),
            summary,
            base.clone(),
            "Send mail through a relay on another port (587 or 465 with authentication, or a mail service's API).",
        );
    }

    if let RouteEvidence::NoRoute(why) = &a.route {
        c.push(
            FindingId::NoRoute,
            Severity::Failure,
            subject.clone(),
            format!("This machine has no route to {} ({why}).", a.address),
            base.clone(),
            "Check the route tables and gateways: the virtual network must route this range, and across a VPN or ExpressRoute the on-premises side must route traffic back to the integration subnet.",
        );
    }

    if let (true, Some(private_ip), RouteEvidence::Route { source, .. }) =
        (s.vnet_integration, s.private_ip, &a.route)
        && *source != private_ip
        && a.class == AddressClass::Rfc1918
    {
        c.push(
            FindingId::SourceNotIntegrationAddress,
            Severity::Info,
            subject.clone(),
            format!(
                "The kernel sends from {source}, not from WEBSITE_PRIVATE_IP {private_ip}; the platform may translate it, and the address seen by the destination can be any in the integration subnet."
            ),
            base.clone(),
            NSG_WHOLE_SUBNET,
        );
    }

    let Some(tcp) = &a.tcp else { return };
    let private_hint = if a.class == AddressClass::Rfc1918 && s.vnet_integration {
        " Check the NSG on the integration subnet (egress) and on the destination's subnet (ingress), the host firewall, and for on-premises destinations that the gateway routes traffic back."
    } else {
        ""
    };
    match tcp {
        TcpEvidence::Connected(t) => c.push(
            FindingId::TcpConnected,
            Severity::Ok,
            subject.clone(),
            format!("Connected to {subject} in {}.", ms(*t)),
            base,
            "The network path works; if the app still fails, look at the application layer (TLS, credentials, the service's own firewall).",
        ),
        TcpEvidence::ConnectedThenReset(t) => c.push(
            FindingId::TcpConnectedThenReset,
            Severity::Warning,
            subject.clone(),
            format!("Connected to {subject} in {}, then the peer reset the connection at once.", ms(*t)),
            base,
            "The network path works and something accepts on the port, but it closes every connection straight away: check the application's logs, a proxy or load balancer in front of it with no healthy backend, or a service that rejects this client (its own firewall or allow list, TLS or protocol mismatch).",
        ),
        TcpEvidence::Refused => c.push(
            FindingId::TcpRefused,
            Severity::Failure,
            subject.clone(),
            format!("{subject} refused the connection: the host is up but nothing accepts connections on port {port}."),
            base,
            &format!("The application is down or listening on a different port than you expected (match the process with {LISTENERS_COMMAND}), or a host firewall rejects the port."),
        ),
        TcpEvidence::TimedOut(t) => c.push(
            FindingId::TcpTimedOut,
            Severity::Failure,
            subject.clone(),
            format!("Connecting to {subject} timed out after {}: nothing answered, usually a firewall or NSG dropping the traffic.", secs(*t)),
            base,
            &format!(
                "A firewall is probably in the way: start with the NSGs, the host firewall and on-premises firewalls. {NSG_WHOLE_SUBNET}{private_hint} The target host may also be down or the IP wrong."
            ),
        ),
        // On-link, "host unreachable" comes from this machine: nothing answered ARP or
        // neighbour discovery. Blaming a router or a missing path would contradict the route.
        TcpEvidence::HostUnreachable
            if matches!(a.route, RouteEvidence::Route { gateway: None, gateway_known: true, .. }) =>
        {
            c.push(
                FindingId::TcpUnreachable,
                Severity::Failure,
                subject.clone(),
                format!(
                    "{subject} is unreachable (host unreachable): the route says it is on the local link, but nothing there answered for {} (ARP or neighbour discovery).",
                    a.address
                ),
                base,
                "The host is down or not on this network, or the address is wrong; check the IP (or the DNS record) and that the host is running in the expected subnet. A firewall on the host or the link that rejects with ICMP (administratively prohibited, host prohibited) gives the same error: check its rules for this port.",
            )
        }
        TcpEvidence::HostUnreachable | TcpEvidence::NetworkUnreachable => c.push(
            FindingId::TcpUnreachable,
            Severity::Failure,
            subject.clone(),
            format!(
                "{subject} is unreachable ({}): a router or this machine has no path to it.",
                if *tcp == TcpEvidence::HostUnreachable { "host unreachable" } else { "network unreachable" }
            ),
            base,
            "A firewall that rejects with ICMP (administratively prohibited, host or network prohibited) gives this error: check the firewalls on the path and on the host for this port. Otherwise check route tables and gateways; if you can reach endpoints in the virtual network but not on-premises, check that the on-premises gateway routes traffic back to the integration subnet. The target host may be down.",
        ),
        TcpEvidence::AddressNotAvailable => c.push(
            FindingId::TcpAddressNotAvailable,
            Severity::Failure,
            subject.clone(),
            format!("Connecting to {subject} failed locally: no local address or port was available."),
            base,
            "The app may have exhausted its outbound (SNAT/ephemeral) ports: reuse connections (connection pooling, keep-alive) instead of opening one per request.",
        ),
        TcpEvidence::Other(text) => c.push(
            FindingId::TcpError,
            Severity::Failure,
            subject.clone(),
            format!("Connecting to {subject} failed: {text}."),
            base,
            "Check the error above; then the checklist: firewall, DNS, routes, the target host and application.",
        ),
    }
}

/// How to list the listening processes on the destination: its OS is unknown, so both commands,
/// the one of the OS this build runs on first (most often the destination's too).
#[cfg(windows)]
const LISTENERS_COMMAND: &str = "\"netstat -aon\" on a Windows host, \"ss -ltnp\" on Linux";
#[cfg(not(windows))]
const LISTENERS_COMMAND: &str = "\"ss -ltnp\" on a Linux host, \"netstat -aon\" on Windows";

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn route(src: &str) -> RouteEvidence {
        RouteEvidence::Route {
            source: ip(src),
            interface: Some("eth0".into()),
            gateway: Some(ip("10.0.0.1")),
            gateway_known: true,
        }
    }

    fn target(host: &str, port: u16) -> TargetEvidence {
        TargetEvidence { host: host.into(), port, is_ip_literal: host.parse::<IpAddr>().is_ok() }
    }

    fn answered(server: &str) -> ServerEvidence {
        ServerEvidence {
            server: server.into(),
            outcome: ServerOutcome::Answered { elapsed: Duration::from_millis(4) },
        }
    }

    fn timed_out(server: &str) -> ServerEvidence {
        ServerEvidence { server: server.into(), outcome: ServerOutcome::TimedOut { elapsed: secs(3) } }
    }

    fn dns(servers: Vec<ServerEvidence>, result: DnsResult, chain: &[&str]) -> Option<DnsEvidence> {
        Some(DnsEvidence {
            servers,
            result,
            cname_chain: chain.iter().map(|s| s.to_string()).collect(),
            hosts_file_answered: false,
            servers_source: "/etc/resolv.conf".into(),
        })
    }

    fn vnet(route_all: bool) -> SettingsEvidence {
        SettingsEvidence {
            vnet_integration: true,
            private_ip: Some(ip("10.0.1.4")),
            route_all,
            in_app_service: true,
        }
    }

    fn no_vnet() -> SettingsEvidence {
        SettingsEvidence::default()
    }

    fn literal(addr: &str, port: u16, settings: SettingsEvidence, tcp: TcpEvidence) -> Evidence {
        Evidence {
            settings,
            target: target(addr, port),
            dns: None,
            addresses: vec![AddressEvidence::new(ip(addr), route("10.0.1.4"), Some(tcp))],
        }
    }

    type Expected = (FindingId, Severity);

    fn ids(e: &Evidence) -> Vec<Expected> {
        diagnose(e).into_iter().map(|f| (f.id, f.severity)).collect()
    }

    use FindingId as F;
    use Severity::*;

    #[test]
    fn table() {
        let connected = TcpEvidence::Connected(Duration::from_millis(12));
        let cases: Vec<(&str, Evidence, Vec<Expected>)> = vec![
            (
                "success",
                literal("10.0.2.5", 443, vnet(false), connected.clone()),
                vec![(F::TcpConnected, Ok)],
            ),
            (
                "connected, then reset by the peer",
                literal(
                    "10.0.2.5",
                    443,
                    no_vnet(),
                    TcpEvidence::ConnectedThenReset(Duration::from_millis(1)),
                ),
                vec![(F::TcpConnectedThenReset, Warning)],
            ),
            (
                "refused",
                literal("10.0.2.5", 443, no_vnet(), TcpEvidence::Refused),
                vec![(F::TcpRefused, Failure)],
            ),
            (
                "timed out",
                literal("10.0.2.5", 443, no_vnet(), TcpEvidence::TimedOut(secs(21))),
                vec![(F::TcpTimedOut, Failure)],
            ),
            (
                "host unreachable",
                literal("10.0.2.5", 443, no_vnet(), TcpEvidence::HostUnreachable),
                vec![(F::TcpUnreachable, Failure)],
            ),
            (
                "net unreachable",
                literal("10.0.2.5", 443, no_vnet(), TcpEvidence::NetworkUnreachable),
                vec![(F::TcpUnreachable, Failure)],
            ),
            (
                "address not available",
                literal("10.0.2.5", 443, no_vnet(), TcpEvidence::AddressNotAvailable),
                vec![(F::TcpAddressNotAvailable, Failure)],
            ),
            (
                "other",
                literal("10.0.2.5", 443, no_vnet(), TcpEvidence::Other("boom".into())),
                vec![(F::TcpError, Failure)],
            ),
            (
                "public without route all",
                literal("20.1.2.3", 443, vnet(false), connected.clone()),
                vec![(F::PublicDestinationWithoutRouteAll, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "public with route all",
                literal("20.1.2.3", 443, vnet(true), connected.clone()),
                vec![(F::TcpConnected, Ok)],
            ),
            (
                "public without vnet",
                literal("20.1.2.3", 443, no_vnet(), connected.clone()),
                vec![(F::TcpConnected, Ok)],
            ),
            (
                "cgnat is not rfc1918",
                literal("100.64.1.1", 443, vnet(false), connected.clone()),
                vec![(F::PublicDestinationWithoutRouteAll, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "port 25 blocked",
                literal("10.0.2.5", 25, vnet(true), TcpEvidence::TimedOut(secs(21))),
                vec![(F::Port25Blocked, Failure), (F::TcpTimedOut, Failure)],
            ),
            (
                "port 25 connected anyway",
                literal("10.0.2.5", 25, vnet(true), connected.clone()),
                vec![(F::Port25Blocked, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "port 25 without vnet",
                literal("10.0.2.5", 25, no_vnet(), connected.clone()),
                vec![(F::TcpConnected, Ok)],
            ),
            (
                "documentation range used privately is probed like any other",
                literal("192.0.2.1", 443, no_vnet(), TcpEvidence::TimedOut(secs(21))),
                vec![(F::TcpTimedOut, Failure)],
            ),
            (
                "documentation range without route all",
                literal("192.0.2.1", 443, vnet(false), connected.clone()),
                vec![(F::PublicDestinationWithoutRouteAll, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "benchmarking range without route all",
                literal("198.18.0.5", 443, vnet(false), connected.clone()),
                vec![(F::PublicDestinationWithoutRouteAll, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "class e without route all",
                literal("240.0.0.5", 443, vnet(false), TcpEvidence::Refused),
                vec![(F::PublicDestinationWithoutRouteAll, Warning), (F::TcpRefused, Failure)],
            ),
            (
                "unique local v6 without route all",
                literal("fd00::5", 443, vnet(false), connected.clone()),
                vec![(F::PublicDestinationWithoutRouteAll, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "link-local: route all changes nothing",
                literal("169.254.10.1", 443, vnet(false), connected.clone()),
                vec![(F::TcpConnected, Ok)],
            ),
            (
                "loopback under integration: no route all warning",
                literal("::1", 443, vnet(false), connected.clone()),
                vec![(F::LoopbackDestination, Info), (F::TcpConnected, Ok)],
            ),
            (
                "unspecified is not probed",
                Evidence {
                    settings: vnet(false),
                    target: target("0.0.0.0", 443),
                    dns: None,
                    addresses: vec![AddressEvidence::new(ip("0.0.0.0"), route("10.0.1.4"), None)],
                },
                vec![(F::UnusableAddress, Failure)],
            ),
            (
                "multicast is not probed",
                Evidence {
                    settings: no_vnet(),
                    target: target("ff02::1", 443),
                    dns: None,
                    addresses: vec![AddressEvidence::new(ip("ff02::1"), route("10.0.1.4"), None)],
                },
                vec![(F::UnusableAddress, Failure)],
            ),
            (
                "loopback",
                literal("127.0.0.1", 80, vnet(false), connected.clone()),
                vec![(F::LoopbackDestination, Info), (F::TcpConnected, Ok)],
            ),
            (
                "private without integration in app service",
                literal(
                    "10.0.2.5",
                    443,
                    SettingsEvidence { in_app_service: true, ..Default::default() },
                    TcpEvidence::TimedOut(secs(21)),
                ),
                vec![(F::PrivateDestinationWithoutVnetIntegration, Warning), (F::TcpTimedOut, Failure)],
            ),
            (
                "no route",
                Evidence {
                    settings: no_vnet(),
                    target: target("10.9.9.9", 443),
                    dns: None,
                    addresses: vec![AddressEvidence::new(
                        ip("10.9.9.9"),
                        RouteEvidence::NoRoute("network unreachable".into()),
                        None,
                    )],
                },
                vec![(F::NoRoute, Failure)],
            ),
            (
                "source is not the integration address",
                Evidence {
                    settings: vnet(false),
                    target: target("10.0.2.5", 443),
                    dns: None,
                    addresses: vec![AddressEvidence::new(
                        ip("10.0.2.5"),
                        route("169.254.0.2"),
                        Some(TcpEvidence::TimedOut(secs(21))),
                    )],
                },
                vec![(F::SourceNotIntegrationAddress, Info), (F::TcpTimedOut, Failure)],
            ),
            (
                "all dns servers timed out",
                Evidence {
                    settings: vnet(false),
                    target: target("db.corp.example", 1433),
                    dns: dns(vec![timed_out("10.0.0.4"), timed_out("10.0.0.5")], DnsResult::AllFailed, &[]),
                    addresses: vec![],
                },
                vec![(F::DnsAllServersTimedOut, Failure)],
            ),
            (
                "no dns servers configured",
                Evidence {
                    settings: no_vnet(),
                    target: target("db.corp.example", 1433),
                    dns: dns(vec![], DnsResult::NoServers, &[]),
                    addresses: vec![],
                },
                vec![(F::NoDnsServers, Failure)],
            ),
            (
                "all dns servers failed differently",
                Evidence {
                    settings: vnet(false),
                    target: target("db.corp.example", 1433),
                    dns: dns(
                        vec![
                            timed_out("10.0.0.4"),
                            ServerEvidence { server: "10.0.0.5".into(), outcome: ServerOutcome::Refused },
                        ],
                        DnsResult::AllFailed,
                        &[],
                    ),
                    addresses: vec![],
                },
                vec![(F::DnsAllServersFailed, Failure)],
            ),
            (
                "first dns server dead",
                Evidence {
                    settings: vnet(false),
                    target: target("db.corp.example", 1433),
                    dns: dns(
                        vec![timed_out("10.0.0.4"), answered("10.0.0.5")],
                        DnsResult::Addresses(vec![ip("10.0.2.5")]),
                        &[],
                    ),
                    addresses: vec![AddressEvidence::new(
                        ip("10.0.2.5"),
                        route("10.0.1.4"),
                        Some(connected.clone()),
                    )],
                },
                vec![(F::DnsServerDead, Warning), (F::TcpConnected, Ok)],
            ),
            (
                "dns server servfail",
                Evidence {
                    settings: no_vnet(),
                    target: target("db.corp.example", 1433),
                    dns: dns(
                        vec![
                            answered("10.0.0.4"),
                            ServerEvidence { server: "10.0.0.5".into(), outcome: ServerOutcome::ServFail },
                        ],
                        DnsResult::Addresses(vec![ip("10.0.2.5")]),
                        &[],
                    ),
                    addresses: vec![],
                },
                vec![(F::DnsServerError, Warning)],
            ),
            (
                "nxdomain",
                Evidence {
                    settings: no_vnet(),
                    target: target("nope.example", 443),
                    dns: dns(vec![answered("10.0.0.4")], DnsResult::NxDomain, &[]),
                    addresses: vec![],
                },
                vec![(F::DnsNxdomain, Failure)],
            ),
            (
                "no data",
                Evidence {
                    settings: no_vnet(),
                    target: target("txtonly.example", 443),
                    dns: dns(vec![answered("10.0.0.4")], DnsResult::NoData, &[]),
                    addresses: vec![],
                },
                vec![(F::DnsNoData, Failure)],
            ),
            (
                "private endpoint resolving public",
                Evidence {
                    settings: vnet(false),
                    target: target("acct.blob.core.windows.net", 443),
                    dns: dns(
                        vec![answered("168.63.129.16")],
                        DnsResult::Addresses(vec![ip("20.60.1.1")]),
                        &["acct.privatelink.blob.core.windows.net", "blob.xyz.store.core.windows.net"],
                    ),
                    addresses: vec![AddressEvidence::new(
                        ip("20.60.1.1"),
                        route("10.0.1.4"),
                        Some(connected.clone()),
                    )],
                },
                vec![
                    (F::PrivateEndpointPublicAddress, Failure),
                    (F::PublicDestinationWithoutRouteAll, Warning),
                    (F::TcpConnected, Ok),
                ],
            ),
            (
                "private endpoint resolving to a non-private, non-public address",
                Evidence {
                    settings: no_vnet(),
                    target: target("acct.blob.core.windows.net", 443),
                    dns: dns(
                        vec![answered("10.0.0.4")],
                        DnsResult::Addresses(vec![ip("100.64.0.10")]),
                        &["acct.privatelink.blob.core.windows.net"],
                    ),
                    addresses: vec![AddressEvidence::new(
                        ip("100.64.0.10"),
                        route("10.0.1.4"),
                        Some(connected.clone()),
                    )],
                },
                vec![(F::PrivateEndpointPublicAddress, Failure), (F::TcpConnected, Ok)],
            ),
            (
                "private endpoint ok",
                Evidence {
                    settings: vnet(false),
                    target: target("acct.blob.core.windows.net", 443),
                    dns: dns(
                        vec![answered("168.63.129.16")],
                        DnsResult::Addresses(vec![ip("10.0.3.4")]),
                        &["acct.privatelink.blob.core.windows.net"],
                    ),
                    addresses: vec![AddressEvidence::new(
                        ip("10.0.3.4"),
                        route("10.0.1.4"),
                        Some(connected.clone()),
                    )],
                },
                vec![(F::PrivateEndpointOk, Ok), (F::TcpConnected, Ok)],
            ),
            (
                "hosts file",
                Evidence {
                    settings: no_vnet(),
                    target: target("db.local", 5432),
                    dns: Some(DnsEvidence {
                        servers: vec![],
                        result: DnsResult::Addresses(vec![ip("10.0.2.5")]),
                        cname_chain: vec![],
                        hosts_file_answered: true,
                        servers_source: "/etc/resolv.conf".into(),
                    }),
                    addresses: vec![],
                },
                vec![(F::DnsHostsFile, Info)],
            ),
        ];
        let mut covered = std::collections::HashSet::new();
        for (name, evidence, want) in cases {
            let got = ids(&evidence);
            assert_eq!(got, want, "case {name}");
            for f in diagnose(&evidence) {
                assert!(!f.summary.is_empty() && !f.next_step.is_empty(), "{name}: {f:?}");
                assert!(!f.subject.is_empty(), "{name}: {f:?}");
            }
            covered.extend(got.into_iter().map(|(id, _)| id));
        }
        for id in FindingId::ALL {
            assert!(covered.contains(id), "no table case produces {id}");
        }
    }

    #[test]
    fn refused_advice_names_this_os_listener_command_first() {
        let e = literal("10.0.2.5", 443, no_vnet(), TcpEvidence::Refused);
        let f = diagnose(&e).into_iter().find(|f| f.id == F::TcpRefused).unwrap();
        let first =
            if cfg!(windows) { "\"netstat -aon\" on a Windows host" } else { "\"ss -ltnp\" on a Linux host" };
        assert!(f.next_step.contains(first), "{}", f.next_step);
    }

    #[test]
    fn unreachable_advice_names_a_rejecting_firewall() {
        let on_link = || {
            let mut e = literal("10.0.2.5", 443, no_vnet(), TcpEvidence::HostUnreachable);
            e.addresses[0].route = RouteEvidence::Route {
                source: ip("10.0.1.4"),
                interface: None,
                gateway: None,
                gateway_known: true,
            };
            e
        };
        let cases = [
            literal("10.0.2.5", 443, no_vnet(), TcpEvidence::HostUnreachable),
            literal("10.0.2.5", 443, no_vnet(), TcpEvidence::NetworkUnreachable),
            on_link(),
        ];
        for e in cases {
            let f = diagnose(&e).into_iter().find(|f| f.id == F::TcpUnreachable).unwrap();
            assert!(
                f.next_step.contains("firewall") && f.next_step.contains("administratively prohibited"),
                "{}",
                f.next_step
            );
        }
    }

    #[test]
    fn route_all_off_is_hedged_as_far_as_the_app_can_see() {
        let e = literal("20.1.2.3", 443, vnet(false), TcpEvidence::Connected(Duration::from_millis(1)));
        let f = diagnose(&e).into_iter().find(|f| f.id == F::PublicDestinationWithoutRouteAll).unwrap();
        assert!(f.summary.contains("Route All is off as far as the app can see"), "{}", f.summary);
    }

    #[test]
    fn dead_server_after_answer_is_worded_as_lost_fallback() {
        let e = Evidence {
            settings: no_vnet(),
            target: target("db.corp.example", 1433),
            dns: dns(
                vec![answered("10.0.0.4"), timed_out("10.0.0.5")],
                DnsResult::Addresses(vec![ip("10.0.2.5")]),
                &[],
            ),
            addresses: vec![],
        };
        let f = diagnose(&e);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, F::DnsServerDead);
        assert!(f[0].summary.contains("fallback"), "{}", f[0].summary);
        let e2 = Evidence {
            dns: dns(vec![timed_out("10.0.0.4"), answered("10.0.0.5")], DnsResult::Addresses(vec![]), &[]),
            ..e
        };
        assert!(diagnose(&e2)[0].summary.contains("every lookup"), "{:?}", diagnose(&e2));
    }

    #[test]
    fn ip_literal_skips_dns_findings() {
        let mut e = literal("10.0.2.5", 443, no_vnet(), TcpEvidence::Refused);
        e.dns = dns(vec![timed_out("10.0.0.4")], DnsResult::AllFailed, &[]);
        assert_eq!(ids(&e), vec![(F::TcpRefused, Failure)]);
    }

    #[test]
    fn private_endpoint_next_step_names_the_zone() {
        let e = Evidence {
            settings: vnet(true),
            target: target("kv.vault.azure.net", 443),
            dns: dns(
                vec![answered("10.0.0.4")],
                DnsResult::Addresses(vec![ip("52.1.1.1")]),
                &["kv.privatelink.vaultcore.azure.net"],
            ),
            addresses: vec![],
        };
        let f = &diagnose(&e)[0];
        assert_eq!(f.id, F::PrivateEndpointPublicAddress);
        assert!(f.next_step.contains("privatelink.vaultcore.azure.net"), "{}", f.next_step);
        assert!(f.next_step.contains("168.63.129.16"));
    }

    #[test]
    fn timeout_next_step_says_whole_subnet() {
        let f = diagnose(&literal("10.0.2.5", 443, vnet(true), TcpEvidence::TimedOut(secs(21))));
        let t = f.iter().find(|f| f.id == F::TcpTimedOut).unwrap();
        assert!(t.next_step.contains("whole integration subnet"), "{}", t.next_step);
        assert!(t.summary.contains("21.0 s"), "{}", t.summary);
    }

    #[test]
    fn unusable_address_is_worded_with_the_right_article() {
        let e = Evidence {
            settings: no_vnet(),
            target: target("0.0.0.0", 443),
            dns: None,
            addresses: vec![AddressEvidence::new(ip("0.0.0.0"), route("10.0.1.4"), None)],
        };
        let f = &diagnose(&e)[0];
        assert!(f.summary.starts_with("0.0.0.0 is an unspecified address:"), "{}", f.summary);
    }

    #[test]
    fn no_dns_servers_names_the_fix_not_a_server_failure() {
        let e = Evidence {
            settings: no_vnet(),
            target: target("db.corp.example", 1433),
            dns: dns(vec![], DnsResult::NoServers, &[]),
            addresses: vec![],
        };
        let f = &diagnose(&e)[0];
        assert!(f.summary.contains("No DNS server is configured"), "{}", f.summary);
        assert!(!f.summary.contains("usable answer"), "{}", f.summary);
        assert!(f.next_step.contains("WEBSITE_DNS_SERVER") && f.next_step.contains("resolv.conf"));
    }

    #[test]
    fn route_evidence_never_claims_on_link_when_the_gateway_is_unknown() {
        let unknown = RouteEvidence::Route {
            source: ip("10.0.1.4"),
            interface: None,
            gateway: None,
            gateway_known: false,
        };
        let line = route_line(&unknown);
        assert_eq!(
            line,
            "route: source 10.0.1.4 (gateway unknown: the route table read has no route for it, or could not be read)"
        );
        let on_link = RouteEvidence::Route {
            source: ip("10.0.1.4"),
            interface: None,
            gateway: None,
            gateway_known: true,
        };
        assert_eq!(route_line(&on_link), "route: source 10.0.1.4 (on-link, no gateway)");
    }

    #[test]
    fn private_endpoint_on_a_non_public_address_is_not_called_public() {
        let e = Evidence {
            settings: no_vnet(),
            target: target("acct.blob.core.windows.net", 443),
            dns: dns(
                vec![answered("10.0.0.4")],
                DnsResult::Addresses(vec![ip("100.64.0.10")]),
                &["acct.privatelink.blob.core.windows.net"],
            ),
            addresses: vec![],
        };
        let f = &diagnose(&e)[0];
        assert_eq!(f.id, F::PrivateEndpointPublicAddress);
        assert!(!f.summary.contains("public address"), "{}", f.summary);
        assert!(f.summary.contains("100.64.0.10 (shared address space"), "{}", f.summary);
    }

    #[test]
    fn host_unreachable_on_link_blames_the_link_not_a_router() {
        let on_link = RouteEvidence::Route {
            source: ip("10.0.1.4"),
            interface: Some("eth0".into()),
            gateway: None,
            gateway_known: true,
        };
        let e = Evidence {
            settings: no_vnet(),
            target: target("10.0.1.99", 443),
            dns: None,
            addresses: vec![AddressEvidence::new(
                ip("10.0.1.99"),
                on_link,
                Some(TcpEvidence::HostUnreachable),
            )],
        };
        let f = &diagnose(&e)[0];
        assert_eq!(f.id, F::TcpUnreachable);
        assert!(f.summary.contains("on the local link"), "{}", f.summary);
        assert!(!f.summary.contains("router"), "{}", f.summary);
        // Through a gateway, a router may well be the one reporting it.
        let via = diagnose(&literal("10.0.2.5", 443, no_vnet(), TcpEvidence::HostUnreachable));
        assert!(via[0].summary.contains("router"), "{}", via[0].summary);
    }

    #[test]
    fn worst_and_failure() {
        let f =
            diagnose(&literal("10.0.2.5", 443, no_vnet(), TcpEvidence::Connected(Duration::from_millis(1))));
        assert_eq!(worst(&f), Ok);
        assert!(!has_failure(&f));
        let f = diagnose(&literal("10.0.2.5", 443, no_vnet(), TcpEvidence::Refused));
        assert!(has_failure(&f));
        assert_eq!(worst(&[]), Ok);
    }

    #[test]
    fn ids_are_unique_snake_case_and_documented() {
        let findings_page = include_str!("../../docs/findings.md");
        let mut seen = std::collections::HashSet::new();
        for id in FindingId::ALL {
            let s = id.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{s}");
            assert_eq!(serde_json::to_value(id).unwrap(), serde_json::Value::String(s.into()));
            // A row of the table, not a passing mention elsewhere on the page.
            assert!(findings_page.contains(&format!("| `{s}` |")), "docs/findings.md has no row for {s}");
        }
    }

    #[test]
    fn privatelink_names() {
        assert!(is_privatelink_name("a.privatelink.blob.core.windows.net"));
        assert!(is_privatelink_name("A.PrivateLink.database.windows.net."));
        assert!(is_privatelink_name("privatelink.azurewebsites.net"));
        assert!(!is_privatelink_name("privatelinks.example.com"));
        assert!(!is_privatelink_name("a.blob.core.windows.net"));
    }
}

//! `netdiag check`: runs every stage of the checklist against real targets and keeps what each
//! stage measured, then hands the evidence to [`crate::diagnose`].
//!
//! Stages per target: the environment the app sees, DNS through the app's own servers one by
//! one (IP literals skip it), the class of every address, the route and source address the
//! kernel picks for each (no packet), and a TCP connect to every address at once. Several
//! targets run at once too, so a check takes as long as its slowest target.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use serde::Serialize;

use crate::classify::AddressClass;
use crate::diagnose::{
    AddressEvidence, DnsEvidence, DnsResult, Evidence, Finding, RouteEvidence, ServerEvidence, ServerOutcome,
    SettingsEvidence, TargetEvidence, TcpEvidence, diagnose, has_failure,
};
use crate::dns::{
    self, AnsweredBy, LookupError, LookupOptions, Outcome, QueryTarget, ServerList, ServerSource,
};
use crate::env::{AppSettings, EnvError, InterfaceAddress, RouteInfo, RouteTable};
use crate::target::{Host, Target};
use crate::tcp::{self, ConnectFailure, ConnectOptions};

/// Version of the `--json` records of `check` and `deps`; bumped on any incompatible change.
/// 2: NDJSON, one record per target as it finishes, then a summary (1 was one document).
pub const SCHEMA_VERSION: u32 = 2;

/// How to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// TCP connect timeout per address (Windows: 21 s).
    pub connect_timeout: Duration,
    /// Per DNS server. `None`: `WEBSITE_DNS_TIMEOUT` when set, else the documented 3 s.
    pub dns_timeout: Option<Duration>,
    /// Consulted before any DNS server unless the servers were named explicitly.
    pub hosts_file: Option<PathBuf>,
    /// How many targets are checked at the same time; the rest wait for a free slot, so a
    /// list of thousands does not flood a NAT gateway.
    pub max_parallel: usize,
    /// How many sockets (DNS and TCP together) may be open at once: the descriptor budget.
    pub max_sockets: usize,
    /// How many addresses of one name are routed and connected to; an answer with thousands
    /// of records must not fan out into thousands of connects. The rest are counted.
    pub max_addresses: usize,
}

/// More than any real service publishes for one name, few enough to probe at once.
pub const DEFAULT_MAX_ADDRESSES: usize = 16;

/// Enough to check a typical app's dependencies all at once and to keep a list of thousands
/// moving; the socket budget, not this, keeps descriptors in check.
pub const DEFAULT_MAX_PARALLEL: usize = 256;

/// Sockets allowed when the caller does not know its descriptor limit: the usual soft limit
/// of 1024 less room for stdio, the runtime and the files a run reads.
pub const DEFAULT_MAX_SOCKETS: usize = 1024 - DESCRIPTOR_RESERVE;

/// Descriptors kept out of the socket budget: stdio, the async runtime's own, the targets file,
/// resolv.conf and hosts file reads, and whatever the process inherited.
pub const DESCRIPTOR_RESERVE: usize = 64;

/// The socket budget for a descriptor limit (`RLIMIT_NOFILE`'s soft value).
pub fn socket_budget_for(descriptor_limit: u64) -> usize {
    let limit = usize::try_from(descriptor_limit).unwrap_or(usize::MAX);
    // Past a point more sockets only add to the kernel's work, not to throughput.
    limit.saturating_sub(DESCRIPTOR_RESERVE).clamp(8, 16_384)
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            connect_timeout: tcp::WINDOWS_CONNECT_TIMEOUT,
            dns_timeout: None,
            hosts_file: Some(dns::default_hosts_path()),
            max_parallel: DEFAULT_MAX_PARALLEL,
            max_sockets: DEFAULT_MAX_SOCKETS,
            max_addresses: DEFAULT_MAX_ADDRESSES,
        }
    }
}

impl CheckOptions {
    /// The per-server DNS timeout that applies with these servers.
    pub fn dns_timeout_for(&self, servers: &ServerList) -> Duration {
        servers.timeout(self.dns_timeout)
    }
}

/// What a run reads once and shares between its targets: the options, the app's settings and
/// DNS servers, the interfaces and route table, and the socket budget. Per target only what
/// depends on the target is asked: its route, its DNS lookup, its TCP connects.
#[derive(Debug)]
pub struct RunContext {
    pub opts: CheckOptions,
    pub settings: AppSettings,
    pub servers: ServerList,
    pub routes: Routes,
    pub sockets: SocketBudget,
    /// Name lookups in flight at once (each asks its servers one by one).
    pub lookups: Arc<Semaphore>,
}

impl RunContext {
    /// Reads the interfaces and the route table now; everything else is given.
    pub fn new(opts: CheckOptions, settings: AppSettings, servers: ServerList) -> Self {
        let sockets = SocketBudget::new(opts.max_sockets);
        let lookups = Arc::new(Semaphore::new(DNS_LOOKUPS_IN_FLIGHT));
        Self { opts, settings, servers, routes: Routes::collect(), sockets, lookups }
    }
}

/// How many names are looked up at once, whatever `max_parallel` is. Each lookup has up to
/// two queries (A, AAAA) outstanding at a server, and a server's receive buffer is finite:
/// dnsmasq on Linux's default 208 KiB dropped 20-140 of 512 queries sent in one burst by
/// 256 targets at once, which then showed as DNS timeouts. 128 queries never lost one there.
pub const DNS_LOOKUPS_IN_FLIGHT: usize = 64;

/// How many sockets may be open at once, DNS and TCP together. A task waits for a permit
/// instead of failing with "too many open files", so running out of descriptors never becomes
/// a target's verdict.
#[derive(Debug, Clone)]
pub struct SocketBudget {
    permits: Arc<Semaphore>,
    total: usize,
}

impl SocketBudget {
    pub fn new(sockets: usize) -> Self {
        let total = sockets.clamp(1, Semaphore::MAX_PERMITS);
        Self { permits: Arc::new(Semaphore::new(total)), total }
    }

    /// Waits until `sockets` more may be opened; they count until the permit is dropped. A
    /// request larger than the whole budget takes the whole budget rather than wait forever.
    pub async fn take(&self, sockets: usize) -> Option<OwnedSemaphorePermit> {
        let wanted = u32::try_from(sockets.min(self.total)).unwrap_or(u32::MAX);
        // Never closed, so this only waits; `None` would mean a bug, and the caller goes ahead.
        Arc::clone(&self.permits).acquire_many_owned(wanted).await.ok()
    }

    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// True when an OS error message is the one for "too many open files" (process or system).
fn out_of_descriptors(message: &str) -> bool {
    #[cfg(unix)]
    let codes = [libc::EMFILE, libc::ENFILE];
    // WSAEMFILE: Winsock's "too many open sockets".
    #[cfg(not(unix))]
    let codes = [10024];
    codes.iter().any(|code| message.contains(&std::io::Error::from_raw_os_error(*code).to_string()))
}

/// How long to wait before trying again after the OS ran out of descriptors (another
/// process may hold them; ours are budgeted).
const DESCRIPTOR_RETRY: Duration = Duration::from_millis(20);

/// The route part of the environment, read once per run: the interfaces and the route table,
/// and the kernel's source address per route. The kernel is asked (one UDP socket, no packet)
/// once per route of the table for IPv4, where the source depends on the route alone, and
/// once per destination for IPv6, whose source address selection also weighs the destination
/// (RFC 6724). Policy routing (`ip rule`) is not modelled: the table is the main one.
#[derive(Debug)]
pub struct Routes {
    interfaces: Option<Vec<InterfaceAddress>>,
    table: Option<RouteTable>,
    sources: Mutex<HashMap<RouteKey, IpAddr>>,
}

/// What decides the kernel's source address for an IPv4 destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RouteKey {
    /// One of this machine's own addresses.
    Local(IpAddr),
    /// Loopback (127.0.0.0/8 or ::1) but not an address of an interface.
    Loopback { v6: bool },
    /// The index of the route in the table.
    Table(usize),
}

impl Routes {
    pub fn collect() -> Self {
        let interfaces = crate::env::interfaces().inspect_err(|e| tracing::debug!("interfaces: {e}")).ok();
        let table = RouteTable::read().inspect_err(|e| tracing::debug!("route table: {e}")).ok();
        Self { interfaces, table, sources: Mutex::new(HashMap::new()) }
    }

    fn key(&self, destination: IpAddr) -> Option<RouteKey> {
        let destination = crate::classify::canonical(destination);
        if self.interfaces.as_ref()?.iter().any(|i| i.address == destination) {
            return Some(RouteKey::Local(destination));
        }
        if destination.is_loopback() {
            return Some(RouteKey::Loopback { v6: destination.is_ipv6() });
        }
        if destination.is_ipv6() {
            return None;
        }
        let table = self.table.as_ref()?;
        let route = table.lookup(destination)?;
        table.routes.iter().position(|r| std::ptr::eq(r, route)).map(RouteKey::Table)
    }

    /// How the kernel would reach `destination`; a socket only for what the table cannot answer.
    pub fn route_to(&self, destination: IpAddr) -> Result<RouteInfo, EnvError> {
        let key = self.key(destination);
        let known = key.and_then(|k| self.sources.lock().ok().and_then(|m| m.get(&k).copied()));
        let source = match known {
            Some(source) => source,
            None => {
                let source = crate::env::kernel_source_for(destination)?;
                if let (Some(k), Ok(mut cache)) = (key, self.sources.lock()) {
                    cache.insert(k, source);
                }
                source
            }
        };
        Ok(crate::env::route_via(destination, source, self.interfaces.as_deref(), self.table.as_ref()))
    }
}

/// What the app's settings and DNS configuration were while checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentStage {
    pub in_app_service: bool,
    pub vnet_integration: bool,
    pub private_ip: Option<IpAddr>,
    pub route_all: bool,
    pub dns_servers: Vec<SocketAddr>,
    pub dns_servers_source: ServerSource,
    #[serde(serialize_with = "crate::millis::serialize", rename = "dns_timeout_ms")]
    pub dns_timeout: Duration,
    #[serde(serialize_with = "crate::millis::serialize", rename = "tcp_timeout_ms")]
    pub tcp_timeout: Duration,
}

/// One DNS server asked for this target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsServerStage {
    pub server: SocketAddr,
    /// `answered`, `timed_out`, `refused`, `serv_fail`, `other_response_code`, `network_error`
    /// or `malformed`.
    pub status: &'static str,
    pub detail: String,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
}

/// The DNS stage: every server asked, in the app's order, and what it came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsStage {
    pub answered_by: AnsweredBy,
    pub servers: Vec<DnsServerStage>,
    /// `addresses`, `nxdomain`, `no_data`, `all_servers_failed` or `no_servers`.
    pub result: &'static str,
    /// When no address came back, the failure class tcpping would report (`name_not_found`,
    /// `no_address`, `dns_timeout`, `dns_failed`, `no_dns_servers`).
    pub class: Option<&'static str>,
    pub addresses: Vec<IpAddr>,
    /// CNAME targets after the queried name, in order.
    pub cname_chain: Vec<String>,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
    /// Addresses beyond `--max-addresses`: resolved, listed in `addresses`, not probed.
    pub addresses_not_probed: usize,
}

/// How the kernel would route to an address (asked without sending anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteStage {
    pub source: Option<IpAddr>,
    pub interface: Option<String>,
    /// The next hop; `None` with `gateway_known` means on-link.
    pub gateway: Option<IpAddr>,
    pub gateway_known: bool,
    /// Whether the source is `WEBSITE_PRIVATE_IP`; `None` when that is not set or no route.
    pub source_is_private_ip: Option<bool>,
    pub no_route: bool,
    pub error: Option<String>,
}

/// One TCP connect attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpStage {
    pub connected: bool,
    /// The failure class id (`refused`, `timed_out`, ...), `None` when connected.
    pub class: Option<&'static str>,
    pub error: Option<String>,
    pub hint: Option<&'static str>,
    pub local: Option<SocketAddr>,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
    /// The kernel's RTT estimate after a successful handshake (Linux only).
    #[serde(serialize_with = "crate::millis::serialize_option", rename = "kernel_rtt_ms")]
    pub kernel_rtt: Option<Duration>,
    /// Connected, then the peer reset the connection at once.
    pub reset_by_peer: bool,
}

/// Everything measured for one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressStage {
    pub address: IpAddr,
    pub class: AddressClass,
    pub route: RouteStage,
    /// `None` when no connect was attempted (see `tcp_skipped`).
    pub tcp: Option<TcpStage>,
    pub tcp_skipped: Option<String>,
}

/// One target, checked: every stage and the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetReport {
    /// `host:port` as typed.
    pub target: String,
    pub host: String,
    pub port: u16,
    pub ip_literal: bool,
    pub environment: EnvironmentStage,
    /// `None` for IP literals.
    pub dns: Option<DnsStage>,
    pub addresses: Vec<AddressStage>,
    pub findings: Vec<Finding>,
    pub failed: bool,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
}

impl TargetReport {
    /// The address a single-answer tool (tnc) reports: the first that connected, else the first.
    pub fn primary_address(&self) -> Option<&AddressStage> {
        self.addresses
            .iter()
            .find(|a| a.tcp.as_ref().is_some_and(|t| t.connected))
            .or_else(|| self.addresses.first())
    }

    /// True when the name did not resolve to any address.
    pub fn name_unresolved(&self) -> bool {
        self.dns.as_ref().is_some_and(|d| d.addresses.is_empty())
    }
}

fn environment(settings: &AppSettings, servers: &ServerList, opts: &CheckOptions) -> EnvironmentStage {
    EnvironmentStage {
        in_app_service: settings.in_app_service(),
        vnet_integration: settings.vnet_integration,
        private_ip: settings.private_ip,
        route_all: settings.route_all,
        dns_servers: servers.servers.clone(),
        dns_servers_source: servers.source.clone(),
        dns_timeout: opts.dns_timeout_for(servers),
        tcp_timeout: opts.connect_timeout,
    }
}

fn server_stage(
    status: &'static str,
    outcome: &Outcome,
    elapsed: Duration,
    server: SocketAddr,
) -> DnsServerStage {
    DnsServerStage { server, status, detail: outcome.describe(), elapsed }
}

/// Maps one server attempt to the stage record and to diagnosis evidence.
fn server_attempt(a: &dns::ServerAttempt) -> (DnsServerStage, ServerEvidence) {
    let (status, outcome) = match &a.outcome {
        Outcome::Answered { .. } => ("answered", ServerOutcome::Answered { elapsed: a.elapsed }),
        Outcome::TimedOut { after, .. } => ("timed_out", ServerOutcome::TimedOut { elapsed: *after }),
        Outcome::Refused => ("refused", ServerOutcome::Refused),
        // A server that only delegates refuses, in effect, to resolve the name for the app.
        Outcome::Referral { .. } => ("referral", ServerOutcome::Refused),
        Outcome::ServFail => ("serv_fail", ServerOutcome::ServFail),
        Outcome::OtherResponseCode { response_code } => {
            ("other_response_code", ServerOutcome::Malformed(format!("response code {response_code}")))
        }
        Outcome::NetworkError { message } => ("network_error", ServerOutcome::NetworkError(message.clone())),
        Outcome::Malformed { message } => ("malformed", ServerOutcome::Malformed(message.clone())),
        Outcome::Interrupted { .. } => ("interrupted", ServerOutcome::NetworkError("interrupted".into())),
    };
    let mut stage = server_stage(status, &a.outcome, a.elapsed, a.server);
    // "answered A but AAAA timed out": a failed question is shown, not hidden by the other.
    stage.detail = a.describe();
    (stage, ServerEvidence { server: a.server.to_string(), outcome })
}

/// Resolves `name` through `servers` the way the app would and returns the stage and the
/// evidence. Never fails: a failed lookup is evidence.
pub async fn dns_stage(
    name: &crate::name::DomainName,
    servers: &ServerList,
    opts: &LookupOptions,
) -> (DnsStage, DnsEvidence) {
    let target = QueryTarget::Name(name.clone());
    let found = dns::lookup(&target, &opts.family.kinds(), servers, opts).await;
    let (stages, evidence): (Vec<_>, Vec<_>) = found.attempts.iter().map(server_attempt).unzip();
    let cname_chain: Vec<String> = found
        .answer
        .as_ref()
        .map(|a| a.chain_names().into_iter().skip(1).map(|n| n.trim_end_matches('.').to_owned()).collect())
        .unwrap_or_default();
    let (result, label, addresses) = match found.result() {
        Ok(answer) => (DnsResult::Addresses(answer.addresses.clone()), "addresses", answer.addresses.clone()),
        Err(LookupError::NxDomain { .. }) => (DnsResult::NxDomain, "nxdomain", vec![]),
        Err(LookupError::NoData { .. }) => (DnsResult::NoData, "no_data", vec![]),
        Err(LookupError::AllServersFailed { .. }) => (DnsResult::AllFailed, "all_servers_failed", vec![]),
        Err(LookupError::NoServers) => (DnsResult::NoServers, "no_servers", vec![]),
    };
    let class = found.result().err().map(|e| tcp::FailureClass::from_lookup(&e).id());
    let hosts_file_answered = matches!(found.answered_by, AnsweredBy::HostsFile { .. });
    let stage = DnsStage {
        answered_by: found.answered_by.clone(),
        servers: stages,
        result: label,
        class,
        addresses,
        cname_chain: cname_chain.clone(),
        elapsed: found.elapsed,
        addresses_not_probed: 0,
    };
    // An empty list with warnings means the setting was there but unusable: say which.
    let servers_source = if servers.servers.is_empty() && !servers.warnings.is_empty() {
        format!("{} ({})", servers.source, servers.warnings.join("; "))
    } else {
        servers.source.to_string()
    };
    (stage, DnsEvidence { servers: evidence, result, cname_chain, hosts_file_answered, servers_source })
}

async fn route_stage(address: IpAddr, ctx: &RunContext) -> (RouteStage, RouteEvidence) {
    let private_ip = ctx.settings.private_ip;
    let looked_up = loop {
        let _socket = ctx.sockets.take(1).await;
        match ctx.routes.route_to(address) {
            Err(EnvError::RouteQuery { source, .. }) if out_of_descriptors(&source.to_string()) => {
                tokio::time::sleep(DESCRIPTOR_RETRY).await;
            }
            looked_up => break looked_up,
        }
    };
    let evidence = RouteEvidence::from_lookup(&looked_up);
    let stage = match &looked_up {
        Ok(r) => RouteStage {
            source: Some(r.source),
            interface: r.interface.clone(),
            gateway: r.via_gateway,
            gateway_known: r.gateway_known,
            source_is_private_ip: private_ip.map(|p| p == r.source),
            no_route: false,
            error: None,
        },
        Err(e) => RouteStage {
            source: None,
            interface: None,
            gateway: None,
            gateway_known: false,
            source_is_private_ip: None,
            no_route: matches!(evidence, RouteEvidence::NoRoute(_)),
            error: Some(e.to_string()),
        },
    };
    (stage, evidence)
}

fn tcp_evidence(outcome: &tcp::ConnectOutcome) -> TcpEvidence {
    let elapsed = outcome.elapsed;
    match &outcome.result {
        Ok(()) if outcome.reset_by_peer => TcpEvidence::ConnectedThenReset(elapsed),
        Ok(()) => TcpEvidence::Connected(elapsed),
        Err(ConnectFailure::Refused) => TcpEvidence::Refused,
        Err(ConnectFailure::TimedOut(waited) | ConnectFailure::OsTimedOut { waited, .. }) => {
            TcpEvidence::TimedOut(*waited)
        }
        Err(ConnectFailure::HostUnreachable) => TcpEvidence::HostUnreachable,
        Err(ConnectFailure::NetworkUnreachable) => TcpEvidence::NetworkUnreachable,
        Err(ConnectFailure::AddressNotAvailable) => TcpEvidence::AddressNotAvailable,
        Err(other) => TcpEvidence::Other(other.to_string()),
    }
}

fn tcp_stage(outcome: &tcp::ConnectOutcome) -> TcpStage {
    let failure = outcome.result.as_ref().err();
    TcpStage {
        connected: failure.is_none(),
        class: failure.map(ConnectFailure::class),
        error: failure.map(ToString::to_string),
        hint: failure.map(ConnectFailure::hint),
        local: outcome.local,
        elapsed: outcome.elapsed,
        kernel_rtt: outcome.kernel_rtt,
        reset_by_peer: outcome.reset_by_peer,
    }
}

/// Connects once, within the socket budget; when the OS runs out of descriptors anyway
/// (another process holds them), waits and tries again for up to the connect timeout rather
/// than reporting this machine's shortage as the target's failure.
async fn connect_budgeted(
    remote: SocketAddr,
    opts: &ConnectOptions,
    sockets: &SocketBudget,
) -> tcp::ConnectOutcome {
    let start = Instant::now();
    loop {
        let permit = sockets.take(1).await;
        let outcome = tcp::connect(remote, opts).await;
        drop(permit);
        let starved = matches!(&outcome.result, Err(ConnectFailure::Other { message, .. }) if out_of_descriptors(message));
        if !starved || start.elapsed() >= opts.timeout {
            return outcome;
        }
        tracing::debug!(%remote, "out of file descriptors; waiting for one");
        tokio::time::sleep(DESCRIPTOR_RETRY).await;
    }
}

/// Connects to every address at once; results come back in address order.
async fn connect_all(
    addresses: &[SocketAddr],
    opts: &ConnectOptions,
    sockets: &SocketBudget,
) -> Vec<tcp::ConnectOutcome> {
    // Most targets have one address: no task to spawn and join for it.
    if let [remote] = addresses {
        return vec![connect_budgeted(*remote, opts, sockets).await];
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (index, &remote) in addresses.iter().enumerate() {
        let opts = opts.clone();
        let sockets = sockets.clone();
        tasks.spawn(async move { (index, connect_budgeted(remote, &opts, &sockets).await) });
    }
    let mut done = Vec::with_capacity(addresses.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => done.push(pair),
            // A connect task has no reason to panic; keep the others and say so.
            Err(e) => tracing::error!("connect task failed: {e}"),
        }
    }
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Resolves a name within the socket budget (one socket per record type asked of a server at
/// once); a lookup that failed only because the OS ran out of descriptors is asked again.
async fn dns_stage_budgeted(
    name: &crate::name::DomainName,
    ctx: &RunContext,
    lookup_opts: &LookupOptions,
) -> (DnsStage, DnsEvidence) {
    // Never closed, so this only waits.
    let _lookup = ctx.lookups.acquire().await;
    loop {
        let permit = ctx.sockets.take(lookup_opts.family.kinds().len()).await;
        let (stage, evidence) = dns_stage(name, &ctx.servers, lookup_opts).await;
        drop(permit);
        let starved = stage.addresses.is_empty()
            && stage.servers.iter().any(|s| s.status == "network_error" && out_of_descriptors(&s.detail));
        if !starved {
            return (stage, evidence);
        }
        tracing::debug!(name = %name, "out of file descriptors during DNS; asking again");
        tokio::time::sleep(DESCRIPTOR_RETRY).await;
    }
}

/// Checks one target through every stage and diagnoses it.
pub async fn check_target(target: &Target, ctx: &RunContext) -> TargetReport {
    let (opts, settings, servers) = (&ctx.opts, &ctx.settings, &ctx.servers);
    let start = Instant::now();
    let port = target.port.get();
    tracing::debug!(target = %target, "checking");
    let (dns, dns_evidence, addresses) = match &target.host {
        Host::Ip(ip) => (None, None, vec![*ip]),
        Host::Name(name) => {
            let lookup_opts = LookupOptions {
                timeout: opts.dns_timeout_for(servers),
                hosts_file: opts.hosts_file.clone(),
                ..LookupOptions::default()
            };
            let (mut stage, evidence) = dns_stage_budgeted(name, ctx, &lookup_opts).await;
            let mut addresses = stage.addresses.clone();
            let limit = opts.max_addresses.max(1);
            if addresses.len() > limit {
                stage.addresses_not_probed = addresses.len() - limit;
                addresses.truncate(limit);
            }
            (Some(stage), Some(evidence), addresses)
        }
    };

    let mut routes: Vec<(RouteStage, RouteEvidence)> = Vec::with_capacity(addresses.len());
    for address in &addresses {
        routes.push(route_stage(*address, ctx).await);
    }
    // Connecting to an unspecified, multicast or broadcast address means nothing (0.0.0.0 even
    // reaches this machine): report, don't probe. Every other class is connected to, whatever
    // it is: a virtual network may use public, documentation or reserved ranges privately.
    let probed: Vec<SocketAddr> = addresses
        .iter()
        .filter(|a| !crate::classify::classify(**a).is_unusable_destination())
        .map(|a| SocketAddr::new(*a, port))
        .collect();
    let connect_opts = ConnectOptions { timeout: opts.connect_timeout, ..ConnectOptions::default() };
    let mut outcomes = connect_all(&probed, &connect_opts, &ctx.sockets).await.into_iter();

    let mut stages = Vec::new();
    let mut address_evidence = Vec::new();
    for (address, (route, route_evidence)) in addresses.iter().zip(routes) {
        let class = crate::classify::classify(*address);
        let (tcp, skipped, tcp_ev) = if class.is_unusable_destination() {
            (
                None,
                Some(format!(
                    "{address} is {}: no TCP connection can go there",
                    crate::wording::a_or_an(class.describe())
                )),
                None,
            )
        } else {
            match outcomes.next() {
                Some(o) => (Some(tcp_stage(&o)), None, Some(tcp_evidence(&o))),
                None => (None, Some("the connect task failed".to_owned()), None),
            }
        };
        address_evidence.push(AddressEvidence::new(*address, route_evidence, tcp_ev));
        stages.push(AddressStage { address: *address, class, route, tcp, tcp_skipped: skipped });
    }

    let evidence = Evidence {
        settings: SettingsEvidence::from(settings),
        target: TargetEvidence {
            host: target.display_host.clone(),
            port,
            is_ip_literal: matches!(target.host, Host::Ip(_)),
        },
        dns: dns_evidence,
        addresses: address_evidence,
    };
    let findings = diagnose(&evidence);
    TargetReport {
        target: target.display(),
        host: target.display_host.clone(),
        port,
        ip_literal: evidence.target.is_ip_literal,
        environment: environment(settings, servers, opts),
        dns,
        addresses: stages,
        failed: has_failure(&findings),
        findings,
        elapsed: start.elapsed(),
    }
}

pub use crate::runner::{InFlight, RunEnd, run_targets, run_targets_prepared};

/// Checks the targets concurrently and returns every report in the order given (for a
/// handful of targets; long lists go through [`run_targets`]).
pub async fn check_targets(targets: &[Target], ctx: Arc<RunContext>) -> Vec<TargetReport> {
    let mut reports: Vec<(usize, TargetReport)> = Vec::with_capacity(targets.len());
    // Nothing can stop this run and collecting cannot fail, so the end is always Ok.
    let Ok(_) = run_targets(
        ctx,
        targets.to_vec(),
        |index, report, _| {
            reports.push((index, report));
            Ok::<(), std::convert::Infallible>(())
        },
        std::future::pending(),
    )
    .await;
    reports.sort_by_key(|(index, _)| *index);
    reports.into_iter().map(|(_, r)| r).collect()
}

/// One dependency named by a connection-string setting, checked. The setting's value never
/// appears here: only its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyReport {
    pub setting: String,
    pub kind: crate::connstr::DependencyKind,
    pub host: String,
    pub port: u16,
    /// `None` when the host could not be checked (see `error`).
    pub check: Option<TargetReport>,
    pub error: Option<String>,
}

/// A connection-string setting that could not be understood (its error is already redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnparsedSetting {
    pub setting: String,
    pub error: String,
}

/// Everything `netdiag deps` found and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepsReport {
    pub dependencies: Vec<DependencyReport>,
    pub unparsed: Vec<UnparsedSetting>,
    /// Rendered once, by the document around it.
    #[serde(skip)]
    pub failed: bool,
}

/// One dependency found in the settings, before checking: its target's position in
/// [`DepsPlan::targets`], or why it cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDependency {
    pub setting: String,
    pub kind: crate::connstr::DependencyKind,
    pub host: String,
    pub port: u16,
    pub target: Result<usize, String>,
}

impl PlannedDependency {
    /// The report for this dependency, given its target's check (`None` when it had none).
    pub fn report(&self, check: Option<TargetReport>) -> DependencyReport {
        DependencyReport {
            setting: self.setting.clone(),
            kind: self.kind,
            host: self.host.clone(),
            port: self.port,
            check,
            error: self.target.as_ref().err().map(|e| format!("cannot check {}: {e}", self.host)),
        }
    }
}

/// What `netdiag deps` will check: each distinct host:port once, even when several settings
/// name it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DepsPlan {
    pub dependencies: Vec<PlannedDependency>,
    pub unparsed: Vec<UnparsedSetting>,
    pub targets: Vec<Target>,
}

/// Finds the app's dependencies in its connection strings.
pub fn plan_dependencies(settings: &AppSettings) -> DepsPlan {
    let mut plan = DepsPlan::default();
    for setting in &settings.connection_strings {
        let found = match setting.dependencies() {
            Ok(found) => found,
            Err(e) => {
                plan.unparsed.push(UnparsedSetting { setting: setting.name.clone(), error: e.problem() });
                continue;
            }
        };
        for dep in found {
            let parsed = Host::parse(&dep.host).map_err(|e| e.to_string()).and_then(|host| {
                let port = crate::target::Port::new(dep.port).ok_or_else(|| "port 0".to_owned())?;
                Ok(Target { host, port, display_host: dep.host.clone() })
            });
            let target = parsed.map(|t| match plan.targets.iter().position(|x| *x == t) {
                Some(i) => i,
                None => {
                    plan.targets.push(t);
                    plan.targets.len() - 1
                }
            });
            plan.dependencies.push(PlannedDependency {
                setting: dep.setting_name,
                kind: dep.kind,
                host: dep.host,
                port: dep.port,
                target,
            });
        }
    }
    plan
}

/// Finds the app's dependencies in its connection strings and checks each host:port (all at
/// once), returning them in the settings' order.
pub async fn check_dependencies(ctx: Arc<RunContext>) -> DepsReport {
    let plan = plan_dependencies(&ctx.settings);
    let reports = check_targets(&plan.targets, ctx).await;
    let dependencies: Vec<DependencyReport> = plan
        .dependencies
        .iter()
        .map(|dep| dep.report(dep.target.as_ref().ok().and_then(|i| reports.get(*i).cloned())))
        .collect();
    let failed = dependencies.iter().any(DependencyReport::failed);
    DepsReport { dependencies, unparsed: plan.unparsed, failed }
}

impl DependencyReport {
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.check.as_ref().is_some_and(|c| c.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::FindingId;

    fn settings() -> AppSettings {
        AppSettings::default()
    }

    fn target(text: &str) -> Target {
        Target::parse(text, None, crate::target::Port::new(443).unwrap()).unwrap()
    }

    fn quick() -> CheckOptions {
        CheckOptions {
            connect_timeout: Duration::from_secs(2),
            dns_timeout: Some(Duration::from_millis(300)),
            hosts_file: None,
            max_parallel: DEFAULT_MAX_PARALLEL,
            max_sockets: DEFAULT_MAX_SOCKETS,
            max_addresses: DEFAULT_MAX_ADDRESSES,
        }
    }

    fn ctx(servers: ServerList) -> Arc<RunContext> {
        Arc::new(RunContext::new(quick(), settings(), servers))
    }

    #[test]
    fn routes_read_once_answer_like_the_kernel_with_one_socket_per_route() {
        let routes = Routes::collect();
        let mut destinations: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        destinations.extend((2..50).map(|i| IpAddr::from([127, 0, 3, i])));
        for ip in destinations {
            let shared = routes.route_to(ip).unwrap();
            let alone = crate::env::route_to(ip).unwrap();
            assert_eq!(shared, alone, "{ip}");
        }
        // The kernel was asked three times for 50 destinations: for this machine's own 127.0.0.1
        // and ::1, and once for the rest of 127.0.0.0/8.
        assert_eq!(routes.sources.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_budget_of_one_socket_still_resolves_two_record_types() {
        let budget = SocketBudget::new(1);
        let both = budget.take(2).await;
        assert!(both.is_some());
        assert_eq!(budget.available(), 0);
        drop(both);
        assert_eq!(budget.available(), 1);
    }

    #[test]
    fn socket_budget_stays_below_the_descriptor_limit() {
        for (limit, budget) in [(64, 8), (256, 192), (1024, 960), (1_048_576, 16_384), (u64::MAX, 16_384)] {
            assert_eq!(socket_budget_for(limit), budget, "{limit}");
        }
    }

    #[test]
    fn dns_timeout_precedence() {
        let mut servers = ServerList::explicit(vec![]);
        assert_eq!(CheckOptions::default().dns_timeout_for(&servers), dns::DEFAULT_TIMEOUT);
        servers.env_timeout = Some(Duration::from_secs(5));
        assert_eq!(CheckOptions::default().dns_timeout_for(&servers), Duration::from_secs(5));
        assert_eq!(quick().dns_timeout_for(&servers), Duration::from_millis(300));
    }

    #[tokio::test]
    async fn loopback_listener_connects_and_closed_port_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let servers = ServerList::explicit(vec![]);
        let targets = [target(&open.to_string()), target(&closed.to_string())];
        let reports = check_targets(&targets, ctx(servers)).await;
        assert_eq!(reports.len(), 2);
        let ok = &reports[0];
        assert!(ok.dns.is_none() && ok.ip_literal);
        assert_eq!(ok.addresses[0].class, AddressClass::Loopback);
        assert_eq!(ok.addresses[0].route.source, Some("127.0.0.1".parse().unwrap()));
        assert!(ok.addresses[0].tcp.as_ref().unwrap().connected);
        let ids: Vec<FindingId> = ok.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, [FindingId::LoopbackDestination, FindingId::TcpConnected]);
        assert!(!ok.failed);

        let refused = &reports[1];
        assert_eq!(refused.addresses[0].tcp.as_ref().unwrap().class, Some("refused"));
        assert!(refused.findings.iter().any(|f| f.id == FindingId::TcpRefused));
        assert!(refused.failed);
    }

    #[tokio::test]
    async fn a_target_record_carries_every_field_of_its_report() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let reports = check_targets(&[target(&open.to_string())], ctx(ServerList::explicit(vec![]))).await;
        for (index, report) in reports.iter().enumerate() {
            let mut line = Vec::new();
            crate::report::netdiag::append_target_record(&mut line, index, report);
            assert_eq!(line.last(), Some(&b'\n'));
            let record: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&line).unwrap();
            let plain = serde_json::to_value(report).unwrap();
            let plain = plain.as_object().unwrap();
            let envelope = ["type", "schema", "tool", "command", "timestamp", "index", "verdict"];
            let keys: std::collections::BTreeSet<&str> = record.keys().map(String::as_str).collect();
            let expected = envelope.into_iter().chain(plain.keys().map(String::as_str)).collect();
            assert_eq!(keys, expected);
            for (key, value) in plain {
                assert_eq!(&record[key], value, "{key}");
            }
        }
    }

    #[tokio::test]
    async fn dependencies_are_named_by_setting_and_probed_once_per_host_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sql = format!("Server=tcp:127.0.0.1,{port};Password=NOTASECRET1");
        let settings = AppSettings {
            connection_strings: vec![
                crate::env::ConnectionSetting::new("SQLCONNSTR_a", sql.clone()),
                crate::env::ConnectionSetting::new("SQLCONNSTR_b", sql),
                crate::env::ConnectionSetting::new(
                    "CUSTOMCONNSTR_bad",
                    "AccountName=bad name;AccountKey=NOTASECRET2",
                ),
            ],
            ..AppSettings::default()
        };
        let deps =
            check_dependencies(Arc::new(RunContext::new(quick(), settings, ServerList::explicit(vec![]))))
                .await;
        let names: Vec<&str> = deps.dependencies.iter().map(|d| d.setting.as_str()).collect();
        assert_eq!(names, ["SQLCONNSTR_a", "SQLCONNSTR_b"]);
        let a = deps.dependencies[0].check.as_ref().unwrap();
        let b = deps.dependencies[1].check.as_ref().unwrap();
        assert_eq!(a, b, "one probe shared by both settings");
        assert!(a.addresses[0].tcp.as_ref().unwrap().connected);
        assert_eq!(deps.unparsed[0].setting, "CUSTOMCONNSTR_bad");
        assert!(!format!("{deps:?}").contains("NOTASECRET"));
        assert!(!serde_json::to_string(&deps).unwrap().contains("NOTASECRET"));
        assert!(!deps.failed);
    }

    #[tokio::test]
    async fn unusable_addresses_are_not_probed() {
        let r = check_target(&target("0.0.0.0:80"), &ctx(ServerList::explicit(vec![]))).await;
        assert!(r.addresses[0].tcp.is_none());
        assert_eq!(
            r.addresses[0].tcp_skipped.as_deref(),
            Some("0.0.0.0 is an unspecified address: no TCP connection can go there")
        );
        assert!(r.findings.iter().any(|f| f.id == FindingId::UnusableAddress));
    }

    #[tokio::test]
    async fn no_servers_is_a_dns_failure_not_a_panic() {
        let r = check_target(&target("app.test"), &ctx(ServerList::explicit(vec![]))).await;
        let dns = r.dns.as_ref().unwrap();
        assert_eq!(dns.result, "no_servers");
        assert!(r.addresses.is_empty());
        assert!(r.name_unresolved());
        let ids: Vec<FindingId> = r.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, [FindingId::NoDnsServers], "{:?}", r.findings);
        assert_eq!(dns.class, Some("no_dns_servers"));
    }

    #[tokio::test]
    async fn silent_server_times_out_per_server() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap();
        let servers = ServerList::explicit(vec![server, server]);
        let r = check_target(&target("app.test"), &ctx(servers)).await;
        let dns = r.dns.as_ref().unwrap();
        assert_eq!(dns.servers.len(), 2);
        assert!(dns.servers.iter().all(|s| s.status == "timed_out"));
        assert!(dns.elapsed >= Duration::from_millis(600), "{:?}", dns.elapsed);
        assert!(r.findings.iter().any(|f| f.id == FindingId::DnsAllServersTimedOut));
        drop(silent);
    }
}

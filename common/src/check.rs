//! `netdiag check`: runs every stage of the checklist against real targets and keeps what each
//! stage measured, then hands the evidence to [`crate::diagnose`].
//!
//! Stages per target: the environment the app sees, DNS through the app's own servers one by
//! one (IP literals skip it), the class of every address, the route and source address the
//! kernel picks for each (no packet), and a TCP connect to every address at once. Several
//! targets run at once too, so a check takes as long as its slowest target.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::classify::AddressClass;
use crate::diagnose::{
    AddressEvidence, DnsEvidence, DnsResult, Evidence, Finding, RouteEvidence, ServerEvidence, ServerOutcome,
    SettingsEvidence, TargetEvidence, TcpEvidence, diagnose, has_failure,
};
use crate::dns::{
    self, AnsweredBy, LookupError, LookupOptions, Outcome, QueryTarget, ServerList, ServerSource,
};
use crate::env::AppSettings;
use crate::target::{Host, Target};
use crate::tcp::{self, ConnectFailure, ConnectOptions};

/// Version of the `--json` documents of `check` and `deps`; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// list of thousands neither runs out of file descriptors nor floods a NAT gateway.
    pub max_parallel: usize,
    /// How many addresses of one name are routed and connected to; an answer with thousands
    /// of records must not fan out into thousands of sockets. The rest are counted.
    pub max_addresses: usize,
}

/// More than any real service publishes for one name, few enough to probe at once.
pub const DEFAULT_MAX_ADDRESSES: usize = 16;

/// Enough to check a typical app's dependencies all at once, few enough for the default limit
/// of 1024 open files with two sockets per target.
pub const DEFAULT_MAX_PARALLEL: usize = 256;

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            connect_timeout: tcp::WINDOWS_CONNECT_TIMEOUT,
            dns_timeout: None,
            hosts_file: Some(dns::default_hosts_path()),
            max_parallel: DEFAULT_MAX_PARALLEL,
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

fn route_stage(address: IpAddr, private_ip: Option<IpAddr>) -> (RouteStage, RouteEvidence) {
    let looked_up = crate::env::route_to(address);
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

/// Connects to every address at once; results come back in address order.
async fn connect_all(addresses: &[SocketAddr], opts: &ConnectOptions) -> Vec<tcp::ConnectOutcome> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, &remote) in addresses.iter().enumerate() {
        let opts = opts.clone();
        tasks.spawn(async move { (index, tcp::connect(remote, &opts).await) });
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

/// Checks one target through every stage and diagnoses it.
pub async fn check_target(
    target: &Target,
    opts: &CheckOptions,
    settings: &AppSettings,
    servers: &ServerList,
) -> TargetReport {
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
            let (mut stage, evidence) = dns_stage(name, servers, &lookup_opts).await;
            let mut addresses = stage.addresses.clone();
            let limit = opts.max_addresses.max(1);
            if addresses.len() > limit {
                stage.addresses_not_probed = addresses.len() - limit;
                addresses.truncate(limit);
            }
            (Some(stage), Some(evidence), addresses)
        }
    };

    let routes: Vec<(RouteStage, RouteEvidence)> =
        addresses.iter().map(|a| route_stage(*a, settings.private_ip)).collect();
    // Connecting to an unspecified, multicast or broadcast address means nothing (0.0.0.0 even
    // reaches this machine): report, don't probe. Every other class is connected to, whatever
    // it is: a virtual network may use public, documentation or reserved ranges privately.
    let probed: Vec<SocketAddr> = addresses
        .iter()
        .filter(|a| !crate::classify::classify(**a).is_unusable_destination())
        .map(|a| SocketAddr::new(*a, port))
        .collect();
    let connect_opts = ConnectOptions { timeout: opts.connect_timeout, ..ConnectOptions::default() };
    let mut outcomes = connect_all(&probed, &connect_opts).await.into_iter();

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

/// Checks the targets concurrently, at most `opts.max_parallel` at a time; reports come back in
/// the order given.
pub async fn check_targets(
    targets: &[Target],
    opts: &CheckOptions,
    settings: &AppSettings,
    servers: &ServerList,
) -> Vec<TargetReport> {
    let shared = Arc::new((opts.clone(), settings.clone(), servers.clone()));
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.max_parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, target) in targets.iter().cloned().enumerate() {
        let shared = Arc::clone(&shared);
        let slots = Arc::clone(&slots);
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring can only wait, not fail.
            let _slot = slots.acquire_owned().await;
            let (opts, settings, servers) = &*shared;
            (index, check_target(&target, opts, settings, servers).await)
        });
    }
    let mut reports = Vec::with_capacity(targets.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => reports.push(pair),
            Err(e) => tracing::error!("check task failed: {e}"),
        }
    }
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

/// Finds the app's dependencies in its connection strings and checks each host:port (all at
/// once). Each distinct host:port is probed once even when several settings name it.
pub async fn check_dependencies(
    opts: &CheckOptions,
    settings: &AppSettings,
    servers: &ServerList,
) -> DepsReport {
    let mut found = Vec::new();
    let mut unparsed = Vec::new();
    for setting in &settings.connection_strings {
        match setting.dependencies() {
            Ok(deps) => found.extend(deps),
            Err(e) => unparsed.push(UnparsedSetting { setting: setting.name.clone(), error: e.problem() }),
        }
    }
    let mut targets: Vec<Target> = Vec::new();
    let mut target_of: Vec<Result<usize, String>> = Vec::new();
    for dep in &found {
        let parsed = Host::parse(&dep.host).map_err(|e| e.to_string()).and_then(|host| {
            let port = crate::target::Port::new(dep.port).ok_or_else(|| "port 0".to_owned())?;
            Ok(Target { host, port, display_host: dep.host.clone() })
        });
        target_of.push(parsed.map(|t| match targets.iter().position(|x| *x == t) {
            Some(i) => i,
            None => {
                targets.push(t);
                targets.len() - 1
            }
        }));
    }
    let reports = check_targets(&targets, opts, settings, servers).await;
    let dependencies: Vec<DependencyReport> = found
        .into_iter()
        .zip(target_of)
        .map(|(dep, index)| {
            let (check, error) = match index {
                Ok(i) => (reports.get(i).cloned(), None),
                Err(e) => (None, Some(format!("cannot check {}: {e}", dep.host))),
            };
            DependencyReport {
                setting: dep.setting_name,
                kind: dep.kind,
                host: dep.host,
                port: dep.port,
                check,
                error,
            }
        })
        .collect();
    let failed = dependencies.iter().any(|d| d.error.is_some() || d.check.as_ref().is_some_and(|c| c.failed));
    DepsReport { dependencies, unparsed, failed }
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
            max_addresses: DEFAULT_MAX_ADDRESSES,
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
        let reports = check_targets(&targets, &quick(), &settings(), &servers).await;
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
        let deps = check_dependencies(&quick(), &settings, &ServerList::explicit(vec![])).await;
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
        let r =
            check_target(&target("0.0.0.0:80"), &quick(), &settings(), &ServerList::explicit(vec![])).await;
        assert!(r.addresses[0].tcp.is_none());
        assert_eq!(
            r.addresses[0].tcp_skipped.as_deref(),
            Some("0.0.0.0 is an unspecified address: no TCP connection can go there")
        );
        assert!(r.findings.iter().any(|f| f.id == FindingId::UnusableAddress));
    }

    #[tokio::test]
    async fn no_servers_is_a_dns_failure_not_a_panic() {
        let r = check_target(&target("app.test"), &quick(), &settings(), &ServerList::explicit(vec![])).await;
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
        let r = check_target(&target("app.test"), &quick(), &settings(), &servers).await;
        let dns = r.dns.as_ref().unwrap();
        assert_eq!(dns.servers.len(), 2);
        assert!(dns.servers.iter().all(|s| s.status == "timed_out"));
        assert!(dns.elapsed >= Duration::from_millis(600), "{:?}", dns.elapsed);
        assert!(r.findings.iter().any(|f| f.id == FindingId::DnsAllServersTimedOut));
        drop(silent);
    }
}

//! One tcpping attempt: resolve the target (names only) through the per-server DNS engine,
//! exactly as the app would, then connect to the first address of the requested family,
//! timing each step apart.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::dns::{
    self, AnsweredBy, Family, LookupError, LookupOptions, Outcome, QueryTarget, ServerAttempt, ServerList,
};
use crate::name::DomainName;
use crate::target::{Host, Target};
use crate::tcp::{self, ConnectFailure, ConnectOptions, FailureClass};

/// How names are resolved during a run: the servers are chosen once, at startup, and every
/// attempt asks them again, so a changing answer shows up attempt by attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    pub servers: ServerList,
    /// Given to each server in full.
    pub timeout: Duration,
    /// Consulted first unless the servers are explicit; `None` skips it.
    pub hosts_file: Option<PathBuf>,
}

impl Resolver {
    /// `asked_timeout` is the command line's; without it `WEBSITE_DNS_TIMEOUT`, else 3 s.
    pub fn new(servers: ServerList, asked_timeout: Option<Duration>) -> Self {
        let timeout = servers.timeout(asked_timeout);
        Self { servers, timeout, hosts_file: Some(dns::default_hosts_path()) }
    }

    /// Asks only for the record types `family` needs, and picks the first admitted address.
    pub async fn resolve(
        &self,
        name: &DomainName,
        family: Family,
    ) -> (Result<IpAddr, ResolveFailure>, DnsTrace) {
        let opts = LookupOptions {
            timeout: self.timeout,
            family,
            hosts_file: self.hosts_file.clone(),
            ..LookupOptions::default()
        };
        let found =
            dns::lookup(&QueryTarget::Name(name.clone()), &family.kinds(), &self.servers, &opts).await;
        let trace = DnsTrace {
            answered_by: found.answered_by.clone(),
            servers: found.attempts.clone(),
            elapsed: found.elapsed,
        };
        let address = found.result().and_then(|answer| {
            answer.addresses.iter().copied().find(|ip| family.admits(*ip)).ok_or_else(|| {
                LookupError::NoData {
                    name: found.query_name.clone(),
                    types: family.kinds().iter().map(ToString::to_string).collect::<Vec<_>>().join("/"),
                    answered_by: found.answered_by.clone(),
                }
            })
        });
        let result = address.map_err(|error| ResolveFailure {
            name: name.to_string(),
            family,
            timeout: self.timeout,
            source: self.servers.source.to_string(),
            error,
        });
        (result, trace)
    }
}

/// What the DNS engine did for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTrace {
    pub answered_by: AnsweredBy,
    /// Every server asked, in order (none when the hosts file answered).
    pub servers: Vec<ServerAttempt>,
    pub elapsed: Duration,
}

/// Why a name gave no address to connect to, with what the lookup saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveFailure {
    pub name: String,
    pub family: Family,
    /// The per-server timeout, named in the message when servers timed out.
    pub timeout: Duration,
    /// Where the server list came from, named when it was empty.
    pub source: String,
    pub error: LookupError,
}

impl std::error::Error for ResolveFailure {}

impl ResolveFailure {
    pub fn kind(&self) -> FailureClass {
        FailureClass::from_lookup(&self.error)
    }
}

fn answerer(by: &AnsweredBy) -> String {
    match by {
        AnsweredBy::Server { server } => server.to_string(),
        AnsweredBy::HostsFile { path } => format!("the hosts file {}", path.display()),
        AnsweredBy::Nobody => "nobody".to_owned(),
    }
}

/// A server's time, short: whole units for the configured timeout, a decimal otherwise.
fn took(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1}ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl fmt::Display for ResolveFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.error {
            LookupError::NxDomain { answered_by, .. } => {
                write!(f, "name '{name}' does not exist (NXDOMAIN from {})", answerer(answered_by))
            }
            LookupError::NoData { answered_by, .. } => {
                let what = match self.family {
                    Family::Any => "address".to_owned(),
                    family => format!("{family} address"),
                };
                write!(f, "name '{name}' has no {what} (answer from {})", answerer(answered_by))
            }
            LookupError::NoServers => {
                write!(f, "no DNS server to ask for '{name}' (none configured in {})", self.source)
            }
            LookupError::AllServersFailed { attempts, .. } => {
                let timeout = crate::wording::seconds(self.timeout);
                let each: Vec<String> = attempts
                    .iter()
                    .map(|a| match &a.outcome {
                        Outcome::TimedOut { .. } if self.error.all_timed_out() => {
                            format!("{} after {timeout}", a.server)
                        }
                        Outcome::TimedOut { .. } => format!("{} timed out after {timeout}", a.server),
                        _ => format!("{} {} in {}", a.server, a.describe(), took(a.elapsed)),
                    })
                    .collect();
                if self.error.all_timed_out() {
                    write!(f, "every DNS server timed out ({})", each.join(", "))
                } else {
                    write!(f, "no DNS server gave a usable answer for '{name}' ({})", each.join("; "))
                }
            }
        }
    }
}

/// Why an attempt failed: before connecting (name resolution) or while connecting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptFailure {
    #[error(transparent)]
    Resolve(#[from] ResolveFailure),
    #[error(transparent)]
    Connect(#[from] ConnectFailure),
}

impl AttemptFailure {
    pub fn kind(&self) -> FailureClass {
        match self {
            AttemptFailure::Resolve(failure) => failure.kind(),
            AttemptFailure::Connect(failure) => failure.kind(),
        }
    }

    pub fn hint(&self) -> &'static str {
        self.kind().hint()
    }
}

/// Everything recorded about one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1-based sequence number within the run.
    pub seq: u64,
    /// Time spent resolving; `None` for an address literal, which is never resolved.
    pub resolve_time: Option<Duration>,
    /// The address connected to (absent when resolution failed).
    pub remote: Option<SocketAddr>,
    /// The local address and port actually used, when the socket got that far.
    pub local: Option<SocketAddr>,
    /// Time of the connect alone, success or failure; zero when no connect was tried.
    pub connect_time: Duration,
    /// The kernel's RTT estimate after a successful handshake (Linux), see
    /// [`tcp::ConnectOutcome::kernel_rtt`].
    pub kernel_rtt: Option<Duration>,
    /// Connected, then the peer reset the connection at once (see
    /// [`tcp::ConnectOutcome::reset_by_peer`]).
    pub reset_by_peer: bool,
    pub result: Result<(), AttemptFailure>,
    /// What DNS did; `None` for an address literal.
    pub dns: Option<DnsTrace>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.result.is_ok()
    }
}

/// Runs attempt number `seq` against `target`, resolving a name afresh through `resolver`.
pub async fn attempt(
    seq: u64,
    target: &Target,
    family: Family,
    resolver: &Resolver,
    opts: &ConnectOptions,
) -> Attempt {
    let port = target.port.get();
    let (remote, resolve_time, dns) = match &target.host {
        Host::Ip(ip) => (SocketAddr::new(*ip, port), None, None),
        Host::Name(name) => {
            let (resolved, trace) = resolver.resolve(name, family).await;
            let took = Some(trace.elapsed);
            match resolved {
                Ok(ip) => (SocketAddr::new(ip, port), took, Some(trace)),
                Err(failure) => {
                    return Attempt {
                        seq,
                        resolve_time: took,
                        remote: None,
                        local: None,
                        connect_time: Duration::ZERO,
                        kernel_rtt: None,
                        reset_by_peer: false,
                        result: Err(failure.into()),
                        dns: Some(trace),
                    };
                }
            }
        }
    };
    let outcome = tcp::connect(remote, opts).await;
    Attempt {
        seq,
        resolve_time,
        remote: Some(outcome.remote),
        local: outcome.local,
        connect_time: outcome.elapsed,
        kernel_rtt: outcome.kernel_rtt,
        reset_by_peer: outcome.reset_by_peer,
        result: outcome.result.map_err(AttemptFailure::from),
        dns,
    }
}

/// What a run has seen so far: enough for the summary, without keeping every attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    pub tally: crate::stats::Tally,
    /// Connect times of successful attempts, summarised as they come (constant memory).
    pub samples: crate::stats::StreamingTimings,
    pub failures: std::collections::BTreeMap<FailureClass, u64>,
    /// The run was cut short by Ctrl-C.
    pub interrupted: bool,
    /// How long the attempt in flight when Ctrl-C came had waited. It is not counted: it had
    /// neither connected nor failed, but a user who stopped a 21 s wait should see it.
    pub abandoned_after: Option<Duration>,
    /// The address the last resolved name gave, to notice when DNS starts answering otherwise.
    pub last_resolved: Option<IpAddr>,
    /// The connect timeout that really applied to each attempt (see
    /// [`tcp::applied_connect_timeout`]), shown in the summary.
    pub timeout: Option<Duration>,
}

impl RunRecord {
    /// The address `attempt` resolved to, when it differs from the previous attempt's. The
    /// first resolution is not news, and neither is an address literal.
    pub fn new_address(&self, attempt: &Attempt) -> Option<IpAddr> {
        let ip = attempt.remote.filter(|_| attempt.dns.is_some())?.ip();
        self.last_resolved.filter(|last| *last != ip).map(|_| ip)
    }

    pub fn record(&mut self, attempt: &Attempt) {
        if attempt.dns.is_some()
            && let Some(remote) = attempt.remote
        {
            self.last_resolved = Some(remote.ip());
        }
        self.tally.attempts += 1;
        match &attempt.result {
            Ok(()) => {
                self.tally.successes += 1;
                self.samples.record(attempt.connect_time);
            }
            Err(failure) => *self.failures.entry(failure.kind()).or_default() += 1,
        }
    }

    pub fn timings(&self) -> Option<crate::stats::Timings> {
        self.samples.timings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Port;

    fn loopback_resolver(servers: Vec<SocketAddr>) -> Resolver {
        Resolver::new(ServerList::explicit(servers), Some(Duration::from_millis(100)))
    }

    #[tokio::test]
    async fn literal_skips_resolution() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target::parse("127.0.0.1", Some(&port.to_string()), Port::new(80).unwrap()).unwrap();
        // No server at all: an address literal must not need one.
        let resolver = loopback_resolver(vec![]);
        let attempt = attempt(1, &target, Family::Any, &resolver, &ConnectOptions::default()).await;
        assert_eq!(attempt.resolve_time, None);
        assert_eq!(attempt.dns, None);
        assert_eq!(attempt.remote, Some(listener.local_addr().unwrap()));
        assert!(attempt.succeeded(), "{attempt:?}");
    }

    #[tokio::test]
    async fn name_without_servers_is_no_dns_servers() {
        let target = Target::parse("app.test", Some("80"), Port::new(80).unwrap()).unwrap();
        let mut resolver = loopback_resolver(vec![]);
        resolver.servers.source = dns::ServerSource::ResolvConf("/x/resolv.conf".into());
        let attempt = attempt(1, &target, Family::Any, &resolver, &ConnectOptions::default()).await;
        let failure = attempt.result.unwrap_err();
        assert_eq!(failure.kind(), FailureClass::NoDnsServers);
        assert_eq!(
            failure.to_string(),
            "no DNS server to ask for 'app.test' (none configured in /x/resolv.conf)"
        );
        assert_eq!(attempt.remote, None);
    }

    fn server_attempt(server: &str, outcome: Outcome, elapsed_ms: u64) -> ServerAttempt {
        ServerAttempt {
            server: server.parse().unwrap(),
            outcome,
            elapsed: Duration::from_millis(elapsed_ms),
            queries: vec![],
            answer: None,
            failed_types: vec![],
        }
    }

    #[test]
    fn dns_failures_are_classified_and_name_the_servers() {
        let server: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let timed_out = || Outcome::TimedOut { after: Duration::from_secs(3), ignored_replies: 0 };
        let failed = |attempts| LookupError::AllServersFailed { name: "x.test".into(), attempts };
        let cases: Vec<(Family, LookupError, FailureClass, &str)> = vec![
            (
                Family::Any,
                LookupError::NxDomain { name: "x.test".into(), answered_by: AnsweredBy::Server { server } },
                FailureClass::NameNotFound,
                "name 'x.test' does not exist (NXDOMAIN from 127.0.0.1:5353)",
            ),
            (
                Family::V4,
                LookupError::NoData {
                    name: "x.test".into(),
                    types: "A".into(),
                    answered_by: AnsweredBy::Server { server },
                },
                FailureClass::NoAddress,
                "name 'x.test' has no IPv4 address (answer from 127.0.0.1:5353)",
            ),
            (
                Family::Any,
                failed(vec![server_attempt("127.0.0.1:5353", timed_out(), 3001)]),
                FailureClass::DnsTimeout,
                "every DNS server timed out (127.0.0.1:5353 after 3 s)",
            ),
            (
                Family::Any,
                failed(vec![
                    server_attempt("127.0.0.1:53", timed_out(), 3001),
                    server_attempt("127.0.0.2:53", timed_out(), 3002),
                ]),
                FailureClass::DnsTimeout,
                "every DNS server timed out (127.0.0.1:53 after 3 s, 127.0.0.2:53 after 3 s)",
            ),
            (
                Family::Any,
                failed(vec![
                    server_attempt("127.0.0.1:53", timed_out(), 3001),
                    server_attempt("127.0.0.2:53", Outcome::ServFail, 2),
                ]),
                FailureClass::DnsFailed,
                "no DNS server gave a usable answer for 'x.test' (127.0.0.1:53 timed out after 3 s; 127.0.0.2:53 failed (SERVFAIL) in 2.0ms)",
            ),
            (
                Family::Any,
                failed(vec![server_attempt("127.0.0.2:53", Outcome::Refused, 1)]),
                FailureClass::DnsFailed,
                "no DNS server gave a usable answer for 'x.test' (127.0.0.2:53 refused the query (REFUSED) in 1.0ms)",
            ),
            (
                Family::Any,
                LookupError::NoServers,
                FailureClass::NoDnsServers,
                "no DNS server to ask for 'x.test' (none configured in /etc/resolv.conf)",
            ),
        ];
        for (family, error, class, message) in cases {
            let failure = AttemptFailure::from(ResolveFailure {
                name: "x.test".into(),
                family,
                timeout: Duration::from_secs(3),
                source: "/etc/resolv.conf".into(),
                error,
            });
            assert_eq!(failure.kind(), class, "{message}");
            assert_eq!(failure.to_string(), message);
        }
    }

    fn resolved(seq: u64, remote: &str, by_name: bool) -> Attempt {
        Attempt {
            seq,
            resolve_time: by_name.then_some(Duration::from_millis(1)),
            remote: Some(remote.parse().unwrap()),
            local: None,
            connect_time: Duration::from_millis(2),
            kernel_rtt: None,
            reset_by_peer: false,
            result: Ok(()),
            dns: by_name.then(|| DnsTrace {
                answered_by: AnsweredBy::Nobody,
                servers: vec![],
                elapsed: Duration::from_millis(1),
            }),
        }
    }

    #[test]
    fn new_address_only_when_a_resolved_name_changes() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let sequence = [
            (resolved(1, "127.0.0.1:80", true), None),
            (resolved(2, "127.0.0.1:80", true), None),
            (resolved(3, "127.0.0.2:80", true), ip("127.0.0.2")),
            (resolved(4, "127.0.0.2:80", true), None),
            (resolved(5, "127.0.0.1:80", true), ip("127.0.0.1")),
        ];
        let mut run = RunRecord::default();
        for (attempt, want) in &sequence {
            assert_eq!(run.new_address(attempt), *want, "attempt {}", attempt.seq);
            run.record(attempt);
        }
        let mut literal = RunRecord::default();
        for attempt in [resolved(1, "127.0.0.1:80", false), resolved(2, "127.0.0.2:80", false)] {
            assert_eq!(literal.new_address(&attempt), None);
            literal.record(&attempt);
        }
    }

    #[test]
    fn record_counts_failures_by_class() {
        let base = resolved(1, "127.0.0.1:80", false);
        let refused = Attempt { result: Err(ConnectFailure::Refused.into()), ..base.clone() };
        let mut run = RunRecord::default();
        for attempt in [&base, &refused, &refused, &base] {
            run.record(attempt);
        }
        assert_eq!(run.tally, crate::stats::Tally { attempts: 4, successes: 2 });
        assert_eq!(run.samples.count(), 2);
        assert_eq!(
            run.timings().map(|t| (t.min, t.max)),
            Some((Duration::from_millis(2), Duration::from_millis(2)))
        );
        assert_eq!(run.failures.into_iter().collect::<Vec<_>>(), vec![(FailureClass::Refused, 2)]);
    }
}

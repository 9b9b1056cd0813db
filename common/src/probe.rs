//! One tcpping attempt: resolve the target (names only), then connect to the first address of
//! the requested family, timing each step apart.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::name::DomainName;
use crate::target::{Host, Target};
use crate::tcp::{self, ConnectFailure, ConnectOptions, FailureClass};

/// Which address family to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    pub fn admits(self, ip: IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Any => "any",
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// Why a name gave no address to connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveFailure {
    #[error("name '{name}' could not be resolved: {message}")]
    Failed { name: String, message: String },
    #[error("name '{name}' has no {family} address")]
    NoAddress { name: String, family: Family },
}

/// The one place names are turned into addresses. It uses the system resolver through tokio
/// for now and is the seam where the per-server DNS engine (`crate::dns`) plugs in.
pub async fn resolve(name: &DomainName, port: u16) -> Result<Vec<SocketAddr>, ResolveFailure> {
    match tokio::net::lookup_host((name.to_string(), port)).await {
        Ok(addrs) => Ok(addrs.collect()),
        Err(err) => Err(ResolveFailure::Failed { name: name.to_string(), message: err.to_string() }),
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
            AttemptFailure::Resolve(_) => FailureClass::NameNotResolved,
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
    pub result: Result<(), AttemptFailure>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.result.is_ok()
    }
}

/// Runs attempt number `seq` against `target`.
pub async fn attempt(seq: u64, target: &Target, family: Family, opts: &ConnectOptions) -> Attempt {
    let port = target.port.get();
    let (remote, resolve_time) = match &target.host {
        Host::Ip(ip) => (SocketAddr::new(*ip, port), None),
        Host::Name(name) => {
            let start = Instant::now();
            let resolved = resolve(name, port).await;
            let took = start.elapsed();
            let chosen = resolved.and_then(|addrs| {
                addrs
                    .into_iter()
                    .find(|a| family.admits(a.ip()))
                    .ok_or(ResolveFailure::NoAddress { name: name.to_string(), family })
            });
            match chosen {
                Ok(remote) => (remote, Some(took)),
                Err(failure) => {
                    return Attempt {
                        seq,
                        resolve_time: Some(took),
                        remote: None,
                        local: None,
                        connect_time: Duration::ZERO,
                        result: Err(failure.into()),
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
        result: outcome.result.map_err(AttemptFailure::from),
    }
}

/// What a run has seen so far: enough for the summary, without keeping every attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    pub tally: crate::stats::Tally,
    /// Connect times of successful attempts, in order.
    pub samples: Vec<Duration>,
    pub failures: std::collections::BTreeMap<FailureClass, u64>,
    /// The run was cut short by Ctrl-C.
    pub interrupted: bool,
}

impl RunRecord {
    pub fn record(&mut self, attempt: &Attempt) {
        self.tally.attempts += 1;
        match &attempt.result {
            Ok(()) => {
                self.tally.successes += 1;
                self.samples.push(attempt.connect_time);
            }
            Err(failure) => *self.failures.entry(failure.kind()).or_default() += 1,
        }
    }

    pub fn timings(&self) -> Option<crate::stats::Timings> {
        crate::stats::Timings::from_samples(&self.samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Port;

    #[test]
    fn family_filter() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let cases = [
            (Family::Any, v4, true),
            (Family::Any, v6, true),
            (Family::V4, v4, true),
            (Family::V4, v6, false),
            (Family::V6, v4, false),
            (Family::V6, v6, true),
        ];
        for (family, ip, admitted) in cases {
            assert_eq!(family.admits(ip), admitted, "{family} {ip}");
        }
    }

    #[tokio::test]
    async fn literal_skips_resolution() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target::parse("127.0.0.1", Some(&port.to_string()), Port::new(80).unwrap()).unwrap();
        let attempt = attempt(1, &target, Family::Any, &ConnectOptions::default()).await;
        assert_eq!(attempt.resolve_time, None);
        assert_eq!(attempt.remote, Some(listener.local_addr().unwrap()));
        assert!(attempt.succeeded(), "{attempt:?}");
    }

    #[test]
    fn record_counts_failures_by_class() {
        let base = Attempt {
            seq: 1,
            resolve_time: None,
            remote: None,
            local: None,
            connect_time: Duration::from_millis(2),
            result: Ok(()),
        };
        let refused = Attempt { result: Err(ConnectFailure::Refused.into()), ..base.clone() };
        let mut run = RunRecord::default();
        for attempt in [&base, &refused, &refused, &base] {
            run.record(attempt);
        }
        assert_eq!(run.tally, crate::stats::Tally { attempts: 4, successes: 2 });
        assert_eq!(run.samples, vec![Duration::from_millis(2); 2]);
        assert_eq!(run.failures.into_iter().collect::<Vec<_>>(), vec![(FailureClass::Refused, 2)]);
    }

    #[test]
    fn resolve_failure_is_its_own_class() {
        let failure =
            AttemptFailure::from(ResolveFailure::NoAddress { name: "x.test".into(), family: Family::V6 });
        assert_eq!(failure.kind(), FailureClass::NameNotResolved);
        assert_eq!(failure.to_string(), "name 'x.test' has no IPv6 address");
    }
}

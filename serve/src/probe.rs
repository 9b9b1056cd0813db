//! Runs one probe through the engine. The exporter calls the engine through three entry points
//! only, one per module: [`netdiag_common::probe::attempt`] (tcp), [`netdiag_common::dns::lookup`]
//! (dns) and [`netdiag_common::check::check_target`] (check).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netdiag_common::check::{self, CheckOptions, RunContext, TargetReport};
use netdiag_common::dns::{self, Lookup, LookupOptions, QueryTarget, ServerList};
use netdiag_common::env::AppSettings;
use netdiag_common::probe::{self as tcpprobe, Attempt, Resolver};
use netdiag_common::target::Host;
use netdiag_common::tcp::{self, ConnectOptions};

use crate::params::{Module, ProbeRequest};

/// What the exporter knows about the app it runs for, read once at start-up.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    /// The app's DNS servers (or `--dns-server`), used unless a request names its own.
    pub servers: ServerList,
    pub settings: AppSettings,
    /// Consulted before the app's servers, as the app would; skipped with explicit servers.
    pub hosts_file: Option<PathBuf>,
}

/// Where the probe's overall timeout came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutSource {
    /// The module's own default (the checklist's 21 s TCP timeout, 3 s per DNS server).
    Module,
    /// `timeout=` in the request.
    Parameter,
    /// Prometheus' `X-Prometheus-Scrape-Timeout-Seconds` minus the margin, shorter than either.
    ScrapeHeader,
}

impl TimeoutSource {
    pub const ALL: [TimeoutSource; 3] = [Self::Module, Self::Parameter, Self::ScrapeHeader];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Module => "module",
            Self::Parameter => "parameter",
            Self::ScrapeHeader => "scrape_header",
        }
    }
}

/// What blackbox_exporter leaves the scraper to receive the answer in.
pub const SCRAPE_MARGIN: Duration = Duration::from_millis(500);

/// The timeouts that applied to one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The whole probe ends by then.
    pub total: Duration,
    pub source: TimeoutSource,
    /// Each DNS server gets this long (`None`: no DNS for an address literal).
    pub dns_per_server: Option<Duration>,
    /// The TCP connect gets this long (`None`: the dns module connects nowhere).
    pub connect: Option<Duration>,
}

/// Splits the overall timeout between the stages so that the probe never outlives it: every
/// DNS server may be asked in turn, then a connect follows.
pub fn budget(req: &ProbeRequest, ctx: &ProbeContext, scrape_timeout: Option<Duration>) -> Budget {
    let servers = if req.dns_servers.is_empty() { ctx.servers.servers.len() } else { req.dns_servers.len() };
    let dns_default = ctx.servers.timeout(None);
    let needs_dns = matches!(req.target.host, Host::Name(_));
    let module_total = match req.module {
        Module::Dns => dns_default * servers.max(1) as u32,
        Module::Tcp | Module::Check => tcp::WINDOWS_CONNECT_TIMEOUT,
    };
    let header = scrape_timeout.map(|t| t.saturating_sub(SCRAPE_MARGIN).max(Duration::from_millis(100)));
    let (mut total, mut source) = match req.timeout {
        Some(asked) => (asked, TimeoutSource::Parameter),
        None => (module_total, TimeoutSource::Module),
    };
    if let Some(header) = header.filter(|h| *h < total) {
        (total, source) = (header, TimeoutSource::ScrapeHeader);
    }
    let connects = req.module != Module::Dns;
    let dns_per_server = needs_dns.then(|| {
        let shares = servers.max(1) as u32 + u32::from(connects);
        dns_default.min(total / shares)
    });
    let connect = connects.then(|| total.saturating_sub(dns_per_server.unwrap_or_default() * servers as u32));
    Budget { total, source, dns_per_server, connect }
}

/// What the engine reported, by module.
#[derive(Debug, Clone)]
pub enum Report {
    Tcp(Box<Attempt>),
    Dns { query: QueryTarget, lookup: Box<Lookup> },
    Check(Box<TargetReport>),
}

/// One finished probe.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// `None` when the engine overran the budget and was cut (it should never).
    pub report: Option<Report>,
    pub budget: Budget,
    pub elapsed: Duration,
}

impl ProbeResult {
    pub fn success(&self) -> bool {
        match &self.report {
            None => false,
            Some(Report::Tcp(a)) => a.succeeded(),
            Some(Report::Dns { lookup, .. }) => lookup.result().is_ok(),
            Some(Report::Check(r)) => !r.failed,
        }
    }
}

/// A probe may overrun its budget by this much before it is cut: the engine's own timeouts
/// fire first, this only guards against a stage that would not.
const CUT_SLACK: Duration = Duration::from_millis(200);

fn servers_for(req: &ProbeRequest, ctx: &ProbeContext) -> (ServerList, Option<PathBuf>) {
    if req.dns_servers.is_empty() {
        (ctx.servers.clone(), ctx.hosts_file.clone())
    } else {
        (ServerList::explicit(req.dns_servers.clone()), None)
    }
}

/// Runs the probe `req` asks for within `budget`.
pub async fn run(req: &ProbeRequest, ctx: &ProbeContext, budget: Budget) -> ProbeResult {
    let start = Instant::now();
    let (servers, hosts_file) = servers_for(req, ctx);
    let dns_timeout = budget.dns_per_server.unwrap_or(Duration::from_millis(1));
    let connect_timeout = budget.connect.unwrap_or(Duration::from_millis(1));
    let engine = async {
        match req.module {
            Module::Tcp => {
                let resolver = Resolver { servers, timeout: dns_timeout, hosts_file };
                let opts = ConnectOptions { timeout: connect_timeout, ..ConnectOptions::default() };
                Report::Tcp(Box::new(tcpprobe::attempt(1, &req.target, req.family, &resolver, &opts).await))
            }
            Module::Dns => {
                let query = match &req.target.host {
                    Host::Name(name) => QueryTarget::Name(name.clone()),
                    Host::Ip(ip) => QueryTarget::Reverse(*ip),
                };
                let opts = LookupOptions {
                    timeout: dns_timeout,
                    family: req.family,
                    hosts_file,
                    all_servers: true,
                    ..LookupOptions::default()
                };
                let lookup = dns::lookup(&query, &req.family.kinds(), &servers, &opts).await;
                Report::Dns { query, lookup: Box::new(lookup) }
            }
            Module::Check => {
                let opts = CheckOptions {
                    connect_timeout,
                    dns_timeout: Some(dns_timeout),
                    hosts_file,
                    max_parallel: 1,
                    ..CheckOptions::default()
                };
                // Routes are read per probe: an exporter lives for weeks while routes change.
                let run = RunContext::new(opts, ctx.settings.clone(), servers);
                Report::Check(Box::new(check::check_target(&req.target, &run).await))
            }
        }
    };
    let report = tokio::time::timeout(budget.total + CUT_SLACK, engine).await.ok();
    ProbeResult { report, budget, elapsed: start.elapsed() }
}

/// The address a probe connected to, or would have: for the probed address's class and family.
pub fn probed_address(result: &ProbeResult) -> Option<SocketAddr> {
    match result.report.as_ref()? {
        Report::Tcp(a) => a.remote,
        Report::Dns { .. } => None,
        Report::Check(r) => r.primary_address().map(|a| SocketAddr::new(a.address, r.port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::parse_query;

    fn ctx(servers: usize) -> ProbeContext {
        let list = ServerList::explicit(vec!["127.0.0.1:53".parse().unwrap(); servers]);
        ProbeContext { servers: list, settings: AppSettings::default(), hosts_file: None }
    }

    #[test]
    fn budget_never_outlives_the_scrape() {
        let secs = Duration::from_secs;
        let b = budget(&parse_query("target=127.0.0.1:1").unwrap(), &ctx(1), None);
        assert_eq!(
            (b.total, b.source, b.dns_per_server, b.connect),
            (secs(21), TimeoutSource::Module, None, Some(secs(21)))
        );
        let b = budget(&parse_query("target=a.test").unwrap(), &ctx(2), Some(secs(10)));
        assert_eq!((b.total, b.source), (Duration::from_millis(9500), TimeoutSource::ScrapeHeader));
        assert_eq!(b.dns_per_server, Some(secs(3)));
        assert_eq!(b.connect, Some(Duration::from_millis(3500)));
        let b = budget(&parse_query("target=a.test&timeout=2s&module=tcp").unwrap(), &ctx(1), Some(secs(10)));
        assert_eq!(
            (b.total, b.source, b.dns_per_server, b.connect),
            (secs(2), TimeoutSource::Parameter, Some(secs(1)), Some(secs(1)))
        );
        let b = budget(&parse_query("target=a.test&module=dns").unwrap(), &ctx(3), Some(secs(3)));
        assert_eq!(
            (b.total, b.source, b.connect),
            (Duration::from_millis(2500), TimeoutSource::ScrapeHeader, None)
        );
        assert!(b.dns_per_server.unwrap() * 3 <= Duration::from_millis(2500));
        // A header shorter than the margin still leaves the probe a moment.
        let b = budget(&parse_query("target=127.0.0.1").unwrap(), &ctx(0), Some(Duration::from_millis(300)));
        assert_eq!(b.total, Duration::from_millis(100));
    }
}

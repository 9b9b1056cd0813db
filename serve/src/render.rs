//! The metrics renderer of one probe: from the engine's report to a prometheus-client
//! [`Registry`], encoded in the Prometheus text format or OpenMetrics; and the human report that
//! `debug=true` returns. Both write to any `io::Write`, like the other renderers.
//!
//! Every label value is bounded: classes, finding ids, severities and outcomes are fixed sets;
//! `server` is what the scrape config or the app's settings chose.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use netdiag_common::check::TargetReport;
use netdiag_common::classify::classify;
use netdiag_common::dns::Outcome;
use netdiag_common::report::{nameresolver, netdiag as check_report, tcpping};
use netdiag_common::tcp::FailureClass;
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::params::ProbeRequest;
use crate::probe::{ProbeResult, Report, probed_address};

/// The exposition format the scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, what Prometheus falls back to and humans read.
    Prometheus,
    /// `application/openmetrics-text`, when the Accept header asks for it.
    OpenMetrics,
}

impl Format {
    /// Picks OpenMetrics only when the client names it, as Go exporters do.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => prometheus_text::CONTENT_TYPE,
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Encodes `registry` in `format` to `w`.
pub fn write_registry(w: &mut dyn Write, registry: &Registry, format: Format) -> io::Result<()> {
    let mut encoded = String::new();
    match format {
        Format::Prometheus => prometheus_text::encode(&mut encoded, registry),
        Format::OpenMetrics => text::encode(&mut encoded, registry),
    }
    .map_err(|_| io::Error::other("cannot encode the metrics"))?;
    w.write_all(encoded.as_bytes())
}

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Extra `probe_failure_info` classes beside the engine's [`FailureClass`] ids.
pub const EXTRA_FAILURE_CLASSES: [&str; 3] = [
    // The engine overran the probe's timeout and was cut (it should not happen).
    "deadline_exceeded",
    // check: an address was not probed (unspecified, multicast, documentation).
    "not_probed",
    // check: every stage worked but a finding is a failure; see netdiag_finding.
    "finding",
];

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

struct Builder {
    registry: Registry,
}

impl Builder {
    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        let g = FloatGauge::default();
        g.set(value);
        self.registry.register(name, help, g);
    }

    fn family(&mut self, name: &str, help: &str, series: Vec<(Labels, f64)>) {
        if series.is_empty() {
            return;
        }
        let family = Family::<Labels, FloatGauge>::default();
        for (labels, value) in series {
            family.get_or_create(&labels).set(value);
        }
        self.registry.register(name, help, family);
    }
}

/// Status id of one DNS server's outcome, as `netdiag check --json` spells it.
pub fn outcome_id(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Answered { .. } => "answered",
        Outcome::TimedOut { .. } => "timed_out",
        Outcome::Refused => "refused",
        Outcome::Referral { .. } => "referral",
        Outcome::ServFail => "serv_fail",
        Outcome::OtherResponseCode { .. } => "other_response_code",
        Outcome::NetworkError { .. } => "network_error",
        Outcome::Malformed { .. } => "malformed",
        Outcome::Interrupted { .. } => "interrupted",
    }
}

/// One DNS server asked: address, outcome id, time.
struct ServerRow {
    server: SocketAddr,
    outcome: &'static str,
    elapsed: Duration,
}

fn server_rows(report: &Report) -> Vec<ServerRow> {
    let row = |a: &netdiag_common::dns::ServerAttempt| ServerRow {
        server: a.server,
        outcome: outcome_id(&a.outcome),
        elapsed: a.elapsed,
    };
    match report {
        Report::Tcp(a) => a.dns.as_ref().map(|d| d.servers.iter().map(row).collect()).unwrap_or_default(),
        Report::Dns { lookup, .. } => lookup.attempts.iter().map(row).collect(),
        Report::Check(r) => r
            .dns
            .as_ref()
            .map(|d| {
                d.servers
                    .iter()
                    .map(|s| ServerRow { server: s.server, outcome: s.status, elapsed: s.elapsed })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn check_failure_class(r: &TargetReport) -> &'static str {
    if r.name_unresolved() {
        return r.dns.as_ref().and_then(|d| d.class).unwrap_or(FailureClass::DnsFailed.id());
    }
    if let Some(class) = r.addresses.iter().filter_map(|a| a.tcp.as_ref()).find_map(|t| t.class) {
        return class;
    }
    if r.addresses.iter().any(|a| a.tcp.is_none()) {
        return "not_probed";
    }
    "finding"
}

/// The failure class of a failed probe (`None` when it succeeded).
pub fn failure_class(result: &ProbeResult) -> Option<&'static str> {
    if result.success() {
        return None;
    }
    Some(match result.report.as_ref() {
        None => "deadline_exceeded",
        Some(Report::Tcp(a)) => a.result.as_ref().err().map_or("finding", |f| f.kind().id()),
        Some(Report::Dns { lookup, .. }) => {
            lookup.result().err().map_or(FailureClass::DnsFailed.id(), |e| FailureClass::from_lookup(&e).id())
        }
        Some(Report::Check(r)) => check_failure_class(r),
    })
}

fn dns_time(report: &Report) -> Duration {
    match report {
        Report::Tcp(a) => a.resolve_time.unwrap_or_default(),
        Report::Dns { lookup, .. } => lookup.elapsed,
        Report::Check(r) => r.dns.as_ref().map(|d| d.elapsed).unwrap_or_default(),
    }
}

/// (connect time, kernel RTT) of the probed connection.
fn tcp_times(report: &Report) -> (Option<Duration>, Option<Duration>) {
    match report {
        Report::Tcp(a) => (a.remote.map(|_| a.connect_time), a.kernel_rtt),
        Report::Dns { .. } => (None, None),
        Report::Check(r) => match r.primary_address().and_then(|a| a.tcp.as_ref()) {
            Some(t) => (Some(t.elapsed), t.kernel_rtt),
            None => (None, None),
        },
    }
}

fn address_of(result: &ProbeResult) -> Option<IpAddr> {
    if let Some(Report::Dns { lookup, .. }) = &result.report {
        return lookup.answer.as_ref().and_then(|a| a.addresses.first().copied());
    }
    probed_address(result).map(|a| a.ip())
}

/// Builds the registry of one probe's metrics.
pub fn probe_registry(result: &ProbeResult) -> Registry {
    let mut b = Builder { registry: Registry::default() };
    b.gauge(
        "probe_success",
        "Whether the probe succeeded (check: no finding is a failure)",
        f64::from(u8::from(result.success())),
    );
    b.gauge("probe_duration_seconds", "How long the probe took", secs(result.elapsed));
    let report = result.report.as_ref();
    b.gauge(
        "probe_dns_lookup_time_seconds",
        "How long name resolution took (0 for an address literal)",
        report.map(dns_time).map_or(0.0, secs),
    );
    let address = address_of(result);
    let protocol = match address {
        Some(IpAddr::V4(_)) => 4.0,
        Some(IpAddr::V6(_)) => 6.0,
        None => 0.0,
    };
    b.gauge("probe_ip_protocol", "IP version of the probed address (0: none)", protocol);
    b.family(
        "probe_failure_info",
        "Why the probe failed: one series whose class label is the failure class",
        failure_class(result).map(|c| vec![(vec![("class", c.to_owned())], 1.0)]).unwrap_or_default(),
    );
    b.family(
        "netdiag_address_info",
        "Class of the probed address (rfc1918, loopback, public, ...)",
        address.map(|ip| vec![(vec![("class", classify(ip).as_str().to_owned())], 1.0)]).unwrap_or_default(),
    );
    b.family(
        "netdiag_probe_timeout_seconds",
        "The probe's overall timeout, labelled with where it came from",
        vec![(vec![("source", result.budget.source.as_str().to_owned())], secs(result.budget.total))],
    );
    if let Some(t) = result.budget.connect {
        b.gauge("netdiag_tcp_timeout_seconds", "The TCP connect timeout that applied", secs(t));
    }
    if let Some(t) = result.budget.dns_per_server {
        b.gauge("netdiag_dns_timeout_seconds", "The timeout each DNS server was given", secs(t));
    }
    let Some(report) = report else { return b.registry };
    let (connect, rtt) = tcp_times(report);
    if let Some(connect) = connect {
        b.gauge(
            "netdiag_tcp_connect_seconds",
            "Time of the TCP connect alone, success or failure",
            secs(connect),
        );
    }
    if let Some(rtt) = rtt {
        b.gauge("netdiag_tcp_kernel_rtt_seconds", "The kernel's RTT estimate after the handshake", secs(rtt));
    }
    let rows = server_rows(report);
    b.family(
        "netdiag_dns_server_success",
        "Whether each DNS server answered, by its position in the order asked (from 1)",
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                let answered = f64::from(u8::from(r.outcome == "answered"));
                (vec![("server", r.server.to_string()), ("position", (i + 1).to_string())], answered)
            })
            .collect(),
    );
    b.family(
        "netdiag_dns_server_duration_seconds",
        "How long each DNS server took to answer or fail",
        rows.iter().map(|r| (vec![("server", r.server.to_string())], secs(r.elapsed))).collect(),
    );
    b.family(
        "netdiag_dns_server_outcome",
        "What each DNS server did: one series per server whose outcome label says it",
        rows.iter()
            .map(|r| (vec![("server", r.server.to_string()), ("outcome", r.outcome.to_owned())], 1.0))
            .collect(),
    );
    if let Report::Check(r) = report {
        b.family(
            "netdiag_finding",
            "One series per finding of the checklist, by id and severity",
            r.findings
                .iter()
                .map(|f| {
                    (
                        vec![("id", f.id.as_str().to_owned()), ("severity", f.severity.as_str().to_owned())],
                        1.0,
                    )
                })
                .collect(),
        );
    }
    b.registry
}

/// The probe's metrics, encoded.
pub fn write_probe_metrics(w: &mut dyn Write, result: &ProbeResult, format: Format) -> io::Result<()> {
    write_registry(w, &probe_registry(result), format)
}

/// What `debug=true` returns: the request, the timeouts that applied, the human report of the
/// probe (what `netdiag check`, `tcpping` or `nameresolver` print) and the metrics.
pub fn write_debug(w: &mut dyn Write, req: &ProbeRequest, result: &ProbeResult) -> io::Result<()> {
    let budget = &result.budget;
    writeln!(w, "Probe: module {} target {}", req.module.as_str(), req.target)?;
    write!(w, "Timeout: {} ({})", humantime::format_duration(budget.total), budget.source.as_str())?;
    if let Some(t) = budget.dns_per_server {
        write!(w, ", DNS {} per server", humantime::format_duration(t))?;
    }
    if let Some(t) = budget.connect {
        write!(w, ", TCP connect {}", humantime::format_duration(t))?;
    }
    writeln!(w, "\n")?;
    match &result.report {
        None => writeln!(w, "The probe overran its timeout and was cut.")?,
        Some(Report::Check(r)) => check_report::write_target_text(w, r, false)?,
        Some(Report::Tcp(a)) => {
            let mut w = &mut *w;
            tcpping::render_attempt_text(&mut w, &req.target.to_string(), a, None)?;
        }
        Some(Report::Dns { query, lookup }) => {
            let text = nameresolver::TextOptions { all_servers: true, ..Default::default() };
            nameresolver::render_text(w, query, lookup, text)?
        }
    }
    writeln!(
        w,
        "\nProbe {} in {:.3}s",
        if result.success() { "succeeded" } else { "failed" },
        result.elapsed.as_secs_f64()
    )?;
    writeln!(w, "\nMetrics that would have been returned:")?;
    write_probe_metrics(w, result, Format::Prometheus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_class_is_a_valid_label_value() {
        let ids: Vec<&str> = FailureClass::ALL.iter().map(|c| c.id()).chain(EXTRA_FAILURE_CLASSES).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert!(ids.iter().all(|i| i.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }

    #[test]
    fn every_label_value_is_documented_in_the_serve_page() {
        let section = include_str!("../../docs/serve.md");
        let values = FailureClass::ALL
            .iter()
            .map(|c| c.id())
            .chain(EXTRA_FAILURE_CLASSES)
            .chain(crate::probe::TimeoutSource::ALL.map(|s| s.as_str()))
            .chain([
                "answered",
                "timed_out",
                "refused",
                "serv_fail",
                "other_response_code",
                "network_error",
                "malformed",
            ])
            .chain(["bad_request", "not_allowed", "unauthorized", "overloaded", "shutting_down"]);
        for value in values {
            assert!(section.contains(&format!("`{value}`")), "docs/serve.md does not document {value}");
        }
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1")), Format::Prometheus);
        let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.3";
        assert_eq!(Format::from_accept(Some(prometheus3)), Format::OpenMetrics);
    }
}

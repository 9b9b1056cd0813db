//! tcpping output. Text keeps the line shapes of Azure's tcpping.exe (`Connected to ...`,
//! `Connection attempt failed: ...`, `Complete: ...`) and adds one statistics line and one
//! failure-count line. JSON is NDJSON: one `attempt` record per attempt and one `summary`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::dns::{AnsweredBy, Outcome, ServerAttempt};
use crate::millis::ms;
use crate::probe::{Attempt, AttemptFailure, RunRecord};

use super::envelope::{Envelope, Tool};

/// Version of the JSON records; bumped when a field changes meaning or disappears.
pub const JSON_SCHEMA: u32 = super::envelope::TCPPING_SCHEMA;

/// Milliseconds with sub-millisecond precision where it matters: 3 decimals below 10 ms,
/// 2 below 1 s, 1 above (the original printed whole milliseconds and `<1ms`).
pub fn format_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.3}ms")
    } else if ms < 1000.0 {
        format!("{ms:.2}ms")
    } else {
        format!("{ms:.1}ms")
    }
}

/// A percentage without decimals when whole, otherwise with up to two.
fn format_pct(pct: f64) -> String {
    let text = format!("{pct:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `target` is the target as the user typed it (`host:port`); the resolved address is not
/// printed, as in the original, except that ` [new IP a.b.c.d]` marks the attempt where DNS
/// started answering with a different address (`new_ip`, from [`RunRecord::new_address`]).
pub fn render_attempt_text(
    w: &mut impl Write,
    target: &str,
    attempt: &Attempt,
    new_ip: Option<IpAddr>,
) -> io::Result<()> {
    match &attempt.result {
        Ok(()) => {
            write!(w, "Connected to {target}, time taken: {}", format_ms(attempt.connect_time))?;
            if attempt.reset_by_peer {
                write!(
                    w,
                    ", then reset by the peer (it accepted and closed at once: look at the application or a proxy in front of it)"
                )?;
            }
        }
        Err(failure) => {
            write!(w, "Connection attempt failed: {failure} [{}]: {}", failure.kind(), failure.hint())?;
        }
    }
    match new_ip {
        Some(ip) => writeln!(w, " [new IP {ip}]"),
        None => writeln!(w),
    }
}

/// The original's `Complete:` line, then one statistics line and the failures by class.
pub fn render_summary_text(w: &mut impl Write, run: &RunRecord) -> io::Result<()> {
    let tally = run.tally;
    let timings = run.timings();
    let average = timings.map_or_else(|| "0ms".to_owned(), |t| format_ms(t.avg));
    writeln!(
        w,
        "Complete: {}/{} successful attempts ({}%). Average success time: {average}",
        tally.successes,
        tally.attempts,
        format_pct(tally.success_pct())
    )?;
    let loss =
        format!("loss = {}% ({}/{} failed)", format_pct(tally.loss_pct()), tally.failures(), tally.attempts);
    match timings {
        Some(t) => {
            let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
            writeln!(
                w,
                "Statistics: min/avg/max/mdev = {}/{}/{}/{} ms, p50 = {} ms, p95 = {} ms, {loss}",
                ms(t.min),
                ms(t.avg),
                ms(t.max),
                ms(t.mdev),
                ms(t.p50),
                ms(t.p95)
            )?;
        }
        None => writeln!(w, "Statistics: no successful attempt, {loss}")?,
    }
    if run.failures.is_empty() {
        writeln!(w, "Failures: none")?;
    } else {
        let parts: Vec<String> = run.failures.iter().map(|(class, n)| format!("{class} {n}")).collect();
        writeln!(w, "Failures: {}", parts.join(", "))?;
    }
    if let Some(timeout) = run.timeout {
        writeln!(w, "Timeout: {} per attempt", crate::wording::seconds(timeout))?;
    }
    if let Some(waited) = run.abandoned_after {
        writeln!(
            w,
            "Interrupted: attempt {} had waited {} with no answer yet (not counted)",
            run.tally.attempts + 1,
            format_ms(waited)
        )?;
    }
    Ok(())
}

/// One NDJSON `attempt` record.
#[derive(Debug, Serialize)]
pub struct AttemptRecord<'a> {
    /// `timestamp` is when the attempt ended.
    #[serde(flatten)]
    pub envelope: Envelope,
    pub seq: u64,
    pub target: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub success: bool,
    pub remote: Option<String>,
    pub local: Option<String>,
    pub resolve_ms: Option<f64>,
    pub connect_ms: Option<f64>,
    /// The kernel's own RTT estimate for the handshake (Linux, successful attempts only).
    pub kernel_rtt_ms: Option<f64>,
    /// Connected, then the peer reset the connection at once.
    pub reset_by_peer: bool,
    pub class: Option<&'static str>,
    pub error: Option<String>,
    pub hint: Option<&'static str>,
    /// Who gave the address: a server's `ip:port` or "hosts file"; null for an address
    /// literal or when nobody answered.
    pub dns_server: Option<String>,
    /// On a DNS failure, every server asked, in order, with its outcome and time.
    pub dns_servers: Option<Vec<DnsServerRecord<'a>>>,
}

/// One DNS server's part in a failed resolution.
#[derive(Debug, Serialize)]
pub struct DnsServerRecord<'a> {
    pub server: String,
    /// `status` (`timed_out`, `serv_fail`, `refused`, `answered`, ...) and its details.
    #[serde(flatten)]
    pub outcome: &'a Outcome,
    /// The outcome in words, as check's and nameresolver's server records give it.
    pub detail: String,
    pub elapsed_ms: f64,
}

impl<'a> DnsServerRecord<'a> {
    fn new(attempt: &'a ServerAttempt) -> Self {
        Self {
            server: attempt.server.to_string(),
            outcome: &attempt.outcome,
            detail: attempt.outcome.describe(),
            elapsed_ms: ms(attempt.elapsed),
        }
    }
}

impl<'a> AttemptRecord<'a> {
    pub fn new(target: &'a crate::target::Target, display: &'a str, attempt: &'a Attempt) -> Self {
        let failure = attempt.result.as_ref().err();
        Self {
            envelope: Envelope::new(Tool::Tcpping, "attempt"),
            seq: attempt.seq,
            target: display,
            host: &target.display_host,
            port: target.port.get(),
            success: attempt.succeeded(),
            remote: attempt.remote.map(|a| a.to_string()),
            local: attempt.local.map(|a| a.to_string()),
            resolve_ms: attempt.resolve_time.map(ms),
            // No connect happens when the name did not resolve.
            connect_ms: attempt.remote.map(|_| ms(attempt.connect_time)),
            kernel_rtt_ms: attempt.kernel_rtt.map(ms),
            reset_by_peer: attempt.reset_by_peer,
            class: failure.map(|f| f.kind().id()),
            error: failure.map(ToString::to_string),
            hint: failure.map(|f| f.hint()),
            dns_server: attempt.dns.as_ref().and_then(|dns| match &dns.answered_by {
                AnsweredBy::Server { server } => Some(server.to_string()),
                AnsweredBy::HostsFile { .. } => Some("hosts file".to_owned()),
                AnsweredBy::Nobody => None,
            }),
            dns_servers: match (failure, &attempt.dns) {
                (Some(AttemptFailure::Resolve(_)), Some(dns)) => {
                    Some(dns.servers.iter().map(DnsServerRecord::new).collect())
                }
                _ => None,
            },
        }
    }
}

/// The NDJSON `summary` record.
#[derive(Debug, Serialize)]
pub struct SummaryRecord<'a> {
    /// `timestamp` is when the run ended.
    #[serde(flatten)]
    pub envelope: Envelope,
    pub target: &'a str,
    pub attempts: u64,
    pub successes: u64,
    pub failures: u64,
    pub loss_pct: f64,
    pub min_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mdev_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub failures_by_class: BTreeMap<&'static str, u64>,
    pub interrupted: bool,
    /// How long the attempt in flight at Ctrl-C had waited (not counted); null otherwise.
    pub abandoned_after_ms: Option<f64>,
    /// The connect timeout that really applied to each attempt.
    pub timeout_ms: Option<f64>,
}

impl<'a> SummaryRecord<'a> {
    pub fn new(display: &'a str, run: &RunRecord) -> Self {
        let t = run.timings();
        Self {
            envelope: Envelope::new(Tool::Tcpping, "summary"),
            target: display,
            attempts: run.tally.attempts,
            successes: run.tally.successes,
            failures: run.tally.failures(),
            loss_pct: (run.tally.loss_pct() * 100.0).round() / 100.0,
            min_ms: t.map(|t| ms(t.min)),
            avg_ms: t.map(|t| ms(t.avg)),
            max_ms: t.map(|t| ms(t.max)),
            mdev_ms: t.map(|t| ms(t.mdev)),
            p50_ms: t.map(|t| ms(t.p50)),
            p95_ms: t.map(|t| ms(t.p95)),
            p99_ms: t.map(|t| ms(t.p99)),
            jitter_ms: t.map(|t| ms(t.jitter)),
            failures_by_class: run.failures.iter().map(|(class, n)| (class.id(), *n)).collect(),
            interrupted: run.interrupted,
            abandoned_after_ms: run.abandoned_after.map(ms),
            timeout_ms: run.timeout.map(ms),
        }
    }
}

pub fn render_attempt_json(
    w: &mut impl Write,
    target: &crate::target::Target,
    display: &str,
    attempt: &Attempt,
) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &AttemptRecord::new(target, display, attempt))?;
    writeln!(w)
}

pub fn render_summary_json(w: &mut impl Write, display: &str, run: &RunRecord) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &SummaryRecord::new(display, run))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::ConnectFailure;

    fn attempt(seq: u64, micros: u64, result: Result<(), AttemptFailure>) -> Attempt {
        Attempt {
            seq,
            resolve_time: None,
            remote: Some("127.0.0.1:80".parse().unwrap()),
            local: Some("127.0.0.1:40000".parse().unwrap()),
            connect_time: Duration::from_micros(micros),
            kernel_rtt: None,
            reset_by_peer: false,
            result,
            dns: None,
        }
    }

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ms_precision_table() {
        let cases = [
            (Duration::from_micros(412), "0.412ms"),
            (Duration::from_micros(9_999), "9.999ms"),
            (Duration::from_micros(88_250), "88.25ms"),
            (Duration::from_millis(21_000), "21000.0ms"),
            (Duration::ZERO, "0.000ms"),
        ];
        for (d, want) in cases {
            assert_eq!(format_ms(d), want);
        }
    }

    #[test]
    fn pct_table() {
        for (pct, want) in [(100.0, "100"), (75.0, "75"), (0.0, "0"), (100.0 / 3.0, "33.33"), (12.5, "12.5")]
        {
            assert_eq!(format_pct(pct), want);
        }
    }

    #[test]
    fn text_keeps_the_original_line_shapes() {
        let ok = attempt(1, 412, Ok(()));
        assert_eq!(
            text(|w| render_attempt_text(w, "db.example:1433", &ok, None)),
            "Connected to db.example:1433, time taken: 0.412ms\n"
        );
        let refused = attempt(2, 50, Err(ConnectFailure::Refused.into()));
        assert_eq!(
            text(|w| render_attempt_text(w, "db.example:1433", &refused, None)),
            "Connection attempt failed: connection refused [refused]: the host answered, but nothing listens on that port (or a firewall rejects it)\n"
        );
        let reset = Attempt { reset_by_peer: true, ..ok.clone() };
        assert!(
            text(|w| render_attempt_text(w, "db.example:1433", &reset, None))
                .starts_with("Connected to db.example:1433, time taken: 0.412ms, then reset by the peer"),
        );
        assert_eq!(
            text(|w| render_attempt_text(w, "db.example:1433", &ok, Some("127.0.0.2".parse().unwrap()))),
            "Connected to db.example:1433, time taken: 0.412ms [new IP 127.0.0.2]\n"
        );
        let mut run = RunRecord { timeout: Some(Duration::from_millis(2500)), ..RunRecord::default() };
        for a in [&ok, &refused, &attempt(3, 600, Ok(())), &attempt(4, 2_000, Ok(()))] {
            run.record(a);
        }
        assert_eq!(
            text(|w| render_summary_text(w, &run)),
            "Complete: 3/4 successful attempts (75%). Average success time: 1.004ms\n\
             Statistics: min/avg/max/mdev = 0.412/1.004/2.000/0.708 ms, p50 = 0.600 ms, p95 = 2.000 ms, loss = 25% (1/4 failed)\n\
             Failures: refused 1\n\
             Timeout: 2.5 s per attempt\n"
        );
        let v: serde_json::Value =
            serde_json::from_str(&text(|w| render_summary_json(w, "db.example:1433", &run))).unwrap();
        assert_eq!(v["timeout_ms"], 2500.0);
    }

    #[test]
    fn all_failed_summary_matches_the_original() {
        let mut run = RunRecord::default();
        run.record(&attempt(1, 3_000_000, Err(ConnectFailure::TimedOut(Duration::from_secs(3)).into())));
        let out = text(|w| render_summary_text(w, &run));
        assert!(
            out.starts_with("Complete: 0/1 successful attempts (0%). Average success time: 0ms\n"),
            "{out}"
        );
        assert!(out.contains("Statistics: no successful attempt, loss = 100% (1/1 failed)\n"), "{out}");
        assert!(out.ends_with("Failures: timed_out 1\n"), "{out}");
    }

    #[test]
    fn json_records() {
        let target =
            crate::target::Target::parse("127.0.0.1:80", None, crate::target::Port::new(80).unwrap())
                .unwrap();
        let failed = attempt(2, 1_500, Err(ConnectFailure::Refused.into()));
        let line = text(|w| render_attempt_json(w, &target, "127.0.0.1:80", &failed));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "attempt");
        assert_eq!(v["schema"], JSON_SCHEMA);
        assert_eq!(v["tool"], "tcpping");
        assert_eq!(v["seq"], 2);
        assert_eq!(v["success"], false);
        assert_eq!(v["class"], "refused");
        assert_eq!(v["connect_ms"], 1.5);
        assert_eq!(v["resolve_ms"], serde_json::Value::Null);
        assert_eq!(v["local"], "127.0.0.1:40000");
        assert_eq!(v["dns_server"], serde_json::Value::Null);
        assert_eq!(v["dns_servers"], serde_json::Value::Null);

        let timed_out = Attempt {
            remote: None,
            local: None,
            resolve_time: Some(Duration::from_millis(200)),
            result: Err(AttemptFailure::Resolve(crate::probe::ResolveFailure {
                name: "x.test".into(),
                family: crate::dns::Family::Any,
                timeout: Duration::from_millis(200),
                source: "command line".into(),
                error: crate::dns::LookupError::AllServersFailed { name: "x.test".into(), attempts: vec![] },
            })),
            dns: Some(crate::probe::DnsTrace {
                answered_by: AnsweredBy::Nobody,
                servers: vec![ServerAttempt {
                    failed_types: vec![],
                    server: "127.0.0.1:5353".parse().unwrap(),
                    outcome: Outcome::TimedOut { after: Duration::from_millis(200), ignored_replies: 0 },
                    elapsed: Duration::from_micros(200_400),
                    queries: vec![],
                    answer: None,
                }],
                elapsed: Duration::from_millis(200),
            }),
            ..failed.clone()
        };
        let v: serde_json::Value =
            serde_json::from_str(&text(|w| render_attempt_json(w, &target, "x.test:80", &timed_out)))
                .unwrap();
        assert_eq!(v["connect_ms"], serde_json::Value::Null);
        assert_eq!(v["resolve_ms"], 200.0);
        assert_eq!(
            v["dns_servers"],
            serde_json::json!([{"server": "127.0.0.1:5353", "status": "timed_out", "after_ms": 200.0,
                "ignored_replies": 0, "detail": Outcome::TimedOut { after: Duration::from_millis(200), ignored_replies: 0 }.describe(),
                "elapsed_ms": 200.4}])
        );

        let mut run = RunRecord::default();
        run.record(&failed);
        let v: serde_json::Value =
            serde_json::from_str(&text(|w| render_summary_json(w, "t:1", &run))).unwrap();
        assert_eq!(v["type"], "summary");
        assert_eq!(v["loss_pct"], 100.0);
        assert_eq!(v["min_ms"], serde_json::Value::Null);
        assert_eq!(v["failures_by_class"]["refused"], 1);
    }
}

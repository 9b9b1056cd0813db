//! nameresolver output: the original's text format (plus one line per failed server and the
//! lookup time), and one JSON document.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use crate::dns::{
    Agreement, Answer, AnsweredBy, Lookup, LookupError, Outcome, PrivateLinkFinding, PrivateLinkStatus,
    QueryTarget, RecordKind, ResponseCode, ServerAttempt, ServerList, Transport,
};
use crate::millis::ms;

/// Version of the JSON document; bumped on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// How a server is named in text: the bare address on port 53, as the original prints it.
pub fn server_label(server: SocketAddr) -> String {
    if server.port() == crate::dns::servers::DNS_PORT { server.ip().to_string() } else { server.to_string() }
}

/// Milliseconds below one second, seconds above.
pub fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

fn failure_line(server: SocketAddr, outcome: &Outcome, elapsed: Duration) -> String {
    match outcome {
        Outcome::TimedOut { after, .. } => {
            format!(
                "DNS server {} {} after {}",
                server_label(server),
                outcome.describe(),
                human_duration(*after)
            )
        }
        _ => format!(
            "DNS server {} {} after {}",
            server_label(server),
            outcome.describe(),
            human_duration(elapsed)
        ),
    }
}

/// Renders `lookup` as text. `target` is what the user asked for (a reverse lookup shows the
/// address under `Addresses:`).
pub fn render_text(
    w: &mut dyn Write,
    target: &QueryTarget,
    lookup: &Lookup,
    all_servers: bool,
) -> io::Result<()> {
    for warning in &lookup.servers.warnings {
        writeln!(w, "Warning: {warning}")?;
    }
    let answering = match &lookup.answered_by {
        AnsweredBy::Server { server } => Some(*server),
        _ => None,
    };
    // In the original's order of events: the servers that failed before the answer.
    for attempt in &lookup.attempts {
        if Some(attempt.server) == answering {
            break;
        }
        writeln!(w, "{}", failure_line(attempt.server, &attempt.outcome, attempt.elapsed))?;
    }
    let server_text = match &lookup.answered_by {
        AnsweredBy::HostsFile { path } => Some(format!("hosts file ({})", path.display())),
        AnsweredBy::Server { server } => Some(server_label(*server)),
        AnsweredBy::Nobody => None,
    };
    match (lookup.result(), &server_text) {
        (Ok(answer), Some(server)) => {
            writeln!(w, "Server: {server}")?;
            writeln!(w)?;
            writeln!(
                w,
                "{}",
                if answer.authoritative { "Authoritative answer:" } else { "Non-authoritative answer:" }
            )?;
            if let QueryTarget::Reverse(ip) = target {
                let mut names = answer.records.iter().map(|r| r.data.as_str());
                writeln!(w, "Name: {}", names.next().unwrap_or_default())?;
                writeln!(w, "Addresses: ")?;
                writeln!(w, "\t{ip}")?;
                let others: Vec<&str> = names.collect();
                if !others.is_empty() {
                    writeln!(w, "Aliases: ")?;
                    for name in others {
                        writeln!(w, "\t{name}")?;
                    }
                }
            } else {
                writeln!(w, "Name: {}", answer.canonical_name)?;
                if !answer.addresses.is_empty() {
                    writeln!(w, "Addresses: ")?;
                    for addr in &answer.addresses {
                        writeln!(w, "\t{addr}")?;
                    }
                }
                let others: Vec<_> = answer
                    .records
                    .iter()
                    .filter(|r| r.kind != "A" && r.kind != "AAAA" && r.kind != "CNAME")
                    .collect();
                if !others.is_empty() {
                    writeln!(w, "Records: ")?;
                    for record in others {
                        writeln!(w, "\t{} {}", record.kind, record.data)?;
                    }
                }
                if !answer.cname_chain.is_empty() {
                    writeln!(w, "Aliases: ")?;
                    for link in &answer.cname_chain {
                        writeln!(w, "\t{}", link.target)?;
                    }
                }
            }
            if let Some(finding) = lookup.privatelink() {
                let label = match finding.status {
                    PrivateLinkStatus::Private => "Private endpoint",
                    PrivateLinkStatus::Public | PrivateLinkStatus::NoAddress => "Warning",
                };
                writeln!(w, "{label}: {}", finding.explain())?;
            }
        }
        (Err(LookupError::NxDomain { name, .. }), Some(server)) => {
            writeln!(w, "Server: {server}")?;
            writeln!(w)?;
            writeln!(w, "*** {server} can't find {name}: Non-existent domain")?;
        }
        (Err(LookupError::NoData { name, types, .. }), Some(server)) => {
            writeln!(w, "Server: {server}")?;
            writeln!(w)?;
            writeln!(w, "*** {server} can't find {name}: No {types} records (the name exists)")?;
        }
        (Err(LookupError::NoServers), _) => writeln!(
            w,
            "*** No DNS servers to ask (none configured in {}): set WEBSITE_DNS_SERVER or fix resolv.conf [no_dns_servers]",
            lookup.servers.source
        )?,
        (Err(_), _) | (Ok(_), None) => {
            let asked = lookup.attempts.len();
            let all_timed_out = lookup.attempts.iter().all(|a| matches!(a.outcome, Outcome::TimedOut { .. }));
            let why = if all_timed_out { "every DNS server timed out" } else { "no DNS server answered" };
            writeln!(
                w,
                "*** Can't find {}: {why} ({asked} asked, from {}, {} each)",
                lookup.query_name,
                lookup.servers.source,
                human_duration(lookup.timeout)
            )?;
        }
    }
    if all_servers {
        render_agreement(w, lookup)?;
    }
    writeln!(w, "Lookup time: {}", human_duration(lookup.elapsed))
}

fn render_agreement(w: &mut dyn Write, lookup: &Lookup) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "All servers: ")?;
    for attempt in &lookup.attempts {
        let what = match &attempt.answer {
            Some(answer) if answer.response_code == ResponseCode::NxDomain => "NXDOMAIN".to_owned(),
            Some(answer) if answer.records.is_empty() => "no data".to_owned(),
            Some(answer) => answer.records.iter().map(|r| r.data.as_str()).collect::<Vec<_>>().join(", "),
            None => attempt.outcome.describe(),
        };
        writeln!(w, "\t{}\t{what} ({})", server_label(attempt.server), human_duration(attempt.elapsed))?;
    }
    let agreement = lookup.agreement();
    let answered: usize = agreement.groups.iter().map(|g| g.servers.len()).sum();
    let asked = lookup.attempts.len();
    if answered == 0 {
        writeln!(w, "None of the {asked} servers answered.")?;
    } else if agreement.agree {
        writeln!(w, "{answered} of {asked} servers answered, and their answers agree.")?;
    } else {
        writeln!(
            w,
            "The servers disagree: {} different answers from {answered} servers (a private DNS zone linked to one server's network and not another's shows up here).",
            agreement.groups.len()
        )?;
    }
    Ok(())
}

/// Renders `lookup` as one JSON document (see README "JSON schema").
pub fn render_json(
    w: &mut dyn Write,
    input: &str,
    target: &QueryTarget,
    lookup: &Lookup,
    all_servers: bool,
) -> io::Result<()> {
    let result = lookup.result();
    let document = JsonDocument {
        schema_version: JSON_SCHEMA_VERSION,
        tool: "nameresolver",
        query: JsonQuery {
            input,
            name: &lookup.query_name,
            reverse_of: match target {
                QueryTarget::Reverse(ip) => Some(*ip),
                QueryTarget::Name(_) => None,
            },
            types: &lookup.types,
        },
        result: match &result {
            Ok(_) => "resolved",
            Err(e) => e.kind(),
        },
        error: result.as_ref().err().map(ToString::to_string),
        all_timed_out: result.as_ref().err().is_some_and(LookupError::all_timed_out),
        answered_by: &lookup.answered_by,
        answer: lookup.answer.as_ref(),
        privatelink: lookup.privatelink(),
        agreement: all_servers.then(|| lookup.agreement()),
        servers: &lookup.servers,
        transport: lookup.transport,
        timeout_ms: ms(lookup.timeout),
        attempts: &lookup.attempts,
        elapsed_ms: ms(lookup.elapsed),
    };
    serde_json::to_writer_pretty(&mut *w, &document).map_err(io::Error::other)?;
    writeln!(w)
}

/// The JSON document, in the order a reader wants it: verdict first, details after.
#[derive(Serialize)]
struct JsonDocument<'a> {
    schema_version: u32,
    tool: &'static str,
    query: JsonQuery<'a>,
    result: &'static str,
    error: Option<String>,
    all_timed_out: bool,
    answered_by: &'a AnsweredBy,
    answer: Option<&'a Answer>,
    privatelink: Option<PrivateLinkFinding>,
    agreement: Option<Agreement>,
    servers: &'a ServerList,
    transport: Transport,
    timeout_ms: f64,
    attempts: &'a [ServerAttempt],
    elapsed_ms: f64,
}

#[derive(Serialize)]
struct JsonQuery<'a> {
    input: &'a str,
    name: &'a str,
    reverse_of: Option<IpAddr>,
    types: &'a [RecordKind],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{CnameLink, DnsRecord, ServerSource};
    use crate::name::DomainName;

    fn server(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn answer(code: ResponseCode, authoritative: bool) -> Answer {
        Answer {
            response_code: code,
            authoritative,
            canonical_name: "final.example".into(),
            cname_chain: vec![CnameLink {
                alias: "app.example".into(),
                target: "final.example".into(),
                ttl: 60,
            }],
            records: if code == ResponseCode::NoError {
                vec![DnsRecord {
                    name: "final.example".into(),
                    kind: "A".into(),
                    ttl: 60,
                    data: "10.0.0.5".into(),
                }]
            } else {
                vec![]
            },
            addresses: if code == ResponseCode::NoError { vec!["10.0.0.5".parse().unwrap()] } else { vec![] },
        }
    }

    fn attempt(addr: &str, outcome: Outcome, answer: Option<Answer>) -> ServerAttempt {
        ServerAttempt {
            server: server(addr),
            outcome,
            elapsed: Duration::from_millis(3000),
            queries: vec![],
            answer,
        }
    }

    fn lookup(attempts: Vec<ServerAttempt>, answered_by: AnsweredBy) -> Lookup {
        let answer = attempts.iter().find_map(|a| a.answer.clone());
        Lookup {
            query_name: "app.example".into(),
            types: vec![RecordKind::A],
            servers: ServerList {
                servers: attempts.iter().map(|a| a.server).collect(),
                source: ServerSource::WebsiteDnsServer,
                env_timeout: None,
                warnings: vec![],
            },
            transport: Transport::Udp,
            timeout: Duration::from_secs(3),
            answered_by,
            attempts,
            answer,
            elapsed: Duration::from_millis(3012),
        }
    }

    fn text(lookup: &Lookup) -> String {
        let target = QueryTarget::Name(DomainName::parse("app.example").unwrap());
        let mut out = Vec::new();
        render_text(&mut out, &target, lookup, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn timed_out() -> Outcome {
        Outcome::TimedOut { after: Duration::from_millis(3001), ignored_replies: 0 }
    }

    fn answered() -> Outcome {
        Outcome::Answered {
            response_code: ResponseCode::NoError,
            authoritative: false,
            transport: Transport::Udp,
            retried_over_tcp: false,
        }
    }

    #[test]
    fn text_table() {
        let cases = [
            (
                "dead server, then an answer",
                lookup(
                    vec![
                        attempt("192.0.2.1:53", timed_out(), None),
                        attempt("127.0.0.1:53", answered(), Some(answer(ResponseCode::NoError, false))),
                    ],
                    AnsweredBy::Server { server: server("127.0.0.1:53") },
                ),
                "DNS server 192.0.2.1 timed out after 3.00s\nServer: 127.0.0.1\n\nNon-authoritative answer:\nName: final.example\nAddresses: \n\t10.0.0.5\nAliases: \n\tfinal.example\nLookup time: 3.01s\n",
            ),
            (
                "NXDOMAIN, authoritative",
                lookup(
                    vec![attempt("127.0.0.1:5353", answered(), Some(answer(ResponseCode::NxDomain, true)))],
                    AnsweredBy::Server { server: server("127.0.0.1:5353") },
                ),
                "Server: 127.0.0.1:5353\n\n*** 127.0.0.1:5353 can't find app.example: Non-existent domain\nLookup time: 3.01s\n",
            ),
            (
                "every server timed out",
                lookup(
                    vec![
                        attempt("192.0.2.1:53", timed_out(), None),
                        attempt("192.0.2.2:53", timed_out(), None),
                    ],
                    AnsweredBy::Nobody,
                ),
                "DNS server 192.0.2.1 timed out after 3.00s\nDNS server 192.0.2.2 timed out after 3.00s\n*** Can't find app.example: every DNS server timed out (2 asked, from WEBSITE_DNS_SERVER/WEBSITE_DNS_ALT_SERVER, 3.00s each)\nLookup time: 3.01s\n",
            ),
            (
                "one refused, one SERVFAIL",
                lookup(
                    vec![
                        attempt("192.0.2.1:53", Outcome::Refused, None),
                        attempt("192.0.2.2:53", Outcome::ServFail, None),
                    ],
                    AnsweredBy::Nobody,
                ),
                "DNS server 192.0.2.1 refused the query (REFUSED) after 3.00s\nDNS server 192.0.2.2 failed (SERVFAIL) after 3.00s\n*** Can't find app.example: no DNS server answered (2 asked, from WEBSITE_DNS_SERVER/WEBSITE_DNS_ALT_SERVER, 3.00s each)\nLookup time: 3.01s\n",
            ),
        ];
        for (what, lookup, want) in cases {
            assert_eq!(text(&lookup), want, "{what}");
        }
    }

    #[test]
    fn json_has_version_result_and_every_attempt() {
        let found = lookup(
            vec![
                attempt("192.0.2.1:53", timed_out(), None),
                attempt("127.0.0.1:53", answered(), Some(answer(ResponseCode::NoError, false))),
            ],
            AnsweredBy::Server { server: server("127.0.0.1:53") },
        );
        let target = QueryTarget::Name(DomainName::parse("app.example").unwrap());
        let mut out = Vec::new();
        render_json(&mut out, "app.example", &target, &found, false).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["schema_version"], JSON_SCHEMA_VERSION);
        assert_eq!(doc["result"], "resolved");
        assert_eq!(doc["attempts"][0]["outcome"]["status"], "timed_out");
        assert_eq!(doc["attempts"][0]["outcome"]["after_ms"], 3001.0);
        assert_eq!(doc["attempts"][1]["outcome"]["status"], "answered");
        assert_eq!(doc["servers"]["source"]["kind"], "website_dns_server");
        assert_eq!(doc["answer"]["cname_chain"][0]["alias"], "app.example");
    }

    #[test]
    fn durations_and_labels() {
        assert_eq!(human_duration(Duration::from_micros(1234)), "1.2ms");
        assert_eq!(human_duration(Duration::from_millis(3004)), "3.00s");
        assert_eq!(server_label(server("10.0.0.1:53")), "10.0.0.1");
        assert_eq!(server_label(server("[::1]:5353")), "[::1]:5353");
    }
}

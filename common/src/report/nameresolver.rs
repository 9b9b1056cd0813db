//! nameresolver output: the original's text format (plus one line per failed server and the
//! lookup time), and one JSON document.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use crate::dns::{
    Agreement, Answer, AnsweredBy, Lookup, LookupError, Outcome, PrivateLinkFinding, PrivateLinkStatus,
    QueryTarget, Question, RecordKind, ResponseCode, ServerAttempt, ServerList, Transport, present,
};
use crate::millis::ms;

/// Version of the JSON document; bumped on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = super::envelope::NAMERESOLVER_SCHEMA;

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

fn failure_line(attempt: &ServerAttempt) -> String {
    let after = match (&attempt.outcome, attempt.failed_types.len() >= attempt.queries.len()) {
        (Outcome::TimedOut { after, .. }, true) => *after,
        _ => attempt.elapsed,
    };
    format!(
        "DNS server {} {} after {}",
        server_label(attempt.server),
        attempt.describe(),
        human_duration(after)
    )
}

/// How the text report looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Compare every server's answer (`--all-servers`).
    pub all_servers: bool,
    /// Show each record's TTL (`--ttl`).
    pub ttl: bool,
}

fn with_ttl(text: &str, ttl: u32, opts: TextOptions) -> String {
    if opts.ttl { format!("{text}\t(TTL {ttl}s)") } else { text.to_owned() }
}

fn answerer_label(by: &AnsweredBy) -> Option<String> {
    match by {
        AnsweredBy::HostsFile { path } => {
            Some(format!("hosts file ({})", present::terminal_safe(&path.display().to_string())))
        }
        AnsweredBy::Server { server } => Some(server_label(*server)),
        AnsweredBy::Nobody => None,
    }
}

/// `a.example (A), b.example (AAAA)` when the questions were settled by different servers.
fn server_text(lookup: &Lookup) -> Option<String> {
    let mut by: Vec<(String, Vec<String>)> = Vec::new();
    for question in lookup.questions.iter().filter(|q| q.answer.is_some()) {
        let Some(label) = answerer_label(&question.answered_by) else { continue };
        match by.iter_mut().find(|(l, _)| *l == label) {
            Some((_, kinds)) => kinds.push(question.kind.to_string()),
            None => by.push((label, vec![question.kind.to_string()])),
        }
    }
    if by.len() > 1 {
        return Some(by.iter().map(|(l, k)| format!("{l} ({})", k.join("/"))).collect::<Vec<_>>().join(", "));
    }
    answerer_label(&lookup.answered_by)
}

fn render_chain(w: &mut dyn Write, answer: &Answer, opts: TextOptions) -> io::Result<()> {
    if answer.cname_chain.is_empty() {
        return Ok(());
    }
    writeln!(w, "Aliases: ")?;
    for link in &answer.cname_chain {
        writeln!(w, "\t{}", with_ttl(&link.alias, link.ttl, opts))?;
    }
    let mut chain: Vec<&str> = answer.cname_chain.iter().map(|l| l.alias.as_str()).collect();
    chain.push(&answer.canonical_name);
    let dnames: Vec<&str> = answer.cname_chain.iter().filter_map(|l| l.dname.as_deref()).collect();
    let via = if dnames.is_empty() { String::new() } else { format!(" (DNAME {})", dnames.join(", ")) };
    writeln!(w, "Chain: {}{via}", chain.join(" -> "))?;
    if let Some(end) = &answer.chain_end {
        writeln!(w, "Chain stops: {}", end.explain())?;
    }
    Ok(())
}

fn render_authority(w: &mut dyn Write, answer: &Answer, opts: TextOptions) -> io::Result<()> {
    for record in answer.authority.iter().filter(|r| r.kind == "SOA") {
        let ttl = answer.negative_ttl.map(|t| format!(" (negative TTL {t}s)")).unwrap_or_default();
        writeln!(w, "Authority: {} SOA {}{ttl}", record.name, with_ttl(&record.data, record.ttl, opts))?;
    }
    Ok(())
}

fn render_privatelink(w: &mut dyn Write, finding: Option<PrivateLinkFinding>) -> io::Result<()> {
    if let Some(finding) = finding {
        let label = match finding.status {
            PrivateLinkStatus::Private => "Private endpoint",
            PrivateLinkStatus::Public | PrivateLinkStatus::NoAddress => "Warning",
        };
        writeln!(w, "{label}: {}", present::terminal_safe(&finding.explain()))?;
    }
    Ok(())
}

/// The privatelink judgement from the answer, or from the longest chain any server gave when
/// nothing resolved (the warning must not disappear because the name did not resolve).
fn privatelink_of(lookup: &Lookup) -> Option<PrivateLinkFinding> {
    lookup.privatelink().or_else(|| {
        let answer = lookup.longest_chain()?;
        crate::dns::privatelink_finding(&answer.chain_names(), &answer.addresses)
    })
}

/// Renders `lookup` as text. `target` is what the user asked for (a reverse lookup shows the
/// address under `Addresses:`).
pub fn render_text(
    w: &mut dyn Write,
    target: &QueryTarget,
    lookup: &Lookup,
    opts: TextOptions,
) -> io::Result<()> {
    for warning in &lookup.servers.warnings {
        writeln!(w, "Warning: {}", present::terminal_safe(warning))?;
    }
    // In the original's order of events: every server that left a question unsettled.
    for attempt in &lookup.attempts {
        let shown_in_comparison = opts.all_servers && lookup.answer.is_some();
        let cut_short = matches!(attempt.outcome, Outcome::Interrupted { .. });
        if !(attempt.failed_types.is_empty() || shown_in_comparison || cut_short) {
            writeln!(w, "{}", failure_line(attempt))?;
        }
    }
    let server_text = server_text(lookup);
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
                let mut names = answer.records.iter().map(|r| with_ttl(&r.data, r.ttl, opts));
                writeln!(w, "Name: {}", names.next().unwrap_or_default())?;
                writeln!(w, "Addresses: ")?;
                writeln!(w, "\t{ip}")?;
                let others: Vec<String> = names.collect();
                if !others.is_empty() {
                    writeln!(w, "Aliases: ")?;
                    for name in others {
                        writeln!(w, "\t{name}")?;
                    }
                }
            } else {
                writeln!(w, "Name: {}", answer.canonical_name)?;
                let addresses: Vec<_> =
                    answer.records.iter().filter(|r| r.kind == "A" || r.kind == "AAAA").collect();
                if !addresses.is_empty() {
                    writeln!(w, "Addresses: ")?;
                    for record in addresses {
                        writeln!(w, "\t{}", with_ttl(&record.data, record.ttl, opts))?;
                    }
                }
                let others: Vec<_> = answer
                    .records
                    .iter()
                    .filter(|r| match r.kind.as_str() {
                        // Addresses have their own list; the chain is shown under Aliases
                        // unless CNAME records were asked for.
                        "A" | "AAAA" => false,
                        "CNAME" => lookup.types.contains(&RecordKind::CNAME),
                        _ => true,
                    })
                    .collect();
                if !others.is_empty() {
                    writeln!(w, "Records: ")?;
                    for record in others {
                        writeln!(w, "\t{} {}", record.kind, with_ttl(&record.data, record.ttl, opts))?;
                    }
                }
                render_chain(w, answer, opts)?;
            }
            if !answer.recursion_available && matches!(lookup.answered_by, AnsweredBy::Server { .. }) {
                writeln!(w, "Note: this server does not offer recursion (RA flag not set)")?;
            }
            for kind in lookup.failed_types() {
                writeln!(
                    w,
                    "*** No server answered the {kind} question: it failed, which is not the same as no {kind} records"
                )?;
            }
        }
        (Err(LookupError::NxDomain { name, .. }), Some(server)) => {
            writeln!(w, "Server: {server}")?;
            writeln!(w)?;
            match &lookup.answer {
                Some(answer) if !answer.cname_chain.is_empty() => {
                    writeln!(
                        w,
                        "*** {server} can't find {name}: Non-existent domain (the target of an alias of {})",
                        lookup.query_name
                    )?;
                    render_chain(w, answer, opts)?;
                }
                _ => writeln!(w, "*** {server} can't find {name}: Non-existent domain")?,
            }
            if let Some(answer) = &lookup.answer {
                render_authority(w, answer, opts)?;
            }
        }
        (Err(LookupError::NoData { name, types, .. }), Some(server)) => {
            writeln!(w, "Server: {server}")?;
            writeln!(w)?;
            writeln!(w, "*** {server} can't find {name}: No {types} records (the name exists)")?;
            if let Some(answer) = &lookup.answer {
                render_chain(w, answer, opts)?;
                render_authority(w, answer, opts)?;
            }
        }
        (Err(LookupError::NoServers), _) => writeln!(
            w,
            "*** No DNS servers to ask (none configured in {}): set WEBSITE_DNS_SERVER or fix resolv.conf [no_dns_servers]",
            lookup.servers.source
        )?,
        (Err(_), _) | (Ok(_), None) => {
            let asked = lookup.attempts.len();
            let all_timed_out = lookup.attempts.iter().all(|a| matches!(a.outcome, Outcome::TimedOut { .. }));
            let failed: Vec<String> = lookup.failed_types().iter().map(ToString::to_string).collect();
            // A referral or an alias the server did not follow is a reply, not a final answer.
            let partial = lookup.attempts.iter().flat_map(|a| &a.queries).any(|q| {
                !q.is_definitive() && matches!(q.outcome, Outcome::Answered { .. } | Outcome::Referral { .. })
            });
            let why = if all_timed_out {
                "every DNS server timed out".to_owned()
            } else if failed.len() < lookup.types.len() {
                format!("no DNS server gave a usable answer to the {} question", failed.join("/"))
            } else if partial {
                "no DNS server gave a final answer".to_owned()
            } else {
                "no DNS server gave a usable answer".to_owned()
            };
            writeln!(
                w,
                "*** Can't find {}: {why} ({asked} asked, from {}, {} each)",
                lookup.query_name,
                present::terminal_safe(&lookup.servers.source.to_string()),
                human_duration(lookup.timeout)
            )?;
            if let Some(chain) = lookup.longest_chain() {
                render_chain(w, chain, opts)?;
            }
        }
    }
    render_privatelink(w, privatelink_of(lookup))?;
    if opts.all_servers {
        render_agreement(w, lookup)?;
    }
    if lookup.interrupted {
        match lookup.attempts.last().filter(|a| matches!(a.outcome, Outcome::Interrupted { .. })) {
            Some(cut) => writeln!(
                w,
                "Interrupted: DNS server {} was being asked (for {}); the servers after it were not asked",
                server_label(cut.server),
                human_duration(cut.elapsed)
            )?,
            None => writeln!(w, "Interrupted")?,
        }
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
            None => attempt.describe(),
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

/// Renders `lookup` as one JSON document (see docs/json.md).
pub fn render_json(
    w: &mut dyn Write,
    input: &str,
    target: &QueryTarget,
    lookup: &Lookup,
    all_servers: bool,
) -> io::Result<()> {
    let result = lookup.result();
    // What the user typed, inert however it was typed (JSON escapes C0, not C1 or bidi marks).
    let input = crate::sanitize::escape_for_terminal(input, 1000);
    let document = JsonDocument {
        envelope: super::envelope::Envelope::new(super::envelope::Tool::Nameresolver, "lookup"),
        schema_version: JSON_SCHEMA_VERSION,
        query: JsonQuery {
            input: &input,
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
        questions: &lookup.questions,
        failed_types: lookup.failed_types(),
        chain: lookup.longest_chain(),
        privatelink: privatelink_of(lookup),
        agreement: all_servers.then(|| lookup.agreement()),
        servers: &lookup.servers,
        transport: lookup.transport,
        timeout_ms: ms(lookup.timeout),
        attempts: lookup.attempts.iter().map(JsonAttempt::new).collect(),
        elapsed_ms: ms(lookup.elapsed),
        interrupted: lookup.interrupted,
    };
    serde_json::to_writer_pretty(&mut *w, &document).map_err(io::Error::other)?;
    writeln!(w)
}

/// The JSON document, in the order a reader wants it: verdict first, details after.
#[derive(Serialize)]
struct JsonDocument<'a> {
    /// `type`, `schema`, `tool`, `command`, `timestamp` (when the document was written).
    #[serde(flatten)]
    envelope: super::envelope::Envelope,
    /// Schema 2's name for `schema`, kept for the scripts that read it.
    schema_version: u32,
    query: JsonQuery<'a>,
    result: &'static str,
    error: Option<String>,
    all_timed_out: bool,
    answered_by: &'a AnsweredBy,
    answer: Option<&'a Answer>,
    /// Each question (type): who settled it, or `failed`.
    questions: &'a [Question],
    /// The questions no server settled: a failure, not an absence.
    failed_types: Vec<RecordKind>,
    /// The longest alias chain any server gave (with where and why it stops), even when
    /// nothing resolved.
    chain: Option<&'a Answer>,
    privatelink: Option<PrivateLinkFinding>,
    agreement: Option<Agreement>,
    servers: &'a ServerList,
    transport: Transport,
    timeout_ms: f64,
    attempts: Vec<JsonAttempt<'a>>,
    elapsed_ms: f64,
    /// Ctrl-C or SIGTERM cut the lookup short.
    interrupted: bool,
}

/// One server's attempt with the `status` and `detail` every tool's DNS server record has
/// (beside `server` and `elapsed_ms`), then this tool's details (`outcome`, `queries`, ...).
#[derive(Serialize)]
struct JsonAttempt<'a> {
    status: String,
    detail: String,
    #[serde(flatten)]
    attempt: &'a ServerAttempt,
}

impl<'a> JsonAttempt<'a> {
    fn new(attempt: &'a ServerAttempt) -> Self {
        // The status is the outcome's own serde tag, so it cannot drift from `outcome.status`.
        let status = serde_json::to_value(&attempt.outcome)
            .ok()
            .and_then(|v| v["status"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Self { status, detail: attempt.outcome.describe(), attempt }
    }
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
                dname: None,
            }],
            chain_end: None,
            recursion_available: true,
            authority: vec![],
            negative_ttl: None,
            records: if code == ResponseCode::NoError {
                vec![DnsRecord {
                    name: "final.example".into(),
                    kind: "A".into(),
                    ttl: 60,
                    data: "10.0.0.5".into(),
                    rdata_hex: "0a000005".into(),
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
            failed_types: if answer.is_some() { vec![] } else { vec![RecordKind::A] },
            queries: vec![],
            answer,
        }
    }

    fn lookup(attempts: Vec<ServerAttempt>, answered_by: AnsweredBy) -> Lookup {
        let answer = attempts.iter().find_map(|a| a.answer.clone());
        let questions = vec![Question {
            kind: RecordKind::A,
            status: if answer.is_some() { "answered" } else { "failed" },
            answered_by: answered_by.clone(),
            answer: answer.clone(),
        }];
        Lookup {
            questions,
            interrupted: false,
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
        render_text(&mut out, &target, lookup, TextOptions::default()).unwrap();
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
                "DNS server 192.0.2.1 timed out after 3.00s\nServer: 127.0.0.1\n\nNon-authoritative answer:\nName: final.example\nAddresses: \n\t10.0.0.5\nAliases: \n\tapp.example\nChain: app.example -> final.example\nLookup time: 3.01s\n",
            ),
            (
                "NXDOMAIN, authoritative",
                lookup(
                    vec![attempt("127.0.0.1:5353", answered(), Some(answer(ResponseCode::NxDomain, true)))],
                    AnsweredBy::Server { server: server("127.0.0.1:5353") },
                ),
                "Server: 127.0.0.1:5353\n\n*** 127.0.0.1:5353 can't find final.example: Non-existent domain (the target of an alias of app.example)\nAliases: \n\tapp.example\nChain: app.example -> final.example\nLookup time: 3.01s\n",
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
                "DNS server 192.0.2.1 refused the query (REFUSED) after 3.00s\nDNS server 192.0.2.2 failed (SERVFAIL) after 3.00s\n*** Can't find app.example: no DNS server gave a usable answer (2 asked, from WEBSITE_DNS_SERVER/WEBSITE_DNS_ALT_SERVER, 3.00s each)\nLookup time: 3.01s\n",
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

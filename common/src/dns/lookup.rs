//! The lookup: hosts file first (unless a server was named), then each server on its own.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::Name;
use serde::Serialize;
use tokio::time::Instant;

use super::DEFAULT_TIMEOUT;
use super::exchange::{self, Failure, Transport};
use super::hosts::{Hosts, default_hosts_path};
use super::privatelink::{PrivateLinkFinding, privatelink_finding};
use super::records::{
    Answer, CnameLink, DnsRecord, Family, QueryTarget, RecordKind, ResponseCode, answer_from,
};
use super::servers::ServerList;
use crate::name::DomainName;

/// How to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOptions {
    /// Given to each server in full.
    pub timeout: Duration,
    pub transport: Transport,
    /// Which addresses [`resolve_host`] asks for.
    pub family: Family,
    /// Consulted before any server unless the server list is explicit; `None` skips it.
    pub hosts_file: Option<PathBuf>,
    /// Ask every server even after one answered, to compare their answers.
    pub all_servers: bool,
}

impl Default for LookupOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            transport: Transport::Udp,
            family: Family::Any,
            hosts_file: Some(default_hosts_path()),
            all_servers: false,
        }
    }
}

/// What happened to one query sent to one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// A definitive answer: NOERROR (with or without data) or NXDOMAIN.
    Answered {
        response_code: ResponseCode,
        authoritative: bool,
        transport: Transport,
        /// The UDP reply was truncated and the answer came over TCP.
        retried_over_tcp: bool,
    },
    /// No acceptable reply in time; `ignored_replies` arrived with the wrong id.
    TimedOut {
        #[serde(serialize_with = "crate::millis::serialize", rename = "after_ms")]
        after: Duration,
        ignored_replies: u32,
    },
    Refused,
    ServFail,
    /// Another response code (FORMERR, NOTIMP, ...): not an answer.
    OtherResponseCode {
        response_code: String,
    },
    /// The socket failed, e.g. connection refused from an ICMP port unreachable.
    NetworkError {
        message: String,
    },
    /// A reply with our id that is not a DNS message.
    Malformed {
        message: String,
    },
}

impl Outcome {
    pub fn is_answered(&self) -> bool {
        matches!(self, Self::Answered { .. })
    }

    /// A short description for one line of text output.
    pub fn describe(&self) -> String {
        match self {
            Self::Answered { response_code, transport, retried_over_tcp, .. } => {
                let code = match response_code {
                    ResponseCode::NoError => "NOERROR",
                    ResponseCode::NxDomain => "NXDOMAIN",
                };
                let via = if *retried_over_tcp {
                    "TCP after a truncated UDP reply".to_owned()
                } else {
                    transport.to_string()
                };
                format!("answered {code} over {via}")
            }
            Self::TimedOut { ignored_replies: 0, .. } => "timed out".into(),
            Self::TimedOut { ignored_replies, .. } => {
                format!("timed out (ignored {ignored_replies} replies with a wrong message id)")
            }
            Self::Refused => "refused the query (REFUSED)".into(),
            Self::ServFail => "failed (SERVFAIL)".into(),
            Self::OtherResponseCode { response_code } => {
                format!("answered {response_code}, which is not an answer")
            }
            Self::NetworkError { message } => format!("network error: {message}"),
            Self::Malformed { message } => format!("sent a malformed reply: {message}"),
        }
    }
}

/// One record type asked of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryAttempt {
    #[serde(rename = "type")]
    pub kind: RecordKind,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
}

/// One server asked: its queries (asked together, sharing the server's timeout), the overall
/// outcome (answered if any query was answered, else the first failure) and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerAttempt {
    pub server: SocketAddr,
    pub outcome: Outcome,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
    pub queries: Vec<QueryAttempt>,
    pub answer: Option<Answer>,
}

/// Who gave the final answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnsweredBy {
    HostsFile { path: PathBuf },
    Server { server: SocketAddr },
    Nobody,
}

/// The whole story of one lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// The name sent on the wire (the arpa name for a reverse lookup), without the final dot.
    pub query_name: String,
    pub types: Vec<RecordKind>,
    pub servers: ServerList,
    pub transport: Transport,
    #[serde(serialize_with = "crate::millis::serialize", rename = "timeout_ms")]
    pub timeout: Duration,
    pub answered_by: AnsweredBy,
    /// Every server asked, in order.
    pub attempts: Vec<ServerAttempt>,
    /// The definitive answer, if any server (or the hosts file) gave one.
    pub answer: Option<Answer>,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
}

/// A lookup that produced no usable address or record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{name}: no such name (NXDOMAIN)")]
    NxDomain { name: String, answered_by: AnsweredBy },
    #[error("{name}: the name exists but has no {types} records")]
    NoData { name: String, types: String, answered_by: AnsweredBy },
    #[error("{name}: {} DNS server(s) asked, none answered", attempts.len())]
    AllServersFailed { name: String, attempts: Vec<ServerAttempt> },
    #[error("no DNS servers to ask")]
    NoServers,
}

impl LookupError {
    /// True when every server timed out: DNS is unreachable (firewall, server down) rather
    /// than refusing or failing.
    pub fn all_timed_out(&self) -> bool {
        match self {
            Self::AllServersFailed { attempts, .. } => {
                !attempts.is_empty() && attempts.iter().all(|a| matches!(a.outcome, Outcome::TimedOut { .. }))
            }
            _ => false,
        }
    }

    /// A stable short name for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NxDomain { .. } => "nxdomain",
            Self::NoData { .. } => "no_data",
            Self::AllServersFailed { .. } => "all_servers_failed",
            Self::NoServers => "no_servers",
        }
    }
}

impl Lookup {
    /// The answer if it holds records of the asked types, else why not.
    pub fn result(&self) -> Result<&Answer, LookupError> {
        let name = self.query_name.clone();
        match &self.answer {
            Some(answer) if answer.response_code == ResponseCode::NxDomain => {
                Err(LookupError::NxDomain { name, answered_by: self.answered_by.clone() })
            }
            Some(answer) if !answer.has_data() => Err(LookupError::NoData {
                name,
                types: self.types.iter().map(ToString::to_string).collect::<Vec<_>>().join("/"),
                answered_by: self.answered_by.clone(),
            }),
            Some(answer) => Ok(answer),
            None if self.attempts.is_empty() => Err(LookupError::NoServers),
            None => Err(LookupError::AllServersFailed { name, attempts: self.attempts.clone() }),
        }
    }

    /// The private endpoint judgement for the answer, if its chain goes through privatelink.
    pub fn privatelink(&self) -> Option<PrivateLinkFinding> {
        let answer = self.answer.as_ref()?;
        privatelink_finding(&answer.chain_names(), &answer.addresses)
    }

    /// With `all_servers`: do the servers that answered agree?
    pub fn agreement(&self) -> Agreement {
        let mut groups: Vec<AgreementGroup> = Vec::new();
        for attempt in &self.attempts {
            let Some(answer) = &attempt.answer else { continue };
            let summary = summarize(answer);
            match groups.iter_mut().find(|g| g.answer == summary) {
                Some(group) => group.servers.push(attempt.server),
                None => groups.push(AgreementGroup { servers: vec![attempt.server], answer: summary }),
            }
        }
        let failed = self.attempts.iter().filter(|a| a.answer.is_none()).map(|a| a.server).collect();
        Agreement { agree: groups.len() <= 1, groups, failed }
    }
}

/// Servers grouped by the answer they gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    pub agree: bool,
    pub groups: Vec<AgreementGroup>,
    /// Servers that gave no answer at all.
    pub failed: Vec<SocketAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgreementGroup {
    pub servers: Vec<SocketAddr>,
    /// `NXDOMAIN`, `no data`, or the sorted record data, comma-separated.
    pub answer: String,
}

fn summarize(answer: &Answer) -> String {
    if answer.response_code == ResponseCode::NxDomain {
        return "NXDOMAIN".into();
    }
    if answer.records.is_empty() {
        return "no data".into();
    }
    let mut data: Vec<String> = answer.records.iter().map(|r| format!("{} {}", r.kind, r.data)).collect();
    data.sort();
    data.join(", ")
}

/// Asks for `types` of `target`: the hosts file first (unless `servers` is explicit or the
/// types are not addresses), then each server in order, each with the whole timeout, until one
/// answers definitively (or all of them, with `all_servers`). Never fails: the [`Lookup`]
/// records every outcome; [`Lookup::result`] classifies it.
pub async fn lookup(
    target: &QueryTarget,
    types: &[RecordKind],
    servers: &ServerList,
    opts: &LookupOptions,
) -> Lookup {
    let start = Instant::now();
    let query_name = target.wire_name();
    let mut result = Lookup {
        query_name: query_name.trim_end_matches('.').to_owned(),
        types: types.to_vec(),
        servers: servers.clone(),
        transport: opts.transport,
        timeout: opts.timeout,
        answered_by: AnsweredBy::Nobody,
        attempts: Vec::new(),
        answer: None,
        elapsed: Duration::ZERO,
    };
    if let Some(path) = opts.hosts_file.as_ref().filter(|_| !servers.is_explicit())
        && let Some(answer) = from_hosts(&Hosts::load(path), target, types)
    {
        result.answered_by = AnsweredBy::HostsFile { path: path.clone() };
        result.answer = Some(answer);
        result.elapsed = start.elapsed();
        return result;
    }
    for &server in &servers.servers {
        let attempt = ask_server(server, &query_name, types, opts).await;
        if result.answer.is_none()
            && let Some(answer) = &attempt.answer
        {
            result.answer = Some(answer.clone());
            result.answered_by = AnsweredBy::Server { server };
        }
        result.attempts.push(attempt);
        if result.answer.is_some() && !opts.all_servers {
            break;
        }
    }
    result.elapsed = start.elapsed();
    result
}

fn from_hosts(hosts: &Hosts, target: &QueryTarget, types: &[RecordKind]) -> Option<Answer> {
    let (name, records, addresses) = match target {
        QueryTarget::Name(name) => {
            if types.iter().any(|t| !matches!(t, RecordKind::A | RecordKind::AAAA)) {
                return None;
            }
            let addresses: Vec<IpAddr> = hosts
                .addresses(name.as_str())
                .into_iter()
                .filter(|a| types.contains(if a.is_ipv4() { &RecordKind::A } else { &RecordKind::AAAA }))
                .collect();
            if addresses.is_empty() {
                return None;
            }
            let records = addresses
                .iter()
                .map(|a| DnsRecord {
                    name: name.as_str().to_owned(),
                    kind: if a.is_ipv4() { "A" } else { "AAAA" }.into(),
                    ttl: 0,
                    data: a.to_string(),
                })
                .collect();
            (name.as_str().to_owned(), records, addresses)
        }
        QueryTarget::Reverse(ip) => {
            if types != [RecordKind::PTR] {
                return None;
            }
            let host = hosts.name_for(*ip)?;
            let arpa = target.wire_name().trim_end_matches('.').to_owned();
            let record = DnsRecord { name: arpa.clone(), kind: "PTR".into(), ttl: 0, data: host.to_owned() };
            (arpa, vec![record], Vec::new())
        }
    };
    Some(Answer {
        response_code: ResponseCode::NoError,
        authoritative: false,
        canonical_name: name,
        cname_chain: Vec::<CnameLink>::new(),
        records,
        addresses,
    })
}

/// Asks one server every type at once, all sharing one deadline, so a dead server costs
/// exactly one timeout whatever the number of types.
async fn ask_server(
    server: SocketAddr,
    query_name: &str,
    types: &[RecordKind],
    opts: &LookupOptions,
) -> ServerAttempt {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let mut pending = tokio::task::JoinSet::new();
    for (index, &kind) in types.iter().enumerate() {
        let name = query_name.to_owned();
        let transport = opts.transport;
        pending.spawn(async move { (index, ask_one(server, &name, kind, transport, start, deadline).await) });
    }
    let mut queries: Vec<(usize, QueryAttempt, Option<Answer>)> = Vec::new();
    while let Some(joined) = pending.join_next().await {
        // A query task never panics on input; a failed join is a bug we surface as an error.
        match joined {
            Ok((index, (attempt, answer))) => queries.push((index, attempt, answer)),
            Err(e) => tracing::error!(%server, "query task failed: {e}"),
        }
    }
    queries.sort_by_key(|(index, _, _)| *index);

    let mut answer: Option<Answer> = None;
    for (_, _, part) in &queries {
        if let Some(part) = part {
            match &mut answer {
                Some(merged) => merged.merge(part.clone()),
                None => answer = Some(part.clone()),
            }
        }
    }
    let queries: Vec<QueryAttempt> = queries.into_iter().map(|(_, q, _)| q).collect();
    let outcome = queries
        .iter()
        .find(|q| q.outcome.is_answered())
        .or_else(|| queries.first())
        .map(|q| q.outcome.clone())
        .unwrap_or(Outcome::NetworkError { message: "no query was sent".into() });
    ServerAttempt { server, outcome, elapsed: start.elapsed(), queries, answer }
}

async fn ask_one(
    server: SocketAddr,
    query_name: &str,
    kind: RecordKind,
    transport: Transport,
    start: Instant,
    deadline: Instant,
) -> (QueryAttempt, Option<Answer>) {
    let done = |outcome| QueryAttempt { kind, outcome, elapsed: start.elapsed() };
    let name = match Name::from_ascii(query_name) {
        Ok(name) => name,
        Err(e) => {
            return (done(Outcome::Malformed { message: format!("cannot encode {query_name}: {e}") }), None);
        }
    };
    let mut request = Message::query();
    request.metadata.recursion_desired = true;
    request.add_query(Query::query(name, kind.wire()));
    match exchange::exchange(server, &request, transport, deadline).await {
        Err(Failure::TimedOut { ignored }) => {
            (done(Outcome::TimedOut { after: start.elapsed(), ignored_replies: ignored }), None)
        }
        Err(Failure::Network(message)) => (done(Outcome::NetworkError { message }), None),
        Err(Failure::Malformed(message)) => (done(Outcome::Malformed { message }), None),
        Ok(exchanged) => {
            use hickory_proto::op::ResponseCode as Wire;
            let response = &exchanged.response;
            let code = match response.metadata.response_code {
                Wire::NoError => ResponseCode::NoError,
                Wire::NXDomain => ResponseCode::NxDomain,
                Wire::ServFail => return (done(Outcome::ServFail), None),
                Wire::Refused => return (done(Outcome::Refused), None),
                other => {
                    return (done(Outcome::OtherResponseCode { response_code: other.to_string() }), None);
                }
            };
            let answer = answer_from(response, query_name, kind);
            let outcome = Outcome::Answered {
                response_code: code,
                authoritative: response.metadata.authoritative,
                transport: exchanged.transport,
                retried_over_tcp: exchanged.retried_over_tcp,
            };
            (done(outcome), Some(answer))
        }
    }
}

/// The addresses of a host, for tcpping and netdiag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostLookup {
    /// A and AAAA addresses, in the order the answer gave them (A first).
    pub addresses: Vec<IpAddr>,
    pub canonical_name: String,
    pub cname_chain: Vec<CnameLink>,
    pub answered_by: AnsweredBy,
    /// Every server asked before the answer, in order.
    pub attempts: Vec<ServerAttempt>,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
}

/// Resolves `name` to addresses the way the app would: hosts file first (unless `servers` is
/// explicit), then each server in order with the whole timeout each.
pub async fn resolve_host(
    name: &DomainName,
    servers: &ServerList,
    opts: &LookupOptions,
) -> Result<HostLookup, LookupError> {
    let target = QueryTarget::Name(name.clone());
    let found = lookup(&target, &opts.family.kinds(), servers, opts).await;
    let answer = found.result()?;
    Ok(HostLookup {
        addresses: answer.addresses.clone(),
        canonical_name: answer.canonical_name.clone(),
        cname_chain: answer.cname_chain.clone(),
        answered_by: found.answered_by.clone(),
        attempts: found.attempts.clone(),
        elapsed: found.elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record, RecordType};

    /// A loopback UDP server answering every A query with `answer` (AAAA: no data); a `None`
    /// answer makes a silent server.
    async fn udp_server(answer: Option<&'static str>) -> SocketAddr {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let (Some(ip), Ok(query)) = (answer, Message::from_vec(&buf[..n])) else { continue };
                let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                reply.add_query(query.queries[0].clone());
                if query.queries[0].query_type() == RecordType::A {
                    let owner = query.queries[0].name().clone();
                    reply.add_answer(Record::from_rdata(owner, 5, RData::A(A(ip.parse().unwrap()))));
                }
                let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
            }
        });
        addr
    }

    fn website(servers: Vec<SocketAddr>) -> ServerList {
        ServerList {
            servers,
            source: super::super::ServerSource::WebsiteDnsServer,
            env_timeout: None,
            warnings: vec![],
        }
    }

    fn opts(hosts_file: Option<PathBuf>) -> LookupOptions {
        LookupOptions { timeout: Duration::from_millis(150), hosts_file, ..LookupOptions::default() }
    }

    #[tokio::test]
    async fn resolve_host_moves_past_a_dead_server() {
        let dead = udp_server(None).await;
        let live = udp_server(Some("10.0.0.7")).await;
        let name = DomainName::parse("app.test").unwrap();
        let found = resolve_host(&name, &website(vec![dead, live]), &opts(None)).await.unwrap();
        assert_eq!(found.addresses, ["10.0.0.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(found.answered_by, AnsweredBy::Server { server: live });
        assert_eq!(found.attempts.len(), 2);
        assert!(matches!(found.attempts[0].outcome, Outcome::TimedOut { .. }));
        assert!(found.elapsed >= Duration::from_millis(150));

        let v6 = LookupOptions { family: Family::V6, ..opts(None) };
        let err = resolve_host(&name, &ServerList::explicit(vec![live]), &v6).await.unwrap_err();
        assert!(matches!(err, LookupError::NoData { .. }), "{err:?}");
        assert!(!err.all_timed_out());

        let err = resolve_host(&name, &website(vec![dead, dead]), &opts(None)).await.unwrap_err();
        assert!(err.all_timed_out(), "{err:?}");
        assert_eq!(err.kind(), "all_servers_failed");

        let err = resolve_host(&name, &website(vec![]), &opts(None)).await.unwrap_err();
        assert_eq!(err, LookupError::NoServers);
    }

    #[tokio::test]
    async fn hosts_file_answers_unless_the_server_is_explicit() {
        let live = udp_server(Some("10.0.0.7")).await;
        let path = std::env::temp_dir().join(format!("netdiag-hosts-{}", std::process::id()));
        std::fs::write(&path, "10.1.1.1 app.test\n").unwrap();
        let name = DomainName::parse("app.test").unwrap();

        let found = resolve_host(&name, &website(vec![live]), &opts(Some(path.clone()))).await.unwrap();
        assert_eq!(found.addresses, ["10.1.1.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(found.answered_by, AnsweredBy::HostsFile { path: path.clone() });
        assert!(found.attempts.is_empty());

        let found =
            resolve_host(&name, &ServerList::explicit(vec![live]), &opts(Some(path.clone()))).await.unwrap();
        assert_eq!(found.addresses, ["10.0.0.7".parse::<IpAddr>().unwrap()]);
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn all_servers_reports_disagreement() {
        let one = udp_server(Some("10.0.0.7")).await;
        let same = udp_server(Some("10.0.0.7")).await;
        let other = udp_server(Some("203.0.113.9")).await;
        let target = QueryTarget::Name(DomainName::parse("app.test").unwrap());
        let all = LookupOptions { all_servers: true, ..opts(None) };

        let agree = lookup(&target, &[RecordKind::A], &website(vec![one, same]), &all).await;
        assert!(agree.agreement().agree);
        assert_eq!(agree.agreement().groups[0].servers, [one, same]);

        let differ = lookup(&target, &[RecordKind::A], &website(vec![one, other, same]), &all).await;
        let agreement = differ.agreement();
        assert!(!agreement.agree);
        assert_eq!(agreement.groups.len(), 2);
        assert_eq!(agreement.groups[1].answer, "A 203.0.113.9");
        assert_eq!(differ.answered_by, AnsweredBy::Server { server: one });
    }
}

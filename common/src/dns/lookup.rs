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
    Answer, ChainEnd, CnameLink, DnsRecord, Family, QueryTarget, RecordKind, Referral, ResponseCode,
    answer_from,
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
    /// Send EDNS0 with a 1232-byte UDP payload, as current stub resolvers do; without it any
    /// answer over 512 bytes is truncated and needs TCP.
    pub edns: bool,
}

impl Default for LookupOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            transport: Transport::Udp,
            family: Family::Any,
            hosts_file: Some(default_hosts_path()),
            all_servers: false,
            edns: true,
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
    /// NOERROR with nothing for the name and NS records in authority: this server does not
    /// recurse for the name and delegates it instead. Not an answer.
    Referral {
        #[serde(flatten)]
        referral: Referral,
        transport: Transport,
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
    /// Ctrl-C or SIGTERM arrived while this server was being asked.
    Interrupted {
        #[serde(serialize_with = "crate::millis::serialize", rename = "after_ms")]
        after: Duration,
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
            Self::Referral { referral, .. } => {
                let upward =
                    if referral.upward { " (an upward referral: it knows nothing of this name)" } else { "" };
                format!(
                    "does not recurse for this name: it delegates {} to {}{upward}",
                    referral.zone,
                    if referral.delegated_to.is_empty() {
                        "no named server".to_owned()
                    } else {
                        referral.delegated_to.join(", ")
                    }
                )
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
            Self::Interrupted { .. } => "was being asked when the run was interrupted".into(),
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
    /// What this server said to this question, when it answered.
    pub answer: Option<Answer>,
}

impl QueryAttempt {
    /// This server settled the question: records, NXDOMAIN or no data, with the whole chain.
    pub fn is_definitive(&self) -> bool {
        self.outcome.is_answered() && self.answer.as_ref().is_some_and(Answer::is_definitive)
    }
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
    /// The questions this server did not settle (failed, referral, alias not followed): they
    /// go on to the next server. Empty when it settled every question it was asked.
    pub failed_types: Vec<RecordKind>,
}

impl ServerAttempt {
    /// One line: the outcome, and each question that failed when only some did ("answered A;
    /// AAAA timed out").
    pub fn describe(&self) -> String {
        if self.failed_types.is_empty() || !self.queries.iter().any(QueryAttempt::is_definitive) {
            // Every question failed the same way, or one question only: the outcome says it,
            // unless an answer that is not a final one needs its reason.
            return match self.queries.iter().find(|q| !q.is_definitive() && q.outcome.is_answered()) {
                Some(query) => format!("gave no final answer for {}: {}", query.kind, query_failure(query)),
                None => self.outcome.describe(),
            };
        }
        let settled: Vec<String> =
            self.queries.iter().filter(|q| q.is_definitive()).map(|q| q.kind.to_string()).collect();
        let failed: Vec<String> = self
            .queries
            .iter()
            .filter(|q| !q.is_definitive())
            .map(|q| match (&q.outcome, &q.answer) {
                (Outcome::Answered { .. }, Some(_)) => {
                    format!("{} stopped at an alias ({})", q.kind, query_failure(q))
                }
                _ => format!("{} {}", q.kind, query_failure(q)),
            })
            .collect();
        format!("answered {} but {}", settled.join("/"), failed.join("; "))
    }
}

/// Why a question got no definitive answer from one server.
pub fn query_failure(query: &QueryAttempt) -> String {
    match (&query.outcome, &query.answer) {
        (Outcome::Answered { .. }, Some(answer)) => {
            answer.chain_end.as_ref().map_or_else(|| "was not settled".to_owned(), ChainEnd::explain)
        }
        (outcome, _) => outcome.describe(),
    }
}

/// What became of one question over the whole lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    #[serde(rename = "type")]
    pub kind: RecordKind,
    /// `answered`, or `failed` when no server settled it (never reported as an absence).
    pub status: &'static str,
    pub answered_by: AnsweredBy,
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
    /// The definitive answer, if any server (or the hosts file) gave one: every settled
    /// question's answer together.
    pub answer: Option<Answer>,
    /// Each question (type) on its own: who settled it, or that nobody did.
    pub questions: Vec<Question>,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    pub elapsed: Duration,
    /// Cut short by Ctrl-C or SIGTERM: the servers after the last attempt were not asked.
    pub interrupted: bool,
}

/// A lookup that produced no usable address or record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{name}: no such name (NXDOMAIN)")]
    NxDomain { name: String, answered_by: AnsweredBy },
    #[error("{name}: the name exists but has no {types} records")]
    NoData { name: String, types: String, answered_by: AnsweredBy },
    #[error("{name}: {} DNS server(s) asked, none gave a usable answer", attempts.len())]
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
    /// The answer if it holds records of the asked types, else why not. A question that no
    /// server settled is a failure, never an absence: no data is reported only when every
    /// question was answered.
    pub fn result(&self) -> Result<&Answer, LookupError> {
        let name = self.query_name.clone();
        match &self.answer {
            Some(answer) if answer.has_data() => Ok(answer),
            Some(answer) if answer.response_code == ResponseCode::NxDomain => Err(LookupError::NxDomain {
                // After an alias it is the target that does not exist, not the asked name.
                name: if answer.cname_chain.is_empty() { name } else { answer.canonical_name.clone() },
                answered_by: self.answered_by.clone(),
            }),
            Some(_) if self.failed_types().is_empty() => Err(LookupError::NoData {
                name,
                types: self.types.iter().map(ToString::to_string).collect::<Vec<_>>().join("/"),
                answered_by: self.answered_by.clone(),
            }),
            None if self.attempts.is_empty() => Err(LookupError::NoServers),
            _ => Err(LookupError::AllServersFailed { name, attempts: self.attempts.clone() }),
        }
    }

    /// The questions no server settled.
    pub fn failed_types(&self) -> Vec<RecordKind> {
        self.questions.iter().filter(|q| q.answer.is_none()).map(|q| q.kind).collect()
    }

    /// The longest alias chain any server gave, settled or not, to show where it stops.
    pub fn longest_chain(&self) -> Option<&Answer> {
        self.answer
            .iter()
            .chain(self.attempts.iter().flat_map(|a| a.queries.iter().filter_map(|q| q.answer.as_ref())))
            .max_by_key(|a| a.cname_chain.len())
            .filter(|a| !a.cname_chain.is_empty())
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
/// types are not addresses), then each server in order, each with the whole timeout. Each
/// question (type) goes on to the next server until one settles it (or every server is asked,
/// with `all_servers`). Never fails: the [`Lookup`] records every outcome; [`Lookup::result`]
/// classifies it.
pub async fn lookup(
    target: &QueryTarget,
    types: &[RecordKind],
    servers: &ServerList,
    opts: &LookupOptions,
) -> Lookup {
    lookup_until(target, types, servers, opts, std::future::pending()).await
}

/// [`lookup`], cut short when `stop` completes (Ctrl-C): the servers that finished are kept,
/// the one being asked is recorded as interrupted, and `interrupted` is set.
pub async fn lookup_until(
    target: &QueryTarget,
    types: &[RecordKind],
    servers: &ServerList,
    opts: &LookupOptions,
    stop: impl std::future::Future<Output = ()>,
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
        questions: types
            .iter()
            .map(|&kind| Question { kind, status: "failed", answered_by: AnsweredBy::Nobody, answer: None })
            .collect(),
        elapsed: Duration::ZERO,
        interrupted: false,
    };
    if let Some(path) = opts.hosts_file.as_ref().filter(|_| !servers.is_explicit())
        && let Some(answer) = from_hosts(&Hosts::cached(path), target, types)
    {
        let by = AnsweredBy::HostsFile { path: path.clone() };
        for question in &mut result.questions {
            question.status = "answered";
            question.answered_by = by.clone();
            question.answer = Some(answer.clone());
        }
        result.answered_by = by;
        result.answer = Some(answer);
        result.elapsed = start.elapsed();
        return result;
    }
    tokio::pin!(stop);
    for &server in &servers.servers {
        let pending: Vec<RecordKind> = if opts.all_servers {
            types.to_vec()
        } else {
            result.questions.iter().filter(|q| q.answer.is_none()).map(|q| q.kind).collect()
        };
        if pending.is_empty() {
            break;
        }
        let asked_at = Instant::now();
        let attempt = tokio::select! {
            attempt = ask_server(server, &query_name, &pending, opts) => attempt,
            () = &mut stop => {
                result.interrupted = true;
                let outcome = Outcome::Interrupted { after: asked_at.elapsed() };
                result.attempts.push(ServerAttempt {
                    server,
                    outcome,
                    elapsed: asked_at.elapsed(),
                    queries: Vec::new(),
                    answer: None,
                    failed_types: pending,
                });
                break;
            }
        };
        for query in attempt.queries.iter().filter(|q| q.is_definitive()) {
            if let Some(question) =
                result.questions.iter_mut().find(|q| q.kind == query.kind && q.answer.is_none())
            {
                question.status = "answered";
                question.answered_by = AnsweredBy::Server { server };
                question.answer = query.answer.clone();
            }
        }
        // The name itself does not exist (NXDOMAIN without an alias): no other type can exist
        // either (RFC 8020), so no question is left to ask another server.
        if let Some(nx) = attempt.queries.iter().filter(|q| q.is_definitive()).find_map(|q| {
            q.answer
                .as_ref()
                .filter(|a| a.response_code == ResponseCode::NxDomain && a.cname_chain.is_empty())
        }) {
            for question in result.questions.iter_mut().filter(|q| q.answer.is_none()) {
                question.status = "answered";
                question.answered_by = AnsweredBy::Server { server };
                question.answer = Some(nx.clone());
            }
        }
        result.attempts.push(attempt);
    }
    // An NXDOMAIN settles the name for every type (RFC 8020), even one whose question failed.
    if let Some(nx) = result.questions.iter().find_map(|q| {
        q.answer
            .as_ref()
            .filter(|a| a.response_code == ResponseCode::NxDomain)
            .map(|a| (a.clone(), q.answered_by.clone()))
    }) && result.questions.iter().all(|q| q.answer.as_ref().is_none_or(|a| !a.has_data()))
    {
        result.answer = Some(nx.0);
        result.answered_by = nx.1;
    } else {
        for question in &result.questions {
            let Some(part) = &question.answer else { continue };
            if result.answer.is_none() {
                result.answered_by = question.answered_by.clone();
            }
            match &mut result.answer {
                Some(merged) => merged.merge(part.clone()),
                None => result.answer = Some(part.clone()),
            }
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
                    rdata_hex: String::new(),
                })
                .collect();
            (name.as_str().to_owned(), records, addresses)
        }
        QueryTarget::Reverse(ip) => {
            if types != [RecordKind::PTR] {
                return None;
            }
            let host = super::present::terminal_safe(hosts.name_for(*ip)?);
            let arpa = target.wire_name().trim_end_matches('.').to_owned();
            let record = DnsRecord {
                name: arpa.clone(),
                kind: "PTR".into(),
                ttl: 0,
                data: host,
                rdata_hex: String::new(),
            };
            (arpa, vec![record], Vec::new())
        }
    };
    Some(Answer {
        response_code: ResponseCode::NoError,
        authoritative: false,
        recursion_available: false,
        canonical_name: name,
        cname_chain: Vec::new(),
        chain_end: None,
        records,
        addresses,
        authority: Vec::new(),
        negative_ttl: None,
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
    let deadline = start + opts.timeout.min(super::servers::MAX_DNS_TIMEOUT);
    let asked = types.iter().enumerate().map(|(index, &kind)| async move {
        (index, ask_one(server, query_name, kind, opts.transport, opts.edns, start, deadline).await)
    });
    // Joined in place rather than spawned: nothing to share across tasks, and the order stays.
    let queries: Vec<QueryAttempt> = join_all(asked).await;

    let mut answer: Option<Answer> = None;
    for part in queries.iter().filter(|q| q.is_definitive()).filter_map(|q| q.answer.as_ref()) {
        match &mut answer {
            Some(merged) => merged.merge(part.clone()),
            None => answer = Some(part.clone()),
        }
    }
    let failed_types = queries.iter().filter(|q| !q.is_definitive()).map(|q| q.kind).collect();
    let outcome = queries
        .iter()
        .find(|q| q.outcome.is_answered())
        .or_else(|| queries.first())
        .map(|q| q.outcome.clone())
        .unwrap_or(Outcome::NetworkError { message: "no query was sent".into() });
    ServerAttempt { server, outcome, elapsed: start.elapsed(), queries, answer, failed_types }
}

/// Polls every future to completion, results in input order.
async fn join_all<F: std::future::Future<Output = (usize, QueryAttempt)>>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<QueryAttempt> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<(usize, QueryAttempt)> = Vec::with_capacity(set.len());
    std::future::poll_fn(|cx| {
        let mut index = 0;
        while index < set.len() {
            if let std::task::Poll::Ready(out) = set[index].as_mut().poll(cx) {
                done.push(out);
                drop(set.swap_remove(index));
            } else {
                index += 1;
            }
        }
        if set.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, q)| q).collect()
}

/// The EDNS0 payload current stub resolvers advertise (DNS Flag Day 2020).
pub const EDNS_PAYLOAD: u16 = 1232;

async fn ask_one(
    server: SocketAddr,
    query_name: &str,
    kind: RecordKind,
    transport: Transport,
    edns: bool,
    start: Instant,
    deadline: Instant,
) -> QueryAttempt {
    let done = |outcome, answer| QueryAttempt { kind, outcome, elapsed: start.elapsed(), answer };
    let name = match Name::from_ascii(query_name) {
        Ok(name) => name,
        Err(e) => {
            let message = format!("cannot encode {}: {e}", super::present::terminal_safe(query_name));
            return done(Outcome::Malformed { message }, None);
        }
    };
    let mut request = Message::query();
    request.metadata.recursion_desired = true;
    request.add_query(Query::query(name, kind.wire()));
    if edns {
        let mut opt = hickory_proto::op::Edns::new();
        opt.set_max_payload(EDNS_PAYLOAD);
        request.set_edns(opt);
    }
    match exchange::exchange(server, &request, transport, deadline).await {
        Err(Failure::TimedOut { ignored }) => {
            done(Outcome::TimedOut { after: start.elapsed(), ignored_replies: ignored }, None)
        }
        Err(Failure::Network(message)) => done(Outcome::NetworkError { message }, None),
        Err(Failure::Malformed(message)) => done(Outcome::Malformed { message }, None),
        Ok(exchanged) => {
            use hickory_proto::op::ResponseCode as Wire;
            let response = &exchanged.response;
            let code = match response.metadata.response_code {
                Wire::NoError => ResponseCode::NoError,
                Wire::NXDomain => ResponseCode::NxDomain,
                Wire::ServFail => return done(Outcome::ServFail, None),
                Wire::Refused => return done(Outcome::Refused, None),
                other => {
                    return done(Outcome::OtherResponseCode { response_code: other.to_string() }, None);
                }
            };
            let (answer, referral) = answer_from(response, query_name, kind);
            if let Some(referral) = referral {
                return done(Outcome::Referral { referral, transport: exchanged.transport }, Some(answer));
            }
            let outcome = Outcome::Answered {
                response_code: code,
                authoritative: response.metadata.authoritative,
                transport: exchanged.transport,
                retried_over_tcp: exchanged.retried_over_tcp,
            };
            done(outcome, Some(answer))
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

    /// A loopback UDP server that sends what `respond` makes of each query (with its id and
    /// question copied into a reply), or nothing when it returns false.
    async fn serve_udp(respond: impl Fn(&Message, &mut Message) -> bool + Send + 'static) -> SocketAddr {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                reply.add_query(query.queries[0].clone());
                if respond(&query, &mut reply) {
                    let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
                }
            }
        });
        addr
    }

    /// A loopback UDP server answering every A query with `answer` (AAAA: no data); a `None`
    /// answer makes a silent server.
    async fn udp_server(answer: Option<&'static str>) -> SocketAddr {
        serve_udp(move |query, reply| {
            let Some(ip) = answer else { return false };
            if query.queries[0].query_type() == RecordType::A {
                let owner = query.queries[0].name().clone();
                reply.add_answer(Record::from_rdata(owner, 5, RData::A(A(ip.parse().unwrap()))));
            }
            true
        })
        .await
    }

    /// A loopback UDP server that answers NXDOMAIN to A and never answers anything else.
    async fn nx_for_a_silent_for_aaaa() -> SocketAddr {
        serve_udp(|query, reply| {
            reply.metadata.response_code = hickory_proto::op::ResponseCode::NXDomain;
            query.queries[0].query_type() == RecordType::A
        })
        .await
    }

    /// A loopback UDP server answering every query with `links` chained CNAMEs (the asked name
    /// -> c1.loop.test -> ...; the last one back to c1 when `looped`) and nothing else.
    async fn chain_server(links: u32, looped: bool) -> SocketAddr {
        use hickory_proto::rr::rdata::CNAME;
        serve_udp(move |query, reply| {
            reply.metadata.recursion_available = true;
            let link = |i: u32| Name::from_ascii(format!("c{i}.loop.test.")).unwrap();
            let mut owner = query.queries[0].name().clone();
            for i in 1..=links {
                let target = if looped && i == links { link(1) } else { link(i) };
                reply.add_answer(Record::from_rdata(owner, 5, RData::CNAME(CNAME(target.clone()))));
                owner = target;
            }
            true
        })
        .await
    }

    #[tokio::test]
    async fn a_looping_or_endless_chain_is_a_failure_of_that_server_not_an_absence() {
        let name = DomainName::parse("app.test").unwrap();
        let live = udp_server(Some("10.0.0.7")).await;
        for (links, looped) in [(40, false), (3, true)] {
            let broken = chain_server(links, looped).await;
            let err =
                resolve_host(&name, &ServerList::explicit(vec![broken]), &opts(None)).await.unwrap_err();
            assert_eq!(err.kind(), "all_servers_failed", "{links} links, looped {looped}: {err:?}");

            // The next server is asked, and its answer is the answer.
            let found = resolve_host(&name, &website(vec![broken, live]), &opts(None)).await.unwrap();
            assert_eq!(found.addresses, ["10.0.0.7".parse::<IpAddr>().unwrap()]);
            assert_eq!(found.answered_by, AnsweredBy::Server { server: live });
            let first = &found.attempts[0];
            assert_eq!(first.failed_types, [RecordKind::A, RecordKind::AAAA]);
            let chain = first.queries[0].answer.as_ref().unwrap();
            let end = chain.chain_end.as_ref().unwrap();
            if looped {
                assert_eq!(*end, ChainEnd::Loop { at: "c1.loop.test".into() });
            } else {
                assert_eq!(chain.cname_chain.len(), crate::dns::records::MAX_CHAIN);
                assert!(matches!(end, ChainEnd::TooLong { .. }), "{end:?}");
            }
            assert!(first.describe().contains(&end.explain()), "{}", first.describe());
        }
    }

    #[tokio::test]
    async fn nxdomain_for_one_type_settles_every_type() {
        let nx = nx_for_a_silent_for_aaaa().await;
        let never = udp_server(Some("10.0.0.7")).await;
        let target = QueryTarget::Name(DomainName::parse("gone.test").unwrap());
        let found =
            lookup(&target, &[RecordKind::A, RecordKind::AAAA], &website(vec![nx, never]), &opts(None)).await;
        assert!(matches!(found.result(), Err(LookupError::NxDomain { .. })), "{:?}", found.result());
        assert_eq!(found.attempts.len(), 1, "the second server is not asked");
        assert!(found.failed_types().is_empty());
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

//! What is asked and what comes back, independent of the wire format.

use std::net::IpAddr;
use std::str::FromStr;

use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};
use serde::Serialize;

use crate::name::DomainName;

/// The record types nameresolver asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordKind {
    A,
    AAAA,
    CNAME,
    MX,
    TXT,
    SRV,
    NS,
    SOA,
    PTR,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown record type {0:?} (expected A, AAAA, CNAME, MX, TXT, SRV, NS, SOA or PTR)")]
pub struct UnknownRecordKind(pub String);

impl FromStr for RecordKind {
    type Err = UnknownRecordKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "A" => Self::A,
            "AAAA" => Self::AAAA,
            "CNAME" => Self::CNAME,
            "MX" => Self::MX,
            "TXT" => Self::TXT,
            "SRV" => Self::SRV,
            "NS" => Self::NS,
            "SOA" => Self::SOA,
            "PTR" => Self::PTR,
            _ => return Err(UnknownRecordKind(s.to_owned())),
        })
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl RecordKind {
    pub(crate) fn wire(self) -> RecordType {
        match self {
            Self::A => RecordType::A,
            Self::AAAA => RecordType::AAAA,
            Self::CNAME => RecordType::CNAME,
            Self::MX => RecordType::MX,
            Self::TXT => RecordType::TXT,
            Self::SRV => RecordType::SRV,
            Self::NS => RecordType::NS,
            Self::SOA => RecordType::SOA,
            Self::PTR => RecordType::PTR,
        }
    }
}

/// Which address families a host lookup wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    /// Whether an address of this family may be used.
    pub fn admits(self, ip: IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::V4 => ip.is_ipv4(),
            Self::V6 => ip.is_ipv6(),
        }
    }

    pub fn kinds(self) -> Vec<RecordKind> {
        match self {
            Self::Any => vec![RecordKind::A, RecordKind::AAAA],
            Self::V4 => vec![RecordKind::A],
            Self::V6 => vec![RecordKind::AAAA],
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Any => "any",
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// A forward lookup of a validated name, or a reverse (PTR) lookup of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryTarget {
    Name(DomainName),
    Reverse(IpAddr),
}

impl QueryTarget {
    /// The name that goes on the wire, fully qualified (in-addr.arpa / ip6.arpa for reverse).
    pub fn wire_name(&self) -> String {
        match self {
            Self::Name(name) => name.to_fqdn(),
            Self::Reverse(ip) => hickory_proto::rr::Name::from(*ip).to_ascii(),
        }
    }
}

/// The final response code of a definitive answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResponseCode {
    NoError,
    NxDomain,
}

/// One alias in a CNAME chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CnameLink {
    pub alias: String,
    pub target: String,
    pub ttl: u32,
}

/// One record of the answer, in presentation form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub ttl: u32,
    pub data: String,
}

/// A definitive answer: records, NXDOMAIN, or no data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub response_code: ResponseCode,
    pub authoritative: bool,
    /// The name the chain ends at (the query name when there is no CNAME).
    pub canonical_name: String,
    pub cname_chain: Vec<CnameLink>,
    /// Records of the asked types at the canonical name (CNAME queries: the chain's records).
    pub records: Vec<DnsRecord>,
    /// The A and AAAA addresses among `records`.
    pub addresses: Vec<IpAddr>,
}

impl Answer {
    /// True when the answer holds something of the asked types.
    pub fn has_data(&self) -> bool {
        !self.records.is_empty()
    }

    /// The query name followed by every CNAME target, in order.
    pub fn chain_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.cname_chain.iter().map(|l| l.alias.clone()).collect();
        names.push(self.canonical_name.clone());
        names
    }

    /// Adds another query's answer from the same server (A then AAAA).
    pub(crate) fn merge(&mut self, other: Answer) {
        if other.response_code == ResponseCode::NoError {
            self.response_code = ResponseCode::NoError;
        }
        if self.cname_chain.is_empty() && !other.cname_chain.is_empty() {
            self.cname_chain = other.cname_chain;
            self.canonical_name = other.canonical_name;
        }
        for record in other.records {
            if !self.records.contains(&record) {
                self.records.push(record);
            }
        }
        for addr in other.addresses {
            if !self.addresses.contains(&addr) {
                self.addresses.push(addr);
            }
        }
    }
}

fn bare(name: &hickory_proto::rr::Name) -> String {
    name.to_ascii().trim_end_matches('.').to_owned()
}

fn same_name(a: &hickory_proto::rr::Name, b: &str) -> bool {
    bare(a).eq_ignore_ascii_case(b)
}

/// Extracts the chain and records of `kind` for `query_name` from a NOERROR/NXDOMAIN reply.
pub(crate) fn answer_from(message: &Message, query_name: &str, kind: RecordKind) -> Answer {
    let nx = message.metadata.response_code == hickory_proto::op::ResponseCode::NXDomain;
    // Some servers put chased records in the additional section: follow the chain in both.
    let records: Vec<&hickory_proto::rr::Record> =
        message.answers.iter().chain(message.additionals.iter()).collect();
    let mut current = query_name.trim_end_matches('.').to_owned();
    let mut chain = Vec::new();
    // A loop in a broken zone must not hang us: no real chain is this long.
    for _ in 0..16 {
        let next = records.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if same_name(&r.name, &current) => Some((bare(&target.0), r.ttl)),
            _ => None,
        });
        let Some((target, ttl)) = next else { break };
        if chain.iter().any(|l: &CnameLink| l.alias.eq_ignore_ascii_case(&target)) {
            break;
        }
        chain.push(CnameLink { alias: current.clone(), target: target.clone(), ttl });
        current = target;
    }
    let mut found = Vec::new();
    let mut addresses = Vec::new();
    if kind == RecordKind::CNAME {
        found.extend(chain.iter().map(|l| DnsRecord {
            name: l.alias.clone(),
            kind: "CNAME".into(),
            ttl: l.ttl,
            data: l.target.clone(),
        }));
    } else {
        for record in &records {
            if record.record_type() != kind.wire() || !same_name(&record.name, &current) {
                continue;
            }
            match &record.data {
                RData::A(a) => addresses.push(IpAddr::V4(a.0)),
                RData::AAAA(a) => addresses.push(IpAddr::V6(a.0)),
                _ => {}
            }
            let record = DnsRecord {
                name: bare(&record.name),
                kind: kind.to_string(),
                ttl: record.ttl,
                data: record.data.to_string().trim_end_matches('.').to_owned(),
            };
            if !found.contains(&record) {
                found.push(record);
            }
        }
    }
    Answer {
        response_code: if nx { ResponseCode::NxDomain } else { ResponseCode::NoError },
        authoritative: message.metadata.authoritative,
        canonical_name: current,
        cname_chain: chain,
        records: found,
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, AAAA, CNAME};
    use hickory_proto::rr::{Name, Record};

    #[test]
    fn family_admits_and_names_itself() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let cases = [
            (Family::Any, v4, true, "any"),
            (Family::Any, v6, true, "any"),
            (Family::V4, v4, true, "IPv4"),
            (Family::V4, v6, false, "IPv4"),
            (Family::V6, v4, false, "IPv6"),
            (Family::V6, v6, true, "IPv6"),
        ];
        for (family, ip, admitted, shown) in cases {
            assert_eq!(family.admits(ip), admitted, "{family} {ip}");
            assert_eq!(family.to_string(), shown);
        }
    }

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn cname(from: &str, to: &str) -> Record {
        Record::from_rdata(name(from), 60, RData::CNAME(CNAME(name(to))))
    }

    fn a(owner: &str, ip: &str) -> Record {
        Record::from_rdata(name(owner), 30, RData::A(A(ip.parse().unwrap())))
    }

    fn reply(answers: Vec<Record>, additionals: Vec<Record>, nx: bool) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        if nx {
            m.metadata.response_code = hickory_proto::op::ResponseCode::NXDomain;
        }
        m.answers = answers;
        m.additionals = additionals;
        m
    }

    #[test]
    fn chains_and_records_table() {
        struct Case {
            what: &'static str,
            message: Message,
            kind: RecordKind,
            canonical: &'static str,
            chain: usize,
            data: &'static [&'static str],
            code: ResponseCode,
        }
        let cases = [
            Case {
                what: "plain A",
                message: reply(vec![a("www.test.", "10.0.0.1")], vec![], false),
                kind: RecordKind::A,
                canonical: "www.test",
                chain: 0,
                data: &["10.0.0.1"],
                code: ResponseCode::NoError,
            },
            Case {
                what: "two-link chain, case-insensitive owner names",
                message: reply(
                    vec![
                        cname("Alias.test.", "mid.test."),
                        cname("MID.test.", "www.test."),
                        a("www.test.", "10.0.0.1"),
                    ],
                    vec![],
                    false,
                ),
                kind: RecordKind::A,
                canonical: "www.test",
                chain: 2,
                data: &["10.0.0.1"],
                code: ResponseCode::NoError,
            },
            Case {
                what: "records at another name are not the answer",
                message: reply(
                    vec![cname("alias.test.", "www.test."), a("other.test.", "10.9.9.9")],
                    vec![],
                    false,
                ),
                kind: RecordKind::A,
                canonical: "www.test",
                chain: 1,
                data: &[],
                code: ResponseCode::NoError,
            },
            Case {
                what: "chased records in the additional section",
                message: reply(
                    vec![cname("alias.test.", "www.test.")],
                    vec![a("www.test.", "10.0.0.2")],
                    false,
                ),
                kind: RecordKind::A,
                canonical: "www.test",
                chain: 1,
                data: &["10.0.0.2"],
                code: ResponseCode::NoError,
            },
            Case {
                what: "a CNAME loop ends",
                message: reply(
                    vec![cname("alias.test.", "loop.test."), cname("loop.test.", "alias.test.")],
                    vec![],
                    false,
                ),
                kind: RecordKind::A,
                canonical: "loop.test",
                chain: 1,
                data: &[],
                code: ResponseCode::NoError,
            },
            Case {
                what: "CNAME query returns the chain",
                message: reply(vec![cname("alias.test.", "www.test.")], vec![], false),
                kind: RecordKind::CNAME,
                canonical: "www.test",
                chain: 1,
                data: &["www.test"],
                code: ResponseCode::NoError,
            },
            Case {
                what: "NXDOMAIN after a CNAME",
                message: reply(vec![cname("alias.test.", "gone.test.")], vec![], true),
                kind: RecordKind::A,
                canonical: "gone.test",
                chain: 1,
                data: &[],
                code: ResponseCode::NxDomain,
            },
        ];
        for case in cases {
            let query = if case.what == "plain A" { "www.test." } else { "alias.test." };
            let answer = answer_from(&case.message, query, case.kind);
            assert_eq!(answer.canonical_name, case.canonical, "{}", case.what);
            assert_eq!(answer.cname_chain.len(), case.chain, "{}", case.what);
            let data: Vec<&str> = answer.records.iter().map(|r| r.data.as_str()).collect();
            assert_eq!(data, case.data, "{}", case.what);
            assert_eq!(answer.response_code, case.code, "{}", case.what);
        }
    }

    #[test]
    fn merge_keeps_both_families_once() {
        let mut first =
            answer_from(&reply(vec![a("www.test.", "10.0.0.1")], vec![], false), "www.test.", RecordKind::A);
        let aaaa = Record::from_rdata(name("www.test."), 30, RData::AAAA(AAAA("fd00::1".parse().unwrap())));
        let second = answer_from(&reply(vec![aaaa], vec![], false), "www.test.", RecordKind::AAAA);
        first.merge(second.clone());
        first.merge(second);
        let addresses: Vec<String> = first.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(addresses, ["10.0.0.1", "fd00::1"]);
        assert_eq!(first.records.len(), 2);
    }

    #[test]
    fn reverse_names() {
        let v4 = QueryTarget::Reverse("10.0.0.5".parse().unwrap());
        assert_eq!(v4.wire_name(), "5.0.0.10.in-addr.arpa.");
        let v6 = QueryTarget::Reverse("2001:db8::1".parse().unwrap());
        assert!(v6.wire_name().ends_with(".8.b.d.0.1.0.0.2.ip6.arpa."), "{}", v6.wire_name());
        assert_eq!("aaaa".parse::<RecordKind>(), Ok(RecordKind::AAAA));
        assert!("ANY".parse::<RecordKind>().is_err());
    }
}

//! What is asked and what comes back, independent of the wire format.

use std::net::IpAddr;
use std::str::FromStr;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;

use super::present;

use crate::name::DomainName;

/// The record types nameresolver asks for: the common ones by name, any other by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    CAA,
    DS,
    DNSKEY,
    NAPTR,
    SVCB,
    HTTPS,
    DNAME,
    /// Any other type, by its number (`TYPE65280`).
    Other(u16),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown record type {0:?} (expected A, AAAA, CNAME, MX, TXT, SRV, NS, SOA, PTR, CAA, DS, DNSKEY, NAPTR, SVCB, HTTPS, DNAME or TYPE<number>)"
)]
pub struct UnknownRecordKind(pub String);

const NAMED: [(RecordKind, &str); 16] = [
    (RecordKind::A, "A"),
    (RecordKind::AAAA, "AAAA"),
    (RecordKind::CNAME, "CNAME"),
    (RecordKind::MX, "MX"),
    (RecordKind::TXT, "TXT"),
    (RecordKind::SRV, "SRV"),
    (RecordKind::NS, "NS"),
    (RecordKind::SOA, "SOA"),
    (RecordKind::PTR, "PTR"),
    (RecordKind::CAA, "CAA"),
    (RecordKind::DS, "DS"),
    (RecordKind::DNSKEY, "DNSKEY"),
    (RecordKind::NAPTR, "NAPTR"),
    (RecordKind::SVCB, "SVCB"),
    (RecordKind::HTTPS, "HTTPS"),
    (RecordKind::DNAME, "DNAME"),
];

impl FromStr for RecordKind {
    type Err = UnknownRecordKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.to_ascii_uppercase();
        if let Some((kind, _)) = NAMED.iter().find(|(_, name)| *name == upper) {
            return Ok(*kind);
        }
        let unknown = || UnknownRecordKind(crate::sanitize::escape_for_terminal(s, 80));
        let number: u16 = upper.strip_prefix("TYPE").and_then(|n| n.parse().ok()).ok_or_else(unknown)?;
        // Meta types (OPT, TSIG, AXFR, ANY...) are not questions this tool can answer.
        if number == 0 || number == 41 || (128..=255).contains(&number) {
            return Err(unknown());
        }
        Ok(Self::from_number(number))
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Other(n) => write!(f, "TYPE{n}"),
            named => std::fmt::Debug::fmt(named, f),
        }
    }
}

impl Serialize for RecordKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl RecordKind {
    /// The kind for a type number: its name when we have one (`TYPE65` is `HTTPS`).
    pub fn from_number(number: u16) -> Self {
        let wire = RecordType::from(number);
        NAMED.iter().map(|(kind, _)| *kind).find(|kind| kind.wire() == wire).unwrap_or(Self::Other(number))
    }

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
            Self::CAA => RecordType::CAA,
            Self::DS => RecordType::DS,
            Self::DNSKEY => RecordType::DNSKEY,
            Self::NAPTR => RecordType::NAPTR,
            Self::SVCB => RecordType::SVCB,
            Self::HTTPS => RecordType::HTTPS,
            Self::DNAME => RecordType::DNAME,
            Self::Other(n) => RecordType::from(n),
        }
    }

    /// A or AAAA.
    pub fn is_address(self) -> bool {
        matches!(self, Self::A | Self::AAAA)
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
    /// The DNAME (`owner -> target`) this link was synthesized from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dname: Option<String>,
}

/// Why an alias chain ends without records of the asked type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ChainEnd {
    /// The chain comes back to a name already in it.
    Loop { at: String },
    /// The last target does not exist.
    NxDomain { target: String },
    /// The last target exists but has no records of the asked type.
    NoData { target: String },
    /// The server gave the alias but not what it points to (a zone it does not serve, and it
    /// does not recurse): another server may know.
    NotFollowed { target: String },
    /// More links than any real chain has.
    TooLong { at: String },
}

impl ChainEnd {
    pub fn explain(&self) -> String {
        match self {
            Self::Loop { at } => format!("the alias chain loops back to {at}"),
            Self::NxDomain { target } => format!("NXDOMAIN for the alias target {target}"),
            Self::NoData { target } => format!("no data for the alias target {target}"),
            Self::NotFollowed { target } => {
                format!("this server did not follow the alias to {target} (a zone it does not serve)")
            }
            Self::TooLong { at } => {
                format!("the alias chain is longer than {MAX_CHAIN} links (stopped at {at})")
            }
        }
    }
}

/// No real chain is this long (resolvers give up at 8 to 16); a hostile one stops here.
pub const MAX_CHAIN: usize = 32;

/// One record, in presentation form, and its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub ttl: u32,
    /// As dig prints it (escapes for anything not printable), names without the final dot.
    pub data: String,
    /// The RDATA exactly as received, in hex (empty for hosts-file entries).
    pub rdata_hex: String,
}

impl DnsRecord {
    pub(crate) fn from_wire(record: &Record) -> Self {
        let bytes = present::wire_bytes(&record.data);
        let kind = record.record_type();
        Self {
            name: present::name(&record.name),
            kind: present::type_name(kind),
            ttl: record.ttl,
            data: present::rdata(kind, &bytes),
            rdata_hex: present::hex(&bytes),
        }
    }
}

/// A definitive answer: records, NXDOMAIN, or no data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub response_code: ResponseCode,
    pub authoritative: bool,
    /// The RA flag: the server offers recursion.
    pub recursion_available: bool,
    /// The name the chain ends at (the query name when there is no CNAME).
    pub canonical_name: String,
    pub cname_chain: Vec<CnameLink>,
    /// Why the chain ends without data, when it does.
    pub chain_end: Option<ChainEnd>,
    /// Records of the asked types at the canonical name (CNAME queries: the chain's records).
    pub records: Vec<DnsRecord>,
    /// The A and AAAA addresses among `records`.
    pub addresses: Vec<IpAddr>,
    /// The authority section: SOA on NXDOMAIN/no data, NS on a referral.
    pub authority: Vec<DnsRecord>,
    /// How long a resolver may cache this absence (min of SOA TTL and minimum, RFC 2308).
    pub negative_ttl: Option<u32>,
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

    /// A final answer that only names an alias another server may follow is not definitive;
    /// neither is a chain that loops or runs past [`MAX_CHAIN`] (a resolver answers SERVFAIL
    /// there): the name is broken on that server, which says nothing about it having no data,
    /// so the question goes on to the next server and fails if none settles it.
    pub fn is_definitive(&self) -> bool {
        !matches!(
            self.chain_end,
            Some(ChainEnd::NotFollowed { .. } | ChainEnd::Loop { .. } | ChainEnd::TooLong { .. })
        )
    }

    /// Adds another question's answer (A then AAAA); the longest chain is the one shown, so
    /// `-t CNAME,A` and `-t A,CNAME` tell the same story.
    pub(crate) fn merge(&mut self, other: Answer) {
        if other.response_code == ResponseCode::NoError {
            self.response_code = ResponseCode::NoError;
        }
        if other.cname_chain.len() > self.cname_chain.len() {
            self.cname_chain = other.cname_chain;
            self.canonical_name = other.canonical_name;
            self.chain_end = other.chain_end;
        } else if self.chain_end.is_none() && self.records.is_empty() {
            self.chain_end = other.chain_end;
        }
        if !self.records.is_empty() || !other.records.is_empty() {
            self.chain_end = None;
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
        for record in other.authority {
            if !self.authority.contains(&record) {
                self.authority.push(record);
            }
        }
        self.negative_ttl = match (self.negative_ttl, other.negative_ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A non-recursive server's delegation: NOERROR, nothing for the name, NS in authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referral {
    /// The zone delegated (the NS records' owner).
    pub zone: String,
    /// The name servers it names (glue addresses are not an answer and are not kept).
    pub delegated_to: Vec<String>,
    /// Delegates to the root or to a zone that is not above the name: a server that knows
    /// nothing of the name.
    pub upward: bool,
}

/// Extracts the chain and records of `kind` for `query_name` from a NOERROR/NXDOMAIN reply,
/// and a referral when that is what the reply is. Only the answer section answers: the
/// additional section (glue) never does.
pub(crate) fn answer_from(
    message: &Message,
    query_name: &str,
    kind: RecordKind,
) -> (Answer, Option<Referral>) {
    let nx = message.metadata.response_code == hickory_proto::op::ResponseCode::NXDomain;
    let qname = Name::from_ascii(query_name).unwrap_or_else(|_| Name::root());
    let mut current = qname.clone();
    let mut chain: Vec<CnameLink> = Vec::new();
    let mut seen = vec![current.clone()];
    let mut chain_end = None;
    loop {
        let cname = message.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if r.name == current => Some((target.0.clone(), r.ttl)),
            _ => None,
        });
        // A DNAME above the current name rewrites its suffix (RFC 6672); servers also send the
        // synthesized CNAME, which wins when present.
        let dname = message.answers.iter().find_map(|r| {
            if r.record_type() != RecordType::DNAME || !r.name.zone_of(&current) || r.name == current {
                return None;
            }
            let bytes = present::wire_bytes(&r.data);
            let target = name_from_wire(&bytes)?;
            Some((r.name.clone(), target, r.ttl))
        });
        let (target, ttl, via) = match (cname, dname) {
            (Some((target, ttl)), via) => (target, ttl, via),
            (None, Some((owner, dtarget, ttl))) => match substitute(&current, &owner, &dtarget) {
                Some(target) => (target, ttl, Some((owner, dtarget, ttl))),
                None => break,
            },
            (None, None) => break,
        };
        chain.push(CnameLink {
            alias: present::name(&current),
            target: present::name(&target),
            ttl,
            dname: via.map(|(owner, dtarget, _)| {
                format!("{} -> {}", present::name(&owner), present::name(&dtarget))
            }),
        });
        if seen.contains(&target) {
            chain_end = Some(ChainEnd::Loop { at: present::name(&target) });
            current = target;
            break;
        }
        if chain.len() >= MAX_CHAIN {
            chain_end = Some(ChainEnd::TooLong { at: present::name(&target) });
            current = target;
            break;
        }
        seen.push(target.clone());
        current = target;
    }
    let mut found = Vec::new();
    let mut addresses = Vec::new();
    if kind == RecordKind::CNAME {
        found.extend(
            message
                .answers
                .iter()
                .filter(|r| r.record_type() == RecordType::CNAME && r.name == qname)
                .map(DnsRecord::from_wire),
        );
    } else {
        for record in &message.answers {
            if record.record_type() != kind.wire() || record.name != current {
                continue;
            }
            match &record.data {
                RData::A(a) => addresses.push(IpAddr::V4(a.0)),
                RData::AAAA(a) => addresses.push(IpAddr::V6(a.0)),
                _ => {}
            }
            let record = DnsRecord::from_wire(record);
            if !found.contains(&record) {
                found.push(record);
            }
        }
    }
    let authority: Vec<DnsRecord> = message
        .authorities
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::SOA | RecordType::NS))
        .map(DnsRecord::from_wire)
        .collect();
    let negative_ttl = message.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
        _ => None,
    });
    let has_soa = negative_ttl.is_some();
    let ns: Vec<&Record> = message.authorities.iter().filter(|r| r.record_type() == RecordType::NS).collect();
    let mut referral = None;
    if found.is_empty() && !nx && kind != RecordKind::CNAME {
        // NOERROR without data at the end of the chain: a referral (NS, no SOA, not
        // authoritative for it) or a real absence.
        let authoritative_here = message.metadata.authoritative && chain.is_empty();
        let delegates = !(ns.is_empty() || has_soa || authoritative_here);
        if delegates {
            let zone = ns[0].name.clone();
            let delegated_to: Vec<String> = ns
                .iter()
                .filter(|r| r.name == zone)
                .filter_map(|r| match &r.data {
                    RData::NS(target) => Some(present::name(&target.0)),
                    _ => None,
                })
                .collect();
            let upward = zone.is_root() || !zone.zone_of(&current);
            if chain.is_empty() {
                referral = Some(Referral { zone: present::name(&zone), delegated_to, upward });
            } else if chain_end.is_none() {
                chain_end = Some(ChainEnd::NotFollowed { target: present::name(&current) });
            }
        } else if !chain.is_empty() && chain_end.is_none() {
            chain_end = Some(if has_soa || message.metadata.recursion_available {
                ChainEnd::NoData { target: present::name(&current) }
            } else {
                ChainEnd::NotFollowed { target: present::name(&current) }
            });
        }
    }
    if nx && !chain.is_empty() && chain_end.is_none() {
        chain_end = Some(ChainEnd::NxDomain { target: present::name(&current) });
    }
    let nothing_found = found.is_empty();
    let answer = Answer {
        response_code: if nx { ResponseCode::NxDomain } else { ResponseCode::NoError },
        authoritative: message.metadata.authoritative,
        recursion_available: message.metadata.recursion_available,
        canonical_name: present::name(&current),
        cname_chain: chain,
        chain_end,
        records: found,
        addresses,
        authority,
        negative_ttl: if nothing_found { negative_ttl } else { None },
    };
    (answer, referral)
}

/// Reads one uncompressed name from RDATA bytes.
fn name_from_wire(bytes: &[u8]) -> Option<Name> {
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    loop {
        let len = usize::from(*bytes.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(bytes.get(at..at + len)?);
        at += len;
    }
    let mut name = Name::from_labels(labels).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// `name` with its `owner` suffix replaced by `target` (DNAME substitution).
fn substitute(name: &Name, owner: &Name, target: &Name) -> Option<Name> {
    let keep = usize::from(name.num_labels()).checked_sub(usize::from(owner.num_labels()))?;
    let labels: Vec<&[u8]> = name.iter().take(keep).chain(target.iter()).collect();
    let mut out = Name::from_labels(labels).ok()?;
    out.set_fqdn(true);
    Some(out)
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
                what: "glue in the additional section is never the answer",
                message: reply(
                    vec![cname("alias.test.", "www.test.")],
                    vec![a("www.test.", "10.0.0.2")],
                    false,
                ),
                kind: RecordKind::A,
                canonical: "www.test",
                chain: 1,
                data: &[],
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
                canonical: "alias.test",
                chain: 2,
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
            let (answer, _) = answer_from(&case.message, query, case.kind);
            assert_eq!(answer.canonical_name, case.canonical, "{}", case.what);
            assert_eq!(answer.cname_chain.len(), case.chain, "{}", case.what);
            let data: Vec<&str> = answer.records.iter().map(|r| r.data.as_str()).collect();
            assert_eq!(data, case.data, "{}", case.what);
            assert_eq!(answer.response_code, case.code, "{}", case.what);
        }
    }

    fn ns(owner: &str, target: &str) -> Record {
        Record::from_rdata(name(owner), 60, RData::NS(hickory_proto::rr::rdata::NS(name(target))))
    }

    fn soa(owner: &str, ttl: u32, minimum: u32) -> Record {
        let data =
            hickory_proto::rr::rdata::SOA::new(name("ns.test."), name("admin.test."), 1, 2, 3, 4, minimum);
        Record::from_rdata(name(owner), ttl, RData::SOA(data))
    }

    fn with_authority(mut m: Message, authority: Vec<Record>, aa: bool, ra: bool) -> Message {
        m.authorities = authority;
        m.metadata.authoritative = aa;
        m.metadata.recursion_available = ra;
        m
    }

    #[test]
    fn referrals_and_chain_ends_table() {
        // A delegation with glue: a referral, and the glue is no answer.
        let referral = with_authority(
            reply(vec![], vec![a("ns1.sub.test.", "10.0.0.53")], false),
            vec![ns("sub.test.", "ns1.sub.test."), ns("sub.test.", "ns2.sub.test.")],
            false,
            false,
        );
        let (answer, found) = answer_from(&referral, "ns1.sub.test.", RecordKind::A);
        let found = found.expect("a referral");
        assert_eq!(found.zone, "sub.test");
        assert_eq!(found.delegated_to, ["ns1.sub.test", "ns2.sub.test"]);
        assert!(!found.upward);
        assert!(answer.records.is_empty() && answer.addresses.is_empty());

        let upward =
            with_authority(reply(vec![], vec![], false), vec![ns(".", "a.root.test.")], false, false);
        assert!(answer_from(&upward, "www.test.", RecordKind::A).1.expect("referral").upward);

        // NODATA with SOA: no referral, and the negative TTL is min(SOA TTL, minimum).
        let nodata = with_authority(reply(vec![], vec![], false), vec![soa("test.", 300, 60)], true, false);
        let (answer, found) = answer_from(&nodata, "www.test.", RecordKind::AAAA);
        assert!(found.is_none());
        assert_eq!(answer.negative_ttl, Some(60));
        assert_eq!(answer.authority.len(), 1);

        let cases = [
            (
                "alias to a zone the server does not serve",
                with_authority(
                    reply(vec![cname("alias.test.", "far.example.")], vec![], false),
                    vec![],
                    true,
                    false,
                ),
                Some(ChainEnd::NotFollowed { target: "far.example".into() }),
            ),
            (
                "alias, then a delegation for the target",
                with_authority(
                    reply(vec![cname("alias.test.", "www.sub.test.")], vec![], false),
                    vec![ns("sub.test.", "ns1.sub.test.")],
                    false,
                    false,
                ),
                Some(ChainEnd::NotFollowed { target: "www.sub.test".into() }),
            ),
            (
                "alias, target exists without data",
                with_authority(
                    reply(vec![cname("alias.test.", "www.test.")], vec![], false),
                    vec![soa("test.", 300, 60)],
                    false,
                    true,
                ),
                Some(ChainEnd::NoData { target: "www.test".into() }),
            ),
            (
                "alias, target does not exist",
                reply(vec![cname("alias.test.", "gone.test.")], vec![], true),
                Some(ChainEnd::NxDomain { target: "gone.test".into() }),
            ),
            (
                "complete chain",
                reply(vec![cname("alias.test.", "www.test."), a("www.test.", "10.0.0.1")], vec![], false),
                None,
            ),
        ];
        for (what, message, want) in cases {
            let (answer, referral) = answer_from(&message, "alias.test.", RecordKind::A);
            assert_eq!(answer.chain_end, want, "{what}");
            assert!(referral.is_none(), "{what}");
        }

        // An endless chain stops at MAX_CHAIN links.
        let links: Vec<Record> =
            (0..100).map(|i| cname(&format!("n{i}.test."), &format!("n{}.test.", i + 1))).collect();
        let (answer, _) = answer_from(&reply(links, vec![], false), "n0.test.", RecordKind::A);
        assert_eq!(answer.cname_chain.len(), MAX_CHAIN);
        assert!(matches!(answer.chain_end, Some(ChainEnd::TooLong { .. })));
    }

    #[test]
    fn dname_is_followed_even_without_a_synthesized_cname() {
        let dname = Record::from_rdata(
            name("old.test."),
            60,
            RData::Unknown {
                code: RecordType::DNAME,
                rdata: hickory_proto::rr::rdata::NULL::with(b"\x03new\x04test\x00".to_vec()),
            },
        );
        let message = reply(vec![dname, a("www.new.test.", "10.0.0.9")], vec![], false);
        let (answer, _) = answer_from(&message, "www.old.test.", RecordKind::A);
        assert_eq!(answer.canonical_name, "www.new.test");
        assert_eq!(answer.cname_chain[0].dname.as_deref(), Some("old.test -> new.test"));
        assert_eq!(answer.addresses, ["10.0.0.9".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn merge_keeps_both_families_once() {
        let (mut first, _) =
            answer_from(&reply(vec![a("www.test.", "10.0.0.1")], vec![], false), "www.test.", RecordKind::A);
        let aaaa = Record::from_rdata(name("www.test."), 30, RData::AAAA(AAAA("fd00::1".parse().unwrap())));
        let (second, _) = answer_from(&reply(vec![aaaa], vec![], false), "www.test.", RecordKind::AAAA);
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
        assert_eq!("TYPE65".parse::<RecordKind>(), Ok(RecordKind::HTTPS));
        assert_eq!("type65280".parse::<RecordKind>(), Ok(RecordKind::Other(65280)));
        assert_eq!(RecordKind::Other(65280).to_string(), "TYPE65280");
        assert!("TYPE41".parse::<RecordKind>().is_err());
    }
}

//! Per-server DNS: ask the app's own DNS servers one after another, each given the whole
//! timeout (3 s by default, as App Service documents), and report every server's outcome.
//! Each question (A, AAAA, each asked type) is settled on its own: one that a server failed
//! goes on to the next server, and a question no server settled is a failure, never an absence.
//!
//! - [`servers`]: which servers, in which order, and where that list came from.
//! - [`lookup`] / [`resolve_host`]: the lookup itself, hosts file first unless a server was
//!   named explicitly.
//! - [`privatelink`]: is a private endpoint name resolving to a private address?
//! - [`present`]: dig's presentation format, from the wire bytes (nothing reaches a terminal
//!   unescaped).

mod exchange;
pub mod hosts;
mod lookup;
pub mod present;
pub mod privatelink;
mod records;
pub mod servers;

pub use exchange::Transport;
pub use hosts::{Hosts, default_hosts_path};
pub use lookup::{
    Agreement, AgreementGroup, AnsweredBy, EDNS_PAYLOAD, HostLookup, Lookup, LookupError, LookupOptions,
    Outcome, QueryAttempt, Question, ServerAttempt, lookup, lookup_until, query_failure, resolve_host,
};
pub use privatelink::{PrivateLinkFinding, PrivateLinkStatus, privatelink_finding};
pub use records::{
    Answer, ChainEnd, CnameLink, DnsRecord, Family, MAX_CHAIN, QueryTarget, RecordKind, Referral,
    ResponseCode, UnknownRecordKind,
};
pub use servers::{
    ServerError, ServerList, ServerSource, ToolServers, parse_server, servers_for_app, servers_for_tool,
};

use std::time::Duration;

/// The per-server timeout App Service documents.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

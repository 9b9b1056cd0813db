//! The envelope every JSON record of every tool starts with, so that one script can tell any
//! record apart without knowing which program wrote it (docs/json.md).

use serde::Serialize;

/// `tcpping` attempt and summary records: version 1 (unchanged since the first release).
pub const TCPPING_SCHEMA: u32 = 1;
/// `nameresolver`'s document: version 3 (2 had `schema_version` and no envelope).
pub const NAMERESOLVER_SCHEMA: u32 = 3;
/// Every `netdiag` subcommand's records: version 2 (check and deps were at 2 already; tnc, env
/// and subnet had no version and moved to 2 with the envelope).
pub const NETDIAG_SCHEMA: u32 = 2;

/// Which program (and, for netdiag, which subcommand) wrote a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Tcpping,
    Nameresolver,
    Netdiag(Command),
}

/// A `netdiag` subcommand that writes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Check,
    Deps,
    Tnc,
    Env,
    Subnet,
}

impl Tool {
    pub fn id(self) -> &'static str {
        match self {
            Tool::Tcpping => "tcpping",
            Tool::Nameresolver => "nameresolver",
            Tool::Netdiag(_) => "netdiag",
        }
    }

    /// The subcommand, `None` for the single-purpose tools.
    pub fn command(self) -> Option<&'static str> {
        match self {
            Tool::Netdiag(c) => Some(match c {
                Command::Check => "check",
                Command::Deps => "deps",
                Command::Tnc => "tnc",
                Command::Env => "env",
                Command::Subnet => "subnet",
            }),
            Tool::Tcpping | Tool::Nameresolver => None,
        }
    }

    pub fn schema(self) -> u32 {
        match self {
            Tool::Tcpping => TCPPING_SCHEMA,
            Tool::Nameresolver => NAMERESOLVER_SCHEMA,
            Tool::Netdiag(_) => NETDIAG_SCHEMA,
        }
    }
}

/// The first fields of every record; renderers flatten it into their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// What the record is (`attempt`, `summary`, `target`, `lookup`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema: u32,
    pub tool: &'static str,
    /// The netdiag subcommand; null for tcpping and nameresolver.
    pub command: Option<&'static str>,
    /// When the record was written (RFC 3339, UTC, microseconds).
    pub timestamp: String,
}

impl Envelope {
    /// A record of `kind` written now.
    pub fn new(tool: Tool, kind: &'static str) -> Self {
        Self::at(tool, kind, crate::timestamp::now())
    }

    /// A record of `kind` stamped with `timestamp` (a record that carries its own time already).
    pub fn at(tool: Tool, kind: &'static str, timestamp: String) -> Self {
        Self { kind, schema: tool.schema(), tool: tool.id(), command: tool.command(), timestamp }
    }
}

/// `record` after the envelope, as one JSON object.
#[derive(Serialize)]
pub struct Enveloped<T: Serialize> {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub record: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_fields_come_first_and_name_the_tool() {
        let v = serde_json::to_string(&Enveloped {
            envelope: Envelope::at(Tool::Netdiag(Command::Env), "environment", "T".into()),
            record: serde_json::json!({"a": 1}),
        })
        .unwrap();
        assert_eq!(
            v,
            r#"{"type":"environment","schema":2,"tool":"netdiag","command":"env","timestamp":"T","a":1}"#
        );
        let t = serde_json::to_value(Envelope::new(Tool::Tcpping, "attempt")).unwrap();
        assert_eq!(t["tool"], "tcpping");
        assert_eq!(t["schema"], TCPPING_SCHEMA);
        assert!(t["command"].is_null());
        assert!(humantime::parse_rfc3339(t["timestamp"].as_str().unwrap()).is_ok());
    }
}

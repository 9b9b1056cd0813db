//! One JSON contract (docs/json.md): every `--json` command of every tool, run for real
//! against loopback listeners and the in-process DNS servers, writes records that start with
//! the same envelope, and the sub-records for one fact (a DNS server's outcome, a finding) have
//! one key set wherever they appear.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;

use serde_json::Value;
use support::dns::{Fault, FaultServer, ZoneServer, names};
use support::{Run, run, tool};

/// The keys of a JSON object in the order written (`Value` sorts them).
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, serde::de::IgnoredAny)) = map.next_entry::<String, _>()? {
                    keys.push(key);
                }
                Ok(KeyOrder(keys))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Every record `r` wrote (NDJSON lines, or the one pretty document nameresolver writes),
/// each checked to start with the envelope's keys in their documented order.
fn records(r: &Run, pretty: bool) -> Vec<Value> {
    let texts: Vec<String> = if pretty {
        vec![r.stdout()]
    } else {
        r.stdout().lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
    };
    for text in &texts {
        let order: KeyOrder = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}\n{r}"));
        assert_eq!(
            order.0[..5.min(order.0.len())],
            ["type", "schema", "tool", "command", "timestamp"],
            "{text}\n{r}"
        );
    }
    if pretty { vec![r.json()] } else { r.json_lines() }
}

/// Checks the envelope of every record and returns their `type`s in order.
fn envelope(r: &Run, records: &[Value], tool: &str, command: Option<&str>, schema: u64) -> Vec<String> {
    assert!(!records.is_empty(), "no record\n{r}");
    records
        .iter()
        .map(|record| {
            let kind = record["type"].as_str().unwrap_or_else(|| panic!("no type: {record}\n{r}"));
            assert_eq!(record["schema"].as_u64(), Some(schema), "schema: {record}\n{r}");
            assert_eq!(record["tool"], tool, "tool: {record}\n{r}");
            assert_eq!(record["command"].as_str(), command, "command: {record}\n{r}");
            let stamp = record["timestamp"].as_str().unwrap_or_else(|| panic!("no timestamp: {record}\n{r}"));
            assert!(
                stamp.ends_with('Z') && humantime::parse_rfc3339(stamp).is_ok(),
                "timestamp {stamp}\n{r}"
            );
            kind.to_owned()
        })
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

/// Sub-records seen so far, by what they are, with where each was seen.
#[derive(Default)]
struct Shapes(BTreeMap<&'static str, Vec<(String, BTreeSet<String>)>>);

impl Shapes {
    fn add(&mut self, what: &'static str, at: &str, v: &Value) {
        self.0.entry(what).or_default().push((at.to_owned(), keys(v)));
    }
}

#[test]
fn every_json_command_writes_the_envelope_and_one_shape_per_sub_record() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port().to_string();
    let open_addr = format!("127.0.0.1:{port}");
    let zone = ZoneServer::start();
    let refused = FaultServer::start(Fault::Refused);
    let (zone_addr, refused_addr) = (zone.addr.to_string(), refused.addr.to_string());
    let mut shapes = Shapes::default();

    // tcpping: one attempt that connects, and one whose name no server gives (DNS server records).
    for (target, code) in [(open_addr.clone(), 0), (format!("{}:{port}", names::MISSING), 1)] {
        let mut cmd = tool("tcpping");
        cmd.args(["-n", "1", "--json", "--dns-server", &refused_addr, "--dns-timeout", "300ms", &target]);
        let r = run(cmd);
        r.expect_code(code);
        let recs = records(&r, false);
        assert_eq!(envelope(&r, &recs, "tcpping", None, 1), ["attempt", "summary"]);
        if code == 1 {
            let servers = recs[0]["dns_servers"].as_array().unwrap_or_else(|| panic!("{r}"));
            assert_eq!(servers[0]["status"], "refused", "{r}");
            for s in servers {
                shapes.add("dns_server", "tcpping attempt.dns_servers[]", s);
            }
        }
    }

    // nameresolver: one document, with `schema_version` kept beside `schema`.
    for server in [&zone_addr, &refused_addr] {
        let mut cmd = tool("nameresolver");
        cmd.args([names::WWW, server.as_str(), "--json", "--timeout", "500ms"]);
        let r = run(cmd);
        let recs = records(&r, true);
        assert_eq!(envelope(&r, &recs, "nameresolver", None, 3), ["lookup"]);
        assert_eq!(recs[0]["schema_version"], 3, "{r}");
        for a in recs[0]["attempts"].as_array().unwrap() {
            shapes.add("dns_server", "nameresolver attempts[]", a);
        }
    }

    // check: a name the zone gives on loopback, and one only the refusing server is asked for.
    let mut cmd = tool("netdiag");
    cmd.args(["check", "--json", "--dns-server", &refused_addr, "--dns-server", &zone_addr])
        .args(["--dns-timeout", "300ms", "-w", "500ms"])
        .arg(format!("{}:{port}", names::LOOPBACK))
        .arg(format!("{}:{port}", names::MISSING));
    let r = run(cmd);
    let recs = records(&r, false);
    let kinds = envelope(&r, &recs, "netdiag", Some("check"), 2);
    assert_eq!(kinds, ["target", "target", "summary"], "{r}");
    for t in &recs[..2] {
        for s in t["dns"]["servers"].as_array().unwrap_or_else(|| panic!("{r}")) {
            shapes.add("dns_server", "check target.dns.servers[]", s);
        }
        for f in t["findings"].as_array().unwrap() {
            shapes.add("finding", "check target.findings[]", f);
        }
    }
    let check_summary = keys(&recs[2]);

    // deps: a connection string naming the listener by address, one naming a name, one unparsable.
    let mut cmd = tool("netdiag");
    cmd.env("SQLCONNSTR_db", format!("Server=tcp:127.0.0.1,{port};Password=Qz7SECRET7zQ"))
        .env("MYSQLCONNSTR_named", format!("Server={};Port={port};Pwd=Qz7SECRET7zQ", names::LOOPBACK))
        .env("CUSTOMCONNSTR_weird", "Something=else;Other=Qz7SECRET7zQ")
        .args(["deps", "--json", "--dns-server", &zone_addr, "--dns-timeout", "300ms", "-w", "500ms"]);
    let r = run(cmd);
    assert!(!r.stdout().contains("Qz7SECRET7zQ"), "{r}");
    let recs = records(&r, false);
    let kinds = envelope(&r, &recs, "netdiag", Some("deps"), 2);
    assert_eq!(kinds.last().map(String::as_str), Some("summary"), "{r}");
    assert!(
        kinds.iter().any(|k| k == "unparsed") && kinds.iter().filter(|k| *k == "dependency").count() == 2,
        "{r}"
    );
    for d in recs.iter().filter(|d| d["type"] == "dependency") {
        for s in d["check"]["dns"]["servers"].as_array().into_iter().flatten() {
            shapes.add("dns_server", "deps dependency.check.dns.servers[]", s);
        }
        for f in d["check"]["findings"].as_array().unwrap_or_else(|| panic!("{r}")) {
            shapes.add("finding", "deps dependency.check.findings[]", f);
        }
    }
    // deps' summary has every field check's has (and its own `dependencies*` counts).
    let deps_summary = keys(recs.last().unwrap());
    let missing: Vec<_> = check_summary.difference(&deps_summary).collect();
    assert!(missing.is_empty(), "deps summary lacks {missing:?}\n{r}");
    let summary = recs.last().unwrap();
    assert_eq!(summary["targets_checked"], summary["dependencies_checked"], "{r}");
    let verdicts: u64 = summary["verdicts"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(Some(verdicts), summary["targets_checked"].as_u64(), "{r}");

    // tnc: Test-NetConnection's PascalCase fields after the envelope.
    let mut cmd = tool("netdiag");
    cmd.args(["tnc", "127.0.0.1", "-p", &port, "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    let recs = records(&r, false);
    assert_eq!(envelope(&r, &recs, "netdiag", Some("tnc"), 2), ["result"]);
    assert_eq!(recs[0]["TcpTestSucceeded"], true, "{r}");
    assert_eq!(recs[0]["timestamp"], recs[0]["Timestamp"], "{r}");

    // env, with the app's DNS setting naming a loopback server so nothing else is consulted.
    let mut cmd = tool("netdiag");
    cmd.env("WEBSITE_DNS_SERVER", &zone_addr).args(["env", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    let recs = records(&r, false);
    assert_eq!(envelope(&r, &recs, "netdiag", Some("env"), 2), ["environment"]);
    assert!(recs[0]["settings"].is_object(), "{r}");

    // subnet
    let mut cmd = tool("netdiag");
    cmd.args(["subnet", "/26", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    let recs = records(&r, false);
    assert_eq!(envelope(&r, &recs, "netdiag", Some("subnet"), 2), ["subnet_plan"]);
    assert_eq!(recs[0]["prefix"], 26, "{r}");

    // One shape per sub-record: every DNS server record has the same core, every finding the
    // same keys, in every tool.
    let core: BTreeSet<String> = ["server", "status", "detail", "elapsed_ms"].map(String::from).into();
    let dns = &shapes.0["dns_server"];
    let places: BTreeSet<&str> = dns.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(places.len(), 4, "DNS server records not seen everywhere: {places:?}");
    for (at, k) in dns {
        assert!(k.is_superset(&core), "{at}: {k:?} lacks some of {core:?}");
    }
    // Within check and deps (one engine type) the key set is exactly the core.
    for (at, k) in dns.iter().filter(|(at, _)| at.contains("check")) {
        assert_eq!(k, &core, "{at}");
    }
    let findings = &shapes.0["finding"];
    assert!(findings.iter().any(|(at, _)| at.starts_with("deps")), "no finding in deps");
    for (at, k) in findings {
        assert_eq!(k, &findings[0].1, "{at} differs from {}", findings[0].0);
    }
    drop(open);
}

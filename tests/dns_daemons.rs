//! nameresolver against real DNS daemons (BIND authoritative, Unbound forwarding to it, Unbound
//! without TCP), all on 127.0.0.1 high ports with zones this test writes. Every case compares
//! our JSON with kdig's answer from the same server, field by field.

mod support;

use std::net::SocketAddr;

use serde_json::Value;
use support::daemons::{Bind, Kdig, Unbound, UnboundKind, kdig, trim_dot};
use support::{Run, run, tool};

const ZONE: &str = r#"$TTL 300
@        SOA  ns.netdiag.test. admin.netdiag.test. 1 3600 600 86400 60
@        NS   ns
ns       A    127.0.0.1
www      A    10.0.0.5
www      A    10.0.0.6
www      AAAA fd00::5
c1       CNAME c2
c2       CNAME c3
c3       CNAME c4
c4       CNAME www
across   CNAME www.other.test.
outside  CNAME target.unserved.example.
nxafter  CNAME gone.other.test.
loop1    CNAME loop2
loop2    CNAME loop1
moved    DNAME other.test.
*.wild   A    10.0.0.7
txt      TXT  "say \"hi\"" "dots..." "\255\001\027[31m" "back\\slash"
nullmx   MX   0 .
_sip._tcp SRV 0 0 0 .
spaced   PTR  has\032space.netdiag.test.
idn      A    10.0.0.10
xn--caf-dma A 10.0.0.11
sub      NS   ns.sub
ns.sub   A    127.0.0.9
noaddr   TXT  "exists"
vault    CNAME vault.privatelink.netdiag.test.
caa      CAA  0 issue "ca.example"
svc      SVCB 1 . alpn=h2,h3 port=8443 ipv4hint=10.0.0.5
web      HTTPS 1 . alpn=h2
naptr    NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.netdiag.test.
sub      DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"#;

const OTHER: &str = r#"$TTL 300
@        SOA  ns.other.test. admin.other.test. 1 3600 600 86400 60
@        NS   ns.netdiag.test.
www      A    10.0.0.8
"#;

const REVERSE4: &str = r#"$TTL 300
@        SOA  ns.netdiag.test. admin.netdiag.test. 1 3600 600 86400 60
@        NS   ns.netdiag.test.
5.0.0    PTR  www.netdiag.test.
"#;

const REVERSE6: &str = r#"$TTL 300
@        SOA  ns.netdiag.test. admin.netdiag.test. 1 3600 600 86400 60
@        NS   ns.netdiag.test.
5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR www.netdiag.test.
"#;

fn big_zone() -> String {
    // 60 A records: over 512 bytes, under 1232.
    let mut text = String::from(ZONE);
    text.push_str(&format!("long TXT \"{}\" \"{}\"\n", "x".repeat(255), "y".repeat(200)));
    for i in 1..=60 {
        text.push_str(&format!("big A 10.9.0.{i}\n"));
    }
    text
}

fn zones() -> Vec<(&'static str, String)> {
    vec![
        ("netdiag.test.", big_zone()),
        ("other.test.", OTHER.to_owned()),
        ("10.in-addr.arpa.", REVERSE4.to_owned()),
        ("0.0.d.f.ip6.arpa.", REVERSE6.to_owned()),
    ]
}

/// The text report of `args` asked of `server`.
fn nameresolver_text(server: SocketAddr, args: &[&str]) -> String {
    let mut cmd = tool("nameresolver");
    cmd.args(args).arg(server.to_string()).args(["--timeout", "2s"]);
    run(cmd).stdout()
}

fn nameresolver(server: SocketAddr, args: &[&str]) -> Run {
    let mut cmd = tool("nameresolver");
    cmd.args(args).arg(server.to_string()).args(["--json", "--timeout", "2s"]);
    run(cmd)
}

/// Names in data lose their final dot in our output; kdig keeps it. kdig writes SvcParam
/// values bare where dig quotes them (both are RFC 9460 presentation).
fn normalize(kind: &str, data: &str) -> String {
    if kind == "TXT" || kind == "CAA" {
        return data.to_owned();
    }
    let data = if kind == "SVCB" || kind == "HTTPS" { data.replace('"', "") } else { data.to_owned() };
    data.split_whitespace().map(trim_dot).collect::<Vec<_>>().join(" ")
}

/// Our records and chain against kdig's answer section, and the status.
fn same_as_kdig(doc: &Value, dig: &Kdig, kind: &str, what: &str) {
    // Asked by number, shown by name, as kdig and dig do.
    let kind = if kind == "TYPE65" { "HTTPS" } else { kind };
    let ours_status = match doc["result"].as_str().unwrap() {
        "nxdomain" => "NXDOMAIN",
        "all_servers_failed" => {
            let status = doc["attempts"][0]["queries"][0]["status"].as_str().unwrap();
            match status {
                "serv_fail" => "SERVFAIL",
                "refused" => "REFUSED",
                _ => "NOERROR",
            }
        }
        _ => "NOERROR",
    };
    assert_eq!(ours_status, dig.status, "{what}: status\n{doc:#}\n{dig:?}");
    let mut theirs: Vec<(String, String, String)> = dig
        .answer
        .iter()
        .filter(|(_, t, _)| t == kind)
        .map(|(o, t, d)| (o.to_lowercase(), t.clone(), normalize(t, d)))
        .collect();
    let answer = if doc["answer"].is_null() { &doc["chain"] } else { &doc["answer"] };
    let mut ours: Vec<(String, String, String)> = answer["records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| {
                    let kind = r["type"].as_str().unwrap();
                    (
                        r["name"].as_str().unwrap().to_lowercase(),
                        kind.to_owned(),
                        normalize(kind, r["data"].as_str().unwrap()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    theirs.sort();
    ours.sort();
    if kind != "CNAME" {
        assert_eq!(ours, theirs, "{what}: records\n{doc:#}\n{dig:?}");
    }
    let links: Vec<(String, String)> = answer["cname_chain"]
        .as_array()
        .map(|chain| {
            chain
                .iter()
                .map(|l| (l["alias"].as_str().unwrap().to_owned(), l["target"].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let dig_links: Vec<(String, String)> = dig
        .answer
        .iter()
        .filter(|(_, t, _)| t == "CNAME")
        .map(|(o, _, d)| (o.clone(), trim_dot(d)))
        .collect();
    // A SERVFAIL is a failure: whatever partial records came with it are not an answer.
    if dig.status == "NOERROR" || dig.status == "NXDOMAIN" {
        assert_eq!(links, dig_links, "{what}: chain\n{doc:#}\n{dig:?}");
    }
}

struct Case {
    name: &'static str,
    kind: &'static str,
    result: &'static str,
    /// Why the chain stops (`chain.chain_end.reason`), or "" for none.
    chain_end: &'static str,
}

const fn case(name: &'static str, kind: &'static str, result: &'static str, chain_end: &'static str) -> Case {
    Case { name, kind, result, chain_end }
}

fn check_cases(server: SocketAddr, cases: &[Case], label: &str) {
    for c in cases {
        let out = nameresolver(server, &[c.name, "-t", c.kind]);
        let doc = out.json();
        let what = format!("{label} {} {}", c.name, c.kind);
        assert_eq!(doc["result"], c.result, "{what}\n{out}");
        let end = doc["chain"]["chain_end"]["reason"].as_str().unwrap_or("");
        assert_eq!(end, c.chain_end, "{what}: chain end\n{out}");
        let dig = kdig(server, c.name, c.kind, &[]);
        same_as_kdig(&doc, &dig, c.kind, &what);
        // Nothing from the network reaches the terminal raw.
        let text = nameresolver_text(server, &[c.name, "-t", c.kind]);
        assert!(
            !text.bytes().any(|b| b == 0x1b || (b < 0x20 && b != b'\n' && b != b'\t')),
            "{what}: {text:?}"
        );
    }
}

/// What an authoritative-only server (BIND, Knot) answers for the test zone; both agree.
fn authoritative_cases() -> Vec<Case> {
    vec![
        case("www.netdiag.test", "A", "resolved", ""),
        case("www.netdiag.test", "AAAA", "resolved", ""),
        case("c1.netdiag.test", "A", "resolved", ""),
        case("c1.netdiag.test", "CNAME", "resolved", ""),
        // An authoritative-only server does not follow an alias out of the zone, even into
        // another zone it serves; nor into one it does not serve.
        case("across.netdiag.test", "A", "all_servers_failed", "not_followed"),
        case("outside.netdiag.test", "A", "all_servers_failed", "not_followed"),
        case("nxafter.netdiag.test", "A", "all_servers_failed", "not_followed"),
        case("www.moved.netdiag.test", "A", "all_servers_failed", "not_followed"),
        case("any.wild.netdiag.test", "A", "resolved", ""),
        case("txt.netdiag.test", "TXT", "resolved", ""),
        case("nullmx.netdiag.test", "MX", "resolved", ""),
        case("_sip._tcp.netdiag.test", "SRV", "resolved", ""),
        case("spaced.netdiag.test", "PTR", "resolved", ""),
        case("xn--caf-dma.netdiag.test", "A", "resolved", ""),
        case("missing.netdiag.test", "A", "nxdomain", ""),
        case("noaddr.netdiag.test", "A", "no_data", ""),
        case("big.netdiag.test", "A", "resolved", ""),
        case("long.netdiag.test", "TXT", "resolved", ""),
        case("caa.netdiag.test", "CAA", "resolved", ""),
        case("svc.netdiag.test", "SVCB", "resolved", ""),
        case("web.netdiag.test", "HTTPS", "resolved", ""),
        case("web.netdiag.test", "TYPE65", "resolved", ""),
        case("naptr.netdiag.test", "NAPTR", "resolved", ""),
        case("sub.netdiag.test", "DS", "resolved", ""),
        // A delegation: a referral, never "no data", and the glue is no answer.
        case("ns.sub.netdiag.test", "A", "all_servers_failed", ""),
    ]
}

#[test]
fn bind_authoritative_answers_as_kdig_sees_them() {
    let bind = Bind::start(&zones());
    let mut cases = authoritative_cases();
    // BIND answers a CNAME loop with SERVFAIL (the unit tests cover a server that sends one).
    cases.push(case("loop1.netdiag.test", "A", "all_servers_failed", ""));
    check_cases(bind.addr, &cases, "bind");

    let doc = nameresolver(bind.addr, &["txt.netdiag.test", "-t", "TXT"]).json();
    let record = &doc["answer"]["records"][0];
    assert_eq!(
        record["data"], r#""say \"hi\"" "dots..." "\255\001\027[31m" "back\\slash""#,
        "dig's presentation format"
    );
    assert!(record["rdata_hex"].as_str().unwrap().contains("ff011b5b33316d"), "exact bytes: {record}");
    let doc = nameresolver(bind.addr, &["nullmx.netdiag.test", "-t", "MX"]).json();
    assert_eq!(doc["answer"]["records"][0]["data"], "0 .");
    let doc = nameresolver(bind.addr, &["spaced.netdiag.test", "-t", "PTR"]).json();
    assert_eq!(doc["answer"]["records"][0]["data"], "has\\032space.netdiag.test");

    let doc = nameresolver(bind.addr, &["ns.sub.netdiag.test", "-t", "A"]).json();
    let outcome = &doc["attempts"][0]["queries"][0];
    assert_eq!(outcome["status"], "referral", "{doc:#}");
    assert_eq!(outcome["zone"], "sub.netdiag.test");
    assert_eq!(outcome["delegated_to"], serde_json::json!(["ns.sub.netdiag.test"]));
    assert!(doc["answer"].is_null(), "glue is never an answer: {doc:#}");

    let doc = nameresolver(bind.addr, &["missing.netdiag.test"]).json();
    assert_eq!(doc["answer"]["negative_ttl"], 60, "SOA minimum: {doc:#}");
    assert_eq!(doc["answer"]["recursion_available"], false);

    let text = nameresolver_text(bind.addr, &["outside.netdiag.test"]);
    assert!(text.contains("Chain: outside.netdiag.test -> target.unserved.example"), "{text}");
    assert!(
        text.contains(
            "gave no final answer for A: this server did not follow the alias to target.unserved.example"
        ),
        "{text}"
    );
    assert!(
        text.contains("*** Can't find outside.netdiag.test: no DNS server gave a final answer"),
        "{text}"
    );

    let doc = nameresolver(bind.addr, &["café.netdiag.test", "-t", "A"]).json();
    assert_eq!(doc["answer"]["addresses"], serde_json::json!(["10.0.0.11"]), "IDN: {doc:#}");

    // A private endpoint name whose privatelink record is missing: NXDOMAIN names the target,
    // and the privatelink verdict is still given, in JSON and in text.
    let doc = nameresolver(bind.addr, &["vault.netdiag.test"]).json();
    assert_eq!(doc["result"], "nxdomain", "{doc:#}");
    assert_eq!(doc["error"], "vault.privatelink.netdiag.test: no such name (NXDOMAIN)");
    assert_eq!(doc["privatelink"]["status"], "no_address", "{doc:#}");
    let text = nameresolver_text(bind.addr, &["vault.netdiag.test"]);
    assert!(text.contains("can't find vault.privatelink.netdiag.test: Non-existent domain (the target of an alias of vault.netdiag.test)"), "{text}");
    assert!(text.contains("Warning: "), "{text}");
    assert!(text.contains("Authority: netdiag.test SOA ns.netdiag.test admin.netdiag.test 1 3600 600 86400 60 (negative TTL 60s)"), "{text}");

    // dig's @server before the name, and --ttl.
    let mut cmd = tool("nameresolver");
    cmd.args([&format!("@{}", bind.addr), "www.netdiag.test", "-t", "A", "--ttl", "--timeout", "2s"]);
    let text = run(cmd).expect_code(0).stdout();
    assert!(text.contains("\t10.0.0.5\t(TTL 300s)\n"), "{text}");

    // -t CNAME,A and -t A,CNAME tell the same chain.
    let one = nameresolver(bind.addr, &["c1.netdiag.test", "-t", "CNAME,A"]).json();
    let other = nameresolver(bind.addr, &["c1.netdiag.test", "-t", "A,CNAME"]).json();
    assert_eq!(one["answer"]["cname_chain"], other["answer"]["cname_chain"]);
    assert_eq!(one["answer"]["cname_chain"].as_array().unwrap().len(), 4);

    for (addr, want) in [("10.0.0.5", "www.netdiag.test"), ("fd00::5", "www.netdiag.test")] {
        let mut cmd = tool("nameresolver");
        cmd.args(["-x", addr, &format!("@{}", bind.addr), "--json", "--timeout", "2s"]);
        let doc = run(cmd).expect_code(0).json();
        assert_eq!(doc["answer"]["records"][0]["data"], want, "{addr}");
    }
}

#[test]
fn knot_authoritative_answers_as_kdig_sees_them() {
    let knot = support::daemons::Knot::start(&zones());
    let cases = authoritative_cases();
    check_cases(knot.addr, &cases, "knot");
    let doc = nameresolver(knot.addr, &["ns.sub.netdiag.test", "-t", "A"]).json();
    assert_eq!(doc["attempts"][0]["queries"][0]["status"], "referral", "{doc:#}");
}

#[test]
fn unbound_forwarding_and_without_tcp() {
    let bind = Bind::start(&zones());
    let unbound = Unbound::start(bind.addr, UnboundKind::Plain, "netdiag.test.");
    let cases = [
        case("www.netdiag.test", "A", "resolved", ""),
        case("c1.netdiag.test", "A", "resolved", ""),
        case("across.netdiag.test", "A", "resolved", ""),
        case("nxafter.netdiag.test", "A", "nxdomain", "nx_domain"),
        case("missing.netdiag.test", "A", "nxdomain", ""),
        case("noaddr.netdiag.test", "A", "no_data", ""),
        case("txt.netdiag.test", "TXT", "resolved", ""),
        case("big.netdiag.test", "A", "resolved", ""),
        case("www.moved.netdiag.test", "A", "resolved", ""),
        case("x.moved.netdiag.test", "A", "nxdomain", "nx_domain"),
        case("spaced.netdiag.test", "PTR", "resolved", ""),
        case("nullmx.netdiag.test", "MX", "resolved", ""),
    ];
    check_cases(unbound.addr, &cases, "unbound");
    let doc = nameresolver(unbound.addr, &["www.netdiag.test", "-t", "A"]).json();
    assert_eq!(doc["answer"]["recursion_available"], true);

    // Without TCP: EDNS keeps a 60-record answer on UDP; without EDNS it is truncated and
    // the failed TCP retry is that question's failure.
    let no_tcp = Unbound::start(bind.addr, UnboundKind::NoTcp, "netdiag.test.");
    let doc = nameresolver(no_tcp.addr, &["big.netdiag.test", "-t", "A"]).json();
    assert_eq!(doc["result"], "resolved", "{doc:#}");
    assert_eq!(doc["answer"]["addresses"].as_array().unwrap().len(), 60);
    let doc = nameresolver(no_tcp.addr, &["big.netdiag.test", "-t", "A", "--no-edns"]).json();
    assert_eq!(doc["result"], "all_servers_failed", "{doc:#}");
    let message = doc["attempts"][0]["queries"][0]["message"].as_str().unwrap();
    assert!(message.contains("truncated and the TCP retry failed"), "{message}");

    // A mixed list where the first server fails one question: the question moves on.
    let mut cmd = tool("nameresolver");
    cmd.args(["outside.netdiag.test", "-t", "A", "--json", "--timeout", "2s"])
        .env("WEBSITE_DNS_SERVER", format!("{},{}", bind.addr, unbound.addr));
    let doc = run(cmd).json();
    assert_eq!(doc["attempts"][0]["failed_types"], serde_json::json!(["A"]), "{doc:#}");
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 2, "{doc:#}");
}

const SIGNED: &str = "$TTL 300
@        SOA  ns.signed.test. admin.signed.test. 1 3600 600 86400 60
@        NS   ns.netdiag.test.
www      A    10.0.0.5
www      AAAA fd00::5
";

#[test]
fn a_validating_resolver_fails_one_bogus_rrset_and_the_question_moves_on() {
    let keys = support::daemons::TempDir::new("dnssec");
    let (signed, anchor) =
        support::daemons::signed_zone(&keys.0, "signed.test.", SIGNED, "www.signed.test.", "AAAA");
    let mut all = zones();
    all.push(("signed.test.", signed));
    let bind = Bind::start(&all);
    let validating = Unbound::start(bind.addr, UnboundKind::Validating(anchor), "netdiag.test.");
    let plain = Unbound::start(bind.addr, UnboundKind::Plain, "netdiag.test.");

    // The keys as kdig prints them, from BIND.
    let doc = nameresolver(bind.addr, &["signed.test", "-t", "DNSKEY"]).json();
    same_as_kdig(&doc, &kdig(bind.addr, "signed.test", "DNSKEY", &[]), "DNSKEY", "bind signed.test DNSKEY");
    assert_eq!(doc["answer"]["records"].as_array().unwrap().len(), 2, "{doc:#}");

    // kdig sees the same split: A validates, AAAA is bogus.
    assert_eq!(kdig(validating.addr, "www.signed.test", "A", &[]).status, "NOERROR");
    assert_eq!(kdig(validating.addr, "www.signed.test", "AAAA", &[]).status, "SERVFAIL");

    let doc = nameresolver(validating.addr, &["www.signed.test"]).json();
    assert_eq!(doc["result"], "resolved", "{doc:#}");
    assert_eq!(doc["failed_types"], serde_json::json!(["AAAA"]), "{doc:#}");
    assert_eq!(doc["attempts"][0]["queries"][1]["status"], "serv_fail");
    let mut cmd = tool("nameresolver");
    cmd.args(["www.signed.test", &validating.addr.to_string(), "--timeout", "2s"]);
    let text = run(cmd).expect_code(0).stdout();
    assert!(text.contains("answered A but AAAA failed (SERVFAIL)"), "{text}");
    assert!(text.contains("No server answered the AAAA question"), "{text}");

    // With a second (non-validating) server, AAAA alone goes on to it.
    let mut cmd = tool("nameresolver");
    cmd.args(["www.signed.test", "--json", "--timeout", "2s"])
        .env("WEBSITE_DNS_SERVER", format!("{},{}", validating.addr, plain.addr));
    let doc = run(cmd).expect_code(0).json();
    assert_eq!(doc["failed_types"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["questions"][0]["answered_by"]["server"], validating.addr.to_string());
    assert_eq!(doc["questions"][1]["answered_by"]["server"], plain.addr.to_string());
    let second: Vec<&str> = doc["attempts"][1]["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["type"].as_str().unwrap())
        .collect();
    assert_eq!(second, ["AAAA"]);
}

#[test]
fn dnsmasq_answers_as_kdig_sees_them() {
    use support::dns::{Dnsmasq, dnsmasq_records};
    let dnsmasq = Dnsmasq::start(&dnsmasq_records());
    let cases = [
        case("www.netdiag.test", "A", "resolved", ""),
        case("www.netdiag.test", "AAAA", "resolved", ""),
        case("alias.netdiag.test", "A", "resolved", ""),
        case("missing.netdiag.test", "A", "nxdomain", ""),
        case("v4only.netdiag.test", "AAAA", "no_data", ""),
        case("noaddr.netdiag.test", "TXT", "resolved", ""),
        case("netdiag.test", "MX", "resolved", ""),
    ];
    check_cases(dnsmasq.addr, &cases, "dnsmasq");
}

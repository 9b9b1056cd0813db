//! nameresolver end to end: the real binary against hickory-server, fault servers and dnsmasq,
//! all on loopback.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::dns::{Dnsmasq, Fault, FaultServer, ZoneServer, closed_port, dnsmasq_records, names::*};
use support::{Run, run, tool};

fn nameresolver(args: &[&str]) -> Run {
    let mut cmd = tool("nameresolver");
    cmd.args(args);
    run(cmd)
}

fn nameresolver_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tool("nameresolver");
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    run(cmd)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

fn statuses(doc: &Value) -> Vec<String> {
    doc["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["outcome"]["status"].as_str().expect("status").to_owned())
        .collect()
}

#[test]
fn text_output_matches_the_original_format() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();
    let out = nameresolver(&[ALIAS, &server]);
    out.expect_code(0);
    let stdout = out.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        format!("Server: {server}"),
        String::new(),
        "Authoritative answer:".to_owned(),
        format!("Name: {WWW}"),
        "Addresses: ".to_owned(),
        format!("\t{WWW_V4}"),
        format!("\t{WWW_V6}"),
        // The aliases are the names that are aliases: never the canonical name again.
        "Aliases: ".to_owned(),
        format!("\t{ALIAS}"),
        format!("\t{MID}"),
        format!("Chain: {ALIAS} -> {MID} -> {WWW}"),
        // hickory-server is authoritative only: the RA flag is clear.
        "Note: this server does not offer recursion (RA flag not set)".to_owned(),
    ];
    assert_eq!(lines[..expected.len()], expected, "{out}");
    assert!(lines[expected.len()].starts_with("Lookup time: "), "{out}");
    assert_eq!(lines.len(), expected.len() + 1, "{out}");
}

#[test]
fn json_reports_chain_addresses_and_every_server() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();
    let out = nameresolver(&[ALIAS, &server, "--json", "--timeout", "500ms"]);
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 3, "{out}");
    assert_eq!(doc["schema"], 3, "{out}");
    assert_eq!(doc["result"], "resolved");
    assert_eq!(doc["servers"]["source"]["kind"], "argument");
    assert_eq!(doc["timeout_ms"], 500.0);
    assert_eq!(doc["answered_by"]["server"], server.as_str());
    let answer = &doc["answer"];
    assert_eq!(answer["canonical_name"], WWW);
    assert_eq!(strings(&answer["addresses"]), [WWW_V4, WWW_V6]);
    let chain: Vec<(String, String)> = answer["cname_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["alias"].as_str().unwrap().to_owned(), l["target"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(chain, [(ALIAS.to_owned(), MID.to_owned()), (MID.to_owned(), WWW.to_owned())]);
    assert!(answer["cname_chain"][0]["ttl"].as_u64().unwrap() > 0);
    assert_eq!(statuses(&doc), ["answered"]);
    let attempt = &doc["attempts"][0];
    assert_eq!(attempt["outcome"]["authoritative"], true);
    assert_eq!(attempt["outcome"]["transport"], "udp");
    let types: Vec<&str> =
        attempt["queries"].as_array().unwrap().iter().map(|q| q["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["A", "AAAA"]);
}

#[test]
fn ipv6_server_and_tcp() {
    let zone = ZoneServer::start();
    let server = zone.addr_v6.to_string();
    assert!(server.starts_with("[::1]:"));
    let out = nameresolver(&[WWW, &server, "--tcp", "--json"]);
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(strings(&doc["answer"]["addresses"]), [WWW_V4, WWW_V6], "{out}");
    assert_eq!(doc["attempts"][0]["outcome"]["transport"], "tcp", "{out}");
    assert_eq!(doc["transport"], "tcp");
}

#[test]
fn nxdomain_and_no_data_exit_1() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();

    let out = nameresolver(&[MISSING, &server]);
    out.expect_code(1);
    assert!(
        out.stdout().contains(&format!("*** {server} can't find {MISSING}: Non-existent domain")),
        "{out}"
    );
    let doc = nameresolver(&[MISSING, &server, "--json"]).expect_code(1).json();
    assert_eq!(doc["result"], "nxdomain");
    assert_eq!(doc["answer"]["response_code"], "NXDOMAIN");

    let out = nameresolver(&[NOADDR, &server, "--json"]);
    out.expect_code(1);
    assert_eq!(out.json()["result"], "no_data", "{out}");
    assert!(nameresolver(&[NOADDR, &server]).stdout().contains("No A/AAAA records (the name exists)"));

    // One family is enough for an address lookup to succeed.
    let doc = nameresolver(&[V4ONLY, &server, "--json"]).expect_code(0).json();
    assert_eq!(strings(&doc["answer"]["addresses"]), [V4ONLY_V4]);
    nameresolver(&[V4ONLY, &server, "--type", "AAAA"]).expect_code(1);
}

#[test]
fn other_record_types_and_reverse_lookup() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();
    let cases = [
        ("MX", "netdiag.test", "10 mail.netdiag.test"),
        ("NS", "netdiag.test", "ns.netdiag.test"),
        ("CNAME", ALIAS, MID),
    ];
    for (kind, name, want) in cases {
        let out = nameresolver(&[name, &server, "--type", kind, "--json"]);
        out.expect_code(0);
        let doc = out.json();
        let data: Vec<String> = doc["answer"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["data"].as_str().unwrap().to_owned())
            .collect();
        assert!(data.iter().any(|d| d == want), "{kind}: {data:?}\n{out}");
        assert!(doc["answer"]["records"].as_array().unwrap().iter().all(|r| r["type"] == kind), "{out}");
    }
    let out = nameresolver(&["netdiag.test", &server, "--type", "TXT"]);
    out.expect_code(0);
    assert!(out.stdout().contains("Records: \n\tTXT \"netdiag test zone\""), "{out}");
    let out = nameresolver(&["netdiag.test", &server, "--type", "soa", "--json"]);
    assert!(
        out.expect_code(0).json()["answer"]["records"][0]["data"]
            .as_str()
            .unwrap()
            .starts_with("ns.netdiag.test"),
        "{out}"
    );

    let out = nameresolver(&[WWW_V4, &server]);
    out.expect_code(0);
    assert!(out.stdout().contains(&format!("Name: {WWW}\nAddresses: \n\t{WWW_V4}\n")), "{out}");
    let doc = nameresolver(&[WWW_V4, &server, "--json"]).expect_code(0).json();
    assert_eq!(doc["query"]["name"], "5.0.0.10.in-addr.arpa");
    assert_eq!(doc["query"]["reverse_of"], WWW_V4);
}

#[test]
fn privatelink_chains_are_judged() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();

    let out = nameresolver(&[LINKED, &server]);
    out.expect_code(0);
    assert!(
        out.stdout().contains(&format!("Private endpoint: {LINKED_PL} resolves to a private address")),
        "{out}"
    );
    let doc = nameresolver(&[LINKED, &server, "--json"]).json();
    assert_eq!(doc["privatelink"]["status"], "private");
    assert_eq!(doc["privatelink"]["privatelink_name"], LINKED_PL);

    let out = nameresolver(&[UNLINKED, &server]);
    // Resolving to a public address is still a resolution: the warning explains the problem.
    out.expect_code(0);
    let stdout = out.stdout();
    assert!(stdout.contains(&format!("Name: {UNLINKED_PUBLIC}")), "{out}");
    assert!(
        stdout.contains(&format!("Warning: {UNLINKED_PL} resolves to public address {UNLINKED_V4}")),
        "{out}"
    );
    assert!(stdout.contains("not linked") && stdout.contains("168.63.129.16"), "{out}");
    let doc = nameresolver(&[UNLINKED, &server, "--json"]).json();
    assert_eq!(doc["privatelink"]["status"], "public");
    assert_eq!(strings(&doc["privatelink"]["public_addresses"]), [UNLINKED_V4]);

    let doc = nameresolver(&[WWW, &server, "--json"]).json();
    assert_eq!(doc["privatelink"], Value::Null);
}

#[test]
fn every_fault_is_classified_and_the_next_server_answers() {
    let zone = ZoneServer::start();
    let faults = [Fault::Silent, Fault::ServFail, Fault::Refused, Fault::Garbage, Fault::WrongId];
    let servers: Vec<FaultServer> = faults.iter().map(|f| FaultServer::start(*f)).collect();
    let closed = closed_port();
    let list: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    // Five faulty servers fill WEBSITE_DNS_SERVER; the working one comes last, as the alternate.
    let env_primary = list.join(",");
    let env_alt = zone.addr.to_string();
    let out = nameresolver_env(
        &[WWW, "--json", "--timeout", "300ms"],
        &[("WEBSITE_DNS_SERVER", &env_primary), ("WEBSITE_DNS_ALT_SERVER", &env_alt)],
    );
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(doc["servers"]["source"]["kind"], "website_dns_server", "{out}");
    assert_eq!(
        statuses(&doc),
        ["timed_out", "serv_fail", "refused", "malformed", "timed_out", "answered"],
        "{out}"
    );
    assert_eq!(doc["answered_by"]["server"], env_alt.as_str());
    assert_eq!(
        strings(&doc["answer"]["addresses"]),
        [WWW_V4, WWW_V6],
        "a wrong-id reply must not be accepted\n{out}"
    );
    let wrong_id = &doc["attempts"][4]["outcome"];
    assert!(wrong_id["ignored_replies"].as_u64().unwrap() >= 1, "{out}");
    // Two timeouts of 300 ms each, nothing more.
    let elapsed = doc["elapsed_ms"].as_f64().unwrap();
    assert!((590.0..2000.0).contains(&elapsed), "{elapsed}\n{out}");

    // The text names each failed server before the answer.
    let out = nameresolver_env(
        &[WWW, "--timeout", "300ms"],
        &[("WEBSITE_DNS_SERVER", &env_primary), ("WEBSITE_DNS_ALT_SERVER", &env_alt)],
    );
    out.expect_code(0);
    let stdout = out.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with(&format!("DNS server {} timed out after 3", list[0])), "{out}");
    assert!(lines[1].starts_with(&format!("DNS server {} failed (SERVFAIL)", list[1])), "{out}");
    assert!(lines[2].starts_with(&format!("DNS server {} refused the query (REFUSED)", list[2])), "{out}");
    assert!(lines[3].starts_with(&format!("DNS server {} sent a malformed reply", list[3])), "{out}");
    assert!(lines[4].starts_with(&format!("DNS server {} timed out (ignored", list[4])), "{out}");
    assert_eq!(lines[5], format!("Server: {env_alt}"), "{out}");

    let out = nameresolver(&[WWW, &closed.to_string(), "--json", "--timeout", "2s"]);
    out.expect_code(1);
    let doc = out.json();
    assert_eq!(statuses(&doc), ["network_error"], "{out}");
    assert!(
        doc["attempts"][0]["outcome"]["message"].as_str().unwrap().contains("connection refused"),
        "{out}"
    );
    assert!(
        doc["elapsed_ms"].as_f64().unwrap() < 1000.0,
        "an ICMP error must not wait for the timeout\n{out}"
    );
}

#[test]
fn truncated_udp_is_retried_over_tcp() {
    let server = FaultServer::start(Fault::Truncated);
    let out = nameresolver(&[WWW, &server.addr.to_string(), "--json", "--timeout", "1s"]);
    out.expect_code(0);
    let doc = out.json();
    let outcome = &doc["attempts"][0]["outcome"];
    assert_eq!(outcome["transport"], "tcp", "{out}");
    assert_eq!(outcome["retried_over_tcp"], true, "{out}");
    assert_eq!(strings(&doc["answer"]["addresses"]), [FAULT_V4]);
}

#[test]
fn all_servers_failing_exits_1_and_names_each() {
    let a = FaultServer::start(Fault::Silent);
    let b = FaultServer::start(Fault::Silent);
    let list = format!("{},{}", a.addr, b.addr);
    let out = nameresolver_env(&[WWW, "--json", "--timeout", "200ms"], &[("WEBSITE_DNS_SERVER", &list)]);
    out.expect_code(1);
    let doc = out.json();
    assert_eq!(doc["result"], "all_servers_failed", "{out}");
    assert_eq!(doc["all_timed_out"], true);
    assert_eq!(statuses(&doc), ["timed_out", "timed_out"]);

    let c = FaultServer::start(Fault::ServFail);
    let list = format!("{},{}", a.addr, c.addr);
    let out = nameresolver_env(&[WWW, "--timeout", "200ms"], &[("WEBSITE_DNS_SERVER", &list)]);
    out.expect_code(1);
    let stdout = out.stdout();
    assert!(stdout.contains(&format!("DNS server {} timed out after", a.addr)), "{out}");
    assert!(stdout.contains(&format!("DNS server {} failed (SERVFAIL)", c.addr)), "{out}");
    assert!(
        stdout.contains(&format!("*** Can't find {WWW}: no DNS server gave a usable answer (2 asked")),
        "{out}"
    );
}

#[test]
fn all_servers_compares_answers() {
    let zone = ZoneServer::start();
    let dnsmasq = Dnsmasq::start(&dnsmasq_records());
    let other = FaultServer::start(Fault::Truncated);

    let agree = format!("{},{}", zone.addr, dnsmasq.addr);
    let out = nameresolver_env(
        &[WWW, "--all-servers", "--json", "--timeout", "1s"],
        &[("WEBSITE_DNS_SERVER", &agree)],
    );
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(statuses(&doc), ["answered", "answered"], "{out}");
    assert_eq!(doc["agreement"]["agree"], true, "{out}");

    let disagree = format!("{},{}", zone.addr, other.addr);
    let out =
        nameresolver_env(&[WWW, "--all-servers", "--timeout", "1s"], &[("WEBSITE_DNS_SERVER", &disagree)]);
    out.expect_code(0);
    assert!(out.stdout().contains("The servers disagree: 2 different answers from 2 servers"), "{out}");
    assert!(out.stdout().contains(&format!("\t{}\t{FAULT_V4} (", other.addr)), "{out}");
    let doc = nameresolver_env(
        &[WWW, "--all-servers", "--json", "--timeout", "1s"],
        &[("WEBSITE_DNS_SERVER", &disagree)],
    )
    .json();
    assert_eq!(doc["agreement"]["agree"], false);
    assert_eq!(doc["agreement"]["groups"].as_array().unwrap().len(), 2);
}

#[test]
fn dnsmasq_end_to_end() {
    let dnsmasq = Dnsmasq::start(&dnsmasq_records());
    let server = dnsmasq.addr.to_string();
    let out = nameresolver(&[ALIAS, &server, "--timeout", "1s"]);
    out.expect_code(0);
    let stdout = out.stdout();
    assert!(stdout.starts_with(&format!("Server: {server}\n\n")), "{out}");
    assert!(
        stdout.contains(&format!(
            "Name: {WWW}\nAddresses: \n\t{WWW_V4}\n\t{WWW_V6}\nAliases: \n\t{ALIAS}\n\t{MID}\n"
        )),
        "{out}"
    );
    nameresolver(&[MISSING, &server, "--timeout", "1s"]).expect_code(1);
    let doc = nameresolver(&[UNLINKED, &server, "--json", "--timeout", "1s"]).expect_code(0).json();
    assert_eq!(doc["privatelink"]["status"], "public");
    let doc = nameresolver(&[WWW, &server, "--tcp", "--json", "--timeout", "1s"]).expect_code(0).json();
    assert_eq!(doc["attempts"][0]["outcome"]["transport"], "tcp");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: [&[&str]; 10] = [
        &["bad name!", "127.0.0.1"],
        &["a..b.example", "127.0.0.1"],
        &["www.netdiag.test", "dns.example"],
        &["www.netdiag.test", "127.0.0.1:99999"],
        &["www.netdiag.test", "127.0.0.1:x"],
        &["www.netdiag.test", "127.0.0.1", "--type", "BOGUS"],
        &["10.0.0.5", "127.0.0.1", "--type", "A"],
        &["www.netdiag.test", "127.0.0.1", "--timeout", "0s"],
        &["www.netdiag.test", "127.0.0.1", "--timeout", "soon"],
        &["www.netdiag.test", "127.0.0.1", "--no-such-flag"],
    ];
    for args in cases {
        let out = nameresolver(args);
        out.expect_code(2);
        let stderr = out.stderr();
        assert!(!stderr.contains("panicked"), "{out}");
        assert!(out.stdout().is_empty(), "{out}");
        // Our own checks and clap's usage errors alike: one line, naming the tool.
        assert_eq!(stderr.lines().count(), 1, "{out}");
        assert!(stderr.starts_with("nameresolver: "), "{out}");
    }
    let out = nameresolver_env(&[WWW, "--timeout", "200ms"], &[("WEBSITE_DNS_SERVER", "not-an-ip")]);
    out.expect_code(2);
    assert!(out.stderr().contains("not-an-ip"), "{out}");
    // A broken platform setting is pointed out, not fatal: the default 3 s applies.
    let zone = ZoneServer::start();
    let out = nameresolver_env(&[WWW, &zone.addr.to_string()], &[("WEBSITE_DNS_TIMEOUT", "soon")]);
    out.expect_code(0);
    assert_eq!(out.stderr().lines().count(), 1, "{out}");
    assert!(
        out.stderr().starts_with("nameresolver: warning: ignoring invalid WEBSITE_DNS_TIMEOUT \"soon\""),
        "{out}"
    );
    nameresolver(&["--no-such-flag"]).expect_code(2);
    nameresolver(&[]).expect_code(2);
}

#[test]
fn website_dns_timeout_sets_the_per_server_timeout() {
    let dead = FaultServer::start(Fault::Silent);
    let out = nameresolver_env(&[WWW, &dead.addr.to_string(), "--json"], &[("WEBSITE_DNS_TIMEOUT", "1")]);
    out.expect_code(1);
    let doc = out.json();
    assert_eq!(doc["timeout_ms"], 1000.0, "{out}");
    assert!(out.elapsed >= Duration::from_millis(950) && out.elapsed < Duration::from_millis(2500), "{out}");
    // --timeout overrides it.
    let doc = nameresolver_env(
        &[WWW, &dead.addr.to_string(), "--json", "--timeout", "100ms"],
        &[("WEBSITE_DNS_TIMEOUT", "1")],
    )
    .json();
    assert_eq!(doc["timeout_ms"], 100.0);
}

/// The documented timing, measured for real: 3 s per dead server.
#[test]
fn one_dead_server_costs_three_seconds() {
    let dead = FaultServer::start(Fault::Silent);
    let zone = ZoneServer::start();
    let list = format!("{},{}", dead.addr, zone.addr);
    let out = nameresolver_env(&[WWW, "--json"], &[("WEBSITE_DNS_SERVER", &list)]);
    out.expect_code(0);
    let doc = out.json();
    let elapsed = Duration::from_secs_f64(doc["elapsed_ms"].as_f64().unwrap() / 1e3);
    assert!(
        elapsed >= Duration::from_millis(2800) && elapsed <= Duration::from_millis(3800),
        "{elapsed:?}\n{out}"
    );
    assert_eq!(statuses(&doc), ["timed_out", "answered"]);
}

#[test]
fn two_dead_servers_fail_after_six_seconds() {
    let a = FaultServer::start(Fault::Silent);
    let b = FaultServer::start(Fault::Silent);
    let list = format!("{},{}", a.addr, b.addr);
    let out = nameresolver_env(&[WWW], &[("WEBSITE_DNS_SERVER", &list)]);
    out.expect_code(1);
    assert!(
        out.elapsed >= Duration::from_millis(5800) && out.elapsed <= Duration::from_millis(7000),
        "{out}"
    );
    let stdout = out.stdout();
    assert!(stdout.contains(&format!("DNS server {} timed out after 3.0", a.addr)), "{out}");
    assert!(stdout.contains(&format!("DNS server {} timed out after 3.0", b.addr)), "{out}");
    assert!(stdout.contains("every DNS server timed out (2 asked"), "{out}");
}

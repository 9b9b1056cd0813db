//! nameresolver against hostile and half-broken servers (our own, on loopback): every server's
//! time is capped by its timeout whatever it sends, and a question that fails on one server
//! is asked of the next, never reported as an absence.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::dns::{Fault, FaultServer, ZoneServer, names::*};
use support::{Run, run, tool};

fn nameresolver(args: &[&str]) -> Run {
    let mut cmd = tool("nameresolver");
    cmd.args(args);
    run(cmd)
}

fn website(servers: &[&str], args: &[&str]) -> Run {
    let mut cmd = tool("nameresolver");
    cmd.args(args).env("WEBSITE_DNS_SERVER", servers.join(","));
    run(cmd)
}

/// A run given a 1 s timeout must end within it plus this (process start, shared CPU).
const MARGIN: Duration = Duration::from_millis(1500);

#[test]
fn hostile_servers_cost_at_most_their_timeout() {
    let cases = [
        (Fault::ZeroLengthFrames, "network_error", "zero-length TCP frame"),
        (Fault::Trickle, "network_error", "TCP retry failed: timed out"),
        (Fault::WrongIdFlood, "timed_out", ""),
        (Fault::OtherName, "timed_out", ""),
    ];
    for (fault, status, detail) in cases {
        let server = FaultServer::start(fault);
        let out = nameresolver(&[WWW, &server.addr.to_string(), "--timeout", "1s", "-t", "A", "--json"]);
        out.expect_code(1);
        assert!(out.elapsed < Duration::from_secs(1) + MARGIN, "{fault:?} took {:?}\n{out}", out.elapsed);
        let doc = out.json();
        let query = &doc["attempts"][0]["queries"][0];
        assert_eq!(query["status"], status, "{fault:?}\n{out}");
        if !detail.is_empty() {
            assert!(query["message"].as_str().unwrap_or_default().contains(detail), "{fault:?}\n{out}");
        }
        if fault == Fault::WrongIdFlood {
            assert!(query["ignored_replies"].as_u64().unwrap() > 10, "{out}");
        }
        assert_eq!(doc["result"], "all_servers_failed", "{fault:?}: a failure is not an absence\n{out}");
    }
}

#[test]
fn huge_answers_come_whole_over_tcp() {
    let server = FaultServer::start(Fault::Huge);
    let out = nameresolver(&[WWW, &server.addr.to_string(), "--timeout", "2s", "-t", "A", "--json"]);
    let doc = out.expect_code(0).json();
    assert_eq!(doc["answer"]["addresses"].as_array().unwrap().len(), 2000, "{out}");
    assert_eq!(doc["attempts"][0]["outcome"]["retried_over_tcp"], true);
}

#[test]
fn a_server_that_drops_aaaa_is_named_and_the_next_server_answers_aaaa() {
    let drops = FaultServer::start(Fault::DropAaaa);
    let zone = ZoneServer::start();
    let (first, second) = (drops.addr.to_string(), zone.addr.to_string());
    let out = website(&[&first, &second], &[WWW, "--timeout", "500ms", "--json"]);
    let doc = out.expect_code(0).json();
    let questions = doc["questions"].as_array().unwrap();
    assert_eq!(questions[0]["type"], "A");
    assert_eq!(questions[0]["answered_by"]["server"], first.as_str(), "{out}");
    assert_eq!(questions[1]["type"], "AAAA");
    assert_eq!(questions[1]["answered_by"]["server"], second.as_str(), "{out}");
    assert_eq!(doc["attempts"][0]["failed_types"], serde_json::json!(["AAAA"]));
    // Only AAAA was asked of the second server.
    let second_types: Vec<&Value> =
        doc["attempts"][1]["queries"].as_array().unwrap().iter().map(|q| &q["type"]).collect();
    assert_eq!(second_types, [&Value::from("AAAA")], "{out}");
    let addresses: Vec<&str> =
        doc["answer"]["addresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(addresses, [FAULT_V4, WWW_V6], "{out}");

    let text = website(&[&first, &second], &[WWW, "--timeout", "500ms"]);
    let stdout = text.expect_code(0).stdout();
    assert!(stdout.contains(&format!("DNS server {first} answered A but AAAA timed out")), "{text}");
    assert!(stdout.contains(&format!("Server: {first} (A), {second} (AAAA)")), "{text}");
}

#[test]
fn servfail_on_one_question_is_a_failure_not_an_absence() {
    let bogus = FaultServer::start(Fault::ServFailAaaa);
    let server = bogus.addr.to_string();
    // A answered, AAAA failed everywhere: resolved, and the failure is said.
    let out = nameresolver(&[WWW, &server, "--timeout", "500ms"]);
    let stdout = out.expect_code(0).stdout();
    assert!(stdout.contains("answered A but AAAA failed (SERVFAIL)"), "{out}");
    assert!(stdout.contains("No server answered the AAAA question: it failed"), "{out}");
    let doc = nameresolver(&[WWW, &server, "--timeout", "500ms", "--json"]).expect_code(0).json();
    assert_eq!(doc["failed_types"], serde_json::json!(["AAAA"]));
    assert_eq!(doc["questions"][1]["status"], "failed");
    // AAAA alone: a failure, never "no AAAA records".
    let out = nameresolver(&[WWW, &server, "--timeout", "500ms", "-t", "AAAA", "--json"]);
    assert_eq!(out.expect_code(1).json()["result"], "all_servers_failed", "{out}");
}

#[test]
fn an_absurd_website_dns_timeout_is_clamped_not_fatal() {
    let zone = ZoneServer::start();
    let mut cmd = tool("nameresolver");
    cmd.args([WWW, "--json"])
        .env("WEBSITE_DNS_SERVER", zone.addr.to_string())
        .env("WEBSITE_DNS_TIMEOUT", "10000000000000000000");
    let out = run(cmd);
    let doc = out.expect_code(0).json();
    assert_eq!(doc["timeout_ms"], 300_000.0, "{out}");
    assert!(out.stderr().contains("WEBSITE_DNS_TIMEOUT=10000000000000000000 seconds is more than"), "{out}");
}

#[test]
fn os_address_spellings_are_addresses_not_names() {
    let zone = ZoneServer::start();
    for spelling in ["127.1", "0x7f.1", "2130706433"] {
        let doc = nameresolver(&[spelling, &zone.addr.to_string(), "--json", "--timeout", "500ms"]).json();
        assert_eq!(doc["query"]["reverse_of"], "127.0.0.1", "{spelling}");
        assert_eq!(doc["query"]["name"], "1.0.0.127.in-addr.arpa", "{spelling}");
    }
}

/// Runs nameresolver against a refusing then a silent server, sends SIGTERM after 1.5 s (time
/// for a loaded machine to start it and install its handler; the silent server holds it 10 s), and
/// returns its exit code and stdout.
#[cfg(unix)]
fn terminated(args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let dead = FaultServer::start(Fault::Silent);
    let refused = FaultServer::start(Fault::Refused);
    let mut cmd = tool("nameresolver");
    cmd.args([WWW, "--timeout", "10s"])
        .args(args)
        .env("WEBSITE_DNS_SERVER", format!("{},{}", refused.addr, dead.addr))
        .stdout(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    // kill(1), by the id of the process this test started.
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(status.expect("kill").success());
    let output = child.wait_with_output().expect("wait");
    (output.status.code(), output.stdout)
}

#[cfg(unix)]
#[test]
fn sigterm_prints_the_servers_that_finished() {
    let (code, stdout) = terminated(&[]);
    assert_eq!(code, Some(130));
    let text = String::from_utf8(stdout).expect("UTF-8");
    assert!(text.contains("refused the query (REFUSED)"), "{text}");
    assert!(text.contains("Interrupted: DNS server 127.0.0.1:"), "{text}");

    let (code, stdout) = terminated(&["--json"]);
    assert_eq!(code, Some(130));
    let doc: Value = serde_json::from_slice(&stdout).expect("JSON");
    assert_eq!(doc["interrupted"], true);
    assert_eq!(doc["attempts"][0]["outcome"]["status"], "refused");
    assert_eq!(doc["attempts"][1]["outcome"]["status"], "interrupted");
    assert!(doc["attempts"][1]["outcome"]["after_ms"].as_f64().unwrap() > 100.0);
    assert!(doc["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn check_probes_a_bounded_number_of_addresses_and_says_how_many_it_skipped() {
    // 2,000 loopback addresses (127.1.x.y) for one name: 16 are probed, the rest counted.
    let server = FaultServer::start(Fault::Huge);
    let target = format!("{WWW}:9");
    let dns = server.addr.to_string();
    let mut cmd = tool("netdiag");
    cmd.args(["check", "--json", "-w", "1s", "--dns-timeout", "2s", &target, "--dns-server", &dns]);
    let out = run(cmd);
    let lines = out.json_lines();
    let report = lines.iter().find(|l| l["type"] == "target").expect("a target record");
    assert_eq!(report["dns"]["addresses"].as_array().unwrap().len(), 2000, "{out}");
    assert_eq!(report["dns"]["addresses_not_probed"], 1984, "{out}");
    assert_eq!(report["addresses"].as_array().unwrap().len(), 16, "{out}");

    let mut cmd = tool("netdiag");
    cmd.args([
        "check",
        "-w",
        "1s",
        "--dns-timeout",
        "2s",
        "--max-addresses",
        "2",
        &target,
        "--dns-server",
        &dns,
    ]);
    let out = run(cmd);
    assert!(
        out.stdout().contains("1998 more not probed (only the first 2; --max-addresses raises it)"),
        "{out}"
    );
}

#[test]
fn control_bytes_in_user_input_never_reach_the_terminal() {
    for args in [
        vec!["bad\x1b[31mname", "127.0.0.1:1"],
        vec!["www.test", "-t", "A\x1b[2J", "127.0.0.1:1"],
        vec!["www.test", "@127.0.0.1\x1b]0;x\x07"],
        vec!["-x", "1.2\x07"],
    ] {
        let out = nameresolver(&args);
        out.expect_code(2);
        let raw = [&out.output.stdout[..], &out.output.stderr[..]].concat();
        assert!(!raw.iter().any(|&b| b == 0x1b || b == 0x07), "{args:?}: {out}");
    }
}

/// No raw control byte (other than the line structure) in what a tool printed.
fn assert_no_control_bytes(out: &Run) {
    let raw = [&out.output.stdout[..], &out.output.stderr[..]].concat();
    assert!(!raw.iter().any(|&b| b < 0x20 && b != b'\n' && b != b'\t' || b == 0x7f), "control byte\n{out}");
}

/// The alias-chain servers: one huge answer of chained CNAMEs, a fresh CNAME per query, and a
/// loop across queries. Each through nameresolver (JSON and text), `netdiag check` and tcpping:
/// bounded by the timeout, exit 1, and the chain reported as what it is. The engine asks each
/// question of a server once and never re-asks for an alias target, so a server handing out
/// aliases one query at a time cannot keep it busy.
#[test]
fn endless_and_looping_cname_chains_cost_at_most_the_timeout() {
    let too_long = "the alias chain is longer than 32 links (stopped at c32.endless.test)";
    for fault in [Fault::CnameFlood, Fault::FreshCname, Fault::CnameLoopAcrossQueries] {
        let server = FaultServer::start(fault);
        let dns = server.addr.to_string();
        let target = format!("{WWW}:9");
        let bounded = |out: &Run| {
            out.expect_code(1);
            assert!(out.elapsed < Duration::from_secs(1) + MARGIN, "{fault:?} took {:?}\n{out}", out.elapsed);
            assert_no_control_bytes(out);
        };

        let out = nameresolver(&[WWW, &dns, "--timeout", "1s", "-t", "A", "--json"]);
        bounded(&out);
        let doc = out.json();
        let queries = doc["attempts"][0]["queries"].as_array().unwrap();
        assert_eq!(queries.len(), 1, "one query for one question: {fault:?}\n{out}");
        let answer = &queries[0]["answer"];
        let chain = answer["cname_chain"].as_array().unwrap();
        assert_eq!(chain[0]["alias"], WWW, "{fault:?}\n{out}");
        match fault {
            Fault::CnameFlood => {
                // Broken on that server (a resolver would SERVFAIL): a failure, never "no data".
                assert_eq!(doc["result"], "all_servers_failed", "{out}");
                assert_eq!(chain.len(), 32, "{out}");
                assert_eq!(answer["chain_end"]["reason"], "too_long", "{out}");
                assert_eq!(answer["chain_end"]["at"], "c32.endless.test", "{out}");
            }
            _ => {
                // One alias per reply from a server claiming recursion: the target has no data
                // there, and the target is not asked again.
                assert_eq!(doc["result"], "no_data", "{fault:?}\n{out}");
                assert_eq!(chain.len(), 1, "{fault:?}\n{out}");
                assert_eq!(answer["chain_end"]["reason"], "no_data", "{fault:?}\n{out}");
                let end = chain[0]["target"].as_str().unwrap();
                assert_eq!(answer["chain_end"]["target"], end, "{fault:?}\n{out}");
                if fault == Fault::CnameLoopAcrossQueries {
                    assert_eq!(end, "loop-a.test", "{out}");
                } else {
                    assert!(end.starts_with("fresh") && end.ends_with(".endless.test"), "{out}");
                }
            }
        }

        let out = nameresolver(&[WWW, &dns, "--timeout", "1s"]);
        bounded(&out);
        let text = out.stdout();
        assert!(text.contains(&format!("Chain: {WWW} -> ")), "{fault:?}\n{out}");
        if fault == Fault::CnameFlood {
            assert!(text.contains(&format!("gave no final answer for A: {too_long}")), "{out}");
            assert!(text.contains(&format!("Chain stops: {too_long}")), "{out}");
            assert!(text.contains("no DNS server gave a final answer"), "{out}");
            assert!(!text.contains("the name exists"), "{out}");
        } else {
            assert!(text.contains("Chain stops: no data for the alias target "), "{fault:?}\n{out}");
        }

        let mut cmd = tool("netdiag");
        cmd.args(["check", "--json", "-w", "1s", "--dns-timeout", "1s", &target, "--dns-server", &dns]);
        let out = run(cmd);
        bounded(&out);
        let lines = out.json_lines();
        let report = lines.iter().find(|l| l["type"] == "target").expect("a target record");
        assert_eq!(report["addresses"].as_array().unwrap().len(), 0, "nothing to probe: {out}");
        if fault == Fault::CnameFlood {
            assert_eq!(report["verdict"], "dns_all_servers_failed", "{out}");
            assert!(report["dns"]["servers"][0]["detail"].as_str().unwrap().contains(too_long), "{out}");
        } else {
            assert_eq!(report["verdict"], "dns_no_data", "{fault:?}\n{out}");
            assert_eq!(report["dns"]["cname_chain"].as_array().unwrap().len(), 1, "{fault:?}\n{out}");
        }

        let mut cmd = tool("tcpping");
        cmd.args([&target, "-n", "1", "-w", "1s", "--dns-timeout", "1s", "--json", "--dns-server", &dns]);
        let out = run(cmd);
        bounded(&out);
        let lines = out.json_lines();
        let attempt = lines.iter().find(|l| l["type"] == "attempt").expect("an attempt record");
        assert_eq!(attempt["success"], false, "{out}");
        assert!(attempt["remote"].is_null(), "no connect without an address: {out}");
        let class = if fault == Fault::CnameFlood { "dns_failed" } else { "no_address" };
        assert_eq!(attempt["class"], class, "{fault:?}\n{out}");
        if fault == Fault::CnameFlood {
            assert!(attempt["error"].as_str().unwrap().contains(too_long), "{out}");
            // The hint covers what happened: a reply that led nowhere, not only error codes.
            assert!(attempt["hint"].as_str().unwrap().contains("broken alias chain"), "{out}");
        }
    }
}

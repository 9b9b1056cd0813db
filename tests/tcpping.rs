//! tcpping against real loopback sockets: success on IPv4 and IPv6, refused, a full accept
//! queue (timed out), NDJSON field by field, exit codes, bad input, SIGINT and a closed pipe.
//! Names are resolved only by DNS servers of the test's own on loopback (hickory-server with
//! the test zone, and fault servers), never by this machine's resolver.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::dns::{ChangingServer, Fault, FaultServer, ZoneServer, names::*};
use support::{Run, run, tool};

fn tcpping(args: &[&str]) -> Run {
    let mut cmd = tool("tcpping");
    cmd.args(args);
    run(cmd)
}

/// A port on which nothing listens: bind, read the port, close.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn attempts(run: &Run) -> Vec<Value> {
    run.json_lines().into_iter().filter(|v| v["type"] == "attempt").collect()
}

fn summary(run: &Run) -> Value {
    let lines = run.json_lines();
    let last = lines.last().unwrap_or_else(|| panic!("no JSON output\n{run}")).clone();
    assert_eq!(last["type"], "summary", "the last record must be the summary\n{run}");
    assert_eq!(lines.iter().filter(|v| v["type"] == "summary").count(), 1, "one summary\n{run}");
    last
}

#[test]
fn connects_to_ipv4_loopback_with_the_original_output() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let run = tcpping(&[&target, "-i", "10ms"]);
    run.expect_code(0);
    let out = run.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4 + 4, "four attempts (the default) and four summary lines\n{run}");
    for line in &lines[..4] {
        let time = line
            .strip_prefix(&format!("Connected to {target}, time taken: "))
            .and_then(|t| t.strip_suffix("ms"))
            .unwrap_or_else(|| panic!("bad line {line:?}\n{run}"));
        let ms: f64 = time.parse().unwrap_or_else(|_| panic!("not a number: {time:?}"));
        assert!((0.0..1000.0).contains(&ms), "{line}");
    }
    assert!(
        lines[4].starts_with("Complete: 4/4 successful attempts (100%). Average success time: "),
        "{run}"
    );
    assert!(lines[5].starts_with("Statistics: min/avg/max/mdev = "), "{run}");
    assert!(lines[5].ends_with("loss = 0% (0/4 failed)"), "{run}");
    assert_eq!(lines[6], "Failures: none", "{run}");
    assert_eq!(lines[7], "Timeout: 21 s per attempt", "{run}");
    assert!(run.stderr().is_empty(), "{run}");
}

#[test]
fn connects_to_ipv6_loopback_in_every_spelling() {
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let bracketed = format!("[::1]:{port}");
    for args in [
        vec![bracketed.as_str(), "-n", "1"],
        vec!["::1", &port, "-n", "1"],
        vec!["-6", "::1", &port, "-n", "1"],
    ] {
        let run = tcpping(&args);
        run.expect_code(0);
        assert!(run.stdout().starts_with(&format!("Connected to [::1]:{port}, time taken: ")), "{run}");
    }
}

#[test]
fn count_may_follow_the_target_and_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let run = tcpping(&["127.0.0.1", &port, "-n", "2", "-i", "0", "--json"]);
    run.expect_code(0);
    assert_eq!(attempts(&run).len(), 2, "{run}");
}

/// `2026-11-25T14:05:09.123456Z`: RFC 3339, UTC, microseconds, and close to now.
fn assert_rfc3339_utc(value: &serde_json::Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    assert!(text.len() == 27 && text.ends_with('Z') && text.as_bytes()[10] == b'T', "{text}");
    let at = humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let age = std::time::SystemTime::now().duration_since(at).expect("not in the future");
    assert!(age < Duration::from_secs(60), "{text}");
}

#[test]
fn dash_d_prefixes_each_attempt_line_with_its_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let run = tcpping(&[&target, "-n", "2", "-i", "0", "-D"]);
    run.expect_code(0);
    let lines: Vec<String> = run.stdout().lines().map(str::to_owned).collect();
    for line in &lines[..2] {
        let (stamp, rest) =
            line.strip_prefix('[').and_then(|l| l.split_once("] ")).unwrap_or_else(|| panic!("{run}"));
        assert_rfc3339_utc(&serde_json::Value::String(stamp.to_owned()));
        assert!(rest.starts_with(&format!("Connected to {target}, time taken: ")), "{run}");
    }
    assert!(lines[2].starts_with("Complete: 2/2"), "{run}");
}

#[test]
fn json_records_field_by_field() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let target = addr.to_string();
    let run = tcpping(&[&target, "-n", "3", "-i", "0", "--json"]);
    run.expect_code(0);
    let records = attempts(&run);
    assert_eq!(records.len(), 3, "{run}");
    for (i, rec) in records.iter().enumerate() {
        assert_eq!(rec["schema"], 1);
        assert_eq!(rec["seq"], i as u64 + 1);
        assert_eq!(rec["target"], target.as_str());
        assert_eq!(rec["host"], "127.0.0.1");
        assert_eq!(rec["port"], addr.port());
        assert_eq!(rec["success"], true);
        assert_eq!(rec["remote"], target.as_str());
        let local: SocketAddr = rec["local"].as_str().expect("local address").parse().unwrap();
        assert!(local.ip().is_loopback() && local.port() != 0, "{rec}");
        assert!(rec["resolve_ms"].is_null(), "an address literal is never resolved: {rec}");
        let connect = rec["connect_ms"].as_f64().expect("connect_ms");
        assert!(connect > 0.0 && connect < 1000.0, "{rec}");
        // The kernel's handshake RTT lies inside the interval we timed, so it can never be
        // longer than our own figure (both are rounded to the microsecond).
        if cfg!(target_os = "linux") {
            let kernel = rec["kernel_rtt_ms"].as_f64().expect("kernel_rtt_ms on Linux");
            assert!(kernel > 0.0 && kernel <= connect + 0.001, "{rec}");
        }
        for absent in ["class", "error", "hint"] {
            assert!(rec[absent].is_null(), "{absent} on success: {rec}");
        }
        assert_rfc3339_utc(&rec["timestamp"]);
    }
    let sum = summary(&run);
    assert_eq!(sum["schema"], 1);
    assert_rfc3339_utc(&sum["timestamp"]);
    assert_eq!(sum["target"], target.as_str());
    assert_eq!(
        (sum["attempts"].as_u64(), sum["successes"].as_u64(), sum["failures"].as_u64()),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(sum["loss_pct"], 0.0);
    let field = |name: &str| sum[name].as_f64().unwrap_or_else(|| panic!("{name} missing: {sum}"));
    let (min, avg, max) = (field("min_ms"), field("avg_ms"), field("max_ms"));
    assert!(min <= avg && avg <= max, "{sum}");
    for name in ["mdev_ms", "p50_ms", "p95_ms", "p99_ms", "jitter_ms"] {
        let v = field(name);
        assert!((0.0..=max).contains(&v), "{name}: {sum}");
    }
    assert!(field("p50_ms") >= min && field("p95_ms") <= max, "{sum}");
    assert_eq!(sum["failures_by_class"], serde_json::json!({}));
    assert_eq!(sum["interrupted"], false);
}

#[test]
fn refused_port_is_classified_and_exits_1() {
    let target = format!("127.0.0.1:{}", closed_port());
    let run = tcpping(&[&target, "-n", "2", "-i", "0"]);
    run.expect_code(1);
    let out = run.stdout();
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("Connection attempt failed: connection refused [refused]: "), "{run}");
    assert!(out.contains("Complete: 0/2 successful attempts (0%). Average success time: 0ms\n"), "{run}");
    assert!(out.contains("Statistics: no successful attempt, loss = 100% (2/2 failed)\n"), "{run}");
    assert!(out.ends_with("Failures: refused 2\nTimeout: 21 s per attempt\n"), "{run}");

    let run = tcpping(&[&target, "-n", "1", "--json"]);
    run.expect_code(1);
    let rec = &attempts(&run)[0];
    assert_eq!(rec["success"], false);
    assert_eq!(rec["class"], "refused");
    assert!(rec["kernel_rtt_ms"].is_null(), "no handshake, no RTT: {rec}");
    assert_eq!(rec["error"], "connection refused");
    assert!(rec["hint"].as_str().unwrap().contains("nothing listens"), "{rec}");
    assert_eq!(summary(&run)["failures_by_class"]["refused"], 1);
}

#[test]
fn full_accept_queue_times_out_after_the_given_timeout() {
    let (listener, _held) = support::black_hole();
    let target = listener.local_addr().unwrap().to_string();
    let run = tcpping(&[&target, "-n", "1", "-w", "300ms", "--json"]);
    run.expect_code(1);
    let rec = &attempts(&run)[0];
    assert_eq!(rec["class"], "timed_out", "{run}");
    assert_eq!(rec["error"], "connection timed out after 300 ms");
    let waited = rec["connect_ms"].as_f64().unwrap();
    assert!((300.0..1000.0).contains(&waited), "{rec}");
    // The local port is known even though the handshake never finished.
    let local: SocketAddr = rec["local"].as_str().expect("local").parse().unwrap();
    assert_ne!(local.port(), 0);
    assert!(run.elapsed < Duration::from_secs(5), "{run}");
}

#[test]
fn max_loss_threshold_sets_the_exit_code() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    tcpping(&[&target, "-n", "2", "-i", "0", "-q", "--max-loss", "0"]).expect_code(0);
    // Everything failed: no threshold can make that a success.
    let closed = format!("127.0.0.1:{}", closed_port());
    tcpping(&[&closed, "-n", "1", "-q", "--max-loss", "100"]).expect_code(1);
}

#[test]
fn quiet_prints_only_the_summary() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let run = tcpping(&[&target, "-n", "2", "-i", "0", "-q"]);
    run.expect_code(0);
    assert!(run.stdout().starts_with("Complete: 2/2 successful attempts (100%)."), "{run}");
    assert_eq!(run.stdout().lines().count(), 4, "{run}");
    let run = tcpping(&[&target, "-n", "2", "-i", "0", "-q", "--json"]);
    assert_eq!(run.json_lines().len(), 1, "{run}");
    assert_eq!(summary(&run)["attempts"], 2);
}

#[test]
fn source_address_and_port_are_used() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let source = format!("127.0.0.2:{}", closed_port());
    let run = tcpping(&[&target, "-n", "2", "-i", "0", "--json", "--source", &source]);
    run.expect_code(0);
    for rec in attempts(&run) {
        assert_eq!(rec["local"], source.as_str(), "{run}");
    }
    // An address that is on no interface fails before any packet leaves.
    let run = tcpping(&[&target, "-n", "1", "--json", "--source", "192.0.2.1"]);
    run.expect_code(1);
    assert_eq!(attempts(&run)[0]["class"], "address_not_available", "{run}");
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_value() {
    let long_label = format!("{}.example", "a".repeat(64));
    let long_name = format!("{}com", "abcdefghi.".repeat(26));
    // (arguments, text the message must contain)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["127.0.0.1:0"], "'0'"),
        (vec!["127.0.0.1:65536"], "'65536'"),
        (vec!["127.0.0.1", "http"], "'http'"),
        (vec!["127.0.0.1:"], "''"),
        (vec![":80"], "host is empty"),
        (vec![""], "host is empty"),
        (vec![&long_label], &long_label),
        (vec![&long_name], "253"),
        (vec!["bad!host"], "'!'"),
        (vec!["under score.example"], "' '"),
        (vec!["[::1:80"], "[::1:80"),
        (vec!["::1]:80"], "::1]:80"),
        (vec!["127.0.0.1:80", "443"], "127.0.0.1:80"),
        (vec!["127.0.0.1", "-n", "0"], "'0'"),
        (vec!["127.0.0.1", "-n", "many"], "'many'"),
        (vec!["127.0.0.1", "-w", "soon"], "'soon'"),
        (vec!["127.0.0.1", "-w", "0s"], "'0s'"),
        (vec!["127.0.0.1", "-i", "often"], "'often'"),
        (vec!["127.0.0.1", "--max-loss", "101"], "'101'"),
        (vec!["127.0.0.1", "--max-loss", "-1"], "'-1'"),
        (vec!["127.0.0.1", "--max-loss", "lots"], "'lots'"),
        (vec!["127.0.0.1", "--source", "10.0.0"], "'10.0.0'"),
        (vec!["-4", "::1"], "'::1'"),
        (vec!["-6", "127.0.0.1"], "'127.0.0.1'"),
        (vec!["127.0.0.1", "--source", "::1"], "'::1'"),
        (vec!["127.0.0.1", "--interface", "an-interface-name-too-long"], "'an-interface-name-too-long'"),
        (vec!["127.0.0.1", "-n", "2", "-t"], "-t"),
        (vec!["127.0.0.1", "--no-such-flag"], "--no-such-flag"),
        (vec!["127.0.0.1", "--dns-server", "dns.example"], "dns.example"),
        (vec!["127.0.0.1", "--dns-server", "127.0.0.1:99999"], "127.0.0.1:99999"),
        (vec!["127.0.0.1", "--dns-server", "[::1]:x"], "[::1]:x"),
        (vec!["127.0.0.1", "--dns-server", ""], "empty"),
        (vec!["127.0.0.1", "--dns-timeout", "0"], "'0'"),
        (vec!["127.0.0.1", "--dns-timeout", "soon"], "'soon'"),
        (vec![], "<TARGET>"),
    ];
    for (args, needle) in cases {
        let run = tcpping(&args);
        run.expect_code(2);
        let err = run.stderr();
        assert_eq!(err.lines().count(), 1, "exactly one line on stderr\n{run}");
        assert!(err.contains(needle), "stderr should name {needle:?}\n{run}");
        assert!(!err.contains("panicked"), "{run}");
        assert!(run.stdout().is_empty(), "nothing on stdout\n{run}");
    }
}

#[test]
fn help_and_version_exit_0() {
    let run = tcpping(&["--help"]);
    run.expect_code(0);
    assert!(run.stdout().contains("--max-loss"), "{run}");
    tcpping(&["--version"]).expect_code(0);
}

#[test]
fn sigint_prints_the_summary_and_exits_by_the_rules() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let child = tool("tcpping")
        .args(["-t", "-i", "100ms", "--json", &target])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let run =
        Run { cmdline: format!("tcpping -t --json {target} (SIGINT)"), output, elapsed: Duration::ZERO };
    run.expect_code(0);
    let sum = summary(&run);
    assert_eq!(sum["interrupted"], true, "{run}");
    let n = sum["attempts"].as_u64().unwrap();
    assert!(n >= 2, "{run}");
    assert_eq!(attempts(&run).len() as u64, n, "every attempt printed is counted\n{run}");
    assert!(run.stderr().is_empty(), "{run}");

    // Interrupting a run in which nothing connected still exits 1.
    let (hole, _held) = support::black_hole();
    let child = tool("tcpping")
        .args(["-t", &hole.local_addr().unwrap().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let run = Run { cmdline: "tcpping -t <black hole> (SIGINT)".into(), output, elapsed: Duration::ZERO };
    run.expect_code(1);
    assert!(run.stdout().starts_with("Complete: 0/0 successful attempts (0%)."), "{run}");
    // The attempt that was still waiting is shown, not silently dropped.
    let last = run.stdout().lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("Interrupted: attempt 1 had waited "), "{run}");
    assert!(last.ends_with("with no answer yet (not counted)"), "{run}");

    let child = tool("tcpping")
        .args(["-t", "--json", &hole.local_addr().unwrap().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let run =
        Run { cmdline: "tcpping -t --json <black hole> (SIGINT)".into(), output, elapsed: Duration::ZERO };
    run.expect_code(1);
    let sum = summary(&run);
    assert_eq!((sum["attempts"].as_u64(), sum["interrupted"].as_bool()), (Some(0), Some(true)), "{run}");
    let waited = sum["abandoned_after_ms"].as_f64().expect("abandoned_after_ms");
    assert!((300.0..5000.0).contains(&waited), "{run}");
}

#[test]
fn closed_stdout_pipe_ends_quietly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let script = format!(
        "'{}' -t -i 20ms {target} | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
        support::bin("tcpping")
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script]);
    let run = run(cmd);
    run.expect_code(0);
    let out = run.stdout();
    assert!(out.starts_with(&format!("Connected to {target}, time taken: ")), "{run}");
    assert!(out.ends_with("status=0\n"), "{run}");
    assert!(run.stderr().is_empty(), "no error message, no panic\n{run}");
    assert!(run.elapsed < Duration::from_secs(10), "{run}");
}

#[test]
fn waiting_line_on_a_terminal_is_shown_then_erased() {
    let (hole, _held) = support::black_hole();
    let target = hole.local_addr().unwrap().to_string();
    // `script` (util-linux) gives tcpping a pseudo-terminal, so stderr is a terminal.
    let inner = format!("'{}' {target} -n 1 -w 1500ms", support::bin("tcpping"));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &inner, "/dev/null"]);
    let run = run(cmd);
    run.expect_code(1);
    let out = run.stdout();
    assert!(out.contains(&format!("\rwaiting for {target}... 1s")), "{out:?}");
    assert!(out.contains("\r\x1b[2KConnection attempt failed: connection timed out"), "{out:?}");

    // Not a terminal: no waiting line at all.
    let run = tcpping(&[&target, "-n", "1", "-w", "1500ms"]);
    assert!(run.stderr().is_empty(), "{run}");
}

fn tcpping_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tool("tcpping");
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    run(cmd)
}

#[test]
fn name_resolves_through_the_given_server_or_website_dns_server() {
    let zone = ZoneServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let target = format!("{LOOPBACK}:{port}");
    let server = zone.addr.to_string();
    let via_argument = tcpping(&[&target, "-n", "2", "-i", "0", "--json", "--dns-server", &server]);
    let via_env = tcpping_env(&[&target, "-n", "2", "-i", "0", "--json"], &[("WEBSITE_DNS_SERVER", &server)]);
    for run in [&via_argument, &via_env] {
        run.expect_code(0);
        let records = attempts(run);
        assert_eq!(records.len(), 2, "{run}");
        for rec in &records {
            assert_eq!(rec["success"], true, "{run}");
            // Family any: the A record is preferred, and the listener is on 127.0.0.1.
            assert_eq!(rec["remote"], format!("{LOOPBACK_V4}:{port}"), "{run}");
            assert_eq!(rec["host"], LOOPBACK, "{run}");
            assert_eq!(rec["dns_server"], server.as_str(), "{run}");
            assert!(rec["resolve_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{run}");
            assert!(rec["dns_servers"].is_null(), "only failures list the servers: {run}");
        }
    }

    // Text: the original's lines, and no "new IP" noise while the answer is stable.
    let run = tcpping(&[&target, "-n", "3", "-i", "0", "--dns-server", &server]);
    run.expect_code(0);
    let out = run.stdout();
    assert_eq!(out.matches(&format!("Connected to {target}, time taken: ")).count(), 3, "{run}");
    assert!(!out.contains("new IP"), "{run}");
    assert!(out.contains("Failures: none"), "{run}");
}

#[test]
fn nxdomain_is_name_not_found_and_exits_1() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();
    let target = format!("{MISSING}:80");
    let run = tcpping(&[&target, "-n", "1", "--json", "--dns-server", &server]);
    run.expect_code(1);
    let rec = &attempts(&run)[0];
    assert_eq!(rec["class"], "name_not_found", "{run}");
    assert_eq!(rec["hint"], "the name does not exist: check the spelling, or the private DNS zone");
    assert!(rec["remote"].is_null() && rec["connect_ms"].is_null(), "no connect without an address: {run}");
    assert_eq!(rec["dns_server"], server.as_str(), "{run}");
    assert_eq!(rec["dns_servers"][0]["server"], server.as_str(), "{run}");
    assert_eq!(rec["dns_servers"][0]["status"], "answered", "{run}");
    assert_eq!(rec["dns_servers"][0]["response_code"], "NXDOMAIN", "{run}");
    assert_eq!(summary(&run)["failures_by_class"]["name_not_found"], 1, "{run}");

    let run = tcpping(&[&target, "-n", "1", "--dns-server", &server]);
    run.expect_code(1);
    let out = run.stdout();
    assert!(
        out.contains(&format!(
            "Connection attempt failed: name '{MISSING}' does not exist (NXDOMAIN from {server}) [name_not_found]: "
        )),
        "{run}"
    );
    assert!(out.contains("Failures: name_not_found 1"), "{run}");
}

#[test]
fn silent_server_is_dns_timeout_after_the_dns_timeout_per_attempt() {
    let silent = FaultServer::start(Fault::Silent);
    let server = silent.addr.to_string();
    let target = format!("{WWW}:80");
    let run = tcpping(&[
        &target,
        "-n",
        "2",
        "-i",
        "0",
        "--json",
        "--dns-server",
        &server,
        "--dns-timeout",
        "200ms",
    ]);
    run.expect_code(1);
    let records = attempts(&run);
    assert_eq!(records.len(), 2, "{run}");
    for rec in &records {
        assert_eq!(rec["class"], "dns_timeout", "{run}");
        let resolve_ms = rec["resolve_ms"].as_f64().unwrap();
        assert!((190.0..1500.0).contains(&resolve_ms), "about 200 ms per attempt, got {resolve_ms}: {run}");
        assert!(rec["dns_server"].is_null(), "{run}");
        let servers = rec["dns_servers"].as_array().unwrap();
        assert_eq!(servers.len(), 1, "{run}");
        assert_eq!(servers[0]["server"], server.as_str(), "{run}");
        assert_eq!(servers[0]["status"], "timed_out", "{run}");
        assert!(servers[0]["elapsed_ms"].as_f64().unwrap() >= 190.0, "{run}");
    }
    assert!(run.elapsed >= Duration::from_millis(400), "two attempts of 200 ms each: {run}");
    assert_eq!(summary(&run)["failures_by_class"]["dns_timeout"], 2, "{run}");

    let run = tcpping(&[&target, "-n", "1", "--dns-server", &server, "--dns-timeout", "200ms"]);
    run.expect_code(1);
    assert!(
        run.stdout().contains(&format!(
            "Connection attempt failed: every DNS server timed out ({server} after 200 ms) [dns_timeout]: DNS is not accessible: a firewall/NSG blocks port 53, or the server is down"
        )),
        "{run}"
    );
}

#[test]
fn website_dns_timeout_applies_when_no_dns_timeout_is_given() {
    let silent = FaultServer::start(Fault::Silent);
    let env = [("WEBSITE_DNS_SERVER", silent.addr.to_string()), ("WEBSITE_DNS_TIMEOUT", "1".to_owned())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = tcpping_env(&[&format!("{WWW}:80"), "-n", "1", "--json"], &env);
    run.expect_code(1);
    let rec = &attempts(&run)[0];
    assert_eq!(rec["class"], "dns_timeout", "{run}");
    let resolve_ms = rec["resolve_ms"].as_f64().unwrap();
    assert!(
        (990.0..2500.0).contains(&resolve_ms),
        "WEBSITE_DNS_TIMEOUT=1 means 1 s, got {resolve_ms}: {run}"
    );
}

#[test]
fn servfail_and_refused_are_dns_failed() {
    for (fault, status) in [(Fault::ServFail, "serv_fail"), (Fault::Refused, "refused")] {
        let broken = FaultServer::start(fault);
        let server = broken.addr.to_string();
        let run = tcpping(&[&format!("{WWW}:80"), "-n", "1", "--json", "--dns-server", &server]);
        run.expect_code(1);
        let rec = &attempts(&run)[0];
        assert_eq!(rec["class"], "dns_failed", "{run}");
        assert_eq!(rec["dns_servers"][0]["status"], status, "{run}");
        assert!(rec["error"].as_str().unwrap().contains(&server), "the message names the server: {run}");
    }
}

#[test]
fn ipv4_only_with_an_aaaa_only_name_is_no_address() {
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();
    let run = tcpping(&["-4", &format!("{V6ONLY}:80"), "-n", "1", "--json", "--dns-server", &server]);
    run.expect_code(1);
    let rec = &attempts(&run)[0];
    assert_eq!(rec["class"], "no_address", "{run}");
    assert_eq!(rec["error"], format!("name '{V6ONLY}' has no IPv4 address (answer from {server})"), "{run}");

    // The same name with -6 connects to ::1, where a listener waits.
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let run = tcpping(&["-6", &format!("{V6ONLY}:{port}"), "-n", "1", "--json", "--dns-server", &server]);
    run.expect_code(0);
    assert_eq!(attempts(&run)[0]["remote"], format!("[::1]:{port}"), "{run}");
}

#[test]
fn dns_servers_are_asked_in_order_until_one_answers() {
    let silent = FaultServer::start(Fault::Silent);
    let zone = ZoneServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (first, second) = (silent.addr.to_string(), zone.addr.to_string());
    let run = tcpping(&[
        &format!("{LOOPBACK}:{port}"),
        "-n",
        "1",
        "--json",
        "--dns-server",
        &first,
        "--dns-server",
        &second,
        "--dns-timeout",
        "200ms",
    ]);
    run.expect_code(0);
    let rec = &attempts(&run)[0];
    assert_eq!(rec["dns_server"], second.as_str(), "{run}");
    assert!(rec["resolve_ms"].as_f64().unwrap() >= 190.0, "the silent server costs its timeout: {run}");
}

#[test]
fn a_changed_address_is_marked_once_in_text_and_always_in_json_remote() {
    // Listeners on one port of two loopback addresses; DNS answers .1, .1, .2, .2.
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = first.local_addr().unwrap().port();
    let _second = TcpListener::bind(("127.0.0.2", port)).unwrap();
    let sequence = ["127.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap()];
    let target = format!("changing.netdiag.test:{port}");

    let dns = ChangingServer::start(&sequence);
    let run = tcpping(&["-4", &target, "-n", "4", "-i", "0", "--dns-server", &dns.addr.to_string()]);
    run.expect_code(0);
    let connected: Vec<String> =
        run.stdout().lines().filter(|l| l.starts_with("Connected to")).map(str::to_owned).collect();
    assert_eq!(connected.len(), 4, "{run}");
    let marks: Vec<bool> = connected.iter().map(|l| l.ends_with(" [new IP 127.0.0.2]")).collect();
    assert_eq!(marks, [false, false, true, false], "{run}");
    assert!(!connected[0].contains("new IP") && !connected[1].contains("new IP"), "{run}");

    let dns = ChangingServer::start(&sequence);
    let run =
        tcpping(&["-4", &target, "-n", "4", "-i", "0", "--json", "--dns-server", &dns.addr.to_string()]);
    run.expect_code(0);
    let remotes: Vec<String> =
        attempts(&run).iter().map(|rec| rec["remote"].as_str().unwrap().to_owned()).collect();
    let want = |ip: &str| format!("{ip}:{port}");
    assert_eq!(
        remotes,
        [want("127.0.0.1"), want("127.0.0.1"), want("127.0.0.2"), want("127.0.0.2")],
        "{run}"
    );
}

#[test]
fn a_bad_website_dns_server_stops_a_name_but_not_an_address() {
    let bad = [("WEBSITE_DNS_SERVER", "dns.example")];
    let run = tcpping_env(&[&format!("{WWW}:80"), "-n", "1"], &bad);
    run.expect_code(2);
    assert_eq!(run.stderr().lines().count(), 1, "{run}");
    assert!(run.stderr().contains("dns.example"), "{run}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    tcpping_env(&[&target, "-n", "1"], &bad).expect_code(0);
}

/// A peer that accepts and resets at once is reachable: every attempt connected, never a local
/// error, and the attempts where the reset arrived before tcpping looked say so.
#[test]
fn peer_that_accepts_and_resets_is_connected_then_reset() {
    let target = support::accept_then_reset_listener().to_string();
    let run = tcpping(&[&target, "-n", "40", "-i", "5ms", "--json"]);
    run.expect_code(0);
    let records = attempts(&run);
    assert_eq!(records.len(), 40, "{run}");
    for a in &records {
        assert_eq!(a["success"], true, "{a}\n{run}");
        assert!(a["class"].is_null(), "{a}");
        assert!(a["reset_by_peer"].is_boolean(), "{a}");
    }
    let summary = summary(&run);
    assert_eq!(summary["successes"], 40, "{run}");
    let resets = records.iter().filter(|a| a["reset_by_peer"] == true).count();
    println!("accept-then-reset: {resets}/40 attempts saw the reset");
}

/// 0.0.0.0 reaches this machine, so connecting there "succeeds" and proves nothing; multicast
/// and broadcast cannot carry TCP. None of them is attempted: each is a clear failure.
#[test]
fn unspecified_multicast_and_broadcast_are_not_attempted() {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    for ip in ["0.0.0.0", "224.0.0.1", "255.255.255.255"] {
        let run = tcpping(&[ip, &port, "-n", "1", "--json"]);
        run.expect_code(1);
        let a = &attempts(&run)[0];
        assert_eq!(a["class"], "unusable_address", "{run}");
        assert!(a["local"].is_null(), "{run}");
    }
}

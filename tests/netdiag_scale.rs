//! `netdiag check` on long lists: every verdict right at scale, the NDJSON stream read line by
//! line, nothing lost when Ctrl-C, SIGTERM or SIGHUP stops a run, the descriptor budget under a
//! low `ulimit -n`, and the progress line on a terminal. Correctness, never timing.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::dns::Dnsmasq;
use support::netns::{Lab, VNET_ADDR};
use support::{Run, TargetsFile, bin, run};

namespace_listener_entry_point!();

/// Ports of the vnet namespace: listeners, one dropped by iptables, the rest closed.
const LISTENING: [u16; 4] = [8001, 8002, 8003, 8004];
const DROPPED: u16 = 9000;

/// Loopback ports where nothing listens: each was bound by us a moment ago and let go.
fn closed_ports(n: usize) -> Vec<String> {
    (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string())
        .collect()
}

/// What target `i` of the big list is, and the TCP finding it must get.
fn planned(i: usize) -> (u16, &'static str) {
    match i {
        i if i % 200 == 7 => (DROPPED, "tcp_timed_out"),
        i if i % 4 == 1 => (LISTENING[i % LISTENING.len()], "tcp_connected"),
        i => (7000 + (i % 500) as u16, "tcp_refused"),
    }
}

fn finding_ids(record: &Value) -> Vec<&str> {
    record["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect()
}

#[test]
fn twenty_thousand_targets_each_get_the_right_verdict() {
    if !support::privileged() {
        return;
    }
    const TARGETS: usize = 20_000;
    let lab = Lab::new();
    lab.vnet.iptables(&format!("-A INPUT -p tcp --dport {DROPPED} -j DROP"));
    let _listeners = lab.vnet.listen(&LISTENING);
    let list = TargetsFile::from_lines("20k", (0..TARGETS).map(|i| format!("{VNET_ADDR}:{}", planned(i).0)));

    let mut cmd = lab.app.command(&bin("netdiag"));
    // 2 s lets a listener starved of CPU (CI runs tests side by side) take a retransmitted SYN,
    // so only the dropped port times out.
    cmd.env_clear().args(["check", "--json", "-w", "2s", "-f", list.path()]);
    // The app is integrated, so a private destination is no warning and each verdict is TCP's.
    cmd.env("WEBSITE_PRIVATE_IP", support::netns::APP_ADDR);
    let r = run(cmd);
    r.expect_code(1);
    let mut seen = vec![false; TARGETS];
    let mut lines = 0;
    for line in r.stdout().lines() {
        lines += 1;
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {lines}: {e}: {line}"));
        if record["type"] == "summary" {
            assert_eq!(lines, TARGETS + 1, "the summary comes last");
            assert_eq!(record["targets_checked"], TARGETS);
            assert_eq!(record["interrupted"], false);
            let timed_out = (0..TARGETS).filter(|i| planned(*i).1 == "tcp_timed_out").count();
            let connected = (0..TARGETS).filter(|i| planned(*i).1 == "tcp_connected").count();
            assert_eq!(record["targets_failed"], TARGETS - connected);
            assert_eq!(record["verdicts"]["tcp_timed_out"], timed_out);
            assert_eq!(record["verdicts"]["tcp_refused"], TARGETS - connected - timed_out);
            continue;
        }
        let index = record["index"].as_u64().unwrap() as usize;
        assert!(!std::mem::replace(&mut seen[index], true), "index {index} reported twice");
        let (port, want) = planned(index);
        assert_eq!(record["port"], port, "{record}");
        assert!(finding_ids(&record).contains(&want), "target {index}: want {want}: {record}");
        assert_eq!(record["failed"], want != "tcp_connected", "{record}");
        assert_eq!(record["verdict"], want, "{record}");
    }
    assert!(seen.iter().all(|s| *s), "every target reported");
    println!("20,000 targets: {:?}", r.elapsed);
}

#[test]
fn names_of_eight_addresses_under_a_low_descriptor_limit_are_all_refused_not_local_errors() {
    if !support::privileged() {
        return;
    }
    const NAMES: usize = 60;
    let lab = Lab::new();
    lab.app.ip(&format!("route add 10.78.0.0/24 via {VNET_ADDR}"));
    let mut records = vec!["--local=/netdiag.test/".to_owned()];
    for a in 1..=8 {
        lab.vnet.ip(&format!("addr add 10.78.0.{a}/32 dev lo"));
        records.push(format!("--address=/eight.netdiag.test/10.78.0.{a}"));
    }
    let _dns = Dnsmasq::start_in(&lab.vnet, VNET_ADDR, &records);
    let list =
        TargetsFile::from_lines("eight", (0..NAMES).map(|i| format!("eight.netdiag.test:{}", 7000 + i)));
    // 64 descriptors: the run must queue for sockets, not fail with "too many open files".
    let inner = format!(
        "ulimit -n 64; exec '{}' check --json -w 2s --dns-server {VNET_ADDR} -f '{}'",
        bin("netdiag"),
        list.path()
    );
    let mut cmd = lab.app.command("sh");
    cmd.env_clear().args(["-c", &inner]);
    let r = run(cmd);
    r.expect_code(1);
    let doc = r.stream();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), NAMES, "{r}");
    for t in targets {
        assert_eq!(t["verdict"], "tcp_refused", "{t}");
        let addresses = t["addresses"].as_array().unwrap();
        assert_eq!(addresses.len(), 8, "{t}");
        assert!(addresses.iter().all(|a| a["tcp"]["class"] == "refused"), "{t}");
    }
    assert!(!r.stdout().contains("open files") && !r.stderr().contains("open files"), "{r}");
}

#[test]
fn a_thousand_names_at_once_do_not_overflow_the_dns_server_into_false_timeouts() {
    if !support::privileged() {
        return;
    }
    // 256 targets at once used to send ~512 queries in one burst; dnsmasq's receive buffer
    // (the kernel default) dropped some of them, and those names were reported as DNS timeouts.
    const NAMES: usize = 1000;
    let lab = Lab::new();
    lab.app.ip(&format!("route add 10.78.0.0/24 via {VNET_ADDR}"));
    lab.vnet.ip("addr add 10.78.0.1/32 dev lo");
    let records = ["--local=/netdiag.test/".to_owned(), "--address=/burst.netdiag.test/10.78.0.1".to_owned()];
    let _dns = Dnsmasq::start_in(&lab.vnet, VNET_ADDR, &records);
    let list = TargetsFile::from_lines("burst", (0..NAMES).map(|i| format!("n{i}.burst.netdiag.test:7000")));
    let mut cmd = lab.app.command(&bin("netdiag"));
    cmd.env_clear().args([
        "check",
        "--json",
        "-w",
        "2s",
        "--dns-timeout",
        "1s",
        "--dns-server",
        VNET_ADDR,
        "-f",
    ]);
    cmd.arg(list.path());
    let r = run(cmd);
    r.expect_code(1);
    let doc = r.stream();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), NAMES, "{r}");
    let wrong: Vec<&Value> = targets.iter().filter(|t| t["verdict"] != "tcp_refused").collect();
    assert!(wrong.is_empty(), "{} of {NAMES} names wrong, first: {}", wrong.len(), wrong[0]);
}

/// Resident memory of a running process, in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_reader_that_stops_reading_holds_the_run_back_instead_of_filling_memory() {
    // Every shard but the writing one checks ahead of the output; when nobody reads it, they
    // must wait, not keep every finished report in memory.
    const TARGETS: usize = 100_000;
    let port = closed_ports(1).remove(0);
    let port = port.rsplit(':').next().unwrap().to_owned();
    let list = TargetsFile::from_lines(
        "stalled",
        (0..TARGETS).map(|i| format!("127.{}.{}.{}:{port}", 1 + i / 65536, (i / 256) % 256, 1 + i % 250)),
    );
    let mut child = Command::new(bin("netdiag"))
        .args(["check", "--json", "-w", "2s", "-f", list.path()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Long enough to check all 100,000 on this machine had nothing held it back.
    std::thread::sleep(Duration::from_secs(3));
    let stalled = rss_kib(pid);
    let mut records = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let record: Value = serde_json::from_str(&line.unwrap()).unwrap();
        records += usize::from(record["type"] == "target");
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(records, TARGETS);
    // ~2 KB per report: 100,000 held would be ~200 MB.
    assert!(stalled < 48 * 1024, "{stalled} KiB resident while the output was not read");
}

/// Long enough for a freshly started tool to have installed its signal handlers.
const STARTUP: Duration = Duration::from_secs(1);

/// Sends a signal with the shell's own `kill` (no procps needed).
fn send(signal: &str, pid: &str) {
    let status = Command::new("sh").args(["-c", &format!("kill -{signal} {pid}")]).status().unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Starts `netdiag check` on `args`, waits for `records` NDJSON lines, sends `signal`, and
/// returns the run once it exits.
fn interrupt_after(args: &[&str], records: usize, signal: &str) -> (Vec<Value>, Option<i32>, String) {
    let mut child = Command::new(bin("netdiag"))
        .env_clear()
        .env("NO_COLOR", "1")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines.len() < records {
        assert!(Instant::now() < deadline, "only {} records before the deadline", lines.len());
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout closed early: {lines:?}");
        lines.push(line);
    }
    if records == 0 {
        // Nothing to wait for on stdout: give the tool time to install its signal handlers,
        // or the signal's default action would end it before it could report anything.
        std::thread::sleep(STARTUP);
    }
    let pid = child.id().to_string();
    send(signal, &pid);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    lines.extend(rest.lines().map(|l| format!("{l}\n")));
    let text = lines.concat();
    let parsed = if args.contains(&"--json") {
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    } else {
        vec![Value::String(text)]
    };
    (parsed, status.code(), stderr)
}

#[test]
fn a_signal_stops_the_run_and_every_finished_record_is_there() {
    let (hole, _held) = support::black_hole();
    let hole = hole.local_addr().unwrap().to_string();
    let closed = closed_ports(30);
    // The black hole first, so it is in flight while the closed ports finish.
    let mut args = vec!["check", "--json", "-w", "60s", &hole];
    args.extend(closed.iter().map(String::as_str));
    for signal in ["INT", "TERM", "HUP"] {
        let (records, code, stderr) = interrupt_after(&args, closed.len(), signal);
        assert_eq!(code, Some(1), "SIG{signal}: the finished targets failed: {stderr}");
        assert_eq!(records.len(), closed.len() + 1, "SIG{signal}: {records:?}");
        let mut indexes: Vec<u64> =
            records[..closed.len()].iter().map(|r| r["index"].as_u64().unwrap()).collect();
        indexes.sort_unstable();
        assert_eq!(indexes, (1..=closed.len() as u64).collect::<Vec<_>>());
        let summary = &records[closed.len()];
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["interrupted"], true);
        assert_eq!(summary["targets_checked"], closed.len());
        assert_eq!(summary["in_flight"][0]["index"], 0);
        assert_eq!(summary["in_flight"][0]["target"], hole.as_str());
        assert!(summary["in_flight"][0]["waited_ms"].as_f64().unwrap() > 0.0);
    }

    // Text: the summary says so; with nothing finished the exit code is 130.
    let mut text_args = args.clone();
    text_args.retain(|a| *a != "--json");
    text_args.push("--brief");
    let (out, code, _) = interrupt_after(&text_args, closed.len(), "INT");
    let out = out[0].as_str().unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("Interrupted: 1 target(s) still running, not counted: {hole} after")),
        "{out}"
    );
    assert!(out.contains(&format!("Overall: {} target(s) checked", closed.len())), "{out}");

    let (records, code, _) = interrupt_after(&["check", "--json", "-w", "60s", &hole, &hole], 0, "TERM");
    assert_eq!(code, Some(130));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["in_flight"].as_array().unwrap().len(), 2);
}

#[test]
fn tnc_and_deps_stop_on_a_signal_too() {
    let (hole, _held) = support::black_hole();
    let addr = hole.local_addr().unwrap();
    let start = |args: &[&str], env: &[(&str, String)]| {
        let mut cmd = Command::new(bin("netdiag"));
        cmd.env_clear().env("NO_COLOR", "1").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        std::thread::sleep(STARTUP);
        send("INT", &child.id().to_string());
        child.wait_with_output().unwrap()
    };
    let port = addr.port().to_string();
    let out = start(&["tnc", "127.0.0.1", "-p", &port, "-w", "60s"], &[]);
    assert_eq!(out.status.code(), Some(130));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Interrupted: the test of 127.0.0.1:"), "{text}");

    let sql = format!("Server=tcp:127.0.0.1,{port};Password=NOTASECRET");
    let out = start(&["deps", "--json", "-w", "60s"], &[("SQLCONNSTR_main", sql)]);
    assert_eq!(out.status.code(), Some(130));
    let text = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "summary", "{text}");
    assert_eq!(last["interrupted"], true);
    assert_eq!(last["in_flight"][0]["target"], format!("127.0.0.1:{port}"));
    assert!(!text.contains("NOTASECRET"));
}

#[test]
fn progress_line_on_a_terminal_only() {
    let list = TargetsFile::from_lines("progress", closed_ports(40).into_iter());
    // `script` gives netdiag a pseudo-terminal; a 300 ms black hole keeps the run going long
    // enough for the line to be drawn.
    let (hole, _held) = support::black_hole();
    let hole = hole.local_addr().unwrap().to_string();
    let inner = format!("'{}' check -w 1s -f '{}' {hole}", bin("netdiag"), list.path());
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &inner, "/dev/null"]).env("NO_COLOR", "1");
    let r = run(cmd);
    r.expect_code(1);
    assert!(r.stdout().contains("targets checked, "), "{r}");
    assert!(
        r.stdout().contains("41/41 targets checked") || r.stdout().contains("/41 targets checked"),
        "{r}"
    );
    assert!(r.stdout().contains("By verdict: tcp_refused 40, tcp_timed_out 1"), "{r}");

    // Piped: no progress at all on stderr.
    let mut cmd = Command::new(bin("netdiag"));
    cmd.args(["check", "-w", "1s", "-f", list.path()]);
    let r: Run = run(cmd);
    r.expect_code(1);
    assert!(r.stderr().is_empty(), "{r}");
    assert!(r.stdout().contains("By verdict: tcp_refused 40"), "{r}");
}

#[test]
fn one_slow_target_shows_the_waiting_line_of_tcpping() {
    let (hole, _held) = support::black_hole();
    let hole = hole.local_addr().unwrap();
    let port = hole.port().to_string();
    for (inner, shown) in [
        (format!("'{}' check -w 1500ms {hole}", bin("netdiag")), hole.to_string()),
        (format!("'{}' tnc 127.0.0.1 -p {port} -w 1500ms", bin("netdiag")), "127.0.0.1".to_owned()),
    ] {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &inner, "/dev/null"]).env("NO_COLOR", "1");
        let r = run(cmd);
        r.expect_code(1);
        let out = r.stdout();
        assert!(out.contains(&format!("\rwaiting for {shown}... 1s")), "{out:?}");
        assert!(out.contains("\r\x1b[2K"), "the line is erased: {out:?}");
    }
}

#[test]
fn standard_input_is_read_as_the_run_goes_and_a_bad_line_ends_it_after_what_came_before() {
    let closed = closed_ports(2);
    let mut child = Command::new(bin("netdiag"))
        .env_clear()
        .args(["check", "--json", "-w", "2s", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // The first target is checked before the rest of the input even exists.
    std::io::Write::write_all(&mut stdin, format!("{}\n", closed[0]).as_bytes()).unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!((&first["type"], &first["index"]), (&"target".into(), &0.into()), "{first}");
    std::io::Write::write_all(&mut stdin, format!("{}\n127.0.0.1:99999\n", closed[1]).as_bytes()).unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let records: Vec<Value> = rest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2, "{rest}");
    assert_eq!(records[0]["target"], closed[1].as_str());
    assert_eq!(records[1]["targets_checked"], 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("- line 3: bad target '127.0.0.1:99999'"), "{err}");
}

//! `netdiag check`, `tnc` and `deps` without root: bad input everywhere, and loopback targets.
//! Names are only ever resolved through explicit loopback servers; most cases here never get
//! as far as sending anything.

mod support;

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::process::Stdio;
use std::time::Duration;

use support::{Run, TargetsFile, run, tool};

/// Runs netdiag with nothing from this process's environment: an inherited connection string
/// would make `deps` resolve a name through the machine's resolver.
fn netdiag(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tool("netdiag");
    cmd.env_clear().env("NO_COLOR", "1").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd)
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    // (arguments, environment, text the first line must contain)
    let cases: &[(&[&str], &[(&str, &str)], &str)] = &[
        (&["check"], &[], "required"),
        (&["check", "bad host!"], &[], "bad target 'bad host!'"),
        (&["check", "127.0.0.1:0"], &[], "invalid port '0'"),
        (&["check", "127.0.0.1:99999"], &[], "invalid port '99999'"),
        (&["check", "[::1"], &[], "bad target '[::1'"),
        (&["check", "127.0.0.1", "--parallel", "0"], &[], "'0'"),
        (
            &["check", "-f", "/nonexistent/netdiag-targets"],
            &[],
            "cannot read targets file /nonexistent/netdiag-targets",
        ),
        (&["check", "127.0.0.1", "-p", "0"], &[], "invalid port"),
        (&["check", "127.0.0.1:9", "-w", "abc"], &[], "'abc'"),
        (&["check", "127.0.0.1:9", "-w", "0s"], &[], "greater than zero"),
        (&["check", "127.0.0.1:9", "--dns-timeout", "3 parsecs"], &[], "--dns-timeout"),
        (&["check", "127.0.0.1:9", "--dns-timeout", "0ms"], &[], "greater than zero"),
        (&["check", "a.test", "--dns-server", "nonsense"], &[], "invalid DNS server \"nonsense\""),
        (&["check", "a.test", "--dns-server", "127.0.0.1:99999"], &[], "port out of range"),
        // Only when a name must be resolved: an IP literal is checked anyway (no_dns_servers.rs).
        (&["check", "a.test"], &[("WEBSITE_DNS_SERVER", "not-an-ip")], "invalid DNS server \"not-an-ip\""),
        (&["tnc"], &[], "required"),
        (&["tnc", "127.0.0.1", "--common-tcp-port", "ftp"], &[], "'ftp'"),
        (&["tnc", "127.0.0.1", "-p", "0"], &[], "invalid port"),
        (&["tnc", "127.0.0.1", "-p", "http"], &[], "invalid port 'http'"),
        (&["tnc", "127.0.0.1", "-p", "80", "--common-tcp-port", "http"], &[], "cannot be used with"),
        (&["tnc", "127.0.0.1", "--information-level", "loud"], &[], "'loud'"),
        (&["tnc", "not a host"], &[], "bad host 'not a host'"),
        (&["tnc", "127.0.0.1:80", "-p", "81"], &[], "gives a port and so does -p"),
        (&["tnc", "127.0.0.1", "-w", "-1s"], &[], "unexpected argument"),
        (&["deps", "-w", "soon"], &[], "'soon'"),
        (&["deps", "--dns-server", "10.0.0.1:dns"], &[], "invalid DNS server"),
    ];
    for (args, env, want) in cases {
        let r = netdiag(args, env);
        r.expect_code(2);
        let err = r.stderr();
        let first = err.lines().next().unwrap_or_default();
        assert!(first.contains(want), "{args:?}: first line {first:?} lacks {want:?}\n{r}");
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{r}");
        assert!(r.stdout().is_empty(), "{args:?}\n{r}");
        // Our own checks and clap's alike: exactly one line, naming the tool.
        assert_eq!(err.lines().count(), 1, "{r}");
        assert!(first.starts_with("netdiag"), "{r}");
    }
}

#[test]
fn check_loopback_targets_json_and_exit_codes() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let open_addr = open.local_addr().unwrap().to_string();
    let closed_addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();

    let r = netdiag(&["check", "--json", &open_addr], &[]);
    r.expect_code(0);
    let doc = r.stream();
    assert_eq!(doc["schema"], 2);
    assert_eq!(doc["failed"], false);
    let t = &doc["targets"][0];
    assert_eq!(t["target"], open_addr.as_str());
    assert_eq!(t["ip_literal"], true);
    assert!(t["dns"].is_null());
    let ids: Vec<&str> =
        t["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["loopback_destination", "tcp_connected"], "{r}");
    assert_eq!(t["findings"][1]["severity"], "ok");

    let r = netdiag(&["check", "--json", &open_addr, &closed_addr], &[]);
    r.expect_code(1);
    let doc = r.stream();
    assert_eq!(doc["failed"], true);
    assert_eq!(doc["targets"][1]["failed"], true);
    assert_eq!(doc["targets"][1]["addresses"][0]["tcp"]["class"], "refused");

    // A name through a loopback DNS port where nothing listens: every server failed.
    let dead = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let r = netdiag(
        &["check", "--json", "app.netdiag.test", "--dns-server", &dead, "--dns-timeout", "200ms"],
        &[],
    );
    r.expect_code(1);
    let t = &r.stream()["targets"][0];
    assert_eq!(t["findings"][0]["id"], "dns_all_servers_failed", "{r}");
    assert_eq!(t["dns"]["servers"][0]["server"], dead.as_str());
    drop(open);
}

#[test]
fn tnc_on_loopback() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port().to_string();
    let r = netdiag(&["tnc", "127.0.0.1", "-p", &port], &[]);
    r.expect_code(0);
    let want = format!(
        "ComputerName     : 127.0.0.1\nRemoteAddress    : 127.0.0.1\nRemotePort       : {port}\nInterfaceAlias   : lo\nSourceAddress    : 127.0.0.1\nTcpTestSucceeded : True\n"
    );
    assert!(r.stdout().starts_with(&want), "{r}");
    let r = netdiag(&["tnc", "127.0.0.1", "-p", &port, "--information-level", "QUIET"], &[]);
    r.expect_code(0);
    assert_eq!(r.stdout(), "True\n");
    let r = netdiag(&["tnc", "127.0.0.1", "-p", &port, "--json"], &[]);
    r.expect_code(0);
    let stamp = r.json()["Timestamp"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
    assert!(humantime::parse_rfc3339(&stamp).is_ok() && stamp.ends_with('Z'), "{r}");
    drop(open);
}

#[test]
fn closed_stdout_pipe_exits_quietly() {
    use std::process::Stdio;
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = open.local_addr().unwrap().to_string();
    let mut cmd = tool("netdiag");
    let mut child = cmd
        .env_clear()
        .args(["check", &addr, &addr, &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

fn target_names(run: &Run) -> Vec<String> {
    run.stream()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn targets_come_from_a_file_in_order_after_the_arguments() {
    let open_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = open_listener.local_addr().unwrap().to_string();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let file = TargetsFile::new("order", &format!("# the app's dependencies\n{closed}\n\n  {open}  # API\n"));
    let r = netdiag(&["check", "--json", "-w", "2s", &open, "-f", file.path()], &[]);
    r.expect_code(1);
    assert_eq!(target_names(&r), [open.clone(), closed.clone(), open.clone()], "{r}");
    let failed: Vec<bool> =
        r.stream()["targets"].as_array().unwrap().iter().map(|t| t["failed"].as_bool().unwrap()).collect();
    assert_eq!(failed, [false, true, false], "{r}");

    // `-` reads the list from standard input.
    let mut cmd = tool("netdiag");
    cmd.env_clear().env("NO_COLOR", "1").args(["check", "--json", "-f", "-"]).stdin(Stdio::piped());
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{closed}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let records: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2, "{stdout}");
    assert_eq!((&records[0]["type"], &records[0]["index"]), (&"target".into(), &0.into()));
    assert_eq!(records[0]["target"], closed.as_str());
    assert_eq!(records[0]["addresses"][0]["tcp"]["class"], "refused");
    assert_eq!(records[1]["type"], "summary");
}

#[test]
fn a_bad_line_in_the_targets_file_is_named() {
    let file = TargetsFile::new("bad", "127.0.0.1:1\n# fine so far\n127.0.0.1:70000\n");
    let r = netdiag(&["check", "-f", file.path()], &[]);
    r.expect_code(2);
    assert_eq!(r.stderr().lines().count(), 1, "{r}");
    assert!(r.stderr().contains("line 3: bad target '127.0.0.1:70000': invalid port '70000'"), "{r}");
    assert!(r.stdout().is_empty(), "{r}");

    let empty = TargetsFile::new("empty", "# nothing yet\n");
    let r = netdiag(&["check", "-f", empty.path()], &[]);
    r.expect_code(2);
    assert!(r.stderr().contains("no targets"), "{r}");
}

#[test]
fn parallel_limits_how_many_targets_wait_at_once() {
    // Three targets that each time out after 300 ms: side by side they take about 300 ms,
    // one at a time at least 900 ms.
    let (listener, _held) = support::black_hole();
    let hole = listener.local_addr().unwrap().to_string();
    let args = |parallel: &'static str| {
        let mut args = vec!["check", "--json", "-w", "300ms", &hole, &hole, &hole];
        args.extend(["--parallel", parallel]);
        args.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let run_with = |parallel| {
        let owned = args(parallel);
        let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
        netdiag(&borrowed, &[])
    };
    let serial = run_with("1");
    serial.expect_code(1);
    assert!(serial.elapsed >= Duration::from_millis(900), "{serial}");
    let side_by_side = run_with("3");
    side_by_side.expect_code(1);
    assert!(side_by_side.elapsed < Duration::from_millis(850), "{side_by_side}");
    for run in [&serial, &side_by_side] {
        for t in run.stream()["targets"].as_array().unwrap() {
            assert_eq!(t["addresses"][0]["tcp"]["class"], "timed_out", "{run}");
        }
    }
}

#[test]
fn check_of_a_peer_that_accepts_and_resets_never_says_local_error() {
    let target = support::accept_then_reset_listener().to_string();
    let mut seen_reset = false;
    for _ in 0..40 {
        let r = netdiag(&["check", "--json", &target], &[]);
        r.expect_code(0);
        let t = &r.stream()["targets"][0];
        let tcp = &t["addresses"][0]["tcp"];
        assert_eq!(tcp["connected"], true, "{r}");
        let ids: Vec<&str> =
            t["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
        if tcp["reset_by_peer"] == true {
            assert_eq!(ids, ["loopback_destination", "tcp_connected_then_reset"], "{r}");
            let text = netdiag(&["check", &target], &[]).stdout();
            assert!(!text.contains("local_error"), "{text}");
            seen_reset = true;
            break;
        }
        assert_eq!(ids, ["loopback_destination", "tcp_connected"], "{r}");
    }
    assert!(seen_reset, "40 checks and the reset never arrived before netdiag looked");
}

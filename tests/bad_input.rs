//! Bad input and hostile surroundings never panic: durations too long for any clock, an
//! environment whose variable names are not ASCII or not UTF-8, a stderr that is closed or
//! whose reader went away. Only loopback targets and dead loopback DNS servers are used.

mod support;

use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

use support::{Run, bin, run, tool};

/// A dead DNS server and short timeouts: nothing here waits or leaves loopback.
const QUICK: [&str; 6] = ["--dns-server", "127.0.0.1:9", "--dns-timeout", "200ms", "-w", "200ms"];

fn clean(name: &str) -> Command {
    let mut cmd = tool(name);
    cmd.env_clear().env("NO_COLOR", "1");
    cmd
}

fn one_line_exit_2(r: &Run) {
    r.expect_code(2);
    assert_eq!(r.stderr().lines().count(), 1, "one line on stderr\n{r}");
    assert!(!r.stderr().contains("panicked"), "{r}");
}

#[test]
fn durations_beyond_any_clock_are_bad_input_in_every_tool() {
    let huge = ["1e19", "9223372036854775808s", "9223372036854775807s", "300000h", "86401", "inf", "NaN"];
    for value in huge {
        let cases: [(&str, Vec<&str>); 7] = [
            ("tcpping", vec!["127.0.0.1:1", "-n", "2", "-i", value]),
            ("tcpping", vec!["127.0.0.1:1", "-n", "1", "-w", value]),
            ("tcpping", vec!["127.0.0.1:1", "-n", "1", "--dns-timeout", value]),
            ("nameresolver", vec!["h.example.test", "127.0.0.1:9", "--timeout", value]),
            ("netdiag", vec!["check", "127.0.0.1:1", "--timeout", value]),
            ("netdiag", vec!["tnc", "127.0.0.1", "-p", "1", "--dns-timeout", value]),
            ("netdiag", vec!["deps", "-w", value]),
        ];
        for (tool_name, args) in cases {
            let mut cmd = clean(tool_name);
            cmd.args(&args);
            let r = run(cmd);
            one_line_exit_2(&r);
        }
    }
    // A day is the limit, and still accepted; so is a bare number of seconds.
    let mut cmd = clean("netdiag");
    cmd.args(["check", "127.0.0.1:1", "--timeout", "24h", "--dns-timeout", "0.5"]);
    run(cmd).expect_code(1);
}

/// Names App Service never sets but a shell can: not UTF-8, and not ASCII where the tools
/// compare prefixes byte by byte.
fn odd_environment(cmd: &mut Command) {
    cmd.env(std::ffi::OsStr::from_bytes(b"CUSTOMCONNSTR_\xff\xfe"), "Server=127.0.0.1;Password=x")
        .env(std::ffi::OsStr::from_bytes(b"WEBSITE_\xc3"), "1")
        .env("CUSTOMCONNSTR\u{e9}x", "Server=127.0.0.1")
        .env("SQLCONNSTR\u{1f600}", "Server=127.0.0.1")
        .env("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}", "x")
        .env("WEBSITE_SITE_NAME", std::ffi::OsStr::from_bytes(b"\xff"));
}

#[test]
fn odd_variable_names_never_abort_env_check_tnc_deps() {
    let runs: [&[&str]; 5] = [
        &["env"],
        &["env", "--json"],
        &["check", "127.0.0.1:1", "--json"],
        &["tnc", "127.0.0.1", "-p", "1"],
        &["deps", "--json"],
    ];
    for args in runs {
        let mut cmd = clean("netdiag");
        odd_environment(&mut cmd);
        cmd.args(args);
        if args[0] != "env" {
            cmd.args(QUICK);
        }
        let r = run(cmd);
        assert!(matches!(r.code(), Some(0 | 1)), "{r}");
        assert!(!r.stderr().contains("panicked"), "{r}");
        assert!(!r.stdout().is_empty(), "{r}");
    }
    let mut cmd = clean("netdiag");
    odd_environment(&mut cmd);
    let r = run({
        cmd.args(["env", "--json"]);
        cmd
    });
    let doc = r.json();
    let warnings = doc["warnings"].as_array().unwrap();
    // The undecodable names are reported (escaped), not dropped and not fatal.
    assert!(warnings.iter().any(|w| w["setting"] == "CUSTOMCONNSTR_\\xff\\xfe"), "{r}");
}

/// Every tool with a stderr pipe whose reader is gone before anything is written, and with
/// stderr closed: no panic, and the report on stdout is complete.
#[test]
fn a_broken_or_closed_stderr_never_costs_the_report() {
    let cases: [(&str, Vec<&str>, &str); 6] = [
        ("tcpping", vec!["-vv", "127.0.0.1:1", "-n", "2", "-i", "0.05"], "Failures: refused 2"),
        (
            "nameresolver",
            vec!["-vv", "h.example.test", "127.0.0.1:9", "--timeout", "200ms"],
            "h.example.test",
        ),
        ("netdiag", [&["-vv", "check", "127.0.0.1:1"][..], &QUICK].concat(), "Verdict:"),
        ("netdiag", [&["-vv", "tnc", "127.0.0.1", "-p", "1"][..], &QUICK].concat(), "TcpTestSucceeded"),
        ("netdiag", [&["-vv", "deps"][..], &QUICK].concat(), "Dependencies:"),
        ("netdiag", vec!["-vv", "env"], "Interfaces"),
    ];
    for (tool_name, args, report_line) in cases {
        let env = [("CUSTOMCONNSTR_x", "Server=127.0.0.1,1"), ("WEBSITE_VNET_ROUTE_ALL", "yes")];

        let mut cmd = clean(tool_name);
        cmd.args(&args).envs(env).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        drop(child.stderr.take());
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{tool_name} {args:?}: {:?}\n{stdout}", out.status);
        assert!(stdout.contains(report_line), "{tool_name} {args:?}, broken stderr:\n{stdout}");

        let mut cmd = Command::new("sh");
        cmd.env_clear()
            .env("NO_COLOR", "1")
            .envs(env)
            .args(["-c", "exec \"$@\" 2>&-", "sh", &bin(tool_name)])
            .args(&args);
        let r = run(cmd);
        assert!(matches!(r.code(), Some(0 | 1)), "{r}");
        assert!(r.stdout().contains(report_line), "closed stderr\n{r}");
    }
    // A usage error with nobody to read it still exits 2, not 101.
    let mut cmd = clean("tcpping");
    cmd.args(["127.0.0.1:1", "-i", "1e19"]).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

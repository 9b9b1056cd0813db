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

fn check_file(path: &str, stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = clean("netdiag");
    cmd.args(["check", "--json", "-f", path]).args(QUICK);
    let Some(bytes) = stdin else { return run(cmd) };
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = pipe.write_all(&bytes);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run { cmdline: format!("netdiag check -f {path}"), output, elapsed: Default::default() }
}

#[test]
fn targets_files_with_bom_crlf_and_comments_are_read() {
    let dir = std::env::temp_dir().join(format!("netdiag-targets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bom-crlf.txt");
    std::fs::write(&path, b"\xef\xbb\xbf127.0.0.1:1\r\n# a comment\r\n\r\n127.0.0.2:1 # two\r\n").unwrap();
    let r = check_file(path.to_str().unwrap(), None);
    r.expect_code(1);
    let hosts: Vec<String> =
        r.stream()["targets"].as_array().unwrap().iter().map(|t| t["target"].to_string()).collect();
    assert_eq!(hosts.len(), 2, "{r}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_bad_line_of_a_targets_file_gets_its_own_message() {
    let mut input = b"127.0.0.1:1\nnul\x00here\n\xff\xfe\n\x1b]0;title\x07host!\n".to_vec();
    input.extend(vec![b'a'; 5000]);
    input.extend(b"\n127.0.0.1:2\n");
    // A file is read through before anything is checked: every bad line, nothing probed.
    let path = std::env::temp_dir().join(format!("netdiag-bad-lines-{}.txt", std::process::id()));
    std::fs::write(&path, &input).unwrap();
    let r = check_file(path.to_str().unwrap(), None);
    let _ = std::fs::remove_file(&path);
    r.expect_code(2);
    let lines: Vec<String> = r.stderr().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "one message per bad line\n{r}");
    assert!(lines[0].contains("line 2: contains a NUL byte ('nul\\0here')"), "{r}");
    assert!(lines[1].contains("line 3: not UTF-8 ('\\xff\\xfe')"), "{r}");
    assert!(lines[2].contains("line 4: bad target '\\u{1b}]0;title\\u{7}host!'"), "{r}");
    assert!(lines[3].contains("line 5: longer than 4096 bytes"), "{r}");
    assert!(lines.iter().all(|l| l.len() < 300 && !l.contains('\u{1b}')), "{r}");
    assert!(r.stdout().is_empty(), "nothing checked when the list is bad\n{r}");

    // Standard input streams: what came before the first bad line is checked and reported,
    // then that line's message ends the run.
    let r = check_file("-", Some(input));
    one_line_exit_2(&r);
    assert!(r.stderr().contains("line 2: contains a NUL byte ('nul\\0here')"), "{r}");
    assert_eq!(r.stream()["targets"].as_array().unwrap().len(), 1, "{r}");
}

#[test]
fn endless_input_ends_with_a_message_not_with_memory() {
    // /dev/zero: one line without end.
    let r = check_file("/dev/zero", None);
    one_line_exit_2(&r);
    assert!(r.stderr().contains("line 1: no line end within 1 MiB"), "{r}");
    // Endless standard input is streamed (memory bounded by the targets in flight, see
    // tests/netdiag_scale.rs); endless garbage on it ends at its first line.
    let r = check_file("-", Some(b"\x00\n".repeat(100_000)));
    one_line_exit_2(&r);
    assert!(r.stderr().contains("line 1: contains a NUL byte"), "{r}");
    // Endless garbage in a file: a few messages, then it gives up.
    let path = std::env::temp_dir().join(format!("netdiag-garbage-{}.txt", std::process::id()));
    std::fs::write(&path, b"\x00\n".repeat(100_000)).unwrap();
    let r = check_file(path.to_str().unwrap(), None);
    let _ = std::fs::remove_file(&path);
    r.expect_code(2);
    assert_eq!(r.stderr().lines().count(), 11, "{r}");
    assert!(r.stderr().contains("giving up after 10 bad lines"), "{r}");
}

#[test]
fn settings_with_control_characters_are_shown_escaped() {
    let mut cmd = clean("netdiag");
    cmd.env("WEBSITE_SITE_NAME", "app\u{1b}]0;owned\u{7}\nFAKE LINE")
        .env("WEBSITE_DNS_SERVER", "127.0.0.1\u{1b}[2J")
        .env("WEBSITE_PRIVATE_IP", "\u{1b}[31mnot-an-ip")
        .arg("env");
    let r = run(cmd);
    r.expect_code(0);
    assert!(!r.stdout().contains('\u{1b}') && !r.stderr().contains('\u{1b}'), "{r}");
    assert!(r.stdout().contains("app\\u{1b}]0;owned\\u{7}\\nFAKE LINE"), "{r}");
    assert!(!r.stdout().lines().any(|l| l.starts_with("FAKE LINE")), "{r}");
}

#[test]
fn long_or_hostile_input_is_cut_and_escaped_in_messages() {
    let long = "a".repeat(100_000);
    for (tool_name, args) in [
        ("netdiag", vec!["check", long.as_str()]),
        ("netdiag", vec!["tnc", long.as_str()]),
        ("tcpping", vec![long.as_str()]),
        ("netdiag", vec!["check", "a\u{1b}[31m\u{202e}:1"]),
    ] {
        let mut cmd = clean(tool_name);
        cmd.args(&args);
        let r = run(cmd);
        one_line_exit_2(&r);
        assert!(r.stderr().len() < 1200, "{} bytes\n{r}", r.stderr().len());
        assert!(!r.stderr().contains(['\u{1b}', '\u{202e}']), "{r}");
    }
}

//! Fuzzing the argument and environment parsers of every tool through the real binaries:
//! whatever the command line and the `WEBSITE_*` settings, the outcome is exit 0, 1 or 2, never
//! a panic or a signal, and bad usage is one line on stderr.
//!
//! Network safety: every run happens in a namespace whose only interface is loopback and whose
//! resolv.conf names 127.0.0.1 (where nothing listens), so whatever address or server a case
//! names, nothing leaves this machine and every probe fails at once.

mod support;

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};

use support::netns::Netns;
use support::{Run, bin};

/// Values any option might be handed: numbers of every size and sign, durations, addresses,
/// ports, and text that is none of these.
const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "65535",
    "65536",
    "4294967296",
    "1e19",
    "NaN",
    "inf",
    "0.5",
    "1e-9",
    "200ms",
    "1s",
    "24h",
    "25h",
    "9223372036854775808s",
    "3 parsecs",
    "",
    " ",
    "abc",
    "127.0.0.1",
    "127.0.0.1:1",
    "127.0.0.1:99999",
    "[::1]:1",
    "::1",
    "[::1",
    "10.0.0.1",
    "h.example.test",
    "-",
    "/26",
    "10.0.0.0/26",
    "/33",
    "linux",
    "windows",
    "http",
    "rdp",
    "quiet",
    "detailed",
    "A",
    "AAAA,MX",
    "TXT",
    "bad host!",
    "\u{1b}[31mred",
    "line\nbreak",
    "\u{e9}\u{202e}",
    "%s%n",
    "--",
    "-v",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(VALUES).prop_map(str::to_owned),
        1 => "[ -~]{0,12}".prop_map(|s: String| s),
        1 => proptest::collection::vec(any::<char>(), 0..6).prop_map(|v| v.into_iter().filter(|c| *c != '\0').collect()),
    ]
}

/// Flags of every tool, and some of none; each may be followed by a value.
const FLAGS: &[&str] = &[
    "-w",
    "--timeout",
    "--dns-timeout",
    "--dns-server",
    "-4",
    "-6",
    "--source",
    "--interface",
    "--json",
    "-q",
    "--max-loss",
    "--graceful",
    "-v",
    "-vvv",
    "--type",
    "-t",
    "--tcp",
    "--all-servers",
    "-p",
    "--port",
    "--common-tcp-port",
    "--information-level",
    "--parallel",
    "-f",
    "--route-to",
    "--os",
    "--help",
    "--version",
    "--bogus",
    "-x",
];

fn args() -> impl Strategy<Value = Vec<String>> {
    let piece = prop_oneof![
        2 => (select(FLAGS), proptest::option::of(value())).prop_map(|(f, v)| {
            let mut out = vec![f.to_owned()];
            out.extend(v);
            out
        }),
        1 => value().prop_map(|v| vec![v]),
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|pieces| pieces.concat())
}

/// The settings the tools read from the environment, each set at random.
fn environment() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let setting = |name: &'static str, values: &'static [&'static str]| {
        proptest::option::weighted(0.3, prop_oneof![select(values).prop_map(str::to_owned), value()])
            .prop_map(move |v| v.map(|v| (name, v)))
    };
    (
        setting(
            "WEBSITE_DNS_SERVER",
            &["127.0.0.1", "127.0.0.1:9,127.0.0.2", ",,", " ", "10.0.0.1;10.0.0.2", "[::1]:53"],
        ),
        setting("WEBSITE_DNS_ALT_SERVER", &["127.0.0.3", "nonsense"]),
        // Beyond about 9.2e18 s no clock can add the timeout; clamping it is the DNS engine's.
        setting("WEBSITE_DNS_TIMEOUT", &["1", "0", "-3", "3s", "1000000000000000000"]),
        setting("WEBSITE_DNS_ATTEMPTS", &["2", "0", "x"]),
        setting("WEBSITE_PRIVATE_IP", &["10.0.1.254", "garbage", "::1"]),
        setting("WEBSITE_VNET_ROUTE_ALL", &["1", "0", "true"]),
        setting(
            "CUSTOMCONNSTR_x",
            &["Server=127.0.0.1,1;Password=p", "mongodb://u:p@127.0.0.1:1/", "\"unclosed"],
        ),
        setting("AzureWebJobsStorage__accountName", &["acct", "bad name"]),
        setting("RUST_LOG", &["trace", "garbage[", "=", "debug,hickory_proto=trace"]),
    )
        .prop_map(|(a, b, c, d, e, f, g, h, i)| [a, b, c, d, e, f, g, h, i].into_iter().flatten().collect())
}

/// One invocation: a tool (netdiag with a subcommand), its arguments, its environment.
fn invocation() -> impl Strategy<Value = (&'static str, Vec<String>, Vec<(&'static str, String)>)> {
    let tool = select(
        &[
            ("tcpping", ""),
            ("nameresolver", ""),
            ("netdiag", "check"),
            ("netdiag", "tnc"),
            ("netdiag", "deps"),
            ("netdiag", "env"),
            ("netdiag", "subnet"),
            ("netdiag", ""),
        ][..],
    );
    // tcpping's count and interval are drawn apart and bounded: anything else runs for long.
    let tcpping_pace = (
        select(&["0", "1", "2", "-1", "x", "18446744073709551616"][..]),
        select(&["0", "0.01", "1e19", "-1", "x"][..]),
    );
    (tool, args(), environment(), tcpping_pace).prop_map(|((tool, sub), mut args, env, (count, interval))| {
        if tool == "tcpping" {
            // `-t` probes until interrupted.
            args.retain(|a| a != "-t" && a != "-n" && a != "-i" && a != "--count" && a != "--interval");
            args.extend(["-n".to_owned(), count.to_owned(), "-i".to_owned(), interval.to_owned()]);
        }
        if !sub.is_empty() {
            args.insert(0, sub.to_owned());
        }
        (tool, args, env)
    })
}

/// Diagnostics, not the message: what the tracing subscriber wrote (`RUST_LOG`, `-v`: a
/// timestamp, then the level), and the warning that `RUST_LOG` itself was unusable.
fn is_log_line(line: &str) -> bool {
    (line.starts_with(|c: char| c.is_ascii_digit())
        && [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "].iter().any(|l| line.contains(l)))
        || line.starts_with("warning: RUST_LOG ignored: ")
}

fn check_outcome(r: &Run) -> Result<(), TestCaseError> {
    let code = r.code();
    prop_assert!(matches!(code, Some(0..=2)), "exit {code:?} (a panic is 101, a signal None)\n{r}");
    prop_assert!(!r.stderr().contains("panicked"), "{r}");
    if code == Some(2) {
        let stderr = r.stderr();
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty() && !is_log_line(l)).collect();
        // clap shows the whole help when a subcommand is missing: that is not a message.
        let help = stderr.contains("Usage:");
        prop_assert!(help || lines.len() == 1, "bad usage must be one line\n{r}");
    }
    Ok(())
}

/// Runs `cmd`, killing it if it has not finished after `limit`: a case that runs on is a
/// failure of its own, not a reason for the whole suite to hang.
fn run_at_most(mut cmd: Command, limit: Duration) -> Result<Run, TestCaseError> {
    let cmdline = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    // Drain both pipes on threads so a chatty case cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestCaseError::fail(format!("still running after {limit:?}: {cmdline}")));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = Output { status, stdout: out.join().expect("stdout"), stderr: err.join().expect("stderr") };
    Ok(Run { cmdline, output, elapsed: start.elapsed() })
}

#[test]
fn every_outcome_is_exit_0_1_or_2_and_bad_usage_is_one_line() {
    if !support::privileged() {
        return;
    }
    let ns = Netns::new("fz");
    ns.set_resolv_conf("nameserver 127.0.0.1\n");
    let mut runner = TestRunner::new(Config { cases: 400, failure_persistence: None, ..Config::default() });
    let result = runner.run(&invocation(), |(tool, args, env)| {
        let mut cmd: Command = ns.command(&bin(tool));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .envs(env)
            .args(&args)
            .stdin(Stdio::null());
        check_outcome(&run_at_most(cmd, Duration::from_secs(20))?)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
